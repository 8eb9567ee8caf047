"""``reseau bench``: the same network, data and seed on every backend present and every peer
installed, timed per training step against the GEMM-only floor measured in the same run.

Methods: reseau on numpy (in-place ufuncs and, with numba, one-pass loops), jax (CPU or GPU),
cupy; peers: a plain NumPy step, PyTorch eager with its fused Adam (CPU, and CUDA when present),
a hand-written JAX+optax step, scikit-learn's MLPClassifier. Every method starts from the same
weights and first batch, and its loss on that batch must agree with reseau's reference before it
is timed; one that disagrees is reported as wrong. Methods are interleaved round by round with a
pause between them (OpenBLAS's threads spin after a GEMM). TF32 stays off (JAX matmul precision
"highest", torch allow_tf32 = False, CuPy's default).

Reported per method: median and minimum time per step, ratio to the floor, samples per second,
the first call (compilation included), peak memory (the most resident memory that building the
method and running three steps adds to a fresh process), and, on the bundled digits
data, epochs and seconds to 97 % test accuracy.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import backends, datasets, optim
from .backends.host import np
from .core.model import MLP

SIZES = {
    "S": ([30, 16, 1], "tanh", 64),
    "M": ([784, 256, 256, 10], "relu", 128),
    "L": ([1024, 4096, 4096, 10], "relu", 512),
}
PAUSE = 0.2  # seconds between methods: OpenBLAS and OpenMP workers spin after use
TARGET_ACCURACY = 0.97


class Unsupported(Exception):
    """A method that has no counterpart for the case asked (reported as skipped)."""


class Spec:
    """One benchmark case: layer sizes, hidden activation, batch size, dtype and optimiser."""

    def __init__(self, name, sizes, hidden, n, dtype="float32", optimizer="adam", lr=1e-3):
        self.name, self.sizes, self.hidden, self.n = name, list(sizes), hidden, n
        self.dtype, self.optimizer, self.lr = dtype, optimizer, lr
        self.output = "sigmoid" if sizes[-1] == 1 else "softmax"
        rng = np.random.default_rng(0)
        self.X = rng.standard_normal((n, sizes[0])).astype(dtype)
        self.y = rng.integers(0, 2 if self.output == "sigmoid" else sizes[-1], n)
        self.weights = MLP(
            sizes, hidden=hidden, output=self.output, backend="numpy", dtype="float64", seed=0
        ).get_weights()

    def as_dict(self):
        return {
            "name": self.name,
            "layers": self.sizes,
            "hidden": self.hidden,
            "batch": self.n,
            "dtype": self.dtype,
            "optimizer": self.optimizer,
            "lr": self.lr,
        }


class Method:
    """step() runs one training step and waits for it; run(k) runs k steps back to back and waits
    once, at the end (how a training loop on a GPU runs: the host queues step k+1 while the device
    works on step k); first_loss is the loss on the batch at the initial weights (None for the
    floor)."""

    def __init__(self, step, first_loss=None, run=None):
        self.step, self.first_loss = step, first_loss
        self._run = run

    def run(self, k):
        if self._run is not None:
            return self._run(k)
        for _ in range(k):
            self.step()


# ---- the methods --------------------------------------------------------------------------------


def gemm_floor(spec, xp=np):
    """Just the matrix products of a step (X@W per layer, A_prevᵀdZ per layer, dZ Wᵀ per layer
    but the first) into preallocated outputs; ``xp`` numpy or cupy."""
    sizes, n, dt = spec.sizes, spec.n, spec.dtype
    rng = np.random.default_rng(0)
    Ws = [xp.asarray(rng.standard_normal(s).astype(dt)) for s in zip(sizes[:-1], sizes[1:])]
    As = [xp.asarray(rng.standard_normal((n, s)).astype(dt)) for s in sizes]
    dAs = [xp.empty((n, s), dt) for s in sizes]
    dWs = [xp.empty_like(W) for W in Ws]

    def products():
        for l, W in enumerate(Ws):
            xp.matmul(As[l], W, out=As[l + 1])
        for l in reversed(range(len(Ws))):
            xp.matmul(As[l].T, As[l + 1], out=dWs[l])
            if l > 0:
                xp.matmul(As[l + 1], Ws[l].T, out=dAs[l])

    def run(k):
        for _ in range(k):
            products()
        if xp is not np:
            xp.cuda.get_current_stream().synchronize()

    return Method(lambda: run(1), run=run)


def plain_numpy(spec):
    """The notes' step written plainly with NumPy: new arrays everywhere, Adam per array."""
    if spec.optimizer != "adam":
        raise Unsupported("the plain NumPy step implements Adam only")
    dt = np.dtype(spec.dtype)
    params = [(W.astype(dt), b.astype(dt)) for W, b in spec.weights]
    m = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    v = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    X, n, lr = spec.X, spec.n, spec.lr
    Y = spec.y.reshape(-1, 1).astype(dt) if spec.output == "sigmoid" else np.eye(spec.sizes[-1], dtype=dt)[spec.y]
    g = np.tanh if spec.hidden == "tanh" else (lambda z: np.maximum(z, 0))
    t = [0]

    def forward():
        As = [X]
        for W, b in params[:-1]:
            As.append(g(As[-1] @ W + b))
        Z = As[-1] @ params[-1][0] + params[-1][1]
        if spec.output == "sigmoid":
            A = 1 / (1 + np.exp(-Z))
            loss = np.mean(np.maximum(Z, 0) - Y * Z + np.log1p(np.exp(-np.abs(Z))))
        else:
            E = np.exp(Z - Z.max(1, keepdims=True))
            A = E / E.sum(1, keepdims=True)
            loss = -np.mean(np.log(A[np.arange(n), spec.y]))
        return As, A, loss

    def step():
        t[0] += 1
        As, A, _ = forward()
        dZ = (A - Y) / n
        for l in reversed(range(len(params))):
            W, b = params[l]
            dW, db = As[l].T @ dZ, dZ.sum(0)
            if l > 0:
                dA = dZ @ W.T
                dZ = dA * (1 - As[l] ** 2) if spec.hidden == "tanh" else dA * (As[l] > 0)
            new = []
            for p, gr, mm, vv in zip((W, b), (dW, db), m[l], v[l]):
                mm[...] = 0.9 * mm + 0.1 * gr
                vv[...] = 0.999 * vv + 0.001 * gr * gr
                new.append(p - lr / (1 - 0.9 ** t[0]) * mm / (np.sqrt(vv) / np.sqrt(1 - 0.999 ** t[0]) + 1e-8))
            params[l] = tuple(new)

    return Method(step, float(forward()[2]))


def reseau_method(backend, kernels=None, cuda_graph=False, precision="fp32"):
    def make(spec):
        model = MLP(
            spec.sizes,
            hidden=spec.hidden,
            output=spec.output,
            backend=backend,
            dtype=spec.dtype,
            seed=0,
            kernels=kernels,
            precision=precision,
        )
        model.set_weights(spec.weights)
        first = model.evaluate(spec.X, spec.y)["loss"]
        step, p, s = model.training_step(optim.OPTIMIZERS[spec.optimizer](lr=spec.lr), cuda_graph=cuda_graph)
        model.kern.prepare()
        bk = model.backend
        Xd, Yd = bk.asarray(spec.X, dtype=model.dtype), bk.asarray(model.encode_targets(spec.y))
        st = {"p": p, "s": s, "t": 0}

        def run(k):
            for _ in range(k):
                st["p"], st["s"], loss = step(st["p"], st["s"], Xd, Yd, st["t"])
                st["t"] += 1
            bk.sync(loss)

        return Method(lambda: run(1), first, run)

    return make


def torch_method(device, precision="fp32"):
    """PyTorch with its fused Adam; precision "tf32" allows TF32 matmuls, "bf16" runs forward and
    loss under ``torch.autocast(bfloat16)`` (PyTorch's mixed precision: float32 master weights)."""

    def make(spec):
        import contextlib

        import torch

        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        amp = (lambda: torch.autocast(device, dtype=torch.bfloat16)) if precision == "bf16" else contextlib.nullcontext
        tdt = torch.float32 if spec.dtype == "float32" else torch.float64
        layers = []
        for i, (W, b) in enumerate(spec.weights):
            lin = torch.nn.Linear(*W.shape).to(device=device, dtype=tdt)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if i < len(spec.weights) - 1:
                layers.append(torch.nn.Tanh() if spec.hidden == "tanh" else torch.nn.ReLU())
        net = torch.nn.Sequential(*layers)
        kinds = {
            "adam": torch.optim.Adam,
            "adamw": torch.optim.AdamW,
            "sgd": torch.optim.SGD,
            "rmsprop": torch.optim.RMSprop,
            "adagrad": torch.optim.Adagrad,
        }
        if spec.optimizer not in kinds:
            raise Unsupported(f"no PyTorch counterpart set up for {spec.optimizer}")
        fused = {"fused": True} if spec.optimizer in ("adam", "adamw", "sgd") else {}
        opt = kinds[spec.optimizer](net.parameters(), lr=spec.lr, **fused)
        X = torch.from_numpy(spec.X).to(device=device, dtype=tdt)
        if spec.output == "sigmoid":
            target = torch.from_numpy(spec.y).to(device=device, dtype=tdt).reshape(-1, 1)
            loss_fn = torch.nn.BCEWithLogitsLoss()
        else:
            target, loss_fn = torch.from_numpy(spec.y).to(device), torch.nn.CrossEntropyLoss()
        with torch.no_grad():
            first = float(loss_fn(net(X), target))

        def run(k):
            for _ in range(k):
                opt.zero_grad(set_to_none=True)
                with amp():
                    loss = loss_fn(net(X), target)
                loss.backward()
                opt.step()
            if device == "cuda":
                torch.cuda.synchronize()

        return Method(lambda: run(1), first, run)

    return make


def optax_method(spec):
    import jax
    import jax.numpy as jnp
    import optax

    backends.get("jax").float_dtype(spec.dtype)
    kinds = {
        "adam": optax.adam,
        "adamw": optax.adamw,
        "sgd": optax.sgd,
        "rmsprop": optax.rmsprop,
        "adagrad": optax.adagrad,
    }
    if spec.optimizer not in kinds:
        raise Unsupported(f"no optax counterpart set up for {spec.optimizer}")
    dt = jnp.dtype(spec.dtype)
    params = [(jnp.asarray(W, dt), jnp.asarray(b, dt)) for W, b in spec.weights]
    tx = kinds[spec.optimizer](spec.lr)
    X, y = jnp.asarray(spec.X), jnp.asarray(spec.y)
    act = jnp.tanh if spec.hidden == "tanh" else jax.nn.relu

    def loss_fn(params):
        with jax.default_matmul_precision("highest"):
            A = X
            for W, b in params[:-1]:
                A = act(A @ W + b)
            Z = A @ params[-1][0] + params[-1][1]
        if spec.output == "sigmoid":
            return optax.sigmoid_binary_cross_entropy(Z[:, 0], y.astype(dt)).mean()
        return optax.softmax_cross_entropy_with_integer_labels(Z, y).mean()

    @jax.jit
    def update(params, state):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    st = {"p": params, "s": tx.init(params)}

    def run(k):
        for _ in range(k):
            st["p"], st["s"], loss = update(st["p"], st["s"])
        loss.block_until_ready()

    return Method(lambda: run(1), float(loss_fn(params)), run)


def sklearn_method(spec):
    import warnings

    from sklearn.neural_network import MLPClassifier

    if spec.optimizer not in ("adam", "sgd"):
        raise Unsupported(f"scikit-learn has no {spec.optimizer}")
    clf = MLPClassifier(
        hidden_layer_sizes=spec.sizes[1:-1],
        activation=spec.hidden,
        solver=spec.optimizer,
        alpha=0.0,
        batch_size=spec.n,
        learning_rate_init=spec.lr,
        shuffle=False,
        momentum=0.0,
        random_state=0,
    )
    classes = np.arange(2 if spec.output == "sigmoid" else spec.sizes[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(spec.X, spec.y, classes=classes)  # builds its layers (and takes one step)
    dt = np.dtype(spec.dtype)
    clf.coefs_ = [W.astype(dt) for W, _ in spec.weights]
    clf.intercepts_ = [b.astype(dt) for _, b in spec.weights]
    if hasattr(clf, "_optimizer"):
        del clf._optimizer  # a fresh optimiser state for the shared starting point
    P = np.clip(clf.predict_proba(spec.X), 1e-300, 1.0)
    first = float(-np.mean(np.log(P[np.arange(spec.n), spec.y])))

    def step():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(spec.X, spec.y)

    return Method(step, first)


def methods():
    """{name: (library to import first, maker)} for everything that runs here, found without
    importing the peers (so a fresh process can build one method with only its library loaded)."""
    have = {m: importlib.util.find_spec(m) is not None for m in ("numba", "torch", "optax", "sklearn")}
    found = {"GEMM floor": ("numpy", gemm_floor), "plain NumPy": ("numpy", plain_numpy)}
    if have["numba"]:
        found["reseau numpy+numba"] = ("numba", reseau_method("numpy", "numba"))
    found["reseau numpy"] = ("numpy", reseau_method("numpy", "numpy"))
    status = backends.available()
    gpu = status["cupy"] == "ok"
    if status["jax"] == "ok":
        import jax

        found[f"reseau jax {jax.default_backend()}"] = ("jax", reseau_method("jax"))
        gpu = gpu or jax.default_backend() == "gpu"
    if status["cupy"] == "ok":
        found["reseau cupy"] = ("cupy", reseau_method("cupy"))
        found["reseau cupy + CUDA graph"] = ("cupy", reseau_method("cupy", cuda_graph=True))
        found["cuBLAS GEMM floor"] = ("cupy", lambda spec: gemm_floor(spec, __import__("cupy")))
    if have["torch"]:
        found["PyTorch CPU"] = ("torch", torch_method("cpu"))
        if gpu and __import__("torch").cuda.is_available():
            found["PyTorch CUDA"] = ("torch", torch_method("cuda"))
    if have["optax"] and status["jax"] == "ok":
        found["JAX+optax"] = ("optax", optax_method)
    if have["sklearn"]:
        found["scikit-learn"] = ("sklearn", sklearn_method)
    return found


# ---- measuring ----------------------------------------------------------------------------------


def time_spec(spec, rounds, steps, only=None):
    """Build every method, check its first-batch loss, time the honest ones interleaved."""
    built, results = {}, {}
    reference = MLP(
        spec.sizes,
        hidden=spec.hidden,
        output=spec.output,
        backend="numpy",
        dtype="float64",
        kernels="reference",
        seed=0,
    )
    ref_loss = reference.evaluate(spec.X.astype(np.float64), spec.y)["loss"]
    tol = 1e-4 if spec.dtype == "float32" else 1e-9
    for name, (_, make) in methods().items():
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
    for name in methods():
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

        yield "PyTorch CPU", torch_epoch, torch_acc
    except ImportError:
        pass
    if importlib.util.find_spec("optax") is not None and backends.available()["jax"] == "ok":
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

        yield ("JAX+optax", optax_epoch, lambda: float((np.asarray(logits(state["p"], Xe)).argmax(1) == yte).mean()))
    try:
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(hidden_layer_sizes=(128,), batch_size=32, learning_rate_init=3e-3, random_state=0)

        def sk_epoch():
            clf.partial_fit(Xtr, ytr, classes=np.arange(10))

        yield "scikit-learn", sk_epoch, lambda: float(clf.score(Xte, yte))
    except ImportError:
        pass


# ---- reporting ----------------------------------------------------------------------------------


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


COLUMNS = ("median ms", "min ms", "x floor", "samples/s", "first call s", "peak MiB")


def _cells(r):
    """A method's numbers as strings, in COLUMNS order ("" for what was not measured)."""
    peak = r.get("peak_bytes")
    return [
        f"{r['median_ms']:.4f}",
        f"{r['min_ms']:.4f}",
        "" if r.get("vs_floor") is None else f"{r['vs_floor']:.2f}",
        f"{r['samples_per_s']:.0f}",
        f"{r['first_call_s']:.3f}",
        "" if peak is None else f"{peak / 2**20:.1f}",
    ]


def _case_title(spec):
    return (
        f"{spec['name']}: {spec['layers']} {spec['hidden']}, batch {spec['batch']}, {spec['dtype']}, "
        f"{spec['optimizer']}"
    )


def _accuracy_text(r):
    return f"{r['epochs']} epochs, {r['seconds']:.2f} s" if r["epochs"] else f"not reached in {r['max_epochs']} epochs"


def table(report) -> str:
    """The report for a terminal."""
    lines = []
    for case in report["cases"]:
        lines.append("\n" + _case_title(case["spec"]))
        lines.append(f"{'method':24}" + "".join(f"{c:>13}" for c in COLUMNS))
        for name, r in case["methods"].items():
            lines.append(
                f"{name:24}" + ("".join(f"{c:>13}" for c in _cells(r)) if r["status"] == "ok" else r["status"])
            )
    if report.get("time_to_accuracy"):
        lines.append(f"\ndigits, 64-128-10 relu, Adam 3e-3, batch 32: time to {TARGET_ACCURACY:.0%} test accuracy")
        lines += [f"{name:24} {_accuracy_text(r)}" for name, r in report["time_to_accuracy"].items()]
    return "\n".join(lines)


def markdown(report) -> str:
    """The report as Markdown, with the command and the machine."""
    env = report["environment"]
    out = [
        f"# reseau benchmark\n\nCommand: `{report['command']}`  ",
        f"Machine: {env['cpu']}, {env['cores']} cores, {env['machine']}; GPUs: {', '.join(env['gpus']) or 'none'}  ",
        f"Python {env['python']}, NumPy {env['numpy']}, BLAS {json.dumps(env['blas'])}\n",
    ]
    for case in report["cases"]:
        out += [
            f"## {_case_title(case['spec'])}\n",
            "| method | " + " | ".join(COLUMNS) + " |",
            "|---" * (len(COLUMNS) + 1) + "|",
        ]
        for name, r in case["methods"].items():
            cells = _cells(r) if r["status"] == "ok" else [r["status"]] + [""] * (len(COLUMNS) - 1)
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("")
    if report.get("time_to_accuracy"):
        out.append(f"## Time to {TARGET_ACCURACY:.0%} test accuracy on digits\n\n| method | result |\n|---|---|")
        out += [f"| {name} | {_accuracy_text(r)} |" for name, r in report["time_to_accuracy"].items()]
    return "\n".join(out) + "\n"


def summary_markdown(report) -> str:
    """One row per method: ms per step (× floor) for every case, then time to accuracy."""
    cases, tta = report["cases"], report.get("time_to_accuracy", {})
    names = list(dict.fromkeys(n for c in cases for n in c["methods"]))
    rows = [
        "| method | "
        + " | ".join(f"{c['spec']['name']} ms/step (× floor)" for c in cases)
        + f" | digits to {TARGET_ACCURACY:.0%} |",
        "|---" * (len(cases) + 2) + "|",
    ]
    for n in names:
        cells = []
        for c in cases:
            m = c["methods"].get(n, {})
            ok = m.get("status") == "ok"
            cells.append(
                f"{m['median_ms']:.4g} ({m['vs_floor']:.2f})"
                if ok and m.get("vs_floor")
                else (f"{m['median_ms']:.4g}" if ok else m.get("status", "—"))
            )
        t = tta.get(n)
        cells.append(
            "—"
            if not t
            else (f"{t['epochs']} epochs, {t['seconds']:.2f} s" if t["epochs"] else f"not in {t['max_epochs']} epochs")
        )
        rows.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def chart(report, path):
    """Log-scale time per step by case and method (matplotlib; skipped without it)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    names = []
    for case in report["cases"]:
        names += [n for n, r in case["methods"].items() if r["status"] == "ok" and n not in names]
    fig = Figure(figsize=(2.2 + 1.6 * len(report["cases"]), 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(names))
    for k, name in enumerate(names):
        xs, ys = [], []
        for i, case in enumerate(report["cases"]):
            r = case["methods"].get(name, {})
            if r.get("status") == "ok":
                xs.append(i + k * width)
                ys.append(r["median_ms"])
        ax.bar(xs, ys, width, label=name)
    ax.set_xticks(
        [i + 0.4 - width / 2 for i in range(len(report["cases"]))], [c["spec"]["name"] for c in report["cases"]]
    )
    ax.set_yscale("log")
    ax.set_ylabel("median time per step (ms)")
    ax.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.savefig(path, dpi=100)
    return path


def run(
    sizes=("S", "M", "L"),
    custom=None,
    dtype="float32",
    optimizer="adam",
    quick=False,
    out=None,
    only=None,
    memory=True,
    accuracy=True,
    command="reseau bench",
):
    """Benchmark and return the report (and write table.txt, report.json, report.md, chart.png to ``out``)."""
    specs = [Spec(key, *SIZES[key], dtype=dtype, optimizer=optimizer) for key in sizes]
    if custom:
        specs.append(Spec("custom", custom[0], custom[1], custom[2], dtype=dtype, optimizer=optimizer))
    rounds = 3 if quick else 5
    report = {"command": command, "environment": environment(), "cases": []}
    for spec in specs:
        steps = max(1, min(200, int(0.05 / max(1e-6, _rough_seconds(spec)))))
        results = time_spec(spec, rounds, steps, only)
        if memory:
            for name, r in results.items():
                if r["status"] == "ok":
                    r["peak_bytes"] = peak_memory(spec, name)
        report["cases"].append({"spec": spec.as_dict(), "methods": results})
    if accuracy:
        report["time_to_accuracy"] = time_to_accuracy(25 if quick else 60, only)
    if out:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(report, indent=1))
        (out / "report.md").write_text(markdown(report))
        (out / "table.txt").write_text(table(report) + "\n")
        chart(report, out / "chart.png")
    return report


def _rough_seconds(spec):
    """A guess of one step's time (2 flops per multiply-add, about 2 GFLOP/s a core), to pick how
    many steps to time per round."""
    flops = 6 * spec.n * sum(a * b for a, b in zip(spec.sizes[:-1], spec.sizes[1:]))
    return flops / 4e10 + 2e-5


def add_arguments(parser):
    parser.add_argument("--sizes", default="S,M,L", help="built-in cases to run (S, M, L), comma-separated")
    parser.add_argument("--layers", default=None, help="a custom case: layer sizes, e.g. 784,512,10")
    parser.add_argument("--batch-size", type=int, default=128, help="batch of the custom case")
    parser.add_argument("--hidden", default="relu", choices=("relu", "tanh"), help="activation of the custom case")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--optimizer", default="adam", choices=tuple(optim.OPTIMIZERS))
    parser.add_argument("--quick", action="store_true", help="S and M only, fewer rounds (about 2 minutes on 2 cores)")
    parser.add_argument("--out", default="bench-report", help="folder for report.json, report.md, table.txt, chart.png")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    parser.add_argument("--no-accuracy", action="store_true", help="skip time-to-accuracy on digits")


def main_from_args(args) -> int:
    sizes = tuple(s for s in args.sizes.split(",") if s)
    bad = [s for s in sizes if s not in SIZES]
    if bad:
        raise ValueError(f"--sizes {args.sizes!r}: {', '.join(bad)} unknown; expected some of S, M, L")
    if args.quick:
        sizes = tuple(s for s in sizes if s != "L")
    custom = None
    if args.layers:
        try:
            layers = [int(v) for v in args.layers.split(",")]
        except ValueError:
            raise ValueError(
                f"--layers {args.layers!r}: expected comma-separated positive integers, e.g. 784,512,10"
            ) from None
        if len(layers) < 2 or min(layers) < 1 or args.batch_size < 1:
            raise ValueError(f"--layers {args.layers!r} --batch-size {args.batch_size}: expected positive sizes")
        custom = (layers, args.hidden, args.batch_size)
    report = run(
        sizes,
        custom,
        args.dtype,
        args.optimizer,
        args.quick,
        args.out,
        memory=not args.no_memory,
        accuracy=not args.no_accuracy,
        command=" ".join(["reseau bench", *sys.argv[2:]]),
    )
    print(json.dumps(report["environment"], indent=1))
    print(table(report))
    print(f"\nreports in {args.out}/ (report.json, report.md, table.txt, chart.png)")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return main_from_args(parser.parse_args(argv))
