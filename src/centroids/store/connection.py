"""The store's database: its URL, its engine, its transactions and its schema check.

Everything :class:`~centroids.store.SegmentStore` needs before it reads or writes a row:
a URL normalised to one of the two supported drivers (SQLite, PostgreSQL through
psycopg 3), an engine set up for bulk write-backs, and :func:`connect`, the one place a
transaction is opened, locked for writing, committed or rolled back, and where database
errors become :class:`~centroids.store.errors.StoreError` subclasses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError

from ..settings import DEFAULT_STORE_URL
from . import schema as tables
from .errors import (
    ConcurrentWriteError,
    ImmutableVersionError,
    SchemaVersionError,
    StoreConnectionError,
    StoreError,
    StoreURLError,
)

#: The database a store opens when given no URL: a SQLite file in the working folder.
DEFAULT_URL = DEFAULT_STORE_URL

#: PostgreSQL advisory lock key that serialises the store's writers (any 64-bit number
#: private to centroids).
POSTGRES_LOCK_KEY = 0x63656E74726F6964  # "centroid"


def storable_id(number: int) -> bool:
    """Whether ``number`` can be a version or segment id: ids are positive 64-bit integers
    in every backend, so one outside that range cannot exist (and would overflow the
    driver's integer conversion if it were sent in a query)."""
    return 0 < number < 2**63


def normalise_url(url) -> sa.URL:
    """``url`` (a string, a path or a ``sqlalchemy.URL``) as a URL with a supported driver.

    A plain path is a SQLite file; ``postgresql://`` gets the psycopg 3 driver. Raises
    :class:`StoreURLError` for a malformed URL, another database or driver, or a SQLite
    file whose folder does not exist.
    """
    if isinstance(url, os.PathLike) or (isinstance(url, str) and "://" not in url):
        if isinstance(url, str) and not url:
            raise StoreURLError("the store URL is empty; pass e.g. 'sqlite:///segments.db'")
        return sa.URL.create("sqlite", database=os.fspath(url))
    parsed = _parse_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "psycopg"):
            raise StoreURLError(
                f"the PostgreSQL driver {driver!r} is not supported; use "
                "'postgresql://...' or 'postgresql+psycopg://...' (psycopg 3)"
            )
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if driver not in ("", "pysqlite"):
            raise StoreURLError(
                f"the SQLite driver {driver!r} is not supported; use 'sqlite:///path'"
            )
        _check_sqlite_folder(parsed.database)
        return parsed.set(drivername="sqlite")
    raise StoreURLError(
        f"unsupported database {backend!r} in the store URL; centroids stores segments in "
        "SQLite ('sqlite:///segments.db') or PostgreSQL ('postgresql://...')"
    )


def _parse_url(url) -> sa.URL:
    if isinstance(url, sa.URL):
        return url
    if isinstance(url, str):
        try:
            return sa.make_url(url)
        except (ArgumentError, ValueError) as error:
            raise StoreURLError(
                f"cannot parse the store URL {url!r}: {error}; expected e.g. "
                "'sqlite:///segments.db' or 'postgresql://user:password@host:5432/database'"
            ) from None
    raise TypeError(f"url must be a string, a path or a sqlalchemy URL, got {type(url)!r}")


def _check_sqlite_folder(database) -> None:
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().resolve().parent
        if not folder.is_dir():
            raise StoreURLError(
                f"the folder {str(folder)!r} of the SQLite database {database!r} does not "
                "exist; create it first or use another path"
            )


def create_engine(url: sa.URL) -> sa.Engine:
    """The engine of a normalised URL; on SQLite, with foreign keys on, the staging table
    in memory and write transactions that take the write lock at once."""
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, connection_record):
            # Let SQLAlchemy's begin event (below) open transactions, not the driver.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            # Bulk write-backs: the staging table in memory, and a page cache large enough
            # (up to 128 MiB, allocated only as used) that a transaction of a million rows
            # does not spill pages to the file before its commit.
            cursor.execute("PRAGMA temp_store = MEMORY")
            cursor.execute("PRAGMA cache_size = -131072")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            # A write transaction takes the write lock at once, so that two writers queue
            # up instead of both reading the same latest version number.
            write = connection.get_execution_options().get("centroids_write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


@contextmanager
def connect(engine: sa.Engine, where, *, write: bool) -> Iterator[sa.Connection]:
    """A connection in a transaction committed on success, rolled back on any error.

    Database errors become :class:`StoreError` subclasses with a readable message.
    """
    try:
        connection = engine.connect()
    except OperationalError as error:
        raise StoreConnectionError(
            f"cannot connect to the store at {where}: {error.orig}"
        ) from None
    try:
        if write:
            connection = connection.execution_options(centroids_write=True)
        with connection.begin():
            if write and connection.dialect.name == "postgresql":
                # One writer at a time, as SQLite's BEGIN IMMEDIATE gives: released at the
                # end of the transaction, or when the server sees the connection die.
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_LOCK_KEY}
                )
            yield connection
    except DBAPIError as error:
        _raise_store_error(error, where)
    finally:
        connection.close()


def _raise_store_error(error: DBAPIError, where) -> None:
    """Raise the :class:`StoreError` a database error stands for (an IntegrityError as it
    is: a save retries on it)."""
    if tables.is_immutability_violation(error):
        raise ImmutableVersionError(
            "model versions and their centers are immutable; save a new version instead"
        ) from error
    if isinstance(error, OperationalError) and "locked" in str(error.orig):
        raise ConcurrentWriteError(
            f"the store at {where} stayed locked by another writer; try again"
        ) from error
    if isinstance(error, IntegrityError):
        raise error
    raise StoreError(f"the database at {where} refused the operation: {error.orig}") from error


def open_schema(engine: sa.Engine, where: str) -> None:
    """Create the store's tables in an empty database, or check that the schema there is
    the one this code reads (:class:`SchemaVersionError` when it is older or newer)."""
    with connect(engine, where, write=False) as connection:
        current = tables.read_schema_version(connection)
    if current is None:
        # Under the write lock, so that two processes opening a new store at once
        # do not both create it.
        with connect(engine, where, write=True) as connection:
            current = tables.read_schema_version(connection)
            if current is None:
                tables.create_schema(connection)
                return
    if current > tables.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"the store at {where} has schema version {current}, newer than "
            f"version {tables.SCHEMA_VERSION} which this centroids understands; "
            "upgrade centroids"
        )
    if current < tables.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"the store at {where} has schema version {current}, older than "
            f"version {tables.SCHEMA_VERSION}; back the database up, then call "
            "SegmentStore.upgrade(url) to bring it up to date"
        )


def upgrade_schema(url) -> None:
    """Bring the store's schema at ``url`` up to this code's version, in one transaction
    (nothing changes if it fails); a database without a store is left as it is."""
    engine = create_engine(normalise_url(url))
    try:
        with connect(engine, url, write=True) as connection:
            if tables.read_schema_version(connection) is not None:
                tables.upgrade_schema(connection)
    finally:
        engine.dispose()
