"""The scikit-learn estimators: scikit-learn's MLP to the last digit, its estimator checks and its
own test-suite, pipelines and grid search, pickling, reseau's options."""

import copy
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install 'reseau[sklearn]')")

import joblib  # noqa: E402
from sklearn import neural_network as sk  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from reseau import datasets  # noqa: E402
from reseau.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

#: tests of scikit-learn's test_mlp.py that read scikit-learn's private members, with what they read
PRIVATE = {
    "test_gradient": "calls the private _loss_grad_lbfgs with scikit-learn's buffers",
    "test_learning_rate_warmstart": "reads the private optimizer object (_optimizer.learning_rate); "
    "reseau's current rate is the public learning_rate_",
    "test_adaptive_learning_rate": "reads the private optimizer object (_optimizer.learning_rate)",
}


def _digits(n_class=10, n=600):
    X, y = datasets.load("digits")
    keep = y < n_class
    return X[keep][:n] / 16.0, y[keep][:n]


def _quiet_fit(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kw)


@pytest.mark.parametrize(
    "solver,extra",
    [
        ("sgd", {}),
        ("sgd", {"nesterovs_momentum": False, "learning_rate": "invscaling"}),
        ("sgd", {"momentum": 0.0, "learning_rate": "adaptive", "tol": 1e-2, "n_iter_no_change": 2}),
        ("adam", {}),
        ("adam", {"early_stopping": True, "activation": "tanh"}),
        ("lbfgs", {"activation": "logistic"}),
    ],
)
def test_classifier_is_scikit_learns_to_the_last_digit(solver, extra):
    """Same random_state, same float64 data: the same initial weights, shuffles and updates, so the
    weights, losses and counters agree with scikit-learn's to rounding (1e-10)."""
    X, y = _digits(4, 500)
    kw = dict(
        hidden_layer_sizes=(24, 12), solver=solver, max_iter=15, random_state=3, batch_size=64, alpha=1e-3, **extra
    )
    ours, theirs = _quiet_fit(MLPClassifier(**kw), X, y), _quiet_fit(sk.MLPClassifier(**kw), X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_ and ours.out_activation_ == theirs.out_activation_
    if solver != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
        assert ours.t_ == theirs.t_
        if extra.get("early_stopping"):
            np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("loss,sample_weight", [("squared_error", False), ("squared_error", True), ("poisson", False)])
def test_regressor_is_scikit_learns_to_the_last_digit(loss, sample_weight):
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(300, 5))
    y = np.exp(X @ rng.normal(size=5) * 0.5) if loss == "poisson" else np.sin(3 * X[:, 0]) + X[:, 1]
    w = rng.uniform(0.5, 2.0, size=300) if sample_weight else None
    kw = dict(hidden_layer_sizes=(16,), loss=loss, max_iter=20, random_state=1, batch_size=50, learning_rate_init=0.01)
    ours = _quiet_fit(MLPRegressor(**kw), X, y, sample_weight=w)
    theirs = _quiet_fit(sk.MLPRegressor(**kw), X, y, sample_weight=w)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9)
    if loss == "squared_error":  # poisson: scikit-learn's loss_curve_ adds y·log y − y, a constant
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)


def test_multilabel_and_multioutput():
    X, Y = sklearn.datasets.make_multilabel_classification(n_samples=120, n_classes=4, random_state=0)
    clf = _quiet_fit(MLPClassifier(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=200, random_state=0), X, Y)
    assert clf.out_activation_ == "logistic" and clf.predict(X).shape == Y.shape and clf.score(X, Y) > 0.9
    P = clf.predict_proba(X)
    assert P.shape == Y.shape and not np.allclose(P.sum(1), 1)  # one sigmoid per label, not a softmax
    X, Y = sklearn.datasets.make_regression(n_samples=150, n_targets=3, random_state=1)
    reg = _quiet_fit(MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=300, random_state=1), X, Y)
    assert reg.predict(X).shape == (150, 3) and reg.score(X, Y) > 0.9


def test_dtype_of_X_is_kept():
    X, y = _digits(3, 300)
    for dtype in (np.float32, np.float64):
        clf = _quiet_fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0), X.astype(dtype), y)
        assert all(a.dtype == dtype for a in clf.coefs_ + clf.intercepts_)
        assert clf.model_.dtype_name == np.dtype(dtype).name
    clf = _quiet_fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, dtype="float32"), X, y)
    assert clf.coefs_[0].dtype == np.float32


def test_partial_fit_continues_and_warm_start_keeps_weights():
    X, y = _digits(3, 300)
    ours, theirs = MLPClassifier(solver="sgd", random_state=2), sk.MLPClassifier(solver="sgd", random_state=2)
    for _ in range(4):  # one epoch a call, a fresh RandomState per call: as scikit-learn does
        ours.partial_fit(X, y, classes=np.unique(y))
        theirs.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_allclose(ours.coefs_[0], theirs.coefs_[0], rtol=1e-10, atol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_ == 1 and ours.t_ == theirs.t_ == 4 * len(y)
    warm = _quiet_fit(MLPClassifier(max_iter=3, warm_start=True, random_state=0), X, y)
    first = [W.copy() for W in warm.coefs_]
    _quiet_fit(warm, X, y)
    assert warm.n_iter_ == 3 and not np.allclose(first[0], warm.coefs_[0]) and len(warm.loss_curve_) == 6


def test_learning_rate_schedules_show_in_learning_rate_():
    X, y = [[3, 2], [1, 6], [5, 6], [-2, -4]], [1, 1, 1, 0]
    clf = _quiet_fit(
        MLPClassifier(
            solver="sgd", hidden_layer_sizes=4, learning_rate="invscaling", max_iter=2, power_t=0.25, random_state=0
        ),
        X,
        y,
    )
    assert clf.learning_rate_ == 1e-3 / (8 + 1) ** 0.25  # t_ = 8 samples seen
    clf = MLPClassifier(tol=0.5, max_iter=3000, solver="sgd", learning_rate="adaptive", random_state=0).fit(X, y)
    assert clf.n_iter_ < 3000 and clf.learning_rate_ < 1e-6


def test_reseau_optimisers_backends_and_options(backend):
    X, y = _digits(10, 600)
    for solver in ("rmsprop", "nag"):
        clf = _quiet_fit(
            MLPClassifier(
                hidden_layer_sizes=(32,),
                solver=solver,
                learning_rate_init=0.01,
                max_iter=20,
                batch_size=32,
                random_state=0,
                backend=backend.name,
                dtype="float32",
            ),
            X,
            y,
        )
        assert clf.score(X, y) > 0.9, solver
    clf = _quiet_fit(
        MLPClassifier(
            hidden_layer_sizes=(32,),
            max_iter=30,
            batch_size=32,
            random_state=0,
            dropout=0.2,
            init="he",
            normalize="standard",
            backend=backend.name,
            dtype="float32",
        ),
        X,
        y,
    )
    assert clf.score(X, y) > 0.9


def test_a_backend_trains_as_numpy_does(backend):
    X, y = _digits(3, 200)
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0, dtype="float32")
    a = _quiet_fit(MLPClassifier(backend="numpy", **kw), X, y)
    b = _quiet_fit(MLPClassifier(backend=backend.name, **kw), X, y)
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-4, atol=1e-5)


def test_tables_with_text_columns_go_through_the_column_plan():
    pytest.importorskip("pandas", reason="pandas is not installed (pip install 'reseau[test]')")
    d = sklearn.datasets.load_iris(as_frame=True)
    df = d.frame.drop(columns="target")
    df["size"] = np.where(df["petal length (cm)"] > 4.8, "large", "small")
    species = np.asarray(d.target_names)[d.target]
    clf = _quiet_fit(
        MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=300, random_state=0, normalize="minmax"),
        df,
        species,
    )
    assert list(clf.feature_names_in_) == list(df.columns) and clf.n_features_in_ == 5
    assert clf.score(df, species) > 0.95 and set(clf.predict(df)) <= set(d.target_names)
    assert clf.score(df[df.columns[::-1]], species) > 0.95  # matched by name


def test_pickle_deepcopy_joblib_continue_the_same_trajectory(tmp_path):
    X, y = _digits(3, 300)
    clf = _quiet_fit(MLPClassifier(hidden_layer_sizes=(16,), solver="sgd", max_iter=3, random_state=0), X, y)
    path = tmp_path / "clf.joblib"
    joblib.dump(clf, path)
    twins = [pickle.loads(pickle.dumps(clf)), copy.deepcopy(clf), joblib.load(path)]
    for twin in twins:
        np.testing.assert_array_equal(twin.predict_proba(X), clf.predict_proba(X))
    for est in [clf] + twins:
        for _ in range(3):
            est.partial_fit(X, y)
    for twin in twins:
        for a, b in zip(twin.coefs_ + twin.intercepts_, clf.coefs_ + clf.intercepts_):
            np.testing.assert_array_equal(a, b)  # bit-identical on NumPy


def test_bad_parameters_name_the_parameter_and_the_allowed_values():
    X, y = _digits(3, 50)
    for bad, match in [
        ({"alpha": -1}, "'alpha' parameter of MLPClassifier must be a float in the range"),
        ({"solver": "newton"}, "'solver' parameter .* among"),
        ({"batch_size": 0}, "'batch_size'"),
        ({"momentum": 1.5}, "'momentum'"),
        ({"hidden_layer_sizes": (4, 0)}, "'hidden_layer_sizes'"),
        ({"n_iter_no_change": 0}, "'n_iter_no_change'"),
        ({"dtype": "int8"}, "'dtype'"),
        ({"dropout": 1.0}, "dropout"),
    ]:
        est = MLPClassifier(**bad)
        with pytest.raises(ValueError, match=match):
            est.fit(X, y)
        assert not hasattr(est, "coefs_")
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(ValueError, match="dropout"):
        MLPClassifier(solver="lbfgs", dropout=0.5).fit(X, y)


def test_sparse_input_is_densified_per_batch():
    sparse = pytest.importorskip("scipy.sparse", reason="scipy is not installed")
    X, y = _digits(2, 120)
    dense = _quiet_fit(MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", max_iter=5, random_state=1), X, y)
    csr = _quiet_fit(
        MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", max_iter=5, random_state=1), sparse.csr_matrix(X), y
    )
    np.testing.assert_allclose(dense.coefs_[0], csr.coefs_[0], rtol=1e-12)
    np.testing.assert_array_equal(csr.predict(sparse.csc_matrix(X)), dense.predict(X))


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_check_estimator_passes(Estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(Estimator(), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert failed == [] and len(results) > 50


def test_scikit_learns_own_mlp_tests_pass_on_reseau(tmp_path):
    """The installed scikit-learn's neural_network/tests/test_mlp.py, its import swapped at run time
    for reseau's estimators (nothing of it is kept in this repository); the tests that read
    scikit-learn's private members are deselected (PRIVATE says which and why)."""
    source = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    text = source.read_text()
    line = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
    assert line in text
    swapped = tmp_path / "test_mlp_on_reseau.py"
    swapped.write_text(text.replace(line, "from reseau.sklearn import MLPClassifier, MLPRegressor"))
    deselect = [arg for name in PRIVATE for arg in ("--deselect", f"{swapped.name}::{name}")]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "sklearn.conftest",
            "-p",
            "no:cacheprovider",
            swapped.name,
            *deselect,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout.splitlines()[-1]


def test_classifier_with_text_labels_and_probabilities(backend):
    X, y = datasets.moons(n=200, noise=0.1, seed=0)
    labels = np.array(["left", "right"])[y]
    clf = _quiet_fit(
        MLPClassifier(
            hidden_layer_sizes=(16, 16),
            activation="tanh",
            learning_rate_init=0.01,
            max_iter=100,
            batch_size=32,
            random_state=0,
            backend=backend.name,
        ),
        X,
        labels,
    )
    assert list(clf.classes_) == ["left", "right"] and clf.n_features_in_ == 2
    P = clf.predict_proba(X)
    assert P.shape == (200, 2)
    np.testing.assert_allclose(P.sum(1), 1, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[P.argmax(1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(P))
    assert clf.score(X, labels) > 0.95


def test_multiclass_in_a_pipeline_and_cross_validation():
    X, y = datasets.load("digits")
    pipe = make_pipeline(
        StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=15, random_state=0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85


def test_grid_search_and_clone():
    X, y = datasets.blobs(n=150, centers=3, seed=1)
    search = GridSearchCV(
        MLPClassifier(max_iter=30, learning_rate_init=0.01, random_state=0),
        {"hidden_layer_sizes": [(4,), (16,)], "activation": ["relu", "tanh"]},
        cv=3,
    )
    _quiet_fit(search, X, y)
    assert set(search.best_params_) == {"hidden_layer_sizes", "activation"} and search.best_score_ > 0.9
    est = MLPClassifier(learning_rate_init=0.5, dropout=0.1)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est
    assert est.set_params(learning_rate_init=0.2).learning_rate_init == 0.2


def test_errors():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MLPClassifier().predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="Expected 2D array"):
        MLPClassifier().fit(np.zeros(4), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 2 features"):
        _quiet_fit(MLPClassifier(max_iter=1), np.zeros((4, 2)), [0, 1, 0, 1]).predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            MLPRegressor(max_iter=3).fit(np.finfo(np.float64).max * np.ones((10, 2)), np.arange(10.0))


def test_an_untidy_csv_of_public_data_through_pandas_the_estimator_and_onnx(tmp_path):
    """scikit-learn's wine data written as people's files are (an id column, ';', a byte-order mark,
    empty cells, a text column, text labels), read with pandas, fitted, scored, exported."""
    pd = pytest.importorskip("pandas", reason="pandas is not installed (pip install 'reseau[test]')")
    from sklearn.model_selection import train_test_split

    d = sklearn.datasets.load_wine(as_frame=True)
    df = d.frame.drop(columns="target")
    df.insert(0, "id", [f"w{k:04d}" for k in range(len(df))])
    df["colour"] = np.where(df["color_intensity"] > 5, "dark", "light")
    df["cultivar"] = np.asarray(["barolo", "grignolino", "barbera"])[d.target]
    g = np.random.default_rng(0)
    for c in ("alcohol", "magnesium", "proline"):
        df.loc[g.choice(len(df), 4, replace=False), c] = np.nan
    df.to_csv(tmp_path / "wine.csv", sep=";", index=False, encoding="utf-8-sig", na_rep="")
    t = pd.read_csv(tmp_path / "wine.csv", sep=";", encoding="utf-8-sig")
    X, y = t.drop(columns=["id", "cultivar"]), t["cultivar"]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    clf = MLPClassifier(
        hidden_layer_sizes=(32,), solver="lbfgs", max_iter=500, random_state=0, normalize="standard", impute="median"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X_train, y_train)
        assert clf.score(X_test, y_test) > 0.95 and clf.n_features_in_ == 14
        P = clf.predict_proba(X_test)
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'reseau[onnx]')")
    clf.model_.to_onnx(tmp_path / "wine.onnx")
    session = ort.InferenceSession(str(tmp_path / "wine.onnx"))
    feeds = {
        i.name: (
            X_test[[i.name]].fillna("").to_numpy(object)
            if i.type == "tensor(string)"
            else X_test[[i.name]].to_numpy(np.float32)
        )
        for i in session.get_inputs()
    }
    np.testing.assert_allclose(session.run(None, feeds)[0], P, atol=1e-5)


def test_the_estimators_train_through_reseaus_loop_with_its_callbacks():
    """One training loop: the stochastic solvers run on the Trainer, so reseau's callbacks see each
    epoch's record (the loss scikit-learn books in loss_curve_), can stop the fit, and the network
    model_ carries the history, the update count and the optimiser state partial_fit continues."""
    from reseau.callbacks import Callback

    class Watch(Callback):
        def __init__(self):
            self.records = []

        def on_epoch_end(self, trainer, record):
            self.records.append(dict(record))
            if len(self.records) == 4:
                trainer.stop_training = True

    X, y = _digits(3, 300)
    watch = Watch()
    est = MLPClassifier(hidden_layer_sizes=(16,), batch_size=50, max_iter=30, random_state=0, callbacks=[watch])
    est.fit(X, y)
    assert est.n_iter_ == 4 == len(watch.records)
    assert [r["loss"] for r in watch.records] == est.loss_curve_
    assert [r["epoch"] for r in watch.records] == [1, 2, 3, 4]
    assert 0.0 < watch.records[-1]["accuracy"] <= 1.0 and watch.records[-1]["lr"] == est.learning_rate_init
    model = est.model_
    assert model.step_count == 4 * 6 and model.history["loss"] == est.loss_curve_
    est.partial_fit(X, y)  # one more epoch, on from the same optimiser state
    assert model.step_count == 5 * 6 and len(model.history["loss"]) == 5
    plain = _quiet_fit(MLPClassifier(hidden_layer_sizes=(16,), batch_size=50, max_iter=4, random_state=0), X, y)
    np.testing.assert_array_equal(plain.loss_curve_, est.loss_curve_[:4])


def test_on_divergence_picks_the_guard_of_reseaus_loop():
    """Default: scikit-learn's way (every step applied, then its ValueError, the estimator as it
    was); "stop": TrainingDivergedError with the last good weights kept; "skip": bad steps dropped."""
    from reseau import TrainingDivergedError

    X = np.random.default_rng(0).normal(size=(200, 5))
    y = X.sum(axis=1) * 100
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=100.0, max_iter=20, random_state=0)
    for make in (MLPRegressor, sk.MLPRegressor):  # the same answer as scikit-learn's
        with pytest.raises(ValueError, match="non-finite parameter weights"):
            _quiet_fit(make(**kw), X, y)
    stopped = MLPRegressor(**kw, on_divergence="stop")
    with pytest.raises(TrainingDivergedError, match="the loss became inf at step 1 of 1 in epoch 5"):
        _quiet_fit(stopped, X, y)
    assert stopped.n_iter_ == 4 and all(np.isfinite(a).all() for a in stopped.coefs_ + stopped.intercepts_)
    skipped = MLPRegressor(**kw, on_divergence="skip", batch_size=50)
    with pytest.raises(TrainingDivergedError, match="every step of epoch"):  # said so once no step is left
        _quiet_fit(skipped, X, y)
    assert all(np.isfinite(a).all() for a in skipped.coefs_ + skipped.intercepts_)
    assert "skipped_steps" in skipped.model_.history


@pytest.mark.parametrize(
    "param,value,message",
    [("callbacks", [print], "callbacks holds"), ("on_divergence", "ignore", "on_divergence='ignore'")],
)
def test_reseaus_loop_options_are_checked_before_training(param, value, message):
    X, y = _digits(2, 60)
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, **{param: value})
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")


def test_the_epoch_order_is_scikit_learns_shuffle():
    """reseau.sklearn's Order draws each epoch's order as sklearn.utils.shuffle does (the same
    random stream, the same permutations), without its argument checks."""
    from sklearn.utils import check_random_state, shuffle

    from reseau.sklearn.loop import Order

    ours, theirs = Order(True, check_random_state(7)), check_random_state(7)
    idx = np.arange(53)
    for _ in range(5):
        idx = shuffle(idx, random_state=theirs)
        np.testing.assert_array_equal(ours(53), idx)
    assert Order(False, 0)(53) is None
