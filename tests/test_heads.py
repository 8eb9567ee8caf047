"""Loss heads against a direct statement of each loss, dZ against central differences,
stability at extreme logits, and the target checks."""

import numpy as np
import pytest
from conftest import to_np

from reseau.core import heads


def _naive_loss(name, Z, Y):
    """The textbook forms, fine for moderate logits."""
    n = Z.shape[0]
    if name == "sigmoid":
        P = 1.0 / (1.0 + np.exp(-Z))
        return -np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P)) / n
    if name == "softmax":
        P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
        return -np.sum(np.log(P[np.arange(n), Y])) / n
    if name == "poisson":  # half the deviance d = 2(y log(y/μ) − y + μ), μ = e^z, summed over outputs
        mu = np.exp(Z)
        return np.sum(np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1.0) / mu), 0.0) - Y + mu) / n
    return 0.5 * np.sum((Z - Y) ** 2) / n


def _case(name, rng, n=7, k=3):
    Z = rng.normal(scale=2.0, size=(n, k))
    if name == "sigmoid":
        return Z, (rng.random((n, k)) < 0.5).astype(np.float64)
    if name == "softmax":
        return Z, rng.integers(0, k, size=n).astype(np.int32)
    if name == "poisson":
        return Z * 0.5, rng.poisson(2.0, size=(n, k)).astype(np.float64)  # counts, zeros among them
    return Z, rng.normal(size=(n, k))


def _device(backend, Z, Y):
    f64 = backend.float_dtype("float64")
    return backend.asarray(Z, dtype=f64), backend.asarray(Y, dtype=None if Y.dtype.kind == "i" else f64)


#: the kernels' heads: the MLP's outputs and the estimators' Poisson regression (reseau.sklearn)
KERNEL_HEADS = (*heads.HEADS, "poisson")


@pytest.mark.parametrize("name", KERNEL_HEADS)
def test_loss_matches_textbook_formula(kern64, name):
    backend = kern64.backend
    Z, Y = _case(name, np.random.default_rng(0))
    loss, _ = kern64.head_loss(name, *_device(backend, Z, Y))
    assert float(to_np(backend, loss)) == pytest.approx(_naive_loss(name, Z, Y), rel=1e-13)


@pytest.mark.parametrize("name", KERNEL_HEADS)
def test_dZ_is_A_minus_Y_and_matches_central_differences(kern64, name):
    backend = kern64.backend
    Z, Y = _case(name, np.random.default_rng(1))
    n = Z.shape[0]
    loss, dZ = kern64.head_loss(name, *_device(backend, Z, Y))
    A = to_np(backend, kern64.head_output(name, _device(backend, Z, Y)[0]))
    Yd = np.eye(Z.shape[1])[Y] if name == "softmax" else Y
    np.testing.assert_allclose(to_np(backend, dZ), A - Yd, rtol=1e-14, atol=1e-15)
    h, numeric = 1e-6, np.zeros_like(Z)
    for idx in np.ndindex(*Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += h
        Zm[idx] -= h
        lp = float(to_np(backend, kern64.head_loss(name, *_device(backend, Zp, Y))[0]))
        lm = float(to_np(backend, kern64.head_loss(name, *_device(backend, Zm, Y))[0]))
        numeric[idx] = (lp - lm) / (2 * h)
    analytic = to_np(backend, dZ) / n  # dZ belongs to the summed loss; the loss is a mean
    rel = np.linalg.norm(analytic - numeric) / (np.linalg.norm(analytic) + np.linalg.norm(numeric))
    assert rel < 1e-7, rel


@pytest.mark.parametrize("name", ["sigmoid", "softmax"])
def test_extreme_logits_give_finite_exact_losses(kern64, name):
    backend = kern64.backend
    Z = np.array([[800.0, -800.0, 0.0], [-800.0, 800.0, 1.0]])
    Y = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]) if name == "sigmoid" else np.array([1, 2], np.int32)
    loss, dZ = kern64.head_loss(name, *_device(backend, Z, Y))
    expected = ((800 + 800 + np.log(2)) + (800 + 800 + np.log1p(np.e))) / 2 if name == "sigmoid" else (1600 + 799) / 2
    assert float(to_np(backend, loss)) == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(to_np(backend, dZ)).all()


def test_softmax_output_rows_sum_to_one(kern64):
    backend = kern64.backend
    Z = np.random.default_rng(2).normal(scale=30, size=(5, 4))
    A = to_np(backend, kern64.head_output("softmax", backend.asarray(Z, dtype=backend.float_dtype("float64"))))
    np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=1e-14)


def test_output_choice():
    assert heads.check_output(None, 1) == "sigmoid"
    assert heads.check_output(None, 4) == "softmax"
    with pytest.raises(ValueError, match="output='softmax' needs at least 2"):
        heads.check_output("softmax", 1)
    with pytest.raises(ValueError, match="output='tanh' is not an output head"):
        heads.check_output("tanh", 1)


@pytest.mark.parametrize(
    "head,k,y,message",
    [
        ("sigmoid", 1, [0, 1, 2], r"y contains 2 at index \(2,\).*labels 0 or 1"),
        ("sigmoid", 1, [0.0, np.nan, 1.0], r"y contains nan at index \(1,\).*finite"),
        ("softmax", 3, [0, 3, 1], r"y\[1\] = 3 .*integers 0..2"),
        ("softmax", 3, [0, -1, 1], r"y\[1\] = -1 .*integers 0..2"),
        ("softmax", 3, [0, 1.5, 1], r"y\[1\] = 1.5 .*integers 0..2"),
        ("softmax", 3, [0, 1], r"y has 2 rows but X has 3"),
        ("identity", 2, [1.0, 2.0, 3.0], r"y has shape \(3,\); expected real numbers, shape \(n, 2\)"),
        ("identity", 1, ["a", "b", "c"], r"y has dtype <U1"),
    ],
)
def test_bad_targets_are_named(head, k, y, message):
    with pytest.raises(ValueError, match=message):
        heads.encode_targets(head, y, k, 3, "float64")


def test_the_poisson_head_is_half_scikit_learns_mean_poisson_deviance(kern64):
    """Per row summed over the k outputs, mean over rows: k/2 × scikit-learn's deviance averaged
    over every element."""
    metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn is not installed (reseau[sklearn])")
    Z, Y = _case("poisson", np.random.default_rng(5), n=40, k=2)
    loss, _ = kern64.head_loss("poisson", *_device(kern64.backend, Z, Y))
    expected = metrics.mean_poisson_deviance(Y.ravel(), np.exp(Z).ravel()) * Z.shape[1] / 2
    assert float(to_np(kern64.backend, loss)) == pytest.approx(expected, rel=1e-13)
