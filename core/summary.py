"""``MLP.summary()``: the layers as a table (shapes, activations, initialisers, parameter counts),
then the input preprocessing plan, the classes and the regularisation."""

from __future__ import annotations

from . import hyper


def summary(model) -> str:
    """The layers as a table: shapes, activations, initialisers, parameter counts; then the
    input preprocessing plan and the classes."""
    model.require_built("summary")
    rows = [("layer", "W shape", "b", "activation", "init", "params")]
    for l, ((n_in, n_out), g, init) in enumerate(zip(model.layout.shapes, model.activations, model.init), 1):
        name = model.output if l == len(model.layout.shapes) else g
        rows.append((str(l), f"{n_in} x {n_out}", str(n_out), name, init, f"{n_in * n_out + n_out:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    extra = hyper.summary_words(model)  # core/hyper.py: dropout, l1 and l2, label smoothing where set
    if model.columns is not None:
        lines.append(f"inputs: {model.columns.describe()}")
    elif model.normalize:
        lines.append(f"inputs: normalised ({model.normalize}) once fitted")
    if model.classes is not None:
        shown = ", ".join(map(repr, model.classes[:10])) + (", ..." if len(model.classes) > 10 else "")
        lines.append(f"classes: {shown}")
    if model.steps.path is not None:
        lines.append(f"training: {model.steps.path}")
    lines.append(
        f"total {model.layout.size:,} parameters; backend {model.backend.name}, {model.dtype_name}"
        + ("" if model.precision == "fp32" else f" ({model.precision} GEMMs)")
        + "".join(f"; {e}" for e in extra)
    )
    return "\n".join(lines)
