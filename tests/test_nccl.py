"""CuPy data parallelism's plumbing: the local rank a launcher states, and the communicator that
sums device buffers with NCCL or, without cupyx.distributed, through the host. (NCCL itself needs
one GPU per rank; it runs where such a machine is present.)"""

import numpy as np
import pytest

from reseau.backends import nccl


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({"OMPI_COMM_WORLD_LOCAL_RANK": "3"}, 3),
        ({"MPI_LOCALRANKID": "1"}, 1),
        ({"SLURM_LOCALID": "2", "LOCAL_RANK": "5"}, 2),
        ({"LOCAL_RANK": " 0 "}, 0),
        ({"LOCAL_RANK": "x"}, None),
        ({}, None),
    ],
)
def test_local_rank_from_the_launcher(environ, expected):
    assert nccl.local_rank(environ) == expected


class _World:
    rank, size = 1, 2

    def __init__(self):
        self.calls = []

    def allreduce_sum_(self, x):
        self.calls.append("allreduce")
        x += 10.0  # as if the other rank held 10 everywhere
        return x

    def sum(self, value):
        return value * 2

    def allgather(self, obj, timeout=None):
        return [obj, obj]


class _DeviceArray(np.ndarray):
    """A host stand-in for a CuPy array: ``set`` copies a host array in."""

    def set(self, host):
        self[...] = host


class _Cupy:
    @staticmethod
    def asnumpy(x):
        return np.array(x, copy=True)


class _Nccl:
    def __init__(self):
        self.calls = []

    def all_reduce(self, in_array, out_array, op):
        self.calls.append((in_array is out_array, op))
        out_array *= 2


def test_the_host_path_sums_through_mpi_in_place():
    world = _World()
    comm = nccl.NcclCommunicator(world, None, _Cupy())
    x = np.arange(4.0).view(_DeviceArray)
    assert comm.allreduce_sum_(x) is x
    np.testing.assert_array_equal(x, np.arange(4.0) + 10)
    assert world.calls == ["allreduce"] and (comm.rank, comm.size) == (1, 2)
    assert comm.sum(1.5) == 3.0 and comm.allgather("a") == ["a", "a"]


def test_the_nccl_path_reduces_in_place_with_sum():
    device = _Nccl()
    comm = nccl.NcclCommunicator(_World(), device, _Cupy())
    x = np.ones(3)
    assert comm.allreduce_sum_(x) is x
    assert device.calls == [(True, "sum")] and (x == 2).all()
