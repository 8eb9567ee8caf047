"""Every optimiser and option against a per-array restatement of its formula (REFERENCES.md),
50 steps on a quadratic and on a small network, float64; numpy and jax trajectories agree;
PyTorch's own optimisers where torch is installed; invalid hyperparameters are refused."""

import math

import numpy as np
import pytest
from conftest import to_np

from reseau import MLP, kernels, optim
from reseau.core.network import loss_and_grads

CONFIGS = {
    "sgd": (optim.SGD, {"lr": 0.1}),
    "sgd_wd": (optim.SGD, {"lr": 0.1, "weight_decay": 0.05}),
    "momentum": (optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    "momentum_dampening": (optim.SGD, {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}),
    "nesterov": (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    "Momentum": (optim.Momentum, {"lr": 0.05}),
    "NAG": (optim.NAG, {"lr": 0.05}),
    "sutskever": (optim.SGD, {"lr": 0.05, "momentum": 0.9, "form": "sutskever"}),
    "sutskever_nag": (optim.NAG, {"lr": 0.05, "form": "sutskever", "weight_decay": 0.01}),
    "adagrad": (optim.Adagrad, {"lr": 0.1}),
    "adagrad_decay": (optim.Adagrad, {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.01}),
    "adagrad_init": (optim.Adagrad, {"lr": 0.1, "initial_accumulator_value": 0.1}),
    "adagrad_keras": (optim.Adagrad, {"lr": 0.1, "initial_accumulator_value": 0.1, "eps": 1e-7, "form": "keras"}),
    "adadelta": (optim.Adadelta, {}),
    "adadelta_opts": (optim.Adadelta, {"lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.01}),
    "adam": (optim.Adam, {"lr": 0.01}),
    "adam_wd": (optim.Adam, {"lr": 0.01, "weight_decay": 0.02, "betas": (0.8, 0.99)}),
    "adam_amsgrad": (optim.Adam, {"lr": 0.01, "amsgrad": True}),
    "adam_keras": (optim.Adam, {"lr": 0.01, "form": "keras", "eps": 1e-7}),
    "adamw": (optim.AdamW, {"lr": 0.01}),
    "adamw_amsgrad": (optim.AdamW, {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    "rmsprop": (optim.RMSprop, {"lr": 0.01}),
    "rmsprop_centered": (optim.RMSprop, {"lr": 0.01, "centered": True}),
    "rmsprop_momentum": (optim.RMSprop, {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.01}),
    "rmsprop_all": (optim.RMSprop, {"lr": 0.005, "alpha": 0.9, "centered": True, "momentum": 0.5}),
    "sgd_clip": (optim.SGD, {"lr": 0.1, "clip_norm": 0.5}),
    "adam_clip": (optim.Adam, {"lr": 0.01, "clip_norm": 0.1}),
}


def restated_update(cls, cfg, P, G, S, t):
    """One update of the list of arrays P with gradients G and per-array state dicts S, written
    straight from the formula table in REFERENCES.md (t = 1 on the first update)."""
    lr, wd = cfg.get("lr", cls().lr), cfg.get("weight_decay", optim.AdamW().weight_decay if cls is optim.AdamW else 0.0)
    if cfg.get("clip_norm"):
        total = math.sqrt(sum(float(np.sum(g * g)) for g in G))
        G = [g * min(cfg["clip_norm"] / (total + 1e-6), 1.0) for g in G]
    out = []
    for p, g, s in zip(P, G, S):
        if issubclass(cls, optim.SGD):
            mu = cfg.get("momentum", 0.9 if cls in (optim.Momentum, optim.NAG) else 0.0)
            nesterov = cfg.get("nesterov", cls is optim.NAG)
            tau = cfg.get("dampening", 0.0)
            g = g + wd * p
            if mu == 0:
                p = p - lr * g
            elif cfg.get("form") == "sutskever":
                s["v"] = mu * s.get("v", 0 * p) - lr * g
                p = p + mu * s["v"] - lr * g if nesterov else p + s["v"]
            else:
                s["b"] = g.copy() if t == 1 else mu * s["b"] + (1 - tau) * g
                p = p - lr * (g + mu * s["b"] if nesterov else s["b"])
        elif cls is optim.Adagrad:
            g = g + wd * p
            s["s"] = s.get("s", 0 * p + cfg.get("initial_accumulator_value", 0.0)) + g**2
            eps, clr = cfg.get("eps", 1e-10), lr / (1 + (t - 1) * cfg.get("lr_decay", 0.0))
            p = p - clr * g / (np.sqrt(s["s"] + eps) if cfg.get("form") == "keras" else np.sqrt(s["s"]) + eps)
        elif cls is optim.Adadelta:
            rho, eps = cfg.get("rho", 0.9), cfg.get("eps", 1e-6)
            g = g + wd * p
            s["Eg"] = rho * s.get("Eg", 0 * p) + (1 - rho) * g**2
            delta = np.sqrt(s.get("Ed", 0 * p) + eps) / np.sqrt(s["Eg"] + eps) * g
            s["Ed"] = rho * s.get("Ed", 0 * p) + (1 - rho) * delta**2
            p = p - lr * delta
        elif issubclass(cls, optim.Adam):
            b1, b2 = cfg.get("betas", (0.9, 0.999))
            eps = cfg.get("eps", 1e-8)
            if cls is optim.AdamW:
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
            s["m"] = b1 * s.get("m", 0 * p) + (1 - b1) * g
            s["v"] = b2 * s.get("v", 0 * p) + (1 - b2) * g**2
            v = s["v"]
            if cfg.get("amsgrad"):
                s["vmax"] = v = np.maximum(s.get("vmax", 0 * p), s["v"])
            if cfg.get("form") == "keras":
                p = p - lr * math.sqrt(1 - b2**t) / (1 - b1**t) * s["m"] / (np.sqrt(v) + eps)
            else:
                p = p - lr / (1 - b1**t) * s["m"] / (np.sqrt(v) / math.sqrt(1 - b2**t) + eps)
        elif cls is optim.RMSprop:
            alpha, eps, mu = cfg.get("alpha", 0.99), cfg.get("eps", 1e-8), cfg.get("momentum", 0.0)
            g = g + wd * p
            s["v"] = alpha * s.get("v", 0 * p) + (1 - alpha) * g**2
            if cfg.get("centered"):
                s["ga"] = alpha * s.get("ga", 0 * p) + (1 - alpha) * g
                avg = np.sqrt(s["v"] - s["ga"] ** 2) + eps
            else:
                avg = np.sqrt(s["v"]) + eps
            if mu:
                s["buf"] = mu * s.get("buf", 0 * p) + g / avg
                p = p - lr * s["buf"]
            else:
                p = p - lr * g / avg
        out.append(p)
    return out


def _quadratic(n=13, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n))
    A = M @ M.T / n + 0.1 * np.eye(n)
    return A, rng.normal(size=n), rng.normal(size=n)


@pytest.mark.parametrize("key", CONFIGS)
def test_quadratic_50_steps_match_the_restated_formula(kern64, key):
    backend = kern64.backend
    cls, cfg = CONFIGS[key]
    opt = cls(**cfg)
    A, b, theta0 = _quadratic()
    f64 = backend.float_dtype("float64")
    params = backend.asarray(theta0.copy(), dtype=f64)
    state = opt.init(kern64, params)
    update = backend.jit(lambda p, g, s, k: opt.update(kern64, p, g, s, k))
    P, S = [theta0[:5].copy(), theta0[5:].copy()], [{}, {}]  # the restatement works per array
    for step in range(50):
        grad = A @ to_np(backend, params) - b
        params, state = update(params, backend.asarray(grad, dtype=f64), state, step)
        full = np.concatenate(P)
        g_ref = A @ full - b
        P = restated_update(cls, cfg, P, [g_ref[:5], g_ref[5:]], S, step + 1)
    np.testing.assert_allclose(to_np(backend, params), np.concatenate(P), rtol=1e-12, atol=1e-14)
    assert not np.allclose(np.concatenate(P), theta0)


@pytest.mark.parametrize("key", CONFIGS)
def test_network_50_steps_match_the_restated_formula(key):
    cls, cfg = CONFIGS[key]
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 3, 40)
    model = MLP([4, 6, 3], hidden="tanh", output="softmax", dtype="float64", seed=4, normalize=None)
    P = [a for pair in model.get_weights() for a in pair]
    model.fit(X, y, epochs=50, batch_size=None, optimizer=cls(**cfg))
    Xd, Yd = model.backend.asarray(X), model.backend.asarray(model.encode_targets(y))
    S = [{} for _ in P]
    for t in range(1, 51):
        _, grads = loss_and_grads(
            model.kern, model.layout, model.activations, model.output, np.concatenate([a.ravel() for a in P]), Xd, Yd
        )
        G, at = [], 0
        for a in P:
            G.append(grads[at : at + a.size].reshape(a.shape))
            at += a.size
        P = restated_update(cls, cfg, P, G, S, t)
    got = [a for pair in model.get_weights() for a in pair]
    # centered RMSprop takes √(v − ḡ²), a difference of near-equal numbers, which magnifies the
    # last-bit differences between ḡ's lerp form and the restated αḡ + (1−α)g
    rtol = 1e-11 if cfg.get("centered") else 1e-12
    for a, ref in zip(got, P):
        np.testing.assert_allclose(a, ref, rtol=rtol, atol=1e-14)


@pytest.mark.parametrize(
    "key", ["nesterov", "adagrad_decay", "adadelta", "adam_amsgrad", "adamw", "rmsprop_all", "adam_clip", "sutskever"]
)
def test_numpy_and_jax_trajectories_agree(key):
    pytest.importorskip("jax", reason="JAX is not installed")
    cls, cfg = CONFIGS[key]
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(45, 5)), rng.integers(0, 2, 45)
    weights = []
    for name in ("numpy", "jax"):
        model = MLP([5, 8, 6, 1], hidden=["relu", "tanh"], backend=name, dtype="float64", seed=5, normalize=None)
        model.fit(
            X,
            y,
            epochs=5,
            batch_size=10,
            optimizer=cls(**cfg),
            schedule=optim.Warmup(3, optim.CosineAnnealing(20, per="step"), per="step"),
        )
        weights.append(model.get_weights())
    for (W0, b0), (W1, b1) in zip(*weights):
        np.testing.assert_allclose(W1, W0, rtol=0, atol=1e-10)
        np.testing.assert_allclose(b1, b0, rtol=0, atol=1e-10)


TORCH_FORMS = [k for k, (cls, cfg) in CONFIGS.items() if cfg.get("form", "pytorch") == "pytorch"]


@pytest.mark.parametrize("key", TORCH_FORMS)
def test_matches_pytorch_to_rounding(kern64, key):
    """The same 50 quadratic steps with torch.optim (CPU, float64)."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")
    cls, cfg = CONFIGS[key]
    A, b, theta0 = _quadratic(seed=3)
    torch_cls = {
        optim.SGD: torch.optim.SGD,
        optim.Momentum: torch.optim.SGD,
        optim.NAG: torch.optim.SGD,
        optim.Adagrad: torch.optim.Adagrad,
        optim.Adadelta: torch.optim.Adadelta,
        optim.Adam: torch.optim.Adam,
        optim.AdamW: torch.optim.AdamW,
        optim.RMSprop: torch.optim.RMSprop,
    }[cls]
    opt = cls(**cfg)
    targs = {k: v for k, v in cfg.items() if k not in ("clip_norm", "form")}
    if cls is optim.Momentum:
        targs["momentum"] = 0.9
    if cls is optim.NAG:
        targs.update(momentum=0.9, nesterov=True)
    tp = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    topt = torch_cls([tp], **targs)
    params = kern64.xp.asarray(theta0.copy())
    state = opt.init(kern64, params)
    A_dev, b_dev = kern64.xp.asarray(A), kern64.xp.asarray(b)  # on the backend's device
    At, bt = torch.tensor(A), torch.tensor(b)
    for step in range(50):
        topt.zero_grad()
        (0.5 * tp @ At @ tp - bt @ tp).backward()
        if cfg.get("clip_norm"):
            torch.nn.utils.clip_grad_norm_([tp], cfg["clip_norm"])
        topt.step()
        params, state = opt.update(kern64, params, A_dev @ params - b_dev, state, step)
    np.testing.assert_allclose(kern64.backend.to_numpy(params), tp.detach().numpy(), rtol=1e-11, atol=1e-13)


# ---- schedules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule,expected",
    [
        (optim.Constant(), {0: 0.1, 7: 0.1}),
        (optim.StepDecay(10, gamma=0.5), {0: 0.1, 9: 0.1, 10: 0.05, 25: 0.025}),
        (optim.ExponentialDecay(0.9), {0: 0.1, 1: 0.09, 3: 0.1 * 0.9**3}),
        (optim.InverseTimeDecay(0.5), {0: 0.1, 2: 0.05, 6: 0.025}),
        (optim.CosineAnnealing(10, eta_min=0.01), {0: 0.1, 5: 0.055, 10: 0.01, 30: 0.01}),
        (optim.Warmup(4), {0: 0.0, 1: 0.025, 3: 0.075, 4: 0.1, 50: 0.1}),
        (optim.Warmup(2, start_factor=0.5), {0: 0.05, 1: 0.075, 2: 0.1}),
        (optim.Warmup(5, optim.StepDecay(3, 0.1)), {4: 0.08, 5: 0.1, 7: 0.1, 8: 0.01}),
        (optim.Warmup(5, optim.CosineAnnealing(10)), {5: 0.1, 10: 0.05, 15: 0.0}),
    ],
)
def test_schedule_values(schedule, expected):
    for t, lr in expected.items():
        assert schedule(0.1, t) == pytest.approx(lr, rel=1e-12, abs=1e-15), t


def test_reduce_on_plateau():
    s = optim.ReduceOnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.02)
    losses = [1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98]
    lrs = []
    for loss in losses:
        lrs.append(s(0.1, 0))
        s.observe({"loss": loss}, 0.1)
    # bad epochs after the 0.9: 1, 2, 3 → halve; a cooldown epoch counts none; 1, 2, 3 → halve
    assert lrs == [0.1] * 5 + [0.05] * 4 + [0.025] * 2
    for loss in [1.0] * 10:
        s.observe({"loss": loss}, 0.1)
    assert s(0.1, 0) == pytest.approx(0.02)


def test_schedules_match_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")
    sched = torch.optim.lr_scheduler
    cases = [
        (optim.StepDecay(3, 0.5), lambda o: sched.StepLR(o, 3, 0.5)),
        (optim.ExponentialDecay(0.8), lambda o: sched.ExponentialLR(o, 0.8)),
        (optim.CosineAnnealing(7, 0.001), lambda o: sched.CosineAnnealingLR(o, 7, 0.001)),
    ]
    for ours, make in cases:
        o = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        theirs = make(o)
        for t in range(8):
            assert ours(0.1, t) == pytest.approx(o.param_groups[0]["lr"], rel=1e-12), (ours, t)
            o.step()
            theirs.step()
    ours = optim.ReduceOnPlateau(factor=0.5, patience=1, threshold=0.01)
    o = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    theirs = sched.ReduceLROnPlateau(o, factor=0.5, patience=1, threshold=0.01)
    for loss in [1.0, 0.995, 0.99, 0.98, 0.985, 0.97, 0.97, 0.97, 0.5, 0.6, 0.7]:
        ours.observe({"loss": loss}, 0.1)
        theirs.step(loss)
        assert ours(0.1, 0) == pytest.approx(o.param_groups[0]["lr"], rel=1e-12)


def test_fit_records_the_lr_in_effect_and_jax_does_not_recompile(backend):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, 30)
    model = MLP([3, 4, 1], backend=backend.name, seed=0, normalize=None)
    h = model.fit(X, y, epochs=6, batch_size=10, optimizer=optim.SGD(0.2), schedule=optim.StepDecay(2, 0.5))
    assert h["lr"] == pytest.approx([0.2, 0.2, 0.1, 0.1, 0.05, 0.05])
    assert float(to_np(backend, model.opt_state.lr)) == pytest.approx(0.05)
    h = model.fit(
        X, y, epochs=2, batch_size=10, optimizer=optim.SGD(0.2), schedule=optim.ExponentialDecay(0.5, per="step")
    )
    assert h["lr"][-2:] == pytest.approx([0.2 * 0.5**2, 0.2 * 0.5**5])  # last step of each epoch
    if backend.name == "jax":  # one shape, many learning rates: one compilation of the epoch's loop
        assert model.steps.path == "compiled epochs (jax)" and model.steps.epoch_fn(10)._cache_size() == 1


def test_plateau_schedule_in_fit_lowers_the_rate():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, 30)
    model = MLP([3, 4, 1], seed=0, normalize=None)
    h = model.fit(
        X,
        y,
        epochs=12,
        optimizer=optim.SGD(1e-9),
        schedule=optim.ReduceOnPlateau(factor=0.1, patience=2, threshold=0.1),
    )
    assert h["lr"][0] == pytest.approx(1e-9) and h["lr"][-1] < 1e-10


def test_optimizer_state_is_part_of_the_model():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, 30)
    model = MLP([3, 4, 1], dtype="float64", seed=0, normalize=None)
    model.fit(X, y, epochs=2, optimizer="adam")
    state = model.opt_state  # named: the optimiser's slots, the learning rate, the guard's book
    assert set(state.slots) == {"m", "v"} and float(state.lr) == pytest.approx(1e-3)
    assert set(state.book) == {"loss_sum", "rows", "skipped", "first_bad", "bad_loss", "correct"}
    assert state.slots["m"].shape == (model.layout.size,) and np.abs(state.slots["v"]).sum() > 0
    m_before = state.slots["m"].copy()
    model.fit(X, y, epochs=1)  # continues: the moments carry over
    assert isinstance(model.optimizer, optim.Adam) and not np.array_equal(m_before, model.opt_state.slots["m"])
    fresh = MLP([3, 4, 1], dtype="float64", seed=0, normalize=None)
    fresh.fit(X, y, epochs=3, optimizer="adam")
    for (W0, b0), (W1, b1) in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_allclose(W0, W1, rtol=1e-13)


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_every_optimizer_by_name_trains(name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = MLP([2, 8, 1], hidden="tanh", seed=0, normalize=None)
    h = model.fit(X, y, epochs=60, batch_size=16, optimizer=name)
    assert type(model.optimizer) is optim.OPTIMIZERS[name]
    assert h["loss"][-1] < h["loss"][0]


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: optim.SGD(lr=-0.1), r"lr=-0.1 is not a learning rate"),
        (lambda: optim.Adam(lr=0), r"lr=0 is not a learning rate"),
        (lambda: optim.SGD(momentum=-0.5), r"momentum=-0.5 is invalid"),
        (lambda: optim.SGD(nesterov=True), r"nesterov=True needs momentum > 0"),
        (lambda: optim.SGD(momentum=0.9, dampening=0.1, nesterov=True), r"nesterov=True needs .*dampening = 0"),
        (lambda: optim.Momentum(momentum=0.0), r"momentum=0.0 is invalid"),
        (lambda: optim.Adam(betas=(0.9, 1.0)), r"betas\[1\]=1.0 is invalid; expected a number in \[0.0, 1.0\)"),
        (lambda: optim.Adam(betas=(-0.1, 0.9)), r"betas\[0\]=-0.1 is invalid"),
        (lambda: optim.Adam(betas=0.9), r"betas=0.9 is invalid; expected a pair"),
        (lambda: optim.Adam(eps=-1e-8), r"eps=-1e-08 is invalid"),
        (lambda: optim.Adam(form="tf"), r"form='tf' is not a form of this optimiser"),
        (lambda: optim.AdamW(weight_decay=-0.01), r"weight_decay=-0.01 is invalid"),
        (lambda: optim.Adadelta(rho=1.5), r"rho=1.5 is invalid"),
        (lambda: optim.Adadelta(eps=0), r"eps=0 is invalid; expected a number > 0"),
        (lambda: optim.Adagrad(lr_decay=-1), r"lr_decay=-1 is invalid"),
        (lambda: optim.Adagrad(initial_accumulator_value=-0.1), r"initial_accumulator_value=-0.1 is invalid"),
        (lambda: optim.RMSprop(alpha=2), r"alpha=2 is invalid"),
        (lambda: optim.SGD(clip_norm=0), r"clip_norm=0 is invalid; expected None or a number > 0"),
        (lambda: optim.SGD(form="sutskever", momentum=0.9, dampening=0.1), r"dampening=0.1 has no meaning"),
        (lambda: optim.StepDecay(0), r"step_size=0 is invalid"),
        (lambda: optim.ExponentialDecay(0.0), r"gamma=0.0 is invalid"),
        (lambda: optim.CosineAnnealing(10, per="batch"), r"per='batch' is invalid; expected 'epoch' or 'step'"),
        (lambda: optim.Warmup(5, then=0.1), r"then=0.1 is invalid"),
        (lambda: optim.Warmup(5, optim.StepDecay(2, per="step"), per="epoch"), r"per='epoch' differs"),
        (lambda: optim.ReduceOnPlateau(factor=1.0), r"factor=1.0 is invalid"),
        (
            lambda: MLP([2, 1], normalize=None).fit(np.zeros((2, 2)), [0, 1], schedule="linear"),
            r"schedule='linear' is not a schedule",
        ),
        (
            lambda: MLP([2, 1], normalize=None).fit(np.zeros((2, 2)), [0, 1], optimizer=object()),
            r"optimizer=<object .*is not an optimiser",
        ),
    ],
)
def test_invalid_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_repr_names_the_hyperparameters():
    assert repr(optim.NAG(0.1)) == (
        "NAG(lr=0.1, weight_decay=0.0, clip_norm=None, momentum=0.9, dampening=0.0, nesterov=True, form='pytorch')"
    )
    assert kernels.for_backend(MLP([2, 1], normalize=None).backend) is MLP([2, 1], normalize=None).kern
