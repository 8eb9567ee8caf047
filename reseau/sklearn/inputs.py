"""What the estimators accept: X and y checked as scikit-learn checks them, or through reseau's
column plan (core/columns.py: tables with text columns, or ``normalize`` / ``impute`` asked
for); pickled weights checked before they are trusted; scores for early stopping."""

from __future__ import annotations

from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_array, check_consistent_length, validate_data

from ..backends.host import np
from ..core import columns
from ..core.tables import is_table, to_table


def needs_plan(est, X) -> bool:
    """Whether X goes through the column plan: ``normalize`` or ``impute`` set, or a table with
    columns that are not numbers."""
    return est.normalize is not None or est.impute is not None or (is_table(X) and not numeric(X))


def validate_X_y(est, X, y, column_plan, reset, y_numeric):
    """(X, y, column_plan): checked as scikit-learn checks them, or through the column plan (fitted here when
    ``reset``, with ``n_features_in_`` and ``feature_names_in_`` set from it)."""
    if reset:
        column_plan = (
            columns.ColumnPlan(est.normalize, est.impute, est.handle_unknown).fit(X) if needs_plan(est, X) else None
        )
    if column_plan is None:
        X, y = validate_data(
            est,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=y_numeric,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        return X, y, column_plan
    X = column_plan.transform(X).astype(np.dtype(est.dtype or "float64"))
    y = check_array(y, ensure_2d=False, dtype="numeric" if y_numeric else None, ensure_all_finite=True)
    check_consistent_length(X, y)
    if reset:
        est.n_features_in_ = len(column_plan.names)
        if column_plan.named:
            est.feature_names_in_ = np.asarray(column_plan.names, dtype=object)
        else:
            est.__dict__.pop("feature_names_in_", None)
    return X, y, column_plan


def check_X(est, X, column_plan, dtype):
    """X to predict on, checked as the training X was (the column plan's transform, or scikit-learn's checks)."""
    if column_plan is not None:
        return column_plan.transform(X).astype(dtype, copy=False)
    return validate_data(est, X, accept_sparse=["csr", "csc"], reset=False, dtype=(np.float64, np.float32))


def numeric(X) -> bool:
    t = to_table(X)
    return t.matrix is not None or all(np.asarray(c).dtype.kind in "biuf" for c in t.cols)


def real_targets(y):
    """Regression targets must be numbers: text gets a message that names y."""
    try:
        y = np.asarray(y)
        if y.dtype.kind in "OUS":
            y.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"y must hold real numbers for regression ({exc})") from None


def first_partial_fit(est, classes) -> bool:
    """Whether this is the first partial_fit (classes_ set from ``classes``); classes must be given
    then, and if given later, unchanged."""
    have = getattr(est, "classes_", None)
    if have is None and classes is None:
        raise ValueError("classes must be passed on the first call to partial_fit.")
    if classes is not None:
        if have is not None:
            if not np.array_equal(have, unique_labels(classes)):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to partial_fit, was: {have!r}")
            return False
        est.classes_ = unique_labels(classes)
        return True
    return False


def score(predict, X, y, sample_weight, metric):
    """``metric`` of ``predict(X, check_input=False)`` against y (NaN when the predictions are not finite)."""
    y_pred = predict(X, check_input=False)
    if np.issubdtype(np.asarray(y_pred).dtype, np.floating) and not np.isfinite(y_pred).all():
        return np.nan
    return float(metric(y, y_pred, sample_weight=sample_weight))


def check_fitted_weights(state):
    """A pickled estimator's ``coefs_`` / ``intercepts_``: float matrices chained layer to layer,
    one bias vector each, finite, as wide as ``n_features_in_``; else a ValueError on unpickling."""
    coefs, intercepts = state.get("coefs_"), state.get("intercepts_")
    ok = isinstance(coefs, list) and isinstance(intercepts, list) and len(coefs) == len(intercepts) >= 1
    ok = ok and all(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in coefs + intercepts)
    ok = ok and all(W.ndim == 2 and b.shape == (W.shape[1],) for W, b in zip(coefs, intercepts))
    ok = ok and all(a.shape[1] == b.shape[0] for a, b in zip(coefs[:-1], coefs[1:]))
    ok = ok and state.get("n_features_in_", coefs[0].shape[0]) == coefs[0].shape[0]
    if not ok:
        shapes = [getattr(a, "shape", type(a).__name__) for a in (coefs or [])] if isinstance(coefs, list) else coefs
        raise ValueError(
            f"pickled estimator: coefs_ {shapes!r} and intercepts_ do not make a network; expected "
            "one (n_in, n_out) float matrix and one (n_out,) bias per layer, chained"
        )
    if not all(np.isfinite(a).all() for a in coefs + intercepts):
        raise ValueError("pickled estimator: coefs_ or intercepts_ contain NaN or inf; expected finite numbers")
