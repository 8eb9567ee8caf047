"""The rows of each training step: ``Batches(kern, X, Y, W, batch_size, ...)(order, start)``
yields (first row, X rows, Y rows, weights or None) for every mini-batch of an epoch from row
``start`` on, the rows taken in ``order`` (None: as they are).

Three ways to the rows, the same rows each way:
- NumPy, small data (``REORDER_BYTES``): each epoch's rows are put in order once (two gathers an
  epoch, into buffers kept for the fit), then every batch is a view;
- no order: every batch is a slice of the data;
- otherwise each batch is gathered right before its step (into the step's workspace where there
  is one); a row source's X (``rows(idx)``: sparse data, densified per batch) always so.
Under MPI each rank takes its share of every batch; with ``shard`` (JAX devices) each batch is
split over the devices.
"""

from __future__ import annotations

from ..backends.host import np


class Batches:
    """The mini-batches of one fit's data, gathered by the kernel table ``kern``."""

    #: data up to this size are reordered once an epoch on the host instead of gathered per batch:
    #: small sets save the per-batch calls (S: 0.12 → 0.09 ms a step); larger ones gain from each
    #: batch being gathered right before its step, still in cache (M, 16 MB: 0.2 ms a step lost)
    REORDER_BYTES = 1 << 22

    def __init__(self, kern, X, Y, W, batch_size, workspaces=None, comm=None, shard=None):
        self.kern, self.X, self.Y, self.W, self.n, self.bs = kern, X, Y, W, X.shape[0], batch_size
        self.workspaces, self.comm, self.shard = workspaces, comm, shard
        self.source = hasattr(X, "rows")
        self.reorder = isinstance(X, np.ndarray) and not self.source and X.nbytes + Y.nbytes <= self.REORDER_BYTES
        self.buffers = None  # (X, Y, W) in this epoch's order, when reordered
        self.ordered = False  # whether the buffers hold this epoch's order

    def start_epoch(self, order):
        """A new epoch: its rows are put in order when its first batch is asked for (a compiled
        epoch that runs every batch itself never asks)."""
        self.ordered = False

    def _reordered(self, order):
        """(X, Y, W) with rows in ``order``, into buffers kept for the fit (W None without weights)."""
        kern = self.kern
        if self.buffers is None:
            self.buffers = (
                np.empty_like(self.X),
                np.empty_like(self.Y),
                None if self.W is None else np.empty_like(self.W),
            )
        if not self.ordered:  # a kernel set may gather into ``out`` or hand back a new array
            X, Y, W = self.buffers
            W = None if W is None else kern.gather(self.W, order, out=W)
            self.buffers, self.ordered = (kern.gather(self.X, order, out=X), kern.gather(self.Y, order, out=Y), W), True
        return self.buffers

    def __call__(self, order, start):
        kern, n, bs = self.kern, self.n, self.bs
        if start >= n:
            return
        X, Y, W = self._reordered(order) if order is not None and self.reorder else (self.X, self.Y, self.W)
        gather = order is not None and not self.reorder
        for lo in range(start, n, bs):
            a, b = lo, min(lo + bs, n)
            if self.comm is not None:
                width = (b - lo) // self.comm.size
                a, b = lo + self.comm.rank * width, lo + (self.comm.rank + 1) * width
            if gather:
                idx = order[a:b]
                ws = self.workspaces and self.workspaces.get(b - a, Y)
                xb = X.rows(idx) if self.source else kern.gather(X, idx, out=ws and ws.X)
                yb = kern.gather(Y, idx, out=ws and ws.Y)
                wb = None if W is None else kern.gather(W, idx)
            else:
                xb, yb = (X, Y) if (a, b) == (0, n) else (X[a:b], Y[a:b])
                xb = X.rows(slice(a, b)) if self.source else xb
                wb = None if W is None else (W if (a, b) == (0, n) else W[a:b])
            if self.shard is not None:
                xb, yb = self.shard(xb), self.shard(yb)
            yield lo, xb, yb, wb
