"""centroids.evaluate.diagnose: each finding on data built to trigger it; clean data stays clean."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.datasets import make_blobs, make_circles, make_moons
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from centroids.evaluate.diagnose import (
    DUPLICATE_SHARE_WARNING,
    UNSCALED_VARIANCE_RATIO,
    Diagnosis,
    Finding,
    Severity,
    diagnose,
)
from centroids.models.kmeans import KMeans


def codes_at_least(diagnosis, severity):
    return {finding.code for finding in diagnosis if finding.severity >= severity}


@pytest.fixture(scope="module")
def four_blobs():
    X, _ = make_blobs(1200, n_features=4, centers=4, random_state=3)
    return X


# -- clean data --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_features", "centers", "seed"), [(2, 3, 0), (4, 4, 3), (10, 6, 1), (3, 5, 11)]
)
def test_clean_blobs_give_no_warning(n_features, centers, seed):
    X, _ = make_blobs(1500, n_features=n_features, centers=centers, random_state=seed)
    diagnosis = diagnose(X, n_clusters=centers, random_state=0)
    assert diagnosis.ok, str(diagnosis)
    assert codes_at_least(diagnosis, Severity.INFO) == set(), str(diagnosis)


def test_clean_blobs_choose_their_k_and_stay_clean(four_blobs):
    diagnosis = diagnose(four_blobs, random_state=0)
    assert diagnosis.n_clusters == 4
    assert diagnosis.ok and len(diagnosis) == 0, str(diagnosis)
    assert any("K=4 chosen by the best silhouette" in note for note in diagnosis.notes)
    assert "No problem found." in str(diagnosis)
    assert isinstance(diagnosis.model, KMeans)
    np.testing.assert_array_equal(diagnosis.labels, diagnosis.model.predict(four_blobs))


def test_same_seed_same_diagnosis():
    X, _ = make_moons(500, noise=0.08, random_state=0)
    first = diagnose(X, n_clusters=2, random_state=5).to_frame()
    second = diagnose(X, n_clusters=2, random_state=5).to_frame()
    pd.testing.assert_frame_equal(first, second)


# -- the table ---------------------------------------------------------------------------


def test_unscaled_features(four_blobs):
    X = four_blobs.copy()
    X[:, 2] *= 1000.0
    diagnosis = diagnose(X, n_clusters=4, random_state=0)
    finding = diagnosis.by_code["unscaled-features"]
    variances = X.var(axis=0)
    assert finding.severity is Severity.WARNING
    assert finding.details["largest"] == "x2"
    assert finding.details["variance_ratio"] == pytest.approx(variances.max() / variances.min())
    assert finding.details["variance_ratio"] > UNSCALED_VARIANCE_RATIO
    assert "StandardScaler" in finding.action
    assert not diagnosis.ok


def test_standardised_data_is_not_called_unscaled(four_blobs):
    X = (four_blobs - four_blobs.mean(axis=0)) / four_blobs.std(axis=0)
    assert "unscaled-features" not in diagnose(X, n_clusters=4, random_state=0).by_code


def test_constant_columns(four_blobs):
    X = np.column_stack([four_blobs, np.full(len(four_blobs), 3.5)])
    finding = diagnose(X, n_clusters=4, random_state=0).by_code["constant-columns"]
    assert finding.details["columns"] == ["x4"]
    assert finding.severity is Severity.WARNING


@pytest.mark.parametrize(("copies", "severity"), [(1.05, Severity.INFO), (3, Severity.WARNING)])
def test_duplicate_rows(four_blobs, copies, severity):
    rng = np.random.default_rng(0)
    n_extra = int(len(four_blobs) * (copies - 1))
    X = np.vstack([four_blobs, four_blobs[rng.integers(0, len(four_blobs), n_extra)]])
    expected = len(X) - len(np.unique(X, axis=0))
    finding = diagnose(X, n_clusters=4, random_state=0).by_code["duplicate-rows"]
    assert finding.details["duplicates"] == expected
    assert finding.severity is severity
    assert (finding.details["share"] >= DUPLICATE_SHARE_WARNING) == (severity is Severity.WARNING)


def test_one_dimensional_data_suggests_quantile_cuts():
    X = np.random.default_rng(0).gamma(2.0, size=(500, 1))
    finding = diagnose(X, n_clusters=3, random_state=0).by_code["one-dimensional"]
    assert finding.severity is Severity.INFO
    assert "qcut" in finding.action


def test_non_numeric_columns_and_the_numeric_part_still_examined(four_blobs):
    frame = pd.DataFrame(four_blobs, columns=["a", "b", "c", "d"])
    frame["c"] *= 1000.0
    rng = np.random.default_rng(0)
    frame["city"] = rng.choice(["Oslo", "Lima", "Pune"], len(frame))
    frame["customer_id"] = [f"id{i}" for i in range(len(frame))]
    diagnosis = diagnose(frame, n_clusters=4, random_state=0)
    finding = diagnosis.by_code["non-numeric-columns"]
    assert finding.details["columns"] == ["city", "customer_id"]
    assert finding.details["identifier_like"] == ["customer_id"]
    assert "k-prototypes" in finding.action and "OneHotEncoder" in finding.action
    assert diagnosis.by_code["unscaled-features"].details["largest"] == "c"
    assert diagnosis.n_features == 4


def test_date_columns(four_blobs):
    frame = pd.DataFrame(four_blobs, columns=list("abcd"))
    frame["signup"] = pd.date_range("2020-01-01", periods=len(frame), freq="h")
    finding = diagnose(frame, n_clusters=4, random_state=0).by_code["date-columns"]
    assert finding.details["columns"] == ["signup"]


def test_no_numeric_column_is_an_error():
    frame = pd.DataFrame({"city": ["a", "b", "c"], "name": ["x", "y", "z"]})
    diagnosis = diagnose(frame, random_state=0)
    assert diagnosis.findings[0].code == "no-numeric-columns"
    assert diagnosis.findings[0].severity is Severity.ERROR
    assert diagnosis.n_clusters is None


def test_missing_values_are_an_error_and_the_rest_is_examined(four_blobs):
    frame = pd.DataFrame(four_blobs, columns=list("abcd"))
    frame.loc[[5, 17, 40], "b"] = np.nan
    frame.loc[17, "d"] = np.inf
    frame["d"] = frame["d"] * 1000.0
    diagnosis = diagnose(frame, n_clusters=4, random_state=0)
    finding = diagnosis.findings[0]
    assert finding.code == "missing-values" and finding.severity is Severity.ERROR
    assert finding.details["rows"] == 3
    assert finding.details["first_row"] == 5
    assert finding.details["per_column"] == {"b": 3, "d": 1}
    assert diagnosis.n_samples == len(frame) - 3
    assert "unscaled-features" in diagnosis.by_code


def test_more_features_than_rows_is_an_error_few_rows_a_warning():
    rng = np.random.default_rng(0)
    wide = diagnose(rng.normal(size=(15, 20)), n_clusters=2, random_state=0)
    assert wide.by_code["too-many-dimensions"].severity is Severity.ERROR
    few = diagnose(rng.normal(size=(100, 20)), n_clusters=2, random_state=0)
    assert few.by_code["too-many-dimensions"].severity is Severity.WARNING


def test_concentrated_distances_in_high_dimensional_noise():
    X = np.random.default_rng(0).uniform(size=(800, 100))
    finding = diagnose(X, n_clusters=2, random_state=0).by_code["concentrated-distances"]
    assert finding.details["coefficient_of_variation"] < 0.1
    assert "PCA" in finding.action


# -- the clusters ------------------------------------------------------------------------


def test_outliers_that_pull_a_center(four_blobs):
    model = KMeans(4, random_state=0).fit(four_blobs)
    center = model.cluster_centers_[0]
    rng = np.random.default_rng(1)
    far_rows = center + np.array([14.0, 0, 0, 0]) + rng.normal(0, 0.3, (25, 4))
    X = np.vstack([four_blobs, far_rows])
    finding = diagnose(X, model, random_state=0).by_code["outliers"]
    assert finding.severity is Severity.WARNING
    assert finding.details["max_pull"] >= 0.1
    flagged = set(finding.details["outlier_rows"])
    assert set(range(len(four_blobs), len(X))) <= flagged
    assert len(flagged) <= 30


def test_outliers_with_a_center_of_their_own_are_tiny_clusters(four_blobs):
    X = np.vstack([four_blobs, four_blobs[:5] + 80.0])
    model = KMeans(5, random_state=0).fit(X)
    diagnosis = diagnose(X, model, random_state=0)
    tiny = diagnosis.by_code["tiny-clusters"]
    captured = diagnosis.by_code["outliers"].details["captured_clusters"]
    assert len(tiny.details["clusters"]) == 1
    assert captured == tiny.details["clusters"]
    assert tiny.details["sizes"][captured[0]] == 5


def test_empty_clusters_when_a_group_is_gone(four_blobs):
    X, groups = make_blobs(1200, n_features=4, centers=4, random_state=3)
    model = SklearnKMeans(4, n_init=3, random_state=0).fit(X)
    finding = diagnose(X[groups != 0], model, random_state=0).by_code["empty-clusters"]
    assert len(finding.details["clusters"]) == 1


def test_unbalanced_clusters_are_info():
    big, _ = make_blobs(3000, centers=[[0, 0]], random_state=1)
    small, _ = make_blobs(150, centers=[[9, 9]], random_state=2)
    diagnosis = diagnose(np.vstack([big, small]), n_clusters=2, random_state=0)
    finding = diagnosis.by_code["unbalanced-clusters"]
    assert finding.severity is Severity.INFO
    assert finding.details["size_ratio"] == pytest.approx(20.0)
    assert diagnosis.ok


def test_non_convex_clusters_suggest_a_density_method():
    X, _ = make_moons(800, noise=0.05, random_state=0)
    finding = diagnose(X, n_clusters=2, random_state=0).by_code["non-globular-clusters"]
    assert finding.severity is Severity.WARNING
    assert finding.details["dense_groups"] == 2
    assert "HDBSCAN" in finding.action


def test_rings_are_not_globular():
    X, _ = make_circles(800, noise=0.05, factor=0.5, random_state=0)
    assert "non-globular-clusters" in diagnose(X, n_clusters=2, random_state=0).by_code


def test_elongated_clusters_suggest_a_gaussian_mixture():
    X, _ = make_blobs(1500, centers=3, random_state=170)
    X = X @ np.array([[0.6, -0.6], [-0.4, 0.8]])
    finding = diagnose(X, n_clusters=3, random_state=0).by_code["non-globular-clusters"]
    assert "GaussianMixture" in finding.action
    assert finding.details["mixture_ari"] > finding.details["kmeans_ari"] + 0.2
    assert max(finding.details["elongation"].values()) > 4


def test_density_comparison_is_skipped_with_discrete_features(four_blobs):
    flag = (np.arange(len(four_blobs)) % 2).astype(float)
    X = np.column_stack([four_blobs, flag])
    diagnosis = diagnose(X, n_clusters=4, random_state=0)
    assert "merged-dense-groups" not in diagnosis.by_code
    assert any("density comparison" in note and "1 feature(s)" in note for note in diagnosis.notes)


def test_far_apart_elongated_clusters_are_info():
    rng = np.random.default_rng(0)
    stretch = np.array([8.0, 0.5, 0.5])
    X = np.vstack([rng.normal(size=(600, 3)) * stretch, rng.normal(size=(600, 3)) * stretch + 40])
    diagnosis = diagnose(X, n_clusters=2, random_state=0)
    finding = diagnosis.by_code["elongated-clusters"]
    assert finding.severity is Severity.INFO
    assert finding.details["elongated"] == [0, 1]
    assert all(
        ratio == pytest.approx(16, rel=0.2) for ratio in finding.details["elongation"].values()
    )
    assert diagnosis.ok


def test_separate_groups_in_one_cluster(four_blobs):
    finding = diagnose(four_blobs, n_clusters=3, random_state=0).by_code["merged-dense-groups"]
    assert finding.severity is Severity.INFO
    assert len(next(iter(finding.details["merged"].values()))) == 2


def test_not_converged_after_one_iteration(four_blobs):
    model = KMeans(4, init="random", n_init=1, max_iter=1, refine=False, random_state=1)
    model.fit(four_blobs)
    finding = diagnose(four_blobs, model, random_state=0).by_code["not-converged"]
    assert finding.details["max_iter"] == 1
    assert finding.details["center_shift"] > finding.details["tolerance"]
    converged = KMeans(4, random_state=1).fit(four_blobs)
    assert "not-converged" not in diagnose(four_blobs, converged, random_state=0).by_code


def test_unstable_labels_across_seeds():
    X = np.random.default_rng(0).normal(size=(1000, 5))
    finding = diagnose(X, n_clusters=6, random_state=0).by_code["unstable-across-seeds"]
    assert finding.details["min_ari"] < 0.9
    assert "n_init" in finding.action


# -- models given by the user --------------------------------------------------------------


def test_sklearn_model_on_a_dataframe_uses_its_columns(four_blobs):
    frame = pd.DataFrame(four_blobs, columns=list("abcd"))
    frame["note"] = "x"
    model = SklearnKMeans(4, n_init=3, random_state=0).fit(frame[["d", "b", "a", "c"]])
    diagnosis = diagnose(frame, model, random_state=0)
    assert codes_at_least(diagnosis, Severity.WARNING) == {"non-numeric-columns"}
    np.testing.assert_array_equal(diagnosis.labels, model.predict(frame[["d", "b", "a", "c"]]))
    assert diagnosis.model is model


def test_unfitted_or_mismatched_models_are_refused(four_blobs):
    with pytest.raises(ValueError, match="not fitted"):
        diagnose(four_blobs, KMeans(3))
    with pytest.raises(TypeError, match="fitted k-means estimator"):
        diagnose(four_blobs, object())
    model = KMeans(3, random_state=0).fit(four_blobs[:, :3])
    with pytest.raises(ValueError, match="3 features but X has 4"):
        diagnose(four_blobs, model)
    frame_model = KMeans(3, random_state=0).fit(pd.DataFrame(four_blobs, columns=list("abcd")))
    with pytest.raises(ValueError, match="'d'"):
        diagnose(pd.DataFrame(four_blobs[:, :3], columns=list("abc")), frame_model)
    with pytest.raises(ValueError, match="n_clusters must be a positive integer"):
        diagnose(four_blobs, n_clusters=0)
    pipeline = make_pipeline(StandardScaler(), SklearnKMeans(3, n_init=1)).fit(four_blobs)
    with pytest.raises(TypeError, match="final k-means step"):
        diagnose(four_blobs, pipeline)
    with pytest.raises(TypeError, match="dense table"):
        diagnose(sp.csr_matrix(four_blobs))


@pytest.mark.parametrize(
    ("X", "n_clusters"),
    [
        (np.array([[0.0, 1.0], [2.0, 0.5]]), None),
        (np.arange(10.0).reshape(5, 2), None),
        (np.ones((30, 3)), None),
        (np.r_[np.ones((40, 2)), np.zeros((40, 2))], 2),
    ],
)
def test_tiny_or_degenerate_inputs_are_diagnosed_without_crashing(X, n_clusters):
    diagnosis = diagnose(X, random_state=0)
    assert diagnosis.n_samples == len(X)
    if n_clusters is not None:
        assert diagnosis.n_clusters == n_clusters
        assert diagnosis.by_code["duplicate-rows"].details["distinct_rows"] == 2


# -- the result ----------------------------------------------------------------------------


def test_diagnosis_orders_reports_and_tabulates(four_blobs):
    X = np.column_stack([four_blobs * [1, 1, 1, 1000], np.zeros(len(four_blobs))])
    X[3, 0] = np.nan
    diagnosis = diagnose(X, n_clusters=4, random_state=0)
    severities = [int(finding.severity) for finding in diagnosis]
    assert severities == sorted(severities, reverse=True)
    assert diagnosis.findings[0].severity is Severity.ERROR
    assert not diagnosis.ok
    frame = diagnosis.to_frame()
    assert list(frame.columns) == [
        "code",
        "severity",
        "title",
        "observed",
        "why",
        "action",
        "details",
    ]
    assert frame["code"].tolist() == diagnosis.codes
    assert set(frame["severity"]) <= {"error", "warning", "info"}
    text = str(diagnosis)
    for finding in diagnosis:
        assert f"({finding.code})" in text
        assert finding.title in text
    assert text.startswith(f"Diagnosis of {len(X) - 1:,} rows x 5 numeric features, 4 clusters")


def test_finding_and_severity_basics():
    finding = Finding("x", Severity.WARNING, "Title", "seen", "why", "do", {"a": 1})
    assert str(Severity.WARNING) == "warning"
    assert Severity.ERROR > Severity.WARNING > Severity.INFO
    assert str(finding).splitlines()[0] == "[WARNING] Title (x)"
    info_only = Diagnosis((Finding("y", Severity.INFO, "t", "s", "w", "a"),), 10, 2)
    assert info_only.ok and info_only.by_code["y"].title == "t"
