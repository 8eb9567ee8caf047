"""Checkpoints: all a fit needs to go on exactly where it stopped, written so a crash never
leaves a broken one behind.

A checkpoint is a model file (core/serialize.py; ``reseau.load`` reads it as a model) with more
in it: beside the weights W1, b1, … (the flat parameters, layer by layer), tensors "state.<key>"
(every optimiser buffer and the learning rate), "order"
(the epoch's permutation, when saved mid-epoch) and "best_params" (early stopping); the JSON
description adds a "checkpoint" entry: step and epoch counters, the position in the epoch, the
host generator's state (the next shuffles), the schedule's start and state, the early-stopping
counters, the divergence guard's bookkeeping and a fingerprint of the fit's settings and data.

Files are ``step-<step>.ckpt`` in the checkpoint directory, written atomically (temporary file,
fsync, rename, fsync of the directory); the newest ``keep`` stay. ``latest`` takes the newest
file that reads back whole (its checksum verifies), skipping any that does not.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from ..backends.host import np
from . import guard, outputs, schema, serialize
from .callbacks import Callback
from .state import StepState

PATTERN = re.compile(r"^step-(\d+)\.ckpt$")


def directory(path, name="checkpoint", create=True) -> Path:
    """``path`` as a directory (created if missing), or a ValueError naming the argument; one to
    write checkpoints into (core/outputs.py), except ``resume``'s, which is only read."""
    return outputs.directory(path, name, create, writable=name != "resume")


class CheckpointCallback(Callback):
    """Checkpoints as a callback: mid-epoch every ``every`` steps (the per-step hook), and at the
    end of an epoch when due, when training stops, and at the last epoch."""

    def __init__(self, saver, stopping=None):
        self.saver, self.stopping = saver, stopping

    #: its per-step work may wait for the epoch's end (``fit(compile_epoch=True)``: checkpoints at
    #: the ends of the epochs that crossed a multiple of ``every``)
    deferrable = True

    @property
    def steps_needed(self) -> bool:
        """Whether the per-step hook has work: only with ``every`` (the trainer's compiled epochs
        run where no callback needs each step)."""
        return self.saver.every is not None

    def on_step_end(self, trainer, sync):
        if not self.saver.due(trainer.model.step_count):
            return None
        if not sync():
            return False  # the guard refused a step: never checkpoint past it
        self.saver.save(trainer, stopping=self.stopping, **trainer.position)
        return None

    def on_epoch_end(self, trainer, record):
        model, stop = trainer.model, trainer.stop_training
        if stop or model.epoch - trainer.epoch0 >= trainer.epochs or self.saver.epoch_end_due(model.step_count):
            self.saver.save(trainer, stopping=self.stopping, stopped=stop)


class Checkpoints:
    """Writes a fit's checkpoints into ``path``: every ``every`` steps (None: at the end of each
    epoch), keeping the newest ``keep``. ``fingerprint`` names the fit's settings and data; a
    resumed fit must match it."""

    def __init__(self, path, every=None, keep=3, fingerprint="", writer=True, start=0):
        self.path, self.every, self.keep = Path(path), every, keep
        self.fingerprint, self.writer = fingerprint, writer
        self.last = start  # the step count of the last checkpoint (or of the fit's start)

    def due(self, step: int) -> bool:
        """Whether a checkpoint is due mid-epoch after ``step`` steps: at each multiple of ``every``."""
        return self.every is not None and step % self.every == 0 and step != self.last

    def epoch_end_due(self, step: int) -> bool:
        """At an epoch's end: always without ``every``; else when the epoch crossed a multiple of it."""
        return step != self.last and (self.every is None or step // self.every > self.last // self.every)

    def save(self, trainer, order=None, position=None, epoch_first_step=None, stopping=None, stopped=False):
        """Write the trainer's model and its training state now (``order``/``position``: mid-epoch)."""
        model = trainer.model
        self.last = model.step_count
        if not self.writer:  # data-parallel ranks other than 0 hold the same state
            return
        self._prune()  # what a run killed between its write and its prune left: at most keep + 1 files, ever
        backend = model.backend
        tensors, description = model.file_contents()
        state = model.opt_state
        book = {k: v if isinstance(v, (int, float)) else backend.to_numpy(v).item() for k, v in state.book.items()}
        for key, value in state.optimizer_state().items():  # state.lr, state.m, ... (the file's names)
            tensors[f"state.{key}"] = np.asarray(backend.to_numpy(value))
        if order is not None:
            tensors["order"] = np.asarray(backend.to_numpy(order)).astype(np.int64)
        best = None
        if stopping is not None:
            best = stopping.state()
            if stopping.best_params is not None:
                tensors["best_params"] = backend.to_numpy(stopping.best_params)
        schedule = model.schedule
        description["checkpoint"] = {
            "fingerprint": self.fingerprint,
            "step": model.step_count,
            "epoch": model.epoch,
            "fit_epoch0": trainer.epoch0,
            "position": position,
            "epoch_first_step": epoch_first_step,
            "rng": model.rng.bit_generator.state,
            "schedule_start": list(trainer.schedule_start),
            "schedule_state": schedule.state() if hasattr(schedule, "state") else None,
            "guard": book,
            "stopping": best,
            "stopped": bool(stopped),
            "stopped_epoch": model.history.stopped_epoch,
            "best_epoch": model.history.best_epoch,
        }
        serialize.write(self.path / f"step-{model.step_count:012d}.ckpt", tensors, description)
        self._prune()

    def _prune(self):
        files = sorted(_numbered(self.path))
        for _, old in files[: -self.keep]:
            old.unlink(missing_ok=True)
        for stale in self.path.glob(".step-*.tmp"):  # left by a writer killed mid-write
            stale.unlink(missing_ok=True)


def _numbered(path: Path):
    for f in path.iterdir():
        match = PATTERN.match(f.name)
        if match:
            yield int(match.group(1)), f


def flat_params(tensors, n_layers):
    """The flat parameter buffer from a checkpoint's W1, b1, W2, … (the layout's order, exactly)."""
    return np.concatenate([tensors[f"{kind}{l}"].reshape(-1) for l in range(1, n_layers + 1) for kind in "Wb"])


def latest(path):
    """(file, tensors, description) of the newest checkpoint in ``path`` that reads back whole, or
    None when it holds none."""
    path = directory(path, "resume", create=False)
    if not path.is_dir():
        return None
    for _, f in sorted(_numbered(path), reverse=True):
        try:
            tensors, description = serialize.read(f, lambda d, specs: schema.check(d, specs, f, checkpoint=True))
        except ValueError as exc:
            warnings.warn(f"skipping checkpoint {f}: {exc}", RuntimeWarning, stacklevel=3)
            continue
        if "checkpoint" in description:
            return f, tensors, description
    return None


def load(path, fingerprint: str):
    """The newest checkpoint in directory ``path`` as (file, tensors, description), checked
    against this fit's ``fingerprint``; a ValueError when there is none or it belongs to another fit."""
    found = latest(path)
    if found is None:
        raise ValueError(
            f"resume={str(path)!r} holds no checkpoint (files step-<n>.ckpt); expected the "
            "directory a fit wrote with checkpoint=..."
        )
    f, tensors, description = found
    entry = description["checkpoint"]
    if entry.get("fingerprint") != fingerprint:
        raise ValueError(
            f"resume: {f} was written by a different fit (model, optimiser, schedule, batch size or "
            f"data differ): it has {entry.get('fingerprint')!r}, this fit is {fingerprint!r}"
        )
    return f, tensors, description


def restore(model, tensors, description, stopping):
    """Put the training state of a checkpoint back into ``model`` (and ``stopping``); returns (the
    progress of the epoch it was saved in, None at an epoch's end; (the fit's first epoch, where its
    schedule started)) for the trainer."""
    entry = description["checkpoint"]
    backend = model.backend
    model.network.set_params(backend.asarray(flat_params(tensors, len(model.layout.shapes)), dtype=model.dtype))
    optimizer_state = {
        key[len("state.") :]: backend.asarray(value) for key, value in tensors.items() if key.startswith("state.")
    }
    book, fresh = entry["guard"], guard.fresh(backend, model.dtype)
    if book:
        fresh = {
            k: book.get(k, fresh[k]) if backend.host else backend.asarray(book.get(k, 0), dtype=fresh[k].dtype)
            for k in guard.KEYS
        }
    model.training.set_state(StepState.of(optimizer_state, fresh))
    model.training.set_counts(entry["epoch"], entry["step"])
    model.restore_generator(entry["rng"])
    if entry["schedule_state"] is not None:
        model.schedule.set_state(entry["schedule_state"])
    if stopping is not None and entry["stopping"] is not None:
        best = tensors.get("best_params")
        stopping.set_state(entry["stopping"], None if best is None else backend.asarray(best, dtype=model.dtype))
    model.training.set_history(description.get("history", {}), replace=True)
    model.history.stopping(entry["best_epoch"], entry["stopped_epoch"])
    fit_state = (entry["fit_epoch0"], tuple(entry["schedule_start"]))
    if entry["position"] is None:
        return None, fit_state
    order = tensors.get("order")
    return (
        {
            "order": None if order is None else order.astype(np.int32),
            "position": entry["position"],
            "epoch_first_step": entry["epoch_first_step"],
        },
        fit_state,
    )
