"""The scikit-learn estimators: the estimator contract, pipelines, cross-validation, grid search."""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install 'reseau[sklearn]')")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from reseau import datasets  # noqa: E402
from reseau.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


def test_classifier_with_text_labels_and_probabilities(backend):
    X, y = datasets.moons(n=200, noise=0.1, seed=0)
    labels = np.array(["left", "right"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(16, 16), activation="tanh", lr=0.01, epochs=100,
                        backend=backend.name).fit(X, labels)
    assert list(clf.classes_) == ["left", "right"] and clf.n_features_in_ == 2
    P = clf.predict_proba(X)
    assert P.shape == (200, 2)
    np.testing.assert_allclose(P.sum(1), 1, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[P.argmax(1)])
    assert clf.score(X, labels) > 0.95


def test_multiclass_in_a_pipeline_and_cross_validation():
    X, y = datasets.load("digits")
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), lr=0.01, epochs=15))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85


def test_grid_search_and_clone():
    X, y = datasets.blobs(n=150, centers=3, seed=1)
    search = GridSearchCV(MLPClassifier(epochs=30, lr=0.01), {"hidden_layer_sizes": [(4,), (16,)],
                                                             "activation": ["relu", "tanh"]}, cv=3)
    search.fit(X, y)
    assert set(search.best_params_) == {"hidden_layer_sizes", "activation"} and search.best_score_ > 0.9
    est = MLPClassifier(lr=0.5, dropout=0.1)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est
    assert est.set_params(lr=0.2).lr == 0.2


def test_regressor():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(300, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    reg = MLPRegressor(hidden_layer_sizes=(32, 32), activation="tanh", lr=0.01, epochs=200).fit(X, y)
    assert reg.predict(X).shape == (300,) and reg.score(X, y) > 0.95


def test_errors():
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="single class"):
        MLPClassifier().fit(np.zeros((4, 2)), [1, 1, 1, 1])
    with pytest.raises(ValueError, match=r"X has shape \(4,\)"):
        MLPClassifier().fit(np.zeros(4), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="X has 3 features"):
        MLPClassifier(epochs=1).fit(np.zeros((4, 2)), [0, 1, 0, 1]).predict(np.zeros((2, 3)))
