"""reseau: multilayer perceptrons from first principles on NumPy, CuPy and JAX.

    import reseau
    model = reseau.MLP([30, 16, 1], hidden="tanh", output="sigmoid", init="xavier", seed=0)
    history = model.fit(X, y, epochs=200, batch_size=32, lr=0.1)
    model.predict(X)
"""

from . import backends, datasets, optim
from .backends import BackendUnavailableError
from .core.model import MLP
from .core.preprocessing import MinMaxScaler
from .core.train import History, TrainingDivergedError

__version__ = "0.1.0"
__all__ = ["MLP", "MinMaxScaler", "History", "TrainingDivergedError", "BackendUnavailableError",
           "backends", "datasets", "optim", "__version__"]
