"""The compiled epoch on the CPU (kernels/numba_epoch.py, core/compiled_epoch.py) against the step
path, the reference it must reproduce: in float64 the same weights, losses and running accuracy to
1e-12 over every covered optimiser (all of core/optim.py's, with gradient clipping) × head ×
hidden activation, with L1/L2, row weights and a schedule; in float32 within 2 ulp-sized steps
(4e-7) of the weights after three epochs. What it does not cover runs step by step, and the model
says which path ran."""

import itertools
import warnings

import numpy as np
import pytest

from reseau import MLP, optim
from reseau.callbacks import Callback

pytest.importorskip("numba", reason="numba is not installed (pip install 'reseau[cpu]')")

N = 203  # not a multiple of the batch: the last partial batch runs on the step path
OUTPUTS = {"softmax": 3, "sigmoid": 1, "identity": 2}
OPTIMIZERS = {
    "sgd": lambda: optim.SGD(0.05),
    "momentum": lambda: optim.SGD(0.05, momentum=0.9, dampening=0.1),
    "nag": lambda: optim.NAG(0.05),
    "sutskever": lambda: optim.SGD(0.05, momentum=0.9, nesterov=True, form="sutskever"),
    "adam": lambda: optim.Adam(0.01),
    "adamw": lambda: optim.AdamW(0.01),
    "adam-keras": lambda: optim.Adam(0.01, form="keras"),
    "amsgrad": lambda: optim.Adam(0.01, amsgrad=True, weight_decay=1e-3),
    "adagrad": lambda: optim.Adagrad(0.05, lr_decay=0.01, initial_accumulator_value=0.1),
    "adagrad-keras": lambda: optim.Adagrad(0.05, form="keras", eps=1e-7),
    "adadelta": lambda: optim.Adadelta(1.0, weight_decay=1e-3),
    "rmsprop": lambda: optim.RMSprop(0.01),
    "rmsprop-centered-momentum": lambda: optim.RMSprop(0.01, centered=True, momentum=0.5),
    "adam-clipped": lambda: optim.Adam(0.01, clip_norm=0.05),
    "nag-clipped": lambda: optim.NAG(0.05, clip_norm=0.1),
}


def _data(head, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 5))
    y = {"softmax": rng.integers(0, 3, N), "sigmoid": rng.integers(0, 2, N), "identity": rng.normal(size=(N, 2))}
    return X, y[head], rng.uniform(0.5, 2.0, N)


def _fit(compile_epoch, head, hidden, opt, dtype="float64", weighted=False, schedule=None, **kw):
    X, y, w = _data(head)
    model = MLP([5, 7, 6, OUTPUTS[head]], hidden=hidden, output=head, dtype=dtype, seed=1, normalize=None, **kw)
    h = model.fit(
        X,
        y,
        epochs=3,
        batch_size=16,
        optimizer=OPTIMIZERS[opt](),
        schedule=schedule,
        compile_epoch=compile_epoch,
        sample_weight=w if weighted else None,
    )
    return model, h


@pytest.mark.parametrize(
    "head, hidden, opt", list(itertools.product(OUTPUTS, ["relu", "leaky_relu", "tanh", "sigmoid"], OPTIMIZERS))
)
def test_float64_equals_the_step_path(head, hidden, opt):
    """Weights, per-epoch losses and accuracies, step counts: the same to 1e-12 (L1 and L2 on, row
    weights with momentum and Nesterov, a per-epoch cosine schedule with Adam, a per-step one with SGD)."""
    weighted = opt in ("momentum", "nag")
    schedule = {"adam": optim.CosineAnnealing(3), "sgd": optim.ExponentialDecay(0.99, per="step")}.get(opt)
    runs = [_fit(ce, head, hidden, opt, weighted=weighted, schedule=schedule, l1=1e-3, l2=1e-2) for ce in (False, None)]
    (m0, h0), (m1, h1) = runs
    assert m0.steps.path.startswith("step by step") and m1.steps.path == "compiled epochs (numba)"
    assert m1.step_count == m0.step_count == 3 * -(-N // 16)
    np.testing.assert_allclose(m1.params, m0.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(h1["loss"], h0["loss"], rtol=1e-12)
    np.testing.assert_allclose(h1["lr"], h0["lr"], rtol=1e-12)
    if head != "identity":
        assert h1["accuracy"] == h0["accuracy"]


@pytest.mark.parametrize(
    "head, hidden, opt, dropout",
    [
        ("softmax", "relu", "adam", 0.3),
        ("sigmoid", "tanh", "nag", [0.5, 0.1]),
        ("identity", "leaky_relu", "rmsprop-centered-momentum", [0.0, 0.4]),
        ("softmax", "sigmoid", "adagrad", 0.2),
    ],
)
def test_dropout_draws_the_step_paths_masks(head, hidden, opt, dropout):
    """Dropout in the compiled epoch: the step path's counter-based masks (seed, step, layer,
    element), so the same weights to 1e-12 in float64; and the masks do act (the weights differ
    from a fit without dropout)."""
    runs = [_fit(ce, head, hidden, opt, dropout=dropout) for ce in (False, None)]
    (m0, h0), (m1, h1) = runs
    assert m1.steps.path == "compiled epochs (numba)"
    np.testing.assert_allclose(m1.params, m0.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(h1["loss"], h0["loss"], rtol=1e-12)
    plain, _ = _fit(None, head, hidden, opt)
    assert np.abs(plain.params - m1.params).max() > 1e-3


@pytest.mark.parametrize("head, opt", [("softmax", "adam"), ("sigmoid", "nag"), ("identity", "sgd")])
def test_float32_stays_within_rounding_of_the_step_path(head, opt):
    """float32: the BLAS calls and the compiled tanh (kernels/numba_math.py's tanh32) round apart from
    NumPy's by an ulp or two now and then; after three epochs the weights agree to 4e-7, the losses to 1e-6."""
    (m0, h0), (m1, h1) = (_fit(ce, head, "tanh", opt, dtype="float32", l2=1e-2) for ce in (False, None))
    assert m1.steps.path == "compiled epochs (numba)" and m1.params.dtype == np.float32
    np.testing.assert_allclose(m1.params, m0.params, rtol=0, atol=4e-7)
    np.testing.assert_allclose(h1["loss"], h0["loss"], rtol=1e-6)


@pytest.mark.parametrize("mode", ["stop", "skip"])
def test_a_diverging_step_is_refused_as_the_step_path_refuses_it(mode):
    """A learning rate that blows up: the same steps refused, the same error or the same skipped
    count, the same weights kept."""
    X, y, _ = _data("identity")
    X = X * 1e3
    outcomes = []
    for ce in (False, None):
        model = MLP([5, 7, 2], output="identity", dtype="float64", seed=1, normalize=None)
        try:
            h = model.fit(
                X, y, epochs=2, batch_size=16, optimizer=optim.SGD(10.0), compile_epoch=ce, on_divergence=mode
            )
            outcomes.append((h["skipped_steps"], model.params.copy(), model.step_count))
        except FloatingPointError as exc:
            outcomes.append((str(exc), model.params.copy(), model.step_count))
    (a, p0, s0), (b, p1, s1) = outcomes
    assert a == b and s0 == s1
    np.testing.assert_array_equal(p1, p0)


class _OwnAdam(optim.Adam):
    """An optimiser with an update of its own: the compiled epoch cannot know it."""

    name = "own-adam"

    def apply(self, kern, p, g, state, t, gs=1.0):
        return super().apply(kern, p, g, state, t, gs)


@pytest.mark.parametrize(
    "options, why",
    [
        (dict(label_smoothing=0.1), "label smoothing"),
        (dict(optimizer=_OwnAdam(0.01)), "optimiser own-adam"),
        (dict(hidden="selu"), "hidden activation selu"),
        (dict(compile_epoch=False), "compile_epoch=False"),
    ],
)
def test_what_is_not_covered_runs_step_by_step_and_says_why(options, why):
    X, y, _ = _data("softmax")
    built = {k: options.pop(k) for k in ("dropout", "label_smoothing", "hidden") if k in options}
    model = MLP([5, 7, 3], seed=1, normalize=None, **built)
    model.fit(X, y, epochs=1, batch_size=16, **{"optimizer": "adam", **options})
    assert model.steps.path == f"step by step ({why})"
    assert f"training: step by step ({why})" in model.summary()


def test_a_callback_acting_after_each_step_keeps_the_step_path():
    class EachStep(Callback):
        steps = 0

        def on_step_end(self, trainer, sync):
            EachStep.steps += 1

    X, y, _ = _data("sigmoid")
    model = MLP([5, 4, 1], seed=1, normalize=None)
    model.fit(X, y, epochs=1, batch_size=16, callbacks=[EachStep()])
    assert model.steps.path == "step by step (a callback acts after each step)" and EachStep.steps > 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = MLP([5, 4, 1], seed=1, normalize=None, label_smoothing=0.1)
        model.fit(X, y, epochs=1, batch_size=16, compile_epoch=True)
    assert any("compile_epoch=True: label smoothing; this fit runs step by step" in str(w.message) for w in caught)


def test_the_default_fit_and_the_summary_name_the_compiled_path():
    X, y, _ = _data("sigmoid")
    model = MLP([5, 4, 1], seed=1)
    model.fit(X, y, epochs=2)
    assert model.steps.path == "compiled epochs (numba)"
    assert "training: compiled epochs (numba)" in model.summary()


def _epochs_at_once(monkeypatch):
    """The counts ``Trainer.run_epochs`` is called with (several epochs in one compiled call)."""
    from reseau.core import trainer

    counts, real = [], trainer.Trainer.run_epochs
    monkeypatch.setattr(trainer.Trainer, "run_epochs", lambda self, count: (counts.append(count), real(self, count))[1])
    return counts


@pytest.mark.parametrize(
    "options",
    [
        dict(schedule=optim.StepDecay(5, 0.5, per="step"), weighted=True),
        dict(schedule=optim.ExponentialDecay(0.8), dropout=0.2),
        dict(opt="rmsprop-centered-momentum"),
    ],
)
def test_epochs_run_at_once_with_the_bits_of_one_epoch_a_call(options, monkeypatch):
    """Nothing needs an epoch's end as it comes: five epochs in one call, the weights, the
    losses, the accuracy and the rates of each epoch as one call an epoch gives them."""
    from reseau.core import trainer

    counts = _epochs_at_once(monkeypatch)
    options = {"opt": "adam", **options}
    X, y, w = _data("softmax")
    fits = []
    for at_once in (True, False):
        if not at_once:
            monkeypatch.setattr(trainer.Trainer, "_at_once", lambda self: 1)
        model = MLP([5, 7, 3], hidden="tanh", seed=1, normalize=None, dropout=options.get("dropout"))
        h = model.fit(
            X, y, epochs=5, batch_size=16, optimizer=OPTIMIZERS[options["opt"]](), schedule=options.get("schedule"),
            sample_weight=w if options.get("weighted") else None,
        )  # fmt: skip
        fits.append((model.params.copy(), [h[k] for k in ("loss", "accuracy", "lr")], model.step_count, model.epoch))
    assert counts == [5]
    (p0, h0, s0, e0), (p1, h1, s1, e1) = fits
    np.testing.assert_array_equal(p0, p1)
    assert h0 == h1 and (s0, e0) == (s1, e1) == (5 * 13, 5)


def test_epochs_run_one_a_call_where_their_ends_are_needed(monkeypatch):
    """Validation, a callback of the user's, a schedule that watches the loss: one epoch a call;
    a bound on the rows of one call splits the epochs."""
    from reseau.core import trainer

    counts = _epochs_at_once(monkeypatch)
    X, y, _ = _data("sigmoid")
    for options in (
        dict(validation_split=0.2),
        dict(callbacks=[Callback()]),
        dict(schedule=optim.ReduceOnPlateau(patience=1)),
    ):
        model = MLP([5, 4, 1], seed=1, normalize=None)
        model.fit(X, y, epochs=3, batch_size=16, **options)
        assert model.steps.path == "compiled epochs (numba)" and model.epoch == 3
    assert counts == []
    monkeypatch.setattr(trainer, "AT_ONCE_ROWS", 2 * N)
    MLP([5, 4, 1], seed=1, normalize=None).fit(X, y, epochs=5, batch_size=16)
    assert counts == [2, 2]  # and the fifth epoch alone


def test_a_divergence_in_an_epoch_run_at_once_stops_where_one_at_a_time_stops(monkeypatch):
    """The rate grows a thousandfold each epoch: the second epoch diverges; the first is
    recorded, the same steps counted and the same weights kept either way."""
    from reseau.core import trainer

    counts = _epochs_at_once(monkeypatch)
    X, y, _ = _data("identity")
    outcomes = []
    for at_once in (True, False):
        if not at_once:
            monkeypatch.setattr(trainer.Trainer, "_at_once", lambda self: 1)
        model = MLP([5, 7, 2], output="identity", seed=1, normalize=None)
        with pytest.raises(FloatingPointError, match="epoch 2") as caught:
            rising = optim.ExponentialDecay(1e6)
            model.fit(X * 1e3, y, epochs=3, batch_size=16, optimizer=optim.SGD(1e-9), schedule=rising)
        outcomes.append((str(caught.value), model.params.copy(), model.step_count, model.history["loss"]))
    assert counts == [3]
    (m0, p0, s0, h0), (m1, p1, s1, h1) = outcomes
    np.testing.assert_array_equal(p0, p1)
    assert m0 == m1 and s0 == s1 and h0 == h1 and len(h0) == 1


@pytest.mark.parametrize(
    "estimator, solver",
    [("classifier", "adam"), ("classifier", "sgd"), ("binary", "sgd"), ("regressor", "adam")],
)
def test_the_estimators_train_through_the_compiled_epoch_as_through_the_step_path(estimator, solver, monkeypatch):
    """scikit-learn's objective (its α/Σw penalty, its heads) in the compiled epoch: the same
    weights as the step path to 1e-12 in float64, row weights included."""
    pytest.importorskip("sklearn", reason="scikit-learn is not installed (reseau[sklearn])")
    from reseau.core import compiled_epoch
    from reseau.sklearn import MLPClassifier, MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 6))
    y = {"classifier": rng.integers(0, 3, 150), "binary": rng.integers(0, 2, 150), "regressor": rng.normal(size=150)}
    w = rng.uniform(0.5, 2.0, 150)
    make = MLPRegressor if estimator == "regressor" else MLPClassifier
    runs = []
    for step_path in (False, True):
        if step_path:
            monkeypatch.setattr(compiled_epoch, "unavailable", lambda backend, kern: "asked for the step path")
        est = make(hidden_layer_sizes=(9,), solver=solver, batch_size=16, max_iter=4, alpha=1e-3, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the convergence warning of 4 epochs
            est.fit(X, y[estimator], sample_weight=w)
        runs.append((est, est._compiled.model.steps.path))
    (compiled, path), (stepped, step_path) = runs
    assert path == "compiled epochs (numba)" and step_path.startswith("step by step")
    for a, b in zip(compiled.coefs_ + compiled.intercepts_, stepped.coefs_ + stepped.intercepts_):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(compiled.loss_curve_, stepped.loss_curve_, rtol=1e-12)


def test_class_weights_train_the_same_compiled_as_step_by_step():
    X, y, _ = _data("softmax")
    runs = []
    for ce in (False, None):
        model = MLP([5, 7, 3], dtype="float64", seed=1, normalize=None)
        model.fit(X, y, epochs=2, batch_size=16, optimizer="adam", lr=0.01, class_weight="balanced", compile_epoch=ce)
        runs.append(model)
    assert runs[1].steps.path == "compiled epochs (numba)"
    np.testing.assert_allclose(runs[1].params, runs[0].params, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "builder, args",
    [
        ("adam", (0.9, 0.999, 1e-8, 0.01, False, False)),
        ("adam", (0.8, 0.99, 1e-7, 0.01, True, True)),
        ("momentum", (0.9, 0.1, True, 0.01)),
        ("sutskever", (0.9, True, 0.01)),
        ("sgd", (0.01,)),
        ("adagrad", (0.1, 1e-10, 0.01, False)),
    ],
)
def test_a_chunk_of_coefficients_has_the_bits_of_one_step_at_a_time(builder, args):
    """The compiled epoch builds a chunk's coefficient rows from arrays of rates and step numbers;
    each row is bit for bit the one the step path builds for its step."""
    from reseau.core import compiled_epoch
    from reseau.kernels import coefficients

    fn = getattr(coefficients, builder)
    lrs, ts = np.linspace(0.1, 0.001, 300), np.arange(1, 301)
    with_t = builder in ("adam", "momentum", "adagrad")
    if with_t:
        chunk, each = fn(lrs, ts, *args), [fn(float(lr), int(t), *args) for lr, t in zip(lrs, ts)]
    else:
        chunk, each = fn(lrs, *args), [fn(float(lr), *args) for lr in lrs]
    rows = compiled_epoch.coefficient_rows(chunk, np.float64)
    assert rows.dtype.names == coefficients.FIELDS and len(rows) == 300
    for name in coefficients.FIELDS:  # by name: the fields a builder leaves out are 0 in both
        np.testing.assert_array_equal(rows[name], [e.get(name, 0.0) for e in each])


def test_the_rows_are_put_in_order_only_when_a_batch_is_asked_for(monkeypatch):
    """Small data are reordered once an epoch for the step path (core/batches.py); a compiled epoch
    that runs every batch itself asks for none, so the copy is not made; a step-path epoch still
    gets its rows in the epoch's order."""
    from reseau.core.batches import Batches

    X, y, _ = _data("sigmoid")
    reorders = []
    made = Batches._reordered

    def counting(self, order):
        reorders.append(len(order))
        return made(self, order)

    monkeypatch.setattr(Batches, "_reordered", counting)
    runs = []
    for ce in (None, False):
        model = MLP([5, 4, 1], dtype="float64", seed=1, normalize=None)
        model.fit(X, y, epochs=2, batch_size=16, optimizer="adam", compile_epoch=ce)
        runs.append((len(reorders), model.params.copy()))
    assert runs[0][0] == 0 and runs[1][0] > 0  # compiled: no reorder; step path: one per batch call
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=0, atol=1e-12)
    batches = Batches(model.kern, X, y[:, None].astype(float), None, 16)
    order = np.random.default_rng(0).permutation(N)
    batches.start_epoch(order)
    assert list(batches(order, N)) == [] and batches.buffers is None
    first = next(iter(batches(order, 0)))
    np.testing.assert_array_equal(first[1], X[order[:16]])


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_runs_the_compiled_epoch_as_the_step_path(solver, monkeypatch):
    """partial_fit (one epoch a call, the optimiser's state carried from call to call) on the
    compiled epoch: after three calls the weights of three step-path calls, to 1e-12."""
    pytest.importorskip("sklearn", reason="scikit-learn is not installed (reseau[sklearn])")
    from reseau.core import compiled_epoch
    from reseau.sklearn import MLPClassifier

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(120, 5)), rng.integers(0, 3, 120)
    runs = []
    for step_path in (False, True):
        if step_path:
            monkeypatch.setattr(compiled_epoch, "unavailable", lambda backend, kern: "asked for the step path")
        est = MLPClassifier(hidden_layer_sizes=(7,), solver=solver, batch_size=16, random_state=0)
        for lo in (0, 40, 80):
            est.partial_fit(X[lo : lo + 40], y[lo : lo + 40], classes=[0, 1, 2])
        runs.append((est, est._compiled.model.steps.path))
    (compiled, path), (stepped, step_path) = runs
    assert path == "compiled epochs (numba)" and step_path.startswith("step by step")
    assert compiled.t_ == stepped.t_ == 120
    for a, b in zip(compiled.coefs_ + compiled.intercepts_, stepped.coefs_ + stepped.intercepts_):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_jax_runs_compiled_epochs_by_default_along_the_step_paths_trajectory():
    """On JAX the default fit loops over each epoch's full mini-batches in one compiled call (the
    short last batch on the step path): dropout, a per-step schedule and Adam give the step path's
    weights and losses to 1e-12 in float64; a callback acting after each step keeps the step path."""
    pytest.importorskip("jax", reason="JAX is not installed (pip install 'reseau[jax]')")
    X, y, _ = _data("softmax")
    runs = []
    for ce in (None, False):
        model = MLP([5, 7, 3], backend="jax", dtype="float64", seed=1, normalize=None, dropout=0.2)
        h = model.fit(
            X, y, epochs=3, batch_size=16, optimizer=optim.Adam(0.01), compile_epoch=ce,
            schedule=optim.CosineAnnealing(40, per="step"),
        )  # fmt: skip
        runs.append((model, h))
    (m1, h1), (m0, h0) = runs
    assert m1.steps.path == "compiled epochs (jax)" and m0.steps.path == "step by step (compile_epoch=False)"
    np.testing.assert_allclose(np.asarray(m1.params), np.asarray(m0.params), rtol=0, atol=1e-12)
    np.testing.assert_allclose(h1["loss"], h0["loss"], rtol=1e-12)

    class EachStep(Callback):
        def on_step_end(self, trainer, sync):
            return None

    model = MLP([5, 7, 3], backend="jax", seed=1, normalize=None)
    model.fit(X, y, epochs=1, batch_size=16, callbacks=[EachStep()])
    assert model.steps.path == "step by step (a callback acts after each step)"


def test_the_epochs_serial_loops_never_load_the_step_paths_parallel_build(tmp_path):
    """numba's disk cache keys a function by file, name and bytecode, not by its flags: the epoch's
    serial loops were once the step path's functions compiled again, so once a process had cached
    the ``parallel=True`` build, the next loaded it as the "serial" loop (a thread launch, ~1.5 µs, in
    every call of the epoch; LLVM aborting on ``allocate_sched`` where the parallel runtime had not
    started). Two fresh processes share one cache folder: the first builds the step path's Adam, the
    second the epoch's, which must be a build of its own (no cache hit), and both run."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    c = "co.records(co.adam(1e-3, 1, .9, .999, 1e-8, 0.0, False, False), np.float64)"
    args = f"np.ones(8), np.ones(8), np.zeros(8), np.zeros(8), {c}"
    for module in ("numba_kernels", "numba_epoch"):
        code = (
            f"import numpy as np; from reseau.kernels import coefficients as co, {module} as k; k.ADAM({args}); "
            "print('cache hits', sum(k.ADAM.stats.cache_hits.values()))"
        )
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        assert "cache hits 0" in run.stdout, (module, run.stdout)


def test_the_compiled_powers_have_the_bits_of_python_float_power():
    """coefficients._pow over arrays (a compiled loop) against Python's ``**`` one value at a time,
    for the bias corrections' β**t and (1 − β₂**t)**0.5 over a million steps."""
    from reseau.kernels import coefficients as co

    t = np.unique(np.concatenate([np.arange(1, 5001), np.geomspace(1, 1e6, 5000).round()]))
    for beta in (0.9, 0.999, 0.95, 0.8, 0.99):
        got = co._pow(beta, t)
        assert got.tolist() == [beta ** float(v) for v in t.tolist()]
        base = 1.0 - got
        assert co._pow(base, 0.5).tolist() == [b**0.5 for b in base.tolist()]


def test_the_epochs_views_are_the_slices_they_stand_for():
    """kernels/numba_epoch.py's views without a reference count: the same elements as NumPy's
    slices, written through to the buffer, in float32, float64 and int32."""
    from numba import njit

    from reseau.kernels import numba_epoch as ne

    @njit
    def views(buf, start, rows, cols):
        block, span = ne._block(buf, start, rows, cols), ne._span(buf, start + 1, cols)
        block[rows - 1, cols - 1] += 1
        return block.copy(), span.copy(), block.T.copy()

    for dtype in ("float32", "float64", "int32"):
        buf = np.arange(40).astype(dtype)
        want = buf[5 : 5 + 12].reshape(3, 4).copy()
        want[2, 3] += 1
        block, span, transposed = views(buf, 5, 3, 4)
        np.testing.assert_array_equal(block, want)
        np.testing.assert_array_equal(transposed, want.T)
        np.testing.assert_array_equal(span, np.arange(6, 10).astype(dtype))
        assert buf[16] == 17 and block.dtype == np.dtype(dtype)


def test_the_default_fit_resolving_l2_auto_equals_the_step_path_and_keeps_its_penalty():
    """The default fit resolves l2="auto" to 2/n before its step and its compiled epoch are made
    (both with the same regularisation): the same weights to 1e-12 as the step path over two fits,
    and not those of a fit without the penalty."""
    X, y, _ = _data("sigmoid")
    runs = []
    for ce, l2 in ((False, "auto"), (None, "auto"), (None, 0.0)):
        model = MLP([5, 7, 1], hidden="tanh", dtype="float64", seed=1, normalize=None, l2=l2)
        model.fit(X, y, epochs=2, batch_size=16, compile_epoch=ce)
        model.fit(X, y, epochs=2, batch_size=16, compile_epoch=ce)
        runs.append((model, np.asarray(model.params)))
    (stepwise, p0), (compiled, p1), (_, p2) = runs
    assert stepwise.l2 == compiled.l2 == pytest.approx(2 / N) and compiled.steps.path == "compiled epochs (numba)"
    np.testing.assert_allclose(p1, p0, rtol=1e-12, atol=1e-12)
    assert np.abs(p2 - p1).max() > 1e-6
