"""Bulk write-back into the user's table, and the assignment history it records."""

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from centroids.segments.segmentation import Segmentation
from centroids.store.errors import ColumnNotFoundError, KeyTypeError, TableNotFoundError
from centroids.store.repository import SegmentStore
from centroids.store.writeback import write_segments

from store_backends import (  # noqa: F401
    blob_frame,
    create_customer_table,
    postgres_engine_url,
    read_table,
    store_url,
)


def engine_for(url):
    return sa.create_engine(postgres_engine_url(url) if url.startswith("postgres") else url)


def reference_write(table: pd.DataFrame, keys, segment_ids) -> pd.DataFrame:
    """Row by row: set the segment of every row whose key was given."""
    expected = table.copy()
    by_key = dict(zip(keys, segment_ids, strict=True))
    pairs = zip(table["id"], table["segment"], strict=True)
    expected["segment"] = [by_key.get(key, old) for key, old in pairs]
    return expected


def segments_of(engine):
    frame = read_table(engine, "SELECT id, segment FROM customers ORDER BY id")
    frame.columns = ["id", "segment"]
    return frame


def test_write_segments_matches_row_by_row_reference(store_url):  # noqa: F811
    engine = create_customer_table(store_url, range(50))
    rng = np.random.default_rng(0)
    keys = rng.permutation(np.arange(10, 70))  # 10..49 exist, 50..69 do not
    segment_ids = rng.integers(1, 6, size=keys.size)
    before = segments_of(engine)
    result = write_segments(
        engine,
        table="customers",
        key_column="id",
        segment_column="segment",
        keys=keys,
        segment_ids=segment_ids,
    )
    after = segments_of(engine)
    expected = reference_write(before, keys.tolist(), segment_ids.tolist())
    assert after["segment"].astype("Int64").tolist() == expected["segment"].astype("Int64").tolist()
    assert (result.rows_given, result.rows_matched, result.keys_not_found) == (60, 40, 20)
    assert result.rows_changed == 40
    # other columns are untouched
    assert read_table(engine, "SELECT DISTINCT note FROM customers")[0].tolist() == ["x"]
    # twice: nothing changes, the table is identical
    again = write_segments(
        engine,
        table="customers",
        key_column="id",
        segment_column="segment",
        keys=keys,
        segment_ids=segment_ids,
    )
    assert again.rows_changed == 0 and again.rows_matched == 40
    assert segments_of(engine).equals(after)
    engine.dispose()


def test_timestamp_marks_only_changed_rows(store_url):  # noqa: F811
    from datetime import datetime

    engine = create_customer_table(store_url, range(4))
    first = datetime(2024, 1, 1, 12, 0, 0)
    write_segments(
        engine,
        table="customers",
        key_column="id",
        segment_column="segment",
        timestamp_column="segment_at",
        keys=[0, 1, 2, 3],
        segment_ids=[1, 1, 2, 2],
        timestamp=first,
    )
    later = datetime(2024, 2, 1, 12, 0, 0)
    write_segments(
        engine,
        table="customers",
        key_column="id",
        segment_column="segment",
        timestamp_column="segment_at",
        keys=[0, 1, 2, 3],
        segment_ids=[1, 3, 2, 2],
        timestamp=later,
    )
    stamps = read_table(engine, "SELECT id, segment, segment_at FROM customers ORDER BY id")
    assert stamps[1].tolist() == [1, 3, 2, 2]
    assert pd.to_datetime(stamps[2]).tolist() == [
        pd.Timestamp(first),
        pd.Timestamp(later),
        pd.Timestamp(first),
        pd.Timestamp(first),
    ]
    engine.dispose()


def test_text_keys_and_text_segment_column(store_url):  # noqa: F811
    keys = [f"c-{i}" for i in range(6)]
    engine = create_customer_table(store_url, keys, key_type="VARCHAR(20)", segment_type="TEXT")
    write_segments(
        engine,
        table="customers",
        key_column="id",
        segment_column="segment",
        keys=np.array(keys[::-1]),
        segment_ids=[1, 2, 3, 4, 5, 6],
    )
    table = read_table(engine)
    assert dict(zip(table[0], table[1], strict=True)) == {
        "c-5": "1",
        "c-4": "2",
        "c-3": "3",
        "c-2": "4",
        "c-1": "5",
        "c-0": "6",
    }
    with pytest.raises(KeyTypeError, match="holds text"):
        write_segments(
            engine,
            table="customers",
            key_column="id",
            segment_column="segment",
            keys=[1, 2],
            segment_ids=[1, 2],
        )
    engine.dispose()


def test_names_are_checked_against_the_catalogue_and_quoted(store_url):  # noqa: F811
    engine = create_customer_table(store_url, range(3))
    call = dict(key_column="id", segment_column="segment", keys=[0, 1], segment_ids=[1, 2])
    with pytest.raises(TableNotFoundError, match="'clients' does not exist"):
        write_segments(engine, table="clients", **call)
    with pytest.raises(TableNotFoundError, match="did you mean 'customers'"):
        write_segments(engine, table="CUSTOMERS", **call)
    with pytest.raises(TableNotFoundError):
        write_segments(engine, table="customers; DROP TABLE customers; --", **call)
    with pytest.raises(ColumnNotFoundError, match=r"segment_column 'seg'.*columns: id, note"):
        write_segments(
            engine,
            table="customers",
            key_column="id",
            segment_column="seg",
            keys=[0],
            segment_ids=[1],
        )
    with pytest.raises(ColumnNotFoundError, match="key_column"):
        write_segments(
            engine,
            table="customers",
            key_column='id" OR 1=1 --',
            segment_column="segment",
            keys=[0],
            segment_ids=[1],
        )
    with pytest.raises(KeyTypeError, match="holds integers"):
        write_segments(
            engine,
            table="customers",
            key_column="id",
            segment_column="segment",
            keys=["0", "1"],
            segment_ids=[1, 2],
        )
    with pytest.raises(ValueError, match="not unique"):
        write_segments(
            engine,
            table="customers",
            key_column="id",
            segment_column="segment",
            keys=[0, 0],
            segment_ids=[1, 2],
        )
    with pytest.raises(ValueError, match="one value per key"):
        write_segments(
            engine,
            table="customers",
            key_column="id",
            segment_column="segment",
            keys=[0, 1],
            segment_ids=[1],
        )
    # the table survived every attempt
    assert len(read_table(engine)) == 3
    # a table whose name needs quoting works
    with engine.begin() as connection:
        connection.exec_driver_sql('CREATE TABLE "odd ""name""" ("key col" INTEGER, "seg" INTEGER)')
        connection.exec_driver_sql('INSERT INTO "odd ""name""" VALUES (1, NULL), (2, NULL)')
    write_segments(
        engine,
        table='odd "name"',
        key_column="key col",
        segment_column="seg",
        keys=[2],
        segment_ids=[9],
    )
    rows = read_table(engine, 'SELECT "key col", seg FROM "odd ""name""" ORDER BY 1')
    assert rows[1].astype("Int64").tolist() == [pd.NA, 9]
    engine.dispose()


@pytest.fixture
def fitted_store(store_url):  # noqa: F811
    store = SegmentStore(store_url)
    store.save(Segmentation(5, id_column="id", random_state=0).fit(blob_frame()))
    yield store
    store.close()


def test_store_write_back_updates_table_and_history(fitted_store, store_url):  # noqa: F811
    frame = blob_frame(seed=3, n_per_cluster=30)
    engine = create_customer_table(store_url, frame["id"])
    result = fitted_store.write_back(
        frame,
        table="customers",
        key_column="id",
        segment_column="segment",
        timestamp_column="segment_at",
    )
    expected = fitted_store.predict(frame)
    assert result.rows_changed == len(frame) and result.keys_not_found == 0
    table = segments_of(engine)
    assert table["segment"].tolist() == expected.tolist()
    history = fitted_store.assignments()
    assert history["record_key"].tolist() == sorted(str(k) for k in frame["id"])
    by_key = history.set_index("record_key")
    scored = fitted_store.predict_with_distance(frame)
    assert by_key.loc[[str(k) for k in frame["id"]], "segment_id"].tolist() == expected.tolist()
    np.testing.assert_allclose(
        by_key.loc[[str(k) for k in frame["id"]], "distance"], scored["distance"]
    )
    # twice: the table and the history are the same as after once
    stamps = read_table(engine, "SELECT segment_at FROM customers ORDER BY id")
    again = fitted_store.write_back(
        frame,
        table="customers",
        key_column="id",
        segment_column="segment",
        timestamp_column="segment_at",
    )
    assert again.rows_changed == 0
    assert read_table(engine, "SELECT segment_at FROM customers ORDER BY id").equals(stamps)
    assert fitted_store.assignments().equals(history)
    engine.dispose()


def test_records_the_model_cannot_place_are_skipped(fitted_store, store_url):  # noqa: F811
    frame = blob_frame(seed=3, n_per_cluster=4)
    # A missing number alone is placed by the observed columns (issue 20); a row with
    # every feature missing cannot be placed.
    frame.loc[[0, 5], ["spend", "visits", "tenure"]] = np.nan
    frame.loc[7, "spend"] = np.nan
    engine = create_customer_table(store_url, frame["id"])
    result = fitted_store.write_back(
        frame, table="customers", key_column="id", segment_column="segment"
    )
    assert result.rows_skipped == 2 and result.rows_given == len(frame) - 2
    table = segments_of(engine).set_index("id")["segment"]
    assert table.loc[[0, 5]].isna().all() and table.drop([0, 5]).notna().all()
    assert len(fitted_store.assignments()) == len(frame) - 2
    assert fitted_store.predict(frame).isna().tolist() == [i in (0, 5) for i in range(len(frame))]
    engine.dispose()


def test_record_assignments_keys_from_index_or_argument(fitted_store):
    frame = blob_frame(seed=4, n_per_cluster=5).set_index("id")
    assert fitted_store.record_assignments(frame) == len(frame)
    assert fitted_store.assignments()["record_key"].tolist() == sorted(str(i) for i in frame.index)
    text_keys = [f"k{i}" for i in range(len(frame))]
    fitted_store.record_assignments(frame, keys=text_keys)
    assert len(fitted_store.assignments()) == 2 * len(frame)
    with pytest.raises(ValueError, match="keys has 3 entries"):
        fitted_store.record_assignments(frame, keys=[1, 2, 3])


def test_to_sql_scores_like_predict_inside_the_database(fitted_store, store_url):  # noqa: F811
    frame = blob_frame(seed=5, n_per_cluster=6)
    engine = engine_for(store_url)
    with engine.begin() as connection:
        frame.to_sql("people", connection, index=False)
    query = fitted_store.to_sql(table="people")
    with engine.connect() as connection:
        scored = dict(connection.exec_driver_sql(query).all())
    expected = fitted_store.predict(frame)
    assert {int(k): v for k, v in scored.items()} == dict(
        zip(frame["id"].tolist(), expected.tolist(), strict=True)
    )
    engine.dispose()


@pytest.mark.parametrize("key_type", ["SMALLINT", "BIGINT"])
def test_integer_keys_of_every_width(store_url, key_type):  # noqa: F811
    keys = np.arange(100, 400, 3)
    engine = create_customer_table(store_url, keys, key_type=key_type)
    segment_ids = np.arange(len(keys)) % 7
    result = write_segments(
        engine,
        table="customers",
        key_column="id",
        segment_column="segment",
        keys=keys[::-1],
        segment_ids=segment_ids[::-1],
    )
    assert result.rows_changed == len(keys)
    assert segments_of(engine)["segment"].tolist() == segment_ids.tolist()
    engine.dispose()


def test_binary_copy_block_layout():
    from centroids.store.writeback import _copy_binary

    keys = np.array([30, 10, 20])
    order = np.argsort(keys)
    block = _copy_binary(keys, np.array([3, 1, 2]), np.array([0.3, 0.1, 0.2]), order, "INTEGER")
    assert block[:11] == b"PGCOPY\n\xff\r\n\x00" and block[-2:] == b"\xff\xff"
    row = np.dtype(
        [("n", ">i2"), ("kl", ">i4"), ("k", ">i4"), ("sl", ">i4"), ("s", ">i8"),
         ("dl", ">i4"), ("d", ">f8")]
    )  # fmt: skip
    rows = np.frombuffer(block[19:-2], dtype=row)
    assert rows["n"].tolist() == [3, 3, 3] and rows["k"].tolist() == [10, 20, 30]
    assert rows["s"].tolist() == [1, 2, 3] and rows["d"].tolist() == [0.1, 0.2, 0.3]
    # what the binary form cannot carry goes row by row
    assert _copy_binary(keys, keys, np.array([0.1, np.nan, 0.2]), order, "INTEGER") is None
    assert _copy_binary(keys * 10**6, keys, None, order, "SMALLINT") is None
    assert _copy_binary(keys, keys, None, order, "TEXT") is None
