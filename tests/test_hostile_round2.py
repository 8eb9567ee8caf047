"""Hostile input, round 2 (the parts done so far): a pickled or copied model trains on with its
own optimiser; callbacks that return NumPy's False stop, that set NaN weights cannot make ``save``
write a file ``load`` refuses, that start a fit inside a fit are refused; the documented
``on_step_end(trainer, sync)`` is the one called; ``--seed -1`` names the option; pyarrow's floor
is past CVE-2023-47248; FIFOs and devices are refused before they are opened; ONNX export refuses
weights float32 cannot hold and writes its file atomically."""

import copy
import pickle
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from reseau import MLP
from reseau.callbacks import Callback


def _data(n=64):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("clone", [lambda m: pickle.loads(pickle.dumps(m)), copy.deepcopy], ids=["pickle", "deepcopy"])
def test_a_restored_model_continues_with_its_optimiser(clone):
    X, y = _data()
    a = MLP([None, 4, None], seed=0, dtype="float64")
    a.fit(X, y, epochs=2, optimizer="adam", lr=0.01)
    b = clone(a)
    a.fit(X, y, epochs=2)
    b.fit(X, y, epochs=2)  # no optimiser: the model's own, and its state
    assert b.epoch == 4 and type(b.optimizer).__name__ == "Adam"
    np.testing.assert_array_equal(a.get_weights()[0][0], b.get_weights()[0][0])


def test_a_callback_returning_numpys_false_stops_training():
    X, y = _data()
    h = MLP([None, 4, None], seed=0).fit(X, y, epochs=10, callback=lambda record: np.bool_(record["epoch"] < 3))
    assert h["epoch"] == [1, 2, 3]


def test_save_refuses_weights_a_callback_made_nan(tmp_path):
    X, y = _data()
    m = MLP([None, 4, None], seed=0)

    class Poison(Callback):
        def on_epoch_end(self, trainer, record):  # the last epoch: fit returns with NaN weights
            if record["epoch"] == 2:
                trainer.model.params = trainer.model.params * np.nan

    m.fit(X, y, epochs=2, callbacks=[Poison()])
    with pytest.raises(ValueError, match="NaN or infinite values.*nothing was written"):
        m.save(tmp_path / "m.reseau")
    assert not (tmp_path / "m.reseau").exists()


def test_a_fit_inside_a_callback_is_refused_and_the_outer_fit_goes_on():
    X, y = _data()
    m = MLP([None, 4, None], seed=0)
    errors = []

    def nested(record):
        try:
            m.fit(X, y, epochs=1)
        except RuntimeError as exc:
            errors.append(str(exc))

    h = m.fit(X, y, epochs=3, callback=nested)
    assert h["epoch"] == [1, 2, 3] and m.epoch == 3 and len(errors) == 3
    assert "already training" in errors[0]
    m.fit(X, y, epochs=1)  # after it returns, a new fit is fine
    assert m.epoch == 4


def test_the_documented_step_hook_signature_is_the_one_called():
    X, y = _data()
    seen = []

    class Steps(Callback):
        def on_step_end(self, trainer, sync):
            seen.append(trainer.position["position"])
            return np.False_ if len(seen) == 2 else None

    MLP([None, 4, None], seed=0).fit(X, y, epochs=1, batch_size=16, callbacks=[Steps()])
    assert seen == [16, 32]  # the second hook's np.False_ ended the epoch there


def test_a_negative_seed_names_the_option(capsys):
    from reseau.cli import main

    with pytest.raises(SystemExit) as info:
        main(["train", "--seed", "-1"])
    assert info.value.code == 2
    assert re.search(r"argument --seed: '-1' is negative; expected a non-negative integer", capsys.readouterr().err)


def test_pyarrow_floor_excludes_the_release_with_cve_2023_47248():
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    assert "pyarrow>=14.0.1" in project["dependencies"]


@pytest.mark.parametrize("reader", ["load_file", "read_table", "load"])
def test_a_fifo_or_a_device_is_refused_before_it_is_opened(tmp_path, reader):
    import os

    from reseau import datasets, load

    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)  # opening it to read would block until a writer came
    read = {"load_file": datasets.load_file, "read_table": datasets.read_table, "load": load}[reader]
    with pytest.raises(ValueError, match=re.escape(f"{fifo}: is a FIFO (named pipe); expected a regular file")):
        read(fifo)
    link = tmp_path / "images.idx"
    link.symlink_to("/dev/zero")
    with pytest.raises(ValueError, match="is a character device; expected a regular file"):
        read(link)


def test_onnx_export_refuses_weights_beyond_float32_and_writes_atomically(tmp_path):
    pytest.importorskip("onnx", reason="onnx is not installed (pip install 'reseau[onnx]')")
    X, y = _data()
    m = MLP([None, 4, None], seed=0, dtype="float64")
    m.fit(X, y, epochs=1)
    (tmp_path / "m.onnx").write_bytes(b"old")
    W, b = m.get_weights()[0]
    m.set_weights([(W * 1e300, b)] + m.get_weights()[1:])
    with pytest.raises(ValueError, match="W1 holds values beyond float32's range"):
        m.to_onnx(tmp_path / "m.onnx")
    assert (tmp_path / "m.onnx").read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1
    m.set_weights([(W, b)] + m.get_weights()[1:])
    m.to_onnx(tmp_path / "m.onnx")
    assert (tmp_path / "m.onnx").stat().st_size > 100 and len(list(tmp_path.iterdir())) == 1


def test_cli_names_the_option_or_the_cause(tmp_path, capsys):
    from reseau.cli import main

    assert main(["bench", "--layers", "784,x"]) == 2
    assert "--layers '784,x': expected comma-separated positive integers" in capsys.readouterr().err
    path = tmp_path / "continuous.csv"
    rng = np.random.default_rng(0)
    np.savetxt(
        path,
        np.column_stack([rng.normal(size=(60, 2)), rng.normal(size=60)]),
        delimiter=",",
        header="a,b,y",
        comments="",
    )
    assert main(["train", "--data", str(path), "--target", "y", "--task", "classify", "--quiet"]) == 2
    assert "'y' has 60 distinct values in 60 rows, more than 12 classes; a quantity? give --task regress" in (
        capsys.readouterr().err
    )


def test_a_full_disk_leaves_the_old_file_and_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    import errno
    import os

    from reseau.cli import main

    X, y = _data()
    model = MLP([None, 4, None], seed=0)
    model.fit(X, y, epochs=1)
    model.save(tmp_path / "m.reseau")
    np.savetxt(tmp_path / "x.csv", X, delimiter=",", header="x0,x1,x2", comments="")
    argv = ["predict", str(tmp_path / "m.reseau"), str(tmp_path / "x.csv"), "--output", str(tmp_path / "p.csv")]
    assert main(argv) == 0
    assert (tmp_path / "p.csv").read_text().count("\n") == len(X) + 1
    (tmp_path / "p.csv").write_text("old\n")

    def full(fd):  # the disk fills as the file is synced
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    assert main(argv) == 1
    assert capsys.readouterr().err.strip() == f"reseau: error: {os.strerror(errno.ENOSPC)}"
    assert main(["train", "--epochs", "1", "--quiet", "--save", str(tmp_path / "new.reseau")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"reseau: error: {os.strerror(errno.ENOSPC)}", err
    assert (tmp_path / "p.csv").read_text() == "old\n"  # the old file stands, no temporary is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.reseau", "p.csv", "x.csv"]


@pytest.mark.parametrize("shape", ["[Infinity, 4]", "[2.5, 4]", "[true, 4]", "[1e400, 4]"])
def test_a_model_file_with_a_non_integer_shape_is_refused_in_one_line(tmp_path, shape):
    import json
    import struct

    from reseau import load

    X, y = _data()
    model = MLP([None, 4, None], seed=0)
    model.fit(X, y, epochs=1)
    model.save(tmp_path / "m.reseau")
    raw = (tmp_path / "m.reseau").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    text = json.dumps(header).replace(json.dumps(header["W1"]["shape"]), shape, 1).encode()
    text += b" " * (-len(text) % 8)
    (tmp_path / "bad.reseau").write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :])
    with pytest.raises(ValueError, match="tensor 'W1' has a malformed entry in the header"):
        load(tmp_path / "bad.reseau")


def test_a_network_too_large_for_the_memory_is_refused_before_allocating(capsys):
    from reseau.cli import main
    from reseau.core import memory

    with pytest.raises(
        ValueError,
        match=r"layers \[3, 100000, 100000, 1\] hold 10,000,600,001 parameters: about "
        r"\d+\.\d GiB .* more than the",
    ):
        MLP([3, 100000, 100000, 1])
    X, y = _data()
    m = MLP([None, 100000, 100000, None])
    with pytest.raises(ValueError, match="hold 10,000,600,001 parameters"):
        m.fit(X, y)
    assert m.layout is None and m.columns is None  # nothing changed
    assert main(["train", "--layers", "10000000,1000", "--quiet"]) == 2
    assert "parameters: about" in capsys.readouterr().err
    memory.check_network([3, 4, 1], 4, available=10**6)  # a small one passes
    with pytest.raises(ValueError, match="more than the 0.0 GiB"):
        memory.check_network([3, 4, 1], 4, available=100)


def test_a_csv_ending_in_a_line_of_spaces_reads_as_pandas_reads_it(tmp_path):
    pd = pytest.importorskip("pandas", reason="pandas is not installed (pip install 'reseau[test]')")
    from reseau import datasets

    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n   \n")
    table = datasets.read_table(path)
    assert table.num_rows == len(pd.read_csv(path).dropna()) == 4
    path.write_text("a,b,y\n1,2,0\n3,4\n5,6,0\n")  # a short row that is not blank is still an error
    with pytest.raises(ValueError, match=re.escape(f"{path}, line 3: 2 cells but the first row has 3")):
        datasets.read_table(path)


def test_a_gzip_bomb_is_refused_in_one_line_before_memory_runs_out(tmp_path, monkeypatch):
    import gzip
    import resource

    from reseau.datasets import load_file
    from reseau.datasets import readers as tables

    path = tmp_path / "bomb.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(b"a,b,y\n")
        for _ in range(64):
            f.write(b"1,2,0\n" * (1 << 18))  # 96 MiB of text in ~100 KiB
    assert path.stat().st_size < 1 << 20
    monkeypatch.setattr(tables, "available_bytes", lambda: 64 << 20)  # a machine with 64 MiB free
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match=r"bomb\.csv\.gz: inflates .* to more than 5\.3 MiB .* 1/12 of the"):
        load_file(path, target="y")
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    assert grown < 200 << 20  # stopped after ~6 MiB of text, not after all of it
    monkeypatch.setattr(tables, "available_bytes", lambda: 8 << 30)
    assert load_file(path, target="y").X.shape == (64 << 18, 2)  # the same file where memory suffices


@pytest.mark.parametrize("where", ["first", "later"])
def test_a_line_longer_than_a_block_is_named_with_its_size(tmp_path, monkeypatch, where):
    from reseau.datasets import load_file
    from reseau.datasets import readers as tables

    monkeypatch.setattr(tables, "MAX_LINE", 1 << 20)
    monkeypatch.setattr(tables, "BLOCK_BYTES", 1 << 20)
    path = tmp_path / "long.csv"
    long = b"x" * (3 << 20)
    rows = [b"a,b", long + b",1"] if where == "first" else [b"a,b"] + [b"1,2"] * 100_000 + [b"3," + long]
    path.write_bytes(b"\n".join(rows) + b"\n")
    line = 2 if where == "first" else 100_002
    with pytest.raises(ValueError, match=rf"long\.csv, line {line}: 3 MiB in one line; lines longer than 1 MiB"):
        load_file(path, target="b")


def test_a_feather_uint64_beyond_2_53_reads_as_float(tmp_path):
    import pyarrow as pa
    import pyarrow.feather as feather

    from reseau.datasets import load_file

    path = tmp_path / "big.feather"
    big = np.array([2**60 + 1, 2**63 + 7, 5, 2**64 - 1] * 8, dtype=np.uint64)
    feather.write_feather(pa.table({"id": big, "y": [0, 1] * 16}), path)
    data = load_file(path, target="y")
    np.testing.assert_array_equal(np.asarray(data.X)[:, 0], big.astype(np.float64))


@pytest.mark.parametrize(
    "bad,message",
    [
        (lambda p: p[:-3], r"params have shapes \[\(\d+,\)\]; expected \[\(\d+,\)\]"),
        (lambda p: p.reshape(1, -1), r"params have shapes \[\(1, \d+\)\]"),
        (lambda p: np.where(np.arange(p.size) == 2, np.nan, p), "params contain NaN or inf"),
        (lambda p: p.astype(str), "params must be float arrays"),
    ],
    ids=["short", "2-D", "nan", "strings"],
)
def test_a_crafted_pickle_is_refused_on_unpickling_not_at_predict(bad, message):
    X, y = _data()
    model = MLP([None, 4, None], seed=0)
    model.fit(X, y, epochs=1)
    state = model.__getstate__()
    state["params"] = bad(state["params"])
    fresh = MLP.__new__(MLP)
    with pytest.raises(ValueError, match=f"pickled MLP: {message}"):
        fresh.__setstate__(state)
    state = model.__getstate__()
    state["hidden"] = ["no_such_activation"]
    with pytest.raises(ValueError, match="pickled MLP: the description's hidden"):
        MLP.__new__(MLP).__setstate__(state)
    assert np.array_equal(pickle.loads(pickle.dumps(model)).predict(X), model.predict(X))  # the real one loads


def test_a_crafted_estimator_pickle_is_refused_on_unpickling():
    from reseau.sklearn import MLPClassifier

    X, y = _data()
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    for change, message in (
        ({"coefs_": [est.coefs_[0][:2], est.coefs_[1]]}, "do not make a network"),
        ({"coefs_": [est.coefs_[0] * np.nan, est.coefs_[1]]}, "contain NaN or inf"),
        ({"intercepts_": est.intercepts_[:1]}, "do not make a network"),
    ):
        state = est.__getstate__()
        state.update(change)
        with pytest.raises(ValueError, match=f"pickled estimator: .*{message}"):
            type(est).__new__(type(est)).__setstate__(state)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict(X), est.predict(X))


def test_the_header_depth_check_needs_memory_linear_in_the_header():
    import json
    import tracemalloc

    from reseau.core import schema

    for doc in ({"categories": [[f"category {i}" for i in range(200_000)]]}, [[] for _ in range(300_000)]):
        raw = json.dumps(doc).encode()
        tracemalloc.start()
        schema.parse(raw, "the header", 1 << 24)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 30 * len(raw)  # the parsed values themselves, not ~100 bytes a byte on top
    assert schema._max_depth(json.loads('{"a": [[[{"b": []}]]]}')) == 6
    for raw in (b"[" * 33 + b"]" * 33, b"[" * 100_000 + b"]" * 100_000):
        with pytest.raises(ValueError, match="nested more than 32 deep"):
            schema.parse(raw, "the header", 1 << 20)


def test_save_refuses_a_header_the_reader_would_refuse(tmp_path):
    pd = pytest.importorskip("pandas", reason="pandas is not installed (pip install 'reseau[test]')")
    X, y = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "n" * (17 << 20)])
    model = MLP([None, 4, None], seed=0)
    model.fit(frame, y, epochs=1)
    path = tmp_path / "m.rsu"
    path.write_bytes(b"old")
    with pytest.raises(
        ValueError,
        match=r"m\.rsu: the model's description is 3\d\.\d MiB, more than the 16 MiB "
        r".*longest feature name has 17,825,792 characters.*Nothing was written",
    ):
        model.save(path)
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]


def test_sigterm_during_save_leaves_the_old_file_and_no_temporary_one(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "m.rsu"
    path.write_bytes(b"old")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import os, time, numpy as np
from reseau import MLP
slow = os.fsync
def fsync(fd):
    open({str(tmp_path / "writing")!r}, 'w').close()
    time.sleep(30)
os.fsync = fsync
m = MLP([3, 4, 1], seed=0)
m.save({str(path)!r})
""",
        ]
    )
    deadline = time.time() + 60
    while not (tmp_path / "writing").exists() and time.time() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert (tmp_path / "writing").exists(), "the child never reached the write"
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 143
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.rsu", "writing"]


def test_history_stays_bounded_over_many_epochs():
    from reseau.core.history import History

    h = History()
    for e in range(1, 250_001):
        h.append(epoch=e, loss=1.0 / e)
    assert len(h["epoch"]) <= History.MAX_RECORDS and len(h["loss"]) == len(h["epoch"])
    assert h["epoch"][-1] == 250_000 and h["epoch"][0] == 1
    assert h["epoch"][-1000:] == list(range(249_001, 250_001))  # the latest epochs in full
    assert all(a < b for a, b in zip(h["epoch"], h["epoch"][1:]))
    assert h.since(249_990)["epoch"] == list(range(249_991, 250_001))


def test_a_text_cell_holding_nul_is_refused_at_fit_and_predict():
    """NumPy's text arrays drop a trailing NUL ("b\\x00" would become "b") and ONNX runtimes cut a
    string at its first: a cell holding one is refused, naming the column and the row."""
    import pyarrow as pa

    X, y = _data(40)
    good = pa.table({"x": X[:, 0], "side": pa.array(["a", "b"] * 20)})
    bad = pa.table({"x": X[:, 0], "side": pa.array(["a", "b\x00"] * 20)})
    with pytest.raises(ValueError, match=r"X column 'side', row 1: 'b\\x00' holds a NUL character"):
        MLP([None, 4, None], seed=0).fit(bad, y, epochs=1)
    model = MLP([None, 4, None], seed=0)
    model.fit(good, y, epochs=1)
    with pytest.raises(ValueError, match=r"column 'side', row 1: .* holds a NUL character"):
        model.predict(bad)
