"""Where the compiled epoch pays: ``fit`` per step with compiled epochs against the step path,
over networks from the notes' 30-16-1 to M, on NumPy with numba (float32, Adam).

    python bench/epoch_bench.py [--rounds 5] [--backend numpy|jax] [--out bench/results/compiled-epoch]

Per case, in one run, the two fits alternate round by round (a pause before each: OpenBLAS's
threads spin after a GEMM); each round times ``fit(epochs=4)`` over 50 batches an epoch after a
warm fit. Reported: median µs per step of each and the median of the rounds' ratios
(compiled ÷ step path). core/compiled_epoch.py's SMALL_STEP (batch × parameters) is read off
this table: the default compiles where the ratio is below 1. ``--backend jax``: the same on JAX
(its compiled epoch loops over the jitted step), with each method's first fit (compiling) timed too.
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

CASES = [
    ([30, 16, 1], 64, "tanh"),
    ([30, 16, 1], 64, "relu"),
    ([64, 100, 10], 32, "relu"),
    ([64, 100, 10], 200, "relu"),
    ([784, 64, 10], 128, "relu"),
    ([100, 256, 256, 10], 64, "relu"),
    ([784, 256, 256, 10], 128, "relu"),
]
STEPS, EPOCHS = 50, 4


def fitter(sizes, batch, hidden, compile_epoch, backend="numpy"):
    """A warm model (``model.first_fit_s``: the first fit's seconds, compiling) and a function
    timing ``fit(epochs=EPOCHS)`` per step."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch * STEPS, sizes[0])).astype("float32")
    y = rng.integers(0, max(2, sizes[-1]), len(X))
    kernels = {"kernels": "numba"} if backend == "numpy" else {"backend": backend}
    model = reseau.MLP(sizes, hidden=hidden, normalize=None, seed=0, **kernels)
    t0 = time.perf_counter()
    model.fit(X, y, epochs=1, batch_size=batch, optimizer=optim.Adam(1e-3), compile_epoch=compile_epoch)
    model.first_fit_s = time.perf_counter() - t0

    def once():
        time.sleep(benchmark.PAUSE)
        t0 = time.perf_counter()
        model.fit(X, y, epochs=EPOCHS, batch_size=batch, compile_epoch=compile_epoch)
        return (time.perf_counter() - t0) / (EPOCHS * STEPS)

    return model, once


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", default="numpy", choices=["numpy", "jax"])
    parser.add_argument("--out", type=Path, help="write OUT.json and OUT.md")
    args = parser.parse_args(argv)
    rows, lines = [], ["| network | batch | hidden | multiply-adds a step | compiled µs | step path µs | ratio |"]
    lines.append("|---|---|---|---|---|---|---|")
    if args.backend == "jax":
        lines[0] += " first fit, compiled s | first fit, step path s |"
        lines[1] += "---|---|"
    for sizes, batch, hidden in CASES:
        compiled, one = fitter(sizes, batch, hidden, True, args.backend)
        stepped, other = fitter(sizes, batch, hidden, False, args.backend)
        a, b = [], []
        for _ in range(args.rounds):
            a.append(one())
            b.append(other())
        ratio = statistics.median(x / y for x, y in zip(a, b))
        work = batch * compiled.layout.size
        firsts = dict(first_fit_compiled_s=compiled.first_fit_s, first_fit_step_path_s=stepped.first_fit_s)
        rows.append(dict(sizes=sizes, batch=batch, hidden=hidden, work=work, compiled_s=a, step_path_s=b, ratio=ratio))
        rows[-1].update(firsts)
        lines.append(
            f"| {'-'.join(map(str, sizes))} | {batch} | {hidden} | {work:,} | {statistics.median(a) * 1e6:.1f} | "
            f"{statistics.median(b) * 1e6:.1f} | {ratio:.2f} |"
        )
        if args.backend == "jax":
            lines[-1] += f" {compiled.first_fit_s:.2f} | {stepped.first_fit_s:.2f} |"
        print(lines[-1], flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        meta = {"command": " ".join(["python bench/epoch_bench.py", *sys.argv[1:]]), **benchmark.environment()}
        args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
        args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
