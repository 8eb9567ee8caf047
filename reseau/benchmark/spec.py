"""The benchmark's cases: a network with its data and initial weights (``Spec``), and what a timed
method is (``Method``)."""

from __future__ import annotations

from ..backends.host import np
from ..core.model import MLP

SIZES = {
    "S": ([30, 16, 1], "tanh", 64),
    "M": ([784, 256, 256, 10], "relu", 128),
    "L": ([1024, 4096, 4096, 10], "relu", 512),
}


PAUSE = 0.2  # seconds between methods: OpenBLAS and OpenMP workers spin after use


TARGET_ACCURACY = 0.97


class Unsupported(Exception):
    """A method that has no counterpart for the case asked (reported as skipped)."""


class Spec:
    """One benchmark case: layer sizes, hidden activation, batch size, dtype and optimiser."""

    def __init__(self, name, sizes, hidden, n, dtype="float32", optimizer="adam", lr=1e-3):
        self.name, self.sizes, self.hidden, self.n = name, list(sizes), hidden, n
        self.dtype, self.optimizer, self.lr = dtype, optimizer, lr
        self.output = "sigmoid" if sizes[-1] == 1 else "softmax"
        rng = np.random.default_rng(0)
        self.X = rng.standard_normal((n, sizes[0])).astype(dtype)
        self.y = rng.integers(0, 2 if self.output == "sigmoid" else sizes[-1], n)
        self.weights = self.model("numpy", dtype="float64").get_weights()

    def model(self, backend, **options):
        """This case's network as an MLP on ``backend`` (seed 0, its dtype unless ``options`` say)."""
        return MLP(
            self.sizes,
            hidden=self.hidden,
            output=self.output,
            backend=backend,
            seed=0,
            **{"dtype": self.dtype, **options},
        )

    def as_dict(self):
        return {
            "name": self.name,
            "layers": self.sizes,
            "hidden": self.hidden,
            "batch": self.n,
            "dtype": self.dtype,
            "optimizer": self.optimizer,
            "lr": self.lr,
        }


class Method:
    """step() runs one training step and waits for it; run(k) runs k steps back to back and waits
    once, at the end (how a training loop on a GPU runs: the host queues step k+1 while the device
    works on step k); first_loss is the loss on the batch at the initial weights (None for the
    floor)."""

    def __init__(self, step, first_loss=None, run=None):
        self.step, self.first_loss = step, first_loss
        self._run = run

    def run(self, k):
        if self._run is not None:
            return self._run(k)
        for _ in range(k):
            self.step()
