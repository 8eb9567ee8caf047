"""Data parallelism on the CuPy backend: MPI starts the ranks and carries the few host-side
exchanges (settings, epoch sums), NCCL (``cupyx.distributed``) sums the flat gradient on the GPUs.

Each rank drives one GPU: under mpirun the CuPy backend takes GPU (local rank mod GPU count)
before any array exists (``local_rank``). Where cupyx.distributed is missing, the gradient goes
through the host: copy out, MPI allreduce, copy back (correct, slower).
"""

from __future__ import annotations

import os

#: environment variables that launchers set to a process's rank on its own node
LOCAL_RANK_VARIABLES = (
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "MPI_LOCALRANKID",
    "MV2_COMM_WORLD_LOCAL_RANK",
    "SLURM_LOCALID",
    "LOCAL_RANK",
)


def local_rank(environ=None):
    """This process's rank on its node as the launcher states it, or None outside a launcher."""
    environ = os.environ if environ is None else environ
    for key in LOCAL_RANK_VARIABLES:
        value = environ.get(key)
        if value is not None and value.strip().isdigit():
            return int(value)
    return None


class NcclCommunicator:
    """The MPI Communicator's interface, with the device-side sum done by NCCL."""

    def __init__(self, world, nccl=None, cupy=None):
        self.world, self.rank, self.size = world, world.rank, world.size
        self._nccl, self._cp = nccl, cupy

    def allreduce_sum_(self, x):
        """x ← Σ over ranks of x, in place on the device buffer ``x``; returns x."""
        if self._nccl is not None:
            self._nccl.all_reduce(x, x, "sum")
        else:  # through the host
            host = self._cp.asnumpy(x)
            self.world.allreduce_sum_(host)
            x.set(host)
        return x

    def sum(self, value: float) -> float:
        return self.world.sum(value)

    def allgather(self, obj, timeout=None):
        return self.world.allgather(obj, timeout)


def world(mpi_world):
    """The NCCL communicator over the ranks of ``mpi_world`` (host staging without cupyx.distributed)."""
    import cupy

    if mpi_world.size == 1:
        return NcclCommunicator(mpi_world, None, cupy)
    try:
        import cupyx.distributed as distributed
    except ImportError:
        return NcclCommunicator(mpi_world, None, cupy)
    comm = distributed.init_process_group(mpi_world.size, mpi_world.rank, backend="nccl", use_mpi=True)
    return NcclCommunicator(mpi_world, comm, cupy)
