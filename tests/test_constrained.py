"""Size-constrained assignment against the transportation LP's optimum, and the estimator."""

import numpy as np
import pytest
from scipy.optimize import linprog

from centroids import BadParameterError, SizeConstrainedKMeans
from centroids.engine.constrained import assign_with_size_bounds


def lp_optimum(X, centers, lo, hi):
    """The n*k transportation LP solved by HiGHS: the oracle (integral at the optimum)."""
    n, k = len(X), len(centers)
    cost = ((X[:, None, :].astype(float) - centers[None].astype(float)) ** 2).sum(-1)
    rows = np.zeros((n, n * k))
    for i in range(n):
        rows[i, i * k : (i + 1) * k] = 1
    cols = np.zeros((k, n * k))
    for j in range(k):
        cols[j, j::k] = 1
    res = linprog(
        cost.ravel(),
        A_ub=np.vstack([cols, -cols]),
        b_ub=np.r_[np.full(k, hi), np.full(k, -lo)],
        A_eq=rows,
        b_eq=np.ones(n),
        method="highs",
    )
    assert res.status == 0
    return res.fun


def random_problem(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 301))
    k = int(rng.integers(2, 9))
    dtype = np.float32 if seed % 2 else np.float64
    X = rng.normal(size=(n, 3)).astype(dtype)
    X[: n // 3] += 3.0
    centers = X[rng.choice(n, k, replace=False)].copy()
    kind = seed % 3
    if kind == 0 and n % k == 0:
        lo = hi = n // k
    elif kind == 0:
        lo, hi = n // k, -(-n // k)
    else:
        lo = int(rng.integers(0, n // k + 1))
        hi = max(lo, int(rng.integers(-(-n // k), n + 1)))
    return X, centers, lo, hi


@pytest.mark.parametrize("seed", range(30))
def test_assignment_matches_lp_optimum(seed):
    X, centers, lo, hi = random_problem(seed)
    labels, objective = assign_with_size_bounds(X, centers, lo, hi)
    sizes = np.bincount(labels, minlength=len(centers))
    assert sizes.min() >= lo and sizes.max() <= hi
    cost = ((X.astype(float) - centers.astype(float)[labels]) ** 2).sum()
    assert cost == pytest.approx(objective, rel=1e-9)
    assert objective == pytest.approx(lp_optimum(X, centers, lo, hi), rel=1e-6, abs=1e-6)


def test_ties_are_split_to_meet_the_bounds():
    X = np.zeros((10, 2))  # every row equally far from both centers
    centers = np.array([[1.0, 0.0], [-1.0, 0.0]])
    labels, objective = assign_with_size_bounds(X, centers, 5, 5)
    assert np.bincount(labels).tolist() == [5, 5]
    assert objective == pytest.approx(10.0)


@pytest.mark.parametrize("lo, hi, word", [(4, None, "size_min"), (0, 2, "size_max")])
def test_infeasible_bounds_name_them(lo, hi, word):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(BadParameterError, match=word):
        assign_with_size_bounds(X, X[:3], lo, hi)
    with pytest.raises(BadParameterError, match=word):
        SizeConstrainedKMeans(3, size_min=lo, size_max=hi).fit(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_estimator_respects_bounds_and_is_reproducible(dtype):
    X = np.random.default_rng(1).normal(size=(600, 4)).astype(dtype)
    X[:400] += 4
    model = SizeConstrainedKMeans(4, size_min=140, size_max=160, random_state=3)
    labels = model.fit_predict(X)
    sizes = np.bincount(labels, minlength=4)
    assert sizes.min() >= 140 and sizes.max() <= 160
    assert model.cluster_centers_.dtype == dtype
    again = SizeConstrainedKMeans(4, size_min=140, size_max=160, random_state=3).fit(X)
    np.testing.assert_array_equal(again.labels_, labels)
    np.testing.assert_array_equal(again.cluster_centers_, model.cluster_centers_)
    inertia = ((X.astype(float) - model.cluster_centers_.astype(float)[labels]) ** 2).sum()
    assert model.inertia_ == pytest.approx(inertia, rel=1e-5)
    assert model.transform(X).shape == (600, 4)
    np.testing.assert_array_equal(model.predict(X), np.argmin(model.transform(X), axis=1))
    batch = model.predict(X[:300], constrained=True)
    sizes = np.bincount(batch, minlength=4)
    assert sizes.min() >= 70 and sizes.max() <= 80


def test_without_bounds_it_is_lloyd_at_a_fixed_point():
    X = np.random.default_rng(2).normal(size=(300, 2))
    model = SizeConstrainedKMeans(3, random_state=0).fit(X)
    np.testing.assert_array_equal(model.labels_, model.predict(X))
