"""The flat parameter buffer: every layer's W and b are views into one 1-D array.

Order: W⁽¹⁾ (row-major, shape (n_in, n_out)), b⁽¹⁾, W⁽²⁾, b⁽²⁾, ... Gradients and optimiser
state are flat buffers of the same length and order, so one kernel updates the whole model.
"""

from __future__ import annotations

from ..backends.host import np
from .state import is_leaves


class Layout:
    """Where W⁽ˡ⁾ and b⁽ˡ⁾ of each layer sit in the flat buffer."""

    def __init__(self, sizes: list[int]):
        self.sizes = list(sizes)
        self.shapes = list(zip(self.sizes[:-1], self.sizes[1:]))
        self.slices = []
        offset = 0
        for n_in, n_out in self.shapes:
            w = (offset, offset + n_in * n_out)
            b = (w[1], w[1] + n_out)
            self.slices.append((w, b))
            offset = b[1]
        self.size = offset

    def unflatten(self, xp, flat):
        """[(W⁽¹⁾, b⁽¹⁾), ...] as views of ``flat`` (slices under JAX's jit); from leaves (a tuple
        W⁽¹⁾, b⁽¹⁾, W⁽²⁾, ..., see ``split``) the pairs themselves."""
        if is_leaves(flat):
            return list(zip(flat[0::2], flat[1::2]))
        return [
            (xp.reshape(flat[w0:w1], shape), flat[b0:b1])
            for ((w0, w1), (b0, b1)), shape in zip(self.slices, self.shapes)
        ]

    def split(self, xp, flat):
        """The leaves (W⁽¹⁾, b⁽¹⁾, W⁽²⁾, b⁽²⁾, ...) as separate arrays: JAX keeps these between steps,
        since XLA cannot make views and would copy every W out of the flat buffer each step."""
        return tuple(a for pair in self.unflatten(xp, flat) for a in pair)

    def join(self, xp, leaves):
        """The flat buffer from the leaves (one copy)."""
        return xp.concat([xp.reshape(a, (-1,)) for a in leaves])

    def weight_mask(self):
        """1.0 on every weight, 0.0 on every bias, over the flat buffer (a host float64 array)."""
        mask = np.zeros(self.size)
        for (w0, w1), _ in self.slices:
            mask[w0:w1] = 1.0
        return mask

    def checked(self, weights) -> list:
        """``weights`` as [(W, b), ...] float64 pairs of this layout's shapes, all finite (what
        ``set_weights`` takes), else a ValueError naming the layer."""
        try:
            pairs = [tuple(pair) for pair in weights]
        except TypeError:
            pairs = None
        if pairs is None or len(pairs) != len(self.shapes) or any(len(p) != 2 for p in pairs):
            raise ValueError(
                f"weights must be a list of {len(self.shapes)} (W, b) pairs, one per layer, as get_weights() returns"
            )
        checked = []
        for l, ((W, b), (n_in, n_out)) in enumerate(zip(pairs, self.shapes), start=1):
            W, b = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)
            if W.shape != (n_in, n_out) or b.shape != (n_out,):
                raise ValueError(
                    f"weights of layer {l} have shapes W {W.shape}, b {b.shape}; "
                    f"expected W ({n_in}, {n_out}) and b ({n_out},)"
                )
            if not (np.isfinite(W).all() and np.isfinite(b).all()):
                raise ValueError(f"weights of layer {l} contain NaN or inf; expected finite numbers")
            checked.append((W, b))
        return checked
