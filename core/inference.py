"""Inference: a built network's logits or output for many rows, chunk by chunk, into one result.

Per chunk of rows Xc (``chunk_rows`` of them):

    Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾W⁽ˡ⁾ into a preallocated workspace, then A⁽ˡ⁾ = g⁽ˡ⁾(Z⁽ˡ⁾ + b⁽ˡ⁾) in place
    (the training kernels' fused bias + activation loops where the backend has them), A⁽⁰⁾ = Xc;
    the last layer's Z written straight into the result's rows, its bias and the head's output
    (softmax, σ or identity) applied there in place.

No array is allocated per chunk and nothing is concatenated: the workspaces are made once per
network, dtype and thread and reused by every call (predict, predict_proba, evaluate, the scikit-learn
estimators, the CLI). JAX cannot write into buffers: there one jitted forward per row bucket (the
full chunk, and the last, shorter chunk padded to a power of two), so a new row count never
compiles anything new after the first few calls.
"""

from __future__ import annotations

import glob
import os
import threading

from ..backends.host import np
from .network import logits

#: an upper bound on a chunk's activations, whatever the cache: the memory a chunk may take
MAX_CHUNK_ELEMENTS = 1 << 22
#: JAX chunks: each bucket is one compiled program; the smallest holds this many rows
JAX_CHUNK, JAX_SMALLEST = 8192, 64


def l2_cache_bytes() -> int:
    """The CPU's L2 cache per core: Linux's /sys (the level-2 entry of cpu0's caches), else 1 MiB."""
    for index in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*")):
        try:
            with open(os.path.join(index, "level")) as f:
                level = f.read().strip()
            with open(os.path.join(index, "size")) as f:
                size = f.read().strip().upper()
        except OSError:
            continue
        if level == "2" and size[:-1].isdigit():
            return int(size[:-1]) << {"K": 10, "M": 20}.get(size[-1], 0)
    return 1 << 20


def chunk_rows(sizes, itemsize: int, l2: int | None = None) -> int:
    """Rows per chunk: what a chunk touches (its input rows, each hidden layer's Z and A, the
    output rows: sizes[0] + 2·Σ hidden + sizes[-1] values a row) fills half the L2 cache, so a
    layer's output is still in cache when its bias, activation and the next product read it; a
    multiple of 64, at least 256, and at most MAX_CHUNK_ELEMENTS / (the widest layer) rows
    (memory stays bounded for wide layers). Measured on 64-100-10 float32, 2 MiB L2
    (``bench/predict_bench.py --chunk-rows 256,1024,2368,8192,41943``): 256 rows 24.0 ms, 1,024
    23.0, 2,368 24.0, 8,192 25.9, 41,943 (the old chunks) 28.5 at one thread; 19.0, 16.2, 16.1,
    16.8, 19.8 at two (bench/results/predict.txt)."""
    l2 = l2_cache_bytes() if l2 is None else l2
    rows = (l2 // 2) // (itemsize * (sizes[0] + 2 * sum(sizes[1:-1]) + sizes[-1]))
    rows = max(256, rows // 64 * 64)
    return max(1, min(rows, MAX_CHUNK_ELEMENTS // max(sizes)))


def pad_rows(n: int) -> int:
    """The bucket a JAX chunk of n rows runs in: the next power of two, at least JAX_SMALLEST."""
    return max(JAX_SMALLEST, 1 << (n - 1).bit_length())


class Inference:
    """The forward pass of a network (its ``layout`` and ``activations``, the ``head``'s output)
    outside training: no dropout, no cache for backward."""

    def __init__(self, backend, kern, layout, activations, head, dtype):
        self.backend, self.kern, self.layout = backend, kern, layout
        self.activations, self.head, self.dtype = activations, head, dtype
        self.rows = JAX_CHUNK if backend.name == "jax" else chunk_rows(layout.sizes, np.dtype(dtype).itemsize)
        self._local = threading.local()  # each thread its own workspace: concurrent predicts do not mix
        self._jitted = {}

    # ---- the passes --------------------------------------------------------------------------

    def spans(self, n: int):
        """(start, stop) of each chunk of n rows."""
        return ((a, min(a + self.rows, n)) for a in range(0, n, self.rows))

    def output(self, params, X, into=None, head=None):
        """The head's output for the host rows ``X`` as a host array (n, n_out), written into ``into``
        where given. ``head``: a function A = f(xp, Z) of the logits to apply instead (the
        scikit-learn estimators' output activations), written over each chunk's rows."""
        n, k = X.shape[0], self.layout.sizes[-1]
        R = np.empty((n, k), dtype=np.dtype(self.dtype)) if into is None else into
        if self.backend.name == "jax":
            return self._jax(params, X, R, head)
        on_host = self.backend.name == "numpy"
        for a, b, Z in self._chunks(params, X, R if on_host else None):
            if head is None:
                self.kern.head_output_into(self.head, Z)
            else:
                Z[...] = head(self.kern.xp, Z)
            if not on_host:
                R[a:b] = self.backend.to_numpy(Z)
        return R

    def logits(self, params, X):
        """(start, stop, Z) per chunk of the device rows ``X``: the chunk's logits (a workspace view,
        valid until the next chunk; on JAX a new array)."""
        if self.backend.name == "jax":
            fn = self._program("logits")
            for a, b in self.spans(X.shape[0]):
                yield a, b, fn(params, self._padded(X[a:b]))[: b - a]
            return
        yield from self._chunks(params, X, None)

    # ---- NumPy and CuPy: workspaces ----------------------------------------------------------

    def _chunks(self, params, X, R):
        """(start, stop, Z) per chunk, Z the logits in R's rows (R given) or in the workspace."""
        layers = self.layout.unflatten(self.kern.xp, params)
        ws = self._buffers()
        for a, b in self.spans(X.shape[0]):
            m = b - a
            A = self.backend.asarray(X[a:b], dtype=self.dtype)
            for l, ((W, bias), name) in enumerate(zip(layers, self.activations)):
                if l < len(layers) - 1:
                    Z, A_out = ws[l][0][:m], ws[l][1][:m]
                else:
                    Z = A_out = ws[-1][0][:m] if R is None else R[a:b]
                _, A = self.kern.dense_forward(name, A, W, bias, out=(Z, A_out))
            if A is not A_out:  # kernels that return new arrays (the reference's)
                A_out[...] = A
            yield a, b, A_out

    def _buffers(self):
        """Per layer (Z, A) of ``self.rows`` rows (the output layer's Z alone), made on a thread's
        first use (each thread its own: two threads predicting at once once overwrote each other's)."""
        ws = getattr(self._local, "workspace", None)
        if ws is None or ws[-1][0].shape[0] < self.rows:
            xp, rows = self.kern.xp, self.rows
            ws = self._local.workspace = [
                (xp.empty((rows, n_out), dtype=self.dtype), xp.empty((rows, n_out), dtype=self.dtype))
                for _, n_out in self.layout.shapes[:-1]
            ] + [(xp.empty((rows, self.layout.sizes[-1]), dtype=self.dtype),)]
        return ws

    # ---- JAX: a jitted program per row bucket ------------------------------------------------

    def _jax(self, params, X, R, head):
        fn = self._program("output" if head is None else "logits")
        for a, b in self.spans(X.shape[0]):
            A = self.backend.to_numpy(fn(params, self._padded(X[a:b])))[: b - a]
            R[a:b] = A if head is None else head(np, A)
        return R

    def _padded(self, Xc):
        """The chunk on the device, its rows padded with zeros to its bucket's size."""
        m = Xc.shape[0]
        rows = self.rows if m == self.rows else pad_rows(m)
        xp = np if isinstance(Xc, np.ndarray) else self.kern.xp
        if rows != m:
            Xc = xp.concat([Xc, xp.zeros((rows - m, Xc.shape[1]), dtype=Xc.dtype)])
        return self.backend.asarray(Xc, dtype=self.dtype)

    def _program(self, what):
        """The jitted logits or output function (one program; XLA compiles it once per bucket)."""
        if what not in self._jitted:
            kern, layout, activations, head = self.kern, self.layout, self.activations, self.head

            def program(params, Xc):
                Z = logits(kern, layout.unflatten(kern.xp, params), activations, Xc)
                return Z if what == "logits" else kern.head_output(head, Z)

            self._jitted[what] = self.backend.jit(program)
        return self._jitted[what]
