"""reseau: multilayer perceptrons from first principles on NumPy, CuPy and JAX.

import reseau
model = reseau.MLP([30, 16, 1], hidden="tanh", output="sigmoid", init="xavier", seed=0)
history = model.fit(X, y, epochs=200, batch_size=32, lr=0.1)
model.predict(X)
"""

import os as _os

# From a source checkout that is not installed, backends/, core/ and kernels/ sit beside this
# folder: let them resolve as reseau.backends, reseau.core and reseau.kernels.
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_root, "core", "model.py")) and _root not in __path__:
    __path__.append(_root)


def _version() -> str:
    """The version pyproject.toml declares: from the installed package's metadata, or from the
    checkout's pyproject.toml when reseau runs from a source tree that is not installed."""
    pyproject = _os.path.join(_root, "pyproject.toml")
    if _os.path.isfile(pyproject) and _os.path.isfile(_os.path.join(_root, "core", "model.py")):
        import tomllib

        with open(pyproject, "rb") as f:
            return tomllib.load(f)["project"]["version"]
    from importlib.metadata import version

    return version("reseau")


from . import backends, callbacks, datasets, optim, plots  # noqa: E402
from .backends import BackendUnavailableError  # noqa: E402
from .core.columns import ColumnPlan, DataWarning  # noqa: E402
from .core.gradcheck import gradcheck  # noqa: E402
from .core.guard import TrainingDivergedError  # noqa: E402
from .core.history import History  # noqa: E402
from .core.model import MLP, load  # noqa: E402
from .core.preprocessing import MinMaxScaler, StandardScaler  # noqa: E402

__version__ = _version()
__all__ = [
    "MLP",
    "load",
    "gradcheck",
    "ColumnPlan",
    "DataWarning",
    "MinMaxScaler",
    "StandardScaler",
    "History",
    "TrainingDivergedError",
    "BackendUnavailableError",
    "backends",
    "callbacks",
    "datasets",
    "optim",
    "plots",
    "__version__",
]
