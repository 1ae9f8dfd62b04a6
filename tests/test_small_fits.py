"""Small fits reach the best known optimum from a default run (issue 16, item 4)."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.datasets import make_blobs

from centroids import KMeans
from centroids.engine.driver import auto_restarts
from centroids.settings import SMALL_FIT_MAX_RESTARTS, SMALL_FIT_RESTART_BUDGET


def _runs(capsys, model, X):
    model.set_params(verbose=1).fit(X)
    return capsys.readouterr().out.count("Initialization complete")


def test_six_points_reach_the_optimum():
    X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [4, 4], [4, 0]], dtype=float)
    model = KMeans(n_clusters=2, random_state=0).fit(X)
    np.testing.assert_allclose(sorted(model.cluster_centers_.tolist()), [[1, 2], [4, 2]])
    assert model.inertia_ == pytest.approx(16.0)


@pytest.mark.parametrize(("k", "best"), [(2, 9.9805), (3, 6.0337)])
def test_elbow_data_reach_best_of_ten(k, best):
    # The same values as np.random.seed(0); np.random.rand(100, 2).
    X = np.random.RandomState(0).rand(100, 2)
    assert KMeans(n_clusters=k, random_state=0).fit(X).inertia_ <= best + 1e-4


def test_generated_family_matches_sklearn_best_of_ten():
    rng = np.random.default_rng(2026)
    for draw in range(10):
        n = int(rng.integers(50, 2001))
        d = int(rng.integers(2, 9))
        k = int(rng.integers(2, 11))
        spread = float(rng.uniform(0.5, 4.0))
        seed = int(rng.integers(1 << 30))
        X, _ = make_blobs(n, n_features=d, centers=k, cluster_std=spread, random_state=seed)
        ours = KMeans(n_clusters=k, random_state=seed).fit(X).inertia_
        theirs = SklearnKMeans(n_clusters=k, n_init=10, random_state=seed).fit(X).inertia_
        assert ours <= theirs * 1.001, (draw, n, d, k, spread, ours, theirs)


def test_restart_count_follows_the_budget(capsys):
    X = np.random.default_rng(0).normal(size=(100, 2))
    assert auto_restarts(X, 3) == SMALL_FIT_MAX_RESTARTS
    assert _runs(capsys, KMeans(3, random_state=0), X) == SMALL_FIT_MAX_RESTARTS
    # One run's work above half the budget: a single run, as before.
    n = SMALL_FIT_RESTART_BUDGET // (8 * 8) // 2 + 1
    big = np.zeros((n, 8))
    assert auto_restarts(big, 8) == 1
    # Between: as many runs as the budget holds.
    mid = np.zeros((SMALL_FIT_RESTART_BUDGET // (4 * 4 * 5), 4))
    assert auto_restarts(mid, 4) == 5
    # Sparse X counts its non-zeros.
    csr = sp.random(20000, 1000, density=0.001, format="csr", random_state=0)
    assert auto_restarts(csr, 4) == max(1, min(20, SMALL_FIT_RESTART_BUDGET // (csr.nnz * 4)))


def test_explicit_n_init_and_given_starts_are_kept(capsys):
    X = np.random.default_rng(0).normal(size=(100, 2))
    assert _runs(capsys, KMeans(3, n_init=3, random_state=0), X) == 3
    assert _runs(capsys, KMeans(3, n_init=1, random_state=0), X) == 1
    assert _runs(capsys, KMeans(3, init=X[:3], random_state=0), X) == 1
    callable_init = lambda X, k, random_state: X[:k]  # noqa: E731
    assert _runs(capsys, KMeans(3, init=callable_init, random_state=0), X) == 10


def test_same_seed_same_result():
    X, _ = make_blobs(300, n_features=3, centers=5, random_state=1)
    first = KMeans(5, random_state=7).fit(X)
    second = KMeans(5, random_state=7).fit(X)
    np.testing.assert_array_equal(first.cluster_centers_, second.cluster_centers_)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    assert first.inertia_ == second.inertia_
