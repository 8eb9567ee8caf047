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

    def state(self) -> dict:
        return {"min": self.min_.tolist(), "scale": self.scale_.tolist()}


class StandardScaler:
    """Standardisation: x' = (x − mean) / std per feature (population std); a feature with zero
    spread maps to 0."""

    def fit(self, X):
        X = validation.features(X, None, "float64")
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X):
        if not hasattr(self, "mean_"):
            raise ValueError("this StandardScaler is not fitted yet; call fit(X_train) first")
        X = validation.features(X, self.mean_.shape[0], "float64")
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def state(self) -> dict:
        return {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}


SCALERS = {"minmax": MinMaxScaler, "standard": StandardScaler}


def check_normalize(normalize):
    """None, "minmax" or "standard"."""
    if normalize is not None and normalize not in SCALERS:
        raise ValueError(f"normalize={normalize!r} is invalid; expected None, 'minmax' or 'standard'")
    return normalize
