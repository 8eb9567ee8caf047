"""The column plan, one part of the input contract (core/contract.py): fitted per column on the
training part, saved with the model.

For each input column, in the order of the training data:

| column | at fit | at predict |
|---|---|---|
| numbers | median m (for imputation), offset and scale (min-max, standard or robust) | missing → m, then x' = (x − offset)/scale (robust: then z/√(1 + (z/3)²)) |
| text, categories, booleans | the categories seen, the most frequent one | one-hot over the seen categories; missing → the most frequent; unseen → all zeros (``handle_unknown="ignore"``) or an error |

``impute=None`` refuses missing cells instead. Min-max is the notes' x' = (x − min)/(max − min);
a column whose spread is 0 maps to 0. Robust scaling (RealMLP's): offset the median, scale
IQR/1.349 (the standard deviation, for normal data), then the smooth clip z/√(1 + (z/3)²), so
an outlier cannot dominate a unit. Columns of a table are matched by name, columns of a plain
array by position.
"""

from __future__ import annotations

import math
import warnings

from ..backends.host import np
from . import validation
from .messages import listed, short
from .tables import Table, Unsupported, to_table

NORMALIZE = (None, "minmax", "standard", "robust")
#: the smooth clip of robust scaling: z/√(1 + (z/c)²) keeps |z| ≪ c and bounds the tails by c
SMOOTH_CLIP = 3.0
#: the interquartile range of the standard normal distribution (robust scale = IQR / this)
NORMAL_IQR = 1.3489795003921634
IMPUTE = ("median", None)
HANDLE_UNKNOWN = ("ignore", "error")


class DataWarning(UserWarning):
    """Something reseau did to the data that the caller should know: cells imputed, unseen
    categories, extra columns ignored."""


def warn(message):
    """A DataWarning attributed to the caller's line, outside reseau."""
    import sys

    frame, level = sys._getframe(1), 2
    while frame is not None and str(frame.f_globals.get("__name__", "")).split(".")[0] == "reseau":
        frame, level = frame.f_back, level + 1
    warnings.warn(message, DataWarning, stacklevel=level)


def check_option(value, name, allowed):
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise ValueError(f"{name}={value!r} is invalid; expected {shown}")
    return value


class CategoryIndex:
    """Where each cell sits in a column's list of categories (its one-hot position), by binary
    search over the categories in sorted order: 8 bytes a category (pointers to the strings the
    list holds) instead of a hash table of them, and nothing rebuilt per call; -1 for a cell that
    is not a category."""

    def __init__(self, categories):
        self.values = np.empty(len(categories), dtype=object)
        self.values[:] = categories
        ascending = len(categories) < 2 or bool(np.all(self.values[1:] > self.values[:-1]))
        self.order = None if ascending else np.argsort(self.values, kind="stable")  # a file's own order
        if self.order is not None:
            self.values = self.values[self.order]

    def positions(self, cells) -> np.ndarray:
        cells = np.asarray(cells, dtype=object).reshape(-1)
        at = np.minimum(np.searchsorted(self.values, cells), len(self.values) - 1)
        found = self.values[at] == cells
        index = at if self.order is None else self.order[at]
        return np.where(found, index, -1).astype(np.int64)


class ColumnPlan:
    """Preprocessing per column (see the module docstring): ``fit(X)`` on the training part,
    ``transform(X)`` → the network's float64 input matrix, the same on every backend."""

    def __init__(self, normalize="minmax", impute="median", handle_unknown="ignore"):
        self.normalize = check_option(normalize, "normalize", NORMALIZE)
        self.impute = check_option(impute, "impute", IMPUTE)
        self.handle_unknown = check_option(handle_unknown, "handle_unknown", HANDLE_UNKNOWN)
        self.names, self.ignored = None, []

    # ---- fit ----------------------------------------------------------------------------------

    def fit(self, X, name="X"):
        t = X if isinstance(X, Table) else to_table(X, name)
        if t.matrix is not None:
            A = _numeric_matrix(t.matrix, name)
            cols = [A[:, j] for j in range(A.shape[1])]
        else:
            cols = [
                _numeric_or_text(t.cols[j], name, t.names[j], False if t.names[j] in t.categorical else None)
                for j in range(len(t.names))
            ]
        names, kinds, fill, cats, offset, scale = list(t.names), [], [], [], [], []
        ignored = []
        for j, col in enumerate(cols):
            if _identifier_like(col, t.names[j] in t.categorical):
                ignored.append([j, t.names[j]])
                continue
            missing = _missing_mask(col)
            if missing.all():
                raise ValueError(f"{name} column {names[j]!r} has no values (every cell is missing); drop it")
            if missing.any() and self.impute is None:
                _refuse_missing(name, names[j], int(np.flatnonzero(missing)[0]))
            if col.dtype.kind == "f":
                _check_finite(col, missing, name, names[j])
                present = col[~missing]
                kinds.append("number")
                cats.append(None)
                fill.append(float(np.median(present)))
                low, spread = _statistics(self.normalize, present)
                offset.append(low)
                scale.append(spread if spread > 0 else 1.0)
            else:
                values, counts = np.unique(col[~missing].astype(str), return_counts=True)
                kinds.append("category")
                cats.append([str(v) for v in values])
                fill.append(str(values[int(np.argmax(counts))]))
                offset.append(0.0)
                scale.append(1.0)
        if ignored:
            left = [n for _, n in ignored]
            if len(left) == len(names):
                raise ValueError(
                    f"{name}: every column is text with a distinct value on nearly every row "
                    f"({listed(left)}), like names or ids; expected at least one column of numbers, "
                    "categories or booleans"
                )
            warn(
                f"{'' if name == 'X' else name + ': '}left out column{'s' * (len(left) > 1)} {listed(left)}: "
                "text with a distinct value on "
                f"nearly every row (more than {MAX_DISTINCT} distinct values, on at least {DISTINCT_SHARE:.0%} of "
                "the rows), like a name or an id, which one-hot encoding cannot generalise from"
            )
            names = [n for n in names if n not in set(left)]
        _check_width(name, names, cats, t.n_rows)
        self.names, self.kinds, self.fill, self.categories = names, kinds, fill, cats
        self.offset, self.scale = np.array(offset, dtype=np.float64), np.array(scale, dtype=np.float64)
        self.named, self.ignored = t.named, ignored
        return self

    @property
    def width(self) -> int:
        """Columns of the matrix the network sees: one per number, one per category."""
        return sum(1 if c is None else len(c) for c in self.categories)

    @property
    def all_numeric(self) -> bool:
        return all(k == "number" for k in self.kinds)

    # ---- transform ----------------------------------------------------------------------------

    def transform(self, X, name="X", training=False, order="C"):
        """The float64 (n, width) input matrix of ``X``; warns (DataWarning) once for what it ignored
        or did not recognise, and, for the ``training`` rows only, what it imputed (the same filling
        of validation, test and new rows is what the model was trained to do: no note each time).
        ``order="F"`` allows a column-major matrix (a table's columns are written as they come, not
        transposed: prediction reads it through BLAS either way; training gathers rows, so C)."""
        if self.names is None:
            raise ValueError("this plan is not fitted yet; fit the model on training data first")
        t = X if isinstance(X, Table) else to_table(X, name)
        order = self._match(t, name)
        notes = []
        if t.matrix is not None and self.all_numeric:
            out = self._numbers(_numeric_matrix(t.matrix, name, self.names), name, notes)
        else:  # column by column into a Fortran-order matrix (each write contiguous), made C-order at the end
            out = np.zeros((t.n_rows, self.width), dtype=np.float64, order="F")
            pos = 0
            for j, src in enumerate(order):
                col = _numeric_or_text(t.column(src), name, self.names[j], self.kinds[j] == "number")
                if self.kinds[j] == "number":
                    out[:, pos] = self._numbers(col[:, None], name, notes, j)[:, 0]
                    pos += 1
                else:
                    self._one_hot(col, j, out[:, pos : pos + len(self.categories[j])], name, notes)
                    pos += len(self.categories[j])
            out = np.ascontiguousarray(out) if order == "C" else out  # 1 M × 64: 0.25 s, a row-order write 1.3 s
        said = _summarise([n for n in notes if training or n[0] != "imputed"])
        if said:
            warn("; ".join(said))
        return out

    def _match(self, t: Table, name):
        """The source column of each planned column: by name for tables fitted on tables, else by
        position with the width checked."""
        width = len(t.names) if t.matrix is None else (t.matrix.shape[1] if t.matrix.ndim == 2 else None)
        ignored = getattr(self, "ignored", [])
        if not (t.named and self.named):
            expected = len(self.names) + len(ignored)
            if width is not None and width != expected:
                raise ValueError(
                    f"{name} has {width} features (columns) but the model's input has "
                    f"{expected} ({listed(self.names, quote=False)}); expected the same columns "
                    "in the same order"
                )
            skipped = {j for j, _ in ignored}
            return [j for j in range(expected) if j not in skipped]
        index = {n: j for j, n in enumerate(t.names)}
        absent = [n for n in self.names if n not in index]
        if absent:
            raise ValueError(
                f"{name} has no column {short(absent[0])!r}"
                + (f" (nor {listed(absent[1:])})" if len(absent) > 1 else "")
                + f"; the model was fitted on columns "
                f"{listed(self.names, quote=False)}"
            )
        extra = [n for n in t.names if n not in set(self.names) | {n for _, n in ignored}]
        if extra:
            warn(
                f"{name}: ignoring column{'s' if len(extra) > 1 else ''} {listed(extra)}, "
                "which the model was not fitted on"
            )
        return [index[n] for n in self.names]

    def _numbers(self, A, name, notes, first=0):
        """Numeric columns first..first+k: missing cells imputed (or refused), then scaled."""
        missing = None if validation.all_finite(A) else np.isnan(A)
        if missing is not None and missing.any():
            if self.impute is None:
                i, j = (int(v) for v in np.argwhere(missing)[0])
                _refuse_missing(name, self.names[first + j], i)
            A = A.astype(np.float64)
            rows, cols = np.nonzero(missing)
            A[rows, cols] = np.asarray(self.fill[first : first + A.shape[1]], dtype=np.float64)[cols]
            notes.append(("imputed", int(missing.sum()), {self.names[first + c] for c in cols.tolist()}))
        k = A.shape[1]
        if self.normalize is None:
            return A
        Z = (A - self.offset[first : first + k]) / self.scale[first : first + k]
        return smooth_clip(Z) if self.normalize == "robust" else Z

    def _one_hot(self, col, j, out, name, notes):
        missing = _missing_mask(col)
        if missing.any():
            if self.impute is None:
                _refuse_missing(name, self.names[j], int(np.flatnonzero(missing)[0]))
            notes.append(("imputed", int(missing.sum()), {self.names[j]}))
        cells = [self.fill[j] if m else _as_category(v) for v, m in zip(col, missing)]
        index = self._category_index(j).positions(cells)
        unknown = index < 0
        if unknown.any():
            first = cells[int(np.flatnonzero(unknown)[0])]
            if self.handle_unknown == "error":
                raise ValueError(
                    f"{name} column {self.names[j]!r}, row {int(np.flatnonzero(unknown)[0])}: "
                    f"category {first!r} was not seen in training; expected one of "
                    f"{listed(self.categories[j])} (or handle_unknown='ignore')"
                )
            notes.append(("unseen", int(unknown.sum()), {self.names[j]}))
        rows = np.flatnonzero(~unknown)
        out[rows, index[rows]] = 1.0

    def _category_index(self, j) -> CategoryIndex:
        """Column ``j``'s categories, searchable; made once per list of categories and kept beside
        the plan (not pickled: ``__getstate__``)."""
        cache = self.__dict__.setdefault("_indexes", {})
        if j not in cache or cache[j][0] is not self.categories[j]:
            cache[j] = (self.categories[j], CategoryIndex(self.categories[j]))
        return cache[j][1]

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_indexes", None)  # derived from the categories, rebuilt on use
        return state

    # ---- description --------------------------------------------------------------------------

    def describe(self) -> str:
        """One line per kind of column, for ``summary()``."""
        numbers = [n for n, k in zip(self.names, self.kinds) if k == "number"]
        cats = [(n, c) for n, k, c in zip(self.names, self.kinds, self.categories) if k == "category"]
        parts = [f"{len(self.names)} input columns -> {self.width} features"]
        if numbers:
            scaled = {
                "minmax": "scaled min-max",
                "standard": "standardised",
                None: "unscaled",
                "robust": "robust-scaled and smooth-clipped",
            }[self.normalize]
            parts.append(f"{len(numbers)} numeric, {scaled}")
        if cats:
            parts.append(
                f"{len(cats)} one-hot ("
                + ", ".join(f"{n}: {len(c)}" for n, c in cats[:6])
                + (", ..." if len(cats) > 6 else "")
                + ")"
            )
        parts.append(
            "missing cells refused" if self.impute is None else "missing cells imputed (median / most frequent)"
        )
        return "; ".join(parts)

    def to_json(self) -> dict:
        d = {
            "names": self.names,
            "kinds": self.kinds,
            "fill": self.fill,
            "categories": self.categories,
            "offset": self.offset.tolist(),
            "scale": self.scale.tolist(),
            "normalize": self.normalize,
            "impute": self.impute,
            "handle_unknown": self.handle_unknown,
            "named": self.named,
        }
        if getattr(self, "ignored", None):
            d["ignored"] = self.ignored
        return d

    @classmethod
    def from_json(cls, d: dict):
        """The plan a model file describes; a ValueError names the field that is wrong."""
        if not isinstance(d, dict):
            raise ValueError(f"preprocessing is a {type(d).__name__}; expected an object")
        plan = cls(d.get("normalize"), d.get("impute"), d.get("handle_unknown", "ignore"))
        names, kinds, fill, cats = (d.get(k) for k in ("names", "kinds", "fill", "categories"))
        n = len(names) if isinstance(names, list) else -1
        for key, value in (
            ("names", names),
            ("kinds", kinds),
            ("fill", fill),
            ("categories", cats),
            ("offset", d.get("offset")),
            ("scale", d.get("scale")),
        ):
            if not isinstance(value, list) or len(value) != n or n < 1:
                raise ValueError(f"preprocessing.{key} must be a list with one entry per input column")
        if not all(isinstance(v, str) for v in names) or any(k not in ("number", "category") for k in kinds):
            raise ValueError("preprocessing.names must be strings and preprocessing.kinds 'number' or 'category'")
        for k, c in zip(kinds, cats):
            if (k == "number") != (c is None) or (
                c is not None and (not isinstance(c, list) or not c or not all(isinstance(s, str) for s in c))
            ):
                raise ValueError(
                    "preprocessing.categories must be null for numbers and a list of strings for categories"
                )
        for f, k in zip(fill, kinds):
            ok = (
                f is None or (isinstance(f, (int, float)) and not isinstance(f, bool) and _finite(f))
                if k == "number"
                else isinstance(f, str)
            )
            if not ok:
                raise ValueError(
                    f"preprocessing.fill must hold a finite number (or null) per number column and a "
                    f"string per category column; got {f!r:.40}"
                )
        try:
            plan.offset = np.asarray(d["offset"], dtype=np.float64)
            plan.scale = np.asarray(d["scale"], dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise ValueError("preprocessing.offset and preprocessing.scale must be numbers") from None
        if not (np.isfinite(plan.offset).all() and np.isfinite(plan.scale).all() and (plan.scale > 0).all()):
            raise ValueError("preprocessing.offset must be finite and preprocessing.scale finite and > 0")
        with np.errstate(over="ignore", divide="ignore"):
            within = np.isfinite(np.concatenate([plan.offset / plan.scale, 1 / plan.scale]).astype(np.float32))
        if not within.all():
            raise ValueError(
                "preprocessing.offset / scale and 1 / scale must be within float32's range (a plan "
                "fitted on real data is)"
            )
        plan.names, plan.kinds, plan.categories, plan.named = names, kinds, cats, bool(d.get("named"))
        plan.ignored = _ignored_from_json(d.get("ignored", []), n)
        plan.fill = [float(f) if k == "number" and f is not None else f for f, k in zip(fill, kinds)]
        return plan

    @classmethod
    def from_scaler(cls, kind, offset, scale):
        """The plan of a model file written before plans existed (numbers only, no imputation)."""
        plan = cls(kind, None)
        n = len(offset)
        plan.names, plan.kinds, plan.fill = [f"x{j}" for j in range(n)], ["number"] * n, [None] * n
        plan.categories, plan.named, plan.ignored = [None] * n, False, []
        plan.offset, plan.scale = np.asarray(offset, np.float64), np.asarray(scale, np.float64)
        return plan


# ---- helpers ----------------------------------------------------------------------------------

MAX_DISTINCT = 20  # a text column with more distinct values than this ...
DISTINCT_SHARE = 0.5  # ... and at least this many per present cell is an identifier, left out
MEMORY_SHARE = 0.5  # the encoded matrix may take at most this share of the available memory


def _identifier_like(col, categorical) -> bool:
    """A text column (not a declared category) with more than MAX_DISTINCT distinct values and at
    least DISTINCT_SHARE of a distinct value per present cell: names, ids, free text."""
    if categorical or isinstance(col, Unsupported) or col.dtype.kind != "O":
        return False
    present = [v for v in col if v is not None]
    distinct = len(set(present))
    return distinct > MAX_DISTINCT and distinct >= DISTINCT_SHARE * len(present)


def _check_width(name, names, cats, n_rows):
    """Refuse, before allocating, an encoded matrix beyond MEMORY_SHARE of the available memory."""
    from .memory import available_bytes, gib

    width = sum(1 if c is None else len(c) for c in cats)
    need = n_rows * width * 8 * 2  # the float64 matrix and the model's copy of it
    have = available_bytes()
    if have is None or need <= MEMORY_SHARE * have:
        return
    widest = max(range(len(cats)), key=lambda j: 0 if cats[j] is None else len(cats[j]))
    raise ValueError(
        f"{name}: one-hot encoding makes {width} input features; {n_rows} rows of them need "
        f"{gib(need)}, more than half the {gib(have)} of memory available; column "
        f"{short(names[widest])!r} alone has {len(cats[widest] or ())} categories: drop it "
        f"(drop=[...] / --drop {short(names[widest])}) or group its values"
    )


def _ignored_from_json(value, n):
    ok = isinstance(value, list) and all(
        isinstance(p, list)
        and len(p) == 2
        and isinstance(p[0], int)
        and not isinstance(p[0], bool)
        and 0 <= p[0] <= n + len(value)
        and isinstance(p[1], str)
        for p in value
    )
    if not ok:
        raise ValueError("preprocessing.ignored must be a list of [position, name] pairs")
    return value


def smooth_clip(Z):
    """z/√(1 + (z/c)²), c = SMOOTH_CLIP: ≈ z for small z, → ±c for outliers (robust scaling's last step)."""
    return Z / np.sqrt(1.0 + (Z / SMOOTH_CLIP) ** 2)


def _statistics(normalize, x):
    """(offset, scale) of a numeric column for ``normalize`` (a scale of 0 becomes 1 later)."""
    if normalize == "robust":  # median and IQR/1.349; a column of constant quartiles: half its range
        q1, median, q3 = (float(v) for v in np.percentile(x, [25, 50, 75]))
        spread = (q3 - q1) / NORMAL_IQR
        return median, spread if spread > 0 else 0.5 * (float(x.max()) - float(x.min()))
    if normalize == "standard":
        return float(x.mean()), float(x.std())
    if normalize == "minmax":
        low = float(x.min())
        return low, float(x.max()) - low
    return 0.0, 1.0


def _numeric_matrix(A, name, names=None):
    """A plain array as a float (n, d) array (float32 and float64 kept, else float64; no copy when
    it already is one), NaN kept (missing), ±inf refused."""
    return validation.features(A, None if names is None else len(names), float_dtype(A), name, allow_nan=True)


def float_dtype(A):
    """A's dtype when it is float32 or float64, else float64."""
    kind = getattr(getattr(A, "dtype", None), "name", None)
    return kind if kind in ("float32", "float64") else "float64"


def _finite(v) -> bool:
    """A number float64 holds finitely (an int past its range, 10**400, is not; NumPy's isfinite
    raised a TypeError on ints past int64)."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _missing_mask(col):
    if col.dtype.kind == "f":
        return np.isnan(col)
    return np.array([v is None for v in col], dtype=bool)


def _check_finite(col, missing, name, column):
    bad = ~np.isfinite(col) & ~missing
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} column {column!r}, row {i}: {col[i]} is not a finite number; expected finite "
            "numbers (rescale huge values)"
        )


def number_like(cell) -> bool:
    try:
        float(cell)
        return True
    except (TypeError, ValueError):
        return False


def stray_text(col, is_number=None):
    """(row, cell) of the first non-number in a text column whose present cells are mostly numbers
    (a typo in a numeric column, not a category), else None; ``is_number`` the test of a cell
    (default ``number_like``)."""
    is_number = is_number or number_like
    present = [(i, v) for i, v in enumerate(col) if v is not None]
    numeric = [is_number(v) for _, v in present]
    if present and 0 < len(present) - sum(numeric) and sum(numeric) >= 0.5 * len(present):
        return next(p for p, ok in zip(present, numeric) if not ok)
    return None


def _numeric_or_text(col, name, column, want_number=None):
    """A column as float64 if it holds numbers (text cells that all read as numbers included),
    else as text; a text cell in a mostly numeric column is an error naming it."""
    if isinstance(col, Unsupported):
        raise col.error()
    if col.dtype.kind in "biuf":
        col = np.asarray(col, dtype=np.float64)  # no copy of a float64 column
        return (
            col
            if want_number is not False
            else np.array([None if math.isnan(v) else _as_category(v) for v in col], dtype=object)
        )
    if col.dtype.kind != "O":
        col = col.astype(object)
    present = [v for v in col if v is not None]
    if present and all(number_like(v) for v in present) and want_number is not False:
        return np.array([np.nan if v is None else float(v) for v in col], dtype=np.float64)
    bad = stray_text(col)
    if bad is not None and want_number is not False:
        raise ValueError(
            f"{name} column {column!r}, row {bad[0]}: {bad[1]!r} is not a number, but the column's "
            "other cells are; fix the cell or mark it missing"
        )
    if want_number:
        first = next(v for v in present if not number_like(v))
        raise ValueError(
            f"{name} column {column!r}: {first!r} is not a number; the model was fitted on numbers in this column"
        )
    nul = next((i for i, v in enumerate(col) if isinstance(v, str) and "\x00" in v), None)
    if nul is not None:  # NumPy's text arrays drop trailing NULs and ONNX runtimes cut at the first
        raise ValueError(
            f"{name} column {column!r}, row {nul}: {col[nul]!r} holds a NUL character (\\x00); expected text "
            "without one (a file read with the wrong encoding, or binary data?)"
        )
    return col


def _as_category(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _refuse_missing(name, column, row):
    raise ValueError(
        f"{name} column {column!r}, row {row}: missing value; expected a number (impute='median' "
        "fills it with the training median, or drop the row)"
    )


def _summarise(notes):
    out = []
    for what in ("imputed", "unseen"):
        cells = sum(n for w, n, _ in notes if w == what)
        cols = set().union(*[c for w, _, c in notes if w == what]) if cells else set()
        if cells and what == "imputed":
            out.append(
                f"imputed {cells} missing cell{'s' * (cells != 1)} of the training rows in {len(cols)} column"
                f"{'s' * (len(cols) != 1)} ({', '.join(sorted(cols)[:5])}{', ...' if len(cols) > 5 else ''}) "
                "with the training medians (most frequent values for text); validation, test and new rows "
                "are filled the same way"
            )
        elif cells:
            out.append(
                f"{cells} cell{'s' * (cells != 1)} of {listed(sorted(cols), quote=False)} held categories not seen "
                "in training (encoded as all zeros)"
            )
    return out
