"""choose_k: known K on blobs, no structure on noise, iris, the table, reproducibility, input."""

import importlib
import os

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn import metrics as sklearn_metrics
from sklearn.datasets import load_iris, make_blobs
from sklearn.preprocessing import StandardScaler

from centroids import KMeans
from centroids.evaluate.choose_k import TABLE_COLUMNS, ChooseKResult, choose_k
from centroids.evaluate.gap import tibshirani_k
from centroids.evaluate.knee import find_knee
from centroids.evaluate.metrics import silhouette_estimate, silhouette_score

COLUMNS = [
    "inertia",
    "silhouette",
    "davies_bouldin",
    "calinski_harabasz",
    "gap",
    "gap_se",
    "stability",
    "separation",
]


@pytest.fixture(scope="module")
def four_blobs():
    X, _ = make_blobs(
        600, centers=[[0, 0], [9, 1], [1, 8], [8, 9]], cluster_std=1.0, random_state=5
    )
    return X, choose_k(X, range(2, 9), random_state=0)


@pytest.fixture(scope="module")
def iris_result():
    X = StandardScaler().fit_transform(load_iris().data)
    return X, choose_k(X, range(2, 9), random_state=0)


def test_table_has_the_promised_shape(four_blobs):
    _, result = four_blobs
    assert isinstance(result, ChooseKResult)
    assert list(result.table.columns) == COLUMNS == list(TABLE_COLUMNS)
    assert list(result.table.index) == list(range(2, 9))
    assert result.table.index.name == "k"
    assert result.table.notna().all().all()
    assert set(result.models) == set(range(2, 9))


def test_finds_four_blobs_with_every_criterion_agreeing(four_blobs):
    _, result = four_blobs
    assert result.k == 4
    assert result.has_structure
    assert result.elbow == 4
    assert result.votes["silhouette"] == 4
    assert result.reason.startswith("k=4: silhouette peaks at")
    assert "\n" not in result.reason and "\n" not in result.verdict
    assert result.verdict.startswith("cluster structure found")
    assert result.table.at[4, "stability"] > 0.99


def test_table_agrees_with_scikit_learn_on_the_same_labels(four_blobs):
    X, result = four_blobs
    for k in result.table.index:
        labels = result.models[k].labels_
        row = result.table.loc[k]
        assert row["inertia"] == pytest.approx(result.models[k].inertia_)
        assert row["silhouette"] == pytest.approx(
            sklearn_metrics.silhouette_score(X, labels), abs=1e-9
        )
        assert row["davies_bouldin"] == pytest.approx(
            sklearn_metrics.davies_bouldin_score(X, labels), rel=1e-9
        )
        assert row["calinski_harabasz"] == pytest.approx(
            sklearn_metrics.calinski_harabasz_score(X, labels), rel=1e-9
        )
        assert -1.0 <= row["stability"] <= 1.0


def test_votes_are_what_each_criterion_picks_alone(four_blobs):
    _, result = four_blobs
    table = result.table
    assert result.votes["silhouette"] == table["silhouette"].idxmax()
    assert result.votes["calinski_harabasz"] == table["calinski_harabasz"].idxmax()
    assert result.votes["davies_bouldin"] == table["davies_bouldin"].idxmin()
    assert result.votes["elbow"] == find_knee(table.index.to_numpy(), table["inertia"])
    # The gap rule runs over k = 1 and the range, from the references' dispersions.
    refs = result.references
    assert list(refs.index) == [1, *range(2, 9)]
    gap = refs["reference_log_w"] - refs["log_w"]
    np.testing.assert_allclose(table["gap"], gap.loc[2:])
    gap_se = pd.concat([pd.Series([np.nan], index=[1]), table["gap_se"]])
    assert result.gap_k == tibshirani_k(refs.index, gap, gap_se.fillna(0.0))


def test_six_blobs_in_five_dimensions():
    X, _ = make_blobs(900, n_features=5, centers=6, cluster_std=1.0, random_state=11)
    result = choose_k(X, range(2, 11), random_state=1)
    assert result.k == 6
    assert result.has_structure


def test_triangle_of_blobs_where_the_gap_rule_stops_at_one():
    # Three blobs in a triangle: splitting them in two gains little over uniform data,
    # so Tibshirani's rule stops at k = 1. The silhouette, far above the reference
    # sets', still says there is structure, and the vote finds 3.
    X, _ = make_blobs(240, centers=[[0, 0], [6, 0], [3, 5]], cluster_std=0.6, random_state=2)
    result = choose_k(X, range(2, 8), random_state=0)
    assert result.gap_k == 1
    assert result.has_structure
    assert result.k == 3
    assert "silhouette" in result.verdict
    assert "gap rule picks 1" in result.reason


@pytest.mark.parametrize(
    ("X", "seed"),
    [
        (np.random.default_rng(0).uniform(size=(1000, 2)), 0),
        # Here the gap rule alone picks k=2; the silhouette does not back it.
        (np.random.default_rng(1).uniform(size=(1000, 2)), 1),
        (np.random.default_rng(1).uniform(size=(1000, 10)), 0),
        (np.random.default_rng(2).normal(size=(1000, 2)), 0),
        (np.random.default_rng(3).normal(size=(1000, 5)) * [1, 2, 3, 1, 1], 0),
    ],
    ids=["uniform-2d", "uniform-2d-gap-picks-2", "uniform-10d", "gaussian-2d", "gaussian-5d"],
)
def test_no_cluster_structure(X, seed):
    result = choose_k(X, range(2, 9), random_state=seed)
    assert not result.has_structure
    assert result.k is None
    assert result.verdict.startswith("no cluster structure: the best silhouette")
    assert result.reason.startswith("no k recommended")
    # Every criterion still names some k: that is why the verdict needs references.
    assert result.votes["silhouette"] is not None
    excess = result.table["silhouette"] - result.references["reference_silhouette"].loc[2:]
    assert excess.max() <= 0.05
    if seed == 1:
        assert result.gap_k == 2
        assert "not backed by the silhouette" in result.verdict
    # On uniform 2-D noise the silhouette is far from 0 at every k.
    if X.shape[1] == 2 and X.min() >= 0:
        assert result.table["silhouette"].min() > 0.3


def test_iris_gives_two_or_three_and_says_why(iris_result):
    _, result = iris_result
    assert result.has_structure
    assert result.k in (2, 3)
    assert result.reason.startswith(f"k={result.k}: ")
    assert "silhouette" in result.reason and "gap rule" in result.reason


def test_same_seed_same_table_other_seed_other_references(iris_result):
    X, result = iris_result
    again = choose_k(X, range(2, 9), random_state=0)
    pd.testing.assert_frame_equal(result.table, again.table)
    assert (again.k, again.reason, again.verdict) == (result.k, result.reason, result.verdict)
    other = choose_k(X, range(2, 9), random_state=1)
    assert not np.array_equal(other.table["gap"], result.table["gap"])


def test_same_result_on_one_thread_and_on_several(iris_result):
    X, result = iris_result
    serial = choose_k(X, range(2, 9), random_state=0, n_jobs=1)
    threaded = choose_k(X, range(2, 9), random_state=0, n_jobs=3)
    pd.testing.assert_frame_equal(serial.table, result.table)
    pd.testing.assert_frame_equal(threaded.table, result.table)
    assert serial.reason == threaded.reason == result.reason


def test_summary_shows_table_reason_and_verdict(four_blobs):
    _, result = four_blobs
    text = result.summary()
    assert str(result) == text
    lines = text.splitlines()
    assert lines[-2] == result.reason
    assert lines[-1] == result.verdict
    assert any(line.startswith("4*") for line in lines)
    for column in ("silhouette", "gap_se", "stability", "votes"):
        assert column in lines[0]


def test_k_range_with_one_and_options():
    X, _ = make_blobs(300, centers=[[0, 0], [6, 0], [3, 6]], cluster_std=0.5, random_state=4)
    calls = []
    result = choose_k(
        X,
        [1, 2, 3, 4, 5],
        n_references=3,
        n_stability=0,
        keep_models="recommended",
        random_state=0,
        progress=lambda *args: calls.append(args),
    )
    assert result.k == 3
    row = result.table.loc[1]
    assert row["inertia"] == pytest.approx(((X - X.mean(axis=0)) ** 2).sum())
    assert np.isnan(row["silhouette"]) and not np.isnan(row["gap"])
    assert result.table["stability"].isna().all()
    assert set(result.models) == {3}
    # One step per fit: 4 fits of X, 3 references × 5 k (k = 1 without a fit).
    total = 4 + 3 * 5
    assert [c[0] for c in calls] == list(range(1, total + 1))
    assert {c[1] for c in calls} == {total}


def test_verbose_prints_progress_on_stderr(capsys):
    X, _ = make_blobs(200, centers=2, random_state=0)
    choose_k(X, [2, 3], n_references=2, n_stability=1, random_state=0, verbose=True)
    err = capsys.readouterr().err
    assert err.count("choose_k [") == 2 + 2 * 3 + 2 * 2
    assert "reference set 2/2" in err


def test_float32_and_dataframe_input():
    X, _ = make_blobs(300, centers=[[0, 0], [6, 0], [3, 6]], cluster_std=0.5, random_state=4)
    result32 = choose_k(X.astype(np.float32), range(2, 6), n_references=3, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b"])
    result_df = choose_k(frame, range(2, 6), n_references=3, random_state=0)
    assert result32.k == result_df.k == 3
    assert result32.models[3].cluster_centers_.dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k_range": []}, ValueError, "k_range is empty"),
        ({"k_range": range(0, 4)}, ValueError, "k=0, outside 1..n_samples=50"),
        ({"k_range": [2, 51]}, ValueError, "k=51, outside 1..n_samples=50"),
        ({"k_range": [-3, 2]}, ValueError, "k=-3"),
        ({"k_range": [1]}, ValueError, "only k=1"),
        ({"k_range": ["2"]}, TypeError, "integers"),
        ({"n_references": 1}, ValueError, "n_references must be at least 2"),
        ({"reference": "sphere"}, ValueError, "'box' or 'pca'"),
        ({"n_stability": -1}, ValueError, "n_stability must be at least 0"),
        ({"keep_models": "none"}, ValueError, "keep_models"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be at least 1"),
        ({"kmeans_params": {"n_clusters": 3}}, ValueError, "must not set 'n_clusters'"),
        ({"kmeans_params": {"random_state": 3}}, ValueError, "must not set 'random_state'"),
        ({"kmeans_params": {"max_iter": 0}}, ValueError, "max_iter"),
        ({"progress": 5}, TypeError, "progress must be a callable"),
        ({"kmeans_params": {"n_clusterz": 3}}, TypeError, "kmeans_params holds a name"),
    ],
)
def test_bad_arguments_are_explained(kwargs, error, match):
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(error, match=match):
        choose_k(X, **{"k_range": [2, 3], **kwargs})


def test_large_data_gets_an_estimated_silhouette_close_to_the_exact_one():
    # Above 10,000 rows the silhouette is estimated from 4,000 rows against all rows.
    X, _ = make_blobs(12_000, centers=[[0, 0], [9, 0], [4, 8]], cluster_std=1.5, random_state=8)
    result = choose_k(X, [2, 3, 4], n_references=2, n_stability=1, random_state=0)
    assert result.k == 3
    for k in (2, 3, 4):
        exact = silhouette_score(X, result.models[k].labels_)
        estimated = result.table.at[k, "silhouette"]
        assert estimated != exact
        assert estimated == pytest.approx(exact, abs=0.02)


def test_stability_needs_k_rows_in_each_half():
    X, _ = make_blobs(12, centers=[[0, 0], [9, 9]], cluster_std=0.3, random_state=0)
    result = choose_k(X, [2, 5, 7], n_references=2, n_stability=1, random_state=0)
    assert result.table["stability"].notna().tolist() == [True, True, False]
    assert result.k == 2


def test_stability_of_large_data_splits_a_sample(monkeypatch, four_blobs):
    """Above STABILITY_MAX_ROWS rows every split is of a sample of that many rows: the
    halves then hold cap // 2 rows (so a k above that gets no figure), the well-separated
    blobs still agree perfectly, and the other columns do not change."""
    choose_k_module = importlib.import_module("centroids.evaluate.choose_k")
    X, full = four_blobs
    seen_rows = []
    original_fit = KMeans.fit

    def recording_fit(self, X, *args, **kwargs):
        seen_rows.append(X.shape[0])
        return original_fit(self, X, *args, **kwargs)

    monkeypatch.setattr(choose_k_module, "STABILITY_MAX_ROWS", 14)
    monkeypatch.setattr(KMeans, "fit", recording_fit)
    sampled = choose_k(X, range(2, 9), random_state=0, n_jobs=1)
    stability = sampled.table["stability"]
    assert stability.notna().tolist() == [True] * 6 + [False]  # k = 8 > 14 // 2
    assert 7 in seen_rows and X.shape[0] // 2 not in seen_rows
    other = [c for c in TABLE_COLUMNS if c != "stability"]
    pd.testing.assert_frame_equal(sampled.table[other], full.table[other])

    monkeypatch.setattr(choose_k_module, "STABILITY_MAX_ROWS", 100)
    assert choose_k(X, [4], random_state=0).table.at[4, "stability"] == pytest.approx(1.0)

    # At or above the row count the splits are those of every row, as before the cap.
    monkeypatch.setattr(choose_k_module, "STABILITY_MAX_ROWS", X.shape[0])
    pd.testing.assert_frame_equal(choose_k(X, range(2, 9), random_state=0).table, full.table)


def test_bad_data_is_explained():
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(TypeError, match="needs dense X"):
        choose_k(sp.csr_matrix(X), [2, 3])
    bad = X.copy()
    bad[7, 0] = np.inf
    with pytest.raises(ValueError, match=r"infinity|NaN"):
        choose_k(bad, [2, 3])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_large_data_silhouette_against_cluster_samples_stays_close_to_the_exact_one(seed):
    # Above SILHOUETTE_REFERENCE_ROWS each sampled row is compared with a sample of every
    # cluster (its small clusters kept whole), not with all rows: generated blobs of
    # uneven sizes and spreads, the estimate within 0.01 of the exact silhouette.
    module = importlib.import_module("centroids.evaluate.choose_k")

    rng = np.random.default_rng(seed)
    sizes = [14_000, 9_000, 2_500, 400, 100]
    X, _ = make_blobs(
        sizes, n_features=4, centers=rng.uniform(-8, 8, (5, 4)),
        cluster_std=rng.uniform(0.5, 2.0, 5), random_state=seed,
    )  # fmt: skip
    assert X.shape[0] > module.SILHOUETTE_REFERENCE_ROWS
    labels = KMeans(4, random_state=seed).fit(X).labels_
    estimate = module._estimated_silhouette(X, labels, 4_000, seed)
    assert estimate == pytest.approx(silhouette_score(X, labels), abs=0.01)
    # the same 4,000 rows against every row: the cluster samples add little error
    against_all = float(silhouette_estimate(X, labels, 4_000, random_state=seed))
    assert estimate != against_all
    assert estimate == pytest.approx(against_all, abs=0.005)


@pytest.mark.parametrize("seed", [0, 1])
def test_smaller_reference_sets_give_the_gap_of_full_size_ones(seed, monkeypatch):
    # Above GAP_REFERENCE_MAX_ROWS the reference sets are that size and their log W is
    # shifted by log(n / rows): the gap and Tibshirani's pick stay those of full-size sets.
    module = importlib.import_module("centroids.evaluate.choose_k")
    rng = np.random.default_rng(seed)
    X, _ = make_blobs(
        16_000, n_features=3, centers=rng.uniform(-10, 10, (4, 3)), cluster_std=1.0,
        random_state=seed,
    )  # fmt: skip
    options = {"n_references": 3, "n_stability": 0, "random_state": seed}
    full = choose_k(X, range(2, 7), **options)
    monkeypatch.setattr(module, "GAP_REFERENCE_MAX_ROWS", 4_000)
    small = choose_k(X, range(2, 7), **options)
    assert small.gap_k == full.gap_k == 4
    assert not np.allclose(small.table["gap"], full.table["gap"], atol=1e-9, rtol=0)
    np.testing.assert_allclose(small.table["gap"], full.table["gap"], atol=0.03)


def separated_blobs(k, n, d, separation, seed):
    """Blobs of uneven sizes and spreads whose closest pair is ``separation`` times the
    sum of the two spreads apart (every other pair further): the truth is k, clearly."""
    rng = np.random.default_rng(seed)
    spreads = rng.uniform(0.5, 1.5, size=k)
    weights = np.maximum(rng.dirichlet(np.full(k, 3.0)), 0.25 / k)
    sizes = np.floor(weights / weights.sum() * n).astype(int)
    sizes[np.argmax(sizes)] += n - sizes.sum()
    centers = rng.uniform(-1.0, 1.0, size=(k, d))
    gaps = np.sqrt(((centers[:, None] - centers[None]) ** 2).sum(axis=2))
    ratio = gaps / (spreads[:, None] + spreads[None]) + np.diag(np.full(k, np.inf))
    centers *= separation / ratio.min()
    labels = np.repeat(np.arange(k), sizes)
    X = centers[labels] + rng.normal(size=(n, d)) * spreads[labels, None]
    X = X[rng.permutation(n)]
    return (X - X.mean(axis=0)) / X.std(axis=0)


#: (true K, rows, features, separation of the closest pair, seed): K from 2 to 12, 2 to 16
#: features; in 2-d the random centers leave some pairs far closer than the rest (where
#: the silhouette and Davies-Bouldin prefer merging them).
FAMILY = [
    (2, 3_000, 2, 3.0, 0),
    (3, 4_000, 16, 3.2, 1),
    (4, 3_000, 9, 3.1, 0),
    (5, 5_000, 5, 3.0, 2),
    (7, 6_000, 3, 4.0, 3),
    (9, 6_000, 12, 3.2, 4),
    (10, 8_000, 2, 4.0, 5),
    (12, 8_000, 8, 3.3, 6),
]


@pytest.mark.parametrize(("k", "n", "d", "separation", "seed"), FAMILY)
def test_generated_family_gets_the_true_k(k, n, d, separation, seed):
    X = separated_blobs(k, n, d, separation, seed)
    result = choose_k(X, range(2, 13), n_stability=0, random_state=seed)
    assert result.has_structure
    assert result.k == k, result.summary()
    assert result.votes["separation"] == k
    # K + 1 cuts a blob in two: its worst pair is far closer than K's.
    if k < 12:
        assert result.table.at[k + 1, "separation"] < 2.0 < result.table.at[k, "separation"]


@pytest.mark.parametrize(
    ("shape", "n", "d", "seed"),
    [("box", 5_000, 6, 0), ("ball", 4_000, 12, 1), ("gaussian", 5_000, 3, 2)],
)
def test_generated_structureless_data_get_no_k(shape, n, d, seed):
    rng = np.random.default_rng(seed)
    if shape == "box":
        X = rng.uniform(size=(n, d))
    else:
        X = rng.normal(size=(n, d))
        if shape == "ball":
            X /= np.linalg.norm(X, axis=1, keepdims=True)
            X *= rng.uniform(size=(n, 1)) ** (1.0 / d)
    result = choose_k(X, range(2, 13), n_stability=0, random_state=seed)
    assert result.k is None and not result.has_structure, result.summary()
    assert result.votes["separation"] is None
    assert result.table["separation"].max() < 2.0


def test_a_local_optimum_at_the_true_k_is_mended_from_the_neighbours():
    # One fit per K: on these 12 blobs the default fit at K = 12 of some seeds holds two
    # blobs under one center and cuts another in two; the split of K = 11's fit mends it.
    X = separated_blobs(12, 6_000, 13, 3.3, 11)
    inertias = [KMeans(12, random_state=seed).fit(X).inertia_ for seed in range(6)]
    result = choose_k(X, range(10, 13), n_references=2, n_stability=0, random_state=0)
    assert result.table.at[12, "inertia"] <= min(inertias) * (1 + 1e-9)
    assert result.k == 12


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("CENTROIDS_SLOW_TESTS"), reason="set CENTROIDS_SLOW_TESTS=1 to run"
)
def test_large_generated_blobs_get_the_true_k():
    X = separated_blobs(6, 300_000, 8, 3.0, 7)
    result = choose_k(X, range(2, 13), random_state=0)
    assert result.k == 6, result.summary()


def test_discrete_columns_are_found_on_the_sampled_rows():
    from centroids.evaluate.separation import has_discrete_columns

    rng = np.random.default_rng(3)
    X = rng.normal(size=(5_000, 4))
    assert not has_discrete_columns(X, 16, 1_000, np.random.RandomState(0))
    coded = np.column_stack([X, rng.integers(0, 3, size=5_000)])  # a coded column
    assert has_discrete_columns(coded, 16, 1_000, np.random.RandomState(0))
    # Fewer rows than the threshold say nothing: every column has few values there.
    assert not has_discrete_columns(X[:10], 16, 1_000, np.random.RandomState(0))


def test_with_discrete_columns_the_separation_only_votes():
    # The customer table's case: the other criteria agree on 5, the separation says 7.
    ks = range(2, 9)
    table = pd.DataFrame(
        {
            "inertia": [100.0, 60, 35, 20, 12, 9, 8],
            "silhouette": [0.3, 0.4, 0.5, 0.7, 0.6, 0.55, 0.5],
            "davies_bouldin": [1.2, 1.0, 0.9, 0.5, 0.7, 0.8, 0.9],
            "calinski_harabasz": [100.0, 150, 200, 400, 300, 250, 200],
            "gap": [0.1, 0.2, 0.3, 0.6, 0.5, 0.5, 0.5],
            "gap_se": [0.01] * 7,
            "stability": [np.nan] * 7,
            "separation": [3.0, 2.8, 2.9, 3.1, 2.7, 2.6, 1.2],
        },
        index=pd.Index(ks, name="k"),
    )
    references = pd.DataFrame({"reference_silhouette": [0.3] * 7}, index=table.index)
    decide = importlib.import_module("centroids.evaluate.choose_k")._decide
    assert decide(table, references, 5, separation_decides=False).k == 5
    assert decide(table, references, 5, separation_decides=True).k == 7
