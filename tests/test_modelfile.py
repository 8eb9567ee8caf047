"""Model files: round trips across backends, atomic writes, no code on load, clear errors;
summary() and gradcheck()."""

import json
import struct

import numpy as np
import pytest

import reseau
from reseau import datasets, optim


@pytest.fixture
def trained(tmp_path):
    X, y = datasets.load("digits")
    model = reseau.MLP([64, 16, 10], hidden="tanh", normalize="minmax", dropout=0.1, l2=1e-4, seed=3)
    model.fit(X, y, epochs=2, optimizer=optim.Adam(1e-2))
    path = tmp_path / "digits.reseau"
    model.save(path)
    return model, path, X, y


def test_round_trip_on_every_backend(trained, backend):
    model, path, X, y = trained
    loaded = reseau.load(path, backend=backend.name)
    assert loaded.backend.name == backend.name
    assert loaded.sizes == model.sizes and loaded.hidden == model.hidden and loaded.dropout == model.dropout
    for (W0, b0), (W1, b1) in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(W0, W1)
        np.testing.assert_array_equal(b0, b1)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-5, atol=1e-6)
    assert loaded.epoch == 2 and loaded.history["loss"] == model.history["loss"]
    np.testing.assert_array_equal(loaded.scaler.offset_, model.scaler.offset_)


def test_float64_round_trip_is_exact(tmp_path):
    model = reseau.MLP([3, 4, 2], output="identity", dtype="float64", seed=1)
    model.save(tmp_path / "m")
    loaded = reseau.load(tmp_path / "m")
    assert loaded.dtype_name == "float64"
    np.testing.assert_array_equal(loaded.get_weights()[0][0], model.get_weights()[0][0])


def test_the_file_is_safetensors_with_a_description(trained):
    _, path, _, _ = trained
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    assert header["W1"] == {"dtype": "F32", "shape": [64, 16], "data_offsets": [0, 64 * 16 * 4]}
    description = json.loads(header["__metadata__"]["reseau"])
    assert description["format"] == "reseau-mlp" and description["version"] == 1
    assert description["training"]["optimizer"]["name"] == "adam"


def test_writes_are_atomic(trained, monkeypatch):
    model, path, _, _ = trained
    before = path.read_bytes()

    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def _patched(path, edit):
    raw = bytearray(path.read_bytes())
    edit(raw)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda raw: raw.__delitem__(slice(-10, None)), r"truncated or corrupted"),
        (lambda raw: raw.__setitem__(-1, raw[-1] ^ 0xFF), r"checksum of the weights and description does not match"),
        (lambda raw: raw.__delitem__(slice(4, None)), r"truncated \(shorter than a header\)"),
        (lambda raw: raw.__setitem__(slice(0, 8), struct.pack("<Q", 10**12)), r"header length .* does not fit"),
        (lambda raw: raw.__setitem__(slice(8, 12), b"{{{{"), r"unreadable header"),
    ],
)
def test_damaged_files_give_clear_errors(trained, edit, message):
    _, path, _, _ = trained
    _patched(path, edit)
    with pytest.raises(ValueError, match=message):
        reseau.load(path)


def _rewrite_header(path, change):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    change(header)
    head = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head + raw[8 + n :])


def test_wrong_version_and_huge_shapes_are_refused(trained):
    _, path, _, _ = trained

    def version(h):
        d = json.loads(h["__metadata__"]["reseau"])
        d["version"] = 99
        h["__metadata__"]["reseau"] = json.dumps(d)

    _rewrite_header(path, version)
    with pytest.raises(ValueError, match="format version 99; this reseau reads version 1"):
        reseau.load(path)

    def huge(h):
        d = json.loads(h["__metadata__"]["reseau"])
        d["version"] = 1
        h["__metadata__"]["reseau"] = json.dumps(d)
        h["W1"]["shape"] = [2**31, 2**31]

    _rewrite_header(path, huge)
    with pytest.raises(ValueError, match=r"claims shape \[2147483648, 2147483648\]; refusing"):
        reseau.load(path)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(ValueError, match="cannot read the file"):
        reseau.load(tmp_path / "nothing")
    (tmp_path / "pickle").write_bytes(b"\x80\x04\x95" + b"\x00" * 64)
    with pytest.raises(ValueError, match="not a reseau model file|does not fit"):
        reseau.load(tmp_path / "pickle")


def test_summary_lists_layers_and_counts():
    text = reseau.MLP([30, 16, 1], hidden="tanh", init="xavier", dropout=0.2).summary()
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "W", "shape", "b", "activation", "init", "params"]
    assert lines[2].split() == ["1", "30", "x", "16", "16", "tanh", "xavier", "496"]
    assert lines[3].split() == ["2", "16", "x", "1", "1", "sigmoid", "xavier", "17"]
    assert "total 513 parameters" in lines[-1] and "dropout [0.2]" in lines[-1]


def test_gradcheck_reports_small_errors_per_layer():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(25, 4)), rng.integers(0, 3, 25)
    model = reseau.MLP([4, 6, 5, 3], hidden=["tanh", "gelu"], dropout=0.2, l2=0.1, seed=0)
    report = reseau.gradcheck(model, X, y)
    assert set(report) == {"layer 1", "layer 2", "layer 3", "max"}
    assert report["max"] < 1e-6


def test_gradcheck_catches_a_wrong_derivative(monkeypatch):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(25, 4)), rng.integers(0, 2, 25)
    ref = reseau.kernels.for_backend(reseau.backends.get("numpy"), "reference")
    monkeypatch.setitem(ref._dg, "tanh", lambda dA, Z, A: dA * (1.0 - A))  # wrong: 1 − A, not 1 − A²
    report = reseau.gradcheck(reseau.MLP([4, 6, 1], hidden="tanh", seed=0), X, y)
    assert report["layer 1"] > 1e-2


def test_gradcheck_resolves_the_tiny_gradients_of_a_deep_sigmoid_network():
    """Ten sigmoid layers: the first layers' gradients are ~1e-6 of the last's (the vanishing
    gradient). A step scaled to each parameter keeps every layer's error below 1e-6; one fixed
    step for all (change=0: h = eps everywhere) reads the first layer as far off."""
    X, y = reseau.datasets.moons(n=300, seed=0)
    deep = reseau.MLP([2] + [16] * 9 + [1], hidden="sigmoid", init="xavier", seed=0)
    deep.fit(X, y, epochs=20, optimizer="sgd", lr=0.5)
    scaled = reseau.gradcheck(deep, X[:50], y[:50])
    fixed = reseau.gradcheck(deep, X[:50], y[:50], change=0.0)
    assert scaled["max"] < 1e-6, scaled
    assert fixed["layer 1"] > 100 * scaled["layer 1"], (fixed, scaled)


@pytest.mark.parametrize("fill, loads", [(2**70, True), (10**400, False), (float("nan"), False)])
def test_a_huge_integer_fill_value_loads_or_is_a_value_error(tmp_path, fill, loads):
    """preprocessing.fill holding an int past int64 (found by the fuzzed-fields test): NumPy's
    isfinite raised a TypeError on it; now it is a number (2**70) or refused by name (10**400)."""
    from reseau.core import serialize

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    model = reseau.MLP([None, 3, 1], seed=0)
    model.fit(X, (X[:, 0] > 0).astype(int), epochs=1, verbose=0)
    model.save(tmp_path / "m.reseau")
    tensors, d = serialize.read(tmp_path / "m.reseau")
    d["preprocessing"]["fill"][0] = fill
    serialize.write(tmp_path / "f.reseau", tensors, {k: v for k, v in d.items() if k not in ("format", "version")})
    if loads:
        assert reseau.load(tmp_path / "f.reseau").predict(X).shape == (40,)
    else:
        with pytest.raises(ValueError, match="preprocessing.fill must hold a finite number"):
            reseau.load(tmp_path / "f.reseau")
