"""How much memory this machine has for a new allocation, for refusing too large a request before
making it (an estimate, read from the operating system; None where it does not say)."""

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
    return f"{n_bytes / 2 ** 30:.1f} GiB"
