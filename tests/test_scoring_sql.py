"""centroids.store.scoring_sql: the SQL a segmentation becomes gives predict's segments.

The PostgreSQL tests run when CENTROIDS_TEST_POSTGRES_URL holds a SQLAlchemy URL (psycopg 3
driver, e.g. ``postgresql+psycopg://postgres@127.0.0.1:55433/postgres``); ``.ci/postgres.sh``
starts a throwaway local server and prints one.
"""

import os
import sqlite3
import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from centroids.segments.segmentation import Segmentation
from centroids.store.scoring_sql import segmentation_to_sql

POSTGRES_URL = os.environ.get("CENTROIDS_TEST_POSTGRES_URL")
NO_POSTGRES = (
    "PostgreSQL scoring tests need a server: set CENTROIDS_TEST_POSTGRES_URL to a SQLAlchemy "
    "URL (postgresql+psycopg://user@host:port/db); .ci/postgres.sh starts a local one and "
    "prints it."
)


def table(n=300, seed=0):
    """Numeric and categorical columns, NULLs in both, awkward names and values."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 4, n)
    frame = pd.DataFrame(
        {
            "row id": np.arange(n),
            "income": np.array([20.0, 45.0, 70.0, 90.0])[group] + rng.normal(0, 6, n),
            'odd "name"': rng.normal(0, 1, n) + group,
            "age": rng.integers(18, 90, n),
            "city": np.where(
                rng.random(n) < 0.7,
                np.array(["paris", "lyon", "o'neil", "nice"])[group],
                rng.choice(["paris", "lyon", "o'neil", "nice"], n),
            ),
            "member": rng.random(n) < 0.4,
        }
    )
    frame.loc[rng.choice(n, 12, replace=False), "income"] = np.nan
    frame.loc[rng.choice(n, 10, replace=False), "city"] = None
    return frame


def scoring_rows(seed=1):
    rows = table(120, seed=seed)
    rows.loc[0, "city"] = "marseille'); DROP TABLE people; --"  # unseen, and hostile
    rows.loc[1, "income"] = np.nan
    rows.loc[2, "age"] = 200  # beyond the training range: still scored
    return rows


def expected_ids(segmentation, rows, segment_ids=None):
    labels = segmentation.predict(rows)
    mapped = [None if label < 0 else label for label in labels.tolist()]
    if segment_ids is not None:
        mapped = [None if label is None else segment_ids[label] for label in mapped]
    return dict(zip(rows["row id"].tolist(), mapped, strict=True))


def sqlite_connection(rows, name="people"):
    connection = sqlite3.connect(":memory:")
    rows.to_sql(name, connection, index=False)
    return connection


@pytest.mark.parametrize("scale", ["standard", "robust", "minmax", "none"])
@pytest.mark.parametrize("missing", ["drop", "median"])
def test_sqlite_gives_the_same_segment_as_predict(scale, missing):
    seg = Segmentation(
        n_clusters=5, scale=scale, missing=missing, id_column="row id", random_state=0
    ).fit(table())
    rows = scoring_rows()
    connection = sqlite_connection(rows)
    sql = segmentation_to_sql(seg, "sqlite", table="people")
    got = dict(connection.execute(sql).fetchall())
    assert got == expected_ids(seg, rows)
    if missing == "drop":
        assert got[1] is not None  # a missing number: placed by the observed columns
    # the scalar expression, in a SELECT of our own
    expression = segmentation_to_sql(seg, "sqlite")
    got = dict(connection.execute(f'SELECT "row id", {expression} FROM people').fetchall())
    assert got == expected_ids(seg, rows)
    assert connection.execute("SELECT count(*) FROM people").fetchone()[0] == len(rows)


def test_segment_ids_view_and_columns():
    seg = Segmentation(n_clusters=3, id_column="row id", random_state=1).fit(table())
    rows = scoring_rows()
    connection = sqlite_connection(rows)
    ids = {0: "seg-a", 1: "seg-b", 2: "it's c"}
    view = segmentation_to_sql(
        seg, "sqlite", table="people", segment_ids=ids, view_name="scored people"
    )
    assert view.startswith('CREATE VIEW "scored people" AS')
    connection.execute(view)
    got = dict(connection.execute('SELECT "row id", segment_id FROM "scored people"'))
    assert got == expected_ids(seg, rows, ids)
    sql = segmentation_to_sql(
        seg,
        "sqlite",
        table="people",
        columns=["row id", "city"],
        segment_ids=[10, 20, 30],
        output_column="segment",
    )
    cursor = connection.execute(sql)
    assert [d[0] for d in cursor.description] == ["row id", "city", "segment"]
    result = cursor.fetchall()
    assert {r[0]: r[2] for r in result} == expected_ids(seg, rows, [10, 20, 30])
    assert [r[1] for r in result] == [None if pd.isna(c) else c for c in rows["city"]]


def test_default_columns_without_id_column_are_the_features():
    data = table().drop(columns=["row id"])
    seg = Segmentation(n_clusters=3, missing="median", random_state=0).fit(data)
    connection = sqlite_connection(data)
    cursor = connection.execute(segmentation_to_sql(seg, "sqlite", table="people"))
    assert [d[0] for d in cursor.description] == [*seg.feature_names_, "segment_id"]
    assert [r[-1] for r in cursor.fetchall()] == seg.predict(data).tolist()


def test_rebuilt_segmentation_writes_the_same_sql():
    seg = Segmentation(n_clusters=4, id_column="row id", random_state=0).fit(table())
    copy = Segmentation.from_dict(seg.to_dict())
    assert segmentation_to_sql(copy, "postgresql", table="t") == segmentation_to_sql(
        seg, "postgresql", table="t"
    )


def test_quoting_and_errors():
    seg = Segmentation(n_clusters=2, id_column="row id", random_state=0).fit(table())
    sql = segmentation_to_sql(seg, "postgresql", table=("my schema", 'we"ird'))
    assert 'FROM "my schema"."we""ird"' in sql
    assert '"odd ""name"""' in sql and "'o''neil'" in sql
    assert "TRUE" in sql  # bool categories as booleans
    assert "= 1 THEN" in segmentation_to_sql(seg, "sqlite", table="t")
    with pytest.raises(ValueError, match="dialect must be one of 'sqlite', 'postgresql'"):
        segmentation_to_sql(seg, "mysql", table="t")
    with pytest.raises(ValueError, match="table must be a non-empty string"):
        segmentation_to_sql(seg, "sqlite", table="")
    with pytest.raises(ValueError, match="NUL"):
        segmentation_to_sql(seg, "sqlite", table="t", columns=["a\x00b"])
    with pytest.raises(ValueError, match=r"no id for center\(s\) \[1\]"):
        segmentation_to_sql(seg, "sqlite", table="t", segment_ids={0: 5})
    with pytest.raises(ValueError, match="distinct"):
        segmentation_to_sql(seg, "sqlite", table="t", segment_ids=[1, 1])
    with pytest.raises(ValueError, match="view_name needs a table"):
        segmentation_to_sql(seg, "sqlite", view_name="v")
    with pytest.raises(TypeError, match="fitted Segmentation"):
        segmentation_to_sql(Segmentation(), "sqlite", table="t")


def test_engine_names_its_dialect():
    seg = Segmentation(n_clusters=2, random_state=0).fit(table()[["income", "age"]].dropna())
    engine = sa.create_engine("sqlite://")
    assert segmentation_to_sql(seg, engine, table="t") == segmentation_to_sql(
        seg, "sqlite", table="t"
    )


@pytest.fixture(scope="module")
def postgres_engine():
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    engine = sa.create_engine(POSTGRES_URL)
    with engine.connect() as connection:  # unreachable: fail loudly, do not skip
        connection.execute(sa.text("SELECT 1"))
    yield engine
    engine.dispose()


@pytest.mark.parametrize("scale", ["standard", "robust", "minmax", "none"])
@pytest.mark.parametrize("missing", ["drop", "median"])
def test_postgresql_gives_the_same_segment_as_predict(postgres_engine, scale, missing):
    seg = Segmentation(
        n_clusters=5, scale=scale, missing=missing, id_column="row id", random_state=0
    ).fit(table())
    rows = scoring_rows()
    name = f"centroids_test_{uuid.uuid4().hex[:12]}"
    rows.to_sql(name, postgres_engine, index=False)
    try:
        with postgres_engine.connect() as connection:
            sql = segmentation_to_sql(seg, "postgresql", table=name, segment_ids=[7, 8, 9, 10, 11])
            got = dict(connection.execute(sa.text(sql)).all())
            expression = segmentation_to_sql(seg, "postgresql")
            scalar = dict(
                connection.execute(sa.text(f'SELECT "row id", {expression} FROM "{name}"')).all()
            )
    finally:
        with postgres_engine.begin() as connection:
            connection.execute(sa.text(f'DROP TABLE "{name}"'))
    expected = expected_ids(seg, rows, [7, 8, 9, 10, 11])
    assert got == expected
    assert scalar == expected_ids(seg, rows)


def test_categorical_only_and_integer_categories_agree_with_predict():
    """One-hot data has many equal rows, so near-ties matter: SQL still agrees."""
    rng = np.random.default_rng(3)
    n = 400
    data = pd.DataFrame(
        {
            "row id": np.arange(n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "size": rng.choice(["s", "m", "l", "xl"], n),
            "store": rng.choice([101, 202, 303], n),  # integer codes, declared categorical
        }
    )
    seg = Segmentation(
        n_clusters=6, categorical=["colour", "size", "store"], id_column="row id", random_state=0
    ).fit(data)
    assert seg.feature_types_["store"] == "categorical"
    connection = sqlite_connection(data)
    sql = segmentation_to_sql(seg, "sqlite", table="people")
    assert "= 101 THEN" in sql  # integer categories compared as integers
    assert dict(connection.execute(sql).fetchall()) == expected_ids(seg, data)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_clusters=st.integers(1, 6),
    scale=st.sampled_from(["standard", "robust", "minmax", "none"]),
    missing=st.sampled_from(["drop", "median"]),
)
def test_sqlite_agrees_with_predict_on_random_tables(seed, n_clusters, scale, missing):
    training = table(80, seed=seed)
    seg = Segmentation(
        n_clusters=n_clusters, scale=scale, missing=missing, id_column="row id", random_state=seed
    ).fit(training)
    rows = scoring_rows(seed=seed + 1)
    connection = sqlite_connection(rows)
    got = dict(connection.execute(segmentation_to_sql(seg, "sqlite", table="people")))
    assert got == expected_ids(seg, rows)


def test_each_feature_is_computed_once_per_row():
    """Every feature's arithmetic appears once, behind fences that keep databases from
    merging the nested SELECTs (merged, PostgreSQL repeats it in every use)."""
    seg = Segmentation(n_clusters=6, id_column="row id", random_state=0).fit(table())
    for dialect, fence in [("sqlite", "LIMIT -1 OFFSET 0"), ("postgresql", "OFFSET 0")]:
        sql = segmentation_to_sql(seg, dialect, table="people")
        real = "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"
        assert sql.count(f'CAST("income" AS {real})') == 1
        assert sql.count("\"city\" = 'paris'") == 1
        assert sql.count(fence) == 3
