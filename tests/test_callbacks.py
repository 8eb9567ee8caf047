"""Callbacks around the training loop: the hooks in order, stopping, the built-in loggers, each
fit's own History, and the running accuracy the steps count."""

import csv
import importlib.util

import numpy as np
import pytest

import reseau
from reseau import MLP, callbacks


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


class Recorder(callbacks.Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, trainer):
        self.calls.append("train_begin")

    def on_epoch_begin(self, trainer, epoch):
        self.calls.append(f"epoch_begin {epoch}")

    def on_epoch_end(self, trainer, record):
        self.calls.append(f"epoch_end {record['epoch']} {'loss' in record}")

    def on_train_end(self, trainer):
        self.calls.append("train_end")


def test_hooks_run_in_order_with_the_record():
    X, y = _data()
    rec = Recorder()
    MLP([4, 5, 1], seed=0).fit(X, y, epochs=2, batch_size=16, callbacks=[rec])
    assert rec.calls == [
        "train_begin",
        "epoch_begin 1",
        "epoch_end 1 True",
        "epoch_begin 2",
        "epoch_end 2 True",
        "train_end",
    ]


def test_a_callback_stops_training_by_the_trainer_flag():
    class StopAfter(callbacks.Callback):
        def on_epoch_end(self, trainer, record):
            if record["epoch"] == 3:
                trainer.stop_training = True

    X, y = _data()
    model = MLP([4, 5, 1], seed=0)
    h = model.fit(X, y, epochs=10, batch_size=16, callbacks=StopAfter())
    assert h["epoch"] == [1, 2, 3] and model.epoch == 3


def test_a_plain_function_stops_training_by_returning_false():
    X, y = _data()
    seen = []
    h = MLP([4, 5, 1], seed=0).fit(
        X, y, epochs=10, batch_size=16, callback=lambda r: seen.append(r["epoch"]) or r["epoch"] < 2
    )
    assert seen == [1, 2] and h["epoch"] == [1, 2]
    with pytest.raises(ValueError, match="callbacks holds"):
        MLP([4, 5, 1]).fit(X, y, epochs=1, callbacks=[print])


def test_each_fit_returns_its_own_history_and_the_model_keeps_all():
    X, y = _data()
    model = MLP([4, 5, 1], seed=0)
    first = model.fit(X, y, epochs=2, batch_size=16)
    second = model.fit(X, y, epochs=3, batch_size=16)
    assert first["epoch"] == [1, 2] and second["epoch"] == [3, 4, 5]
    assert model.history["epoch"] == [1, 2, 3, 4, 5]
    assert model.history["loss"] == first["loss"] + second["loss"]


def test_running_accuracy_is_counted_from_the_batches():
    """Batch GD with one step an epoch: the step's count is the accuracy of the weights before the
    step, i.e. evaluate() of the previous epoch's model."""
    X, y = _data(80)
    model = MLP([4, 6, 1], seed=0, normalize=None, dtype="float64")
    before = model.evaluate(X, y)["accuracy"]
    h = model.fit(X, y, epochs=1, batch_size=None)
    assert h["accuracy"] == [pytest.approx(before)]
    after = model.evaluate(X, y)["accuracy"]
    h = model.fit(X, y, epochs=1, batch_size=None)
    assert h["accuracy"] == [pytest.approx(after)]


@pytest.mark.parametrize("kernels", ["reference", "numpy", "numba"])
def test_every_kernel_counts_alike(kernels):
    if kernels == "numba":
        pytest.importorskip("numba", reason="numba is not installed (pip install 'reseau[cpu]')")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 5))
    counts = {}
    for output, y, k in (("sigmoid", (X[:, 0] > 0).astype(int), 1), ("softmax", rng.integers(0, 3, 90), 3)):
        model = MLP([5, 7, k], output=output, seed=0, kernels=kernels, normalize=None)
        h = model.fit(X, y, epochs=3, batch_size=16, optimizer="adam", lr=0.01)
        ref = MLP([5, 7, k], output=output, seed=0, kernels="reference", normalize=None)
        h_ref = ref.fit(X, y, epochs=3, batch_size=16, optimizer="adam", lr=0.01)
        counts[output] = (h["accuracy"], h_ref["accuracy"])
    for got, want in counts.values():
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_csv_logger_writes_a_row_an_epoch(tmp_path):
    X, y = _data()
    path = tmp_path / "log.csv"
    MLP([4, 5, 1], seed=0).fit(
        X,
        y,
        epochs=3,
        batch_size=16,
        validation_data=(X, y),
        track_gradients=True,
        callbacks=[callbacks.CSVLogger(path)],
    )
    rows = list(csv.DictReader(open(path)))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert {"loss", "accuracy", "val_loss", "lr", "seconds", "grad_norms_1", "grad_norms_2"} <= set(rows[0])
    assert all(float(r["loss"]) > 0 for r in rows)


def test_tensorboard_writes_event_files(tmp_path):
    pytest.importorskip("tensorboardX", reason="tensorboardX is not installed (pip install 'reseau[tensorboard]')")
    import struct

    from tensorboardX.proto import event_pb2

    X, y = _data()
    MLP([4, 5, 1], seed=0).fit(X, y, epochs=2, batch_size=16, callbacks=[callbacks.TensorBoard(tmp_path / "tb")])
    events = list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert len(events) == 1
    data, scalars = events[0].read_bytes(), {}
    while data:  # TFRecord framing: length (u64), its CRC (u32), the Event, its CRC (u32)
        (n,) = struct.unpack("<Q", data[:8])
        event = event_pb2.Event.FromString(data[12 : 12 + n])
        for v in event.summary.value:
            scalars.setdefault(v.tag, []).append((event.step, v.simple_value))
        data = data[12 + n + 4 :]
    assert [s for s, _ in scalars["loss"]] == [1, 2] and {"accuracy", "lr"} <= set(scalars)


def test_verbose_prints_a_line_an_epoch(capsys):
    X, y = _data()
    MLP([4, 5, 1], seed=0).fit(X, y, epochs=2, batch_size=16, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    numba = importlib.util.find_spec("numba") is not None
    assert lines[0] == "training: compiled epochs (numba)" if numba else lines[0].startswith("training: step by step (")
    assert lines[1].startswith("epoch 1/2  loss ") and lines[2].startswith("epoch 2/2  loss ")


def test_callbacks_are_importable_from_the_top():
    assert reseau.callbacks.Callback is callbacks.Callback and "callbacks" in reseau.__all__
