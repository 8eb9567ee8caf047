"""Soak: 100 000 training steps of a small model, watching the process's memory.

    python bench/soak.py [--steps 100000] [--backend numpy]

Prints the resident memory every 10 000 steps and the growth between the first and the last
check; a leak of even a few bytes a step shows as megabytes. Not a test: it takes a minute or two.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import reseau  # noqa: E402
from reseau import optim  # noqa: E402


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--backend", default="numpy")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 30)).astype(np.float32), rng.integers(0, 2, 64)
    model = reseau.MLP([30, 16, 1], hidden="tanh", backend=args.backend, seed=0, dropout=0.1)
    model.fit(X, y, epochs=1, batch_size=64, optimizer=optim.Adam(1e-3))
    bk = model.backend
    step, p, s = model.training_step()  # the fit's optimiser, in the form fit steps in
    Xd, Yd = bk.asarray(X, dtype=model.dtype), bk.asarray(model.encode_targets(y))
    readings, t0 = [], time.perf_counter()
    for t in range(args.steps + 1):
        if t % 10_000 == 0:
            bk.sync(p)
            readings.append(rss_bytes())
            print(f"step {t:>7}: {readings[-1] / 2**20:8.2f} MiB resident", flush=True)
        p, s, loss = step(p, s, Xd, Yd, t + 1)
    seconds = time.perf_counter() - t0
    growth = readings[-1] - readings[1] if len(readings) > 2 else readings[-1] - readings[0]
    print(
        f"{args.steps} steps in {seconds:.1f} s; memory growth after the first 10 000 steps: "
        f"{growth / 1024:.1f} KiB; final loss {float(bk.to_numpy(loss)):.4f}"
    )


if __name__ == "__main__":
    main()
