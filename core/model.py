"""``MLP``: the user's handle on a network, its parameters and its training state."""

from __future__ import annotations

import contextlib
import dataclasses

from .. import kernels as kernel_tables
from ..backends.host import np, rng
from . import (
    build,
    contract,
    fit_plan,
    hyper,
    persistence,
    pickling,
    preprocessing,
    targets,
    validation,
)
from .columns import ColumnPlan
from .fit import fit as run_fit
from .forward import Forward
from .network import Network
from .state import TRAINING, PartField, Training
from .steps import CompiledSteps, fresh_state, training_step
from .summary import summary as summary_text


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

    def __init__(self, layers, *args, **kwargs):
        arguments = _bind(hyper.signature(), "MLP", self, layers, *args, **kwargs)
        arguments.apply_defaults()
        sizes = validation.layer_sizes(layers)
        self.requested_sizes = sizes
        for attribute, value in hyper.checked(self, arguments.arguments):  # core/hyper.py: in its order
            setattr(self, attribute, value)
        self.dtype = self.backend.float_dtype(self.dtype_name)
        self.kern = kernel_tables.for_backend(self.backend, arguments.arguments["kernels"], self.precision)
        self.rng = rng(self.seed)  # the host generator: initial weights, then every epoch's order
        self.network = None  # built once the sizes are known (core/build.py, core/network.py's Network)
        # the input contract, fitted on the first training data: column plan, classes, target (μ, σ)
        self.contract = contract.InputContract()  # model.columns, .classes, .target_scale: its parts
        self.training = Training()  # optimiser, counters, schedule, history: core/state.py declares them
        self.trainer = None  # the fit running now
        self.steps = CompiledSteps()  # the compiled step and epochs (core/steps.py)
        self.forward = self.regularization = None  # set with the network (core/build.py)
        if None not in sizes:
            self.build_network(sizes, self.output)

    @property
    def feature_names(self):
        """The input columns the model was fitted on (x0, x1, ... for a plain array), or None."""
        return self.contract.feature_names

    @property
    def scaler(self):
        """The fitted input scaler as a MinMaxScaler / StandardScaler (all-numeric inputs, an affine
        scaling), else None."""
        return preprocessing.scaler_of(self.columns)

    @property
    def sizes(self) -> list:
        return self.requested_sizes if self.layout is None else self.layout.sizes

    def require_built(self, what):
        if self.layout is None:
            raise ValueError(self._unsized(what))

    def _unsized(self, what) -> str:
        return (
            f"{what} needs the network's sizes, and layers={self.requested_sizes} leaves some to the "
            "training data: call fit first"
        )

    def build_network(self, sizes, output):
        """The network of ``sizes`` (all known now) with ``output`` as its head, its initial weights
        drawn (core/build.py), then its forward passes and regularisation."""
        self.output, self.network = build.network(sizes, output, self.hidden, self.init, self.rng, self.given())
        self._compile()

    def set_l2(self, l2):
        """The L2 penalty fit resolved (``l2="auto"``: 2/n of the first training data), kept from now on."""
        self.l2 = l2
        self.regularization = self._regularization()

    def _compile(self):
        """The forward passes and the regularisation of the built network (again after unpickling)."""
        self.forward = Forward(self.given(), self.kern, self.network, self.contract)
        self.regularization = self._regularization()

    def _regularization(self):
        """The training step's dropout, penalties and label smoothing for these options (core/build.py)."""
        options = (self.dropout, self.seed, self.l1, self.l2, self.label_smoothing)
        return build.regularization(self.layout, *options, self.given())

    def given(self, what="predicting") -> contract.Given:
        """What this model gives its parts (core/contract.py's Given): the network's sizes and
        head, its dtype on its backend, whether missing values are imputed, the task asked for;
        the contract reads it at each call, the forward part and core/build.py take it."""
        return contract.Given(
            list(self.sizes), self.output, self.backend, self.dtype, self.dtype_name,
            self.impute is not None, self.task, self._unsized(what),
        )  # fmt: skip

    # ---- training (core/fit.py, core/fit_plan.py, core/trainer.py) ------------------------------

    def build(self, X, y):
        """Size the network from data without training (``fit`` does it on its first call): fit
        the preprocessing plan on ``X``, decide the head, output width and classes from ``y``
        where ``layers`` left them open, draw the initial weights. Returns the model."""
        given = self.given()
        table = self.contract.table(X, given)
        head, n_out, classes, _ = self.contract.labels(y, table.n_rows, given)
        plan = self.columns or ColumnPlan(self.normalize, self.impute, self.handle_unknown).fit(table)
        sizes = contract.input_size(self.sizes, plan, n_out)
        if self.layout is None:
            self.build_network(sizes, head)
        self.contract.sized(plan, classes)
        return self

    @contextlib.contextmanager
    def running(self, trainer):
        """``trainer`` (core/trainer.py) as the fit running now, until it ends however it ends: a
        fit started meanwhile (from a callback) is refused (core/fit.py)."""
        try:  # set inside the try, so an interrupt at any moment clears it again
            self.trainer = trainer
            yield
        finally:
            self.trainer = None

    def restore_generator(self, state):
        """The host generator's state as a checkpoint saved it: the next shuffles continue from there."""
        self.rng.bit_generator.state = state

    def fit(self, X, y, *args, **kwargs):
        """Train for ``epochs`` passes over (X, y); returns this fit's History (``model.history``
        keeps every fit's). Every argument is checked before anything changes (core/fit_plan.py).

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
        ranks): each batch split over them, gradients summed. ``compile_epoch``: each epoch's
        mini-batches as one compiled loop, by default (None) wherever nothing needs each step (a
        callback acting after each step, data split over devices or ranks) and, on NumPy with
        numba, ``core/compiled_epoch.py`` covers the fit; JAX loops over its full mini-batches;
        the path taken is in ``summary()``. False: step by step. ``on_divergence``: a NaN/inf step is never
        applied; "stop" raises TrainingDivergedError keeping the last good weights, "skip" drops it.
        ``checkpoint="dir"``: checkpoints every ``checkpoint_every`` steps (None: each epoch), the newest
        ``checkpoint_keep`` kept; ``resume="dir"`` continues from the newest to the weights an
        uninterrupted run reaches. ``cuda_graph`` (CuPy): each step replayed from a CUDA graph.
        ``sample_weight`` (per row) and ``class_weight`` ("balanced": class c weighs n/(k·n_c), or
        {label: weight}) make the loss the weighted mean Σ rᵢℓᵢ, r = w/Σw (core/weights.py).
        """
        bound = _bind(fit_plan.fit_signature(), "fit", self, X, y, *args, **kwargs)  # FitOptions' fields
        options = {k: v for k, v in bound.arguments.items() if k not in ("self", "X", "y")}
        return run_fit(self, X, y, fit_plan.FitOptions(**options))

    # ---- using the trained model (core/forward.py) -------------------------------------------

    def predict_proba(self, X):
        """Class probabilities: P(y=1) of shape (n,) for one sigmoid output, (n, k) otherwise."""
        self.require_built("predicting")
        return self.forward.predict_proba(X)

    def predict(self, X):
        """Predicted class labels (classifiers: the labels y had at fit, strings stay strings) or
        values (identity head), as a NumPy array."""
        self.require_built("predicting")
        return self.forward.predict(X)

    def hidden_outputs(self, X) -> list:
        """[A⁽¹⁾, …, A⁽ᴸ⁻¹⁾]: each hidden layer's activations g(Z⁽ˡ⁾) for X, (n, units) NumPy arrays."""
        self.require_built("hidden_outputs")
        return self.forward.hidden_outputs(X)

    def evaluate(self, X, y, sample_weight=None) -> dict:
        """{"loss": mean loss, "accuracy": fraction right} (classifiers) or {"loss", "mse", "rmse",
        "r2"} (in the target's own units; R² over every output); with ``sample_weight``, weighted
        means (Σwᵢℓᵢ/Σw, Σwᵢ·rightᵢ/Σw)."""
        self.require_built("predicting")
        return self.forward.evaluate(X, y, sample_weight)

    def metrics(self, X, Y, w=None) -> dict:
        """``evaluate`` on device arrays X, Y (and row weights w) as the step takes them."""
        self.require_built("metrics")
        return self.forward.metrics(X, Y, w)

    def get_weights(self):
        """[(W⁽¹⁾, b⁽¹⁾), ...] as NumPy copies, W of shape (n_in, n_out)."""
        self.require_built("get_weights")
        flat = self.backend.to_numpy(self.params).copy()
        return [(W.copy(), b.copy()) for W, b in self.layout.unflatten(np, flat)]

    def set_weights(self, weights):
        """Replace every (W, b); shapes must match the layers and entries must be finite."""
        self.require_built("set_weights")
        self.network.set_params(build.flat(self.given(), self.layout.checked(weights)))
        if self.optimizer is not None:
            self.training.set_state(fresh_state(self.optimizer, self.kern, self.params, self.backend, self.dtype))

    # ---- files and copies (core/persistence.py, core/onnx_export.py, core/pickling.py) --------

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
        attributes, owner = pickling.restore_state(state)
        self.__dict__.update(attributes)
        self.steps = CompiledSteps(self.optimizer if owner else None)
        if self.layout is not None:
            pickling.check_restored(self)
            self._compile()

    def __repr__(self) -> str:
        return (
            f"MLP({self.sizes}, hidden={self.hidden!r}, output={self.output!r}, "
            f"init={self.init!r}, backend={self.backend.name!r}, dtype={self.dtype_name!r}, "
            + ("" if self.precision == "fp32" else f"precision={self.precision!r}, ")
            + f"seed={self.seed})"
        )

    # ---- for benchmarks and checks: the step and its inputs, on the device -------------------

    def training_step(self, optimizer=None, on_divergence="stop", cuda_graph=False):
        """(step, params, state): the compiled training step for ``optimizer`` (an object or a name
        from reseau.optim; None: the model's current one) and the model's parameters and optimiser
        state to start from. ``step(params, state, x, y, t) -> (params, state, loss)`` on device
        arrays (x as ``device_inputs``, y as ``encode_targets``), t the step index; always use the
        arrays it returns (on JAX they replace donated ones). ``fit`` runs the same step."""
        return training_step(self, optimizer, on_divergence, cuda_graph)

    def device_inputs(self, X):
        """``X`` as the network's input on the device: checked, through the preprocessing plan, in
        the model's dtype (what predict and evaluate feed the forward pass)."""
        return self.contract.inputs(X, self.given())

    def encode_targets(self, y):
        """The targets ``y`` as the head's host array (what the training step takes): float (n, k)
        for sigmoid and identity heads, int32 labels for softmax, through the model's classes."""
        self.require_built("encode_targets")
        y_arr = targets.as_array(y)
        return self.contract.targets(y_arr, y_arr.shape[0] if y_arr.ndim else 0, self.given())

    def grad_norms(self, X, Y):
        """‖dW⁽ˡ⁾‖₂ per layer of the mean loss on device arrays X, Y (as the model's backend holds
        them), as a host array."""
        return self.backend.to_numpy(self.forward.grad_norms()(self.params, X, Y))


def _bind(signature, name, *args, **kwargs):
    """The arguments bound to ``signature``, or Python's TypeError naming the call (``name()``)."""
    try:
        return signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{name}() {exc}") from None


def load(path, backend=None, kernels=None, precision=None) -> MLP:
    """The model saved at ``path``, on ``backend`` (any backend, whichever saved it): same
    architecture, weights, scaler and training counters; no code is executed (core/persistence.py)."""
    arguments, tensors, d = persistence.read(path, backend, precision)
    try:
        model = MLP(**arguments, kernels=kernels)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the description does not make a valid model ({exc})") from None
    return persistence.restore(model, tensors, d, path)


# the parts' fields as the model's attributes (core/state.py's PartField): model.epoch, model.history, ...
# of model.training; model.layout, .activations, .params of model.network; model.columns, .classes,
# .target_scale, .target_name of model.contract. Users may set the weights and the contract's parts.
for _name in TRAINING:
    setattr(MLP, _name, PartField("training", _name, "training state"))
for _name in Network.FIELDS:
    setattr(MLP, _name, PartField("network", _name, "network", settable=_name == "params"))
for _field in dataclasses.fields(contract.InputContract):
    setattr(MLP, _field.name, PartField("contract", _field.name, "input contract", settable=True))
MLP.__init__.__signature__ = hyper.signature()  # help(MLP) and inspect show every option (core/hyper.py)
MLP.fit.__signature__ = fit_plan.fit_signature()  # and every fit option (core/fit_plan.py's FitOptions)
