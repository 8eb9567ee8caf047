"""Bad input gets a ValueError naming the argument and what was expected, raised before any
weight changes."""

import numpy as np
import pytest

import reseau
from reseau import MLP


def _model():
    return MLP([3, 4, 1], hidden="tanh", seed=0, normalize=None)


def _data(n=10):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)), rng.integers(0, 2, n)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"epochs": 0}, r"epochs=0 is invalid; expected a positive integer"),
        ({"epochs": -3}, r"epochs=-3 is invalid"),
        ({"epochs": 2.5}, r"epochs=2.5 is invalid"),
        ({"batch_size": 0}, r"batch_size=0 is invalid; expected a positive integer or None"),
        ({"batch_size": -1}, r"batch_size=-1 is invalid"),
        ({"batch_size": True}, r"batch_size=True is invalid"),
        ({"lr": -0.1}, r"lr=-0.1 is not a learning rate; expected a finite number > 0"),
        ({"lr": float("nan")}, r"lr=nan is not a learning rate"),
        ({"optimizer": "adamax"}, r"optimizer='adamax' is not an optimiser; expected one of sgd"),
        ({"validation_data": ([[1, 2, 3]],)}, r"validation_data must be a pair"),
        ({"validation_data": ([[1, 2]], [1])}, r"X_val has 2 features .* has 3"),
        ({"validation_data": ([[1, 2, 3]], [5])}, r"y_val contains 5 .*labels 0 or 1"),
    ],
)
def test_bad_fit_arguments(kwargs, message):
    model = _model()
    before = model.get_weights()
    X, y = _data()
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, **kwargs)
    for (W0, b0), (W1, b1) in zip(before, model.get_weights()):
        np.testing.assert_array_equal(W0, W1)
        np.testing.assert_array_equal(b0, b1)
    assert model.step_count == 0 and model.optimizer is None


@pytest.mark.parametrize(
    "X,y,message",
    [
        (np.zeros((10, 3)), np.zeros(9), r"y has 9 rows but X has 10"),
        (np.zeros((10, 4)), np.zeros(10), r"X has 4 features \(columns\) but the network's input layer has 3"),
        (np.zeros(10), np.zeros(10), r"X has shape \(10,\); expected a 2-D array \(n, 3\)"),
        (np.zeros((0, 3)), np.zeros(0), r"X has shape \(0, 3\); expected at least one row"),
        (np.full((10, 3), np.nan), np.zeros(10), r"X column 'x0' has no values \(every cell is missing\)"),
        (np.array([[1, 2, np.inf]] * 10), np.zeros(10), r"X\[0, 2\] is inf"),
        (np.array([[1e300, 0, 0]] * 10), np.zeros(10), r"X\[0, 0\] is inf \(after conversion to float32\)"),
        (np.ones((10, 3), dtype=complex), np.zeros(10), r"X has dtype complex128"),
        ([[1, 2, 3], [1, 2]], [0, 1], r"X could not be read as an array"),
        (np.zeros((10, 3)), np.full(10, np.inf), r"y contains inf at index \(0,\)"),
        (np.zeros((10, 3)), np.arange(10), r"y contains 2 at index \(2,\); a sigmoid head expects labels 0 or 1"),
    ],
)
def test_bad_data(X, y, message):
    model = _model()
    before = model.get_weights()[0][0]
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, epochs=1)
    np.testing.assert_array_equal(before, model.get_weights()[0][0])


def test_softmax_labels_out_of_range():
    model = MLP([3, 4, 3], output="softmax", seed=0, normalize=None)
    with pytest.raises(ValueError, match=r"y\[1\] = 3 is not a class label.*integers 0..2"):
        model.fit(np.zeros((3, 3)), [0, 3, 1], epochs=1)
    with pytest.raises(ValueError, match=r"y\[0\] = 0.5"):
        model.evaluate(np.zeros((3, 3)), [0.5, 1, 1])


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"layers": [3]}, r"layers=\[3\] is invalid; expected a list of at least two positive integers"),
        ({"layers": [3, 0, 1]}, r"layers=\[3, 0, 1\] is invalid"),
        ({"layers": [3, 4.5, 1]}, r"layers=\[3, 4.5, 1\] is invalid"),
        ({"layers": "30,16,1"}, r"layers='30,16,1' is invalid"),
        ({"hidden": "swish"}, r"hidden='swish' is not an activation; expected one of sigmoid, tanh, relu"),
        ({"hidden": ["relu", "tanh"]}, r"names 2 activations but the network has 1 hidden layers"),
        ({"output": "softmax"}, r"output='softmax' needs at least 2 output units"),
        ({"output": "linear"}, r"output='linear' is not an output head; expected one of sigmoid, softmax, identity"),
        ({"init": "orthogonal"}, r"init='orthogonal' is not an initialiser; expected one of he, xavier"),
        ({"init": ["he"]}, r"names 1 initialisers for 2 layers"),
        ({"backend": "torch"}, r"backend='torch' is not a backend; expected one of 'numpy', 'jax', 'cupy', 'auto'"),
        ({"dtype": "float16"}, r"dtype='float16' is not supported; expected 'float32' or 'float64'"),
        ({"seed": -1}, r"seed=-1 is invalid; expected a non-negative integer"),
    ],
)
def test_bad_model_arguments(kwargs, message):
    args = {"layers": [3, 4, 1], **kwargs}
    with pytest.raises(ValueError, match=message):
        MLP(**args)


def test_environment_variable_names_itself(monkeypatch):
    monkeypatch.setenv("RESEAU_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match="environment variable RESEAU_BACKEND='tensorflow'"):
        MLP([3, 1], normalize=None)


def test_set_weights_checks_before_changing():
    model = _model()
    good = model.get_weights()
    with pytest.raises(ValueError, match=r"weights of layer 1 have shapes W \(4, 3\).*expected W \(3, 4\)"):
        model.set_weights([(good[0][0].T, good[0][1]), good[1]])
    with pytest.raises(ValueError, match="list of 2 \\(W, b\\) pairs"):
        model.set_weights(good[:1])
    with pytest.raises(ValueError, match="layer 2 contain NaN"):
        model.set_weights([good[0], (good[1][0] * np.nan, good[1][1])])
    np.testing.assert_array_equal(model.get_weights()[0][0], good[0][0])
    new = [(W + 1.0, b - 1.0) for W, b in good]
    model.set_weights(new)
    for (W, b), (W1, b1) in zip(model.get_weights(), new):
        np.testing.assert_allclose(W, W1, rtol=1e-7)
        np.testing.assert_allclose(b, b1, rtol=1e-7)


def test_lr_with_an_optimiser_object_is_ambiguous():
    X, y = _data()
    with pytest.raises(ValueError, match="lr=0.5 was given together with optimizer=SGD"):
        _model().fit(X, y, optimizer=reseau.optim.SGD(lr=0.1), lr=0.5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (300, 513), (1100, 500)])
def test_all_finite_agrees_with_isfinite_at_every_cell(dtype, shape):
    """Both ways: one sum (up to ONE_THREAD_SUM entries) and BLAS's row sums (above)."""
    from reseau.core.validation import ONE_THREAD_SUM, all_finite, features

    rng = np.random.default_rng(1)
    X = rng.standard_normal(shape).astype(dtype)
    assert all_finite(X) and all_finite(np.asfortranarray(X))
    for value in (np.nan, np.inf, -np.inf):
        for _ in range(10):
            bad = X.copy()
            i, j = rng.integers(shape[0]), rng.integers(shape[1])
            bad[i, j] = value
            assert not all_finite(bad) and not all_finite(np.asfortranarray(bad))
            assert all_finite(bad[:, 1::2]) == (j % 2 == 0)
    huge = np.full(shape, np.finfo(dtype).max / 2, dtype=dtype)  # finite, but its sums overflow
    assert features(huge, shape[1], dtype) is not None and (X.size > ONE_THREAD_SUM) == (shape == (1100, 500))


def test_huge_finite_values_pass_although_their_row_sums_overflow():
    X = np.full((3, 4), 3e38, dtype=np.float32)
    from reseau.core.validation import all_finite, features

    assert not all_finite(X)  # the fast check defers to the exact one
    assert features(X, 4, "float32") is X


def test_a_fit_sums_its_input_once_and_a_bad_cell_is_still_named(row_sums):
    """The table, the column plan and the matrix each checked the same array: within a fit the
    row sums run once per array (counted on the all-ones vector they multiply by; X in the model's
    dtype, as a float64 X converted to float32 is a second array, which may overflow), and a NaN
    is still found and named, since only arrays found finite are remembered."""
    from reseau.core import validation

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 4)).astype(np.float32), rng.integers(0, 2, 300)
    summed = row_sums
    MLP([4, 3, 1], output="sigmoid", normalize=None, seed=0).fit(X, y, epochs=1, batch_size=50)
    assert summed == [4]
    X[7, 2] = np.inf  # (a NaN is a missing cell, imputed)
    with pytest.raises(ValueError, match=r"X\[7, 2\] is inf"):
        MLP([4, 3, 1], output="sigmoid", normalize=None, seed=0).fit(X, y, epochs=1, batch_size=50)
    with validation.each_array_checked_once():
        X[7, 2] = 0.0
        assert validation.all_finite(X)
        assert validation.all_finite(X) and summed[-1] == 4 and len(summed) == 3
