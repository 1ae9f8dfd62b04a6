"""Peak memory of `centroids segment` against the size of the data, for sizing the batch
container; and of streaming the same Parquet file through ``centroids.fit_stream``.

Run from the project root::

    .venv/bin/python benchmarks/serve_memory.py [--sizes 100000,1000000,10000000]
                                                 [--markdown PATH]

For each size a table (an integer id, four float64 columns, one text column of five
levels) is generated once and written to Parquet. Then, each in a fresh process:

- ``centroids segment FILE --id-column customer_id --k 8 --db sqlite:///...`` (the whole
  command: read, prepare, fit, diagnose, store the version and every assignment as one
  transaction); K is fixed so that the figure does not include choosing K;
- ``fit_stream(FILE, 8, columns=[the four numeric columns])`` (mini-batch K-Means over the
  file's row groups, one batch in memory at a time).

The peak resident memory is the child's ``ru_maxrss`` (from ``wait4``); the data's size is
the DataFrame's ``memory_usage(deep=True)`` after reading the file. A fresh Python with
centroids imported is measured too, as the floor.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

NUMERIC = ["amount", "frequency", "recency", "tenure"]


def write_table(path: Path, n: int, seed: int = 0) -> int:
    """Write the generated table (in row groups of 10^6) and return its in-memory bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, (8, 4))
    writer = None
    size = 0
    for start in range(0, n, 1_000_000):
        rows = min(1_000_000, n - start)
        group = rng.integers(0, 8, rows)
        values = centers[group] + rng.normal(0, 1, (rows, 4))
        frame = pd.DataFrame(values, columns=NUMERIC)
        frame["channel"] = np.array(["web", "store", "phone", "app", "partner"])[group % 5]
        frame.insert(0, "customer_id", np.arange(start, start + rows))
        size += int(frame.memory_usage(deep=True).sum())
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()
    return size


def peak_of(command, cwd) -> tuple[float, float, int]:
    """(peak resident MiB, seconds, exit status) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        sys.stderr.write(process.stderr.read().decode()[-2000:])
    return usage.ru_maxrss / 1024, elapsed, os.waitstatus_to_exitcode(status)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    centroids_command = str(Path(sys.executable).with_name("centroids"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="centroids-memory-") as name:
        folder = Path(name)
        floor, _, _ = peak_of([sys.executable, "-c", "import centroids.cli"], folder)
        for n in sizes:
            path = folder / f"table-{n}.parquet"
            data_bytes = write_table(path, n)
            options = ["--k", "8", "--db", f"sqlite:///{folder / f'store-{n}.db'}", "--json"]
            segment = peak_of(
                [centroids_command, "segment", str(path), "--id-column", "customer_id", *options],
                folder,
            )
            stream = peak_of(
                [
                    sys.executable,
                    "-c",
                    "import sys; from centroids.stream import fit_stream; "
                    f"fit_stream(sys.argv[1], 8, columns={NUMERIC!r}, random_state=0)",
                    str(path),
                ],
                folder,
            )
            rows.append((n, data_bytes / 2**20, segment, stream))
            print(n, rows[-1], file=sys.stderr)
            path.unlink()
    lines = [
        f"Peak resident memory (MiB); {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; a fresh Python importing centroids.cli: "
        f"{floor:,.0f} MiB.",
        "",
        "| rows | data in memory | `centroids segment --k 8` | × data | time | "
        "`fit_stream` (Parquet) | time |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, data_mib, (seg_peak, seg_s, seg_rc), (st_peak, st_s, st_rc) in rows:
        failed = "" if seg_rc == 0 and st_rc == 0 else f" (exit {seg_rc}/{st_rc})"
        lines.append(
            f"| {n:,} | {data_mib:,.0f} | {seg_peak:,.0f} | {seg_peak / data_mib:.1f} | "
            f"{seg_s:,.0f} s | {st_peak:,.0f} | {st_s:,.0f} s{failed} |"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    if args.markdown:
        args.markdown.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
