"""``reseau export``: a saved model, its preprocessing included, as one ONNX graph."""

from __future__ import annotations

from pathlib import Path

from ..core.model import load
from .options import check_writable


def cmd_export(args) -> int:
    check_writable("output", args.output)
    try:
        import onnx  # noqa: F401 - checked before the model is read
    except ImportError:
        raise ValueError('export needs the onnx package: pip install "reseau[onnx]"') from None
    model = load(args.model)
    proto = model.to_onnx(args.output)
    names = ", ".join(i.name for i in proto.graph.input)
    meta = {p.key: p.value for p in proto.metadata_props}
    print(
        f"{args.output}: ONNX opset {proto.opset_import[0].version}, inputs {names}; output "
        f"{proto.graph.output[0].name}: {meta['description']} (in the graph's metadata, with the classes "
        "and feature names)"
    )
    return 0


def add_parser(sub):
    """The ``export`` command."""
    export = sub.add_parser(
        "export",
        allow_abbrev=False,
        help="a saved model as ONNX, preprocessing included",
        description="Write a saved model, with its input preprocessing (scaling, one-hot, "
        "imputation), as one ONNX graph for onnxruntime and other ONNX runtimes; inputs are "
        "named after the features (needs reseau[onnx]).",
    )
    export.add_argument("model", type=Path, help="a file written by `reseau train --save` or model.save()")
    export.add_argument("output", type=Path, help="the .onnx file to write")
    export.set_defaults(func=cmd_export)
