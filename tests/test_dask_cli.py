"""`centroids predict DIR --dask`: a directory of Parquet files scored a partition per task,
segment ids written back into the user's table per partition, idempotently."""

import json

import numpy as np
import pandas as pd
import sqlalchemy as sa
from typer.testing import CliRunner

from centroids.cli import EXIT_BAD_INPUT, app
from centroids.datasets import make_customers
from centroids.store import SegmentStore

runner = CliRunner()
COLUMNS = "annual_income,spending_score,age,purchase_frequency"


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_predict_on_dask_writes_back_every_partition_once(tmp_path):
    db = f"sqlite:///{tmp_path / 'shop.db'}"
    customers = make_customers(2_000, random_state=4)
    engine = sa.create_engine(db)
    customers.assign(segment=None).to_sql("customers", engine, index=False)
    engine.dispose()
    customers.to_csv(tmp_path / "customers.csv", index=False)
    result = invoke(
        "segment",
        tmp_path / "customers.csv",
        "--id-column",
        "customer_id",
        "--columns",
        COLUMNS,
        "--k",
        "4",
        "--db",
        db,
    )
    assert result.exit_code == 0, result.output
    parquet = tmp_path / "parquet"
    parquet.mkdir()
    for i, start in enumerate((0, 700, 1_400)):
        customers.iloc[start : start + 700].to_parquet(parquet / f"part.{i}.parquet")

    args = ["predict", parquet, "--dask", "local", "--id-column", "customer_id", "--db", db]
    args += ["--write-back", "customers.customer_id:segment", "--out", tmp_path / "labels"]
    first = invoke(*args, "--json")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["partitions"] == 3 and summary["rows"] == 2_000
    assert summary["rows_changed"] == 2_000 and summary["keys_not_found"] == 0

    with SegmentStore(db) as store:
        expected = store.predict(customers)
    engine = sa.create_engine(db)
    table = pd.read_sql("select customer_id, segment from customers", engine)
    engine.dispose()
    merged = table.set_index("customer_id")["segment"].loc[customers["customer_id"]]
    np.testing.assert_array_equal(merged.astype(int).to_numpy(), expected.to_numpy())
    labels = pd.read_parquet(tmp_path / "labels")
    assert sorted(labels.columns) == ["customer_id", "distance", "segment_id", "segment_name"]
    assert len(labels) == 2_000

    again = invoke(*args, "--json")  # a retry: nothing left to change
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["rows_changed"] == 0


def test_predict_on_dask_needs_an_id_column(tmp_path):
    result = invoke("predict", tmp_path, "--dask", "local")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "--id-column" in result.output
    result = invoke("predict", tmp_path, "--write-back", "t.k:s", "--id-column", "k")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "--write-back needs --dask" in result.output
