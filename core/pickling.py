"""Pickling a model (``pickle``, ``copy.deepcopy``, joblib): its state as host arrays and plain
values, never a module, a compiled function or a device buffer.

The backend and the kernel table travel by name and are looked up again on unpickling; the
parameters, the optimiser's slots, its rate and the guard's book travel as NumPy arrays and go
back to the backend's device; compiled steps, forward passes and workspaces are rebuilt on first
use. The host generator travels with its state, so a round trip continues the same trajectory
(bit-identical on NumPy). ``reseau.load`` stays pickle-free: model files hold no pickles.

Unpickling checks what it restores as ``load`` checks a file: the parameters one finite float
vector (or leaves) of the layers' length, then the description the state makes against the
model-file schema (core/schema.py). A state that fails is a ValueError on unpickling, not a
failure (or NaN) at the first predict.
"""

from __future__ import annotations

import dataclasses
import json

from .. import backends
from .. import kernels as kernel_tables
from ..backends.host import np
from .contract import InputContract
from .network import Network
from .state import TRAINING, TRANSIENT, StepState, Training

#: attributes of models pickled by earlier versions, and their names now
RENAMED = {"_sizes": "requested_sizes", "_fit_epoch0": "fit_epoch0", "_schedule_start": "schedule_start"}
#: attributes of earlier versions that are now parts of ``model.contract`` (core/contract.py)
CONTRACT = ("columns", "classes", "target_scale")
#: attributes of earlier versions that are now rebuilt or gone
DROPPED = ("_evaluate", "_output", "_reg", "_grad_norms_fn", "_scaler")


def _tree(fn, x):
    """``fn`` on every array of a StepState / dict / tuple tree; other values (ints, floats) kept."""
    if isinstance(x, StepState):
        return StepState(_tree(fn, x.slots), _tree(fn, x.lr), _tree(fn, x.book))
    if isinstance(x, dict):
        return {k: _tree(fn, v) for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(_tree(fn, v) for v in x)
    return fn(x) if hasattr(x, "shape") else x


def host_state(model, owner_is_optimizer: bool) -> dict:
    """The model's state with every device array copied to the host."""
    backend = model.backend
    state = {k: v for k, v in model.__dict__.items() if k not in TRANSIENT and k not in ("training", "network")}
    state.update(model.training.fields())  # the parts' fields by name, as every version pickled them
    state.update(model.network.fields() if model.network is not None else dict.fromkeys(Network.FIELDS))
    state.update(
        backend=backend.name,
        kern=kernel_tables.variant_of(model.kern),
        dtype=None,
        state_owner_is_optimizer=owner_is_optimizer,
    )
    to_host = lambda a: np.array(backend.to_numpy(a))  # noqa: E731 - a copy, never a view of the device buffer
    state["params"] = None if model.params is None else _tree(to_host, model.params)
    state["opt_state"] = None if model.opt_state is None else _tree(to_host, model.opt_state)
    return state


def _check_params(state):
    """The pickled parameters: None for an unbuilt model, else the layers' P finite floats."""
    from .layout import Layout

    layout, params = state.get("layout"), state.get("params")
    if layout is not None and not isinstance(layout, Layout):
        raise ValueError(f"pickled MLP: layout is a {type(layout).__name__}; expected a Layout or None")
    if layout is None:
        if params is not None:
            raise ValueError("pickled MLP: parameters without a network; expected params None before fit")
        return
    leaves = params if isinstance(params, tuple) else (params,)
    if not all(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in leaves):
        raise ValueError(
            "pickled MLP: params must be float arrays; got "
            f"{', '.join(type(a).__name__ if not hasattr(a, 'dtype') else str(a.dtype) for a in leaves)}"
        )
    shapes = [s for n_in, n_out in layout.shapes for s in ((n_in, n_out), (n_out,))]
    got = [a.shape for a in leaves]
    if got != (shapes if isinstance(params, tuple) else [(layout.size,)]):
        raise ValueError(
            f"pickled MLP: params have shapes {got}; expected "
            f"{shapes if isinstance(params, tuple) else [(layout.size,)]} for layers {layout.sizes}"
        )
    if not all(np.isfinite(a).all() for a in leaves):
        raise ValueError("pickled MLP: params contain NaN or inf; expected finite numbers")


def check_restored(model):
    """The restored model's description against the model-file schema (as ``load`` checks it)."""
    from . import schema

    if model.layout is None:
        return
    try:
        tensors, description = model.file_contents()
    except (AttributeError, TypeError, KeyError, IndexError) as exc:
        raise ValueError(f"pickled MLP: the state does not make a model ({type(exc).__name__}: {exc})") from None
    try:  # the description as a file holds it: JSON, then the schema's checks, as ``load`` runs them
        description = json.loads(json.dumps(description, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"pickled MLP: the state does not make a model ({exc})") from None
    specs = {name: (a.dtype.name, list(a.shape)) for name, a in tensors.items()}
    schema.check(description, specs, "pickled MLP")


def restore_state(state: dict) -> tuple[dict, bool]:
    """The inverse of ``host_state``: (the model's attributes, whether the optimiser state belonged
    to the model's optimiser), arrays back on the named backend (which must be available here),
    the parts (training state, network, contract) made whole, the transient ones None, the state
    checked first (``_check_params``); anything that fails on the way is a ValueError saying
    "pickled MLP". The model takes the attributes, rebuilds its caches and calls ``check_restored``."""
    try:
        return _restore(state)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        if str(exc).startswith("pickled MLP"):
            raise
        raise ValueError(f"pickled MLP: the state does not make a model ({type(exc).__name__}: {exc})") from None


def _restore(state):
    state = dict(state)
    _check_params(state)
    backend = backends.get(state.pop("backend"))
    kern = kernel_tables.for_backend(backend, state.pop("kern"), state.get("precision", "fp32"))
    owner = state.pop("state_owner_is_optimizer")
    for old, new in RENAMED.items():
        if old in state:
            state[new] = state.pop(old)
    for old in DROPPED:
        state.pop(old, None)
    dtype = backend.float_dtype(state["dtype_name"])
    to_device = lambda a: backend.asarray(a, dtype=dtype if a.dtype.kind == "f" else None)  # noqa: E731
    # the training state's fields (what an earlier version did not pickle starts as declared)
    training = Training(**{name: state.pop(name) for name in TRAINING if name in state})
    if training.opt_state is not None:
        training.set_state(_tree(to_device, training.opt_state))
    built = {name: state.pop(name, None) for name in Network.FIELDS}
    if built["activations"] is None and built["layout"] is not None:  # pickled before the field
        built["activations"] = list(state["hidden"]) + ["identity"]
    network = None if built["layout"] is None else Network(**built)
    if network is not None:
        network.set_params(_tree(to_device, network.params))
    parts = {k: state.pop(k) for k in CONTRACT if k in state}  # pickled before the contract was one object
    contract = dataclasses.replace(state.get("contract") or InputContract(), **parts)
    attributes = {"label_smoothing": 0.0, **state}  # label smoothing: pickled before it existed
    attributes.update(dict.fromkeys(TRANSIENT), training=training, network=network, contract=contract)
    attributes.update(backend=backend, kern=kern, dtype=dtype)  # rebuilt by the model (MLP.__setstate__)
    return attributes, owner
