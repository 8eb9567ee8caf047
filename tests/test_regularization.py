"""Dropout, L1/L2 penalties, early stopping, validation splits, normalisation and the vanishing
gradient: against restatements, central differences and the other backends."""

import numpy as np
import pytest
from conftest import to_np

from reseau import MLP, MinMaxScaler, StandardScaler, backends, datasets, kernels, load, optim
from reseau.core.network import loss_and_grads

M32 = 0xFFFFFFFF


def fmix(x):
    """The murmur3 finaliser restated on Python ints."""
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & M32
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & M32
    return x ^ (x >> 16)


def restated_bits(seed, step, layer, index):
    key = fmix((layer * 0x9E3779B1 + 0x7F4A7C15) & M32)
    key = fmix(step ^ key)
    key = fmix((seed % 2**32) ^ key)
    return fmix(((index * 0x85EBCA77) & M32) ^ key)


def test_dropout_bits_are_identical_everywhere_and_match_the_restatement(kern):
    seed, step, layer = 2**40 + 12345, 77, 2
    bits = np.asarray(kern.backend.to_numpy(kern.dropout_bits((13, 7), seed, step, layer)))
    assert bits.dtype == np.uint32
    expected = np.array([restated_bits(seed, step, layer, i) for i in range(13 * 7)], dtype=np.uint32)
    np.testing.assert_array_equal(bits.ravel(), expected)


def test_dropout_bits_under_jit_are_identical():
    jax = pytest.importorskip("jax", reason="JAX is not installed")
    kern = kernels.for_backend(backends.get("jax"))
    f = jax.jit(lambda step: kern.dropout_bits((5, 9), 3, step, 1))
    np.testing.assert_array_equal(
        np.asarray(f(123)), np.asarray(kernels.for_backend(backends.get("numpy")).dropout_bits((5, 9), 3, 123, 1))
    )


@pytest.mark.parametrize("keep", [0.5, 0.8, 0.95])
def test_keep_rate_and_scale(keep):
    kern = kernels.for_backend(backends.get("numpy"))
    M = kern.dropout_mask((400, 250), 0, 5, 1, keep, np.float64)
    kept = (M > 0).mean()
    sigma = np.sqrt(keep * (1 - keep) / M.size)
    assert abs(kept - keep) < 4 * sigma
    assert set(np.unique(M)) <= {0.0, 1.0 / keep}
    assert abs(M.mean() - 1.0) < 4 * sigma / keep  # inverted dropout keeps the expectation
    others = [kern.dropout_mask((400, 250), s, t, l, keep, np.float64) for s, t, l in ((1, 5, 1), (0, 6, 1), (0, 5, 2))]
    for other in others:  # another seed, step or layer: a different, uncorrelated mask
        assert abs(np.corrcoef(M.ravel(), other.ravel())[0, 1]) < 0.02


def _model(backend="numpy", **kw):
    args = dict(hidden=["tanh", "relu"], output="softmax", backend=backend, dtype="float64", seed=4)
    args.update(kw)
    return MLP([5, 8, 7, 3], **args)


def _data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5)), rng.integers(0, 3, n)


@pytest.mark.parametrize(
    "kw", [dict(dropout=0.3), dict(l2=0.1), dict(l1=0.05), dict(dropout=[0.2, 0.5], l1=0.01, l2=0.02)]
)
def test_gradient_check_with_fixed_mask_and_penalties(backend, kw):
    model = _model(backend.name, **kw)
    X, y = _data()
    Xd, Yd = backend.asarray(X, dtype=model.dtype), backend.asarray(model.encode_targets(y))
    fn = backend.jit(
        lambda p: loss_and_grads(
            model.kern, model.layout, model.activations, model.output, p, Xd, Yd, None, model.regularization, 17
        )
    )
    p0 = to_np(backend, model.params)
    _, g = fn(model.params)
    numeric = np.zeros_like(p0)
    for i in range(p0.size):
        e = np.zeros_like(p0)
        e[i] = 1e-6
        plus = float(to_np(backend, fn(backend.asarray(p0 + e, dtype=model.dtype))[0]))
        minus = float(to_np(backend, fn(backend.asarray(p0 - e, dtype=model.dtype))[0]))
        numeric[i] = (plus - minus) / 2e-6
    g = to_np(backend, g)
    assert np.linalg.norm(g - numeric) / (np.linalg.norm(g) + np.linalg.norm(numeric)) < 1e-6


@pytest.mark.parametrize("weighted", [False, True], ids=["rows", "weights"])
def test_scikit_learns_alpha_is_divided_by_each_batchs_rows_or_weights(backend, weighted):
    """``with_alpha`` (the estimators' penalty): L = mean loss + ½·(α/Σw)·ΣW², g = its gradient
    + (α/Σw)·W on the weights only, Σw = n without weights; the model's dropout kept (none here)."""
    from reseau.core.regularization import with_alpha

    model, alpha = _model(backend.name), 0.7
    X, y = _data()
    Xd, Yd = backend.asarray(X, dtype=model.dtype), backend.asarray(model.encode_targets(y))
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(X)) if weighted else None
    wd = None if w is None else backend.asarray(w, dtype=model.dtype)
    mask = model.layout.weight_mask()
    reg = with_alpha(None, alpha, backend.asarray(mask, dtype=model.dtype))
    args = (model.kern, model.layout, model.activations, model.output, model.params, Xd, Yd, None)
    loss0, g0 = (to_np(backend, a) for a in loss_and_grads(*args, None, 0, w=wd))
    loss, g = (to_np(backend, a) for a in loss_and_grads(*args, reg, 0, w=wd))
    l2 = alpha / (len(X) if w is None else w.sum())
    W = to_np(backend, model.params) * mask
    assert float(loss) == pytest.approx(float(loss0) + 0.5 * l2 * np.sum(W * W), rel=1e-13)
    np.testing.assert_allclose(g, g0 + l2 * W, rtol=1e-12, atol=1e-15)


def test_penalty_is_in_the_training_loss_and_spares_biases():
    X, y = _data()
    plain, reg = _model(l2=0.0), _model(l1=0.03, l2=0.2)
    weights = [(W, np.full_like(b, 5.0)) for W, b in plain.get_weights()]  # large biases: unpenalised
    plain.set_weights(weights)
    reg.set_weights(weights)
    penalty = sum(0.1 * np.sum(W * W) + 0.03 * np.sum(np.abs(W)) for W, _ in weights)
    h0 = plain.fit(X, y, epochs=1, batch_size=None, lr=1e-12)
    h1 = reg.fit(X, y, epochs=1, batch_size=None, lr=1e-12)
    assert h1["loss"][0] == pytest.approx(h0["loss"][0] + penalty, rel=1e-9)
    assert reg.evaluate(X, y)["loss"] == pytest.approx(plain.evaluate(X, y)["loss"], rel=1e-9)


def test_l2_shrinks_weights_and_matches_coupled_weight_decay_on_weights():
    X, y = _data()
    a = _model(l2=0.5)
    a.fit(X, y, epochs=20, batch_size=None, optimizer=optim.SGD(0.1))
    b = _model()
    b.fit(X, y, epochs=20, batch_size=None, optimizer=optim.SGD(0.1))
    assert sum(np.sum(W**2) for W, _ in a.get_weights()) < sum(np.sum(W**2) for W, _ in b.get_weights())


@pytest.mark.parametrize("variant", ["reference", "numpy", "numba"])
def test_training_with_dropout_agrees_across_backends_and_kernels(variant):
    if variant not in kernels.variants(backends.get("numpy")):
        pytest.skip(f"{variant} kernels are not installed here")
    X, y = _data(45)
    runs = []
    names = [("numpy", variant)] + ([("jax", None)] if backends.available()["jax"] == "ok" else [])
    for backend, kern in names:
        model = _model(backend, dropout=[0.25, 0.4], l2=0.01, kernels=kern)
        model.fit(X, y, epochs=5, batch_size=10, optimizer=optim.Adam(0.01))
        runs.append(model.get_weights())
    ref = _model(dropout=[0.25, 0.4], l2=0.01, kernels="reference")
    ref.fit(X, y, epochs=5, batch_size=10, optimizer=optim.Adam(0.01))
    for run in runs:
        for (W0, b0), (W1, b1) in zip(ref.get_weights(), run):
            np.testing.assert_allclose(W1, W0, rtol=0, atol=1e-10)
            np.testing.assert_allclose(b1, b0, rtol=0, atol=1e-10)
    undropped = _model(l2=0.01, kernels="reference")
    undropped.fit(X, y, epochs=5, batch_size=10, optimizer=optim.Adam(0.01))
    assert not np.allclose(undropped.get_weights()[0][0], ref.get_weights()[0][0])


def test_dropout_is_off_at_prediction():
    X, y = _data()
    a, b = _model(dropout=0.5), _model()
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.evaluate(X, y) == b.evaluate(X, y)


def test_early_stopping_restores_the_best_weights():
    X, y = datasets.moons(n=120, noise=0.35, seed=2)
    Xv, yv = datasets.moons(n=120, noise=0.35, seed=3)
    model = MLP([2, 64, 64, 1], hidden="relu", seed=0, dtype="float64")
    h = model.fit(X, y, epochs=400, batch_size=16, optimizer=optim.Adam(0.01), validation_data=(Xv, yv), patience=10)
    assert h.stopped_epoch is not None and h.stopped_epoch < 400
    assert h.stopped_epoch - h.best_epoch == 10
    assert h["val_loss"][h.best_epoch - 1] == min(h["val_loss"])
    assert model.evaluate(Xv, yv)["loss"] == pytest.approx(min(h["val_loss"]), rel=1e-12)


def test_early_stopping_min_delta_and_no_restore():
    X, y = _data()
    model = _model()
    h = model.fit(X, y, epochs=50, batch_size=None, lr=1e-6, patience=3, min_delta=1.0, restore_best=False)
    assert h.best_epoch == 1 and h.stopped_epoch == 4
    assert model.evaluate(X, y)["loss"] < h["loss"][0]  # the last weights stay


def test_validation_split_is_stratified_and_exclusive():
    X, y = datasets.load("digits")
    model = MLP([64, 10], seed=0)
    h = model.fit(X / 16, y, epochs=1, validation_split=0.2)
    assert "val_accuracy" in h
    with pytest.raises(ValueError, match="validation_split and validation_data were both given"):
        model.fit(X, y, validation_split=0.2, validation_data=(X, y))
    with pytest.raises(ValueError, match=r"split fractions \[1.5\]"):
        model.fit(X, y, validation_split=1.5)


@pytest.mark.parametrize("normalize,scaler", [("minmax", MinMaxScaler), ("standard", StandardScaler)])
def test_normalize_fits_on_training_data_and_applies_everywhere(normalize, scaler):
    data = datasets.load("breast_cancer")
    Xtr, Xte, ytr, yte = datasets.train_test_split(data.X, data.y, 0.2, seed=0)
    model = MLP([30, 8, 1], hidden="tanh", normalize=normalize, dtype="float64", seed=0)
    model.fit(Xtr, ytr, epochs=5)
    assert isinstance(model.scaler, scaler)
    manual = scaler().fit(Xtr)
    plain = MLP([30, 8, 1], hidden="tanh", dtype="float64", seed=0)
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict_proba(Xte), plain.predict_proba(manual.transform(Xte)), rtol=1e-12)
    assert model.evaluate(Xte, yte) == pytest.approx(plain.evaluate(manual.transform(Xte), yte))
    first = model.scaler
    model.fit(Xte, yte, epochs=1)
    assert model.scaler is first  # fitted once, on the first training data


def test_standard_scaler():
    X = np.array([[1.0, 5.0], [3.0, 5.0]])
    s = StandardScaler().fit(X)
    np.testing.assert_allclose(s.transform(X), [[-1.0, 0.0], [1.0, 0.0]])


def _grad_norms(hidden, init):
    X, y = datasets.moons(n=200, seed=0)
    model = MLP([2] + [32] * 9 + [1], hidden=hidden, init=init, dtype="float64", seed=0)
    h = model.fit(X, y, epochs=2, batch_size=50, lr=0.01, track_gradients=True)
    assert len(h["grad_norms"]) == 2 and len(h["grad_norms"][0]) == 10
    first, last = h["grad_norms"][-1][0], h["grad_norms"][-1][-1]
    return first / last


def test_vanishing_gradients_in_a_deep_sigmoid_net_but_not_with_relu_and_he():
    """The notes: σ' ≤ 1/4 multiplies through ten layers; ReLU with He init keeps the scale."""
    assert _grad_norms("sigmoid", "xavier") < 1e-3
    assert _grad_norms("relu", "he") > 0.1


def test_no_dropout_said_as_none():
    assert _model(dropout=None).dropout == [0.0, 0.0] == _model().dropout


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(dropout=1.0), r"dropout=1.0 is invalid; expected a rate in \[0, 1\)"),
        (dict(dropout=-0.1), r"dropout=-0.1 is invalid"),
        (dict(dropout=[0.1]), r"gives 1 rates for 2 hidden layers"),
        (dict(dropout="0.1"), r"dropout='0.1' is invalid; expected a rate in \[0, 1\), or a list of one per"),
        (dict(dropout=object), r"dropout=<class 'object'> is invalid; expected a rate"),
        (dict(l1=-1), r"l1=-1 is invalid"),
        (dict(l2=float("nan")), r"l2=nan is invalid"),
        (dict(normalize="zscore"), r"normalize='zscore' is invalid; expected None, 'minmax', 'standard' or 'robust'"),
    ],
)
def test_bad_regularisation_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _model(**kwargs)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(patience=0), r"patience=0 is invalid"),
        (dict(patience=3, min_delta=-1), r"min_delta=-1 is invalid"),
    ],
)
def test_bad_early_stopping_arguments(kwargs, message):
    X, y = _data()
    model = _model()
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, **kwargs)
    assert model.step_count == 0


def test_single_class_is_refused():
    X, _ = _data()
    with pytest.raises(ValueError, match=r"y has a single class \(2\); a classifier needs"):
        _model().fit(X, np.full(30, 2))
    with pytest.raises(ValueError, match=r"single class \(1.0\)"):
        MLP([5, 1]).fit(X, np.ones(30))


def test_auto_l2_is_two_over_n_with_the_default_optimiser_and_zero_with_a_named_one(tmp_path):
    from reseau.core.regularization import AUTO_L2_ROWS

    X, y = _data()
    n = len(X)
    auto = MLP([5, 8, 3], dtype="float64", seed=4)
    assert auto.l2 == "auto"
    auto.save(tmp_path / "unfitted.rsu")  # before its first fit the setting itself is saved
    assert load(tmp_path / "unfitted.rsu").l2 == "auto"
    auto.fit(X, y, epochs=2)
    assert AUTO_L2_ROWS == 2.0 and auto.l2 == pytest.approx(2.0 / n, rel=0, abs=0)
    explicit = MLP([5, 8, 3], dtype="float64", seed=4, l2=2.0 / n)
    explicit.fit(X, y, epochs=2)
    np.testing.assert_array_equal(np.asarray(auto.params), np.asarray(explicit.params))
    auto.fit(X[:10], y[:10], epochs=1)  # resolved once, on the first training data, then kept
    assert auto.l2 == 2.0 / n
    split = MLP([5, 8, 3], dtype="float64", seed=4)
    split.fit(X, y, epochs=1, validation_split=0.25)
    assert split.l2 == 2.0 / 23  # the 23 training rows left after 7 are held out
    for named in ({"optimizer": "sgd"}, {"optimizer": "adam", "lr": 1e-3}):
        m = MLP([5, 8, 3], dtype="float64", seed=4)
        m.fit(X, y, epochs=1, **named)
        assert m.l2 == 0.0
    with pytest.raises(ValueError, match=r"l2='often' is invalid; expected a number >= 0 or 'auto'"):
        MLP([5, 8, 3], l2="often")
