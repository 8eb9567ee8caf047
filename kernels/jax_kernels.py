"""JAX kernels: the reference's jnp code, which XLA fuses under ``jax.jit``, with the one op XLA
handles badly replaced.

``pack`` (the layers' gradients into the flat buffer): a ``concatenate`` of GEMM outputs let
XLA's CPU compiler fuse the GEMMs into the concatenation loop, and the L step
(bench/step_bench.py) took 869 ms instead of 211 ms. Writing each piece with
``lax.dynamic_update_slice`` into one buffer keeps the GEMMs on their fast path.
"""

from __future__ import annotations

from jax import lax

from .reference import Reference


class JaxKernels(Reference):
    def pack(self, arrays):
        """The flat buffer [a₁ | a₂ | ...], written piece by piece in place."""
        xp = self.xp
        flat = xp.zeros(sum(a.size for a in arrays), dtype=arrays[0].dtype)
        offset = 0
        for a in arrays:
            flat = lax.dynamic_update_slice(flat, xp.reshape(a, (-1,)), (offset,))
            offset += a.size
        return flat

    def gated(self, ok, update, params, state):
        """``update()`` under ``lax.cond``: the branch not taken costs nothing, and the taken one
        updates the donated buffers in place (a select after the update costs XLA extra passes)."""
        def skip():
            return params, {k: state[k] for k in state}

        def take():
            new_params, new_state = update()
            return new_params, {k: new_state[k] for k in state}

        return lax.cond(ok, take, skip)
