"""``MLP``: the user's handle on a network, its parameters and its training state."""

from __future__ import annotations

from .. import backends
from .. import kernels as kernel_tables
from ..backends.host import np, rng
from . import checkpoint as checkpoint_files
from . import (
    columns,
    contract,
    fitting,
    guard,
    heads,
    initializers,
    memory,
    optim,
    persistence,
    pickling,
    preprocessing,
    targets,
    train,
    validation,
    weights,
)
from .activations import DEFAULT_INIT, check_hidden
from .callbacks import EarlyStopping, Verbose, as_list
from .defaults import DEFAULTS
from .layout import Layout
from .persistence import load  # noqa: F401 - reseau.load, importable from here as before
from .regularization import Regularization, check_dropout, check_penalty, check_smoothing, smoothing_head
from .steps import CompiledSteps, fresh_state
from .summary import summary as summary_text
from .trainer import Trainer


class MLP:
    """A multilayer perceptron trained by explicit forward and backward propagation.

    ``layers`` = [n_inputs, hidden units..., n_outputs]; n_inputs and n_outputs may be None, to be
    sized from the first training data (its encoded columns; its classes or target columns).
    ``hidden`` names the hidden activation (one name, or one per hidden layer); ``output`` the
    head: "sigmoid" (binary cross-entropy), "softmax" (cross-entropy, integer labels) or
    "identity" (squared error); None picks sigmoid for one output and softmax for more, or, with
    n_outputs None, decides from the targets (``core/targets.py``; ``task`` = "classify" or
    "regress" overrides). ``init`` names the weight initialiser (one, or one per layer); None picks
    He for ReLU-like layers, LeCun for SELU and Xavier otherwise. ``backend``: "numpy", "jax",
    "cupy", "auto" or None ($RESEAU_BACKEND, else "auto"). ``dtype``: "float32" or "float64".
    ``seed`` fixes the initial weights and every epoch's shuffle, identically on every backend.
    ``kernels`` picks a kernel table ("reference", "numpy", "numba", "cupy"); None takes the
    backend's fastest. ``dropout``: a rate in [0, 1) for every hidden layer, or one per hidden
    layer (inverted dropout, training only). ``l1``, ``l2``: penalties on the weights,
    L += (l2/2)ΣW² + l1Σ|W|; ``l2="auto"`` (the default) is resolved by the first fit: 2/n for n
    training rows with the default optimiser, 0 with a named one (``core/regularization.py``). ``label_smoothing``
    ε in [0, 1) (classes only): training targets
    (1 − ε)T + ε/K (``core/regularization.py``).

    Inputs: arrays, pandas DataFrames, Arrow tables. The first ``fit`` fits a per-column plan
    (``core/columns.py``) on its training data and keeps it: numbers scaled by ``normalize``
    ("robust", "minmax", "standard" or None), text/categorical/boolean columns one-hot encoded, missing
    cells imputed (``impute="median"``) or refused (None), unseen categories all-zeros
    (``handle_unknown="ignore"``) or an error. ``feature_names`` and ``classes`` (labels that are
    not 0..k−1: strings, booleans) are kept, saved, and used by predict and evaluate.
    ``target_scaling="standard"``: regression targets are learnt as y' = (y − μ)/σ (μ, σ fitted
    on the first training targets and kept, ``core/targets.py``); predict gives z·σ + μ, and
    evaluate, ``val_*`` and the training loss are in the target's own units (the training loss for
    one target column; for several, in standardised units). None learns y as it is. Defaults:
    ``core/defaults.py``.
    """

    # fmt: off
    def __init__(self, layers, hidden=DEFAULTS["hidden"], output=None, init=DEFAULTS["init"], backend=None,
                 dtype=DEFAULTS["dtype"], seed=DEFAULTS["seed"], kernels=None, dropout=0.0, l1=0.0, l2=DEFAULTS["l2"],
                 normalize=DEFAULTS["normalize"], impute=DEFAULTS["impute"], handle_unknown=DEFAULTS["handle_unknown"],
                 task=None, precision="fp32", target_scaling=DEFAULTS["target_scaling"], label_smoothing=0.0):
        # fmt: on
        sizes = validation.layer_sizes(layers)
        self.hidden = check_hidden(hidden, len(sizes) - 2)
        if output is not None or sizes[-1] is not None:
            output = heads.check_output(output, sizes[-1] or 2 if output == "softmax" else sizes[-1] or 1)
        self.output = output
        self.task = None if task is None else targets.task(np.zeros(0), task)
        if init is None:
            init = [DEFAULT_INIT[name] for name in self.hidden] + ["xavier"]
        self.init = initializers.check_init(init, len(sizes) - 1)
        self.seed = validation.seed(seed)
        self.dropout = check_dropout(dropout, len(sizes) - 2)
        self.l1, self.l2 = check_penalty(l1, "l1"), check_penalty(l2, "l2", auto=True)
        self.label_smoothing = check_smoothing(label_smoothing)
        if self.output is not None:
            smoothing_head(self.label_smoothing, self.output)
        self.normalize = columns.check_option(normalize, "normalize", columns.NORMALIZE)
        self.impute = columns.check_option(impute, "impute", columns.IMPUTE)
        self.handle_unknown = columns.check_option(handle_unknown, "handle_unknown", columns.HANDLE_UNKNOWN)
        self.target_scaling = columns.check_option(target_scaling, "target_scaling", targets.TARGET_SCALING)
        self.target_scale = None  # regression targets' (μ, σ), fitted on the first training data
        self.columns = None  # the preprocessing plan, fitted on the first training data
        self.classes = None  # the class labels, when they are not already 0..k−1
        self.backend = backends.get(backend)
        self.dtype = self.backend.float_dtype(dtype)
        self.dtype_name = dtype
        self.precision = kernel_tables.check_precision(precision, self.backend, dtype)
        self.kern = kernel_tables.for_backend(self.backend, kernels, self.precision)
        self.rng = rng(self.seed)  # the host generator: initial weights, then every epoch's order
        self._sizes, self.layout, self.params = sizes, None, None
        self.optimizer = self.opt_state = None
        self.schedule, self._schedule_start = None, (0, 0)
        self.auto_schedule = False  # the schedule is the default optimiser's (fit's schedule="auto")
        self.step_count = self.epoch = 0
        self.history = train.History()
        self.steps = CompiledSteps()  # the compiled step and epochs (core/steps.py)
        self._fit_epoch0 = 0
        self._scaler = None
        if None not in sizes:
            self._build(sizes, self.output)

    def _build(self, sizes, output):
        """The network of ``sizes`` (all known now): layout, initial weights, compiled forward passes."""
        memory.check_network(sizes, 8 if self.dtype_name == "float64" else 4)
        self.output = heads.check_output(output, sizes[-1])
        self.layout = Layout(sizes)
        self.activations = self.hidden + ["identity"]
        W_b = [
            (initializers.draw_weight(self.rng, name, n_in, n_out), np.zeros(n_out))
            for name, (n_in, n_out) in zip(self.init, self.layout.shapes)
        ]
        self.params = self._to_flat(W_b)
        self._compile_forward()

    def _compile_forward(self):
        """The forward passes and the regularisation of the built network (again after unpickling)."""
        args = (self.backend, self.kern, self.layout, self.activations, self.output)
        self._evaluate = train.make_evaluate(*args)
        self._output = train.make_output(*args)
        self._regularize()

    def _regularize(self):
        """The training step's dropout, penalties and label smoothing (an unresolved ``l2="auto"``
        counts as 0 until fit resolves it)."""
        l2 = 0.0 if self.l2 == "auto" else self.l2
        self._reg = None
        if any(self.dropout) or self.l1 or l2 or self.label_smoothing:
            mask = self.backend.asarray(self.layout.weight_mask().astype(self.dtype_name), dtype=self.dtype)
            self._reg = Regularization(self.dropout + [0.0], self.seed, self.l1, l2, mask, self.label_smoothing)

    @property
    def feature_names(self):
        """The input columns the model was fitted on (x0, x1, ... for a plain array), or None."""
        return None if self.columns is None else list(self.columns.names)

    @property
    def scaler(self):
        """The fitted input scaler as a MinMaxScaler / StandardScaler (all-numeric inputs, an affine
        scaling), else None."""
        plan = self.columns
        if plan is None or plan.normalize not in preprocessing.SCALERS or not plan.all_numeric:
            return None
        if self._scaler is None or self._scaler[0] is not plan:
            scaler = preprocessing.SCALERS[plan.normalize]()
            scaler.offset_, scaler.scale_ = plan.offset.copy(), plan.scale.copy()
            self._scaler = (plan, scaler)
        return self._scaler[1]

    @property
    def sizes(self) -> list:
        return self._sizes if self.layout is None else self.layout.sizes

    def require_built(self, what):
        if self.layout is None:
            raise ValueError(
                f"{what} needs the network's sizes, and layers={self._sizes} leaves some to the "
                "training data: call fit first"
            )

    # ---- training ---------------------------------------------------------------------------

    def build(self, X, y):
        """Size the network from data without training (``fit`` does it on its first call): fit
        the preprocessing plan on ``X``, decide the head, output width and classes from ``y``
        where ``layers`` left them open, draw the initial weights. Returns the model."""
        table = contract.as_table(self, X, "X")
        head, n_out, classes, _ = contract.labels(self, y, table.n_rows)
        plan = self.columns or columns.ColumnPlan(self.normalize, self.impute, self.handle_unknown).fit(table)
        sizes = contract.input_size(self, plan, n_out)
        if self.layout is None:
            self._build(sizes, head)
        self.columns, self.classes = plan, classes
        return self

    # fmt: off
    def fit(self, X, y, epochs=DEFAULTS["epochs"], batch_size=DEFAULTS["batch_size"], lr=None, optimizer=None,
            schedule="auto", validation_data=None, validation_split=None, patience=None, min_delta=0.0,
            restore_best=True, track_gradients=False, verbose=False, compile_epoch=False, callback=None,
            callbacks=None, data_parallel=False, on_divergence="stop", checkpoint=None, checkpoint_every=None,
            checkpoint_keep=3, resume=None, cuda_graph=False, sample_weight=None, class_weight=None):
        # fmt: on
        """Train for ``epochs`` passes over (X, y); returns this fit's History (``model.history``
        keeps every fit's). Every argument is checked before anything changes (core/fitting.py).

        ``batch_size``: None for batch gradient descent, an integer for mini-batches, 1 for
        stochastic; the rows are reshuffled each epoch from the model's seed. ``optimizer``: a name or
        an object from ``reseau.optim``; None: Adam at ``lr`` (default 0.003) with the default
        schedule and penalty (core/defaults.py); a named one without ``lr`` takes its own rate. With
        neither, a trained model continues with its optimiser and state. ``schedule``: one from
        ``reseau.optim`` (per epoch or per step), "cosine" (one cycle over this fit's epochs), None
        (constant, as the notes), or "auto": cosine with the default optimiser, else constant.
        ``validation_data=(X_val, y_val[, w_val])`` or ``validation_split`` (a stratified fraction)
        add val_loss / val_accuracy; ``patience`` = k stops after k epochs without val_loss falling
        by ``min_delta`` and restores the best weights (``restore_best``; ``history.best_epoch``).
        ``track_gradients``: ‖dW⁽ˡ⁾‖ per layer each epoch (``history["grad_norms"]``). ``callbacks``:
        reseau.callbacks objects; ``callback(record)``, a function called each epoch, stops training
        by returning False; ``verbose`` prints each epoch. ``data_parallel`` (JAX devices, or MPI
        ranks): each batch split over them, gradients summed. ``compile_epoch`` (JAX): each epoch one
        compiled loop. ``on_divergence``: a NaN/inf step is never applied; "stop" raises
        TrainingDivergedError keeping the last good weights, "skip" drops it. ``checkpoint="dir"``:
        checkpoints every ``checkpoint_every`` steps (None: each epoch), the newest
        ``checkpoint_keep`` kept; ``resume="dir"`` continues from the newest to the weights an
        uninterrupted run reaches. ``cuda_graph`` (CuPy): each step replayed from a CUDA graph.
        ``sample_weight`` (per row) and ``class_weight`` ("balanced": class c weighs n/(k·n_c), or
        {label: weight}) make the loss the weighted mean Σ rᵢℓᵢ, r = w/Σw (core/weights.py).
        """
        options = {k: v for k, v in locals().items() if k not in ("self", "X", "y")}
        return self._fit(X, y, fitting.FitOptions(**options))

    def _fit(self, X, y, o):
        if getattr(self, "trainer", None) is not None:
            raise RuntimeError(
                "fit() was called while this model is already training (from a callback?); a "
                "model trains one fit at a time: train another model, or act after fit returns"
            )
        comm = fitting.world(self) if o.data_parallel and self.backend.name != "jax" else None
        processes = o.data_parallel and self.backend.process_count() > 1
        try:
            plan = fitting.plan(self, X, y, o, comm)
            status = ("ok", plan.fingerprint)
        except ValueError as exc:
            if (comm is None or comm.size == 1) and not processes:
                raise
            plan, status = exc, ("error", str(exc))
        if comm is not None and comm.size > 1:
            fitting.agree(comm, status)
        elif processes:
            fitting.agree_processes(self.backend, status, plan)
        self._apply(plan, o, comm)  # every argument is valid (on every rank): from here on the model changes
        return self._train(plan, o, comm)

    def _apply(self, plan, o, comm):
        """The plan's changes to the model: the network, the input contract, l2, the step, the schedule."""
        if plan.build is not None:
            self._build(*plan.build)
        self.columns, self.classes, self.target_scale = plan.columns, plan.classes, plan.target_scale
        if plan.l2 != self.l2:  # "auto" resolved on the first training data, kept from now on
            self.l2 = plan.l2
            self._regularize()
        self.steps.prepare(self, plan.opt, comm, plan.on_divergence, o.cuda_graph)
        if plan.schedule is not None or not plan.continuing or o.resume is not None:
            self.auto_schedule = plan.auto_schedule
            self.schedule, self._schedule_start = plan.schedule, (self.epoch, self.step_count)
        self._fit_epoch0 = self.epoch

    def _train(self, plan, o, comm):
        """Resume where a checkpoint says, then run the Trainer (over MPI ranks or JAX devices)."""
        stopping = None if o.patience is None else EarlyStopping(plan.patience, plan.min_delta, bool(o.restore_best))
        progress = None
        if plan.resumed is not None:
            progress, (self._fit_epoch0, self._schedule_start) = checkpoint_files.restore(
                self, *plan.resumed[1:], stopping
            )
        history = self.history.since(self._fit_epoch0)  # this fit's History (a resumed fit: all of it)
        if plan.resumed is not None:
            history.best_epoch, history.stopped_epoch = self.history.best_epoch, self.history.stopped_epoch
            if plan.resumed[2]["checkpoint"]["stopped"]:  # the fit had stopped early: nothing left to do
                history.best_epoch = self.history.best_epoch = stopping.best_epoch
                if stopping.restore_best and stopping.best_params is not None:
                    self.params = stopping.best_params
                return history
        fit = dict(epochs=o.epochs, batch_size=o.batch_size, validation=plan.val, compile_epoch=bool(o.compile_epoch),
                   callbacks=self._callbacks(plan, o, comm, stopping), track_gradients=bool(o.track_gradients),
                   progress=progress, history=history, step=self.steps.step, epoch_fn=self.steps.epoch_fn,
                   workspaces=self.steps.workspaces, on_divergence=self.steps.on_divergence,
                   fit_epoch0=self._fit_epoch0, schedule_start=self._schedule_start, W=plan.W)
        Xd, Yd = plan.X, self.backend.asarray(plan.Y)
        if not o.data_parallel:
            return Trainer(self, Xd, Yd, **fit).run()
        if comm is not None:
            if self._reg is not None:
                self._reg.rank = comm.rank
            try:
                return Trainer(self, Xd, Yd, comm=comm, **fit).run()
            finally:
                if self._reg is not None:
                    self._reg.rank = 0
        bk = self.backend
        self.params, self.opt_state = bk.replicate(self.params), bk.replicate(self.opt_state)
        Xd, Yd, fit["validation"] = bk.replicate(Xd), bk.replicate(Yd), bk.replicate(plan.val)
        try:
            return Trainer(self, Xd, Yd, shard=bk.shard_rows, **fit).run()
        finally:
            self.params, self.opt_state = bk.gather_home(self.params), bk.gather_home(self.opt_state)

    def _callbacks(self, plan, o, comm, stopping):
        """The fit's callbacks: a printer, the user's, early stopping, the checkpoint writer."""
        extra = [Verbose(o.epochs)] if o.verbose else []
        extra += as_list(o.callbacks, o.callback) + ([stopping] if stopping is not None else [])
        if o.checkpoint is not None:
            writer = (comm is None or comm.rank == 0) and self.backend.process_index() == 0
            saver = checkpoint_files.Checkpoints(
                checkpoint_files.directory(o.checkpoint), plan.every, plan.keep, plan.resume_key, writer,
                start=self.step_count,
            )
            extra.append(checkpoint_files.CheckpointCallback(saver, stopping))
        return extra

    # ---- using the trained model ------------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities: P(y=1) of shape (n,) for one sigmoid output, (n, k) otherwise."""
        if not heads.is_classifier(self.output):
            raise ValueError(
                "predict_proba needs a classifier (output 'sigmoid' or 'softmax'); "
                "this network has output='identity': use predict"
            )
        A = self.backend.to_numpy(self._forward_output(X))
        return A[:, 0] if A.shape[1] == 1 and self.output == "sigmoid" else A

    def predict(self, X):
        """Predicted class labels (classifiers: the labels y had at fit, strings stay strings) or
        values (identity head), as a NumPy array."""
        A = self._forward_output(X)
        P = self.backend.to_numpy(heads.predictions(self.kern.xp, self.output, A))
        if self.target_scale is not None:
            return self.target_scale.inverse(P).astype(P.dtype)
        return P if self.classes is None or P.ndim != 1 else targets.decode(P, self.classes)

    def evaluate(self, X, y, sample_weight=None) -> dict:
        """{"loss": mean loss, "accuracy": fraction right} (classifiers) or {"loss", "mse"} (in the
        target's own units); with ``sample_weight``, weighted means (Σwᵢℓᵢ/Σw, Σwᵢ·rightᵢ/Σw)."""
        Xd = contract.inputs(self, X)
        Y = contract.targets_of(self, y, Xd.shape[0])
        w = weights.sample_weights(sample_weight, Xd.shape[0])
        Yd = self.backend.asarray(Y if self.target_scale is None else self.target_scale.forward(Y))
        return self.metrics(Xd, Yd, None if w is None else self.backend.asarray(w, dtype=self.dtype))

    def get_weights(self):
        """[(W⁽¹⁾, b⁽¹⁾), ...] as NumPy copies, W of shape (n_in, n_out)."""
        self.require_built("get_weights")
        flat = self.backend.to_numpy(self.params).copy()
        return [(W.copy(), b.copy()) for W, b in self.layout.unflatten(np, flat)]

    def set_weights(self, weights):
        """Replace every (W, b); shapes must match the layers and entries must be finite."""
        self.require_built("set_weights")
        try:
            pairs = [tuple(pair) for pair in weights]
        except TypeError:
            pairs = None
        if pairs is None or len(pairs) != len(self.layout.shapes) or any(len(p) != 2 for p in pairs):
            raise ValueError(
                f"weights must be a list of {len(self.layout.shapes)} (W, b) pairs, "
                "one per layer, as get_weights() returns"
            )
        checked = []
        for l, ((W, b), (n_in, n_out)) in enumerate(zip(pairs, self.layout.shapes), start=1):
            W, b = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)
            if W.shape != (n_in, n_out) or b.shape != (n_out,):
                raise ValueError(
                    f"weights of layer {l} have shapes W {W.shape}, b {b.shape}; "
                    f"expected W ({n_in}, {n_out}) and b ({n_out},)"
                )
            if not (np.isfinite(W).all() and np.isfinite(b).all()):
                raise ValueError(f"weights of layer {l} contain NaN or inf; expected finite numbers")
            checked.append((W, b))
        self.params = self._to_flat(checked)
        if self.optimizer is not None:
            self.opt_state = fresh_state(self, self.optimizer)

    def save(self, path):
        """Write the model to ``path`` atomically (safetensors layout + JSON description,
        ``core/persistence.py``); ``reseau.load(path, backend=...)`` reads it back on any backend.
        Non-finite weights are refused: the file would not load."""
        persistence.save(self, path)

    def to_onnx(self, path=None):
        """The model with its preprocessing as one ONNX graph (``core/onnx_export.py``), returned as
        a ModelProto and written to ``path`` when given; needs ``reseau[onnx]``."""
        from .onnx_export import to_onnx

        return to_onnx(self, path)

    def file_contents(self):
        """(tensors, description) of the model file (``core/persistence.py``)."""
        return persistence.file_contents(self)

    def summary(self) -> str:
        """The layers as a table, then the inputs, the classes and the regularisation (``core/summary.py``)."""
        return summary_text(self)

    def __getstate__(self):
        """Pickle, ``copy.deepcopy`` and joblib: host arrays and plain values only (core/pickling.py)."""
        return pickling.host_state(self, self.steps.state_owner is self.optimizer)

    def __setstate__(self, state):
        owner = pickling.restore_state(self, state)
        self.steps, self._scaler = CompiledSteps(self.optimizer if owner else None), None
        if self.layout is not None:
            pickling.check_restored(self)
            self._compile_forward()

    def __repr__(self) -> str:
        return (
            f"MLP({self.sizes}, hidden={self.hidden!r}, output={self.output!r}, "
            f"init={self.init!r}, backend={self.backend.name!r}, dtype={self.dtype_name!r}, "
            + ("" if self.precision == "fp32" else f"precision={self.precision!r}, ")
            + f"seed={self.seed})"
        )

    # ---- for the trainer, benchmarks and checks: the step and its inputs, on the device -----

    def _to_flat(self, W_b):
        flat = np.concatenate([a.reshape(-1) for pair in W_b for a in pair])
        return self.backend.asarray(flat.astype(self.dtype_name), dtype=self.dtype)

    def training_step(self, optimizer=None, on_divergence="stop", cuda_graph=False):
        """(step, params, state): the compiled training step for ``optimizer`` (an object or a name
        from reseau.optim; None: the model's current one) and the model's parameters and optimiser
        state to start from. ``step(params, state, x, y, t) -> (params, state, loss)`` on device
        arrays (x as ``backend.asarray``, y as ``encode_targets``), t the step index; always use the
        arrays it returns (on JAX they replace donated ones). For benchmarks and checks of the step
        itself; ``fit`` runs the same step."""
        self.require_built("training_step")
        opt = self.optimizer if optimizer is None else optim.get(optimizer)
        if opt is None:
            raise ValueError("training_step() needs an optimizer: this model has not been trained yet")
        self.steps.prepare(self, opt, None, guard.check_mode(on_divergence), cuda_graph)
        params, state = train.StepForm(self).to_step(self)  # as fit runs it: leaves for large JAX models
        return self.steps.step, params, state

    def device_inputs(self, X):
        """``X`` as the network's input on the device: checked, through the preprocessing plan, in
        the model's dtype (what predict and evaluate feed the forward pass)."""
        return contract.inputs(self, X)

    @property
    def regularization(self):
        """The dropout masks and L1/L2 penalty the step applies (core/regularization.py), or None."""
        return self._reg

    def encode_targets(self, y):
        """The targets ``y`` as the head's host array (what the training step takes): float (n, k)
        for sigmoid and identity heads, int32 labels for softmax, through the model's classes."""
        self.require_built("encode_targets")
        y_arr = targets.as_array(y)
        return contract.targets_of(self, y_arr, y_arr.shape[0] if y_arr.ndim else 0)

    def grad_norms(self, X, Y):
        """‖dW⁽ˡ⁾‖₂ per layer of the mean loss on device arrays X, Y (as the model's backend holds
        them), as a host array."""
        if getattr(self, "_grad_norms_fn", None) is None:
            self._grad_norms_fn = train.make_grad_norms(
                self.backend, self.kern, self.layout, self.activations, self.output
            )
        return self.backend.to_numpy(self._grad_norms_fn(self.params, X, Y))

    def _forward_output(self, X):
        Xd = contract.inputs(self, X)
        xp = self.kern.xp
        parts = [self._output(self.params, Xd[a:b]) for a, b in train.chunks(Xd.shape[0], max(self.sizes))]
        return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)

    def metrics(self, X, Y, w=None) -> dict:
        """Loss and accuracy (or mse) of the current parameters on device arrays X, Y; with row
        weights w, the weighted means (n becomes Σw, each row counts wᵢ)."""
        n = X.shape[0]
        loss, correct = 0.0, 0.0
        for a, b in train.chunks(n, max(self.sizes)):
            l, c = self._evaluate(self.params, X[a:b], Y[a:b], None if w is None else w[a:b])
            loss, correct = loss + l, correct + c
        if w is not None:
            n = float(self.backend.to_numpy(self.kern.xp.sum(w)))
        loss = float(self.backend.to_numpy(loss)) / n
        if heads.is_classifier(self.output):
            return {"loss": loss, "accuracy": float(self.backend.to_numpy(correct)) / n}
        if self.target_scale is not None:  # in the target's units: L = (1/2n) Σ wᵢ‖(z − y')·σ‖²
            sse = 0.0
            for a, b in train.chunks(X.shape[0], max(self.sizes)):
                D = self.backend.to_numpy(self._output(self.params, X[a:b]) - Y[a:b].reshape(b - a, -1))
                rows = np.sum((D.astype(np.float64) * self.target_scale.std) ** 2, axis=1)
                sse += float(np.sum(rows if w is None else rows * self.backend.to_numpy(w[a:b])))
            loss = 0.5 * sse / n
        return {"loss": loss, "mse": 2.0 * loss / self.sizes[-1]}
