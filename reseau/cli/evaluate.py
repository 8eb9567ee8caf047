"""``reseau evaluate``: a saved model's loss and accuracy (or R²) on data."""

from __future__ import annotations

from pathlib import Path

from .. import backends
from ..core.model import load
from .common import r2, read_data
from .options import file_options


def cmd_evaluate(args) -> int:
    model = load(args.model, backend=args.backend)
    X, y, description = read_data(
        args.data, args.target, args.seed, args.drop, args.delimiter, args.encoding, args.decimal
    )
    result = model.evaluate(X, y)
    if "mse" in result:
        result["r2"] = r2(model.predict(X), y)
    print(f"{description.split(':')[0]}: {len(y)} examples; " + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))
    return 0


def add_parser(sub):
    """The ``evaluate`` command and its options."""
    evaluate = sub.add_parser("evaluate", allow_abbrev=False, help="a saved model's loss and accuracy on data")
    evaluate.add_argument("model", type=Path, help="a file written by `reseau train --save` or model.save()")
    evaluate.add_argument("--data", required=True, help="a bundled data set, a generator or a data file")
    evaluate.add_argument("--target", default=None, help="the target column or array (as for train)")
    evaluate.add_argument(
        "--drop", action="append", default=[], metavar="COL", help="a column to leave out (repeatable)"
    )
    file_options(evaluate)
    evaluate.add_argument("--backend", default=None, choices=backends.NAMES + ("auto",))
    evaluate.add_argument("--seed", default=0, type=int, help="seed of generated data")
    evaluate.set_defaults(func=cmd_evaluate)
