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
    def __init__(self, backend, precision="fp32"):
        super().__init__(backend, precision)
        self._matmul_precision = {"fp32": "highest", "tf32": "tensorfloat32", "bf16": None}[precision]

    def matmul(self, A, B):
        """A · B in the table's precision: fp32 exactly ("highest"); tf32, JAX's "tensorfloat32"
        (TF32 tensor cores on NVIDIA GPUs, true float32 on CPUs); bf16, both operands rounded to
        bfloat16 and the products summed in float32 (``preferred_element_type``)."""
        xp = self.xp
        if self.precision == "bf16":
            return xp.matmul(A.astype(xp.bfloat16), B.astype(xp.bfloat16), preferred_element_type=A.dtype)
        return xp.matmul(A, B, precision=self._matmul_precision)

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
