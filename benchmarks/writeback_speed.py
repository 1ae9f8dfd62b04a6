"""Write-back speed: rows per second into a user table, SQLite and PostgreSQL.

For each backend and row count: a table ``customers (id BIGINT PRIMARY KEY, segment
INTEGER, segment_at TIMESTAMP, note TEXT)`` holding every key, then

- ``write_segments``: the bulk write-back alone (staging load + one UPDATE ... FROM), first
  run (every row changes) and second run (the same ids again: nothing changes);
- ``store.write_back``: the whole store call on a DataFrame (prediction with the stored
  version, the table update and the assignment history, in one transaction);
- the peer, on the smaller row count only: the usual hand-written way, one
  ``UPDATE customers SET segment = ? WHERE id = ?`` per row through SQLAlchemy's
  ``executemany`` (psycopg 3 pipelines it on PostgreSQL) in one transaction.

Rates are rows per wall-clock second, and rows per CPU second of this process plus every
PostgreSQL server process (read from /proc): on a machine shared with other work the
second says what the write-back costs, whatever share of the cores it got.

PostgreSQL runs when ``CENTROIDS_TEST_POSTGRES_URL`` is set (``eval "$(.ci/postgres.sh)"``
starts a throwaway server); its server runs on the same machine, so its CPU time shows as
"other load" in the report.

Usage: ``python benchmarks/writeback_speed.py [--quick]`` (``--quick``: 100,000 rows only;
default 100,000 and 1,000,000).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from machine import OtherLoad, progress, python_command, source_revision

from centroids.segments.segmentation import Segmentation
from centroids.store.repository import SegmentStore, _create_engine, _normalise_url
from centroids.store.writeback import write_segments

N_CLUSTERS = 8


def make_records(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=8.0, size=(N_CLUSTERS, 4))
    labels = rng.integers(0, N_CLUSTERS, size=n_rows)
    values = centers[labels] + rng.normal(size=(n_rows, 4))
    frame = pd.DataFrame(values, columns=["spend", "visits", "tenure", "basket"])
    frame.insert(0, "id", rng.permutation(n_rows).astype(np.int64))
    return frame


def create_table(engine: sa.Engine, n_rows: int) -> None:
    timestamp = "TIMESTAMP"
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS customers")
        connection.exec_driver_sql(
            "CREATE TABLE customers (id BIGINT PRIMARY KEY, segment INTEGER, "
            f"segment_at {timestamp}, note TEXT)"
        )
        driver = connection.connection.driver_connection
        if engine.dialect.name == "postgresql":
            with driver.cursor() as cursor, cursor.copy("COPY customers (id) FROM STDIN") as copy:
                for key in range(n_rows):
                    copy.write_row((key,))
        else:
            cursor = driver.cursor()
            cursor.executemany(
                "INSERT INTO customers (id) VALUES (?)", ((k,) for k in range(n_rows))
            )
            cursor.close()


def database_server_cpu() -> float:
    """CPU seconds used so far by every PostgreSQL server process on this machine (Linux)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        name, _, rest = text.partition("(")[2].rpartition(")")
        if name.startswith("postgres"):
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def timed(function):
    """Wall seconds, CPU seconds (this process + the database server) and the result."""
    start = time.perf_counter(), time.process_time(), database_server_cpu()
    result = function()
    wall = time.perf_counter() - start[0]
    cpu = time.process_time() - start[1] + database_server_cpu() - start[2]
    timed.cpu = cpu
    return wall, result


def per_row_updates(engine: sa.Engine, keys: np.ndarray, segment_ids: np.ndarray) -> None:
    statement = sa.text("UPDATE customers SET segment = :segment WHERE id = :id")
    with engine.begin() as connection:
        connection.execute(
            statement,
            [
                {"segment": s, "id": k}
                for k, s in zip(keys.tolist(), segment_ids.tolist(), strict=True)
            ],
        )


def check_table(engine: sa.Engine, keys: np.ndarray, segment_ids: np.ndarray) -> None:
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT id, segment FROM customers").all()
    got = dict(rows)
    sample = np.random.default_rng(1).choice(len(keys), size=min(1000, len(keys)), replace=False)
    for i in sample:
        assert got[int(keys[i])] == int(segment_ids[i]), "write-back gave a wrong segment"


def run_backend(name: str, url: str, sizes: list[int], peer_size: int, results: list[dict]):
    store = SegmentStore(url)
    model = Segmentation(N_CLUSTERS, id_column="id", random_state=0).fit(make_records(20_000))
    store.save(model)
    engine = _create_engine(_normalise_url(url))
    for n_rows in sizes:
        records = make_records(n_rows, seed=n_rows)
        keys = records["id"].to_numpy()
        segment_ids = np.random.default_rng(2).integers(1, N_CLUSTERS + 1, size=n_rows)
        progress(f"{name}: {n_rows:,} rows")
        create_table(engine, n_rows)
        first, result = timed(
            lambda keys=keys, segment_ids=segment_ids: write_segments(
                engine,
                table="customers",
                key_column="id",
                segment_column="segment",
                timestamp_column="segment_at",
                keys=keys,
                segment_ids=segment_ids,
            )
        )
        first_cpu = timed.cpu
        assert result.rows_changed == n_rows, result
        check_table(engine, keys, segment_ids)
        second, result = timed(
            lambda keys=keys, segment_ids=segment_ids: write_segments(
                engine,
                table="customers",
                key_column="id",
                segment_column="segment",
                timestamp_column="segment_at",
                keys=keys,
                segment_ids=segment_ids,
            )
        )
        assert result.rows_changed == 0, result
        predict_seconds, _ = timed(lambda records=records: store.predict_with_distance(records))
        create_table(engine, n_rows)
        full, result = timed(
            lambda records=records: store.write_back(
                records,
                table="customers",
                key_column="id",
                segment_column="segment",
                timestamp_column="segment_at",
            )
        )
        full_cpu = timed.cpu
        assert result.rows_changed == n_rows, result
        row = {
            "backend": name,
            "rows": n_rows,
            "write_segments (rows/s)": n_rows / first,
            "write_segments (rows per CPU s)": n_rows / first_cpu,
            "again, no change (rows/s)": n_rows / second,
            "store.write_back (rows/s)": n_rows / full,
            "store.write_back (rows per CPU s)": n_rows / full_cpu,
            "of which predict (s)": predict_seconds,
            "per-row UPDATE peer (rows/s)": np.nan,
            "speed-up vs peer": np.nan,
        }
        if n_rows == peer_size:
            create_table(engine, n_rows)
            peer, _ = timed(
                lambda keys=keys, segment_ids=segment_ids: per_row_updates(
                    engine, keys, segment_ids
                )
            )
            check_table(engine, keys, segment_ids)
            row["per-row UPDATE peer (rows/s)"] = n_rows / peer
            row["speed-up vs peer"] = peer / first
        results.append(row)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS customers")
    engine.dispose()
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows only")
    args = parser.parse_args()
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    results: list[dict] = []
    backends = []
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        backends.append(("SQLite", sqlite_url))
        postgres = os.environ.get("CENTROIDS_TEST_POSTGRES_URL")
        schema = None
        if postgres:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = _create_engine(_normalise_url(postgres))
            with admin.begin() as connection:
                connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
            postgres_url = (
                _normalise_url(postgres)
                .update_query_dict({"options": f"-csearch_path={schema}"})
                .render_as_string(hide_password=False)
            )
            backends.append(("PostgreSQL", postgres_url))
        else:
            progress("CENTROIDS_TEST_POSTGRES_URL not set: PostgreSQL skipped")
        try:
            with OtherLoad() as load:
                for name, url in backends:
                    run_backend(name, url, sizes, 100_000, results)
        finally:
            if schema is not None:
                with admin.begin() as connection:
                    connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
                admin.dispose()
    table = pd.DataFrame(results)
    print("## Write-back speed (SegmentStore)\n")
    print(
        f"`{python_command()} benchmarks/writeback_speed.py{' --quick' if args.quick else ''}` "
        f"({source_revision()}; SQLite {sqlite3.sqlite_version}, "
        f"SQLAlchemy {sa.__version__}; {os.cpu_count()} cores; other load "
        + ("unknown" if load.cores is None else f"{load.cores:.1f} cores on average")
        + f" over {load.elapsed:.0f} s, the PostgreSQL server included)\n"
    )
    formatted = table.copy()
    for column in formatted.columns:
        if "rows" in column and column != "rows":
            formatted[column] = formatted[column].map(lambda v: "" if np.isnan(v) else f"{v:,.0f}")
    formatted["of which predict (s)"] = formatted["of which predict (s)"].map(lambda v: f"{v:.2f}")
    formatted["speed-up vs peer"] = formatted["speed-up vs peer"].map(
        lambda v: "" if np.isnan(v) else f"{v:.1f}×"
    )
    formatted["rows"] = formatted["rows"].map(lambda v: f"{v:,}")
    print(markdown_table(formatted))


def markdown_table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |"]
    lines.append("|" + "|".join("---" if c == "backend" else "---:" for c in frame.columns) + "|")
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
