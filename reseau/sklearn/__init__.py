"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor``, trained by reseau (extra ``reseau[sklearn]``).

The constructor takes scikit-learn's parameters with its names, defaults and meanings, then
reseau's own: ``backend`` (numpy, jax, cupy), ``dtype`` (None: X's, float32 or float64, as
scikit-learn keeps it), ``dropout``, ``init`` (None: scikit-learn's Glorot-uniform draw, so the same
``random_state`` starts from the same weights; or a reseau initialiser), ``normalize`` and
``impute`` (reseau's column plan, also what tables with text columns go through; see
``core/columns.py``), ``handle_unknown``, ``callbacks`` (reseau's callbacks, run by the training
loop each epoch) and ``on_divergence`` (None: scikit-learn's way, every step applied and the
weights checked after the fit; "stop" or "skip": reseau's divergence guard, ``core/guard.py``).
``solver`` is "sgd" (Sutskever momentum, Nesterov by default), "adam" (ε on the uncorrected
root), "lbfgs" (scipy.optimize's L-BFGS-B on the explicit gradient) or any other optimiser of
``reseau.optim`` by name.

The objective is reseau's training step (``core/steps.py``) with scikit-learn's output as its
head (``backing.HEADS``: logistic, softmax, identity, and exp for ``loss="poisson"``) and its
penalty as an option of the regularisation (``core/regularization.py``'s ``with_alpha``): the
mean loss, sample-weighted if given, plus ½·alpha·ΣW²/Σw of each batch. It stops as
scikit-learn's (``tol``, ``n_iter_no_change``, ``early_stopping`` on ``validation_fraction``,
``learning_rate`` "adaptive"), with its fitted attributes
(``coefs_``, ``intercepts_``, ``loss_curve_``, ``n_iter_``, ``t_``, ...). One difference on
purpose: with several regression targets the loss is the per-row sum over targets that the
gradient descends (scikit-learn reports the mean over targets; scikit-learn issue 8349).

The stochastic solvers train through reseau's one training loop (``core/trainer.py``); the
network they train is ``model_``, a ``reseau.MLP`` (``save``, ``to_onnx``, ``summary``).

| module | its job |
|---|---|
| ``estimators.py`` | the two estimators: their signatures, targets, predictions, scores |
| ``base.py`` | what both share: ``fit`` as a translation onto the parts below, pickling, tags |
| ``params.py`` | the parameters, stored and checked as scikit-learn checks them |
| ``inputs.py`` | X and y checked (or through the column plan), pickled weights checked |
| ``backing.py`` | ``model_``: built, first weights, ``coefs_`` ⇄ device parameters, forward |
| ``accounts.py`` | the fitted accounts the estimator keeps itself: ``n_iter_``, ``loss_curve_``, stopping, rates |
| ``loop.py`` | the stochastic solvers on the Trainer, each epoch handed to the estimator's accounts |
| ``lbfgs.py`` | solver="lbfgs" through scipy.optimize |
"""

try:
    import scipy.optimize  # noqa: F401 - L-BFGS (lbfgs.py)
    import sklearn  # noqa: F401

    from .estimators import MLPClassifier, MLPRegressor
except ImportError as exc:  # pragma: no cover - depends on the environment
    if getattr(exc, "name", "") and exc.name.split(".")[0] in ("sklearn", "scipy"):
        raise ImportError('reseau.sklearn needs scikit-learn>=1.6: pip install "reseau[sklearn]"') from None
    raise

__all__ = ["MLPClassifier", "MLPRegressor"]
