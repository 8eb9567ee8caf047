"""What ``fit`` costs over the raw step it runs, and what a second ``fit(lr=...)`` costs on JAX.

    python bench/fit_bench.py [--sizes S,M] [--rounds 5] [--json out.json]

Per size (S: 30-16-1 tanh/sigmoid, batch 64; M: 784-256-256-10 relu/softmax, batch 128; float32,
Adam, numpy+numba), measured in one run, interleaved, medians over rounds:
- the GEMM-only floor and the raw reseau step on one batch (reseau.benchmark's methods);
- ``MLP.fit`` through the public API, 5 epochs of 40 (M) or 200 (S) batches, per step: shuffles,
  gathers, the guard's book, the epoch's running accuracy, the History.
Targets: fit per step ≤ 1.1 × the raw step at S and M; M through fit ≤ 1.3 × the GEMM floor.
JAX: a first fit (compiles), a second fit with a new learning rate, and a fit with the same
optimiser object; the second's extra time over the third is what a recompile would cost
(target ≤ 10 ms).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout too

import numpy as np  # noqa: E402

import reseau  # noqa: E402
from reseau import benchmark, optim  # noqa: E402

STEPS = {"S": 200, "M": 40}


def fit_per_step(spec, epochs=1):
    """Seconds per step of model.fit over STEPS[spec] batches (after a first fit compiled it all)."""
    n_steps = STEPS[spec.name]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((spec.n * n_steps, spec.sizes[0])).astype(spec.dtype)
    y = (rng.integers(0, 2, len(X)) if spec.output == "sigmoid" else rng.integers(0, spec.sizes[-1], len(X)))
    model = reseau.MLP(spec.sizes, hidden=spec.hidden, output=spec.output, backend="numpy", kernels="numba",
                       normalize=None, seed=0)
    opt = optim.Adam(1e-3)
    model.fit(X, y, epochs=1, batch_size=spec.n, optimizer=opt)  # warm: kernels, workspaces

    def once():
        t0 = time.perf_counter()
        model.fit(X, y, epochs=epochs, batch_size=spec.n)  # continues with the same optimiser
        return (time.perf_counter() - t0) / (epochs * n_steps)
    return once


def jax_refit():
    """(first fit s, refit with a new lr s, refit with the same optimiser s) on JAX, S-sized."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((640, 30)).astype("float32")
    y = rng.integers(0, 2, 640)
    model = reseau.MLP([30, 16, 1], hidden="tanh", backend="jax", normalize=None, seed=0)
    out = []
    for kwargs in ({"lr": 0.1}, {"lr": 0.05}, {}):
        t0 = time.perf_counter()
        model.fit(X, y, epochs=1, batch_size=64, **kwargs)
        out.append(time.perf_counter() - t0)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="S,M")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    results = {"environment": benchmark.environment(), "sizes": {}}
    lines = []
    for key in args.sizes.split(","):
        spec = benchmark.Spec(key, *benchmark.SIZES[key])
        rows = benchmark.time_spec(spec, args.rounds, STEPS[key], only=["reseau numpy+numba"])
        fit = fit_per_step(spec, epochs=5)
        fits = []
        for _ in range(args.rounds):
            time.sleep(benchmark.PAUSE)
            fits.append(fit())
        floor, raw = rows["GEMM floor"]["median_ms"], rows["reseau numpy+numba"]["median_ms"]
        through_fit = statistics.median(fits) * 1e3
        results["sizes"][key] = {"floor_ms": floor, "raw_step_ms": raw, "fit_per_step_ms": through_fit,
                                 "fit_runs_ms": [f * 1e3 for f in fits]}
        lines.append(f"{key}: floor {floor:.4f} ms, raw step {raw:.4f} ms, fit per step {through_fit:.4f} ms = "
                     f"{through_fit / raw:.2f} x raw step, {through_fit / floor:.2f} x floor")
    try:
        first, new_lr, same = jax_refit()
        results["jax_refit_s"] = {"first": first, "new_lr": new_lr, "same_optimizer": same}
        lines.append(f"JAX (S data, one epoch): first fit {first:.3f} s, fit(lr=...) {new_lr * 1e3:.1f} ms, same "
                     f"optimiser {same * 1e3:.1f} ms: a new lr adds {(new_lr - same) * 1e3:.1f} ms")
    except reseau.BackendUnavailableError as exc:
        lines.append(f"JAX: skipped ({exc})")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps({**results, "summary": lines}, indent=1))
    return results


if __name__ == "__main__":
    main()
