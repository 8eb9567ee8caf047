"""``reseau predict``: a saved model's predictions for a table, as CSV.

The table is read whole (``datasets.read_table``), then predicted and written a block of
``BLOCK_ROWS`` rows at a time: one forward pass a block (core/inference.py) gives both the
predictions and, with ``--proba``, the probabilities, and the block's CSV goes out before the next
is converted, so the memory beyond the table read stays that of one block. An ``--output`` file is
replaced whole at the end (core/outputs.py), never left half-written."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import sys
from pathlib import Path

from .. import backends, datasets
from ..backends.host import np
from ..core import outputs
from ..core.messages import listed
from ..core.model import load
from .options import check_writable, file_options

#: rows converted and predicted at a time: at 64 features, ~50 MB of float64 input a block
BLOCK_ROWS = 1 << 16


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
    features = table.select(
        [n for n in names if n not in set(args.drop) | (set(args.keep) - set(model.feature_names or ()))]
    )
    if not (model.columns is not None and model.columns.named):
        features = _positional(args.input, model, features)
    with _sink(args.output) as out:
        for start in range(0, max(table.num_rows, 1), BLOCK_ROWS):
            _write_block(out, args, model, table, features, start, header=start == 0)
    if args.output:
        print(f"{table.num_rows} predictions written to {args.output}")
    return 0


def _write_block(out, args, model, table, features, start, header):
    """Predict rows start .. start + BLOCK_ROWS and write their CSV lines (the header first)."""
    try:
        A = model.forward.output(features.slice(start, BLOCK_ROWS))
    except ValueError as exc:
        raise ValueError(f"{args.input}: {_rows_from(str(exc), start)}") from None
    predictions = model.forward.answers(A)
    columns = {c: table.column(c).slice(start, BLOCK_ROWS) for c in args.keep}
    if predictions.ndim == 2:
        columns.update({f"prediction_{j}": predictions[:, j] for j in range(predictions.shape[1])})
    else:
        columns["prediction"] = predictions
    if args.proba:
        P = np.concatenate([1 - A, A], axis=1) if model.output == "sigmoid" and A.shape[1] == 1 else A
        columns.update({f"p_{c}": P[:, j] for j, c in enumerate(model.classes or range(P.shape[1]))})
    _write_csv(out, columns, header)


def _rows_from(message: str, start: int) -> str:
    """A block's error message with its row numbers ("row 7", "X[7, 2]") counted from the table's
    first row; quoted text (a column's name, a cell) is left as it is."""
    if not start:
        return message
    pieces = re.split(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""", message)  # odd pieces: quoted
    for k in range(0, len(pieces), 2):
        pieces[k] = re.sub(r"\brow (\d+)", lambda m: f"row {int(m.group(1)) + start}", pieces[k])
        pieces[k] = re.sub(r"\[(\d+), ", lambda m: f"[{int(m.group(1)) + start}, ", pieces[k])
    return "".join(pieces)


@contextlib.contextmanager
def _sink(path):
    """A binary stream for the CSV: stdout, or the output file written whole (core/outputs.py)."""
    if not path:
        yield sys.stdout.buffer
        sys.stdout.flush()
        return
    with outputs.writing(path, "--output") as f:
        yield f


def _write_csv(out, columns: dict, header: bool):
    """The columns as CSV lines to the binary stream ``out``: by pyarrow's writer (numbers formatted
    in C, at 1 M rows × 11 columns ~40x the csv module's speed), unquoted; where a text cell holds
    a delimiter, quote or line break, by the csv module, which quotes just those cells."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    t = pa.table(
        {name: pa.array(values) if isinstance(values, np.ndarray) else values for name, values in columns.items()}
    )
    plain = all(
        not (pa.types.is_string(c.type) or pa.types.is_large_string(c.type))
        or not pc.any(pc.match_substring_regex(c, r'[",\r\n]')).as_py()
        for c in t.columns
    ) and not any(re.search(r'[",\r\n]', name) for name in t.column_names)
    if plain:
        pacsv.write_csv(t, out, pacsv.WriteOptions(include_header=header, quoting_style="none", quoting_header="none"))
        return
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    if header:
        writer.writerow(t.column_names)
    writer.writerows(zip(*(c.to_pylist() for c in t.columns)))
    out.write(text.getvalue().encode())


def _positional(path, model, features):
    """A model fitted on an array takes its columns by position: the width must match."""
    if features.num_columns != model.sizes[0] and model.columns is None:
        raise ValueError(
            f"{path}: {features.num_columns} feature columns ({listed(features.column_names)}) but "
            f"the model takes {model.sizes[0]}"
        )
    return features


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
