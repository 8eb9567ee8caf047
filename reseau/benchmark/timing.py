"""Timing: steps interleaved round by round, peak memory in a fresh process, time to accuracy on
the digits, and the machine it ran on."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .. import backends, datasets, optim
from ..backends.host import np
from ..core.model import MLP
from . import peers
from .spec import PAUSE, TARGET_ACCURACY, Unsupported


def time_spec(spec, rounds, steps, only=None):
    """Build every method, check its first-batch loss, time the honest ones interleaved."""
    built, results = {}, {}
    reference = spec.model("numpy", dtype="float64", kernels="reference")
    ref_loss = reference.evaluate(spec.X.astype(np.float64), spec.y)["loss"]
    tol = 1e-4 if spec.dtype == "float32" else 1e-9
    for name, (_, make) in peers.methods().items():
        if only and name not in only and "floor" not in name:
            continue
        try:
            t0 = time.perf_counter()
            method = make(spec)
            method.step()
            first_call = time.perf_counter() - t0
        except Unsupported as exc:
            results[name] = {"status": f"skipped: {exc}"}
            continue
        except Exception as exc:  # a peer that fails is reported, not fatal
            results[name] = {"status": f"failed: {type(exc).__name__}: {exc}"[:200]}
            continue
        if method.first_loss is not None and abs(method.first_loss - ref_loss) > tol * max(1.0, abs(ref_loss)):
            results[name] = {"status": f"wrong: first-batch loss {method.first_loss:.8g}, reference {ref_loss:.8g}"}
            continue
        built[name] = method
        results[name] = {"status": "ok", "first_call_s": first_call, "first_loss": method.first_loss}
    times = {name: [] for name in built}
    for _ in range(rounds):
        for name, method in built.items():
            time.sleep(PAUSE)
            for _ in range(steps):
                t0 = time.perf_counter()
                method.step()
                times[name].append(time.perf_counter() - t0)
    floor_name = "GEMM floor"
    floor = statistics.median(times[floor_name]) if times.get(floor_name) else None
    for name, ts in times.items():
        med = statistics.median(ts)
        results[name].update(
            median_ms=med * 1e3,
            min_ms=min(ts) * 1e3,
            samples_per_s=spec.n / med,
            vs_floor=med / floor if floor else None,
            steps=len(ts),
        )
    return results


_MEMORY_CHILD = """
import importlib, json, os, sys
from reseau import benchmark as b

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

spec = b.Spec(**json.loads(sys.argv[1]))
lib, make = b.methods()[sys.argv[2]]
importlib.import_module(lib)
before = rss()
method = make(spec)
peak = rss()
for _ in range(3):
    method.step()
    peak = max(peak, rss())
print(peak - before)
"""


def peak_memory(spec, name):
    """Resident memory (bytes) that building ``name`` and running three steps adds to a fresh
    process that has already imported the method's library (Linux /proc; None elsewhere)."""
    if not Path("/proc/self/statm").exists():
        return None
    args = json.dumps(
        {
            "name": spec.name,
            "sizes": spec.sizes,
            "hidden": spec.hidden,
            "n": spec.n,
            "dtype": spec.dtype,
            "optimizer": spec.optimizer,
            "lr": spec.lr,
        }
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, args, name], capture_output=True, text=True, timeout=600
        )
        return max(0, int(out.stdout.strip().splitlines()[-1])) if out.returncode == 0 else None
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None


def time_to_accuracy(max_epochs, only=None):
    """Epochs and seconds each method needs to reach 97 % test accuracy on digits (64-128-10 relu,
    Adam 3e-3, batches of 32, standardised inputs, seed 0)."""
    X, y = datasets.load("digits")
    Xtr, Xte, ytr, yte = datasets.train_test_split(X, y, 0.2, seed=0)
    mean, std = Xtr.mean(0), np.where(Xtr.std(0) > 0, Xtr.std(0), 1.0)
    Xtr, Xte = ((Xtr - mean) / std).astype(np.float32), ((Xte - mean) / std).astype(np.float32)
    out = {}
    for name, train_epoch, accuracy in _trainers(Xtr, ytr, Xte, yte):
        if only and name not in only:
            continue
        t0, reached = time.perf_counter(), None
        for epoch in range(1, max_epochs + 1):
            train_epoch()
            if accuracy() >= TARGET_ACCURACY:
                reached = epoch
                break
        out[name] = {
            "epochs": reached,
            "seconds": time.perf_counter() - t0 if reached else None,
            "max_epochs": max_epochs,
        }
    return out


def _trainers(Xtr, ytr, Xte, yte):
    """(name, train one epoch, test accuracy) for reseau's backends and the installed peers."""
    yield from _reseau_trainers(Xtr, ytr, Xte, yte)
    for peer in (_torch_trainer, _optax_trainer, _sklearn_trainer):
        found = peer(Xtr, ytr, Xte, yte)
        if found is not None:
            yield found


def _reseau_trainers(Xtr, ytr, Xte, yte):
    for name in peers.methods():
        if not name.startswith("reseau"):
            continue
        backend = name.split()[1].split("+")[0]
        kernels = "numba" if "numba" in name else ("numpy" if name == "reseau numpy" else None)
        model = MLP(
            [64, 128, 10], hidden="relu", output="softmax", backend=backend, seed=0, kernels=kernels, normalize="minmax"
        )  # the peers' inputs: pixels / 16
        opt = optim.Adam(3e-3)
        yield (
            name,
            lambda m=model, o=opt: m.fit(Xtr, ytr, epochs=1, batch_size=32, optimizer=o),
            lambda m=model: m.evaluate(Xte, yte)["accuracy"],
        )


def _torch_trainer(Xtr, ytr, Xte, yte):
    try:
        import torch

        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)
        Xt, yt, Xe = torch.from_numpy(Xtr), torch.from_numpy(ytr), torch.from_numpy(Xte)
        gen = torch.Generator().manual_seed(0)

        def torch_epoch():
            for idx in torch.randperm(len(yt), generator=gen).split(32):
                opt.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx]).backward()
                opt.step()

        def torch_acc():
            with torch.no_grad():
                return float((net(Xe).argmax(1).numpy() == yte).mean())

        return "PyTorch CPU", torch_epoch, torch_acc
    except ImportError:
        return None


def _optax_trainer(Xtr, ytr, Xte, yte):
    if importlib.util.find_spec("optax") is None or backends.available()["jax"] != "ok":
        return None
    import jax
    import jax.numpy as jnp
    import optax

    init = MLP([64, 128, 10], hidden="relu", output="softmax", backend="numpy", seed=0).get_weights()
    state = {"p": [(jnp.asarray(W), jnp.asarray(b)) for W, b in init]}
    tx = optax.adam(3e-3)
    state["s"] = tx.init(state["p"])

    def logits(params, X):
        with jax.default_matmul_precision("highest"):
            return jax.nn.relu(X @ params[0][0] + params[0][1]) @ params[1][0] + params[1][1]

    @jax.jit
    def update(params, opt_state, X, y):
        loss = lambda p: optax.softmax_cross_entropy_with_integer_labels(logits(p, X), y).mean()  # noqa: E731
        grads = jax.grad(loss)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    order = np.random.default_rng(0)
    Xj, yj, Xe = jnp.asarray(Xtr), jnp.asarray(ytr), jnp.asarray(Xte)

    def optax_epoch():
        perm = order.permutation(len(ytr))
        for a in range(0, len(perm), 32):
            idx = perm[a : a + 32]
            state["p"], state["s"] = update(state["p"], state["s"], Xj[idx], yj[idx])

    return "JAX+optax", optax_epoch, lambda: float((np.asarray(logits(state["p"], Xe)).argmax(1) == yte).mean())


def _sklearn_trainer(Xtr, ytr, Xte, yte):
    try:
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(hidden_layer_sizes=(128,), batch_size=32, learning_rate_init=3e-3, random_state=0)

        def sk_epoch():
            clf.partial_fit(Xtr, ytr, classes=np.arange(10))

        return "scikit-learn", sk_epoch, lambda: float(clf.score(Xte, yte))
    except ImportError:
        return None


def environment() -> dict:
    env = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "numpy": np.__version__,
        "backends": backends.available(),
    }
    try:
        from threadpoolctl import threadpool_info

        env["blas"] = [
            {k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for d in threadpool_info()
            if d.get("user_api") == "blas"
        ]
    except ImportError:
        env["blas"] = "threadpoolctl not installed"
    for lib in ("jax", "numba", "torch", "optax", "sklearn", "cupy"):
        try:
            env[lib] = __import__(lib).__version__
        except ImportError:
            pass
    gpus = []
    for name in ("cupy", "jax"):
        if env["backends"][name] == "ok":
            gpus += [d for d in backends.get(name).devices() if not d.startswith("cpu")]
    env["gpus"] = gpus
    env["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE")
    return env


def _cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
