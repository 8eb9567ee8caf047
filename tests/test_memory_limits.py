"""Memory bounded by the process's real limit (core/memory.py): the estimates take the least of the
machine's available memory, the RLIMIT_AS / RLIMIT_DATA headroom and the control group's; what they
let through and still runs out of memory is one line on the CLI, naming the size and the options."""

import gzip
import subprocess
import sys

import numpy as np
import pytest

from reseau.cli import main
from reseau.core import memory

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="process limits are read from Linux's /proc")
LIMIT = 3 << 30  # the address-space limit of the reports (ulimit -v 3145728)


def _under_limit(args, limit=LIMIT, cwd=None):
    """``reseau ARGS`` in a child process under RLIMIT_AS = ``limit``, run by an intermediate Python
    that reports the child's peak resident memory: (return code, stderr, peak bytes)."""
    script = (
        "import resource, subprocess, sys\n"
        "def limit():\n"
        f"    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))\n"
        f"p = subprocess.run([sys.executable, '-m', 'reseau', *{list(args)!r}], preexec_fn=limit,"
        " capture_output=True, text=True, timeout=240)\n"
        "sys.stderr.write(p.stderr)\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=cwd)
    code, peak = (int(v) for v in out.stdout.split())
    return code, out.stderr, peak


def test_a_gzip_csv_beyond_the_address_space_limit_is_refused_in_one_line(tmp_path):
    """A multi-member gzip CSV inflating to 400 MiB (a few MiB on disk), under a 3 GiB address-space
    limit on a machine with far more free: refused after at most 1/12 of the process's headroom,
    peak resident memory under 1 GiB, no hang at exit. Rows as the issue's file had them: five
    numbers with four decimals and a label (~40 bytes a row)."""
    path = tmp_path / "bomb.csv.gz"
    rows = np.random.default_rng(0).normal(size=(400, 5)).round(4)  # 400 rows repeat within gzip's 32 KiB window
    block = "".join(",".join(map(str, r)) + f",{int(r[0] > 0)}\n" for r in rows).encode()
    member = gzip.compress(block * ((10 << 20) // len(block)), 6)  # 10 MiB of text a member
    with open(path, "wb") as f:
        f.write(gzip.compress(b"a,b,c,d,e,y\n"))
        for _ in range(40):
            f.write(member)
    assert path.stat().st_size < 8 << 20
    code, err, peak = _under_limit(["train", "--data", str(path), "--target", "y", "--quiet"])
    assert code == 2 and err.count("\n") == 1, err
    assert "bomb.csv.gz: inflates" in err and "of memory available to this process" in err
    assert peak < 1 << 30


def test_a_network_beyond_the_address_space_limit_is_refused_before_it_is_built():
    """`--layers 10000000` needs 8.3 GiB: refused by the estimate under a 3 GiB limit (it fits the
    machine's free memory, so only the process's own limit can refuse it)."""
    code, err, _ = _under_limit(["train", "--layers", "10000000", "--quiet"])
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "hold 320,000,001 parameters" in err and "of memory available here" in err


def test_what_runs_out_of_memory_anyway_is_one_line(monkeypatch, capsys):
    """A MemoryError that escapes a command (NumPy's, with its size) becomes one line naming the
    allocation, the memory this process may have and the options that set the size; exit 2."""
    from reseau.cli import info

    def allocate(args):
        np.empty(1 << 62, dtype=np.uint8)  # 4 EiB: NumPy's _ArrayMemoryError, on any machine

    monkeypatch.setattr(info, "cmd_info", allocate)
    assert main(["info"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of memory: Unable to allocate 4.00 EiB" in err
    monkeypatch.setattr(info, "cmd_info", lambda args: (_ for _ in ()).throw(MemoryError()))
    assert main(["info"]) == 2 and "out of memory: an allocation was refused" in capsys.readouterr().err


def _tree(root, files):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_cgroup_v2_headroom_is_the_least_over_the_group_and_its_parents(tmp_path):
    proc = tmp_path / "cgroup"
    proc.write_text("0::/user.slice/job\n")
    _tree(
        tmp_path / "fs",
        {
            "memory.max": "max\n",  # the root: no limit
            "memory.current": "999999999\n",
            "user.slice/memory.max": str(4 << 30),
            "user.slice/memory.current": str(3 << 30),  # 1 GiB left here
            "user.slice/job/memory.max": str(8 << 30),
            "user.slice/job/memory.current": str(1 << 30),  # 7 GiB left here
        },
    )
    assert memory.cgroup_headroom(proc, tmp_path / "fs") == 1 << 30
    (tmp_path / "fs" / "user.slice" / "memory.max").write_text("max\n")
    assert memory.cgroup_headroom(proc, tmp_path / "fs") == 7 << 30


def test_cgroup_v1_headroom_and_no_limit(tmp_path):
    proc = tmp_path / "cgroup"
    proc.write_text("4:memory:/docker/abc\n3:cpu:/docker/abc\n")
    _tree(
        tmp_path / "fs",
        {
            "memory/docker/abc/memory.limit_in_bytes": str(2 << 30),
            "memory/docker/abc/memory.usage_in_bytes": str(512 << 20),
            "memory/memory.limit_in_bytes": "9223372036854771712",  # v1's "no limit"
            "memory/memory.usage_in_bytes": "123",
        },
    )
    assert memory.cgroup_headroom(proc, tmp_path / "fs") == (2 << 30) - (512 << 20)
    (tmp_path / "fs" / "memory/docker/abc/memory.limit_in_bytes").write_text("9223372036854771712")
    assert memory.cgroup_headroom(proc, tmp_path / "fs") is None
    assert memory.cgroup_headroom(tmp_path / "missing", tmp_path / "fs") is None


def test_available_is_the_least_of_the_three(monkeypatch):
    monkeypatch.setattr(memory, "machine_bytes", lambda: 20 << 30)
    monkeypatch.setattr(memory, "rlimit_headroom", lambda: 3 << 30)
    monkeypatch.setattr(memory, "cgroup_headroom", lambda: None)
    assert memory.available_bytes() == 3 << 30
    monkeypatch.setattr(memory, "cgroup_headroom", lambda: 1 << 30)
    assert memory.available_bytes() == 1 << 30
    monkeypatch.setattr(memory, "rlimit_headroom", lambda: -(1 << 20))  # already over the limit
    assert memory.available_bytes() == 0


def test_rlimit_headroom_reads_the_limit_and_the_address_space_in_use():
    script = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({LIMIT}, {LIMIT}))\n"
        "from reseau.core import memory\n"
        "size = memory._status_kib('/proc/self/status', 'VmSize') * 1024\n"
        "print(memory.rlimit_headroom(), size)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    headroom, size = (int(v) for v in out.stdout.split())
    assert 0 < headroom <= LIMIT - size + (64 << 20)  # VmSize read a moment apart


def test_a_plain_csv_larger_than_the_text_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from reseau.datasets import load_file
    from reseau.datasets import readers as tables

    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b,y\n" + b"1.25,2.5,0\n" * 200_000)  # 2.1 MiB
    monkeypatch.setattr(tables, "available_bytes", lambda: 12 << 20)  # 1 MiB of text at most
    with pytest.raises(ValueError, match=r"big\.csv: holds 2\.1 MiB, more than 1\.0 MiB of text, more than 1/12"):
        load_file(path, target="y")
    monkeypatch.setattr(tables, "available_bytes", lambda: 1 << 30)
    assert load_file(path, target="y").X.shape == (200_000, 2)


def _peak_of(args):
    """Peak resident bytes of ``reseau ARGS`` in a child process (measured by an intermediate one)."""
    script = (
        "import resource, subprocess, sys\n"
        f"p = subprocess.run([sys.executable, '-m', 'reseau', *{list(args)!r}], capture_output=True, timeout=240)\n"
        "assert p.returncode == 0, p.stderr\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def test_a_model_with_a_million_categories_predicts_within_ten_times_its_file(tmp_path):
    """A 20 MiB model file whose text column has 10⁶ categories: `reseau predict` needs less than
    10× the file's size beyond what a small model's predict needs (the process's imports)."""
    import pyarrow as pa

    import reseau
    from reseau.core import serialize

    rng = np.random.default_rng(0)
    small = reseau.MLP([None, 2, 1], seed=0)
    small.fit(pa.table({"city": ["c0", "c1", "c2", "c3"] * 10, "x": rng.normal(size=40)}), rng.integers(0, 2, 40))
    small.save(tmp_path / "small.reseau")
    tensors, d = serialize.read(tmp_path / "small.reseau")
    plan = d["preprocessing"]
    plan["categories"][plan["names"].index("city")] = [f"c{i}" for i in range(1_000_000)]
    d["layers"][0] = sum(1 if c is None else len(c) for c in plan["categories"])
    tensors["W1"] = rng.normal(size=(d["layers"][0], 2)).astype(np.float32)
    serialize.write(tmp_path / "big.reseau", tensors, {k: v for k, v in d.items() if k not in ("format", "version")})
    size = (tmp_path / "big.reseau").stat().st_size
    assert size > 19 << 20
    (tmp_path / "x.csv").write_text("city,x\nc5,0.1\nc999999,0.2\nnew,0.3\n")
    big = reseau.load(tmp_path / "big.reseau")
    row = big.contract.columns.transform(pa.table({"city": ["c999999", "c5"], "x": [0.0, 0.0]}))
    assert row[0, 999_999] == 1 and row[1, 5] == 1 and row[:, :1_000_000].sum() == 2
    base = _peak_of(["predict", str(tmp_path / "small.reseau"), str(tmp_path / "x.csv")])
    peak = _peak_of(["predict", str(tmp_path / "big.reseau"), str(tmp_path / "x.csv")])
    assert peak - base < 10 * size, (peak - base) / size


@pytest.mark.parametrize("order", ["sorted", "a file's own order"])
def test_category_positions_equal_a_lookup_table(order):
    from reseau.core.columns import CategoryIndex

    categories = sorted(f"k{i}" for i in range(1000))
    if order != "sorted":
        categories = list(np.random.default_rng(1).permutation(categories))
    cells = ["k5", "zz", "k999", "", "k0", "k5", "a", "k1000"]
    table = {c: k for k, c in enumerate(categories)}
    expected = [table.get(c, -1) for c in cells]
    np.testing.assert_array_equal(CategoryIndex(categories).positions(cells), expected)
    np.testing.assert_array_equal(CategoryIndex(["only"]).positions(["only", "other"]), [0, -1])
