"""``reseau evaluate``: a saved model's loss and accuracy (or R²) on data."""

from __future__ import annotations

from pathlib import Path

from .. import backends
from ..core.model import load
from .common import read_data, target_line
from .options import file_options


def cmd_evaluate(args) -> int:
    model = load(args.model, backend=args.backend)
    data = _data(args, model)
    X, y = data.X, data.y
    result = model.evaluate(X, y)
    print(target_line(data.target, "regress" if "mse" in result else "classify", y))
    print(
        f"{data.description.split(':')[0]}: every one of its {len(y)} rows scored; "
        + ", ".join(f"{k} {v:.4f}" for k, v in result.items())
    )
    return 0


def _data(args, model):
    """``--data`` with the target the model was trained to predict, where ``--target`` names none."""
    target = args.target
    if target is None and model.target_name is not None and Path(args.data).exists():
        target = model.target_name
    try:
        return read_data(args.data, target, args.seed, args.drop, args.delimiter, args.encoding, args.decimal)
    except ValueError as exc:
        if args.target is None and target is not None and f"no column named {target!r}" in str(exc):
            raise ValueError(
                f"--data {args.data} has no column {target!r}, the target {args.model} was trained to "
                "predict; name the target column with --target"
            ) from None
        raise


def add_parser(sub):
    """The ``evaluate`` command and its options."""
    evaluate = sub.add_parser(
        "evaluate",
        allow_abbrev=False,
        help="a saved model's loss and accuracy (or R²) on data",
        description="Score a saved model on every row of --data (no split: give it held-out rows): the "
        "loss and accuracy for classification, the loss, MSE and R² for regression. The target column "
        "is the one the model was trained to predict, unless --target names another.",
    )
    evaluate.add_argument("model", type=Path, help="a file written by `reseau train --save` or model.save()")
    evaluate.add_argument(
        "--data", required=True, help="a bundled data set, a generator or a data file (CSV, Parquet, Feather, NPZ, IDX)"
    )
    evaluate.add_argument(
        "--target",
        default=None,
        help="the target column (name or index); default: the column the model was trained to predict",
    )
    evaluate.add_argument(
        "--drop", action="append", default=[], metavar="COL", help="a column to leave out (repeatable)"
    )
    file_options(evaluate)
    evaluate.add_argument(
        "--backend",
        default=None,
        choices=backends.NAMES + ("auto",),
        help="array backend to run the model on (default: $RESEAU_BACKEND, else auto)",
    )
    evaluate.add_argument("--seed", default=0, type=int, help="seed of generated data (default: 0)")
    evaluate.set_defaults(func=cmd_evaluate)
