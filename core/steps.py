"""The compiled training step a model trains with, and its compiled epochs: built when a fit
needs them, kept while the optimiser, communicator, divergence mode and graph choice stay, and
rebuilt (never pickled) after unpickling.

Programs are cached by what changes them: the optimiser's kind and options other than the
learning rate (which the step reads from its state), the communicator and the divergence mode. A
new lr, or a new optimiser object of the same kind and options, reuses the compiled program (JAX
compiles once). CUDA graphs record their buffers, so a graphed step is never shared.

A step is ``step(params, opt_state, x, y, step_index, w=None) -> (params, opt_state, loss)``:
forward, loss head (weighted by the rows' weights ``w`` where given), backward, one optimiser
update through the divergence guard. On JAX it is compiled whole with ``params`` and
``opt_state`` donated; on NumPy/CuPy kernels may update in place. Callers always use the
returned arrays.
"""

from __future__ import annotations

from . import compiled_epoch, guard
from .network import loss_and_grads
from .state import StepState
from .workspace import Workspaces


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


class StepForm:
    """The form the step takes its parameters in. NumPy and CuPy: the model's flat buffers. JAX, for
    models of LEAVES_FROM parameters or more: the leaves (Layout.split), kept from step to step,
    because XLA cannot make views and would copy every W out of the flat buffer at every step (L:
    185 ms a step instead of 216); the model's flat params and optimiser state are joined from them
    at the end of each epoch (and for a checkpoint). It holds the parts it moves them between: the
    network (the parameters) and the training state (the optimiser's)."""

    #: parameters from which JAX steps on leaves; below it the flat buffer's fewer, larger kernels win
    #: (XLA on the CPU runs each fused loop as its own kernel; measured in bench/results/README.md)
    LEAVES_FROM = 1 << 18

    def __init__(self, backend, kern, network, training):
        self.network, self.training = network, training
        self.leaves = backend.name == "jax" and network.layout.size >= self.LEAVES_FROM
        self._synced = self._held = None
        if self.leaves:
            layout, xp = network.layout, kern.xp

            def split(params, state):  # the parameters and every optimiser slot, each like them
                return layout.split(xp, params), state._replace(
                    slots={k: layout.split(xp, v) for k, v in state.slots.items()}
                )

            def join(params, state):
                return layout.join(xp, params), state._replace(
                    slots={k: layout.join(xp, v) for k, v in state.slots.items()}
                )

            self._split, self._join = backend.jit(split), backend.jit(join)

    def to_step(self):
        """(params, state) for the step: the network's and the training state's own, or their leaves
        (reused while the parts still hold what they were last joined into)."""
        params, state = self.network.params, self.training.opt_state
        if not self.leaves:
            return params, state
        if self._synced is None or self._synced[0] is not params or self._synced[1] is not state:
            self._held = self._split(params, state)
        return self._held

    def to_model(self, params, state):
        """Give the parts the step's latest params and state (joined into flat buffers on JAX)."""
        if self.leaves:
            self._held = params, state
            params, state = self._join(params, state)
        self.network.set_params(params)
        self.training.set_state(state)
        if self.leaves:
            self._synced = params, state


def alive(tree) -> bool:
    """Whether no array of ``tree`` was donated to a compiled call (JAX deletes donated inputs)."""
    items = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, (tuple, list)) else (tree,)
    return all(
        alive(v) if isinstance(v, (dict, tuple, list)) else not (hasattr(v, "is_deleted") and v.is_deleted())
        for v in items
    )


def fresh_state(opt, kern, params, backend, dtype):
    """The step's state for ``opt`` at its start: its slots zeroed like ``params``, its rate, a
    fresh guard book on ``backend`` in ``dtype``."""
    return StepState.of(opt.init(kern, params), guard.fresh(backend, dtype))


class CompiledSteps:
    """``step`` (compiled) and ``raw`` (the pure step), the epoch functions per batch size, the
    in-place workspaces, and what they were built for (``comm``, ``on_divergence``,
    ``cuda_graph``); ``state_owner``: the optimiser the model's ``opt_state`` belongs to."""

    def __init__(self, state_owner=None):
        self.step = self.raw = self.workspaces = self.comm = None
        self.on_divergence, self.cuda_graph, self.state_owner = "stop", False, state_owner
        self.epochs, self._programs, self._backend, self._kern = {}, {}, None, None
        self.uncovered = "not prepared"  # on NumPy: why epochs cannot be compiled (None: they can)
        self.path = None  # how the last fit ran: compiled_epoch.COMPILED or STEP_PATH (why)
        self._numba_epoch = None

    def prepare(self, model, opt, comm=None, on_divergence="stop", cuda_graph=False):
        """Set up ``model``'s optimiser, its state, the workspaces and the compiled step (once per
        optimiser, communicator, divergence mode and graph choice)."""
        if (
            opt is model.optimizer
            and model.opt_state is not None
            and comm is self.comm
            and self.step is not None
            and on_divergence == self.on_divergence
            and cuda_graph == self.cuda_graph
        ):
            return
        self.comm, self.on_divergence, self.cuda_graph = comm, on_divergence, cuda_graph
        model.training.use(opt, model.opt_state)
        self._backend, self._kern = model.backend, model.kern
        if model.kern.in_place and self.workspaces is None:
            self.workspaces = Workspaces(model.kern, model.layout, model.activations, model.dtype)
        if model.opt_state is None or opt is not self.state_owner:
            model.training.set_state(fresh_state(opt, model.kern, model.params, model.backend, model.dtype))
            self.state_owner = opt
        self.raw, self.step, self.epochs = self._compiled(model, opt, comm, on_divergence, cuda_graph)
        self.uncovered, self._numba_epoch = None, None  # JAX: its epoch loops over the step itself
        if model.backend.name != "jax":
            parts = (model.network, model.output, model.label_smoothing, model.kern)
            self.uncovered = compiled_epoch.unavailable(model.backend, model.kern) or compiled_epoch.uncovered(
                *parts, opt, comm, on_divergence
            )
            if self.uncovered is None:  # the parts the step above was compiled with
                self._numba_epoch = (model.network, model.output, model.dtype, model.regularization, opt, on_divergence)

    def _compiled(self, model, opt, comm, on_divergence, cuda_graph):
        """(raw step, compiled step, compiled epochs), from the cache where the program is the same."""
        options = {k: v for k, v in opt.hyperparameters().items() if k != "lr"}
        key = (type(opt), repr(options), id(comm), on_divergence)
        if not cuda_graph and key in self._programs and self._programs[key][3] is comm:
            return self._programs[key][:3]
        raw = step_function(
            model.kern,
            model.layout,
            model.activations,
            model.output,
            opt,
            self.workspaces,
            model.regularization,
            comm,
            on_divergence,
        )
        if cuda_graph:
            from .cuda_graph import GraphedStep

            return raw, GraphedStep(raw, model.backend), {}
        self._programs[key] = (raw, model.backend.jit(raw, donate_argnums=(0, 1)), {}, comm)
        return self._programs[key][:3]

    def epoch_fn(self, batch_size):
        """The compiled epoch loop for this batch size (see ``make_epoch``)."""
        if batch_size not in self.epochs:
            if self._numba_epoch is not None:
                self.epochs[batch_size] = compiled_epoch.make_epoch(*self._numba_epoch, batch_size)
            else:
                self.epochs[batch_size] = make_epoch(self._backend, self._kern, self.raw, batch_size)
        return self.epochs[batch_size]


def training_step(model, optimizer=None, on_divergence="stop", cuda_graph=False):
    """(step, params, state) of ``MLP.training_step``: the model's compiled step for ``optimizer``
    (an object or a name; None: the model's own), and where to start, in the form fit steps in."""
    from . import optim

    model.require_built("training_step")
    opt = model.optimizer if optimizer is None else optim.get(optimizer)
    if opt is None:
        raise ValueError("training_step() needs an optimizer: this model has not been trained yet")
    model.steps.prepare(model, opt, None, guard.check_mode(on_divergence), cuda_graph)
    form = StepForm(model.backend, model.kern, model.network, model.training)
    params, state = form.to_step()  # as fit runs it: leaves for large JAX models
    return model.steps.step, params, state
