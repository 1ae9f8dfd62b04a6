"""Every numba kernel against its slow NumPy reference in tests/naive.py.

Small random problems come from hypothesis; a few deterministic problems with more
rows than ``CHUNK_ROWS`` cover the multi-chunk paths. Every kernel runs for float32
and float64 and, where a sparse twin exists, for C-ordered dense arrays and CSR.
Assignment kernels compute in X's dtype (direct differences for low d, the expanded
form ``||x||² - 2x·c + ||c||²`` through a matrix product for high d and for CSR), so
their tolerance is relative to ``||x||² + ||c||²``: about 1e-10 in float64 and 1e-5 in
float32. Sums and variances accumulate in float64. Where two centers are nearly
equidistant from a row, either label is accepted (``check_assignment``); exact ties
(duplicated centers) must go to the lowest index.
"""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from centroids._kernels import dense, labels, sparse
from centroids.engine.data import _scaled_transposed_centers, gemm_centers, product_error_bound
from centroids.settings import (
    CHUNK_ROWS,
    CLUSTER_SUMS_BLOCKS,
    CLUSTER_SUMS_SCRATCH,
    GEMM_ONE_PASS_MIN_CLUSTERS,
    REDUCTION_BLOCKS,
)

import naive
from arrays import finite_floats

DTYPES = [np.float32, np.float64]
LAYOUTS = ["dense", "csr"]
# The three assignment kernels: dense direct differences, dense matrix product, CSR.
ASSIGN_PATHS = ["direct", "gemm", "csr"]
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}
TINY = 1e-290  # absolute floor for values that underflow in both implementations
# Absolute floor for distances computed in X's dtype: in float32 a squared difference
# below float32's smallest subnormal (~1.4e-45) rounds to zero, where float64 keeps it.
DISTANCE_FLOOR = {np.dtype(np.float32): 1e-40, np.dtype(np.float64): TINY}

SETTINGS = settings(max_examples=50, deadline=None)


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def weights_of(dtype):
    return st.floats(0.0, 10.0, allow_subnormal=False, width=np.dtype(dtype).itemsize * 8)


@st.composite
def matrices(draw, dtype, n_rows, n_features):
    """A C-ordered (n_rows, n_features) array of dtype with some entries set to zero."""
    X = draw(hnp.arrays(dtype, (n_rows, n_features), elements=finite_floats(dtype)))
    zeros = draw(hnp.arrays(np.bool_, (n_rows, n_features)))
    return np.ascontiguousarray(np.where(zeros, 0, X), dtype=dtype)


@st.composite
def problems(draw, dtype, max_n=60, max_d=6, max_k=6):
    """(X, sample_weight, centers), all of ``dtype``."""
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, max_d))
    k = draw(st.integers(1, max_k))
    X = draw(matrices(dtype, n, d))
    centers = draw(matrices(dtype, k, d))
    sample_weight = draw(hnp.arrays(dtype, n, elements=weights_of(dtype)))
    return X, sample_weight, centers


def label_arrays(n, k):
    return hnp.arrays(np.int32, n, elements=st.integers(0, k - 1))


def random_problem(dtype, n=1000, d=5, k=7, seed=0):
    """Continuous random data (no ties) with a quarter of the entries zero."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 3.0
    X[rng.random((n, d)) < 0.25] = 0.0
    centers = rng.normal(size=(k, d)) * 3.0
    sample_weight = rng.uniform(0.1, 2.0, size=n)
    return X.astype(dtype), sample_weight.astype(dtype), centers.astype(dtype)


# ---------------------------------------------------------------------------
# Calling the dense or the sparse twin of a kernel
# ---------------------------------------------------------------------------


class Kernels:
    """The dense or the CSR kernels over one X, called as the engine calls them."""

    def __init__(self, layout, X):
        self.layout = layout
        self.X = X
        self.n = X.shape[0]
        if layout == "gemm":
            self.x_sq_norms = dense.row_sq_norms(X)
        if layout == "csr":
            S = sp.csr_matrix(X)
            assert S.dtype == X.dtype
            self.arrays = (S.data, S.indices, S.indptr)
            self.x_sq_norms = sparse.row_sq_norms(S.data, S.indptr)

    def assign_labels(self, sample_weight, centers):
        out_labels = np.full(self.n, -1, dtype=np.int32)
        min_sq_dist = np.full(self.n, np.nan)
        chunk_inertia = np.full(dense.n_chunks(self.n), np.nan)
        outputs = (out_labels, min_sq_dist, chunk_inertia)
        if self.layout in ("dense", "direct"):
            centers_T = np.ascontiguousarray(centers.T)
            dense.assign_labels_direct(self.X, sample_weight, centers_T, True, *outputs)
        elif self.layout == "gemm":
            dense.assign_labels_gemm(
                self.X, self.x_sq_norms, sample_weight, gemm_centers(centers), *outputs
            )
        else:
            neg2_centers_T, c_sq_norms = _scaled_transposed_centers(centers)
            sparse.assign_labels(
                *self.arrays, self.x_sq_norms, sample_weight, neg2_centers_T, c_sq_norms, *outputs
            )
        return outputs

    def labelled_inertia(self, sample_weight, centers, row_labels):
        chunk_inertia = np.full(dense.n_chunks(self.n), np.nan)
        if self.layout == "csr":
            sparse.labelled_inertia(
                *self.arrays, self.x_sq_norms, sample_weight, centers, row_labels, chunk_inertia
            )
        else:
            dense.labelled_inertia(self.X, sample_weight, centers, row_labels, chunk_inertia)
        return chunk_inertia

    def cluster_sums(self, sample_weight, row_labels, n_clusters, n_blocks=None):
        d = self.X.shape[1]
        if n_blocks is None:
            n_blocks = dense.cluster_sum_blocks(self.n, n_clusters, d)
        # Scratch full of NaN: the kernel must overwrite every value it reads.
        scratch = (
            np.full((n_blocks, n_clusters, d), np.nan),
            np.full((n_blocks, n_clusters), np.nan),
        )
        sums = np.full((n_clusters, d), np.nan)
        weights = np.full(n_clusters, np.nan)
        if self.layout == "csr":
            sparse.weighted_cluster_sums(
                *self.arrays, sample_weight, row_labels, *scratch, sums, weights
            )
        else:
            dense.weighted_cluster_sums(self.X, sample_weight, row_labels, *scratch, sums, weights)
        return sums, weights

    def pairwise_sq_distances(self, centers, out_dtype):
        out = np.full((self.n, centers.shape[0]), np.nan, dtype=out_dtype)
        if self.layout != "csr":
            dense.pairwise_sq_distances(self.X, centers, out)
        else:
            sparse.pairwise_sq_distances(*self.arrays, self.x_sq_norms, centers, out)
        return out

    def candidate_potentials(self, sample_weight, closest_sq_dist, candidates):
        out = np.full((dense.n_chunks(self.n), candidates.shape[0]), np.nan)
        if self.layout != "csr":
            dense.candidate_potentials(self.X, sample_weight, closest_sq_dist, candidates, out)
        else:
            sparse.candidate_potentials(
                *self.arrays, self.x_sq_norms, sample_weight, closest_sq_dist, candidates, out
            )
        return out

    def update_closest_sq_dist(self, points, p, closest_sq_dist):
        if self.layout != "csr":
            dense.update_closest_sq_dist(self.X, points, p, closest_sq_dist)
        else:
            sparse.update_closest_sq_dist(*self.arrays, self.x_sq_norms, points, p, closest_sq_dist)


# ---------------------------------------------------------------------------
# Tolerances
# ---------------------------------------------------------------------------


def sq_norms(A):
    A = naive.as_dense64(A)
    return (A**2).sum(axis=1)


def distance_tolerance(X, centers):
    """(n, k) absolute tolerance for ||X[i] - centers[c]||²."""
    rtol = RTOL[np.dtype(X.dtype)]
    floor = DISTANCE_FLOOR[np.dtype(X.dtype)]
    return rtol * (sq_norms(X)[:, None] + sq_norms(centers)[None, :]) + floor


def chunk_slices(n):
    return [slice(start, min(start + CHUNK_ROWS, n)) for start in range(0, n, CHUNK_ROWS)]


def check_assignment(X, sample_weight, centers, out_labels, min_sq_dist, chunk_inertia):
    """The outputs of assign_labels against the full distance matrix."""
    n = X.shape[0]
    D = naive.sq_distances(X, centers)
    tol = distance_tolerance(X, centers)
    rows = np.arange(n)
    assert out_labels.dtype == np.int32
    assert np.all((out_labels >= 0) & (out_labels < centers.shape[0]))
    chosen = D[rows, out_labels]
    best = D.min(axis=1)
    # The chosen center is a nearest one, and min_sq_dist is the distance to it.
    assert np.all(chosen <= best + tol.max(axis=1))
    assert np.all(np.abs(min_sq_dist - chosen) <= tol[rows, out_labels])
    # Where the nearest center is clearly nearer than the runner-up, it is the argmin.
    if centers.shape[0] > 1:
        runner_up = np.partition(D, 1, axis=1)[:, 1]
        clear = runner_up - best > 2 * tol.max(axis=1)
        np.testing.assert_array_equal(out_labels[clear], np.argmin(D, axis=1)[clear])
    # One weighted partial sum per chunk of rows.
    w = sample_weight.astype(np.float64)
    assert chunk_inertia.shape == (dense.n_chunks(n),)
    for chunk, rows_of_chunk in enumerate(chunk_slices(n)):
        expected = np.sum(w[rows_of_chunk] * chosen[rows_of_chunk])
        allowed = np.sum(w[rows_of_chunk] * tol[rows_of_chunk].max(axis=1))
        assert abs(chunk_inertia[chunk] - expected) <= allowed


# ---------------------------------------------------------------------------
# assign_labels, labelled_inertia
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ASSIGN_PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_assign_labels_matches_naive(layout, dtype, data):
    X, sample_weight, centers = data.draw(problems(dtype))
    out = Kernels(layout, X).assign_labels(sample_weight, centers)
    check_assignment(X, sample_weight, centers, *out)


@pytest.mark.parametrize("layout", ASSIGN_PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("d", "k"), [(5, 7), (40, 33)])
def test_assign_labels_many_chunks(layout, dtype, d, k):
    X, sample_weight, centers = random_problem(dtype, d=d, k=k)
    out_labels, min_sq_dist, chunk_inertia = Kernels(layout, X).assign_labels(
        sample_weight, centers
    )
    assert len(chunk_inertia) > 1
    check_assignment(X, sample_weight, centers, out_labels, min_sq_dist, chunk_inertia)
    # Continuous data: the nearest center is clearly nearer than the runner-up for
    # almost every row (check_assignment accepts either label on a near-tie).
    agree = np.mean(out_labels == naive.nearest_centers(X, centers)[0])
    assert agree >= 0.999


@pytest.mark.parametrize("layout", ASSIGN_PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", [5, 40])
def test_assign_labels_ties_go_to_the_lowest_center_index(layout, dtype, d):
    X, sample_weight, centers = random_problem(dtype, n=300, d=d, k=3, seed=1)
    # Every center twice, at c and c + 3: each row is exactly as far from both copies
    # (the same arithmetic on the same numbers, whichever copy).
    doubled = np.ascontiguousarray(np.concatenate([centers, centers]))
    out_labels, min_sq_dist, _ = Kernels(layout, X).assign_labels(sample_weight, doubled)
    expected, expected_sq_dist = naive.nearest_centers(X, centers)
    assert np.all(out_labels < 3)
    clear = _clear_margin(X, centers)
    np.testing.assert_array_equal(out_labels[clear], expected[clear])
    allowed = distance_tolerance(X, centers)[np.arange(len(X)), expected]
    assert np.all(np.abs(min_sq_dist - expected_sq_dist) <= allowed)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_ties_go_to_the_lowest_center_index_with_many_centers(dtype):
    # The one-pass search of the two nearest centers (from GEMM_ONE_PASS_MIN_CLUSTERS
    # on): every center twice, at c and c + m, the copies tie exactly for every row.
    m = (GEMM_ONE_PASS_MIN_CLUSTERS + 1) // 2 + 1
    X, sample_weight, centers = random_problem(dtype, n=2 * CHUNK_ROWS + 7, d=40, k=m, seed=2)
    doubled = np.ascontiguousarray(np.concatenate([centers, centers]))
    assert len(doubled) >= GEMM_ONE_PASS_MIN_CLUSTERS
    out_labels, min_sq_dist, _ = Kernels("gemm", X).assign_labels(sample_weight, doubled)
    expected, expected_sq_dist = naive.nearest_centers(X, centers)
    assert np.all(out_labels < m)
    clear = _clear_margin(X, centers)
    assert np.mean(clear) > 0.9
    np.testing.assert_array_equal(out_labels[clear], expected[clear])
    allowed = distance_tolerance(X, centers)[np.arange(len(X)), expected]
    assert np.all(np.abs(min_sq_dist - expected_sq_dist) <= allowed)


def _clear_margin(X, centers):
    """Rows whose nearest center is nearer than the runner-up by more than rounding."""
    D = naive.sq_distances(X, centers)
    two = np.partition(D, 1, axis=1)[:, :2]
    return two[:, 1] - two[:, 0] > 2 * distance_tolerance(X, centers).max(axis=1)


#: Far centers added to the near-tie problems so that the product assignment takes its
#: one-pass search of the two nearest centers (``GEMM_ONE_PASS_MIN_CLUSTERS``).
ONE_PASS_DECOYS = GEMM_ONE_PASS_MIN_CLUSTERS + 1


@pytest.mark.parametrize("n_far", [1, ONE_PASS_DECOYS])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_labels_are_the_exact_nearest_centers_at_near_ties(dtype, n_far):
    # Rows a hair off the bisector of two centers, far from the origin: the product's
    # rounding (float32 above all) is larger than the rows' distance gap, so its argmin
    # alone would pick the farther center for some; the kernel resolves them exactly.
    # With n_far far centers, listed around the pair; from GEMM_ONE_PASS_MIN_CLUSTERS
    # centers on the kernel finds the two nearest in one pass.
    rng = np.random.default_rng(5)
    n, d = 3000, 64
    base = rng.normal(size=d) * 50
    step = rng.normal(size=d)
    far = base + 40 * rng.normal(size=(n_far, d))
    centers = np.concatenate([far[: n_far // 2], [base - step, base + step], far[n_far // 2 :]])
    centers = np.ascontiguousarray(centers.astype(dtype))
    first = n_far // 2
    c64 = centers.astype(np.float64)
    low, high = c64[first], c64[first + 1]
    direction = (high - low) / np.linalg.norm(high - low)
    along = rng.normal(size=(n, d))
    along -= np.outer(along @ direction, direction)  # on the bisector's plane
    offset = rng.uniform(-1, 1, n) * (1e-4 if dtype == np.float32 else 1e-11)
    X = ((low + high) / 2 + along + offset[:, None] * direction).astype(dtype)
    X = np.ascontiguousarray(X)
    exact = naive.sq_distances(X.astype(np.float64), c64)
    expected = np.argmin(exact, axis=1)  # lowest index on exact ties
    assert set(np.unique(expected)) == {first, first + 1}
    gap = np.abs(exact[:, first] - exact[:, first + 1])
    assert np.mean(gap < 1e-2 * np.sqrt(exact[:, first])) > 0.5  # mostly near-ties
    labels, min_sq_dist, _ = Kernels("gemm", X).assign_labels(np.ones(n, dtype=dtype), centers)
    np.testing.assert_array_equal(labels, expected)
    scale, floor = product_error_bound(dtype, d)
    allowed = scale * ((X.astype(np.float64) ** 2).sum(axis=1) + (c64**2).sum(axis=1).max())
    assert np.all(np.abs(min_sq_dist - exact[np.arange(n), expected]) <= allowed + floor)


def _curve_rows(dtype, n=6000, seed=7):
    """2-d rows around 100 centers along a sine curve, sorted along x (as SIPU's
    birch2): a chunk of rows spans a few clusters."""
    rng = np.random.default_rng(seed)
    along = np.arange(100.0)
    curve = np.stack([10 * along, 30 * np.sin(along / 8)], axis=1)
    X = curve[rng.integers(0, 100, n)] + rng.normal(0, 2.0, (n, 2))
    X = X[np.argsort(X[:, 0], kind="stable")]
    centers = curve + rng.normal(0, 0.5, curve.shape)
    return np.ascontiguousarray(X, dtype=dtype), np.ascontiguousarray(centers, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_direct_assignment_leaves_out_only_centers_farther_for_every_row(dtype):
    X, centers = _curve_rows(dtype)
    centers_T = np.ascontiguousarray(centers.T)
    D = naive.sq_distances(X, centers)
    kept = []
    for start in range(0, len(X), CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, len(X))
        keep = np.empty(len(centers), dtype=np.int64)
        n_keep = dense.centers_in_reach(X, start, stop, centers_T, keep)
        kept.append(n_keep)
        keep = keep[:n_keep]
        assert np.all(np.diff(keep) > 0)
        left_out = np.setdiff1d(np.arange(len(centers)), keep)
        # Each row's nearest center is kept, and every left-out one is clearly farther.
        nearest = D[start:stop].argmin(axis=1)
        assert np.all(np.isin(nearest, keep))
        if left_out.size:
            assert np.all(D[start:stop][:, left_out].min(axis=1) > D[start:stop].min(axis=1))
    # Rows in spatial order: a chunk spans a few clusters, so most centers go.
    assert np.median(kept) <= 20


@pytest.mark.parametrize("dtype", DTYPES)
def test_direct_assignment_on_sorted_rows_equals_it_on_shuffled_rows(dtype):
    # A row's label and distance depend on the row and the centers only: on shuffled
    # rows no center is left out, so this compares the pruned pass with the full one,
    # bit for bit; duplicated centers check that ties still go to the lowest index.
    X, centers = _curve_rows(dtype, seed=8)
    centers = np.ascontiguousarray(np.concatenate([centers, centers[:40]]))
    w = np.random.default_rng(8).uniform(0.5, 2.0, len(X)).astype(dtype)
    order = np.random.default_rng(9).permutation(len(X))
    sorted_out = Kernels("direct", X).assign_labels(w, centers)
    shuffled_out = Kernels("direct", np.ascontiguousarray(X[order])).assign_labels(
        w[order], centers
    )
    np.testing.assert_array_equal(sorted_out[0][order], shuffled_out[0])
    np.testing.assert_array_equal(sorted_out[1][order], shuffled_out[1])
    assert np.all(sorted_out[0] < 100)
    expected = naive.nearest_centers(X, centers)[0]
    clear = _clear_margin(X, centers[:100])
    np.testing.assert_array_equal(sorted_out[0][clear], expected[clear])


@pytest.mark.parametrize("dtype", DTYPES)
def test_direct_and_gemm_assignments_agree(dtype):
    # Same labels from both dense kernels wherever the nearest center is clear.
    X, sample_weight, centers = random_problem(dtype, n=2000, d=12, k=20, seed=12)
    direct = Kernels("direct", X).assign_labels(sample_weight, centers)
    gemm = Kernels("gemm", X).assign_labels(sample_weight, centers)
    clear = _clear_margin(X, centers)
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(direct[0][clear], gemm[0][clear])


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_distances_are_never_negative(dtype):
    # Rows equal to a center, far from the origin: ||x||² - 2x·c + ||c||² cancels to
    # about zero and rounding could make it negative; the kernel clips at zero.
    rng = np.random.default_rng(13)
    centers = (1000.0 + rng.normal(size=(4, 30))).astype(dtype)
    X = np.ascontiguousarray(np.repeat(centers, 100, axis=0))
    out_labels, min_sq_dist, chunk_inertia = Kernels("gemm", X).assign_labels(
        np.ones(len(X), dtype=dtype), centers
    )
    np.testing.assert_array_equal(out_labels, np.repeat(np.arange(4), 100))
    assert np.all(min_sq_dist >= 0)
    assert np.all(chunk_inertia >= 0)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_labelled_inertia_matches_naive(layout, dtype, data):
    X, sample_weight, centers = data.draw(problems(dtype))
    row_labels = data.draw(label_arrays(X.shape[0], centers.shape[0]))
    chunk_inertia = Kernels(layout, X).labelled_inertia(sample_weight, centers, row_labels)
    rows = np.arange(X.shape[0])
    w = sample_weight.astype(np.float64)
    distances = naive.sq_distances(X, centers)[rows, row_labels]
    allowed = distance_tolerance(X, centers)[rows, row_labels]
    for chunk, part in enumerate(chunk_slices(X.shape[0])):
        assert abs(chunk_inertia[chunk] - np.sum(w[part] * distances[part])) <= np.sum(
            w[part] * allowed[part]
        )
    expected = naive.inertia(X, sample_weight, centers, row_labels)
    assert abs(chunk_inertia.sum() - expected) <= np.sum(w * allowed)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_labelled_inertia_many_chunks(layout, dtype):
    X, sample_weight, centers = random_problem(dtype, seed=2)
    row_labels = np.random.default_rng(3).integers(0, len(centers), len(X)).astype(np.int32)
    chunk_inertia = Kernels(layout, X).labelled_inertia(sample_weight, centers, row_labels)
    w = sample_weight.astype(np.float64)
    distances = naive.sq_distances(X, centers)[np.arange(len(X)), row_labels]
    expected = [np.sum(w[part] * distances[part]) for part in chunk_slices(len(X))]
    assert len(expected) > 1
    np.testing.assert_allclose(chunk_inertia, expected, rtol=1e-12)


# ---------------------------------------------------------------------------
# weighted_cluster_sums
# ---------------------------------------------------------------------------


def check_cluster_sums(X, sample_weight, row_labels, n_clusters, sums, weights):
    expected_sums, expected_weights = naive.cluster_sums(X, sample_weight, row_labels, n_clusters)
    rtol = RTOL[np.dtype(X.dtype)]
    w = sample_weight.astype(np.float64)
    magnitude = naive.cluster_sums(np.abs(naive.as_dense64(X)), w, row_labels, n_clusters)[0]
    assert np.all(np.abs(sums - expected_sums) <= rtol * magnitude + TINY)
    assert np.all(np.abs(weights - expected_weights) <= rtol * expected_weights + TINY)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_weighted_cluster_sums_match_naive(layout, dtype, data):
    X, sample_weight, centers = data.draw(problems(dtype))
    k = centers.shape[0]
    row_labels = data.draw(label_arrays(X.shape[0], k))
    sums, weights = Kernels(layout, X).cluster_sums(sample_weight, row_labels, k)
    check_cluster_sums(X, sample_weight, row_labels, k, sums, weights)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_blocks", [None, 1, 3])
def test_weighted_cluster_sums_many_rows(layout, dtype, n_blocks):
    X, sample_weight, _ = random_problem(dtype, seed=5)
    # Cluster 3 is left empty: its sum and weight must be exactly zero.
    row_labels = np.random.default_rng(6).choice([0, 1, 2, 4], len(X)).astype(np.int32)
    sums, weights = Kernels(layout, X).cluster_sums(sample_weight, row_labels, 5, n_blocks)
    check_cluster_sums(X, sample_weight, row_labels, 5, sums, weights)
    assert weights[3] == 0.0
    assert np.all(sums[3] == 0.0)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_weighted_cluster_sums_do_not_depend_on_the_block_count_beyond_rounding(layout):
    X, sample_weight, _ = random_problem(np.float64, n=5000, seed=14)
    row_labels = np.random.default_rng(15).integers(0, 6, len(X)).astype(np.int32)
    kernels = Kernels(layout, X)
    one_block = kernels.cluster_sums(sample_weight, row_labels, 6, 1)
    for n_blocks in (2, 7, CLUSTER_SUMS_BLOCKS):
        sums, weights = kernels.cluster_sums(sample_weight, row_labels, 6, n_blocks)
        np.testing.assert_allclose(sums, one_block[0], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(weights, one_block[1], rtol=1e-12)


def test_cluster_sum_blocks_depend_on_the_shape_only():
    assert dense.cluster_sum_blocks(0, 3, 2) == 1
    assert dense.cluster_sum_blocks(CHUNK_ROWS, 3, 2) == 1
    assert dense.cluster_sum_blocks(3 * CHUNK_ROWS, 3, 2) == 3
    assert dense.cluster_sum_blocks(10**7, 3, 2) == CLUSTER_SUMS_BLOCKS
    # Scratch bounded: blocks × k × d within CLUSTER_SUMS_SCRATCH values, at least one block.
    k, d = 1000, 700
    n_blocks = dense.cluster_sum_blocks(10**7, k, d)
    assert n_blocks >= 1 and (n_blocks == 1 or n_blocks * k * d <= CLUSTER_SUMS_SCRATCH)
    assert dense.cluster_sum_blocks(10**7, 10**4, 10**4) == 1


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_dense_row_sq_norms_match_naive(dtype, data):
    X = data.draw(matrices(dtype, data.draw(st.integers(0, 60)), data.draw(st.integers(1, 6))))
    norms = dense.row_sq_norms(X)
    assert norms.dtype == np.float64
    expected = naive.row_sq_norms(X)
    assert np.all(np.abs(norms - expected) <= 1e-12 * expected + TINY)


# ---------------------------------------------------------------------------
# pairwise_sq_distances
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_pairwise_sq_distances_match_naive(layout, dtype, data):
    X, _, centers = data.draw(problems(dtype))
    out = Kernels(layout, X).pairwise_sq_distances(centers, out_dtype=dtype)
    assert np.all(out >= 0)
    expected = naive.sq_distances(X, centers)
    # The output is stored in X's dtype: below float32's smallest normal it is subnormal.
    allowed = distance_tolerance(X, centers) + np.finfo(dtype).tiny
    assert np.all(np.abs(out - expected) <= allowed)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_pairwise_sq_distances_many_rows(layout, dtype):
    X, _, centers = random_problem(dtype, seed=7)
    out = Kernels(layout, X).pairwise_sq_distances(centers, out_dtype=np.float64)
    np.testing.assert_allclose(out, naive.sq_distances(X, centers), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------
# k-means++ helpers: candidate_potentials, update_closest_sq_dist
# ---------------------------------------------------------------------------


@st.composite
def closest_distances(draw, n):
    return draw(
        hnp.arrays(
            np.float64,
            n,
            elements=st.floats(0.0, 1e5, allow_subnormal=False) | st.just(np.inf),
        )
    )


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_candidate_potentials_match_naive(layout, dtype, data):
    X, sample_weight, _ = data.draw(problems(dtype))
    n, d = X.shape
    closest = data.draw(closest_distances(n).map(lambda a: np.minimum(a, 1e5)))
    candidates = data.draw(matrices(dtype, data.draw(st.integers(1, 4)), d))
    chunk_potentials = Kernels(layout, X).candidate_potentials(sample_weight, closest, candidates)
    assert chunk_potentials.shape == (dense.n_chunks(n), len(candidates))
    w = sample_weight.astype(np.float64)
    allowed = np.sum(w[:, None] * distance_tolerance(X, candidates), axis=0)
    for t, candidate in enumerate(candidates):
        expected = naive.candidate_potential(X, w, closest, candidate)
        assert abs(chunk_potentials[:, t].sum() - expected) <= allowed[t]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_candidate_potentials_many_chunks(layout, dtype):
    X, sample_weight, centers = random_problem(dtype, seed=8)
    closest = naive.sq_distances(X, centers[:2]).min(axis=1)
    candidates = np.ascontiguousarray(X[[5, 300, 999]])
    chunk_potentials = Kernels(layout, X).candidate_potentials(sample_weight, closest, candidates)
    w = sample_weight.astype(np.float64)
    D = naive.sq_distances(X, candidates)
    for chunk, part in enumerate(chunk_slices(len(X))):
        expected = np.sum(w[part, None] * np.minimum(closest[part, None], D[part]), axis=0)
        np.testing.assert_allclose(chunk_potentials[chunk], expected, rtol=1e-10)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_update_closest_sq_dist_matches_naive(layout, dtype, data):
    X, _, points = data.draw(problems(dtype))
    p = data.draw(st.integers(0, len(points) - 1))
    before = data.draw(closest_distances(X.shape[0]))
    closest = before.copy()
    Kernels(layout, X).update_closest_sq_dist(points, p, closest)
    to_p = naive.sq_distances(X, points[[p]])[:, 0]
    allowed = distance_tolerance(X, points)[:, p]
    assert np.all(closest <= before)
    assert np.all(np.abs(closest - np.minimum(before, to_p)) <= allowed)
    # A row clearly closer to its old point than to points[p] is left untouched.
    untouched = before < to_p - allowed
    np.testing.assert_array_equal(closest[untouched], before[untouched])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_update_closest_sq_dist_many_rows(layout, dtype):
    X, _, centers = random_problem(dtype, seed=9)
    closest = np.full(len(X), np.inf)
    kernels = Kernels(layout, X)
    for p in range(len(centers)):
        kernels.update_closest_sq_dist(centers, p, closest)
    expected = naive.sq_distances(X, centers).min(axis=1)
    np.testing.assert_allclose(closest, expected, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------
# column_variances, first_nonfinite, row_sq_norms
# ---------------------------------------------------------------------------


def check_column_variances(X):
    variances = dense.column_variances(X)
    assert variances.dtype == np.float64
    X64 = X.astype(np.float64)
    rtol = RTOL[np.dtype(X.dtype)]
    allowed = rtol * np.mean(X64**2, axis=0) + TINY
    assert np.all(np.abs(variances - naive.column_variances(X)) <= allowed)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_column_variances_match_naive(dtype, data):
    n = data.draw(st.integers(1, 60))
    d = data.draw(st.integers(1, 6))
    check_column_variances(data.draw(matrices(dtype, n, d)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1000, REDUCTION_BLOCKS * CHUNK_ROWS + 3000])
def test_column_variances_many_blocks(dtype, n):
    rng = np.random.default_rng(10)
    # A large common offset: a one-pass formula would lose the variance to cancellation.
    X = (1000.0 + rng.normal(size=(n, 3)) * [1.0, 0.01, 5.0]).astype(dtype)
    check_column_variances(X)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_first_nonfinite_matches_naive(dtype, data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=8))
    width = np.dtype(dtype).itemsize * 8
    special = st.sampled_from([np.nan, np.inf, -np.inf])
    X = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-1e3, 1e3, width=width) | special))
    assert dense.first_nonfinite(X) == naive.first_nonfinite(X)


@pytest.mark.parametrize("dtype", DTYPES)
def test_first_nonfinite_finds_a_late_value(dtype):
    X = np.ones((1000, 4), dtype=dtype)
    X[700, 2] = np.nan
    X[900, 0] = np.inf
    assert dense.first_nonfinite(X) == (700, 2)
    X[700, 2] = 0.0
    assert dense.first_nonfinite(X) == (900, 0)
    X[900, 0] = 0.0
    assert dense.first_nonfinite(X) == (-1, -1)


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_sparse_row_sq_norms_match_naive(dtype, data):
    n = data.draw(st.integers(1, 60))
    d = data.draw(st.integers(1, 6))
    X = data.draw(matrices(dtype, n, d))
    S = sp.csr_matrix(X)
    norms = sparse.row_sq_norms(S.data, S.indptr)
    assert norms.dtype == np.float64
    expected = sq_norms(X)
    assert np.all(np.abs(norms - expected) <= RTOL[np.dtype(dtype)] * expected + TINY)


# ---------------------------------------------------------------------------
# Label kernels: count_distinct_labels
# ---------------------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_count_distinct_labels_matches_naive(data):
    n = data.draw(st.integers(0, 60))
    k = data.draw(st.integers(1, 8))
    row_labels = data.draw(label_arrays(n, k))
    assert labels.count_distinct_labels(row_labels, k) == len(np.unique(row_labels))


# ---------------------------------------------------------------------------
# The same result on any number of threads
# ---------------------------------------------------------------------------


@pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2, reason="needs at least two numba threads to compare"
)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("layout", "d"), [("direct", 5), ("gemm", 40), ("csr", 5), ("csr", 40)])
def test_kernels_give_bit_identical_results_on_any_number_of_threads(layout, d, dtype):
    X, sample_weight, centers = random_problem(dtype, n=5000, d=d, k=9, seed=11)
    kernels = Kernels(layout, X)

    def run():
        out_labels, min_sq_dist, chunk_inertia = kernels.assign_labels(sample_weight, centers)
        sums, weights = kernels.cluster_sums(sample_weight, out_labels, len(centers))
        closest = min_sq_dist.copy()
        potentials = kernels.candidate_potentials(sample_weight, closest, centers[:3])
        return out_labels, min_sq_dist, chunk_inertia.sum(), sums, weights, potentials.sum(0)

    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one_thread = run()
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        all_threads = run()
    finally:
        numba.set_num_threads(previous)
    for a, b in zip(one_thread, all_threads, strict=True):
        np.testing.assert_array_equal(a, b)
