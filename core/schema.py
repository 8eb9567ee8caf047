"""The model description's schema: what a model file's (and a checkpoint's) JSON description may
hold, checked right after the header is parsed and before anything is allocated beyond it.

JSON is parsed with bounded size and depth (``parse``). Then ``check(description, specs, path)``
checks, in order: every field's type and range (the table below); the fields against each other
(one activation per hidden layer, one initialiser and one dropout rate per layer, the
preprocessing plan's width against the input layer, the class labels against the output head);
and the tensors the header announces against the architecture (W1…WL, b1…bL with the layers'
shapes, and a checkpoint's optimiser state, order and best parameters with the parameter count).
Every failure is a ``ValueError`` naming the file and the field.

| field | allowed |
|---|---|
| layers | 2–1000 ints in [1, 10⁷] |
| the hyper-parameters below | as core/hyper.py's table declares each (its ``valid`` and ``expected``) |
| hidden, init | one name per hidden layer / per layer, from reseau's activations / initialisers |
| output | "sigmoid", "softmax" (≥ 2 outputs), "identity" |
| dtype | "float32", "float64" |
| precision | "fp32", "tf32", "bf16" (the last two with float32; absent in older files: fp32) |
| seed | int in [0, 2⁶³) |
| dropout | one rate in [0, 1) per hidden layer |
| l1, l2 | finite numbers ≥ 0 (l2 "auto" in a model saved before its first fit) |
| label_smoothing | a number in [0, 1), 0 with the identity head (absent in older files: 0) |
| normalize, impute, handle_unknown, task | their options, or null where allowed |
| feature_names | null or strings, as many as the plan's columns |
| preprocessing | null or a column plan (core/columns.py) of the input layer's width |
| classes | null or 1 to n_classes scalar labels |
| target_name | null or a string (absent in older files) |
| training | {"optimizer": null or {"name", "hyperparameters"} that make an optimiser, "epochs", "steps": ints ≥ 0} |
| history | an object of lists |
| checkpoint | the fields core/state.py declares (CHECKPOINT), each checked by its kind (checkpoints only) |
"""

from __future__ import annotations

import json
import math
import numbers

from ..backends.host import np
from . import columns, hyper, optim
from .state import CHECKPOINT

MAX_DEPTH = 32
MAX_LAYERS = 1000
MAX_UNITS = 10**7


def parse(raw: bytes | str, what: str, limit: int):
    """JSON from ``raw`` (at most ``limit`` bytes or characters, nested at most MAX_DEPTH deep),
    else ValueError. Text is parsed as it is: no encoded copy of a large header is made."""
    if len(raw) > limit:
        raise ValueError(f"{what} is {len(raw)} bytes; at most {limit} are read")
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError(f"{what} is nested more than {MAX_DEPTH} deep") from None
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"{what} is not valid JSON") from None
    if _max_depth(value) > MAX_DEPTH:
        raise ValueError(f"{what} is nested more than {MAX_DEPTH} deep")
    return value


def _max_depth(value) -> int:
    """How deep lists and objects nest in parsed JSON (a scalar: 0; counted up to MAX_DEPTH + 1),
    walked without recursion: one iterator per open container, whatever the containers' length."""
    if not isinstance(value, (dict, list)):
        return 0
    peak, stack = 1, [iter(_children(value))]
    while stack and peak <= MAX_DEPTH:
        for child in stack[-1]:
            if isinstance(child, (dict, list)):
                stack.append(iter(_children(child)))
                peak = max(peak, len(stack))
                break
        else:
            stack.pop()
    return peak


def _children(v):
    return v.values() if isinstance(v, dict) else v


class _Fail(ValueError):
    pass


def _require(ok, field, expected, value):
    if not ok:
        shown = repr(value)
        raise _Fail(f"{field} must be {expected}; got {shown if len(shown) <= 80 else shown[:77] + '...'}")


def _int(v, low=0, high=2**63 - 1):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and low <= v <= high


def _real(v, low=0.0, high=math.inf, high_open=False):
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v >= low
    return ok and (v < high if high_open else v <= high)


def check(description, specs: dict, path, checkpoint: bool = False):
    """Check a parsed description and the tensors its header announces ({name: (dtype, shape)});
    a ValueError "<path>: the description's <field> must be ..." otherwise."""
    try:
        _check(description, specs, checkpoint)
    except _Fail as exc:
        raise ValueError(f"{path}: the description's {exc}") from None


def _check(d, specs, checkpoint):
    _require(isinstance(d, dict), "top level", "an object", type(d).__name__)
    layers = _layers(d)
    for o in hyper.OPTIONS:  # core/hyper.py: each saved hyper-parameter's test, in its order
        if o.saved:
            value = d.get(o.name) if o.absent is hyper.REQUIRED else d.get(o.name, o.absent)
            _require(o.valid(value, d), o.name, o.expected(d), value)
    _inputs(d, layers[0])
    _outputs(d, layers)
    _training(d.get("training"))
    history = d.get("history", {})
    _require(
        isinstance(history, dict) and all(isinstance(v, list) for v in history.values()),
        "history",
        "an object of lists",
        type(history).__name__,
    )
    checkpoint = checkpoint or "checkpoint" in d  # a checkpoint is also a model file
    _tensors(specs, layers, d["dtype"], checkpoint)
    if checkpoint:
        _checkpoint(d.get("checkpoint"))


def _layers(d) -> list:
    """The layer sizes, checked."""
    layers = d.get("layers")
    _require(
        isinstance(layers, list) and 2 <= len(layers) <= MAX_LAYERS and all(_int(s, 1, MAX_UNITS) for s in layers),
        "layers",
        f"a list of 2 to {MAX_LAYERS} layer sizes in [1, {MAX_UNITS}]",
        layers,
    )
    return layers


def _inputs(d, n_in):
    """The preprocessing plan and the feature names."""
    width = _preprocessing(d, n_in)
    names = d.get("feature_names")
    _require(
        names is None
        or (
            isinstance(names, list)
            and all(isinstance(n, str) for n in names)
            and (width is None or len(names) == width)
        ),
        "feature_names",
        "null or a list of strings, one per input column",
        names,
    )


def _outputs(d, layers):
    """The class labels, the target's name and the regression targets' scaling."""
    name = d.get("target_name")
    _require(name is None or (isinstance(name, str) and len(name) <= 10_000), "target_name", "null or a string", name)
    classes = d.get("classes")
    capacity = 2 if d["output"] == "sigmoid" and layers[-1] == 1 else layers[-1]
    _require(
        classes is None
        or (
            isinstance(classes, list)
            and 1 <= len(classes) <= capacity
            and all(isinstance(c, (str, int, float, bool)) for c in classes)
        ),
        "classes",
        f"null or a list of 1 to {capacity} labels (strings or numbers)",
        classes,
    )
    scale = d.get("target_scale")
    _require(
        scale is None
        or (
            d["output"] == "identity"
            and isinstance(scale, dict)
            and all(
                isinstance(scale.get(k), list)
                and len(scale[k]) == layers[-1]
                and all(_real(v, -math.inf) for v in scale[k])
                for k in ("mean", "std")
            )
            and all(v > 0 for v in scale["std"])
        ),
        "target_scale",
        f"null or {{mean, std}} of {layers[-1]} finite numbers each (std > 0), for an identity head",
        scale,
    )


def _preprocessing(d, n_in):
    """The plan's column count, after checking it makes a plan of the input layer's width."""
    plan = d.get("preprocessing")
    if plan is None:
        legacy = d.get("scaler")
        if legacy is not None:
            ok = (
                isinstance(legacy, dict)
                and legacy.get("kind") in ("minmax", "standard")
                and all(
                    isinstance(legacy.get(k), list)
                    and len(legacy[k]) == n_in
                    and all(_real(v, -math.inf) for v in legacy[k])
                    for k in ("offset", "scale")
                )
            )
            _require(ok, "scaler", f"an object with kind and {n_in} offsets and scales", type(legacy).__name__)
        return None
    try:
        fitted = columns.ColumnPlan.from_json(plan)
    except ValueError as exc:
        raise _Fail(str(exc)) from None
    _require(
        fitted.width == n_in,
        "preprocessing",
        f"a plan of {n_in} input features (the input layer)",
        f"a plan of {fitted.width}",
    )
    return len(fitted.names)


def _training(t):
    _require(isinstance(t, dict), "training", "an object", type(t).__name__)
    for field in ("epochs", "steps"):
        _require(_int(t.get(field)), f"training.{field}", "an integer >= 0", t.get(field))
    opt = t.get("optimizer")
    if opt is None:
        return
    _require(
        isinstance(opt, dict)
        and isinstance(opt.get("name"), str)
        and opt["name"] in optim.OPTIMIZERS
        and isinstance(opt.get("hyperparameters"), dict),
        "training.optimizer",
        f"null or {{name: one of {', '.join(optim.OPTIMIZERS)}, hyperparameters: {{...}}}}",
        opt,
    )
    try:
        optim.OPTIMIZERS[opt["name"]](**opt["hyperparameters"])
    except (TypeError, ValueError) as exc:
        raise _Fail(f"training.optimizer.hyperparameters must make a {opt['name']} optimiser ({exc})") from None


def _tensors(specs, layers, dtype, checkpoint):
    """W1…WL and b1…bL with the architecture's shapes; in checkpoints, the state tensors too."""
    n_params = sum(a * b + b for a, b in zip(layers[:-1], layers[1:]))
    expected = {}
    for l, (n_in, n_out) in enumerate(zip(layers[:-1], layers[1:]), start=1):
        expected[f"W{l}"], expected[f"b{l}"] = [n_in, n_out], [n_out]
    for name, shape in expected.items():
        _require(
            name in specs and list(specs[name][1]) == shape,
            f"tensor {name}",
            f"present with shape {shape} (the layers)",
            None if name not in specs else specs[name][1],
        )
    for name, (kind, shape) in specs.items():
        if name in expected:
            _require(np.dtype(kind) == np.dtype(dtype), f"tensor {name}", f"of dtype {dtype}", np.dtype(kind).name)
        elif not checkpoint:
            raise _Fail(f"tensors must be W1…W{len(layers) - 1} and b1…b{len(layers) - 1}; got an extra {name!r}")
        elif name.startswith("state.") or name == "best_params":
            _require(list(shape) in ([], [n_params]), f"tensor {name}", f"a scalar or {n_params} values", shape)
        elif name == "order":
            _require(len(shape) == 1, "tensor order", "one row index per example", shape)
        else:
            raise _Fail(f"tensors of a checkpoint are the weights, state.*, order and best_params; got {name!r}")


def _generator_state(v) -> bool:
    try:
        np.random.default_rng(0).bit_generator.state = v
    except (TypeError, ValueError, KeyError, OverflowError):
        return False
    return True


#: each kind of checkpoint field (core/state.py CHECKPOINT): (its check, what it must be)
KINDS = {
    "count": (_int, "an integer >= 0"),
    "count or null": (lambda v: v is None or _int(v), "null or an integer >= 0"),
    "text": (lambda v: isinstance(v, str), "a string"),
    "two counts": (lambda v: isinstance(v, list) and len(v) == 2 and all(_int(x) for x in v), "two integers >= 0"),
    "object or null": (lambda v: v is None or isinstance(v, dict), "null or an object"),
    "numbers": (lambda v: isinstance(v, dict) and all(_real(x, -math.inf) for x in v.values()), "an object of numbers"),
    "flag": (lambda v: isinstance(v, bool), "true or false"),
    "generator state": (_generator_state, "the state of numpy's default generator"),
}


def _checkpoint(c):
    """Every field core/state.py declares for a checkpoint, checked by its kind."""
    _require(isinstance(c, dict), "checkpoint", "an object", type(c).__name__)
    for field, kind in CHECKPOINT.items():
        ok, expected = KINDS[kind]
        _require(ok(c.get(field)), f"checkpoint.{field}", expected, c.get(field))
