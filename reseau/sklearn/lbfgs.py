"""solver="lbfgs": scipy.optimize's L-BFGS-B on the full-batch loss of the training step
(the network's ``loss_and_grads``, core/network.py, with scikit-learn's head and α/Σw penalty) and its
explicit gradient, over scikit-learn's flat parameter vector (every W, then every b)."""

from __future__ import annotations

import warnings

import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ..backends.host import np
from ..core.regularization import check_dropout
from . import backing


def pack(coefs, intercepts):
    """scikit-learn's flat parameter vector θ: every W, then every b (float64)."""
    return np.hstack([a.ravel() for a in list(coefs) + list(intercepts)]).astype(np.float64)


def unpack(theta, shapes, dtype):
    """(coefs, intercepts) of θ for layers of ``shapes`` [(n_in, n_out), ...]."""
    coefs, intercepts, pos = [], [], 0
    for n_in, n_out in shapes:
        coefs.append(theta[pos : pos + n_in * n_out].reshape(n_in, n_out).astype(dtype))
        pos += n_in * n_out
    for _, n_out in shapes:
        intercepts.append(theta[pos : pos + n_out].astype(dtype))
        pos += n_out
    return coefs, intercepts


def full_batch(model, out, X, Y, w):
    """(X, Y, w) of every row on the model's device: Y as the head reads it, w None without weights."""
    backend, dtype = model.backend, model.dtype
    x = backend.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=dtype)
    return x, backing.targets(model, out, Y, X.dtype), None if w is None else backend.asarray(w, dtype=dtype)


def loss_and_gradient(est, compiled):
    """``fn(params, X, Y, w) -> (L, flat gradient)``: the mean loss (weighted by w/Σw where given)
    plus ½·(α/Σw)·ΣW², as the stochastic solvers' step computes it, without the update."""
    model = compiled.model
    head, reg = backing.HEADS[est.out_activation_], backing.regularization(est, model)
    kern, net, workspaces = model.kern, model.network, compiled.workspaces

    def fn(params, X, Y, w):
        ws = None if workspaces is None else workspaces.get(X.shape[0], Y)
        return net.loss_and_grads(kern, head, X, Y, params, ws=ws, reg=reg, w=w)

    return fn


def fit_lbfgs(est, compiled, X, y, sample_weight, layer_units):
    """Minimise L(θ) from ``coefs_`` / ``intercepts_`` (``max_iter`` iterations, ``max_fun``
    evaluations, ``tol`` on the projected gradient); a ConvergenceWarning when it did not converge."""
    if any(check_dropout(est.dropout, len(layer_units) - 2)):
        raise ValueError(
            f"dropout={est.dropout!r} with solver='lbfgs': L-BFGS needs one deterministic "
            "objective; use dropout=0 or a stochastic solver"
        )
    model = compiled.model
    fn = compiled.program(("objective",), lambda: model.backend.jit(loss_and_gradient(est, compiled)))
    batch = full_batch(model, est.out_activation_, X, y, sample_weight)
    shapes = list(zip(layer_units[:-1], layer_units[1:]))

    def loss_and_grad(theta):
        loss, g = fn(backing.to_device(model, *unpack(theta, shapes, X.dtype)), *batch)
        pairs = model.layout.unflatten(np, model.backend.to_numpy(g).astype(np.float64))
        return float(model.backend.to_numpy(loss)), pack([W for W, _ in pairs], [b for _, b in pairs])

    result = scipy.optimize.minimize(
        loss_and_grad,
        pack(est.coefs_, est.intercepts_),
        method="L-BFGS-B",
        jac=True,
        options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol},
    )
    if result.status != 0:
        warnings.warn(
            f"lbfgs failed to converge after {result.nit} iteration(s) (status={result.status}): "
            f"{result.message}. Increase the number of iterations (max_iter={est.max_iter}) or "
            "scale the data.",
            ConvergenceWarning,
        )
    est.take_solution(min(int(result.nit), est.max_iter), float(result.fun), *unpack(result.x, shapes, X.dtype))
    compiled.holds = None  # the model holds the last evaluated θ, not necessarily the result's
