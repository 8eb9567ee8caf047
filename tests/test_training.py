"""Training: batch, mini-batch and stochastic gradient descent against a plain restatement
of the notes' algorithm, agreement across backends, XOR, the pure-step contract."""

import math

import numpy as np
import pytest
from conftest import to_np

from reseau import MLP, TrainingDivergedError, optim


def _binary_data(n=50, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] * X[:, 3] > 0).astype(int)
    return X, y


def notes_training(X, y, n_hidden, lr, epochs, batch_size, seed):
    """The notes' two-layer tanh/sigmoid network and its update, written out with NumPy alone,
    drawing init and shuffles the way reseau documents it (Xavier normal from default_rng(seed),
    W1 then W2, then one permutation per epoch)."""
    rng = np.random.default_rng(seed)
    n, d = X.shape
    W1 = rng.normal(0, math.sqrt(1 / d), (d, n_hidden))
    b1 = np.zeros(n_hidden)
    W2 = rng.normal(0, math.sqrt(1 / n_hidden), (n_hidden, 1))
    b2 = np.zeros(1)
    Y = y.reshape(-1, 1).astype(float)
    bs = n if batch_size is None else batch_size
    for _ in range(epochs):
        order = rng.permutation(n) if bs < n else np.arange(n)
        for s in range(0, n, bs):
            idx = order[s : s + bs]
            A0, Yb, m = X[idx], Y[idx], len(idx)
            Z1 = A0 @ W1 + b1
            A1 = np.tanh(Z1)
            Z2 = A1 @ W2 + b2
            A2 = 1 / (1 + np.exp(-Z2))
            dZ2 = A2 - Yb
            dW2, db2 = A1.T @ dZ2 / m, dZ2.sum(0) / m
            dZ1 = (dZ2 @ W2.T) * (1 - A1**2)
            dW1, db1 = A0.T @ dZ1 / m, dZ1.sum(0) / m
            W1, b1, W2, b2 = W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2
    return [(W1, b1), (W2, b2)]


@pytest.mark.parametrize("batch_size", [None, 8, 1], ids=["batch", "minibatch", "stochastic"])
def test_gradient_descent_matches_the_notes_written_out(backend, batch_size):
    X, y = _binary_data()
    model = MLP(
        [4, 6, 1],
        hidden="tanh",
        output="sigmoid",
        init="xavier",
        backend=backend.name,
        dtype="float64",
        seed=3,
        normalize=None,
    )
    model.fit(X, y, epochs=4, batch_size=batch_size, optimizer="sgd", lr=0.3)
    expected = notes_training(X, y, 6, 0.3, 4, batch_size, seed=3)
    for (W, b), (W_ref, b_ref) in zip(model.get_weights(), expected):
        np.testing.assert_allclose(W, W_ref, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(b, b_ref, rtol=1e-12, atol=1e-14)
    steps_per_epoch = {None: 1, 8: 7, 1: 50}[batch_size]
    assert model.step_count == 4 * steps_per_epoch


@pytest.mark.parametrize(
    "hidden,output,k", [("relu", "softmax", 3), (["gelu", "tanh"], "identity", 2), ("sigmoid", "sigmoid", 1)]
)
def test_twenty_steps_agree_across_backends(backend, hidden, output, k):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(37, 5))
    y = (
        rng.integers(0, k, 37)
        if output == "softmax"
        else (rng.normal(size=(37, k)) if output == "identity" else rng.integers(0, 2, 37))
    )
    sizes = [5, 7, 6, k] if isinstance(hidden, list) else [5, 7, k]
    runs = []
    for name in ("numpy", backend.name):
        model = MLP(sizes, hidden=hidden, output=output, backend=name, dtype="float64", seed=9, normalize=None)
        model.fit(X, y, epochs=4, batch_size=8, optimizer="sgd", lr=0.05)  # 5 steps an epoch, the last one short
        assert model.step_count == 20
        runs.append((model.get_weights(), model.history["loss"]))
    (w_ref, loss_ref), (w, loss) = runs
    for (W0, b0), (W1, b1) in zip(w_ref, w):
        np.testing.assert_allclose(W1, W0, rtol=0, atol=1e-10)
        np.testing.assert_allclose(b1, b0, rtol=0, atol=1e-10)
    np.testing.assert_allclose(loss, loss_ref, rtol=1e-10)


def test_two_layer_net_learns_xor(backend):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    model = MLP([2, 4, 1], hidden="tanh", output="sigmoid", init="xavier", backend=backend.name, seed=0, normalize=None)
    history = model.fit(X, y, epochs=2000, batch_size=None, optimizer="sgd", lr=1.0)
    np.testing.assert_array_equal(model.predict(X), y)
    assert history["accuracy"][-1] == 1.0
    assert history["loss"][-1] < 0.05 < history["loss"][0]


def test_learns_the_bundled_breast_cancer_data(backend):
    from reseau import MinMaxScaler, datasets

    data = datasets.load("breast_cancer")
    Xtr, Xte, ytr, yte = datasets.train_test_split(data.X, data.y, 0.2, seed=0)
    scaler = MinMaxScaler().fit(Xtr)
    model = MLP(
        [30, 16, 1], hidden="tanh", output="sigmoid", init="xavier", backend=backend.name, seed=0, normalize=None
    )
    model.fit(scaler.transform(Xtr), ytr, epochs=30, batch_size=32, optimizer="sgd", lr=0.1)
    assert model.evaluate(scaler.transform(Xte), yte)["accuracy"] >= 0.95


def test_history_records_every_epoch_and_validation():
    X, y = _binary_data()
    model = MLP([4, 5, 1], hidden="tanh", seed=0, normalize=None)
    h = model.fit(X, y, epochs=3, batch_size=16, optimizer="sgd", lr=0.1, validation_data=(X[:10], y[:10]))
    assert h["epoch"] == [1, 2, 3]
    assert set(h) >= {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"}
    assert all(len(v) == 3 for v in h.values())
    assert h["lr"] == [pytest.approx(0.1)] * 3
    assert h["val_loss"][-1] == pytest.approx(model.evaluate(X[:10], y[:10])["loss"])
    h2 = model.fit(X, y, epochs=2)  # continues with the same optimiser and state, batches of 32
    assert h2["epoch"] == [4, 5] and model.step_count == 3 * 4 + 2 * 2  # each fit: the History of that call
    assert model.history["epoch"] == [1, 2, 3, 4, 5] and model.history["loss"][:3] == h["loss"]


def test_predict_and_predict_proba_shapes():
    X, y = _binary_data()
    binary = MLP([4, 5, 1], seed=0, normalize=None)
    p = binary.predict_proba(X)
    assert p.shape == (50,) and ((p > 0) & (p < 1)).all()
    np.testing.assert_array_equal(binary.predict(X), (p >= 0.5).astype(int))
    multi = MLP([4, 5, 3], seed=0, normalize=None)
    P = multi.predict_proba(X)
    assert P.shape == (50, 3)
    np.testing.assert_allclose(P.sum(1), 1, rtol=1e-6)
    np.testing.assert_array_equal(multi.predict(X), P.argmax(1))
    reg = MLP([4, 5, 2], output="identity", seed=0, normalize=None)
    assert reg.predict(X).shape == (50, 2)
    assert set(reg.evaluate(X, np.zeros((50, 2)))) == {"loss", "mse", "rmse", "r2"}
    with pytest.raises(ValueError, match="predict_proba needs a classifier"):
        reg.predict_proba(X)


def test_evaluation_in_chunks_equals_one_pass(monkeypatch):
    X, y = _binary_data(n=101)
    model = MLP([4, 5, 1], dtype="float64", seed=0, normalize=None)
    whole = model.evaluate(X, y)
    proba = model.predict_proba(X)
    monkeypatch.setattr(model.forward.inference, "rows", 7)  # 7-row chunks
    assert model.evaluate(X, y) == pytest.approx(whole, rel=1e-14)
    np.testing.assert_allclose(model.predict_proba(X), proba, rtol=1e-14)


def test_divergence_stops_with_advice_and_keeps_good_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3)) * 1e3
    y = rng.normal(size=20) * 1e3
    model = MLP([3, 8, 1], hidden="relu", output="identity", seed=0, normalize=None)
    with pytest.raises(TrainingDivergedError, match="epoch .*lower learning rate"):
        model.fit(X, y, epochs=50, batch_size=None, optimizer="sgd", lr=10.0)
    assert all(np.isfinite(W).all() and np.isfinite(b).all() for W, b in model.get_weights())


def test_numpy_weights_are_views_of_the_flat_buffer():
    model = MLP([3, 4, 2], seed=0, normalize=None)
    layers = model.layout.unflatten(model.kern.xp, model.params)
    layers[1][0][0, 0] = 123.0
    assert model.params[model.layout.slices[1][0][0]] == 123.0
    assert model.layout.size == 3 * 4 + 4 + 4 * 2 + 2 == model.params.shape[0]


@pytest.mark.parametrize("donate", ["1", "0"])
def test_jax_step_is_jitted_with_params_and_state_donated(monkeypatch, donate):
    """Donated by default; RESEAU_JAX_DONATE=0 keeps the inputs."""
    pytest.importorskip("jax", reason="JAX is not installed")
    monkeypatch.setenv("RESEAU_JAX_DONATE", donate)
    model = MLP([4, 3, 1], backend="jax", seed=0, normalize=None)
    X, y = _binary_data(n=8)
    model.fit(X, y, epochs=1, batch_size=None)
    step, params, state = model.training_step()
    assert hasattr(step, "lower")  # a jax.jit-compiled function
    xb = model.backend.asarray(X, dtype=model.dtype)
    yb = model.backend.asarray(model.encode_targets(y))
    new_params, new_state, loss = step(params, state, xb, yb, 1)
    assert params.is_deleted() == state.lr.is_deleted() == (donate == "1")
    assert np.isfinite(to_np(model.backend, loss))


def test_jax_donates_by_default(monkeypatch):
    pytest.importorskip("jax", reason="JAX is not installed")
    from reseau import backends

    monkeypatch.delenv("RESEAU_JAX_DONATE", raising=False)
    assert backends.get("jax").donates()


@pytest.mark.parametrize("batch_size,n", [(8, 37), (10, 30), (None, 25)])
def test_compiled_epoch_equals_step_by_step(batch_size, n):
    pytest.importorskip("jax", reason="JAX is not installed")
    from reseau import optim

    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(n, 5)), rng.integers(0, 3, n)
    runs = []
    for compiled in (False, True):
        model = MLP([5, 7, 3], hidden="tanh", backend="jax", dtype="float64", seed=2, normalize=None)
        h = model.fit(
            X,
            y,
            epochs=4,
            batch_size=batch_size,
            optimizer=optim.Adam(0.01),
            schedule=optim.ExponentialDecay(0.9, per="step"),
            compile_epoch=compiled,
        )
        runs.append((model.get_weights(), h["loss"], h["lr"], model.step_count))
    (w0, l0, lr0, s0), (w1, l1, lr1, s1) = runs
    assert s0 == s1 and lr1 == pytest.approx(lr0, rel=1e-12)
    np.testing.assert_allclose(l1, l0, rtol=1e-10)
    for (A, a), (B, b) in zip(w0, w1):
        np.testing.assert_allclose(B, A, rtol=0, atol=1e-10)
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-10)


def test_compile_epoch_needs_jax_or_numba():
    with pytest.raises(ValueError, match="compile_epoch=True needs the jax backend, or numpy with numba"):
        MLP([2, 1], backend="numpy", kernels="numpy", normalize=None).fit(
            np.zeros((4, 2)), [0, 1, 0, 1], compile_epoch=True
        )
    with pytest.raises(ValueError, match="compile_epoch='yes' is invalid"):
        MLP([2, 1], normalize=None).fit(np.zeros((4, 2)), [0, 1, 0, 1], compile_epoch="yes")


@pytest.mark.parametrize("name", ["numpy", "jax"])
def test_an_interrupted_fit_leaves_the_model_at_its_last_completed_step(name, monkeypatch):
    """Ctrl-C in the middle of an epoch: on JAX the step donates its inputs, so the model must be
    handed the arrays of the last completed step, usable and consistent with step_count."""
    pytest.importorskip(name, reason=f"{name} is not installed")
    X, y = _binary_data(40)
    model = MLP([4, 6, 1], backend=name, dtype="float64", seed=0, normalize=None)
    calls = {"n": 0}
    gather = model.kern.gather

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2 * 3 + 1:  # X and y of three steps, then the fourth step's X
            raise KeyboardInterrupt
        return gather(*args, **kwargs)

    monkeypatch.setattr(model.kern, "gather", interrupted)
    from reseau.core.batches import Batches

    monkeypatch.setattr(Batches, "REORDER_BYTES", 0)  # gather every batch (NumPy reorders small data per epoch)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, epochs=2, batch_size=8, optimizer="adam", lr=0.01, compile_epoch=False)  # step by step
    assert model.step_count == 3 and model.epoch == 0
    monkeypatch.setattr(model.kern, "gather", gather)
    again = MLP([4, 6, 1], backend=name, dtype="float64", seed=0, normalize=None)
    step, p, s = again.training_step(model.optimizer)
    bk = again.backend
    order = np.random.default_rng(0)  # the same stream the model drew its first epoch's order from
    order.bit_generator.state = MLP([4, 6, 1], dtype="float64", seed=0, normalize=None).rng.bit_generator.state
    perm = order.permutation(40)
    for t in range(3):
        idx = perm[8 * t : 8 * t + 8]
        p, s, _ = step(p, s, bk.asarray(X[idx], dtype=again.dtype), bk.asarray(again.encode_targets(y[idx])), t)
    np.testing.assert_allclose(to_np(bk, model.params), to_np(bk, p), rtol=1e-12, atol=1e-14)
    assert np.isfinite(model.predict_proba(X)).all()


@pytest.mark.parametrize("name", ["numpy", "jax"])
def test_interrupts_at_random_moments_leave_a_usable_model(name):
    """SIGALRM raising KeyboardInterrupt at 20 random moments of fits: each time the model predicts
    (finite, the counters consistent) and trains again."""
    pytest.importorskip(name, reason=f"{name} is not installed")
    import signal

    X, y = _binary_data(200)
    model = MLP([4, 16, 1], backend=name, dtype="float64", seed=0)
    model.fit(X, y, epochs=1, batch_size=8, optimizer="adam", lr=0.01)  # compiled before the clock starts

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    g = np.random.default_rng(0)
    interrupted = 0
    try:
        for _ in range(20):
            steps = model.step_count
            signal.setitimer(signal.ITIMER_REAL, float(g.uniform(0.0002, 0.01)))
            try:
                model.fit(X, y, epochs=400, batch_size=8, optimizer="adam", lr=0.01)  # longer than 10 ms compiled
            except KeyboardInterrupt:
                interrupted += 1
            except SystemError as exc:  # the interrupt landed inside a C call (NumPy's dtype lookup)
                assert isinstance(exc.__context__, KeyboardInterrupt), exc
                interrupted += 1
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            assert steps <= model.step_count <= steps + 400 * 25
            assert np.isfinite(model.predict_proba(X)).all()
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert interrupted >= 15  # the rest fired where no fit ran (a timer is not exact)
    before = model.step_count
    model.fit(X, y, epochs=1, batch_size=8)
    assert model.step_count == before + 25 and np.isfinite(model.evaluate(X, y)["loss"])


def test_jax_compiles_the_step_once_for_new_rates_and_new_optimisers_of_a_kind():
    """What changes the program (the optimiser's kind and options, shapes, head) compiles; a new
    learning rate or a new optimiser object of the same kind does not (counted by JAX's own
    compile events)."""
    pytest.importorskip("jax", reason="JAX is not installed (pip install 'reseau[jax]')")
    import jax.monitoring

    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, seconds, **kw: compiles.append(event) if "backend_compile" in event else None
    )
    X, y = _binary_data(64)
    model = MLP([4, 6, 1], backend="jax", seed=0, normalize=None)
    model.fit(X, y, epochs=1, batch_size=16, optimizer="sgd", lr=0.1)
    model.fit(X, y, epochs=1, batch_size=16, optimizer="adam")
    before = len(compiles)
    model.fit(X, y, epochs=1, batch_size=16, optimizer="sgd", lr=0.05)
    model.fit(X, y, epochs=1, batch_size=16, optimizer=optim.SGD(0.2))
    model.fit(X, y, epochs=1, batch_size=16, optimizer="adam", lr=0.01)
    assert len(compiles) == before
    model.fit(X, y, epochs=1, batch_size=16, optimizer=optim.SGD(0.2, momentum=0.9))  # another program
    assert len(compiles) > before
