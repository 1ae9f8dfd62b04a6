"""choose_k as the product uses it, against the same criteria computed with scikit-learn.

Run from the project root::

    .venv/bin/python benchmarks/choose_k_speed.py [--quick] [--seed S] [--draws N]

For each workload (50,000 x 6 and 1,000,000 x 8 by default; ``--quick``: 20,000 x 6 and
200,000 x 8), drawn from the seed as Gaussian blobs with a random number of clusters
(3-9), random spreads and sizes, rows in random order and standardised, three ways of
choosing K over K = 2..12 run one after the other in this process:

- ``centroids``: :func:`centroids.evaluate.choose_k.choose_k` with its defaults (one fit
  per K, silhouette estimated from a sample, Davies-Bouldin, Calinski-Harabasz, the gap
  statistic on 5 uniform reference sets, 3 stability splits, the vote and the verdict);
- ``scikit-learn, same criteria``: what a user writes to get the same evidence with
  scikit-learn: ``sklearn.cluster.KMeans(n_init=1)`` per K, ``silhouette_score`` with
  ``sample_size=10,000``, ``davies_bouldin_score``, ``calinski_harabasz_score``, the gap
  statistic on the *same* reference sets (choose_k's own sampler draws them) clustered at
  every K, and the same stability splits (the same row permutations, of a sample of at most
  200,000 rows as choose_k's), then the same vote
  (:func:`centroids.evaluate.choose_k._decide` on that table) so the chosen K compares;
- ``quick loop``: the loop most users write instead: ``sklearn.cluster.KMeans`` per K and
  ``silhouette_score(sample_size=10,000)``, the highest silhouette wins.

Every implementation is warmed up on small data first (numba compilation excluded).
Ratios are peer time / ours: above 1 means choose_k is faster. Targets (issue 16 point 6):
<= 1/5 of the same-criteria time at the same chosen K, and no slower than the quick loop.
The report (Markdown) goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

import numba
import numpy as np
import sklearn
from machine import OtherLoad, progress, python_command, source_revision
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)

from centroids.evaluate.choose_k import (
    _SEED_BOUND,
    STABILITY_MAX_ROWS,
    TABLE_COLUMNS,
    _column_means,
    _decide,
    choose_k,
)
from centroids.evaluate.gap import (
    ReferenceSampler,
    gap_from_log_dispersions,
    safe_log,
    tibshirani_k,
    total_dispersion,
)

K_VALUES = np.arange(2, 13)
N_REFERENCES = 5
N_STABILITY = 3
SILHOUETTE_SAMPLE = 10_000
REFERENCE_SILHOUETTE_SAMPLE = 1_000


def draw_workload(n, d, rng):
    """Blobs with a random number of clusters, spreads and sizes; rows shuffled, scaled."""
    k = int(rng.integers(3, 10))
    weights = rng.dirichlet(np.full(k, 2.0))
    sizes = np.maximum(1, np.round(weights * n)).astype(int)
    sizes[-1] += n - sizes.sum()
    spreads = rng.uniform(0.5, 2.5, size=k)
    centers = rng.uniform(-10, 10, size=(k, d))
    X, _ = make_blobs(
        n_samples=sizes.tolist(),
        n_features=d,
        centers=centers,
        cluster_std=spreads,
        random_state=int(rng.integers(2**31)),
    )
    X = X[rng.permutation(n)]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return np.ascontiguousarray(X), k


def sklearn_same_criteria(X, seed):
    """The table of choose_k built from scikit-learn's KMeans and metrics, and its vote."""
    import pandas as pd

    n = X.shape[0]
    rng = np.random.RandomState(seed)
    rows = {int(k): dict.fromkeys(TABLE_COLUMNS, np.nan) for k in K_VALUES}
    log_w = {1: safe_log(total_dispersion(X))}
    for k in K_VALUES:
        model = SkKMeans(int(k), n_init=1, random_state=int(rng.randint(_SEED_BOUND))).fit(X)
        labels = model.labels_
        log_w[int(k)] = safe_log(model.inertia_)
        rows[int(k)].update(
            inertia=model.inertia_,
            silhouette=silhouette_score(
                X, labels, sample_size=min(SILHOUETTE_SAMPLE, n), random_state=int(k)
            ),
            davies_bouldin=davies_bouldin_score(X, labels),
            calinski_harabasz=calinski_harabasz_score(X, labels),
        )
    gap_k_values = np.union1d([1], K_VALUES)
    sampler = ReferenceSampler(X, N_REFERENCES, "box", int(rng.randint(_SEED_BOUND)))
    reference_log_w = np.empty((N_REFERENCES, len(gap_k_values)))
    reference_silhouette = np.full((N_REFERENCES, len(gap_k_values)), np.nan)
    for b in range(N_REFERENCES):
        Z = sampler.draw(b)
        for j, k in enumerate(gap_k_values):
            if k == 1:
                reference_log_w[b, j] = safe_log(total_dispersion(Z))
                continue
            model = SkKMeans(int(k), n_init=1, random_state=int(rng.randint(_SEED_BOUND))).fit(Z)
            reference_log_w[b, j] = safe_log(model.inertia_)
            reference_silhouette[b, j] = silhouette_score(
                Z, model.labels_, sample_size=min(REFERENCE_SILHOUETTE_SAMPLE, n), random_state=b
            )
    data_log_w = np.array([log_w[int(k)] for k in gap_k_values])
    gap, gap_se = gap_from_log_dispersions(data_log_w, reference_log_w)
    gap_k = tibshirani_k(gap_k_values, gap, gap_se)
    for j, k in enumerate(gap_k_values):
        if int(k) in rows:
            rows[int(k)]["gap"], rows[int(k)]["gap_se"] = gap[j], gap_se[j]
    split_rng = np.random.RandomState(int(rng.randint(_SEED_BOUND)))
    for k in K_VALUES:
        agreements = []
        for _ in range(N_STABILITY):
            # choose_k's splits: of a uniform sample of at most STABILITY_MAX_ROWS rows.
            order = split_rng.permutation(n)[:STABILITY_MAX_ROWS]
            m = order.shape[0]
            compared = X[np.sort(order)]
            predictions = []
            for half in (order[: m // 2], order[m // 2 :]):
                half_model = SkKMeans(
                    int(k), n_init=1, random_state=int(split_rng.randint(_SEED_BOUND))
                ).fit(X[np.sort(half)])
                predictions.append(half_model.predict(compared))
            agreements.append(adjusted_rand_score(*predictions))
        rows[int(k)]["stability"] = float(np.mean(agreements))
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(TABLE_COLUMNS))
    references = pd.DataFrame(
        {
            "log_w": data_log_w,
            "reference_log_w": reference_log_w.mean(axis=0),
            "reference_silhouette": _column_means(reference_silhouette),
        },
        index=pd.Index(gap_k_values, name="k"),
    )
    return _decide(table, references, gap_k).k


def quick_loop(X, seed):
    """KMeans per K and a sampled silhouette; the highest silhouette wins."""
    best_k, best = None, -np.inf
    for k in K_VALUES:
        labels = SkKMeans(int(k), n_init=1, random_state=seed).fit_predict(X)
        score = silhouette_score(
            X, labels, sample_size=min(SILHOUETTE_SAMPLE, X.shape[0]), random_state=seed
        )
        if score > best:
            best_k, best = int(k), score
    return best_k


def timed(function, *args):
    with OtherLoad() as load:
        start = time.perf_counter()
        result = function(*args)
        seconds = time.perf_counter() - start
    return result, seconds, load.cores


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 x 6 and 200,000 x 8")
    parser.add_argument("--seed", type=int, default=0, help="seed of the workload draws")
    parser.add_argument("--draws", type=int, default=1, help="draws per shape")
    args = parser.parse_args()
    shapes = [(20_000, 6), (200_000, 8)] if args.quick else [(50_000, 6), (1_000_000, 8)]

    progress("warming up (numba compilation)")
    warm, _ = draw_workload(3_000, 6, np.random.default_rng(12345))
    choose_k(warm, range(2, 5), n_references=2, n_stability=1, random_state=0)

    rng = np.random.default_rng(args.seed)
    results = []
    for n, d in shapes:
        for draw in range(args.draws):
            X, true_k = draw_workload(n, d, rng)
            name = f"{n:,} x {d}, {true_k} blobs (draw {draw})"
            progress(f"{name}: centroids.choose_k")
            ours, t_ours, load_ours = timed(
                lambda X=X: choose_k(X, K_VALUES, random_state=args.seed).k
            )
            progress(f"{name}: scikit-learn, same criteria")
            same, t_same, load_same = timed(sklearn_same_criteria, X, args.seed)
            progress(f"{name}: quick loop")
            quick, t_quick, load_quick = timed(quick_loop, X, args.seed)
            results.append(
                (name, true_k, ours, t_ours, same, t_same, quick, t_quick,
                 max(load_ours, load_same, load_quick))
            )  # fmt: skip

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"#### choose_k, K = 2..12, run of {stamp} (commit `{source_revision()}`)\n")
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, numba {numba.__version__}, {os.cpu_count()} cores; "
        f"`{python_command()}`\n"
    )
    print(
        "| workload | true K | choose_k: K, s | sklearn same criteria: K, s | ratio "
        "| quick loop: K, s | ratio | other load (cores) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, true_k, ours, t_ours, same, t_same, quick, t_quick, load in results:
        print(
            f"| {name} | {true_k} | {ours}, {t_ours:.1f} | {same}, {t_same:.1f} "
            f"| {t_same / t_ours:.2f}x | {quick}, {t_quick:.1f} | {t_quick / t_ours:.2f}x "
            f"| {load:.1f} |"
        )
    same_ratios = [r[5] / r[3] for r in results]
    quick_ratios = [r[7] / r[3] for r in results]
    print(
        f"\nWorst ratio against the same criteria {min(same_ratios):.2f}x (target >= 5x), "
        f"against the quick loop {min(quick_ratios):.2f}x (target >= 1x); chosen K equal "
        f"in {sum(r[2] == r[4] for r in results)} of {len(results)} workloads."
    )


if __name__ == "__main__":
    main()
