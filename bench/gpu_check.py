"""The GPU check, one command of under 8 minutes on a CUDA machine:

    python bench/gpu_check.py OUTDIR

1. runs the CuPy and JAX tests on the GPU (pytest, -k "cupy or jax");
2. times Adam alone on 16 M parameters against the device-to-device copy bandwidth measured in
   the same run (28 bytes per parameter: read θ, g, m, v, write θ, m, v; target >= 80 %);
3. times the S, M and L training steps (forward + backward + Adam, float32) of reseau on CuPy
   (stepped, and replayed from a CUDA graph) and on JAX against the cuBLAS GEMM floor (target
   L <= 1.1x), and PyTorch CUDA when installed;
writes the details to OUTDIR (pytest.txt, results.json) and prints a short table last.
Works from a plain checkout (nothing installed, no array-api-compat); TF32 stays off.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from reseau import benchmark  # noqa: E402

SIZES = {key: benchmark.SIZES[key] for key in ("S", "M", "L")}


def run_tests(out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "cupy or jax",
                               str(ROOT / "tests")], capture_output=True, text=True, env=env, timeout=300)
    except subprocess.TimeoutExpired as exc:  # keep what ran, go on to the timings
        text = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        (out / "pytest.txt").write_text(text)
        return {"returncode": "timeout", "summary": "pytest ran past 300 s; see pytest.txt", "seconds": 300}
    (out / "pytest.txt").write_text(proc.stdout + proc.stderr)
    tail = [line for line in proc.stdout.splitlines() if " passed" in line or " failed" in line or "error" in line]
    return {"returncode": proc.returncode, "summary": tail[-1] if tail else proc.stdout[-300:],
            "seconds": time.perf_counter() - t0}


def gpu_time(fn, reps, warm=3):
    """Median and min seconds of fn() measured with CUDA events."""
    import cupy as cp
    for _ in range(warm):
        fn()
    cp.cuda.Device().synchronize()
    times = []
    for _ in range(reps):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop) / 1e3)
    return statistics.median(times), min(times)


def adam_bandwidth(P=1 << 24) -> dict:
    import cupy as cp

    import reseau
    kern = reseau.kernels.for_backend(reseau.backends.get("cupy"))
    rng = cp.random.default_rng(0)
    p, g, m, v = (rng.standard_normal(P, dtype=cp.float32) for _ in range(4))
    v = cp.abs(v)
    lr = cp.asarray(1e-3, dtype=cp.float32)
    src, dst = rng.standard_normal(P, dtype=cp.float32), cp.empty(P, dtype=cp.float32)
    copy_med, _ = gpu_time(lambda: cp.copyto(dst, src), 50)
    step = [1]

    def adam():
        kern.adam_step(p, g, m, v, None, lr, step[0])
        step[0] += 1
    adam_med, _ = gpu_time(adam, 50)
    copy_bw = 2 * 4 * P / copy_med
    adam_bw = 28 * P / adam_med
    return {"params": P, "copy_GBps": copy_bw / 1e9, "adam_GBps": adam_bw / 1e9, "adam_ms": adam_med * 1e3,
            "adam_vs_copy": adam_bw / copy_bw}


def step_times(key) -> dict:
    import cupy as cp
    spec = benchmark.Spec(key, *benchmark.SIZES[key])
    reps = 10 if key == "L" else 50
    rows = {"cuBLAS GEMM floor": gpu_time(benchmark.gemm_floor(spec, cp).step, reps)}
    makers = {"reseau cupy": benchmark.reseau_method("cupy"),
              "reseau cupy + CUDA graph": benchmark.reseau_method("cupy", cuda_graph=True),
              "reseau jax": benchmark.reseau_method("jax"),
              "PyTorch CUDA (fused Adam)": benchmark.torch_method("cuda")}
    for name, make in makers.items():
        try:
            step = make(spec).step
            if name == "reseau jax":  # JAX runs on its own stream: host clocks around a sync
                for _ in range(3):
                    step()
                ts = []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    step()
                    ts.append(time.perf_counter() - t0)
                rows[name] = (statistics.median(ts), min(ts))
            else:
                rows[name] = gpu_time(step, reps)
        except Exception as exc:  # report, keep going
            rows[name] = f"failed: {type(exc).__name__}: {exc}"[:300]
    floor_med = rows["cuBLAS GEMM floor"][0]
    return {name: ({"median_ms": r[0] * 1e3, "min_ms": r[1] * 1e3, "vs_floor": r[0] / floor_med}
                   if isinstance(r, tuple) else r) for name, r in rows.items()}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "gpu-check")
    out.mkdir(parents=True, exist_ok=True)
    results = {"python": platform.python_version()}
    try:
        results["nvidia-smi"] = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                                               timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        results["nvidia-smi"] = str(exc)
    for lib in ("cupy", "jax", "numpy", "torch"):
        try:
            results[lib] = __import__(lib).__version__
        except ImportError:
            results[lib] = "not installed"
    results["tests"] = run_tests(out)
    for name, fn in (("adam", adam_bandwidth), ("S", lambda: step_times("S")), ("M", lambda: step_times("M")),
                     ("L", lambda: step_times("L"))):
        try:
            results[name] = fn()
        except Exception as exc:
            results[name] = f"failed: {type(exc).__name__}: {exc}"[:500]
        (out / "results.json").write_text(json.dumps(results, indent=1))
    print(json.dumps({k: results[k] for k in ("nvidia-smi", "cupy", "jax", "torch")}, indent=1))
    print(f"\ntests: {results['tests']['summary']} (exit {results['tests']['returncode']})")
    adam = results["adam"]
    if isinstance(adam, dict):
        print(f"Adam on {adam['params']:,} params: {adam['adam_ms']:.3f} ms, {adam['adam_GBps']:.0f} GB/s = "
              f"{adam['adam_vs_copy']:.2f} x copy bandwidth ({adam['copy_GBps']:.0f} GB/s); target >= 0.80")
    else:
        print("Adam:", adam)
    for key in ("S", "M", "L"):
        print(f"\n{key}: {SIZES[key][0]}, batch {SIZES[key][2]}")
        rows = results[key]
        if not isinstance(rows, dict):
            print(" ", rows)
            continue
        print(f"{'method':28} {'median ms':>10} {'min ms':>9} {'x floor':>8}")
        for name, r in rows.items():
            if isinstance(r, dict):
                print(f"{name:28} {r['median_ms']:10.4f} {r['min_ms']:9.4f} {r['vs_floor']:8.2f}")
            else:
                print(f"{name:28} {r}")
    return results


if __name__ == "__main__":
    main()
