"""scikit-learn estimators (extra ``reseau[sklearn]``): ``MLPClassifier`` and ``MLPRegressor``
with the usual fit / predict / predict_proba / score and get_params / set_params, so they clone
and work in ``Pipeline``, ``cross_val_score`` and ``GridSearchCV``, on any backend. X may be an
array or a table (DataFrame, Arrow): text columns are one-hot encoded, columns matched by name;
missing cells are refused, as scikit-learn does, unless ``impute="median"``."""

from __future__ import annotations

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError('reseau.sklearn needs scikit-learn: pip install "reseau[sklearn]"') from None

from .backends.host import np
from .core import validation
from .core.model import MLP
from .core.tables import is_table
from .core.targets import as_array


class _Base(BaseEstimator):
    """The parameters both estimators share (scikit-learn reads them off this signature)."""

    def __init__(self, hidden_layer_sizes=(16,), activation="relu", init=None, optimizer="adam", lr=1e-3,
                 epochs=200, batch_size=32, dropout=0.0, l1=0.0, l2=0.0, normalize=None, impute=None,
                 handle_unknown="ignore", validation_split=None, patience=None, backend=None, dtype="float32",
                 random_state=0):
        self.hidden_layer_sizes, self.activation, self.init = hidden_layer_sizes, activation, init
        self.optimizer, self.lr, self.epochs, self.batch_size = optimizer, lr, epochs, batch_size
        self.dropout, self.l1, self.l2, self.normalize = dropout, l1, l2, normalize
        self.impute, self.handle_unknown = impute, handle_unknown
        self.validation_split, self.patience = validation_split, patience
        self.backend, self.dtype, self.random_state = backend, dtype, random_state

    def _model(self, n_in, n_out, output):
        return MLP([n_in, *self.hidden_layer_sizes, n_out], hidden=self.activation, output=output,
                   init=self.init, backend=self.backend, dtype=self.dtype, seed=self.random_state,
                   dropout=self.dropout, l1=self.l1, l2=self.l2, normalize=self.normalize, impute=self.impute,
                   handle_unknown=self.handle_unknown)

    def _fit(self, X, y, n_out, output, **fitted):
        """Train a new model; the estimator's fitted attributes are set only once training succeeded."""
        X = self._check_X(X)
        model = self._model(None, n_out, output)
        history = model.fit(X, y, epochs=self.epochs, batch_size=self.batch_size, optimizer=self.optimizer,
                            lr=self.lr, validation_split=self.validation_split, patience=self.patience)
        for name, value in fitted.items():
            setattr(self, name, value)
        self.model_, self.history_ = model, history
        self.n_features_in_ = len(model.feature_names)
        if is_table(X):
            self.feature_names_in_ = np.asarray(model.feature_names, dtype=object)
        return self

    def _check_X(self, X):
        """An array must hold numbers (text comes in tables, whose columns have names)."""
        return X if is_table(X) else validation.features(X, None, "float64", allow_nan=self.impute is not None)

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X, y) first")


class MLPClassifier(ClassifierMixin, _Base):
    """A reseau MLP as a scikit-learn classifier: any labels (classes_ keeps them); a sigmoid head
    for two classes, softmax for more."""

    def fit(self, X, y):
        classes, y_idx = _labels(y)
        binary = len(classes) == 2
        return self._fit(X, y_idx, 1 if binary else len(classes), "sigmoid" if binary else "softmax",
                         classes_=classes)

    def predict_proba(self, X):
        """(n, n_classes) probabilities, columns in the order of classes_."""
        self._check_fitted()
        P = self.model_.predict_proba(self._check_X(X))
        return np.column_stack([1.0 - P, P]) if P.ndim == 1 else P

    def predict(self, X):
        self._check_fitted()
        return self.classes_[np.asarray(self.model_.predict(self._check_X(X))).astype(int)]


class MLPRegressor(RegressorMixin, _Base):
    """A reseau MLP as a scikit-learn regressor (identity head, squared error)."""

    def fit(self, X, y):
        try:
            if np.asarray(y).dtype.kind == "c":  # casting would drop the imaginary part
                raise TypeError
            y = np.asarray(as_array(y), dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"y must be real numbers in an array of shape (n,) or (n, k); got "
                             f"{_describe(y)}") from None
        if y.ndim not in (1, 2):
            raise ValueError(f"y has shape {y.shape}; MLPRegressor expects (n,) or (n, k)")
        return self._fit(X, y, 1 if y.ndim == 1 else y.shape[1], "identity")

    def predict(self, X):
        self._check_fitted()
        return np.asarray(self.model_.predict(self._check_X(X)), dtype=np.float64)


def _describe(y) -> str:
    kind = type(y).__name__
    dtype = getattr(y, "dtype", None)
    return f"a {kind}" + (f" of {dtype}" if dtype is not None else "")


def _labels(y):
    """(classes in sorted order, y as indices 0..k−1), or a ValueError naming y."""
    try:
        y = as_array(y)
    except ValueError:
        raise ValueError("y is ragged (rows of different lengths); MLPClassifier expects one label per row, "
                         "shape (n,)") from None
    if y.ndim != 1:
        raise ValueError(f"y has shape {y.shape}; MLPClassifier expects one label per row, shape (n,)")
    if y.size == 0:
        raise ValueError("y is empty; expected one label per row of X")
    if y.dtype.kind == "c":
        raise ValueError("y holds complex numbers; expected class labels (integers or strings)")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"y contains NaN or inf at row {int(np.flatnonzero(~np.isfinite(y))[0])}; expected "
                         "class labels")
    try:
        classes, y_idx = np.unique(y, return_inverse=True)
    except TypeError:
        raise ValueError("y mixes labels of types that cannot be ordered (e.g. strings and numbers); "
                         "expected labels of one type") from None
    if len(classes) < 2:
        raise ValueError(f"y has a single class ({classes[0]!r}); a classifier needs at least two")
    return classes, y_idx
