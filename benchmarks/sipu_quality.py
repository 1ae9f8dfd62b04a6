"""Centroid index on the SIPU sets and on generated sets of the same shapes, against scikit-learn.

Run from the project root::

    PYTHONPATH=src .venv/bin/python benchmarks/sipu_quality.py [--seeds 10]
        [--sets s1,birch1-like,...] [--methods sklearn,default,plain,true]

Sets (``--sets``, all by default):

- the SIPU sets in ``../shared/data/sipu`` (or ``$CENTROIDS_DATA/sipu``): s1-s4, a1,
  unbalance, birch2, d31, and ``birch2-std``: birch2 after scikit-learn's
  ``StandardScaler``, as users are told to prepare data. The same data for every seed.
- generated sets of the SIPU shapes, drawn again for every seed (data seed
  ``1000 + seed``), rows in random order, the true centers the means of the generating
  clusters: ``birch1-like`` (100 Gaussian clusters on a 10 × 10 grid, 1,000 rows each,
  neighbours 4√2 σ apart as in BIRCH's DS1), ``birch2-like`` (100 clusters of 1,000
  rows along four periods of a sine curve, spacing and σ as measured on birch2),
  ``birch3-like`` (100 clusters at random places, sizes 100-2,000 rows and spreads over
  a 4:1 range, 100,000 rows), ``a20-like``/``a35-like``/``a50-like`` (the a-family:
  150 rows per cluster at a1's density and spread), ``s1-like`` to ``s4-like`` (15
  elliptic clusters of 300-350 rows, the nearest-neighbour distance over the spread
  going from s1's 5.5 to s4's 2.3), ``unbalance-like`` (three clusters of 2,000 dense
  rows and five of 100 sparse rows, as unbalance).

Methods (``--methods``): ``sklearn``: ``sklearn.cluster.KMeans(n_clusters=k, n_init=1,
random_state=seed)``; ``default``: ``centroids.KMeans(n_clusters=k, random_state=seed)``
with every other setting at its default (``n_init='auto'``, ``refine='auto'``);
``plain``: the same with ``refine=False, n_init=1`` (k-means++ and Lloyd alone);
``true``: ``refine=True, n_init=1``. Every fit is timed with its seeding, side by side
in one process (numba compilation excluded by a warm-up); on a shared machine absolute
times move, the ratios less.

Each set also gets a *reference*: Lloyd started from the true centers. When its CI is
above 0 the k-means optimum near the truth does not match it (overlap too strong) and
no method can be asked for CI = 0 there; the report marks those sets.

Centroid index (Fränti, Rezaei and Zhao 2014): every found center is mapped to its
nearest true center and the true centers that receive none are counted; the same the
other way round; CI is the larger count. The report gives per set and method the mean
and max CI, the seeds with CI = 0, the median inertia and time ratios to scikit-learn,
and the default's worst cases.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SIPU_SETS = {
    "s1": 15,
    "s2": 15,
    "s3": 15,
    "s4": 15,
    "a1": 20,
    "unbalance": 8,
    "birch2": 100,
    "d31": 31,
}


def sipu_directory() -> Path:
    """``$CENTROIDS_DATA/sipu`` or ``../shared/data/sipu`` from the project root."""
    override = os.environ.get("CENTROIDS_DATA")
    base = Path(override) if override else PROJECT_ROOT.parent / "shared" / "data"
    return base / "sipu"


def load_sipu(name: str) -> tuple[np.ndarray, np.ndarray]:
    """X (float64, C-ordered) and the 1-based true labels (0 = noise) of one set."""
    directory = sipu_directory()
    X = np.ascontiguousarray(np.loadtxt(directory / f"{name}.data.gz"), dtype=np.float64)
    labels = np.loadtxt(directory / f"{name}.labels0.gz", dtype=np.int64)
    return X, labels


def true_centers(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Means of the true clusters (labels 1..K; rows labelled 0 are noise, left out)."""
    ids = np.unique(labels[labels > 0])
    return np.array([X[labels == c].mean(axis=0) for c in ids])


def _orphans(from_centers: np.ndarray, to_centers: np.ndarray) -> int:
    """Number of ``to_centers`` that no center of ``from_centers`` has as its nearest."""
    sq = ((from_centers[:, None, :] - to_centers[None, :, :]) ** 2).sum(axis=2)
    nearest = np.argmin(sq, axis=1)
    return int(to_centers.shape[0] - np.unique(nearest).size)


def centroid_index(found: np.ndarray, truth: np.ndarray) -> int:
    """Centroid index CI between found and true centers (0: every cluster found)."""
    found = np.asarray(found, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    return max(_orphans(found, truth), _orphans(truth, found))


# --- generated sets of the SIPU shapes ------------------------------------------------


def _gaussian_clusters(rng, means, sizes, spreads, axes=None):
    """Rows of Gaussian clusters in random order and the means of each cluster's rows.

    ``spreads``: per-cluster σ (``axes``: optional (k, 2, 2) matrices that shape and
    rotate each cluster's unit normal draws before scaling)."""
    labels = rng.permutation(np.repeat(np.arange(len(means)), sizes))
    noise = rng.normal(size=(labels.size, means.shape[1]))
    if axes is not None:
        noise = np.einsum("nij,nj->ni", axes[labels], noise)
    X = np.ascontiguousarray(means[labels] + noise * np.asarray(spreads)[labels, None])
    truth = np.array([X[labels == c].mean(axis=0) for c in range(len(means))])
    return X, truth


def _apart(rng, k, low, high, min_gap, tries=10_000):
    """k points uniform in the box [low, high]² at least ``min_gap`` apart (rejection)."""
    low, high = np.asarray(low, float), np.asarray(high, float)
    points = []
    for _ in range(tries * k):
        p = rng.uniform(low, high)
        if all(((p - q) ** 2).sum() >= min_gap**2 for q in points):
            points.append(p)
            if len(points) == k:
                return np.array(points)
    raise RuntimeError(f"could not place {k} centers {min_gap} apart in the box")


def birch1_like(rng):
    """BIRCH DS1: 10 × 10 grid, σ = 1, neighbours 4√2 apart, 1,000 rows a cluster."""
    side = 10
    means = 4 * np.sqrt(2) * np.array([(i, j) for i in range(side) for j in range(side)])
    return _gaussian_clusters(rng, means, np.full(100, 1000), np.ones(100))


def birch2_like(rng):
    """birch2: 100 clusters along four periods of a sine, x spacing 9,512, amplitude
    37,850 and σ 1,500 (birch2's true clusters), 1,000 rows each."""
    x = 53_000 + 9_512 * np.arange(100)
    y = 43_650 + 37_850 * np.sin(2 * np.pi * 4 * np.arange(100) / 100 + rng.uniform(0, 2 * np.pi))
    means = np.column_stack([x, y])
    return _gaussian_clusters(rng, means, np.full(100, 1000), np.full(100, 1_500.0))


def birch3_like(rng):
    """birch3-like: 100 clusters at random places (kept 5 of the larger σ apart), sizes
    100-2,000 rows (100,000 in all) and σ over a 4:1 range."""
    k = 100
    spreads = rng.uniform(1.0, 4.0, size=k)
    means = _apart(rng, k, (0, 0), (400, 400), 5 * 4.0)
    sizes = rng.uniform(100, 2000, size=k)
    sizes = np.maximum(100, np.round(sizes / sizes.sum() * 100_000)).astype(int)
    return _gaussian_clusters(rng, means, sizes, spreads)


def a_like(k):
    """The a-family: k clusters of 150 rows, σ 1,330-1,560 as a1, at a1's density (20
    clusters on 65,535 × 33,000), means at least 3.8 σ apart as a1's closest pair."""

    def draw(rng):
        area = k / 20 * 65_535 * 33_000
        side = np.sqrt(area)
        spreads = rng.uniform(1_330, 1_560, size=k)
        means = _apart(rng, k, (0, 0), (side, side), 3.8 * 1_460)
        return _gaussian_clusters(rng, means, np.full(k, 150), spreads)

    return draw


def s_like(ratio):
    """The s-family: 15 elliptic clusters of 300-350 rows in [0, 10⁶]², centers at least
    140,000 apart, the larger axis σ = (median nearest-neighbour distance) / ``ratio``
    (s1 5.5, s2 4.35, s3 2.5, s4 2.35 measured), axis ratio 1-1.6, random rotation."""

    def draw(rng):
        k = 15
        means = _apart(rng, k, (50_000, 50_000), (950_000, 950_000), 140_000)
        gaps = ((means[:, None] - means[None]) ** 2).sum(axis=2) ** 0.5
        np.fill_diagonal(gaps, np.inf)
        sigma = np.median(gaps.min(axis=1)) / ratio
        angles = rng.uniform(0, np.pi, size=k)
        shrink = 1 / rng.uniform(1.0, 1.6, size=k)
        cos, sin = np.cos(angles), np.sin(angles)
        rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], 1)
        axes = rotation * np.stack([np.ones(k), shrink], -1)[:, None, :]
        sizes = rng.integers(300, 351, size=k)
        return _gaussian_clusters(rng, means, sizes, np.full(k, sigma), axes)

    return draw


def unbalance_like(rng):
    """unbalance: three clusters of 2,000 rows with σ 3,000, 30,000-42,000 apart, and
    five of 100 rows with σ 10,000, 50,000-100,000 apart, the groups far from each other."""
    dense = _apart(rng, 3, (140_000, 330_000), (220_000, 400_000), 40_000)
    sparse = _apart(rng, 5, (430_000, 280_000), (560_000, 420_000), 60_000)
    means = np.vstack([dense, sparse])
    sizes = np.array([2000] * 3 + [100] * 5)
    spreads = np.array([3_000.0] * 3 + [10_000.0] * 5)
    return _gaussian_clusters(rng, means, sizes, spreads)


GENERATED = {
    "birch1-like": birch1_like,
    "birch2-like": birch2_like,
    "birch3-like": birch3_like,
    "a20-like": a_like(20),
    "a35-like": a_like(35),
    "a50-like": a_like(50),
    "s1-like": s_like(5.5),
    "s2-like": s_like(4.35),
    "s3-like": s_like(2.5),
    "s4-like": s_like(2.35),
    "unbalance-like": unbalance_like,
}
ALL_SETS = [*SIPU_SETS, "birch2-std", *GENERATED]


def load_set(name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """X and the true centers of set ``name`` for fit seed ``seed``."""
    if name in GENERATED:
        return GENERATED[name](np.random.default_rng(1000 + seed))
    if name == "birch2-std":
        from sklearn.preprocessing import StandardScaler

        X, labels = load_sipu("birch2")
        X = np.ascontiguousarray(StandardScaler().fit_transform(X))
        return X, true_centers(X, labels)
    if name in SIPU_SETS:
        X, labels = load_sipu(name)
        return X, true_centers(X, labels)
    raise SystemExit(f"unknown set {name!r}; known: {', '.join(ALL_SETS)}")


# --- fits -----------------------------------------------------------------------------

#: Method -> keyword arguments of centroids.KMeans (None: scikit-learn's n_init=1).
METHODS = {
    "sklearn": None,
    "default": {},
    "plain": {"refine": False, "n_init": 1},
    "true": {"refine": True, "n_init": 1},
}


def fit(method, X, k, seed):
    """(centers, inertia, seconds) of one fit, seeding included."""
    options = METHODS[method]
    if options is None:
        from sklearn.cluster import KMeans
    else:
        from centroids import KMeans
    options = {} if options is None else options
    if METHODS[method] is None:
        options = {"n_init": 1}
    start = time.perf_counter()
    model = KMeans(n_clusters=k, random_state=seed, **options).fit(X)
    return model.cluster_centers_, float(model.inertia_), time.perf_counter() - start


def reference_ci(X, truth):
    """CI of Lloyd started from the true centers (scikit-learn, one run)."""
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=len(truth), init=truth, n_init=1).fit(X)
    return centroid_index(model.cluster_centers_, truth), float(model.inertia_)


def long_search(X, centers, seed):
    """Random swap on every row from ``centers`` with a stop rule 10-100× the default's
    (5,000 rejected trials in a row, 50,000 in all): (centers, inertia)."""
    from sklearn.utils import check_random_state

    from centroids.engine.data import engine_data
    from centroids.engine.lloyd import lloyd
    from centroids.engine.refine import random_swap

    data = engine_data(X)
    weights = np.ones(X.shape[0], dtype=X.dtype)
    start = lloyd(data, weights, np.ascontiguousarray(centers, X.dtype), 300, 0.0)
    run = random_swap(
        data,
        weights,
        start,
        lloyd,
        check_random_state(seed),
        max_failures=5000,
        max_trials=50_000,
    )
    return run.centers, float(run.inertia)


def _warm_up():
    from centroids import KMeans

    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        for n, d, k in ((3000, 2, 8), (20000, 2, 100), (150_000, 2, 20)):
            X = np.ascontiguousarray(rng.normal(size=(n, d)), dtype=dtype)
            for options in METHODS.values():
                if options is not None:
                    KMeans(k, random_state=0, **options).fit(X)


def run_set(name, seeds, methods):
    """Per method: CI, inertia and time for every seed; and the reference CIs."""
    result = {m: {"ci": [], "inertia": [], "time": []} for m in methods}
    result["reference"] = {"ci": [], "inertia": []}
    result["long"] = []  # (seed, CI, inertia / reference) of the long search, see below
    for seed in range(seeds):
        X, truth = load_set(name, seed)
        k = len(truth)
        ci, inertia = reference_ci(X, truth)
        result["reference"]["ci"].append(ci)
        result["reference"]["inertia"].append(inertia)
        for method in methods:
            centers, inertia, seconds = fit(method, X, k, seed)
            result[method]["ci"].append(centroid_index(centers, truth))
            result[method]["inertia"].append(inertia)
            result[method]["time"].append(seconds)
            if method == "default" and result[method]["ci"][-1] > 0:
                # Is a CI = 0 partition the k-means optimum here? A long search from the
                # default's centers that ends below the reference's inertia with CI > 0
                # says no: then no inertia-minimising fit can be asked for CI = 0.
                found, found_inertia = long_search(X, centers, seed)
                result["long"].append(
                    (
                        seed,
                        centroid_index(found, truth),
                        found_inertia / result["reference"]["inertia"][-1],
                    )
                )
        print(
            f"{name} seed {seed}: CI "
            + ", ".join(f"{m} {result[m]['ci'][-1]}" for m in methods)
            + f" (reference {result['reference']['ci'][-1]}); time "
            + ", ".join(f"{m} {result[m]['time'][-1]:.3f}" for m in methods),
            file=sys.stderr,
            flush=True,
        )
    return result


def _ratios(numerator, denominator):
    return [a / b for a, b in zip(numerator, denominator, strict=True)]


def not_optimal_seeds(result):
    """Seeds where CI = 0 is not what the k-means objective asks for: the reference (Lloyd
    from the truth) has CI > 0, or the long search found a lower inertia with CI > 0."""
    seeds = {s for s, ci in enumerate(result["reference"]["ci"]) if ci > 0}
    seeds |= {s for s, ci, ratio in result["long"] if ci > 0 and ratio < 1}
    return seeds


def report_set(name, result, methods):
    rows = []
    base = result["sklearn"] if "sklearn" in methods else None
    excluded = not_optimal_seeds(result)
    label = name if not excluded else f"{name} ¹"
    for method in methods:
        r = result[method]
        ci = r["ci"]
        if base is not None:
            inertia = statistics.median(_ratios(r["inertia"], base["inertia"]))
            worst = max(_ratios(r["inertia"], base["inertia"]))
            speed = statistics.median(_ratios(r["time"], base["time"]))
        else:
            inertia = worst = speed = float("nan")
        rows.append(
            f"| {label} | {method} | {np.mean(ci):.2f} | {max(ci)} | "
            f"{sum(c == 0 for c in ci)}/{len(ci)} | {inertia:.4f} | {worst:.4f} | "
            f"{1000 * statistics.median(r['time']):.0f} | {speed:.2f} |"
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--sets", default=",".join(ALL_SETS))
    parser.add_argument("--methods", default="sklearn,default")
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    for method in methods:
        if method not in METHODS:
            raise SystemExit(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    _warm_up()
    lines = [
        f"seeds 0..{args.seeds - 1}; ratios are medians over the seeds (worst: the largest)",
        "",
        "| set | method | mean CI | max CI | CI=0 | inertia / sklearn | worst | "
        "median ms | time / sklearn |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    zero = dict.fromkeys(methods, 0)
    total = 0
    worst_cases = []
    notes = []
    for name in args.sets.split(","):
        result = run_set(name, args.seeds, methods)
        lines += report_set(name, result, methods)
        excluded = not_optimal_seeds(result)
        kept = [s for s in range(args.seeds) if s not in excluded]
        total += len(kept)
        for method in methods:
            zero[method] += sum(result[method]["ci"][s] == 0 for s in kept)
        if "default" in methods:
            worst_cases += [(result["default"]["ci"][s], name, s) for s in kept]
        if excluded:
            found = {s: (ci, ratio) for s, ci, ratio in result["long"]}
            notes.append(
                f"{name}, seeds {sorted(excluded)}: "
                + "; ".join(
                    f"seed {s}: reference CI {result['reference']['ci'][s]}"
                    + (
                        f", long search CI {found[s][0]} at {found[s][1]:.5f} × the "
                        "reference's inertia"
                        if s in found
                        else ""
                    )
                    for s in sorted(excluded)
                )
            )
        if result["long"]:
            print(
                f"{name} long searches (seed, CI, inertia / reference): {result['long']}",
                file=sys.stderr,
            )
    lines.append("")
    lines.append(
        "CI = 0 in "
        + ", ".join(f"{m}: {zero[m]}/{total}" for m in methods)
        + " (sets × seeds where a CI = 0 partition is the k-means optimum found)"
    )
    worst_cases = sorted((c for c in worst_cases if c[0] > 0), reverse=True)
    if worst_cases:
        lines.append(
            "default CI > 0: " + ", ".join(f"{n} seed {s} (CI {c})" for c, n, s in worst_cases)
        )
    if notes:
        lines.append("")
        lines.append(
            "¹ left out of the counts where CI = 0 is not the k-means optimum (see the "
            "module docstring): " + " | ".join(notes)
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
