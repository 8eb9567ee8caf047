"""Output heads: the output activation, its loss, and what the targets must look like.

Each head's output activation is the canonical link of its loss, so at the output
dZ = A − Y for all three (the notes' formula); losses are sums over outputs, means over rows.

| head | A = output(Z) | loss per row | targets y |
|---|---|---|---|
| sigmoid | σ(z) | binary cross-entropy | 0/1, shape (n,) or (n, k) |
| softmax | softmax(z) | cross-entropy | integer class labels 0..k−1, shape (n,) |
| identity | z | ½‖z − y‖² | real values, shape (n,) or (n, k) |
"""

from __future__ import annotations

from ..backends.host import np

HEADS = ("sigmoid", "softmax", "identity")


def check_output(output, n_out: int) -> str:
    """The head's name; ``None`` picks sigmoid for one output unit and softmax for more."""
    if output is None:
        return "sigmoid" if n_out == 1 else "softmax"
    if output not in HEADS:
        raise ValueError(f"output={output!r} is not an output head; expected one of {', '.join(HEADS)}")
    if output == "softmax" and n_out < 2:
        raise ValueError(
            f"output='softmax' needs at least 2 output units, the last layer size is {n_out}; "
            "use output='sigmoid' for a binary problem"
        )
    return output


def is_classifier(head: str) -> bool:
    return head != "identity"


def encode_targets(head: str, y, n_out: int, n_rows: int, dtype, name: str = "y"):
    """Check the targets ``y`` for ``head`` and return them as the head's host array:
    float (n, n_out) for sigmoid and identity, int32 labels (n,) for softmax."""
    try:
        y = np.asarray(y)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} could not be read as an array ({exc}); expected {_expected(head, n_out)}") from None
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{name} has dtype {y.dtype}; expected {_expected(head, n_out)}")
    if y.ndim == 2 and y.shape[1] == 1 and (head == "softmax" or n_out == 1):
        y = y[:, 0]
    if y.shape[:1] != (n_rows,):
        raise ValueError(
            f"{name} has {y.shape[0] if y.ndim else 0} rows but X has {n_rows}; expected one target per row of X"
        )
    want_ndim = 1 if head == "softmax" or n_out == 1 else 2
    if y.ndim != want_ndim or (want_ndim == 2 and y.shape[1] != n_out):
        raise ValueError(f"{name} has shape {y.shape}; expected {_expected(head, n_out)}")
    bad = ~np.isfinite(y) if y.dtype.kind == "f" else None
    if bad is not None and bad.any():
        i = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} contains {y[tuple(i)].item()} at index {tuple(int(j) for j in i)}; expected finite numbers"
        )
    if head == "softmax":
        return _labels(y, n_out, name)
    if head == "sigmoid":
        off = (y != 0) & (y != 1)
        if off.any():
            i = np.argwhere(off)[0]
            raise ValueError(
                f"{name} contains {y[tuple(i)].item()!r} at index {tuple(int(j) for j in i)}; "
                "a sigmoid head expects labels 0 or 1"
            )
    return np.asarray(y, dtype=dtype).reshape(n_rows, n_out)


def check_classes(Y, name: str = "y"):
    """A classifier needs examples of at least two classes (labels (n,) or one sigmoid output)."""
    if (Y.ndim == 1 or Y.shape[1] == 1) and Y.min() == Y.max():  # not np.unique: a sort of every label
        raise ValueError(
            f"{name} has a single class ({Y.flat[0].item()!r}); a classifier needs examples of at least two classes"
        )


def _labels(y, k: int, name: str):
    labels = y.astype(np.int64)
    off = (labels != y) | (labels < 0) | (labels >= k)
    if off.any():
        i = int(np.argmax(off))
        raise ValueError(
            f"{name}[{i}] = {y[i].item()!r} is not a class label of this network; "
            f"a softmax head with {k} outputs expects integers 0..{k - 1}"
        )
    return labels.astype(np.int32)


def _expected(head: str, k: int) -> str:
    if head == "softmax":
        return f"integer class labels 0..{k - 1}, shape (n,)"
    what = "labels 0 or 1" if head == "sigmoid" else "real numbers"
    return f"{what}, shape (n,)" if k == 1 else f"{what}, shape (n, {k})"


def predictions(xp, head: str, A):
    """Predicted classes from the head's output A (p ≥ 0.5; argmax), or A itself for regression."""
    if head == "sigmoid":
        P = xp.astype(A >= 0.5, xp.int32)
        return P[:, 0] if P.shape[1] == 1 else P
    if head == "softmax":
        return xp.argmax(A, axis=1)
    return A[:, 0] if A.shape[1] == 1 else A
