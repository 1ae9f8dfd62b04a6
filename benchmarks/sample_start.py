"""The sample start of large dense fits against faiss-cpu and scikit-learn, same run.

Issue 16 item 1: a k-means++ fit whose pass is large starts from k-means++ and
iterations on a uniform subsample, then iterates on every row (see
``centroids.engine.seeding.sample_start``). This script times, per workload and seed,
in one process (each implementation warmed up once on the same data first):

- centroids' default ``KMeans(k, n_init=1, max_iter=100)``,
- faiss-cpu's ``Kmeans`` on every point (``max_points_per_centroid=n``), ``niter=100``,
- scikit-learn's ``KMeans(k, n_init=1, max_iter=100)`` (Lloyd),

and reports the time ratios ours / faiss and ours / scikit-learn and the inertia (float64,
every row to its nearest returned center) against scikit-learn's median over the seeds.
The workloads are the suite's W2 and W4 (``--workloads``) or a seeded family of
generated blobs (``--family N``: n 1e5-1e6, d 16-128, k 64-2048, spreads drawn,
float32/float64), work n·d·k capped by ``--max-work``::

    python benchmarks/sample_start.py --workloads W2,W4 --seeds 3
    python benchmarks/sample_start.py --family 6 --seeds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads as workload_data
from suite import MAX_ITER, float64_inertia


def fit_ours(X, k, seed):
    from centroids import KMeans

    start = time.perf_counter()
    model = KMeans(n_clusters=k, n_init=1, max_iter=MAX_ITER, random_state=seed).fit(X)
    return time.perf_counter() - start, model.cluster_centers_, int(model.n_iter_)


def fit_full_start(X, k, seed):
    """centroids with the start on every row (the sample start switched off)."""
    from unittest import mock

    from centroids.engine import driver

    with mock.patch.object(driver, "sample_start_rows", lambda *args: 0):
        return fit_ours(X, k, seed)


def fit_faiss(X, k, seed):
    import faiss

    X32 = np.ascontiguousarray(X, dtype=np.float32)
    model = faiss.Kmeans(
        X32.shape[1], k, niter=MAX_ITER, seed=seed, max_points_per_centroid=X32.shape[0]
    )
    start = time.perf_counter()
    model.train(X32)
    return time.perf_counter() - start, model.centroids, len(model.obj)


def fit_sklearn(X, k, seed):
    from sklearn.cluster import KMeans

    start = time.perf_counter()
    model = KMeans(n_clusters=k, n_init=1, max_iter=MAX_ITER, random_state=seed).fit(X)
    return time.perf_counter() - start, model.cluster_centers_, int(model.n_iter_)


FITS = {
    "centroids": fit_ours,
    "full-start": fit_full_start,
    "faiss": fit_faiss,
    "sklearn": fit_sklearn,
}


def family(n_draws, seed, max_work):
    """Seeded blob workloads: (name, X, k)."""
    from sklearn.datasets import make_blobs

    rng = np.random.default_rng(seed)
    drawn = 0
    while drawn < n_draws:
        n = int(10 ** rng.uniform(5, 6))
        d = int(2 ** rng.uniform(4, 7))
        k = int(2 ** rng.uniform(6, 11))
        if n * d * k > max_work:
            continue
        dtype = rng.choice(["float32", "float64"])
        n_true = int(k * rng.uniform(0.5, 3.0))
        stds = rng.uniform(0.3, 3.0, size=n_true) * rng.uniform(0.5, 2.0)
        X, _ = make_blobs(
            n_samples=n,
            n_features=d,
            centers=n_true,
            cluster_std=stds,
            center_box=(-10.0, 10.0),
            random_state=int(rng.integers(2**31)),
        )
        drawn += 1
        yield f"F{drawn} {n}x{d} k={k} {n_true} blobs {dtype}", np.ascontiguousarray(X, dtype), k


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="")
    parser.add_argument("--family", type=int, default=0)
    parser.add_argument("--family-seed", type=int, default=16)
    parser.add_argument("--max-work", type=float, default=4e10)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--peers", default="full-start,faiss,sklearn")
    args = parser.parse_args(argv)
    impls = ["centroids", *[p for p in args.peers.split(",") if p]]
    cases = []
    suite = workload_data.suite_workloads()
    for name in [w for w in args.workloads.split(",") if w]:
        w = suite[name]
        cases.append((name, workload_data.GENERATORS[name](w), w.n_clusters))
    cases.extend(family(args.family, args.family_seed, args.max_work))
    print(
        "| workload | ours/faiss | ours/sklearn | inertia ours/sklearn median (worst seed) "
        "| faiss/sklearn | ours s | faiss s | sklearn s | our n_iter | full start s "
        "| full start inertia/sklearn median (worst) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, X, k in cases:
        results = {impl: [] for impl in impls}
        for impl in impls:  # warm-up (compilation, thread pools) on this very data
            FITS[impl](X, k, 0)
        for seed in range(args.seeds):
            for impl in impls:
                seconds, centers, n_iter = FITS[impl](X, k, seed)
                results[impl].append((seconds, float64_inertia(X, centers), n_iter))
                print(
                    f"{name} seed {seed} {impl}: {seconds:.2f} s, inertia "
                    f"{results[impl][-1][1]:.6g}, {n_iter} it",
                    file=sys.stderr,
                    flush=True,
                )
        t = {impl: statistics.median(r[0] for r in results[impl]) for impl in impls}
        inertia = {impl: [r[1] for r in results[impl]] for impl in impls}
        ref = statistics.median(inertia["sklearn"]) if "sklearn" in impls else np.nan
        ours = [v / ref for v in inertia["centroids"]]
        faiss_rel = statistics.median(inertia["faiss"]) / ref if "faiss" in impls else np.nan
        full_text = "– | –"
        if "full-start" in impls:
            rel = [v / ref for v in inertia["full-start"]]
            full_text = f"{t['full-start']:.2f} | {statistics.median(rel):.5f} ({max(rel):.5f})"
        print(
            f"| {name} | {t['centroids'] / t.get('faiss', np.nan):.2f} "
            f"| {t['centroids'] / t.get('sklearn', np.nan):.2f} "
            f"| {statistics.median(ours):.5f} ({max(ours):.5f}) | {faiss_rel:.5f} "
            f"| {t['centroids']:.2f} | {t.get('faiss', np.nan):.2f} "
            f"| {t.get('sklearn', np.nan):.2f} "
            f"| {statistics.median(r[2] for r in results['centroids'])} "
            f"| {full_text} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
