"""Data parallelism over MPI (mpi4py, `mpirun -n 2` on localhost): equal to one process on the
same global batches (float64, 1e-10), with and without dropout; clear errors, no hangs."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import reseau
from reseau import optim

ROOT = Path(__file__).resolve().parents[1]
MPIRUN = shutil.which("mpirun")
try:
    import mpi4py  # noqa: F401

    HAVE_MPI4PY = True
except ImportError:
    HAVE_MPI4PY = False
pytestmark = pytest.mark.skipif(
    MPIRUN is None or not HAVE_MPI4PY, reason="MPI is not installed (Open MPI's mpirun and pip install 'reseau[mpi]')"
)

SCRIPT = r"""
import sys
import numpy as np
import reseau
from reseau import optim
from reseau.backends import mpi
rank = mpi.world().rank
out, dropout, kernels, seed_per_rank = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
rng = np.random.default_rng(0)
X, y = rng.normal(size=(48, 5)), rng.integers(0, 3, 48)
m = reseau.MLP([5, 8, 6, 3], hidden=["tanh", "relu"], backend="numpy", dtype="float64",
               seed=1 + (rank if seed_per_rank else 0), dropout=dropout, l2=0.01, kernels=kernels, normalize=None)
h = m.fit(X, y, epochs=3, batch_size=int(sys.argv[5]), optimizer=optim.Adam(0.01),
          schedule=optim.CosineAnnealing(9, per="step"), data_parallel=True)
if rank == 0:
    np.savez(out, *[a for pair in m.get_weights() for a in pair], loss=np.array(h["loss"]))
"""


def mpirun(tmp_path, *args, ranks=2):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    return subprocess.run(
        [MPIRUN, "--oversubscribe", "-n", str(ranks), sys.executable, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("kernels", ["reference", "numpy"])
def test_two_ranks_equal_one_process(tmp_path, dropout, kernels):
    out = mpirun(tmp_path, tmp_path / "w.npz", dropout, kernels, 0, 16)
    assert out.returncode == 0, out.stderr[-2000:]
    got = np.load(tmp_path / "w.npz")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(48, 5)), rng.integers(0, 3, 48)
    ref = reseau.MLP(
        [5, 8, 6, 3],
        hidden=["tanh", "relu"],
        backend="numpy",
        dtype="float64",
        seed=1,
        dropout=dropout,
        l2=0.01,
        kernels=kernels,
        normalize=None,
    )
    h = ref.fit(
        X, y, epochs=3, batch_size=16, optimizer=optim.Adam(0.01), schedule=optim.CosineAnnealing(9, per="step")
    )
    for i, a in enumerate(a for pair in ref.get_weights() for a in pair):
        np.testing.assert_allclose(got[f"arr_{i}"], a, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got["loss"], h["loss"], rtol=1e-10)


def test_mismatched_ranks_and_uneven_batches_fail_clearly(tmp_path):
    out = mpirun(tmp_path, tmp_path / "w.npz", 0.0, "reference", 1, 16)  # a different seed per rank
    assert out.returncode != 0 and "the MPI ranks were given different models, data or settings" in out.stderr
    out = mpirun(tmp_path, tmp_path / "w.npz", 0.0, "reference", 0, 15)
    assert out.returncode != 0 and "do not split evenly over 2 MPI ranks" in out.stderr


def test_the_cli_trains_under_mpirun(tmp_path):
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    exe = str(Path(sys.executable).parent / "reseau")
    out = subprocess.run(
        [
            MPIRUN,
            "--oversubscribe",
            "-n",
            "2",
            exe,
            "train",
            "--data-parallel",
            "--epochs",
            "20",
            "--batch-size",
            "32",
            "--backend",
            "numpy",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("test accuracy") == 1  # rank 0 reports
    assert float(out.stdout.split("test accuracy ")[1].split()[0]) > 0.9


def test_a_rank_that_fails_to_start_stops_the_job(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(
        "import sys\nfrom reseau.backends import mpi\nw = mpi.world()\n"
        "sys.exit(3) if w.rank == 1 else None\n"
        "import reseau, numpy as np\nm = reseau.MLP([2, 1], backend='numpy', normalize=None)\n"
        "m.fit(np.zeros((8, 2)), np.arange(8) % 2, batch_size=4, data_parallel=True)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "RESEAU_MPI_TIMEOUT": "5",
    }
    out = subprocess.run(
        [MPIRUN, "--oversubscribe", "-n", "2", sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )  # bounded: a hang fails the test
    assert out.returncode != 0 and "not every one of the 2 MPI ranks reached fit within 5 s" in out.stderr


GUARD_SCRIPT = r"""
import sys
import numpy as np
import reseau
from reseau.backends import mpi
rank = mpi.world().rank
out = sys.argv[1]
rng = np.random.default_rng(0)
X, y = rng.normal(size=(48, 5)), rng.normal(size=48)
X[13] = 1e200  # its squared error overflows float64: the step whose batch holds it is bad
m = reseau.MLP([5, 8, 1], hidden="relu", output="identity", backend="numpy", dtype="float64", seed=1, normalize=None)
try:
    m.fit(X, y, epochs=2, batch_size=8, optimizer="adam", lr=0.01, data_parallel=True,
          checkpoint=out + "/ck", checkpoint_every=1)
    message = "finished"
except reseau.TrainingDivergedError as err:
    message = str(err)
np.save(f"{out}/w{rank}.npy", m.params)
with open(f"{out}/msg{rank}.txt", "w") as f:
    f.write(f"{m.step_count}\n{message}")
"""


def test_the_divergence_guard_decides_alike_on_every_rank_and_rank_0_writes_checkpoints(tmp_path):
    """The bad row sits in one rank's half of a batch; the loss rides in the allreduce, so both ranks
    refuse the same step, keep the same weights (those of one process on the same batches) and say
    the same; checkpoints come from rank 0 alone."""
    script = tmp_path / "guard.py"
    script.write_text(GUARD_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    out = subprocess.run(
        [MPIRUN, "--oversubscribe", "-n", "2", sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    messages = [(tmp_path / f"msg{r}.txt").read_text() for r in (0, 1)]
    assert messages[0] == messages[1] and "training diverged: the loss became inf at step" in messages[0]
    np.testing.assert_array_equal(np.load(tmp_path / "w0.npy"), np.load(tmp_path / "w1.npy"))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(48, 5)), rng.normal(size=48)
    X[13] = 1e200
    ref = reseau.MLP(
        [5, 8, 1], hidden="relu", output="identity", backend="numpy", dtype="float64", seed=1, normalize=None
    )
    with pytest.raises(reseau.TrainingDivergedError) as info:
        ref.fit(X, y, epochs=2, batch_size=8, optimizer="adam", lr=0.01)
    assert messages[0] == f"{ref.step_count}\n{info.value}"
    np.testing.assert_allclose(np.load(tmp_path / "w0.npy"), ref.params, rtol=0, atol=1e-10)
    steps = sorted(int(f.name[5:-5]) for f in (tmp_path / "ck").glob("step-*.ckpt"))
    assert steps == list(range(1, ref.step_count + 1))[-3:]  # each good step; none past the bad one
    assert not list((tmp_path / "ck").glob(".*.tmp"))


def _gpu_count():
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() if cupy.is_available() else 0
    except Exception:  # no CuPy, or no driver
        return 0


@pytest.mark.skipif(_gpu_count() < 2, reason="CuPy data parallelism with NCCL needs one GPU per rank (2 here)")
def test_cupy_ranks_with_nccl_equal_one_process(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.replace('backend="numpy"', 'backend="cupy"'))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    out = subprocess.run(
        [
            MPIRUN,
            "--oversubscribe",
            "-n",
            "2",
            sys.executable,
            str(script),
            str(tmp_path / "w.npz"),
            "0.3",
            "cupy",
            "0",
            "16",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = np.load(tmp_path / "w.npz")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(48, 5)), rng.integers(0, 3, 48)
    ref = reseau.MLP(
        [5, 8, 6, 3],
        hidden=["tanh", "relu"],
        backend="numpy",
        dtype="float64",
        seed=1,
        dropout=0.3,
        l2=0.01,
        normalize=None,
    )
    h = ref.fit(
        X, y, epochs=3, batch_size=16, optimizer=optim.Adam(0.01), schedule=optim.CosineAnnealing(9, per="step")
    )
    for i, a in enumerate(a for pair in ref.get_weights() for a in pair):
        np.testing.assert_allclose(got[f"arr_{i}"], a, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got["loss"], h["loss"], rtol=1e-10)
