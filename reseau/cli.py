"""The ``reseau`` command line (also ``python -m reseau``): train, evaluate, predict, info."""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
import tomllib
from pathlib import Path

from . import backends, datasets, optim
from .backends.host import np
from .core.activations import ACTIVATIONS
from .core.heads import HEADS
from .core.initializers import INITIALIZERS
from .core.model import MLP, load
from .core.train import TrainingDivergedError


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


def _number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


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
        if kind in ("cosine", "plateau") and not args or kind == "step" and len(args) == 2 \
                or kind in ("exp", "inverse") and len(args) == 1:
            return (kind, args)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a schedule; expected none, cosine, step:SIZE:GAMMA, "
                                     "exp:GAMMA, inverse:K or plateau")


OPTIMIZERS = tuple(optim.OPTIMIZERS)
# name: (type, default, help, choices)
TRAIN_OPTIONS = {
    "data": (str, "breast_cancer", "a bundled data set (breast_cancer, digits), a generator (moons, circles, "
             "spirals, xor, blobs) or a CSV/NPZ/IDX file", None),
    "target": (str, None, "the target: a CSV column name or index, an NPZ array name, the labels' IDX file "
               "(default: the last CSV column / array 'y')", None),
    "layers": (_int_list, [16], "hidden layer sizes, comma-separated (e.g. 64,32)", None),
    "activation": (str, "tanh", "hidden activation", ACTIVATIONS),
    "output": (str, None, "output head (default: sigmoid for 2 classes, softmax for more, identity for "
               "real targets)", HEADS),
    "init": (str, "xavier", "weight initialiser", INITIALIZERS),
    "optimizer": (str, "sgd", "update rule", OPTIMIZERS),
    "lr": (_number, 0.1, "learning rate α", None),
    "momentum": (_number, None, "momentum μ (sgd, momentum, nag, rmsprop)", None),
    "schedule": (_schedule, "none", "learning-rate schedule per epoch: none, cosine, step:SIZE:GAMMA, "
                 "exp:GAMMA, inverse:K, plateau", None),
    "warmup": (_positive_int, None, "linear warm-up over this many epochs first", None),
    "epochs": (_positive_int, 100, "passes over the training data", None),
    "batch_size": (_batch_size, 32, "mini-batch size; 'full' for batch gradient descent, 1 for stochastic", None),
    "dropout": (_rate, 0.0, "dropout rate of every hidden layer", None),
    "l1": (_number, 0.0, "L1 penalty on the weights", None),
    "l2": (_number, 0.0, "L2 penalty on the weights", None),
    "normalize": (str, "minmax", "input scaling fitted on the training part", ("minmax", "standard", "none")),
    "early_stopping": (_positive_int, None, "stop after this many epochs without a better validation "
                       "loss (on 10 %% of the training part), keeping the best weights", None),
    "test_size": (_rate, 0.2, "fraction held out, stratified, for the final test", None),
    "backend": (str, None, "array backend (default: $RESEAU_BACKEND, else auto)", backends.NAMES + ("auto",)),
    "dtype": (str, "float32", "float32 or float64", ("float32", "float64")),
    "seed": (int, 0, "seed of the weights, split, shuffles and generated data", None),
    "data_parallel": (bool, False, "split every batch over JAX's local devices, or over MPI ranks "
                      "(mpirun -n N reseau train --data-parallel ...; numpy or cupy backend)", None),
    "distributed": (bool, False, "join a multi-process JAX run (JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, "
                    "JAX_PROCESS_ID) and split every batch over all its devices", None),
    "cuda_graph": (bool, False, "record each training step in a CUDA graph and replay it (cupy backend; "
                   "for small models)", None),
    "on_divergence": (str, "stop", "what a step with a NaN/inf loss or gradient does: stop (keep the last good "
                      "step's weights) or skip it", ("stop", "skip")),
    "checkpoint": (str, None, "write checkpoints (weights, optimiser state, schedule, data order, generator) "
                   "to this directory, atomically, the newest 3 kept", None),
    "checkpoint_every": (_positive_int, None, "a checkpoint every this many steps (default: each epoch)", None),
    "resume": (bool, False, "continue from the newest checkpoint in --checkpoint, to the weights an "
               "uninterrupted run reaches (same options and data)", None),
    "save": (str, None, "write the trained model to this file", None),
    "plot": (str, None, "write training curves (and the decision boundary for 2-D data) to this PNG", None),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reseau", description="Train multilayer perceptrons from first principles on NumPy, JAX or "
        "CuPy. Run `reseau train` for the notes' network on the bundled breast-cancer data.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    train = sub.add_parser(
        "train", help="train a network and report its test accuracy",
        description="Train a network: the data are split (stratified) into a training and a test part, "
        "inputs are scaled on the training part, progress is shown per epoch, and the test "
        "accuracy ends the run. With no options: the notes' 30-16-1 tanh/sigmoid network, Xavier "
        "init, gradient descent with lr 0.1 in mini-batches of 32, on the breast-cancer data. Every "
        "option can also come from a TOML file (--config), the command line winning.")
    for name, (kind, default, help_text, choices) in TRAIN_OPTIONS.items():
        if kind is bool:
            train.add_argument(f"--{name.replace('_', '-')}", dest=name, action="store_true",
                               default=argparse.SUPPRESS, help=help_text)
            continue
        shown = "full" if name == "batch_size" and default is None else (
            ",".join(map(str, default)) if isinstance(default, list) else default)
        train.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, choices=choices,
                           default=argparse.SUPPRESS,
                           help=f"{help_text} (default: {shown})" if shown is not None else help_text)
    train.add_argument("--config", type=Path, default=None, help="a TOML file of options (names as above)")
    train.add_argument("--quiet", action="store_true", help="print only the summary")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="a saved model's loss and accuracy on data")
    evaluate.add_argument("model", type=Path, help="a file written by `reseau train --save` or model.save()")
    evaluate.add_argument("--data", required=True, help="a bundled data set, a generator or a data file")
    evaluate.add_argument("--target", default=None, help="the target column or array (as for train)")
    evaluate.add_argument("--backend", default=None, choices=backends.NAMES + ("auto",))
    evaluate.add_argument("--seed", default=0, type=int, help="seed of generated data")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = sub.add_parser("predict", help="predictions of a saved model for a CSV file, as CSV")
    predict.add_argument("model", type=Path)
    predict.add_argument("input", type=Path, help="a CSV file of feature columns (a header is detected)")
    predict.add_argument("--output", "-o", type=Path, default=None, help="where to write (default: stdout)")
    predict.add_argument("--drop", default=None, help="a column of the input to ignore (e.g. the target)")
    predict.add_argument("--proba", action="store_true", help="add one probability column per class")
    predict.add_argument("--backend", default=None, choices=backends.NAMES + ("auto",))
    predict.set_defaults(func=cmd_predict)

    bench = sub.add_parser("bench", help="time the training step on every backend and peer installed",
                           description="Benchmark one training step (forward, backward, update) of the same "
                           "network, data and seed on every backend present and every peer installed "
                           "(PyTorch, JAX+optax, scikit-learn), against the GEMM-only floor measured in the "
                           "same run; plus time to 97%% test accuracy on the digits data. Each method must "
                           "compute the reference loss on the first batch before it is timed.")
    from .benchmark import add_arguments
    add_arguments(bench)
    bench.set_defaults(func=cmd_bench)

    info = sub.add_parser("info", help="backends available here, devices, versions and BLAS")
    info.set_defaults(func=cmd_info)
    return parser


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
                raise ValueError(f"--config {args.config}: unknown option {key!r}; expected one of "
                                 f"{', '.join(TRAIN_OPTIONS)}")
            kind, _, _, choices = TRAIN_OPTIONS[name]
            try:
                value = kind(value)
            except argparse.ArgumentTypeError as exc:
                raise ValueError(f"--config {args.config}: {key} = {value!r}: {exc}") from None
            if choices and value not in choices:
                raise ValueError(f"--config {args.config}: {key} = {value!r}; expected one of {', '.join(choices)}")
            options[name] = value
    options.update({name: getattr(args, name) for name in TRAIN_OPTIONS if hasattr(args, name)})
    return options


def _data(name, target, seed):
    """(X, y, class names, description) from a bundled set, a generator or a file."""
    if name in datasets.NAMES:
        d = datasets.load(name)
        return d.X, d.y, d.target_names, d.description
    if name in datasets.GENERATORS:
        X, y = datasets.GENERATORS[name](seed=seed)
        return X, y, [str(c) for c in np.unique(y)], f"generated {name} data (seed {seed})"
    if not Path(name).exists():
        raise ValueError(f"--data {name!r} is not a bundled data set ({', '.join(datasets.NAMES)}), a generator "
                         f"({', '.join(datasets.GENERATORS)}) or an existing file")
    target = -1 if target is None and not name.lower().endswith(".npz") else target
    if isinstance(target, str) and target.lstrip("-").isdigit():
        target = int(target)
    d = datasets.load_file(name, target=target)
    if d.y is None:
        raise ValueError(f"--data {name}: no target found; name it with --target")
    y = d.y
    if d.target_names and not all(n.lstrip("-").isdigit() for n in d.target_names):
        y = np.asarray(d.target_names)[d.y]  # text labels: keep the text as the class values
    return d.X, y, d.target_names, d.description


def _encode(y):
    """Class indices and the class values for integer targets; None for real-valued targets."""
    if y.dtype.kind in "iuU":
        classes, y_idx = np.unique(y, return_inverse=True)
        return y_idx, classes
    return y, None


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
        schedule = {"cosine": lambda: optim.CosineAnnealing(o["epochs"]),
                    "step": lambda: optim.StepDecay(int(args[0]), args[1]),
                    "exp": lambda: optim.ExponentialDecay(args[0]),
                    "inverse": lambda: optim.InverseTimeDecay(args[0]),
                    "plateau": lambda: optim.ReduceOnPlateau()}[kind]()
    if o["warmup"]:
        if isinstance(schedule, optim.ReduceOnPlateau):
            raise ValueError("--warmup cannot precede the plateau schedule")
        schedule = optim.Warmup(o["warmup"], schedule)
    return schedule


def cmd_train(args) -> int:
    o = _options(args)
    rank = 0
    if o["distributed"]:
        if o["backend"] not in (None, "jax"):
            raise ValueError(f"--distributed runs on the jax backend, not {o['backend']!r}")
        o["backend"], o["data_parallel"] = "jax", True
        rank = backends.get("jax").initialize_distributed()
    elif o["data_parallel"] and (o["backend"] or "numpy") != "jax":
        rank = _mpi_rank()
    if rank != 0:
        sys.stdout = open(os.devnull, "w")  # every process trains; process 0 reports and saves
        o["save"] = o["plot"] = None
    X, y, _, description = _data(o["data"], o["target"], o["seed"])
    y_idx, classes = _encode(y)
    classifier = classes is not None
    if classifier and len(classes) < 2:
        raise ValueError(f"--data {o['data']}: the target has a single class ({classes[0]}); a classifier "
                         "needs at least two")
    if classifier:
        X_train, X_test, y_train, y_test = datasets.train_test_split(X, y_idx, o["test_size"], seed=o["seed"])
    else:
        X_train, X_test, y_train, y_test = datasets.train_test_split(X, y_idx, o["test_size"], seed=o["seed"],
                                                                     stratify=False)
    n_out = (1 if len(classes) == 2 else len(classes)) if classifier else (1 if y.ndim == 1 else y.shape[1])
    output = o["output"] or ("sigmoid" if n_out == 1 and classifier else "softmax" if classifier else "identity")
    model = MLP([X.shape[1], *o["layers"], n_out], hidden=o["activation"], output=output, init=o["init"],
                backend=o["backend"], dtype=o["dtype"], seed=o["seed"], dropout=o["dropout"], l1=o["l1"],
                l2=o["l2"], normalize=None if o["normalize"] == "none" else o["normalize"])
    model.classes = None if classes is None else [c.item() for c in classes]
    opt, schedule = _optimizer(o), _schedule_object(o)
    print(f"{description.split(':')[0]}: {len(X_train)} training and {len(X_test)} test examples, "
          f"{X.shape[1]} features" + (f", {len(classes)} classes" if classifier else ""))
    print(f"network {model.sizes}, hidden {o['activation']}, output {model.output}, init {o['init']}; "
          f"backend {model.backend.name}, {o['dtype']}; {opt!r}"
          f"{'' if schedule is None else f', schedule {schedule!r}'}; batch size "
          f"{'full' if o['batch_size'] is None else o['batch_size']}, {o['epochs']} epochs")
    if o["resume"] and not o["checkpoint"]:
        raise ValueError("--resume continues from the checkpoints in --checkpoint DIR; give --checkpoint")
    fit_args = dict(epochs=o["epochs"], batch_size=o["batch_size"], optimizer=opt, schedule=schedule,
                    data_parallel=o["data_parallel"], on_divergence=o["on_divergence"],
                    checkpoint=o["checkpoint"], checkpoint_every=o["checkpoint_every"],
                    resume=o["checkpoint"] if o["resume"] else None, cuda_graph=o["cuda_graph"])
    if o["early_stopping"]:
        fit_args.update(validation_split=0.1, patience=o["early_stopping"])
    else:
        fit_args.update(validation_data=(X_test, y_test))
    progress = Progress(o["epochs"], quiet=args.quiet)
    t0 = time.perf_counter()
    try:
        history = model.fit(X_train, y_train, callback=progress.update, **fit_args)
    finally:
        progress.close()
    seconds = time.perf_counter() - t0
    result = model.evaluate(X_test, y_test)
    if classifier:
        right = round(result["accuracy"] * len(y_test))
        print(f"test accuracy {result['accuracy']:.4f} ({right}/{len(y_test)}), test loss "
              f"{result['loss']:.4f}, trained in {seconds:.2f} s")
    else:
        print(f"test mse {result['mse']:.6g}, test loss {result['loss']:.6g}, trained in {seconds:.2f} s")
    if history.stopped_epoch:
        print(f"early stopping after epoch {history.stopped_epoch}; best epoch {history.best_epoch}")
    if o["save"]:
        model.save(o["save"])
        print(f"model saved to {o['save']}")
    if o["plot"]:
        from .plots import training_report
        training_report(model, o["plot"], X=X_train if X.shape[1] == 2 else None,
                        y=y_train if X.shape[1] == 2 else None)
        print(f"plot written to {o['plot']}")
    return 0


def _mpi_rank() -> int:
    try:
        from .backends import mpi
        return mpi.world().rank
    except backends.BackendUnavailableError:
        return 0


class Progress:
    """Per-epoch progress: a tqdm bar on a terminal (when tqdm is installed), else one line an epoch."""

    def __init__(self, epochs, quiet=False):
        self.epochs, self.quiet, self.bar, self.i = epochs, quiet, None, 0
        if not quiet and sys.stdout.isatty():
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=epochs, unit="epoch", leave=True)
            except ImportError:
                pass

    def update(self, record):
        """Show the epoch ``record`` ends (its own number: a resumed run starts where it stopped)."""
        advance, self.i = record.get("epoch", self.i + 1) - self.i, record.get("epoch", self.i + 1)
        metrics = {k: v for k, v in record.items() if k not in ("epoch", "lr", "seconds", "grad_norms")}
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in metrics.items()}, refresh=False)
            self.bar.update(advance)
        elif not self.quiet:
            width = len(str(self.epochs))
            print(f"epoch {self.i:>{width}}/{self.epochs}  " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items()),
                  flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def cmd_evaluate(args) -> int:
    model = load(args.model, backend=args.backend)
    X, y, _, description = _data(args.data, args.target, args.seed)
    classes = getattr(model, "classes", None)
    if classes is not None:
        index = {c: k for k, c in enumerate(classes)}
        unknown = sorted({v.item() for v in np.unique(y)} - set(index))
        if unknown:
            raise ValueError(f"--data {args.data}: classes {unknown} were not seen in training")
        y = np.array([index[v.item()] for v in y])
    result = model.evaluate(X, y)
    print(f"{description.split(':')[0]}: {len(X)} examples; " + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))
    return 0


def cmd_predict(args) -> int:
    model = load(args.model, backend=args.backend)
    X, _, names, _ = datasets.read_csv(args.input, target=args.drop)
    if X.shape[1] != model.sizes[0]:
        raise ValueError(f"{args.input}: {X.shape[1]} feature columns ({', '.join(names)}) but the model "
                         f"takes {model.sizes[0]}")
    predictions = model.predict(X)
    classes = getattr(model, "classes", None)
    rows, header = [], ["prediction"]
    if classes is not None:
        predictions = [classes[int(k)] for k in predictions]
    if args.proba:
        P = model.predict_proba(X)
        P = np.stack([1 - P, P], 1) if P.ndim == 1 else P
        header += [f"p_{c}" for c in (classes or range(P.shape[1]))]
        rows = [[p, *map(float, ps)] for p, ps in zip(predictions, P)]
    else:
        rows = [[p] if np.ndim(p) == 0 else list(p) for p in predictions]
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    finally:
        if args.output:
            out.close()
    if args.output:
        print(f"{len(rows)} predictions written to {args.output}")
    return 0


def cmd_bench(args) -> int:
    from .benchmark import main_from_args
    return main_from_args(args)


def cmd_info(args) -> int:
    import reseau
    print(f"reseau {reseau.__version__}, Python {platform.python_version()} on {platform.machine()}, "
          f"NumPy {np.__version__}")
    for name, status in backends.available().items():
        if status == "ok":
            bk = backends.get(name)
            print(f"{name:6} {bk.version():10} {', '.join(bk.devices())}")
        else:
            print(f"{name:6} unavailable: {status}")
    kernels = reseau.kernels.variants(backends.get("numpy"))
    print(f"numpy kernels: {kernels[0]}" + ("" if "numba" in kernels else " (pip install \"reseau[cpu]\" for numba)"))
    try:
        from threadpoolctl import threadpool_info
        for lib in threadpool_info():
            if lib.get("user_api") == "blas":
                print(f"BLAS   {lib.get('internal_api')} {lib.get('version')} ({lib.get('architecture')}), "
                      f"{lib.get('num_threads')} threads")
    except ImportError:
        print("BLAS   (pip install threadpoolctl to see which)")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, backends.BackendUnavailableError) as exc:
        print(f"reseau: error: {exc}", file=sys.stderr)
        return 2
    except TrainingDivergedError as exc:  # a run that failed, not a bad command: exit 1
        print(f"reseau: {exc}", file=sys.stderr)
        return 1
