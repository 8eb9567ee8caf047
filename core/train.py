"""The training step (the pure-step contract), evaluation and the History records; the loop over
epochs that runs the step is core/trainer.py.

A step is ``step(params, opt_state, x, y, step_index, w=None) -> (params, opt_state, loss)``:
forward, loss head (weighted by the rows' weights ``w`` where given), backward, one optimiser
update. On JAX it is compiled whole with ``params`` and ``opt_state`` donated; on NumPy/CuPy
kernels may update in place. Callers always use the returned arrays.
"""

from __future__ import annotations

from . import guard
from .network import logits, loss_and_grads

#: rows per evaluation chunk are chosen so a chunk holds about this many activations
EVAL_CHUNK_ELEMENTS = 1 << 22


class TrainingDivergedError(FloatingPointError):
    """A step's loss or gradient was NaN or infinite; the model keeps the weights of the last good
    step (see core.guard)."""


class History(dict):
    """Per-epoch records, one list per key: "epoch", "loss" (mean of the epoch's mini-batch
    losses, penalties included), "accuracy" (the epoch's running accuracy: the rows its mini-batches
    classified right as each step computed its loss, as Keras reports it; classifiers), "val_loss" / "val_accuracy"
    (with validation data), "lr", "seconds",
    "grad_norms" (with track_gradients), "skipped_steps" (with on_divergence="skip": steps dropped
    for a non-finite loss or gradient). The epoch's loss averages the applied steps. With early
    stopping: ``best_epoch``, ``stopped_epoch`` (None if it ran to the end). At most MAX_RECORDS
    records per key: past that, older epochs are thinned ("epoch" says which are kept)."""

    best_epoch = None
    stopped_epoch = None
    #: records kept per key: beyond, the older half is thinned to every other record (the latest
    #: always kept in full), so a run of 10¹² epochs holds a bounded history
    MAX_RECORDS = 100_000

    def append(self, **record):
        for key, value in record.items():
            self.setdefault(key, []).append(value)
        if len(self.get("epoch", ())) > self.MAX_RECORDS:
            self._thin()

    def _thin(self):
        """Drop every other record of the older half (records whose lists are as long as "epoch")."""
        n = len(self["epoch"])
        keep = list(range(0, n // 2, 2)) + list(range(n // 2, n))
        for key, values in self.items():
            if len(values) == n:
                self[key] = [values[i] for i in keep]

    def last(self) -> dict:
        return {key: values[-1] for key, values in self.items() if values}

    def since(self, epoch0: int) -> History:
        """A History of the records after epoch ``epoch0`` (one fit's, out of the cumulative one)."""
        out = History()
        keep = [i for i, e in enumerate(self.get("epoch", [])) if e > epoch0]
        for key, values in self.items():
            if len(values) == len(self.get("epoch", [])):
                out[key] = [values[i] for i in keep]
        return out


def step_function(
    kern, layout, activations, head, optimizer, workspaces=None, reg=None, comm=None, on_divergence="stop"
):
    """The training step for one network and optimiser, not yet compiled; with ``workspaces``
    (in-place kernels) every intermediate goes to a preallocated buffer; ``reg``: dropout and
    weight penalties (core.regularization); ``comm``: MPI ranks whose gradients are averaged
    (one allreduce of the flat buffer, the batch loss riding in its last element) before the
    update. The update goes through the divergence guard (core.guard, mode ``on_divergence``)."""
    average = comm is not None and comm.size > 1
    scale = 1.0 / comm.size if average else 1.0

    def step(params, opt_state, x, y, step_index, w=None):
        ws = None if workspaces is None else workspaces.get(x.shape[0], y)
        loss, grads, correct = loss_and_grads(
            kern, layout, activations, head, params, x, y, ws, reg, step_index, count=True, w=w
        )
        check = loss
        if average:  # the sum over ranks; the 1/ranks is applied inside the optimiser's pass
            grads, check = _allreduce(kern, comm, ws, grads, loss)
        params, opt_state = guard.guarded_update(
            kern,
            optimizer,
            params,
            grads,
            opt_state,
            step_index,
            loss,
            check,
            x.shape[0],
            on_divergence,
            scale,
            correct,
        )
        return params, opt_state, loss

    return step


def _allreduce(kern, comm, ws, grads, loss):
    """(Σ gradients, Σ losses) over the ranks, in one message: the flat gradient with the loss
    appended (the workspace's buffer holds both), so every rank's guard sees the same numbers."""
    xp = kern.xp
    if ws is not None and grads is ws.grad:
        both = ws.grad_and_loss
    else:
        both = xp.concat([grads, xp.zeros((1,), dtype=grads.dtype)])
    both[-1] = loss
    comm.allreduce_sum_(both)
    return both[:-1], both[-1]


def make_epoch(backend, kern, step, batch_size):
    """One compiled loop over the full mini-batches of an epoch (``lax.fori_loop`` on JAX):
    ``epoch(params, opt_state, X, Y, order, step0, lrs, W=None) -> (params, opt_state)``, where the
    rows are taken in ``order`` and step i runs with learning rate ``lrs[i]`` (and the rows'
    weights W, where given); the losses add up in the guard's entries of the state."""
    xp = kern.xp

    def epoch(params, opt_state, X, Y, order, step0, lrs, W=None):
        Xp, Yp = xp.take(X, order, axis=0), xp.take(Y, order, axis=0)
        Wp = None if W is None else xp.take(W, order, axis=0)

        def body(i, carry):
            params, state = carry
            xb = backend.dynamic_rows(Xp, i * batch_size, batch_size)
            yb = backend.dynamic_rows(Yp, i * batch_size, batch_size)
            wb = None if Wp is None else backend.dynamic_rows(Wp, i * batch_size, batch_size)
            params, state, _ = step(params, state._replace(lr=lrs[i]), xb, yb, step0 + i, wb)
            return params, state

        return backend.fori_loop(lrs.shape[0], body, (params, opt_state))

    return backend.jit(epoch, donate_argnums=(0, 1))


def make_evaluate(backend, kern, layout, activations, head):
    """``evaluate(params, X, Y, w=None) -> (summed loss, correct rows)`` as device scalars; with
    row weights w: (Σ wᵢℓᵢ, Σ wᵢ·rightᵢ)."""
    xp = kern.xp

    def evaluate(params, X, Y, w=None):
        Z = logits(kern, layout.unflatten(xp, params), activations, X)
        if w is not None:
            ell, _ = kern.head_rows(head, Z, Y)
            return xp.sum(w * ell), xp.sum(w * kern.rows_correct(head, Z, Y))
        loss, _ = kern.head_loss(head, Z, Y)
        correct = kern.n_correct(head, Z, Y)
        return loss * X.shape[0], correct

    return backend.jit(evaluate)


def make_grad_norms(backend, kern, layout, activations, head):
    """``norms(params, X, Y)``: ‖dW⁽ˡ⁾‖₂ per layer of the mean data loss on (X, Y)."""
    xp = kern.xp

    def norms(params, X, Y):
        _, grads = loss_and_grads(kern, layout, activations, head, params, X, Y)
        return xp.stack([xp.sqrt(xp.sum(dW * dW)) for dW, _ in layout.unflatten(xp, grads)])

    return backend.jit(norms)


def make_output(backend, kern, layout, activations, head):
    """``output(params, X) -> A``, the head's output (probabilities or values)."""

    def output(params, X):
        return kern.head_output(head, logits(kern, layout.unflatten(kern.xp, params), activations, X))

    return backend.jit(output)


def chunks(n_rows: int, width: int):
    """(start, stop) row ranges that keep each chunk near EVAL_CHUNK_ELEMENTS activations."""
    size = max(1, EVAL_CHUNK_ELEMENTS // max(1, width))
    return [(a, min(a + size, n_rows)) for a in range(0, n_rows, size)]


class StepForm:
    """The form the step takes its parameters in. NumPy and CuPy: the model's flat buffers. JAX, for
    models of LEAVES_FROM parameters or more: the leaves (Layout.split), kept from step to step,
    because XLA cannot make views and would copy every W out of the flat buffer at every step (L:
    185 ms a step instead of 216); the model's flat params and optimiser state are joined from them
    at the end of each epoch (and for a checkpoint)."""

    #: parameters from which JAX steps on leaves; below it the flat buffer's fewer, larger kernels win
    #: (XLA on the CPU runs each fused loop as its own kernel; measured in bench/results/README.md)
    LEAVES_FROM = 1 << 18

    def __init__(self, model):
        self.leaves = model.backend.name == "jax" and model.layout.size >= self.LEAVES_FROM
        self._synced = self._held = None
        if self.leaves:
            layout, xp = model.layout, model.kern.xp

            def split(params, state):  # the parameters and every optimiser slot, each like them
                return layout.split(xp, params), state._replace(
                    slots={k: layout.split(xp, v) for k, v in state.slots.items()}
                )

            def join(params, state):
                return layout.join(xp, params), state._replace(
                    slots={k: layout.join(xp, v) for k, v in state.slots.items()}
                )

            self._split, self._join = model.backend.jit(split), model.backend.jit(join)

    def to_step(self, model):
        """(params, state) for the step: the model's own, or their leaves (reused while the model
        still holds what they were last joined into)."""
        if not self.leaves:
            return model.params, model.opt_state
        if self._synced is None or self._synced[0] is not model.params or self._synced[1] is not model.opt_state:
            self._held = self._split(model.params, model.opt_state)
        return self._held

    def to_model(self, model, params, state):
        """Give the model the step's latest params and state (joined into flat buffers on JAX)."""
        if not self.leaves:
            model.params, model.opt_state = params, state
            return
        self._held = params, state
        model.params, model.opt_state = self._join(params, state)
        self._synced = model.params, model.opt_state


def alive(tree) -> bool:
    """Whether no array of ``tree`` was donated to a compiled call (JAX deletes donated inputs)."""
    items = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, (tuple, list)) else (tree,)
    return all(
        alive(v) if isinstance(v, (dict, tuple, list)) else not (hasattr(v, "is_deleted") and v.is_deleted())
        for v in items
    )
