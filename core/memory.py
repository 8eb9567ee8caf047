"""How much memory this machine has for a new allocation, for refusing too large a request before
making it (an estimate, read from the operating system; None where it does not say).

A network of sizes n₀, …, n_L holds P = Σ (n_{l−1} + 1)·n_l parameters. Building and training it
keeps about: the initial weights drawn in float64 (8 bytes each), then in the model's dtype the
parameters, their gradient and up to three optimiser slots (Adam's m, v and the guard's copy):
P·(8 + 5·itemsize) bytes. ``check_network`` refuses a network that needs more than the memory
available now, in one line, instead of allocating until the process fails.
"""

from __future__ import annotations

import os


def available_bytes() -> int | None:
    """The memory available for new allocations: Linux's MemAvailable, else the physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.1f} GiB"


def network_bytes(sizes, itemsize: int) -> int:
    """P·(8 + 5·itemsize) for the parameters P of ``sizes`` (see the module docstring)."""
    return _parameters(sizes) * (8 + 5 * itemsize)


def check_network(sizes, itemsize: int, available=None):
    """Refuse ``sizes`` whose network would not fit in the memory available (a ValueError)."""
    need = network_bytes(sizes, itemsize)
    have = available_bytes() if available is None else available
    if have is not None and need > have:
        raise ValueError(
            f"layers {list(sizes)} hold {_parameters(sizes):,} parameters: about {gib(need)} for the "
            f"weights, their gradient and the optimiser's state, more than the {gib(have)} of memory "
            "available here; expected a smaller network"
        )


def _parameters(sizes) -> int:
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
