"""How much memory this machine has for a new allocation, for refusing too large a request before
making it (an estimate, read from the operating system; None where it does not say).

A network of sizes n₀, …, n_L holds P = Σ (n_{l−1} + 1)·n_l parameters. Building and training it
keeps about: the initial weights drawn in float64 (8 bytes each), then in the model's dtype the
parameters, their gradient and up to three optimiser slots (Adam's m, v and the guard's copy):
P·(8 + 5·itemsize) bytes. ``check_network`` refuses a network that needs more than the memory
available now, in one line, instead of allocating until the process fails.

How much there is: the least of the machine's available memory (Linux's MemAvailable), the
headroom under the process's own limits (RLIMIT_AS less the address space in use, RLIMIT_DATA less
the data segment: ``ulimit -v`` and ``ulimit -d``) and under its control group's (memory.max less
memory.current, cgroup v2; memory.limit_in_bytes less memory.usage_in_bytes, v1; at every level
up to the root): a container or a ``ulimit`` caps what a process can have below what the machine has free.
"""

from __future__ import annotations

import os
from pathlib import Path

UNLIMITED = 1 << 60  # cgroup v1 writes "no limit" as a number near 2⁶³


def available_bytes() -> int | None:
    """The memory available for new allocations (see the module docstring); None where nothing says."""
    known = [n for n in (machine_bytes(), rlimit_headroom(), cgroup_headroom()) if n is not None]
    return max(0, min(known)) if known else None


def machine_bytes() -> int | None:
    """Linux's MemAvailable, else the physical memory."""
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


def rlimit_headroom(status="/proc/self/status") -> int | None:
    """min(RLIMIT_AS − VmSize, RLIMIT_DATA − VmData) of this process, for the limits that are set."""
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    room = []
    for limit, field in ((resource.RLIMIT_AS, "VmSize"), (resource.RLIMIT_DATA, "VmData")):
        soft = resource.getrlimit(limit)[0]
        if soft != resource.RLIM_INFINITY:
            room.append(soft - (_status_kib(status, field) or 0) * 1024)
    return min(room) if room else None


def _status_kib(status, field) -> int | None:
    try:
        with open(status) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def cgroup_headroom(proc="/proc/self/cgroup", root="/sys/fs/cgroup") -> int | None:
    """The least of limit − usage over this process's memory control group and its parents (v2's
    memory.max and memory.current, v1's memory.limit_in_bytes and memory.usage_in_bytes); None
    where no level sets a limit or the files cannot be read."""
    try:
        lines = Path(proc).read_text().splitlines()
    except OSError:
        return None
    room = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":  # v2: one unified tree
            levels = [
                (Path(root), "memory.max", "memory.current"),
                (Path(root) / "unified", "memory.max", "memory.current"),
            ]
        elif "memory" in controllers.split(","):
            levels = [(Path(root) / "memory", "memory.limit_in_bytes", "memory.usage_in_bytes")]
        else:
            continue
        for base, limit_file, usage_file in levels:
            room += _levels(base, path.strip("/"), limit_file, usage_file)
    return min(room) if room else None


def _levels(base: Path, path: str, limit_file: str, usage_file: str) -> list:
    """limit − usage at ``base/path`` and each folder above it that holds both files and a limit."""
    room, parts = [], [p for p in path.split("/") if p]
    for depth in range(len(parts), -1, -1):
        folder = base.joinpath(*parts[:depth])
        try:
            limit = (folder / limit_file).read_text().strip()
            usage = int((folder / usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < UNLIMITED:
            room.append(int(limit) - usage)
    return room


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.1f} GiB"


def size_text(n_bytes: float) -> str:
    """``n_bytes`` in GiB from 1 GiB up, in MiB below."""
    return gib(n_bytes) if n_bytes >= 2**30 else f"{n_bytes / 2**20:.1f} MiB"


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
