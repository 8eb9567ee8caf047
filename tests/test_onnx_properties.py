"""Property-based ONNX export: feature names and categories drawn at random (empty, ``c_1``,
``W1``, the output's own name, commas, any Unicode; a category "" seen at fit) give either a graph
whose outputs onnxruntime computes equal to ``predict_proba``, or a one-line ValueError naming
the feature, with nothing written."""

import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install 'reseau[test]')")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'reseau[onnx]')")
pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from reseau import MLP  # noqa: E402
from reseau.core.columns import DataWarning, number_like  # noqa: E402

SPECIAL = ["", "c_1", "W1", "b1", "probabilities", "values", "X", "reseau:c_1", "a,b", "x0", "Z1_3"]
names = st.one_of(st.sampled_from(SPECIAL), st.text(min_size=0, max_size=8))
categories = st.lists(
    st.one_of(st.sampled_from(["", "a", "c_1", " ", "é"]), st.text(max_size=4)), min_size=1, max_size=4, unique=True
)


# derandomize: the same examples on every run, so CI is repeatable; drop it to explore (130 random
# seeds passed when this was written)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(col_names=st.lists(names, min_size=2, max_size=2, unique=True), cats=categories, seed=st.integers(0, 2**16))
def test_any_names_and_categories_export_to_the_same_numbers_or_a_clear_error(tmp_path_factory, col_names, cats, seed):
    blank = " \t\n\r\f\v"  # what reseau counts as a blank cell (core/tables.py BLANK)
    hypothesis.assume(any(c.strip(blank) for c in cats) and not any(c.strip(blank) and number_like(c) for c in cats))
    rng = np.random.default_rng(seed)
    n = 40
    number, text = col_names
    cells = [cats[i % len(cats)] for i in rng.permutation(n)]
    table = pa.table({number: rng.normal(size=n), text: pa.array(cells, pa.string())})
    y = (rng.random(n) < 0.5).astype(int)
    y[:2] = [0, 1]
    model = MLP([None, 4, None], seed=0)
    if any("\x00" in c for c in cells):  # refused at fit: NumPy and the ONNX runtimes both cut at NUL
        with pytest.raises(ValueError, match=r"holds a NUL character"):
            model.fit(table, y, epochs=1)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        model.fit(table, y, epochs=1)
    path = tmp_path_factory.mktemp("onnx") / "m.onnx"
    bad = [j for j, name in enumerate(col_names) if name in ("", "probabilities")]
    if bad:
        with pytest.raises(ValueError, match=rf"to_onnx: feature {bad[0]} is named {col_names[bad[0]]!r}"):
            model.to_onnx(path)
        assert not path.exists()
        return
    model.to_onnx(path)
    feeds = {
        number: table.column(0).to_numpy().astype(np.float32)[:, None],
        text: np.array(cells, dtype=object)[:, None],
    }
    out = ort.InferenceSession(str(path)).run(None, feeds)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        expected = model.predict_proba(table)
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-5, atol=1e-5)
