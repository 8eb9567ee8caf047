"""The two estimators: ``MLPClassifier`` (a logistic output for two classes and for multilabel
targets, softmax for more; cross-entropy) and ``MLPRegressor`` (identity with squared error, or
an exponential output with the Poisson deviance), each scikit-learn's signature and answers over
``BaseMLP``'s fit."""

from __future__ import annotations

from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels

from ..backends.host import np
from ..core.weights import class_weights
from . import inputs
from .base import BaseMLP
from .params import STOCHASTIC, constructor


def _stochastic(est) -> bool:
    """partial_fit exists for the stochastic solvers only (``hasattr`` says so, as in scikit-learn)."""
    if est.solver not in STOCHASTIC:
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {est.solver} is not stochastic."
        )
    return True


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multilayer perceptron classifier: scikit-learn's MLPClassifier on reseau. A logistic output
    for two classes and for multilabel targets (one sigmoid per label), softmax for more classes;
    binary cross-entropy / cross-entropy loss."""

    loss = "log_loss"

    __init__ = constructor(class_weight=None)

    def _row_weights(self, Y, w):
        """sample_weight × the class weight of each row's class (``class_weight``, a reseau extra;
        "balanced" counts the classes of this call's y)."""
        if self.class_weight is None:
            return w
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            raise ValueError(
                f"class_weight={self.class_weight!r} needs one label per row; y is multilabel: give "
                "sample_weight instead"
            )
        labels = Y[:, 0].astype(np.int64) if Y.shape[1] == 1 else np.argmax(Y, axis=1)
        per_row = class_weights(self.class_weight, labels, len(self.classes_), list(self.classes_))[labels]
        w = per_row if w is None else w * per_row
        if not w.any():
            raise ValueError(f"class_weight={self.class_weight!r} gives every row the weight 0")
        return w

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._validate_X_y(X, y, reset, y_numeric=False)
        X = X.astype(self._dtype_of(X), copy=False)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            try:
                self._label_binarizer = LabelBinarizer().fit(y)
            except TypeError:
                raise ValueError(
                    "y mixes labels of types that cannot be ordered (e.g. strings and numbers); "
                    "expected labels of one type"
                ) from None
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        f"warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        return X, self._label_binarizer.transform(y).astype(bool)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over X, y; ``classes`` (every label there will be) is needed on the first call."""
        if inputs.first_partial_fit(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(self.classes_)
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """The predicted classes (for multilabel targets, the indicator matrix)."""
        return self._predict(X)

    def _predict(self, X, check_input=True):
        A = self._forward(X, check_input)
        if self.n_outputs_ == 1:
            A = A.ravel()
        return self._label_binarizer.inverse_transform(A)

    def _score(self, X, y, sample_weight=None):
        return inputs.score(self._predict, X, y, sample_weight, accuracy_score)

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_`` (for multilabel targets, the
        probability of each label)."""
        A = self._forward(X)
        if self.n_outputs_ == 1:
            A = A.ravel()
        return np.vstack([1 - A, A]).T if A.ndim == 1 else A

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multilayer perceptron regressor: scikit-learn's MLPRegressor on reseau. Identity output with
    squared error, or (``loss="poisson"``) an exponential output with the Poisson deviance."""

    __init__ = constructor(after="activation", loss="squared_error")

    def _validate_input(self, X, y, incremental, reset):
        inputs.real_targets(y)
        X, y = self._validate_X_y(X, y, reset, y_numeric=True)
        X = X.astype(self._dtype_of(X), copy=False)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (np.asarray(y) < 0).any():
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson regression.")
        return X, np.asarray(y, dtype=X.dtype)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X, y."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """The predicted values, shape (n,) for one target."""
        return self._predict(X)

    def _predict(self, X, check_input=True):
        A = self._forward(X, check_input)
        return A.ravel() if A.shape[1] == 1 else A

    def _score(self, X, y, sample_weight=None):
        return inputs.score(self._predict, X, y, sample_weight, r2_score)
