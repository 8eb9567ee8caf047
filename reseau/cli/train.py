"""``reseau train``: split the data, fit the preprocessing and the network, report the test part."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import warnings
from pathlib import Path

from .. import backends, optim
from .. import kernels as kernel_tables
from ..backends.host import np
from ..core import hyper
from ..core import targets as target_rules
from ..core.callbacks import EpochSnapshot, ProgressBar
from ..core.columns import ColumnPlan, DataWarning
from ..core.data import split_indices
from ..core.fit_plan import FitOptions
from ..core.model import MLP
from ..core.regularization import auto_l2
from ..core.tables import take_rows
from .common import read_data, target_line
from .options import TRAIN_OPTIONS, check_writable, check_writable_directory, train_options


def cmd_train(args) -> int:
    o = train_options(args)
    check_writable("--save", o["save"])
    check_writable("--plot", o["plot"])
    check_writable_directory("--checkpoint", o["checkpoint"])
    if o["plot"]:
        from ..plots import require_matplotlib

        require_matplotlib("--plot")
    _processes(o)
    if o["resume"] and not o["checkpoint"]:
        raise ValueError("--resume continues from the checkpoints in --checkpoint DIR; give --checkpoint")
    data = read_data(o["data"], o["target"], o["seed"], o["drop"], o["delimiter"], o["encoding"], o["decimal"])
    X, y, description = data.X, data.y, data.description
    if not data.chosen and data.target is not None:
        warnings.warn(
            f"no --target given: predicting the last column, {data.target!r}; name the column to predict "
            "with --target NAME",
            DataWarning,
        )
    task = _task(o, y, data.target)
    (X_train, y_train), test, val = _split(X, y, o, task == "classify")
    if o["data_parallel"]:
        X_train, y_train, val = _even(X_train, y_train, val, backends.workers(o["backend"]))
    model = _model(o, task, X_train, y_train)
    model.contract.name_target(data.target)
    opt, schedule = _optimizer(o), _schedule_object(o)
    print(target_line(data.target, task, y))
    _describe(o, model, task, description, y_train, val, test, opt, schedule)
    fit_args = _fit_args(o, args, opt, schedule, val)
    progress, snapshot = ProgressBar(o["epochs"], quiet=args.quiet), EpochSnapshot()
    t0 = time.perf_counter()
    try:
        history = model.fit(X_train, y_train, callbacks=[progress, snapshot], **fit_args)
    except KeyboardInterrupt:
        progress.close()
        return _interrupted(model, snapshot, o["save"])
    finally:
        progress.close()
    _finish(o, model, history, test, time.perf_counter() - t0, X_train, y_train)
    return 0


def _describe(o, model, task, description, y_train, val, test, opt, schedule):
    """The run's first lines: the data's parts, the network and its training, the inputs."""
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
        f"{'full' if o['batch_size'] is None else o['batch_size']}, {o['epochs']} epochs; {_penalties(o, model)}"
    )
    print(f"inputs: {model.columns.describe()}")


def _penalties(o, model) -> str:
    """The regularisation in force: "l2 0.005 (2/n), no dropout"."""
    l2 = f"l2 {model.l2:.3g}" + (" (2/n, n training rows)" if o["l2"] == "auto" else "")
    l1 = f", l1 {model.l1:g}" if model.l1 else ""
    rates = sorted(set(model.dropout))
    dropout = "no dropout" if not any(rates) else f"dropout {', '.join(f'{r:g}' for r in model.dropout)}"
    return f"{l2}{l1}, {dropout}"


#: MLP.fit's options (core/fit_plan.py's FitOptions) the command line gives in another form:
#: the optimiser and schedule as built objects (lr is in the optimiser), resume as a flag
FIT_TRANSLATED = ("optimizer", "schedule", "lr", "resume", "validation_data", "patience")


def _fit_args(o, args, opt, schedule, val) -> dict:
    """``MLP.fit``'s arguments from the options: each FitOptions field the command line has under
    its own name, then the translated ones (early stopping only with a validation part)."""
    fit_args = {
        f.name: o[f.name] for f in dataclasses.fields(FitOptions) if f.name in o and f.name not in FIT_TRANSLATED
    }
    fit_args.update(
        optimizer=opt,
        schedule=schedule,
        resume=o["checkpoint"] if o["resume"] else None,
        validation_data=val,
        patience=o["early_stopping"],
    )
    if o["early_stopping"] and val is None:
        if hasattr(args, "early_stopping"):
            raise ValueError("--early-stopping watches the validation part; give --val-size above 0")
        fit_args["patience"] = None  # the default's early stopping needs a validation part; --val-size 0 has none
    return fit_args


def _finish(o, model, history, test, seconds, X_train, y_train):
    """The run's last lines: the test part (or the validation figures), early stopping, the saved
    model and the plot."""
    if test is not None:
        _report_test(model, *test, seconds)
    else:
        print(
            f"no test part (--test-size 0); trained in {seconds:.2f} s"
            + "".join(f", {k} {v:.4g}" for k, v in history.last().items() if k.startswith("val_"))
        )
    if history.stopped_epoch:
        print(f"early stopping after epoch {history.stopped_epoch}; best epoch {history.best_epoch}")
    _still_improving(history)
    if o["save"]:
        model.save(o["save"])
        print(f"model saved to {o['save']}")
    if o["plot"]:
        from ..plots import training_report

        two_d = model.sizes[0] == 2 and isinstance(X_train, np.ndarray)
        training_report(model, o["plot"], X=X_train if two_d else None, y=y_train if two_d else None, option="--plot")
        print(f"plot written to {o['plot']}")


def _still_improving(history):
    """A note where the validation loss was lowest at the last epoch (of several): training ended
    while it still improved."""
    losses = history.get("val_loss") or []
    if not history.stopped_epoch and len(losses) >= 5 and losses[-1] <= min(losses):
        warnings.warn(
            f"the validation loss was still falling at the last epoch ({len(losses)}): more epochs (--epochs) may help",
            DataWarning,
        )


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
    if o["clip_norm"] is not None:
        kwargs["clip_norm"] = o["clip_norm"]
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


def _processes(o):
    """Join a distributed run where asked; every process trains, process (rank) 0 reports and saves."""
    rank = 0
    if o["distributed"]:
        if o["backend"] not in (None, "jax"):
            raise ValueError(f"--distributed runs on the jax backend, not {o['backend']!r}")
        o["backend"], o["data_parallel"] = "jax", True
        rank = backends.get("jax").initialize_distributed()
    elif o["data_parallel"] and (o["backend"] or "numpy") != "jax":
        rank = backends.mpi_rank()
    if rank != 0:
        sys.stdout = open(os.devnull, "w")
        o["save"] = o["plot"] = None


def _model(o, task, X_train, y_train):
    """The network the options describe, its preprocessing fitted and its sizes set from the
    training part (the kernels chosen by the run's length, ``kernels.for_run``)."""
    if o["label_smoothing"] and task == "regress":
        raise ValueError(
            f"--label-smoothing {o['label_smoothing']} applies to classes, and --data {o['data']}'s target is a "
            "quantity (a regression); drop the option, or give --task classify"
        )
    options = hyper_options(o, len(y_train), task)
    plan = ColumnPlan(options["normalize"], options["impute"]).fit(X_train)
    kernels = kernel_tables.for_run(
        o["backend"], [plan.width, *o["layers"], 10], len(y_train), o["batch_size"], o["epochs"]
    )
    model = MLP([None, *o["layers"], None], **options, backend=o["backend"], kernels=kernels)
    model.contract.sized(plan, None)  # the plan fitted above, on the training rows
    return model.build(X_train, y_train)


#: MLP's hyper-parameters (core/hyper.py) the command line names otherwise, and its words for None
CLI_NAMES = {"hidden": "activation"}
NONE_WORDS = {"normalize": "none", "impute": "none", "target_scaling": "none", "init": "auto"}


def hyper_options(o, n_train: int, task) -> dict:
    """MLP's hyper-parameters from the command line's options: each option of core/hyper.py's table
    that the command line has (under its name there), "none"/"auto" read as None; l2 "auto" resolved
    as the default optimiser resolves it (2/n); the task as decided from the data."""
    options = {}
    for option in hyper.OPTIONS:
        name = CLI_NAMES.get(option.name, option.name)
        if name in o:
            options[option.name] = None if o[name] == NONE_WORDS.get(option.name) else o[name]
    options["l2"] = auto_l2(n_train, True) if o["l2"] == "auto" else o["l2"]
    return {**options, "task": task}


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


def _even(X, y, val, k):
    """The training part trimmed to a multiple of ``k`` rows (the rest joins the validation part),
    so that every batch, the last one too, splits evenly over k workers."""
    extra = len(y) % k
    if not extra:
        return X, y, val
    keep, moved = np.arange(len(y) - extra), np.arange(len(y) - extra, len(y))
    if val is not None:
        from ..core.tables import concat_rows

        val = (concat_rows(val[0], take_rows(X, moved)), np.concatenate([val[1], y[moved]]))
    print(
        f"note: {extra} training row{'s' * (extra != 1)} moved to the validation part, so that batches split "
        f"evenly over {k} workers"
    )
    return take_rows(X, keep), y[keep], val


#: classes at most, unless --max-classes says more (and at most a fifth of the rows)
MAX_CLASSES = 100


def _task(o, y, name=None):
    """classify or regress: the output head where one is given, else --task, else the target rule;
    a classification's classes checked (``_classes``)."""
    asked = o["task"]
    if o["output"] is not None:
        asked = "regress" if o["output"] == "identity" else "classify"
        if o["task"] is not None and o["task"] != asked:
            raise ValueError(f"--output {o['output']} and --task {o['task']} disagree; give one of them")
    task = target_rules.task(np.asarray(y), asked, "the target")
    if task == "classify" and np.ndim(y) == 1:
        _classes(o, np.asarray(y), "the target" if name is None else repr(name), asked == "classify")
    return task


def _classes(o, y, name, asked):
    """Refuse a quantity read as classes where classes were asked for (more than MAX_CLASSES, or
    than a fifth of the rows, unless --max-classes allows them); note classes of one or two rows."""
    values, counts = np.unique(y.astype(str) if y.dtype == object else y, return_counts=True)
    limit = o["max_classes"] or min(MAX_CLASSES, max(2, len(y) // 5))
    if asked and len(values) > limit:
        raise ValueError(
            f"--data {o['data']}: {name} has {len(values)} distinct values in {len(y)} rows, more than "
            f"{limit} classes; a quantity? give --task regress (or --max-classes {len(values)} to train "
            "that many classes)"
        )
    rare = [(v, c) for v, c in zip(values, counts) if c <= 2]
    if rare and len(rare) <= 5 and len(values) > 2:
        shown = ", ".join(f"class {str(v)!r} has {c} row{'s' if c != 1 else ''}" for v, c in rare)
        warnings.warn(f"{name}: {shown}: a typo, or too few to learn?", DataWarning)


def _report_test(model, X_test, y_test, seconds):
    """The final line: the test part's accuracy (classes) or RMSE and R² (a quantity), under the
    names ``evaluate`` gives them."""
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
            f"test rmse {result['rmse']:.6g} (in the target's units), r2 {result['r2']:.4f}, test mse "
            f"{result['mse']:.6g}, trained in {seconds:.2f} s"
        )


def _balanced_accuracy(prediction, y) -> float:
    """The mean over the classes present in y of each class's recall (right / rows of the class)."""
    y, prediction = np.asarray(y).astype(str), np.asarray(prediction).astype(str)
    if y.ndim != 1:
        return float(np.mean(np.all(y == prediction.reshape(y.shape), axis=1)))
    return float(np.mean([np.mean(prediction[y == c] == c) for c in np.unique(y)]))


def _shown(name, default) -> str:
    """An option's default as one writes it on the command line."""
    if default is None:
        return "full" if name == "batch_size" else "none"
    if isinstance(default, list):
        return ",".join(map(str, default))
    if name == "schedule":
        kind, args = default
        return ":".join([kind, *map(str, args)])
    return str(default)


def add_parser(sub):
    """The ``train`` command: one option per TRAIN_OPTIONS entry, then --config and --quiet."""
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
        train.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=kind,
            choices=choices,
            default=argparse.SUPPRESS,
            help=help_text if "default:" in help_text else f"{help_text} (default: {_shown(name, default)})",
        )
    train.add_argument(
        "--config", type=Path, default=None, help="a TOML file of options (names as above; default: none)"
    )
    train.add_argument("--quiet", action="store_true", help="print only the summary")
    train.set_defaults(func=cmd_train)
