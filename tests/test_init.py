"""Initialisers: the notes' scales, the uniform forms, zero biases, and identical starting
weights on every backend for the same seed."""

import math

import numpy as np
import pytest

from reseau import MLP
from reseau.core import initializers

STD = {  # the table of the notes / REFERENCES.md, written out again
    "he": lambda fi, fo: math.sqrt(2 / fi),
    "xavier": lambda fi, fo: math.sqrt(1 / fi),
    "lecun": lambda fi, fo: math.sqrt(1 / fi),
    "glorot": lambda fi, fo: math.sqrt(2 / (fi + fo)),
}


@pytest.mark.parametrize("name", initializers.INITIALIZERS)
def test_weight_scale_statistics(name):
    fan_in, fan_out = 400, 300
    W = MLP(
        [fan_in, fan_out], hidden=[], output="identity", init=name, backend="numpy", dtype="float64", seed=7
    ).get_weights()[0][0]
    std = STD[name.removesuffix("_uniform")](fan_in, fan_out)
    # 120 000 draws: the sample std is within 1 % of the target with overwhelming probability
    assert W.std() == pytest.approx(std, rel=0.01)
    assert abs(W.mean()) < 0.01 * std
    if name.endswith("_uniform"):
        bound = math.sqrt(3) * std
        assert W.max() <= bound and W.min() >= -bound and W.max() > 0.99 * bound
    else:  # a normal draw: about 4.6 % of entries lie beyond 2 std; a uniform draw has none
        assert np.mean(np.abs(W) > 2 * std) == pytest.approx(0.0455, abs=0.005)


def test_biases_start_at_zero():
    for W, b in MLP([5, 7, 3], init="he", backend="numpy").get_weights():
        assert not b.any()


def test_default_init_follows_the_activation():
    assert MLP([4, 8, 8, 1], hidden=["relu", "tanh"]).init == ["he", "xavier", "xavier"]
    assert MLP([4, 8, 2], hidden="selu").init == ["lecun", "xavier"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_same_weights_on_every_backend(backend, dtype):
    ref = MLP([6, 5, 4, 3], hidden="tanh", backend="numpy", dtype=dtype, seed=11).get_weights()
    got = MLP([6, 5, 4, 3], hidden="tanh", backend=backend.name, dtype=dtype, seed=11).get_weights()
    for (W0, b0), (W1, b1) in zip(ref, got):
        np.testing.assert_array_equal(W0, W1)
        np.testing.assert_array_equal(b0, b1)
        assert W1.dtype == np.dtype(dtype)


def test_different_seeds_differ():
    a = MLP([6, 5, 1], seed=1).get_weights()[0][0]
    b = MLP([6, 5, 1], seed=2).get_weights()[0][0]
    assert not np.allclose(a, b)
