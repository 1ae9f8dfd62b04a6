"""The cold first call (issue 16 item 5): first fit and `make demo`'s job with an empty numba cache.

Every run is a fresh process with ``NUMBA_CACHE_DIR`` set to a new, empty folder, so
nothing compiled earlier (on disk or in memory) is reused. Measured:

- **first fit**: ``KMeans(n_clusters=8, random_state=0).fit`` on 10,000 x 8 normal rows
  (float64, or ``--dtype float32``), then the same fit again in the same process (warm),
  and the number of numba specialisations the process compiled;
- **demo job** (``--demo``): the ``centroids segment`` command ``examples/demo.py`` runs,
  on the same 50,000 generated customers, cold (empty cache) and then warm (same cache,
  a fresh database), and the ratio cold / warm;
- with ``--warmup``, every run first runs ``centroids warmup`` in its fresh cache (timed
  apart), as an install does; the cold figures are then those a user meets after it.

    .venv/bin/python benchmarks/cold_start.py --runs 3 --demo
    .venv/bin/python benchmarks/cold_start.py --runs 3 --demo --warmup

Prints one Markdown table per measurement: every run, the median and the worst.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIT_CHILD = r"""
import json, sys, time
started = time.perf_counter()
import numpy as np
import centroids
from numba.core.registry import CPUDispatcher
imported = time.perf_counter() - started
X = np.random.default_rng(0).normal(size=(10_000, 8)).astype(sys.argv[1])
t = time.perf_counter()
cold_centers = centroids.KMeans(n_clusters=8, random_state=0).fit(X).cluster_centers_
cold = time.perf_counter() - t
t = time.perf_counter()
warm_centers = centroids.KMeans(n_clusters=8, random_state=0).fit(X).cluster_centers_
warm = time.perf_counter() - t
import gc
n_spec = sum(
    len(o.overloads) for o in gc.get_objects()
    if isinstance(o, CPUDispatcher) and o.py_func.__module__.startswith("centroids")
)
print(json.dumps({"import_s": imported, "cold_s": cold, "warm_s": warm,
                  "specialisations": n_spec,
                  "same_centers": bool(np.array_equal(cold_centers, warm_centers))}))
"""


def _env(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def _timed(command, env, cwd=None):
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed:\n{completed.stdout}\n{completed.stderr}")
    return elapsed, completed.stdout


def _warmup(env):
    return _timed([sys.executable, "-m", "centroids", "warmup"], env)[0]


def fit_run(dtype, warmup):
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
        env = _env(cache)
        warmup_s = _warmup(env) if warmup else None
        _, out = _timed([sys.executable, "-c", FIT_CHILD, dtype], env)
        record = json.loads(out.strip().splitlines()[-1])
        record["warmup_s"] = warmup_s
        return record


def demo_run(warmup, data):
    segment = [sys.executable, "-m", "centroids", "segment", str(data)]
    segment += ["--id-column", "customer_id"]
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
        env = _env(cache)
        warmup_s = _warmup(env) if warmup else None
        times = []
        for attempt in ("cold", "warm"):
            out = Path(cache) / attempt
            out.mkdir()
            command = [
                *segment,
                "--db", f"sqlite:///{out / 'segments.db'}",
                "--report", str(out / "report.html"),
                "--out", str(out / "labels.csv"),
            ]  # fmt: skip
            times.append(_timed(command, env)[0])
        return {"warmup_s": warmup_s, "cold_s": times[0], "warm_s": times[1]}


def _summary(values):
    return f"{statistics.median(values):.2f} (worst {max(values):.2f})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--demo", action="store_true", help="also time the demo's job")
    parser.add_argument("--no-fit", action="store_true", help="skip the first-fit runs")
    parser.add_argument("--warmup", action="store_true", help="run `centroids warmup` first")
    args = parser.parse_args(argv)
    label = "after `centroids warmup`" if args.warmup else "empty cache"
    if not args.no_fit:
        runs = [fit_run(args.dtype, args.warmup) for _ in range(args.runs)]
        print(f"\nFirst fit, 10,000 x 8 {args.dtype}, k = 8, {label}:\n")
        print("| run | warm-up s | import s | cold fit s | warm fit s | specialisations |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for i, r in enumerate(runs, 1):
            w = "–" if r["warmup_s"] is None else f"{r['warmup_s']:.1f}"
            print(
                f"| {i} | {w} | {r['import_s']:.2f} | {r['cold_s']:.2f} | {r['warm_s']:.3f} "
                f"| {r['specialisations']} |"
            )
            assert r["same_centers"], "the cold and warm fits differ"
        print(f"\ncold fit median (worst): {_summary([r['cold_s'] for r in runs])} s")
    if args.demo:
        from centroids.datasets import make_customers

        with tempfile.TemporaryDirectory(prefix="demo-data-") as folder:
            data = Path(folder) / "customers.csv"
            make_customers(50_000, missing_rate=0.001, random_state=0).to_csv(data, index=False)
            runs = [demo_run(args.warmup, data) for _ in range(args.runs)]
        print(f"\nDemo job (`centroids segment` on 50,000 customers), {label}:\n")
        print("| run | warm-up s | cold s | warm s | cold / warm |")
        print("| ---: | ---: | ---: | ---: | ---: |")
        for i, r in enumerate(runs, 1):
            w = "–" if r["warmup_s"] is None else f"{r['warmup_s']:.1f}"
            print(
                f"| {i} | {w} | {r['cold_s']:.1f} | {r['warm_s']:.1f} "
                f"| {r['cold_s'] / r['warm_s']:.2f} |"
            )
        ratios = [r["cold_s"] / r["warm_s"] for r in runs]
        print(f"\ncold / warm median (worst): {_summary(ratios)}")


if __name__ == "__main__":
    main()
