"""Hostile model files and checkpoints: the description checked against its schema before anything
is allocated, fuzzing of bytes and of JSON fields by type (only ValueError / OSError, bounded
memory, nothing unpickled), the CLI's answer to them, and loads racing saves on one path."""

import contextlib
import io
import json
import multiprocessing
import pickle
import struct
import time
import tracemalloc

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install 'reseau[test]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import reseau  # noqa: E402
from reseau import datasets  # noqa: E402
from reseau.cli import main  # noqa: E402
from reseau.core import serialize  # noqa: E402

FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
PEAK_BYTES = 32 << 20  # what a load of these few-kB files may allocate, at most


def _table_model():
    pd = pytest.importorskip("pandas", reason="pandas is not installed (pip install 'reseau[test]')")
    X, y = datasets.moons(n=80, noise=0.2, seed=0)
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "side": np.where(X[:, 0] > 0.5, "east", "west")})
    model = reseau.MLP([None, 6, None], seed=0, normalize="standard")
    model.fit(df, np.array(["no", "yes"])[y], epochs=2, lr=0.1)
    return model


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A model file with a column plan and class labels, and a checkpoint written mid-fit."""
    root = tmp_path_factory.mktemp("hostile")
    _table_model().save(root / "model.rsu")
    X, y = datasets.moons(n=64, seed=1)
    reseau.MLP([2, 5, 1], seed=0).fit(
        X, y, epochs=2, batch_size=16, optimizer="adam", checkpoint=root / "ckpt", checkpoint_every=3
    )
    ckpt = sorted((root / "ckpt").glob("step-*.ckpt"))[-1]
    return {"model": (root / "model.rsu").read_bytes(), "checkpoint": ckpt.read_bytes(), "root": root}


def _split(raw):
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    return header, json.loads(header["__metadata__"]["reseau"]), raw[8 + n :]


def _pack(header, body):
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + body


def _rewrite(raw, description):
    """The file with a new description and a checksum that matches it (so only the schema and the
    loader's own checks stand between the description and the model)."""
    header, _, body = _split(raw)
    meta = header["__metadata__"]
    text = json.dumps(description)
    tensors, _ = _tensors(raw)
    meta["reseau"], meta["checksum"] = text, serialize.checksum(text, tensors)
    return _pack(header, body)


def _tensors(raw):
    header, description, body = _split(raw)
    header.pop("__metadata__")
    out = {}
    for name, spec in header.items():
        a, b = spec["data_offsets"]
        out[name] = np.frombuffer(
            body[a:b], dtype={"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4"}[spec["dtype"]]
        ).reshape(spec["shape"])
    return out, description


def _paths(value, prefix=()):
    """Every path into a JSON value (dict keys and list indices)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:8]):
            yield from _paths(v, prefix + (i,))


def _set(value, path, new):
    if not path:
        return new
    value = json.loads(json.dumps(value))
    node = value
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return value


HOSTILE = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            False,
            0,
            -1,
            1,
            2**31,
            2**70,
            -(2**63),
            1e308,
            -0.0,
            0.5,
            "",
            "abc",
            "relu",
            "float16",
            [],
            {},
            [None],
            [-1, 2],
            [1e9, 1e9],
            {"a": 1},
        ]
    ),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.integers(20, 200).map(lambda d: json.loads("[" * d + "]" * d)),
    st.lists(st.integers(-3, 10**8), max_size=6),
)


def _load_is_safe(tmp_path, raw, monkeypatch):
    """reseau.load on ``raw``: a model or a ValueError/OSError, with bounded memory, never unpickling."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model file was unpickled")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    path = tmp_path / "fuzzed.rsu"
    path.write_bytes(raw)
    tracemalloc.start()
    try:
        model = reseau.load(path)
    except (ValueError, OSError):
        model = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < PEAK_BYTES + 4 * len(raw), peak
    return model


@FUZZ
@given(which=st.sampled_from(["model", "checkpoint"]), data=st.data())
def test_fuzzed_json_fields_load_or_give_a_value_error(files, tmp_path, monkeypatch, which, data):
    raw = files[which]
    _, description, _ = _split(raw)
    path = data.draw(st.sampled_from(sorted(_paths(description), key=repr)[1:]))
    mutated = _set(description, path, data.draw(HOSTILE))
    model = _load_is_safe(tmp_path, _rewrite(raw, mutated), monkeypatch)
    if model is not None:  # a harmless change: the model works as any other
        model.summary()
        X = np.zeros((2, model.sizes[0]))
        if model.columns is None or (model.columns.all_numeric and not model.columns.named):
            model.predict(X)


@FUZZ
@given(which=st.sampled_from(["model", "checkpoint"]), data=st.data())
def test_fuzzed_header_entries_and_bytes_give_a_value_error(files, tmp_path, monkeypatch, which, data):
    raw = bytearray(files[which])
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "tensor"]))
    if kind == "flip":
        for i in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=8)):
            raw[i] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        del raw[data.draw(st.integers(0, len(raw) - 1)) :]
    elif kind == "insert":
        at = data.draw(st.integers(0, len(raw)))
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=16))
    else:
        header, _, body = _split(bytes(raw))
        name = data.draw(st.sampled_from(sorted(k for k in header if k != "__metadata__")))
        field = data.draw(st.sampled_from(["dtype", "shape", "data_offsets"]))
        header[name][field] = data.draw(HOSTILE)
        raw = bytearray(_pack(header, body))
    _load_is_safe(tmp_path, bytes(raw), monkeypatch)


def _with(files, which, edit):
    raw = files[which]
    _, description, _ = _split(raw)
    edit(description)
    return _rewrite(raw, description)


def _nested_header(files):
    header, _, body = _split(files["model"])
    head = (json.dumps(header)[:-1] + ', "deep": ' + "[" * 5000 + "]" * 5000 + "}").encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + body


CASES = {  # the families the hostile-input probe found, each with the field its message names
    "deep header": (_nested_header, "nested more than"),
    "description is a list": (lambda f: _rewrite(f["model"], [1, 2]), "the description is not a JSON object"),
    "missing section": (lambda f: _with(f, "model", lambda d: d.pop("training")), "training must be an object"),
    "unknown scaler": (
        lambda f: _with(f, "model", lambda d: d.update(preprocessing=None, scaler={"kind": "robust"})),
        "scaler must",
    ),
    "non-finite size": (lambda f: _with(f, "model", lambda d: d.update(layers=[4, float("inf"), 2])), "layers must"),
    "plan of another width": (
        lambda f: _with(f, "model", lambda d: d["preprocessing"].update(offset=d["preprocessing"]["offset"][:-1])),
        "preprocessing.offset",
    ),
    "architecture against tensors": (
        lambda f: _with(f, "model", lambda d: d.update(layers=[9000, 9000, 1], preprocessing=None, feature_names=None)),
        "tensor W1 must be present with shape",
    ),
    "epochs as text": (
        lambda f: _with(f, "model", lambda d: d["training"].update(epochs="abc")),
        "training.epochs must be an integer",
    ),
    "optimiser settings": (
        lambda f: _with(
            f, "model", lambda d: d["training"].update(optimizer={"name": "adam", "hyperparameters": {"lr": -1}})
        ),
        "training.optimizer.hyperparameters",
    ),
    "classes beyond the head": (
        lambda f: _with(f, "model", lambda d: d.update(classes=["a", "b", "c"])),
        "classes must be null or a list of 1 to 2",
    ),
    "checkpoint generator": (
        lambda f: _with(f, "checkpoint", lambda d: d["checkpoint"].update(rng={"x": 1})),
        "checkpoint.rng must",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_family_of_hostile_descriptions_names_the_field(files, tmp_path, monkeypatch, case):
    make, message = CASES[case]
    path = tmp_path / "bad.rsu"
    path.write_bytes(make(files))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=message) as info:
            reseau.load(path)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert str(path) in str(info.value) and peak < PEAK_BYTES


@pytest.mark.parametrize(
    "case",
    ["deep header", "description is a list", "epochs as text", "architecture against tensors", "plan of another width"],
)
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_cli_answers_hostile_files_with_one_line_and_exit_2(files, tmp_path, case, command):
    model = tmp_path / "bad.rsu"
    model.write_bytes(CASES[case][0](files))
    (tmp_path / "in.csv").write_text("a,b,side\n0.1,0.2,east\n")
    argv = (
        [command, str(model), str(tmp_path / "in.csv")]
        if command == "predict"
        else [command, str(model), "--data", "moons"]
    )
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    lines = err.getvalue().strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("reseau: error:") and str(model) in lines[0]


# ---- loads racing saves ---------------------------------------------------------------------


def _writer(path, seed, seconds):
    X, y = datasets.moons(n=40, seed=seed)
    models = [reseau.MLP([2, 4 + 4 * k, 1], seed=seed + k) for k in range(2)]  # two sizes of file
    for m in models:
        m.fit(X, y, epochs=1)
    end, i = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        models[i % 2].save(path)
        i += 1
    return i


def _reader(path, seconds):
    end, loads, failures = time.monotonic() + seconds, 0, []
    while time.monotonic() < end:
        try:
            reseau.load(path)
            loads += 1
        except ValueError as exc:
            failures.append(str(exc))
    return loads, failures


def test_loads_racing_saves_on_one_path_never_fail(tmp_path):
    """Two writers and two readers on one path for 5 s: every load reads one writer's whole file
    (sizes come from the open descriptor, not from the path, which a rename may change between)."""
    path = tmp_path / "shared.rsu"
    _writer(path, 0, 0.0)
    reseau.MLP([2, 4, 1], seed=0).save(path)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        writers = [pool.apply_async(_writer, (path, s, 5.0)) for s in (1, 2)]
        readers = [pool.apply_async(_reader, (path, 5.0)) for _ in range(2)]
        saves = sum(w.get(timeout=120) for w in writers)
        results = [r.get(timeout=120) for r in readers]
    loads = sum(n for n, _ in results)
    failures = [f for _, fs in results for f in fs]
    assert saves > 20 and loads > 20, (saves, loads)
    assert failures == [], failures[:3]
