"""Preallocated buffers for in-place kernels (NumPy, CuPy): one set per batch size.

Per layer l: A⁽ˡ⁾ (n × n_l), and Z⁽ˡ⁾ too unless g' reads A alone (then Z is overwritten by A);
per hidden boundary: dA (n × n_l), which the activation gradient turns into dZ in place;
the mini-batch X, Y; and the flat gradient buffer, whose views receive every dW and db.
"""

from __future__ import annotations


class Workspace:
    def __init__(self, kern, layout, activations, n, dtype, grad_and_loss, y_shape, y_dtype):
        xp = kern.xp
        self.n = n
        self.Z, self.A, self.dA = [], [], [None]
        for (n_in, n_out), name in zip(layout.shapes, activations):
            A = xp.empty((n, n_out), dtype=dtype)
            self.A.append(A)
            self.Z.append(A if name in kern.GRAD_FROM_A else xp.empty((n, n_out), dtype=dtype))
        self.dA += [xp.empty((n, n_in), dtype=dtype) for n_in, _ in layout.shapes[1:]]
        self.X = xp.empty((n, layout.sizes[0]), dtype=dtype)
        self.Y = xp.empty((n,) + tuple(y_shape), dtype=y_dtype)
        self.grad_and_loss, self.grad = grad_and_loss, grad_and_loss[: layout.size]
        self.dWdb = layout.unflatten(xp, self.grad)
        self._layout, self._params, self._layers = layout, None, None

    def layers(self, xp, params):
        """[(W, b)] views of ``params``, kept while the same buffer comes back (in-place updates)."""
        if params is not self._params:
            self._params, self._layers = params, self._layout.unflatten(xp, params)
        return self._layers


class Workspaces:
    """Workspaces by batch size (a fit sees at most two: the batch and the last, shorter one),
    sharing one flat gradient buffer."""

    def __init__(self, kern, layout, activations, dtype):
        self.kern, self.layout, self.activations, self.dtype = kern, layout, activations, dtype
        #: the flat gradient and, in its last element, the batch loss: one message for an allreduce
        self.grad_and_loss = kern.xp.zeros(layout.size + 1, dtype=dtype)
        self._by_n = {}

    def get(self, n, Y):
        ws = self._by_n.get(n)
        if ws is None:
            ws = self._by_n[n] = Workspace(
                self.kern, self.layout, self.activations, n, self.dtype, self.grad_and_loss, Y.shape[1:], Y.dtype
            )
        return ws
