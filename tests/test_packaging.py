"""`pip install .` (a wheel) carries the three mapped folders and the data, and works outside the tree."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_and_runs_outside_the_source_tree(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("reseau-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (
        "reseau/__init__.py",
        "reseau/cli/__init__.py",
        "reseau/backends/numpy_backend.py",
        "reseau/core/network.py",
        "reseau/kernels/reference.py",
        "reseau/datasets/data/breast_cancer.csv.gz",
        "reseau/datasets/data/digits.csv.gz",
        "reseau/datasets/data/README.md",
    ):
        assert path in names, path
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import reseau, sys; "
            "assert reseau.__file__.startswith(sys.argv[1]), reseau.__file__; "
            "m = reseau.MLP([64, 10], backend='numpy'); X, y = reseau.datasets.load('digits'); "
            "print(m.fit(X / 16, y, epochs=1)['loss'][0])",
            str(target),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) > 0


def test_a_hanging_test_fails_with_its_stack_instead_of_stalling(tmp_path):
    """pyproject.toml's [tool.pytest.ini_options] timeout (pytest-timeout, the thread method): a
    deadlocked test ends the run with every thread's stack (here with the limit lowered to 2 s)."""
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "test_hang.py").write_text(
        "import threading\n\n\ndef test_deadlock():\n"
        "    lock = threading.Lock()\n    lock.acquire()\n    lock.acquire()\n"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(root / "pyproject.toml"),
            "-o",
            "timeout=2",
            "-p",
            "no:cacheprovider",
        ]
        + ["--rootdir", str(tmp_path), str(tmp_path / "test_hang.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0 and "Timeout" in out.stdout + out.stderr
    assert "test_hang.py" in out.stdout + out.stderr and "lock.acquire()" in out.stdout + out.stderr
    import tomllib

    options = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert options["timeout"] == 300 and options["timeout_method"] == "thread"
