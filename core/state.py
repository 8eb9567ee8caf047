"""The state a training step carries, named: ``StepState(slots, lr, book)``.

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
