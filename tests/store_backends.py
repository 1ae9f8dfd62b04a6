"""Database backends and data for the segment store tests.

``store_url`` runs a test on SQLite (a file in the test's temporary folder) and on
PostgreSQL when ``CENTROIDS_TEST_POSTGRES_URL`` is set (each test in a schema of its own,
dropped afterwards). Without the variable the PostgreSQL cases are skipped with a message
saying how to run them; with it, an unreachable server fails the tests.
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

POSTGRES_URL_VARIABLE = "CENTROIDS_TEST_POSTGRES_URL"

SKIP_POSTGRES_MESSAGE = (
    f'PostgreSQL store tests need a server: run `eval "$(.ci/postgres.sh)"` (sets '
    f"{POSTGRES_URL_VARIABLE}) and run pytest again"
)


def postgres_engine_url(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A database URL with nothing of the store's in it, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'segments.db'}"
        return
    base = os.environ.get(POSTGRES_URL_VARIABLE)
    if not base:
        pytest.skip(SKIP_POSTGRES_MESSAGE)
    engine = sa.create_engine(postgres_engine_url(base))
    schema = f"centroids_test_{uuid.uuid4().hex[:12]}"
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError as error:
        engine.dispose()
        pytest.fail(
            f"{POSTGRES_URL_VARIABLE}={base} is set but the server cannot be reached: {error.orig}"
        )
    url = postgres_engine_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


CENTERS = np.array(
    [[0.0, 0.0, 0.0], [12.0, 0.0, 3.0], [0.0, 12.0, -3.0], [12.0, 12.0, 6.0], [-12.0, 6.0, 0.0]]
)


def blob_frame(n_per_cluster=80, centers=CENTERS, seed=0, start_key=0) -> pd.DataFrame:
    """Well separated blobs (unit spread) as a DataFrame with a key column ``id``."""
    rng = np.random.default_rng(seed)
    parts = [rng.normal(center, 1.0, size=(n_per_cluster, centers.shape[1])) for center in centers]
    values = np.vstack(parts)
    frame = pd.DataFrame(values, columns=["spend", "visits", "tenure"])
    frame.insert(0, "id", np.arange(start_key, start_key + len(frame), dtype=np.int64))
    return frame


def create_customer_table(url: str, keys, *, key_type="INTEGER", segment_type="INTEGER"):
    """A user table ``customers (id, segment, segment_at, note)`` holding ``keys``."""
    engine = sa.create_engine(postgres_engine_url(url) if url.startswith("postgres") else url)
    timestamp = "TIMESTAMP" if engine.dialect.name == "postgresql" else "DATETIME"
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE customers (id {key_type} PRIMARY KEY, segment {segment_type}, "
            f"segment_at {timestamp}, note TEXT)"
        )
        connection.execute(
            sa.text("INSERT INTO customers (id, note) VALUES (:id, 'x')"),
            [{"id": key} for key in (k.item() if hasattr(k, "item") else k for k in keys)],
        )
    return engine


def read_table(engine, query="SELECT id, segment FROM customers ORDER BY id"):
    with engine.connect() as connection:
        return pd.DataFrame([tuple(row) for row in connection.exec_driver_sql(query)])
