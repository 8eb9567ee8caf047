"""The scikit-learn estimators' parameters, stored and checked as scikit-learn checks them: a ValueError at fit
naming the parameter, the value and what is allowed (scikit-learn's own wording), before any
state changes (the sample weights: core/weights.py)."""

from __future__ import annotations

import inspect
import numbers

from sklearn.base import is_classifier

from ..backends.host import np
from ..core import columns, guard, optim
from ..core.activations import ACTIVATIONS
from ..core.callbacks import as_list
from ..core.initializers import INITIALIZERS
from ..core.regularization import check_dropout

#: scikit-learn's solvers that step through mini-batches, then reseau's other optimisers
STOCHASTIC = ("sgd", "adam") + tuple(name for name in optim.OPTIMIZERS if name not in ("sgd", "adam"))
#: scikit-learn's hidden activation names, and reseau's for them
HIDDEN = {"logistic": "sigmoid", "tanh": "tanh", "relu": "relu", "identity": "identity"}


def hidden_sizes(sizes) -> list:
    return [sizes] if not hasattr(sizes, "__iter__") else list(sizes)


def _real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and bool(np.isfinite(v))


def _int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _at_least(low, strict=False):
    return lambda v: _real(v) and (v > low if strict else v >= low)


def _unit(high_open):
    return lambda v: _real(v) and 0 <= v and (v < 1 if high_open else v <= 1)


def _sizes(v) -> bool:
    return (_int(v) and v >= 1) if not hasattr(v, "__iter__") else all(_int(s) and s >= 1 for s in v)


def _rules(est):
    """(parameter, allowed(value), what is allowed in scikit-learn's words), every parameter."""
    flag = (lambda v: isinstance(v, (bool, np.bool_)), "an instance of 'bool'")
    count = (lambda v: _int(v) and v >= 1, "an int in the range [1, inf)")
    losses = ("log_loss",) if is_classifier(est) else ("squared_error", "poisson")
    return [
        ("hidden_layer_sizes", _sizes, "an int >= 1 or an array-like of ints >= 1"),
        (
            "activation",
            lambda v: v in HIDDEN or v in ACTIVATIONS,
            f"a str among {sorted(set(HIDDEN) | set(ACTIVATIONS))}",
        ),
        ("solver", lambda v: v in ("lbfgs",) + STOCHASTIC, f"a str among {['lbfgs', *STOCHASTIC]}"),
        ("alpha", _at_least(0), "a float in the range [0.0, inf)"),
        (
            "batch_size",
            lambda v: v == "auto" or (_int(v) and v >= 1),
            "a str among {'auto'} or an int in the range [1, inf)",
        ),
        (
            "learning_rate",
            lambda v: v in ("constant", "invscaling", "adaptive"),
            "a str among {'adaptive', 'constant', 'invscaling'}",
        ),
        ("learning_rate_init", _at_least(0, strict=True), "a float in the range (0.0, inf)"),
        ("power_t", _at_least(0), "a float in the range [0.0, inf)"),
        ("max_iter", *count),
        *((name, *flag) for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping")),
        ("verbose", lambda v: isinstance(v, (bool, numbers.Integral)), "an int or a bool"),
        ("tol", _at_least(0), "a float in the range [0.0, inf)"),
        ("momentum", _unit(high_open=False), "a float in the range [0.0, 1.0]"),
        ("validation_fraction", _unit(high_open=True), "a float in the range [0.0, 1.0)"),
        ("beta_1", _unit(high_open=True), "a float in the range [0.0, 1.0)"),
        ("beta_2", _unit(high_open=True), "a float in the range [0.0, 1.0)"),
        ("epsilon", _at_least(0, strict=True), "a float in the range (0.0, inf)"),
        ("n_iter_no_change", lambda v: (_int(v) and v >= 1) or v == np.inf, "an int in the range [1, inf) or inf"),
        ("max_fun", *count),
        ("loss", lambda v: v in losses, "a str among {'poisson', 'squared_error'}"),
        ("dtype", lambda v: v in (None, "float32", "float64"), "None, 'float32' or 'float64'"),
        ("init", lambda v: v is None or v in INITIALIZERS, f"None or a str among {list(INITIALIZERS)}"),
    ]


def check_params(est):
    """scikit-learn-style checks: a ValueError naming the parameter, the value and what is allowed."""
    for param, ok, expected in _rules(est):
        value = getattr(est, param)
        if not ok(value):
            raise ValueError(
                f"The {param!r} parameter of {type(est).__name__} must be {expected}. Got {value!r} instead."
            )
    sizes = est.hidden_layer_sizes
    check_dropout(est.dropout, len(hidden_sizes(sizes)))
    columns.check_option(est.normalize, "normalize", columns.NORMALIZE)
    columns.check_option(est.impute, "impute", columns.IMPUTE)
    columns.check_option(est.handle_unknown, "handle_unknown", columns.HANDLE_UNKNOWN)
    as_list(est.callbacks)
    if est.on_divergence is not None:
        guard.check_mode(est.on_divergence)


#: every parameter and its default: scikit-learn's (its names, order and defaults), then reseau's;
#: ``extra`` adds an estimator's own (the regressor's loss, the classifier's class_weight)
PARAMETERS = {
    "hidden_layer_sizes": (100,),
    "activation": "relu",
    "solver": "adam",
    "alpha": 1e-4,
    "batch_size": "auto",
    "learning_rate": "constant",
    "learning_rate_init": 1e-3,
    "power_t": 0.5,
    "max_iter": 200,
    "shuffle": True,
    "random_state": None,
    "tol": 1e-4,
    "verbose": False,
    "warm_start": False,
    "momentum": 0.9,
    "nesterovs_momentum": True,
    "early_stopping": False,
    "validation_fraction": 0.1,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "epsilon": 1e-8,
    "n_iter_no_change": 10,
    "max_fun": 15000,
    "backend": None,
    "dtype": None,
    "dropout": 0.0,
    "init": None,
    "normalize": None,
    "impute": None,
    "handle_unknown": "ignore",
    "callbacks": None,
    "on_divergence": None,
}


def constructor(after=None, **extra):
    """An estimator's ``__init__`` with the signature of PARAMETERS (the first two positional,
    the rest keyword-only, as scikit-learn's), ``extra`` inserted after the parameter ``after``
    (or at the end): it stores each argument as it is, one attribute each (scikit-learn's rule;
    get_params reads the names off this signature)."""
    names = list(PARAMETERS)
    at = names.index(after) + 1 if after is not None else len(names)
    defaults = {**{k: PARAMETERS[k] for k in names[:at]}, **extra, **{k: PARAMETERS[k] for k in names[at:]}}
    kinds = [inspect.Parameter.POSITIONAL_OR_KEYWORD] * 2 + [inspect.Parameter.KEYWORD_ONLY] * (len(defaults) - 2)
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(name, kind, default=v) for (name, v), kind in zip(defaults.items(), kinds)]
    )

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature
    return __init__
