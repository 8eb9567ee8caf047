"""The compiled training step a model trains with, and its compiled epochs: built when a fit
needs them, kept while the optimiser, communicator, divergence mode and graph choice stay, and
rebuilt (never pickled) after unpickling.

Programs are cached by what changes them: the optimiser's kind and options other than the
learning rate (which the step reads from its state), the communicator and the divergence mode. A
new lr, or a new optimiser object of the same kind and options, reuses the compiled program (JAX
compiles once). CUDA graphs record their buffers, so a graphed step is never shared.
"""

from __future__ import annotations

from . import guard, train
from .state import StepState
from .workspace import Workspaces


def fresh_state(model, opt):
    """The step's state for ``opt`` at its start: zeroed slots, its rate, a fresh guard book."""
    return StepState.of(opt.init(model.kern, model.params), guard.fresh(model.backend, model.dtype))


class CompiledSteps:
    """``step`` (compiled) and ``raw`` (the pure step), the epoch functions per batch size, the
    in-place workspaces, and what they were built for (``comm``, ``on_divergence``,
    ``cuda_graph``); ``state_owner``: the optimiser the model's ``opt_state`` belongs to."""

    def __init__(self, state_owner=None):
        self.step = self.raw = self.workspaces = self.comm = None
        self.on_divergence, self.cuda_graph, self.state_owner = "stop", False, state_owner
        self.epochs, self._programs, self._backend, self._kern = {}, {}, None, None

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
        model.optimizer, self.comm, self.on_divergence, self.cuda_graph = opt, comm, on_divergence, cuda_graph
        self._backend, self._kern = model.backend, model.kern
        if model.kern.in_place and self.workspaces is None:
            self.workspaces = Workspaces(model.kern, model.layout, model.activations, model.dtype)
        if model.opt_state is None or opt is not self.state_owner:
            model.opt_state, self.state_owner = fresh_state(model, opt), opt
        self.raw, self.step, self.epochs = self._compiled(model, opt, comm, on_divergence, cuda_graph)

    def _compiled(self, model, opt, comm, on_divergence, cuda_graph):
        """(raw step, compiled step, compiled epochs), from the cache where the program is the same."""
        options = {k: v for k, v in opt.hyperparameters().items() if k != "lr"}
        key = (type(opt), repr(options), id(comm), on_divergence)
        if not cuda_graph and key in self._programs and self._programs[key][3] is comm:
            return self._programs[key][:3]
        raw = train.step_function(
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
        """The compiled epoch loop for this batch size (see ``train.make_epoch``)."""
        if batch_size not in self.epochs:
            self.epochs[batch_size] = train.make_epoch(self._backend, self._kern, self.raw, batch_size)
        return self.epochs[batch_size]
