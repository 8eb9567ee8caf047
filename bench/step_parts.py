"""Where a numpy+numba training step spends its time beyond the GEMMs, by ablation.

    python bench/step_parts.py [--size M] [--rounds 20] [--steps 50]

Versions of the same compiled step (float32, Adam) run interleaved with the GEMM-only floor,
each ``steps`` steps back to back per round, with a pause before each: the full step, and the
full step with one part replaced by a no-op (the optimiser update, the guard's finiteness check,
the bias-gradient sums), then with all three. Times are medians over rounds; ratios to the floor are
medians of per-round ratios (the drift of a shared machine's speed cancels in them), and a
part's cost is the full step's ratio minus that of the step without it, times the floor.
The ablated steps train nothing (without the update the weights stay put): timing only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout too

import numpy as np  # noqa: E402

import reseau  # noqa: E402
from reseau import benchmark, optim  # noqa: E402
from reseau.kernels.numba_kernels import NumbaKernels  # noqa: E402


class WithoutUpdate(NumbaKernels):
    def adam_step(self, p, g, slots, c):
        return p, slots


class WithoutCheck(NumbaKernels):
    def step_ok(self, loss, g):
        return True


class WithoutBiasSums(NumbaKernels):
    def _column_sums(self, dZ, db):
        pass


class WithoutAll(WithoutUpdate, WithoutCheck, WithoutBiasSums):
    pass


VERSIONS = {
    "full step": NumbaKernels,
    "- optimiser update": WithoutUpdate,
    "- guard check": WithoutCheck,
    "- bias sums": WithoutBiasSums,
    "- all three": WithoutAll,
}


def step_runner(spec, table):
    """run(k): k steps of a model whose kernel table is ``table`` (a NumbaKernels subclass)."""
    model = reseau.MLP(spec.sizes, hidden=spec.hidden, output=spec.output, backend="numpy", kernels="numba", seed=0)
    model.set_weights(spec.weights)
    model.kern = table(model.backend)  # before the step is compiled, which reads it
    step, params, state = model.training_step(optim.Adam(spec.lr))
    X, Y = np.asarray(spec.X, dtype=model.dtype), model.encode_targets(spec.y)
    st = {"params": params, "state": state, "t": 0}

    def run(k):
        for _ in range(k):
            st["params"], st["state"], _ = step(st["params"], st["state"], X, Y, st["t"])
            st["t"] += 1

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="M", choices=sorted(benchmark.SIZES))
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)
    spec = benchmark.Spec(args.size, *benchmark.SIZES[args.size])
    runs = {"GEMM floor": benchmark.gemm_floor(spec).run}
    runs.update({name: step_runner(spec, table) for name, table in VERSIONS.items()})
    times = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            time.sleep(benchmark.PAUSE / 2)
            t0 = time.perf_counter()
            run(args.steps)
            times[name].append((time.perf_counter() - t0) / args.steps)
    floor = times["GEMM floor"]
    print(f"{args.size}, {args.rounds} rounds of {args.steps} steps ({benchmark.environment().get('cpu', '')})")
    floor_ms = statistics.median(floor) * 1e3
    ratios = {name: statistics.median(t / f for t, f in zip(ts, floor)) for name, ts in times.items()}
    for name, ts in times.items():
        part = f"   part: {(ratios['full step'] - ratios[name]) * floor_ms:+.4f} ms" if name.startswith("-") else ""
        print(f"{name:20s} {statistics.median(ts) * 1e3:8.4f} ms/step  {ratios[name]:5.3f} x floor{part}")
    return times


if __name__ == "__main__":
    main()
