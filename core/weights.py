"""Row weights: ``sample_weight`` and ``class_weight``, checked, as one weight per training row.

A weighted loss is L = Σᵢ rᵢ·ℓᵢ with r = w/Σw over the batch (w = 1: the notes' mean), so
dZ = r ⊙ (A − Y) at the output; a weight of 2 counts a row twice. ``class_weight="balanced"``
gives class c the weight n/(k·n_c) over the n training rows of k classes (scikit-learn's
``compute_class_weight``), so every class carries the same total weight; a dict gives
{label: weight}, labels it leaves out weigh 1. A row's weight is sample_weight × class weight;
validation rows are weighed by the same class weights, so that val_loss (and early stopping on it)
measures what training minimises.
"""

from __future__ import annotations

from ..backends.host import np
from .targets import label_key


def sample_weights(sample_weight, n, name="sample_weight"):
    """``sample_weight`` as n finite, non-negative float64 weights (not all zero), or None."""
    if sample_weight is None:
        return None
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} could not be read as numbers ({exc}); expected {n} non-negative weights") from None
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.shape != (n,):
        raise ValueError(f"{name}.shape == {w.shape}, expected ({n},)!")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be finite and non-negative; {name}[{i}] = {float(w[i])!r}")
    if not w.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return w


def class_weights(class_weight, labels, k, classes, name="class_weight"):
    """The weight of each of the k classes (float64, shape (k,)) for integer ``labels`` 0..k−1 of
    the training rows; ``classes`` the user's labels of the k indices (None: the indices)."""
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                f"{name}={class_weight!r} is invalid; expected None, 'balanced' or a dict {{label: weight}}"
            )
        counts = np.bincount(labels, minlength=k).astype(np.float64)
        out = np.ones(k)
        seen = counts > 0
        out[seen] = len(labels) / (np.count_nonzero(seen) * counts[seen])
        return out
    if not isinstance(class_weight, dict):
        raise ValueError(f"{name}={class_weight!r} is invalid; expected None, 'balanced' or a dict {{label: weight}}")
    names = list(range(k)) if classes is None else list(classes)
    index = {label_key(c): j for j, c in enumerate(names)}
    out = np.ones(k)
    for label, value in class_weight.items():
        j = index.get(label_key(label))
        if j is None:
            raise ValueError(
                f"{name} names the class {label!r}, which the targets do not hold; expected "
                f"labels among {', '.join(map(repr, names[:10]))}{', ...' if k > 10 else ''}"
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = float("nan")
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"{name}[{label!r}] = {value!r}; expected a finite, non-negative weight")
        out[j] = v
    return out


def row_labels(class_weight, head, Y):
    """(integer class of each row, number of classes or None) from the head's encoded targets
    ``Y`` (softmax labels, or one sigmoid 0/1 column); other targets have no class to weigh."""
    if head == "softmax":
        return np.asarray(Y, dtype=np.int64), None
    if head == "sigmoid" and Y.ndim == 2 and Y.shape[1] == 1:
        return (np.asarray(Y[:, 0]) > 0.5).astype(np.int64), 2
    if head == "sigmoid":
        raise ValueError(
            f"class_weight={class_weight!r} needs one label per row; these targets have "
            f"{Y.shape[1]} sigmoid outputs (multi-label): give sample_weight instead"
        )
    raise ValueError(
        f"class_weight={class_weight!r} needs a classifier; this model regresses "
        "(output='identity'): give sample_weight instead"
    )


def row_weights(sample_weight, class_weight, head, Y, classes, n):
    """(one float64 weight per row: sample_weight × the row's class weight, or None when neither
    is given; the weight of each class, or None without class_weight). ``Y``: the head's encoded
    targets (softmax labels, or sigmoid 0/1 columns)."""
    w = sample_weights(sample_weight, n)
    if class_weight is None:
        return w, None
    labels, k = row_labels(class_weight, head, Y)
    k = k or max(len(classes or ()), int(labels.max(initial=-1)) + 1)
    per_class = class_weights(class_weight, labels, k, classes)
    w = per_class[labels] if w is None else w * per_class[labels]
    if not w.any():
        raise ValueError(
            f"class_weight={class_weight!r} gives every training row the weight 0; expected "
            "at least one positive weight"
        )
    return w, per_class
