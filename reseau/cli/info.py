"""``reseau info``: the backends available here, their devices, versions and BLAS."""

from __future__ import annotations

import platform

from .. import backends
from ..backends.host import np


def cmd_info(args) -> int:
    import reseau

    print(
        f"reseau {reseau.__version__}, Python {platform.python_version()} on {platform.machine()}, "
        f"NumPy {np.__version__}"
    )
    print("backends (name, version, the devices it computes on):")
    for name, status in backends.available().items():
        if status == "ok":
            bk = backends.get(name)
            print(f"  {name:6} {bk.version():10} devices: {', '.join(bk.devices())}")
        else:
            print(f"  {name:6} unavailable: {status}")
    kernels = reseau.kernels.variants(backends.get("numpy"))
    print(
        f"NumPy's fused kernels: {kernels[0]}"
        + ("" if "numba" in kernels else ' (pip install "reseau[cpu]" for numba)')
    )
    try:
        from threadpoolctl import threadpool_info

        for lib in threadpool_info():
            if lib.get("user_api") == "blas":
                print(
                    f"BLAS ({_loaded_by(lib.get('filepath', ''))}): {lib.get('internal_api')} {lib.get('version')} "
                    f"for {lib.get('architecture')}, {lib.get('num_threads')} threads"
                )
    except ImportError:
        print("BLAS: (pip install threadpoolctl to see which)")
    return 0


def _loaded_by(path: str) -> str:
    """Whose copy of BLAS a library file is: NumPy's (the step path's GEMMs) or SciPy's (numba's
    np.dot, so the compiled epoch's)."""
    if "numpy" in path:
        return "NumPy's, for the step path"
    if "scipy" in path:
        return "SciPy's, for numba's compiled epochs"
    return path.rsplit("/", 1)[-1] or "unknown"


def package_version() -> str:
    import reseau

    return reseau.__version__


def add_parser(sub):
    """The ``info`` command."""
    info = sub.add_parser("info", allow_abbrev=False, help="backends available here, devices, versions and BLAS")
    info.set_defaults(func=cmd_info)
