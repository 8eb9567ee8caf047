"""jax.numpy on whatever device JAX finds (CPU here, a GPU where jax[cuda] is installed)."""

from __future__ import annotations

import functools
import os

import numpy as np

from .base import Backend, unavailable


class JaxBackend(Backend):
    name = "jax"
    extra = "jax"

    def __init__(self, jax):
        self._jax = jax
        # float32 matmuls in true float32 on GPUs too (JAX's default there is TF32), as CuPy does;
        # RESEAU_TF32=1 lets JAX choose
        self.precision = None if os.environ.get("RESEAU_TF32", "0") == "1" else "highest"
        import jax.numpy as jnp
        import jax.scipy.special as jsp

        self.xp = jnp
        self._erf = jsp.erf

    def float_dtype(self, name: str):
        """float32, or float64 after switching JAX's x64 mode on (it is off by default)."""
        dtype = super().float_dtype(name)
        if name == "float64" and not self._jax.config.jax_enable_x64:
            self._jax.config.update("jax_enable_x64", True)
        return dtype

    def asarray(self, x, dtype=None):
        if dtype is not None and np.dtype(dtype).itemsize == 8 and not self._jax.config.jax_enable_x64:
            self._jax.config.update("jax_enable_x64", True)
        return self.xp.asarray(x, dtype=dtype)

    def to_numpy(self, x) -> np.ndarray:
        return np.asarray(x)

    def copy(self, x):
        return self.xp.array(x, copy=True)

    def sync(self, x=None):
        if x is None:
            self._jax.effects_barrier()
            return x
        return self._jax.block_until_ready(x)

    def jit(self, fn, donate_argnums=()):
        """``jax.jit`` with the given positional arguments donated (their buffers reused, so a
        step updates the parameters and optimiser state in place). ``RESEAU_JAX_DONATE=0`` turns
        donation off."""
        if not self.donates():
            donate_argnums = ()
        jax, precision = self._jax, self.precision

        @functools.wraps(fn)
        def traced(*args):
            with jax.default_matmul_precision(precision):
                return fn(*args)

        return jax.jit(traced if precision else fn, donate_argnums=donate_argnums)

    def donates(self) -> bool:
        """Whether ``jit`` donates the buffers it is asked to (yes, unless RESEAU_JAX_DONATE=0)."""
        return os.environ.get("RESEAU_JAX_DONATE", "1") != "0"

    # ---- data parallelism over the local devices (jax.sharding) -----------------------------

    def device_count(self) -> int:
        return len(self._jax.devices())

    def _shardings(self):
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        mesh = Mesh(np.array(self._jax.devices()), ("data",))
        return NamedSharding(mesh, PartitionSpec("data")), NamedSharding(mesh, PartitionSpec())

    def shard_rows(self, x):
        """``x`` split by rows over all devices (the batch of a data-parallel step)."""
        return self._jax.device_put(x, self._shardings()[0])

    def replicate(self, tree):
        """Every array of ``tree`` copied to all devices (parameters, optimiser state, data)."""
        return self._jax.device_put(tree, self._shardings()[1])

    def gather_home(self, tree):
        """Every (replicated) array of ``tree`` back on this process's first device alone."""
        jax = self._jax
        home = jax.local_devices()[0]
        return jax.tree_util.tree_map(
            lambda a: jax.device_put(a if a.is_fully_addressable else a.addressable_data(0), home), tree
        )

    def agree(self, fingerprint: str, failed: bool = False):
        """Across the processes of a multi-process run: (every process has the same
        ``fingerprint``, the indices of the processes that report ``failed``); one small allgather.
        In a single process: (True, [0] if failed else [])."""
        jax = self._jax
        if jax.process_count() == 1:
            return True, [0] if failed else []
        import hashlib

        from jax.experimental import multihost_utils

        digest = int.from_bytes(hashlib.sha256(fingerprint.encode()).digest()[:3], "big")
        mine = np.array([digest, int(failed)], dtype=np.int32)
        gathered = np.asarray(multihost_utils.process_allgather(mine)).reshape(-1, 2)
        return bool((gathered[:, 0] == digest).all()), [int(i) for i in np.flatnonzero(gathered[:, 1])]

    def process_count(self) -> int:
        return self._jax.process_count()

    def process_index(self) -> int:
        return self._jax.process_index()

    def initialize_distributed(self, timeout: int = 120):
        """Join a multi-process JAX run (several hosts, or processes on one): reads
        JAX_COORDINATOR_ADDRESS (host:port of process 0), JAX_NUM_PROCESSES and JAX_PROCESS_ID;
        CPU devices talk through gloo. Returns this process's index."""
        jax = self._jax
        missing = [k for k in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID") if k not in os.environ]
        if missing:
            raise ValueError(
                f"--distributed needs the environment variables {', '.join(missing)} "
                "(the coordinator's host:port, the number of processes and this process's index)"
            )
        try:
            n, pid = int(os.environ["JAX_NUM_PROCESSES"]), int(os.environ["JAX_PROCESS_ID"])
        except ValueError:
            raise ValueError("JAX_NUM_PROCESSES and JAX_PROCESS_ID must be integers") from None
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        address = os.environ["JAX_COORDINATOR_ADDRESS"]
        if pid != 0:
            _wait_for(address, timeout, pid, n)
        try:
            jax.distributed.initialize(
                coordinator_address=address, num_processes=n, process_id=pid, initialization_timeout=timeout
            )
        except Exception as exc:  # JAX raises its runtime's own error types here
            raise ValueError(
                f"process {pid} of {n} could not join the run coordinated at {address} within "
                f"{timeout} s ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); is every "
                "process started, with the same address?"
            ) from None
        return jax.process_index()

    def fori_loop(self, n, body, carry):
        return self._jax.lax.fori_loop(0, n, body, carry)

    def dynamic_rows(self, X, start, size):
        return self._jax.lax.dynamic_slice_in_dim(X, start, size, axis=0)

    def erf(self, x):
        return self._erf(x)

    def devices(self) -> list[str]:
        return [f"{d.platform}:{d.id} {getattr(d, 'device_kind', '')}".strip() for d in self._jax.devices()]

    def version(self) -> str:
        return self._jax.__version__


def create() -> JaxBackend:
    try:
        import jax
    except ImportError as exc:
        raise unavailable("jax", "jax", f"JAX is not installed ({exc})") from None
    return JaxBackend(jax)


def _wait_for(address, timeout, pid, n):
    """Wait until the coordinator (process 0) listens at host:port, or raise a clear error: JAX
    itself aborts the process when it cannot reach it."""
    import socket
    import time

    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=1.0):
                return
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise ValueError(
                    f"process {pid} of {n} could not join the run coordinated at {address} within "
                    f"{timeout} s: nothing listens there; is process 0 started, with the same "
                    "address?"
                ) from None
            time.sleep(0.2)
