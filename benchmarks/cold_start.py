"""The cold first call (issue 16 item 5): first fit and `make demo`'s job with an empty numba cache.

Every run is a fresh process with ``NUMBA_CACHE_DIR`` set to a new, empty folder, so
nothing compiled earlier (on disk or in memory) is reused. Measured:

- **first fit**: ``KMeans(n_clusters=8, random_state=0).fit`` on 10,000 x 8 normal rows
  (float64, or ``--dtype float32``), then the same fit again in the same process (warm),
  and the number of specialisations of centroids' kernels in the process (compiled,
  or loaded from the cache: a kernel inlined into a cached caller is not counted then);
- **demo job** (``--demo``): the ``centroids segment`` command ``examples/demo.py`` runs,
  on the same 50,000 generated customers, cold (empty cache) and then warm (same cache,
  a fresh database), and the ratio cold / warm;
- with ``--warmup``, ``centroids warmup`` first runs once into an empty cache (timed), as
  the install does, and every run starts from a fresh copy of that cache: the cold
  figures are then those a user meets in a new process after installing.

    .venv/bin/python benchmarks/cold_start.py --runs 3 --demo
    .venv/bin/python benchmarks/cold_start.py --runs 3 --demo --warmup

Prints one Markdown table per measurement: every run, the median and the worst.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def _fresh_cache(folder, warmed):
    """A cache folder for one run: empty, or a copy of the warmed-up cache ``warmed``."""
    cache = Path(folder) / "numba-cache"
    if warmed is None:
        cache.mkdir()
    else:
        shutil.copytree(warmed, cache)
    return cache


def warm_cache(folder):
    """Run ``centroids warmup`` into a new cache under ``folder``: (its path, seconds)."""
    cache = Path(folder) / "warmed"
    cache.mkdir()
    seconds, _ = _timed([sys.executable, "-m", "centroids", "warmup"], _env(cache))
    return cache, seconds


def fit_run(dtype, warmed):
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as folder:
        env = _env(_fresh_cache(folder, warmed))
        _, out = _timed([sys.executable, "-c", FIT_CHILD, dtype], env)
        return json.loads(out.strip().splitlines()[-1])


def demo_run(warmed, data):
    segment = [sys.executable, "-m", "centroids", "segment", str(data)]
    segment += ["--id-column", "customer_id"]
    with tempfile.TemporaryDirectory(prefix="numba-cold-") as folder:
        env = _env(_fresh_cache(folder, warmed))
        times = []
        for attempt in ("cold", "warm"):
            out = Path(folder) / attempt
            out.mkdir()
            command = [
                *segment,
                "--db", f"sqlite:///{out / 'segments.db'}",
                "--report", str(out / "report.html"),
                "--out", str(out / "labels.csv"),
            ]  # fmt: skip
            times.append(_timed(command, env)[0])
        return {"cold_s": times[0], "warm_s": times[1]}


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
    with tempfile.TemporaryDirectory(prefix="numba-warmed-") as folder:
        warmed = None
        if args.warmup:
            warmed, seconds = warm_cache(folder)
            print(f"`centroids warmup` into an empty cache: {seconds:.1f} s")
        _report(args, warmed)


def _report(args, warmed):
    label = "after `centroids warmup` (a copy of its cache)" if warmed else "empty cache"
    if not args.no_fit:
        runs = [fit_run(args.dtype, warmed) for _ in range(args.runs)]
        print(f"\nFirst fit, 10,000 x 8 {args.dtype}, k = 8, {label}:\n")
        print("| run | import s | cold fit s | warm fit s | centroids specialisations |")
        print("| ---: | ---: | ---: | ---: | ---: |")
        for i, r in enumerate(runs, 1):
            print(
                f"| {i} | {r['import_s']:.2f} | {r['cold_s']:.2f} | {r['warm_s']:.3f} "
                f"| {r['specialisations']} |"
            )
            assert r["same_centers"], "the cold and warm fits differ"
        print(f"\ncold fit median (worst): {_summary([r['cold_s'] for r in runs])} s")
    if args.demo:
        from centroids.datasets import make_customers

        with tempfile.TemporaryDirectory(prefix="demo-data-") as folder:
            data = Path(folder) / "customers.csv"
            make_customers(50_000, missing_rate=0.001, random_state=0).to_csv(data, index=False)
            runs = [demo_run(warmed, data) for _ in range(args.runs)]
        print(f"\nDemo job (`centroids segment` on 50,000 customers), {label}:\n")
        print("| run | cold s | warm s | cold / warm |")
        print("| ---: | ---: | ---: | ---: |")
        for i, r in enumerate(runs, 1):
            ratio = r["cold_s"] / r["warm_s"]
            print(f"| {i} | {r['cold_s']:.1f} | {r['warm_s']:.1f} | {ratio:.2f} |")
        ratios = [r["cold_s"] / r["warm_s"] for r in runs]
        print(f"\ncold / warm median (worst): {_summary(ratios)}")


if __name__ == "__main__":
    main()
