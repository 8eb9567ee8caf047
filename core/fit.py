"""A fit, from its arguments to its History: the plan checked on every MPI rank or JAX process
(``core/fit_plan.py``), then — every argument valid — applied to the model (its network, input
contract, resolved l2, compiled step and schedule), a checkpoint restored where the fit resumes,
and the Trainer run (``core/trainer.py``), over ranks or devices where asked."""

from __future__ import annotations

import dataclasses

from . import checkpoint as checkpoint_files
from . import fit_plan, validation
from .callbacks import EarlyStopping, Verbose, as_list
from .trainer import Run, Trainer


def fit(model, X, y, o: fit_plan.FitOptions):
    """Train ``model`` on (X, y) as the options ``o`` say; returns this fit's History."""
    if model.trainer is not None:
        raise RuntimeError(
            "fit() was called while this model is already training (from a callback?); a "
            "model trains one fit at a time: train another model, or act after fit returns"
        )
    comm = fit_plan.world(model.backend) if o.data_parallel and model.backend.name != "jax" else None
    processes = o.data_parallel and model.backend.process_count() > 1
    try:
        with validation.each_array_checked_once():
            plan = fit_plan.plan(model, X, y, o, comm)
        status = ("ok", plan.fingerprint)
    except ValueError as exc:
        if (comm is None or comm.size == 1) and not processes:
            raise
        plan, status = exc, ("error", str(exc))
    if comm is not None and comm.size > 1:
        fit_plan.agree(comm, status)
    elif processes:
        fit_plan.agree_processes(model.backend, status, plan)
    apply(model, plan, o, comm)  # every argument is valid (on every rank): from here on the model changes
    stopping = None if o.patience is None else EarlyStopping(plan.patience, plan.min_delta, bool(o.restore_best))
    progress, history = _resume(model, plan, stopping)
    if progress == "done":
        return history
    return _run(model, plan, o, comm, _trainer_run(model, plan, o, comm, stopping, progress, history))


def apply(model, plan, o, comm):
    """The plan's changes to the model: the network, the input contract, l2, the step, the schedule."""
    if plan.build is not None:
        model.build_network(*plan.build)
    model.contract.fitted(plan.columns, plan.classes, plan.target_scale, plan.target_name)
    if plan.l2 != model.l2:  # "auto" resolved on the first training data, kept from now on
        model.set_l2(plan.l2)
    model.steps.prepare(model, plan.opt, comm, plan.on_divergence, o.cuda_graph)
    if plan.schedule is not None or not plan.continuing or o.resume is not None:
        model.training.start_schedule(plan.schedule, plan.auto_schedule)
    model.training.start_fit()


def _resume(model, plan, stopping):
    """(progress, History): where a resumed fit's checkpoint left off ("done" when it had
    stopped early), and this fit's History (a resumed fit's: all of it)."""
    progress = None
    if plan.resumed is not None:
        progress, (fit_epoch0, schedule_start) = checkpoint_files.restore(model, *plan.resumed[1:], stopping)
        model.training.resume(fit_epoch0, schedule_start)
    history = model.history.since(model.fit_epoch0)
    if plan.resumed is not None:
        history.stopping(model.history.best_epoch, model.history.stopped_epoch)
        if plan.resumed[2]["checkpoint"]["stopped"]:  # the fit had stopped early: nothing left to do
            for h in (history, model.history):
                h.stopping(stopping.best_epoch, h.stopped_epoch)
            if stopping.restore_best and stopping.best_params is not None:
                model.network.set_params(stopping.best_params)
            return "done", history
    return progress, history


def _trainer_run(model, plan, o, comm, stopping, progress, history) -> Run:
    """The Trainer's Run from the plan and the options (comm and shard set by ``_run``)."""
    steps = model.steps
    return Run(
        epochs=o.epochs, batch_size=o.batch_size, validation=plan.val, compile_epoch=o.compile_epoch,
        callbacks=_callbacks(model, plan, o, comm, stopping), track_gradients=bool(o.track_gradients),
        progress=progress, history=history, step=steps.step, epoch_fn=steps.epoch_fn, workspaces=steps.workspaces,
        on_divergence=steps.on_divergence, fit_epoch0=model.fit_epoch0, schedule_start=model.schedule_start, W=plan.W,
    )  # fmt: skip


def _run(model, plan, o, comm, run: Run):
    """The Trainer on one process, over MPI ranks (each its rows of every batch), or over JAX
    devices (the data replicated, each batch sharded)."""
    X, Y = plan.X, model.backend.asarray(plan.Y)
    if not o.data_parallel:
        return Trainer(model, X, Y, run).run()
    reg = model.regularization
    if comm is not None:
        if reg is not None:
            reg.rank = comm.rank  # each rank draws its own dropout masks
        try:
            return Trainer(model, X, Y, dataclasses.replace(run, comm=comm)).run()
        finally:
            if reg is not None:
                reg.rank = 0
    bk = model.backend
    model.network.set_params(bk.replicate(model.params))
    model.training.set_state(bk.replicate(model.opt_state))
    X, Y, validation = bk.replicate(X), bk.replicate(Y), bk.replicate(plan.val)
    try:
        return Trainer(model, X, Y, dataclasses.replace(run, shard=bk.shard_rows, validation=validation)).run()
    finally:
        model.network.set_params(bk.gather_home(model.params))
        model.training.set_state(bk.gather_home(model.opt_state))


def _callbacks(model, plan, o, comm, stopping):
    """The fit's callbacks: a printer, the user's, early stopping, the checkpoint writer."""
    extra = [Verbose(o.epochs)] if o.verbose else []
    extra += as_list(o.callbacks, o.callback) + ([stopping] if stopping is not None else [])
    if o.checkpoint is not None:
        writer = (comm is None or comm.rank == 0) and model.backend.process_index() == 0
        saver = checkpoint_files.Checkpoints(
            checkpoint_files.directory(o.checkpoint), plan.every, plan.keep, plan.resume_key, writer,
            start=model.step_count,
        )  # fmt: skip
        extra.append(checkpoint_files.CheckpointCallback(saver, stopping))
    return extra
