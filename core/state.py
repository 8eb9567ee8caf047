"""A model's state, declared once, and the state a training step carries, named.

Declared here, derived elsewhere:

- ``TRAINING``: a model's training state, field → its value before the first fit, held by a
  ``Training`` (``model.training``; the model reads each field as a property) and changed only
  by its methods; pickles carry the fields (core/pickling.py), checkpoints save and restore them
  (core/checkpoint.py, through ``CHECKPOINT``).
- ``TRANSIENT``: what a model rebuilds from the rest and never saves or pickles.
- ``CHECKPOINT``: the fields of a checkpoint's "checkpoint" entry, each with its kind; the
  schema (core/schema.py) checks every field by its kind, and the checkpoint writer is tested to
  write exactly these.

``StepState(slots, lr, book)``, what a training step carries:

- ``slots``: the optimiser's buffers by name ("m", "v", "buf", "sum", ...), each shaped like the
  parameters: one flat buffer, or per-layer leaves (see ``is_leaves``);
- ``lr``: the learning rate α as a 0-d array the step reads, so a schedule or a new rate never
  recompiles a step;
- ``book``: the divergence guard's bookkeeping of the epoch (core/guard.py).

A NamedTuple, so JAX takes it as a pytree (jit, donation, sharding) with nothing registered.
The optimisers keep their own plain form, ``{"lr": α, **slots}`` (``optimizer_state``), as optax
and torch.optim do.
"""

from __future__ import annotations

from typing import NamedTuple

from .history import History

#: a model's training state: attribute → its value before the first fit (a class: a new one each time)
TRAINING = {
    "optimizer": None,  # the optimiser the state belongs to (core/optim.py)
    "opt_state": None,  # its StepState
    "schedule": None,  # the learning-rate schedule (core/schedules.py)
    "schedule_start": (0, 0),  # (epoch, step) where the schedule's clock started
    "auto_schedule": False,  # whether the schedule is the default optimiser's own
    "step_count": 0,  # updates made
    "epoch": 0,  # epochs completed
    "fit_epoch0": 0,  # the epoch the current fit started from
    "history": History,  # every epoch's record (core/history.py)
}
#: rebuilt from the rest, never saved or pickled: kernels, compiled steps, forward pass,
#: regularisation (dropout masks, penalties), the fit running now
TRANSIENT = ("kern", "steps", "forward", "regularization", "trainer")
#: a checkpoint's "checkpoint" entry: field → kind (core/schema.py's checks by kind)
CHECKPOINT = {
    "fingerprint": "text",  # the fit's settings and data, which a resumed fit must match
    "step": "count",
    "epoch": "count",
    "fit_epoch0": "count",
    "position": "count or null",  # the next row of the epoch, when saved mid-epoch
    "epoch_first_step": "count or null",
    "rng": "generator state",  # the host generator: the next shuffles
    "schedule_start": "two counts",
    "schedule_state": "object or null",  # a schedule that watches the metrics (ReduceOnPlateau)
    "guard": "numbers",  # the divergence guard's book (core/guard.py KEYS)
    "stopping": "object or null",  # early stopping's counters
    "stopped": "flag",  # the fit had stopped early
    "stopped_epoch": "count or null",
    "best_epoch": "count or null",
}


class PartField:
    """``model.<name>``, read from the model's part ``model.<part>`` (None while that part is
    None): ``model.epoch`` is ``model.training.epoch``. ``settable``: user code may set it on the
    model (it lands on the part: ``model.params = ...``, ``model.classes = ...``); otherwise only
    the part's own methods change it. ``what``: the part in the refusal's words."""

    def __init__(self, part, name, what, settable=False):
        self.part, self.name, self.what, self.settable = part, name, what, settable

    def __get__(self, model, owner=None):
        if model is None:
            return self
        part = getattr(model, self.part)
        return None if part is None else getattr(part, self.name)

    def __set__(self, model, value):
        part = getattr(model, self.part)
        if not self.settable or part is None:
            how = f"it changes through model.{self.part}'s methods" if part is not None else "build it first"
            raise AttributeError(f"{self.name} is part of the model's {self.what}; {how}")
        setattr(part, self.name, value)


class Training:
    """A model's training state, ``TRAINING``'s fields, changed by its own methods only (the model
    reads them as properties: ``model.epoch``, ``model.history``, ...). ``values``: fields given
    (a pickle's); the rest start as before the first fit."""

    def __init__(self, **values):
        for name, value in TRAINING.items():
            setattr(self, name, values[name] if name in values else value() if isinstance(value, type) else value)

    def fields(self) -> dict:
        """Every field by name (what a pickle carries)."""
        return {name: getattr(self, name) for name in TRAINING}

    def use(self, optimizer, opt_state):
        """Train with ``optimizer`` from ``opt_state`` (a fresh state, or the one it continues)."""
        self.optimizer, self.opt_state = optimizer, opt_state

    def restart(self, optimizer, opt_state):
        """``use`` from no training at all: counters at 0, an empty history (scikit-learn's fresh fit)."""
        self.use(optimizer, opt_state)
        self.step_count = self.epoch = 0
        self.history = History()

    def set_state(self, opt_state):
        """The optimiser's state after steps (or a new rate, a restore, a move between devices)."""
        self.opt_state = opt_state

    def start_schedule(self, schedule, auto: bool):
        """A schedule whose clock starts now (this epoch and step)."""
        self.schedule, self.auto_schedule = schedule, auto
        self.schedule_start = (self.epoch, self.step_count)

    def start_fit(self):
        """A fit starts from the epoch reached so far."""
        self.fit_epoch0 = self.epoch

    def resume(self, fit_epoch0: int, schedule_start: tuple):
        """A fit resumed from a checkpoint: where it started and where its schedule's clock did."""
        self.fit_epoch0, self.schedule_start = fit_epoch0, tuple(schedule_start)

    def set_steps(self, step_count: int):
        """Updates made so far (a step done, an epoch's steps, or back to the last good one)."""
        self.step_count = step_count

    def end_epoch(self):
        self.epoch += 1

    def set_counts(self, epoch: int, step_count: int):
        """Epochs and updates as a file, a snapshot or a checkpoint recorded them."""
        self.epoch, self.step_count = epoch, step_count

    def set_history(self, records: dict, replace: bool = False):
        """The history's records from a file (added) or a checkpoint (``replace``: all of it)."""
        if replace:
            self.history.clear()
        self.history.update(records)


class StepState(NamedTuple):
    slots: dict
    lr: object
    book: dict

    @classmethod
    def of(cls, optimizer_state: dict, book: dict) -> StepState:
        """From an optimiser's ``{"lr": α, **slots}`` and a guard book."""
        return cls({k: v for k, v in optimizer_state.items() if k != "lr"}, optimizer_state["lr"], book)

    def optimizer_state(self) -> dict:
        """The optimiser's form: ``{"lr": α, **slots}``."""
        return {"lr": self.lr, **self.slots}

    def with_optimizer(self, optimizer_state: dict) -> StepState:
        """This state with the slots and rate an optimiser update returned."""
        return self._replace(slots={k: v for k, v in optimizer_state.items() if k != "lr"}, lr=optimizer_state["lr"])

    def buffers(self) -> dict:
        """Every array by a flat name ("lr", "slot.m", "book.rows"): what CUDA graphs and
        checkpoints address one by one."""
        return {
            "lr": self.lr,
            **{f"slot.{k}": v for k, v in self.slots.items()},
            **{f"book.{k}": v for k, v in self.book.items()},
        }

    @classmethod
    def from_buffers(cls, flat: dict) -> StepState:
        return cls(
            {k[5:]: v for k, v in flat.items() if k.startswith("slot.")},
            flat["lr"],
            {k[5:]: v for k, v in flat.items() if k.startswith("book.")},
        )


def is_leaves(x) -> bool:
    """Whether parameters (or a gradient, or a slot) are per-layer leaves (a tuple of arrays, see
    Layout.split) rather than one flat buffer: the one place that tells the two forms apart."""
    return isinstance(x, tuple)
