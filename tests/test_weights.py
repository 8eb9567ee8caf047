"""Sample and class weights (core/weights.py): the weighted loss L = Σ rᵢℓᵢ, r = w/Σw, against
central differences and a hand-written float64 statement; weights as duplicated rows; the
balanced weights against scikit-learn's compute_class_weight; class weights raising the minority
recall on a public table; bad weights refused before anything changes."""

import re

import numpy as np
import pytest
from conftest import to_np
from test_gradients import _data, numeric_gradient, relative_error, with_random_biases

from reseau import MLP
from reseau.core.network import loss_and_grads
from reseau.core.weights import class_weights

CASES = [([5, 6, 1], "tanh", "sigmoid"), ([4, 5, 3], "relu", "softmax"), ([3, 4, 2], "elu", "identity")]


@pytest.mark.parametrize("sizes,hidden,head", CASES, ids=lambda c: str(c))
def test_weighted_gradient_matches_central_differences(backend, sizes, hidden, head):
    model = with_random_biases(MLP(sizes, hidden=hidden, output=head, backend=backend.name, dtype="float64", seed=1))
    X, y = _data(sizes, head)
    w = np.random.default_rng(3).uniform(0.0, 3.0, size=len(X))
    Xd, Wd = backend.asarray(X, dtype=model.dtype), backend.asarray(w, dtype=model.dtype)
    Yd = backend.asarray(model.encode_targets(y))
    fn = backend.jit(
        lambda p, X, Y, w: loss_and_grads(model.kern, model.layout, model.activations, model.output, p, X, Y, w=w)
    )
    _, grads = fn(model.params, Xd, Yd, Wd)

    def loss_at(p):
        return float(to_np(backend, fn(backend.asarray(p, dtype=model.dtype), Xd, Yd, Wd)[0]))

    assert relative_error(to_np(backend, grads), numeric_gradient(loss_at, to_np(backend, model.params))) < 1e-6


@pytest.mark.parametrize("head", ["sigmoid", "softmax", "identity"])
def test_weighted_loss_is_the_weighted_mean_of_the_row_losses(kern64, head):
    """Σ wᵢℓᵢ / Σw with ℓ written out here in float64 (−log p of the true class; ½(z − y)²)."""
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(7, 1 if head == "sigmoid" else 3))
    w = rng.uniform(0.0, 2.0, size=7)
    if head == "softmax":
        Y = rng.integers(0, 3, size=7)
        P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
        ell, D = -np.log(P[np.arange(7), Y]), P - np.eye(3)[Y]
    elif head == "sigmoid":
        Y = (rng.random((7, 1)) < 0.5) * 1.0
        P = 1 / (1 + np.exp(-Z))
        ell, D = -(Y * np.log(P) + (1 - Y) * np.log(1 - P)).sum(axis=1), P - Y
    else:
        Y = rng.normal(size=(7, 3))
        ell, D = 0.5 * ((Z - Y) ** 2).sum(axis=1), Z - Y
    bk = kern64.backend
    loss, dZ = kern64.head_loss_weighted(head, bk.asarray(Z, dtype="float64"), bk.asarray(Y), bk.asarray(w))
    assert abs(float(to_np(bk, loss)) - np.sum(w * ell) / w.sum()) < 1e-13
    np.testing.assert_allclose(to_np(bk, dZ), D * (w / w.sum())[:, None], rtol=0, atol=1e-15)


def test_integer_weights_train_as_duplicated_rows(backend):
    """Full-batch gradient descent: a weight of 2 is the row given twice (same weights to 1e-12)."""
    X, y = _data([4, 6, 3], "softmax", n=40)
    w = np.where(np.arange(40) < 15, 2.0, 1.0)
    kwargs = dict(epochs=5, batch_size=None, optimizer="adam", lr=0.01)
    a = MLP([4, 6, 3], backend=backend.name, dtype="float64", seed=2, normalize=None)
    a.fit(X, y, sample_weight=w, **kwargs)
    b = MLP([4, 6, 3], backend=backend.name, dtype="float64", seed=2, normalize=None)
    b.fit(np.concatenate([X, X[:15]]), np.concatenate([y, y[:15]]), **kwargs)
    for (Wa, ba), (Wb, bb) in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(Wa, Wb, rtol=0, atol=1e-12)
        np.testing.assert_allclose(ba, bb, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kernels", [None, "reference"])
def test_unit_weights_give_the_unweighted_trajectory(kernels):
    X, y = _data([5, 6, 1], "sigmoid", n=50)
    kwargs = dict(epochs=4, batch_size=16, optimizer="momentum", lr=0.1, validation_split=0.2)
    a = MLP([None, 6, None], dtype="float64", seed=4, kernels=kernels)
    ha = a.fit(X, y, sample_weight=np.ones(50), **kwargs)
    b = MLP([None, 6, None], dtype="float64", seed=4, kernels=kernels)
    hb = b.fit(X, y, **kwargs)
    np.testing.assert_allclose(a.get_weights()[0][0], b.get_weights()[0][0], rtol=0, atol=1e-13)
    np.testing.assert_allclose(ha["val_loss"], hb["val_loss"], rtol=1e-12)
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-12)


def test_compiled_epoch_gives_the_step_paths_weighted_trajectory():
    pytest.importorskip("jax", reason="JAX is not installed (pip install 'reseau[jax]')")
    X, y = _data([4, 5, 3], "softmax", n=64)
    w = np.random.default_rng(1).uniform(0.1, 2.0, size=64)
    runs = []
    for compiled in (False, True):
        m = MLP([4, 5, 3], backend="jax", dtype="float64", seed=3, normalize=None)
        m.fit(X, y, epochs=3, batch_size=16, optimizer="adam", lr=0.01, sample_weight=w, compile_epoch=compiled)
        runs.append(m.get_weights()[0][0])
    np.testing.assert_allclose(runs[0], runs[1], rtol=0, atol=1e-12)


def test_balanced_weights_are_scikit_learns():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.array([0] * 30 + [1] * 5 + [2] * 12)
    ours = class_weights("balanced", labels, 3, None)
    np.testing.assert_allclose(ours, compute_class_weight("balanced", classes=np.arange(3), y=labels), rtol=1e-15)
    assert list(class_weights({"b": 3, "a": 0.5}, np.array([0, 1]), 2, ["a", "b"])) == [0.5, 3.0]


def _imbalanced_breast_cancer():
    """scikit-learn's breast cancer table, malignant rows cut to 5 % (19 of 376), split in half."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    keep = np.concatenate([np.flatnonzero(y == 1), rng.choice(np.flatnonzero(y == 0), 19, replace=False)])
    return train_test_split(X[keep], y[keep], test_size=0.5, stratify=y[keep], random_state=0)


def test_balanced_class_weight_raises_the_minority_recall():
    from sklearn.metrics import balanced_accuracy_score, recall_score

    Xtr, Xte, ytr, yte = _imbalanced_breast_cancer()
    scores = {}
    for cw in (None, "balanced"):
        m = MLP([None, 16, None], seed=0)
        m.fit(Xtr, ytr, class_weight=cw)
        p = m.predict(Xte)
        scores[cw] = recall_score(yte, p, pos_label=0), balanced_accuracy_score(yte, p)
    assert scores["balanced"][0] >= scores[None][0] + 0.2, scores
    assert scores["balanced"][1] >= 0.8, scores


def test_class_weight_dict_by_label_and_weighted_evaluate():
    X, y = _data([3, 4, 3], "softmax", n=60)
    labels = np.array(["cat", "dog", "eel"])[y]
    m = MLP([None, 4, None], seed=0)
    m.fit(X, labels, epochs=3, class_weight={"eel": 4.0})
    w = np.random.default_rng(0).uniform(0, 1, size=60)
    right = (m.predict(X) == labels).astype(float)
    assert abs(m.evaluate(X, labels, sample_weight=w)["accuracy"] - np.sum(w * right) / w.sum()) < 1e-6
    assert abs(m.evaluate(X, labels)["accuracy"] - right.mean()) < 1e-6


def test_validation_data_may_carry_weights():
    X, y = _data([3, 4, 1], "sigmoid", n=60)
    m = MLP([None, 4, None], seed=0, dtype="float64")
    w_val = np.r_[np.zeros(30), np.ones(30)]
    h = m.fit(X[:40], y[:40], epochs=2, validation_data=(X, y, w_val))
    assert abs(h["val_loss"][-1] - m.evaluate(X[30:], y[30:])["loss"]) < 1e-12


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"sample_weight": np.ones(5)}, "sample_weight.shape == (5,), expected (40,)"),
        ({"sample_weight": np.r_[np.ones(39), -1.0]}, "sample_weight[39] = -1.0"),
        ({"sample_weight": np.r_[np.ones(39), np.nan]}, "sample_weight[39] = nan"),
        ({"sample_weight": np.zeros(40)}, "at least one non-zero"),
        ({"sample_weight": ["a"] * 40}, "sample_weight could not be read as numbers"),
        ({"class_weight": "balance"}, "class_weight='balance' is invalid; expected None, 'balanced'"),
        ({"class_weight": {"x": 1.0}}, "class_weight names the class 'x'"),
        ({"class_weight": {1: -2}}, "class_weight[1] = -2; expected a finite, non-negative weight"),
        ({"class_weight": {0: 0, 1: 0}}, "every training row the weight 0"),
        ({"class_weight": [1, 2]}, "class_weight=[1, 2] is invalid"),
    ],
)
def test_bad_weights_are_refused_before_anything_changes(kwargs, message):
    X, y = _data([3, 4, 1], "sigmoid", n=40)
    m = MLP([None, 4, None], seed=0)
    with pytest.raises(ValueError, match=re.escape(message)):
        m.fit(X, y, **kwargs)
    assert m.layout is None and m.optimizer is None and m.columns is None


def test_class_weight_needs_one_label_per_row():
    X, y = _data([3, 4, 2], "identity", n=30)
    with pytest.raises(ValueError, match="needs a classifier"):
        MLP([None, 4, None], seed=0).fit(X, y, class_weight="balanced")
    Y = (y > 0) * 1.0
    with pytest.raises(ValueError, match="multi-label"):
        MLP([None, 4, None], output="sigmoid", seed=0).fit(X, Y, class_weight="balanced")
    pytest.importorskip("jax", reason="JAX is not installed (pip install 'reseau[jax]')")
    with pytest.raises(ValueError, match="data_parallel=True is not supported yet"):
        MLP([None, 4, None], backend="jax", seed=0).fit(X, y, sample_weight=np.ones(30), data_parallel=True)


def test_the_cli_trains_with_balanced_class_weights(tmp_path, capsys):
    from reseau.cli import main

    Xtr, Xte, ytr, yte = _imbalanced_breast_cancer()
    X, y = np.concatenate([Xtr, Xte]), np.concatenate([ytr, yte])
    path = tmp_path / "imbalanced.csv"
    np.savetxt(
        path,
        np.column_stack([X, y]),
        delimiter=",",
        header=",".join([f"x{j}" for j in range(X.shape[1])] + ["malignant"]),
        comments="",
    )
    balanced = {}
    for extra in ([], ["--class-weight", "balanced"]):
        assert (
            main(["train", "--data", str(path), "--target", "malignant", "--quiet", "--test-size", "0.5", *extra]) == 0
        )
        out = capsys.readouterr().out
        balanced[bool(extra)] = float(re.search(r"balanced accuracy (\d\.\d+)", out).group(1))
    assert balanced[True] >= balanced[False] + 0.05, balanced


def test_the_scikit_learn_classifier_takes_class_weight_as_row_weights():
    from reseau.sklearn import MLPClassifier

    Xtr, _, ytr, _ = _imbalanced_breast_cancer()
    Xtr = (Xtr - Xtr.mean(axis=0)) / Xtr.std(axis=0)
    kwargs = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0, dtype="float64")
    a = MLPClassifier(class_weight="balanced", **kwargs).fit(Xtr, ytr)
    w = class_weights("balanced", ytr, 2, None)[ytr]
    b = MLPClassifier(**kwargs).fit(Xtr, ytr, sample_weight=w)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert MLPClassifier().get_params()["class_weight"] is None
    with pytest.raises(ValueError, match="multilabel"):
        MLPClassifier(class_weight="balanced", **kwargs).fit(Xtr, np.column_stack([ytr, 1 - ytr]))


def test_validation_rows_take_the_class_weights_of_training():
    X, y = _data([3, 4, 1], "sigmoid", n=80)
    m = MLP([None, 4, None], seed=0, dtype="float64")
    h = m.fit(X[:60], y[:60], epochs=2, class_weight={1: 3.0}, validation_data=(X[60:], y[60:]))
    w = np.where(y[60:] == 1, 3.0, 1.0)
    assert abs(h["val_loss"][-1] - m.evaluate(X[60:], y[60:], sample_weight=w)["loss"]) < 1e-12
    h = m.fit(X[:60], y[:60], epochs=1, class_weight={1: 3.0}, validation_data=(X[60:], y[60:], w))
    assert abs(h["val_loss"][-1] - m.evaluate(X[60:], y[60:], sample_weight=w * w)["loss"]) < 1e-12
