"""Quality of the default refinement (random swap) on generated data of the hard kinds:
many equal clusters on a grid, clusters of very different sizes, 2-d and 8-d."""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils import check_random_state

from centroids import KMeans
from centroids.engine.data import engine_data
from centroids.engine.lloyd import lloyd
from centroids.engine.refine import random_swap, refine, refine_mode
from centroids.settings import REFINE_AUTO_MAX_WORK


def centroid_index(found, true):
    """CI (Fränti et al. 2014): the larger, over both directions, of the number of
    centers of one set that are the nearest of none of the other set's centers."""

    def orphans(a, b):
        nearest = np.argmin(((a[:, None, :] - b[None]) ** 2).sum(axis=2), axis=1)
        return len(b) - len(np.unique(nearest))

    return max(orphans(found, true), orphans(true, found))


def grid_clusters(side, per_cluster, n_features=2, spread=0.2, seed=0):
    """side² equal Gaussian clusters on a unit grid (extra features: uniform offsets)."""
    rng = np.random.default_rng(seed)
    k = side * side
    means = np.array([(i, j) for i in range(side) for j in range(side)], dtype=float)
    if n_features > 2:
        means = np.hstack([means, rng.uniform(0, side, size=(k, n_features - 2))])
    labels = np.repeat(np.arange(k), per_cluster)
    X = means[labels] + rng.normal(scale=spread, size=(k * per_cluster, n_features))
    return X, means


def uneven_clusters(k, n, n_features=2, seed=0):
    """k Gaussian clusters with sizes over a 10:1 range and spreads over 2:1."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(0, 100, size=(k, n_features))
    # Means kept apart by 8 spreads' worth, so every true cluster is one to find.
    while True:
        gaps = ((means[:, None] - means[None]) ** 2).sum(axis=2) + np.diag(np.full(k, np.inf))
        close = np.flatnonzero(gaps.min(axis=1) < 12.0**2)
        if close.size == 0:
            break
        means[close[0]] = rng.uniform(0, 100, size=n_features)
    sizes = rng.uniform(1.0, 10.0, size=k)
    labels = rng.choice(k, size=n, p=sizes / sizes.sum())
    spreads = rng.uniform(1.0, 2.0, size=k)
    X = means[labels] + rng.normal(size=(n, n_features)) * spreads[labels, None]
    return X, np.array([X[labels == c].mean(axis=0) for c in range(k)])


CASES = {
    "grid 5x5, 2-d": lambda: grid_clusters(5, 200),
    "grid 8x8, 2-d": lambda: grid_clusters(8, 60),
    "grid 5x5, 8-d": lambda: grid_clusters(5, 120, n_features=8, spread=0.25),
    "uneven 30, 2-d": lambda: uneven_clusters(30, 6000),
    "uneven 20, 8-d": lambda: uneven_clusters(20, 4000, n_features=8),
}


@pytest.mark.parametrize("case", CASES)
def test_default_fit_finds_every_cluster(case):
    X, true = CASES[case]()
    k = len(true)
    for seed in range(3):
        model = KMeans(k, n_init=1, random_state=seed).fit(X)
        assert centroid_index(model.cluster_centers_, true) == 0, (case, seed)
        # The result is a Lloyd fixed point: labels are the nearest centers.
        np.testing.assert_array_equal(model.labels_, model.predict(X))


@pytest.mark.parametrize("case", ["grid 8x8, 2-d", "uneven 30, 2-d", "grid 5x5, 8-d"])
def test_random_swap_is_at_least_as_good_as_the_guided_swaps(case):
    X, true = CASES[case]()
    k = len(true)
    data = engine_data(X)
    w = np.ones(len(X))
    for seed in range(3):
        rng = np.random.default_rng(seed)
        start = X[rng.choice(len(X), size=k, replace=False)]
        run = lloyd(data, w, start, 300, 0.0)
        old = refine(data, w, run, lloyd, check_random_state(seed))
        new = random_swap(data, w, run, lloyd, check_random_state(seed))
        assert new.inertia <= run.inertia
        # Where both find every cluster they may stop in neighbouring optima that
        # differ by a few boundary rows; never worse than that.
        assert new.inertia <= old.inertia * (1 + 1e-3), (case, seed)
        assert centroid_index(new.centers, true) == 0, (case, seed)


def test_random_swap_is_deterministic_across_thread_counts():
    X, true = grid_clusters(6, 150)
    X = X.astype(np.float32)
    data = engine_data(X)
    w = np.ones(len(X), dtype=np.float32)
    start = X[np.random.default_rng(3).choice(len(X), size=len(true), replace=False)]
    results = []
    before = numba.get_num_threads()
    try:
        for threads in (numba.config.NUMBA_NUM_THREADS, 1):
            numba.set_num_threads(threads)
            run = lloyd(data, w, start, 300, 0.0)
            results.append(random_swap(data, w, run, lloyd, check_random_state(11)))
    finally:
        numba.set_num_threads(before)
    a, b = results
    assert a.centers.dtype == np.float32
    np.testing.assert_array_equal(a.centers, b.centers)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.inertia == b.inertia


def test_random_swap_keeps_a_good_run_and_respects_weights():
    X, true = grid_clusters(3, 100, spread=0.05)
    data = engine_data(X)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=len(X))
    run = lloyd(data, w, true, 300, 0.0)
    kept = random_swap(data, w, run, lloyd, check_random_state(0))
    assert kept.inertia <= run.inertia
    assert centroid_index(kept.centers, true) == 0
    with pytest.raises(ValueError, match="at least 1"):
        random_swap(data, w, run, lloyd, check_random_state(0), n_neighbours=0)


def split_groups(n, k, n_numeric=8, seed=0):
    """A prepared customer-like table: k groups of uneven sizes and spreads in
    standardised numeric columns, and a categorical column one-hot encoded whose level
    splits each group over two values (so every group is two nearby sub-blobs, the
    shape where one k-means++ start puts two centers in one group). Rows in random order.
    """
    rng = np.random.default_rng(seed)
    means = rng.uniform(-10, 10, (k, n_numeric))
    sizes = rng.uniform(1, 4, k)
    group = rng.choice(k, n, p=sizes / sizes.sum())
    spreads = rng.uniform(0.5, 1.5, k)
    X = means[group] + rng.normal(size=(n, n_numeric)) * spreads[group, None]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    levels = (group + rng.integers(0, 2, n)) % k
    return np.ascontiguousarray(np.hstack([X, np.eye(k)[levels]]))


# (data seed, random_state) pairs where one k-means++ start and Lloyd stop >15 % above
# the best of five starts, at a size where the default refines on a subsample.
LARGE_SMALL_K = [(2, 0), (2, 3), (3, 4)]


@pytest.mark.parametrize(("data_seed", "state"), LARGE_SMALL_K)
def test_default_reaches_the_best_of_several_starts_on_large_n_small_k(data_seed, state):
    k = 8
    X = split_groups(150_000, k, seed=data_seed)
    assert engine_data(X).row_work * k > REFINE_AUTO_MAX_WORK  # the subsample path
    plain = [KMeans(k, random_state=s, refine=False).fit(X).inertia_ for s in range(5)]
    best = min(plain)
    assert plain[state] > 1.15 * best  # the case is a hard one for a single start
    model = KMeans(k, random_state=state).fit(X)
    assert model.inertia_ <= best * (1 + 1e-6)
    # A fixed point of Lloyd on all rows: one more pass changes nothing.
    again = lloyd(engine_data(X), np.ones(len(X)), model.cluster_centers_, 300, 0.0)
    np.testing.assert_array_equal(again.labels, model.labels_)
    assert again.n_iter <= 1


def test_subsample_refinement_is_deterministic_across_thread_counts():
    X = split_groups(150_000, 8, seed=2).astype(np.float32)
    results = []
    before = numba.get_num_threads()
    try:
        for threads in (numba.config.NUMBA_NUM_THREADS, 1):
            numba.set_num_threads(threads)
            results.append(KMeans(8, random_state=0).fit(X))
    finally:
        numba.set_num_threads(before)
    a, b = results
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_


def test_refine_mode_resolves_the_option():
    small = engine_data(np.zeros((100, 2)))
    large = engine_data(np.zeros((200_000, 16)))
    assert refine_mode("auto", small, 8) == "all"
    assert refine_mode("auto", large, 8) == "sample"
    assert refine_mode(True, large, 8) == "all"
    # a sample of more than half the rows (large k for n): every row, budgeted locally
    assert refine_mode("auto", large, 512) == "local"
    assert refine_mode(True, large, 512) == "all"
    assert refine_mode(False, small, 8) is None
    assert refine_mode("auto", engine_data(sp.csr_matrix(np.ones((300_000, 8)))), 8) is None


def many_small_clusters(n, k, n_features, seed):
    """k separated Gaussian blobs at uniform places in a (-10, 10) box, n / k rows each on
    average, rows in random order (the generated grid's "separated" draws)."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(-10, 10, size=(k, n_features))
    labels = rng.integers(k, size=n)
    spread = 0.08 * 20.0 * k ** (-1.0 / n_features)
    X = means[labels] + rng.standard_normal((n, n_features)) * spread
    return np.ascontiguousarray(X)


@pytest.mark.parametrize("data_seed", [1, 2])
def test_default_refines_every_row_of_many_small_clusters(data_seed):
    # 120 clusters of ~75 rows: the subsample would hold most rows, so 'auto' refines
    # every row under the local budget (it used not to refine such fits at all).
    k = 120
    X = many_small_clusters(9_000, k, 24, data_seed)
    assert refine_mode("auto", engine_data(X), k) == "local"
    plain = KMeans(k, random_state=0, refine=False).fit(X)
    model = KMeans(k, random_state=0).fit(X)
    assert model.inertia_ < 0.97 * plain.inertia_
    # A fixed point of Lloyd on all rows: one more pass changes nothing.
    again = lloyd(engine_data(X), np.ones(len(X)), model.cluster_centers_, 300, 0.0)
    np.testing.assert_array_equal(again.labels, model.labels_)
    assert again.n_iter <= 1


def test_local_refinement_is_deterministic_across_thread_counts():
    X = many_small_clusters(9_000, 120, 24, 1).astype(np.float32)
    results = []
    before = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            results.append(KMeans(120, random_state=3).fit(X))
    finally:
        numba.set_num_threads(before)
    a, b = results
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_


def test_local_refinement_trials_stay_within_a_share_of_the_fit(monkeypatch):
    # The trials' work budget is bounded by the fit's own work (its seeding and its
    # iterations, in assignment passes) and by the rows' values, and the kernel keeps to
    # it (within the last trial, which may start just under the budget).
    import centroids.engine.refine as refine_module
    from centroids.settings import REFINE_LOCAL_FIT_SHARE, REFINE_LOCAL_ROW_WORK

    k = 120
    X = many_small_clusters(9_000, k, 24, 2)
    seen = []
    real_kernel = refine_module.swap_kernels.random_swap

    def spy(*args):
        out = real_kernel(*args)
        seen.append((args[10], out[3]))  # work_budget, work spent
        return out

    real_swap = refine_module.random_swap
    runs = []

    def swap_spy(data, sample_weight, run, *args, **kwargs):
        runs.append(run.n_iter)
        return real_swap(data, sample_weight, run, *args, **kwargs)

    monkeypatch.setattr(refine_module.swap_kernels, "random_swap", spy)
    monkeypatch.setattr(refine_module, "random_swap", swap_spy)
    KMeans(k, random_state=0, n_init=1).fit(X)
    assert len(seen) == 1 and len(runs) == 1
    budget, work = seen[0]
    values = X.shape[0] * X.shape[1]
    fit_passes = runs[0] + 2 + np.log(k)
    assert budget <= REFINE_LOCAL_FIT_SHARE * fit_passes * values * k * (1 + 1e-12)
    assert budget <= REFINE_LOCAL_ROW_WORK * values
    trial_most = 2 * (3 * values / k * 8 * 8 + 1) * 24 * 3  # a generous one-trial bound
    assert 0 < work <= budget + trial_most
