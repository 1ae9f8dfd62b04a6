"""centroids.engine: relocation, seeding, Lloyd's iterations and the n_init driver.

The engine is called on validated data, as the estimators call it, and compared with
the slow references in tests/naive.py.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from centroids.engine import (
    absolute_tolerance,
    centers_from_sums,
    engine_data,
    fit_kmeans,
    initial_centers,
    kmeans_plusplus_centers,
    lloyd,
    random_centers,
    relocate_empty_clusters,
)

import naive
from arrays import as_layout

DTYPES = [np.float32, np.float64]
LAYOUTS = ["dense", "csr"]
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}


def blobs(n=300, d=3, k=4, seed=0, dtype=np.float64, spread=1.0):
    """Continuous random data around k random centers (no ties), some entries zero."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d)) * 5.0
    X = means[rng.integers(0, k, n)] + rng.normal(size=(n, d)) * spread
    X[rng.random((n, d)) < 0.2] = 0.0
    return X.astype(dtype)


def relocation_inputs(X, sample_weight, centers):
    """What Lloyd's update step hands to relocate_empty_clusters."""
    data = engine_data(X)
    labels, min_sq_dist, _ = data.assign_labels(sample_weight, centers)
    sums, weights = data.cluster_sums(sample_weight, labels, len(centers))
    return data, labels, min_sq_dist, sums, weights


# ---------------------------------------------------------------------------
# relocate_empty_clusters, centers_from_sums
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_cluster_gets_the_farthest_positive_weight_point(layout, dtype):
    X = blobs(n=200, d=2, k=2, seed=1, dtype=dtype)
    sample_weight = np.random.default_rng(2).uniform(0.5, 2.0, len(X)).astype(dtype)
    centers = np.array([[-3.0, 0.0], [3.0, 0.0], [500.0, 500.0]], dtype=dtype)  # 2: empty
    D = naive.sq_distances(X, centers).min(axis=1)
    farthest = int(np.argmax(D))
    sample_weight[farthest] = 0  # the farthest point has no weight: the next one moves
    positive = np.flatnonzero(sample_weight > 0)
    expected_point = positive[np.argmax(D[positive])]

    data, labels, min_sq_dist, sums, weights = relocation_inputs(
        as_layout(X, layout), sample_weight, centers
    )
    assert weights[2] == 0
    old_cluster = labels[expected_point]
    sums_before, weights_before = sums.copy(), weights.copy()
    relocate_empty_clusters(data, sample_weight, labels, min_sq_dist, sums, weights)

    w = float(sample_weight[expected_point])
    x = X[expected_point].astype(np.float64)
    np.testing.assert_allclose(sums[2], w * x, rtol=1e-12)
    assert weights[2] == pytest.approx(w, rel=1e-12)
    np.testing.assert_allclose(sums[old_cluster], sums_before[old_cluster] - w * x, rtol=1e-10)
    assert weights[old_cluster] == pytest.approx(weights_before[old_cluster] - w, rel=1e-10)
    other = 1 - old_cluster
    np.testing.assert_array_equal(sums[other], sums_before[other])
    assert weights[other] == weights_before[other]
    # The next centers are the means of the moved partition.
    moved = naive.relocated_labels(sample_weight, labels, min_sq_dist, 3)
    assert moved[expected_point] == 2
    new_centers = centers_from_sums(sums, weights, centers)
    expected_centers = naive.cluster_means(X, sample_weight, moved, centers)
    np.testing.assert_allclose(new_centers, expected_centers, rtol=RTOL[np.dtype(dtype)])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_several_empty_clusters_take_points_farthest_first(layout):
    X = blobs(n=150, d=3, k=3, seed=3)
    sample_weight = np.random.default_rng(4).uniform(0.5, 2.0, len(X))
    rng = np.random.default_rng(5)
    # Centers 1 and 3 are far from every row: empty after the assignment.
    centers = X[rng.choice(len(X), 5, replace=False)].copy()
    centers[1] = 1000.0
    centers[3] = -1000.0
    data, labels, min_sq_dist, sums, weights = relocation_inputs(
        as_layout(X, layout), sample_weight, centers
    )
    assert weights[1] == 0 and weights[3] == 0
    relocate_empty_clusters(data, sample_weight, labels, min_sq_dist, sums, weights)

    moved = naive.relocated_labels(sample_weight, labels, min_sq_dist, 5)
    order = np.argsort(-min_sq_dist, kind="stable")
    assert moved[order[0]] == 1 and moved[order[1]] == 3
    expected_sums, expected_weights = naive.cluster_sums(X, sample_weight, moved, 5)
    np.testing.assert_allclose(weights, expected_weights, rtol=1e-10)
    np.testing.assert_allclose(sums, expected_sums, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_relocation_does_nothing_without_empty_clusters(layout):
    X = blobs(n=120, seed=6)
    sample_weight = np.ones(len(X))
    centers = X[[0, 40, 80]].copy()
    data, labels, min_sq_dist, sums, weights = relocation_inputs(
        as_layout(X, layout), sample_weight, centers
    )
    assert np.all(weights > 0)
    sums_before, weights_before = sums.copy(), weights.copy()
    relocate_empty_clusters(data, sample_weight, labels, min_sq_dist, sums, weights)
    np.testing.assert_array_equal(sums, sums_before)
    np.testing.assert_array_equal(weights, weights_before)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_cluster_without_a_point_to_take_keeps_its_previous_center(layout, dtype):
    # Every row sits exactly on center 0 or center 1: no row has a positive distance.
    X = np.array([[1.0, 2.0], [4.0, 0.0]] * 10, dtype=dtype)
    sample_weight = np.ones(len(X), dtype=dtype)
    centers = np.array([[1.0, 2.0], [4.0, 0.0], [7.0, 7.0]], dtype=dtype)
    data, labels, min_sq_dist, sums, weights = relocation_inputs(
        as_layout(X, layout), sample_weight, centers
    )
    assert weights[2] == 0 and np.all(min_sq_dist == 0)
    sums_before, weights_before = sums.copy(), weights.copy()
    relocate_empty_clusters(data, sample_weight, labels, min_sq_dist, sums, weights)
    np.testing.assert_array_equal(sums, sums_before)
    np.testing.assert_array_equal(weights, weights_before)
    new_centers = centers_from_sums(sums, weights, centers)
    assert not np.isnan(new_centers).any()
    np.testing.assert_array_equal(new_centers, centers)


def test_relocation_skips_zero_weight_rows_even_when_they_are_farthest():
    X = np.array([[0.0], [0.5], [1.0], [50.0]])
    sample_weight = np.array([1.0, 1.0, 1.0, 0.0])
    centers = np.array([[0.5], [-100.0]])
    data, labels, min_sq_dist, sums, weights = relocation_inputs(X, sample_weight, centers)
    relocate_empty_clusters(data, sample_weight, labels, min_sq_dist, sums, weights)
    # Rows 0 and 2 are equally far (0.25); row 3 is farther but weightless.
    assert weights[1] == 1.0
    assert sums[1, 0] in (0.0, 1.0)
    assert weights[0] == 2.0


def test_relocation_tie_goes_to_the_lowest_row_index():
    X = np.array([[-2.0], [2.0], [0.0]])
    sample_weight = np.ones(3)
    centers = np.array([[0.0], [100.0]])
    data, labels, min_sq_dist, sums, weights = relocation_inputs(X, sample_weight, centers)
    relocate_empty_clusters(data, sample_weight, labels, min_sq_dist, sums, weights)
    moved = naive.relocated_labels(sample_weight, labels, min_sq_dist, 2)
    assert moved[0] == 1
    np.testing.assert_array_equal(sums[1], X[0])


def test_cluster_emptied_by_relocation_keeps_its_previous_center():
    # Cluster 1 holds exactly the two farthest rows; clusters 2 and 3 are empty and
    # take both, so cluster 1 ends with no row at all.
    X = np.array([[0.0], [0.1], [-0.1], [50.3], [51.7]])
    sample_weight = np.array([1.0, 1.0, 1.0, 0.1, 0.2])
    centers = np.array([[0.0], [40.0], [1000.0], [-1000.0]])
    data, labels, min_sq_dist, sums, weights = relocation_inputs(X, sample_weight, centers)
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1])
    relocate_empty_clusters(data, sample_weight, labels, min_sq_dist, sums, weights)
    moved = naive.relocated_labels(sample_weight, labels, min_sq_dist, 4)
    assert not np.any(moved == 1)
    new_centers = centers_from_sums(sums, weights, centers)
    expected = naive.cluster_means(X, sample_weight, moved, centers)
    np.testing.assert_allclose(new_centers, expected, rtol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_centers_from_sums_are_means_and_keep_empty_clusters_in_place(dtype):
    rng = np.random.default_rng(7)
    sums = rng.normal(size=(6, 3)) * 10
    weights = rng.uniform(0.5, 3.0, 6)
    weights[[1, 4]] = 0.0
    previous = rng.normal(size=(6, 3)).astype(dtype)
    previous_copy = previous.copy()
    centers = centers_from_sums(sums, weights, previous)
    assert centers.dtype == dtype
    np.testing.assert_array_equal(previous, previous_copy)  # not modified in place
    filled = weights > 0
    np.testing.assert_allclose(
        centers[filled], sums[filled] / weights[filled, None], rtol=RTOL[np.dtype(dtype)]
    )
    np.testing.assert_array_equal(centers[~filled], previous[~filled])


# ---------------------------------------------------------------------------
# Seeding: kmeans_plusplus_centers, random_centers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_plusplus_matches_naive_and_points_at_rows(layout, dtype, seed):
    X = blobs(n=200, d=3, k=5, seed=seed, dtype=dtype)
    sample_weight = np.random.default_rng(seed).uniform(0.2, 2.0, len(X)).astype(dtype)
    data = engine_data(as_layout(X, layout))
    centers, indices = kmeans_plusplus_centers(data, 6, sample_weight, np.random.RandomState(seed))
    assert centers.dtype == dtype and centers.shape == (6, 3)
    assert indices.shape == (6,)
    np.testing.assert_array_equal(centers, X[indices])
    assert len(set(indices.tolist())) == 6
    expected_centers, expected_indices = naive.kmeans_plusplus(
        X, 6, sample_weight, np.random.RandomState(seed)
    )
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(centers, expected_centers)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("seed", range(5))
def test_kmeans_plusplus_picks_distinct_rows_among_duplicates(layout, seed):
    rng = np.random.default_rng(seed)
    distinct = rng.normal(size=(5, 2))
    X = distinct[rng.integers(0, 5, 100)]
    X[:5] = distinct  # every distinct row present
    data = engine_data(as_layout(X, layout))
    centers, _ = kmeans_plusplus_centers(data, 5, np.ones(len(X)), np.random.RandomState(seed))
    assert len(np.unique(centers, axis=0)) == 5


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("seed", range(4))
def test_kmeans_plusplus_never_picks_a_row_of_zero_weight(layout, seed):
    X = blobs(n=120, d=2, k=4, seed=seed)
    sample_weight = np.ones(len(X))
    sample_weight[np.random.default_rng(seed).random(len(X)) < 0.6] = 0.0
    # The weightless rows include the farthest ones, which D² sampling would favour.
    far = np.argsort(-naive.sq_distances(X, X.mean(axis=0, keepdims=True))[:, 0])[:10]
    sample_weight[far] = 0.0
    data = engine_data(as_layout(X, layout))
    _, indices = kmeans_plusplus_centers(data, 8, sample_weight, np.random.RandomState(seed))
    assert np.all(sample_weight[indices] > 0)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_kmeans_plusplus_with_fewer_weighted_points_than_clusters(layout):
    # Three distinct weighted points, five clusters: once they are all centers, every
    # remaining draw must still come from a weighted row (never from the far, weightless ones).
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]] * 4 + [[50.0, 50.0]] * 6)
    sample_weight = np.array([1.0] * 12 + [0.0] * 6)
    data = engine_data(as_layout(X, layout))
    for seed in range(5):
        centers, indices = kmeans_plusplus_centers(
            data, 5, sample_weight, np.random.RandomState(seed)
        )
        assert np.all(sample_weight[indices] > 0)
        assert len(np.unique(centers[:3], axis=0)) == 3
        assert not np.isnan(centers).any()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kmeans_plusplus_same_seed_same_output(layout, dtype):
    X = as_layout(blobs(n=200, seed=8, dtype=dtype), layout)
    w = np.ones(200, dtype=dtype)
    first = kmeans_plusplus_centers(engine_data(X), 5, w, np.random.RandomState(42))
    second = kmeans_plusplus_centers(engine_data(X), 5, w, np.random.RandomState(42))
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert first[0].dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(4))
def test_kmeans_plusplus_sparse_equals_dense(dtype, seed):
    X = blobs(n=300, d=4, k=5, seed=seed + 10, dtype=dtype)
    w = np.random.default_rng(seed).uniform(0.5, 1.5, len(X)).astype(dtype)
    dense_out = kmeans_plusplus_centers(engine_data(X), 7, w, np.random.RandomState(seed))
    sparse_out = kmeans_plusplus_centers(
        engine_data(sp.csr_matrix(X)), 7, w, np.random.RandomState(seed)
    )
    np.testing.assert_array_equal(dense_out[1], sparse_out[1])
    np.testing.assert_array_equal(dense_out[0], sparse_out[0])
    assert sparse_out[0].dtype == dtype and isinstance(sparse_out[0], np.ndarray)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_random_centers_are_distinct_weighted_rows(layout, dtype):
    X = blobs(n=80, d=3, seed=9, dtype=dtype)  # continuous: every row is distinct
    sample_weight = np.ones(len(X), dtype=dtype)
    sample_weight[::2] = 0.0
    data = engine_data(as_layout(X, layout))
    for seed in range(5):
        centers = random_centers(data, 6, sample_weight, np.random.RandomState(seed))
        assert centers.dtype == dtype and centers.shape == (6, 3)
        assert isinstance(centers, np.ndarray)
        match = np.all(centers[:, None, :] == X[None, :, :], axis=2)
        rows = np.argmax(match, axis=1)
        assert np.all(match.any(axis=1))  # every center is a row of X
        assert len(set(rows.tolist())) == 6  # distinct rows
        assert np.all(sample_weight[rows] > 0)  # never a weightless row
        again = random_centers(data, 6, sample_weight, np.random.RandomState(seed))
        np.testing.assert_array_equal(centers, again)


# ---------------------------------------------------------------------------
# lloyd
# ---------------------------------------------------------------------------


def check_run_against_naive(X, sample_weight, init, max_iter, tol, dtype, layout):
    data = engine_data(as_layout(X, layout))
    run = lloyd(data, sample_weight, init, max_iter, tol)
    centers, labels, inertia, n_iter = naive.lloyd(X, sample_weight, init, max_iter, tol)
    rtol = RTOL[np.dtype(dtype)]
    scale = float(np.abs(X).max())
    assert run.centers.dtype == dtype
    assert run.n_iter == n_iter
    np.testing.assert_array_equal(run.labels, labels)
    np.testing.assert_allclose(run.centers, centers, rtol=rtol, atol=rtol * scale)
    assert run.inertia == pytest.approx(inertia, rel=rtol)
    return run


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("tol", [0.0, 1e-4])
def test_lloyd_matches_naive_lloyd(layout, dtype, seed, tol):
    X = blobs(n=300, d=3, k=5, seed=seed, dtype=dtype, spread=2.0)
    sample_weight = np.random.default_rng(seed).uniform(0.5, 2.0, len(X)).astype(dtype)
    init = X[np.random.default_rng(seed + 100).choice(len(X), 5, replace=False)]
    tol = absolute_tolerance(engine_data(X), tol)
    run = check_run_against_naive(X, sample_weight, init, 100, tol, dtype, layout)
    assert run.n_iter > 1


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_lloyd_matches_naive_lloyd_through_relocations(layout, dtype):
    X = blobs(n=200, d=2, k=4, seed=11, dtype=dtype)
    sample_weight = np.ones(len(X), dtype=dtype)
    init = np.concatenate([X[:2], [[300.0, 300.0], [-300.0, 300.0]]]).astype(dtype)
    check_run_against_naive(X, sample_weight, init, 100, 0.0, dtype, layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("max_iter", [1, 2, 3])
def test_lloyd_stops_at_max_iter_with_labels_of_the_returned_centers(layout, max_iter):
    X = blobs(n=400, d=2, k=6, seed=12, spread=3.0)
    sample_weight = np.ones(len(X))
    init = X[:6]
    run = check_run_against_naive(X, sample_weight, init, max_iter, 0.0, np.float64, layout)
    assert run.n_iter == max_iter
    labels, _ = naive.nearest_centers(X, run.centers)
    np.testing.assert_array_equal(run.labels, labels)
    assert run.inertia == pytest.approx(naive.inertia(X, sample_weight, run.centers, labels))


def test_lloyd_labels_match_returned_centers_after_a_relocation():
    X = np.full((6, 1), 71.48085531751386)
    sample_weight = np.ones(6)
    data = engine_data(X)
    run = lloyd(data, sample_weight, X[:2], 300, absolute_tolerance(data, 1e-4))
    labels, _, _ = data.assign_labels(sample_weight, run.centers)
    np.testing.assert_array_equal(run.labels, labels)


def test_lloyd_leaves_its_initial_centers_untouched():
    X = blobs(n=100, seed=13)
    init = X[:3].copy()
    init_copy = init.copy()
    lloyd(engine_data(X), np.ones(len(X)), init, 50, 0.0)
    np.testing.assert_array_equal(init, init_copy)


# ---------------------------------------------------------------------------
# absolute_tolerance
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_absolute_tolerance_is_tol_times_mean_variance(layout, dtype):
    rng = np.random.default_rng(14)
    X = (rng.normal(size=(500, 4)) * [1.0, 10.0, 0.1, 3.0] + 7.0).astype(dtype)
    X[rng.random(X.shape) < 0.3] = 0.0
    data = engine_data(as_layout(X, layout))
    expected = 1e-3 * np.mean(np.var(X.astype(np.float64), axis=0))
    assert absolute_tolerance(data, 1e-3) == pytest.approx(expected, rel=RTOL[np.dtype(dtype)])
    assert absolute_tolerance(data, 0) == 0.0


# ---------------------------------------------------------------------------
# fit_kmeans
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("init", ["random", "k-means++"])
def test_fit_kmeans_keeps_the_run_of_lowest_inertia(layout, init):
    rng = np.random.default_rng(15)
    X = rng.uniform(size=(300, 2))  # no cluster structure: many local optima
    X = as_layout(X, layout)
    sample_weight = np.ones(300)
    n_init, k, seed = 8, 7, 3
    # The same draws, run one by one.
    data = engine_data(X)
    random_state = np.random.RandomState(seed)
    runs = []
    for _ in range(n_init):
        centers = initial_centers(data, X, k, init, sample_weight, random_state)
        runs.append(lloyd(data, sample_weight, centers, 300, 0.0))
    inertias = [run.inertia for run in runs]
    assert max(inertias) > min(inertias) * (1 + 1e-6)  # the choice matters

    best = fit_kmeans(
        X,
        sample_weight,
        n_clusters=k,
        init=init,
        n_init=n_init,
        max_iter=300,
        tol=0.0,
        random_state=np.random.RandomState(seed),
        algorithm="lloyd",
        refine=False,
    )
    assert best.inertia == pytest.approx(min(inertias), rel=1e-12)
    winner = runs[int(np.argmin(inertias))]
    assert naive.partition(best.labels) == naive.partition(winner.labels)
    np.testing.assert_allclose(best.centers, winner.centers, rtol=1e-12)


def test_fit_kmeans_prefers_lower_inertia_even_with_the_same_partition():
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    starts = iter([np.array([[0.0], [1.0]]), np.array([[0.5], [10.5]])])

    def init(X, n_clusters, random_state):
        return next(starts)

    best = fit_kmeans(
        X,
        np.ones(4),
        n_clusters=2,
        init=init,
        n_init=2,
        max_iter=1,
        tol=0.0,
        random_state=np.random.RandomState(0),
    )
    # Second run: centers 0.5 and 10.5 are already the means, inertia 4 × 0.25 = 1.
    assert best.inertia == pytest.approx(1.0)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("init", ["random", "k-means++"])
def test_fit_kmeans_warns_when_fewer_distinct_points_than_clusters(layout, init):
    X = as_layout(np.array([[0.0, 1.0], [2.0, 2.0], [5.0, 0.0]] * 5), layout)
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        best = fit_kmeans(
            X,
            np.ones(15),
            n_clusters=5,
            init=init,
            n_init=2,
            max_iter=50,
            tol=1e-4,
            random_state=np.random.RandomState(0),
        )
    assert not np.isnan(best.centers).any()
    assert len(np.unique(best.labels)) == 3
    assert best.inertia == 0.0


def test_fit_kmeans_does_not_warn_with_enough_distinct_points():
    X = blobs(n=100, seed=16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit_kmeans(
            X,
            np.ones(100),
            n_clusters=4,
            init="k-means++",
            n_init=1,
            max_iter=100,
            tol=1e-4,
            random_state=np.random.RandomState(0),
        )


def test_fit_kmeans_rejects_an_unknown_algorithm():
    with pytest.raises(ValueError, match="algorithm"):
        fit_kmeans(
            blobs(n=20),
            np.ones(20),
            n_clusters=2,
            init="random",
            n_init=1,
            max_iter=10,
            tol=0.0,
            random_state=np.random.RandomState(0),
            algorithm="fastest",
        )
