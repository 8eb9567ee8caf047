"""The stochastic solvers' fit, on reseau's one training loop: the Trainer (core/trainer.py) runs
the epochs — signals held between steps, the model's history, the guard's books — with the
estimators' step (core/steps.py's, with scikit-learn's head and α/Σw penalty, every step applied) and
scikit-learn's epoch order. ``Books``, a callback, hands each epoch to the estimator, which keeps
its own accounts (accounts.py: ``n_iter_``, ``t_``, ``loss_curve_``, the stopping rules, the
rates of ``learning_rate`` "invscaling" and "adaptive")."""

from __future__ import annotations

import warnings

from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from ..backends.host import np
from ..core import compiled_epoch, optim, steps
from ..core.callbacks import Callback, as_list
from ..core.guard import TrainingDivergedError
from ..core.steps import fresh_state
from ..core.trainer import Run, Trainer
from . import backing


class Progress:
    """What scikit-learn carries from fit to fit (warm_start, partial_fit): the epochs in a row
    without improvement, and the best weights so far (early stopping restores them)."""

    def __init__(self, no_improvement, best_coefs, best_intercepts):
        self.no_improvement, self.best_coefs, self.best_intercepts = no_improvement, best_coefs, best_intercepts

    def keep_best(self, coefs, intercepts):
        self.best_coefs, self.best_intercepts = [c.copy() for c in coefs], [b.copy() for b in intercepts]


class Order:
    """Each epoch's row order as scikit-learn draws it: the last order shuffled again
    (``sklearn.utils.shuffle``) with the fit's ``random_state``; None (rows in order) without shuffle."""

    def __init__(self, shuffled, random_state):
        self.shuffled, self.random_state, self.idx = shuffled, random_state, None

    def __call__(self, n):
        """``shuffle(idx, random_state=rs)`` as scikit-learn computes it (resample without
        replacement: rs shuffles arange(n), idx is taken in that order), without its argument
        checks, which cost ~0.4 ms an epoch (tests/test_sklearn.py checks the two agree)."""
        if not self.shuffled:
            return None
        idx = np.arange(n, dtype=int) if self.idx is None else self.idx
        positions = np.arange(n)
        check_random_state(self.random_state).shuffle(positions)
        self.idx = idx[positions]
        return self.idx


class SparseRows:
    """A sparse X as the Trainer's row source: each batch's rows densified on the device."""

    def __init__(self, X, backend, dtype):
        self.X, self.backend, self.dtype, self.shape = X, backend, dtype, X.shape

    def rows(self, idx):
        idx = idx if isinstance(idx, slice) else self.backend.to_numpy(idx)
        return self.backend.asarray(self.X[idx].toarray(), dtype=self.dtype)


def optimizer(est):
    """solver "sgd": Sutskever momentum (Nesterov where asked); "adam": ε on the uncorrected root; any
    other name: that optimiser of reseau.optim, at ``learning_rate_init``."""
    lr = est.learning_rate_init
    if est.solver == "sgd":
        nesterov = est.nesterovs_momentum and est.momentum > 0
        return optim.SGD(lr=lr, momentum=est.momentum, nesterov=nesterov, form="sutskever")
    if est.solver == "adam":
        return optim.Adam(lr=lr, betas=(est.beta_1, est.beta_2), eps=est.epsilon, form="keras")
    return optim.get(est.solver, lr=lr)


def batch_size(est, n) -> int:
    if est.batch_size == "auto":
        return min(200, n)
    if est.batch_size > n:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
    return int(np.clip(est.batch_size, 1, n))


def split(est, X, y, sample_weight, random_state):
    """(X_train, y_train, w_train, validation): early stopping's validation part (X, labels, w)
    drawn as scikit-learn draws it (stratified for one-output classifiers), else None."""
    if not est.early_stopping:
        return X, y, sample_weight, None
    stratify = y if is_classifier(est) and est.n_outputs_ == 1 else None
    arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
    parts = train_test_split(*arrays, random_state=random_state, test_size=est.validation_fraction, stratify=stratify)
    X_train, X_val, y_train, y_val = parts[:4]
    sw_train, sw_val = (None, None) if sample_weight is None else parts[4:]
    if X_val.shape[0] < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your dataset.")
    return X_train, y_train, sw_train, (X_val, y_val, sw_val)


def fit_stochastic(est, compiled, progress, X, y, sample_weight, incremental, random_state, score, labels):
    """Train ``compiled.model`` from ``coefs_`` / ``intercepts_`` for ``max_iter`` epochs (one
    for partial_fit), then write the weights back (early stopping: its best). The optimiser's
    state lives in the model (``opt_state``, ``step_count``), continued by partial_fit;
    ``score(X, y, w)`` scores early stopping's validation rows, whose one-hot y ``labels`` turns
    back into labels (None: the regressors' y as it is)."""
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    model, opt = compiled.model, optimizer(est)
    backing.to_device(model, est.coefs_, est.intercepts_)
    fresh = not incremental or model.opt_state is None or type(model.optimizer) is not type(opt)
    if fresh:
        model.training.restart(opt, fresh_state(opt, model.kern, model.params, model.backend, model.dtype))
    else:
        model.training.use(opt, model.opt_state)
    X, y, sample_weight, validation = split(est, X, y, sample_weight, random_state)
    if validation is not None and labels is not None:  # the classifiers score against labels
        validation = (validation[0], labels(validation[1]), validation[2])
    step, mode = _step(est, compiled, opt)
    backend, dtype = model.backend, model.dtype
    X_rows = SparseRows(X, backend, dtype) if hasattr(X, "toarray") else backend.asarray(X, dtype=dtype)
    Y = backing.targets(model, est.out_activation_, y, X.dtype)
    W = None if sample_weight is None else backend.asarray(sample_weight, dtype=dtype)
    callbacks = [Books(est, compiled, progress, validation, score, incremental), *as_list(est.callbacks)]
    run = Run(
        1 if incremental else est.max_iter, batch_size(est, X.shape[0]), step, Epochs(est, compiled, opt, mode),
        callbacks=callbacks, history=model.history, workspaces=compiled.workspaces, on_divergence=mode,
        fit_epoch0=model.epoch, W=W, orders=Order(est.shuffle, random_state),
    )  # fmt: skip
    trainer = Trainer(model, X_rows, Y, run)
    est.start_epochs(fresh)
    try:
        trainer.run()
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")
        est.take_weights(*backing.to_host(model))
    except TrainingDivergedError:  # on_divergence="stop": the weights of the last good step
        est.take_weights(*backing.to_host(model))
        raise
    if est.early_stopping:
        est.take_weights(progress.best_coefs, progress.best_intercepts)


def _step(est, compiled, opt):
    """(the compiled step, the guard's mode): "apply" (scikit-learn's way: every step applied,
    the weights checked after the fit) unless ``on_divergence`` asks for reseau's "stop" or "skip"."""
    model, mode = compiled.model, est.on_divergence or "apply"
    options = repr({k: v for k, v in opt.hyperparameters().items() if k != "lr"})

    def make():
        head, reg = backing.HEADS[est.out_activation_], backing.regularization(est, model)
        raw = steps.step_function(
            model.kern, model.layout, model.activations, head, opt, compiled.workspaces, reg, on_divergence=mode
        )
        return model.backend.jit(raw, donate_argnums=(0, 1))

    return compiled.program(("step", type(opt).__name__, options, float(est.alpha), mode), make), mode


class Epochs:
    """The estimators' compiled epoch (core/compiled_epoch.py with scikit-learn's head and α) by
    batch size, where it covers the fit; ``uncovered`` says why not (the Trainer then steps)."""

    def __init__(self, est, compiled, opt, mode):
        model, out = compiled.model, est.out_activation_
        self.output, self.alpha, self.compiled, self.opt = backing.HEADS.get(out), float(est.alpha), compiled, opt
        self.args = (model.network, self.output, model.dtype, model.regularization, opt, mode)
        self.uncovered = (
            compiled_epoch.unavailable(model.backend, model.kern)
            or (f"output {out}" if out not in ("logistic", "softmax", "identity") else None)
            or compiled_epoch.uncovered(model.network, self.output, model.label_smoothing, model.kern, opt, None, mode)
        )

    def __call__(self, batch_size):
        key = ("epoch", type(self.opt).__name__, repr(self.opt.hyperparameters()), self.alpha, batch_size)
        return self.compiled.program(key, lambda: compiled_epoch.make_epoch(*self.args, batch_size, alpha=self.alpha))


class Books(Callback):
    """After each epoch: the weights to the estimator, its accounts (accounts.py), and whether
    training stops; before each, the rate the estimator's accounts set."""

    def __init__(self, est, compiled, progress, validation, score, incremental):
        self.est, self.compiled, self.progress, self.validation = est, compiled, progress, validation
        self.score, self.incremental = score, incremental

    def on_epoch_begin(self, trainer, epoch):
        trainer.set_lr(float(self.est.learning_rate_))

    def on_epoch_end(self, trainer, record):
        est = self.est
        est.take_weights(*backing.to_host(trainer.model))
        self.compiled.holds = est.coefs_  # the model holds these weights: a forward pass uses them as they are
        score = lambda: self.score(*self.validation)  # noqa: E731 - asked for with early stopping only
        if est.book_epoch(record["loss"], trainer.n, score, self.progress) or self.incremental:
            trainer.stop_training = True
        elif est.n_iter_ == est.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
            )
