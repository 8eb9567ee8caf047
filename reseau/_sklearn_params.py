"""The scikit-learn estimators' parameters, checked as scikit-learn checks them: a ValueError at fit
naming the parameter, the value and what is allowed (scikit-learn's own wording), before any
state changes (the sample weights: core/weights.py)."""

from __future__ import annotations

import numbers

from sklearn.base import is_classifier

from .backends.host import np
from .core import columns, optim
from .core.activations import ACTIVATIONS
from .core.initializers import INITIALIZERS
from .core.regularization import check_dropout

#: scikit-learn's solvers that step through mini-batches, then reseau's other optimisers
STOCHASTIC = ("sgd", "adam") + tuple(name for name in optim.OPTIMIZERS if name not in ("sgd", "adam"))
#: scikit-learn's hidden activation names, and reseau's for them
HIDDEN = {"logistic": "sigmoid", "tanh": "tanh", "relu": "relu", "identity": "identity"}


def hidden_sizes(sizes) -> list:
    return [sizes] if not hasattr(sizes, "__iter__") else list(sizes)


def check_params(est):
    """scikit-learn-style checks: a ValueError naming the parameter, the value and what is allowed."""
    name = type(est).__name__

    def require(param, ok, expected):
        if not ok:
            raise ValueError(
                f"The {param!r} parameter of {name} must be {expected}. Got {getattr(est, param)!r} instead."
            )

    def real(v):
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v)

    def integer(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    sizes = est.hidden_layer_sizes
    sizes_ok = (
        (integer(sizes) and sizes >= 1) if not hasattr(sizes, "__iter__") else all(integer(s) and s >= 1 for s in sizes)
    )
    require("hidden_layer_sizes", sizes_ok, "an int >= 1 or an array-like of ints >= 1")
    require(
        "activation",
        est.activation in HIDDEN or est.activation in ACTIVATIONS,
        f"a str among {sorted(set(HIDDEN) | set(ACTIVATIONS))}",
    )
    require("solver", est.solver in ("lbfgs",) + STOCHASTIC, f"a str among {['lbfgs', *STOCHASTIC]}")
    require("alpha", real(est.alpha) and est.alpha >= 0, "a float in the range [0.0, inf)")
    require(
        "batch_size",
        est.batch_size == "auto" or (integer(est.batch_size) and est.batch_size >= 1),
        "a str among {'auto'} or an int in the range [1, inf)",
    )
    require(
        "learning_rate",
        est.learning_rate in ("constant", "invscaling", "adaptive"),
        "a str among {'adaptive', 'constant', 'invscaling'}",
    )
    require(
        "learning_rate_init",
        real(est.learning_rate_init) and est.learning_rate_init > 0,
        "a float in the range (0.0, inf)",
    )
    require("power_t", real(est.power_t) and est.power_t >= 0, "a float in the range [0.0, inf)")
    require("max_iter", integer(est.max_iter) and est.max_iter >= 1, "an int in the range [1, inf)")
    for flag in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
        require(flag, isinstance(est.__dict__[flag], (bool, np.bool_)), "an instance of 'bool'")
    require("verbose", isinstance(est.verbose, (bool, numbers.Integral)), "an int or a bool")
    require("tol", real(est.tol) and est.tol >= 0, "a float in the range [0.0, inf)")
    require("momentum", real(est.momentum) and 0 <= est.momentum <= 1, "a float in the range [0.0, 1.0]")
    require(
        "validation_fraction",
        real(est.validation_fraction) and 0 <= est.validation_fraction < 1,
        "a float in the range [0.0, 1.0)",
    )
    for beta in ("beta_1", "beta_2"):
        require(beta, real(getattr(est, beta)) and 0 <= getattr(est, beta) < 1, "a float in the range [0.0, 1.0)")
    require("epsilon", real(est.epsilon) and est.epsilon > 0, "a float in the range (0.0, inf)")
    require(
        "n_iter_no_change",
        (integer(est.n_iter_no_change) and est.n_iter_no_change >= 1) or est.n_iter_no_change == np.inf,
        "an int in the range [1, inf) or inf",
    )
    require("max_fun", integer(est.max_fun) and est.max_fun >= 1, "an int in the range [1, inf)")
    require(
        "loss",
        est.loss in (("log_loss",) if is_classifier(est) else ("squared_error", "poisson")),
        "a str among {'poisson', 'squared_error'}",
    )
    require("dtype", est.dtype in (None, "float32", "float64"), "None, 'float32' or 'float64'")
    require("init", est.init is None or est.init in INITIALIZERS, f"None or a str among {list(INITIALIZERS)}")
    check_dropout(est.dropout, len(hidden_sizes(sizes)))
    columns.check_option(est.normalize, "normalize", columns.NORMALIZE)
    columns.check_option(est.impute, "impute", columns.IMPUTE)
    columns.check_option(est.handle_unknown, "handle_unknown", columns.HANDLE_UNKNOWN)
