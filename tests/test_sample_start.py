"""The sample start of large dense k-means++ fits (engine/seeding.sample_start).

A large dense fit seeds and iterates on a uniform subsample first, then iterates on every
row: the result must still be a fixed point of Lloyd on the whole data, the same for a
seed on any number of threads, honour the sample weights, and lose nothing against the
start on every row on data whose optimum is plain. The size rule is lowered here
(``SAMPLE_START_MIN_WORK``) so that small data takes the path.
"""

from unittest import mock

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils import check_random_state

from centroids import KMeans
from centroids.engine import driver, engine_data
from centroids.engine import seeding as seeding_engine
from centroids.engine.lloyd import lloyd
from centroids.engine.seeding import sample_start, sample_start_rows


def kmeans_plusplus_rows(X, n_clusters, random_state):
    """k-means++ on every row, as a callable: the start the sample start replaces."""
    data = engine_data(np.ascontiguousarray(X))
    w = np.ones(X.shape[0], dtype=X.dtype)
    return seeding_engine.kmeans_plusplus_centers(data, n_clusters, w, random_state)[0]


def blobs(n, d, k, seed, dtype=np.float64, spread=1.0):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-30, 30, size=(k, d))
    return (means[rng.integers(0, k, n)] + rng.normal(size=(n, d)) * spread).astype(dtype)


def small_rule(rows_per_cluster=40):
    """'auto' refines every dense fit on a subsample of ``rows_per_cluster`` rows a
    cluster (the start's subsample, then)."""
    return mock.patch.multiple(
        driver,
        refine_mode=lambda option, data, k: None if option is False else "sample",
        sample_rows=lambda data, k: rows_per_cluster * k,
    )


def test_sample_start_rows_only_for_k_means_plus_plus_on_dense_x_refined_on_a_sample():
    X = blobs(20_000, 8, 16, 0)
    data = engine_data(X)
    assert sample_start_rows(data, 16, "k-means++", 9_000) == 9_000
    assert sample_start_rows(data, 16, "k-means++", 0) == 0  # not refined on a sample
    for init in ("random", "k-means||", X[:16]):
        assert sample_start_rows(data, 16, init, 9_000) == 0
    assert sample_start_rows(engine_data(sp.csr_matrix(X)), 16, "k-means++", 9_000) == 0


def test_sample_start_draws_from_the_random_state_and_converges_on_the_sample():
    X = blobs(6_000, 5, 12, 1)
    data = engine_data(X)
    w = np.ones(6_000)
    first = sample_start(data, 12, w, check_random_state(3), 1_000, lloyd, 100, 0.0)
    again = sample_start(data, 12, w, check_random_state(3), 1_000, lloyd, 100, 0.0)
    sample, sample_w, run = first
    assert sample.n_rows == 1_000 and sample_w.shape == (1_000,)
    np.testing.assert_array_equal(sample.X, again[0].X)
    np.testing.assert_array_equal(run.centers, again[2].centers)
    # The sample holds rows of X, each once.
    assert np.unique(sample.X, axis=0).shape[0] == 1_000
    assert np.isin(sample.X.view([("", X.dtype)] * 5), X.view([("", X.dtype)] * 5)).all()
    # Converged on the sample: one more Lloyd pass there changes nothing.
    step = lloyd(sample, sample_w, run.centers, 1, 0.0)
    np.testing.assert_allclose(step.centers, run.centers, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_sample_started_fit_ends_at_a_lloyd_fixed_point_on_all_rows(dtype):
    X = blobs(12_000, 6, 30, 2, dtype=dtype, spread=4.0)  # overlapping: a real optimum
    calls = []
    real = driver.sample_start

    def spy(*args, **kwargs):
        calls.append(args[4])
        return real(*args, **kwargs)

    with small_rule(), mock.patch.object(driver, "sample_start", spy):
        model = KMeans(30, n_init=1, tol=0.0, max_iter=500, random_state=0)
        model.fit(X)
    assert calls == [1_200]
    centers = model.cluster_centers_
    X64 = X.astype(np.float64)
    sq = ((X64[:, None, :] - centers.astype(np.float64)[None]) ** 2).sum(axis=2)
    # Labels are the nearest centers (up to float32 rounding ties) ...
    nearest = sq.argmin(axis=1)
    gap = sq[np.arange(len(X)), model.labels_] - sq[np.arange(len(X)), nearest]
    assert np.all(gap <= (1e-4 if dtype == np.float32 else 1e-9) * (1 + sq.min(axis=1)))
    # ... and the centers the means of their rows: a fixed point of Lloyd on all rows.
    for c in range(30):
        members = X64[model.labels_ == c]
        np.testing.assert_allclose(
            centers[c], members.mean(axis=0), rtol=1e-5 if dtype == np.float32 else 1e-10
        )
    assert model.inertia_ == pytest.approx(float(gap.sum() + sq.min(axis=1).sum()), rel=1e-4)


def test_a_sample_started_fit_is_the_same_on_one_and_on_all_threads():
    rng = np.random.default_rng(4)
    X = blobs(10_000, 8, 25, 4, spread=3.0)
    w = rng.uniform(0.5, 2.0, size=10_000)
    results = []
    threads_before = numba.get_num_threads()
    try:
        with small_rule():
            for threads in (numba.config.NUMBA_NUM_THREADS, 1, numba.config.NUMBA_NUM_THREADS):
                numba.set_num_threads(threads)
                model = KMeans(25, n_init=2, random_state=11).fit(X, sample_weight=w)
                results.append(model)
    finally:
        numba.set_num_threads(threads_before)
    for other in results[1:]:
        np.testing.assert_array_equal(other.cluster_centers_, results[0].cluster_centers_)
        np.testing.assert_array_equal(other.labels_, results[0].labels_)
        assert other.inertia_ == results[0].inertia_
        assert other.n_iter_ == results[0].n_iter_


def test_a_sample_start_honours_the_sample_weights():
    # A far group of rows of weight 0 must attract no center, in the sample or after.
    X = blobs(9_000, 4, 10, 5)
    far = np.random.default_rng(6).normal(size=(3_000, 4)) + 500.0
    X = np.vstack([X, far])
    w = np.r_[np.ones(9_000), np.zeros(3_000)]
    with small_rule():
        model = KMeans(10, n_init=1, random_state=0).fit(X, sample_weight=w)
    assert np.all(np.abs(model.cluster_centers_).max(axis=1) < 100.0)


@pytest.mark.parametrize("seed", range(3))
def test_a_sample_start_finds_the_optimum_the_full_start_finds(seed):
    X = blobs(20_000, 10, 20, 10 + seed)  # separated blobs: one optimum, each blob a center
    with small_rule():
        full = KMeans(20, n_init=1, random_state=seed, init=kmeans_plusplus_rows).fit(X)
        sampled = KMeans(20, n_init=1, random_state=seed).fit(X)
    assert sampled.inertia_ <= full.inertia_ * (1 + 1e-9)


def test_refine_false_or_true_starts_on_every_row():
    X = blobs(12_000, 6, 10, 8)
    with small_rule(), mock.patch.object(driver, "sample_start") as never:
        KMeans(10, n_init=1, refine=False, random_state=0).fit(X)
    never.assert_not_called()


def test_refine_auto_on_a_sample_refines_on_the_start_sample():
    X = blobs(40_000, 4, 8, 7, spread=2.0)
    modes = []
    real = driver.refine_fit

    def spy(mode, option, data, *args, **kwargs):
        modes.append((mode, data.n_rows))
        return real(mode, option, data, *args, **kwargs)

    with small_rule(625), mock.patch.object(driver, "refine_fit", spy):
        KMeans(8, n_init=1, random_state=0).fit(X)
    assert modes == [("all", 5_000)]  # once, on the start's sample, never on all rows
