"""Prediction: ``MLP.predict_proba`` against the other ways to get the same probabilities, and the
CLI's ``reseau predict`` on a large CSV against reading it plus the forward pass.

    python bench/predict_bench.py [--rows 100000] [--rounds 5] [--threads 1,2] [--csv-rows 1000000]
                                  [--out bench/results/predict]

One 64-100-10 relu/softmax float32 network (trained one epoch on random data, ``normalize=None`` so
every method computes the same function), 100,000 rows. Methods, interleaved round by round with a
pause before each (OpenBLAS's threads spin after a GEMM): reseau's ``predict_proba``; onnxruntime
running reseau's own export (``MLP.to_onnx``); scikit-learn's ``MLPClassifier.predict_proba`` with
the same weights; PyTorch under ``no_grad`` (where installed); the forward pass in plain NumPy with
in-place bias, ReLU and softmax. Each at 1 and 2 threads (threadpoolctl for the BLAS and OpenMP
pools, onnxruntime's ``intra_op_num_threads``, ``torch.set_num_threads``). Each method's result is
checked against reseau's before it is timed. Reported: the median seconds per call and the ratios
of the medians of per-round ratios (reseau over the peer).

``--chunk-rows 256,1024,...``: ``predict_proba`` again at each of these chunk sizes.
``--csv-rows``: a CSV of that many rows of the 64 features is written, then timed in separate
processes: ``reseau predict`` on it, against reading it (the CLI's own reader) plus ``predict``
on the table, that again with NumPy's huge-page advice off (``NUMPY_MADVISE_HUGEPAGE=0``); peak
resident memory of each process (``ru_maxrss``).
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout too

import numpy as np  # noqa: E402

import reseau  # noqa: E402
from reseau.benchmark import PAUSE  # noqa: E402

SIZES = [64, 100, 10]


def network(rows):
    """(trained model, X float32)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], rows)
    model = reseau.MLP(SIZES, hidden="relu", output="softmax", normalize=None, seed=0)
    model.fit(X[:5000], y[:5000], epochs=1, batch_size=128, verbose=0)
    return model, X


def peers(model, X, threads):
    """{name: zero-argument callable returning the probabilities}."""
    weights = [(np.asarray(W), np.asarray(b)) for W, b in model.get_weights()]
    methods = {"reseau": lambda: model.predict_proba(X)}
    try:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        session = ort.InferenceSession(model.to_onnx().SerializeToString(), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        index = [o.name for o in session.get_outputs()].index(_probability_output(session))
        methods["onnxruntime"] = lambda: session.run(None, {name: X})[index]
    except ImportError:
        pass
    try:
        import warnings

        from sklearn.neural_network import MLPClassifier

        sk = MLPClassifier(hidden_layer_sizes=tuple(SIZES[1:-1]), max_iter=1, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk.fit(X[:200], np.arange(200) % SIZES[-1])
        sk.coefs_ = [W.astype(np.float32) for W, _ in weights]
        sk.intercepts_ = [b.astype(np.float32) for _, b in weights]
        methods["scikit-learn"] = lambda: sk.predict_proba(X)
    except ImportError:
        pass
    try:
        import torch

        torch.set_num_threads(threads)
        layers = []
        for l, (W, b) in enumerate(weights):
            lin = torch.nn.Linear(*W.shape)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            layers += [lin] + ([torch.nn.ReLU()] if l < len(weights) - 1 else [torch.nn.Softmax(dim=1)])
        net = torch.nn.Sequential(*layers).eval()

        def run_torch():
            with torch.no_grad():
                return net(torch.from_numpy(X)).numpy()

        methods["PyTorch"] = run_torch
    except ImportError:
        pass
    methods["plain NumPy"] = lambda: plain_numpy(weights, X)
    return methods


def _probability_output(session):
    """The name of the export's probability output (the one with a column per class)."""
    outs = session.get_outputs()
    return next((o.name for o in outs if "prob" in o.name.lower()), outs[-1].name)


def plain_numpy(weights, X):
    """The forward pass with in-place bias, ReLU and softmax: the floor a NumPy user writes."""
    A = X
    for l, (W, b) in enumerate(weights):
        Z = A @ W
        Z += b
        if l < len(weights) - 1:
            np.maximum(Z, 0, out=Z)
        A = Z
    A -= A.max(axis=1, keepdims=True)
    np.exp(A, out=A)
    A /= A.sum(axis=1, keepdims=True)
    return A


def time_methods(methods, rounds):
    """{name: [seconds per call per round]}, rounds interleaved, each call after a pause."""
    times = {name: [] for name in methods}
    for r in range(rounds + 1):  # round 0 warms up
        for name, run in methods.items():
            time.sleep(PAUSE)
            t0 = time.perf_counter()
            run()
            if r:
                times[name].append(time.perf_counter() - t0)
    return times


def compare(model, X, threads, rounds):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        methods = peers(model, X, threads)
        expected = methods["reseau"]()
        for name, run in methods.items():
            got = run()
            err = float(np.max(np.abs(np.asarray(got, dtype=np.float64) - expected)))
            if err > 1e-5:
                raise SystemExit(f"{name} disagrees with reseau by {err:.2e}")
        times = time_methods(methods, rounds)
    base = times["reseau"]
    rows = {}
    for name, ts in times.items():
        ratio = statistics.median(r / p for r, p in zip(base, ts))  # reseau's time over the peer's
        rows[name] = {"median_s": statistics.median(ts), "min_s": min(ts), "reseau_over_peer": ratio}
    return rows


def chunk_sweep(model, X, sizes, threads, rounds):
    """{threads: {chunk rows: median ms of predict_proba}}: the inference path at other chunk sizes."""
    from threadpoolctl import threadpool_limits

    inference, chosen, out = model.forward.inference, model.forward.inference.rows, {}
    for t in (int(t) for t in threads.split(",")):
        with threadpool_limits(limits=t):
            out[t] = {}
            for rows in sizes:
                inference.rows = rows
                runs = {"reseau": lambda: model.predict_proba(X)}
                out[t][rows] = statistics.median(time_methods(runs, rounds)["reseau"]) * 1e3
    inference.rows = chosen
    return out


def csv_split(model, rows, workdir):
    """{"reseau predict": (s, peak MiB), "read + forward": (s, peak MiB)} on a CSV of ``rows`` rows."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(2)
    csv = Path(workdir) / "rows.csv"
    block = np.round(rng.standard_normal((rows, SIZES[0])), 4).astype(np.float32)
    pacsv.write_csv(pa.table({f"x{j}": block[:, j] for j in range(SIZES[0])}), str(csv))
    del block
    model_path = Path(workdir) / "model.npz"
    model.save(model_path)
    out = Path(workdir) / "out.csv"
    probe = (
        "import json, resource, sys, time; t = {{'start': time.perf_counter()}}\n{body}\n"
        "t['end'] = time.perf_counter(); peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({{'times': t, 'peak_mib': peak}}))"
    )
    read_forward = probe.format(
        body=(
            "import reseau; from reseau import datasets\n"
            f"m = reseau.load({str(model_path)!r}); t['loaded'] = time.perf_counter()\n"
            f"table = datasets.read_table({str(csv)!r}); t['read'] = time.perf_counter()\n"
            "m.predict(table)"
        )
    )
    cli = probe.format(
        body=(
            "from reseau.cli import main\n"
            f"main(['predict', {str(model_path)!r}, {str(csv)!r}, '--output', {str(out)!r}])"
        )
    )
    result = {}
    no_hugepages = {**os.environ, "NUMPY_MADVISE_HUGEPAGE": "0"}
    for name, code, env in (
        ("read + forward", read_forward, None),
        ("reseau predict", cli, None),
        ("read + forward, NUMPY_MADVISE_HUGEPAGE=0", read_forward, no_hugepages),
    ):
        runs = []
        for _ in range(3):
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
            if done.returncode:
                raise SystemExit(done.stderr[-3000:])
            runs.append(json.loads(done.stdout.splitlines()[-1]))
        t = sorted(runs, key=lambda r: r["times"]["end"] - r["times"]["start"])[1]["times"]  # the median run
        result[name] = {"median_s": t["end"] - t["start"], "peak_mib": max(r["peak_mib"] for r in runs)}
        if "read" in t:
            result[name]["split_s"] = {
                "start-up and load": t["loaded"] - t["start"],
                "read_table": t["read"] - t["loaded"],
                "predict (convert + forward)": t["end"] - t["read"],
            }
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--csv-rows", type=int, default=0)
    p.add_argument("--chunk-rows", default="", help="also time predict_proba at these chunk sizes, e.g. 256,1024,8192")
    p.add_argument("--out", type=Path, default=None, help="write OUT.json and OUT.txt")
    args = p.parse_args(argv)
    model, X = network(args.rows)
    report = {"machine": platform.processor() or platform.machine(), "rows": args.rows, "threads": {}}
    lines = [f"predict_proba on {args.rows:,} rows of a {'-'.join(map(str, SIZES))} float32 network"]
    for threads in (int(t) for t in args.threads.split(",")):
        rows = compare(model, X, threads, args.rounds)
        report["threads"][threads] = rows
        lines.append(f"{threads} thread(s):")
        for name, r in rows.items():
            lines.append(
                f"  {name:<13} {r['median_s'] * 1e3:8.2f} ms (min {r['min_s'] * 1e3:.2f})"
                + ("" if name == "reseau" else f"   reseau = {r['reseau_over_peer']:.2f} x its time")
            )
    if args.chunk_rows:
        sweep = chunk_sweep(model, X, [int(r) for r in args.chunk_rows.split(",")], args.threads, args.rounds)
        report["chunk_rows_ms"] = sweep
        lines.append(f"predict_proba by chunk rows (ms; chosen here: {model.forward.inference.rows}):")
        lines += [f"  {t} thread(s): " + ", ".join(f"{r}: {ms:.1f}" for r, ms in by.items()) for t, by in sweep.items()]
    if args.csv_rows:
        with tempfile.TemporaryDirectory() as workdir:
            split = csv_split(model, args.csv_rows, workdir)
        report["csv"] = {"rows": args.csv_rows, **split}
        lines.append(f"a {args.csv_rows:,}-row CSV, separate processes (median of 3):")
        for name, r in split.items():
            parts = ", ".join(f"{k} {v:.2f} s" for k, v in r.get("split_s", {}).items())
            lines.append(
                f"  {name:<15} {r['median_s']:.2f} s, peak {r['peak_mib']:.0f} MiB" + (f" ({parts})" if parts else "")
            )
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
        args.out.with_suffix(".txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
