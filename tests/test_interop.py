"""Models leaving reseau: ONNX export run in onnxruntime, safetensors reading and rewriting model
files, pickle / deepcopy / joblib of a model."""

import copy
import io
import pickle
import subprocess
import sys

import numpy as np
import pytest

import reseau
from reseau import datasets
from reseau.core.activations import ACTIVATIONS


def _moons(n=120):
    return datasets.moons(n=n, noise=0.2, seed=0)


# ---- ONNX -----------------------------------------------------------------------------------


@pytest.mark.parametrize("hidden", ACTIVATIONS)
@pytest.mark.parametrize("head", ["sigmoid", "softmax", "identity"])
def test_onnx_graph_matches_predictions_for_every_head_and_activation(hidden, head, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'reseau[onnx]')")
    X, y = _moons()
    n_out = {"sigmoid": 1, "softmax": 2, "identity": 1}[head]
    target = y.astype(float) * 2 - 0.5 if head == "identity" else y
    model = reseau.MLP([2, 8, 6, n_out], hidden=hidden, output=head, seed=1, normalize="standard")
    model.fit(X, target, epochs=3, lr=0.05)
    path = tmp_path / "m.onnx"
    model.to_onnx(path)
    session = ort.InferenceSession(str(path))
    out = session.run(None, {"X": X.astype(np.float32)})[0]
    expected = model.predict(X) if head == "identity" else model.predict_proba(X)
    np.testing.assert_allclose(out.reshape(expected.shape), expected, rtol=1e-5, atol=1e-5)


def test_onnx_takes_a_table_with_text_missing_cells_and_unseen_categories(tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'reseau[onnx]')")
    pd = pytest.importorskip("pandas", reason="pandas is not installed (pip install 'reseau[test]')")
    X, y = _moons(200)
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "side": np.where(X[:, 0] > 0.5, "east", "west")})
    df.loc[[3, 17], "a"] = np.nan
    df.loc[[5], "side"] = None
    model = reseau.MLP([None, 12, None], seed=0, impute="median")
    model.fit(df, np.array(["no", "yes"])[y], epochs=5, lr=0.1)
    proto = model.to_onnx(tmp_path / "t.onnx")
    assert [i.name for i in proto.graph.input] == ["a", "b", "side"]
    test = df.copy()
    test.loc[0, "side"] = "north"  # unseen: all zeros, as reseau does (with a DataWarning)
    feeds = {
        "a": test[["a"]].to_numpy(np.float32),
        "b": test[["b"]].to_numpy(np.float32),
        "side": test[["side"]].fillna("").to_numpy(object),
    }
    out = ort.InferenceSession(str(tmp_path / "t.onnx")).run(None, feeds)[0]
    with pytest.warns(UserWarning):
        expected = model.predict_proba(test)
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-5, atol=1e-6)


def test_cli_exports_a_saved_model(tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'reseau[onnx]')")
    X, y = datasets.load("digits")
    model = reseau.MLP([64, 16, 10], seed=0)
    model.fit(X[:300], y[:300], epochs=2)
    model.save(tmp_path / "digits.rsu")
    run = subprocess.run(
        [sys.executable, "-m", "reseau", "export", str(tmp_path / "digits.rsu"), str(tmp_path / "digits.onnx")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "inputs X; output probabilities" in run.stdout
    out = ort.InferenceSession(str(tmp_path / "digits.onnx")).run(None, {"X": X[:50].astype(np.float32)})[0]
    np.testing.assert_allclose(out, model.predict_proba(X[:50]), rtol=1e-5, atol=1e-6)
    bad = subprocess.run(
        [sys.executable, "-m", "reseau", "export", str(tmp_path / "digits.rsu"), str(tmp_path / "missing" / "x.onnx")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "does not exist" in bad.stderr and "Traceback" not in bad.stderr


# ---- safetensors ------------------------------------------------------------------------------


def test_safetensors_reads_model_files_and_its_rewrites_load_back(tmp_path):
    st = pytest.importorskip("safetensors.numpy", reason="safetensors is not installed (pip install 'reseau[test]')")
    from safetensors import safe_open

    X, y = _moons()
    model = reseau.MLP([2, 8, 8, 1], seed=0)
    model.fit(X, y, epochs=2)
    model.save(tmp_path / "m.rsu")
    tensors = st.load_file(tmp_path / "m.rsu")
    assert sorted(tensors) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    np.testing.assert_array_equal(tensors["W2"], model.get_weights()[1][0])
    with safe_open(tmp_path / "m.rsu", "np") as f:
        metadata = f.metadata()
    st.save_file(tensors, tmp_path / "rewritten.rsu", metadata=metadata)  # its own order and padding
    assert (tmp_path / "rewritten.rsu").read_bytes() != (tmp_path / "m.rsu").read_bytes()
    back = reseau.load(tmp_path / "rewritten.rsu")
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))
    tensors["W1"] = tensors["W1"] + 1e-3  # a changed tensor is still caught
    st.save_file(tensors, tmp_path / "changed.rsu", metadata=metadata)
    with pytest.raises(ValueError, match="checksum"):
        reseau.load(tmp_path / "changed.rsu")


# ---- pickling -------------------------------------------------------------------------------


def _globals(blob):
    """The (module, name) pairs a pickle imports as it loads."""
    found = set()

    class Spy(pickle.Unpickler):
        def find_class(self, module, name):
            found.add((module, name))
            return super().find_class(module, name)

    Spy(io.BytesIO(blob)).load()
    return found


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_model_pickles_and_continues_the_same_trajectory(backend, optimizer, tmp_path):
    joblib = pytest.importorskip("joblib", reason="joblib is not installed (pip install 'reseau[sklearn]')")
    X, y = _moons()
    model = reseau.MLP([2, 16, 1], seed=0, backend=backend.name, dropout=0.1)
    model.fit(X, y, epochs=2, optimizer=optimizer, lr=0.05)
    blob = pickle.dumps(model)
    modules = {m for m, _ in _globals(blob)}
    assert all(m.split(".")[0] in ("numpy", "reseau", "builtins", "copyreg", "_codecs") for m in modules), modules
    assert not any("kernels" in m or "backend" in m for m in modules), modules
    joblib.dump(model, tmp_path / "m.joblib")
    twins = [pickle.loads(blob), copy.deepcopy(model), joblib.load(tmp_path / "m.joblib")]
    for twin in twins:
        assert twin.backend.name == backend.name
        np.testing.assert_array_equal(twin.predict_proba(X), model.predict_proba(X))
    for m in [model] + twins:
        m.fit(X, y, epochs=2, optimizer=optimizer, lr=0.05)
    for twin in twins:
        for (W, b), (W2, b2) in zip(twin.get_weights(), model.get_weights()):
            if backend.name == "numpy":
                np.testing.assert_array_equal(W, W2)  # bit-identical
            else:
                np.testing.assert_allclose(W, W2, rtol=1e-6, atol=1e-7)
        assert twin.step_count == model.step_count and twin.epoch == model.epoch
