"""KPrototypes against kmodes.KPrototypes and KMedoids against kmedoids.fasterpam.

Both sides run in the same process on the same data, one after the other, with compile
excluded (every centroids kernel runs once on small data first). Reported as ratios
(theirs / ours for time, ours / theirs for the cost), with the "other load" of the
shared machine measured over each timed call.

- KPrototypes: 8 well-separated groups in 5 numeric columns (standard normal noise) and 3
  categorical columns (4, 6 and 10 categories; 30% of values drawn at random), k = 8, the
  same ``gamma`` (ours' default, half the mean standard deviation) and the same ``n_init``
  on both sides. Otherwise both use their defaults: ours k-prototypes++ seeding, batch
  steps and swap refinement; kmodes Cao initialisation, Huang's incremental moves,
  ``n_jobs=1``.
- KMedoids: Gaussian blobs (10 centers, 8 features, standard deviation 2.5), k = 10,
  Euclidean. "from X" times the whole fit: ours computes its float32 distance matrix
  and runs k-medoids++ + FasterPAM; the kmedoids package gets the float64 matrix from
  ``sklearn.metrics.euclidean_distances`` and runs ``fasterpam`` (random init, its
  default, all threads). "matrix given" times the solvers alone on the same float64
  matrix (ours with ``metric='precomputed'``).
- scikit-learn-extra's KMedoids is not compared: scikit-learn-extra 0.3.0 installs from
  its wheel but fails to import with numpy 2.4 ("numpy.dtype size changed, may indicate
  binary incompatibility"), so it is left out.

Usage: ``python benchmarks/kprototypes_kmedoids.py [--quick | --full]``. kmodes takes
about 10 s per run of 5,000 rows and 60 s per run of 20,000 on the shared 2-core machine,
and kmedoids 25-100 s for 20,000 rows, so the default run (1.5-3 minutes there)
compares KPrototypes at 5,000 rows with ``n_init=3`` and at 20,000 with ``n_init=1``,
and KMedoids at 5,000 and 20,000 rows (the solvers alone on a given matrix at 5,000 only);
``--full`` (about 9 minutes) runs 20,000 rows with ``n_init=3`` and the solvers alone at
20,000 as well; ``--quick`` (about 1 minute) 5,000 rows only.
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib.metadata import version

import kmedoids
import numpy as np
import pandas as pd
from kmodes.kprototypes import KPrototypes as KModesKPrototypes
from machine import OtherLoad, progress, python_command, source_revision
from sklearn.datasets import make_blobs
from sklearn.metrics import euclidean_distances

from centroids._kernels.dense import n_chunks
from centroids._kernels.kmedoids import PRECOMPUTED, candidate_totals, distances_to_row
from centroids.models.kmedoids import KMedoids
from centroids.models.kprototypes import KPrototypes

N_INIT = 3


def mixed_data(n_rows, seed=0):
    """5 numeric and 3 categorical (string) columns from 8 groups, as a DataFrame."""
    rng = np.random.RandomState(seed)
    group = rng.randint(8, size=n_rows)
    centers = rng.normal(0, 3, size=(8, 5))
    frame = pd.DataFrame(
        centers[group] + rng.normal(size=(n_rows, 5)), columns=[f"x{j}" for j in range(5)]
    )
    for j, n_categories in enumerate((4, 6, 10)):
        by_group = rng.randint(n_categories, size=8)
        noise = rng.uniform(size=n_rows) < 0.3
        values = np.where(noise, rng.randint(n_categories, size=n_rows), by_group[group])
        frame[f"c{j}"] = np.char.add("v", values.astype(str))
    return frame


def timed(function):
    with OtherLoad() as load:
        start = time.perf_counter()
        result = function()
        seconds = time.perf_counter() - start
    return result, seconds, load.cores


def compile_kernels():
    """Run every kernel once, serial and parallel forms, so no timing includes compiling."""
    KPrototypes(n_clusters=3, n_init=1, random_state=0).fit(mixed_data(600))
    KPrototypes(n_clusters=8, n_init=1, random_state=0).fit(mixed_data(5_000))  # parallel
    X, _ = make_blobs(600, n_features=8, random_state=0)
    for method in ("fasterpam", "alternate"):
        KMedoids(n_clusters=3, method=method, random_state=0).fit(X)
        KMedoids(n_clusters=3, metric="precomputed", method=method).fit(euclidean_distances(X))
    D32 = euclidean_distances(X).astype(np.float32)
    candidates = np.arange(4, dtype=np.int64)
    totals = np.empty((n_chunks(600), 4))
    distances = np.empty(600)
    for D in (D32, D32.astype(np.float64)):
        candidate_totals.parallel(
            D, np.empty(0), PRECOMPUTED, candidates, distances, np.ones(600), totals
        )
        distances_to_row.parallel(D, np.empty(0), PRECOMPUTED, 0, distances)


def kprototypes_rows(sizes):
    rows = []
    for n_rows, n_init in sizes:
        frame = mixed_data(n_rows)
        progress(f"KPrototypes {n_rows} rows: centroids")
        ours, ours_s, ours_load = timed(
            lambda frame=frame, n_init=n_init: KPrototypes(
                n_clusters=8, n_init=n_init, random_state=0
            ).fit(frame)
        )
        progress(f"KPrototypes {n_rows} rows: kmodes")
        values = frame.to_numpy(dtype=object)
        peer, peer_s, peer_load = timed(
            lambda values=values, gamma=ours.gamma_, n_init=n_init: KModesKPrototypes(
                n_clusters=8, n_init=n_init, gamma=gamma, random_state=0
            ).fit(values, categorical=[5, 6, 7])
        )
        rows.append(
            f"| {n_rows:,} × (5 num + 3 cat), k=8, n_init={n_init} | {ours.cost_:,.1f} | "
            f"{peer.cost_:,.1f} | {ours.cost_ / peer.cost_:.4f} | {ours_s:.2f} s | "
            f"{peer_s:.2f} s | **{peer_s / ours_s:.0f}×** | {ours_load:.1f} / {peer_load:.1f} |"
        )
    return rows


def kmedoids_rows(sizes):
    rows = []
    for n_rows, with_matrix in sizes:
        X, _ = make_blobs(n_rows, n_features=8, centers=10, cluster_std=2.5, random_state=0)
        progress(f"KMedoids {n_rows} rows: centroids from X")
        ours, ours_s, ours_load = timed(lambda X=X: KMedoids(n_clusters=10, random_state=0).fit(X))

        def peer_from_X(X=X):
            return kmedoids.fasterpam(euclidean_distances(X), 10, random_state=0)

        progress(f"KMedoids {n_rows} rows: kmedoids from X")
        peer, peer_s, peer_load = timed(peer_from_X)
        given = "not run (--full runs it)"
        if with_matrix:
            D = euclidean_distances(X)
            progress(f"KMedoids {n_rows} rows: both on the given matrix")
            ours_m, ours_m_s, _ = timed(
                lambda D=D: KMedoids(n_clusters=10, metric="precomputed", random_state=0).fit(D)
            )
            peer_m, peer_m_s, _ = timed(lambda D=D: kmedoids.fasterpam(D, 10, random_state=0))
            del D
            given = (
                f"{ours_m_s:.2f} s / {peer_m_s:.2f} s ({peer_m_s / ours_m_s:.2f}×; deviation "
                f"ratio {ours_m.inertia_ / float(peer_m.loss):.4f})"
            )
        rows.append(
            f"| {n_rows:,} × 8, k=10 | {ours.inertia_:,.1f} | {float(peer.loss):,.1f} | "
            f"{ours.inertia_ / float(peer.loss):.4f} | {ours_s:.2f} s | {peer_s:.2f} s | "
            f"**{peer_s / ours_s:.2f}×** | {given} | {ours_load:.1f} / {peer_load:.1f} |"
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="5,000 rows only")
    size.add_argument("--full", action="store_true", help="every comparison at 20,000 rows")
    args = parser.parse_args()
    kp_sizes = [(5_000, N_INIT)]
    km_sizes = [(5_000, True)]
    if not args.quick:
        kp_sizes.append((20_000, N_INIT if args.full else 1))
        km_sizes.append((20_000, args.full))
    progress("compiling the kernels")
    compile_kernels()
    kp = kprototypes_rows(kp_sizes)
    km = kmedoids_rows(km_sizes)
    print(
        "\n".join(
            [
                "### KPrototypes vs kmodes, KMedoids vs kmedoids (FasterPAM)",
                "",
                f"- command: `{' '.join([python_command(), *sys.argv])}`",
                f"- source: {source_revision()}; kmodes {version('kmodes')}, kmedoids "
                f"{version('kmedoids')} in the same process, compile excluded",
                "- other load: average cores busy with other work during our call / theirs",
                "",
                "| KPrototypes data | cost (ours) | cost (kmodes) | ratio | time (ours) | "
                "time (kmodes) | speed-up | other load |",
                "|---|---|---|---|---|---|---|---|",
                *kp,
                "",
                "| KMedoids data | deviation (ours) | deviation (kmedoids) | ratio | time from X "
                "(ours) | time from X (kmedoids) | speed-up | matrix given: ours / kmedoids | "
                "other load |",
                "|---|---|---|---|---|---|---|---|---|",
                *km,
            ]
        )
    )


if __name__ == "__main__":
    main()
