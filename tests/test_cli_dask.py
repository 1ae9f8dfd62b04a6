"""`centroids segment DIR --dask` and `centroids predict DIR --dask`: a directory of Parquet
files prepared from Dask aggregates, fitted on the workers, stored as in memory, and every
row's assignment written back a transaction per partition, idempotently."""

import json
import socket

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

pytest.importorskip("distributed")

import itertools

from centroids import settings
from centroids.cli import EXIT_BAD_INPUT, app
from centroids.data import prepare_dask
from centroids.data.prepare import Preparation
from centroids.store import SegmentStore

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def blob_table(n, random_state):
    """Four well separated groups over three numeric columns and a categorical one, with
    missing values in a numeric column: a deterministic fit finds the same segments from
    any start."""
    rng = np.random.default_rng(random_state)
    means = np.array([[0, 0, 0], [40, 0, 10], [0, 40, -10], [40, 40, 20]], dtype=float)
    group = rng.integers(0, 4, n)
    values = means[group] + rng.normal(size=(n, 3))
    frame = pd.DataFrame(
        {
            "customer_id": rng.permutation(n) + 1_000,
            "income": values[:, 0],
            "score": values[:, 1],
            "age": np.round(values[:, 2] + 40),
            "region": np.array(["north", "south", "east", "west"])[group],
        }
    )
    frame.loc[rng.choice(n, n // 50, replace=False), "income"] = np.nan
    return frame


def write_partitions(frame, directory, n_parts):
    directory.mkdir()
    bounds = np.linspace(0, len(frame), n_parts + 1).astype(int)
    for i, (start, stop) in enumerate(itertools.pairwise(bounds)):
        frame.iloc[start:stop].to_parquet(directory / f"part.{i}.parquet", index=False)
    return directory


def user_table(db, frame):
    engine = sa.create_engine(db)
    empty = pd.array([None] * len(frame), dtype="Int64")
    frame[["customer_id"]].assign(segment=empty).to_sql("customers", engine, index=False)
    engine.dispose()


def read_sql(db, query):
    engine = sa.create_engine(db)
    try:
        return pd.read_sql(query, engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        yield cluster


@pytest.mark.parametrize("grid_points", [1024, 16])
def test_preparation_from_aggregates_is_the_in_memory_one(monkeypatch, grid_points):
    import dask
    import dask.dataframe as dd

    # coarse grids and small brackets: the exact quantiles go through several refinements
    monkeypatch.setattr(prepare_dask, "GRID_POINTS", grid_points)
    monkeypatch.setattr(prepare_dask, "GATHER_LIMIT", 50)
    monkeypatch.setattr(prepare_dask, "HISTOGRAM_BINS", 8)
    frame = blob_table(3_001, random_state=2)
    frame.loc[::97, "region"] = None
    with dask.config.set(scheduler="sync"):
        for missing in ("drop", "impute"):
            for scale in ("standard", "robust", "minmax"):
                options = {"id_column": "customer_id", "scale": scale, "missing": missing}
                memory = Preparation(**options)
                Z = memory.fit_transform(frame)
                ours = prepare_dask.fit_preparation_dask(
                    dd.from_pandas(frame, npartitions=5), **options
                )
                a, b = memory.to_dict(), ours.to_dict()
                for key in ("n_rows", "n_dropped", "n_rows_with_holes", "missing_counts"):
                    assert a[key] == b[key]
                for left, right in zip(a["columns"], b["columns"], strict=True):
                    for field, value in left.items():
                        if isinstance(value, float):
                            assert right[field] == pytest.approx(value, rel=1e-12, abs=1e-12)
                        else:
                            assert right[field] == value, (missing, scale, field)
                kept = frame.dropna(subset=["income"]) if missing == "drop" else frame
                np.testing.assert_allclose(ours.transform(kept), Z, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("missing", ["drop", "impute"])
def test_preparation_reads_the_data_twice(monkeypatch, missing):
    """One pass for the counts, sums and grids, one gathering every order statistic's
    bracket (medians and quartiles of all columns together), and no more."""
    import dask
    import dask.dataframe as dd

    frame = blob_table(60_000, random_state=4)
    frame.loc[::41, "income"] = np.nan
    # ties: a column of few distinct values
    frame["visits"] = np.random.default_rng(0).integers(0, 5, len(frame)).astype(float)
    computes = []
    compute = dask.compute

    def counting(*args, **kwargs):
        computes.append(1)
        return compute(*args, **kwargs)

    options = {"id_column": "customer_id", "scale": "robust", "missing": missing}
    memory = Preparation(**options).fit(frame)
    with dask.config.set(scheduler="sync"):
        monkeypatch.setattr(dask, "compute", counting)
        ours = prepare_dask.fit_preparation_dask(dd.from_pandas(frame, npartitions=7), **options)
    assert len(computes) == 2
    for left, right in zip(memory.to_dict()["columns"], ours.to_dict()["columns"], strict=True):
        for field in ("median", "q25", "q75", "minimum", "maximum"):
            if field in left:
                assert right[field] == left[field], (missing, left["name"], field)
        for field in ("mean", "std", "center", "scale"):
            if field in left:
                assert right[field] == pytest.approx(left[field], rel=1e-12)


def test_segment_on_dask_matches_in_memory_segment(tmp_path):
    frame = blob_table(4_000, random_state=0)
    frame.to_parquet(tmp_path / "all.parquet", index=False)
    parquet = write_partitions(frame, tmp_path / "parquet", 3)
    common = ["--id-column", "customer_id", "--k", "4", "--seed", "3", "--json"]
    memory_db = f"sqlite:///{tmp_path / 'memory.db'}"
    dask_db = f"sqlite:///{tmp_path / 'dask.db'}"
    memory = invoke("segment", tmp_path / "all.parquet", *common, "--db", memory_db)
    assert memory.exit_code == 0, memory.output
    on_dask = invoke("segment", parquet, "--dask", "local", *common, "--db", dask_db)
    assert on_dask.exit_code == 0, on_dask.output
    a, b = json.loads(memory.stdout), json.loads(on_dask.stdout)
    assert b["rows"] == a["rows"] == len(frame) and b["rows_dropped"] == a["rows_dropped"]
    assert b["partitions"] == 3 and b["rows_assigned"] == len(frame)
    with SegmentStore(memory_db) as store:
        memory_centers = store.centers(original_units=False)
        memory_assigned = store.assignments()
    with SegmentStore(dask_db) as store:
        dask_centers = store.centers(original_units=False)
        dask_assigned = store.assignments()
        info = store.version_info()
    # every row recorded once
    assert len(dask_assigned) == len(frame) == dask_assigned["record_key"].nunique()
    joined = memory_assigned.merge(dask_assigned, on="record_key", suffixes=("_m", "_d"))
    assert len(joined) == len(frame)
    # the same segments: a first version numbers them in the fit's center order, which
    # depends on the seeding (k-means|| on Dask), so match them through their members
    pairs = joined.groupby("segment_id_m")["segment_id_d"].unique()
    assert all(len(ids) == 1 for ids in pairs) and pairs.map(lambda ids: ids[0]).is_unique
    to_dask = pairs.map(lambda ids: int(ids[0]))
    np.testing.assert_allclose(joined["distance_d"], joined["distance_m"], atol=1e-9)
    np.testing.assert_allclose(
        dask_centers.loc[to_dask.to_numpy()].to_numpy(dtype=float),
        memory_centers.loc[to_dask.index].to_numpy(dtype=float),
        atol=1e-9,
    )
    segments_a = {s["segment_id"]: s for s in a["segments"]}
    segments_b = {s["segment_id"]: s for s in b["segments"]}
    for memory_id, dask_id in to_dask.items():
        left, right = segments_a[memory_id], segments_b[dask_id]
        assert right["rows"] == left["rows"] and right["name"] == left["name"]
        for column in ("income", "score", "age"):
            assert right[column] == pytest.approx(left[column], rel=1e-12)
    assert info["version"] == 1


def test_segment_on_a_cluster_writes_back_once_and_predict_round_trips(tmp_path, cluster):
    frame = blob_table(3_000, random_state=1)
    parquet = write_partitions(frame, tmp_path / "parquet", 4)
    db = f"sqlite:///{tmp_path / 'shop.db'}"
    user_table(db, frame)
    address = cluster.scheduler_address
    args = ["segment", parquet, "--dask", address, "--id-column", "customer_id", "--k", "4"]
    args += ["--db", db, "--write-back", "customers.customer_id:segment"]
    args += ["--report", tmp_path / "report.html", "--out", tmp_path / "labels", "--json"]
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["partitions"] == 4 and summary["rows_assigned"] == len(frame)
    assert summary["write_back"]["rows_changed"] == len(frame)
    written = read_sql(db, "select customer_id, segment from customers")
    assert written["segment"].notna().all() and len(written) == len(frame)
    with SegmentStore(db) as store:
        expected = store.predict(frame)
        history = store.assignments()
    by_key = written.set_index("customer_id")["segment"]
    np.testing.assert_array_equal(
        by_key.loc[frame["customer_id"]].to_numpy(), expected.to_numpy(dtype=np.int64)
    )
    assert len(history) == len(frame)
    labels = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "labels").iterdir()))
    assert len(labels) == len(frame) and labels["customer_id"].is_unique
    report = (tmp_path / "report.html").read_text()
    assert f"{len(frame):,}" in report

    # the same version again, partition by partition: nothing changes, nothing duplicated
    again = ["predict", parquet, "--dask", address, "--id-column", "customer_id", "--db", db]
    again += ["--write-back", "customers.customer_id:segment", "--out", tmp_path / "scored"]
    rerun = invoke(*again, "--json")
    assert rerun.exit_code == 0, rerun.output
    assert json.loads(rerun.stdout)["rows_changed"] == 0
    assert read_sql(db, "select count(*) as n from centroids_assignments")["n"][0] == len(frame)
    scored = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "scored").iterdir()))
    merged = scored.merge(labels, on="customer_id", suffixes=("", "_segment"))
    assert len(merged) == len(frame)
    assert (merged["segment_id"] == merged["segment_id_segment"]).all()

    # a retrain on the same rows is version 2 with the same, continued segment ids
    retrain = invoke(*args[:-5], "--json")
    assert retrain.exit_code == 0, retrain.output
    second = json.loads(retrain.stdout)
    assert second["version"] == 2 and second["born"] == [] and second["retired"] == []
    assert sorted(s["segment_id"] for s in second["segments"]) == [1, 2, 3, 4]
    assert read_sql(db, "select count(*) as n from centroids_assignments")["n"][0] == 2 * len(frame)


def test_dask_input_errors_name_the_problem(tmp_path, monkeypatch):
    frame = blob_table(200, random_state=3)
    frame.to_csv(tmp_path / "rows.csv", index=False)
    db = f"sqlite:///{tmp_path / 'x.db'}"
    base = ["--id-column", "customer_id", "--k", "2", "--db", db]

    csv = invoke("segment", tmp_path / "rows.csv", "--dask", "local", *base)
    assert csv.exit_code == EXIT_BAD_INPUT
    assert "directory of Parquet files" in csv.output and ".csv" in csv.output

    url = invoke("segment", f"{db}#customers", "--dask", "local", *base)
    assert url.exit_code == EXIT_BAD_INPUT and "database URL" in url.output

    (tmp_path / "empty").mkdir()
    empty = invoke("segment", tmp_path / "empty", "--dask", "local", *base)
    assert empty.exit_code == EXIT_BAD_INPUT and "holds none" in empty.output

    parquet = write_partitions(frame, tmp_path / "parquet", 2)
    no_id = invoke("segment", parquet, "--dask", "local", "--k", "2", "--db", db)
    assert no_id.exit_code == EXIT_BAD_INPUT and "--id-column" in no_id.output

    for option, words in ((["--missing", "kpod"], "--missing kpod"), (["--mixed"], "--mixed")):
        refused = invoke("segment", parquet, "--dask", "local", *base, *option)
        assert refused.exit_code == EXIT_BAD_INPUT and words in refused.output

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(settings, "DASK_CONNECT_TIMEOUT", 1)
    address = f"tcp://127.0.0.1:{port}"
    unreachable = invoke("segment", parquet, "--dask", address, *base)
    assert unreachable.exit_code == EXIT_BAD_INPUT
    assert address in unreachable.output and "Traceback" not in unreachable.output

    from centroids.segments import dask_assign

    def no_dask():
        raise ImportError("Fitting or predicting on a Dask collection needs dask: pip install")

    monkeypatch.setattr(dask_assign, "require_dask", no_dask)
    for command in ("segment", "predict"):
        missing = invoke(command, parquet, "--dask", "local", *base[:2], "--db", db)
        assert missing.exit_code == EXIT_BAD_INPUT, missing.output
        assert "pip install" in missing.output
