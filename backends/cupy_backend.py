"""CuPy on a CUDA GPU.

``import cupy`` succeeds on machines without a GPU, so the backend also asks
``cupy.is_available()`` and refuses to start when no device can be used.
Where array-api-compat is missing (some GPU images), plain ``cupy`` serves as the namespace,
with ``concat`` and ``astype`` filled in where a release lacks them.
"""

from __future__ import annotations

import numpy as np

from .base import Backend, LibraryNamespace, unavailable


class CupyBackend(Backend):
    name = "cupy"
    extra = "cuda12"

    def __init__(self, cupy):
        self.cupy = cupy
        try:
            import array_api_compat.cupy as xp
        except ImportError:
            xp = LibraryNamespace(cupy)
        self.xp = xp
        import cupyx.scipy.special as csp

        self._erf = csp.erf

    def asarray(self, x, dtype=None):
        return self.cupy.asarray(x, dtype=dtype)

    def to_numpy(self, x) -> np.ndarray:
        return self.cupy.asnumpy(x)

    def copy(self, x):
        return self.cupy.array(x, copy=True)

    def sync(self, x=None):
        self.cupy.cuda.get_current_stream().synchronize()
        return x

    def erf(self, x):
        return self._erf(x)

    def devices(self) -> list[str]:
        cp = self.cupy
        names = []
        for i in range(cp.cuda.runtime.getDeviceCount()):
            props = cp.cuda.runtime.getDeviceProperties(i)
            name = props["name"]
            names.append(f"cuda:{i} {name.decode() if isinstance(name, bytes) else name}")
        return names

    def version(self) -> str:
        return self.cupy.__version__


def create() -> CupyBackend:
    try:
        import cupy
    except ImportError as exc:
        raise unavailable(
            "cupy", "cuda12", f"CuPy is not installed ({exc})", "CUDA 12; reseau[cuda13] for CUDA 13"
        ) from None
    try:
        usable = cupy.is_available()
    except Exception as exc:  # a broken driver raises instead of answering
        usable, why = False, str(exc)
    else:
        why = "cupy.is_available() is False (no CUDA GPU or driver)"
    if not usable:
        raise unavailable("cupy", "cuda12", why)
    from .nccl import local_rank

    rank = local_rank()
    if rank is not None:  # one GPU per rank under a launcher (mpirun, srun)
        cupy.cuda.Device(rank % cupy.cuda.runtime.getDeviceCount()).use()
    return CupyBackend(cupy)
