"""Cluster-quality metrics: centroids against scikit-learn, side by side in one process.

Run from the project root::

    .venv/bin/python benchmarks/metrics_speed.py [--quick] [--threads N] [--parts ...]

- exact silhouette score (``centroids.evaluate.metrics.silhouette_score`` against
  ``sklearn.metrics.silhouette_score``) on Gaussian blobs of 20,000 and 100,000 rows
  (12 features, 8 clusters, float64), and on the 20,000 rows as float32;
- ``silhouette_estimate`` of the 100,000 rows from 2,000 sampled rows (no peer: it is
  compared with the exact score it estimates);
- Davies-Bouldin and Calinski-Harabasz indices on 1,000,000 rows (12 features, 8
  clusters, float64).

``--quick`` runs the 20,000-row silhouettes and the indices on 200,000 rows only;
``--parts silhouette`` or ``--parts indices`` runs one half.
Every function is called once on small data first, so numba compilation is excluded.
The timings are one run each (the large silhouettes take minutes); each row says how
many cores other processes kept busy meanwhile (``other load``), since on a shared
machine absolute times move. The report (Markdown) goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time

import numba
import numpy as np
import sklearn
from machine import OtherLoad, progress, python_command, source_revision
from sklearn import metrics as sk_metrics
from sklearn.datasets import make_blobs

from centroids.evaluate import metrics


def blobs(n, d=12, k=8, dtype=np.float64):
    X, labels = make_blobs(n, n_features=d, centers=k, cluster_std=2.0, random_state=0)
    return np.ascontiguousarray(X, dtype=dtype), labels


def timed(function, *args, **kwargs):
    """(result, seconds, cores busy with other work meanwhile)."""
    with OtherLoad() as load:
        start = time.perf_counter()
        result = function(*args, **kwargs)
        seconds = time.perf_counter() - start
    return result, seconds, load.cores


def warm_up():
    """Compile every kernel the runs below use, in its serial and its parallel form."""
    for dtype in (np.float64, np.float32):
        for n in (200, 3_000):
            X, labels = blobs(n, dtype=dtype)
            metrics.silhouette_score(X, labels)
            metrics.silhouette_estimate(X, labels, 100, random_state=0)
    for n in (200, 100_000):  # the parallel forms need 2**18 values or more
        X, labels = blobs(n)
        metrics.davies_bouldin_score(X, labels)
        metrics.calinski_harabasz_score(X, labels)


def load_text(cores):
    return "n/a" if cores is None else f"{cores:.1f}"


def compare(rows, name, X, labels, ours, theirs):
    progress(f"{name}: centroids")
    ours_value, ours_seconds, ours_load = timed(ours, X, labels)
    progress(f"{name}: scikit-learn ({ours_seconds:.1f} s for centroids)")
    their_value, their_seconds, their_load = timed(theirs, X, labels)
    rows.append(
        [
            name,
            f"{X.shape[0]:,} × {X.shape[1]}, {X.dtype}",
            f"{ours_seconds:.2f}",
            f"{their_seconds:.2f}",
            f"{their_seconds / ours_seconds:.1f}×",
            f"{abs(ours_value - their_value):.1e} ({abs(ours_value / their_value - 1):.1e})",
            f"{load_text(ours_load)} / {load_text(their_load)}",
        ]
    )
    progress(f"  {rows[-1]}")
    return ours_value


def silhouette_rows(rows, quick):
    """The exact silhouettes side by side; the estimate's line of the report (full runs)."""
    X, labels = blobs(20_000)
    for dtype in (np.float64, np.float32):
        compare(
            rows,
            "silhouette",
            X.astype(dtype),
            labels,
            metrics.silhouette_score,
            sk_metrics.silhouette_score,
        )
    if quick:
        return ""
    X, labels = blobs(100_000)
    exact = compare(
        rows, "silhouette", X, labels, metrics.silhouette_score, sk_metrics.silhouette_score
    )
    progress("silhouette_estimate")
    estimate, seconds, load = timed(metrics.silhouette_estimate, X, labels, 2_000, random_state=0)
    return (
        f"\n`silhouette_estimate(X, labels, 2000, random_state=0)` on the 100,000 rows: "
        f"{seconds:.2f} s (other load {load_text(load)} cores), score {estimate.score:.5f}, "
        f"95% interval [{estimate.low:.5f}, {estimate.high:.5f}] (stderr "
        f"{estimate.stderr:.1e}); the exact score {exact:.5f} is "
        f"{'inside' if estimate.low <= exact <= estimate.high else 'OUTSIDE'}."
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000-row silhouettes only")
    parser.add_argument("--threads", type=int, default=None, help="numba threads")
    parser.add_argument(
        "--parts",
        default="silhouette,indices",
        help="comma-separated: silhouette (the silhouette rows), indices (DB and CH)",
    )
    args = parser.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)
    progress("compiling")
    warm_up()
    parts = set(args.parts.split(","))
    rows = []
    estimate_line = ""
    if "silhouette" in parts:
        estimate_line = silhouette_rows(rows, args.quick)
    if "indices" in parts:
        X, labels = blobs(200_000 if args.quick else 1_000_000)
        for name, ours, theirs in (
            ("Davies-Bouldin", metrics.davies_bouldin_score, sk_metrics.davies_bouldin_score),
            (
                "Calinski-Harabasz",
                metrics.calinski_harabasz_score,
                sk_metrics.calinski_harabasz_score,
            ),
        ):
            compare(rows, name, X, labels, ours, theirs)
    print(report(args, rows, estimate_line))


def report(args, rows, estimate_line):
    headers = [
        "metric",
        "data (blobs, 8 clusters)",
        "centroids s",
        "scikit-learn s",
        "scikit-learn / centroids",
        "difference: absolute (relative)",
        "other load (cores)",
    ]
    lines = [
        "| " + " | ".join(headers) + " |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    facts = [
        f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- command: `{' '.join([python_command(), *sys.argv])}`",
        f"- machine: {platform.machine()}, {os.cpu_count()} logical cores, numba threads "
        f"{numba.get_num_threads()}; python {platform.python_version()}, numpy "
        f"{np.__version__}, scikit-learn {sklearn.__version__}, numba {numba.__version__}, "
        f"{source_revision()}",
        "- one run each, compilation excluded; 'other load' is the average number of cores "
        "other processes kept busy during the centroids / scikit-learn run",
    ]
    return "\n".join(["### Cluster-quality metrics", "", *facts, "", *lines, estimate_line])


if __name__ == "__main__":
    main()
