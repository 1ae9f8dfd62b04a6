"""centroids.evaluate.explain: effect sizes against slow references and peer tests."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.datasets import make_blobs
from sklearn.feature_selection import f_classif

from centroids.evaluate.explain import DESCRIBE_MIN_EFFECT, explain, split_columns


def reference_numeric_table(X, labels):
    """Cluster vs rest, one (cluster, feature) at a time, with numpy's own var/mean."""
    rows = {}
    for cluster in np.unique(labels):
        inside, outside = X[labels == cluster], X[labels != cluster]
        for j in range(X.shape[1]):
            a, b = inside[:, j], outside[:, j]
            pooled = np.sqrt(
                (
                    (a.size - 1) * a.var(ddof=1 if a.size > 1 else 0)
                    + (b.size - 1) * b.var(ddof=1 if b.size > 1 else 0)
                )
                / (a.size + b.size - 2)
            )
            rows[(cluster, j)] = {
                "size": a.size,
                "cluster_mean": a.mean(),
                "overall_mean": X[:, j].mean(),
                "difference": a.mean() - X[:, j].mean(),
                "rest_mean": b.mean(),
                "cluster_sd": a.std(ddof=1) if a.size > 1 else 0.0,
                "overall_sd": X[:, j].std(ddof=1),
                "pooled_sd": pooled,
                "std_difference": (a.mean() - b.mean()) / pooled,
            }
    return rows


def reference_eta_squared(x, labels):
    total = np.sum((x - x.mean()) ** 2)
    between = sum(
        np.sum(labels == c) * (x[labels == c].mean() - x.mean()) ** 2 for c in np.unique(labels)
    )
    return between / total


@pytest.fixture
def blobs_with_labels():
    X, labels = make_blobs(300, n_features=4, centers=3, random_state=7, cluster_std=2.0)
    return X, labels


def test_numeric_table_matches_reference(blobs_with_labels):
    X, labels = blobs_with_labels
    explanation = explain(X, labels)
    reference = reference_numeric_table(X, labels)
    for (cluster, j), expected in reference.items():
        row = explanation.table.loc[(cluster, f"x{j}")]
        for column, value in expected.items():
            assert row[column] == pytest.approx(value, rel=1e-9, abs=1e-12), (cluster, j, column)


def test_ranking_matches_f_classif_and_eta_squared(blobs_with_labels):
    X, labels = blobs_with_labels
    ranking = explain(X, labels).ranking
    f_values, p_values = f_classif(X, labels)
    for j in range(X.shape[1]):
        row = ranking.loc[f"x{j}"]
        assert row["kind"] == "numeric" and row["test"] == "anova"
        assert row["statistic"] == pytest.approx(f_values[j], rel=1e-9)
        assert row["p_value"] == pytest.approx(p_values[j], rel=1e-6, abs=1e-300)
        assert row["eta_squared"] == pytest.approx(reference_eta_squared(X[:, j], labels))
    association = ranking["association"].to_numpy()
    assert np.all(np.diff(association) <= 0), "ranking must be sorted, most telling first"


def test_describe_names_the_separating_feature_with_its_sign():
    rng = np.random.default_rng(0)
    n = 200
    labels = np.repeat([0, 1], n // 2)
    income = np.where(labels == 1, 90_000, 40_000) + rng.normal(0, 5_000, n)
    age = np.where(labels == 1, 35, 50) + rng.normal(0, 8, n)
    noise = rng.normal(0, 1, n)
    frame = pd.DataFrame({"income": income, "age": age, "noise": noise})
    explanation = explain(frame, labels)
    description = explanation.describe(1)
    parts = description.split(", ")
    assert parts[0].startswith("income high (+")
    assert parts[1].startswith("age low (-")
    assert "noise" not in description  # |d| far below DESCRIBE_MIN_EFFECT
    d_income = explanation.table.loc[(1, "income"), "std_difference"]
    assert f"(+{d_income:.1f} sd)" in parts[0]
    top = explanation.top_features(1, n=2)
    assert list(top.index) == ["income", "age"]
    assert top.loc["income", "difference"] == pytest.approx(
        income[labels == 1].mean() - income.mean()
    )
    assert explanation.ranking.index[0] == "income"
    assert "cluster 0 (100 rows, 50%): income low" in str(explanation)


def test_describe_says_when_nothing_stands_out():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    labels = np.tile([0, 1], 200)
    explanation = explain(X, labels)
    assert np.all(np.abs(explanation.table["std_difference"]) < DESCRIBE_MIN_EFFECT)
    assert explanation.describe(0).startswith("close to the average on every feature")
    assert explanation.describe(0, min_effect=0.0) != explanation.describe(0)


def test_constant_feature_gets_zero_effect_not_nan():
    X = np.column_stack([np.r_[np.zeros(5), np.ones(5) * 3.0], np.full(10, 0.1)])
    labels = np.repeat([0, 1], 5)
    explanation = explain(X, labels)
    constant = explanation.table.xs("x1", level="feature")
    assert np.all(constant["std_difference"] == 0.0)
    assert np.all(constant["difference"] == 0.0)
    assert np.all(constant["pooled_sd"] == 0.0)
    row = explanation.ranking.loc["x1"]
    assert (row["statistic"], row["p_value"], row["eta_squared"]) == (0.0, 1.0, 0.0)
    # x0 is constant inside each cluster but differs between them: perfectly separated.
    separated = explanation.table.loc[(1, "x0")]
    assert separated["pooled_sd"] == 0.0
    assert separated["std_difference"] == pytest.approx(3.0 / X[:, 0].std(ddof=1))
    assert explanation.ranking.loc["x0", "statistic"] == np.inf
    assert explanation.ranking.loc["x0", "eta_squared"] == 1.0
    assert not explanation.table.isna().any().any()


def test_categorical_columns_share_and_chi_square():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1, 2], 100)
    region = np.where(labels == 2, "north", rng.choice(["south", "east"], 300))
    region[rng.choice(np.flatnonzero(labels == 2), 10, replace=False)] = "east"
    frame = pd.DataFrame({"spend": rng.normal(size=300) + labels, "region": pd.Categorical(region)})
    explanation = explain(frame, labels)
    row = explanation.categories.loc[(2, "region")]
    assert row["category"] == "north" and row["top_category"] == "north"
    assert row["cluster_share"] == pytest.approx(0.9)
    assert row["overall_share"] == pytest.approx(np.mean(region == "north"))
    assert row["rest_share"] == 0.0
    expected_h = 2 * np.arcsin(np.sqrt(0.9)) - 2 * np.arcsin(0.0)
    assert row["std_difference"] == pytest.approx(expected_h)
    chi2, p_value, _, _ = stats.chi2_contingency(
        pd.crosstab(labels, region).to_numpy(), correction=False
    )
    ranking = explanation.ranking.loc["region"]
    assert ranking["kind"] == "categorical" and ranking["test"] == "chi-square"
    assert ranking["statistic"] == pytest.approx(chi2)
    assert ranking["p_value"] == pytest.approx(p_value, abs=1e-300)
    assert ranking["cramers_v"] == pytest.approx(np.sqrt(chi2 / (300 * 2)))
    assert explanation.describe(2).startswith("region mostly 'north' (90% vs 0% elsewhere)")
    top = explanation.top_features(2, n=1)
    assert top.loc["region", "kind"] == "categorical"
    assert top.loc["region", "category"] == "north"


def test_object_columns_of_numbers_are_numeric_and_strings_categorical():
    table = pd.DataFrame(
        {"n": ["1", "2", "3", "4"], "s": ["a", "b", "a", "b"], "flag": [True, False, True, True]}
    )
    split = split_columns(table)
    assert split.numeric_names == ["n", "flag"]
    assert list(split.categorical) == ["s"]
    np.testing.assert_array_equal(split.numeric[:, 0], [1, 2, 3, 4])
    np.testing.assert_array_equal(split.numeric[:, 1], [1, 0, 1, 1])


def test_feature_names_and_string_labels():
    X = np.array([[1.0, 10], [2, 11], [8, 30], [9, 31]])
    explanation = explain(X, ["low", "low", "high", "high"], feature_names=["a", "b"])
    assert explanation.clusters == ["high", "low"]
    assert set(explanation.table.index.get_level_values("feature")) == {"a", "b"}
    assert explanation.sizes.loc["high"] == 2
    assert explanation.table.loc[("high", "a"), "cluster_mean"] == 8.5


@pytest.mark.parametrize(
    ("X", "labels", "kwargs", "error", "match"),
    [
        (np.ones((4, 2)), [0, 1, 0], {}, ValueError, "one cluster per row"),
        (np.ones((4, 2)), [0, 0, 0, 0], {}, ValueError, "at least 2"),
        (np.ones((4, 2)), [0, 1, None, 1], {}, ValueError, "missing value .* at row 2"),
        (
            np.array([[1.0, 2], [np.nan, 3], [1, 2], [2, 2]]),
            [0, 1, 0, 1],
            {},
            ValueError,
            "column 'x0' .*row 1",
        ),
        (np.ones((4, 2)), [0, 1, 0, 1], {"feature_names": ["a"]}, ValueError, "1 name"),
        (np.ones((4, 2)), [0, 1, 0, 1], {"feature_names": ["a", "a"]}, ValueError, "unique"),
        (sp.csr_matrix(np.ones((4, 2))), [0, 1, 0, 1], {}, TypeError, "sparse"),
        (np.ones((0, 2)), [], {}, ValueError, "empty"),
    ],
)
def test_bad_input_is_named(X, labels, kwargs, error, match):
    with pytest.raises(error, match=match):
        explain(X, labels, **kwargs)


def test_date_columns_are_refused_with_advice():
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=4), "x": [1, 2, 3, 4]})
    with pytest.raises(TypeError, match=r"'when'.*days since"):
        explain(frame, [0, 1, 0, 1])


def test_unknown_cluster_and_bad_n(blobs_with_labels):
    explanation = explain(*blobs_with_labels)
    with pytest.raises(ValueError, match="cluster 9 is not one of"):
        explanation.describe(9)
    with pytest.raises(ValueError, match="positive integer"):
        explanation.top_features(0, n=0)


@settings(max_examples=25, deadline=None)
@given(
    n_rows=st.integers(6, 40),
    n_clusters=st.integers(2, 4),
    seed=st.integers(0, 2**16),
)
def test_random_tables_match_reference(n_rows, n_clusters, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 3)) * [1.0, 100.0, 0.01] + [0.0, 5e3, -2.0]
    labels = np.r_[np.arange(n_clusters), rng.integers(0, n_clusters, n_rows - n_clusters)]
    explanation = explain(X, labels)
    for (cluster, j), expected in reference_numeric_table(X, labels).items():
        row = explanation.table.loc[(cluster, f"x{j}")]
        assert row["std_difference"] == pytest.approx(expected["std_difference"], rel=1e-7)
        assert row["cluster_mean"] == pytest.approx(expected["cluster_mean"], rel=1e-12)
