"""The CLI checks before it works: a table of bad invocations, each answered by one line on stderr
that names the option (or the file) and the value, exit status 2, no traceback, nothing trained."""

import contextlib
import io
import os

import pytest

from reseau.cli import main

# (command line, what the one line must contain); {tmp} is a fresh folder holding afile, tiny.csv
# and TOML files with a wrong type, a wrong value and an unknown option
BAD = [
    ("train --epochs 0", "--epochs: '0'"),
    ("train --data breast_cancer --task regress --label-smoothing 0.1", "--label-smoothing 0.1 applies to classes"),
    ("train --epochs -1", "--epochs: '-1'"),
    ("train --lr abc", "--lr: 'abc'"),
    ("train --lr -1", "lr=-1"),
    ("train --batch-size 0", "--batch-size: '0'"),
    ("train --layers 4,x", "--layers: '4,x'"),
    ("train --layers 0", "--layers: '0'"),
    ("train --dropout 1.5", "--dropout: '1.5'"),
    ("train --activation foo", "--activation: invalid choice: 'foo'"),
    ("train --optimizer foo", "--optimizer: invalid choice: 'foo'"),
    ("train --schedule foo", "--schedule: 'foo'"),
    ("train --warmup 0", "--warmup: '0'"),
    ("train --momentum 2 --optimizer sgd", "momentum=2"),
    ("train --test-size 1.5", "--test-size: '1.5'"),
    ("train --val-size 0.95 --test-size 0.1", "--val-size 0.95"),
    ("train --checkpoint-every 0", "--checkpoint-every: '0'"),
    ("train --bogus", "--bogus"),
    ("train --data {tmp}/nosuch.csv", "nosuch.csv"),
    ("train --data {tmp}/afile", "afile"),
    ("train --data {tmp}/tiny.csv --target nosuch", "'nosuch'"),
    ("train --data {tmp}/tiny.csv --drop nosuch", "'nosuch'"),
    ("train --data {tmp}/tiny.csv --delimiter xx", "--delimiter: 'xx'"),
    ("train --save {tmp}/missing/m.rsu", "--save"),
    ("train --save {tmp}", "--save"),
    ("train --plot {tmp}/missing/p.png", "--plot"),
    ("train --checkpoint {tmp}/afile", "--checkpoint"),
    ("train --resume", "--resume"),
    ("train --config {tmp}/nosuch.toml", "--config"),
    ("train --config {tmp}/type.toml", "seed = [1]"),
    ("train --config {tmp}/value.toml", "epochs = 'x'"),
    ("train --config {tmp}/unknown.toml", "'nonsense'"),
    ("train --backend cupy", "cupy"),
    ("train --cuda-graph", "cuda_graph"),
    ("train --distributed", "--distributed"),
    ("evaluate {tmp}/nosuch.rsu --data moons", "nosuch.rsu"),
    ("evaluate {tmp}/afile --data moons", "afile"),
    ("evaluate {tmp}/afile", "--data"),
    ("predict {tmp}/nosuch.rsu {tmp}/tiny.csv", "nosuch.rsu"),
    ("predict {tmp}/afile {tmp}/tiny.csv", "afile"),
    ("predict {tmp}/afile {tmp}/tiny.csv -o {tmp}/missing/p.csv", "--output"),
    ("export {tmp}/nosuch.rsu {tmp}/out.onnx", "nosuch.rsu"),
    ("export {tmp}/afile {tmp}/missing/o.onnx", "output"),
    ("info extra", "extra"),
    ("bench --sizes Q", "--sizes"),
    ("nosuchcommand", "nosuchcommand"),
]


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "afile").write_bytes(b"")
    (tmp_path / "tiny.csv").write_text("a,b\n1,2\n")
    (tmp_path / "type.toml").write_text("seed = [1]\n")
    (tmp_path / "value.toml").write_text('epochs = "x"\n')
    (tmp_path / "unknown.toml").write_text("nonsense = 1\n")
    return tmp_path


def _run(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own exit
            code = exc.code
    return code, err.getvalue()


@pytest.mark.parametrize("command,names", BAD, ids=[c for c, _ in BAD])
def test_bad_invocations_get_one_line_and_exit_2(folder, command, names):
    argv = command.format(tmp=folder).split()
    code, err = _run(argv)
    lines = err.strip().splitlines()
    assert code == 2, (command, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("reseau") and "error:" in lines[0], lines[0]
    assert names in lines[0], lines[0]
    assert not (folder / "missing").exists()


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root writes into read-only directories, so there is nothing to refuse",
)
@pytest.mark.parametrize("option", ["--save", "--plot", "--checkpoint"])
def test_read_only_directories_are_refused_before_training(folder, option):
    ro = folder / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    target = ro / ("ck" if option == "--checkpoint" else "out.png")
    code, err = _run(["train", "--epochs", "1", option, str(target)])
    assert code == 2 and "not writable" in err and len(err.strip().splitlines()) == 1


def test_checkpoint_directory_is_checked_before_the_data_are_read(folder):
    """--checkpoint into a folder under a file: refused at once (the data file is never opened)."""
    code, err = _run(["train", "--data", str(folder / "nosuch.csv"), "--checkpoint", str(folder / "afile" / "ck")])
    assert code == 2 and "--checkpoint" in err and "nosuch.csv" not in err
