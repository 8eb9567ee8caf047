"""The ``reseau`` command line (also ``python -m reseau``): train, evaluate, predict, export, bench, info."""

from __future__ import annotations

import argparse
import os
import sys

from .. import backends
from ..core.columns import DataWarning
from ..core.guard import TrainingDivergedError
from . import bench, evaluate, export, info, playground, predict, train
from .info import package_version
from .options import TRAIN_OPTIONS

# one module a command (train, evaluate, predict, export, bench, info: each ``add_parser`` and
# ``cmd_*``), the options in one table (options.py), what commands share in common.py
__all__ = ["TRAIN_OPTIONS", "build_parser", "main"]


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
    parser.add_argument("--version", action="version", version=f"reseau {package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    for command in (train, evaluate, predict, export, bench, info, playground):
        command.add_parser(sub)
    return parser


def _note(message, category, filename, lineno, file=None, line=None):
    """Warnings about the data (imputed cells, unseen categories) as one line each."""
    prefix = "note" if issubclass(category, DataWarning) else category.__name__
    print(f"reseau: {prefix}: {message}", file=sys.stderr)


#: what to try after a diverged run, in the command line's words (the API's: core.guard.ADVICE)
DIVERGED_ADVICE = (
    "Try a lower --lr, --normalize robust or minmax (if you set none), --clip-norm 1.0, or "
    "--on-divergence skip to drop bad steps and go on."
)

# what sets the size of a command's allocations, for the out-of-memory line
SIZED_BY = {
    "train": "--layers (the network), --batch-size or --data (the table)",
    "evaluate": "the model (its layers) or --data (the table)",
    "predict": "the model (its layers) or the input table (split it into parts)",
    "export": "the model (its layers and categories)",
    "bench": "--layers or --batch-size",
}


def out_of_memory(exc, command) -> str:
    """One line for a MemoryError: the allocation refused (NumPy says its size and shape), the
    memory this process may have (core/memory.py: its limits included), the options that set it."""
    from ..core.memory import available_bytes, gib

    what = str(exc) if str(exc).startswith("Unable to allocate") else "an allocation was refused"
    have = available_bytes()
    room = "" if have is None else f" (about {gib(have)} is free to this process now, its limits included)"
    return f"out of memory: {what}{room}; expected a smaller request: {SIZED_BY.get(command, 'a smaller input')}"


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
    except MemoryError as exc:  # what the estimates let through: one line, the size and what sets it
        print(f"reseau: error: {out_of_memory(exc, args.command)}", file=sys.stderr)
        return 2
    except TrainingDivergedError as exc:  # a run that failed, not a bad command: exit 1
        print(f"reseau: {exc.situation} {DIVERGED_ADVICE}", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = shown
