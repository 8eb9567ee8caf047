"""MPI for data parallelism on the NumPy (and CuPy) backends, through mpi4py (extra ``reseau[mpi]``).

Each process ("rank") takes its slice of every global mini-batch; after backward, one allreduce
sums the flat gradient buffers in place, and the optimiser's kernel applies the 1/ranks in its own
pass, so every rank applies the same update to the same parameters.
"""

from __future__ import annotations

from .base import unavailable


class Communicator:
    """The world of MPI processes: ``rank``, ``size`` and the few collectives training needs."""

    def __init__(self, comm):
        self.comm, self.rank, self.size = comm, comm.Get_rank(), comm.Get_size()
        from mpi4py import MPI

        self._sum = MPI.SUM

    def allreduce_sum_(self, x):
        """x ← Σ over ranks of x, in place on the host buffer ``x``; returns x."""
        self.comm.Allreduce(self._in_place(), x, op=self._sum)
        return x

    def _in_place(self):
        from mpi4py import MPI

        return MPI.IN_PLACE

    def sum(self, value: float) -> float:
        return self.comm.allreduce(float(value), op=self._sum)

    def allgather(self, obj, timeout: float | None = None):
        """Every rank's ``obj``; first a barrier that waits at most ``timeout`` seconds
        (default $RESEAU_MPI_TIMEOUT or 60), so a rank that never arrives is an error, not a hang."""
        import os
        import time

        timeout = float(os.environ.get("RESEAU_MPI_TIMEOUT", "60")) if timeout is None else timeout
        request = self.comm.Ibarrier()
        deadline = time.monotonic() + timeout
        while not request.Test():
            if time.monotonic() > deadline:
                raise ValueError(
                    f"rank {self.rank}: not every one of the {self.size} MPI ranks reached fit within "
                    f"{timeout:g} s; a worker failed to start or stopped (set RESEAU_MPI_TIMEOUT "
                    "to wait longer)"
                )
            time.sleep(0.01)
        return self.comm.allgather(obj)


def world():
    """The MPI world (a Communicator of size 1 when the process was not started by mpirun)."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise unavailable("mpi", "mpi", f"mpi4py is not installed ({exc})") from None
    return Communicator(MPI.COMM_WORLD)
