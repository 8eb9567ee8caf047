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
    model = MLP([4, 16, 8, 3], hidden=["tanh", "relu"], backend="cupy", dtype="float64", seed=0, dropout=0.2,
                l2=1e-3)
    h = model.fit(X, y, epochs=4, batch_size=16, optimizer=optim.Adam(0.01, amsgrad=True),
                  schedule=optim.CosineAnnealing(20, per="step"), cuda_graph=graph, **kw)
    return model, h


@needs_gpu
def test_cupy_graph_replays_equal_eager_steps():
    eager, h_eager = _run(False)
    graphed, h_graph = _run(True)
    np.testing.assert_allclose(graphed.backend.to_numpy(graphed.params), eager.backend.to_numpy(eager.params),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_graph["loss"], h_eager["loss"], rtol=1e-12)
    assert graphed.step_count == eager.step_count == 16
    assert sorted(k for k in graphed._step._graphs if not isinstance(k, tuple)) == [2, 16]  # both batch sizes


@needs_gpu
@pytest.mark.parametrize("opt", [optim.SGD(0.05, momentum=0.9), optim.Adagrad(0.1, lr_decay=0.01)])
def test_cupy_graph_step_count_on_device_drives_every_optimizer(opt):
    X, y = _data()
    results = []
    for graph in (False, True):
        model = MLP([4, 8, 3], backend="cupy", dtype="float64", seed=0)
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
        model = MLP([3, 4, 1], output="identity", hidden="relu", backend="cupy", dtype="float64", seed=0)
        with pytest.raises(TrainingDivergedError, match="loss became inf"):
            model.fit(X, y, epochs=3, batch_size=1, optimizer="adam", lr=0.01, cuda_graph=graph)
        weights.append((model.step_count, model.backend.to_numpy(model.params)))
    assert weights[0][0] == weights[1][0]
    np.testing.assert_array_equal(weights[1][1], weights[0][1])


@pytest.mark.parametrize("kwargs, message", [
    (dict(cuda_graph=1), "cuda_graph=1 is invalid; expected True, False or None"),
    (dict(cuda_graph=True), "cuda_graph=True needs the cupy backend"),
])
def test_cuda_graph_arguments_are_checked(kwargs, message):
    model = MLP([3, 4, 1], backend="numpy", seed=0)  # not the default, which is cupy on a GPU machine
    before = model.get_weights()[0][0].copy()
    with pytest.raises(ValueError, match=message):
        model.fit(np.zeros((4, 3)), [0, 1, 0, 1], **kwargs)
    np.testing.assert_array_equal(model.get_weights()[0][0], before)


@needs_gpu
def test_cupy_steps_from_graphs_by_default_and_eagerly_when_asked():
    from reseau.core.cuda_graph import GraphedStep
    X, y = _data()
    for kwargs, graphed in (({}, True), (dict(cuda_graph=False), False), (dict(cuda_graph=True), True)):
        model = MLP([4, 8, 3], backend="cupy", seed=0)
        model.fit(X, y, epochs=1, batch_size=10, **kwargs)
        assert isinstance(model._step, GraphedStep) is graphed, kwargs


def test_other_backends_step_eagerly_by_default():
    from reseau.core.cuda_graph import GraphedStep
    X, y = _data()
    model = MLP([4, 8, 3], backend="numpy", seed=0)
    model.fit(X, y, epochs=1, batch_size=10)
    assert not isinstance(model._step, GraphedStep)


def test_the_command_line_switches_graphs_on_and_off(capsys):
    from reseau.cli import main
    assert main(["train", "--backend", "numpy", "--epochs", "1", "--quiet", "--no-cuda-graph"]) == 0
    assert main(["train", "--backend", "numpy", "--epochs", "1", "--quiet", "--cuda-graph"]) == 2
    assert "cuda_graph=True needs the cupy backend" in capsys.readouterr().err
