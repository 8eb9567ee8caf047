"""CUDA graphs on CuPy: a training run whose steps are replayed from recorded graphs equals the same
run stepped eagerly, dropout, schedules, a short last batch and the divergence guard included.
The GPU tests skip (with the reason) where no CUDA GPU is usable; the argument checks run anywhere."""

import numpy as np
import pytest
from conftest import _skip_reason

from reseau import MLP, TrainingDivergedError, optim

CUPY = _skip_reason("cupy")
needs_gpu = pytest.mark.skipif(CUPY is not None, reason=CUPY or "")


def _data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, rng.integers(0, 3, n)


def _run(graph, **kw):
    X, y = _data()
    model = MLP(
        [4, 16, 8, 3],
        hidden=["tanh", "relu"],
        backend="cupy",
        dtype="float64",
        seed=0,
        dropout=0.2,
        l2=1e-3,
        normalize=None,
    )
    h = model.fit(
        X,
        y,
        epochs=4,
        batch_size=16,
        optimizer=optim.Adam(0.01, amsgrad=True),
        schedule=optim.CosineAnnealing(20, per="step"),
        cuda_graph=graph,
        **kw,
    )
    return model, h


@needs_gpu
def test_cupy_graph_replays_equal_eager_steps():
    eager, h_eager = _run(False)
    graphed, h_graph = _run(True)
    np.testing.assert_allclose(
        graphed.backend.to_numpy(graphed.params), eager.backend.to_numpy(eager.params), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(h_graph["loss"], h_eager["loss"], rtol=1e-12)
    assert graphed.step_count == eager.step_count == 16
    assert sorted(k for k in graphed.training_step(cuda_graph=True)[0]._graphs if not isinstance(k, tuple)) == [
        2,
        16,
    ]  # both batch sizes


@needs_gpu
@pytest.mark.parametrize("opt", [optim.SGD(0.05, momentum=0.9), optim.Adagrad(0.1, lr_decay=0.01)])
def test_cupy_graph_step_count_on_device_drives_every_optimizer(opt):
    X, y = _data()
    results = []
    for graph in (False, True):
        model = MLP([4, 8, 3], backend="cupy", dtype="float64", seed=0, normalize=None)
        model.fit(X, y, epochs=3, batch_size=10, optimizer=type(opt)(**opt.hyperparameters()), cuda_graph=graph)
        results.append(model.backend.to_numpy(model.params))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12, atol=1e-14)


@needs_gpu
def test_cupy_graph_divergence_keeps_the_last_good_step():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(12, 3)), rng.normal(size=12)
    X[5] = 1e200
    weights = []
    for graph in (False, True):
        model = MLP(
            [3, 4, 1], output="identity", hidden="relu", backend="cupy", dtype="float64", seed=0, normalize=None
        )
        with pytest.raises(TrainingDivergedError, match="loss became inf"):
            model.fit(X, y, epochs=3, batch_size=1, optimizer="adam", lr=0.01, cuda_graph=graph)
        weights.append((model.step_count, model.backend.to_numpy(model.params)))
    assert weights[0][0] == weights[1][0]
    np.testing.assert_array_equal(weights[1][1], weights[0][1])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(cuda_graph=1), "cuda_graph=1 is invalid; expected True or False"),
        (dict(cuda_graph=True), "cuda_graph=True needs the cupy backend"),
    ],
)
def test_cuda_graph_arguments_are_checked(kwargs, message):
    model = MLP([3, 4, 1], backend="numpy", seed=0, normalize=None)  # not the default, which is cupy on a GPU machine
    before = model.get_weights()[0][0].copy()
    with pytest.raises(ValueError, match=message):
        model.fit(np.zeros((4, 3)), [0, 1, 0, 1], **kwargs)
    np.testing.assert_array_equal(model.get_weights()[0][0], before)


@needs_gpu
def test_cupy_steps_eagerly_unless_graphs_are_asked_for():
    from reseau.core.cuda_graph import GraphedStep

    X, y = _data()
    for kwargs, graphed in (({}, False), (dict(cuda_graph=True), True)):
        model = MLP([4, 8, 3], backend="cupy", seed=0, normalize=None)
        model.fit(X, y, epochs=1, batch_size=10, **kwargs)
        assert isinstance(model.training_step(cuda_graph=model.steps.cuda_graph)[0], GraphedStep) is graphed, kwargs


@needs_gpu
@pytest.mark.parametrize("hidden, output, k", [("relu", "softmax", 3), ("sigmoid", "sigmoid", 1)])
def test_cupy_graphs_of_two_batch_sizes_keep_apart(hidden, output, k):
    """37 rows in batches of 8: graphs for 8 and for 5 rows. Each batch size has its own memory pool:
    with one pool, buffers made while the 5-row step first ran (the softmax's row indices among
    them) could land on memory the 8-row graph had used for its temporaries and overwrites at every
    replay (seen on an H200: 20 SGD steps of a relu/softmax net off by 2e-3 from the eager run)."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(37, 5))
    y = rng.integers(0, k, 37) if output == "softmax" else rng.integers(0, 2, 37)
    runs = []
    for graph in (False, True):
        model = MLP([5, 7, k], hidden=hidden, output=output, backend="cupy", dtype="float64", seed=9, normalize=None)
        model.fit(X, y, epochs=4, batch_size=8, lr=0.05, cuda_graph=graph)
        runs.append((model.backend.to_numpy(model.params), model.history["loss"]))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(runs[1][1], runs[0][1], rtol=1e-12)


def test_other_backends_refuse_graphs_from_the_command_line(capsys):
    from reseau.cli import main

    assert main(["train", "--backend", "numpy", "--epochs", "1", "--quiet", "--cuda-graph"]) == 2
    assert "cuda_graph=True needs the cupy backend" in capsys.readouterr().err
