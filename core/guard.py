"""The divergence guard: a step whose loss or gradient is not finite is not applied.

    ok = isfinite(L) ∧ isfinite(g·g)

(g·g = ‖g‖², one BLAS dot over the flat gradient; it overflows, and so flags the step, once the
gradient's norm passes ~1.8e19 in float32 — no step that large is worth taking.)

Mode "stop": from the first bad step on, no update is applied, so the model keeps the weights of
the last good step, and the epoch loop raises TrainingDivergedError naming the epoch and step.
Mode "skip": a bad step is dropped (weights and optimiser state unchanged) and training goes on.
Mode "apply" (not offered by ``fit``): every step is applied, finite or not, as scikit-learn
applies them; its estimators (reseau.sklearn) check the weights after the fit instead.

The bookkeeping rides in the step's state (``StepState.book``, core/state.py), so nothing is read
back to the host per step (on NumPy the values are host numbers anyway):
    "loss_sum"   Σ rows·L over this epoch's applied steps     "rows"     their rows
    "skipped"    steps of this epoch not applied               "first_bad" index of the first bad
    "bad_loss"   the loss of that step                                      step (−1: none)
    "correct"    rows the applied steps' logits classified right (the epoch's running accuracy)
"""

from __future__ import annotations

import math

from .state import StepState


class TrainingDivergedError(FloatingPointError):
    """A step's loss or gradient was NaN or infinite; the model keeps the weights of the last good
    step (see core.guard). ``situation``: what went wrong and where, without the advice (the
    command line words its own)."""

    def __init__(self, situation: str, advice: str = ""):
        super().__init__(f"{situation} {advice}".strip())
        self.situation = situation


#: what to try, in the words of the Python API (the command line has its own: reseau/cli)
ADVICE = (
    "Try a lower learning rate, normalised inputs (e.g. normalize='minmax'), gradient clipping "
    "(clip_norm=...), or on_divergence='skip' to drop bad steps and go on."
)


MODES = ("stop", "skip")
KEYS = ("loss_sum", "rows", "skipped", "first_bad", "bad_loss", "correct")


def check_mode(mode) -> str:
    if mode not in MODES:
        raise ValueError(
            f"on_divergence={mode!r} is not a mode; expected 'stop' (keep the weights of the last "
            "good step and raise) or 'skip' (drop the bad step and go on)"
        )
    return mode


def fresh(backend, dtype) -> dict:
    """Zeroed bookkeeping for a new epoch: host numbers on NumPy, device scalars elsewhere."""
    if backend.host:
        return {"loss_sum": 0.0, "rows": 0, "skipped": 0, "first_bad": -1, "bad_loss": 0.0, "correct": 0.0}
    xp = backend.xp
    return {
        "loss_sum": xp.zeros((), dtype=dtype),
        "rows": xp.zeros((), dtype=xp.int32),
        "skipped": xp.zeros((), dtype=xp.int32),
        "first_bad": xp.full((), -1, dtype=xp.int32),
        "bad_loss": xp.zeros((), dtype=dtype),
        "correct": xp.zeros((), dtype=dtype),
    }


def read(backend, state) -> dict:
    """The bookkeeping of a StepState as host numbers (one read per epoch)."""
    return {
        key: (float if key in ("loss_sum", "bad_loss", "correct") else int)(backend.to_numpy(state.book.get(key, 0)))
        for key in KEYS
    }


def guarded_update(kern, optimizer, params, grads, state, step, loss, check_loss, rows, mode, gs=1.0, correct=0):
    """The optimiser's update of ``params`` if ``check_loss`` and ``grads`` are finite (and, in mode
    "stop", no step of the epoch has failed yet); else ``params`` and the optimiser state unchanged.
    Under MPI ``check_loss`` and ``grads`` are sums over the ranks (``gs`` = 1/ranks), the same on each.
    ``loss`` (this worker's mean batch loss over ``rows`` rows) is added to the epoch's sum when applied,
    and ``correct`` (its rows classified right) to the epoch's count."""
    b = state.book
    if mode == "apply":
        ok = True if isinstance(b["first_bad"], int) else kern.xp.asarray(True)
    else:
        ok = kern.step_ok(check_loss, grads)
    if isinstance(b["first_bad"], int):  # host values (NumPy): a plain branch
        ok, b = bool(ok), dict(b)
        lr, slots = state.lr, state.slots
        if ok and (mode == "skip" or b["first_bad"] < 0):
            params, slots = optimizer.update(kern, params, grads, state.optimizer_state(), step, gs)
            lr = slots.pop("lr")  # the update's own dict becomes the new slots
            b["loss_sum"] += float(loss) * rows
            b["rows"] += rows
            b["correct"] += float(correct)
        elif not ok:
            b["skipped"] += 1
            if b["first_bad"] < 0:  # the loss the guard judged (over all ranks: their mean)
                b["first_bad"], b["bad_loss"] = step, float(check_loss) * gs
        return params, StepState(slots, lr, b)
    xp = kern.xp
    apply = ok if mode == "skip" else ok & (b["first_bad"] < 0)
    params, opt = kern.gated(
        apply,
        lambda: optimizer.update(kern, params, grads, state.optimizer_state(), step, gs),
        params,
        state.optimizer_state(),
    )
    first = (b["first_bad"] < 0) & ~ok
    b = {
        "loss_sum": b["loss_sum"] + xp.where(apply, loss * rows, xp.zeros_like(b["loss_sum"])),
        "rows": b["rows"] + xp.astype(apply, b["rows"].dtype) * rows,
        "skipped": b["skipped"] + xp.astype(~ok, b["skipped"].dtype),
        "first_bad": xp.astype(xp.where(first, step, b["first_bad"]), b["first_bad"].dtype),
        "bad_loss": xp.where(first, xp.astype(check_loss * gs, b["bad_loss"].dtype), b["bad_loss"]),
        "correct": b["correct"] + xp.where(apply, xp.astype(correct, b["correct"].dtype), xp.zeros_like(b["correct"])),
    }
    return params, state.with_optimizer(opt)._replace(book=b)


def situation(epoch: int, step_in_epoch: int, steps_in_epoch: int, step: int, bad_loss: float) -> str:
    """What went wrong and where (``ADVICE`` says what to try)."""
    what = (
        f"the loss became {bad_loss}"
        if not math.isfinite(bad_loss)
        else f"the gradient became non-finite (the loss was {bad_loss:.6g})"
    )
    return (
        f"training diverged: {what} at step {step_in_epoch} of {steps_in_epoch} in epoch {epoch} "
        f"(step {step + 1} overall); the weights of the last good step were kept."
    )
