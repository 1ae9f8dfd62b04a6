"""The `centroids` command, driven through Typer's runner on real files and a real SQLite
database (the same code path as the console script)."""

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from PIL import Image
from typer.testing import CliRunner

from centroids.cli import EXIT_BAD_INPUT, app
from centroids.datasets import make_customers

runner = CliRunner()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    customers = make_customers(3_000, missing_rate=0.002, random_state=0)
    customers.to_csv(root / "customers.csv", index=False)
    customers.to_parquet(root / "customers.parquet")
    return root


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def test_segment_writes_store_labels_and_report(workspace):
    db = f"sqlite:///{workspace / 'segments.db'}"
    result = invoke(
        "segment",
        workspace / "customers.csv",
        "--id-column",
        "customer_id",
        "--k",
        "3-7",
        "--db",
        db,
        "--out",
        workspace / "labels.csv",
        "--report",
        workspace / "report.html",
    )
    assert result.exit_code == 0, result.output
    assert "Segments (version 1)" in result.output
    assert "left out of the fit" in result.output
    assert "row(s) had one; --missing drop" in result.output
    labels = pd.read_csv(workspace / "labels.csv")
    assert list(labels.columns) == ["customer_id", "segment_id", "segment_name", "distance"]
    assert len(labels) == 3_000
    assert labels["segment_id"].notna().all()  # every customer gets a segment (issue 20)
    placed = labels.dropna(subset=["segment_id"])
    assert placed["segment_id"].nunique() == 5  # the generator's five segments, chosen by auto
    assert (workspace / "report.html").read_text().startswith("<!DOCTYPE html>")
    engine = sa.create_engine(db)
    with engine.connect() as connection:
        stored = connection.execute(sa.text("select count(*) from centroids_versions")).scalar()
    engine.dispose()
    assert stored == 1

    # predict with the stored version: the same ids as the labels file
    result = invoke(
        "predict",
        workspace / "customers.parquet",
        "--id-column",
        "customer_id",
        "--db",
        db,
        "--json",
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3_000
    assert set(rows[0]) == {"customer_id", "segment_id", "segment_name", "distance"}
    predicted = pd.DataFrame(rows).set_index("customer_id")["segment_id"]
    expected = labels.set_index("customer_id")["segment_id"]
    pd.testing.assert_series_equal(
        predicted.astype("Float64"),
        expected.loc[predicted.index].astype("Float64"),
        check_names=False,
    )

    # versions, naming, a second version and the drift between them
    result = invoke("name", 1, "first segment", "--db", db)
    assert result.exit_code == 0, result.output
    result = invoke(
        "segment",
        workspace / "customers.parquet",
        "--id-column",
        "customer_id",
        "--k",
        "5",
        "--seed",
        "3",
        "--db",
        db,
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["version"] == 2 and payload["born"] == [] and payload["retired"] == []
    assert "first segment" in {s["name"] for s in payload["segments"]}
    result = invoke("versions", "--db", db, "--json")
    assert [v["version"] for v in json.loads(result.stdout)] == [1, 2]
    result = invoke("drift", 1, 2, "--db", db, "--json")
    assert result.exit_code == 0, result.output
    drift = json.loads(result.stdout)
    assert drift["records_compared"] > 2_900 and drift["records_changed"] < 30


def test_write_back_updates_the_users_table(tmp_path):
    db = f"sqlite:///{tmp_path / 'shop.db'}"
    customers = make_customers(1_500, random_state=2)
    engine = sa.create_engine(db)
    customers.assign(segment=None).to_sql("customers", engine, index=False)
    engine.dispose()
    result = invoke(
        "segment",
        f"{db}#customers",
        "--id-column",
        "customer_id",
        "--columns",
        "annual_income,spending_score,age,purchase_frequency",
        "--k",
        "5",
        "--db",
        db,
        "--write-back",
        "customers.customer_id:segment",
    )
    assert result.exit_code == 0, result.output
    assert "Write-back: 1,500 rows of customers updated" in result.output
    engine = sa.create_engine(db)
    table = pd.read_sql("select customer_id, segment from customers", engine)
    engine.dispose()
    assert table["segment"].notna().all() and table["segment"].nunique() == 5


def test_segment_promote_serves_the_new_version(tmp_path):
    from centroids.store import SegmentStore

    db = f"sqlite:///{tmp_path / 'served.db'}"
    make_customers(600, random_state=3).to_csv(tmp_path / "c.csv", index=False)
    common = ("segment", tmp_path / "c.csv", "--id-column", "customer_id", "--k", "3")
    assert invoke(*common, "--db", db, "--promote").exit_code == 0
    result = invoke(*common, "--db", db, "--seed", "1")
    assert result.exit_code == 0, result.output
    with SegmentStore(db) as store:
        assert store.latest_version == 2 and store.served_version == 1


def test_choose_k_and_diagnose(workspace, tmp_path):
    result = invoke(
        "choose-k",
        workspace / "customers.csv",
        "--id-column",
        "customer_id",
        "--k",
        "2-7",
        "--json",
        "--plot",
        tmp_path / "k.png",
    )
    assert result.exit_code == 0, result.output
    choice = json.loads(result.stdout)
    assert choice["k"] == 5 and choice["has_structure"] is True
    assert [row["k"] for row in choice["table"]] == [2, 3, 4, 5, 6, 7]
    with Image.open(tmp_path / "k.png") as figure:
        assert figure.size[0] > 300
    result = invoke(
        "diagnose", workspace / "customers.csv", "--id-column", "customer_id", "--k", "5", "--json"
    )
    assert result.exit_code == 0, result.output
    codes = {f["code"] for f in json.loads(result.stdout)["findings"]}
    assert "unscaled-features" in codes  # income in currency next to a 1-100 score


def test_quantize(tmp_path):
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, size=(60, 80, 3), dtype=np.uint8)
    Image.fromarray(picture).save(tmp_path / "photo.png")
    result = invoke(
        "quantize",
        tmp_path / "photo.png",
        "--colors",
        "6",
        "-o",
        tmp_path / "out.png",
        "--palette",
        tmp_path / "swatch.png",
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["palette"]) == 6
    assert sum(p["share"] for p in payload["palette"]) == pytest.approx(1.0)
    with Image.open(tmp_path / "out.png") as out:
        assert len(out.getcolors()) <= 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["segment", "{root}/missing.csv"], "No such file"),
        (["segment", "{root}/customers.csv", "--columns", "income"], "no column 'income'"),
        (["segment", "{root}/customers.csv", "--k", "lots"], "k must be 'auto'"),
        (["segment", "{root}/customers.csv", "--scale", "log"], "--scale must be one of"),
        (["segment", "{root}/customers.csv", "--write-back", "nodots"], "TABLE.KEY_COLUMN"),
        (["predict", "{root}/customers.csv", "--version", "9", "--db", "{db}"], "no version 9"),
        (["predict", "{root}/customers.csv", "--version", "x", "--db", "{db}"], "'latest' or a"),
        (["drift", "1", "2", "--db", "{db}"], "version"),
        (["quantize", "{root}/customers.csv"], "Can't read"),
    ],
)
def test_bad_input_exits_2_with_a_message(workspace, tmp_path, args, message):
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    args = [a.format(root=workspace, db=db) for a in args]
    if args[0] == "predict":
        # a store holding one version, so that only the version asked for is wrong
        frame = make_customers(300, random_state=1).drop(columns="customer_id")
        from centroids.segments.segmentation import Segmentation
        from centroids.store import SegmentStore

        with SegmentStore(db) as store:
            store.save(Segmentation(3, random_state=0).fit(frame))
    result = invoke(*args)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert message in result.output


def test_non_numeric_column_under_scale_is_named(tmp_path):
    frame = pd.DataFrame({"id": range(40), "x": np.arange(40.0), "y": ["a"] * 39 + ["b"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = invoke(
        "segment",
        tmp_path / "t.csv",
        "--id-column",
        "id",
        "--k",
        "2",
        "--db",
        f"sqlite:///{tmp_path / 's.db'}",
    )
    # 'y' is categorical: one-hot encoded, the command succeeds
    assert result.exit_code == 0, result.output


def test_every_command_has_help_with_an_example():
    for command in (
        "segment",
        "predict",
        "choose-k",
        "diagnose",
        "versions",
        "drift",
        "name",
        "quantize",
        "documents",
        "warmup",
    ):
        result = invoke(command, "--help")
        assert result.exit_code == 0, result.output
        assert "Example" in result.output, command


def test_documents(tmp_path):
    rng = np.random.default_rng(0)
    topics = {
        "sport": [
            "match",
            "goal",
            "team",
            "league",
            "coach",
            "player",
            "season",
            "score",
            "stadium",
            "referee",
        ],
        "cooking": [
            "recipe",
            "oven",
            "flour",
            "sugar",
            "butter",
            "bake",
            "dough",
            "sauce",
            "simmer",
            "garlic",
        ],
        "space": [
            "orbit",
            "rocket",
            "planet",
            "galaxy",
            "telescope",
            "astronaut",
            "launch",
            "lunar",
            "comet",
            "star",
        ],
    }
    rows = []
    for topic, words in topics.items():
        for _ in range(40):
            rows.append({"topic": topic, "body": " ".join(rng.choice(words, size=12))})
    pd.DataFrame(rows).sample(frac=1.0, random_state=0).to_csv(tmp_path / "docs.csv", index=False)
    result = invoke(
        "documents",
        tmp_path / "docs.csv",
        "--text-column",
        "body",
        "--k",
        "3",
        "--out",
        tmp_path / "topics.csv",
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["documents"] == 120 and len(payload["clusters"]) == 3
    for cluster in payload["clusters"]:
        owners = {t for t, words in topics.items() if set(cluster["top_terms"][:3]) <= set(words)}
        assert len(owners) == 1, cluster
    labels = pd.read_csv(tmp_path / "topics.csv")
    assert list(labels.columns) == ["document", "cluster", "similarity"] and len(labels) == 120
    result = invoke("documents", tmp_path / "docs.csv", "--text-column", "text", "--k", "3")
    assert result.exit_code == EXIT_BAD_INPUT and "text" in result.output


def test_segment_mixed_uses_kprototypes_and_needs_a_categorical_column(tmp_path):
    customers = make_customers(400, random_state=1)
    customers.to_csv(tmp_path / "customers.csv", index=False)
    db = f"sqlite:///{tmp_path / 'segments.db'}"
    result = invoke(
        "segment",
        tmp_path / "customers.csv",
        "--id-column",
        "customer_id",
        "--k",
        "2-4",
        "--mixed",
        "--db",
        db,
        "--out",
        tmp_path / "labels.csv",
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    labels = pd.read_csv(tmp_path / "labels.csv")
    assert len(labels) == 400 and labels["segment_id"].nunique() == payload["k"]
    from centroids.store.repository import SegmentStore

    with SegmentStore(db) as store:
        loaded = store.load()
    assert loaded.params_["model"] == "kprototypes" and len(loaded.centers_) == payload["k"]
    assert loaded.gamma_ == pytest.approx(0.5)  # standard scaling: half the mean std
    # every segment's region block is the one-hot of its mode, cells sqrt(gamma / 2)
    region = [c for c in loaded.preparation_.model_feature_names_ if c.startswith("region=")]
    block = loaded.centers_[:, [loaded.preparation_.model_feature_names_.index(c) for c in region]]
    np.testing.assert_allclose(np.sort(block, axis=1)[:, -1], 0.5)
    assert np.count_nonzero(block) == payload["k"]
    numeric_only = customers.drop(columns=["region"])
    numeric_only.to_csv(tmp_path / "numeric.csv", index=False)
    result = invoke("segment", tmp_path / "numeric.csv", "--k", "3", "--mixed", "--db", db)
    assert result.exit_code == EXIT_BAD_INPUT
    assert "categorical column" in result.output and "drop --mixed" in result.output


def test_numeric_column_with_text_in_it_exits_2_naming_the_row(tmp_path):
    frame = pd.DataFrame({"id": range(60), "x": np.arange(60.0), "y": [str(v) for v in range(60)]})
    frame.loc[23, "y"] = "unknown"
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = invoke(
        "segment",
        tmp_path / "t.csv",
        "--id-column",
        "id",
        "--k",
        "2",
        "--db",
        f"sqlite:///{tmp_path / 's.db'}",
    )
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "'y' holds numbers" in result.output and "row 23" in result.output
