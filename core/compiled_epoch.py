"""The compiled epoch on the CPU: a fit of a model on NumPy with numba (``reseau[cpu]``) whose
configuration kernels/numba_epoch.py covers runs each epoch, the short last batch too, in one
compiled call; where nothing needs the epochs' ends as they come (core/trainer.py: no validation,
no callback of the user's), several epochs in one call.

Covered: hidden relu, leaky relu, tanh or sigmoid; the sigmoid, softmax and identity heads;
every optimiser of core/optim.py (SGD plain, momentum, Nesterov in PyTorch's and Sutskever's forms;
Adam / AdamW with AMSGrad and Keras's ε; Adagrad; AdaDelta; RMSprop centred or with momentum),
gradient clipping; dropout (the step path's counter-based masks); L1 and L2; any learning-rate
schedule (the rates come per step); sample and class weights; divergence modes "stop" and "skip".
``uncovered`` names what sends a fit to the step path instead: label smoothing, data parallelism,
reduced-precision GEMMs, an optimiser subclass with an update of its own.

``epoch`` has the form of core/steps.make_epoch's: ``epoch(params, opt_state, X, Y, order, step0,
lrs, W=None) -> (params, opt_state)``, the parameters and optimiser slots updated in place;
``epoch.epochs(..., count)`` runs ``count`` epochs, ``order`` and ``lrs`` theirs one after
another, and returns the guard's book of each as well.
"""

from __future__ import annotations

import contextlib
import threading

from ..backends.host import np
from ..kernels.coefficients import records
from . import optim

STEP_PATH = "step by step"
COMPILED = "compiled epochs (numba)"
COMPILED_JAX = "compiled epochs (jax)"


def uncovered(network, head, smoothing, kern, opt, comm=None, on_divergence="stop") -> str | None:
    """Why a fit of ``network`` with the head ``head`` (the model's, or the estimators'
    out_activation_), label smoothing ``smoothing``, the kernel table ``kern`` and ``opt`` runs step
    by step (None: the compiled epoch covers it)."""
    from ..kernels import numba_epoch as ne  # imports numba: only asked where it is installed

    hidden = network.activations[:-1]
    checks = (
        (comm is not None, "data split over ranks"),
        (any(a not in ne.ACTIVATIONS for a in hidden), f"hidden activation {_first_not_in(hidden, ne.ACTIVATIONS)}"),
        (head not in ne.HEADS, f"output {head}"),
        (bool(smoothing), "label smoothing"),
        (getattr(kern, "precision", "fp32") != "fp32", "reduced-precision GEMMs"),
        (type(opt).apply not in _COVERED, f"optimiser {opt.name}"),
        (on_divergence not in ("stop", "skip", "apply"), f"on_divergence={on_divergence!r}"),
    )
    return next((why for bad, why in checks if bad), None)


#: multiply-adds a step (batch × parameters) above which the step path is as fast or faster: its
#: loops run vectorised in parallel and its GEMMs on every BLAS thread. Measured through ``fit``
#: (bench/epoch_bench.py, bench/results/compiled-epoch.md; float32, Adam, 2-core machine), compiled
#: ÷ step path: 30-16-1 batch 64 0.49 (relu) and 0.78 (tanh), 64-100-10 batch 32 0.64 and batch
#: 200 0.82, 100-256-256-10 batch 64 0.86, 784-64-10 batch 128 0.98, 784-256-256-10 batch 128 1.14.
SMALL_STEP = 2_000_000


def too_large(layout, batch_size) -> str | None:
    """Why a fit's steps of ``batch_size`` rows through a network of ``layout`` are too large to
    gain from the compiled epoch (None: they gain)."""
    work = batch_size * layout.size
    return None if work <= SMALL_STEP else f"a large step: {work:,} multiply-adds, BLAS's threads do better"


def available(backend, kern) -> bool:
    """Whether the kernel table ``kern`` on ``backend`` can run the compiled epoch at all (NumPy with numba)."""
    return backend.name == "numpy" and getattr(kern, "compiled_epoch", False)


def unavailable(backend, kern) -> str | None:
    """Why the kernel table ``kern`` on ``backend`` cannot run the compiled epoch (None: it can)."""
    import importlib.util

    if available(backend, kern):
        return None
    if backend.name != "numpy":
        return f"the {backend.name} backend"
    if importlib.util.find_spec("numba") is None:
        return "no numba (pip install 'reseau[cpu]')"
    from .. import kernels

    return f"kernels={kernels.variant_of(kern)!r}"


def _first_not_in(names, table):
    return next((n for n in names if n not in table), None)


def make_epoch(network, head, dtype, reg, opt, on_divergence, batch_size, alpha=None):
    """The compiled epoch (module docstring) for ``network`` with the head ``head`` in ``dtype``,
    its regularisation ``reg`` (core/regularization.py's, or None: its dropout and L1/L2), ``opt``
    and ``batch_size``, as the step compiled with the same parts (core/steps.py) runs it; ``alpha``:
    scikit-learn's penalty (l2 = α/Σw of each batch) instead of the L1/L2, the estimators' objective
    (reseau/sklearn/backing.py)."""
    from ..kernels import numba_epoch as ne

    layout, (thresholds, drop, seed) = network.layout, _dropout(reg, len(network.activations))
    lay = np.array(
        [
            (w0, b0, n_in, n_out, t)
            for ((w0, _), (b0, _)), (n_in, n_out), t in zip(layout.slices, layout.shapes, thresholds)
        ],
        dtype=np.int64,
    )
    acts = np.array([ne.ACTIVATIONS[a] for a in network.activations], dtype=np.int64)
    head, mode = ne.HEADS[head], {"stop": ne.STOP, "skip": ne.SKIP, "apply": ne.APPLY}[on_divergence]
    code, slot_names, coefficients = _optimizer(opt)
    G = np.empty(layout.size, dtype=dtype)  # the gradient, its own buffer
    clip = float(opt.clip_norm or 0.0)
    penalty = _penalty(reg, alpha)

    def epochs(params, opt_state, X, Y, order, step0, lrs, W=None, count=1):
        dtype = params.dtype
        steps = np.arange(step0 + 1, step0 + 1 + len(lrs))
        C = coefficient_rows(coefficients(np.asarray(lrs, np.float64), steps), dtype)
        # the loop's slots in its order; a slot an option switches off is read as 0·s: zeros
        slots = [opt_state.slots[k] if k else np.zeros_like(params) for k in slot_names]
        S = tuple(slots + [np.empty(0, dtype)] * (3 - len(slots)))
        book = np.tile(np.array([opt_state.book[k] for k in ne.BOOK], dtype=np.float64), (count, 1))
        w = np.empty(0, dtype) if W is None else W
        hyper = np.array([*penalty, alpha is not None, clip, mode, seed], dtype=np.float64)
        with one_blas_thread():
            ne.epoch(
                X, *_targets(Y, head == ne.HEADS["softmax"], dtype), w, order, batch_size, params, G, S, lay, acts,
                drop, head, code, C, hyper, step0, book,
            )  # fmt: skip
        books = [_book(ne.BOOK, row) for row in book.tolist()]
        return params, opt_state._replace(lr=np.asarray(lrs[-1], dtype=dtype), book=books[-1]), books

    def epoch(params, opt_state, X, Y, order, step0, lrs, W=None):
        return epochs(params, opt_state, X, Y, order, step0, lrs, W)[:2]

    epoch.whole = True  # the short last batch too (core/trainer.py)
    epoch.epochs = epochs  # several epochs in one call, their orders one after another, a book each
    epoch.hold = one_blas_thread  # the trainer holds it for the fit
    return epoch


def _book(names, row):
    """The guard's book (core/guard.py) from a row of the kernel's."""
    b = dict(zip(names, row))
    b.update({key: int(b[key]) for key in ("rows", "skipped", "first_bad")})
    return b


def _dropout(reg, layers):
    """Per layer of ``layers`` (the step path's masks, kernels/reference.py's ``dropout_mask``):
    the threshold keep·2³² the hash is compared with, 1/keep (0: no dropout), and the seed mod 2³²."""
    rates = reg.rates if reg is not None and reg.dropout_on else [0.0] * layers
    keeps = [1.0 - r for r in rates]
    thresholds = [min(int(k * 2.0**32), 2**32 - 1) for k in keeps]
    drop = np.array([1.0 / k if r > 0 else 0.0 for r, k in zip(rates, keeps)], dtype=np.float64)
    return thresholds, drop, 0 if reg is None else reg.seed % (1 << 32)


def coefficient_rows(coefficients: dict, dtype):
    """One coefficient record a step (kernels/coefficients.py's ``FIELDS``, read by name) from a
    builder's values (arrays over the steps, or constants)."""
    return records(coefficients, dtype, max(np.size(c) for c in coefficients.values()))


def _targets(Y, softmax, dtype):
    """(Y as floats, labels as int32) for the kernel, the one it does not read empty: the softmax
    head reads labels (the estimators' one-hot rows turned back into them)."""
    if not softmax:
        return Y, np.empty(0, np.int32)
    return np.empty((0, 0), dtype), Y if Y.ndim == 1 else np.argmax(Y, axis=1).astype(np.int32)


def _penalty(reg, alpha):
    """(l1, l2): scikit-learn's α where given (divided by Σw in the kernel), else the regularisation's."""
    if alpha is not None:
        return 0.0, float(alpha)
    return (0.0, 0.0) if reg is None or not reg.penalty_on else (float(reg.l1), float(reg.l2))


_POOLS = []
_HELD = [0]  # how many ``one_blas_thread`` blocks are open (the limit is set by the outermost)
_HELD_LOCK = threading.Lock()


def _held(change: int) -> int:
    """Open ``one_blas_thread`` blocks before adding ``change``."""
    with _HELD_LOCK:
        before = _HELD[0]
        _HELD[0] += change
        return before


@contextlib.contextmanager
def one_blas_thread():
    """numba's np.dot calls scipy's OpenBLAS, a second thread pool beside NumPy's: each spins after
    a call, and on a 2-core machine the two pools fought (a compiled epoch 3–10× slower through
    ``fit``). The compiled epoch's small GEMMs run on one thread of that pool (threadpoolctl); where
    scipy shares NumPy's BLAS nothing is limited. The outermost block sets the limit: the trainer
    holds one for a whole fit (setting and restoring it took ~40 µs an epoch under cProfile), so
    the epochs' own blocks inside it cost nothing."""
    outermost = _held(+1) == 0
    try:
        with _blas_limit() if outermost else contextlib.nullcontext():
            yield
    finally:
        _held(-1)


def _blas_limit():
    """threadpoolctl's one-thread limit on scipy's BLAS (a no-op where there is none of its own)."""
    if not _POOLS:
        try:
            from threadpoolctl import ThreadpoolController

            _POOLS.append(ThreadpoolController().select(filepath=_scipy_blas_path()))
        except (ImportError, OSError):
            _POOLS.append(None)
    pools = _POOLS[0]
    return contextlib.nullcontext() if pools is None or not pools.lib_controllers else pools.limit(limits=1)


def _scipy_blas_path():
    """The file of the BLAS that scipy (so numba's np.dot) loaded, told from NumPy's by folder."""
    import scipy.linalg.cython_blas  # noqa: F401 - loads it
    from threadpoolctl import threadpool_info

    numpy_dirs = ("numpy.libs", "/numpy/")
    paths = [i["filepath"] for i in threadpool_info() if i["user_api"] == "blas"]
    return [p for p in paths if not any(d in p for d in numpy_dirs)]


def _optimizer(opt):
    """(the kernel's optimiser code, its loop's slots in order (None: a zero stand-in), and the
    optimiser's own record builder, ``coefficients(lr, t)`` over a chunk's rates and steps)."""
    from ..kernels import numba_epoch as ne

    slots = [s if s in opt.slots else None for s in opt.kernel_slots] or [None]  # plain SGD: a zero buffer
    loop = opt.kernel.removesuffix("_step")
    code = {"momentum": "sgd", "adam": "adam_amsgrad" if "v_max" in opt.slots else "adam"}.get(loop, loop)
    return ne.OPTIMIZERS[code], slots, opt.coefficients


#: the optimisers whose update the compiled epoch runs: their kernel's loop from their own record
#: (a subclass with an ``apply`` of its own is not)
_COVERED = {optim.Optimizer.apply}
