"""Regression targets standardised by default: y' = (y − μ)/σ fitted on the training part, kept in
the model, inverted by predict (and inside the ONNX graph); losses and metrics in the target's
own units. Checked against an unscaled model trained on y' by hand, scikit-learn's StandardScaler,
and direct computations from the predictions."""

import copy
import pickle

import numpy as np
import pytest

import reseau
from reseau.core import targets

sk_datasets = pytest.importorskip(
    "sklearn.datasets", reason="scikit-learn is not installed (pip install 'reseau[sklearn]')"
)


def _diabetes():
    d = sk_datasets.load_diabetes(scaled=False)
    return d.data, d.target.astype(np.float64)


def test_the_scale_is_scikit_learns_standard_scaler_on_the_targets():
    from sklearn.preprocessing import StandardScaler

    Y = np.random.default_rng(0).normal(100, 30, size=(50, 2))
    Y[:, 1] = 7.0  # a constant column keeps σ = 1
    scale = targets.TargetScale.fit(Y)
    reference = StandardScaler().fit(Y)
    np.testing.assert_allclose(scale.mean, reference.mean_)
    np.testing.assert_allclose(scale.std, reference.scale_)
    np.testing.assert_allclose(scale.forward(Y), reference.transform(Y))
    np.testing.assert_allclose(scale.inverse(scale.forward(Y)), Y)
    one = targets.TargetScale.fit(Y[:, 0])
    np.testing.assert_allclose(one.forward(Y[:, 0]), reference.transform(Y)[:, 0])  # (n,) stays (n,)


def test_training_on_scaled_targets_is_training_by_hand_on_y_prime():
    X, y = _diabetes()
    mu, sigma = y.mean(), y.std()
    fit = dict(epochs=5, batch_size=32, optimizer="adam", lr=0.01)
    scaled = reseau.MLP([10, 8, 1], output="identity", dtype="float64", seed=0)
    history = scaled.fit(X, y, **fit)
    by_hand = reseau.MLP([10, 8, 1], output="identity", dtype="float64", seed=0, target_scaling=None)
    reference = by_hand.fit(X, (y - mu) / sigma, **fit)
    for (W, b), (W_ref, b_ref) in zip(scaled.get_weights(), by_hand.get_weights()):
        np.testing.assert_allclose(W, W_ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b, b_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scaled.predict(X), by_hand.predict(X) * sigma + mu, rtol=1e-12)
    # the training loss in the target's units: σ²·L(y')
    np.testing.assert_allclose(history["loss"], np.asarray(reference["loss"]) * sigma**2, rtol=1e-10)


def test_evaluate_reports_the_targets_own_units():
    X, y = _diabetes()
    model = reseau.MLP([None, 16, None], seed=0)
    model.fit(X[:350], y[:350], epochs=60, optimizer="adam", lr=0.01, validation_data=(X[350:], y[350:]))
    assert model.output == "identity" and model.target_scale is not None
    P = model.predict(X[350:]).astype(np.float64)
    mse = float(np.mean((P - y[350:]) ** 2))
    result = model.evaluate(X[350:], y[350:])
    assert result["mse"] == pytest.approx(mse, rel=1e-4)
    assert result["loss"] == pytest.approx(mse / 2, rel=1e-4)
    assert model.history["val_mse"][-1] == pytest.approx(mse, rel=1e-4)
    r2 = 1 - np.sum((P - y[350:]) ** 2) / np.sum((y[350:] - y[350:].mean()) ** 2)
    assert r2 >= 0.4
    # what the notes' plain gradient descent on raw targets gets: nothing
    raw = reseau.MLP([None, 16, None], seed=0, target_scaling=None, normalize="minmax")
    raw.fit(X[:350], y[:350], optimizer="sgd", lr=0.1, schedule=None)
    raw_r2 = 1 - np.sum((raw.predict(X[350:]) - y[350:]) ** 2) / np.sum((y[350:] - y[350:].mean()) ** 2)
    assert raw_r2 < 0.1 < r2


def test_multi_output_targets_are_scaled_per_column():
    g = np.random.default_rng(0)
    X = g.normal(size=(200, 3))
    Y = np.column_stack([1000 + 300 * X[:, 0], 0.01 * X[:, 1]])
    model = reseau.MLP([3, 16, 2], output="identity", dtype="float64", seed=0)
    model.fit(X, Y, epochs=200, optimizer="adam", lr=0.01)
    np.testing.assert_allclose(model.target_scale.std, Y.std(axis=0))
    P = model.predict(X)
    for k in range(2):
        assert 1 - np.sum((P[:, k] - Y[:, k]) ** 2) / np.sum((Y[:, k] - Y[:, k].mean()) ** 2) > 0.95


def test_predictions_survive_save_load_pickling_and_onnx(tmp_path):
    X, y = _diabetes()
    model = reseau.MLP([None, 16, None], seed=0)
    model.fit(X, y, epochs=20, optimizer="adam", lr=0.01)
    P = model.predict(X)
    model.save(tmp_path / "m.reseau")
    np.testing.assert_array_equal(reseau.load(tmp_path / "m.reseau").predict(X), P)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), P)
    np.testing.assert_array_equal(copy.deepcopy(model).predict(X), P)
    again = reseau.load(tmp_path / "m.reseau")
    again.fit(X, y, epochs=1, optimizer="adam", lr=0.01)  # a second fit keeps the scale of the first
    np.testing.assert_array_equal(again.target_scale.mean, model.target_scale.mean)
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'reseau[onnx]')")
    pytest.importorskip("onnx", reason="onnx is not installed (pip install 'reseau[onnx]')")
    model.to_onnx(tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    out = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})[0]  # an array: one input
    np.testing.assert_allclose(out[:, 0], P, rtol=1e-5, atol=1e-3)


def test_a_model_file_with_a_bad_scale_is_refused(tmp_path):
    import json

    X, y = _diabetes()
    model = reseau.MLP([None, 4, None], seed=0)
    model.fit(X, y, epochs=1)
    tensors, description = model.file_contents()
    description["target_scale"] = {"mean": [0.0], "std": [0.0]}
    from reseau.core import serialize

    serialize.write(tmp_path / "bad.reseau", tensors, description)
    with pytest.raises(ValueError, match=r"bad\.reseau: the description's target_scale must be null or"):
        reseau.load(tmp_path / "bad.reseau")
    assert json.dumps(model.file_contents()[1]["target_scale"])  # plain JSON


def test_classifiers_are_not_scaled_and_the_option_is_checked():
    X, y = _diabetes()
    model = reseau.MLP([None, 4, None], seed=0)
    model.fit(X, (y > 140).astype(int), epochs=1)
    assert model.target_scale is None
    with pytest.raises(ValueError, match=r"target_scaling='minmax' is invalid; expected 'standard' or None"):
        reseau.MLP([None, 4, None], target_scaling="minmax")
