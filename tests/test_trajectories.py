"""Recorded trajectories: 24 training runs (3 heads × 4 optimisers × float32/float64) against the
weights and losses recorded in tests/data/trajectories.json, so that a change to how the code is
arranged cannot change what it computes.

    python tests/test_trajectories.py --write     (records the file: only when the numbers are meant to change)
    python tests/test_trajectories.py --exact     (compares bit for bit: on the machine that recorded it)

The test itself allows the rounding another machine's BLAS may add (1e-12 relative in float64,
1e-5 in float32); ``--exact`` is the before/after check of a refactoring."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from reseau import MLP

RECORD = Path(__file__).parent / "data" / "trajectories.json"
HEADS = {
    "sigmoid": ([5, 7, 6, 1], ["tanh", "relu"]),
    "softmax": ([5, 7, 6, 3], ["relu", "elu"]),
    "identity": ([5, 7, 6, 2], ["sigmoid", "tanh"]),
}
OPTIMIZERS = {"sgd": 0.1, "nag": 0.05, "adagrad": 0.05, "adam": 0.01}
CASES = [(h, o, d) for h in HEADS for o in OPTIMIZERS for d in ("float32", "float64")]


def _data(head):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(90, 5))
    if head == "sigmoid":
        return X, (X[:, 0] + X[:, 1] > 0).astype(int)
    if head == "softmax":
        return X, np.digitize(X[:, 0], [-0.5, 0.5])
    return X, np.column_stack([X[:, 0] * 2 + 1, np.sin(X[:, 1])])


def run(head, optimizer, dtype):
    """The final flat parameters and the per-epoch losses of one recorded case."""
    sizes, hidden = HEADS[head]
    X, y = _data(head)
    model = MLP(sizes, hidden=hidden, output=head, dtype=dtype, seed=11, dropout=[0.1, 0.0], l2=1e-3)
    history = model.fit(
        X, y, epochs=3, batch_size=16, optimizer=optimizer, lr=OPTIMIZERS[optimizer], validation_split=0.2
    )
    return np.asarray(model.params, dtype=np.float64), np.asarray(history["loss"] + history["val_loss"])


def _key(case):
    return "/".join(case)


@pytest.mark.parametrize("case", CASES, ids=_key)
def test_the_recorded_trajectory(case):
    record = json.loads(RECORD.read_text())[_key(case)]
    params, losses = run(*case)
    tol = 1e-12 if case[2] == "float64" else 1e-5
    np.testing.assert_allclose(params, record["params"], rtol=tol, atol=tol)
    np.testing.assert_allclose(losses, record["losses"], rtol=tol, atol=tol)


def main(argv):
    if "--write" in argv:
        out = {}
        for case in CASES:
            params, losses = run(*case)
            out[_key(case)] = {"params": params.tolist(), "losses": losses.tolist()}
        RECORD.parent.mkdir(exist_ok=True)
        RECORD.write_text(json.dumps(out, indent=0) + "\n")
        print(f"recorded {len(out)} cases in {RECORD}")
        return 0
    record = json.loads(RECORD.read_text())
    differ = [
        k
        for k in map(_key, CASES)
        if not (
            np.array_equal(run(*k.split("/"))[0], record[k]["params"])
            and np.array_equal(run(*k.split("/"))[1], record[k]["losses"])
        )
    ]
    print(f"{len(CASES) - len(differ)} of {len(CASES)} cases bit-identical" + (f"; differ: {differ}" if differ else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
