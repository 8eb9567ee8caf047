"""What both estimators share: scikit-learn's parameters (read off this signature), ``fit`` as a
translation of them onto reseau's parts — the network ``model_`` (backing.py), the Trainer
through ``loop.py`` or L-BFGS (lbfgs.py), the input checks (inputs.py) — and the fitted
attributes, pickling and tags."""

from __future__ import annotations

import copy

from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..backends.host import np
from ..core.weights import sample_weights
from . import backing, inputs, lbfgs, loop
from .accounts import Accounts
from .params import check_params, constructor, hidden_sizes

#: the private state of estimators pickled by earlier versions, now kept elsewhere or rebuilt
LEGACY = ("_cache", "_optimizer_state", "_n_updates")
#: ... and those renamed
RENAMED = {"_plan": "_column_plan"}


class BaseMLP(Accounts, BaseEstimator):
    """scikit-learn's MLP parameters, then reseau's (see the package's docstring)."""

    __init__ = constructor()

    def fit(self, X, y, sample_weight=None):
        """Train on X, y (from the start, or on from the last fit with ``warm_start``)."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental):
        check_params(self)
        before = {k: copy.copy(v) if isinstance(v, list) else v for k, v in self.__dict__.items()}
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = self._row_weights(y, sample_weights(sample_weight, X.shape[0]))
        y = y.reshape((-1, 1)) if y.ndim == 1 else y
        self.n_outputs_ = y.shape[1]
        layer_units = [X.shape[1]] + hidden_sizes(self.hidden_layer_sizes) + [self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(layer_units, X.dtype)
        compiled = self._compiled_for(layer_units, X.dtype)
        if self.solver == "lbfgs":
            lbfgs.fit_lbfgs(self, compiled, X, y, sample_weight, layer_units)
        else:
            labels = self._label_binarizer.inverse_transform if is_classifier(self) else None
            args = (X, y, sample_weight, incremental, self._random_state, self._score, labels)
            self._fit_stochastic(compiled, args)
        if not all(np.isfinite(w).all() for w in self.coefs_ + self.intercepts_):
            self._restore(before)
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large "
                "values and need to be preprocessed."
            )
        backing.to_device(compiled.model, self.coefs_, self.intercepts_)  # model_ holds them (save, to_onnx)
        compiled.holds = self.coefs_
        return self

    def _fit_stochastic(self, compiled, args):
        """The loop, with what scikit-learn carries between fits under its own names
        (``_no_improvement_count``, ``_best_coefs``, ``_best_intercepts``) handed over and back."""
        progress = loop.Progress(
            getattr(self, "_no_improvement_count", 0),
            getattr(self, "_best_coefs", self.coefs_),
            getattr(self, "_best_intercepts", self.intercepts_),
        )
        try:
            loop.fit_stochastic(self, compiled, progress, *args)
        finally:
            self._no_improvement_count = progress.no_improvement
            self._best_coefs, self._best_intercepts = progress.best_coefs, progress.best_intercepts

    def _restore(self, before):
        """The estimator as it was before this call; its model starts a fresh optimiser state."""
        self.__dict__.clear()
        self.__dict__.update(before)
        if getattr(self, "_compiled", None) is not None:
            self._compiled.holds = None
            self.model_.training.set_state(None)

    def _initialize(self, layer_units, dtype):
        """The first pass: counters, output activation, scikit-learn's initial weights."""
        self.n_iter_, self.t_ = 0, 0
        self.n_layers_ = len(layer_units)
        if not is_classifier(self):
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"
        self.coefs_, self.intercepts_ = backing.initial_weights(self, self._random_state, layer_units, dtype)
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        if getattr(self, "model_", None) is not None:
            self.model_.training.set_state(None)  # a new start: a fresh optimiser state
        if self.solver != "lbfgs":
            self.loss_curve_, self._no_improvement_count = [], 0
            if self.early_stopping:
                self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
            else:
                self.validation_scores_, self.best_validation_score_, self.best_loss_ = None, None, np.inf

    def _compiled_for(self, layer_units, dtype):
        """The network for these sizes and dtype (``model_``, rebuilt when what it depends on
        changes) with what is compiled for it."""
        column_plan = getattr(self, "_column_plan", None)
        key = backing.key(self, layer_units, dtype, column_plan)
        if getattr(self, "_network_key", None) != key:
            lb = getattr(self, "_label_binarizer", None)
            labelled = lb is not None and lb.y_type_ in ("binary", "multiclass")  # model_.predict gives these labels
            classes = self.classes_.tolist() if labelled else None
            self.model_ = backing.build(self, layer_units, dtype, column_plan, classes)
            self._network_key, self._compiled = key, None
        if getattr(self, "_compiled", None) is None:
            self._compiled = backing.Compiled(self.model_)
        return self._compiled

    def _row_weights(self, Y, w):
        """The sample weights (the regressor has no class weights)."""
        return w

    def _forward(self, X, check_input=True):
        """The network's output A for X (validated unless ``check_input`` is False), on the host."""
        check_is_fitted(self, "coefs_")
        if check_input:
            X = inputs.check_X(self, X, getattr(self, "_column_plan", None), self.coefs_[0].dtype)
        compiled = self._compiled_for(
            [c.shape[0] for c in self.coefs_] + [self.coefs_[-1].shape[1]], self.coefs_[0].dtype
        )
        A = backing.forward(compiled, self.coefs_, self.intercepts_, X, self.out_activation_, self.n_outputs_)
        if check_input and not np.isfinite(A).all():
            raise ValueError(
                f"X gives outputs that are not finite (largest |x| = {np.abs(X).max():.3g}): its values "
                "are far beyond the training data's; scale X as the training data was scaled"
            )
        return A

    def _validate_X_y(self, X, y, reset, y_numeric):
        X, y, self._column_plan = inputs.validate_X_y(self, X, y, getattr(self, "_column_plan", None), reset, y_numeric)
        return X, y

    def _dtype_of(self, X):
        return X.dtype if self.dtype is None else np.dtype(self.dtype)

    def __getstate__(self):
        """Pickle / joblib: host arrays and plain values (``model_`` pickles itself so, with its
        optimiser state); what is compiled is rebuilt on first use."""
        state = dict(super().__getstate__())  # a copy: BaseEstimator may hand back __dict__ itself
        state.pop("_compiled", None)
        return state

    def __setstate__(self, state):
        if "coefs_" in state:
            inputs.check_fitted_weights(state)
        state = {RENAMED.get(k, k): v for k, v in state.items() if k not in LEGACY}
        super().__setstate__(state)
        self._compiled = None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = self.impute is not None
        return tags
