"""The training step (the pure-step contract), evaluation, and the epoch loop.

A step is ``step(params, opt_state, x, y, step_index) -> (params, opt_state, loss)``: forward,
loss head, backward, one optimiser update. On JAX it is compiled whole with ``params`` and
``opt_state`` donated; on NumPy/CuPy kernels may update in place. Callers always use the
returned arrays.
"""

from __future__ import annotations

import math
import time

from ..backends.host import np
from . import guard, heads
from .network import logits, loss_and_grads

#: rows per evaluation chunk are chosen so a chunk holds about this many activations
EVAL_CHUNK_ELEMENTS = 1 << 22


class TrainingDivergedError(FloatingPointError):
    """A step's loss or gradient was NaN or infinite; the model keeps the weights of the last good
    step (see core.guard)."""


class History(dict):
    """Per-epoch records, one list per key: "epoch", "loss" (mean of the epoch's mini-batch
    losses, penalties included), "accuracy" (of the model at the end of the epoch, on the training
    data; classifiers), "val_loss" / "val_accuracy" (with validation data), "lr", "seconds",
    "grad_norms" (with track_gradients), "skipped_steps" (with on_divergence="skip": steps dropped
    for a non-finite loss or gradient). The epoch's loss averages the applied steps. With early
    stopping: ``best_epoch``, ``stopped_epoch`` (None if it ran to the end)."""

    best_epoch = None
    stopped_epoch = None

    def append(self, **record):
        for key, value in record.items():
            self.setdefault(key, []).append(value)

    def last(self) -> dict:
        return {key: values[-1] for key, values in self.items() if values}


def step_function(kern, layout, activations, head, optimizer, workspaces=None, reg=None, comm=None,
                  on_divergence="stop"):
    """The training step for one network and optimiser, not yet compiled; with ``workspaces``
    (in-place kernels) every intermediate goes to a preallocated buffer; ``reg``: dropout and
    weight penalties (core.regularization); ``comm``: MPI ranks whose gradients are averaged
    (one allreduce of the flat buffer, the batch loss riding in its last element) before the
    update. The update goes through the divergence guard (core.guard, mode ``on_divergence``)."""
    average = comm is not None and comm.size > 1
    scale = 1.0 / comm.size if average else 1.0

    def step(params, opt_state, x, y, step_index):
        ws = None if workspaces is None else workspaces.get(x.shape[0], y)
        loss, grads = loss_and_grads(kern, layout, activations, head, params, x, y, ws, reg, step_index)
        check = loss
        if average:  # the sum over ranks; the 1/ranks is applied inside the optimiser's pass
            grads, check = _allreduce(kern, comm, ws, grads, loss)
        params, opt_state = guard.guarded_update(kern, optimizer, params, grads, opt_state, step_index, loss,
                                                 check, x.shape[0], on_divergence, scale)
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
    ``epoch(params, opt_state, X, Y, order, step0, lrs) -> (params, opt_state)``, where the rows
    are taken in ``order`` and step i runs with learning rate ``lrs[i]``; the losses add up in the
    guard's entries of the state."""
    xp = kern.xp

    def epoch(params, opt_state, X, Y, order, step0, lrs):
        Xp, Yp = xp.take(X, order, axis=0), xp.take(Y, order, axis=0)

        def body(i, carry):
            params, state = carry
            xb = backend.dynamic_rows(Xp, i * batch_size, batch_size)
            yb = backend.dynamic_rows(Yp, i * batch_size, batch_size)
            params, state, _ = step(params, {**state, "lr": lrs[i]}, xb, yb, step0 + i)
            return params, state

        return backend.fori_loop(lrs.shape[0], body, (params, opt_state))

    return backend.jit(epoch, donate_argnums=(0, 1))


def make_evaluate(backend, kern, layout, activations, head):
    """``evaluate(params, X, Y) -> (summed loss, correct rows)`` as device scalars."""
    xp = kern.xp

    def evaluate(params, X, Y):
        Z = logits(kern, layout.unflatten(xp, params), activations, X)
        loss, _ = kern.head_loss(head, Z, Y)
        correct = heads.n_correct(xp, head, Z, Y) if heads.is_classifier(head) else loss * 0
        return loss * X.shape[0], correct

    return backend.jit(evaluate)


def make_grad_norms(backend, kern, layout, activations, head):
    """``norms(params, X, Y)``: ‖dW⁽ˡ⁾‖₂ per layer of the mean data loss on (X, Y)."""
    xp = kern.xp

    def norms(params, X, Y):
        _, grads = loss_and_grads(kern, layout, activations, head, params, X, Y)
        return xp.stack([xp.sqrt(xp.sum(dW * dW)) for dW, _ in layout.unflatten(xp, grads)])

    return backend.jit(norms)


class EarlyStopping:
    """Stop once the monitored loss has not fallen by more than ``min_delta`` for ``patience``
    epochs; keep a copy of the best weights to restore."""

    def __init__(self, patience, min_delta=0.0, restore_best=True):
        self.patience, self.min_delta, self.restore_best = patience, min_delta, restore_best
        self.best, self.best_epoch, self.best_params, self.wait = math.inf, None, None, 0

    def update(self, model, value) -> bool:
        """Record this epoch's value; True when training should stop."""
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, model.epoch, 0
            if self.restore_best:
                self.best_params = model.backend.copy(model.params)
            return False
        self.wait += 1
        return self.wait >= self.patience


def make_output(backend, kern, layout, activations, head):
    """``output(params, X) -> A``, the head's output (probabilities or values)."""

    def output(params, X):
        return kern.head_output(head, logits(kern, layout.unflatten(kern.xp, params), activations, X))

    return backend.jit(output)


def chunks(n_rows: int, width: int):
    """(start, stop) row ranges that keep each chunk near EVAL_CHUNK_ELEMENTS activations."""
    size = max(1, EVAL_CHUNK_ELEMENTS // max(1, width))
    return [(a, min(a + size, n_rows)) for a in range(0, n_rows, size)]


def run_epochs(model, X, Y, epochs, batch_size, validation, verbose, compile_epoch=False,
               stopping=None, track_gradients=False, callback=None, shard=None, comm=None,
               checkpoints=None, progress=None):
    """Train ``model`` in place until this fit has run ``epochs`` epochs, on device arrays X, Y;
    returns its History.

    Each epoch draws a fresh permutation from the model's host generator (unless the batch is
    the whole set), steps through the mini-batches, and reads the loss from the device once.
    The schedule, if any, sets ``opt_state["lr"]`` before each epoch or each step.
    ``compile_epoch``: the full mini-batches of each epoch run as one compiled loop (JAX).
    ``stopping``: an EarlyStopping; ``track_gradients``: record per-layer ‖dW‖ each epoch.
    ``shard``: places each mini-batch (split by rows over devices, for data parallelism).
    ``comm``: MPI ranks; each takes its equal slice of every global mini-batch.
    ``checkpoints``: a core.checkpoint.Checkpoints, written every ``every`` steps and at the end
    of each epoch; ``progress``: where a resumed fit left off (its epoch's order and position).
    A step the divergence guard refuses ends training with TrainingDivergedError ("stop") or is
    dropped ("skip"), see core.guard.
    """
    backend, kern = model.backend, model.kern
    n = X.shape[0]
    bs = n if batch_size is None else min(batch_size, n)
    step, schedule, mode = model._step, model.schedule, model._on_divergence
    kern.prepare()
    base_lr, (epoch0, step0) = model.optimizer.lr, model._schedule_start
    lr = None
    per_step = schedule is not None and schedule.per == "step"
    place = (lambda v: v) if shard is None else backend.replicate

    def set_lr(state, t):
        nonlocal lr
        lr = schedule(base_lr, t)
        return {**state, "lr": place(backend.asarray(lr, dtype=model.dtype))}

    forms = StepForm(model)
    while model.epoch - model._fit_epoch0 < epochs:
        t0 = time.perf_counter()
        params, state = forms.to_step(model)
        if progress is not None:  # a resumed fit: finish the epoch it was in
            order, start, first_step = progress["order"], progress["position"], progress["epoch_first_step"]
            order = None if order is None else place(backend.asarray(order))
            progress = None
        else:
            host_order = model._rng.permutation(n).astype("int32") if bs < n else None
            order = None if host_order is None else place(backend.asarray(host_order))
            start, first_step = 0, model.step_count
            state = {**state, **{k: place(v) for k, v in guard.fresh(backend, model.dtype).items()}}
            if schedule is not None and schedule.per == "epoch":
                state = set_lr(state, model.epoch - epoch0)
        if per_step:  # the epoch's rates moved to the device at once: step k reads lrs[k], no copy per step
            values = [schedule(base_lr, first_step + k - step0) for k in range(-(-n // bs))]
            lr, lrs = values[-1], place(backend.asarray(values, dtype=model.dtype))
        try:
            with backend.quiet():
                if compile_epoch and n // bs > 0 and start == 0:
                    start = (n // bs) * bs
                    rates = lrs[:n // bs] if per_step else kern.xp.full((n // bs,), state["lr"], dtype=model.dtype)
                    ordered = order if order is not None else backend.asarray(np.arange(n, dtype="int32"))
                    params, state = model._epoch_fn(bs)(params, state, X, Y, ordered, model.step_count, rates)
                    model.step_count += n // bs
                for start in range(start, n, bs):
                    lo, hi = start, min(start + bs, n)
                    if comm is not None:  # this rank's slice of the global batch
                        width = (hi - lo) // comm.size
                        lo, hi = lo + comm.rank * width, lo + (comm.rank + 1) * width
                    if order is None:
                        xb, yb = (X, Y) if (lo, hi) == (0, n) else (X[lo:hi], Y[lo:hi])
                    else:
                        idx = order[lo:hi]
                        ws = model._workspaces and model._workspaces.get(hi - lo, Y)
                        xb = kern.gather(X, idx, out=ws and ws.X)
                        yb = kern.gather(Y, idx, out=ws and ws.Y)
                    if per_step:
                        state = {**state, "lr": lrs[model.step_count - first_step]}
                    if shard is not None:
                        xb, yb = shard(xb), shard(yb)
                    params, state, _ = step(params, state, xb, yb, model.step_count)
                    model.step_count += 1
                    if backend.host and mode == "stop" and state["first_bad"] >= 0:
                        break
                    if checkpoints is not None and checkpoints.due(model.step_count) and start + bs < n:
                        if mode == "stop" and int(backend.to_numpy(state["first_bad"])) >= 0:
                            break  # the guard refused a step: never checkpoint past it
                        forms.to_model(model, params, state)
                        checkpoints.save(model, order=order, position=start + bs, epoch_first_step=first_step,
                                         stopping=stopping)
        except BaseException:  # interrupted mid-epoch: the model keeps its last completed step
            if _alive(params) and _alive(state):
                forms.to_model(model, params, state)
            raise
        forms.to_model(model, params, state)
        book = guard.read(backend, state)
        if book["first_bad"] >= 0 and mode == "stop":
            model.step_count = book["first_bad"]
            raise TrainingDivergedError(guard.message(model.epoch + 1, book["first_bad"] - first_step + 1,
                                                      -(-n // bs), book["first_bad"], book["bad_loss"]))
        loss_sum, rows = book["loss_sum"], book["rows"]
        if comm is not None:
            loss_sum, rows = comm.sum(loss_sum), comm.sum(rows)
        if rows == 0:
            raise TrainingDivergedError(
                f"training diverged: every step of epoch {model.epoch + 1} had a non-finite loss or gradient "
                f"({book['skipped']} skipped); the weights from before it were kept. Try a lower learning rate "
                "or normalised inputs (e.g. normalize='minmax').")
        model.epoch += 1
        record = {"epoch": model.epoch, "loss": loss_sum / rows}
        with backend.quiet():
            if heads.is_classifier(model.output):
                record["accuracy"] = model._metrics(X, Y)["accuracy"]
            if validation is not None:
                val = model._metrics(*validation)
                record.update({f"val_{k}": v for k, v in val.items()})
        record["lr"] = model.optimizer.lr if lr is None else lr
        if mode == "skip":
            record["skipped_steps"] = book["skipped"]
        if track_gradients:
            norms = model._grad_norms()(model.params, X, Y)
            record["grad_norms"] = [float(v) for v in backend.to_numpy(norms)]
        record["seconds"] = time.perf_counter() - t0
        model.history.append(**record)
        if hasattr(schedule, "observe"):
            schedule.observe(record, base_lr)
        if verbose:
            print(format_record(record, model.epoch - model._fit_epoch0, epochs), flush=True)
        if callback is not None:
            callback(record)
        stop = stopping is not None and stopping.update(model, record.get("val_loss", record["loss"]))
        if checkpoints is not None and (stop or model.epoch - model._fit_epoch0 >= epochs
                                        or checkpoints.epoch_end_due(model.step_count)):
            if stop:
                model.history.stopped_epoch = model.epoch
            checkpoints.save(model, stopping=stopping, stopped=stop)
        if stop:
            model.history.stopped_epoch = model.epoch
            if stopping.restore_best and stopping.best_params is not None:
                model.params = stopping.best_params
            if verbose:
                print(f"early stop after epoch {model.epoch}: best epoch {stopping.best_epoch}", flush=True)
            break
    if stopping is not None:
        model.history.best_epoch = stopping.best_epoch
        if stopping.restore_best and stopping.best_params is not None:
            model.params = stopping.best_params
    return model.history


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
            layout, xp, size = model.layout, model.kern.xp, model.layout.size
            self._split = model.backend.jit(lambda s: {k: layout.split(xp, v) if _slot(v, size) else v
                                                       for k, v in s.items()})
            self._join = model.backend.jit(lambda s: {k: layout.join(xp, v) if isinstance(v, tuple) else v
                                                      for k, v in s.items()})

    def to_step(self, model):
        """(params, state) for the step: the model's own, or their leaves (reused while the model
        still holds what they were last joined into)."""
        if not self.leaves:
            return model.params, model.opt_state
        if self._synced is None or self._synced[0] is not model.params or self._synced[1] is not model.opt_state:
            both = self._split({"params": model.params, **model.opt_state})
            self._held = both.pop("params"), both
        return self._held

    def to_model(self, model, params, state):
        """Give the model the step's latest params and state (joined into flat buffers on JAX)."""
        if not self.leaves:
            model.params, model.opt_state = params, state
            return
        self._held = params, state
        both = self._join({"params": params, **state})
        model.params = both.pop("params")
        model.opt_state = both
        self._synced = model.params, model.opt_state


def _alive(tree) -> bool:
    """Whether no array of ``tree`` was donated to a compiled call (JAX deletes donated inputs)."""
    items = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, (tuple, list)) else (tree,)
    return all(_alive(v) if isinstance(v, (dict, tuple, list)) else not (hasattr(v, "is_deleted") and v.is_deleted())
               for v in items)


def _slot(value, size) -> bool:
    """Whether a state entry is a flat buffer as long as the parameters (an optimiser slot)."""
    return getattr(value, "shape", None) == (size,)


def format_record(record: dict, i: int, epochs: int) -> str:
    """One progress line: epoch i/epochs of this fit, then each metric."""
    width = len(str(epochs))
    parts = [f"epoch {i:>{width}}/{epochs}"]
    for key, value in record.items():
        if key not in ("epoch", "lr", "seconds", "grad_norms"):
            parts.append(f"{key} {value:.4f}")
    return "  ".join(parts)
