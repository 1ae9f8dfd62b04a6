"""sample_weight everywhere: weight 2 = the row repeated twice, weight 0 = the row absent.

Each estimator and metric is checked by that equivalence on generated data; behaviours
scikit-learn users rely on (a row of weight 0 never becomes or moves a center, k-means++
draws ∝ weight × distance², the duplicate-rows warning, MiniBatchKMeans' init_size) too.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from centroids import KMeans, MiniBatchKMeans, kmeans_plusplus
from centroids.evaluate.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_samples,
    silhouette_score,
)


def weighted_and_repeated(seed=0, n=120, n_features=3):
    """X with weights (2 on the first 20 rows, 0 on the last 10) and the same data as
    repetitions: the first 20 rows twice, the last 10 absent."""
    X, y = make_blobs(n, n_features=n_features, centers=3, random_state=seed)
    weights = np.ones(n)
    weights[:20] = 2.0
    weights[-10:] = 0.0
    repeated = np.vstack([X[:-10], X[:20]])
    labels_repeated = np.r_[y[:-10], y[:20]]
    return X, y, weights, repeated, labels_repeated


# -- metrics ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "precomputed"])
def test_weighted_silhouette_equals_repetition(seed, metric):
    from scipy.spatial.distance import cdist

    X, y, weights, repeated, y_repeated = weighted_and_repeated(seed)
    kind = "cityblock" if metric == "manhattan" else "euclidean"
    data = (lambda A: cdist(A, A, kind)) if metric == "precomputed" else (lambda A: A)
    ours = silhouette_samples(data(X), y, metric=metric, sample_weight=weights)
    reference = silhouette_samples(data(repeated), y_repeated, metric=metric)
    np.testing.assert_allclose(ours[:-10], reference[:-20], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        silhouette_score(data(X), y, metric=metric, sample_weight=weights),
        silhouette_score(data(repeated), y_repeated, metric=metric),
        rtol=1e-9,
    )


def test_unit_weights_give_the_unweighted_silhouette():
    X, y, _, _, _ = weighted_and_repeated(4)
    np.testing.assert_allclose(
        silhouette_samples(X, y, sample_weight=np.ones(len(y))), silhouette_samples(X, y)
    )


@pytest.mark.parametrize("seed", range(3))
def test_weighted_davies_bouldin_and_calinski_harabasz_equal_repetition(seed):
    X, y, weights, repeated, y_repeated = weighted_and_repeated(seed)
    assert davies_bouldin_score(X, y, sample_weight=weights) == pytest.approx(
        davies_bouldin_score(repeated, y_repeated), rel=1e-10
    )
    assert calinski_harabasz_score(X, y, sample_weight=weights) == pytest.approx(
        calinski_harabasz_score(repeated, y_repeated), rel=1e-10
    )
    # A cluster whose rows all weigh 0 is as if absent.
    three = np.where(np.arange(len(y)) < 60, y, 3)
    only_first = np.where(np.arange(len(y)) < 60, 1.0, 0.0)
    assert calinski_harabasz_score(X, three, sample_weight=only_first) == pytest.approx(
        calinski_harabasz_score(X[:60], y[:60])
    )
    with pytest.raises(ValueError, match="at least 2 clusters with a positive sample_weight"):
        davies_bouldin_score(X, y, sample_weight=(y == 0).astype(float))


# -- estimators ---------------------------------------------------------------------------


def test_kmeans_weight_two_equals_repetition_from_the_same_start():
    X, _, weights, repeated, _ = weighted_and_repeated(5)
    init = X[[0, 50, 100]]
    weighted = KMeans(3, init=init).fit(X, sample_weight=weights)
    twice = KMeans(3, init=init).fit(repeated)
    np.testing.assert_allclose(weighted.cluster_centers_, twice.cluster_centers_, rtol=1e-12)
    assert weighted.inertia_ == pytest.approx(twice.inertia_, rel=1e-12)


def test_minibatch_partial_fit_weight_two_equals_repetition():
    X, _, weights, repeated, _ = weighted_and_repeated(6)
    init = X[[0, 50, 100]]
    weighted = MiniBatchKMeans(3, init=init, n_init=1).partial_fit(X, sample_weight=weights)
    twice = MiniBatchKMeans(3, init=init, n_init=1).partial_fit(repeated)
    np.testing.assert_allclose(weighted.cluster_centers_, twice.cluster_centers_, rtol=1e-10)


def test_fit_stream_weight_two_equals_repetition():
    from centroids.stream import fit_stream

    X, _, weights, repeated, _ = weighted_and_repeated(7, n=400)
    init = X[[0, 150, 300]]
    # One batch holding every row: the step does not depend on the shuffled order.
    options = {"init": init, "n_init": 1, "batch_size": 4096, "random_state": 0}
    weighted = fit_stream([(X, weights)], 3, **options)
    twice = fit_stream([repeated], 3, **options)
    np.testing.assert_allclose(weighted.cluster_centers_, twice.cluster_centers_, rtol=1e-9)


def test_spherical_weight_two_equals_repetition():
    from centroids import SphericalKMeans

    X, _, weights, repeated, _ = weighted_and_repeated(8)
    X = X + 10.0  # directions that differ
    repeated = repeated + 10.0
    init = X[[0, 50, 100]]
    weighted = SphericalKMeans(3, init=init).fit(X, sample_weight=weights)
    twice = SphericalKMeans(3, init=init).fit(repeated)
    np.testing.assert_allclose(weighted.cluster_centers_, twice.cluster_centers_, rtol=1e-10)


def test_kprototypes_weight_two_equals_repetition():
    from centroids import KPrototypes

    rng = np.random.default_rng(9)
    frame = pd.DataFrame(
        {
            "x": np.r_[rng.normal(0, 1, 60), rng.normal(6, 1, 60)],
            "kind": rng.choice(["a", "b", "c"], 120),
        }
    )
    weights = np.ones(120)
    weights[:20] = 2.0
    weights[-10:] = 0.0
    repeated = pd.concat([frame.iloc[:-10], frame.iloc[:20]], ignore_index=True)
    options = {"n_clusters": 2, "init": "random", "n_init": 1, "random_state": 0}
    weighted = KPrototypes(**options, categorical=["kind"]).fit(frame, sample_weight=weights)
    twice = KPrototypes(**options, categorical=["kind"]).fit(repeated)
    assert weighted.cost_ == pytest.approx(twice.cost_, rel=0.02)
    ours = np.sort(weighted.cluster_centers_["x"].to_numpy())
    np.testing.assert_allclose(ours, np.sort(twice.cluster_centers_["x"].to_numpy()), atol=0.1)


# -- weight 0, seeding, warnings ----------------------------------------------------------


@pytest.mark.parametrize("init", ["k-means++", "random", "k-means||", "afk-mc2"])
@pytest.mark.parametrize("estimator", [KMeans, MiniBatchKMeans])
def test_rows_of_weight_zero_never_become_or_move_centers(estimator, init):
    X, _ = make_blobs(300, n_features=2, centers=3, random_state=10)
    outliers = np.full((30, 2), 1e4)
    both = np.vstack([X, outliers])
    weights = np.r_[np.ones(300), np.zeros(30)]
    for seed in range(3):
        model = estimator(3, init=init, random_state=seed).fit(both, sample_weight=weights)
        # Far outliers of weight 0 neither seed a center nor pull one.
        assert np.abs(model.cluster_centers_).max() < 100
        alone = estimator(3, init=init, random_state=seed).fit(X)
        assert model.score(X) >= alone.score(X) * 1.05 - 1e-9 or np.allclose(
            np.sort(model.cluster_centers_, axis=0), np.sort(alone.cluster_centers_, axis=0)
        )


def test_kmeans_plusplus_draws_in_proportion_to_weight_times_squared_distance():
    """On 1-D points 0, 1, 3 with weights 1, 2, 1 and the first center drawn at 0... the
    second draw picks row i with probability w_i d_i² / Σ: 0, 2/(2+9), 9/11."""
    X = np.array([[0.0], [1.0], [3.0]])
    weights = np.array([1.0, 2.0, 1.0])
    counts = np.zeros(3)
    firsts = np.zeros(3)
    for seed in range(3000):
        _, indices = kmeans_plusplus(
            X, 2, sample_weight=weights, random_state=seed, n_local_trials=1
        )
        firsts[indices[0]] += 1
        if indices[0] == 0:
            counts[indices[1]] += 1
    # The first center ∝ weight: 1/4, 1/2, 1/4 (binomial sd about 0.008).
    np.testing.assert_allclose(firsts / firsts.sum(), [0.25, 0.5, 0.25], atol=0.04)
    # The second, after row 0: ∝ w d² = 0, 2, 9.
    share = counts / counts.sum()
    assert share[0] == 0
    np.testing.assert_allclose(share[1:], [2 / 11, 9 / 11], atol=0.05)


def test_weight_zero_row_is_never_drawn_by_kmeans_plusplus():
    X, _ = make_blobs(200, n_features=2, centers=4, random_state=11)
    weights = np.ones(200)
    weights[::2] = 0.0
    for seed in range(20):
        _, indices = kmeans_plusplus(X, 4, sample_weight=weights, random_state=seed)
        assert (weights[indices] > 0).all()


@pytest.mark.parametrize("estimator", [KMeans, MiniBatchKMeans])
def test_fewer_distinct_rows_than_clusters_warns(estimator):
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 20, axis=0)
    with pytest.warns(ConvergenceWarning, match="distinct"):
        estimator(4, random_state=0).fit(X)


def test_minibatch_honours_init_size():
    seen = []

    def record(X_subsample, n_clusters, random_state):
        seen.append(X_subsample.shape[0])
        return X_subsample[:n_clusters]

    X, _ = make_blobs(5000, n_features=2, centers=3, random_state=12)
    MiniBatchKMeans(3, init=record, init_size=321, n_init=2, random_state=0).fit(X)
    assert seen and set(seen) == {321}


def test_choose_k_passes_sample_weight():
    from centroids.evaluate.choose_k import choose_k

    X, _, weights, repeated, _ = weighted_and_repeated(13, n=300)
    options = {"n_references": 2, "n_stability": 0, "random_state": 0}
    weighted = choose_k(X, range(2, 5), sample_weight=weights, **options)
    twice = choose_k(repeated, range(2, 5), **options)
    assert weighted.k == twice.k == 3
    for column in ("silhouette", "davies_bouldin", "calinski_harabasz"):
        np.testing.assert_allclose(
            weighted.table.loc[3, column], twice.table.loc[3, column], rtol=1e-6
        )
    with pytest.raises(ValueError, match="sample_weight has 3 values"):
        choose_k(X, range(2, 4), sample_weight=[1, 2, 3], **options)
