"""Clustering with holes: k-POD and masked K-Means against mean imputation + K-Means.

Run from the project root::

    .venv/bin/python benchmarks/missing.py [--quick] [--seeds 3] [--markdown PATH]

On generated blobs (``make_blobs``: 20,000 × 10, k = 8, cluster_std 2.5; ``--quick``:
5,000 rows) with entries removed completely at random (10%, 30%, 50%) and, the harder
case, removed more often in one cluster (60% there, 10% elsewhere), it fits in this
process, one after the other and on the same data:

- ``impute``: the holes filled with the column means, then centroids' ``KMeans``
  (what users do today),
- ``sklearn impute``: the same with ``SimpleImputer`` + scikit-learn's ``KMeans``,
- ``kpod``: ``KMeans(missing='kpod')``,
- ``masked``: ``KMeans(missing='masked')``,
- ``minibatch kpod``: ``MiniBatchKMeans(missing='kpod')``,

and reports the adjusted Rand index of each against the generating clusters (median over
the seeds) and the fit time (median), with the time ratio to ``impute``. The kernels are
compiled on a small problem before any timing; the machine's other load is printed.
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
from sklearn.impute import SimpleImputer
from sklearn.metrics import adjusted_rand_score

from centroids import KMeans, MiniBatchKMeans

K = 8


def with_holes(X, y, pattern, rng):
    """X with NaN holes: 'mcarNN' (NN% of entries at random) or 'cluster' (60% of the
    entries of cluster 0, 10% of the others); no row is left without a value."""
    cluster_0 = np.where(y == 0, 0.6, 0.1)[:, None]
    p = cluster_0 if pattern == "cluster" else int(pattern[4:]) / 100
    holes = rng.random(X.shape) < p
    holes[holes.all(axis=1), 0] = False
    Xm = X.copy()
    Xm[holes] = np.nan
    return Xm


def methods(seed):
    """(name, fit(Xm) -> labels) of every method, in the order they run."""

    def impute(Xm):
        filled = np.where(np.isnan(Xm), np.nanmean(Xm, axis=0), Xm)
        return KMeans(K, random_state=seed).fit(filled).labels_

    def sklearn_impute(Xm):
        filled = SimpleImputer(strategy="mean").fit_transform(Xm)
        return SkKMeans(K, random_state=seed, n_init=1).fit(filled).labels_

    return [
        ("impute", impute),
        ("sklearn impute", sklearn_impute),
        ("kpod", lambda Xm: KMeans(K, random_state=seed, missing="kpod").fit(Xm).labels_),
        ("masked", lambda Xm: KMeans(K, random_state=seed, missing="masked").fit(Xm).labels_),
        (
            "minibatch kpod",
            lambda Xm: MiniBatchKMeans(K, random_state=seed, missing="kpod").fit(Xm).labels_,
        ),
    ]


def run(n_rows, seeds):
    patterns = ["mcar10", "mcar30", "mcar50", "cluster"]
    results = {}
    warm, warm_y = make_blobs(600, n_features=10, centers=K, random_state=99)
    for _, fit in methods(0):  # compile (or load) every kernel before timing
        fit(with_holes(warm, warm_y, "mcar30", np.random.default_rng(0)))
    for pattern in patterns:
        for seed in range(seeds):
            X, y = make_blobs(n_rows, n_features=10, centers=K, cluster_std=2.5, random_state=seed)
            Xm = with_holes(X, y, pattern, np.random.default_rng(seed))
            for name, fit in methods(seed):
                start = time.perf_counter()
                labels = fit(Xm)
                seconds = time.perf_counter() - start
                results.setdefault((pattern, name), []).append(
                    (adjusted_rand_score(y, labels), seconds)
                )
            progress(f"{pattern} seed {seed} done")
    return patterns, results


def table(patterns, results):
    lines = [
        "| holes | method | ARI (median) | ARI (worst) | fit time (s) | time / impute |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for pattern in patterns:
        base = statistics.median(t for _, t in results[(pattern, "impute")])
        for (p, name), values in results.items():
            if p != pattern:
                continue
            aris = [a for a, _ in values]
            seconds = statistics.median(t for _, t in values)
            lines.append(
                f"| {pattern} | {name} | {statistics.median(aris):.3f} | {min(aris):.3f} | "
                f"{seconds:.3f} | {seconds / base:.2f} |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 rows instead of 20,000")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    n_rows = 5_000 if args.quick else 20_000
    with OtherLoad() as load:
        patterns, results = run(n_rows, args.seeds)
    cores = "unknown" if load.cores is None else f"{load.cores:.1f} cores"
    text = (
        f"{n_rows:,} rows × 10 features, k = {K}, {args.seeds} seed(s); "
        f"revision {source_revision()}; other load {cores} over {load.elapsed:.0f} s\n\n"
        f"{table(patterns, results)}\n\n"
        f"Command: `{python_command()} benchmarks/missing.py"
        f"{' --quick' if args.quick else ''} --seeds {args.seeds}`"
    )
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
