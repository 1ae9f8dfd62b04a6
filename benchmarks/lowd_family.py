"""Lloyd on few features: centroids side by side with scikit-learn on a small family.

Run from the project root::

    .venv/bin/python benchmarks/lowd_family.py [--rows 1000000] [--features 2,4,8,12,16]
                                               [--clusters 16] [--dtype float64] [--repeats 2]

Every draw is make_blobs with overlapping clusters (std 3 in a (-10, 10) box, as the
suite's W1), rows in random order. In one process, after a warm-up fit of each (numba
compiled, scikit-learn imported), each implementation fits ``k`` clusters with
k-means++, one initialisation and Lloyd's iterations (``algorithm='lloyd'``; centroids
with its default ``refine='auto'``), ``repeats`` times alternating, and the fastest fit
of each is kept. Reported per draw: both fit times and their ratio, both iteration
counts, centroids' milliseconds per Lloyd pass (its fused assignment-and-sums pass on
the fitted centers, the fastest of 5) against the memory floor of one read of X (at
``--bandwidth`` GB/s) and the seeding's share; then the worst and median ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import source_revision


def fastest(run, repeats):
    """(the fastest wall time of ``repeats`` calls of ``run``, the last result)."""
    best, result = np.inf, None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", default="2,4,8,12,16")
    parser.add_argument("--clusters", type=int, default=16)
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--bandwidth", type=float, default=15.0, help="GB/s for the floor")
    args = parser.parse_args(argv)

    import numba
    from sklearn.cluster import KMeans as SKMeans
    from sklearn.datasets import make_blobs
    from threadpoolctl import threadpool_limits

    from centroids import KMeans
    from centroids.engine import engine_data
    from centroids.engine.lloyd import assign_and_sum
    from centroids.engine.seeding import initial_centers

    k = args.clusters
    print(
        f"# Lloyd on few features: {args.rows:,} rows, k = {k}, {args.dtype}, "
        f"random order; {numba.get_num_threads()} numba threads; revision {source_revision()}"
    )
    print()
    print(
        "| d | centroids s | sklearn s | ratio | iterations (ours / sklearn) | "
        "ms per pass | floor ms | seeding s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    ratios = []
    for d in (int(v) for v in args.features.split(",")):
        X, _ = make_blobs(
            n_samples=args.rows,
            n_features=d,
            centers=k,
            cluster_std=3.0,
            center_box=(-10.0, 10.0),
            random_state=0,
        )
        X = np.ascontiguousarray(X, dtype=args.dtype)
        ours = KMeans(k, n_init=1, algorithm="lloyd", random_state=0)
        theirs = SKMeans(k, n_init=1, algorithm="lloyd", random_state=0)
        ours.fit(X[:20_000])
        theirs.fit(X[:20_000])
        ours_s = theirs_s = np.inf
        for _ in range(args.repeats):
            ours_s = min(ours_s, fastest(lambda m=ours, X=X: m.fit(X), 1)[0])
            theirs_s = min(theirs_s, fastest(lambda m=theirs, X=X: m.fit(X), 1)[0])
        data = engine_data(X)
        w = np.ones(args.rows, dtype=X.dtype)
        centers = ours.cluster_centers_.astype(X.dtype)
        pass_s, _ = fastest(lambda a=(data, w, centers): assign_and_sum(*a), 5)
        with threadpool_limits(1, "blas"):
            seed_s, _ = fastest(
                lambda a=(data, X, k, "k-means++", w): initial_centers(
                    *a, np.random.RandomState(0)
                ),
                1,
            )
        floor_ms = X.nbytes / (args.bandwidth * 1e9) * 1e3
        ratio = ours_s / theirs_s
        ratios.append(ratio)
        print(
            f"| {d} | {ours_s:.3f} | {theirs_s:.3f} | {ratio:.2f} | "
            f"{ours.n_iter_} / {theirs.n_iter_} | {pass_s * 1e3:.1f} | {floor_ms:.1f} | "
            f"{seed_s:.3f} |",
            flush=True,
        )
    print()
    print(
        f"ratio (centroids / scikit-learn time): worst {max(ratios):.2f}, "
        f"median {statistics.median(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
