"""Every writer, through the API and the CLI, respects what its path points at (core/outputs.py):
a link is written through (the link stays, its file gets the new contents), a device, FIFO, socket
or directory is refused in one line before any work, and is still what it was afterwards."""

import os
import re
import socket
import stat

import numpy as np
import pytest

from reseau import MLP
from reseau.callbacks import CSVLogger
from reseau.cli import main
from reseau.core import outputs

REFUSED = {
    "device": "a character device",
    "fifo": "a FIFO (named pipe)",
    "socket": "a socket",
    "dir_link": "a directory",
    "directory": "a directory",
}
THROUGH = ("file_link", "dangling_link")


def make(kind, path):
    """A node of ``kind`` at ``path``; returns what a check afterwards compares (the node's type,
    or the link's target)."""
    if kind == "device":
        try:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null
        except PermissionError:
            pytest.skip("making a device node needs root (CAP_MKNOD), as in CI")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()
    elif kind == "directory":
        path.mkdir()
    elif kind == "file":
        path.write_text("x")
    elif kind == "dir_link":
        (path.parent / "real_dir").mkdir()
        path.symlink_to("real_dir")
    elif kind == "file_link":
        (path.parent / "real_file").write_bytes(b"old contents")
        path.symlink_to("real_file")
    elif kind == "dangling_link":
        path.symlink_to("not_yet")
    return _kind(path)


def _kind(path):
    mode = os.lstat(path).st_mode
    return (stat.S_IFMT(mode), os.readlink(path) if stat.S_ISLNK(mode) else None)


def _after(kind, path, before):
    """The node is what it was; a link's file holds new contents; no temporary file is left."""
    assert _kind(path) == before, kind
    if kind in THROUGH:
        target = path.parent / os.readlink(path)
        assert stat.S_ISREG(os.stat(target).st_mode) and target.read_bytes() not in (b"", b"old contents")
    assert not [p for p in os.listdir(path.parent) if p.endswith(".tmp")]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A small fitted model, its file and a CSV of its inputs."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2)), rng.integers(0, 2, 40)
    model = MLP([2, 4, 1], seed=0, normalize=None)
    model.fit(X, y, epochs=2, batch_size=8)
    folder = tmp_path_factory.mktemp("fitted")
    model.save(folder / "m.reseau")
    (folder / "x.csv").write_text("a,b\n" + "\n".join(f"{u},{v}" for u, v in X) + "\n")
    return model, X, y, folder


def _api_writers(fitted):
    model, X, y, _ = fitted

    def plot(p):
        pytest.importorskip("matplotlib", reason="matplotlib is not installed (reseau[plot])")
        from reseau.plots import training_report

        training_report(model, p)

    def onnx(p):
        pytest.importorskip("onnx", reason="onnx is not installed (reseau[onnx])")
        model.to_onnx(p)

    def csv_log(p):
        MLP([2, 3, 1], seed=0, normalize=None).fit(X, y, epochs=1, callbacks=[CSVLogger(p)])

    return {"save": model.save, "to_onnx": onnx, "training_report": plot, "CSVLogger": csv_log}


def _cli_writers(fitted):
    folder = fitted[3]
    model_file, csv = str(folder / "m.reseau"), str(folder / "x.csv")
    train = ["train", "--data", "xor", "--layers", "3", "--epochs", "1", "--quiet"]
    return {
        "train --save": lambda p: train + ["--save", p],
        "train --plot": lambda p: train + ["--plot", p],
        "predict --output": lambda p: ["predict", model_file, csv, "--output", p],
        "export": lambda p: ["export", model_file, p],
    }


@pytest.mark.parametrize("kind", [*REFUSED, *THROUGH])
@pytest.mark.parametrize("writer", ["save", "to_onnx", "training_report", "CSVLogger"])
def test_api_writers(writer, kind, fitted, tmp_path):
    write = _api_writers(fitted)[writer]
    path = tmp_path / "out"
    before = make(kind, path)
    if kind in REFUSED:
        with pytest.raises(ValueError, match="out'?: is " + re.escape(REFUSED[kind])):
            write(path)
    else:
        write(path)
    _after(kind, path, before)


@pytest.mark.parametrize("kind", [*REFUSED, *THROUGH])
@pytest.mark.parametrize("writer", ["train --save", "train --plot", "predict --output", "export"])
def test_cli_writers(writer, kind, fitted, tmp_path, capsys):
    if writer == "export":
        pytest.importorskip("onnx", reason="onnx is not installed (reseau[onnx])")
    if writer == "train --plot":
        pytest.importorskip("matplotlib", reason="matplotlib is not installed (reseau[plot])")
    path = tmp_path / "out"
    before = make(kind, path)
    code = main(_cli_writers(fitted)[writer](str(path)))
    out, err = capsys.readouterr()
    if kind in REFUSED:
        assert code == 2, err
        assert err.count("\n") == 1 and str(path) in err and f"is {REFUSED[kind]}" in err
        assert "epoch" not in out  # refused before any work
    else:
        assert code == 0, err
    _after(kind, path, before)


@pytest.mark.parametrize("kind", ["device", "fifo", "socket", "file", "dir_link", "dangling_link"])
def test_checkpoint_directories(kind, fitted, tmp_path, capsys):
    """``fit(checkpoint=)`` and ``--checkpoint``: a folder, or a link to one (made when it dangles);
    anything else refused before the first step."""
    _, X, y, _ = fitted
    path = tmp_path / "ckpt"
    before = make(kind, path)
    model = MLP([2, 3, 1], seed=0, normalize=None)
    if kind in ("dir_link", "dangling_link"):
        model.fit(X, y, epochs=1, checkpoint=path)
        assert main(["train", "--data", "xor", "--epochs", "1", "--quiet", "--checkpoint", str(path)]) == 0
        assert _kind(path) == before and any(p.name.endswith(".ckpt") for p in path.iterdir())
        return
    with pytest.raises(ValueError, match="expected a directory"):
        model.fit(X, y, epochs=1, checkpoint=path)
    assert model.step_count == 0
    assert main(["train", "--data", "xor", "--epochs", "1", "--quiet", "--checkpoint", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--checkpoint" in err and "expected a directory" in err
    assert _kind(path) == before


@pytest.mark.parametrize("kind", ["device", "fifo", "file"])
def test_bench_out_is_refused_before_anything_is_timed(kind, tmp_path, capsys):
    path = tmp_path / "bench"
    before = make(kind, path)
    assert main(["bench", "--sizes", "S", "--no-memory", "--no-accuracy", "--out", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "expected a directory" in err
    assert _kind(path) == before


def test_bench_report_file_that_is_a_fifo_is_refused(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    os.mkfifo(tmp_path / "out" / "table.txt")
    assert main(["bench", "--sizes", "S", "--no-memory", "--no-accuracy", "--out", str(tmp_path / "out")]) == 2
    assert "table.txt: is a FIFO" in capsys.readouterr().err


def test_bench_writes_through_a_link_to_a_folder(tmp_path):
    """The report files land in the folder the link names (no case timed: only the writing is under test)."""
    import reseau.benchmark as bench

    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    bench.run(sizes=(), out=tmp_path / "link", memory=False, accuracy=False)
    assert (tmp_path / "link").is_symlink()
    assert {"report.json", "report.md", "table.txt"} <= set(os.listdir(tmp_path / "real"))


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "m.bin"
    path.write_bytes(b"old")
    path.chmod(0o640)
    outputs.write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_link_loop_and_a_missing_folder_are_named(tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(ValueError, match="a: .*(loop|symbolic links)"):
        outputs.destination(tmp_path / "a")
    with pytest.raises(ValueError, match="the directory .*missing does not exist"):
        outputs.destination(tmp_path / "missing" / "m.reseau", "--save")
