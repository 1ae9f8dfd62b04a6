"""SegmentStore: versions, stable segment ids, names, immutability, schema, errors."""

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from centroids.segments.segmentation import Segmentation
from centroids.store import schema as store_schema
from centroids.store.errors import (
    ImmutableVersionError,
    SchemaVersionError,
    SegmentNotFoundError,
    StoreConnectionError,
    StoreError,
    StoreURLError,
    VersionNotFoundError,
)
from centroids.store.repository import SegmentStore

from store_backends import CENTERS, blob_frame, postgres_engine_url, store_url  # noqa: F401


def fit(frame, k=5, seed=0, **params):
    return Segmentation(k, id_column="id", random_state=seed, **params).fit(frame)


def raw_engine(url):
    return sa.create_engine(postgres_engine_url(url) if url.startswith("postgres") else url)


@pytest.fixture
def store(store_url):  # noqa: F811
    with SegmentStore(store_url) as opened:
        yield opened


def test_first_version_gets_ids_one_to_k_and_predicts_like_the_model(store):
    frame = blob_frame()
    model = fit(frame)
    info = store.save(model, note="first")
    assert (info.version, info.parent_version) == (1, None)
    assert info.segment_ids == (1, 2, 3, 4, 5)
    assert info.born == (1, 2, 3, 4, 5) and info.retired == () and info.continued == ()
    predicted = store.predict_with_distance(frame)
    labels, distances = model.predict_with_distance(frame)
    assert predicted["segment_id"].tolist() == (np.asarray(info.segment_ids)[labels]).tolist()
    np.testing.assert_array_equal(predicted["distance"].to_numpy(), distances)
    assert predicted.index.equals(frame.index)
    loaded = store.load()
    np.testing.assert_array_equal(loaded.centers_, model.centers_)
    assert store.latest_version == 1


def test_version_records_what_reproduces_it(store):
    import numba
    import sklearn

    import centroids

    model = fit(blob_frame(), seed=7)
    store.save(model)
    versions = store.versions()
    assert versions["version"].tolist() == [1]
    row = versions.iloc[0]
    assert row["data_fingerprint"] == model.fingerprint_
    assert row["random_state"] == "7"
    assert row["n_threads"] == numba.get_num_threads()
    assert row["numpy_version"] == np.__version__
    assert row["numba_version"] == numba.__version__
    assert row["sklearn_version"] == sklearn.__version__
    assert row["centroids_version"] == centroids.__version__
    info = store.version_info(1)
    assert info["model"] == json.loads(json.dumps(model.to_dict()))
    assert info["spread"] == pytest.approx(model.spread_)


def test_retraining_on_resampled_shuffled_data_keeps_every_id(store):
    first = store.save(fit(blob_frame(seed=0), seed=0))
    resampled = blob_frame(seed=1).sample(frac=1.0, random_state=3)
    second = store.save(fit(resampled, seed=11))
    assert sorted(second.segment_ids) == sorted(first.segment_ids)
    assert second.born == () and second.retired == ()
    assert second.parent_version == 1
    # the same records get the same segment ids under both versions
    frame = blob_frame(seed=2)
    assert store.predict(frame, 1).tolist() == store.predict(frame, 2).tolist()
    assert store.segments()["last_version"].tolist() == [2] * 5


def test_retrain_warm_starts_from_the_latest_version(store):
    store.save(fit(blob_frame(seed=0)))
    info = store.retrain(blob_frame(seed=4).sample(frac=1.0, random_state=1), random_state=3)
    assert info.version == 2 and info.born == () and info.retired == ()
    model = store.load(2)
    assert model.params_["id_column"] == "id"
    assert model.params_["init"] == "array"
    assert model.params_["random_state"] == 3


def test_new_cluster_adds_exactly_one_id_and_removed_cluster_retires_one(store):
    four = CENTERS[:4]
    store.save(fit(blob_frame(centers=four), k=4))
    grown = store.save(fit(blob_frame(centers=CENTERS, seed=5), k=5, seed=2))
    assert len(grown.born) == 1 and grown.retired == ()
    assert sorted(grown.continued) == [1, 2, 3, 4]
    assert grown.born == (5,)
    # the new id is the cluster around the new center
    newcomer = pd.DataFrame({"spend": [CENTERS[4, 0]], "visits": [CENTERS[4, 1]], "tenure": [0.0]})
    assert store.predict(newcomer).tolist() == [5]

    without_second = CENTERS[[0, 2, 3, 4]]
    shrunk = store.retrain(blob_frame(centers=without_second, seed=6), n_clusters=4)
    assert shrunk.born == () and len(shrunk.retired) == 1
    second_center = pd.DataFrame({"spend": [12.0], "visits": [0.0], "tenure": [3.0]})
    retired_id = store.predict(second_center, version=2).iloc[0]
    assert shrunk.retired == (retired_id,)
    segments = store.segments()
    assert segments.loc[retired_id, "retired"]
    assert segments.loc[retired_id, "retired_in_version"] == 3
    assert segments.loc[retired_id, "last_version"] == 2
    assert list(store.segments(include_retired=False).index) == sorted(
        set(range(1, 6)) - {retired_id}
    )


def test_changed_preparation_maps_centers_through_original_units(store):
    frame = blob_frame(seed=0)
    store.save(fit(frame))
    # minmax scaling puts the centers somewhere else in model space entirely
    info = store.save(fit(blob_frame(seed=1), scale="minmax", seed=4))
    assert info.born == () and info.retired == ()
    assert store.predict(frame, 1).tolist() == store.predict(frame, 2).tolist()


def test_names_suggested_given_kept_and_renamed(store):
    model = fit(blob_frame())
    store.save(model, names=[None, "Loyal", None, None, None], descriptions=["d1"] + [None] * 4)
    segments = store.segments()
    assert segments.loc[2, "name"] == "Loyal"
    assert segments.loc[1, "description"] == "d1"
    assert segments.loc[1, "name"] == model.names_[0]
    store.rename(3, "Occasional", "rarely buys")
    store.save(fit(blob_frame(seed=1), seed=9))
    # ids continue: their names stay, whatever the new model suggests
    again = store.segments()
    assert again.loc[2, "name"] == "Loyal"
    assert (again.loc[3, "name"], again.loc[3, "description"]) == ("Occasional", "rarely buys")
    with pytest.raises(SegmentNotFoundError, match="no segment with id 99"):
        store.rename(99, "x")
    with pytest.raises(ValueError, match="non-empty"):
        store.rename(1, "  ")
    with pytest.raises(ValueError, match="5 clusters"):
        store.save(model, names=["a"])


@pytest.mark.parametrize("table", ["centroids_versions", "centroids_centers"])
@pytest.mark.parametrize("operation", ["UPDATE {table} SET version = 9", "DELETE FROM {table}"])
def test_versions_and_centers_are_immutable_in_the_database(store, store_url, table, operation):  # noqa: F811
    store.save(fit(blob_frame()))
    engine = raw_engine(store_url)
    with pytest.raises(sa.exc.DBAPIError, match="immutable"), engine.begin() as connection:
        connection.exec_driver_sql(operation.format(table=table))
    engine.dispose()
    # and through the store's own connection handling, a named error
    with pytest.raises(ImmutableVersionError), store._write() as connection:
        connection.exec_driver_sql(operation.format(table=table))
    assert store.versions()["version"].tolist() == [1]
    assert len(store.centers(1)) == 5


def test_centers_and_export(store, tmp_path):
    model = fit(blob_frame())
    info = store.save(model)
    centers = store.centers()
    assert list(centers.index) == list(info.segment_ids)
    np.testing.assert_allclose(centers["spend"], model.centers_original_["spend"])
    model_space = store.centers(original_units=False)
    np.testing.assert_array_equal(model_space.to_numpy(), model.centers_)
    path = tmp_path / "export.json"
    exported = store.export(path=path)
    assert json.loads(path.read_text()) == exported
    assert exported["version"]["version"] == 1
    assert [s["segment_id"] for s in exported["segments"]] == list(info.segment_ids)
    rebuilt = Segmentation.from_dict(exported["model"])
    frame = blob_frame(seed=3)
    assert rebuilt.predict(frame).tolist() == model.predict(frame).tolist()


def test_missing_versions_are_named(store):
    with pytest.raises(VersionNotFoundError, match="no version yet"):
        store.load()
    store.save(fit(blob_frame()))
    with pytest.raises(VersionNotFoundError, match="versions 1 to 1 exist"):
        store.load(4)
    for beyond_any_integer_column in (2**63, 10**30, -(2**70)):
        with pytest.raises(VersionNotFoundError, match="versions 1 to 1 exist"):
            store.load(beyond_any_integer_column)
        with pytest.raises(SegmentNotFoundError, match="known ids"):
            store.rename(beyond_any_integer_column, "nobody")
    with pytest.raises(TypeError, match="version must be an int"):
        store.load("1")
    with pytest.raises(VersionNotFoundError, match="only version 1"):
        store.drift()
    with pytest.raises(TypeError, match="fit it first"):
        store.save(Segmentation(3))


def test_reopening_keeps_everything(store_url):  # noqa: F811
    with SegmentStore(store_url) as store:
        store.save(fit(blob_frame()))
        store.rename(1, "first")
    with SegmentStore(store_url) as reopened:
        assert reopened.latest_version == 1
        assert reopened.segments().loc[1, "name"] == "first"
        assert reopened.schema_version == store_schema.SCHEMA_VERSION


def test_newer_schema_is_refused_and_older_needs_upgrade(store_url, monkeypatch):  # noqa: F811
    SegmentStore(store_url).close()
    engine = raw_engine(store_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE centroids_schema SET schema_version = 99")
    current = store_schema.SCHEMA_VERSION
    with pytest.raises(SchemaVersionError, match=f"newer than version {current}"):
        SegmentStore(store_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE centroids_schema SET schema_version = {current}")
    engine.dispose()

    # a next schema that adds a column: opening asks for the upgrade, upgrade() applies it
    def add_tags(connection):
        connection.exec_driver_sql("ALTER TABLE centroids_segments ADD COLUMN tags TEXT")

    monkeypatch.setattr(store_schema, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(store_schema.MIGRATIONS, current, add_tags)
    with pytest.raises(SchemaVersionError, match=rf"older than version {current + 1}.*upgrade"):
        SegmentStore(store_url)
    upgraded = SegmentStore.upgrade(store_url)
    assert upgraded.schema_version == current + 1
    columns = {c["name"] for c in sa.inspect(upgraded.engine).get_columns("centroids_segments")}
    assert "tags" in columns
    upgraded.close()


def test_failed_upgrade_leaves_the_database_unchanged(store_url, monkeypatch):  # noqa: F811
    SegmentStore(store_url).close()

    def broken(connection):
        connection.exec_driver_sql("ALTER TABLE centroids_segments ADD COLUMN tags TEXT")
        raise RuntimeError("upgrade step failed")

    current = store_schema.SCHEMA_VERSION
    monkeypatch.setattr(store_schema, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(store_schema.MIGRATIONS, current, broken)
    with pytest.raises(RuntimeError, match="upgrade step failed"):
        SegmentStore.upgrade(store_url)
    monkeypatch.setattr(store_schema, "SCHEMA_VERSION", current)
    with SegmentStore(store_url) as store:
        assert store.schema_version == current
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns("centroids_segments")}
        assert "tags" not in columns


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("mysql://user@host/db", StoreURLError, "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u@h/db", StoreURLError, "psycopg 3"),
        ("sqlite:////no/such/folder/segments.db", StoreURLError, "does not exist"),
        ("://nothing", StoreURLError, "cannot parse"),
        ("", StoreURLError, "empty"),
        (
            "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2",
            StoreConnectionError,
            "cannot connect",
        ),
    ],
)
def test_bad_urls_give_named_errors(url, error, message):
    with pytest.raises(error, match=message) as raised:
        SegmentStore(url)
    assert isinstance(raised.value, StoreError) and isinstance(raised.value, ValueError)


def test_connection_error_hides_the_password():
    with pytest.raises(StoreConnectionError) as raised:
        SegmentStore("postgresql://someone:secret@127.0.0.1:1/db?connect_timeout=2")
    assert "secret" not in str(raised.value)


def test_plain_path_is_a_sqlite_file(tmp_path):
    path = tmp_path / "plain.db"
    with SegmentStore(path) as store:
        store.save(fit(blob_frame()))
    assert path.exists()
    with SegmentStore(str(path)) as store:
        assert store.latest_version == 1


def test_retrain_rejects_unknown_parameters(store):
    store.save(fit(blob_frame()))
    with pytest.raises(TypeError, match="unknown Segmentation parameter"):
        store.retrain(blob_frame(), bogus=1)


def test_retrain_of_a_mixed_segmentation_reseeds_quietly_and_keeps_ids():
    import warnings

    from centroids.datasets import make_customers

    frame = make_customers(3_000, random_state=0).drop(columns="customer_id")
    with SegmentStore("sqlite://") as store:
        first = store.save(Segmentation(5, model="kprototypes", random_state=0).fit(frame))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "K-Prototypes cannot warm-start" warning
            second = store.retrain(frame.sample(frac=1.0, random_state=2), random_state=3)
    assert sorted(second.segment_ids) == sorted(first.segment_ids)
    assert second.born == () and second.retired == ()


def test_postgres_statistics_follow_a_bulk_run(store_url):  # noqa: F811
    if not store_url.startswith("postgres"):
        pytest.skip("planner statistics after a bulk insert are a PostgreSQL concern")
    frame = blob_frame(n_per_cluster=400)
    with SegmentStore(store_url) as store:
        store.save_run(fit(frame), frame, key_column="id")
        store.save_run(fit(frame, seed=1), frame, key_column="id")
    with raw_engine(store_url).connect() as connection:
        # reltuples is the planner's row count: -1 or stale without an ANALYZE, and a
        # stale estimate of a few rows made the drift self-join a nested loop
        estimate = connection.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = 'centroids_assignments'::regclass"
        ).scalar()
    assert estimate == 2 * len(frame)
