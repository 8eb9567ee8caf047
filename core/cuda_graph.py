"""CUDA graphs for small models on CuPy: a whole training step recorded once and replayed.

A step of a small model is dozens of tiny kernel launches, each costing more than its work;
replayed from a CUDA graph they cost one launch. A replay reads and writes the addresses it was
recorded with, so:
- the mini-batch is gathered into the workspace's X and Y buffers (as always on CuPy);
- the step count lives on the device (``t``) and the graph advances it; the optimisers' bias
  corrections, momentum's first step and the dropout masks read it there (kernels/cupy_kernels);
- the graph ends by copying its new optimiser state (the guard's bookkeeping) back over the state
  it read, so the next step hands in the same arrays; a learning rate or state that arrives in
  other arrays (a schedule, a new epoch) is copied in before the launch;
- what the step allocates comes from a memory pool of the graph's own (one per batch size) that
  nothing else uses, so no other array ever lands on memory a replay writes. One pool for all
  sizes is not enough: the buffers the second size's first step makes and keeps (scratch arrays,
  the softmax's row indices) could land on the temporaries the first size's graph reuses at every
  replay (seen on an H200 as a softmax model off by 2e-3 after 20 steps); and the kernels make
  the buffers they keep from CuPy's default pool in any case;
- the GEMMs go through reseau's own cuBLAS handle (kernels/cublas.py): CuPy's refuses to be
  recorded.
One graph per batch size (an epoch's last batch may be shorter). The first step at a size runs
eagerly on that pool (kernels compile, buffers are cached); the second is recorded, then launched.
"""

from __future__ import annotations

from .state import StepState


class GraphedStep:
    """``step(params, opt_state, x, y, step_index)`` (the pure step, in place on CuPy) replayed from
    CUDA graphs; same contract, same results as the step itself."""

    def __init__(self, step, backend):
        cp = backend.cupy
        self._cp, self._step = cp, step
        self.stream = cp.cuda.Stream()  # for recording; replays go on the current stream
        self.pools = {}  # batch rows -> the memory pool of that size's warm-up step and graph
        self.t = cp.zeros((), dtype=cp.int64)
        self._t_host = None  # what self.t holds, as far as the host knows
        self._graphs = {}  # batch rows -> (graph, params, state, x, y, loss)

    def __call__(self, params, state, x, y, step_index):
        """``state`` is a StepState; the graph addresses its buffers by their flat names."""
        params, state, loss = self._call(params, state.buffers(), x, y, step_index)
        return params, StepState.from_buffers(state), loss

    def _call(self, params, state, x, y, step_index):
        cp = self._cp
        if self._t_host != step_index:
            self.t.fill(step_index)
        self._t_host = step_index + 1  # every path below advances t by one
        rows = x.shape[0]
        entry = self._graphs.get(rows)
        if entry is not None and (entry[1] is not params or set(entry[2]) != set(state)):
            entry = None  # new parameter buffers or another optimiser: record again
        if entry is None:  # warm up or record on the side stream (capture needs one), on the graph's pool
            pool = self.pools.setdefault(rows, cp.cuda.MemoryPool())
            with cp.cuda.using_allocator(pool.malloc), self.stream:
                if ("warm", rows) not in self._graphs:
                    self._graphs["warm", rows] = True
                    new_params, new_state, loss = self._step(params, StepState.from_buffers(state), x, y, self.t)
                    cp.add(self.t, 1, out=self.t)
                    return new_params, new_state.buffers(), loss
                entry = self._graphs[rows] = self._record(params, state, x, y)
        graph, g_params, g_state, g_x, g_y, loss = entry
        for key, value in state.items():  # on the current stream, like everything around the step
            if value is not g_state[key]:
                cp.copyto(g_state[key], value)
        for captured, given in ((g_x, x), (g_y, y)):
            if captured is not given:
                cp.copyto(captured, given)
        graph.launch()
        return g_params, dict(g_state), loss

    def _record(self, params, state, x, y):
        cp, stream = self._cp, self.stream
        state = dict(state)
        stream.begin_capture()
        try:
            new_params, new_state, loss = self._step(params, StepState.from_buffers(state), x, y, self.t)
            cp.add(self.t, 1, out=self.t)
            if new_params is not params:
                cp.copyto(params, new_params)
            for key, value in new_state.buffers().items():
                if value is not state[key]:
                    cp.copyto(state[key], value)
        finally:
            graph = stream.end_capture()
        return graph, params, state, x, y, loss
