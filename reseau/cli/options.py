"""The options of ``reseau train`` in one table (type, default, help, choices), their types, the
TOML file that may give them, and the checks that an output path can be written before any work."""

from __future__ import annotations

import argparse
import tomllib

from .. import backends, optim
from ..core import outputs
from ..core import targets as target_rules
from ..core.activations import ACTIVATIONS
from ..core.defaults import DEFAULTS
from ..core.heads import HEADS
from ..core.initializers import INITIALIZERS
from ..core.targets import TASKS
from ..kernels import PRECISIONS


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


TRAIN_OPTIONS = {
    "data": (
        str,
        "breast_cancer",
        "a bundled data set (breast_cancer, digits), a generator (moons, circles, "
        "spirals, xor, blobs) or a file: CSV (also .tsv, gzip), Parquet, Feather, NPZ or IDX",
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
    "max_classes": (
        _positive_int,
        None,
        "with --task classify, allow this many classes (default: refuse more than 100, or than "
        "a fifth of the rows: a quantity read as classes)",
        None,
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
        "weight initialiser (auto: He for ReLU-like layers, LeCun for SELU, Xavier otherwise)",
        ("auto",) + tuple(INITIALIZERS),
    ),
    "optimizer": (str, DEFAULTS["optimizer"], "update rule", OPTIMIZERS),
    "lr": (_number, DEFAULTS["lr"], "learning rate α", None),
    "momentum": (_number, None, "momentum μ (sgd, momentum, nag, rmsprop; default: the optimiser's own)", None),
    "clip_norm": (
        _number,
        None,
        "rescale each step's gradient to this global L2 norm at most (default: no clipping)",
        None,
    ),
    "schedule": (
        _schedule,
        _schedule(DEFAULTS["schedule"]),
        "learning-rate schedule per epoch: none, cosine, step:SIZE:GAMMA, exp:GAMMA, inverse:K, plateau",
        None,
    ),
    "warmup": (_positive_int, None, "linear warm-up over this many epochs first (default: none)", None),
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


def file_options(parser):
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


def train_options(args) -> dict:
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


def check_writable(option, path):
    """A ValueError now, before any work, when ``path`` cannot be written as a file (core/outputs.py:
    a directory, a device, a FIFO or a socket, its directory missing or read-only)."""
    if path is not None:
        outputs.destination(path, option)


def check_writable_directory(option, path):
    """A ValueError now, before any work, when the directory ``path`` (created later if missing)
    could not be written: something else there, or the nearest existing folder above it read-only."""
    if path is not None:
        outputs.directory(path, option, create=False)
