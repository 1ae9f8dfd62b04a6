"""Greedy k-means++ seeding against scikit-learn's ``kmeans_plusplus`` on a generated
family of shapes, side by side in one process (issue 16, speed on generated data).

Each shape is drawn from the seed: n log-uniform in 10^4..3·10^5, d in 2..512, k in
8..1500 (at most n / 8, and n·d·k capped so a draw takes seconds), the rows random or
sorted along the first feature, float32 or float64, data as ``grid.make_data`` makes
it (blobs of a random spread, or uniform). Per shape: ours
(``kmeans_plusplus_centers``, from the raw array: the engine's data adapter is built
inside the timing, as sklearn's row norms are in its) and ``sklearn.cluster.
kmeans_plusplus`` with the same ``RandomState(0)``, interleaved, best of ``repeats``;
the ratio is ours / sklearn's (below 1: ours is faster). Also whether the picked rows
are the same (float64: they should be; float32 rows follow exact arithmetic, sklearn's
float32 products may pick others). The first call of ours compiles (excluded: one
untimed warm-up call per shape).

Both sides run on ``threads`` threads (numba's and BLAS's; default 1): on the shared
2-core machine a parallel pass of a millisecond waits for a scheduler slice whenever
another process holds a core, which swamps the comparison (measured 2026-12-07: one
candidate pass of 87,271 x 9 took 1.1 ms on one thread, 6.7 ms on two under load).

Usage: ``python benchmarks/seeding_family.py [seed] [shapes] [repeats] [threads]``
(default 0, 12, 3, 1).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus

sys.path.insert(0, str(Path(__file__).parent))

from grid import Draw, make_data

from centroids.engine import engine_data
from centroids.engine.seeding import kmeans_plusplus_centers

#: Largest n·d·k of a draw (a seeding of 5e8 takes about a second on one thread).
WORK_CAP = 5e8


def draw_shapes(seed: int, count: int) -> list[Draw]:
    """``count`` shapes from ``seed``: orders and dtypes balanced, spreads rotated."""
    rng = np.random.default_rng(seed)
    spreads = ("separated", "overlapping", "uniform")
    shapes = []
    for i in range(count):
        n = round(float(np.exp(rng.uniform(np.log(1e4), np.log(3e5)))))
        d = round(float(np.exp(rng.uniform(np.log(2), np.log(512)))))
        k = round(float(np.exp(rng.uniform(np.log(8), np.log(1500)))))
        k = max(8, min(k, n // 8, int(WORK_CAP // (n * d))))
        order = ("random", "sorted")[i % 2]
        dtype = ("float32", "float64")[(i // 2) % 2]
        spread = spreads[int(rng.integers(3))]
        shapes.append(
            Draw(i, n, d, k, spread, order, dtype, "dense", 1.0, int(rng.integers(2**31)))
        )
    return shapes


def ours(X, k):
    data = engine_data(X)
    w = np.ones(X.shape[0])
    return kmeans_plusplus_centers(data, k, w, np.random.RandomState(0))[1]


def theirs(X, k):
    return sklearn_kmeans_plusplus(X, k, random_state=np.random.RandomState(0))[1]


def time_pair(X, k, repeats):
    """Best-of-``repeats`` seconds of ours and sklearn's, interleaved, and their rows."""
    rows_ours = ours(X, k)  # warm-up: compiles on the first shape of a kind
    best = [np.inf, np.inf]
    rows = [rows_ours, None]
    for _ in range(repeats):
        for side, seeder in enumerate((ours, theirs)):
            start = time.perf_counter()
            rows[side] = seeder(X, k)
            best[side] = min(best[side], time.perf_counter() - start)
    return best, rows


def main(seed=0, count=12, repeats=3, threads=1):
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(threads)
    with threadpool_limits(threads):
        _compare(seed, count, repeats)


def _compare(seed, count, repeats):
    ratios = []
    print(f"{'shape':<48} {'ours s':>8} {'sklearn s':>9} {'ratio':>6} same rows")
    for shape in draw_shapes(seed, count):
        X = make_data(shape)
        (t_ours, t_sk), (r_ours, r_sk) = time_pair(X, shape.k, repeats)
        ratio = t_ours / t_sk
        ratios.append(ratio)
        label = f"{shape.n}x{shape.d} k={shape.k} {shape.spread[:4]} {shape.order} {shape.dtype}"
        same = bool(np.array_equal(r_ours, r_sk))
        print(f"{label:<48} {t_ours:8.3f} {t_sk:9.3f} {ratio:6.2f} {same}", flush=True)
    ratios = np.asarray(ratios)
    print(
        f"ratio ours/sklearn: worst {ratios.max():.2f}  q75 {np.quantile(ratios, 0.75):.2f}  "
        f"median {np.median(ratios):.2f}  q25 {np.quantile(ratios, 0.25):.2f}  "
        f"best {ratios.min():.2f}"
    )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
