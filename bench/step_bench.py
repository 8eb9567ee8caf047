"""Time one training step (forward + backward + Adam, float32) per backend and peer, against the
GEMM-only floor and a plain NumPy step measured in the same run.

    python bench/step_bench.py                      # S, M and L
    python bench/step_bench.py --sizes S,M --json out.json

Sizes (the kernels issue's table):
  S: 30-16-1 tanh/sigmoid, batch 64;  M: 784-256-256-10 relu/softmax, batch 128;
  L: 1024-4096-4096-10 relu/softmax, batch 512.
Methods are interleaved round by round with a short pause between them (OpenBLAS threads spin
after use and slow whatever runs next); medians and minima of per-step times are reported.
Not a test: a benchmark whose ratios are the kernels' performance targets.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout too

import reseau  # noqa: E402
from reseau import optim  # noqa: E402

SIZES = {
    "S": ([30, 16, 1], "tanh", "sigmoid", 64),
    "M": ([784, 256, 256, 10], "relu", "softmax", 128),
    "L": ([1024, 4096, 4096, 10], "relu", "softmax", 512),
}
PAUSE = 0.05


def data(sizes, output, n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]), dtype=np.float32)
    y = rng.integers(0, 2 if output == "sigmoid" else sizes[-1], n)
    return X, y


# ---- methods: each returns a zero-argument callable that runs one step and waits for it ----------

def gemm_floor(sizes, hidden, output, n, xp=np):
    """Just the matrix products of a step, into preallocated outputs (``xp``: numpy or cupy)."""
    rng = np.random.default_rng(0)
    Ws = [xp.asarray(rng.standard_normal(s, dtype=np.float32)) for s in zip(sizes[:-1], sizes[1:])]
    As = [xp.asarray(rng.standard_normal((n, s), dtype=np.float32)) for s in sizes]
    dAs = [xp.empty((n, s), np.float32) for s in sizes]
    dWs = [xp.empty_like(W) for W in Ws]

    def step():
        for l, W in enumerate(Ws):
            xp.matmul(As[l], W, out=As[l + 1])
        for l in reversed(range(len(Ws))):
            xp.matmul(As[l].T, As[l + 1], out=dWs[l])
            if l > 0:
                xp.matmul(As[l + 1], Ws[l].T, out=dAs[l])
    return step


def plain_numpy(sizes, hidden, output, n):
    """The notes' step written plainly with NumPy: new arrays everywhere, Adam per array."""
    model = reseau.MLP(sizes, hidden=hidden, output=output, backend="numpy", seed=0)
    params = [(W.astype(np.float32), b.astype(np.float32)) for W, b in model.get_weights()]
    m = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    v = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    X, y = data(sizes, output, n)
    Y = y.reshape(-1, 1).astype(np.float32) if output == "sigmoid" else np.eye(sizes[-1], dtype=np.float32)[y]
    g = np.tanh if hidden == "tanh" else (lambda z: np.maximum(z, 0))
    t = [0]

    def step():
        t[0] += 1
        As = [X]
        for W, b in params[:-1]:
            As.append(g(As[-1] @ W + b))
        Z = As[-1] @ params[-1][0] + params[-1][1]
        if output == "sigmoid":
            A = 1 / (1 + np.exp(-Z))
        else:
            E = np.exp(Z - Z.max(1, keepdims=True))
            A = E / E.sum(1, keepdims=True)
        dZ = (A - Y) / n
        for l in reversed(range(len(params))):
            W, b = params[l]
            dW, db = As[l].T @ dZ, dZ.sum(0)
            if l > 0:
                dA = dZ @ W.T
                dZ = dA * (1 - As[l] ** 2) if hidden == "tanh" else dA * (As[l] > 0)
            new = []
            for p, gr, mm, vv in zip((W, b), (dW, db), m[l], v[l]):
                mm[...] = 0.9 * mm + 0.1 * gr
                vv[...] = 0.999 * vv + 0.001 * gr * gr
                new.append(p - 1e-3 / (1 - 0.9 ** t[0]) * mm / (np.sqrt(vv) / np.sqrt(1 - 0.999 ** t[0]) + 1e-8))
            params[l] = tuple(new)
    return step


def reseau_step(backend, kernels=None):
    def make(sizes, hidden, output, n):
        model = reseau.MLP(sizes, hidden=hidden, output=output, backend=backend, seed=0, kernels=kernels)
        X, y = data(sizes, output, n)
        model.fit(X[:n], y[:n], epochs=1, batch_size=None, optimizer=optim.Adam(1e-3))  # compile, allocate
        bk = model.backend
        Xd, Yd = bk.asarray(X, dtype=model.dtype), bk.asarray(model._targets(y, n))
        st = {"p": model.params, "s": model.opt_state, "t": 1}

        def step():
            st["p"], st["s"], loss = model._step(st["p"], st["s"], Xd, Yd, st["t"])
            st["t"] += 1
            bk.sync(loss)
        step.model = model
        return step
    return make


def torch_step(sizes, hidden, output, n, device="cpu"):
    import torch
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.Tanh() if hidden == "tanh" else torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    X, y = data(sizes, output, n)
    X = torch.from_numpy(X).to(device)
    if output == "sigmoid":
        target, loss_fn = torch.from_numpy(y.astype(np.float32)).reshape(-1, 1), torch.nn.BCEWithLogitsLoss()
    else:
        target, loss_fn = torch.from_numpy(y), torch.nn.CrossEntropyLoss()
    target = target.to(device)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(X), target)
        loss.backward()
        opt.step()
    return step


def optax_step(sizes, hidden, output, n):
    import jax
    import jax.numpy as jnp
    import optax
    model = reseau.MLP(sizes, hidden=hidden, output=output, backend="numpy", seed=0)
    params = [(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32)) for W, b in model.get_weights()]
    tx = optax.adam(1e-3)
    state = tx.init(params)
    X, y = data(sizes, output, n)
    X, y = jnp.asarray(X), jnp.asarray(y)
    act = jnp.tanh if hidden == "tanh" else jax.nn.relu

    def loss_fn(params):
        A = X
        for W, b in params[:-1]:
            A = act(A @ W + b)
        Z = A @ params[-1][0] + params[-1][1]
        if output == "sigmoid":
            return optax.sigmoid_binary_cross_entropy(Z[:, 0], y.astype(jnp.float32)).mean()
        return optax.softmax_cross_entropy_with_integer_labels(Z, y).mean()

    @jax.jit
    def update(params, state):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    st = {"p": params, "s": state}

    def step():
        st["p"], st["s"], loss = update(st["p"], st["s"])
        loss.block_until_ready()
    return step


def methods():
    found = {"GEMM floor": gemm_floor, "plain NumPy": plain_numpy}
    kernel_variants = reseau.kernels.variants(reseau.backends.get("numpy"))
    if "numba" in kernel_variants:
        found["reseau numpy+numba"] = reseau_step("numpy", "numba")
    found["reseau numpy"] = reseau_step("numpy", "numpy")
    for name in ("jax", "cupy"):
        if reseau.backends.available()[name] == "ok":
            found[f"reseau {name}"] = reseau_step(name)
    try:
        import torch  # noqa: F401
        found["PyTorch CPU"] = torch_step
    except ImportError:
        pass
    try:
        import optax  # noqa: F401
        found["JAX+optax"] = optax_step
    except ImportError:
        pass
    return found


def time_size(key, rounds, steps):
    sizes, hidden, output, n = SIZES[key]
    steppers = {}
    for name, make in methods().items():
        steppers[name] = make(sizes, hidden, output, n)
        for _ in range(2):
            steppers[name]()
    times = {name: [] for name in steppers}
    for _ in range(rounds):
        for name, step in steppers.items():
            time.sleep(PAUSE)
            for _ in range(steps):
                t0 = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t0)
    return steppers, times


def peak_memory(key, kernels=None):
    """tracemalloc peak of the reseau numpy training step (parameters, Adam state, workspaces,
    3 steps on one batch) and its budget: params + grads + Adam state + activations + batch."""
    sizes, hidden, output, n = SIZES[key]
    X, y = data(sizes, output, n)
    warm = reseau.MLP(sizes[:1] + [3, 2][:len(sizes) - 2] + sizes[-1:], hidden=hidden, output=output,
                      backend="numpy", kernels=kernels)
    warm.fit(X[:8], y[:8], epochs=1, batch_size=4, optimizer=optim.Adam())  # compile kernels first
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    model = reseau.MLP(sizes, hidden=hidden, output=output, backend="numpy", seed=0, kernels=kernels)
    model._prepare(optim.Adam(1e-3))
    Xd, Yd = model.backend.asarray(X), model.backend.asarray(model._targets(y, n))
    p, s = model.params, model.opt_state
    for t in range(3):
        p, s, _ = model._step(p, s, Xd, Yd, t)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    P = model.layout.size
    budget = 4 * (4 * P + n * sum(sizes[1:]) + n * sizes[0] + n)
    return peak - base, budget


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        return [{k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                for d in threadpool_info() if d.get("user_api") == "blas"]
    except ImportError:
        return "threadpoolctl not installed"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="S,M,L")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="write the full results here")
    args = parser.parse_args(argv)
    env = {"python": platform.python_version(), "machine": platform.machine(), "numpy": np.__version__,
           "blas": blas_info(), "backends": reseau.backends.available()}
    print(json.dumps(env, indent=1))
    results = {"environment": env, "sizes": {}}
    for key in args.sizes.split(","):
        steps = {"S": 200, "M": 40, "L": 2}[key]
        steppers, times = time_size(key, args.rounds, steps)
        floor = statistics.median(times["GEMM floor"])
        plain = statistics.median(times["plain NumPy"])
        rows = {}
        for name, ts in times.items():
            med = statistics.median(ts)
            rows[name] = {"median_ms": med * 1e3, "min_ms": min(ts) * 1e3, "vs_floor": med / floor,
                          "vs_plain_numpy": med / plain, "steps": len(ts)}
        peak, budget = peak_memory(key)
        results["sizes"][key] = {"methods": rows, "peak_bytes": peak, "budget_bytes": budget}
        print(f"\n{key}: {SIZES[key][0]} {SIZES[key][1]}/{SIZES[key][2]}, batch {SIZES[key][3]}; "
              f"reseau numpy peak memory {peak / 2**20:.2f} MiB = {peak / budget:.2f} x budget")
        print(f"{'method':22} {'median ms':>10} {'min ms':>9} {'x floor':>8} {'x plain':>8}")
        for name, r in rows.items():
            print(f"{name:22} {r['median_ms']:10.4f} {r['min_ms']:9.4f} {r['vs_floor']:8.2f} "
                  f"{r['vs_plain_numpy']:8.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
