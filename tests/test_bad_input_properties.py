"""Property-based: whatever is wrong with the data handed to fit, predict or evaluate, the answer
is a ValueError that names the argument, and the model's weights do not change."""

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install 'reseau[test]')")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from reseau import MLP  # noqa: E402

N_IN, N_CLASSES = 3, 3


def _corrupt_X(kind, n, draw_value):
    X = np.zeros((n, N_IN))
    if kind == "nan":
        X[n // 2, 1] = np.nan
    elif kind == "inf":
        X[0, 0] = -np.inf
    elif kind == "huge":
        X[0, 2] = 1e300  # overflows float32
    elif kind == "strings":
        X = X.astype(str)
    elif kind == "objects":
        X = X.astype(object)
    elif kind == "complex":
        X = X + 1j
    elif kind == "rank1":
        X = X[:, 0]
    elif kind == "rank3":
        X = X[:, :, None]
    elif kind == "columns":
        X = np.zeros((n, N_IN + draw_value))
    elif kind == "empty":
        X = np.zeros((0, N_IN))
    elif kind == "ragged":
        X = [[0.0] * N_IN] * (n - 1) + [[0.0] * (N_IN + 1)]
    return X


# Not bad any more: numbers written as strings (read as numbers) and string labels (class labels,
# tests/test_own_data.py); NaN cells are bad here because these models refuse them (impute=None).
X_KINDS = ["nan", "inf", "huge", "complex", "rank1", "rank3", "columns", "empty", "ragged"]
Y_KINDS = ["length", "out_of_range", "negative", "fractional", "nan", "single_class", "rank2"]


def _corrupt_y(kind, n, rng):
    y = rng.integers(0, N_CLASSES, n)
    y[:N_CLASSES] = np.arange(N_CLASSES)
    if kind == "length":
        return y[:-1]
    if kind == "out_of_range":
        y[0] = N_CLASSES
    elif kind == "negative":
        y[0] = -1
    elif kind == "fractional":
        y = y + 0.5
    elif kind == "nan":
        y = y.astype(float)
        y[1] = np.nan
    elif kind == "strings":
        y = y.astype(str)
    elif kind == "single_class":
        y = np.zeros(n, dtype=int)
    elif kind == "rank2":
        y = np.stack([y, y], 1)
    return y


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(X_KINDS),
    n=st.integers(4, 40),
    extra=st.integers(1, 5),
    method=st.sampled_from(["fit", "predict", "predict_proba", "evaluate"]),
)
def test_bad_X_is_named_and_changes_nothing(kind, n, extra, method):
    model = MLP([N_IN, 4, N_CLASSES], seed=0, normalize=None, impute=None)
    before = model.get_weights()[0][0].copy()
    X = _corrupt_X(kind, n, extra)
    y = np.arange(n) % N_CLASSES
    args = (X, y) if method in ("fit", "evaluate") else (X,)
    with pytest.raises(ValueError, match=r"^X"):
        getattr(model, method)(*args)
    np.testing.assert_array_equal(model.get_weights()[0][0], before)
    assert model.step_count == 0


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(Y_KINDS),
    n=st.integers(6, 40),
    seed=st.integers(0, 1000),
    method=st.sampled_from(["fit", "evaluate"]),
)
def test_bad_y_is_named_and_changes_nothing(kind, n, seed, method):
    if kind == "single_class" and method == "evaluate":
        return  # evaluating on one class is legitimate
    model = MLP([N_IN, 4, N_CLASSES], seed=0, normalize=None, impute=None)
    before = model.get_weights()[0][0].copy()
    X = np.random.default_rng(seed).normal(size=(n, N_IN))
    with pytest.raises(ValueError, match=r"^y"):
        getattr(model, method)(X, _corrupt_y(kind, n, np.random.default_rng(seed)))
    np.testing.assert_array_equal(model.get_weights()[0][0], before)


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(1e-30, 1e30), n=st.integers(4, 30))
def test_finite_inputs_of_any_magnitude_train_or_stop_cleanly(scale, n):
    """Large but finite inputs either train or stop with TrainingDivergedError: never NaN weights."""
    from reseau import TrainingDivergedError

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, N_IN)) * scale
    y = np.arange(n) % N_CLASSES
    model = MLP([N_IN, 4, N_CLASSES], seed=0, normalize=None, impute=None)
    try:
        model.fit(X, y, epochs=2, lr=0.5)
    except TrainingDivergedError:
        pass
    except ValueError as exc:
        assert str(exc).startswith("X")  # overflow of float32 is an input error
    assert all(np.isfinite(W).all() and np.isfinite(b).all() for W, b in model.get_weights())
