"""``reseau.sklearn`` against scikit-learn's own MLP: the same estimator call (``fit``), the same
parameters and data, timed in one run, rounds interleaved with a pause between methods.

    python bench/sklearn_bench.py [--rounds 5] [--max-iter 30] [--out bench/results/sklearn-fit]

Data: the bundled digits (1797 × 64, scaled to [0, 1]), float64 as scikit-learn keeps it, then
float32. Per case: median and minimum seconds of one ``fit``, the speed-up (scikit-learn's median
over reseau's) and the largest weight difference after training (float64: the two libraries make
the same updates, so it is rounding).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

CASES = [  # (name, parameters)
    ("adam, batch auto (200), (100,)", dict(solver="adam", hidden_layer_sizes=(100,))),
    ("adam, batch 32, (100,)", dict(solver="adam", hidden_layer_sizes=(100,), batch_size=32)),
    ("sgd, batch 64, (256, 128)", dict(solver="sgd", hidden_layer_sizes=(256, 128), batch_size=64)),
    ("lbfgs, (100,)", dict(solver="lbfgs", hidden_layer_sizes=(100,))),
]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--max-iter", type=int, default=30)
    p.add_argument("--out", type=Path, default=None, help="write OUT.json and OUT.txt")
    args = p.parse_args(argv)
    from sklearn import neural_network as sk

    from reseau import datasets
    from reseau import sklearn as rs

    X, y = datasets.load("digits")
    X = X / 16.0
    rows, lines = [], []
    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        for name, params in CASES:
            kw = dict(params, max_iter=args.max_iter, tol=0.0, random_state=0)
            times = {"scikit-learn": [], "reseau": []}
            fitted = {}
            for r in range(args.rounds + 1):  # round 0 warms up (numba compiles, caches fill)
                for label, cls in (("scikit-learn", sk.MLPClassifier), ("reseau", rs.MLPClassifier)):
                    time.sleep(0.3)  # OpenBLAS threads spin after a GEMM
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        t0 = time.perf_counter()
                        fitted[label] = cls(**kw).fit(Xd, y)
                        dt = time.perf_counter() - t0
                    if r:
                        times[label].append(dt)
            diff = max(
                float(np.abs(a - b).max()) for a, b in zip(fitted["reseau"].coefs_, fitted["scikit-learn"].coefs_)
            )
            med = {k: statistics.median(v) for k, v in times.items()}
            row = {
                "case": name,
                "dtype": np.dtype(dtype).name,
                "median_s": med,
                "min_s": {k: min(v) for k, v in times.items()},
                "speedup": med["scikit-learn"] / med["reseau"],
                "max_weight_difference": diff,
                "n_iter": int(fitted["reseau"].n_iter_),
            }
            rows.append(row)
            lines.append(
                f"{name:34s} {row['dtype']:8s} sklearn {med['scikit-learn']:7.3f} s  reseau "
                f"{med['reseau']:7.3f} s  speed-up {row['speedup']:5.2f}x  max|dW| {diff:.1e}"
            )
            print(lines[-1], flush=True)
    if args.out:
        meta = {
            "machine": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "rounds": args.rounds,
            "max_iter": args.max_iter,
            "date": time.strftime("%Y-%m-%d"),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
        args.out.with_suffix(".txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
