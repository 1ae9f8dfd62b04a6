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


def sparse_lp_optimum(X, centers, lo, hi, weights=None):
    """The transportation LP with sparse constraint matrices (large problems), HiGHS."""
    import scipy.sparse as sp

    n, k = len(X), len(centers)
    cost = ((X[:, None, :].astype(float) - centers[None].astype(float)) ** 2).sum(-1)
    if weights is not None:
        cost = cost * weights[:, None]
    var = np.arange(n * k)
    rows = sp.csr_matrix((np.ones(n * k), (var // k, var)), shape=(n, n * k))
    cols = sp.csr_matrix((np.ones(n * k), (var % k, var)), shape=(k, n * k))
    res = linprog(
        cost.ravel(),
        A_ub=sp.vstack([cols, -cols]).tocsr(),
        b_ub=np.r_[np.full(k, hi), np.full(k, -lo)],
        A_eq=rows,
        b_eq=np.ones(n),
        method="highs",
    )
    assert res.status == 0
    return res.fun


def large_problem(seed, n=40_400, k=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    X[: n // 2] += 2.5  # one dense half: the bounds move many rows
    centers = X[rng.choice(n, k, replace=False)].copy()
    return X, centers, int(0.9 * n / k), int(np.ceil(1.1 * n / k))


def test_sampled_cold_start_on_a_large_problem_matches_lp_optimum():
    # more than COLD_SAMPLE_MIN rows: the prices start from the stride sample's problem
    from centroids.engine.constrained import COLD_SAMPLE_MIN

    X, centers, lo, hi = large_problem(0)
    assert len(X) > COLD_SAMPLE_MIN
    labels, objective = assign_with_size_bounds(X, centers, lo, hi)
    sizes = np.bincount(labels, minlength=len(centers))
    assert sizes.min() >= lo and sizes.max() <= hi
    assert objective == pytest.approx(sparse_lp_optimum(X, centers, lo, hi), rel=1e-7)


def test_warm_start_from_other_centers_prices_matches_lp_optimum():
    X, centers, lo, hi = large_problem(1)
    _, _, prices = assign_with_size_bounds(X, centers, lo, hi, return_prices=True)
    rng = np.random.default_rng(1)
    # a small move (late Lloyd iterations) and a large one (the resampling path)
    for step in (0.05, 1.0):
        moved = centers + rng.normal(scale=step, size=centers.shape)
        warm, objective = assign_with_size_bounds(X, moved, lo, hi, prices=prices)
        sizes = np.bincount(warm, minlength=len(centers))
        assert sizes.min() >= lo and sizes.max() <= hi
        optimum = sparse_lp_optimum(X, moved, lo, hi)
        assert objective == pytest.approx(optimum, rel=1e-7)


@pytest.mark.parametrize("seed", range(6))
def test_weighted_assignment_matches_weighted_lp_optimum(seed):
    X, centers, lo, hi = random_problem(seed)
    rng = np.random.default_rng(100 + seed)
    weights = rng.choice([0.0, 0.5, 1.0, 3.0], size=len(X))
    labels, objective = assign_with_size_bounds(X, centers, lo, hi, sample_weight=weights)
    sizes = np.bincount(labels, minlength=len(centers))
    assert sizes.min() >= lo and sizes.max() <= hi  # the bounds count rows
    cost = (weights * ((X.astype(float) - centers.astype(float)[labels]) ** 2).sum(1)).sum()
    assert cost == pytest.approx(objective, rel=1e-9, abs=1e-9)
    optimum = sparse_lp_optimum(X, centers, lo, hi, weights)
    assert objective == pytest.approx(optimum, rel=1e-6, abs=1e-6)


def test_weight_two_is_the_row_twice_where_the_bounds_do_not_bind():
    # The bounds count rows, so a row of weight 2 is one row where its copy would be two:
    # the equivalence holds where no bound is active at the optimum (loose bounds).
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 3))
    X[:80] += 4
    weights = rng.integers(1, 3, size=200).astype(float)
    repeated = np.repeat(X, weights.astype(int), axis=0)
    init = X[[0, 100, 150]]
    a = SizeConstrainedKMeans(3, size_min=1, size_max=190, init=init, random_state=0)
    b = SizeConstrainedKMeans(3, size_min=1, size_max=380, init=init, random_state=0)
    a.fit(X, sample_weight=weights)
    b.fit(repeated)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-10)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-10)
    assert not np.array_equal(
        a.cluster_centers_, SizeConstrainedKMeans(3, init=init).fit(X).cluster_centers_
    )


def test_weight_zero_rows_never_move_a_center():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(300, 2))
    X[:100] += 5
    far = rng.normal(loc=50.0, size=(30, 2))  # would drag any center they count in
    Xz = np.vstack([X, far])
    w = np.r_[np.ones(300), np.zeros(30)]
    init = X[[0, 150, 250]]
    model = SizeConstrainedKMeans(3, size_min=100, size_max=120, init=init).fit(Xz, sample_weight=w)
    sizes = np.bincount(model.labels_, minlength=3)
    assert sizes.min() >= 100 and sizes.max() <= 120  # weight-0 rows take places too
    assert np.abs(model.cluster_centers_).max() < 20
    # without bounds, the zero-weight rows change nothing at all
    free = SizeConstrainedKMeans(3, init=init).fit(Xz, sample_weight=w)
    alone = SizeConstrainedKMeans(3, init=init).fit(X)
    np.testing.assert_allclose(free.cluster_centers_, alone.cluster_centers_)
    np.testing.assert_array_equal(free.labels_[:300], alone.labels_)


def test_large_fit_starts_from_a_constrained_fit_on_a_sample(monkeypatch):
    """Above CONSTRAINED_SAMPLE_START_MIN_ROWS a run first fits a uniform sample under the
    bounds scaled to it; the run on all rows then ends at a fixed point of its own: sizes in
    the bounds, every row at its optimal bounded assignment for the final centers, the
    centers near their clusters' means, and the same result from the same seed."""
    from centroids.models import constrained as model_module

    monkeypatch.setattr(model_module, "CONSTRAINED_SAMPLE_START_MIN_ROWS", 1_000)
    monkeypatch.setattr(model_module, "CONSTRAINED_SAMPLE_START_ROWS_PER_CLUSTER", 60)
    runs = []
    original = model_module._constrained_lloyd

    def recording(X, *args, **kwargs):
        runs.append(X.shape[0])
        return original(X, *args, **kwargs)

    monkeypatch.setattr(model_module, "_constrained_lloyd", recording)
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(c, 0.7, size=(s, 3)) for c, s in ((0, 900), (4, 500), (9, 600))])
    X = X[rng.permutation(len(X))]
    k, lo, hi = 5, 380, 420
    model = SizeConstrainedKMeans(k, size_min=lo, size_max=hi, n_init=2, random_state=0).fit(X)
    assert runs == [300, 2_000, 300, 2_000]  # each run: the sample's fit, then all rows
    sizes = np.bincount(model.labels_, minlength=k)
    assert sizes.min() >= lo and sizes.max() <= hi
    labels, _ = assign_with_size_bounds(X, model.cluster_centers_, lo, hi)
    np.testing.assert_array_equal(labels, model.labels_)
    means = np.stack([X[model.labels_ == j].mean(axis=0) for j in range(k)])
    # the run stops once the cost stops falling: centers within a small shift of the means
    np.testing.assert_allclose(model.cluster_centers_, means, atol=0.1)
    again = SizeConstrainedKMeans(k, size_min=lo, size_max=hi, n_init=2, random_state=0).fit(X)
    np.testing.assert_array_equal(again.cluster_centers_, model.cluster_centers_)


@pytest.mark.parametrize("seed", range(4))
def test_distances_recomputed_per_pass_match_lp_optimum(monkeypatch, seed):
    # above MAX_COST_ENTRIES the passes recompute the distances from X instead of reading
    # the cost matrix: the same optimum
    from centroids.engine import constrained as engine

    monkeypatch.setattr(engine, "MAX_COST_ENTRIES", 0)
    X, centers, lo, hi = random_problem(seed)
    labels, objective = assign_with_size_bounds(X, centers, lo, hi)
    sizes = np.bincount(labels, minlength=len(centers))
    assert sizes.min() >= lo and sizes.max() <= hi
    assert objective == pytest.approx(lp_optimum(X, centers, lo, hi), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_tight_bounds_many_clusters_warm_and_cold_match_lp_optimum(seed):
    # size_min == size_max with k = 8: the price phase and the paths must meet every
    # size exactly, from zero prices and from another problem's prices
    rng = np.random.default_rng(40 + seed)
    n, k = 2_400, 8
    X = rng.normal(size=(n, 3))
    X[: n // 2] *= 0.3  # one dense core that the bounds must cut
    centers = X[rng.choice(n, k, replace=False)].copy()
    lo = hi = n // k
    labels, objective, prices = assign_with_size_bounds(X, centers, lo, hi, return_prices=True)
    assert np.bincount(labels, minlength=k).tolist() == [lo] * k
    assert objective == pytest.approx(sparse_lp_optimum(X, centers, lo, hi), rel=1e-7)
    moved = centers + rng.normal(scale=0.3, size=centers.shape)
    warm, objective = assign_with_size_bounds(X, moved, lo, hi, prices=prices)
    assert np.bincount(warm, minlength=k).tolist() == [lo] * k
    assert objective == pytest.approx(sparse_lp_optimum(X, moved, lo, hi), rel=1e-7)


def test_many_exact_ties_are_split_at_the_optimum():
    # duplicated rows, each equally far from two centers: the price phase cannot split a
    # tie by a price, the paths must (and the result is still the LP's optimum)
    rng = np.random.default_rng(9)
    base = np.array([[0.0, 0.0], [0.0, 2.0], [3.0, 1.0], [3.0, -1.0]])
    X = np.repeat(base, 150, axis=0) + 0.0
    X = X[rng.permutation(len(X))]
    centers = np.array([[-1.0, 0.0], [1.0, 0.0], [3.0, 0.0], [0.0, 1.0]])
    for lo, hi in ((150, 150), (100, 200), (0, 160)):
        labels, objective = assign_with_size_bounds(X, centers, lo, hi)
        sizes = np.bincount(labels, minlength=4)
        assert sizes.min() >= lo and sizes.max() <= hi
        assert objective == pytest.approx(sparse_lp_optimum(X, centers, lo, hi), rel=1e-9)


@pytest.mark.parametrize("where", ["assign", "fit"])
def test_infeasible_tight_bounds_name_the_problem(where):
    X = np.random.default_rng(3).normal(size=(101, 2))
    with pytest.raises(BadParameterError, match="infeasible"):
        if where == "assign":
            assign_with_size_bounds(X, X[:4], 25, 25)
        else:
            SizeConstrainedKMeans(4, size_min=25, size_max=25).fit(X)


def test_sample_start_runs_a_ladder_of_samples(monkeypatch):
    """The sample start's own run starts from a sample SAMPLE_LADDER times smaller, down to
    SAMPLE_LADDER_MIN_PER_CLUSTER rows per cluster; the fit on all rows still ends at a
    fixed point under the bounds."""
    from centroids.models import constrained as model_module

    monkeypatch.setattr(model_module, "CONSTRAINED_SAMPLE_START_MIN_ROWS", 1_000)
    monkeypatch.setattr(model_module, "CONSTRAINED_SAMPLE_START_ROWS_PER_CLUSTER", 500)
    monkeypatch.setattr(model_module, "SAMPLE_LADDER", 5)
    monkeypatch.setattr(model_module, "SAMPLE_LADDER_MIN_PER_CLUSTER", 100)
    runs = []
    original = model_module._constrained_lloyd

    def recording(X, *args, **kwargs):
        runs.append(X.shape[0])
        return original(X, *args, **kwargs)

    monkeypatch.setattr(model_module, "_constrained_lloyd", recording)
    rng = np.random.default_rng(4)
    X = np.concatenate(
        [rng.normal(c, 0.8, size=(s, 3)) for c, s in ((0, 3000), (5, 2000), (9, 1000))]
    )
    k, lo, hi = 4, 1400, 1600
    model = SizeConstrainedKMeans(k, size_min=lo, size_max=hi, n_init=1, random_state=0).fit(X)
    assert runs == [400, 2_000, 6_000]  # 100 rows per cluster, then 500, then all rows
    sizes = np.bincount(model.labels_, minlength=k)
    assert sizes.min() >= lo and sizes.max() <= hi
    labels, _ = assign_with_size_bounds(X, model.cluster_centers_, lo, hi)
    np.testing.assert_array_equal(labels, model.labels_)
