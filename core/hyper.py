"""``MLP``'s hyper-parameters, declared once: each option's default, its check, whether the model
file keeps it and what an older file without it means, what the file's schema accepts, and how a
resumed fit's run key and the summary show it. ``MLP.__init__`` (its signature too), the model file
(``core/persistence.py``: written and read), the schema (``core/schema.py``), the run key
(``core/fit_plan.py``) and ``MLP.summary()`` all read this table, so an option added here reaches
each of them (tests/test_hyper.py adds one).

``layers``, ``backend`` and ``kernels`` are the constructor's other arguments: the architecture
every file must hold, and where the model runs (never saved: a file loads on any backend).
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

from .. import backends
from .. import kernels as kernel_tables
from ..backends.host import np
from . import heads, initializers, targets, validation
from .activations import ACTIVATIONS, DEFAULT_INIT, check_hidden
from .columns import HANDLE_UNKNOWN, IMPUTE, NORMALIZE, check_option
from .defaults import DEFAULTS
from .regularization import check_dropout, check_penalty, check_smoothing, smoothing_head

#: ``absent`` of an option every model file holds (a file without it is refused)
REQUIRED = object()


@dataclass(frozen=True)
class Option:
    """One hyper-parameter. ``check(value, model)``: the constructor's check, given the model with
    the options before it (table order) set; returns what ``model.<attr>`` keeps. ``valid(value,
    d)``: whether a file's description ``d`` may hold ``value`` (``expected(d)`` says what it must
    be). ``key``: in a run key "always" or "when set" (truthy), else never. ``summary(model)``:
    its words in ``MLP.summary()``, or None."""

    name: str
    default: object
    check: Callable
    valid: Callable
    expected: Callable
    attr: str = ""
    saved: bool = True
    absent: object = REQUIRED
    key: str = ""
    summary: Callable | None = None

    @property
    def attribute(self) -> str:
        return self.attr or self.name


def _real(v, low=0.0, high=math.inf, high_open=False) -> bool:
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v >= low
    return ok and (v < high if high_open else v <= high)


def _names_of(allowed, count):
    return lambda v: isinstance(v, list) and len(v) == count and all(x in allowed for x in v)


def _n_hidden(d) -> int:
    return len(d["layers"]) - 2


def _output(v, m):
    sizes = m.requested_sizes
    if v is None and sizes[-1] is None:
        return None
    return heads.check_output(v, sizes[-1] or 2 if v == "softmax" else sizes[-1] or 1)


def _init(v, m):
    names = [DEFAULT_INIT[name] for name in m.hidden] + ["xavier"] if v is None else v
    return initializers.check_init(names, len(m.requested_sizes) - 1)


def _dtype(v, m):
    """The dtype's name, where the model's backend has it."""
    m.backend.float_dtype(v)  # a ValueError naming dtype otherwise
    return v


def _smoothing(v, m):
    eps = check_smoothing(v)
    if m.output is not None:
        smoothing_head(eps, m.output)
    return eps


def _choice(name, allowed):
    return lambda v, m: check_option(v, name, allowed)


def _in(allowed):
    return lambda v, d: v in allowed


def _one_of(allowed):
    return lambda d: f"one of {allowed}"


OPTIONS = (
    Option(
        "hidden",
        DEFAULTS["hidden"],
        lambda v, m: check_hidden(v, len(m.requested_sizes) - 2),
        lambda v, d: _names_of(ACTIVATIONS, _n_hidden(d))(v),
        lambda d: f"a list of {_n_hidden(d)} names from {', '.join(ACTIVATIONS)}",
        key="always",
    ),
    Option(
        "output",
        None,
        _output,
        lambda v, d: v in heads.HEADS and (v != "softmax" or d["layers"][-1] >= 2),
        lambda d: "sigmoid, softmax (2 or more outputs) or identity",
        key="always",
    ),
    Option(
        "init",
        DEFAULTS["init"],
        _init,
        lambda v, d: _names_of(initializers.INITIALIZERS, _n_hidden(d) + 1)(v),
        lambda d: f"a list of {_n_hidden(d) + 1} names from {', '.join(initializers.INITIALIZERS)}",
        key="always",
    ),
    Option(
        "dtype",
        DEFAULTS["dtype"],
        _dtype,
        _in(("float32", "float64")),
        lambda d: "float32 or float64",
        attr="dtype_name",
        key="always",
    ),
    Option(
        "seed",
        DEFAULTS["seed"],
        lambda v, m: validation.seed(v),
        lambda v, d: isinstance(v, numbers.Integral) and not isinstance(v, bool) and 0 <= v <= 2**63 - 1,
        lambda d: "an integer in [0, 2**63)",
        key="always",
    ),
    Option(
        "dropout",
        0.0,
        lambda v, m: check_dropout(v, len(m.requested_sizes) - 2),
        lambda v, d: isinstance(v, list) and len(v) == _n_hidden(d) and all(_real(r, 0, 1, True) for r in v),
        lambda d: f"a list of {_n_hidden(d)} rates in [0, 1)",
        key="always",
        summary=lambda m: f"dropout {m.dropout}" if any(m.dropout) else None,
    ),
    Option(
        "l1",
        0.0,
        lambda v, m: check_penalty(v, "l1"),
        lambda v, d: _real(v),
        lambda d: "a finite number >= 0",
        key="always",
        summary=lambda m: f"l1 {m.l1}, l2 {m.l2}" if m.l1 or m.l2 else None,
    ),
    Option(
        "l2",
        DEFAULTS["l2"],
        lambda v, m: check_penalty(v, "l2", auto=True),
        lambda v, d: _real(v) or v == "auto",
        lambda d: "a finite number >= 0 or 'auto' (before fit)",
        key="always",
    ),
    Option(
        "label_smoothing",
        0.0,
        _smoothing,
        lambda v, d: _real(v, 0, 1, True) and (v == 0 or d["output"] != "identity"),
        lambda d: "a number in [0, 1) (0 with the identity output)",
        absent=0.0,
        key="when set",
        summary=lambda m: f"label smoothing {m.label_smoothing}" if m.label_smoothing else None,
    ),
    Option(
        "normalize",
        DEFAULTS["normalize"],
        _choice("normalize", NORMALIZE),
        _in(NORMALIZE),
        _one_of(NORMALIZE),
        key="always",
    ),
    Option("impute", DEFAULTS["impute"], _choice("impute", IMPUTE), _in(IMPUTE), _one_of(IMPUTE), absent=None),
    Option(
        "handle_unknown",
        DEFAULTS["handle_unknown"],
        _choice("handle_unknown", HANDLE_UNKNOWN),
        _in(HANDLE_UNKNOWN),
        _one_of(HANDLE_UNKNOWN),
        absent="ignore",
    ),
    Option(
        "task",
        None,
        lambda v, m: None if v is None else targets.task(np.zeros(0), v),
        _in((None, "classify", "regress")),
        _one_of((None, "classify", "regress")),
        absent=None,
    ),
    Option(
        "precision",
        "fp32",
        lambda v, m: kernel_tables.check_precision(v, m.backend, m.dtype_name),
        lambda v, d: v in kernel_tables.PRECISIONS and (v == "fp32" or d["dtype"] == "float32"),
        lambda d: f"one of {', '.join(kernel_tables.PRECISIONS)} (tf32 and bf16 with float32)",
        absent="fp32",
    ),
    Option(
        "target_scaling",
        DEFAULTS["target_scaling"],
        _choice("target_scaling", targets.TARGET_SCALING),
        _in((None, "standard")),
        lambda d: "null or 'standard'",
        absent=None,
    ),
)


def signature() -> inspect.Signature:
    """``MLP(layers, hidden=..., ..., backend=None, kernels=None)``: the table's options in its
    order, then where the model runs (made once per table)."""
    if _SIGNATURE[0] is not OPTIONS:
        _SIGNATURE[:] = [OPTIONS, _signature()]
    return _SIGNATURE[1]


_SIGNATURE = [None, None]


def _signature() -> inspect.Signature:
    P = inspect.Parameter
    params = [P("self", P.POSITIONAL_OR_KEYWORD), P("layers", P.POSITIONAL_OR_KEYWORD)]
    params += [P(o.name, P.POSITIONAL_OR_KEYWORD, default=o.default) for o in OPTIONS]
    params += [P(n, P.KEYWORD_ONLY, default=None) for n in ("backend", "kernels")]
    return inspect.Signature(params)


def checked(model, arguments: dict):
    """(attribute, value) of each option of ``arguments`` (all of the table's), checked in table
    order, the backend first: the model keeps each before the next is checked (a check may read
    the ones before it); a ValueError names the first bad one."""
    yield "backend", backends.get(arguments["backend"])
    for o in OPTIONS:
        yield o.attribute, o.check(arguments[o.name], model)


def options(model, **changes) -> dict:
    """Every option as ``model`` holds it, by its constructor name, with ``changes``: the
    arguments of a twin, ``MLP(model.sizes, **options(model, dtype="float64"), backend=...)``."""
    return {o.name: getattr(model, o.attribute) for o in OPTIONS} | changes


def saved(model) -> dict:
    """The saved options' values, for the model file."""
    return {o.name: getattr(model, o.attribute) for o in OPTIONS if o.saved}


def from_file(d) -> dict:
    """The constructor's arguments from a file's description (an option an older file lacks: its
    ``absent`` value); KeyError for a required one missing."""
    return {o.name: (d[o.name] if o.absent is REQUIRED or o.name in d else o.absent) for o in OPTIONS if o.saved}


def run_key(model) -> str:
    """The options in a run key, as "name=value, " pieces in table order."""
    return "".join(
        f"{o.name}={getattr(model, o.attribute)}, "
        for o in OPTIONS
        if o.key == "always" or (o.key == "when set" and getattr(model, o.attribute))
    )


def summary_words(model) -> list[str]:
    """The options' words in the summary, where set."""
    words = [o.summary(model) for o in OPTIONS if o.summary is not None]
    return [w for w in words if w]
