"""Pickling a model (``pickle``, ``copy.deepcopy``, joblib): its state as host arrays and plain
values, never a module, a compiled function or a device buffer.

The backend and the kernel table travel by name and are looked up again on unpickling; the
parameters, the optimiser's slots, its rate and the guard's book travel as NumPy arrays and go
back to the backend's device; compiled steps, forward passes and workspaces are rebuilt on first
use. The host generator travels with its state, so a round trip continues the same trajectory
(bit-identical on NumPy). ``reseau.load`` stays pickle-free: model files hold no pickles.
"""

from __future__ import annotations

from .. import backends
from .. import kernels as kernel_tables
from ..backends.host import np
from .state import StepState

#: what is rebuilt rather than pickled: kernels, compiled functions, workspaces, communicators
TRANSIENT = ("kern", "_step", "_raw_step", "_steps", "_epoch_fns", "_workspaces", "_evaluate", "_output",
             "_reg", "_grad_norms_fn", "_comm", "_state_owner", "_scaler", "_running")


def _tree(fn, x):
    """``fn`` on every array of a StepState / dict / tuple tree; other values (ints, floats) kept."""
    if isinstance(x, StepState):
        return StepState(_tree(fn, x.slots), _tree(fn, x.lr), _tree(fn, x.book))
    if isinstance(x, dict):
        return {k: _tree(fn, v) for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(_tree(fn, v) for v in x)
    return fn(x) if hasattr(x, "shape") else x


def host_state(model) -> dict:
    """The model's state with every device array copied to the host."""
    backend = model.backend
    state = {k: v for k, v in model.__dict__.items() if k not in TRANSIENT}
    state.update(backend=backend.name, kern=kernel_tables.variant_of(model.kern), dtype=None,
                 state_owner_is_optimizer=getattr(model, "_state_owner", None) is model.optimizer)
    to_host = lambda a: np.array(backend.to_numpy(a))  # noqa: E731 - a copy, never a view of the device buffer
    state["params"] = None if model.params is None else _tree(to_host, model.params)
    state["opt_state"] = None if model.opt_state is None else _tree(to_host, model.opt_state)
    return state


def restore_state(model, state: dict):
    """The inverse of ``host_state``: arrays back on the named backend (which must be available here)."""
    state = dict(state)
    backend = backends.get(state.pop("backend"))
    kern = kernel_tables.for_backend(backend, state.pop("kern"), state.get("precision", "fp32"))
    owner = state.pop("state_owner_is_optimizer")
    model.__dict__.setdefault("label_smoothing", 0.0)  # pickled before label smoothing existed
    model.__dict__.update(state)
    model.backend, model.kern = backend, kern
    model.dtype = backend.float_dtype(model.dtype_name)
    to_device = lambda a: backend.asarray(a, dtype=model.dtype if a.dtype.kind == "f" else None)  # noqa: E731
    if model.params is not None:
        model.params = _tree(to_device, model.params)
    if model.opt_state is not None:
        model.opt_state = _tree(to_device, model.opt_state)
    model._step = model._workspaces = model._comm = model._scaler = None
    model._state_owner = model.optimizer if owner else None
    model._epoch_fns = {}
    if model.layout is not None:
        model._compile_forward()
