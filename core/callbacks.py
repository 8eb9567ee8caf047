"""Callbacks: the optional work around the training loop, in Keras's shape.

A callback overrides any of ``on_train_begin(trainer)``, ``on_epoch_begin(trainer, epoch)``,
``on_epoch_end(trainer, record)`` and ``on_train_end(trainer)``; ``on_step_end(trainer, sync)``
runs after each step only for the callbacks that define it (``sync()`` gives the model the
step's current weights; ``trainer.position`` says where in the epoch the step left off), so an
unused per-step hook costs nothing; returning False ends the epoch there. ``record`` is the epoch's
history record (a dict: epoch, loss, accuracy, val_*, lr, seconds, ...); a callback may add keys
before the Recorder callback stores it in the History. A callback stops training by setting
``trainer.stop_training = True``; a plain function passed as ``fit(callback=f)`` is called with
the record and stops training by returning False.

Built in: ``Recorder`` (always first among the user's; it fills ``core/history.py``'s History, the one
History), ``EarlyStopping``, ``Checkpoints`` (core/checkpoint.py), ``GradientNorms``,
``CSVLogger``, ``TensorBoard`` (tensorboardX, extra ``reseau[tensorboard]``) and
``LambdaCallback``.
"""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

from . import outputs


def is_false(value) -> bool:
    """Whether a hook's return value asks to stop: False, or NumPy's False (np.False_); None and
    other values do not."""
    return (isinstance(value, bool) or type(value).__name__ in ("bool_", "bool")) and not value


class Callback:
    """Does nothing at every hook; subclasses override the ones they need."""

    def on_train_begin(self, trainer):
        pass

    def on_epoch_begin(self, trainer, epoch):
        pass

    def on_epoch_end(self, trainer, record):
        pass

    def on_train_end(self, trainer):
        pass

    def at_once(self, trainer) -> bool:
        """Whether this callback's epoch hooks may run after several epochs ran in one compiled call
        (core/trainer.py), its ``on_epoch_end`` reading the record and nothing of the model's
        weights at that epoch: False unless a callback says so."""
        return False


class LambdaCallback(Callback):
    """``f(record)`` after every epoch; returning False stops training."""

    def __init__(self, f):
        if not callable(f):
            raise ValueError(
                f"callback={f!r} is not callable; expected a function of the epoch's record "
                "or a reseau.callbacks.Callback"
            )
        self.f = f

    def on_epoch_end(self, trainer, record):
        if is_false(self.f(record)):
            trainer.stop_training = True


class Recorder(Callback):
    """Stores each record, its "seconds" taken now, in the fit's History and in the model's
    cumulative ``model.history`` (``core/history.py``: the records themselves)."""

    def at_once(self, trainer) -> bool:
        return True

    def on_epoch_end(self, trainer, record):
        record["seconds"] = time.perf_counter() - trainer.epoch_started
        trainer.history.append(**record)
        if trainer.model.history is not trainer.history:
            trainer.model.history.append(**record)


class ScheduleWatch(Callback):
    """Shows each record to a schedule that watches the metrics (ReduceOnPlateau), right after
    the Recorder stored it and before any callback saves a checkpoint."""

    def at_once(self, trainer) -> bool:
        return not hasattr(trainer.model.schedule, "observe")  # a watching schedule sets each epoch's rate

    def on_epoch_end(self, trainer, record):
        schedule = trainer.model.schedule
        if hasattr(schedule, "observe"):
            schedule.observe(record, trainer.model.optimizer.lr)


class GradientNorms(Callback):
    """‖dW⁽ˡ⁾‖₂ per layer of the mean loss on the whole training set, at the end of each epoch, as
    ``record["grad_norms"]`` (the vanishing gradient, made visible)."""

    def on_epoch_end(self, trainer, record):
        norms = trainer.model.grad_norms(trainer.X, trainer.Y)
        record["grad_norms"] = [float(v) for v in norms]


class EarlyStopping(Callback):
    """Stop once the monitored value (val_loss, else loss) has not fallen by more than
    ``min_delta`` for ``patience`` epochs; keep a copy of the best weights and restore them at
    the end (``restore_best``). Sets ``history.best_epoch`` and ``history.stopped_epoch``."""

    def __init__(self, patience, min_delta=0.0, restore_best=True):
        self.patience, self.min_delta, self.restore_best = patience, min_delta, restore_best
        self.best, self.best_epoch, self.best_params, self.wait = math.inf, None, None, 0
        self.stopped = False

    def update(self, model, value) -> bool:
        """Record this epoch's value; True when training should stop."""
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, model.epoch, 0
            if self.restore_best:
                self.best_params = model.backend.copy(model.params)
            return False
        self.wait += 1
        return self.wait >= self.patience

    def on_epoch_end(self, trainer, record):
        if self.update(trainer.model, record.get("val_loss", record["loss"])):
            self.stopped = trainer.stop_training = True
            for h in trainer.histories():
                h.stopping(h.best_epoch, trainer.model.epoch)

    def on_train_end(self, trainer):
        if trainer.failed:  # an error or an interrupt: the model keeps its last step
            return
        for h in trainer.histories():
            h.stopping(self.best_epoch, h.stopped_epoch)
        if self.restore_best and self.best_params is not None:
            trainer.model.network.set_params(self.best_params)

    def state(self) -> dict:
        return {
            "best": self.best if math.isfinite(self.best) else None,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
        }

    def set_state(self, state, best_params=None):
        self.best = math.inf if state["best"] is None else state["best"]
        self.best_epoch, self.wait = state["best_epoch"], state["wait"]
        if best_params is not None:
            self.best_params = best_params


class Verbose(Callback):
    """One printed line per epoch (``fit(verbose=True)``): epoch i/epochs of this fit and each metric."""

    def __init__(self, epochs):
        self.epochs = epochs

    def on_train_begin(self, trainer):
        print(path_line(trainer), flush=True)

    def on_epoch_end(self, trainer, record):
        print(format_record(record, trainer.model.epoch - trainer.epoch0, self.epochs), flush=True)

    def on_train_end(self, trainer):
        if trainer.history.stopped_epoch is not None and not trainer.failed:
            print(
                f"early stop after epoch {trainer.history.stopped_epoch}: best epoch {trainer.history.best_epoch}",
                flush=True,
            )


def path_line(trainer) -> str:
    """How this fit runs its steps (core/compiled_epoch.py), for a header."""
    path = getattr(getattr(trainer.model, "steps", None), "path", None)
    return f"training: {path or 'step by step'}"


def format_record(record: dict, i: int, epochs: int) -> str:
    """One progress line: epoch i/epochs of this fit, then each metric."""
    width = len(str(epochs))
    parts = [f"epoch {i:>{width}}/{epochs}"]
    for key, value in record.items():
        if key not in ("epoch", "lr", "seconds", "grad_norms"):
            parts.append(f"{key} {value:.4f}")
    return "  ".join(parts)


class ProgressBar(Callback):
    """Per-epoch progress: a tqdm bar sized to the terminal (60 columns and up) with a compact
    postfix, where tqdm is installed and the output is a terminal; else one line an epoch; nothing
    with ``quiet``. ``width`` and ``file`` fix the bar's width and stream (tests, logs)."""

    SHORT = {
        "loss": "loss",
        "accuracy": "acc",
        "val_loss": "vloss",
        "val_accuracy": "vacc",
        "rmse": "rmse",
        "val_rmse": "vrmse",
        "val_r2": "vr2",
        "skipped_steps": "skip",
    }
    #: never shown: bookkeeping, and the squared errors a regression shows as RMSE and R² instead
    HIDDEN = ("epoch", "lr", "seconds", "grad_norms", "mse", "val_mse")
    MIN_WIDTH = 40  # a terminal narrower than this (or reporting 0 × 0) gets lines, not a bar

    def __init__(self, epochs, quiet=False, file=None, width=None):
        import shutil
        import sys

        self.epochs, self.quiet, self.bar, self.i, self.seconds = epochs, quiet, None, 0, []
        self.file = file if file is not None else sys.stderr
        self.width = width or shutil.get_terminal_size((80, 24)).columns
        wide = self.width >= self.MIN_WIDTH
        if not quiet and wide and (file is not None or sys.stdout.isatty()):
            try:
                from tqdm import tqdm

                self.bar = tqdm(
                    total=epochs, unit="ep", file=self.file, ncols=self.width, leave=True, bar_format=self._format("")
                )
            except ImportError:
                pass

    def _format(self, postfix):
        """``n/total |bar| elapsed<remaining postfix``, the bar taking what the width leaves (≥ 10)."""
        n = len(str(self.epochs))
        fixed = 2 * n + 1 + 4 + len(" 00:00<00:00 ")
        room = self.width - fixed - 1
        kept = []
        for token in postfix.split():  # whole metrics, as many as leave the bar 10 columns
            if len(" ".join(kept + [token])) > room - 10:
                break
            kept.append(token)
        postfix = " ".join(kept)
        bar = max(10, room - len(postfix))
        return f"{{n_fmt:>{n}}}/{{total_fmt}} |{{bar:{bar}}}| {{elapsed}}<{{remaining}} {postfix}"

    def shown(self, record) -> dict:
        """The metrics a person reads: loss and accuracy for classes; for a quantity the training
        loss, then the validation RMSE and R² in the target's own units (its loss and MSE are in
        squared units, and stay in the history)."""
        hidden = self.HIDDEN + (("val_loss",) if "val_r2" in record else ())
        return {k: v for k, v in record.items() if k not in hidden and isinstance(v, (int, float))}

    def postfix(self, record) -> str:
        return " ".join(f"{self.SHORT.get(k, k)}={_figure(v)}" for k, v in self.shown(record).items())

    def timing(self, record) -> str:
        """ "0.12 s/epoch, eta 11 s": the mean seconds of this run's epochs and what the rest take."""
        if "seconds" not in record:
            return ""
        self.seconds.append(record["seconds"])
        mean = sum(self.seconds) / len(self.seconds)
        left = max(self.epochs - self.i, 0) * mean
        each = f"{mean * 1e3:.1f} ms/epoch" if mean < 1 else f"{mean:.2f} s/epoch"
        return f"  {each}, eta {left:.0f} s" if left >= 1 else f"  {each}"

    def update(self, record):
        """Show the epoch ``record`` ends (its own number: a resumed run starts where it stopped)."""
        advance, self.i = record.get("epoch", self.i + 1) - self.i, record.get("epoch", self.i + 1)
        if self.bar is not None:
            self.bar.bar_format = self._format(self.postfix(record))
            self.bar.update(advance)
        elif not self.quiet:
            width = len(str(self.epochs))
            metrics = "  ".join(f"{k} {_figure(v)}" for k, v in self.shown(record).items())
            print(f"epoch {self.i:>{width}}/{self.epochs}  {metrics}{self.timing(record)}", flush=True)

    def on_train_begin(self, trainer):
        if not self.quiet:
            print(path_line(trainer), flush=True)

    def on_epoch_end(self, trainer, record):
        self.update(record)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_train_end(self, trainer):
        self.close()


def _figure(v) -> str:
    """A metric as a column of figures reads: 4 decimals, or 4 significant digits when large."""
    return f"{v:.4f}" if abs(v) < 1000 else f"{v:.4g}"


class EpochSnapshot(Callback):
    """The weights and counters at the end of the last completed epoch, on the host (what an
    interrupted command line run saves)."""

    def __init__(self):
        self.weights = self.epoch = self.step_count = None

    def on_epoch_end(self, trainer, record):
        model = trainer.model
        self.weights, self.epoch, self.step_count = model.get_weights(), model.epoch, model.step_count

    def restore(self, model) -> bool:
        """Put the snapshot back into ``model``; False when no epoch had completed."""
        if self.weights is None:
            return False
        model.set_weights(self.weights)
        model.training.set_counts(self.epoch, self.step_count)
        return True


class CSVLogger(Callback):
    """One CSV row per epoch (the record's numbers; lists such as grad_norms as one column per
    layer), flushed as it goes, so a running fit can be watched with ``tail -f``."""

    def __init__(self, path, append=False):
        outputs.destination(path, "CSVLogger path")  # a directory, device, FIFO or socket: refused now
        self.path, self.append = Path(path), append
        self._file = self._writer = self._keys = None

    def on_train_begin(self, trainer):
        target = outputs.destination(self.path, "CSVLogger path")  # through a link, to its file
        exists = self.append and target.exists() and target.stat().st_size > 0
        try:
            self._file = open(target, "a" if self.append else "w", newline="")
        except OSError as exc:
            raise ValueError(f"CSVLogger: cannot write {self.path} ({exc.strerror or exc})") from None
        self._writer = csv.writer(self._file)
        self._keys = None if not exists else "appending"

    def on_epoch_end(self, trainer, record):
        flat = _flatten(record)
        if self._keys is None or self._keys == "appending":
            if self._keys is None:
                self._writer.writerow(list(flat))
            self._keys = list(flat)
        self._writer.writerow([flat.get(k, "") for k in self._keys])
        self._file.flush()

    def on_train_end(self, trainer):
        if self._file is not None:
            self._file.close()
            self._file = None


class TensorBoard(Callback):
    """Scalars per epoch (loss, accuracy, ``val_*``, lr, and each layer's ‖dW‖ with gradient tracking)
    as TensorBoard event files in ``log_dir``, written by tensorboardX."""

    def __init__(self, log_dir):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ValueError('TensorBoard needs tensorboardX: pip install "reseau[tensorboard]"') from None
        self.log_dir, self._Writer, self._writer = str(log_dir), SummaryWriter, None

    def on_train_begin(self, trainer):
        self._writer = self._Writer(self.log_dir)

    def on_epoch_end(self, trainer, record):
        for key, value in _flatten(record).items():
            if key != "epoch":
                self._writer.add_scalar(key.replace("grad_norms_", "grad_norm/layer_"), value, record["epoch"])
        self._writer.flush()

    def on_train_end(self, trainer):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _flatten(record: dict) -> dict:
    flat = {}
    for key, value in record.items():
        if isinstance(value, (list, tuple)):
            flat.update({f"{key}_{l}": v for l, v in enumerate(value, start=1)})
        else:
            flat[key] = value
    return flat


def as_list(callbacks, callback=None) -> list:
    """The user's callbacks: a Callback, a list of them, and/or a plain function."""
    out = [] if callbacks is None else [callbacks] if isinstance(callbacks, Callback) else list(callbacks)
    for c in out:
        if not isinstance(c, Callback):
            raise ValueError(
                f"callbacks holds {c!r}; expected reseau.callbacks.Callback objects (a plain function "
                "goes in callback=)"
            )
    if callback is not None:
        out.append(callback if isinstance(callback, Callback) else LambdaCallback(callback))
    return out
