"""A model's file: what is written (``file_contents``: the tensors W1, b1, … and the JSON
description), ``save`` (atomic, refusing what ``load`` would refuse), and ``read`` and ``restore``,
which ``core/model.py``'s ``load`` builds the model with (the file's description checked against
core/schema.py before anything is built; no code executed).
"""

from __future__ import annotations

from .. import backends
from .. import kernels as kernel_tables
from ..backends.host import np
from . import hyper, outputs, schema, serialize


def save(model, path):
    """Write the model to ``path`` (safetensors layout + JSON description; see
    ``core/serialize.py``), atomically. ``reseau.load(path, backend=...)`` reads it back on
    any backend. Weights that are NaN or infinite (a callback's doing, say) are refused: the
    file would not load. ``path`` a link: the file it points at is replaced; a directory, device,
    FIFO or socket: refused (core/outputs.py)."""
    outputs.destination(path, "path")
    if model.params is not None and not np.isfinite(model.backend.to_numpy(model.params)).all():
        raise ValueError(
            f"save({str(path)!r}): the model's weights hold NaN or infinite values, which a "
            "model file cannot hold (load would refuse it); nothing was written"
        )
    serialize.write(path, *model.file_contents())


def file_contents(model):
    """(tensors, description) of the model file: W1, b1, … and the model's JSON description."""
    tensors = {}
    for l, (W, b) in enumerate(model.get_weights(), start=1):
        tensors[f"W{l}"], tensors[f"b{l}"] = W, b
    optimizer = (
        None
        if model.optimizer is None
        else {"name": model.optimizer.name, "hyperparameters": jsonable(model.optimizer.hyperparameters())}
    )
    inputs = model.contract.to_json(jsonable)
    return tensors, {
        "layers": model.sizes,
        **hyper.saved(model),  # core/hyper.py: every saved hyper-parameter
        **{k: inputs[k] for k in ("feature_names", "preprocessing", "classes")},  # the input contract
        "target_scale": inputs["target_scale"],
        "target_name": inputs["target_name"],
        "training": {"optimizer": optimizer, "epochs": model.epoch, "steps": model.step_count},
        "history": jsonable(dict(model.history)),
    }


def read(path, backend=None, precision=None):
    """(the constructor's arguments, the tensors, the description) of the model file at ``path``,
    its description checked against core/schema.py first; no code is executed. ``MLP(**arguments)``
    then ``restore`` make the model (``core/model.py``'s ``load``)."""
    tensors, d = serialize.read(path, lambda d, specs: schema.check(d, specs, path))
    if precision is None:  # the file's, where this backend runs it; the weights are float32 either way
        precision = d.get("precision", "fp32")
        if precision not in kernel_tables.SUPPORTED.get(backends.get(backend).name, ("fp32",)):
            precision = "fp32"
    try:
        arguments = {"layers": d["layers"], **hyper.from_file(d), "backend": backend}
    except KeyError as exc:
        raise ValueError(f"{path}: the description does not make a valid model (missing {exc})") from None
    arguments["precision"] = precision
    return arguments, tensors, d


def restore(model, tensors, d, path):
    """The saved weights, input contract and training counters onto ``model`` (built from ``read``'s
    arguments); returns it."""
    try:
        n_layers = len(d["layers"]) - 1
        model.set_weights([(tensors[f"W{l}"], tensors[f"b{l}"]) for l in range(1, n_layers + 1)])
        model.contract.restore(d, model.sizes[0], model.sizes[-1])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the description does not make a valid model ({exc})") from None
    model.training.set_counts(d["training"]["epochs"], d["training"]["steps"])
    model.training.set_history(d.get("history", {}))
    return model


def jsonable(value):
    """Lists, dicts, tuples and numbers as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, str)) or value is None:
        return value
    return float(value) if isinstance(value, float) or hasattr(value, "dtype") else value
