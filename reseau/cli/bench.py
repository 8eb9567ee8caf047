"""``reseau bench``: the training step timed on every backend and peer (reseau/benchmark/)."""

from __future__ import annotations


def cmd_bench(args) -> int:
    from ..benchmark import main_from_args

    return main_from_args(args)


def add_parser(sub):
    """The ``bench`` command (its options: reseau/benchmark/)."""
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
    from ..benchmark import add_arguments

    add_arguments(bench)
    bench.set_defaults(func=cmd_bench)
