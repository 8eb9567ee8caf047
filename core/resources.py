"""What a network will need in memory, checked against what the machine has, before allocating.

A network of sizes n₀, …, n_L holds P = Σ (n_{l−1} + 1)·n_l parameters. Building and training it
keeps about: the initial weights drawn in float64 (8 bytes each), then in the model's dtype the
parameters, their gradient and up to three optimiser slots (Adam's m, v and the guard's copy):
P·(8 + 5·itemsize) bytes. A network that needs more than the memory available now is refused in
one line, instead of allocating until the process fails.
"""

from __future__ import annotations

import os


def available_bytes():
    """The memory available now (Linux's MemAvailable), else the physical memory, else None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def network_bytes(sizes, itemsize: int) -> int:
    """P·(8 + 5·itemsize) for the parameters P of ``sizes`` (see the module docstring)."""
    P = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    return P * (8 + 5 * itemsize)


def check_network(sizes, itemsize: int, available=None):
    """Refuse ``sizes`` whose network would not fit in the memory available (a ValueError)."""
    need = network_bytes(sizes, itemsize)
    have = available_bytes() if available is None else available
    if have is not None and need > have:
        P = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
        raise ValueError(f"layers {list(sizes)} hold {P:,} parameters: about {need / 2**30:.1f} GiB for the weights, "
                         f"their gradient and the optimiser's state, more than the {have / 2**30:.1f} GiB of memory "
                         "available here; expected a smaller network")
