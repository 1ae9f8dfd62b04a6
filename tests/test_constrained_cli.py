"""`centroids segment --min-size / --max-size`: bounded segments, stored with the version."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from centroids.cli import EXIT_BAD_INPUT, app
from centroids.datasets import make_customers
from centroids.store import SegmentStore

runner = CliRunner()
N_ROWS = 1_200


@pytest.fixture(scope="module")
def customers_csv(tmp_path_factory):
    root = tmp_path_factory.mktemp("constrained_cli")
    make_customers(N_ROWS, random_state=3).to_csv(root / "customers.csv", index=False)
    return root / "customers.csv"


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def segment_json(csv, db, out, *extra):
    result = invoke(
        "segment", csv, "--id-column", "customer_id", "--db", db, "--out", out, "--json", *extra
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_every_row_gets_a_segment_within_the_bounds_and_the_version_keeps_them(
    customers_csv, tmp_path
):
    db = f"sqlite:///{tmp_path / 's.db'}"
    out = tmp_path / "labels.csv"
    payload = segment_json(
        customers_csv, db, out, "--k", "4", "--min-size", "0.24", "--max-size", "320"
    )
    lo, hi = int(np.floor(0.24 * N_ROWS)), 320
    assert payload["size_bounds"] == {"min_rows": lo, "max_rows": hi}
    labels = pd.read_csv(out)
    assert len(labels) == N_ROWS and labels["segment_id"].notna().all()
    sizes = labels["segment_id"].value_counts()
    assert len(sizes) == 4 and sizes.min() >= lo and sizes.max() <= hi
    assert sorted(s["rows"] for s in payload["segments"]) == sorted(sizes.tolist())
    with SegmentStore(db) as store:
        stored = store.load(payload["version"])
        assert stored.params_["size_min"] == 0.24 and stored.params_["size_max"] == 320
        exported = json.dumps(store.export(payload["version"]))
        assert '"size_min": 0.24' in exported and '"size_max": 320' in exported
        # the stored assignments are the bounded ones too
        assert np.bincount(stored.predict(pd.read_csv(customers_csv))).max() <= hi
        # a retrain on more rows keeps the bounds (the share scales, the count stays)
        more = make_customers(1_000, random_state=4)
        info = store.retrain(more)
        again = store.load(info.version)
        assert again.params_["size_min"] == 0.24 and again.params_["size_max"] == 320
        assert again.sizes_.min() >= int(np.floor(0.24 * 1_000)) and again.sizes_.max() <= 320
        # ... unless overridden
        info = store.retrain(more, size_min=None, size_max=None)
        assert store.load(info.version).params_["size_min"] is None


def test_automatic_k_is_chosen_unbounded_then_fitted_within_the_bounds(customers_csv, tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    out = tmp_path / "labels.csv"
    payload = segment_json(customers_csv, db, out, "--max-size", "0.5", "--min-size", "0.1")
    k = payload["k"]
    sizes = pd.read_csv(out)["segment_id"].value_counts()
    assert len(sizes) == k
    assert sizes.min() >= int(0.1 * N_ROWS) and sizes.max() <= int(np.ceil(0.5 * N_ROWS))


def test_text_report_says_the_bounds(customers_csv, tmp_path):
    result = invoke(
        "segment", customers_csv, "--db", f"sqlite:///{tmp_path / 's.db'}", "--k", "3",
        "--min-size", "350", "--max-size", "450",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Size bounds: every segment holds at least 350 and at most 450 rows" in result.output


def test_html_report_says_the_bounds(customers_csv, tmp_path):
    report = tmp_path / "report.html"
    result = invoke(
        "segment", customers_csv, "--db", f"sqlite:///{tmp_path / 's.db'}", "--k", "3",
        "--min-size", "0.3", "--report", report,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    page = report.read_text(encoding="utf-8")
    assert "Segment sizes bounded" in page
    assert f"{int(np.floor(0.3 * N_ROWS)):,} to no maximum rows" in page
    plain = tmp_path / "plain.html"
    result = invoke(
        "segment", customers_csv, "--db", f"sqlite:///{tmp_path / 'p.db'}", "--k", "3",
        "--report", plain,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Segment sizes bounded" not in plain.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--k", "4", "--min-size", "400", "--max-size", "300"], "larger than --max-size"),
        (["--k", "4", "--min-size", "0.3", "--max-size", "0.2"], "larger than --max-size"),
        (["--k", "4", "--min-size", "301"], "--min-size 301 is infeasible for k=4"),
        (["--k", "4", "--max-size", "299"], "--max-size 299 is infeasible for k=4"),
        (["--k", "4", "--min-size", "-5"], "--min-size -5 must be"),
        (["--k", "4", "--max-size", "1.5"], "a share of the rows must be in (0, 1]"),
        (["--k", "4", "--max-size", "many"], "--max-size must be a number of rows"),
        (["--k", "4", "--min-size", "10", "--mixed"], "do not apply with --mixed"),
    ],
)
def test_bad_bounds_exit_2_with_one_line(customers_csv, tmp_path, args, message):
    result = invoke("segment", customers_csv, "--db", f"sqlite:///{tmp_path / 's.db'}", *args)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert message in result.output
    assert not (tmp_path / "s.db").exists() or "Traceback" not in result.output
