"""centroids' KMeans on Dask next to dask-ml's KMeans and the in-memory fit.

Run from the project root (``make bench`` runs the default)::

    .venv/bin/python benchmarks/dask_bench.py [--rows 1000000,10000000] [--k 16,256]
                                              [--max-iter 30] [--markdown PATH]

On one machine, a ``LocalCluster`` of 2 worker processes of 1 thread each:

1. Fit time and final inertia of ``centroids.KMeans`` on a dask array (k-means||
   seeding, exact Lloyd passes on the workers), of ``dask_ml.cluster.KMeans
   (init='k-means||')`` on the same persisted array and cluster, and of the in-memory
   ``centroids.KMeans`` (k-means||, both cores, no refinement) on the same rows, for
   each rows × k. Every fit has the same ``max_iter`` and ``tol``; the inertia of every
   result is computed the same way (nearest returned center, float64) outside the timed
   region. Data: gaussian blobs, 16 features, as many blobs as clusters; generated once
   and persisted on the workers before any timing.
2. Peak memory per worker during a centroids fit against the partition size: the
   resident memory of each worker process is sampled every 10 ms; the figure is the
   peak over the fit minus the worker's memory with the data persisted (the fit's own
   working memory), next to one partition's size.
3. A scale-out estimate from 2 to 100 workers, from measured parts: the time of one
   partition's share of a Lloyd pass (on one thread), the time of one merge of 8 partial
   results (k × d sums), and the per-task overhead of the scheduler (the measured pass
   time less its compute, per task).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import progress, python_command, source_revision

N_FEATURES = 16
PARTITION_ROWS = 131_072  # a multiple of DASK_BLOCK_ROWS: no realigned copy


def blobs(n_rows, k, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-10, 10, (k, N_FEATURES))
    X = means[rng.integers(0, k, n_rows)]
    X += rng.normal(0, 1.0, X.shape)
    return X


def inertia_of(X, centers):
    """Σ min_c ||x - c||², float64, in chunks."""
    total = 0.0
    c = np.asarray(centers, dtype=np.float64)
    c_sq = np.einsum("ij,ij->i", c, c)
    for start in range(0, X.shape[0], 65_536):
        rows = X[start : start + 65_536]
        d = np.einsum("ij,ij->i", rows, rows)[:, None] - 2 * rows @ c.T + c_sq[None, :]
        total += float(np.maximum(d.min(axis=1), 0).sum())
    return total


# -- worker memory sampling ---------------------------------------------------------


def _start_sampler(dask_worker):
    import psutil

    process = psutil.Process()
    state = {"peak": process.memory_info().rss, "run": True}

    def sample():
        while state["run"]:
            state["peak"] = max(state["peak"], process.memory_info().rss)
            time.sleep(0.01)

    threading.Thread(target=sample, daemon=True).start()
    dask_worker._bench_memory = state
    return state["peak"]


def _stop_sampler(dask_worker):
    state = dask_worker._bench_memory
    state["run"] = False
    return state["peak"]


# -- the runs ----------------------------------------------------------------------


def timed(fit):
    start = time.perf_counter()
    result = fit()
    return time.perf_counter() - start, result


def compare(client, n_rows, k, max_iter, with_dask_ml, seed=0):
    import dask.array as da

    from centroids import KMeans

    X = blobs(n_rows, k)
    dX = da.from_array(X, chunks=(PARTITION_ROWS, N_FEATURES))
    dX = client.persist(dX)
    from distributed import wait

    wait(dX)
    rows = {}
    with client.as_current():
        # warm-up: loads the kernels in the workers (numba's on-disk cache)
        KMeans(k, random_state=1, max_iter=2).fit(dX[: 4 * PARTITION_ROWS])
        seconds, model = timed(
            lambda: KMeans(k, init="k-means||", max_iter=max_iter, random_state=seed).fit(dX)
        )
        rows["centroids (dask)"] = (seconds, inertia_of(X, model.cluster_centers_), model.n_iter_)
        if with_dask_ml:
            from dask_ml.cluster import KMeans as DaskMLKMeans

            seconds, peer = timed(
                lambda: DaskMLKMeans(
                    n_clusters=k, init="k-means||", max_iter=max_iter, random_state=seed
                ).fit(dX)
            )
            rows["dask-ml"] = (seconds, inertia_of(X, peer.cluster_centers_), peer.n_iter_)
    KMeans(k, init="k-means||", max_iter=2, refine=False, random_state=1).fit(X[:50_000])
    seconds, local = timed(
        lambda: KMeans(k, init="k-means||", max_iter=max_iter, refine=False, random_state=seed).fit(
            X
        )
    )
    rows["centroids (in memory)"] = (seconds, inertia_of(X, local.cluster_centers_), local.n_iter_)
    seconds, default = timed(lambda: KMeans(k, max_iter=max_iter, random_state=seed).fit(X))
    rows["centroids (in memory, defaults)"] = (
        seconds,
        inertia_of(X, default.cluster_centers_),
        default.n_iter_,
    )
    client.cancel(dX)
    return rows


def memory_against_partition(client, n_rows, k, partition_rows):
    import dask.array as da
    from distributed import wait

    from centroids import KMeans

    X = blobs(n_rows, k)
    out = []
    for rows_per_part in partition_rows:
        dX = client.persist(da.from_array(X, chunks=(rows_per_part, N_FEATURES)))
        wait(dX)
        time.sleep(0.5)
        base = client.run(_start_sampler)
        with client.as_current():
            KMeans(k, init="k-means||", max_iter=10, random_state=0).fit(dX)
        peak = client.run(_stop_sampler)
        working = max(peak[w] - base[w] for w in peak) / 2**20
        out.append((rows_per_part, rows_per_part * N_FEATURES * 8 / 2**20, working))
        client.cancel(dX)
        del dX
    return out


def scale_out(client, n_rows, k, n_workers_measured=2):
    """Measured parts of a Lloyd pass, and the modelled pass time for 2..100 workers."""
    import dask.array as da
    from distributed import wait

    from centroids.engine import dask as engine

    X = blobs(n_rows, k)
    part = np.ascontiguousarray(X[:PARTITION_ROWS])
    centers = X[:k].copy()
    n_blocks = math.ceil(n_rows / engine.DASK_BLOCK_ROWS)
    engine.lloyd_partition(part, None, 0, centers, n_blocks, False)
    t_part = min(
        timed(lambda: engine.lloyd_partition(part, None, 0, centers, n_blocks, False))[0]
        for _ in range(5)
    )
    nodes = [engine.lloyd_partition(part, None, 16 * i, centers, 10**6, False) for i in range(8)]
    t_merge = min(timed(lambda: engine.merge_nodes(10**6, *nodes))[0] for _ in range(5))
    dX = client.persist(da.from_array(X, chunks=(PARTITION_ROWS, N_FEATURES)))
    wait(dX)
    with client.as_current():
        rows = engine.DaskRows(engine_estimator(k), dX, None, "fit")
        fit = engine._Fit(rows, False, False)
        fit.lloyd_pass(centers)
        # new centers each time (the same ones would be the same tasks, results reused)
        t_pass = min(timed(lambda i=i: fit.lloyd_pass(centers + 1e-6 * i))[0] for i in range(3))
    n_parts = len(rows.chunks)
    # The scheduler's cost per task: as many tasks as a pass has, doing nothing.
    import dask

    def no_op(i):
        return i

    n_tasks = n_parts + n_parts // 8 + 1
    with client.as_current():
        dask.compute([dask.delayed(no_op, pure=False)(i) for i in range(n_tasks)])
        t_tasks = min(
            timed(
                lambda: dask.compute([dask.delayed(no_op, pure=False)(i) for i in range(n_tasks)])
            )[0]
            for _ in range(3)
        )
    per_task = t_tasks / n_tasks
    client.cancel(dX)

    def model(workers, partitions):
        depth = max(1, math.ceil(math.log(max(partitions, 2), 8)))
        tasks = partitions + partitions // 8 + 1
        return math.ceil(partitions / workers) * t_part + depth * t_merge + tasks * per_task

    table = []
    for workers in (2, 4, 10, 25, 50, 100):
        weak = model(workers, n_parts // n_workers_measured * workers)
        strong = model(workers, max(n_parts, workers))
        table.append((workers, weak, strong))
    return {
        "t_part": t_part,
        "t_merge": t_merge,
        "t_pass": t_pass,
        "per_task": per_task,
        "n_parts": n_parts,
        "table": table,
    }


def engine_estimator(k):
    from centroids import KMeans

    return KMeans(k)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000,10000000")
    parser.add_argument("--k", default="16,256")
    parser.add_argument("--max-iter", type=int, default=30)
    parser.add_argument("--no-dask-ml", action="store_true")
    parser.add_argument("--seeds", default="0", help="random_state of the fits, comma-separated")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument(
        "--fits-only", action="store_true", help="skip the memory and scale-out parts"
    )
    args = parser.parse_args(argv)
    import warnings

    from distributed import Client, LocalCluster

    # The generated data go to the workers inside the graph (from_array), once per run.
    warnings.filterwarnings("ignore", message="Sending large graph")

    try:
        import dask_ml  # noqa: F401

        with_dask_ml = not args.no_dask_ml
    except ImportError:
        progress("dask-ml is not installed (the bench extra): its column is left out")
        with_dask_ml = False
    lines = [
        "Command: `"
        + python_command()
        + " benchmarks/dask_bench.py "
        + " ".join(argv or sys.argv[1:])
        + "`",
        f"Source: {source_revision()}; LocalCluster(n_workers=2, threads_per_worker=1); "
        f"partitions of {PARTITION_ROWS:,} rows; max_iter={args.max_iter}, tol=1e-4.",
        "",
        "| rows | k | seed | implementation | fit s | inertia / in-memory | iterations | "
        "dask-ml s / centroids s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        for n_rows in (int(r) for r in args.rows.split(",")):
            for k, seed in itertools.product(
                (int(v) for v in args.k.split(",")), (int(v) for v in args.seeds.split(","))
            ):
                progress(f"fit: {n_rows:,} rows, k={k}, seed {seed}")
                result = compare(client, n_rows, k, args.max_iter, with_dask_ml, seed)
                base = result["centroids (in memory)"][1]
                ours = result["centroids (dask)"][0]
                for name, (seconds, inertia, n_iter) in result.items():
                    ratio = ""
                    if name == "dask-ml":
                        ratio = f"{seconds / ours:.1f}"
                    lines.append(
                        f"| {n_rows:,} | {k} | {seed} | {name} | {seconds:.2f} | "
                        f"{inertia / base:.4f} | "
                        f"{n_iter} | {ratio} |"
                    )
                progress("\n".join(lines[-len(result) :]))
        if args.fits_only:
            report = "\n".join(lines)
            print(report)
            if args.markdown:
                args.markdown.write_text(report + "\n")
            return
        progress("memory against partition size")
        memory_rows = min(int(r) for r in args.rows.split(","))
        memory = memory_against_partition(client, memory_rows, 256, (32_768, 131_072, 524_288))
        lines += [
            "",
            f"Peak working memory per worker during a fit ({memory_rows:,} × 16 float64, "
            f"k = 256; data persisted first, {memory_rows * 16 * 8 / 2 / 2**20:.0f} MiB per "
            "worker):",
            "",
            "| partition rows | partition MiB | peak over persisted data, MiB |",
            "|---|---|---|",
        ]
        lines += [f"| {r:,} | {mib:.1f} | {work:.1f} |" for r, mib, work in memory]
        progress("scale-out parts")
        scale_rows = 4 * memory_rows
        parts = scale_out(client, scale_rows, 256)
    lines += [
        "",
        f"Scale-out estimate (k = 256, 16 features, partitions of {PARTITION_ROWS:,} rows): "
        f"one partition's pass {parts['t_part'] * 1e3:.1f} ms on one thread, one merge of 8 "
        f"partial results {parts['t_merge'] * 1e3:.2f} ms, measured pass over "
        f"{parts['n_parts']} partitions on 2 workers {parts['t_pass'] * 1e3:.0f} ms; the "
        f"scheduler's cost per task (a pass's number of no-op tasks) "
        f"{parts['per_task'] * 1e3:.2f} ms. Model of one pass on W workers: "
        "ceil(P / W) · partition + ceil(log8 P) · merge + tasks · scheduling.",
        "",
        f"| workers | pass s, same rows per worker | pass s, {scale_rows:,} rows in all |",
        "|---|---|---|",
    ]
    lines += [f"| {w} | {weak:.3f} | {strong:.3f} |" for w, weak, strong in parts["table"]]
    report = "\n".join(lines)
    print(report)
    if args.markdown:
        args.markdown.write_text(report + "\n")


if __name__ == "__main__":
    main()
