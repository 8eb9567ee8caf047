"""Learning-rate schedules: α_t from the base rate α₀ and the count t of epochs (``per="epoch"``,
the default) or of steps (``per="step"``) done before this one, so t = 0 gives the first value.

The trainer sets the step's learning rate (``StepState.lr``) from the schedule before each epoch or step; the
value in effect is recorded in ``history["lr"]``.
"""

from __future__ import annotations

import math

from .optim import _number


def _per(per):
    if per not in ("epoch", "step"):
        raise ValueError(f"per={per!r} is invalid; expected 'epoch' or 'step'")
    return per


def _count(value, name, low=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}={value!r} is invalid; expected an integer >= {low}")
    return value


class Schedule:
    per = "epoch"

    def __call__(self, base_lr: float, t: int) -> float:
        """α_t for base rate ``base_lr`` after ``t`` epochs or steps."""
        return self.value(base_lr, t)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """α_t = α₀"""

    def __init__(self, per="epoch"):
        self.per = _per(per)

    def value(self, base_lr, t):
        return base_lr


class StepDecay(Schedule):
    """α_t = α₀ · γ^⌊t / step_size⌋ (PyTorch's StepLR)"""

    def __init__(self, step_size, gamma=0.1, per="epoch"):
        self.step_size = _count(step_size, "step_size")
        self.gamma = _number(gamma, "gamma", low=0.0, low_open=True)
        self.per = _per(per)

    def value(self, base_lr, t):
        return base_lr * self.gamma ** (t // self.step_size)


class ExponentialDecay(Schedule):
    """α_t = α₀ · γ^t (PyTorch's ExponentialLR)"""

    def __init__(self, gamma, per="epoch"):
        self.gamma = _number(gamma, "gamma", low=0.0, low_open=True)
        self.per = _per(per)

    def value(self, base_lr, t):
        return base_lr * self.gamma**t


class InverseTimeDecay(Schedule):
    """α_t = α₀ / (1 + k·t)"""

    def __init__(self, k, per="epoch"):
        self.k = _number(k, "k", low=0.0)
        self.per = _per(per)

    def value(self, base_lr, t):
        return base_lr / (1.0 + self.k * t)


class CosineAnnealing(Schedule):
    """α_t = η_min + (α₀ − η_min)(1 + cos(π·t/T_max))/2 for t ≤ T_max, then η_min
    (PyTorch's CosineAnnealingLR, closed form, without restarts)."""

    def __init__(self, T_max, eta_min=0.0, per="epoch"):
        self.T_max = _count(T_max, "T_max")
        self.eta_min = _number(eta_min, "eta_min", low=0.0)
        self.per = _per(per)

    def value(self, base_lr, t):
        t = min(t, self.T_max)
        return self.eta_min + (base_lr - self.eta_min) * (1.0 + math.cos(math.pi * t / self.T_max)) / 2.0


class Warmup(Schedule):
    """Linear warm-up over ``length`` epochs/steps, then ``then`` (constant if None) from its t = 0:
    α_t = α₀·(f + (1 − f)·t/length) for t < length (f = start_factor), then(α₀, t − length)."""

    def __init__(self, length, then=None, start_factor=0.0, per=None):
        self.length = _count(length, "length")
        if then is not None and not isinstance(then, Schedule):
            raise ValueError(f"then={then!r} is invalid; expected a schedule or None")
        self.then = then
        self.start_factor = _number(start_factor, "start_factor", low=0.0, high=1.0)
        self.per = _per(per or (then.per if then is not None else "epoch"))
        if then is not None and then.per != self.per:
            raise ValueError(f"per={per!r} differs from the per={then.per!r} of then={then!r}")

    def value(self, base_lr, t):
        if t < self.length:
            f = self.start_factor
            return base_lr * (f + (1.0 - f) * t / self.length)
        return base_lr if self.then is None else self.then(base_lr, t - self.length)


class ReduceOnPlateau(Schedule):
    """α ← max(α·factor, min_lr) when the monitored metric (default "val_loss", falling back to
    "loss") has not improved by more than ``threshold`` (relative, as PyTorch's default mode) for
    ``patience`` epochs; then ``cooldown`` epochs without reductions. Per epoch only."""

    def __init__(self, factor=0.1, patience=10, threshold=1e-4, cooldown=0, min_lr=0.0, monitor="val_loss", mode="min"):
        self.factor = _number(factor, "factor", low=0.0, high=1.0, low_open=True, high_open=True)
        self.patience = _count(patience, "patience", low=0)
        self.threshold = _number(threshold, "threshold", low=0.0)
        self.cooldown = _count(cooldown, "cooldown", low=0)
        self.min_lr = _number(min_lr, "min_lr", low=0.0)
        if mode not in ("min", "max"):
            raise ValueError(f"mode={mode!r} is invalid; expected 'min' or 'max'")
        self.monitor, self.mode = monitor, mode
        self.per = "epoch"
        self._scale, self._best, self._bad, self._cool = 1.0, None, 0, 0

    def value(self, base_lr, t):
        return max(base_lr * self._scale, self.min_lr)

    def observe(self, record: dict, base_lr: float):
        """Feed one epoch's history record; lowers the rate after ``patience`` epochs without progress."""
        key = self.monitor if self.monitor in record else "loss"
        metric = record[key]
        better = self._best is None or (
            metric < self._best * (1.0 - self.threshold)
            if self.mode == "min"
            else metric > self._best * (1.0 + self.threshold)
        )
        if better:
            self._best, self._bad = metric, 0
        else:
            self._bad += 1
        if self._cool > 0:
            self._cool -= 1
            self._bad = 0
        if self._bad > self.patience:
            self._scale = max(self._scale * self.factor, self.min_lr / base_lr)
            self._cool, self._bad = self.cooldown, 0

    def state(self) -> dict:
        return {"scale": self._scale, "best": self._best, "bad": self._bad, "cool": self._cool}

    def set_state(self, state: dict):
        """Continue from ``state()`` (a resumed fit)."""
        self._scale, self._best, self._bad, self._cool = state["scale"], state["best"], state["bad"], state["cool"]
