"""``reseau predict``: a saved model's predictions for a table, as CSV."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from .. import backends, datasets
from ..backends.host import np
from ..core.columns import listed
from ..core.model import load
from ..core.outputs import write_text
from .options import check_writable, file_options


def cmd_predict(args) -> int:
    check_writable("--output", args.output)
    model = load(args.model, backend=args.backend)
    if args.proba and model.output == "identity":
        raise ValueError(
            f"--proba: {args.model} predicts a quantity (a regression), which has no class probabilities; drop --proba"
        )
    table = datasets.read_table(args.input, delimiter=args.delimiter, encoding=args.encoding, decimal=args.decimal)
    names = list(table.column_names)
    for col in args.drop + args.keep:
        if col not in names:
            raise ValueError(
                f"--{'drop' if col in args.drop else 'keep'} {col!r}: {args.input} has no such column; "
                f"its columns are {listed(names, quote=False)}"
            )
    kept = {c: table.column(c).to_pylist() for c in args.keep}
    features = table.select(
        [n for n in names if n not in set(args.drop) | (set(args.keep) - set(model.feature_names or ()))]
    )
    if not (model.columns is not None and model.columns.named):
        features = _positional(args.input, model, features)
    try:
        predictions = model.predict(features)
    except ValueError as exc:
        raise ValueError(f"{args.input}: {exc}") from None
    header = list(args.keep) + ["prediction"]
    columns_out = [kept[c] for c in args.keep]
    if predictions.ndim == 2:
        header = list(args.keep) + [f"prediction_{j}" for j in range(predictions.shape[1])]
        columns_out += [predictions[:, j].tolist() for j in range(predictions.shape[1])]
    else:
        columns_out.append(predictions.tolist())
    if args.proba:
        P = model.predict_proba(features)
        P = np.stack([1 - P, P], 1) if P.ndim == 1 else P
        header += [f"p_{c}" for c in (model.classes or range(P.shape[1]))]
        columns_out += [P[:, j].astype(float).tolist() for j in range(P.shape[1])]
    _write_csv(args.output, header, zip(*columns_out))
    if args.output:
        print(f"{len(predictions)} predictions written to {args.output}")
    return 0


def _positional(path, model, features):
    """A model fitted on an array takes its columns by position: the width must match."""
    if features.num_columns != model.sizes[0] and model.columns is None:
        raise ValueError(
            f"{path}: {features.num_columns} feature columns ({listed(features.column_names)}) but "
            f"the model takes {model.sizes[0]}"
        )
    return features


def _write_csv(path, header, rows):
    """The CSV to stdout, or to ``path`` whole or not at all (written aside, then renamed)."""
    out = io.StringIO(newline="") if path else sys.stdout
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    if path:
        write_text(path, out.getvalue(), "--output")


def add_parser(sub):
    """The ``predict`` command and its options."""
    predict = sub.add_parser(
        "predict",
        allow_abbrev=False,
        help="predictions of a saved model for a table, as CSV",
        description="Predict every row of INPUT with a saved model and write CSV: a prediction column (the "
        "class label, or the quantity in the target's units), with --proba one probability per class, "
        "with --keep columns copied from the input. The preprocessing the model was trained with "
        "(scaling, categories, filling missing cells) is applied as it was.",
    )
    predict.add_argument("model", type=Path, help="a file written by `reseau train --save` or model.save()")
    predict.add_argument(
        "input",
        type=Path,
        help="a CSV, Parquet or Feather file of feature columns (matched to the model's by name when it has a header)",
    )
    predict.add_argument("--output", "-o", type=Path, default=None, help="where to write (default: stdout)")
    predict.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="COL",
        help="a column of the input to ignore, e.g. the target (repeatable)",
    )
    predict.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="COL",
        help="a column of the input to copy beside the predictions, e.g. an id (repeatable)",
    )
    file_options(predict)
    predict.add_argument("--proba", action="store_true", help="add one probability column per class")
    predict.add_argument(
        "--backend",
        default=None,
        choices=backends.NAMES + ("auto",),
        help="array backend to run the model on (default: $RESEAU_BACKEND, else auto)",
    )
    predict.set_defaults(func=cmd_predict)
