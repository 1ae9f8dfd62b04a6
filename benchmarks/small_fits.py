"""Small fits: does a default run reach the best known optimum, and at what cost?

Run from the project root::

    .venv/bin/python benchmarks/small_fits.py [--draws 40] [--seed 0] [--large]

On a seeded family of small problems (``make_blobs``: n 50-2,000, d 2-8, k 2-10,
cluster_std 0.5-4, one random seed per draw) it fits, in this process and on the same
data, centroids' default ``KMeans(k, random_state=s)``, scikit-learn's default
(``n_init='auto'``: one k-means++ run) and scikit-learn's best of 10
(``n_init=10``), and reports the fraction of draws where each default reaches the best
of 10 (inertia within a relative 1e-6 of it, or below), the worst ratio to it, and the
median time of each against scikit-learn's default. ``--large`` adds the fits the
restart budget must leave alone (10,000 × 8, k = 8 and 1,000,000 × 8, k = 16): the
default against ``n_init=1`` (the default before the budget), alternating, best of 3.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import OtherLoad, progress, python_command, source_revision
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs

from centroids import KMeans
from centroids.engine.driver import auto_restarts

REACHED = 1e-6


def _timed(make, X):
    start = time.perf_counter()
    model = make().fit(X)
    return model.inertia_, time.perf_counter() - start


def draws(count, seed):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(50, 2001))
        d = int(rng.integers(2, 9))
        k = int(rng.integers(2, 11))
        spread = float(rng.uniform(0.5, 4.0))
        state = int(rng.integers(1 << 30))
        X, _ = make_blobs(n, n_features=d, centers=k, cluster_std=spread, random_state=state)
        yield n, d, k, spread, state, X


def small_family(count, seed):
    rows = []
    for n, d, k, spread, state, X in draws(count, seed):
        best, t_best = _timed(lambda k=k, s=state: SkKMeans(k, n_init=10, random_state=s), X)
        ours, t_ours = _timed(lambda k=k, s=state: KMeans(k, random_state=s), X)
        theirs, t_theirs = _timed(lambda k=k, s=state: SkKMeans(k, random_state=s), X)
        rows.append((n, d, k, spread, ours / best, theirs / best, t_ours, t_theirs, t_best))
        progress(f"{n} x {d}, k={k}: ours/best {ours / best:.6f}, sklearn/best {theirs / best:.6f}")
    return rows


def large_fits():
    out = []
    for n, d, k in ((10_000, 8, 8), (1_000_000, 8, 16)):
        X, _ = make_blobs(n, n_features=d, centers=k, random_state=0)
        KMeans(k, random_state=0, max_iter=2).fit(X[:2000])
        times = {"default": [], "n_init=1": []}
        for _ in range(3):
            times["default"].append(_timed(lambda k=k: KMeans(k, random_state=0), X)[1])
            times["n_init=1"].append(_timed(lambda k=k: KMeans(k, n_init=1, random_state=0), X)[1])
        out.append((n, d, k, auto_restarts(X, k), min(times["default"]), min(times["n_init=1"])))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--large", action="store_true")
    args = parser.parse_args(argv)
    KMeans(3, random_state=0).fit(np.random.default_rng(0).normal(size=(200, 3)))
    with OtherLoad() as load:
        rows = small_family(args.draws, args.seed)
        large = large_fits() if args.large else []
    ours = np.array([r[4] for r in rows])
    theirs = np.array([r[5] for r in rows])
    print(f"# small fits ({source_revision()}; {python_command()} {' '.join(sys.argv[1:])})")
    print(f"{len(rows)} draws, seed {args.seed}: n 50-2000, d 2-8, k 2-10")
    print("| fit | reaches best of 10 | worst inertia / best | median time / sklearn default |")
    print("| --- | --- | --- | --- |")
    t_theirs = [r[7] for r in rows]
    for name, ratios, index in (
        ("centroids default", ours, 6),
        ("sklearn default", theirs, 7),
        ("sklearn n_init=10", np.ones(len(rows)), 8),
    ):
        reached = float(np.mean(ratios <= 1 + REACHED))
        time_ratio = statistics.median(r[index] / t for r, t in zip(rows, t_theirs, strict=True))
        print(f"| {name} | {reached:.0%} | {ratios.max():.5f} | {time_ratio:.2f} |")
    for n, d, k, runs, t_default, t_one in large:
        print(
            f"{n:,} x {d}, k={k}: {runs} run(s); default {t_default * 1e3:.1f} ms, "
            f"n_init=1 {t_one * 1e3:.1f} ms, ratio {t_default / t_one:.3f}"
        )
    if load.cores is not None:
        print(f"other load: {load.cores:.2f} cores over {load.elapsed:.0f} s")


if __name__ == "__main__":
    main()
