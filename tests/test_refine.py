"""centroids.engine.refine: the two-nearest kernels and the guided swap refinement.

The kernels are compared with the slow references in tests/naive.py; the refinement is
checked for what it promises (inertia never rises, labels are the assignment to the
centers, determinism) and on a constructed local optimum it must escape.
"""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.utils import check_random_state

from centroids.engine import engine_data, lloyd
from centroids.engine.lloyd import KMeansRun
from centroids.engine.refine import (
    merge_costs,
    refine,
    refine_is_on,
    removal_costs,
    two_nearest_centers,
)
from centroids.settings import CHUNK_ROWS

import naive
from arrays import as_layout, finite_floats

DTYPES = [np.float32, np.float64]
LAYOUTS = ["dense", "csr"]
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}
SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def problems(draw, dtype, max_n=60, max_d=5, max_k=6):
    """(X, sample_weight, centers) of ``dtype``; some entries zero, some weights zero."""
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, max_d))
    k = draw(st.integers(1, max_k))
    X = draw(hnp.arrays(dtype, (n, d), elements=finite_floats(dtype)))
    X[draw(hnp.arrays(np.bool_, (n, d)))] = 0
    centers = draw(hnp.arrays(dtype, (k, d), elements=finite_floats(dtype)))
    weight_floats = st.floats(0.0, 10.0, allow_subnormal=False, width=np.dtype(dtype).itemsize * 8)
    sample_weight = draw(hnp.arrays(dtype, n, elements=weight_floats))
    return np.ascontiguousarray(X), sample_weight, np.ascontiguousarray(centers)


def separated_clusters(n_per_cluster=100, dtype=np.float64, seed=0):
    """Four tight 2-D clusters on a line at x = 0, 20, 100, 120 and their true means."""
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0], [20.0, 0.0], [100.0, 0.0], [120.0, 0.0]])
    labels = np.repeat(np.arange(4), n_per_cluster)
    X = means[labels] + rng.normal(scale=0.5, size=(labels.size, 2))
    return np.ascontiguousarray(X, dtype=dtype), labels


#: A start Lloyd cannot leave: two centers share the cluster at 0, one sits between the
#: clusters at 100 and 120.
STUCK_START = np.array([[-0.5, 0.0], [0.5, 0.0], [20.0, 0.0], [110.0, 0.0]])


def lloyd_run(X, sample_weight, centers, max_iter=300, tol=0.0):
    data = engine_data(X)
    return data, lloyd(data, sample_weight, np.asarray(centers, dtype=X.dtype), max_iter, tol)


def check_run_is_consistent(X, sample_weight, run):
    """Labels are the nearest centers; inertia is their weighted squared distance."""
    labels, min_sq_dist = naive.nearest_centers(X, run.centers)
    w = np.asarray(sample_weight, np.float64)
    expected_inertia = float(np.sum(w * min_sq_dist))
    rtol = RTOL[np.dtype(X.dtype)]
    # Labels may differ only on near-ties (equal distances up to rounding). Sparse
    # distances are ||x||² - 2x·c + ||c||², whose rounding scales with the norms.
    norms = float(naive.as_dense64(X).__pow__(2).sum(axis=1).max())
    norms += float((np.asarray(run.centers, np.float64) ** 2).sum(axis=1).max())
    atol = 4 * rtol * (1.0 + norms)
    D = naive.sq_distances(X, run.centers)
    chosen = D[np.arange(len(D)), run.labels]
    np.testing.assert_allclose(chosen, min_sq_dist, rtol=rtol, atol=atol)
    assert run.inertia == pytest.approx(expected_inertia, rel=rtol, abs=atol * (1 + w.sum()))
    assert run.labels.shape == labels.shape


# ---------------------------------------------------------------------------
# two_nearest_centers, removal_costs
# ---------------------------------------------------------------------------


def check_two_nearest(X, centers, layout):
    labels, d1, d2 = two_nearest_centers(engine_data(as_layout(X, layout)), centers)
    _, expected_d1, expected_d2 = naive.two_nearest_sq_distances(X, centers)
    rtol = RTOL[np.dtype(X.dtype)]
    # ||x||² - 2x·c + ||c||² (sparse rows, many features) rounds in proportion to the norms.
    scale = 1.0 + (naive.as_dense64(X) ** 2).sum(axis=1).max()
    scale += (np.asarray(centers, np.float64) ** 2).sum(axis=1).max()
    scale *= 4 * rtol / 1e-9
    np.testing.assert_allclose(d1, expected_d1, rtol=rtol, atol=1e-9 * scale)
    np.testing.assert_allclose(d2, expected_d2, rtol=rtol, atol=1e-9 * scale)
    D = naive.sq_distances(X, centers)
    np.testing.assert_allclose(
        D[np.arange(len(D)), labels], expected_d1, rtol=rtol, atol=1e-9 * scale
    )
    return labels, d1, d2


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_two_nearest_centers_matches_naive(layout, dtype, data):
    X, _, centers = data.draw(problems(dtype))
    check_two_nearest(X, centers, layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_two_nearest_centers_matches_naive_in_high_dimension(layout, dtype, data):
    # From GEMM_MIN_FEATURES features on, dense data goes through a matrix product.
    X, _, centers = data.draw(problems(dtype, max_n=30, max_d=12))
    d = data.draw(st.integers(8, 12))
    X = np.ascontiguousarray(np.tile(X, (1, 12))[:, :d])
    centers = np.ascontiguousarray(np.tile(centers, (1, 12))[:, :d])
    check_two_nearest(X, centers, layout)


@pytest.mark.parametrize("n_features", [4, 16])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_two_nearest_centers_many_chunks_and_ties(layout, dtype, n_features):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3 * CHUNK_ROWS + 17, n_features)).astype(dtype)
    centers = rng.normal(size=(5, n_features)).astype(dtype)
    labels, _, _ = check_two_nearest(X, centers, layout)
    np.testing.assert_array_equal(labels, naive.nearest_centers(X, centers)[0])
    # Every center twice: the nearest is the lower copy, the second-nearest its twin.
    doubled = np.ascontiguousarray(np.concatenate([centers, centers]))
    labels2, d1b, d2b = two_nearest_centers(engine_data(as_layout(X, layout)), doubled)
    np.testing.assert_array_equal(labels2, labels)
    np.testing.assert_array_equal(d1b, d2b)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_two_nearest_centers_single_center_has_infinite_second(layout):
    X = np.arange(12.0).reshape(6, 2)
    labels, d1, d2 = two_nearest_centers(engine_data(as_layout(X, layout)), X[:1])
    np.testing.assert_array_equal(labels, 0)
    np.testing.assert_allclose(d1, naive.sq_distances(X, X[:1])[:, 0])
    assert np.all(np.isinf(d2))


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_removal_costs_match_deleting_each_center(dtype, data):
    X, sample_weight, centers = data.draw(problems(dtype, max_k=5).filter(lambda p: len(p[2]) > 1))
    labels, d1, d2 = two_nearest_centers(engine_data(X), centers)
    costs = removal_costs(sample_weight, labels, d1, d2, centers.shape[0])
    expected = naive.removal_costs(X, sample_weight, centers)
    scale = 1.0 + float(np.sum(sample_weight, dtype=np.float64)) * (
        1.0 + naive.sq_distances(X, centers).max()
    )
    np.testing.assert_allclose(costs, expected, rtol=RTOL[np.dtype(dtype)], atol=1e-9 * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_merge_costs_bound_the_removal_costs(dtype, data):
    X, sample_weight, _ = data.draw(problems(dtype, max_k=5))
    k = data.draw(st.integers(2, 5))
    # A Lloyd fixed point: labels are the nearest centers, centers their cluster means.
    means, labels, _, _ = naive.lloyd(X, sample_weight, X[np.arange(k) % len(X)], 100, 0.0)
    means_of_labels = naive.cluster_means(X, sample_weight, labels, means)
    assume(np.allclose(means, means_of_labels, rtol=1e-6, atol=1e-6))
    costs = merge_costs(sample_weight.astype(np.float64), labels, means)
    w = sample_weight.astype(np.float64)
    D = naive.sq_distances(means, means) + np.diag(np.full(k, np.inf))
    expected = np.bincount(labels, weights=w, minlength=k) * D.min(axis=1)
    scale = 1.0 + w.sum() * (1.0 + naive.sq_distances(X, means).max())
    np.testing.assert_allclose(costs, expected, rtol=1e-9, atol=1e-9 * scale)
    # Moving a whole cluster to one other center adds at least what the exact removal
    # cost adds, when labels are the nearest centers and centers the cluster means.
    exact = removal_costs(w, labels, *naive.two_nearest_sq_distances(X, means)[1:], k)
    assert np.all(costs >= exact - 1e-7 * scale)


# ---------------------------------------------------------------------------
# refine
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_refine_never_increases_inertia_and_labels_match_centers(layout, dtype, data):
    X, sample_weight, _ = data.draw(problems(dtype, max_n=40, max_d=3))
    if not np.any(sample_weight > 0):
        sample_weight[0] = 1
    k = data.draw(st.integers(1, min(6, len(X))))
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    centers = X[rng.choice(len(X), size=k, replace=False)]
    Xl = as_layout(X, layout)
    data_, run = lloyd_run(Xl, sample_weight, centers)
    refined = refine(data_, sample_weight, run, lloyd, check_random_state(seed))
    assert refined.inertia <= run.inertia
    assert refined.n_iter >= run.n_iter
    assert refined.centers.dtype == X.dtype
    assert refined.centers.shape == run.centers.shape
    check_run_is_consistent(X, sample_weight, refined)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_refine_escapes_a_stuck_start(layout, dtype):
    X, true_labels = separated_clusters(dtype=dtype)
    assert X.shape[0] > CHUNK_ROWS
    sample_weight = np.ones(X.shape[0], dtype=dtype)
    Xl = as_layout(X, layout)
    data, run = lloyd_run(Xl, sample_weight, STUCK_START)
    true_means = np.array([X[true_labels == c].mean(axis=0) for c in range(4)])
    # Lloyd alone stays stuck: the clusters at 100 and 120 share one center.
    assert len(np.unique(naive.nearest_centers(run.centers, true_means)[0])) == 3
    refined = refine(data, sample_weight, run, lloyd, check_random_state(0))
    assert refined.inertia < 0.1 * run.inertia
    # Every true cluster has a center of its own, within the clusters' spread.
    matched, sq_dist = naive.nearest_centers(true_means, refined.centers)
    assert sorted(matched) == [0, 1, 2, 3]
    assert sq_dist.max() < 0.1
    check_run_is_consistent(X, sample_weight, refined)
    assert refined.n_iter > run.n_iter


@pytest.mark.parametrize("layout", LAYOUTS)
def test_refine_trial_budget_bounds_the_trials(layout):
    """``trial_iter_budget`` caps the iterations of all trials together: 0 tries nothing
    (the input run comes back), a budget no trial reaches changes nothing, and a budget
    of a few iterations still escapes the stuck start when the first trial is the swap."""
    X, _ = separated_clusters()
    sample_weight = np.ones(X.shape[0])
    data, run = lloyd_run(as_layout(X, layout), sample_weight, STUCK_START)
    none = refine(data, sample_weight, run, lloyd, check_random_state(0), trial_iter_budget=0)
    assert none is run or (none.inertia == run.inertia and none.n_iter == run.n_iter)
    np.testing.assert_array_equal(none.centers, run.centers)
    free = refine(data, sample_weight, run, lloyd, check_random_state(0))
    roomy = refine(data, sample_weight, run, lloyd, check_random_state(0), trial_iter_budget=10**6)
    np.testing.assert_array_equal(roomy.centers, free.centers)
    assert roomy.n_iter == free.n_iter
    tight = refine(data, sample_weight, run, lloyd, check_random_state(0), trial_iter_budget=3)
    assert tight.inertia <= run.inertia
    check_run_is_consistent(X, sample_weight, tight)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_refine_by_merge_costs_escapes_a_stuck_start(layout):
    X, true_labels = separated_clusters(seed=4)
    sample_weight = np.ones(X.shape[0])
    data, run = lloyd_run(as_layout(X, layout), sample_weight, STUCK_START)
    refined = refine(data, sample_weight, run, lloyd, check_random_state(0), removal_cost="merge")
    true_means = np.array([X[true_labels == c].mean(axis=0) for c in range(4)])
    assert sorted(naive.nearest_centers(true_means, refined.centers)[0]) == [0, 1, 2, 3]
    check_run_is_consistent(X, sample_weight, refined)


def test_refine_rejects_an_unknown_removal_cost():
    X, _ = separated_clusters(n_per_cluster=5)
    sample_weight = np.ones(X.shape[0])
    data, run = lloyd_run(X, sample_weight, STUCK_START)
    with pytest.raises(ValueError, match="removal_cost"):
        refine(data, sample_weight, run, lloyd, check_random_state(0), removal_cost="ward")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_refine_uses_sample_weights(layout):
    X, true_labels = separated_clusters(dtype=np.float64, seed=2)
    rng = np.random.default_rng(3)
    sample_weight = rng.uniform(0.5, 3.0, size=X.shape[0])
    sample_weight[::7] = 0.0
    data, run = lloyd_run(as_layout(X, layout), sample_weight, STUCK_START)
    refined = refine(data, sample_weight, run, lloyd, check_random_state(1))
    true_means = np.array([X[true_labels == c].mean(axis=0) for c in range(4)])
    assert sorted(naive.nearest_centers(true_means, refined.centers)[0]) == [0, 1, 2, 3]
    check_run_is_consistent(X, sample_weight, refined)
    # The weighted inertia is what was minimised: compare with the naive weighted one.
    expected = naive.inertia(X, sample_weight, refined.centers, refined.labels)
    assert refined.inertia == pytest.approx(expected, rel=1e-10)


def test_refine_calls_the_given_iterate_with_its_caps():
    X, _ = separated_clusters(dtype=np.float64)
    sample_weight = np.ones(X.shape[0])
    data, run = lloyd_run(X, sample_weight, STUCK_START)
    calls = []

    def iterate(data, sample_weight, centers_init, max_iter, tol):
        calls.append((max_iter, tol))
        return lloyd(data, sample_weight, centers_init, max_iter, tol)

    refined = refine(
        data, sample_weight, run, iterate, check_random_state(0), trial_max_iter=4, tol=1e-6
    )
    assert calls and all(tol == 1e-6 for _, tol in calls)
    assert calls[0][0] == 4
    assert refined.inertia < run.inertia


@pytest.mark.parametrize("layout", LAYOUTS)
def test_refine_is_deterministic_for_a_seed_and_thread_count(layout):
    rng = np.random.default_rng(5)
    means = rng.uniform(-20, 20, size=(12, 8))
    X = means[rng.integers(0, 12, 4000)] + rng.normal(size=(4000, 8))
    sample_weight = rng.uniform(0.5, 2.0, size=4000)
    Xl = as_layout(X, layout)
    centers = X[rng.choice(4000, size=10, replace=False)]
    results = []
    threads_before = numba.get_num_threads()
    try:
        for threads in (numba.config.NUMBA_NUM_THREADS, 1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            data, run = lloyd_run(Xl, sample_weight, centers)
            results.append(refine(data, sample_weight, run, lloyd, check_random_state(7)))
    finally:
        numba.set_num_threads(threads_before)
    for other in results[1:]:
        np.testing.assert_array_equal(other.centers, results[0].centers)
        np.testing.assert_array_equal(other.labels, results[0].labels)
        assert other.inertia == results[0].inertia
        assert other.n_iter == results[0].n_iter


def test_refine_one_cluster_is_a_no_op():
    X, _ = separated_clusters(n_per_cluster=10)
    sample_weight = np.ones(X.shape[0])
    data, run = lloyd_run(X, sample_weight, X[:1])
    assert refine(data, sample_weight, run, lloyd, check_random_state(0)) is run


def test_refine_as_many_clusters_as_rows_is_a_no_op():
    X, _ = separated_clusters(n_per_cluster=3)
    sample_weight = np.ones(X.shape[0])
    data, run = lloyd_run(X, sample_weight, X)
    assert run.inertia == 0
    assert refine(data, sample_weight, run, lloyd, check_random_state(0)) is run


@pytest.mark.parametrize("layout", LAYOUTS)
def test_refine_with_duplicate_points(layout):
    # Three distinct points, each repeated: k = 3 is exact (no-op), k = 2 must keep a
    # valid run whose inertia is not above Lloyd's.
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]]), 40, axis=0)
    sample_weight = np.ones(X.shape[0])
    Xl = as_layout(X, layout)
    data, run = lloyd_run(Xl, sample_weight, X[[0, 40, 80]])
    assert refine(data, sample_weight, run, lloyd, check_random_state(0)) is run
    data, run = lloyd_run(Xl, sample_weight, X[[0, 1]])  # both centers on the same point
    refined = refine(data, sample_weight, run, lloyd, check_random_state(0))
    assert refined.inertia <= run.inertia
    assert refined.inertia == pytest.approx(40 * 0.5**2 * 2)  # {0, 1} and {10}
    check_run_is_consistent(X, sample_weight, refined)


def test_refine_returns_the_input_when_no_swap_helps():
    X, _ = separated_clusters()
    sample_weight = np.ones(X.shape[0])
    good_start = np.array([[0.0, 0.0], [20.0, 0.0], [100.0, 0.0], [120.0, 0.0]])
    data, run = lloyd_run(X, sample_weight, good_start)
    refined = refine(data, sample_weight, run, lloyd, check_random_state(0), max_failures=2)
    np.testing.assert_array_equal(refined.centers, run.centers)
    np.testing.assert_array_equal(refined.labels, run.labels)
    assert refined.inertia == run.inertia
    assert isinstance(refined, KMeansRun)
    assert refined.n_iter > run.n_iter  # the rejected trials' iterations are counted


def test_refine_is_on_resolves_the_option():
    small = engine_data(np.zeros((100, 2)))
    large = engine_data(sp.csr_matrix((1, 1)))
    large.row_work = 10**9  # stands for a large X without allocating one
    assert refine_is_on(True, large, 8) is True
    assert refine_is_on(False, small, 8) is False
    assert refine_is_on("auto", small, 8) is True
    assert refine_is_on("auto", large, 8) is False
    for bad in ("yes", 1, None):
        with pytest.raises(ValueError, match="refine must be"):
            refine_is_on(bad, small, 8)
