"""Exact accelerated iterations (Hamerly, Elkan, Yinyang) against Lloyd's.

From the same initial centers the bounded drivers must return Lloyd's labels, n_iter,
centers and inertia. The data is continuous random data (no two centers equally near
a row up to rounding), so equality is asserted exactly, not within a tolerance.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from centroids._kernels import bounded as kernels
from centroids.engine import bounded, engine_data, lloyd
from centroids.engine.bounded import elkan, hamerly, yinyang, yinyang_groups
from centroids.settings import BOUNDED_PRODUCT_MIN_WORK, CHUNK_ROWS, GEMM_MIN_FEATURES

import naive
from arrays import stdout_per_thread_count

ALGORITHMS = [hamerly, elkan, yinyang]
DTYPES = [np.float32, np.float64]
LAYOUTS = ["dense", "csr"]


def clustered(n, d, k, seed, dtype, layout, spread=1.0, sparsity=0.0):
    """Continuous random rows around k random means, with positive random weights."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d)) * 4.0
    X = means[rng.integers(0, k, n)] + rng.normal(size=(n, d)) * spread
    if sparsity:
        X[rng.random((n, d)) < sparsity] = 0.0
    X = X.astype(dtype)
    weights = rng.uniform(0.5, 2.0, n).astype(dtype)
    if layout == "csr":
        X = sp.csr_matrix(X)
    return X, weights


def initial_centers(X, k, seed):
    """k distinct rows of X (dense, in X's dtype)."""
    rng = np.random.default_rng(seed + 1000)
    rows = rng.choice(X.shape[0], size=k, replace=False)
    chosen = X[rows]
    return np.asarray(chosen.toarray() if sp.issparse(chosen) else chosen)


def same_run(run, reference):
    return (
        run.n_iter == reference.n_iter
        and np.array_equal(run.labels, reference.labels)
        and np.array_equal(run.centers, reference.centers)
        and run.centers.dtype == reference.centers.dtype
        and run.inertia == reference.inertia
    )


def assert_same_run(run, reference):
    assert run.n_iter == reference.n_iter
    np.testing.assert_array_equal(run.labels, reference.labels)
    np.testing.assert_array_equal(run.centers, reference.centers)
    assert run.centers.dtype == reference.centers.dtype
    assert run.inertia == reference.inertia


def assert_same_as_lloyd(algorithm, X, weights, centers, max_iter, tol):
    """``algorithm`` gives Lloyd's run; for float32 X with fewer than
    ``GEMM_MIN_FEATURES`` features or in CSR form, unless Lloyd's float32 arithmetic
    met a genuine near-tie.

    The bounded kernels choose labels by float64 distances, and so does Lloyd's
    matrix-product assignment (from ``GEMM_MIN_FEATURES`` dense features on: it
    resolves the rows its float32 rounding cannot tell apart exactly); Lloyd's direct
    and CSR float32 assignments round in float32. Where the runs differ, the first
    iteration whose
    centers differ is found, and every row Lloyd labelled differently from the exact
    nearest center of the previous (shared) centers must be a near-tie at float32
    precision; with no such row the difference came from relocating an empty cluster,
    whose farthest-point choice also compares float32 distances.
    """
    data = engine_data(X)
    reference = lloyd(data, weights, centers, max_iter, tol)
    run = algorithm(data, weights, centers, max_iter, tol)
    exact_lloyd = not sp.issparse(X) and X.shape[1] >= GEMM_MIN_FEATURES
    if X.dtype == np.float64 or exact_lloyd or same_run(run, reference):
        assert_same_run(run, reference)
        return
    shared_centers = np.asarray(centers, dtype=X.dtype)
    for m in range(1, max_iter + 1):
        at_m = lloyd(data, weights, centers, m, tol)
        if not np.array_equal(at_m.centers, algorithm(data, weights, centers, m, tol).centers):
            break
        shared_centers = at_m.centers
    lloyd_labels, _, _ = data.assign_labels(weights, shared_centers)
    dense = naive.as_dense64(X)
    D = naive.sq_distances(dense, shared_centers)
    exact_labels = np.argmin(D, axis=1)
    differ = np.flatnonzero(lloyd_labels != exact_labels)
    if differ.size == 0:
        assert np.bincount(exact_labels, minlength=len(centers)).min() == 0
        return
    scale = (dense[differ] ** 2).sum(axis=1) + (shared_centers.astype(np.float64) ** 2).sum(
        axis=1
    ).max()
    gap = np.abs(D[differ, lloyd_labels[differ]] - D[differ, exact_labels[differ]])
    assert np.all(gap <= 1e-5 * scale), (gap, scale)


# -- whole runs against lloyd --------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 700),
    d=st.integers(1, 12),
    k=st.integers(1, 12),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from(DTYPES),
    layout=st.sampled_from(LAYOUTS),
    max_iter=st.integers(1, 30),
    tol=st.sampled_from([0.0, 1e-3, 1.0]),
)
def test_same_run_as_lloyd_on_random_data(n, d, k, seed, dtype, layout, max_iter, tol):
    k = min(k, n)
    X, weights = clustered(n, d, k, seed, dtype, layout, sparsity=0.3 if layout == "csr" else 0)
    centers = initial_centers(X, k, seed)
    for algorithm in ALGORITHMS:
        assert_same_as_lloyd(algorithm, X, weights, centers, max_iter, tol)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("n", "d", "k"), [(3000, 1, 7), (2500, 5, 50), (1200, 40, 30), (1100, 100, 12)]
)
def test_same_run_as_lloyd_on_many_chunks(n, d, k, dtype, layout):
    assert n > 4 * CHUNK_ROWS
    X, weights = clustered(n, d, k, seed=d + k, dtype=dtype, layout=layout, spread=1.5)
    centers = initial_centers(X, k, seed=d)
    assert lloyd(engine_data(X), weights, centers, 100, 0.0).n_iter > 2
    for algorithm in ALGORITHMS:
        assert_same_as_lloyd(algorithm, X, weights, centers, 100, 0.0)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_tolerance_stop_and_final_assignment_match_lloyd(algorithm):
    X, weights = clustered(2000, 3, 20, seed=5, dtype=np.float64, layout="dense", spread=3.0)
    centers = initial_centers(X, 20, seed=5)
    data = engine_data(X)
    for tol in (1e-2, 1e-1):
        reference = lloyd(data, weights, centers, 100, tol)
        run = algorithm(data, weights, centers, 100, tol)
        assert_same_run(run, reference)
    # The returned labels are the nearest centers to the returned centers.
    labels, _ = naive.nearest_centers(X, run.centers)
    np.testing.assert_array_equal(run.labels, labels)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_verbose_output_is_lloyds(algorithm, capsys):
    X, weights = clustered(600, 2, 5, seed=2, dtype=np.float64, layout="dense")
    centers = initial_centers(X, 5, seed=2)
    data = engine_data(X)
    lloyd(data, weights, centers, 50, 0.0, verbose=True)
    expected = capsys.readouterr().out
    algorithm(data, weights, centers, 50, 0.0, verbose=True)
    assert capsys.readouterr().out == expected
    assert "strict convergence" in expected


# -- empty clusters -------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_relocation_of_empty_clusters_matches_lloyd(algorithm, dtype, layout):
    X, weights = clustered(900, 4, 6, seed=9, dtype=dtype, layout=layout)
    dense = np.asarray(X.toarray() if sp.issparse(X) else X)
    # Duplicated initial centers: the second copy of each gets no row (ties go to the
    # lowest index), so the first update relocates; a far-away point is taken.
    centers = np.vstack([dense[:3], dense[:3], dense[10:14]])
    labels, _ = naive.nearest_centers(dense, centers)
    assert set(range(3, 6)).isdisjoint(labels)
    assert len(np.unique(lloyd(engine_data(X), weights, centers, 100, 0.0).labels)) == 10
    assert_same_as_lloyd(algorithm, X, weights, centers, 100, 0.0)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_more_clusters_than_distinct_points_keeps_finite_centers(algorithm):
    X = np.repeat(np.array([[0.0, 1.0], [3.0, 2.0], [5.0, -1.0]]), 40, axis=0)
    weights = np.ones(len(X))
    centers = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [4.0, 0.0], [9.0, 9.0]])
    data = engine_data(X)
    reference = lloyd(data, weights, centers, 20, 0.0)
    run = algorithm(data, weights, centers, 20, 0.0)
    assert np.isfinite(run.centers).all()
    assert_same_run(run, reference)


# -- the kernels ------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    k=st.integers(1, 15),
    d=st.integers(1, 6),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from(DTYPES),
)
def test_center_distances_match_reference(k, d, seed, dtype):
    centers = np.random.default_rng(seed).normal(size=(k, d)).astype(dtype)
    half = np.empty(k)
    kernels.half_distance_to_nearest_center(centers, half)
    np.testing.assert_allclose(half, naive.half_distance_to_nearest_center(centers), rtol=1e-12)
    matrix = np.empty((k, k))
    kernels.center_distance_matrix(centers, matrix)
    np.testing.assert_allclose(matrix, naive.center_distance_matrix(centers), rtol=1e-12)


def _pass_state(algorithm, data, k, centers):
    state = {
        hamerly: bounded._Hamerly,
        elkan: bounded._Elkan,
        yinyang: lambda data, k: bounded._Yinyang(data, k, centers),
    }[algorithm](data, k)
    return state


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 2 * CHUNK_ROWS + 50),
    d=st.integers(1, 14),
    k=st.integers(1, 25),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from(DTYPES),
    layout=st.sampled_from(LAYOUTS),
    step=st.floats(0.01, 3.0),
)
def test_bounded_pass_gives_nearest_centers_and_valid_bounds(n, d, k, seed, dtype, layout, step):
    check_full_and_bounded_pass(n, d, k, seed, dtype, layout, step)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("d", "k", "step"), [(16, 64, 0.5), (40, 200, 2.0), (9, 128, 0.05)])
def test_rows_failing_their_bounds_take_exact_labels_through_the_product(d, k, step, dtype):
    # Enough failing rows per chunk (rows × k × d ≥ BOUNDED_PRODUCT_MIN_WORK) for the
    # gathered matrix product in X's dtype; the labels must still be the exact argmin.
    assert 8 * k * d >= BOUNDED_PRODUCT_MIN_WORK
    check_full_and_bounded_pass(4 * CHUNK_ROWS + 7, d, k, d + k, dtype, "dense", step)


def check_full_and_bounded_pass(n, d, k, seed, dtype, layout, step):
    """A full pass, then a bounded one after the centers moved by about ``step``: both
    give the exact nearest centers, valid bounds and the right count of changes."""
    X, _ = clustered(n, d, k, seed, dtype, layout)
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)).astype(dtype) * 4.0
    moved = (centers + rng.normal(size=(k, d)) * step).astype(dtype)
    shift = np.sqrt(((moved.astype(np.float64) - centers) ** 2).sum(axis=1))
    dense = np.asarray(X.toarray() if sp.issparse(X) else X)
    for algorithm in ALGORITHMS:
        state = _pass_state(algorithm, engine_data(X), k, centers)
        group_of = getattr(state, "group_of", None)
        state.assign(centers, np.zeros(k), full=True)
        # Elkan keeps its bounds offset by the total shift of each center.
        lower = state.lower - getattr(state, "total_shift", 0.0)
        np.testing.assert_array_equal(state.labels, naive.nearest_centers(dense, centers)[0])
        assert naive.bounds_hold(dense, centers, state.labels, state.upper, lower, group_of)
        n_changed_expected = int((naive.nearest_centers(dense, moved)[0] != state.labels).sum())
        n_changed, n_distances = state.assign(moved, shift, full=False)
        np.testing.assert_array_equal(state.labels, naive.nearest_centers(dense, moved)[0])
        lower = state.lower - getattr(state, "total_shift", 0.0)
        assert naive.bounds_hold(dense, moved, state.labels, state.upper, lower, group_of)
        assert n_changed == n_changed_expected
        assert n_distances <= n * k + n


def test_yinyang_groups_are_deterministic_and_cover_every_group():
    centers = np.random.default_rng(0).normal(size=(57, 3))
    groups = yinyang_groups(centers, 6)
    np.testing.assert_array_equal(groups, yinyang_groups(centers, 6))
    assert groups.shape == (57,)
    assert set(groups.tolist()) == set(range(groups.max() + 1))
    assert 1 <= groups.max() + 1 <= 6
    assert (yinyang_groups(centers, 1) == 0).all()


# -- memory budget -------------------------------------------------------------------------


def test_elkan_over_the_memory_budget_runs_as_yinyang_with_the_same_result(monkeypatch):
    X, weights = clustered(1500, 3, 30, seed=4, dtype=np.float64, layout="dense")
    centers = initial_centers(X, 30, seed=4)
    data = engine_data(X)
    reference = lloyd(data, weights, centers, 100, 0.0)
    budget = 1500 * 8 * 2  # room for 2 bounds per row: not Elkan's 30, Yinyang's 2 groups
    monkeypatch.setattr(bounded, "BOUNDS_MEMORY_BUDGET", budget)
    assert not bounded.elkan_fits_in_budget(1500, 30)
    assert bounded.yinyang_n_groups(1500, 30) == 2
    made = []
    original = bounded._Yinyang

    def recording_yinyang(*args):
        made.append(original(*args))
        return made[-1]

    monkeypatch.setattr(bounded, "_Yinyang", recording_yinyang)
    assert_same_run(elkan(data, weights, centers, 100, 0.0), reference)
    assert len(made) == 1 and made[0].lower.nbytes <= budget


# -- fewer distances -----------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_far_fewer_distances_than_lloyd_on_clustered_data(algorithm, layout):
    n, k = 4000, 20
    X, weights = clustered(n, 6, k, seed=1, dtype=np.float64, layout=layout, spread=0.7)
    centers = initial_centers(X, k, seed=1)
    counts = []
    run = algorithm(engine_data(X), weights, centers, 100, 0.0, distance_counts=counts)
    assert len(counts) in (run.n_iter, run.n_iter + 1)
    assert counts[0] == n * k  # the first pass computes everything
    assert sum(counts) < 0.4 * n * k * len(counts)
    assert max(counts[1:]) < 0.5 * n * k


# -- threads -------------------------------------------------------------------------------


def test_numba_num_threads_environment_does_not_change_the_result():
    script = (
        "import hashlib, numpy as np, scipy.sparse as sp\n"
        "from centroids.engine import engine_data\n"
        "from centroids.engine.bounded import hamerly, elkan, yinyang\n"
        "rng = np.random.default_rng(3)\n"
        "X = (rng.normal(size=(6000, 5)) + rng.integers(0, 4, (6000, 1)) * 3).astype(np.float32)\n"
        "w = rng.uniform(0.5, 2, 6000).astype(np.float32)\n"
        "for Xs in (X, sp.csr_matrix(np.where(X > 1, X, 0))):\n"
        "    for f in (hamerly, elkan, yinyang):\n"
        "        r = f(engine_data(Xs), w, X[:23].copy(), 100, 0.0)\n"
        "        h = hashlib.sha256(r.labels.tobytes() + r.centers.tobytes())\n"
        "        print(f.__name__, h.hexdigest(), r.n_iter, repr(r.inertia))\n"
    )
    outputs = stdout_per_thread_count(script)
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") == 6
