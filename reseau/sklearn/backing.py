"""The reseau network behind an estimator (``model_``, a ``reseau.MLP``): built from the
estimator's parameters, its first weights drawn as scikit-learn draws them, the fitted weights
moved between ``coefs_`` / ``intercepts_`` (host arrays, scikit-learn's form) and the model's flat
parameters (on its device), and the forward pass that predictions run."""

from __future__ import annotations

import numbers

from ..backends.host import np
from ..core.build import weight_mask
from ..core.model import MLP
from ..core.regularization import with_alpha
from ..core.workspace import Workspaces
from .params import HIDDEN

#: scikit-learn's output activation → the kernel head its loss is (logistic: binary cross-entropy
#: from the logits, also multilabel; softmax: cross-entropy, y as labels; identity: ½(z − y)²;
#: exp: half the Poisson deviance, ``loss="poisson"``); each head's dZ is A − Y
HEADS = {"logistic": "sigmoid", "softmax": "softmax", "identity": "identity", "exp": "poisson"}
#: … and the ``MLP`` output predictions start from (exp: the identity's logits, then eᶻ)
OUTPUTS = {"logistic": "sigmoid", "softmax": "softmax", "identity": "identity", "exp": "identity"}


class Compiled:
    """What is built for ``model`` and never pickled: the compiled programs by key (a step per
    optimiser, the forward pass, L-BFGS's loss and gradient), the workspaces its steps share, and
    ``holds``: the ``coefs_`` list whose values the model's parameters are (checked by identity
    before a forward pass; anything else is uploaded first)."""

    def __init__(self, model):
        self.model, self.programs, self.holds = model, {}, None
        kern = model.kern
        self.workspaces = Workspaces(kern, model.layout, model.activations, model.dtype) if kern.in_place else None

    def program(self, key, make):
        """The program built by ``make()`` for ``key``, built once."""
        if key not in self.programs:
            self.programs[key] = make()
        return self.programs[key]


def hidden(est) -> str:
    """The hidden activation in reseau's name (scikit-learn's "logistic" is "sigmoid")."""
    return HIDDEN.get(est.activation, est.activation)


def key(est, layer_units, dtype, column_plan) -> tuple:
    """What the model depends on: a fit with another key builds a new ``model_``."""
    return (
        tuple(layer_units),
        hidden(est),
        est.out_activation_,
        est.backend,
        np.dtype(dtype).name,
        repr(est.dropout),
        column_plan is None,
    )


def options(est, **changes) -> dict:
    """The estimator's parameters as ``MLP``'s options (the one translation): its activations,
    output, initialiser, dropout and column plan; no penalty of the model's own (``alpha`` is the
    estimators', ``regularization``); ``changes`` on top."""
    return {
        "hidden": hidden(est),
        "output": OUTPUTS[est.out_activation_],
        "init": est.init or "glorot_uniform",
        "dropout": est.dropout,
        "normalize": est.normalize,
        "impute": est.impute,
        "handle_unknown": est.handle_unknown,
        "l2": 0.0,
    } | changes


def build(est, layer_units, dtype, column_plan, classes) -> MLP:
    """The model for these layer sizes and dtype on est's backend (``options``), with the column
    plan and the classes its own ``predict`` answers with."""
    seed = est.random_state if isinstance(est.random_state, numbers.Integral) and est.random_state >= 0 else 0
    model = MLP(layer_units, **options(est, dtype=np.dtype(dtype).name, seed=int(seed)), backend=est.backend)
    model.contract.sized(column_plan, classes)
    return model


def initial_weights(est, random_state, layer_units, dtype):
    """(coefs, intercepts) to start from. init=None: W, b ~ U(−u, u), u = √(6/(n_in + n_out))
    (√(2/(n_in + n_out)) for logistic), drawn from ``random_state`` as scikit-learn draws them;
    else reseau's initialiser (biases 0), seeded from ``random_state``."""
    if est.init is not None:
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        model = MLP(layer_units, **options(est, seed=seed, dtype="float64"), backend="numpy")
        weights = model.get_weights()
    else:
        factor = 2.0 if est.activation == "logistic" else 6.0
        weights = []
        for n_in, n_out in zip(layer_units[:-1], layer_units[1:]):
            u = np.sqrt(factor / (n_in + n_out))
            W = random_state.uniform(-u, u, (n_in, n_out))
            weights.append((W, random_state.uniform(-u, u, n_out)))
    return [W.astype(dtype, copy=False) for W, _ in weights], [b.astype(dtype, copy=False) for _, b in weights]


def to_device(model, coefs, intercepts):
    """The model's flat parameters := (W⁽¹⁾, b⁽¹⁾, W⁽²⁾, ...) of ``coefs`` / ``intercepts``."""
    pieces = [np.asarray(a, dtype=model.dtype_name).ravel() for pair in zip(coefs, intercepts) for a in pair]
    model.network.set_params(model.backend.asarray(model.layout.join(np, pieces), dtype=model.dtype))
    return model.params


def to_host(model):
    """(coefs, intercepts): the model's parameters as host arrays of its dtype."""
    weights = model.get_weights()
    return [W for W, _ in weights], [b for _, b in weights]


def forward(compiled, coefs, intercepts, X, out, n_outputs):
    """The network's output A for the checked rows X (dense or sparse) as a host array, through the
    model's inference path (core/inference.py; a sparse X made dense a chunk at a time), the
    output activation ``out`` applied to each chunk's logits; ``coefs`` / ``intercepts`` uploaded
    first unless the model holds them."""
    model = compiled.model
    if compiled.holds is not coefs:
        to_device(model, coefs, intercepts)
        compiled.holds = coefs
    inf, dtype = model.forward.inference, coefs[0].dtype
    A = np.empty((X.shape[0], n_outputs), dtype)
    head = None if out in ("softmax", "identity") else (lambda xp, Z: output(xp, out, Z))
    if not hasattr(X, "toarray"):
        return inf.output(model.params, np.asarray(X, dtype=dtype), into=A, head=head)
    for a, b in inf.spans(X.shape[0]):
        inf.output(model.params, np.asarray(X[a:b].toarray(), dtype=dtype), into=A[a:b], head=head)
    return A


def output(xp, out: str, Z):
    """scikit-learn's output activation of the logits Z where the model's own output is not it:
    logistic 1/(1 + e^(−z)) as scikit-learn computes it, exp eᶻ (the Poisson regressor)."""
    return 1.0 / (1.0 + xp.exp(-Z)) if out == "logistic" else xp.exp(Z)


def regularization(est, model):
    """The estimators' step regularisation: the model's dropout, scikit-learn's α/Σw a batch."""
    reg = model.regularization
    mask = reg.weight_mask if reg is not None else weight_mask(model.layout, model.given())
    return with_alpha(reg, float(est.alpha), mask)


def targets(model, out: str, y, dtype):
    """The training targets on the model's device as the head reads them: softmax's one-hot rows
    as int32 labels, else y (given in X's ``dtype``) in the model's dtype."""
    y = np.asarray(y, dtype=dtype)
    if out == "softmax":
        return model.backend.asarray(np.argmax(y, axis=1).astype(np.int32))
    return model.backend.asarray(y, dtype=model.dtype)
