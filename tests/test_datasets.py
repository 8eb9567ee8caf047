"""The bundled real data sets, the stratified split and min-max normalisation."""

import numpy as np
import pytest

from reseau import MinMaxScaler, datasets


def test_breast_cancer():
    d = datasets.load("breast_cancer")
    assert d.X.shape == (569, 30) and d.y.shape == (569,)
    assert np.bincount(d.y).tolist() == [212, 357]
    assert d.feature_names[0] == "mean_radius" and d.feature_names[-1] == "worst_fractal_dimension"
    assert d.target_names == ["malignant", "benign"]
    assert d.X[0, 0] == 17.99 and d.X[0, 3] == 1001.0  # the first case of the UCI file
    assert "CC BY 4.0" in d.description


def test_digits():
    X, y = datasets.load("digits")
    assert X.shape == (1797, 64) and X.min() == 0 and X.max() == 16
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_unknown_name():
    with pytest.raises(ValueError, match="name='mnist' is not a bundled data set; expected one of breast_cancer, digits"):
        datasets.load("mnist")


def test_stratified_split_keeps_class_shares():
    X, y = datasets.load("breast_cancer")
    X_tr, X_te, y_tr, y_te = datasets.train_test_split(X, y, 0.2, seed=0)
    assert len(y_te) == round(0.2 * 212) + round(0.2 * 357) and len(y_tr) + len(y_te) == 569
    assert np.bincount(y_te).tolist() == [42, 71]
    rows = {tuple(r) for r in X_tr} | {tuple(r) for r in X_te}
    assert len(rows) == len({tuple(r) for r in X})  # a partition: nothing lost or repeated
    again = datasets.train_test_split(X, y, 0.2, seed=0)
    np.testing.assert_array_equal(again[1], X_te)
    other = datasets.train_test_split(X, y, 0.2, seed=1)
    assert not np.array_equal(other[1], X_te)


@pytest.mark.parametrize("size", [0.0, 1.0, 20, "0.2"])
def test_split_rejects_bad_sizes(size):
    with pytest.raises(ValueError, match="test_size=.*expected a fraction in \\(0, 1\\)"):
        datasets.train_test_split(np.zeros((4, 1)), np.zeros(4), size)


def test_min_max_scaler():
    X = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [2.0, 5.0, 0.0]])
    scaler = MinMaxScaler().fit(X)
    expected = np.array([[0.0, 0.0, 0.5], [1.0, 0.0, 1.0], [0.5, 0.0, 0.0]])  # zero-range column → 0
    np.testing.assert_allclose(scaler.transform(X), expected)
    np.testing.assert_allclose(scaler.transform([[5.0, 6.0, 1.0]]), [[2.0, 1.0, 0.25]])  # no clipping
    with pytest.raises(ValueError, match="X has 2 features"):
        scaler.transform(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="not fitted"):
        MinMaxScaler().transform(X)
