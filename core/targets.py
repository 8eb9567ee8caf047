"""What a target column is: classes or a quantity, and the class labels a model gives back.

The rule (``task(y)``), scikit-learn's ``type_of_target`` with a bound on the number of classes:
text, boolean and categorical targets are classes; integers, and floats whose every value is an
integer (0.0/1.0, as ``numpy.savetxt`` writes them), are classes unless they look like a quantity,
that is when there are more than ``MAX_CLASSES`` = 20 distinct values AND fewer than 20 rows per
distinct value on average (the diabetes progression score: 214 values in 442 rows); other floats
are a quantity (regression). ``task="classify"`` or ``"regress"`` (also ``"classification"``,
``"regression"``) overrides the rule.

Text labels are compared without their surrounding spaces (``"yes "`` is ``"yes"``, said in a
warning); labels that differ only in case stay separate classes, named in the same warning.
"""

from __future__ import annotations

from ..backends.host import np
from .tables import is_missing
from .tables import target as target_values

TASKS = ("classify", "regress")
ALIASES = {"classification": "classify", "regression": "regress"}
MAX_CLASSES = 20
ROWS_PER_CLASS = 20


def as_array(y, name="y"):
    """Targets from a Series, an Arrow array, a list or an array, as a host array."""
    y = target_values(y, name)
    try:
        return _stripped(np.asarray(y))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} could not be read as an array ({exc}); expected one target per row") from None


def is_label_array(y) -> bool:
    """Labels that are not numbers (text, booleans, categories): they need a class table."""
    return y.dtype.kind in "OUSb"


def task(y, override=None, name="y") -> str:
    """ "classify" or "regress" for targets ``y`` (see the module docstring)."""
    if override is not None:
        override = ALIASES.get(override, override)
        if override not in TASKS:
            raise ValueError(
                f"task={override!r} is invalid; expected None, 'classify' (or 'classification') "
                "or 'regress' (or 'regression')"
            )
        if override == "regress" and is_label_array(y):
            first = next(v for v in y.ravel() if not _is_number(v))
            raise ValueError(f"task='regress' needs numeric targets; {name} holds {first!r}")
        return override
    if is_label_array(y):
        return "classify"
    if y.dtype.kind == "f" and not (np.isfinite(y).all() and np.all(y == np.round(y))):
        return "regress"
    if y.dtype.kind in "iuf":
        k = len(np.unique(y))
        return "regress" if k > MAX_CLASSES and len(y) / k < ROWS_PER_CLASS else "classify"
    raise ValueError(f"{name} has dtype {y.dtype}; expected class labels or real numbers")


def normalise_task(value):
    """``task`` as "classify", "regress" or None (the aliases accepted)."""
    return None if value is None else task(np.zeros(0), value)


def _stripped(y):
    """Text labels without their surrounding spaces."""
    if y.dtype.kind not in "OU" or y.ndim != 1:
        return y
    return np.array([v.strip() if isinstance(v, str) else v for v in y.tolist()], dtype=object)


def warn_labels(y, name="y"):
    """One warning (at fit) naming the labels whose surrounding spaces ``as_array`` strips and the
    labels that differ only in case."""
    try:
        y = np.asarray(target_values(y, name))
    except (ValueError, TypeError):
        return
    if y.dtype.kind not in "OU" or y.ndim != 1:
        return
    stripped = _stripped(y)
    changed = sorted({repr(v) for v, s in zip(y.tolist(), stripped.tolist()) if isinstance(v, str) and v != s})
    groups = {}
    for v in set(v for v in stripped.tolist() if isinstance(v, str)):
        groups.setdefault(v.casefold(), []).append(v)
    alike = [sorted(g) for g in groups.values() if len(g) > 1]
    parts = []
    if changed:
        parts.append(
            f"stripped the spaces around {len(changed)} label{'s' * (len(changed) != 1)} "
            f"({', '.join(changed[:5])}{', ...' if len(changed) > 5 else ''})"
        )
    if alike:
        shown = "; ".join(", ".join(map(repr, g)) for g in sorted(alike)[:5])
        parts.append(
            f"labels that differ only in case are separate classes: {shown}; map them to one label "
            "first if they mean the same"
        )
    if parts:
        from .columns import warn

        warn(f"{name}: " + "; ".join(parts))


def encode(y, classes=None, name="y"):
    """(indices 0..k−1, classes): ``classes`` sorted from ``y`` when not given; a label that is
    not among given ``classes`` is an error naming it."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} has shape {y.shape}; expected one label per row, shape (n,)")
    missing = np.array([is_missing(v) for v in y], dtype=bool) if y.dtype.kind in "Of" else np.zeros(len(y), bool)
    if missing.any():
        raise ValueError(f"{name}[{int(np.flatnonzero(missing)[0])}] is missing; every row needs a label")
    if classes is None:
        try:
            values, indices = np.unique(y, return_inverse=True)
        except TypeError:
            raise ValueError(
                f"{name} mixes labels of types that cannot be ordered (e.g. strings and numbers); "
                "expected labels of one type"
            ) from None
        return indices.reshape(-1).astype(np.int64), values.tolist()
    index = {label_key(c): k for k, c in enumerate(classes)}
    out = np.empty(len(y), dtype=np.int64)
    for i, v in enumerate(y.tolist()):
        k = index.get(label_key(v))
        if k is None:
            raise ValueError(
                f"{name}[{i}] = {v!r} is not one of the model's classes "
                f"({', '.join(map(repr, classes[:10]))}{', ...' if len(classes) > 10 else ''})"
            )
        out[i] = k
    return out, classes


def decode(indices, classes):
    """Class labels for predicted indices, with the type the labels had at fit."""
    return np.asarray(classes)[np.asarray(indices, dtype=np.int64)]


def label_key(v):
    """Labels compare as their values: 1, 1.0 and numpy's 1 are one class; '1' another."""
    if isinstance(v, (bool, np.bool_)):
        return ("b", bool(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        return ("n", float(v))
    return ("s", str(v))


def _is_number(v) -> bool:
    try:
        float(v)
        return not isinstance(v, (bool, np.bool_))
    except (TypeError, ValueError):
        return False


TARGET_SCALING = ("standard", None)


class TargetScale:
    """Regression targets standardised: y' = (y − μ)/σ per target column, μ and σ fitted on the
    training targets (σ = 1 where a column is constant); the network learns y', and predictions
    come back as ŷ = z·σ + μ, in the target's own units."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(std, dtype=np.float64).reshape(-1)

    @classmethod
    def fit(cls, Y):
        Y = np.asarray(Y, dtype=np.float64).reshape(len(Y), -1)
        std = Y.std(axis=0)
        return cls(Y.mean(axis=0), np.where(std > 0, std, 1.0))

    def forward(self, Y):
        """y' = (y − μ)/σ, in Y's dtype and shape ((n,) or (n, k))."""
        Y = np.asarray(Y)
        out = (Y.reshape(len(Y), -1) - self.mean) / self.std
        return out.reshape(Y.shape).astype(Y.dtype if Y.dtype.kind == "f" else np.float64, copy=False)

    def inverse(self, Z):
        """ŷ = z·σ + μ for predictions of shape (n,) or (n, k)."""
        Z = np.asarray(Z, dtype=np.float64)
        return (Z.reshape(len(Z), -1) * self.std + self.mean).reshape(Z.shape)

    def to_json(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_json(cls, d, n_out):
        """The scale a model file describes; a ValueError names what is wrong."""
        ok = isinstance(d, dict) and all(
            isinstance(d.get(k), list)
            and len(d[k]) == n_out
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in d[k])
            for k in ("mean", "std")
        )
        if not ok or not all(v > 0 for v in d["std"]):
            raise ValueError(f"target_scale must be {{mean, std}}: {n_out} finite numbers each, std > 0")
        return cls(d["mean"], d["std"])
