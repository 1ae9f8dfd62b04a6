"""Bulk write-back of segment ids into a table of the user's database.

The (key, segment id, distance) triples are loaded into a temporary staging table in one
bulk operation (``COPY`` on PostgreSQL, one ``executemany`` on SQLite), then one
``UPDATE ... FROM`` sets the segment column of the matching rows. Only rows whose segment
changes are touched, so running the same write-back twice leaves the table as running it
once (the optional timestamp column then says when a row's segment last changed). Table
and column names are checked against the database's catalogue and quoted; every value is
a bound parameter or streamed data, never SQL text.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from .errors import ColumnNotFoundError, KeyTypeError, StoreError, TableNotFoundError

#: Name of the temporary staging table (one per connection, dropped after use).
STAGING_TABLE = "centroids_staging"


@dataclass(frozen=True)
class WriteBackResult:
    """What a write-back did.

    Attributes
    ----------
    table : str
        The table written to.
    rows_given : int
        Number of (key, segment) pairs handed in.
    rows_matched : int
        Keys found in the table.
    rows_changed : int
        Rows whose segment column was changed (the others already held their segment).
    keys_not_found : int
        Keys handed in that no row of the table has.
    rows_skipped : int
        Records left out because the model cannot place them (a missing numeric value
        under ``missing='drop'``); their rows keep their segment column as it was.
    """

    table: str
    rows_given: int
    rows_matched: int
    rows_changed: int
    keys_not_found: int
    rows_skipped: int = 0


@dataclass(frozen=True)
class TargetTable:
    """A user table validated against the database catalogue, with quoted names."""

    name: str
    schema: str | None
    key_column: str
    segment_column: str
    timestamp_column: str | None
    key_type: sa.types.TypeEngine
    segment_type: sa.types.TypeEngine
    timestamp_type: sa.types.TypeEngine | None
    quoted_table: str
    quoted_key: str
    quoted_segment: str
    quoted_timestamp: str | None


def inspect_target(
    connection: sa.Connection,
    table: str,
    key_column: str,
    segment_column: str,
    timestamp_column: str | None = None,
    schema: str | None = None,
) -> TargetTable:
    """Check that the table and columns exist in the catalogue, and quote their names."""
    for value, what in (
        (table, "table"),
        (key_column, "key_column"),
        (segment_column, "segment_column"),
    ):
        if not isinstance(value, str) or not value:
            raise TypeError(f"{what} must be a non-empty string, got {value!r}")
    if timestamp_column is not None and (
        not isinstance(timestamp_column, str) or not timestamp_column
    ):
        raise TypeError(
            f"timestamp_column must be a non-empty string or None, got {timestamp_column!r}"
        )
    inspector = sa.inspect(connection)
    tables = inspector.get_table_names(schema=schema)
    if table not in tables:
        near = [name for name in tables if name.lower() == table.lower()]
        hint = f"; did you mean {near[0]!r}? names are case-sensitive" if near else ""
        where = f" in schema {schema!r}" if schema else ""
        raise TableNotFoundError(
            f"table {table!r} does not exist{where} in the database{hint}; "
            "create it first or name an existing table"
        )
    columns = {column["name"]: column for column in inspector.get_columns(table, schema=schema)}
    roles = {"key_column": key_column, "segment_column": segment_column}
    if timestamp_column is not None:
        roles["timestamp_column"] = timestamp_column
    for role, name in roles.items():
        if name not in columns:
            raise ColumnNotFoundError(
                f"{role} {name!r} is not a column of table {table!r} "
                f"(its columns: {', '.join(sorted(columns))})"
            )
    if len(set(roles.values())) != len(roles):
        raise ValueError(f"key, segment and timestamp columns must differ, got {roles}")
    quote = connection.dialect.identifier_preparer.quote
    quoted_table = quote(table) if schema is None else f"{quote(schema)}.{quote(table)}"
    return TargetTable(
        name=table,
        schema=schema,
        key_column=key_column,
        segment_column=segment_column,
        timestamp_column=timestamp_column,
        key_type=columns[key_column]["type"],
        segment_type=columns[segment_column]["type"],
        timestamp_type=None if timestamp_column is None else columns[timestamp_column]["type"],
        quoted_table=quoted_table,
        quoted_key=quote(key_column),
        quoted_segment=quote(segment_column),
        quoted_timestamp=None if timestamp_column is None else quote(timestamp_column),
    )


def _python_type(sql_type: sa.types.TypeEngine):
    """The Python type a column's values come back as, or None for a database type that
    SQLAlchemy maps to none (it raises NotImplementedError then); the key checks that
    use it then let the database compare."""
    try:
        return sql_type.python_type
    except NotImplementedError:
        return None


def as_record_keys(
    keys, *, column_type: sa.types.TypeEngine | None = None, where: str = ""
) -> np.ndarray:
    """Record keys as a 1-D array of Python-compatible values, checked against the column type.

    Integer keys must go to an integer column and text keys to a text column: comparing
    one with the other silently matches nothing on SQLite and fails on PostgreSQL.
    """
    if isinstance(keys, pd.Index | pd.Series):
        keys = keys.to_numpy()
    array = np.asarray(keys)
    if array.ndim != 1:
        raise ValueError(f"keys must be one-dimensional, got shape {array.shape}")
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or not (array == np.round(array)).all():
            raise KeyTypeError(f"keys{where} are non-integral floats; pass integer or text keys")
        array = array.astype(np.int64)
    if array.dtype.kind == "O" and any(
        value is None or (isinstance(value, float) and np.isnan(value)) for value in array
    ):
        raise ValueError(f"keys{where} hold missing values (None/NaN); every record needs a key")
    if array.dtype.kind == "b":
        raise KeyTypeError(f"keys{where} are booleans; pass integer or text keys")
    if pd.Series(array).duplicated().any():
        duplicate = pd.Series(array)[pd.Series(array).duplicated()].iloc[0]
        raise ValueError(
            f"keys{where} are not unique (e.g. {duplicate!r} appears more than once); "
            "each record must have one key"
        )
    if column_type is None or array.size == 0:
        return array
    expected = _python_type(column_type)
    is_integer_keys = array.dtype.kind in "iu" or (
        array.dtype.kind == "O" and all(isinstance(v, numbers.Integral) for v in array)
    )
    is_text_keys = array.dtype.kind == "U" or (
        array.dtype.kind == "O" and all(isinstance(v, str) for v in array)
    )
    if expected is int and not is_integer_keys:
        raise KeyTypeError(
            f"the key column{where} holds integers ({column_type}) but the keys given are "
            f"{_describe(array)}; convert them, e.g. keys.astype('int64')"
        )
    if expected is str and not is_text_keys:
        raise KeyTypeError(
            f"the key column{where} holds text ({column_type}) but the keys given are "
            f"{_describe(array)}; convert them, e.g. keys.astype(str)"
        )
    return array


def _describe(array: np.ndarray) -> str:
    return f"of dtype {array.dtype} (first: {array[0]!r})"


def _sql_type(connection: sa.Connection, sql_type: sa.types.TypeEngine) -> str:
    return sql_type.compile(dialect=connection.dialect)


def load_staging(
    connection: sa.Connection,
    keys: np.ndarray,
    segment_ids: np.ndarray,
    distances: np.ndarray | None,
    key_type: sa.types.TypeEngine,
) -> None:
    """Create the temporary staging table and bulk-load the (key, segment, distance) rows."""
    dialect = connection.dialect.name
    key_sql = _create_staging_table(connection, key_type)
    # Rows in key order: the UPDATE then walks the target's key index in order (3x less
    # work on SQLite than in random order). Keys are unique (checked), so no index needed.
    order = np.argsort(keys, kind="stable")
    rows = _staging_rows(keys, segment_ids, distances, order)
    driver = connection.connection.driver_connection
    if dialect == "postgresql":
        binary = _copy_binary(keys, segment_ids, distances, order, key_sql)
        _copy_staging_rows(connection, driver, rows, binary)
    elif dialect == "sqlite":
        cursor = driver.cursor()
        try:
            cursor.executemany(f"INSERT INTO temp.{STAGING_TABLE} VALUES (?, ?, ?)", rows)
        finally:
            cursor.close()
    else:
        staging = sa.table(
            STAGING_TABLE, sa.column("record_key"), sa.column("segment_id"), sa.column("distance")
        )
        connection.execute(
            staging.insert(),
            [{"record_key": k, "segment_id": s, "distance": d} for k, s, d in rows],
        )


def _create_staging_table(connection, key_type):
    """The temporary staging table, created afresh; the SQL type of its keys."""
    key_sql = _sql_type(connection, key_type)
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{STAGING_TABLE}")
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {STAGING_TABLE} (record_key {key_sql} NOT NULL, "
            "segment_id BIGINT NOT NULL, distance DOUBLE PRECISION) ON COMMIT DROP"
        )
    else:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGING_TABLE}")
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {STAGING_TABLE} (record_key {key_sql} NOT NULL, "
            "segment_id INTEGER NOT NULL, distance REAL)"
        )
    return key_sql


def _staging_rows(keys, segment_ids, distances, order):
    """The (key, segment, distance) rows in ``order``, a NaN distance as None (NULL)."""
    key_values = keys[order].tolist()
    segment_values = np.asarray(segment_ids, dtype=np.int64)[order].tolist()
    if distances is None:
        distance_values = [None] * len(key_values)
    else:
        distance_array = np.asarray(distances, dtype=np.float64)[order]
        distance_values = [None if d != d else d for d in distance_array.tolist()]
    return zip(key_values, segment_values, distance_values, strict=True)


def _copy_staging_rows(connection, driver, rows, binary):
    """Load the staging rows into PostgreSQL by COPY, then ANALYZE the staging table."""
    columns = "(record_key, segment_id, distance)"
    with (
        driver.cursor() as cursor,
        cursor.copy(
            f"COPY {STAGING_TABLE} {columns} FROM STDIN"
            + (" (FORMAT BINARY)" if binary is not None else "")
        ) as copy,
    ):
        if binary is not None:
            # Integer keys: the whole table as one block of COPY's binary format,
            # built by NumPy (formatting a million rows as text costs seconds).
            copy.write(binary)
        else:
            for row in rows:
                copy.write_row(row)
    connection.exec_driver_sql(f"ANALYZE {STAGING_TABLE}")


# PostgreSQL integer types and the width of their binary form.
_BINARY_INTEGER_WIDTH = {"BIGINT": 8, "INTEGER": 4, "SMALLINT": 2}


def _copy_binary(keys, segment_ids, distances, order, key_sql) -> bytes | None:
    """Staging rows in ``order`` as PostgreSQL's binary COPY format, or None when the
    keys are not integers of a known width or a distance is missing (then rows go one by
    one). Layout: a signature and two zero words, per row the field count and each field
    as its byte length then its big-endian value, and -1 to end."""
    width = _BINARY_INTEGER_WIDTH.get(key_sql.upper())
    if width is None or keys.dtype.kind not in "iu":
        return None
    limits = np.iinfo(f"i{width}")
    if len(keys) and (keys.min() < limits.min or keys.max() > limits.max):
        return None  # out of the column's range: row by row, and PostgreSQL says so
    if distances is not None:
        distances = np.asarray(distances, dtype=np.float64)[order]
        if np.isnan(distances).any():
            return None
    fields = [
        ("n_fields", ">i2"),
        ("key_length", ">i4"),
        ("key", f">i{width}"),
        ("segment_length", ">i4"),
        ("segment", ">i8"),
        ("distance_length", ">i4"),
    ]
    if distances is not None:
        fields.append(("distance", ">f8"))
    rows = np.empty(len(keys), dtype=fields)
    rows["n_fields"] = 3
    rows["key_length"] = width
    rows["key"] = keys[order]
    rows["segment_length"] = 8
    rows["segment"] = np.asarray(segment_ids, dtype=np.int64)[order]
    rows["distance_length"] = -1 if distances is None else 8
    if distances is not None:
        rows["distance"] = distances
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    return header + rows.tobytes() + (-1).to_bytes(2, "big", signed=True)


def drop_staging(connection: sa.Connection) -> None:
    """Drop the staging table now (PostgreSQL drops it at commit anyway)."""
    prefix = "pg_temp" if connection.dialect.name == "postgresql" else "temp"
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {prefix}.{STAGING_TABLE}")


def update_from_staging(
    connection: sa.Connection, target: TargetTable, timestamp: datetime | None
) -> tuple[int, int]:
    """One UPDATE of the target rows whose segment differs; returns (matched, changed)."""
    dialect = connection.dialect.name
    distinct = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    segment_type_sql = _sql_type(connection, target.segment_type)
    new_segment = f"CAST(staged.segment_id AS {segment_type_sql})"
    assignments = [f"{target.quoted_segment} = {new_segment}"]
    parameters = {}
    bind_types = {}
    if target.quoted_timestamp is not None:
        assignments.append(f"{target.quoted_timestamp} = :assigned_at")
        parameters["assigned_at"] = timestamp if timestamp is not None else datetime.now(UTC)
        bind_types["assigned_at"] = target.timestamp_type
    staging = f"pg_temp.{STAGING_TABLE}" if dialect == "postgresql" else f"temp.{STAGING_TABLE}"
    statement = sa.text(
        f"UPDATE {target.quoted_table} AS target SET {', '.join(assignments)} "
        f"FROM {staging} AS staged "
        f"WHERE target.{target.quoted_key} = staged.record_key "
        f"AND target.{target.quoted_segment} {distinct} {new_segment}"
    )
    if bind_types:
        statement = statement.bindparams(
            *(sa.bindparam(name, type_=type_) for name, type_ in bind_types.items())
        )
    changed = connection.execute(statement, parameters).rowcount
    matched = connection.execute(
        sa.text(
            f"SELECT count(*) FROM {staging} AS staged JOIN {target.quoted_table} AS target "
            f"ON target.{target.quoted_key} = staged.record_key"
        )
    ).scalar_one()
    return int(matched), int(changed)


def write_segments(
    connection: sa.Connection | sa.Engine,
    *,
    table: str,
    key_column: str,
    segment_column: str,
    keys,
    segment_ids,
    timestamp_column: str | None = None,
    timestamp: datetime | None = None,
    schema: str | None = None,
) -> WriteBackResult:
    """Set ``segment_column`` of the rows of ``table`` whose ``key_column`` is in ``keys``.

    One transaction, two bulk statements whatever the number of rows (load a staging
    table, then one ``UPDATE ... FROM``). Rows already holding their segment id are not
    touched, so running it twice gives the same table as running it once.

    Parameters
    ----------
    connection : sqlalchemy.Engine or sqlalchemy.Connection
        The user's database. With an Engine, a transaction is opened and committed here;
        with a Connection, the caller's transaction is used (and must be committed by it).
    table, key_column, segment_column : str
        Names of an existing table and of its key and segment columns (exact spelling,
        checked against the database catalogue).
    keys : array-like of shape (n_records,)
        Record keys, unique, of the key column's type (integers or text).
    segment_ids : array-like of int of shape (n_records,)
        The segment id of each record.
    timestamp_column : str, optional
        A column set to ``timestamp`` on every row whose segment changes.
    timestamp : datetime, optional
        Defaults to now (UTC).
    schema : str, optional
        Database schema (namespace) of the table; the connection's default otherwise.

    Returns
    -------
    WriteBackResult

    Examples
    --------
    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> with engine.begin() as connection:
    ...     _ = connection.exec_driver_sql("CREATE TABLE customers (id INTEGER, segment INTEGER)")
    ...     _ = connection.exec_driver_sql("INSERT INTO customers VALUES (1, NULL), (2, NULL)")
    >>> write_segments(engine, table="customers", key_column="id", segment_column="segment",
    ...                keys=[1, 2, 3], segment_ids=[7, 8, 9]).rows_changed
    2
    >>> with engine.connect() as connection:
    ...     connection.exec_driver_sql("SELECT id, segment FROM customers").all()
    [(1, 7), (2, 8)]
    """
    if isinstance(connection, sa.Engine):
        with connection.begin() as open_connection:
            return write_segments(
                open_connection,
                table=table,
                key_column=key_column,
                segment_column=segment_column,
                keys=keys,
                segment_ids=segment_ids,
                timestamp_column=timestamp_column,
                timestamp=timestamp,
                schema=schema,
            )
    target = inspect_target(connection, table, key_column, segment_column, timestamp_column, schema)
    key_array = as_record_keys(
        keys, column_type=target.key_type, where=f" {key_column!r} of table {table!r}"
    )
    segment_array = as_segment_ids(segment_ids, len(key_array))
    load_staging(connection, key_array, segment_array, None, target.key_type)
    matched, changed = update_from_staging(connection, target, timestamp)
    drop_staging(connection)
    return WriteBackResult(table, len(key_array), matched, changed, len(key_array) - matched)


def as_segment_ids(segment_ids, n_records: int) -> np.ndarray:
    """Segment ids as an int64 array of length ``n_records``."""
    array = np.asarray(segment_ids)
    if array.shape != (n_records,):
        raise ValueError(
            f"segment_ids must have one value per key: {n_records} keys, got shape {array.shape}"
        )
    if array.size and array.dtype.kind not in "iu":
        if (
            array.dtype.kind == "f"
            and np.isfinite(array).all()
            and (array == np.round(array)).all()
        ):
            return array.astype(np.int64)
        raise StoreError(f"segment_ids must be integers, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)
