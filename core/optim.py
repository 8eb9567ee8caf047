"""Optimisers: each a pure ``init(kern, params) -> state`` / ``update(kern, params, grads, state,
step) -> (params, state)`` pair over the flat buffers, so a step is one kernel over the whole model.

Defaults and formulas are PyTorch's (``torch.optim``); the forms other libraries use are explicit
options. ``step`` counts the updates done before this one (t = step + 1). The learning rate lives in
the state as a 0-d array (``state["lr"]``), so a schedule changes it without recompiling a jitted
step. Every optimiser takes ``weight_decay`` (coupled L2 on every parameter: g ← g + wd·θ, as
PyTorch; AdamW decouples it) and ``clip_norm`` (rescale g to global L2 norm ≤ clip_norm first).

Each optimiser's step is one kernel call ``kern.<kernel>(p, g, slots, c)``: ``kernel`` names the
kernel table's method, ``kernel_slots`` the state buffers it takes in its order (None where an
option switches one off), and ``coefficients(lr, t, gs)`` builds the step's named record ``c``
(kernels/coefficients.py: bias corrections and first-step rules folded in here, not in the kernels).
"""

from __future__ import annotations

import math
import numbers

from ..kernels import coefficients
from .state import is_leaves


def check_lr(lr, name: str = "lr") -> float:
    """``lr`` as a positive finite float, or a ValueError naming it."""
    return _number(lr, name, low=0.0, low_open=True, what="not a learning rate; expected a finite number > 0")


def _number(value, name, low=None, high=None, low_open=False, high_open=False, what=None):
    """``value`` as a float within the bounds, else ValueError naming ``name``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        if what is None:
            lo = "" if low is None else f"{'(' if low_open else '['}{low}, "
            hi = "∞)" if high is None else f"{high}{')' if high_open else ']'}"
            what = f"invalid; expected a number in {lo or '(-∞, '}{hi}"
        raise ValueError(f"{name}={value!r} is {what}")
    return float(value)


def _form(form, allowed, name):
    if form not in allowed:
        raise ValueError(
            f"{name}: form={form!r} is not a form of this optimiser; expected one of "
            f"{', '.join(repr(f) for f in allowed)}"
        )
    return form


def _scale(grads, factor):
    return tuple(g * factor for g in grads) if is_leaves(grads) else grads * factor


class Optimizer:
    """The shared parts: the learning rate, coupled weight decay, gradient clipping, state layout."""

    name = "optimizer"
    slots: tuple[str, ...] = ()  # the flat state buffers this optimiser keeps
    kernel = "sgd_step"  # its kernel: ``kern.<kernel>(p, g, slots, c)``
    kernel_slots: tuple[str, ...] = ()  # the buffers that kernel takes, in its order

    def __init__(self, lr, weight_decay=0.0, clip_norm=None):
        self.lr = check_lr(lr)
        self.weight_decay = _number(weight_decay, "weight_decay", low=0.0)
        self.clip_norm = (
            None
            if clip_norm is None
            else _number(clip_norm, "clip_norm", low=0.0, low_open=True, what="invalid; expected None or a number > 0")
        )

    def initial_slot(self, slot: str) -> float:
        return 0.0

    def init(self, kern, params):
        """{"lr": α as a 0-d array, and one flat buffer per slot, like ``params``}."""
        xp = kern.xp
        state = {"lr": xp.asarray(self.lr, dtype=params.dtype)}
        for slot in self.slots:
            state[slot] = xp.full(params.shape, self.initial_slot(slot), dtype=params.dtype)
        return state

    def update(self, kern, params, grads, state, step, gs=1.0):
        """One update; the gradient is ``gs``·grads (the gradient scale: 1/ranks after an allreduce
        that summed them, the name the kernels use too), the scaling done inside the optimiser's pass. Leaves
        (tuples of arrays, see
        Layout.split) are updated one by one with the same formula, in one compiled step."""
        if self.clip_norm is not None:
            if gs != 1.0:
                grads, gs = _scale(grads, gs), 1.0
            grads = kern.clip_by_global_norm(grads, self.clip_norm)
        if not is_leaves(params):
            return self.apply(kern, params, grads, dict(state), step + 1, gs)
        per_leaf = {k for k, v in state.items() if is_leaves(v)}
        new_params, subs = [], []
        for i, (p, g) in enumerate(zip(params, grads)):
            p, sub = self.apply(kern, p, g, {k: v[i] if k in per_leaf else v for k, v in state.items()}, step + 1, gs)
            new_params.append(p)
            subs.append(sub)
        return tuple(new_params), {**state, **{k: tuple(sub[k] for sub in subs) for k in per_leaf}}

    def apply(self, kern, p, g, state, t, gs=1.0):
        """One step of this optimiser's kernel on the flat buffers (or one leaf): its slots in the
        kernel's order (None: switched off) and this step's record; ``state`` takes the new slots."""
        slots = tuple(state[s] if s in self.slots else None for s in self.kernel_slots)
        p, slots = getattr(kern, self.kernel)(p, g, slots, self.coefficients(state["lr"], t, gs))
        state.update((s, v) for s, v in zip(self.kernel_slots, slots) if s in self.slots)
        return p, state

    def coefficients(self, lr, t, gs=1.0) -> dict:
        """The record of step t at rate ``lr`` for this optimiser's kernel (kernels/coefficients.py):
        here plain gradient descent's, the base kernel's; each optimiser builds its own."""
        return coefficients.sgd(lr, self.weight_decay, gs)

    def hyperparameters(self) -> dict:
        layout = ("slots", "kernel", "kernel_slots")  # what the options imply, not options
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and k not in layout}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Gradient descent, with optional momentum (PyTorch's ``SGD``).

    Plain: θ ← θ − α·g.  Momentum μ > 0: b ← g on the first step, then b ← μb + (1−τ)g
    (τ = dampening); θ ← θ − α·b, or θ ← θ − α·(g + μb) with ``nesterov`` (the look-ahead form).
    ``form="sutskever"`` (scikit-learn, Keras): v ← μv − α·g; θ ← θ + v (Nesterov: θ + μv − α·g);
    equal to PyTorch's form while α is constant, different under a schedule.
    """

    name = "sgd"

    def __init__(
        self, lr=0.01, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, clip_norm=None, form="pytorch"
    ):
        super().__init__(lr, weight_decay, clip_norm)
        self.momentum = _number(momentum, "momentum", low=0.0, high=1.0)
        self.dampening = _number(dampening, "dampening", low=0.0, high=1.0)
        self.nesterov = bool(nesterov)
        self.form = _form(form, ("pytorch", "sutskever"), type(self).__name__)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(
                f"nesterov=True needs momentum > 0 and dampening = 0; got "
                f"momentum={momentum!r}, dampening={dampening!r}"
            )
        if self.form == "sutskever" and self.dampening != 0:
            raise ValueError(f"dampening={dampening!r} has no meaning in form='sutskever'; expected 0")
        self.slots = self.kernel_slots = ("buf",) if self.momentum else ()
        momentum = "sutskever_step" if self.form == "sutskever" else "momentum_step"
        self.kernel = momentum if self.momentum else "sgd_step"

    def coefficients(self, lr, t, gs=1.0):
        mu, wd = self.momentum, self.weight_decay
        if not mu:
            return super().coefficients(lr, t, gs)
        if self.form == "sutskever":
            return coefficients.sutskever(lr, mu, self.nesterov, wd, gs)
        return coefficients.momentum(lr, t, mu, self.dampening, self.nesterov, wd, gs)


class Momentum(SGD):
    """The notes' Momentum: ``SGD`` with momentum μ (default 0.9)."""

    name = "momentum"

    def __init__(self, lr=0.01, momentum=0.9, dampening=0.0, weight_decay=0.0, clip_norm=None, form="pytorch"):
        super().__init__(lr, momentum, dampening, False, weight_decay, clip_norm, form)
        _number(momentum, "momentum", low=0.0, low_open=True, high=1.0)


class NAG(SGD):
    """The notes' Nesterov accelerated gradient: ``SGD`` with momentum μ (default 0.9) and nesterov.

    Like every major library, the stored iterate is the look-ahead one (θ + μv in the textbook's
    terms): θ ← θ − α·(g + μb) with b ← μb + g.
    """

    name = "nag"

    def __init__(self, lr=0.01, momentum=0.9, weight_decay=0.0, clip_norm=None, form="pytorch"):
        super().__init__(lr, momentum, 0.0, True, weight_decay, clip_norm, form)


class Adagrad(Optimizer):
    """Adagrad: s ← s + g²;  θ ← θ − α/(1 + (t−1)·lr_decay) · g/(√s + ε).

    Defaults lr=1e-2, lr_decay=0, initial_accumulator_value=0, eps=1e-10 (PyTorch).
    ``form="keras"``: ε inside the root, g/√(s + ε) (Keras, optax; they also start s at 0.1:
    pass ``initial_accumulator_value=0.1``).
    """

    name = "adagrad"
    slots = kernel_slots = ("sum",)
    kernel = "adagrad_step"

    def __init__(
        self,
        lr=1e-2,
        lr_decay=0.0,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        eps=1e-10,
        clip_norm=None,
        form="pytorch",
    ):
        super().__init__(lr, weight_decay, clip_norm)
        self.lr_decay = _number(lr_decay, "lr_decay", low=0.0)
        self.initial_accumulator_value = _number(initial_accumulator_value, "initial_accumulator_value", low=0.0)
        self.eps = _number(eps, "eps", low=0.0)
        self.form = _form(form, ("pytorch", "keras"), "Adagrad")
        if self.form == "keras" and self.eps == 0 and self.initial_accumulator_value == 0:
            raise ValueError(
                "form='keras' with eps=0 and initial_accumulator_value=0 divides by zero; "
                "expected eps > 0 or initial_accumulator_value > 0"
            )

    def initial_slot(self, slot):
        return self.initial_accumulator_value

    def coefficients(self, lr, t, gs=1.0):
        return coefficients.adagrad(lr, t, self.lr_decay, self.eps, self.weight_decay, self.form == "keras", gs)


class Adadelta(Optimizer):
    """AdaDelta: E_g ← ρE_g + (1−ρ)g²;  Δ = √(E_Δ + ε)/√(E_g + ε)·g;  E_Δ ← ρE_Δ + (1−ρ)Δ²;
    θ ← θ − α·Δ. Defaults lr=1.0, rho=0.9, eps=1e-6 (PyTorch; ε inside both roots)."""

    name = "adadelta"
    slots = kernel_slots = ("square_avg", "acc_delta")
    kernel = "adadelta_step"

    def __init__(self, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, clip_norm=None):
        super().__init__(lr, weight_decay, clip_norm)
        self.rho = _number(rho, "rho", low=0.0, high=1.0)
        self.eps = _number(eps, "eps", low=0.0, low_open=True, what="invalid; expected a number > 0")

    def coefficients(self, lr, t, gs=1.0):
        return coefficients.adadelta(lr, self.rho, self.eps, self.weight_decay, gs)


class Adam(Optimizer):
    """Adam: m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − α/(1−β₁ᵗ) · m/(√v/√(1−β₂ᵗ) + ε).

    Defaults lr=1e-3, betas=(0.9, 0.999), eps=1e-8 (PyTorch: ε added after the bias-corrected
    root). ``amsgrad``: the root uses v̂ = max over time of v. ``form="keras"`` (scikit-learn,
    Keras, Thinc): θ ← θ − α·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε), ε on the uncorrected root; the two
    differ when gradients are tiny.
    """

    name = "adam"
    decoupled = False
    kernel, kernel_slots = "adam_step", ("m", "v", "v_max")  # v_max: AMSGrad's

    def __init__(
        self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, clip_norm=None, form="pytorch"
    ):
        super().__init__(lr, weight_decay, clip_norm)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas={betas!r} is invalid; expected a pair (β₁, β₂) in [0, 1)") from None
        self.betas = (
            _number(b1, "betas[0]", low=0.0, high=1.0, high_open=True),
            _number(b2, "betas[1]", low=0.0, high=1.0, high_open=True),
        )
        self.eps = _number(eps, "eps", low=0.0)
        self.amsgrad = bool(amsgrad)
        self.form = _form(form, ("pytorch", "keras"), type(self).__name__)
        self.slots = ("m", "v", "v_max") if self.amsgrad else ("m", "v")

    def coefficients(self, lr, t, gs=1.0):
        (b1, b2), keras = self.betas, self.form == "keras"
        return coefficients.adam(lr, t, b1, b2, self.eps, self.weight_decay, self.decoupled, keras, gs)


class AdamW(Adam):
    """AdamW: θ ← θ(1 − α·wd), then the Adam step without L2 in g (decoupled weight decay).
    Defaults as Adam, weight_decay=1e-2 (PyTorch)."""

    name = "adamw"
    decoupled = True

    def __init__(
        self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, clip_norm=None, form="pytorch"
    ):
        super().__init__(lr, betas, eps, weight_decay, amsgrad, clip_norm, form)


class RMSprop(Optimizer):
    """RMSprop: v ← αv + (1−α)g²;  θ ← θ − lr·g/(√v + ε). Defaults lr=1e-2, alpha=0.99, eps=1e-8.

    ``centered``: ḡ ← αḡ + (1−α)g and √(v − ḡ²) in the root. ``momentum`` μ > 0:
    b ← μb + g/(root + ε), θ ← θ − lr·b (PyTorch's form).
    """

    name = "rmsprop"
    kernel, kernel_slots = "rmsprop_step", ("v", "g_avg", "buf")  # g_avg: centred; buf: with momentum

    def __init__(self, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, clip_norm=None):
        super().__init__(lr, weight_decay, clip_norm)
        self.alpha = _number(alpha, "alpha", low=0.0, high=1.0)
        self.eps = _number(eps, "eps", low=0.0)
        self.momentum = _number(momentum, "momentum", low=0.0, high=1.0)
        self.centered = bool(centered)
        self.slots = ("v",) + (("g_avg",) if self.centered else ()) + (("buf",) if self.momentum else ())

    def coefficients(self, lr, t, gs=1.0):
        return coefficients.rmsprop(lr, self.alpha, self.eps, self.weight_decay, self.momentum, self.centered, gs)


OPTIMIZERS = {cls.name: cls for cls in (SGD, Momentum, NAG, Adagrad, Adadelta, Adam, AdamW, RMSprop)}


def get(optimizer, lr=None):
    """An optimiser from a name (with learning rate ``lr`` if given, else its default) or an object."""
    if isinstance(optimizer, str):
        key = optimizer.lower()
        if key not in OPTIMIZERS:
            raise ValueError(
                f"optimizer={optimizer!r} is not an optimiser; expected one of "
                f"{', '.join(OPTIMIZERS)} or an object from reseau.optim"
            )
        return OPTIMIZERS[key](**({} if lr is None else {"lr": lr}))
    if not isinstance(optimizer, Optimizer):
        raise ValueError(
            f"optimizer={optimizer!r} is not an optimiser; expected a name "
            f"({', '.join(OPTIMIZERS)}) or an object from reseau.optim"
        )
    if lr is not None:
        raise ValueError(
            f"lr={lr!r} was given together with optimizer={optimizer!r}; "
            "set the learning rate on the optimiser object instead"
        )
    return optimizer
