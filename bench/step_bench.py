"""Time one training step (forward + backward + Adam, float32) per backend and peer, against the
GEMM-only floor and a plain NumPy step measured in the same run.

    python bench/step_bench.py                      # S, M and L
    python bench/step_bench.py --sizes S,M --json out.json

Sizes (the kernels issue's table):
  S: 30-16-1 tanh/sigmoid, batch 64;  M: 784-256-256-10 relu/softmax, batch 128;
  L: 1024-4096-4096-10 relu/softmax, batch 512.
The methods and their timing are reseau.benchmark's (``reseau bench`` has more: peak memory of
every method, time to accuracy, reports); this script adds the NumPy step's memory budget and
the ratios to the plain NumPy step that the kernels' targets are stated in.
"""

from __future__ import annotations

import argparse
import json
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout too

import reseau  # noqa: E402
from reseau import benchmark, optim  # noqa: E402

SIZES = {
    key: (sizes, hidden, "sigmoid" if sizes[-1] == 1 else "softmax", n)
    for key, (sizes, hidden, n) in benchmark.SIZES.items()
}


def peak_memory(key, kernels=None):
    """tracemalloc peak of the reseau numpy training step (parameters, Adam state, workspaces,
    3 steps on one batch) and its budget: params + grads + Adam state + activations + batch."""
    sizes, hidden, output, n = SIZES[key]
    spec = benchmark.Spec(key, sizes, hidden, n)
    X, y = spec.X, spec.y
    warm = reseau.MLP(
        sizes[:1] + [3, 2][: len(sizes) - 2] + sizes[-1:],
        hidden=hidden,
        output=output,
        backend="numpy",
        kernels=kernels,
    )
    warm.fit(X[:8], y[:8], epochs=1, batch_size=4, optimizer=optim.Adam())  # compile kernels first
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    model = reseau.MLP(sizes, hidden=hidden, output=output, backend="numpy", seed=0, kernels=kernels)
    step, p, s = model.training_step(optim.Adam(1e-3))  # numpy: the flat buffers themselves
    Xd, Yd = model.backend.asarray(X), model.backend.asarray(model.encode_targets(y))
    for t in range(3):
        p, s, _ = step(p, s, Xd, Yd, t)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    P = model.layout.size
    budget = 4 * (4 * P + n * sum(sizes[1:]) + n * sizes[0] + n)
    return peak - base, budget


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="S,M,L")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="write the full results here")
    args = parser.parse_args(argv)
    env = benchmark.environment()
    print(json.dumps(env, indent=1))
    results = {"environment": env, "sizes": {}}
    for key in args.sizes.split(","):
        steps = {"S": 200, "M": 40, "L": 2}[key]
        rows = benchmark.time_spec(benchmark.Spec(key, *benchmark.SIZES[key]), args.rounds, steps)
        plain = rows["plain NumPy"]["median_ms"]
        for r in rows.values():
            if r["status"] == "ok":
                r["vs_plain_numpy"] = r["median_ms"] / plain
        peak, budget = peak_memory(key)
        results["sizes"][key] = {"methods": rows, "peak_bytes": peak, "budget_bytes": budget}
        sizes, hidden, output, n = SIZES[key]
        print(
            f"\n{key}: {sizes} {hidden}/{output}, batch {n}; "
            f"reseau numpy peak memory {peak / 2**20:.2f} MiB = {peak / budget:.2f} x budget"
        )
        print(f"{'method':22} {'median ms':>10} {'min ms':>9} {'x floor':>8} {'x plain':>8}")
        for name, r in rows.items():
            if r["status"] != "ok":
                print(f"{name:22} {r['status']}")
                continue
            print(
                f"{name:22} {r['median_ms']:10.4f} {r['min_ms']:9.4f} {r['vs_floor']:8.2f} {r['vs_plain_numpy']:8.2f}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
