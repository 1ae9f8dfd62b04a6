"""Reading the tables users hand us: CSV and Parquet files, and database tables by URL."""

from pathlib import Path

import pandas as pd

from ..errors import BadDataError

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".csv.zip", ".csv.bz2", ".csv.xz")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


class DataError(BadDataError):
    """The data a user pointed us at can't be used as given; the message says why and where."""


def is_database_url(source):
    """True when ``source`` is a SQLAlchemy database URL (``dialect[+driver]://...``)."""
    return isinstance(source, str) and "://" in source.split("?")[0][:40]


def read_table(source, *, table=None, columns=None, id_column=None):
    """Read a CSV or Parquet file, or a database table, into a DataFrame.

    Parameters
    ----------
    source : str or path
        A ``.csv``/``.tsv`` file (optionally compressed), a ``.parquet`` file, or a
        SQLAlchemy database URL such as ``sqlite:///shop.db`` or
        ``postgresql+psycopg://user@host/db`` (then ``table`` names the table; a
        ``URL#table`` suffix works too).
    table : str, optional
        The table to read from a database URL. It must exist (checked against the
        database's catalogue), so no SQL is ever built from a user's string.
    columns : list of str, optional
        Keep only these columns (and ``id_column``), in this order.
    id_column : str, optional
        A column of unique row keys; duplicates and missing keys are an error.

    Returns
    -------
    DataFrame

    Raises
    ------
    DataError
        A missing or empty file, an unknown file type, an unknown table or column, or
        bad row keys; the message names the file, table, column or row.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "points.csv"
    >>> _ = path.write_text("id,x,y\\n1,0.5,2\\n2,1.5,3\\n")
    >>> read_table(path, id_column="id").shape
    (2, 3)
    """
    if is_database_url(source):
        url, _, fragment = str(source).partition("#")
        frame = _read_database_table(url, table or fragment or None)
        where = f"table {table or fragment!r}"
    else:
        if table is not None:
            raise DataError(f"table={table!r} is only meaningful with a database URL source")
        path = Path(source)
        frame = _read_file(path)
        where = f"{path}"
    return _select_columns(frame, columns, id_column, where)


def _read_file(path):
    if not path.exists():
        raise DataError(f"No such file: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a CSV or Parquet file")
    name = path.name.lower()
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty")
    try:
        if name.endswith(PARQUET_SUFFIXES):
            frame = pd.read_parquet(path)
        elif name.endswith(CSV_SUFFIXES):
            sep = "\t" if ".tsv" in name else ","
            frame = pd.read_csv(path, sep=sep)
        else:
            raise DataError(
                f"Can't tell the type of {path}: use one of "
                f"{', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)}"
            )
    except DataError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise DataError(f"Can't read {path}: {e}") from e
    except Exception as e:  # pyarrow's errors for a damaged Parquet file
        raise DataError(f"Can't read {path}: {type(e).__name__}: {e}") from e
    if frame.shape[0] == 0:
        raise DataError(f"{path} has a header but no rows")
    return frame


def _read_database_table(url, table):
    import sqlalchemy as sa

    if not table:
        raise DataError(f"Name the table to read from {url} (table=..., or {url}#TABLE)")
    try:
        parsed = sa.make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            # psycopg 3 is the driver centroids installs (SQLAlchemy's default is psycopg2).
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = sa.create_engine(parsed)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as e:
        raise DataError(f"Not a usable database URL {url!r}: {e}") from e
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            schema, _, name = table.rpartition(".")
            schema = schema or None
            known = inspector.get_table_names(schema=schema) + inspector.get_view_names(
                schema=schema
            )
            if name not in known:
                raise DataError(
                    f"No table {table!r} in {engine.url.render_as_string(hide_password=True)}; "
                    f"tables there: {', '.join(sorted(known)) or 'none'}"
                )
            selected = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=connection)
            frame = pd.read_sql(sa.select(selected), connection)
    except sa.exc.OperationalError as e:
        raise DataError(f"Can't read table {table!r} from the database: {e.orig}") from e
    finally:
        engine.dispose()
    if frame.shape[0] == 0:
        raise DataError(f"Table {table!r} has no rows")
    return frame


def _select_columns(frame, columns, id_column, where):
    wanted = list(columns) if columns is not None else None
    if wanted is not None and len(wanted) == 0:
        raise DataError("columns is empty: name at least one column to cluster on")
    needed = ([id_column] if id_column is not None else []) + (wanted or [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(
            f"{where} has no column {', '.join(map(repr, missing))}; "
            f"its columns are: {', '.join(map(str, frame.columns))}"
        )
    if wanted is not None:
        keep = ([id_column] if id_column is not None and id_column not in wanted else []) + wanted
        frame = frame[keep]
    if id_column is not None:
        keys = frame[id_column]
        if keys.isna().any():
            row = int(keys.isna().to_numpy().argmax())
            raise DataError(f"{where}: id column {id_column!r} is empty at row {row}")
        repeated = keys.duplicated().to_numpy()
        if repeated.any():
            second = int(repeated.argmax())
            key = keys.iloc[second]
            first = int((keys == key).to_numpy().argmax())
            key = key.item() if hasattr(key, "item") else key
            raise DataError(
                f"{where}: id column {id_column!r} repeats the key {key!r} "
                f"(rows {first} and {second}); row keys must be unique"
            )
    return frame
