"""Spherical k-means on TF-IDF vectors vs scikit-learn, and centroids.vq vs scipy.cluster.vq.

Run from the project root::

    .venv/bin/python benchmarks/spherical_documents.py [--quick] [--seeds 2]
                                                       [--only spherical|vq] [--markdown PATH]

Part 1, W5 (``benchmarks/workloads.py``: a 50,000 × 20,000 TF-IDF-like CSR matrix with
L2-normalised rows, ~100 non-zeros a row; ``--quick``: 5,000 rows), k=20. Fitted one after
the other in this process, for each seed:

- centroids' ``SphericalKMeans`` on the float64 matrix and on a float32 copy,
- scikit-learn's ``KMeans`` (one k-means++ run, lloyd) on the same matrix: its rows are
  unit vectors, so this is the Euclidean form of the same problem, except that its
  centers are means, not unit vectors.

Reported: the median fit time, the ratio to scikit-learn's, and the cosine objective
``Σ (1 - max_c cos(x, c))`` of each model's centers (every row to the center of largest
cosine, computed the same way for all, outside the timed region).

Part 2, 200,000 × 8 float64 (W1's generator: 16 overlapping blobs), k=16, SciPy's own
functions against centroids', from the same start (16 rows of the data, as SciPy's
``minit='points'`` picks them): ``vq`` (one assignment), ``kmeans2`` (``minit='matrix'``,
10 iterations) and ``kmeans`` (from the same guess, until the distortion settles). Best of
three calls each; the labels and code books are compared.

The kernels are compiled (or loaded from numba's cache) on small inputs before any timing.
The machine's other load during the run is measured and printed with the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.cluster.vq as scipy_vq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads as workload_data
from machine import OtherLoad, progress, python_command, source_revision
from sklearn.cluster import KMeans as SklearnKMeans

from centroids import vq as centroids_vq
from centroids.models.spherical import SphericalKMeans


def cosine_objective(X, centers):
    """Σ (1 - max_c cos(x, c)) over the (unit) rows of X, for any centers (normalised here)."""
    centers = np.asarray(centers, dtype=np.float64)
    unit = centers / np.linalg.norm(centers, axis=1, keepdims=True)
    best = np.asarray(X @ unit.T).max(axis=1)
    return float((1.0 - best).sum())


def spherical_part(X, k, seeds):
    X32 = X.astype(np.float32)
    configurations = [
        ("centroids SphericalKMeans float64", X, lambda s: SphericalKMeans(k, random_state=s)),
        ("centroids SphericalKMeans float32", X32, lambda s: SphericalKMeans(k, random_state=s)),
        (
            "sklearn KMeans on the unit rows (lloyd)",
            X,
            lambda s: SklearnKMeans(k, n_init=1, random_state=s),
        ),
    ]
    results = []
    for name, data, make in configurations:
        times, objectives, iterations = [], [], []
        for seed in seeds:
            model = make(seed)
            start = time.perf_counter()
            model.fit(data)
            times.append(time.perf_counter() - start)
            objectives.append(cosine_objective(X, model.cluster_centers_))
            iterations.append(model.n_iter_)
            progress(
                f"  {name} seed={seed}: {times[-1]:.2f} s, cosine objective "
                f"{objectives[-1]:.6g}, {iterations[-1]} iterations"
            )
        results.append(
            {
                "name": name,
                "time": statistics.median(times),
                "objective": statistics.median(objectives),
                "iterations": statistics.median(iterations),
                "n_seeds": len(times),
            }
        )
    return results


def best_time(function, repeats=3):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def vq_part(X, k):
    start_rows = np.random.RandomState(0).choice(X.shape[0], size=k, replace=False)
    guess = X[start_rows]
    rows = []
    for name, ours, theirs, same in [
        (
            "vq (one assignment)",
            lambda: centroids_vq.vq(X, guess),
            lambda: scipy_vq.vq(X, guess),
            lambda a, b: np.array_equal(a[0], b[0]),
        ),
        (
            "kmeans2, minit='matrix', iter=10",
            lambda: centroids_vq.kmeans2(X, guess, minit="matrix"),
            lambda: scipy_vq.kmeans2(X, guess, minit="matrix"),
            lambda a, b: np.array_equal(a[1], b[1]) and np.allclose(a[0], b[0], rtol=1e-9),
        ),
        (
            "kmeans from the same guess",
            lambda: centroids_vq.kmeans(X, guess),
            lambda: scipy_vq.kmeans(X, guess),
            lambda a, b: np.allclose(a[0], b[0], rtol=1e-9) and np.isclose(a[1], b[1]),
        ),
    ]:
        our_time, our_result = best_time(ours)
        their_time, their_result = best_time(theirs)
        agree = same(our_result, their_result)
        progress(f"  {name}: centroids {our_time:.3f} s, SciPy {their_time:.3f} s, same: {agree}")
        rows.append({"name": name, "ours": our_time, "scipy": their_time, "same": agree})
    return rows


def report(spherical, vq_rows, workload, vq_shape, load, quick, command):
    lines = [f"Command: `{command}`. {source_revision()}."]
    if spherical:
        lines += spherical_table(spherical, workload, quick)
    if vq_rows:
        lines += vq_table(vq_rows, vq_shape)
    other = "unknown" if load.cores is None else f"{load.cores:.2f}"
    lines += [
        "",
        f"Other load: on average {other} cores were busy with other work during the "
        f"{load.elapsed:.0f} s run (2-core machine shared with other jobs: times are "
        "indicative; ratios within one run are the figures to compare).",
    ]
    return "\n".join(lines)


def spherical_table(spherical, workload, quick):
    sklearn_row = spherical[-1]
    lines = [
        "",
        f"**Spherical k-means**, W5{' (quick, 1/10 of the rows)' if quick else ''}: "
        f"{workload.shape_text}, k={workload.n_clusters}; median over {sklearn_row['n_seeds']} "
        "seed(s). Cosine objective: Σ (1 − max cos) of every row to the given centers "
        "(lower is better).",
        "",
        "| implementation | time (s) | × sklearn KMeans | iterations | cosine objective "
        "| vs sklearn |",
        "|---|---|---|---|---|---|",
    ]
    for r in spherical:
        lines.append(
            f"| {r['name']} | {r['time']:.2f} | {r['time'] / sklearn_row['time']:.3f} "
            f"| {r['iterations']:g} | {r['objective']:.6g} "
            f"| {r['objective'] / sklearn_row['objective'] - 1:+.3%} |"
        )
    return lines


def vq_table(vq_rows, vq_shape):
    lines = [
        "",
        f"**SciPy-style functions**, {vq_shape} (W1's generator), k=16, from the same 16 "
        "rows; best of 3 calls.",
        "",
        "| function | centroids.vq (s) | scipy.cluster.vq (s) | time ratio (centroids / SciPy) "
        "| same result |",
        "|---|---|---|---|---|",
    ]
    for r in vq_rows:
        lines.append(
            f"| {r['name']} | {r['ours']:.3f} | {r['scipy']:.3f} | {r['ours'] / r['scipy']:.3f} "
            f"| {'yes' if r['same'] else 'NO'} |"
        )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="W5 at 5,000 rows, vq at 20,000")
    parser.add_argument("--seeds", type=int, default=2, help="seeds for each spherical fit")
    parser.add_argument("--only", choices=("spherical", "vq"), help="run one part only")
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    workload = workload_data.suite_workloads(quick=args.quick)["W5"]
    X = None
    if args.only != "vq":
        progress(f"Generating {workload.shape_text} ...")
        X = workload.make()
    n_vq = 20_000 if args.quick else 200_000
    vq_workload = workload_data.Workload("W1", "W1's generator", n_vq, 8, 16, "float64")
    X_vq = vq_workload.make()
    progress("Compiling / loading the kernels on small inputs ...")
    if X is not None:
        SphericalKMeans(workload.n_clusters, random_state=0).fit(X[:2000])
        SphericalKMeans(workload.n_clusters, random_state=0).fit(X[:2000].astype(np.float32))
    centroids_vq.kmeans2(X_vq[:2000], 16, minit="points", seed=0)
    centroids_vq.kmeans(X_vq[:2000], X_vq[:16])
    with OtherLoad() as load:
        spherical, vq_rows = [], []
        if args.only != "vq":
            spherical = spherical_part(X, workload.n_clusters, list(range(args.seeds)))
        if args.only != "spherical":
            vq_rows = vq_part(X_vq, 16)
    command = " ".join(
        [python_command(), "benchmarks/spherical_documents.py", *(argv or sys.argv[1:])]
    )
    text = report(spherical, vq_rows, workload, vq_workload.shape_text, load, args.quick, command)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
