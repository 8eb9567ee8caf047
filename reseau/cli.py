"""The ``reseau`` command line (also ``python -m reseau``)."""

from __future__ import annotations

import argparse
import sys
import time

from . import backends, datasets
from .core.activations import ACTIVATIONS
from .core.initializers import INITIALIZERS
from .core.model import MLP
from .core.preprocessing import MinMaxScaler


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reseau", description="Train multilayer perceptrons from first principles "
        "on NumPy, JAX or CuPy.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    train = sub.add_parser(
        "train", help="train a network on a bundled data set and report test accuracy",
        description="Train the notes' network: min-max normalised inputs (fitted on the training "
        "part only), a stratified 80/20 train/test split, and per-epoch progress. With no options: "
        "a 30-16-1 tanh/sigmoid network, Xavier init, on the breast-cancer data.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    train.add_argument("--data", default="breast_cancer", choices=datasets.NAMES,
                       help="bundled data set")
    train.add_argument("--layers", default="16", type=_int_list,
                       help="hidden layer sizes, comma-separated (e.g. 64,32)")
    train.add_argument("--activation", default="tanh", choices=ACTIVATIONS, help="hidden activation")
    train.add_argument("--init", default="xavier", choices=INITIALIZERS, help="weight initialiser")
    train.add_argument("--epochs", default=100, type=_positive_int, help="passes over the training data")
    train.add_argument("--lr", default=0.1, type=float, help="learning rate α")
    train.add_argument("--batch-size", default="32", type=_batch_size,
                       help="mini-batch size; 'full' for batch gradient descent, 1 for stochastic")
    train.add_argument("--backend", default=None, choices=backends.NAMES + ("auto",),
                       help="array backend (default: $RESEAU_BACKEND, else auto)")
    train.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    train.add_argument("--seed", default=0, type=int, help="seed of the weights, split and shuffles")
    train.add_argument("--quiet", action="store_true", help="print only the summary")
    train.set_defaults(func=cmd_train)

    info = sub.add_parser("info", help="backends available here, devices and versions")
    info.set_defaults(func=cmd_info)
    return parser


def _int_list(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of positive integers like 64,32")
    return sizes


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _batch_size(text: str):
    if text == "full":
        return None
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer or 'full'") from None


def cmd_train(args) -> int:
    data = datasets.load(args.data)
    X_train, X_test, y_train, y_test = datasets.train_test_split(data.X, data.y, 0.2, seed=args.seed)
    scaler = MinMaxScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    n_classes = len(data.target_names)
    n_out = 1 if n_classes == 2 else n_classes
    model = MLP([X_train.shape[1], *args.layers, n_out], hidden=args.activation,
                output="sigmoid" if n_out == 1 else "softmax", init=args.init,
                backend=args.backend, dtype=args.dtype, seed=args.seed)
    print(f"{data.name}: {len(X_train)} training and {len(X_test)} test examples, "
          f"{X_train.shape[1]} features, {n_classes} classes")
    print(f"network {model.sizes}, hidden {args.activation}, output {model.output}, init {args.init}; "
          f"backend {model.backend.name}, {args.dtype}; lr {args.lr}, batch size "
          f"{'full' if args.batch_size is None else args.batch_size}, {args.epochs} epochs")
    t0 = time.perf_counter()
    model.fit(X_train, y_train, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
              validation_data=(X_test, y_test), verbose=not args.quiet)
    seconds = time.perf_counter() - t0
    result = model.evaluate(X_test, y_test)
    right = round(result["accuracy"] * len(y_test))
    print(f"test accuracy {result['accuracy']:.4f} ({right}/{len(y_test)}), test loss "
          f"{result['loss']:.4f}, trained in {seconds:.2f} s")
    return 0


def cmd_info(args) -> int:
    import platform
    print(f"reseau {__import__('reseau').__version__}, Python {platform.python_version()} "
          f"on {platform.machine()}")
    for name, status in backends.available().items():
        if status == "ok":
            bk = backends.get(name)
            print(f"{name:6} {bk.version():10} {', '.join(bk.devices())}")
        else:
            print(f"{name:6} unavailable: {status}")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, backends.BackendUnavailableError) as exc:
        print(f"reseau: error: {exc}", file=sys.stderr)
        return 2
