"""Centroid index on the SIPU benchmark sets: scikit-learn, centroids, centroids refined.

Run from the project root::

    .venv/bin/python benchmarks/sipu_quality.py [--seeds 10] [--sets s1,s2,...]
                                               [--extra-blobs]

For each SIPU set (s1-s4, a1, unbalance, birch2, d31; read from ``../shared/data/sipu``
relative to the project root, or ``$CENTROIDS_DATA/sipu``) and each seed ``0..seeds-1``,
three fits with the set's true k, ``n_init=1`` and default settings otherwise:

- ``sklearn``: ``sklearn.cluster.KMeans(n_clusters=k, n_init=1, random_state=seed)``;
- ``plain``: centroids' engine, greedy k-means++ then Lloyd (what ``KMeans(n_init=1)``
  does without refinement);
- ``refined``: the same run, then :func:`centroids.engine.refine.refine`;
- ``default``: ``centroids.KMeans(n_clusters=k, n_init=1, random_state=seed)`` with
  every other setting at its default (refinement as ``refine='auto'`` decides).

The report (Markdown on stdout) gives per set and method the mean and max centroid index
(CI), the fraction of seeds with CI = 0, the median inertia ratio to the plain run, and
the median time ratios ``refined / plain`` (whole fit, seeding included) and
``refined / sklearn``. ``--extra-blobs`` adds the refinement's cost on two generated
workloads without ground truth (1M×8 k=16 float64 blobs, 200k×64 k=256 float32 blobs).
numba compilation is excluded (every kernel is warmed up first). Timings are ratios
measured side by side in one process; on a shared machine absolute times move.

Centroid index (Fränti, Rezaei and Zhao 2014): true centers are the means of the true
clusters (labels file, 1-based, label 0 = noise excluded); every found center is mapped to
its nearest true center and the true centers that receive none are counted; the same is
done the other way round; CI is the larger count.
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


#: sklearn's KMeans(n_init=1); centroids' engine without and with refinement; and the
#: public KMeans(n_init=1) with its defaults (refinement by 'auto').
METHODS = ("sklearn", "plain", "refined", "default")


def _fit_centroids(X, k, seed, with_refinement):
    """Seed + Lloyd (+ refinement) through the engine, as ``KMeans(n_init=1)`` does."""
    from sklearn.utils import check_random_state

    from centroids.engine import (
        absolute_tolerance,
        blas_limited_to_one_thread,
        engine_data,
        kmeans_plusplus_centers,
        lloyd,
    )
    from centroids.engine.refine import refine

    random_state = check_random_state(seed)
    sample_weight = np.ones(X.shape[0], dtype=X.dtype)
    start = time.perf_counter()
    data = engine_data(X)
    with blas_limited_to_one_thread():
        tol = absolute_tolerance(data, 1e-4)
        centers = kmeans_plusplus_centers(data, k, sample_weight, random_state)[0]
        run = lloyd(data, sample_weight, centers, 300, tol)
        if with_refinement:
            run = refine(data, sample_weight, run, lloyd, random_state, max_iter=300, tol=tol)
    return run, time.perf_counter() - start


def _fit_default(X, k, seed):
    """The public estimator with its defaults (refine='auto', algorithm='auto')."""
    from centroids import KMeans

    start = time.perf_counter()
    model = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(X)
    return model, time.perf_counter() - start


def _fit_sklearn(X, k, seed):
    from sklearn.cluster import KMeans

    start = time.perf_counter()
    model = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(X)
    return model, time.perf_counter() - start


def _warm_up():
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        X = np.ascontiguousarray(rng.normal(size=(3000, 4)), dtype=dtype)
        _fit_centroids(X, 8, 0, True)
        Xl = np.ascontiguousarray(rng.normal(size=(20000, 16)), dtype=dtype)
        _fit_centroids(Xl, 20, 0, True)  # parallel forms


def run_set(name: str, seeds: int) -> dict:
    """Fits on one set for every seed; per-method lists of CI, inertia and time."""
    k = SIPU_SETS[name]
    X, labels = load_sipu(name)
    truth = true_centers(X, labels)
    result = {m: {"ci": [], "inertia": [], "time": []} for m in METHODS}
    for seed in range(seeds):
        model, seconds = _fit_sklearn(X, k, seed)
        result["sklearn"]["ci"].append(centroid_index(model.cluster_centers_, truth))
        result["sklearn"]["inertia"].append(float(model.inertia_))
        result["sklearn"]["time"].append(seconds)
        for method in ("plain", "refined"):
            run, seconds = _fit_centroids(X, k, seed, method == "refined")
            result[method]["ci"].append(centroid_index(run.centers, truth))
            result[method]["inertia"].append(run.inertia)
            result[method]["time"].append(seconds)
        model, seconds = _fit_default(X, k, seed)
        result["default"]["ci"].append(centroid_index(model.cluster_centers_, truth))
        result["default"]["inertia"].append(float(model.inertia_))
        result["default"]["time"].append(seconds)
        print(
            f"{name} seed {seed}: CI sklearn {result['sklearn']['ci'][-1]}, "
            f"plain {result['plain']['ci'][-1]}, refined {result['refined']['ci'][-1]}, "
            f"default {result['default']['ci'][-1]}",
            file=sys.stderr,
        )
    return result


def _ratios(numerator, denominator):
    return [a / b for a, b in zip(numerator, denominator, strict=True)]


def report_set(name: str, result: dict) -> list[str]:
    rows = []
    plain = result["plain"]
    for method in METHODS:
        r = result[method]
        ci = r["ci"]
        inertia_ratio = statistics.median(_ratios(r["inertia"], plain["inertia"]))
        worst_ratio = max(_ratios(r["inertia"], plain["inertia"]))
        time_vs_plain = statistics.median(_ratios(r["time"], plain["time"]))
        time_vs_sklearn = statistics.median(_ratios(r["time"], result["sklearn"]["time"]))
        rows.append(
            f"| {name} | {method} | {np.mean(ci):.2f} | {max(ci)} | "
            f"{np.mean(np.array(ci) == 0):.0%} | {inertia_ratio:.4f} | {worst_ratio:.4f} | "
            f"{time_vs_plain:.2f} | {time_vs_sklearn:.2f} |"
        )
    return rows


def extra_blobs(seeds: int) -> list[str]:
    """Refinement cost on two large generated workloads (no ground truth)."""
    from sklearn.datasets import make_blobs

    lines = [
        "",
        "| workload | seed | plain s | refined s | refined / plain | inertia ratio |",
        "|---|---|---|---|---|---|",
    ]
    workloads = [
        ("1M x 8 k=16 float64", 1_000_000, 8, 16, np.float64),
        ("200k x 64 k=256 float32", 200_000, 64, 256, np.float32),
    ]
    for label, n, d, k, dtype in workloads:
        X, _ = make_blobs(n_samples=n, n_features=d, centers=k, random_state=0)
        X = np.ascontiguousarray(X, dtype=dtype)
        for seed in range(seeds):
            plain, t_plain = _fit_centroids(X, k, seed, False)
            refined, t_refined = _fit_centroids(X, k, seed, True)
            lines.append(
                f"| {label} | {seed} | {t_plain:.2f} | {t_refined:.2f} | "
                f"{t_refined / t_plain:.2f} | {refined.inertia / plain.inertia:.5f} |"
            )
            print(lines[-1], file=sys.stderr)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--sets", default=",".join(SIPU_SETS))
    parser.add_argument("--extra-blobs", action="store_true")
    parser.add_argument("--extra-seeds", type=int, default=2)
    args = parser.parse_args(argv)
    _warm_up()
    lines = [
        f"seeds 0..{args.seeds - 1}, n_init=1; inertia and time ratios are medians over seeds",
        "",
        "| set | method | mean CI | max CI | CI=0 | inertia / plain | worst | "
        "time / plain | time / sklearn |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    zero = {"sklearn": 0, "plain": 0, "refined": 0}
    total = 0
    for name in args.sets.split(","):
        result = run_set(name, args.seeds)
        lines += report_set(name, result)
        for method in zero:
            zero[method] += sum(ci == 0 for ci in result[method]["ci"])
        total += args.seeds
    lines.append("")
    lines.append(
        "CI = 0 in " + ", ".join(f"{m}: {zero[m]}/{total}" for m in zero) + " (sets × seeds)"
    )
    if args.extra_blobs:
        lines += extra_blobs(args.extra_seeds)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
