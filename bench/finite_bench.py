"""The finiteness check of a fit's table (core/validation.py's ``all_finite``): one sum of every
entry on one thread against BLAS's row sums X·1, cold (after a pause, as a fit after an idle
moment) and warm (right after), per table size; chooses ``ONE_THREAD_SUM``.

    python bench/finite_bench.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

SHAPES = [(1000, 30), (12800, 30), (1280, 784), (5120, 784)]


def row_sums(X):
    return bool(np.isfinite(X @ np.ones(X.shape[1], X.dtype)).all())


def one_sum(X):
    return bool(np.isfinite(np.add.reduce(X, axis=None)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        X = rng.standard_normal(shape).astype("float32")
        times = {f.__name__: ([], []) for f in (row_sums, one_sum)}
        for _ in range(args.rounds):
            for f in (row_sums, one_sum):
                time.sleep(0.2)
                t0 = time.perf_counter()
                f(X)
                t1 = time.perf_counter()
                f(X)
                times[f.__name__][0].append(t1 - t0)
                times[f.__name__][1].append(time.perf_counter() - t1)
        cells = [
            f"{k} cold {statistics.median(c) * 1e3:.3f} ms, warm {statistics.median(w) * 1e3:.3f} ms"
            for k, (c, w) in times.items()
        ]
        print(f"{shape[0]} x {shape[1]} float32 ({X.size:,} entries): " + "; ".join(cells))


if __name__ == "__main__":
    main()
