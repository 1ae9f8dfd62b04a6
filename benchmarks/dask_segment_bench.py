"""`centroids segment` in memory against `centroids segment --dask` on a 2-worker
LocalCluster: wall time and the peak resident memory of the client process.

Each run is a fresh Python process (its ru_maxrss is the client's peak; the LocalCluster's
workers are processes of their own and not counted). The data: N rows of 8 numeric
columns and one categorical, in 16 Parquet files (and one Parquet file for the in-memory
run), a few missing values (policy drop).

    python benchmarks/dask_segment_bench.py --rows 1000000 --k 8
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CHILD = r"""
import json, resource, sys, time
mode, data, db, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
started = time.perf_counter()
if mode == "memory":
    from centroids.segments.pipeline import segment_data
    run = segment_data(data, id_column="id", k=k, db=db, random_state=0)
else:
    from distributed import Client, LocalCluster, get_task_stream
    from centroids.segments.dask_segment import segment_dask
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        with get_task_stream(client) as stream:
            started = time.perf_counter()
            run = segment_dask(data, scheduler=cluster.scheduler_address, id_column="id",
                               k=k, db=db, random_state=0)
            seconds = time.perf_counter() - started
        reads = [t["key"] for t in stream.data
                 if "parquet" in str(t["key"]).split(",")[0].lower()]
        n_files = len({str(key) for key in reads})
seconds = time.perf_counter() - started if mode == "memory" else seconds
extra = {} if mode == "memory" else {"parquet_file_reads": len(reads),
                                      "passes_over_the_files": len(reads) / 16}
print(json.dumps({"mode": mode, "seconds": seconds, "rows": run.n_rows,
                  "inertia": run.segmentation.inertia_,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "timings": run.timings, **extra}))
"""


def make_table(n_rows, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-10, 10, (8, 8))
    group = rng.integers(0, 8, n_rows)
    values = means[group] + rng.normal(size=(n_rows, 8))
    frame = pd.DataFrame(values, columns=[f"x{j}" for j in range(8)])
    frame.insert(0, "id", np.arange(n_rows, dtype=np.int64))
    frame["region"] = np.array(list("abcdefgh"))[(group + rng.integers(0, 2, n_rows)) % 8]
    frame.loc[rng.choice(n_rows, n_rows // 1000, replace=False), "x0"] = np.nan
    return frame


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--partitions", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frame = make_table(args.rows)
        frame.to_parquet(tmp / "all.parquet", index=False)
        (tmp / "parts").mkdir()
        bounds = np.linspace(0, args.rows, args.partitions + 1).astype(int)
        for i in range(args.partitions):
            part = frame.iloc[bounds[i] : bounds[i + 1]]
            part.to_parquet(tmp / "parts" / f"part.{i:03d}.parquet", index=False)
        del frame
        results = []
        for mode, data in (("memory", tmp / "all.parquet"), ("dask", tmp / "parts")):
            db = f"sqlite:///{tmp / (mode + '.db')}"
            begun = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", CHILD, mode, str(data), db, str(args.k)],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result["process_seconds"] = time.perf_counter() - begun
            results.append(result)
            print(json.dumps(result))
        memory, dask = results
        print(
            f"rows {args.rows:,} k {args.k}: in memory {memory['seconds']:.1f} s, "
            f"peak RSS {memory['peak_rss_mib']:.0f} MiB; --dask (2-worker LocalCluster) "
            f"{dask['seconds']:.1f} s, client peak RSS {dask['peak_rss_mib']:.0f} MiB; "
            f"time ratio {dask['seconds'] / memory['seconds']:.2f}, client memory ratio "
            f"{dask['peak_rss_mib'] / memory['peak_rss_mib']:.2f}; inertia ratio "
            f"{dask['inertia'] / memory['inertia']:.4f}"
        )


if __name__ == "__main__":
    main()
