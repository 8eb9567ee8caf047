"""``reseau bench``: the same network, data and seed on every backend present and every peer
installed, timed per training step against the GEMM-only floor measured in the same run.

Methods: reseau on numpy (in-place ufuncs and, with numba, one-pass loops), jax (CPU or GPU),
cupy; peers: a plain NumPy step, PyTorch eager with its fused Adam (CPU, and CUDA when present),
a hand-written JAX+optax step, scikit-learn's MLPClassifier. Every method starts from the same
weights and first batch, and its loss on that batch must agree with reseau's reference before it
is timed; one that disagrees is reported as wrong. Methods are interleaved round by round with a
pause between them (OpenBLAS's threads spin after a GEMM). TF32 stays off (JAX matmul precision
"highest", torch allow_tf32 = False, CuPy's default).

Reported per method: median and minimum time per step, ratio to the floor, samples per second,
the first call (compilation included), peak memory (the most resident memory that building the
method and running three steps adds to a fresh process), and, on the bundled digits
data, epochs and seconds to 97 % test accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import optim
from ..core import outputs
from . import peers
from .peers import gemm_floor, methods, plain_numpy, reseau_method, sklearn_method, torch_method
from .report import chart, markdown, summary_markdown, table
from .spec import PAUSE, SIZES, TARGET_ACCURACY, Method, Spec, Unsupported
from .timing import environment, peak_memory, time_spec, time_to_accuracy

# the parts, by job: spec.py (the cases), peers.py (what is timed), timing.py (how), report.py (the output)
__all__ = [
    "PAUSE",
    "SIZES",
    "TARGET_ACCURACY",
    "Method",
    "Spec",
    "Unsupported",
    "add_arguments",
    "chart",
    "environment",
    "gemm_floor",
    "main",
    "main_from_args",
    "markdown",
    "methods",
    "peak_memory",
    "plain_numpy",
    "reseau_method",
    "run",
    "sklearn_method",
    "summary_markdown",
    "table",
    "time_spec",
    "time_to_accuracy",
    "torch_method",
]


def run(
    sizes=("S", "M", "L"),
    custom=None,
    dtype="float32",
    optimizer="adam",
    quick=False,
    out=None,
    only=None,
    memory=True,
    accuracy=True,
    command="reseau bench",
):
    """Benchmark and return the report (and write table.txt, report.json, report.md, chart.png to ``out``)."""
    specs = [Spec(key, *SIZES[key], dtype=dtype, optimizer=optimizer) for key in sizes]
    if custom:
        specs.append(Spec("custom", custom[0], custom[1], custom[2], dtype=dtype, optimizer=optimizer))
    rounds = 3 if quick else 5
    if out:
        check_out(out)
    report = {"command": command, "environment": environment(), "cases": [], "not_installed": peers.missing()}
    for spec in specs:
        steps = max(1, min(200, int(0.05 / max(1e-6, _rough_seconds(spec)))))
        results = time_spec(spec, rounds, steps, only)
        if memory:
            for name, r in results.items():
                if r["status"] == "ok":
                    r["peak_bytes"] = peak_memory(spec, name)
        report["cases"].append({"spec": spec.as_dict(), "methods": results})
    if accuracy:
        report["time_to_accuracy"] = time_to_accuracy(25 if quick else 60, only)
    if out:
        out = outputs.directory(out, "--out")
        outputs.write_text(out / "report.json", json.dumps(report, indent=1), "--out")
        outputs.write_text(out / "report.md", markdown(report), "--out")
        outputs.write_text(out / "table.txt", table(report) + "\n", "--out")
        report["written"] = ["report.json", "report.md", "table.txt"]
        if chart(report, out / "chart.png") is not None:
            report["written"].append("chart.png")
    return report


FILES = ("report.json", "report.md", "table.txt", "chart.png")


def check_out(out):
    """A ValueError before anything is timed when ``--out`` or a report file in it cannot be written."""
    outputs.directory(out, "--out", create=False)
    if Path(out).is_dir():
        for name in FILES:
            outputs.destination(Path(out) / name, "--out")


def _rough_seconds(spec):
    """A guess of one step's time (2 flops per multiply-add, about 2 GFLOP/s a core), to pick how
    many steps to time per round."""
    flops = 6 * spec.n * sum(a * b for a, b in zip(spec.sizes[:-1], spec.sizes[1:]))
    return flops / 4e10 + 2e-5


def add_arguments(parser):
    parser.add_argument(
        "--sizes", default="S,M,L", help="built-in cases to run (S, M, L), comma-separated (default: S,M,L)"
    )
    parser.add_argument("--layers", default=None, help="a custom case: layer sizes, e.g. 784,512,10 (default: none)")
    parser.add_argument("--batch-size", type=int, default=128, help="batch of the custom case (default: 128)")
    parser.add_argument(
        "--hidden", default="relu", choices=("relu", "tanh"), help="activation of the custom case (default: relu)"
    )
    parser.add_argument(
        "--dtype", default="float32", choices=("float32", "float64"), help="the arrays' type (default: float32)"
    )
    parser.add_argument(
        "--optimizer", default="adam", choices=tuple(optim.OPTIMIZERS), help="the update timed (default: adam)"
    )
    parser.add_argument("--quick", action="store_true", help="S and M only, fewer rounds (about 2 minutes on 2 cores)")
    parser.add_argument(
        "--out",
        default="bench-report",
        help="folder for the report (report.json with the environment, report.md, table.txt, and chart.png "
        "where matplotlib is installed) (default: bench-report)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    parser.add_argument("--no-accuracy", action="store_true", help="skip time-to-accuracy on digits")


def main_from_args(args) -> int:
    sizes = tuple(s for s in args.sizes.split(",") if s)
    bad = [s for s in sizes if s not in SIZES]
    if bad:
        raise ValueError(f"--sizes {args.sizes!r}: {', '.join(bad)} unknown; expected some of S, M, L")
    if args.quick:
        sizes = tuple(s for s in sizes if s != "L")
    custom = None
    if args.layers:
        try:
            layers = [int(v) for v in args.layers.split(",")]
        except ValueError:
            raise ValueError(
                f"--layers {args.layers!r}: expected comma-separated positive integers, e.g. 784,512,10"
            ) from None
        if len(layers) < 2 or min(layers) < 1 or args.batch_size < 1:
            raise ValueError(f"--layers {args.layers!r} --batch-size {args.batch_size}: expected positive sizes")
        custom = (layers, args.hidden, args.batch_size)
    report = run(
        sizes,
        custom,
        args.dtype,
        args.optimizer,
        args.quick,
        args.out,
        memory=not args.no_memory,
        accuracy=not args.no_accuracy,
        command=" ".join(["reseau bench", *sys.argv[2:]]),
    )
    env = report["environment"]
    print(f"machine: {env['cpu']}, {env['cores']} cores; the whole environment is in {args.out}/report.json")
    print(table(report))
    print(f"\nwritten to {args.out}/: {', '.join(report.get('written', []))}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return main_from_args(parser.parse_args(argv))
