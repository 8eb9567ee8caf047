"""The training loop of one fit, as an object: ``Trainer(model, X, Y, Run(...)).run()`` — the one loop,
run by ``MLP.fit`` (core/fit.py) and by the scikit-learn estimators (reseau/sklearn/loop.py, with
their own step, epoch order and books as a callback).

Each epoch draws a fresh permutation from the model's host generator (unless the batch is the
whole set; ``orders`` replaces the draw), steps through the mini-batches with the given step
(X may be a row source with ``rows(idx)``: sparse data densified per batch), and reads the guard's
book from the device once: the epoch's mean loss and running accuracy (counted by the step as it
computes the loss). Around the loop, callbacks (core/callbacks.py) do the optional work: history,
gradient norms, early stopping, checkpoints, progress, loggers.

    for each epoch:  on_epoch_begin → steps (on_step_end, where a callback wants it)
                     → close (guard; TrainingDivergedError) → record → on_epoch_end

Where the compiled epoch runs and nothing needs an epoch's end as it comes (no validation, only
callbacks that read the record alone: ``Callback.at_once``), several epochs run in one call and
are then closed and recorded one after another, as above (``run_epochs``).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..backends.host import np
from . import compiled_epoch, guard, heads
from .batches import Batches
from .callbacks import GradientNorms, Recorder, ScheduleWatch, is_false
from .guard import TrainingDivergedError
from .steps import StepForm, alive

#: at most this many rows (the orders' int32s: 16 MB) and multiply-adds (about a second) in one
#: call of several epochs (``Trainer._at_once``)
AT_ONCE_ROWS, AT_ONCE_WORK = 1 << 22, 2_000_000_000


class DeferredSignals:
    """While a fit runs, a signal whose handler is Python code (Ctrl-C's KeyboardInterrupt, an
    alarm) is held and delivered between two steps or two epochs, never inside one: on JAX a step
    donates its inputs, and an exception raised inside it would lose both the old arrays and the
    new ones (or surface from JAX's C code as a SystemError). Only the main thread can set
    handlers; elsewhere signals act as usual."""

    SIGNALS = ("SIGINT", "SIGALRM", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2")

    def __init__(self):
        self.pending, self._saved = [], {}

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return self
        for name in self.SIGNALS:
            sig = getattr(signal, name, None)
            handler = None if sig is None else signal.getsignal(sig)
            if callable(handler):
                self._saved[sig] = handler
                signal.signal(sig, self._hold)
        return self

    def _hold(self, signum, frame):
        self.pending.append((signum, frame))

    def _restore(self):
        import signal

        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved = {}

    def deliver(self):
        """Put the handlers back and run each held signal's own handler (which may raise)."""
        handlers, pending = dict(self._saved), self.pending
        self._restore()
        self.pending = []
        for signum, frame in pending:
            handlers[signum](signum, frame)
        self.__enter__()  # the handlers returned: hold signals again for the steps still to come

    def __exit__(self, *exc):
        if self.pending and exc[0] is None:
            self.deliver()
        self._restore()
        self.pending = []
        return False


@dataclass
class Run:
    """What a Trainer is given besides the model and its data, declared once: built from a fit's
    plan by core/fit.py (``_trainer_run``) and by the scikit-learn estimators (reseau/sklearn/loop.py).
    ``step``/``epoch_fn``: the compiled step and epoch loop; ``validation``: (X, Y[, w]) on the
    device; ``shard``/``comm``: a split over devices / MPI ranks; ``progress``: where a resumed fit
    left off; ``W``: row weights; ``orders(n)``: each epoch's row order (None: shuffled)."""

    epochs: int
    batch_size: int | None
    step: Callable
    epoch_fn: Callable | None = None
    validation: tuple | None = None
    compile_epoch: bool | None = None
    callbacks: Sequence = ()
    track_gradients: bool = False
    shard: Callable | None = None
    comm: object = None
    progress: dict | None = None
    history: object = None
    workspaces: object = None
    on_divergence: str = "stop"
    fit_epoch0: int = 0
    schedule_start: tuple = (0, 0)
    W: object = None
    orders: Callable | None = None


class Trainer:
    """One fit: the data on the device, the batch size, the schedule's position, the step's form
    (flat buffer or leaves), the callbacks and the stop flag. The model keeps its parameters,
    optimiser state, counters (``step_count``, ``epoch``) and cumulative history."""

    def __init__(self, model, X, Y, run: Run):
        batch_size, shard, comm = run.batch_size, run.shard, run.comm
        self.model, self.X, self.Y, self.validation = model, X, Y, run.validation
        self.W = W = run.W  # the rows' weights (core/weights.py), or None
        self.orders = run.orders  # orders(n): each epoch's row order (host ints) or None; default: shuffled
        self.n = X.shape[0]
        self.bs = self.n if batch_size is None else min(batch_size, self.n)
        self.epochs, self.shard, self.comm = run.epochs, shard, comm
        self.progress = run.progress  # where a resumed fit left off: its epoch's order and position
        self.history = run.history
        extra = [GradientNorms()] if run.track_gradients else []
        self.callbacks = extra + [Recorder(), ScheduleWatch()] + list(run.callbacks)
        # a callback with ``on_step_end`` acts after each step unless it says it has no work there
        self.step_hooks = [c for c in self.callbacks if hasattr(c, "on_step_end") and getattr(c, "steps_needed", True)]
        self.compile_epoch = self._compiles(run.compile_epoch, run.epoch_fn)
        self.stop_training = False
        self.position = None  # where the last step left off (order, position, epoch_first_step), for step hooks
        self.form = StepForm(model.backend, model.kern, model.network, model.training)
        self.step, self.epoch_fn = run.step, run.epoch_fn  # the compiled step and epoch loop
        self.on_divergence = run.on_divergence
        self.epoch0 = run.fit_epoch0  # this fit's first epoch (a resumed fit: the interrupted fit's)
        self.schedule_start = run.schedule_start  # (epoch, step) where the schedule's clock started
        self.failed = False  # set when the loop ends by an exception (divergence, interrupt)
        self.epoch_started = None
        self.place = (lambda v: v) if shard is None else model.backend.replicate
        self.lr = None
        self.signals = DeferredSignals()
        self.batches = Batches(model.kern, X, Y, W, self.bs, run.workspaces, comm, shard)  # each step's rows

    def _compiles(self, asked, epoch_fn) -> bool:
        """Whether each epoch runs as one compiled call (JAX: its full mini-batches; NumPy with
        numba: every batch): unless ``asked`` is False or ``_step_path_reason`` names a reason.
        The path taken is recorded in ``model.steps.path``."""
        steps = getattr(self.model, "steps", None)
        if epoch_fn is None or steps is None:
            return False
        why = self._step_path_reason(asked, epoch_fn)
        if asked and why is not None:
            warnings.warn(f"compile_epoch=True: {why}; this fit runs step by step", RuntimeWarning, stacklevel=4)
        compiled = compiled_epoch.COMPILED_JAX if self.model.backend.name == "jax" else compiled_epoch.COMPILED
        steps.path = compiled if why is None else f"{compiled_epoch.STEP_PATH} ({why})"
        return why is None

    def _step_path_reason(self, asked, epoch_fn) -> str | None:
        """Why this fit must run step by step (None: the compiled epoch runs it): something needs
        each step (an ``on_step_end`` callback, a split over devices or ranks, a row source); on
        NumPy, the compiled epoch does not cover the fit (core/compiled_epoch.py) or, unless asked
        for, its steps are too large to gain. (JAX's compiled epoch loops over the step itself, so
        it covers what the step does, and its steps were faster at every size measured:
        bench/results/compiled-epoch-jax.md.)"""
        for needed, why in (
            (
                any(not (asked and getattr(c, "deferrable", False)) for c in self.step_hooks),
                "a callback acts after each step",
            ),
            (self.shard is not None or self.comm is not None, "data split over ranks"),
            (hasattr(self.X, "rows"), "rows read from a source"),
            (asked is False, "compile_epoch=False"),
        ):
            if needed:
                return why
        uncovered = getattr(getattr(epoch_fn, "__self__", epoch_fn), "uncovered", "not covered")
        large = not asked and self.model.backend.name != "jax" and compiled_epoch.too_large(self.model.layout, self.bs)
        return uncovered or large or None

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.n // self.bs)

    def histories(self):
        """The fit's History and the model's cumulative one."""
        return [self.history] if self.model.history is self.history else [self.history, self.model.history]

    def run(self):
        """Train until this fit has run ``epochs`` epochs or a callback stops it; returns the History."""
        self.model.kern.prepare()
        with self.model.running(self):  # a fit started from a callback is refused (core/fit.py)
            begun = False
            try:
                self._each("on_train_begin")
                begun = True
                hold = getattr(self.epoch_fn(self.bs), "hold", None) if self.compile_epoch else None
                # a signal acts between steps and between epochs, never inside one; the compiled
                # epoch's resources (its BLAS pool limited to one thread) held for the whole fit
                with self.signals, hold() if hold else contextlib.nullcontext():
                    while self.model.epoch - self.epoch0 < self.epochs and not self.stop_training:
                        count = self._at_once()
                        self.run_epochs(count) if count > 1 else self.run_epoch()
                        if self.signals.pending:
                            self.signals.deliver()
            except BaseException:
                self.failed = True
                raise
            finally:
                if begun:
                    self._each("on_train_end")
        return self.history

    def run_epoch(self):
        model = self.model
        self.epoch_started = time.perf_counter()
        self._each("on_epoch_begin", model.epoch + 1)
        params, state = self.form.to_step()
        params, state, order, start, first_step, lrs = self._begin(params, state)
        self.current = (params, state)
        try:
            with model.backend.quiet():
                params, state = self._steps(params, state, order, start, first_step, lrs)
        except BaseException:  # interrupted mid-epoch: the model keeps its last completed step
            params, state = self.current
            if alive(params) and alive(state):
                self.form.to_model(params, state)
            raise
        self.form.to_model(params, state)
        record = self._close(first_step)
        self._each("on_epoch_end", record)

    def _at_once(self) -> int:
        """How many of the fit's coming epochs run in one compiled call (1: one at a time): several
        where the compiled epoch runs them and nothing needs an epoch's end as it comes (no
        validation, no resumed epoch, only callbacks that read the record alone), at most
        ``AT_ONCE_ROWS`` rows and ``AT_ONCE_WORK`` multiply-adds a call (a signal waits for the
        call's end: about a second at most)."""
        remaining = self.epochs - (self.model.epoch - self.epoch0)
        epochs = getattr(self.epoch_fn(self.bs), "epochs", None) if self.compile_epoch else None
        if epochs is None or remaining < 2 or self.validation is not None or self.progress is not None:
            return 1
        if not all(c.at_once(self) for c in self.callbacks):
            return 1
        work = self.n * self.model.layout.size
        return max(1, min(remaining, AT_ONCE_ROWS // self.n, AT_ONCE_WORK // work))

    def run_epochs(self, count):
        """``count`` epochs in one compiled call (``_at_once``): each epoch's order drawn and rates
        set as ``_begin`` does, one after another; then each closed and recorded in turn, as if
        it had just run (its "seconds" a share of the call's)."""
        model, per = self.model, self.steps_per_epoch
        started = time.perf_counter()
        params, state = self.form.to_step()
        first = model.step_count
        state = state._replace(book=guard.fresh(model.backend, model.dtype))
        orders, lrs, rates = [], [], []
        for i in range(count):
            order = self._order() if self.orders is not None or self.bs < self.n else None
            orders.append(np.arange(self.n, dtype="int32") if order is None else order)  # None: in order
            lr, values = self._rates(state, model.epoch + i, first + i * per)
            lrs.append(lr)
            rates.append(values)
        epochs = self.epoch_fn(self.bs).epochs
        with model.backend.quiet():
            params, state, books = epochs(
                params, state, self.X, self.Y, np.concatenate(orders), first, np.concatenate(rates), self.W, count
            )
        share = (time.perf_counter() - started) / count
        for i, book in enumerate(books):
            self.epoch_started = time.perf_counter() - share
            self._each("on_epoch_begin", model.epoch + 1)
            self.form.to_model(params, state._replace(book=book))
            model.training.set_steps(first + (i + 1) * per)
            self.lr = lrs[i] if lrs[i] is not None else self.lr
            self._each("on_epoch_end", self._close(first + i * per))

    def _order(self):
        """This epoch's row order (host int32, or None: in order): the given ``orders``, else a
        permutation drawn from the model's generator."""
        order = self.orders(self.n) if self.orders is not None else self.model.rng.permutation(self.n)
        return None if order is None else order.astype("int32")

    def _rates(self, state, epoch, first_step):
        """(the epoch's rate for its record, None where no schedule sets it; each step's rate), on
        the host, as ``_begin`` sets them for the epoch ``epoch`` starting at step ``first_step``."""
        schedule, dtype, steps = self.model.schedule, self.model.dtype, self.steps_per_epoch
        if schedule is None:
            return None, np.full((steps,), state.lr, dtype=dtype)
        if schedule.per == "epoch":
            lr = self._epoch_rate(epoch)
            return lr, np.full((steps,), np.asarray(lr, dtype=dtype), dtype=dtype)
        values = self._step_rates(first_step)
        return values[-1], np.asarray(values, dtype=dtype)

    def _epoch_rate(self, epoch):
        """A per-epoch schedule's rate for epoch ``epoch`` (the model's count before it)."""
        return self.model.schedule(self.model.optimizer.lr, epoch - self.schedule_start[0])

    def _step_rates(self, first_step):
        """A per-step schedule's rate for each step of the epoch starting at step ``first_step``."""
        step0, schedule, lr = self.schedule_start[1], self.model.schedule, self.model.optimizer.lr
        return [schedule(lr, first_step + k - step0) for k in range(self.steps_per_epoch)]

    # ---- one epoch ----------------------------------------------------------------------------

    def _begin(self, params, state):
        """(params, state, order, first position, first step, per-step rates) of the epoch."""
        model, backend = self.model, self.model.backend
        if self.progress is not None:  # a resumed fit: finish the epoch it was in
            p, self.progress = self.progress, None
            order = None if p["order"] is None else self.place(backend.asarray(p["order"]))
            start, first_step = p["position"], p["epoch_first_step"]
        else:
            host_order = self._order() if self.orders is not None or self.bs < self.n else None
            order = None if host_order is None else self.place(backend.asarray(host_order))
            start, first_step = 0, model.step_count
            state = state._replace(book={k: self.place(v) for k, v in guard.fresh(backend, model.dtype).items()})
            if model.schedule is not None and model.schedule.per == "epoch":
                self.lr = self._epoch_rate(model.epoch)
                state = state._replace(lr=self.place(backend.asarray(self.lr, dtype=model.dtype)))
        self.batches.start_epoch(order)
        lrs = None
        if model.schedule is not None and model.schedule.per == "step":
            # the epoch's rates go to the device at once: step k reads lrs[k], no copy per step
            values = self._step_rates(first_step)
            self.lr, lrs = values[-1], self.place(backend.asarray(values, dtype=model.dtype))
        return params, state, order, start, first_step, lrs

    def set_lr(self, value):
        """Run the coming epoch at rate ``value``: for a callback's ``on_epoch_begin`` that decides
        the rate itself (scikit-learn's "adaptive" and "invscaling")."""
        model = self.model
        self.lr = value
        rate = self.place(model.backend.asarray(value, dtype=model.dtype))
        model.training.set_state(model.opt_state._replace(lr=rate))

    def _steps(self, params, state, order, start, first_step, lrs):
        """The epoch's steps from row ``start``: a compiled epoch loop first where asked, then one
        step per mini-batch. On the host, a refused step in mode "stop" ends the epoch at once."""
        model, n, bs = self.model, self.n, self.bs
        if self.compile_epoch and n // bs > 0 and start == 0:
            params, state, start = self._compiled(params, state, order, lrs)
        host_stop = model.backend.host and self.on_divergence == "stop"
        step, signals, hooks = self.step, self.signals, self.step_hooks
        for lo, xb, yb, wb in self.batches(order, start):
            if lrs is not None:
                state = state._replace(lr=lrs[model.step_count - first_step])
            if wb is None:
                params, state, _ = step(params, state, xb, yb, model.step_count)
            else:
                params, state, _ = step(params, state, xb, yb, model.step_count, wb)
            # the last completed step and its count (a signal is held until ``deliver`` below)
            self.current = (params, state)
            model.training.set_steps(model.step_count + 1)
            if signals.pending:
                signals.deliver()  # a signal that came during the step acts here, between steps
            if host_stop and state.book["first_bad"] >= 0:
                break
            if hooks and lo + bs < n and self._step_end(params, state, order, lo + bs, first_step):
                break
        return params, state

    def _compiled(self, params, state, order, lrs):
        """The compiled epoch: its full mini-batches (JAX, whose shapes are fixed), or every batch,
        the short last one too, where the epoch function says ``whole`` (NumPy's); returns
        (params, state, the row the step path goes on from)."""
        model, n, bs = self.model, self.n, self.bs
        epoch = self.epoch_fn(bs)
        steps = -(-n // bs) if getattr(epoch, "whole", False) else n // bs
        rates = lrs[:steps] if lrs is not None else model.kern.xp.full((steps,), state.lr, dtype=model.dtype)
        ordered = order if order is not None else model.backend.asarray(np.arange(n, dtype="int32"))
        params, state = epoch(params, state, self.X, self.Y, ordered, model.step_count, rates, self.W)
        self.current = (params, state)
        model.training.set_steps(model.step_count + steps)
        if self.signals.pending:
            self.signals.deliver()
        return params, state, min(n, steps * bs)

    def _step_end(self, params, state, order, position, first_step) -> bool:
        """The per-step hooks; True when the guard has refused a step (stop: nothing may follow)."""
        model = self.model

        def sync():
            if self.on_divergence == "stop" and int(model.backend.to_numpy(state.book["first_bad"])) >= 0:
                return False
            self.form.to_model(params, state)
            return True

        self.position = {"order": order, "position": position, "epoch_first_step": first_step}
        return any(is_false(c.on_step_end(self, sync)) for c in self.step_hooks)

    def _close(self, first_step) -> dict:
        """The epoch's record from the guard's book (one read), or TrainingDivergedError."""
        model, backend = self.model, self.model.backend
        book = guard.read(backend, model.opt_state)
        if book["first_bad"] >= 0 and self.on_divergence == "stop":
            model.training.set_steps(book["first_bad"])
            raise TrainingDivergedError(
                guard.situation(
                    model.epoch + 1,
                    book["first_bad"] - first_step + 1,
                    self.steps_per_epoch,
                    book["first_bad"],
                    book["bad_loss"],
                ),
                guard.ADVICE,
            )
        loss_sum, rows, correct = book["loss_sum"], book["rows"], book["correct"]
        if self.comm is not None:
            loss_sum, rows, correct = self.comm.sum(loss_sum), self.comm.sum(rows), self.comm.sum(correct)
        if rows == 0:
            raise TrainingDivergedError(
                f"training diverged: every step of epoch {model.epoch + 1} had a non-finite loss or gradient "
                f"({book['skipped']} skipped); the weights from before it were kept.",
                guard.ADVICE,
            )
        model.training.end_epoch()
        record = {"epoch": model.epoch, "loss": loss_sum / rows}
        scale = model.target_scale
        if scale is not None and len(scale.std) == 1:  # in the target's units: σ²·L(y')
            record["loss"] *= float(scale.std[0]) ** 2
        if heads.is_classifier(model.output):
            record["accuracy"] = correct / rows
        if self.validation is not None:
            with backend.quiet():
                record.update({f"val_{k}": v for k, v in model.metrics(*self.validation).items()})
        record["lr"] = model.optimizer.lr if self.lr is None else self.lr
        if self.on_divergence == "skip":
            record["skipped_steps"] = book["skipped"]
        return record

    def _each(self, hook, *args):
        for c in self.callbacks:
            getattr(c, hook)(self, *args)
