"""Input scaling, fitted on training data only (host NumPy arrays)."""

from __future__ import annotations

import weakref

from ..backends.host import np
from . import validation


class _Scaler:
    """x' = (x − offset) / scale per feature; ``_statistics(X)`` gives (offset, spread) and a
    feature whose spread is 0 keeps scale 1, so it maps to 0."""

    def fit(self, X):
        X = validation.features(X, None, "float64")
        self.offset_, spread = self._statistics(X)
        self.scale_ = np.where(spread > 0, spread, 1.0)
        return self

    def transform(self, X):
        if not hasattr(self, "offset_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(X_train) first")
        X = validation.features(X, self.offset_.shape[0], "float64")
        return (X - self.offset_) / self.scale_

    def fit_transform(self, X):
        return self.fit(X).transform(X)


class MinMaxScaler(_Scaler):
    """The notes' min-max normalisation: x' = (x − min) / (max − min), per feature, into [0, 1]."""

    def _statistics(self, X):
        low = X.min(axis=0)
        return low, X.max(axis=0) - low


class StandardScaler(_Scaler):
    """Standardisation: x' = (x − mean) / std per feature (population std)."""

    def _statistics(self, X):
        return X.mean(axis=0), X.std(axis=0)


SCALERS = {"minmax": MinMaxScaler, "standard": StandardScaler}


_FITTED = weakref.WeakKeyDictionary()  # column plan -> its scaler, made once per plan


def scaler_of(plan):
    """The column plan's scaling as a fitted MinMaxScaler / StandardScaler (all-numeric inputs,
    an affine scaling), the same object each time for the same plan; else None."""
    if plan is None or plan.normalize not in SCALERS or not plan.all_numeric:
        return None
    if plan not in _FITTED:
        scaler = SCALERS[plan.normalize]()
        scaler.offset_, scaler.scale_ = plan.offset.copy(), plan.scale.copy()
        _FITTED[plan] = scaler
    return _FITTED[plan]
