"""Refinement of fits with many clusters for their rows (``refine='auto'``'s "local" mode).

Where the subsample ``refine='auto'`` would swap on holds more than half the rows (many
clusters, few rows each), the default runs random swap on every row with its trial work
capped at a share of the fit's own work (``centroids.engine.refine.local_work_budget``).
This compares, on the same array in one process and interleaved:

- ours: ``centroids.KMeans(k, random_state=s)`` with every setting at its default;
- plain: the same with ``refine=False`` (what the default did before for these fits);
- sklearn: ``sklearn.cluster.KMeans(k, n_init=1, random_state=s)``;
- sklearn10: the same with ``n_init=10`` (its best of ten starts), unless ``--no-best10``.

Families (seeded, rows in random order, true centers = the generating means):

- ``separated``: n log-uniform in 10^4..10^5, k in 100..1000, d in 2..128 (n·d·k capped by
  ``--cap``), Gaussian blobs at uniform places in a (-10, 10) box, spread 0.08 of the
  spacing ``20 k^(-1/d)`` (the grid's "separated" draws; at small d some blobs touch);
- ``grid2d``: birch1-shaped, side x side Gaussian clusters on a unit grid, neighbours
  4√2 σ apart, 100,000 rows, k = 225, 400, 900 (the SIPU birch sets' shape at larger k);
- ``draw8``: the generated grid's draw that showed the problem
  (``benchmarks/grid.py``, ``draw_workloads(seed=1, draws=16, caps={'work': 2e8,
  'cells': 5e7})[8]``: 10,000 x 108 float32, k = 185).

Reported per draw: the mode ``'auto'`` took, inertia ratios ours / plain, ours / sklearn
n_init=1, ours / sklearn best of 10, CI (centroid index, Fränti et al. 2014) of each
against the true means, and time ratios ours / plain and sklearn / ours; then worst and
median over the draws.

    PYTHONPATH=src python benchmarks/refine_local.py --draws 8 --seeds 2
    PYTHONPATH=src python benchmarks/refine_local.py --threads 1 ...   # both on one thread
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def separated(rng, cap):
    """One draw of the ``separated`` family: (X float64, true means, name)."""
    n = round(math.exp(rng.uniform(math.log(1e4), math.log(1e5))))
    k = round(math.exp(rng.uniform(math.log(100), math.log(1000))))
    d = round(math.exp(rng.uniform(math.log(2), math.log(128))))
    d = max(2, min(d, int(cap // (n * k))))
    import numpy as np

    means = rng.uniform(-10, 10, size=(k, d))
    spacing = 20.0 * k ** (-1.0 / d)
    labels = rng.integers(k, size=n)
    X = means[labels] + rng.standard_normal((n, d)) * (0.08 * spacing)
    return np.ascontiguousarray(X), means, f"separated {n:,} x {d}, k={k}"


def grid2d(rng, side):
    """birch1-shaped: side² clusters on a unit grid, σ = 1 / (4√2), 100,000 rows."""
    import numpy as np

    means = np.array([(i, j) for i in range(side) for j in range(side)], dtype=float)
    labels = rng.integers(side * side, size=100_000)
    X = means[labels] + rng.normal(scale=1.0 / (4.0 * math.sqrt(2.0)), size=(labels.size, 2))
    return np.ascontiguousarray(X), means, f"grid2d 100,000 x 2, k={side * side}"


def draw8():
    """The grid draw of the finding, with its generating means (float32)."""
    import numpy as np
    from grid import draw_workloads, make_data

    draw = draw_workloads(seed=1, draws=16, caps={"work": 2e8, "cells": 5e7})[8]
    X = make_data(draw)
    rng = np.random.default_rng(draw.data_seed)
    rng.integers(draw.k, size=draw.n)  # make_data's labels, then its centers
    means = rng.uniform(-10, 10, size=(draw.k, draw.d))
    return X, means, f"draw8 {draw.n:,} x {draw.d}, k={draw.k}, float32"


def centroid_index(found, true):
    """CI: the larger, over both directions, of the centers nearest of none."""
    import numpy as np

    def orphans(a, b):
        sq = (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None]
        return len(b) - len(np.unique(np.argmin(sq, axis=1)))

    return max(orphans(found, true), orphans(true, found))


def timed(make):
    start = time.perf_counter()
    model = make()
    return model, time.perf_counter() - start


def run_draw(X, means, name, seeds, best10):
    from sklearn.cluster import KMeans as SKKMeans
    from suite import float64_inertia

    from centroids import KMeans
    from centroids.engine.data import engine_data
    from centroids.engine.refine import refine_mode

    k = means.shape[0]
    mode = refine_mode("auto", engine_data(X), k)
    # compile what the shape selects (the swap kernel too) before the timed fits
    KMeans(k, random_state=0, max_iter=3, refine=True).fit(X[: max(4 * k, 2000)])
    rows = []
    for seed in seeds:
        fits = {
            "ours": lambda s=seed: KMeans(k, random_state=s).fit(X),
            "plain": lambda s=seed: KMeans(k, random_state=s, refine=False).fit(X),
            "sklearn": lambda s=seed: SKKMeans(k, n_init=1, random_state=s).fit(X),
        }
        if best10:
            fits["sklearn10"] = lambda s=seed: SKKMeans(k, n_init=10, random_state=s).fit(X)
        row = {"name": name, "seed": seed, "mode": mode}
        for method, make in fits.items():
            model, seconds = timed(make)
            row[method] = {
                "inertia": float64_inertia(X, model.cluster_centers_),
                "time": seconds,
                "ci": centroid_index(model.cluster_centers_.astype(float), means),
                "n_iter": int(model.n_iter_),
            }
        rows.append(row)
        print(_row_text(row), flush=True)
    return rows


def _row_text(row):
    ours, plain, sk = row["ours"], row["plain"], row["sklearn"]
    text = (
        f"{row['name']} s{row['seed']} [{row['mode']}]: ours/plain "
        f"{ours['inertia'] / plain['inertia']:.4f} ours/sk1 {ours['inertia'] / sk['inertia']:.4f}"
    )
    if "sklearn10" in row:
        text += f" ours/sk10 {ours['inertia'] / row['sklearn10']['inertia']:.4f}"
    text += (
        f" | CI ours {ours['ci']} plain {plain['ci']} sk1 {sk['ci']}"
        f" | time ours {ours['time']:.2f}s plain {plain['time']:.2f}s sk1 {sk['time']:.2f}s"
        f" ours/plain {ours['time'] / plain['time']:.2f} sk1/ours {sk['time'] / ours['time']:.2f}"
        f" | iters ours {ours['n_iter']} plain {plain['n_iter']}"
    )
    return text


def summary(rows):
    def stat(values, worst):
        values = sorted(values)
        return f"{worst(values):.4f} (median {statistics.median(values):.4f})"

    def ratio(a, b, key):
        return [r[a][key] / r[b][key] for r in rows if b in r]

    lines = [f"draws x seeds: {len(rows)}"]
    lines.append("ours/plain inertia, worst: " + stat(ratio("ours", "plain", "inertia"), max))
    lines.append("ours/sk1 inertia, worst: " + stat(ratio("ours", "sklearn", "inertia"), max))
    if any("sklearn10" in r for r in rows):
        best10 = stat(ratio("ours", "sklearn10", "inertia"), max)
        lines.append("ours/sk10 inertia, worst: " + best10)
    lines.append("ours/plain time, worst: " + stat(ratio("ours", "plain", "time"), max))
    lines.append("sk1/ours time, worst: " + stat(ratio("sklearn", "ours", "time"), min))
    for method in ("ours", "plain", "sklearn"):
        cis = [r[method]["ci"] for r in rows]
        zero = sum(c == 0 for c in cis)
        lines.append(f"CI {method}: mean {statistics.mean(cis):.2f}, max {max(cis)}, CI=0 {zero}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=6, help="separated-family draws")
    parser.add_argument("--seeds", type=int, default=2, help="random_state 0..seeds-1")
    parser.add_argument("--family-seed", type=int, default=0)
    parser.add_argument("--cap", type=float, default=4e8, help="most n*d*k of a draw")
    parser.add_argument("--families", default="draw8,grid2d,separated")
    parser.add_argument("--no-best10", action="store_true", help="skip sklearn n_init=10")
    parser.add_argument("--threads", type=int, default=None, help="numba and OpenMP threads")
    args = parser.parse_args(argv)
    if args.threads:
        os.environ["NUMBA_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import numpy as np

    families = args.families.split(",")
    seeds = range(args.seeds)
    rows = []
    if "draw8" in families:
        rows += run_draw(*draw8(), seeds, not args.no_best10)
    if "grid2d" in families:
        for side in (15, 20, 30):
            rows += run_draw(*grid2d(np.random.default_rng(side), side), seeds, not args.no_best10)
    if "separated" in families:
        rng = np.random.default_rng(args.family_seed)
        for _ in range(args.draws):
            rows += run_draw(*separated(rng, args.cap), seeds, not args.no_best10)
    print(summary(rows))


if __name__ == "__main__":
    main()
