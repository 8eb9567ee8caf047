"""Loading a large numeric CSV: ``reseau.datasets.load_file`` against ``pandas.read_csv`` (and
``numpy.loadtxt`` with --loadtxt), each in a fresh process, in one run.

    python bench/load_bench.py [--rows 2000000] [--cols 10] [--repeats 3] [--out bench/results/load-csv]

Reports the median wall time of the load and the median peak memory it added (peak RSS of the
process minus its RSS after the imports), and the ratios to pandas (medians of per-round ratios,
the methods interleaved in each round). Target: time ≤ 1.5×, peak
memory ≤ 2× pandas.read_csv. The file (about 200 MB at the defaults) is written once to a
temporary folder and removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import resource, sys, time
method, path = sys.argv[1], sys.argv[2]
import numpy as np
if method == "pandas":
    import pandas as pd
elif method == "reseau":
    import pyarrow.csv, pyarrow.compute, reseau.datasets
def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
before = rss_kib()
t0 = time.perf_counter()
if method == "pandas":
    X = pd.read_csv(path).to_numpy()
elif method == "reseau":
    X = reseau.datasets.load_file(path, target=None).X
else:
    X = np.loadtxt(path, delimiter=",", skiprows=1)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(seconds, (peak - before) / 1024, X.shape[0], X.shape[1])
"""


def write_csv(path: Path, rows: int, cols: int, seed: int = 0):
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    g = np.random.default_rng(seed)
    table = pa.table({f"f{j}": np.round(g.normal(50, 20, rows), 6) for j in range(cols)})
    pcsv.write_csv(table, path)


def run_once(method, path):
    out = subprocess.run([sys.executable, "-c", CHILD, method, str(path)], capture_output=True, text=True, check=True)
    seconds, mib, n, d = out.stdout.split()
    time.sleep(0.5)
    return float(seconds), float(mib), [int(n), int(d)]


def measure(methods, path, repeats):
    """Each round runs every method once, in turn, so that the machine's drift hits them alike;
    the ratios to pandas are medians of the per-round ratios."""
    runs = {m: [] for m in methods}
    shapes = {}
    for _ in range(repeats):
        for m in methods:
            seconds, mib, shapes[m] = run_once(m, path)
            runs[m].append((seconds, mib))
    results = {}
    for m in methods:
        ratios = [r[0] / p[0] for r, p in zip(runs[m], runs["pandas"])]
        memory = [r[1] / p[1] for r, p in zip(runs[m], runs["pandas"])]
        results[m] = {
            "seconds": statistics.median(r[0] for r in runs[m]),
            "peak_mib": statistics.median(r[1] for r in runs[m]),
            "x_pandas": statistics.median(ratios),
            "x_pandas_memory": statistics.median(memory),
            "runs": runs[m],
            "shape": shapes[m],
        }
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--cols", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loadtxt", action="store_true", help="also time numpy.loadtxt (slow)")
    parser.add_argument("--out", type=Path, default=None, help="write load-csv.json and .txt here")
    args = parser.parse_args(argv)
    methods = ["pandas", "reseau"] + (["loadtxt"] if args.loadtxt else [])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        write_csv(path, args.rows, args.cols)
        size_mb = path.stat().st_size / 1e6
        results = measure(methods, path, args.repeats)
    lines = [
        f"{args.rows} rows x {args.cols} columns, {size_mb:.0f} MB CSV; {platform.processor() or platform.machine()},"
        f" {os.cpu_count()} cores; medians of {args.repeats} rounds of fresh processes (ratios: medians of "
        "the per-round ratios)",
        f"{'method':10} {'seconds':>8} {'x pandas':>9} {'peak MiB':>9} {'x pandas':>9}",
    ]
    for m, r in results.items():
        lines.append(
            f"{m:10} {r['seconds']:8.2f} {r['x_pandas']:9.2f} {r['peak_mib']:9.0f} {r['x_pandas_memory']:9.2f}"
        )
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "load-csv.txt").write_text(text + "\n")
        (args.out / "load-csv.json").write_text(json.dumps({"size_mb": size_mb, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
