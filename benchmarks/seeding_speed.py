"""Seeding speed and quality, side by side in one process (compile excluded).

Compares, on each workload: the unpruned greedy k-means++ the engine had before
(copied below as the baseline), the pruned one (``kmeans_plusplus_centers``),
``sklearn.cluster.kmeans_plusplus``, k-means|| and AFK-MC²; then the inertia of a Lloyd
run (``centroids.engine.lloyd``) from each seeding.

Usage: ``python benchmarks/seeding_speed.py [scale] [lloyd_max_iter] [workload ...]``
(scale multiplies the row counts; default 1.0 and 100).
"""

from __future__ import annotations

import itertools
import sys
import time

import numpy as np
from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus
from sklearn.datasets import make_blobs

from centroids.engine import blas_limited_to_one_thread, engine_data, lloyd
from centroids.engine.seeding import (
    _pruned_kmeans_plusplus,
    afkmc2_centers,
    kmeans_parallel_centers,
)


def unpruned_kmeans_plusplus(data, n_clusters, sample_weight, random_state):
    """The engine's greedy k-means++ before pruning (every distance computed)."""
    n = data.n_rows
    n_local_trials = 2 + int(np.log(n_clusters))
    weights = np.asarray(sample_weight, dtype=np.float64)
    probabilities = weights / weights.sum()
    centers = np.empty((n_clusters, data.n_features), dtype=data.dtype)
    indices = np.empty(n_clusters, dtype=np.int64)
    indices[0] = random_state.choice(n, p=probabilities)
    centers[0] = data.rows([indices[0]])[0]
    closest_sq_dist = np.full(n, np.inf)
    data.update_closest_sq_dist(centers, 0, closest_sq_dist)
    for c in range(1, n_clusters):
        mass = weights * closest_sq_dist
        cumulative = np.cumsum(mass)
        draws = random_state.uniform(size=n_local_trials) * cumulative[-1]
        last_with_mass = n - 1 - int(np.argmax(mass[::-1] > 0))
        candidates = np.minimum(np.searchsorted(cumulative, draws, side="right"), last_with_mass)
        candidate_points = data.rows(candidates)
        potentials = data.candidate_potentials(weights, closest_sq_dist, candidate_points)
        best = int(np.argmin(potentials))
        centers[c] = candidate_points[best]
        indices[c] = candidates[best]
        data.update_closest_sq_dist(centers, c, closest_sq_dist)
    return centers, indices


SEEDERS = {
    "unpruned k-means++": lambda X, data, k, w: unpruned_kmeans_plusplus(
        data, k, w, np.random.RandomState(0)
    ),
    "pruned k-means++": lambda X, data, k, w: _pruned_kmeans_plusplus(
        data, k, w, np.random.RandomState(0)
    ),
    "sklearn kmeans_plusplus": lambda X, data, k, w: sklearn_kmeans_plusplus(X, k, random_state=0),
    "k-means||": lambda X, data, k, w: kmeans_parallel_centers(
        data, k, w, np.random.RandomState(0)
    ),
    "afk-mc2": lambda X, data, k, w: afkmc2_centers(data, k, w, np.random.RandomState(0)),
}


def workloads(scale):
    def blobs(n, d, k, dtype, std):
        X, _ = make_blobs(int(n * scale), n_features=d, centers=k, cluster_std=std, random_state=0)
        return X.astype(dtype)

    yield "1M x 8 k=16 f64 blobs", lambda: blobs(1_000_000, 8, 16, np.float64, 1.0), 16
    yield "200k x 64 k=256 f32", lambda: blobs(200_000, 64, 256, np.float32, 4.0), 256
    yield "100k x 32 k=1024 f32", lambda: blobs(100_000, 32, 1024, np.float32, 4.0), 1024
    yield (
        "birch2 100k x 2 k=100",
        lambda: np.loadtxt("/work/shared/data/sipu/birch2.data.gz"),
        100,
    )


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    max_iter = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    only = sys.argv[3:]
    # Compile everything first (serial and parallel forms, direct and product paths).
    for dtype, n, d in itertools.product((np.float32, np.float64), (300, 20_000), (4, 16)):
        X = np.random.default_rng(0).normal(size=(n, d)).astype(dtype)
        data = engine_data(X)
        w = np.ones(len(X), dtype=dtype)
        for seeder in (_pruned_kmeans_plusplus, unpruned_kmeans_plusplus):
            seeder(data, 8, w, np.random.RandomState(0))
        kmeans_parallel_centers(data, 8, w, np.random.RandomState(0))
        afkmc2_centers(data, 8, w, np.random.RandomState(0))
    for name, make, k in workloads(scale):
        if only and not any(word in name for word in only):
            continue
        X = make()
        if X.dtype == np.float64 and "f32" in name:
            X = X.astype(np.float32)
        X = np.ascontiguousarray(X)
        data = engine_data(X)
        w = np.ones(len(X), dtype=X.dtype)
        print(f"\n{name}: X {X.shape} {X.dtype}, k={k}", flush=True)
        results = {}
        with blas_limited_to_one_thread():
            for label, seed in SEEDERS.items():
                start = time.perf_counter()
                out = seed(X, data, k, w)
                seconds = time.perf_counter() - start
                results[label] = (out, seconds)
            base = results["pruned k-means++"][1]
            for label, (out, seconds) in results.items():
                centers, indices = out[0], out[1]
                _, _, seed_inertia = data.assign_labels(w, centers.astype(X.dtype))
                extra = ""
                if label == "pruned k-means++":
                    n = len(X)
                    trials = 2 + int(np.log(k))
                    full = n * (1 + (k - 1) * (trials + 1))
                    extra = f"  distances {out[2] / full:.3f} of unpruned"
                if label in ("unpruned k-means++", "sklearn kmeans_plusplus"):
                    same = np.array_equal(indices, results["pruned k-means++"][0][1])
                    extra = f"  same rows as pruned: {same}"
                run_inertia = float("nan")
                if max_iter > 0 and label != "unpruned k-means++":  # same rows as pruned
                    run = lloyd(data, w, centers.astype(X.dtype), max_iter, 0.0)
                    run_inertia = run.inertia
                print(
                    f"  {label:24s} {seconds:8.2f} s  x{seconds / base:6.2f} of pruned  "
                    f"seed potential {seed_inertia:.6g}  after Lloyd({max_iter}) "
                    f"{run_inertia:.6g}{extra}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
