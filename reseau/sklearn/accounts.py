"""scikit-learn's accounts of a stochastic fit, kept by the estimator itself (a mixin of
``BaseMLP``): its fitted attributes ``n_iter_``, ``t_``, ``loss_``, ``loss_curve_``,
``best_loss_``, ``validation_scores_``, ``best_validation_score_``, ``learning_rate_`` and the
weights ``coefs_`` / ``intercepts_`` are written here and only here during a fit; the training
loop (loop.py) calls ``start_epochs``, ``take_weights`` and ``book_epoch``, L-BFGS (lbfgs.py)
``take_solution`` (public names, not part of scikit-learn's API). The stopping rules: ``tol``
over ``n_iter_no_change`` epochs, on the training loss or on early stopping's validation score
(whose best weights ``progress`` keeps); the rates of ``learning_rate`` "invscaling" and
"adaptive"."""

from __future__ import annotations


class Accounts:
    def start_epochs(self, fresh: bool):
        """A stochastic fit begins: no epoch counted yet; a fresh optimiser starts at the initial rate."""
        if fresh:
            self.learning_rate_ = float(self.learning_rate_init)
        self.n_iter_ = 0

    def take_weights(self, coefs, intercepts):
        """The fit's weights (host arrays) as the estimator's ``coefs_`` / ``intercepts_``."""
        self.coefs_, self.intercepts_ = coefs, intercepts

    def take_solution(self, n_iter: int, loss: float, coefs, intercepts):
        """L-BFGS's result: its iterations, its loss and its weights."""
        self.n_iter_, self.loss_ = n_iter, loss
        self.take_weights(coefs, intercepts)

    def book_epoch(self, loss, n, score, progress) -> bool:
        """Count an epoch (its loss, over n rows), score it (``score()``: the validation score,
        with early stopping); True when training stops."""
        self.n_iter_ += 1
        self.loss_ = loss
        self.t_ += n
        self.loss_curve_.append(loss)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
        if self.early_stopping:
            value = score()
            self.validation_scores_.append(value)
            if self.verbose:
                print(f"Validation score: {value:f}")
            _count(progress, value < self.best_validation_score_ + self.tol)
            if value > self.best_validation_score_:
                self.best_validation_score_ = value
                progress.keep_best(self.coefs_, self.intercepts_)
        else:
            _count(progress, loss > self.best_loss_ - self.tol)
            self.best_loss_ = min(self.best_loss_, loss)
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            self.learning_rate_ = float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t
        if progress.no_improvement <= self.n_iter_no_change:
            return False
        return self._stalled(progress)

    def _stalled(self, progress) -> bool:
        """n_iter_no_change epochs without improvement: "adaptive" divides the rate by 5 and goes
        on (until it is 1e-6 or less); otherwise training stops. True when it stops."""
        what = "Validation score" if self.early_stopping else "Training loss"
        msg = f"{what} did not improve more than tol={self.tol:f} for {self.n_iter_no_change} consecutive epochs."
        adaptive = self.solver == "sgd" and self.learning_rate == "adaptive"
        if adaptive and self.learning_rate_ > 1e-6:
            self.learning_rate_ /= 5.0
            progress.no_improvement = 0
            if self.verbose:
                print(f"{msg} Setting learning rate to {self.learning_rate_:f}")
            return False
        if self.verbose:
            print(msg + (" Learning rate too small. Stopping." if adaptive else " Stopping."))
        return True


def _count(progress, stalled: bool):
    progress.no_improvement = progress.no_improvement + 1 if stalled else 0
