"""Assignments: which segment each record was given, written back and kept as history.

The rows' keys are found (:func:`row_keys`), the rows the model could not place are set
aside (:func:`placed_rows`), then, inside the caller's write transaction,
:func:`write_assignments` stages the (key, segment id, distance) triples, applies the
write-back into the user's table (:mod:`centroids.store.writeback`) and copies them into
the history table ``centroids_assignments`` (:func:`record_history`), which drift reads.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from . import schema as tables
from .writeback import (
    WriteBackResult,
    as_record_keys,
    drop_staging,
    inspect_target,
    load_staging,
    update_from_staging,
)


def row_keys(data, keys, key_column):
    """The record keys of ``data``: ``keys``, else its ``key_column``, else its index."""
    if keys is not None:
        return keys
    if isinstance(data, pd.DataFrame) and key_column is not None and key_column in data:
        return data[key_column]
    if isinstance(data, pd.DataFrame):
        return data.index
    raise ValueError("pass keys= (one per row of data) when data is not a DataFrame")


def check_key_count(keys, n_rows: int) -> None:
    """ValueError unless there is one key per row."""
    if len(keys) != n_rows:
        raise ValueError(f"keys has {len(keys)} entries but data has {n_rows} rows")


def placed_rows(keys, scored: pd.DataFrame):
    """``(keys, scored, n_skipped)`` without the rows the model could not place (a
    missing ``segment_id`` in ``scored``, :func:`centroids.store.reading.predictions`)."""
    check_key_count(keys, len(scored))
    placed = scored["segment_id"].notna().to_numpy()
    n_skipped = int((~placed).sum())
    if n_skipped:
        keys = np.asarray(keys)[placed]
        scored = scored[placed]
    return keys, scored, n_skipped


def write_assignments(
    connection, keys, segment_ids, distances, *, version, target, n_skipped, assigned_at
):
    """Stage the assignments, apply the write-back ``target`` and record the history.

    Inside the caller's transaction. ``target`` is ``(table, key column, segment column,
    timestamp column, schema)`` or None. Returns a :class:`WriteBackResult` when
    ``target`` is given, else the number of records.
    """
    if target is not None:
        table, key_col, segment_column, timestamp_column, schema = target
        spec = inspect_target(connection, table, key_col, segment_column, timestamp_column, schema)
        key_array = as_record_keys(
            keys, column_type=spec.key_type, where=f" {key_col!r} of table {table!r}"
        )
        key_type = spec.key_type
    else:
        key_array = as_record_keys(keys)
        key_type = sa.BigInteger() if key_array.dtype.kind in "iu" else sa.Text()
    load_staging(connection, key_array, segment_ids, distances, key_type)
    result = None
    if target is not None:
        matched, changed = update_from_staging(connection, spec, assigned_at)
        result = WriteBackResult(
            table, len(key_array), matched, changed, len(key_array) - matched, n_skipped
        )
    record_history(connection, version, assigned_at)
    drop_staging(connection)
    return result if result is not None else len(key_array)


def record_history(connection: sa.Connection, version: int, assigned_at: datetime) -> None:
    """Copy the staged assignments into the history, replacing a version's earlier ones."""
    postgres = connection.dialect.name == "postgresql"
    staging = "pg_temp.centroids_staging" if postgres else "temp.centroids_staging"
    key_text = "CAST(staged.record_key AS TEXT)"
    conflict = "" if _first_for_version(connection, version) else _replace_changed(postgres)
    statement = sa.text(
        "INSERT INTO centroids_assignments "
        "(version, record_key, segment_id, distance, assigned_at) "
        f"SELECT :version, {key_text}, staged.segment_id, staged.distance, :assigned_at "
        f"FROM {staging} AS staged WHERE true {conflict}"
    ).bindparams(sa.bindparam("assigned_at", type_=sa.DateTime(timezone=True)))
    connection.execute(statement, {"version": version, "assigned_at": assigned_at})
    if postgres:
        # A bulk insert leaves the planner's statistics behind until autovacuum gets to
        # them: estimating a few rows per version, it then planned the drift self-join as
        # a nested loop, still running after 20 minutes on two 200,000-row versions.
        # ANALYZE samples a fixed number of rows, so it costs little at any size.
        connection.execute(sa.text("ANALYZE centroids_assignments"))


def _first_for_version(connection, version: int) -> bool:
    """Whether the history holds no assignment of ``version`` yet."""
    table = tables.assignments_table
    return (
        connection.execute(
            sa.select(table.c.version).where(table.c.version == version).limit(1)
        ).first()
        is None
    )


def _replace_changed(postgres: bool) -> str:
    """The upsert clause for assignments that may meet earlier rows of the same records.

    The first assignments of a version are plain inserts; later ones replace earlier rows
    only where the assignment changed (an upsert costs half as much again, so it is kept
    for when it is needed).
    """
    differs = "IS DISTINCT FROM" if postgres else "IS NOT"
    return (
        "ON CONFLICT (version, record_key) DO UPDATE SET "
        "segment_id = excluded.segment_id, distance = excluded.distance, "
        "assigned_at = excluded.assigned_at "
        f"WHERE centroids_assignments.segment_id {differs} excluded.segment_id "
        f"OR centroids_assignments.distance {differs} excluded.distance"
    )


def assignments_frame(connection, version: int) -> pd.DataFrame:
    """The recorded assignments of a version, ordered by record key."""
    table = tables.assignments_table
    rows = connection.execute(
        sa.select(table).where(table.c.version == version).order_by(table.c.record_key)
    ).all()
    return pd.DataFrame(rows, columns=[c.name for c in table.c])
