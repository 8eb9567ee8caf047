"""Weight initialisers; biases start at zero.

std of the normal draw (fan_in = units of layer l−1, fan_out = units of layer l):

| name | std | uniform form (name + "_uniform"): bound = √3·std |
|---|---|---|
| he (Kaiming) | √(2/fan_in) | √(6/fan_in) |
| xavier (as in the notes) | √(1/fan_in) | √(3/fan_in) |
| lecun | √(1/fan_in) | √(3/fan_in) |
| glorot (Bengio's normalised) | √(2/(fan_in + fan_out)) | √(6/(fan_in + fan_out)) |

Draws come from the host generator, in float64, so every backend and dtype starts from
the same numbers.
"""

from __future__ import annotations

import math

_GAIN = {
    "he": lambda fi, fo: 2.0 / fi,
    "xavier": lambda fi, fo: 1.0 / fi,
    "lecun": lambda fi, fo: 1.0 / fi,
    "glorot": lambda fi, fo: 2.0 / (fi + fo),
}
INITIALIZERS = tuple(_GAIN) + tuple(f"{n}_uniform" for n in _GAIN)


def check_init(init, n_layers: int) -> list[str]:
    """``init`` (a name, or one per layer) as a list of ``n_layers`` names."""
    names = [init] * n_layers if isinstance(init, str) else list(init)
    if len(names) != n_layers:
        raise ValueError(
            f"init={init!r} names {len(names)} initialisers for {n_layers} layers; give one name or one per layer"
        )
    for name in names:
        if name not in INITIALIZERS:
            raise ValueError(f"init={name!r} is not an initialiser; expected one of {', '.join(INITIALIZERS)}")
    return names


def std(name: str, fan_in: int, fan_out: int) -> float:
    """The standard deviation the initialiser ``name`` gives a (fan_in × fan_out) weight matrix."""
    return math.sqrt(_GAIN[name.removesuffix("_uniform")](fan_in, fan_out))


def draw_weight(rng, name: str, fan_in: int, fan_out: int):
    """A host float64 (fan_in, fan_out) matrix: N(0, std²), or U(−√3·std, √3·std) for *_uniform."""
    s = std(name, fan_in, fan_out)
    if name.endswith("_uniform"):
        bound = math.sqrt(3.0) * s
        return rng.uniform(-bound, bound, size=(fan_in, fan_out))
    return rng.normal(0.0, s, size=(fan_in, fan_out))
