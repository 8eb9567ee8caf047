"""The GPU check, one command of under 8 minutes on a CUDA machine:

    python bench/gpu_check.py OUTDIR

0. runs `reseau train` on the cupy and jax backends;
1. runs the CuPy, JAX, CUDA-graph and NCCL tests on the GPU (pytest -k "cupy or jax or cuda or nccl",
   four workers when pytest-xdist is there, 90 s per test when pytest-timeout is);
2. times Adam alone on 16 M parameters against the device-to-device copy bandwidth measured in
   the same run (28 bytes per parameter: read θ, g, m, v, write θ, m, v; target >= 80 %);
3. times the S, M and L training steps (forward + backward + Adam, float32) of reseau on CuPy
   (replayed from a CUDA graph, fit(cuda_graph=True), and stepped eagerly, fit's default) and on
   JAX against the cuBLAS GEMM floor (target L <= 1.1x), JAX+optax and PyTorch CUDA when installed:
   each step waited for ("synced") and K steps queued back to back ("pipelined", as fit runs);
4. times the parts of the L step beside its GEMMs, each alone;
5. times M and L per precision (fp32, tf32, bf16): cuBLAS floors, reseau CuPy and JAX, PyTorch CUDA
   with TF32 and autocast(bfloat16) (targets: L fp32 <= 1.1x, L bf16 <= 1.25x its floor and ahead
   of PyTorch autocast);
writes the details to OUTDIR (pytest.txt, results.json) and prints a short table last.
Works from a plain checkout (nothing installed, no array-api-compat); TF32 stays off but in the
precision rows. ``python bench/gpu_check.py OUTDIR --dry-run`` runs, without a GPU, the code paths
that can (the JAX precision rows on S, on the CPU) and reports the rest as skipped.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# JAX shares the GPU with CuPy and PyTorch here: no grabbing 75 % of its memory up front
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
T0 = time.perf_counter()
BUDGET_S = float(os.environ.get("GPU_CHECK_BUDGET_S", 360))  # no new timing section starts past this


from reseau import benchmark  # noqa: E402

SIZES = {key: benchmark.SIZES[key] for key in ("S", "M", "L")}


def _have(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def run_tests(out: Path, limit_s=210) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-rfEs",
        "--tb=short",
        "-k",
        "cupy or jax or cuda or nccl",
        str(ROOT / "tests"),
    ]
    if _have("xdist"):
        args += ["-n", "4", "--dist", "loadfile"]
    if _have("pytest_timeout"):
        args += ["--timeout", "90"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=limit_s)
        text, code = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:  # keep what ran, go on to the timings
        text = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        code = "timeout"
    (out / "pytest.txt").write_text(text)
    lines = text.splitlines()
    tail = [line for line in lines if " passed" in line or " failed" in line or " error" in line]
    failed = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    return {
        "returncode": code,
        "summary": tail[-1] if tail else text[-300:],
        "failed": failed,
        "seconds": time.perf_counter() - t0,
    }


def train_on_gpu() -> dict:
    """The main job, `reseau train` (bundled breast-cancer data), on the cupy and jax backends."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = {}
    for backend in ("cupy", "jax"):
        proc = subprocess.run(
            [sys.executable, "-m", "reseau", "train", "--backend", backend, "--quiet"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        out[backend] = f"exit {proc.returncode}: {lines[-1] if lines else ''}"
    return out


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
    step, opt = [1], reseau.optim.Adam(1e-3)

    def adam():
        kern.adam_step(p, g, (m, v, None), opt.coefficients(lr, step[0]))
        step[0] += 1

    adam_med, _ = gpu_time(adam, 50)
    copy_bw = 2 * 4 * P / copy_med
    adam_bw = 28 * P / adam_med
    return {
        "params": P,
        "copy_GBps": copy_bw / 1e9,
        "adam_GBps": adam_bw / 1e9,
        "adam_ms": adam_med * 1e3,
        "adam_vs_copy": adam_bw / copy_bw,
    }


def l_parts() -> dict:
    """Where the L step's time beyond its GEMMs goes, each part alone on L's shapes (CUDA events,
    medians): Adam over all 21 M parameters, the guard's isfinite(L) ∧ isfinite(g·g), the bias sums
    of both hidden layers (cupy.sum over rows, and as a 1ᵀdZ GEMM), bias + ReLU forward and the ReLU
    gradient of both hidden layers."""
    import cupy as cp

    import reseau
    from reseau.kernels import cupy_kernels as ck

    kern = reseau.kernels.for_backend(reseau.backends.get("cupy"))
    sizes, n = benchmark.SIZES["L"][0], benchmark.SIZES["L"][2]
    P = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    rng = cp.random.default_rng(1)
    p, g, m, v = (rng.standard_normal(P, dtype=cp.float32) for _ in range(4))
    v = cp.abs(v)
    lr, loss = cp.asarray(1e-3, dtype=cp.float32), cp.asarray(1.0, dtype=cp.float32)
    Z, A, dZ = (rng.standard_normal((n, 4096), dtype=cp.float32) for _ in range(3))
    b, db = rng.standard_normal(4096, dtype=cp.float32), cp.empty(4096, dtype=cp.float32)
    ones = cp.ones((1, n), dtype=cp.float32)
    ms = lambda fn: gpu_time(fn, 30)[0] * 1e3  # noqa: E731
    return {
        "params": P,
        "adam_ms": ms(lambda: kern.adam_step(p, g, (m, v, None), reseau.optim.Adam(1e-3).coefficients(lr, 5))),
        "guard_ms": ms(lambda: kern.step_ok(loss, g)),
        "bias_sums_cupy_sum_ms": 2 * ms(lambda: cp.sum(dZ, axis=0, out=db)),
        "bias_sums_gemm_ms": 2 * ms(lambda: kern.blas.matmul(ones, dZ, db.reshape(1, -1))),
        "bias_relu_forward_ms": 2 * ms(lambda: ck._BIAS_ACT["relu"](Z, b, Z, A)),
        "relu_grad_ms": 2 * ms(lambda: ck._ACT_GRAD["relu"](dZ, Z, A, dZ)),
    }


def host_time(fn, reps, warm=3):
    """Median and min seconds of fn() on the host clock (fn ends in a device sync)."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def step_times(key) -> dict:
    """Per step, two ways: "synced", each step waited for (CUDA events; host clock for JAX, which
    runs on its own stream), and "pipelined", K steps queued back to back and waited for once (how
    fit runs), divided by K."""
    import cupy as cp

    spec = benchmark.Spec(key, *benchmark.SIZES[key])
    reps, k = (10, 20) if key == "L" else (30, 100)
    makers = {
        "cuBLAS GEMM floor": lambda spec: benchmark.gemm_floor(spec, cp),
        "reseau cupy, CUDA graph": benchmark.reseau_method("cupy", cuda_graph=True),  # fit(cuda_graph=True)
        "reseau cupy, eager": benchmark.reseau_method("cupy"),  # fit's default
        "reseau jax": benchmark.reseau_method("jax"),
        "JAX+optax (jit)": benchmark.optax_method,
        "PyTorch CUDA (fused Adam)": benchmark.torch_method("cuda"),
    }
    rows = {}
    for name, make in makers.items():
        try:
            method = make(spec)
            on_jax = name in ("reseau jax", "JAX+optax (jit)")  # JAX's own stream: host clocks around a sync
            synced = host_time(method.step, reps) if on_jax else gpu_time(method.step, reps)
            piped = host_time(lambda: method.run(k), max(3, reps // 3), warm=1)
            rows[name] = (synced, (piped[0] / k, piped[1] / k))
        except Exception as exc:  # report, keep going
            rows[name] = f"failed: {type(exc).__name__}: {exc}"[:300]
    floor = rows["cuBLAS GEMM floor"]
    out = {}
    for name, r in rows.items():
        if isinstance(r, str) or isinstance(floor, str):
            out[name] = r
            continue
        out[name] = {
            "synced_ms": r[0][0] * 1e3,
            "synced_min_ms": r[0][1] * 1e3,
            "synced_vs_floor": r[0][0] / floor[0][0],
            "pipelined_ms": r[1][0] * 1e3,
            "pipelined_min_ms": r[1][1] * 1e3,
            "pipelined_vs_floor": r[1][0] / floor[1][0],
        }
    return out


def cublas_floor(spec, precision):
    """The step's GEMMs alone through reseau's cuBLAS handle in ``precision``: SGEMM (fp32), SGEMM
    with TF32 tensor-op math (tf32), or GemmEx on operands already in bfloat16 (bf16)."""
    import cupy as cp

    from reseau.kernels import cublas

    blas = cublas.for_current_device(cp)
    if blas is None:
        raise RuntimeError("libcublas was not found beside CuPy")
    sizes, n = spec.sizes, spec.n
    rng = np.random.default_rng(0)
    Ws = [cp.asarray(rng.standard_normal(sh).astype(np.float32)) for sh in zip(sizes[:-1], sizes[1:])]
    As = [cp.asarray(rng.standard_normal((n, w)).astype(np.float32)) for w in sizes]
    dAs, dWs = [cp.empty((n, w), np.float32) for w in sizes], [cp.empty_like(W) for W in Ws]
    if precision == "bf16":  # the operands as bf16 bits, in the layouts the GEMMs read
        from reseau.kernels.cupy_kernels import _TO_BF16

        def bf16(M):
            out = cp.empty(M.shape, cp.uint16)
            _TO_BF16(M, out)
            return out

        W16, WT16 = [bf16(W) for W in Ws], [bf16(W.T) for W in Ws]
        A16, AT16 = [bf16(A) for A in As], [bf16(A.T) for A in As]

        def products():
            for l in range(len(Ws)):
                blas.matmul_bf16(A16[l], W16[l], As[l + 1])
            for l in reversed(range(len(Ws))):
                blas.matmul_bf16(AT16[l], A16[l + 1], dWs[l])
                if l > 0:
                    blas.matmul_bf16(A16[l + 1], WT16[l], dAs[l])
    else:

        def products():
            for l, W in enumerate(Ws):
                blas.matmul(As[l], W, As[l + 1], tf32=precision == "tf32")
            for l in reversed(range(len(Ws))):
                blas.matmul(As[l].T, As[l + 1], dWs[l], tf32=precision == "tf32")
                if l > 0:
                    blas.matmul(As[l + 1], Ws[l].T, dAs[l], tf32=precision == "tf32")

    def run(k):
        for _ in range(k):
            products()
        cp.cuda.get_current_stream().synchronize()

    return benchmark.Method(lambda: run(1), run=run)


def precision_times(key, dry=False) -> dict:
    """Each precision's step against that precision's GEMM floor, medians of steps queued back to
    back (as fit runs them): cuBLAS floors fp32 / tf32 / bf16, reseau CuPy (CUDA graph) and JAX in
    each precision, PyTorch CUDA in fp32, TF32 and autocast(bfloat16) with fused Adam. ``dry``:
    the rows that run without a GPU (reseau JAX on the CPU, S only, few steps), the rest reported
    as skipped: the code path, not a measurement."""
    spec = benchmark.Spec(key, *benchmark.SIZES[key])
    reps, k = (2, 3) if dry else ((6, 10) if key == "L" else (10, 50))
    rows = {}
    for precision in ("fp32", "tf32", "bf16"):
        makers = {
            f"cuBLAS floor {precision}": (lambda spec, p=precision: cublas_floor(spec, p), True),
            f"reseau cupy {precision}, CUDA graph": (
                benchmark.reseau_method("cupy", cuda_graph=True, precision=precision),
                True,
            ),
            f"reseau jax {precision}": (benchmark.reseau_method("jax", precision=precision), False),
            f"PyTorch CUDA {precision}": (benchmark.torch_method("cuda", precision), True),
        }
        for name, (make, needs_gpu) in makers.items():
            if dry and needs_gpu:
                rows[name] = "skipped: dry run (needs a CUDA GPU)"
                continue
            try:
                method = make(spec)
                piped = host_time(lambda: method.run(k), reps, warm=1)
                rows[name] = {"pipelined_ms": piped[0] / k * 1e3, "pipelined_min_ms": piped[1] / k * 1e3}
            except Exception as exc:  # report, keep going
                rows[name] = f"failed: {type(exc).__name__}: {exc}"[:300]
        floor = rows[f"cuBLAS floor {precision}"]
        for name in makers:
            if isinstance(rows[name], dict) and isinstance(floor, dict):
                rows[name]["vs_floor"] = rows[name]["pipelined_ms"] / floor["pipelined_ms"]
    return rows


def _print_precision_rows(results):
    for key in [k for k in results if k.startswith("precision ")]:
        print(f"\n{key}: pipelined ms per step (x the same precision's cuBLAS floor)")
        rows = results[key]
        if not isinstance(rows, dict):
            print(" ", rows)
            continue
        for name, r in rows.items():
            shown = (
                f"{r['pipelined_ms']:10.4f}" + (f" {r['vs_floor']:6.2f}" if "vs_floor" in r else "")
                if isinstance(r, dict)
                else r
            )
            print(f"  {name:32} {shown}")


def dry_run(out: Path) -> dict:
    """Without a GPU: every section's code path that can run on the CPU (the JAX precision rows on S),
    the rest reported as skipped; writes results.json and prints the table."""
    results = {"dry_run": True, "python": platform.python_version(), "precision S": precision_times("S", dry=True)}
    (out / "results.json").write_text(json.dumps(results, indent=1))
    _print_precision_rows(results)
    return results


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    dry = "--dry-run" in argv
    argv = [a for a in argv if a != "--dry-run"]
    out = Path(argv[0] if argv else "gpu-check")
    out.mkdir(parents=True, exist_ok=True)
    if dry:
        return dry_run(out)
    results = {"python": platform.python_version()}
    try:
        results["nvidia-smi"] = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        results["nvidia-smi"] = str(exc)
    for lib in ("cupy", "jax", "numpy", "torch"):
        try:
            results[lib] = __import__(lib).__version__
        except ImportError:
            results[lib] = "not installed"
    results["tests"] = run_tests(out)
    sections = [("train", train_on_gpu), ("adam", adam_bandwidth)]
    sections += [(key, lambda key=key: step_times(key)) for key in SIZES] + [("L_parts", l_parts)]
    sections += [(f"precision {key}", lambda key=key: precision_times(key)) for key in ("M", "L")]
    for name, fn in sections:
        if time.perf_counter() - T0 > BUDGET_S:
            results[name] = f"not run: the check had used {BUDGET_S} s"
            continue
        try:
            results[name] = fn()
        except Exception as exc:
            results[name] = f"failed: {type(exc).__name__}: {exc}"[:500]
        (out / "results.json").write_text(json.dumps(results, indent=1))
    print_summary(results)
    return results


def print_summary(results):
    """The short table, last: the device and versions, failed tests, then each section's rows."""
    print(json.dumps({k: results[k] for k in ("nvidia-smi", "cupy", "jax", "torch")}, indent=1))
    failed = results["tests"]["failed"]
    for line in failed[:25]:
        print(line[:200])
    if len(failed) > 25:
        print(f"... and {len(failed) - 25} more in pytest.txt")
    print(
        f"\ntests: {results['tests']['summary']} (exit {results['tests']['returncode']}, "
        f"{results['tests']['seconds']:.0f} s)"
    )
    train = results["train"]
    for backend, line in train.items() if isinstance(train, dict) else [("train", train)]:
        print(f"reseau train --backend {backend}: {line}")
    adam = results["adam"]
    if isinstance(adam, dict):
        print(
            f"Adam on {adam['params']:,} params: {adam['adam_ms']:.3f} ms, {adam['adam_GBps']:.0f} GB/s = "
            f"{adam['adam_vs_copy']:.2f} x copy bandwidth ({adam['copy_GBps']:.0f} GB/s); target >= 0.80"
        )
    else:
        print("Adam:", adam)
    for key in ("S", "M", "L"):
        print(f"\n{key}: {SIZES[key][0]}, batch {SIZES[key][2]}")
        rows = results[key]
        if not isinstance(rows, dict):
            print(" ", rows)
            continue
        print(f"{'method':26} {'synced ms':>10} {'x floor':>8} {'pipelined ms':>13} {'x floor':>8}  (medians)")
        for name, r in rows.items():
            if isinstance(r, dict):
                print(
                    f"{name:26} {r['synced_ms']:10.4f} {r['synced_vs_floor']:8.2f} {r['pipelined_ms']:13.4f} "
                    f"{r['pipelined_vs_floor']:8.2f}"
                )
            else:
                print(f"{name:26} {r}")
    parts = results.get("L_parts")
    if isinstance(parts, dict):
        print(
            "\nL step parts (ms, medians): "
            + ", ".join(f"{k[:-3]} {v:.4f}" for k, v in parts.items() if k.endswith("_ms"))
        )
    _print_precision_rows(results)


if __name__ == "__main__":
    main()
