"""A fit's plan: every argument of ``MLP.fit`` checked and its data prepared before anything
changes (``plan``, a frozen ``FitPlan``), the checks of the options that need a backend (CUDA
graphs, data parallelism), the key a resumed fit must match, and the agreement of MPI ranks or
JAX processes on the plan.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
from dataclasses import dataclass
from typing import NamedTuple

from .. import backends
from ..backends.host import np
from . import checkpoint as checkpoint_files
from . import (
    columns,
    compiled_epoch,
    contract,
    guard,
    heads,
    hyper,
    memory,
    optim,
    schedules,
    targets,
    validation,
    weights,
)
from .data import split_indices
from .defaults import DEFAULTS
from .regularization import auto_l2, smoothing_head
from .tables import Table


@dataclass(frozen=True)
class FitPlan:
    """What a checked fit will do, decided before anything changes: the optimiser and whether it
    continues (``continuing``), the schedule, the fitted input contract (``columns``, ``classes``,
    ``target_scale``), the device data (``X``, ``Y``, row weights ``W``, validation ``val``), the
    network to build (``build``: (sizes, head), or None when built), the resolved ``l2``, early
    stopping, checkpoint cadence (``every``, ``keep``), the resume key and checkpoint, and what all
    MPI ranks must agree on (``fingerprint``)."""

    l2: float
    opt: optim.Optimizer
    continuing: bool
    schedule: schedules.Schedule | None
    auto_schedule: bool
    columns: columns.ColumnPlan
    classes: list | None
    target_name: str | None  # y's name where it has one (a pandas Series, a one-column table), else None
    target_scale: targets.TargetScale | None
    X: object  # the training inputs on the device
    Y: np.ndarray  # the head's targets (host; the Trainer moves them)
    W: object  # row weights on the device, or None
    val: tuple | None  # (X_val, Y_val[, w_val]) on the device
    build: tuple | None  # (sizes, head) of the network to build, or None when built
    patience: int | None
    min_delta: float
    fingerprint: str
    on_divergence: str
    every: int | None
    keep: int
    resume_key: str
    resumed: tuple | None


@dataclass(frozen=True)
class FitOptions:
    """The arguments of ``MLP.fit`` (its docstring says what each does), as one value: the types
    are what each is expected to be, checked by ``plan``."""

    epochs: int = DEFAULTS["epochs"]
    batch_size: int | None = DEFAULTS["batch_size"]
    lr: float | None = None
    optimizer: str | optim.Optimizer | None = None
    schedule: str | schedules.Schedule | None = "auto"
    validation_data: tuple | None = None
    validation_split: float | None = None
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    track_gradients: bool = False
    verbose: bool | int = False
    compile_epoch: bool | None = None  # None: where the compiled epoch covers the fit (core/trainer.py)
    callback: object = None  # a function of the epoch's record
    callbacks: list | None = None
    data_parallel: bool = False
    on_divergence: str = "stop"
    checkpoint: str | None = None  # a folder
    checkpoint_every: int | None = None
    checkpoint_keep: int = 3
    resume: str | bool | None = None
    cuda_graph: bool = False
    sample_weight: object = None  # an array of one weight per row
    class_weight: dict | str | None = None


@functools.cache
def fit_signature() -> inspect.Signature:
    """``MLP.fit(X, y, epochs=..., ...)``: FitOptions' fields with their defaults, in order (the
    options are declared there once); made once (40 µs, each fit)."""
    P = inspect.Parameter
    params = [P(n, P.POSITIONAL_OR_KEYWORD) for n in ("self", "X", "y")]
    params += [P(f.name, P.POSITIONAL_OR_KEYWORD, default=f.default) for f in dataclasses.fields(FitOptions)]
    return inspect.Signature(params)


def plan(model, X, y, o: FitOptions, comm) -> FitPlan:
    """Check every argument of fit and prepare its data, changing nothing."""
    epochs = validation.positive_int(o.epochs, "epochs")
    batch_size = validation.positive_int(o.batch_size, "batch_size", allow_none=True)
    rows = _training_rows(model, X, y, o)
    table, Y, w, head, n_out, classes, scale = (
        rows.table,
        rows.Y,
        rows.w,
        rows.head,
        rows.n_out,
        rows.classes,
        rows.scale,
    )
    patience = None if o.patience is None else validation.positive_int(o.patience, "patience")
    min_delta = validation.non_negative(o.min_delta, "min_delta")
    column_plan = model.columns or columns.ColumnPlan(model.normalize, model.impute, model.handle_unknown).fit(table)
    sizes = contract.input_size(model.sizes, column_plan, n_out)
    if model.layout is None:  # the network fit builds must fit in memory (checked before anything changes)
        memory.check_network(sizes, 8 if model.dtype_name == "float64" else 4)
    X = model.contract.matrix(table, model.given(), "X", column_plan, sizes[0], "float64", training=True)
    Xd = model.backend.asarray(validation.features(X, sizes[0], model.dtype_name), dtype=model.dtype)
    if heads.is_classifier(head):
        heads.check_classes(Y)
    val = _validation(model, o, column_plan, sizes, rows)
    if o.data_parallel:
        check_data_parallel(model.backend, X.shape[0], batch_size, comm)
        if o.compile_epoch:
            raise ValueError("data_parallel=True and compile_epoch=True cannot be combined yet; choose one")
    if o.compile_epoch not in (None, True, False):
        raise ValueError(f"compile_epoch={o.compile_epoch!r} is invalid; expected None (where it helps), True or False")
    if o.compile_epoch and model.backend.name != "jax" and not compiled_epoch.available(model.backend, model.kern):
        raise ValueError(
            f"compile_epoch=True needs the jax backend, or numpy with numba (pip install 'reseau[cpu]'); "
            f"this model runs on {model.backend.name!r} with {type(model.kern).__name__}: epochs step by step"
        )
    continuing, auto, schedule, opt = _optimiser(model, o, epochs)
    on_divergence = guard.check_mode(o.on_divergence)
    check_cuda_graph(model.backend, model.kern, o.cuda_graph, o.data_parallel)
    every, keep, resume_key, resumed = _checkpoints(
        model, o, (opt, schedule, batch_size, X, Y, on_divergence, patience, min_delta, w)
    )
    fingerprint = None
    # fmt: off
    if o.data_parallel:  # what every rank or process must agree on
        fingerprint = (repr(model), repr(opt), repr(schedule), epochs, batch_size, X.shape, float(np.sum(X)),
                       float(np.sum(Y)), model.step_count, on_divergence)
    smoothing_head(model.label_smoothing, head)
    return FitPlan(
        l2=auto_l2(Xd.shape[0], o.optimizer is None) if model.l2 == "auto" else model.l2,
        opt=opt, continuing=continuing, schedule=schedule, auto_schedule=auto and schedule is not None,
        columns=column_plan, classes=classes, target_scale=scale, target_name=_name_of(y), X=Xd, Y=Y,
        W=None if w is None else model.backend.asarray(w, dtype=model.dtype), val=val,
        build=None if model.layout is not None else (sizes, head), patience=patience, min_delta=min_delta,
        fingerprint=fingerprint, on_divergence=on_divergence, every=every, keep=keep, resume_key=resume_key,
        resumed=resumed)
    # fmt: on


def _name_of(y):
    """The name a pandas Series or a one-column table carries (None: none, or not text)."""
    name = getattr(y, "name", None)
    names = getattr(y, "column_names", None) or (list(y.columns) if hasattr(y, "iloc") and y.ndim == 2 else [])
    if name is None and len(names) == 1:
        name = names[0]
    return name if isinstance(name, str) else None


def _checkpoints(model, o, run):
    """(every, keep, resume key, the checkpoint resumed from): the checkpoint options checked, and
    the newest checkpoint of ``resume`` loaded where its run (``run_key``'s arguments) is this one."""
    every = validation.positive_int(o.checkpoint_every, "checkpoint_every", allow_none=True)
    keep = validation.positive_int(o.checkpoint_keep, "checkpoint_keep")
    if o.checkpoint is not None:
        checkpoint_files.directory(o.checkpoint, create=False)
    resume_key, resumed = None, None
    if o.checkpoint is not None or o.resume is not None:
        resume_key = run_key(model, *run)
    if o.resume is not None:
        resumed = checkpoint_files.load(checkpoint_files.directory(o.resume, "resume", create=False), resume_key)
    return every, keep, resume_key, resumed


class TrainingRows(NamedTuple):
    """The training rows checked, weighted, split and scaled (``_training_rows``)."""

    table: Table  # the training rows' table
    table_val: Table | None  # the validation split's rows (None without validation_split)
    Y: np.ndarray  # the head's targets (scaled where the target is)
    Yv: np.ndarray | None  # the validation split's
    w: np.ndarray | None  # row weights (None without sample_weight / class_weight)
    wv: np.ndarray | None
    per_class: dict | None  # the class weights by class, for the validation rows
    head: str
    n_out: int
    classes: list | None
    classifier: bool
    scale: targets.TargetScale | None


def _training_rows(model, X, y, o) -> TrainingRows:
    """The training rows checked, weighted, split and scaled."""
    sample_weight, class_weight, validation_split = o.sample_weight, o.class_weight, o.validation_split
    data_parallel, cuda_graph, validation_data = o.data_parallel, o.cuda_graph, o.validation_data
    table_val = Yv = None
    given = model.given()
    table = model.contract.table(X, given)
    head, n_out, classes, Y = model.contract.labels(y, table.n_rows, given)
    classifier = heads.is_classifier(head)
    w, per_class = weights.row_weights(sample_weight, class_weight, head, Y, classes, table.n_rows)
    wv = None
    if w is not None and (data_parallel or cuda_graph):
        raise ValueError(
            f"sample_weight/class_weight with {'data_parallel' if data_parallel else 'cuda_graph'}"
            "=True is not supported yet; drop the weights or that option"
        )
    if validation_split is not None:
        if validation_data is not None:
            raise ValueError("validation_split and validation_data were both given; expected one")
        labels = Y if Y.ndim == 1 else (Y[:, 0] if Y.shape[1] == 1 else np.zeros(len(Y)))
        train_idx, val_idx = split_indices(labels, [validation_split], model.seed, stratify=classifier)
        table, table_val, Y, Yv = table.take(train_idx), table.take(val_idx), Y[train_idx], Y[val_idx]
        if w is not None:
            w, wv = w[train_idx], w[val_idx]
            if not w.any():
                raise ValueError(
                    "every row left for training after validation_split has the weight 0; "
                    "expected at least one positive weight"
                )
    scale = model.target_scale
    if scale is None and not classifier and model.target_scaling == "standard":
        scale = targets.TargetScale.fit(Y)
    if scale is not None:
        Y = scale.forward(Y)
        if validation_split is not None:
            Yv = scale.forward(Yv)
    return TrainingRows(table, table_val, Y, Yv, w, wv, per_class, head, n_out, classes, classifier, scale)


def _validation(model, o, column_plan, sizes, rows):
    """The validation data on the device: (X_val, Y_val[, w_val]) from ``validation_data`` or the
    split, weighted by the training's class weights too; None without."""
    table_val, Yv, wv, per_class, head, n_out, classes, scale = (
        rows.table_val,
        rows.Yv,
        rows.wv,
        rows.per_class,
        rows.head,
        rows.n_out,
        rows.classes,
        rows.scale,
    )
    validation_data, validation_split, class_weight = o.validation_data, o.validation_split, o.class_weight
    val, given = None, model.given()
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data must be a pair (X_val, y_val) or (X_val, y_val, w_val); got "
                f"{type(validation_data).__name__}"
            )
        Xv = model.contract.inputs(validation_data[0], given, "X_val", column_plan, sizes[0])
        Yv = model.contract.targets(validation_data[1], Xv.shape[0], given, "y_val", head, n_out, classes)
        if len(validation_data) == 3:
            wv = weights.sample_weights(validation_data[2], Xv.shape[0], "w_val")
        if per_class is not None:  # the training's class weights on the validation rows too
            class_w = per_class[weights.row_labels(class_weight, head, Yv)[0]]
            wv = class_w if wv is None else wv * class_w
        val = (Xv, model.backend.asarray(Yv if scale is None else scale.forward(Yv)))
    elif validation_split is not None:
        val = (model.contract.inputs(table_val, given, "X_val", column_plan, sizes[0]), model.backend.asarray(Yv))
    if val is not None and wv is not None:
        val = val + (model.backend.asarray(wv, dtype=model.dtype),)
    return val


def _optimiser(model, o, epochs):
    """(continuing, the schedule was "auto", the schedule, the optimiser): a fit with neither
    optimiser nor lr continues the model's; "auto" is the default schedule with the default
    optimiser and a constant rate with a named one."""
    optimizer, lr, schedule = o.optimizer, o.lr, o.schedule
    continuing = optimizer is None and lr is None and model.optimizer is not None
    auto = isinstance(schedule, str) and schedule == "auto"
    if auto:  # the default optimiser's schedule; a continuing fit keeps a constant rate it had
        kept_constant = continuing and not getattr(model, "auto_schedule", False)
        schedule = None if optimizer is not None or kept_constant else DEFAULTS["schedule"]
    if isinstance(schedule, str) and schedule == "cosine":
        schedule = schedules.CosineAnnealing(epochs)
    if schedule is not None and not isinstance(schedule, schedules.Schedule):
        raise ValueError(
            f"schedule={schedule!r} is not a schedule; expected None, 'cosine' or an object "
            "from reseau.optim (StepDecay, CosineAnnealing, Warmup, ...)"
        )
    if optimizer is None and lr is None:
        lr = DEFAULTS["lr"]
    opt = model.optimizer if continuing else optim.get(optimizer or DEFAULTS["optimizer"], lr)
    return continuing, auto, schedule, opt


def run_key(model, opt, schedule, batch_size, X, Y, on_divergence, patience, min_delta, w=None):
    """What a resumed fit must share with the one that wrote the checkpoint: the network, the
    optimiser, schedule, batch size, guard and early stopping, and the data and row weights
    (SHA-256)."""
    digest = hashlib.sha256()
    for a in (X, Y) if w is None else (X, Y, w):
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype}{a.shape}".encode())
        digest.update(memoryview(a).cast("B"))
    return (
        f"MLP({model.sizes}, {hyper.run_key(model).removesuffix(', ')}); {opt!r}; schedule={schedule!r}; "
        f"batch_size={batch_size}; "
        f"on_divergence={on_divergence}; patience={patience}, min_delta={min_delta}; "
        f"data sha256 {digest.hexdigest()[:16]}"
    )


def world(backend):
    """The MPI world for data parallelism on the NumPy and CuPy ``backend`` (on CuPy, gradients
    are summed by NCCL where cupyx.distributed is present)."""
    from ..backends import mpi

    try:
        world = mpi.world()
    except backends.BackendUnavailableError as exc:
        raise ValueError(f"data_parallel=True on the {backend.name} backend needs MPI: {exc}") from None
    if backend.name == "cupy":
        from ..backends import nccl

        return nccl.world(world)
    return world


def check_cuda_graph(backend, kern, cuda_graph, data_parallel):
    """``cuda_graph`` checked: a flag, True only for CuPy's in-place kernels with reseau's cuBLAS
    handle (``kern`` on ``backend``) and without data parallelism."""
    if not isinstance(cuda_graph, bool):
        raise ValueError(f"cuda_graph={cuda_graph!r} is invalid; expected True or False")
    if not cuda_graph:
        return
    if backend.name != "cupy":
        raise ValueError(f"cuda_graph=True needs the cupy backend (CUDA graphs); this model runs on {backend.name!r}")
    if not kern.in_place:
        raise ValueError(
            "cuda_graph=True needs the in-place CuPy kernels (kernels=None or 'cupy'), "
            "whose buffers stay where the graph recorded them"
        )
    if kern.blas is None:  # the CuPy kernels, as the two checks above make sure
        raise ValueError(
            "cuda_graph=True needs libcublas loaded through reseau's own handle (CuPy refuses "
            "cuBLAS calls while a graph records), and libcublas was not found beside CuPy"
        )
    if data_parallel:
        raise ValueError("cuda_graph=True and data_parallel=True cannot be combined yet; choose one")


def check_data_parallel(backend, n, batch_size, comm=None):
    """Batches must split evenly over ``backend``'s devices (JAX) or the MPI ranks."""
    k = comm.size if comm is not None else backend.device_count()
    where = "MPI ranks" if comm is not None else "devices"
    bs = n if batch_size is None else min(batch_size, n)
    sizes = {bs} | ({n % bs} if n % bs else set())
    uneven = sorted(s for s in sizes if s % k)
    if uneven:
        raise ValueError(
            f"batches of {uneven} rows do not split evenly over {k} {where} (data of {n} "
            f"rows, batch_size={batch_size}); choose a batch size and data size that are "
            f"multiples of {k}"
        )


def agree(comm, status):
    """Every rank's (state, detail) must be ("ok", the same fingerprint); else every rank raises."""
    statuses = comm.allgather(status)
    errors = [(r, detail) for r, (state, detail) in enumerate(statuses) if state == "error"]
    if errors:
        raise ValueError("data-parallel fit refused: " + "; ".join(f"rank {r}: {d}" for r, d in errors))
    if any(detail != statuses[0][1] for _, detail in statuses):
        raise ValueError(
            "the MPI ranks were given different models, data or settings; every rank must run "
            f"the same fit (rank 0: {statuses[0][1]!r}, rank {comm.rank}: {status[1]!r})"
        )


def agree_processes(backend, status, error):
    """The JAX processes' version of ``_agree``: each learns whether another failed its checks (so
    none waits for a partner that will never step), then whether all were given the same fit."""
    same, failed = backend.agree(repr(status), failed=status[0] == "error")
    if status[0] == "error":
        raise error
    if failed:
        raise ValueError(
            f"data-parallel fit refused: JAX process {', '.join(map(str, failed))} failed its "
            "argument checks (its own error says why)"
        )
    if not same:
        raise ValueError(
            "the JAX processes were given different models, data or settings; every process must run the same fit"
        )
