"""`reseau bench`: honest by construction (a method that computes another first-batch loss is
reported wrong, not timed), every method present agrees with the reference, reports are written."""

import json
import subprocess
import sys

import pytest

from reseau import benchmark


def test_every_method_present_agrees_and_reports_are_written(tmp_path):
    report = benchmark.run(
        sizes=(), custom=([12, 8, 3], "relu", 16), quick=True, out=tmp_path, memory=False, accuracy=False
    )
    rows = report["cases"][0]["methods"]
    assert rows["GEMM floor"]["status"] == "ok" and rows["GEMM floor"]["vs_floor"] == pytest.approx(1.0)
    for name, r in rows.items():
        assert r["status"] == "ok", (name, r["status"])  # same loss on the first batch, then timed
        assert r["median_ms"] > 0 and r["samples_per_s"] > 0 and r["first_call_s"] >= 0
    assert {"reseau numpy", "plain NumPy"} <= set(rows)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["environment"]["numpy"] and saved["cases"][0]["spec"]["layers"] == [12, 8, 3]
    assert "| reseau numpy |" in (tmp_path / "report.md").read_text()
    assert "reseau numpy" in (tmp_path / "table.txt").read_text()
    if (tmp_path / "chart.png").exists():
        assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"


def test_a_method_with_another_loss_is_reported_wrong_not_timed(monkeypatch):
    honest = benchmark.methods()

    def liar(spec):
        method = benchmark.reseau_method("numpy", "numpy")(spec)
        method.first_loss += 0.01
        return method

    monkeypatch.setattr(benchmark.peers, "methods", lambda: {**honest, "liar": ("numpy", liar)})
    rows = benchmark.time_spec(benchmark.Spec("t", [6, 5, 2], "tanh", 8), rounds=1, steps=2)
    assert rows["liar"]["status"].startswith("wrong: first-batch loss")
    assert "median_ms" not in rows["liar"] and rows["reseau numpy"]["status"] == "ok"


def test_peak_memory_and_time_to_accuracy(tmp_path):
    spec = benchmark.Spec("M", *benchmark.SIZES["M"])
    assert benchmark.peak_memory(spec, "reseau numpy") > 4 * 269_322 * 4  # params, grads, m, v at least
    result = benchmark.time_to_accuracy(40, only={"reseau numpy"})
    assert result["reseau numpy"]["epochs"] is not None and result["reseau numpy"]["epochs"] <= 40


def test_command_lines():
    out = subprocess.run(
        [sys.executable, "-m", "bench", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]),
    )
    assert out.returncode == 0 and "--quick" in out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "reseau", "bench", "--sizes", "X"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2 and "--sizes 'X': X unknown" in out.stderr


def test_gpu_check_dry_run_builds_the_precision_rows_without_a_gpu(tmp_path):
    """bench/gpu_check.py --dry-run: the JAX precision rows run on the CPU, the GPU rows say they
    were skipped; results.json is written. (The GPU run itself needs a CUDA machine.)"""
    import importlib.util
    import json
    import subprocess
    import sys
    from pathlib import Path

    if importlib.util.find_spec("jax") is None:
        pytest.skip("JAX is not installed (pip install 'reseau[jax]')")
    script = Path(__file__).resolve().parents[1] / "bench" / "gpu_check.py"
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "--dry-run"], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    rows = json.loads((tmp_path / "results.json").read_text())["precision S"]
    for precision in ("fp32", "tf32", "bf16"):
        assert rows[f"reseau jax {precision}"]["pipelined_ms"] > 0
        assert rows[f"cuBLAS floor {precision}"].startswith("skipped")
    assert "reseau jax bf16" in run.stdout


def test_the_tables_suite_scores_a_bundled_table_against_its_baselines(tmp_path):
    """bench/table_suite.py on scikit-learn's wine table (the other 13 need the [tables] extra), 2 folds."""
    from pathlib import Path

    pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install 'reseau[sklearn]')")
    script = Path(__file__).resolve().parents[1] / "bench" / "table_suite.py"
    out = subprocess.run(
        [
            sys.executable,
            str(script),
            "--tables",
            "wine",
            "--folds",
            "2",
            "--seeds",
            "1",
            "--methods",
            "mlp,cli,sklearn,hgb",
            "--out",
            str(tmp_path / "wine"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert "mlp: at least as good as scikit-learn's MLP on 1 of 1" in out.stdout, out.stdout
    result = json.loads((tmp_path / "wine.json").read_text())["results"][0]
    assert result["mlp"]["score"] >= 0.9 and result["cli"]["score"] >= 0.9 and len(result["mlp"]["folds"]) == 2
    compared = subprocess.run(
        [sys.executable, str(script), "--compare", str(tmp_path / "wine.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "| defaults |" in compared.stdout and "1/1" in compared.stdout
