"""Mini-batch K-Means side by side: centroids and scikit-learn, and both full K-Means.

Run from the project root::

    .venv/bin/python benchmarks/minibatch.py [--quick] [--seeds 3] [--sklearn-seeds 1]
                                             [--markdown PATH]

scikit-learn's MiniBatchKMeans dominates the run time: in scikit-learn 1.9 each step
draws its batch with ``RandomState.choice(n, p=weights)``, which costs O(n), so one fit on
the full W1 takes from about a minute (idle 2-core machine) to several (shared machine).
Hence one seed for it by default; ``--quick`` (100,000 rows) runs in about two minutes.

On W1 (``benchmarks/workloads.py``: 1,000,000 × 8 float64, 16 overlapping blobs, k=16;
``--quick``: 100,000 rows) it fits, in this process and one after the other:

- centroids' ``MiniBatchKMeans`` with batch_size 1024 and 4096 (its defaults otherwise:
  seeds polished on the init subsample), and with batch_size 1024 and ``refine=False``
  (the plain k-means++ seeding, as scikit-learn's),
- scikit-learn's ``MiniBatchKMeans`` with batch_size 1024 and 4096 (defaults otherwise),
- centroids' ``KMeans`` and scikit-learn's ``KMeans`` (one k-means++ run each),

and reports for each the median fit time over the seeds (labels of every row included:
``compute_labels=True`` for both mini-batch estimators), the full-data inertia (every row
to its nearest returned center, in float64, outside the timed region; median and worst
over the seeds) and its excess over centroids' full KMeans, with time ratios against
scikit-learn's MiniBatchKMeans of the same batch size. The kernels are compiled (or
loaded from numba's cache) on a small slice before any timing. The machine's other load
during the run is measured and printed with the figures.
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
from machine import OtherLoad, progress, python_command, source_revision
from sklearn import cluster as sk_cluster

from centroids.engine import blas_limited_to_one_thread, engine_data
from centroids.models.kmeans import KMeans
from centroids.models.minibatch import MiniBatchKMeans


def full_inertia(X, centers):
    """Σ min_c ||x - c||² over every row of X, in float64 (the same for every implementation)."""
    data = engine_data(np.ascontiguousarray(X, dtype=np.float64))
    with blas_limited_to_one_thread():
        _, _, inertia = data.assign_labels(np.ones(data.n_rows), np.asarray(centers, np.float64))
    return inertia


def configurations(k):
    """(name, batch size or None, seeds key, factory(seed)) for every implementation."""
    return [
        ("centroids MiniBatchKMeans", 1024, "ours",
         lambda s: MiniBatchKMeans(k, batch_size=1024, random_state=s)),
        ("centroids MiniBatchKMeans", 4096, "ours",
         lambda s: MiniBatchKMeans(k, batch_size=4096, random_state=s)),
        ("centroids MiniBatchKMeans, refine=False", 1024, "ours",
         lambda s: MiniBatchKMeans(k, batch_size=1024, refine=False, random_state=s)),
        ("sklearn MiniBatchKMeans", 1024, "sklearn",
         lambda s: sk_cluster.MiniBatchKMeans(k, batch_size=1024, random_state=s)),
        ("sklearn MiniBatchKMeans", 4096, "sklearn",
         lambda s: sk_cluster.MiniBatchKMeans(k, batch_size=4096, random_state=s)),
        ("centroids KMeans (full)", None, "full", lambda s: KMeans(k, random_state=s)),
        ("sklearn KMeans (full, lloyd)", None, "full",
         lambda s: sk_cluster.KMeans(k, n_init=1, random_state=s)),
    ]  # fmt: skip


def run(X, k, seeds):
    results = []
    for name, batch, seeds_key, make in configurations(k):
        times, inertias, steps = [], [], []
        for seed in seeds[seeds_key]:
            model = make(seed)
            start = time.perf_counter()
            model.fit(X)
            times.append(time.perf_counter() - start)
            inertias.append(full_inertia(X, model.cluster_centers_))
            steps.append(getattr(model, "n_steps_", model.n_iter_))
            progress(
                f"  {name} batch={batch} seed={seed}: {times[-1]:.3f} s, inertia "
                f"{inertias[-1]:.6g}, {'steps' if batch else 'iterations'} {steps[-1]}"
            )
        results.append(
            {
                "name": name,
                "batch": batch,
                "time": statistics.median(times),
                "inertia": statistics.median(inertias),
                "worst": max(inertias),
                "steps": statistics.median(steps),
                "n_seeds": len(times),
            }
        )
    return results


def report(results, workload, load, quick, command):
    full = next(r for r in results if r["name"] == "centroids KMeans (full)")["inertia"]
    sklearn_time = {
        r["batch"]: r["time"] for r in results if r["name"] == "sklearn MiniBatchKMeans"
    }
    lines = [
        f"W1{' (quick, 1/10 of the rows)' if quick else ''}: {workload.shape_text}, "
        f"k={workload.n_clusters}. Command: `{command}`. {source_revision()}.",
        "",
        "| implementation | batch | seeds | time (s) | × sklearn MBK same batch | steps / iter "
        "| inertia (median) | vs full centroids KMeans | worst seed vs full |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = ""
        if r["batch"] in sklearn_time and r["name"] != "sklearn MiniBatchKMeans":
            ratio = f"{r['time'] / sklearn_time[r['batch']]:.3f}"
        elif r["name"] == "sklearn MiniBatchKMeans":
            ratio = "1"
        lines.append(
            f"| {r['name']} | {r['batch'] or '-'} | {r['n_seeds']} | {r['time']:.3f} | {ratio} "
            f"| {r['steps']:g} | {r['inertia']:.6g} | {r['inertia'] / full - 1:+.3%} "
            f"| {r['worst'] / full - 1:+.3%} |"
        )
    other = "unknown" if load.cores is None else f"{load.cores:.2f}"
    lines += [
        "",
        f"Other load: on average {other} cores were busy with other work during the "
        f"{load.elapsed:.0f} s run (2-core machine shared with other jobs: times are "
        "indicative; ratios within one run are the figures to compare).",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="W1 at 100,000 rows")
    parser.add_argument("--seeds", type=int, default=3, help="seeds for centroids' fits")
    parser.add_argument(
        "--sklearn-seeds", type=int, default=1, help="seeds for scikit-learn's MiniBatchKMeans"
    )
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    workload = workload_data.suite_workloads(quick=args.quick)["W1"]
    progress(f"Generating {workload.shape_text} ...")
    X = workload.make()
    k = workload.n_clusters
    progress("Compiling / loading the kernels on a slice ...")
    MiniBatchKMeans(k, batch_size=1024, random_state=0).fit(X[:20_000])
    MiniBatchKMeans(k, batch_size=4096, random_state=0).fit(X[:20_000])
    KMeans(k, random_state=0).fit(X[:20_000])
    seeds = {
        "ours": list(range(args.seeds)),
        "sklearn": list(range(args.sklearn_seeds)),
        "full": [0],
    }
    with OtherLoad() as load:
        results = run(X, k, seeds)
    command = " ".join([python_command(), "benchmarks/minibatch.py", *(argv or sys.argv[1:])])
    text = report(results, workload, load, args.quick, command)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
