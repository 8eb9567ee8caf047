"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor``, trained by reseau (extra ``reseau[sklearn]``).

The constructor takes scikit-learn's parameters with its names, defaults and meanings, then
reseau's own: ``backend`` (numpy, jax, cupy), ``dtype`` (None: X's, float32 or float64, as
scikit-learn keeps it), ``dropout``, ``init`` (None: scikit-learn's Glorot-uniform draw, so the same
``random_state`` starts from the same weights; or a reseau initialiser), ``normalize`` and
``impute`` (reseau's column plan, also what tables with text columns go through; see
``core/columns.py``) and ``handle_unknown``. ``solver`` is "sgd" (Sutskever momentum, Nesterov by
default), "adam" (ε on the uncorrected root), "lbfgs" (scipy.optimize's L-BFGS-B on the explicit
gradient) or any other optimiser of ``reseau.optim`` by name.

The objective (``core/objective.py``): the mean loss, sample-weighted if given, plus
½·alpha·ΣW²/n_batch; stops as scikit-learn's (``tol``, ``n_iter_no_change``, ``early_stopping``
on ``validation_fraction``, ``learning_rate`` "adaptive"), with its fitted attributes
(``coefs_``, ``intercepts_``, ``loss_curve_``, ``n_iter_``, ``t_``, ...). One difference on
purpose: with several regression targets the loss is the per-row sum over targets that the
gradient descends (scikit-learn reports the mean over targets; scikit-learn issue 8349).
"""

from __future__ import annotations

import numbers
import warnings

try:
    import scipy.optimize
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state, column_or_1d, gen_batches, shuffle
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import type_of_target, unique_labels
    from sklearn.utils.validation import check_array, check_consistent_length, check_is_fitted, validate_data
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError('reseau.sklearn needs scikit-learn>=1.6: pip install "reseau[sklearn]"') from None

from ._sklearn_params import HIDDEN, STOCHASTIC, check_params, hidden_sizes
from .backends.host import np
from .core import columns, objective, optim
from .core.model import MLP
from .core.regularization import check_dropout
from .core.tables import columns as table_of
from .core.tables import is_table
from .core.weights import class_weights, sample_weights


class _BaseMLP(BaseEstimator):
    """What both estimators share; scikit-learn reads the parameters off this signature."""

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        backend=None,
        dtype=None,
        dropout=0.0,
        init=None,
        normalize=None,
        impute=None,
        handle_unknown="ignore",
    ):
        _set_params(self, locals())

    # ---- fit ------------------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Train on X, y (from the start, or on from the last fit with ``warm_start``)."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental):
        check_params(self)
        before = {k: list(v) if isinstance(v, list) else v for k, v in self.__dict__.items()}  # lists grow
        hidden = hidden_sizes(self.hidden_layer_sizes)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = self._row_weights(y, sample_weights(sample_weight, X.shape[0]))
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [X.shape[1]] + hidden + [self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, X.dtype)
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, y, sample_weight, layer_units)
        else:
            self._fit_stochastic(X, y, sample_weight, layer_units, incremental)
        if not all(np.isfinite(w).all() for w in self.coefs_ + self.intercepts_):
            self.__dict__.clear()  # the estimator as it was before this call
            self.__dict__.update(before)
            if "_cache" in before:
                self._cache["forward"] = None
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large "
                "values and need to be preprocessed."
            )
        self._device_params(self._network(layer_units, X.dtype))  # model_ holds the weights (save, to_onnx)
        self._cache["forward"] = self.coefs_
        return self

    def _initialize(self, y, layer_units, dtype):
        """The first pass: counters, output activation, scikit-learn's initial weights."""
        self.n_iter_, self.t_ = 0, 0
        self.n_layers_ = len(layer_units)
        if not is_classifier(self):
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"
        self.coefs_, self.intercepts_ = self._initial_weights(layer_units, dtype)
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        self.__dict__.pop("_optimizer_state", None)
        if self.solver != "lbfgs":
            self.loss_curve_, self._no_improvement_count = [], 0
            if self.early_stopping:
                self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
            else:
                self.validation_scores_, self.best_validation_score_, self.best_loss_ = None, None, np.inf

    def _initial_weights(self, layer_units, dtype):
        """init=None: W, b ~ U(−u, u), u = √(6/(n_in + n_out)) (2 for logistic), drawn from
        ``random_state`` as scikit-learn draws them; else reseau's initialiser (biases 0)."""
        pairs = list(zip(layer_units[:-1], layer_units[1:]))
        if self.init is not None:
            seed = int(self._random_state.randint(np.iinfo(np.int32).max))
            model = MLP(
                layer_units,
                hidden=self._hidden(),
                output=objective.OUTPUTS[self.out_activation_],
                init=self.init,
                seed=seed,
                backend="numpy",
                dtype="float64",
                l2=0.0,
            )
            weights = model.get_weights()
        else:
            factor = 2.0 if self.activation == "logistic" else 6.0
            weights = []
            for n_in, n_out in pairs:
                u = np.sqrt(factor / (n_in + n_out))
                W = self._random_state.uniform(-u, u, (n_in, n_out))
                weights.append((W, self._random_state.uniform(-u, u, n_out)))
        return [W.astype(dtype, copy=False) for W, _ in weights], [b.astype(dtype, copy=False) for _, b in weights]

    def _hidden(self):
        return HIDDEN.get(self.activation, self.activation)

    def _network(self, layer_units, dtype):
        """The reseau MLP these weights run in (kept as ``model_``, rebuilt when its shape changes)."""
        key = (
            tuple(layer_units),
            self._hidden(),
            self.out_activation_,
            self.backend,
            np.dtype(dtype).name,
            repr(self.dropout),
            getattr(self, "_plan", None) is None,
        )
        if getattr(self, "_network_key", None) != key:
            seed = (
                self.random_state if isinstance(self.random_state, numbers.Integral) and self.random_state >= 0 else 0
            )
            self.model_ = MLP(
                layer_units,
                hidden=self._hidden(),
                output=objective.OUTPUTS[self.out_activation_],
                init=self.init or "glorot_uniform",
                backend=self.backend,
                dtype=np.dtype(dtype).name,
                seed=int(seed),
                dropout=self.dropout,
                normalize=self.normalize,
                impute=self.impute,
                handle_unknown=self.handle_unknown,
                l2=0.0,
            )  # alpha is the estimators' penalty
            self.model_.columns = getattr(self, "_plan", None)
            lb = getattr(self, "_label_binarizer", None)
            if lb is not None and lb.y_type_ in ("binary", "multiclass"):  # model_.predict gives these labels
                self.model_.classes = self.classes_.tolist()
            self._network_key, self._cache = key, {"forward": None}
        return self.model_

    def _device_params(self, model, coefs=None, intercepts=None):
        """coefs_ / intercepts_ (or the given ones) as the model's flat device parameters."""
        coefs, intercepts = coefs or self.coefs_, intercepts or self.intercepts_
        flat = model.layout.join(
            np, [np.asarray(a, dtype=model.dtype_name).ravel() for pair in zip(coefs, intercepts) for a in pair]
        )
        model.params = model.backend.asarray(flat, dtype=model.dtype)
        return model.params

    def _keep_params(self, model, params):
        """Copy the device parameters back into coefs_ / intercepts_ (host arrays of X's dtype)."""
        model.params = params
        weights = model.get_weights()
        self.coefs_ = [W for W, _ in weights]
        self.intercepts_ = [b for _, b in weights]

    # ---- the stochastic solvers -------------------------------------------------------------------

    def _make_optimizer(self):
        lr = self.learning_rate_init
        if self.solver == "sgd":
            return optim.SGD(
                lr=lr, momentum=self.momentum, nesterov=self.nesterovs_momentum and self.momentum > 0, form="sutskever"
            )
        if self.solver == "adam":
            return optim.Adam(lr=lr, betas=(self.beta_1, self.beta_2), eps=self.epsilon, form="keras")
        return optim.get(self.solver, lr=lr)

    def _row_weights(self, Y, w):
        """The sample weights (the regressor has no class weights)."""
        return w

    def _fit_stochastic(self, X, y, sample_weight, layer_units, incremental):
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        model = self._network(layer_units, X.dtype)
        opt = self._make_optimizer()
        if not incremental or not hasattr(self, "_optimizer_state"):
            self._optimizer_state = opt.init(model.kern, self._device_params(model))
            self._n_updates, self.learning_rate_ = 0, float(self.learning_rate_init)
        X_train, y_train, sw_train, X_val, y_val, sw_val = self._split(X, y, sample_weight)
        n = X_train.shape[0]
        batch_size = self._batch_size(n)
        step = self._compiled_step(model, opt)
        data = _Batches(model, X_train, y_train, sw_train, self.alpha)
        params, state, xp = self._device_params(model), self._optimizer_state, model.kern.xp
        sample_idx = np.arange(n, dtype=int)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    sample_idx = shuffle(sample_idx, random_state=self._random_state)
                total = 0.0
                state = {**state, "lr": xp.asarray(self.learning_rate_, dtype=model.dtype)}  # it changes by epoch
                for batch in gen_batches(n, batch_size):
                    idx = sample_idx[batch] if self.shuffle else batch
                    params, state, loss = step(params, state, *data.batch(idx), self._n_updates)
                    self._n_updates += 1
                    total = total + loss * (batch.stop - batch.start)
                self._keep_params(model, params)
                if self._epoch_end(float(model.backend.to_numpy(total)) / n, n, X_val, y_val, sw_val):
                    break
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                        "optimization hasn't converged yet.",
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
            self._keep_params(model, params)
        self._optimizer_state = state
        if self.early_stopping:
            self.coefs_, self.intercepts_ = self._best_coefs, self._best_intercepts

    def _compiled_step(self, model, opt):
        key = ("step", type(opt).__name__, repr({k: v for k, v in opt.hyperparameters().items() if k != "lr"}))
        if key not in self._cache:
            self._cache[key] = objective.make_step(model, self.out_activation_, opt)
        return self._cache[key]

    def _batch_size(self, n):
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
        return int(np.clip(self.batch_size, 1, n))

    def _split(self, X, y, sample_weight):
        """(X_train, y_train, w_train, X_val, y_val, w_val): the validation part for early stopping
        drawn as scikit-learn draws it (stratified for one-output classifiers)."""
        if not self.early_stopping:
            return X, y, sample_weight, None, None, None
        stratify = y if is_classifier(self) and self.n_outputs_ == 1 else None
        arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
        parts = train_test_split(
            *arrays, random_state=self._random_state, test_size=self.validation_fraction, stratify=stratify
        )
        X_train, X_val, y_train, y_val = parts[:4]
        sw_train, sw_val = (None, None) if sample_weight is None else parts[4:]
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size of your dataset."
            )
        if is_classifier(self):
            y_val = self._label_binarizer.inverse_transform(y_val)
        return X_train, y_train, sw_train, X_val, y_val, sw_val

    def _epoch_end(self, loss, n, X_val, y_val, sw_val) -> bool:
        """scikit-learn's bookkeeping after an epoch; True when training stops."""
        self.n_iter_ += 1
        self.loss_ = loss
        self.t_ += n
        self.loss_curve_.append(loss)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
        if self.early_stopping:
            score = self._score(X_val, y_val, sw_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            self._count_no_improvement(score < self.best_validation_score_ + self.tol)
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_coefs = [c.copy() for c in self.coefs_]
                self._best_intercepts = [b.copy() for b in self.intercepts_]
        else:
            self._count_no_improvement(loss > self.best_loss_ - self.tol)
            self.best_loss_ = min(self.best_loss_, loss)
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            self.learning_rate_ = float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        what = "Validation score" if self.early_stopping else "Training loss"
        msg = f"{what} did not improve more than tol={self.tol:f} for {self.n_iter_no_change} consecutive epochs."
        if self.solver == "sgd" and self.learning_rate == "adaptive" and self.learning_rate_ > 1e-6:
            self.learning_rate_ /= 5.0
            self._no_improvement_count = 0
            if self.verbose:
                print(f"{msg} Setting learning rate to {self.learning_rate_:f}")
            return False
        if self.verbose:
            print(
                msg
                + (
                    " Learning rate too small. Stopping."
                    if self.solver == "sgd" and self.learning_rate == "adaptive"
                    else " Stopping."
                )
            )
        return True

    def _count_no_improvement(self, stalled: bool):
        self._no_improvement_count = self._no_improvement_count + 1 if stalled else 0

    # ---- L-BFGS -----------------------------------------------------------------------------------

    def _fit_lbfgs(self, X, y, sample_weight, layer_units):
        if any(check_dropout(self.dropout, len(layer_units) - 2)):
            raise ValueError(
                f"dropout={self.dropout!r} with solver='lbfgs': L-BFGS needs one deterministic "
                "objective; use dropout=0 or a stochastic solver"
            )
        model = self._network(layer_units, X.dtype)
        key = ("objective",)
        if key not in self._cache:
            self._cache[key] = model.backend.jit(objective.make_objective(model, self.out_activation_))
        fn = self._cache[key]
        data = _Batches(model, X, y, sample_weight, self.alpha)
        batch = data.batch(slice(0, X.shape[0]))
        shapes = list(zip(layer_units[:-1], layer_units[1:]))

        def loss_and_grad(theta):
            loss, g = fn(self._device_params(model, *_unpack(theta, shapes, X.dtype)), *batch, 0)
            flat = model.backend.to_numpy(g).astype(np.float64)
            pairs = model.layout.unflatten(np, flat)
            return float(model.backend.to_numpy(loss)), _pack([W for W, _ in pairs], [b for _, b in pairs])

        result = scipy.optimize.minimize(
            loss_and_grad,
            _pack(self.coefs_, self.intercepts_),
            method="L-BFGS-B",
            jac=True,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
        )
        if result.status != 0:
            warnings.warn(
                f"lbfgs failed to converge after {result.nit} iteration(s) (status={result.status}): "
                f"{result.message}. Increase the number of iterations (max_iter={self.max_iter}) or "
                "scale the data.",
                ConvergenceWarning,
            )
        self.n_iter_ = min(int(result.nit), self.max_iter)
        self.loss_ = float(result.fun)
        self.coefs_, self.intercepts_ = _unpack(result.x, shapes, X.dtype)

    # ---- predict ----------------------------------------------------------------------------------

    def _forward(self, X, check_input=True):
        """The network's output A for X (validated unless ``check_input`` is False), on the host."""
        check_is_fitted(self, "coefs_")
        if check_input:
            X = self._check_X(X)
        model = self._network([c.shape[0] for c in self.coefs_] + [self.coefs_[-1].shape[1]], self.coefs_[0].dtype)
        if self._cache["forward"] is not self.coefs_:  # the weights the model holds
            self._device_params(model)
            self._cache["forward"] = self.coefs_
        key = ("forward",)
        if key not in self._cache:
            self._cache[key] = objective.make_forward(model, self.out_activation_)
        rows = max(1, (1 << 22) // max(model.sizes))
        parts = []
        for a in range(0, X.shape[0], rows):
            part = X[a : a + rows]
            part = part.toarray() if hasattr(part, "toarray") else part
            parts.append(
                model.backend.to_numpy(
                    self._cache[key](
                        model.params,
                        model.backend.asarray(np.asarray(part, dtype=self.coefs_[0].dtype), dtype=model.dtype),
                    )
                )
            )
        A = np.concatenate(parts) if parts else np.zeros((0, self.n_outputs_), self.coefs_[0].dtype)
        if check_input and not np.isfinite(A).all():
            raise ValueError(
                f"X gives outputs that are not finite (largest |x| = {np.abs(X).max():.3g}): its values "
                "are far beyond the training data's; scale X as the training data was scaled"
            )
        return A

    def _check_X(self, X):
        plan = getattr(self, "_plan", None)
        if plan is not None:
            return plan.transform(X).astype(self.coefs_[0].dtype, copy=False)
        return validate_data(self, X, accept_sparse=["csr", "csc"], reset=False, dtype=(np.float64, np.float32))

    def _validate_X_y(self, X, y, reset, y_numeric):
        """(X, y) checked as scikit-learn checks them, or through reseau's column plan for tables with
        text columns, or when ``normalize`` / ``impute`` ask for it."""
        if reset:
            needs_plan = self.normalize is not None or self.impute is not None or (is_table(X) and not _numeric(X))
            plan = columns.ColumnPlan(self.normalize, self.impute, self.handle_unknown).fit(X) if needs_plan else None
        else:
            plan = getattr(self, "_plan", None)
        if plan is None:
            X, y = validate_data(
                self,
                X,
                y,
                accept_sparse=["csr", "csc"],
                multi_output=True,
                y_numeric=y_numeric,
                dtype=(np.float64, np.float32),
                reset=reset,
            )
        else:
            X = plan.transform(X).astype(np.dtype(self.dtype or "float64"))
            y = check_array(y, ensure_2d=False, dtype="numeric" if y_numeric else None, ensure_all_finite=True)
            check_consistent_length(X, y)
        if reset:
            self._plan = plan
            if plan is not None:
                self.n_features_in_ = len(plan.names)
                if plan.named:
                    self.feature_names_in_ = np.asarray(plan.names, dtype=object)
                else:
                    self.__dict__.pop("feature_names_in_", None)
        return X, y

    def __getstate__(self):
        """Pickle / joblib: host arrays and plain values (``model_`` pickles itself the same way);
        compiled functions are rebuilt on first use."""
        state = dict(super().__getstate__())  # a copy: BaseEstimator may hand back __dict__ itself
        state.pop("_cache", None)
        if "_optimizer_state" in state:
            to_host = self.model_.backend.to_numpy
            state["_optimizer_state"] = {k: np.array(to_host(v)) for k, v in self._optimizer_state.items()}
        return state

    def __setstate__(self, state):
        if "coefs_" in state:
            _check_fitted_weights(state)
        super().__setstate__(state)
        self._cache = {"forward": None}
        if "_optimizer_state" in state:
            backend, dtype = self.model_.backend, self.model_.dtype
            self._optimizer_state = {k: backend.asarray(v, dtype=dtype) for k, v in self._optimizer_state.items()}

    def _check_solver(self):
        """partial_fit exists for the stochastic solvers only (``hasattr`` says so, as in scikit-learn)."""
        if self.solver not in STOCHASTIC:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is not stochastic."
            )
        return True

    def _dtype_of(self, X):
        return X.dtype if self.dtype is None else np.dtype(self.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = self.impute is not None
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier: scikit-learn's MLPClassifier on reseau. A logistic output
    for two classes and for multilabel targets (one sigmoid per label), softmax for more classes;
    binary cross-entropy / cross-entropy loss."""

    loss = "log_loss"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        backend=None,
        dtype=None,
        dropout=0.0,
        init=None,
        normalize=None,
        impute=None,
        handle_unknown="ignore",
        class_weight=None,
    ):
        _set_params(self, locals())

    def _row_weights(self, Y, w):
        """sample_weight × the class weight of each row's class (``class_weight``, a reseau extra;
        "balanced" counts the classes of this call's y)."""
        if self.class_weight is None:
            return w
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            raise ValueError(
                f"class_weight={self.class_weight!r} needs one label per row; y is multilabel: give "
                "sample_weight instead"
            )
        labels = Y[:, 0].astype(np.int64) if Y.shape[1] == 1 else np.argmax(Y, axis=1)
        per_row = class_weights(self.class_weight, labels, len(self.classes_), list(self.classes_))[labels]
        w = per_row if w is None else w * per_row
        if not w.any():
            raise ValueError(f"class_weight={self.class_weight!r} gives every row the weight 0")
        return w

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._validate_X_y(X, y, reset, y_numeric=False)
        X = X.astype(self._dtype_of(X), copy=False)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            try:
                self._label_binarizer = LabelBinarizer().fit(y)
            except TypeError:
                raise ValueError(
                    "y mixes labels of types that cannot be ordered (e.g. strings and numbers); "
                    "expected labels of one type"
                ) from None
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        f"warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        return X, self._label_binarizer.transform(y).astype(bool)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over X, y; ``classes`` (every label there will be) is needed on the first call."""
        if _first_partial_fit(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(self.classes_)
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """The predicted classes (for multilabel targets, the indicator matrix)."""
        return self._predict(X)

    def _predict(self, X, check_input=True):
        A = self._forward(X, check_input)
        if self.n_outputs_ == 1:
            A = A.ravel()
        return self._label_binarizer.inverse_transform(A)

    def _score(self, X, y, sample_weight=None):
        return _score(self, X, y, sample_weight, accuracy_score)

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_`` (for multilabel targets, the
        probability of each label)."""
        A = self._forward(X)
        if self.n_outputs_ == 1:
            A = A.ravel()
        return np.vstack([1 - A, A]).T if A.ndim == 1 else A

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor: scikit-learn's MLPRegressor on reseau. Identity output with
    squared error, or (``loss="poisson"``) an exponential output with the Poisson deviance."""

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        backend=None,
        dtype=None,
        dropout=0.0,
        init=None,
        normalize=None,
        impute=None,
        handle_unknown="ignore",
    ):
        _set_params(self, locals())

    def _validate_input(self, X, y, incremental, reset):
        _real_targets(y)
        X, y = self._validate_X_y(X, y, reset, y_numeric=True)
        X = X.astype(self._dtype_of(X), copy=False)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (np.asarray(y) < 0).any():
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson regression.")
        return X, np.asarray(y, dtype=X.dtype)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X, y."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """The predicted values, shape (n,) for one target."""
        return self._predict(X)

    def _predict(self, X, check_input=True):
        A = self._forward(X, check_input)
        return A.ravel() if A.shape[1] == 1 else A

    def _score(self, X, y, sample_weight=None):
        return _score(self, X, y, sample_weight, r2_score)


# ---- helpers ------------------------------------------------------------------------------------


class _Batches:
    """Mini-batches on the model's device: (X, Y, r, l2) for rows ``idx``, where r = w/Σw are the
    rows' weights and l2 = alpha/Σw (Σw = n without sample weights). Sparse X is densified per batch."""

    def __init__(self, model, X, Y, sample_weight, alpha):
        self.backend, self.dtype, self.alpha = model.backend, model.dtype, float(alpha)
        self.sparse = hasattr(X, "toarray")
        self.X = X if self.sparse else self.backend.asarray(X, dtype=self.dtype)
        self.Y = self.backend.asarray(np.asarray(Y, dtype=X.dtype), dtype=self.dtype)
        self.w, self.host_dtype = sample_weight, X.dtype
        self._even = {}

    def batch(self, idx):
        xp_idx = idx if isinstance(idx, slice) else self.backend.asarray(idx)
        x = self.backend.asarray(self.X[idx].toarray(), dtype=self.dtype) if self.sparse else self.X[xp_idx]
        y = self.Y[xp_idx]
        n = x.shape[0]
        if self.w is None:
            if n not in self._even:
                self._even[n] = self.backend.asarray(np.full(n, 1.0 / n, dtype=self.host_dtype), dtype=self.dtype)
            return x, y, self._even[n], self.alpha / n
        w = self.w[idx]
        total = float(w.sum())
        return x, y, self.backend.asarray((w / total).astype(self.host_dtype), dtype=self.dtype), self.alpha / total


def _score(est, X, y, sample_weight, metric):
    """The validation score without re-validating X (NaN when the predictions are not finite)."""
    y_pred = est._predict(X, check_input=False)
    if np.issubdtype(np.asarray(y_pred).dtype, np.floating) and not np.isfinite(y_pred).all():
        return np.nan
    return float(metric(y, y_pred, sample_weight=sample_weight))


def _first_partial_fit(est, classes) -> bool:
    """Whether this is the first partial_fit (classes_ set from ``classes``); classes must be given
    then, and if given later, unchanged."""
    have = getattr(est, "classes_", None)
    if have is None and classes is None:
        raise ValueError("classes must be passed on the first call to partial_fit.")
    if classes is not None:
        if have is not None:
            if not np.array_equal(have, unique_labels(classes)):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to partial_fit, was: {have!r}")
            return False
        est.classes_ = unique_labels(classes)
        return True
    return False


def _real_targets(y):
    """Regression targets must be numbers: text gets a message that names y."""
    try:
        y = np.asarray(y)
        if y.dtype.kind in "OUS":
            y.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"y must hold real numbers for regression ({exc})") from None


def _numeric(X) -> bool:
    t = table_of(X)
    return t.matrix is not None or all(np.asarray(c).dtype.kind in "biuf" for c in t.cols)


def _pack(coefs, intercepts):
    """scikit-learn's flat parameter vector: every W, then every b."""
    return np.hstack([a.ravel() for a in list(coefs) + list(intercepts)]).astype(np.float64)


def _unpack(theta, shapes, dtype):
    coefs, intercepts, pos = [], [], 0
    for n_in, n_out in shapes:
        coefs.append(theta[pos : pos + n_in * n_out].reshape(n_in, n_out).astype(dtype))
        pos += n_in * n_out
    for _, n_out in shapes:
        intercepts.append(theta[pos : pos + n_out].astype(dtype))
        pos += n_out
    return coefs, intercepts


def _check_fitted_weights(state):
    """A pickled estimator's ``coefs_`` / ``intercepts_``: float matrices chained layer to layer,
    one bias vector each, finite, as wide as ``n_features_in_``; else a ValueError on unpickling."""
    coefs, intercepts = state.get("coefs_"), state.get("intercepts_")
    ok = isinstance(coefs, list) and isinstance(intercepts, list) and len(coefs) == len(intercepts) >= 1
    ok = ok and all(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in coefs + intercepts)
    ok = ok and all(W.ndim == 2 and b.shape == (W.shape[1],) for W, b in zip(coefs, intercepts))
    ok = ok and all(a.shape[1] == b.shape[0] for a, b in zip(coefs[:-1], coefs[1:]))
    ok = ok and state.get("n_features_in_", coefs[0].shape[0]) == coefs[0].shape[0]
    if not ok:
        shapes = [getattr(a, "shape", type(a).__name__) for a in (coefs or [])] if isinstance(coefs, list) else coefs
        raise ValueError(
            f"pickled estimator: coefs_ {shapes!r} and intercepts_ do not make a network; expected "
            "one (n_in, n_out) float matrix and one (n_out,) bias per layer, chained"
        )
    if not all(np.isfinite(a).all() for a in coefs + intercepts):
        raise ValueError("pickled estimator: coefs_ or intercepts_ contain NaN or inf; expected finite numbers")


def _set_params(est, params):
    """The constructor's arguments stored as they are, one attribute each (scikit-learn's rule: an
    estimator's ``__init__`` only stores its parameters; get_params reads them off the signature)."""
    for name, value in params.items():
        if name != "self":
            setattr(est, name, value)
