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
