"""Every guide chapter's script (examples/) runs on its own from a checkout, in seconds, and draws
its figures; the docs build runs the same scripts (docs/conf.py)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
NEEDS = {"own_data.py": ("pandas", "sklearn")}


def test_there_is_a_chapter_per_topic_of_the_notes():
    names = {p.stem for p in EXAMPLES}
    assert {
        "binary_classification",
        "deep_networks",
        "gradient_descent",
        "optimizers",
        "activations",
        "normalization",
        "regularization",
        "own_data",
    } <= names


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs_on_its_own(script, tmp_path):
    pytest.importorskip("matplotlib", reason="the examples draw with matplotlib (pip install 'reseau[plot]')")
    for module in NEEDS.get(script.name, ()):
        pytest.importorskip(module, reason=f"{script.name} uses {module} (pip install 'reseau[docs]')")
    env = {**os.environ, "MPLBACKEND": "Agg", "RESEAU_BACKEND": "numpy"}
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip(), "a chapter prints the numbers it states"
    assert time.perf_counter() - start < 120
    assert list(tmp_path.iterdir()) == [], "examples write nothing into the folder they run in"
