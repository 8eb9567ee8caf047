"""Hidden-layer activations g and the facts core needs about them.

The formulas of g and g' live in ``kernels/reference.py`` (methods ``g_<name>``, ``dg_<name>``).

| name | g(z) | g'(z) |
|---|---|---|
| sigmoid | 1/(1+e^(−z)) | σ(z)(1−σ(z)) ≤ 1/4: deep stacks vanish |
| tanh | tanh z | 1 − tanh² z ≤ 1 |
| relu | max(z, 0) | 1 if z > 0 else 0 |
| leaky_relu | z if z > 0 else 0.01 z | 1 or 0.01 |
| elu | z if z > 0 else e^z − 1 | 1 or e^z |
| selu | λz if z > 0 else λα(e^z − 1) | λ or λα e^z |
| gelu | z Φ(z) | Φ(z) + z φ(z) |
| silu | z σ(z) | σ(z)(1 + z(1 − σ(z))) |
| softplus | log(1 + e^z) | σ(z) |
| identity | z | 1 |
"""

from __future__ import annotations

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "softplus", "identity")

#: the initialiser that keeps each activation's signal variance steady (used for init=None)
DEFAULT_INIT = {
    "relu": "he",
    "leaky_relu": "he",
    "elu": "he",
    "gelu": "he",
    "silu": "he",
    "selu": "lecun",
    "sigmoid": "xavier",
    "tanh": "xavier",
    "softplus": "xavier",
    "identity": "xavier",
}


def check_hidden(hidden, n_hidden: int) -> list[str]:
    """``hidden`` (a name, or one name per hidden layer) as a list of ``n_hidden`` names."""
    names = [hidden] * n_hidden if isinstance(hidden, str) else list(hidden)
    if len(names) != n_hidden:
        raise ValueError(
            f"hidden={hidden!r} names {len(names)} activations but the network has "
            f"{n_hidden} hidden layers; give one name or one per hidden layer"
        )
    for name in names:
        if name not in ACTIVATIONS:
            raise ValueError(f"hidden={name!r} is not an activation; expected one of {', '.join(ACTIVATIONS)}")
    return names
