"""Input scaling, fitted on training data only (host NumPy arrays)."""

from __future__ import annotations

from ..backends.host import np
from . import validation


class MinMaxScaler:
    """The notes' min-max normalisation: x' = (x − min) / (max − min), per feature, into [0, 1].

    A feature with max = min (zero range) maps to 0 instead of dividing by zero.
    """

    def fit(self, X):
        X = validation.features(X, None, "float64")
        self.min_ = X.min(axis=0)
        span = X.max(axis=0) - self.min_
        self.scale_ = np.where(span > 0, span, 1.0)
        return self

    def transform(self, X):
        if not hasattr(self, "min_"):
            raise ValueError("this MinMaxScaler is not fitted yet; call fit(X_train) first")
        X = validation.features(X, self.min_.shape[0], "float64")
        return (X - self.min_) / self.scale_

    def fit_transform(self, X):
        return self.fit(X).transform(X)
