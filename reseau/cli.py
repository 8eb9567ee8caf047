"""The ``reseau`` command line (also ``python -m reseau``): train, evaluate, predict, info."""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import os
import platform
import sys
import time
import tomllib
from pathlib import Path

from . import backends, datasets, optim
from .backends.host import np
from .core import targets as target_rules
from .core.activations import ACTIVATIONS
from .core.callbacks import EpochSnapshot, ProgressBar
from .core.columns import ColumnPlan, DataWarning, listed
from .core.data import split_indices
from .core.defaults import DEFAULTS
from .core.heads import HEADS
from .core.initializers import INITIALIZERS
from .core.model import MLP, load
from .core.regularization import auto_l2
from .core.serialize import atomic_write
from .core.tables import take_rows
from .core.targets import TASKS
from .core.train import TrainingDivergedError
from .kernels import PRECISIONS

# ---- option types -----------------------------------------------------------------------------


def _int_list(text) -> list[int]:
    if isinstance(text, list):
        text = ",".join(str(v) for v in text)
    try:
        sizes = [int(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of positive integers like 64,32")
    return sizes


def _positive_int(text) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = 0
    if value < 1 or (isinstance(text, float) and text != value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _batch_size(text):
    if text in ("full", None):
        return None
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer or 'full'") from None


def _seed(text) -> int:
    """a non-negative integer"""
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative; expected a non-negative integer")
    return value


def _patience(text):
    """a positive integer, or none"""
    return None if str(text).lower() == "none" else _positive_int(text)


def _delimiter(text) -> str:
    text = {"tab": "\t", "\\t": "\t"}.get(text, text)
    if not isinstance(text, str) or len(text) != 1 or text in '"\r\n':
        raise argparse.ArgumentTypeError(f"{text!r} is not one character (e.g. , ; | or tab)")
    return text


def _number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _l2(text):
    """auto | a number >= 0"""
    return "auto" if text == "auto" else _number(text)


def _rate(text) -> float:
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate in [0, 1)")
    return value


def _schedule(text):
    """none | cosine | step:SIZE:GAMMA | exp:GAMMA | inverse:K | plateau"""
    parts = str(text).split(":")
    try:
        kind, args = parts[0], [float(p) for p in parts[1:]]
        if kind == "none" and not args:
            return "none"
        if (
            kind in ("cosine", "plateau")
            and not args
            or kind == "step"
            and len(args) == 2
            or kind in ("exp", "inverse")
            and len(args) == 1
        ):
            return (kind, args)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a schedule; expected none, cosine, step:SIZE:GAMMA, exp:GAMMA, inverse:K or plateau"
    )


OPTIMIZERS = tuple(optim.OPTIMIZERS)
# name: (type, default, help, choices)
TRAIN_OPTIONS = {
    "data": (
        str,
        "breast_cancer",
        "a bundled data set (breast_cancer, digits), a generator (moons, circles, "
        "spirals, xor, blobs) or a CSV/NPZ/IDX file",
        None,
    ),
    "target": (
        str,
        None,
        "the target: a column name or index, an NPZ array name, the labels' IDX file "
        "(default: the last column / array 'y')",
        None,
    ),
    "drop": (str, [], "a column to leave out of the features, e.g. an id (repeatable)", None),
    "delimiter": (_delimiter, None, "the CSV delimiter (default: detected among , ; tab |)", None),
    "encoding": (
        str,
        "utf-8",
        "the CSV file's text encoding, e.g. cp1252 or latin-1 (default: UTF-8, with or without a byte-order mark)",
        None,
    ),
    "decimal": (
        str,
        None,
        "the decimal mark of the CSV file's numbers (default: a comma where a ; tab or | "
        "file writes them so, else a point)",
        (".", ","),
    ),
    "task": (
        str,
        None,
        "classify or regress (default: text, boolean and few-valued integer targets are "
        "classes, floats and many-valued integers a quantity)",
        TASKS + tuple(target_rules.ALIASES),
    ),
    "impute": (
        str,
        DEFAULTS["impute"],
        "missing cells: median (numbers; most frequent category for "
        "text) fitted on the training part, or none to refuse them",
        ("median", "none"),
    ),
    "target_scaling": (
        str,
        DEFAULTS["target_scaling"],
        "a quantity as the target: standard learns (y − mean)/sd, "
        "fitted on the training part, and predicts in the target's units; none learns y as it is",
        ("standard", "none"),
    ),
    "layers": (_int_list, list(DEFAULTS["hidden_layers"]), "hidden layer sizes, comma-separated (e.g. 64,32)", None),
    "activation": (str, DEFAULTS["hidden"], "hidden activation", ACTIVATIONS),
    "output": (
        str,
        None,
        "output head (default: sigmoid for 2 classes, softmax for more, identity for a quantity)",
        HEADS,
    ),
    "init": (
        str,
        "auto",
        "weight initialiser (auto: He for ReLU-like layers, Xavier otherwise)",
        ("auto",) + tuple(INITIALIZERS),
    ),
    "optimizer": (str, DEFAULTS["optimizer"], "update rule", OPTIMIZERS),
    "lr": (_number, DEFAULTS["lr"], "learning rate α", None),
    "momentum": (_number, None, "momentum μ (sgd, momentum, nag, rmsprop)", None),
    "schedule": (
        _schedule,
        _schedule(DEFAULTS["schedule"]),
        "learning-rate schedule per epoch: none, cosine, step:SIZE:GAMMA, exp:GAMMA, inverse:K, plateau",
        None,
    ),
    "warmup": (_positive_int, None, "linear warm-up over this many epochs first", None),
    "epochs": (_positive_int, DEFAULTS["epochs"], "passes over the training data", None),
    "batch_size": (
        _batch_size,
        DEFAULTS["batch_size"],
        "mini-batch size; 'full' for batch gradient descent, 1 for stochastic",
        None,
    ),
    "dropout": (_rate, 0.0, "dropout rate of every hidden layer", None),
    "l1": (_number, 0.0, "L1 penalty on the weights", None),
    "l2": (_l2, DEFAULTS["l2"], "L2 penalty λ on the weights (auto: 2/n for n training rows)", None),
    "label_smoothing": (
        _rate,
        0.0,
        "label smoothing ε: training targets (1 − ε)·T + ε/K, K classes (classification only)",
        None,
    ),
    "class_weight": (
        str,
        None,
        "balanced: class c weighs n/(k·n_c) in the training loss, so rare classes count "
        "as much as common ones (default: every row weighs 1)",
        ("balanced",),
    ),
    "normalize": (
        str,
        DEFAULTS["normalize"],
        "numeric input scaling fitted on the training part",
        ("robust", "minmax", "standard", "none"),
    ),
    "early_stopping": (
        _patience,
        DEFAULTS["early_stopping"],
        "stop after this many epochs without a better "
        "validation loss, keeping the best epoch's weights (none: run every epoch, keep the last)",
        None,
    ),
    "test_size": (
        _rate,
        0.2,
        "fraction held out, stratified, for the final test (read once, at the end); 0 "
        "trains on the rest without a test part",
        None,
    ),
    "val_size": (_rate, 0.1, "fraction held out, stratified, for the per-epoch val_* figures and early stopping", None),
    "backend": (str, None, "array backend (default: $RESEAU_BACKEND, else auto)", backends.NAMES + ("auto",)),
    "dtype": (str, DEFAULTS["dtype"], "float32 or float64", ("float32", "float64")),
    "precision": (
        str,
        "fp32",
        "GEMM arithmetic: fp32, tf32 (TF32 tensor cores) or bf16 (bfloat16 operands, "
        "float32 sums; weights, optimiser state and loss stay float32); tf32 and bf16 on jax and cupy",
        PRECISIONS,
    ),
    "seed": (_seed, DEFAULTS["seed"], "seed of the weights, split, shuffles and generated data", None),
    "data_parallel": (
        bool,
        False,
        "split every batch over JAX's local devices, or over MPI ranks "
        "(mpirun -n N reseau train --data-parallel ...; numpy or cupy backend)",
        None,
    ),
    "distributed": (
        bool,
        False,
        "join a multi-process JAX run (JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, "
        "JAX_PROCESS_ID) and split every batch over all its devices",
        None,
    ),
    "cuda_graph": (
        bool,
        False,
        "record each training step in a CUDA graph and replay it (cupy backend; for small models)",
        None,
    ),
    "on_divergence": (
        str,
        "stop",
        "what a step with a NaN/inf loss or gradient does: stop (keep the last good step's weights) or skip it",
        ("stop", "skip"),
    ),
    "checkpoint": (
        str,
        None,
        "write checkpoints (weights, optimiser state, schedule, data order, generator) "
        "to this directory, atomically, the newest 3 kept",
        None,
    ),
    "checkpoint_every": (_positive_int, None, "a checkpoint every this many steps (default: each epoch)", None),
    "resume": (
        bool,
        False,
        "continue from the newest checkpoint in --checkpoint, to the weights an "
        "uninterrupted run reaches (same options and data)",
        None,
    ),
    "save": (str, None, "write the trained model to this file", None),
    "plot": (str, None, "write training curves (and the decision boundary for 2-D data) to this PNG", None),
}


class _Parser(argparse.ArgumentParser):
    """argparse, with a user error as one line on stderr (the option, the value, where help is) and
    exit status 2, as every other user error of the CLI."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="reseau",
        allow_abbrev=False,
        description="Train multilayer perceptrons from first principles on NumPy, JAX or "
        "CuPy. Run `reseau train` for the notes' network on the bundled breast-cancer data.",
    )
    parser.add_argument("--version", action="version", version=f"reseau {_package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    train = sub.add_parser(
        "train",
        allow_abbrev=False,
        help="train a network and report its test accuracy",
        description="Train a network: the data are split (stratified) into training, validation and test "
        "parts; the preprocessing (scaling, one-hot encoding of text columns, imputation) is fitted on "
        "the training part; progress and the validation figures are shown per epoch, and the test part, "
        "read once, ends the run. With no options: a 30-16-1 relu/sigmoid network, He init, Adam with "
        "lr 0.003 on a cosine schedule over 100 epochs in mini-batches of 32, inputs robust-scaled, the best "
        "epoch on the validation part kept, on the breast-cancer data. Every option can also come "
        "from a TOML file (--config), the command line winning.",
    )
    for name, (kind, default, help_text, choices) in TRAIN_OPTIONS.items():
        if kind is bool:
            train.add_argument(
                f"--{name.replace('_', '-')}", dest=name, action="store_true", default=argparse.SUPPRESS, help=help_text
            )
            continue
        if name == "drop":
            train.add_argument(
                "--drop", dest="drop", action="append", default=argparse.SUPPRESS, metavar="COL", help=help_text
            )
            continue
        shown = (
            "full"
            if name == "batch_size" and default is None
            else (",".join(map(str, default)) if isinstance(default, list) else default)
        )
        train.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=kind,
            choices=choices,
            default=argparse.SUPPRESS,
            help=f"{help_text} (default: {shown})" if shown is not None else help_text,
        )
    train.add_argument("--config", type=Path, default=None, help="a TOML file of options (names as above)")
    train.add_argument("--quiet", action="store_true", help="print only the summary")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", allow_abbrev=False, help="a saved model's loss and accuracy on data")
    evaluate.add_argument("model", type=Path, help="a file written by `reseau train --save` or model.save()")
    evaluate.add_argument("--data", required=True, help="a bundled data set, a generator or a data file")
    evaluate.add_argument("--target", default=None, help="the target column or array (as for train)")
    evaluate.add_argument(
        "--drop", action="append", default=[], metavar="COL", help="a column to leave out (repeatable)"
    )
    _file_options(evaluate)
    evaluate.add_argument("--backend", default=None, choices=backends.NAMES + ("auto",))
    evaluate.add_argument("--seed", default=0, type=int, help="seed of generated data")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = sub.add_parser("predict", allow_abbrev=False, help="predictions of a saved model for a table, as CSV")
    predict.add_argument("model", type=Path)
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
    _file_options(predict)
    predict.add_argument("--proba", action="store_true", help="add one probability column per class")
    predict.add_argument("--backend", default=None, choices=backends.NAMES + ("auto",))
    predict.set_defaults(func=cmd_predict)

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

    bench = sub.add_parser(
        "bench",
        allow_abbrev=False,
        help="time the training step on every backend and peer installed",
        description="Benchmark one training step (forward, backward, update) of the same "
        "network, data and seed on every backend present and every peer installed "
        "(PyTorch, JAX+optax, scikit-learn), against the GEMM-only floor measured in the "
        "same run; plus time to 97 % test accuracy on the digits data. Each method must "
        "compute the reference loss on the first batch before it is timed.",
    )
    from .benchmark import add_arguments

    add_arguments(bench)
    bench.set_defaults(func=cmd_bench)

    info = sub.add_parser("info", allow_abbrev=False, help="backends available here, devices, versions and BLAS")
    info.set_defaults(func=cmd_info)
    return parser


def _file_options(parser):
    """--delimiter, --encoding and --decimal, as train has them (one table: TRAIN_OPTIONS)."""
    for name in ("delimiter", "encoding", "decimal"):
        kind, default, help_text, choices = TRAIN_OPTIONS[name]
        parser.add_argument(f"--{name}", type=kind, default=default, choices=choices, help=help_text)


def _toml_value(name, kind, value):
    if name == "drop":
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
            return [str(v) for v in value]
        raise argparse.ArgumentTypeError("expected a column name or a list of them")
    return kind(value)


def _options(args) -> dict:
    """Defaults, then the TOML file, then the command line."""
    options = {name: spec[1] for name, spec in TRAIN_OPTIONS.items()}
    if args.config is not None:
        try:
            table = tomllib.loads(args.config.read_text())
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"--config {args.config}: cannot read it as TOML ({exc})") from None
        for key, value in table.items():
            name = key.replace("-", "_")
            if name not in TRAIN_OPTIONS:
                raise ValueError(
                    f"--config {args.config}: unknown option {key!r}; expected one of {', '.join(TRAIN_OPTIONS)}"
                )
            kind, _, _, choices = TRAIN_OPTIONS[name]
            try:
                value = _toml_value(name, kind, value)
            except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
                raise ValueError(f"--config {args.config}: {key} = {value!r}: {exc}") from None
            if choices and value not in choices:
                raise ValueError(f"--config {args.config}: {key} = {value!r}; expected one of {', '.join(choices)}")
            options[name] = value
    options.update({name: getattr(args, name) for name in TRAIN_OPTIONS if hasattr(args, name)})
    return options


def _data(name, target, seed, drop=(), delimiter=None, encoding="utf-8", decimal=None):
    """(X, y, description) from a bundled set, a generator or a file: X an array or, for files,
    the table of feature columns (names kept); y the targets as the file holds them (text stays
    text)."""
    if name in datasets.NAMES or name in datasets.GENERATORS:
        if drop:
            raise ValueError(f"--drop applies to data files; --data {name} is built in")
        if name in datasets.NAMES:
            import pyarrow as pa

            d = datasets.load(name)  # as a table: the model keeps the feature names
            return pa.table({n: d.X[:, j] for j, n in enumerate(d.feature_names)}), d.y, d.description
        X, y = datasets.GENERATORS[name](seed=seed)
        return X, y, f"generated {name} data (seed {seed})"
    if not Path(name).exists():
        raise ValueError(
            f"--data {name!r} is not a bundled data set ({', '.join(datasets.NAMES)}), a generator "
            f"({', '.join(datasets.GENERATORS)}) or an existing file"
        )
    target = -1 if target is None and not name.lower().endswith(".npz") else target
    if isinstance(target, str) and target.lstrip("-").isdigit():
        target = int(target)
    d = datasets.load_file(name, target=target, drop=drop, delimiter=delimiter, encoding=encoding, decimal=decimal)
    if d.y is None:
        raise ValueError(f"--data {name}: no target found; name it with --target")
    y = d.y
    if d.target_names and not all(n.lstrip("-").isdigit() for n in d.target_names):
        y = np.asarray(d.target_names, dtype=object)[d.y]  # text labels: keep the text as the class values
    return (d.table if d.table is not None else d.X), y, d.description


def _split(X, y, o, classify):
    """Training, validation and test parts (stratified for classes), from the run's seed."""
    fractions = ([o["test_size"]] if o["test_size"] else []) + ([o["val_size"]] if o["val_size"] else [])
    if sum(fractions) >= 1:
        raise ValueError(
            f"--test-size {o['test_size']} and --val-size {o['val_size']} leave no training data; "
            "expected a sum below 1"
        )
    labels = np.asarray(y).astype(str) if classify and np.ndim(y) == 1 else np.zeros(len(y))
    parts = split_indices(labels, fractions, o["seed"], stratify=classify) if fractions else [np.arange(len(y))]
    if any(len(p) == 0 for p in parts):
        if classify and np.ndim(y) == 1:
            values, counts = np.unique(labels, return_counts=True)
            if np.mean(counts == 1) > 0.5:  # the cause: classes of one row each, not the row count
                raise ValueError(
                    f"--data {o['data']}: the target has {len(values)} classes in {len(y)} rows, "
                    f"{int(np.sum(counts == 1))} of them a single row; a quantity? give --task regress"
                )
        raise ValueError(
            f"--data {o['data']}: {len(y)} rows are too few for training, validation and test parts "
            "(see --test-size, --val-size)"
        )
    parts = [(take_rows(X, p), np.asarray(y)[p]) for p in parts]
    if not o["test_size"]:  # no test part: the caller tests elsewhere (e.g. cross-validation)
        parts.insert(1, None)
    return parts + ([] if o["val_size"] else [None])


def _optimizer(o):
    name = o["optimizer"]
    kwargs = {"lr": o["lr"]}
    if o["momentum"] is not None:
        if name not in ("sgd", "momentum", "nag", "rmsprop"):
            raise ValueError(f"--momentum does not apply to the {name} optimiser")
        kwargs["momentum"] = o["momentum"]
    return optim.OPTIMIZERS[name](**kwargs)


def _schedule_object(o):
    spec = o["schedule"]
    schedule = None
    if spec != "none":
        kind, args = spec
        schedule = {
            "cosine": lambda: optim.CosineAnnealing(o["epochs"]),
            "step": lambda: optim.StepDecay(int(args[0]), args[1]),
            "exp": lambda: optim.ExponentialDecay(args[0]),
            "inverse": lambda: optim.InverseTimeDecay(args[0]),
            "plateau": lambda: optim.ReduceOnPlateau(),
        }[kind]()
    if o["warmup"]:
        if isinstance(schedule, optim.ReduceOnPlateau):
            raise ValueError("--warmup cannot precede the plateau schedule")
        schedule = optim.Warmup(o["warmup"], schedule)
    return schedule


def cmd_train(args) -> int:
    o = _options(args)
    _writable("--save", o["save"])
    _writable("--plot", o["plot"])
    _writable_directory("--checkpoint", o["checkpoint"])
    if o["plot"]:
        from .plots import require_matplotlib

        require_matplotlib("--plot")
    _processes(o)
    if o["resume"] and not o["checkpoint"]:
        raise ValueError("--resume continues from the checkpoints in --checkpoint DIR; give --checkpoint")
    X, y, description = _data(o["data"], o["target"], o["seed"], o["drop"], o["delimiter"], o["encoding"], o["decimal"])
    task = _task(o, y)
    (X_train, y_train), test, val = _split(X, y, o, task == "classify")
    if o["data_parallel"]:
        X_train, y_train, val = _even(X_train, y_train, val, _workers(o))
    model = _model(o, task, X_train, y_train)
    opt, schedule = _optimizer(o), _schedule_object(o)
    parts = (
        f"{len(y_train)} training, {0 if val is None else len(val[1])} validation and "
        f"{0 if test is None else len(test[1])} test examples"
    )
    print(
        f"{description.split(':')[0]}: {parts}, {len(model.feature_names)} columns"
        + (f", {len(model.classes or [0, 1])} classes" if task == "classify" else "")
    )
    print(
        f"network {model.sizes}, hidden {o['activation']}, output {model.output}, init {model.init[0]}; "
        f"backend {model.backend.name}, {o['dtype']}; {opt!r}"
        f"{'' if schedule is None else f', schedule {schedule!r}'}; batch size "
        f"{'full' if o['batch_size'] is None else o['batch_size']}, {o['epochs']} epochs"
    )
    print(f"inputs: {model.columns.describe()}")
    fit_args = dict(
        epochs=o["epochs"],
        batch_size=o["batch_size"],
        optimizer=opt,
        schedule=schedule,
        data_parallel=o["data_parallel"],
        on_divergence=o["on_divergence"],
        checkpoint=o["checkpoint"],
        checkpoint_every=o["checkpoint_every"],
        resume=o["checkpoint"] if o["resume"] else None,
        cuda_graph=o["cuda_graph"],
        validation_data=val,
        patience=o["early_stopping"],
        class_weight=o["class_weight"],
    )
    if o["early_stopping"] and val is None:
        if hasattr(args, "early_stopping"):
            raise ValueError("--early-stopping watches the validation part; give --val-size above 0")
        fit_args["patience"] = None  # the default's early stopping needs a validation part; --val-size 0 has none
    progress, snapshot = ProgressBar(o["epochs"], quiet=args.quiet), EpochSnapshot()
    t0 = time.perf_counter()
    try:
        history = model.fit(X_train, y_train, callbacks=[progress, snapshot], **fit_args)
    except KeyboardInterrupt:
        progress.close()
        return _interrupted(model, snapshot, o["save"])
    finally:
        progress.close()
    seconds = time.perf_counter() - t0
    if test is not None:
        _report_test(model, *test, seconds)
    else:
        print(
            f"no test part (--test-size 0); trained in {seconds:.2f} s"
            + "".join(f", {k} {v:.4g}" for k, v in history.last().items() if k.startswith("val_"))
        )
    if history.stopped_epoch:
        print(f"early stopping after epoch {history.stopped_epoch}; best epoch {history.best_epoch}")
    if o["save"]:
        model.save(o["save"])
        print(f"model saved to {o['save']}")
    if o["plot"]:
        from .plots import training_report

        two_d = model.sizes[0] == 2 and isinstance(X_train, np.ndarray)
        training_report(model, o["plot"], X=X_train if two_d else None, y=y_train if two_d else None)
        print(f"plot written to {o['plot']}")
    return 0


#: parameters × rows × epochs below which the NumPy kernels beat numba's start-up (~0.7 s to import
#: numba and load its cached loops, against ~25 % less time a step; measured on the CI machine kind)
NUMBA_WORTH = 1e11


def _kernels(o, n_in, n_rows):
    """None (the backend's fastest) for long runs; the NumPy kernels for short ones on the NumPy
    backend, where numba's start-up would cost more than its faster steps save."""
    sizes = [n_in, *o["layers"], 10]
    params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    name = o["backend"] or os.environ.get("RESEAU_BACKEND") or "auto"
    if name != "numpy" and not (name == "auto" and importlib.util.find_spec("cupy") is None):
        return None  # another backend, or auto where CuPy may take a GPU
    return None if params * n_rows * o["epochs"] >= NUMBA_WORTH else "numpy"


def _processes(o):
    """Join a distributed run where asked; every process trains, process (rank) 0 reports and saves."""
    rank = 0
    if o["distributed"]:
        if o["backend"] not in (None, "jax"):
            raise ValueError(f"--distributed runs on the jax backend, not {o['backend']!r}")
        o["backend"], o["data_parallel"] = "jax", True
        rank = backends.get("jax").initialize_distributed()
    elif o["data_parallel"] and (o["backend"] or "numpy") != "jax":
        rank = _mpi_rank()
    if rank != 0:
        sys.stdout = open(os.devnull, "w")
        o["save"] = o["plot"] = None


def _model(o, task, X_train, y_train):
    """The network the options describe, its preprocessing fitted and its sizes set from the
    training part (the kernels chosen by the run's length, see ``_kernels``)."""
    normalize, impute = (None if o[k] == "none" else o[k] for k in ("normalize", "impute"))
    plan = ColumnPlan(normalize, impute).fit(X_train)
    model = MLP(
        [None, *o["layers"], None],
        hidden=o["activation"],
        output=o["output"],
        task=task,
        init=None if o["init"] == "auto" else o["init"],
        backend=o["backend"],
        dtype=o["dtype"],
        seed=o["seed"],
        dropout=o["dropout"],
        l1=o["l1"],
        label_smoothing=o["label_smoothing"],
        l2=auto_l2(len(y_train), True) if o["l2"] == "auto" else o["l2"],
        normalize=normalize,
        impute=impute,
        kernels=_kernels(o, plan.width, len(y_train)),
        precision=o["precision"],
        target_scaling=None if o["target_scaling"] == "none" else o["target_scaling"],
    )
    model.columns = plan
    return model.build(X_train, y_train)


def _interrupted(model, snapshot, save) -> int:
    """Ctrl-C: one line saying where training stopped; the last completed epoch's model saved to
    --save when given; exit status 130."""
    where = f"interrupted in epoch {model.epoch + 1} (after {model.step_count} steps)"
    if save and snapshot.restore(model):
        model.save(save)
        where += f"; the model of epoch {snapshot.epoch} saved to {save}"
    elif save:
        where += "; no epoch had completed, nothing saved"
    print(f"reseau: {where}", file=sys.stderr)
    return 130


def _workers(o) -> int:
    """How many devices (JAX) or MPI ranks split every batch."""
    if o["backend"] == "jax":
        return backends.get("jax").device_count()
    from .backends import mpi

    return mpi.world().size


def _even(X, y, val, k):
    """The training part trimmed to a multiple of ``k`` rows (the rest joins the validation part),
    so that every batch, the last one too, splits evenly over k workers."""
    extra = len(y) % k
    if not extra:
        return X, y, val
    keep, moved = np.arange(len(y) - extra), np.arange(len(y) - extra, len(y))
    if val is not None:
        from .core.tables import concat_rows

        val = (concat_rows(val[0], take_rows(X, moved)), np.concatenate([val[1], y[moved]]))
    print(
        f"note: {extra} training row{'s' * (extra != 1)} moved to the validation part, so that batches split "
        f"evenly over {k} workers"
    )
    return take_rows(X, keep), y[keep], val


def _task(o, y):
    """classify or regress: the output head where one is given, else --task, else the target rule."""
    if o["output"] is not None:
        task = "regress" if o["output"] == "identity" else "classify"
        if o["task"] is not None and o["task"] != task:
            raise ValueError(f"--output {o['output']} and --task {o['task']} disagree; give one of them")
        return target_rules.task(np.asarray(y), task, "the target")
    return target_rules.task(np.asarray(y), o["task"], "the target")


def _report_test(model, X_test, y_test, seconds):
    """The final line: the test part's accuracy (classes) or mse and R² (a quantity)."""
    result = model.evaluate(X_test, y_test)
    if "accuracy" in result:
        right = round(result["accuracy"] * len(y_test))
        print(
            f"test accuracy {result['accuracy']:.4f} ({right}/{len(y_test)}), balanced accuracy "
            f"{_balanced_accuracy(model.predict(X_test), y_test):.4f}, test loss {result['loss']:.4f}, "
            f"trained in {seconds:.2f} s"
        )
    else:
        print(
            f"test mse {result['mse']:.6g}, R² {_r2(model.predict(X_test), y_test):.4f}, test loss "
            f"{result['loss']:.6g}, trained in {seconds:.2f} s"
        )


def _balanced_accuracy(prediction, y) -> float:
    """The mean over the classes present in y of each class's recall (right / rows of the class)."""
    y, prediction = np.asarray(y).astype(str), np.asarray(prediction).astype(str)
    if y.ndim != 1:
        return float(np.mean(np.all(y == prediction.reshape(y.shape), axis=1)))
    return float(np.mean([np.mean(prediction[y == c] == c) for c in np.unique(y)]))


def _r2(prediction, y) -> float:
    """R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², over every target column."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    prediction = np.asarray(prediction, dtype=np.float64).reshape(y.shape)
    total = float(((y - y.mean(axis=0)) ** 2).sum())
    return 1.0 - float(((y - prediction) ** 2).sum()) / total if total > 0 else float("nan")


def _mpi_rank() -> int:
    try:
        from .backends import mpi

        return mpi.world().rank
    except backends.BackendUnavailableError:
        return 0


def cmd_evaluate(args) -> int:
    model = load(args.model, backend=args.backend)
    X, y, description = _data(args.data, args.target, args.seed, args.drop, args.delimiter, args.encoding, args.decimal)
    result = model.evaluate(X, y)
    if "mse" in result:
        result["r2"] = _r2(model.predict(X), y)
    print(f"{description.split(':')[0]}: {len(y)} examples; " + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))
    return 0


def cmd_predict(args) -> int:
    _writable("--output", args.output)
    model = load(args.model, backend=args.backend)
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
        atomic_write(path, out.getvalue().encode())


def cmd_export(args) -> int:
    _writable("output", args.output)
    try:
        import onnx  # noqa: F401 - checked before the model is read
    except ImportError:
        raise ValueError('export needs the onnx package: pip install "reseau[onnx]"') from None
    model = load(args.model)
    proto = model.to_onnx(args.output)
    names = ", ".join(i.name for i in proto.graph.input)
    print(
        f"{args.output}: ONNX opset {proto.opset_import[0].version}, inputs {names}; output "
        f"{proto.graph.output[0].name}"
    )
    return 0


def cmd_bench(args) -> int:
    from .benchmark import main_from_args

    return main_from_args(args)


def cmd_info(args) -> int:
    import reseau

    print(
        f"reseau {reseau.__version__}, Python {platform.python_version()} on {platform.machine()}, "
        f"NumPy {np.__version__}"
    )
    for name, status in backends.available().items():
        if status == "ok":
            bk = backends.get(name)
            print(f"{name:6} {bk.version():10} {', '.join(bk.devices())}")
        else:
            print(f"{name:6} unavailable: {status}")
    kernels = reseau.kernels.variants(backends.get("numpy"))
    print(f"numpy kernels: {kernels[0]}" + ("" if "numba" in kernels else ' (pip install "reseau[cpu]" for numba)'))
    try:
        from threadpoolctl import threadpool_info

        for lib in threadpool_info():
            if lib.get("user_api") == "blas":
                print(
                    f"BLAS   {lib.get('internal_api')} {lib.get('version')} ({lib.get('architecture')}), "
                    f"{lib.get('num_threads')} threads"
                )
    except ImportError:
        print("BLAS   (pip install threadpoolctl to see which)")
    return 0


def _package_version() -> str:
    import reseau

    return reseau.__version__


def _writable(option, path):
    """A ValueError now, before any work, when ``path`` cannot be written: its directory missing or
    read-only, or the path a directory."""
    if path is None:
        return
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ValueError(f"{option} {path}: is a directory; expected a file path")
    if not folder.is_dir():
        raise ValueError(f"{option} {path}: the directory {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{option} {path}: the directory {folder} is not writable")


def _writable_directory(option, path):
    """A ValueError now, before any work, when the directory ``path`` (created if missing) could not
    be written: a file there, or the nearest existing folder above it not writable."""
    if path is None:
        return
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path}: is a file; expected a directory")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{option} {path}: {existing} is a file, so no directory can be made there")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path}: the directory {existing} is not writable")


def _note(message, category, filename, lineno, file=None, line=None):
    """Warnings about the data (imputed cells, unseen categories) as one line each."""
    prefix = "note" if issubclass(category, DataWarning) else category.__name__
    print(f"reseau: {prefix}: {message}", file=sys.stderr)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    import warnings

    shown, warnings.showwarning = warnings.showwarning, _note
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the try, not at interpreter exit
        return code
    except BrokenPipeError:  # `reseau info | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (ValueError, backends.BackendUnavailableError) as exc:
        print(f"reseau: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that could not be written or read: a full disk, permissions
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"reseau: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except TrainingDivergedError as exc:  # a run that failed, not a bad command: exit 1
        print(f"reseau: {exc}", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = shown
