"""`centroids segment --missing drop|impute|kpod|masked`: every customer gets a segment."""

import json

import numpy as np
import pytest
import sqlalchemy as sa
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

from centroids.cli import EXIT_BAD_INPUT, app
from centroids.data.prepare import MISSING_POLICIES, Preparation
from centroids.datasets import make_customers
from centroids.segments.segmentation import Segmentation

runner = CliRunner()

#: The rows whose age is blanked (as a new user found them: customers without an age).
N_HOLES = 40


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("missing")
    customers, truth = make_customers(2_000, random_state=4, return_segments=True)
    holes = np.random.default_rng(4).choice(len(customers), N_HOLES, replace=False)
    customers.loc[holes, "age"] = np.nan
    customers.to_csv(root / "customers.csv", index=False)
    return root, customers, truth, holes


@pytest.mark.parametrize("policy", MISSING_POLICIES)
def test_every_row_gets_a_segment_in_labels_and_database(workspace, policy):
    root, customers, truth, holes = workspace
    db = f"sqlite:///{root / f'{policy}.db'}"
    labels_path = root / f"{policy}.csv"
    report_path = root / f"{policy}.html"
    args = ["segment", root / "customers.csv", "--id-column", "customer_id", "--k", "5"]
    args += ["--db", db, "--out", labels_path, "--report", report_path, "--missing", policy]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert f"Missing values: {N_HOLES} row(s) had one; --missing {policy}" in result.output
    import pandas as pd

    labels = pd.read_csv(labels_path)
    assert len(labels) == len(customers)
    assert labels["segment_id"].notna().all()
    assert labels["distance"].notna().all()
    engine = sa.create_engine(db)
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("select count(*), count(segment_id) from centroids_assignments")
        ).one()
    engine.dispose()
    assert stored == (len(customers), len(customers))
    html = report_path.read_text()
    assert "Rows with missing values" in html and f"--missing {policy}" in html
    # The rows with a hole land in their true segment about as well as the others.
    agreement = adjusted_rand_score(truth[holes], labels["segment_id"].to_numpy()[holes])
    print(policy, "ARI of the rows with a hole:", agreement)
    assert agreement > 0.5


def test_json_output_says_the_policy_and_the_count(workspace):
    root = workspace[0]
    args = ["segment", root / "customers.csv", "--id-column", "customer_id", "--k", "5"]
    args += ["--db", f"sqlite:///{root / 'json.db'}", "--json", "--missing", "kpod"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["missing"] == "kpod" and payload["rows_with_missing_values"] == N_HOLES
    assert payload["rows_dropped"] == 0


def test_bad_policy_is_a_clear_error(workspace):
    root = workspace[0]
    args = ["segment", root / "customers.csv", "--missing", "zero", "--k", "3"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "--missing must be one of drop, impute, kpod, masked" in result.output


@pytest.mark.parametrize("policy", ["kpod", "masked"])
def test_segmentation_fits_rows_with_holes_and_round_trips(workspace, policy):
    _, customers, _, holes = workspace
    seg = Segmentation(5, id_column="customer_id", missing=policy, random_state=0).fit(customers)
    assert (seg.labels_ >= 0).all() and seg.metrics_["n_dropped"] == 0
    assert seg.sizes_.sum() == len(customers)
    assert seg.model_.missing == policy
    again = Segmentation.from_dict(json.loads(json.dumps(seg.to_dict())))
    np.testing.assert_array_equal(again.predict(customers), seg.labels_)
    labels, distances = again.predict_with_distance(customers.loc[holes])
    np.testing.assert_array_equal(labels, seg.labels_[holes])
    assert np.isfinite(distances).all()


def test_preparation_keeps_holes_for_kpod_and_measures_observed_values():
    import pandas as pd

    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "b": [1.0, np.nan, 3.0, 5.0]})
    kept = Preparation(missing="kpod", scale="none").fit(frame)
    Z = kept.transform(frame)
    assert kept.n_dropped_ == 0 and kept.n_rows_with_holes_ == 2
    assert np.isnan(Z[2, 0]) and np.isnan(Z[1, 1])
    standard = Preparation(missing="masked").fit(frame)
    spec = standard.specs[0]
    assert spec.center == pytest.approx(np.mean([1.0, 2.0, 4.0]))
    imputed = Preparation(missing="impute", scale="none").fit_transform(frame)
    assert imputed[2, 0] == 2.0  # the median of the observed values
    with pytest.raises(ValueError, match="missing must be one of 'drop', 'impute'"):
        Preparation(missing="zero").fit(frame)


def test_kprototypes_needs_drop_or_impute(workspace):
    _, customers, _, _ = workspace
    with pytest.raises(ValueError, match="model='kprototypes' needs missing='drop' or 'impute'"):
        Segmentation(3, model="kprototypes", missing="kpod").fit(customers)
