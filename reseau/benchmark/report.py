"""Reports of a benchmark run: the text table, markdown, the summary and the chart."""

from __future__ import annotations

import json

from .spec import TARGET_ACCURACY

COLUMNS = ("median ms", "min ms", "x floor", "samples/s", "first call s", "peak MiB")


def _cells(r):
    """A method's numbers as strings, in COLUMNS order ("" for what was not measured)."""
    peak = r.get("peak_bytes")
    return [
        f"{r['median_ms']:.4f}",
        f"{r['min_ms']:.4f}",
        "" if r.get("vs_floor") is None else f"{r['vs_floor']:.2f}",
        f"{r['samples_per_s']:.0f}",
        f"{r['first_call_s']:.3f}",
        "" if peak is None else f"{peak / 2**20:.1f}",
    ]


def _case_title(spec):
    return (
        f"{spec['name']}: {spec['layers']} {spec['hidden']}, batch {spec['batch']}, {spec['dtype']}, "
        f"{spec['optimizer']}"
    )


def _accuracy_text(r):
    return f"{r['epochs']} epochs, {r['seconds']:.2f} s" if r["epochs"] else f"not reached in {r['max_epochs']} epochs"


#: what each column means, printed under the table
LEGEND = (
    "median ms / min ms: wall time of one training step (lower is better); x floor: that median over "
    "the same GEMMs dispatched from NumPy (1.00 = only the matrix products' cost; lower is better); "
    "samples/s: rows trained a second (higher is better); first call s: the first step, compiling "
    "included; peak MiB: the peak resident memory of a process running only that method."
)


def table(report) -> str:
    """The report for a terminal: the tables, what the columns mean, the peers not installed."""
    lines = []
    for case in report["cases"]:
        lines.append("\n" + _case_title(case["spec"]))
        lines.append(f"{'method':24}" + "".join(f"{c:>13}" for c in COLUMNS))
        for name, r in case["methods"].items():
            lines.append(
                f"{name:24}" + ("".join(f"{c:>13}" for c in _cells(r)) if r["status"] == "ok" else r["status"])
            )
    if report.get("time_to_accuracy"):
        lines.append(f"\ndigits, 64-128-10 relu, Adam 3e-3, batch 32: time to {TARGET_ACCURACY:.0%} test accuracy")
        lines += [f"{name:24} {_accuracy_text(r)}" for name, r in report["time_to_accuracy"].items()]
    lines.append("\n" + LEGEND)
    if report.get("not_installed"):
        lines.append(
            "not timed (not installed here): " + "; ".join(f"{name} ({how})" for name, how in report["not_installed"])
        )
    return "\n".join(lines)


def markdown(report) -> str:
    """The report as Markdown, with the command and the machine."""
    env = report["environment"]
    out = [
        f"# reseau benchmark\n\nCommand: `{report['command']}`  ",
        f"Machine: {env['cpu']}, {env['cores']} cores, {env['machine']}; GPUs: {', '.join(env['gpus']) or 'none'}  ",
        f"Python {env['python']}, NumPy {env['numpy']}, BLAS {json.dumps(env['blas'])}\n",
    ]
    for case in report["cases"]:
        out += [
            f"## {_case_title(case['spec'])}\n",
            "| method | " + " | ".join(COLUMNS) + " |",
            "|---" * (len(COLUMNS) + 1) + "|",
        ]
        for name, r in case["methods"].items():
            cells = _cells(r) if r["status"] == "ok" else [r["status"]] + [""] * (len(COLUMNS) - 1)
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("")
    if report.get("time_to_accuracy"):
        out.append(f"## Time to {TARGET_ACCURACY:.0%} test accuracy on digits\n\n| method | result |\n|---|---|")
        out += [f"| {name} | {_accuracy_text(r)} |" for name, r in report["time_to_accuracy"].items()]
    return "\n".join(out) + "\n"


def summary_markdown(report) -> str:
    """One row per method: ms per step (× floor) for every case, then time to accuracy."""
    cases, tta = report["cases"], report.get("time_to_accuracy", {})
    names = list(dict.fromkeys(n for c in cases for n in c["methods"]))
    rows = [
        "| method | "
        + " | ".join(f"{c['spec']['name']} ms/step (× floor)" for c in cases)
        + f" | digits to {TARGET_ACCURACY:.0%} |",
        "|---" * (len(cases) + 2) + "|",
    ]
    for n in names:
        cells = []
        for c in cases:
            m = c["methods"].get(n, {})
            ok = m.get("status") == "ok"
            cells.append(
                f"{m['median_ms']:.4g} ({m['vs_floor']:.2f})"
                if ok and m.get("vs_floor")
                else (f"{m['median_ms']:.4g}" if ok else m.get("status", "—"))
            )
        t = tta.get(n)
        cells.append(
            "—"
            if not t
            else (f"{t['epochs']} epochs, {t['seconds']:.2f} s" if t["epochs"] else f"not in {t['max_epochs']} epochs")
        )
        rows.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def chart(report, path):
    """Log-scale time per step by case and method (matplotlib; skipped without it)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    names = []
    for case in report["cases"]:
        names += [n for n, r in case["methods"].items() if r["status"] == "ok" and n not in names]
    if not names:
        return None  # nothing was timed: no chart
    fig = Figure(figsize=(2.2 + 1.6 * len(report["cases"]), 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(names))
    for k, name in enumerate(names):
        xs, ys = [], []
        for i, case in enumerate(report["cases"]):
            r = case["methods"].get(name, {})
            if r.get("status") == "ok":
                xs.append(i + k * width)
                ys.append(r["median_ms"])
        ax.bar(xs, ys, width, label=name)
    ax.set_xticks(
        [i + 0.4 - width / 2 for i in range(len(report["cases"]))], [c["spec"]["name"] for c in report["cases"]]
    )
    ax.set_yscale("log")
    ax.set_ylabel("median time per step (ms)")
    ax.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    from ..plots import save_figure

    return save_figure(fig, path, "--out")
