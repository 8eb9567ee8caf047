"""What ``fit`` costs over the raw step it runs, and what a second ``fit(lr=...)`` costs on JAX.

    python bench/fit_bench.py [--sizes S,M] [--rounds 9] [--pause 0.2] [--json out.json]

Per size (S: 30-16-1 tanh/sigmoid, batch 64; M: 784-256-256-10 relu/softmax, batch 128; float32,
Adam, numpy+numba), in one run, four methods timed alike: each round runs, with a pause before
each, the GEMM-only floor (reseau.benchmark's, the GEMMs dispatched from Python), the raw reseau
step on one batch (the same ``training_step`` the step path runs), ``MLP.fit`` through the public
API as it runs by default (compiled epochs, core/compiled_epoch.py) and ``fit(compile_epoch=False)``
(the step path), 5 epochs of 40 (M) or 200
(S) batches (shuffles, gathers, the guard's book, the running accuracy, History, callbacks), each
for the same number of steps back to back. The floor and ``fit`` are each timed a second time
right after their first run, with no pause ("warm"): the pause leaves a cold machine, which the
floor, reusing one batch, barely pays, and fit, touching its table, its Python and its compiled
code again, pays in full (on the shared 2-core VM of bench/results/README.md, S through fit after
0.05 s idle 1.41x the floor, after 0.2 s 1.36-2.70x, after 1.5 s 4.44x; warm 0.98-1.07x); the
warm ratio is that cost apart.
A fifth method, "floor over the table", runs the floor's products with each step's first input
the next batch of a table as large as fit's (a view, in order: no gather), so it reads the data
once an epoch as fit must; ``fit`` against it is the cold ratio with the data's first pass in both.
Times are medians over rounds of the time per step;
ratios are medians over rounds of each round's ratio (the three ran seconds apart, so the drift
of a shared machine's speed cancels in them). The floor and the raw step reuse one batch that
stays in cache; fit reads a fresh batch from the training set at every step, as training does.
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


def fit_per_step(spec, epochs=1, compile_epoch=None):
    """Seconds per step of model.fit over STEPS[spec] batches (after a first fit compiled it all);
    ``compile_epoch=False``: the step path (today's default before the compiled epoch)."""
    n_steps = STEPS[spec.name]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((spec.n * n_steps, spec.sizes[0])).astype(spec.dtype)
    y = rng.integers(0, 2, len(X)) if spec.output == "sigmoid" else rng.integers(0, spec.sizes[-1], len(X))
    model = spec.model("numpy", kernels="numba", normalize=None)
    opt = optim.Adam(1e-3)
    model.fit(X, y, epochs=1, batch_size=spec.n, optimizer=opt, compile_epoch=compile_epoch)  # warm: kernels

    def once():
        t0 = time.perf_counter()
        model.fit(X, y, epochs=epochs, batch_size=spec.n, compile_epoch=compile_epoch)  # the same optimiser
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


#: seconds idle before each method (``--pause``): OpenBLAS's threads spin after a GEMM
PAUSE = [benchmark.PAUSE]


def per_step(run, steps, pause=True):
    """Seconds per step of ``run(steps)``, after a pause (OpenBLAS's threads spin after a GEMM);
    ``pause=False``: right away (warm, after the same method's run)."""
    if pause:
        time.sleep(PAUSE[0])
    t0 = time.perf_counter()
    run(steps)
    return (time.perf_counter() - t0) / steps


def time_size(key, rounds):
    """{floor, raw step, fit}: per-step times of each round, the three interleaved."""
    spec = benchmark.Spec(key, *benchmark.SIZES[key])
    steps = STEPS[key] * 5
    fit, stepwise = fit_per_step(spec, epochs=5), fit_per_step(spec, epochs=5, compile_epoch=False)
    methods = {
        "floor": benchmark.gemm_floor(spec).run,
        "floor over the table": benchmark.gemm_floor(spec, table_rows=spec.n * STEPS[key]).run,
        "raw step": benchmark.reseau_method("numpy", "numba")(spec).run,
        "fit": lambda k: fit(),
        "fit step path": lambda k: stepwise(),
    }
    times = {name: [] for name in [*methods, "floor warm", "fit warm"]}
    for _ in range(rounds):
        for name, run in methods.items():
            times[name].append(per_step(run, steps))
            if name in ("floor", "fit"):
                times[f"{name} warm"].append(per_step(run, steps, pause=False))
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="S,M")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--pause", type=float, default=benchmark.PAUSE, help="seconds idle before each method")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    PAUSE[0] = args.pause
    results = {"environment": benchmark.environment(), "pause_s": args.pause, "sizes": {}}
    lines = []
    for key in args.sizes.split(","):
        times = time_size(key, args.rounds)
        floor, raw, through_fit = (statistics.median(times[k]) * 1e3 for k in ("floor", "raw step", "fit"))

        def ratio(a, b):
            return statistics.median(x / y for x, y in zip(times[a], times[b]))

        ratios = {
            "fit/raw step": ratio("fit", "raw step"),
            "fit/floor": ratio("fit", "floor"),
            "raw step/floor": ratio("raw step", "floor"),
            "fit step path/floor": ratio("fit step path", "floor"),
            "fit/fit step path": ratio("fit", "fit step path"),
            "fit warm/floor warm": ratio("fit warm", "floor warm"),
            "fit/floor over the table": ratio("fit", "floor over the table"),
        }
        results["sizes"][key] = {
            "floor_ms": floor,
            "raw_step_ms": raw,
            "fit_per_step_ms": through_fit,
            "ratios": ratios,
            "runs_ms": {k: [t * 1e3 for t in v] for k, v in times.items()},
        }
        lines.append(
            f"{key}: floor {floor:.4f} ms, raw step {raw:.4f} ms, fit per step {through_fit:.4f} ms; fit = "
            f"{ratios['fit/raw step']:.2f} x raw step, {ratios['fit/floor']:.2f} x floor "
            f"(raw step {ratios['raw step/floor']:.2f} x floor); the step path through fit "
            f"{ratios['fit step path/floor']:.2f} x floor: the compiled epoch takes "
            f"{ratios['fit/fit step path']:.2f} x its time; warm (no pause before): fit "
            f"{ratios['fit warm/floor warm']:.2f} x floor; against the floor over the table: "
            f"{ratios['fit/floor over the table']:.2f}"
        )
    try:
        first, new_lr, same = jax_refit()
        results["jax_refit_s"] = {"first": first, "new_lr": new_lr, "same_optimizer": same}
        lines.append(
            f"JAX (S data, one epoch): first fit {first:.3f} s, fit(lr=...) {new_lr * 1e3:.1f} ms, same "
            f"optimiser {same * 1e3:.1f} ms: a new lr adds {(new_lr - same) * 1e3:.1f} ms"
        )
    except reseau.BackendUnavailableError as exc:
        lines.append(f"JAX: skipped ({exc})")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps({**results, "summary": lines}, indent=1))
    return results


if __name__ == "__main__":
    main()
