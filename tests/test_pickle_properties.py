"""Property-based unpickling: a trained model's pickled state with one field replaced by a drawn
value either unpickles into a model whose predictions are finite, or is refused on unpickling with
a ValueError saying "pickled MLP" — never a failure (or NaN) at the first predict."""

import pickle

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install 'reseau[test]')")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from reseau import MLP  # noqa: E402

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3))
y = (X[:, 0] > 0).astype(int)
MODEL = MLP([None, 4, None], seed=0)
MODEL.fit(X, y, epochs=1)
STATE = MODEL.__getstate__()
P = STATE["params"]

values = st.one_of(
    st.none(),
    st.integers(-3, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=6),
    st.lists(st.sampled_from(["relu", "tanh", "bogus", 0.5, None]), max_size=3),
    st.builds(
        lambda n, v: np.full(n, v),
        st.sampled_from([P.size - 1, P.size, P.size + 1]),
        st.sampled_from([0.0, 1.0, np.nan, np.inf]),
    ),
    st.just(P.reshape(1, -1)),
    st.just(P.astype(np.float16)),
    st.just(P.astype(np.int64)),
)


# derandomize: the same examples on every run, so CI is repeatable; drop it to explore
@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    field=st.sampled_from(
        [
            "params",
            "hidden",
            "output",
            "init",
            "dtype_name",
            "seed",
            "dropout",
            "l1",
            "l2",
            "label_smoothing",
            "normalize",
            "precision",
            "classes",
            "task",
        ]
    ),
    value=values,
)
def test_a_crafted_state_is_refused_on_unpickling_or_predicts_finite_numbers(field, value):
    state = dict(STATE)
    state[field] = value
    model = MLP.__new__(MLP)
    try:
        model.__setstate__(state)
    except ValueError as exc:
        assert "pickled MLP" in str(exc)
        return
    out = np.asarray(model.predict_proba(X))
    assert out.shape[0] == len(X) and np.isfinite(out).all()


def test_the_untouched_state_round_trips():
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(MODEL)).predict(X), MODEL.predict(X))
