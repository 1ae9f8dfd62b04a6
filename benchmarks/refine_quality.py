"""The default fit's optimum on generated families, against scikit-learn, same run.

Three seeded families: equal Gaussian clusters on a grid (2-d), clusters of very
different sizes and spreads (2-d and 8-d), and large-n small-k customer-like tables
(standardised numeric columns and a one-hot column splitting every group in two, rows
in random order; above the size where ``refine='auto'`` works on a subsample). For
every draw: centroids' ``KMeans(k)`` with default settings, scikit-learn's ``KMeans(k,
n_init=1)`` and its best of ``n_init=10``, each timed with its seeding. Reported per
family and overall: the inertia ratio ours / sklearn-best-of-10 and ours / sklearn
n_init=1, CI (centroid index, Fränti et al. 2014) against the true means where they are
known, and the time ratios sklearn n_init=1 / ours and n_init=10 / ours (> 1: we are
faster); worst, lower
quartile and median over the draws.

    python benchmarks/refine_quality.py            # about 5 minutes on 2 cores
    python benchmarks/refine_quality.py --quick    # about a minute
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.cluster import KMeans as SKKMeans

from centroids import KMeans


def centroid_index(found, true):
    """CI: the larger, over both directions, of the centers nearest of none."""

    def orphans(a, b):
        nearest = np.argmin(((a[:, None, :] - b[None]) ** 2).sum(axis=2), axis=1)
        return len(b) - len(np.unique(nearest))

    return max(orphans(found, true), orphans(true, found))


def grid(rng, side, per_cluster, spread=0.2):
    means = np.array([(i, j) for i in range(side) for j in range(side)], dtype=float)
    labels = rng.permutation(np.repeat(np.arange(side * side), per_cluster))
    return means[labels] + rng.normal(scale=spread, size=(labels.size, 2)), means


def uneven(rng, k, n, d):
    means = rng.uniform(0, 100, size=(k, d))
    while True:
        gaps = ((means[:, None] - means[None]) ** 2).sum(axis=2) + np.diag(np.full(k, np.inf))
        close = np.flatnonzero(gaps.min(axis=1) < 12.0**2)
        if close.size == 0:
            break
        means[close[0]] = rng.uniform(0, 100, size=d)
    sizes = rng.uniform(1.0, 10.0, size=k)
    labels = rng.choice(k, size=n, p=sizes / sizes.sum())
    spreads = rng.uniform(1.0, 2.0, size=k)
    X = means[labels] + rng.normal(size=(n, d)) * spreads[labels, None]
    return X, np.array([X[labels == c].mean(axis=0) for c in range(k)])


def split_groups(rng, n, k, n_numeric=8):
    means = rng.uniform(-10, 10, (k, n_numeric))
    sizes = rng.uniform(1, 4, k)
    group = rng.choice(k, n, p=sizes / sizes.sum())
    spreads = rng.uniform(0.5, 1.5, k)
    X = means[group] + rng.normal(size=(n, n_numeric)) * spreads[group, None]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    levels = (group + rng.integers(0, 2, n)) % k
    return np.ascontiguousarray(np.hstack([X, np.eye(k)[levels]])), None


def families(quick):
    draws = 3 if quick else 6
    scale = 1 if quick else 2
    out = []
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        side = int(rng.integers(5, 10))
        out.append((f"grid {side}x{side} s{seed}", *grid(rng, side, 60 * scale)))
        k = int(rng.integers(15, 40))
        out.append((f"uneven k{k} 2-d s{seed}", *uneven(rng, k, 3000 * scale * 2, 2)))
        out.append((f"uneven k{k} 8-d s{seed}", *uneven(rng, k, 3000 * scale * 2, 8)))
        k = int(rng.integers(4, 11))
        out.append((f"split k{k} s{seed}", *split_groups(rng, 150_000 * scale, k)))
    return out


def timed(model, X):
    started = time.perf_counter()
    model.fit(X)
    return model, time.perf_counter() - started


def summary(values, worst):
    values = np.sort(np.asarray(values, dtype=float))
    if worst == "high":
        values = values[::-1]
    q = values[max(0, int(np.ceil(0.25 * len(values))) - 1)]
    return f"worst {values[0]:.4f}  lower quartile {q:.4f}  median {np.median(values):.4f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    warm = np.random.default_rng(0).normal(size=(2000, 4))
    KMeans(4, random_state=0).fit(warm)
    rows = []
    for name, X, true in families(args.quick):
        k = len(true) if true is not None else int(name.split()[1][1:])
        ours, t_ours = timed(KMeans(k, random_state=0), X)
        sk1, t_sk1 = timed(SKKMeans(k, n_init=1, random_state=0), X)
        sk10, t_sk10 = timed(SKKMeans(k, n_init=10, random_state=0), X)
        row = {
            "name": name,
            "vs_best10": ours.inertia_ / sk10.inertia_,
            "vs_sk1": ours.inertia_ / sk1.inertia_,
            "speed": t_sk1 / t_ours,
            "speed10": t_sk10 / t_ours,
            "ci": None if true is None else centroid_index(ours.cluster_centers_, true),
            "ci_sk1": None if true is None else centroid_index(sk1.cluster_centers_, true),
        }
        rows.append(row)
        print(
            f"{name:24s} {X.shape[0]:>8,} x {X.shape[1]:<3d} ours/sk10 {row['vs_best10']:.4f}"
            f"  ours/sk1 {row['vs_sk1']:.4f}  CI {row['ci']} (sk1 {row['ci_sk1']})"
            f"  time sk1/ours {row['speed']:.2f} sk10/ours {row['speed10']:.2f}"
            f"  ({t_ours:.2f} s, {t_sk1:.2f} s, {t_sk10:.2f} s)",
            flush=True,
        )
    for family in ("grid", "uneven", "split", ""):
        chosen = [r for r in rows if r["name"].startswith(family)]
        print(f"\n{family or 'all'} ({len(chosen)} draws)")
        for label, key, worst in (
            ("inertia ours / sklearn best of 10", "vs_best10", "high"),
            ("inertia ours / sklearn n_init=1  ", "vs_sk1", "high"),
            ("time sklearn n_init=1 / ours     ", "speed", "low"),
            ("time sklearn n_init=10 / ours    ", "speed10", "low"),
        ):
            print(f"  {label}: {summary([r[key] for r in chosen], worst)}")
        cis = [r["ci"] for r in chosen if r["ci"] is not None]
        if cis:
            sk = [r["ci_sk1"] for r in chosen if r["ci_sk1"] is not None]
            print(f"  CI = 0 in {cis.count(0)}/{len(cis)}", end="")
            print(f" (sklearn n_init=1: {sk.count(0)}/{len(sk)})")


if __name__ == "__main__":
    main()
