"""The kernel for few features (``centroids._kernels.lowd``): rows in SIMD lanes.

Its labels are the brute-force nearest centers (lowest index on ties) and equal those of
the kernels it replaces, bit for bit, as do the cluster sums and weights; below
``GEMM_MIN_FEATURES`` features the distances and inertia too (the same sums in the same
order), from there on the distances are the direct float64 ones, where the product
kernel reports its own, so the inertia agrees to rounding. A Lloyd run through it ends
at the same centers, labels and iteration count as through the other kernels, on any
number of threads.
"""

import importlib

import numpy as np
import pytest

from centroids._kernels import dense
from centroids._kernels.lowd import assign_and_sum_lowd
from centroids.engine import engine_data
from centroids.engine.data import _assignment_buffers, _cluster_sum_buffers
from centroids.engine.lloyd import assign_and_sum, lloyd
from centroids.settings import (
    CHUNK_ROWS,
    DIRECT_PRUNE_MIN_CLUSTERS,
    GEMM_MIN_FEATURES,
    LOWD_MAX_CLUSTERS,
    LOWD_MAX_FEATURES,
)

import naive
from arrays import stdout_per_thread_count

# The module (``centroids.engine.lloyd`` is also the name of the function it exports).
lloyd_module = importlib.import_module("centroids.engine.lloyd")

DTYPES = [np.float32, np.float64]
#: (features, clusters) of the generated family: every feature count the kernel takes
#: (below, at and above GEMM_MIN_FEATURES, multiples of 4 and not), clusters 2 to 64.
SHAPES = [
    (1, 3),
    (2, 2),
    (2, 40),
    (3, 5),
    (3, 64),
    (4, 7),
    (5, 16),
    (6, 33),
    (7, 9),
    (8, 2),
    (8, 16),
    (9, 12),
    (10, 31),
    (11, 4),
    (12, 64),
    (13, 8),
    (14, 17),
    (15, 3),
    (16, 20),
    (16, 64),
]
ORDERS = ["random", "sorted"]


def family(d, k, dtype, order, n=3 * CHUNK_ROWS + 37, seed=0):
    """(X, sample_weight, centers): overlapping blobs of ``dtype``, rows in random order
    or sorted along the first feature (the order whose chunk boxes prune centers), a
    few duplicated rows and centers on rows (exact zero distances)."""
    rng = np.random.default_rng(seed + 97 * d + k)
    X = rng.normal(size=(n, d)) * 1.5 + rng.integers(0, 6, size=(n, 1))
    X[rng.choice(n, 20)] = X[0]
    if order == "sorted":
        X = X[np.argsort(X[:, 0], kind="stable")]
    X = np.ascontiguousarray(X, dtype=dtype)
    centers = X[rng.choice(n, size=k, replace=False)].copy()
    centers[-1] = centers[0]  # a duplicate center: its rows go to the lower index
    sample_weight = rng.uniform(0.2, 3.0, size=n).astype(dtype)
    return X, sample_weight, centers


def run_lowd(X, sample_weight, centers, form="parallel", prune=False):
    """The kernel's outputs (labels, min_sq_dist, inertia, sums, weights) on fresh
    buffers full of NaN (or -1), so that every value read back was written."""
    data = engine_data(X)
    k, d = centers.shape
    distance_dtype = X.dtype if d < GEMM_MIN_FEATURES else np.float64
    centers_T = np.ascontiguousarray(centers.T, dtype=distance_dtype)
    labels, min_sq_dist, chunk_inertia = _assignment_buffers(data)
    labels[:] = -1
    min_sq_dist[:] = np.nan
    chunk_inertia[:] = np.nan
    sums, weights, (block_sums, block_weights) = _cluster_sum_buffers(data, k)
    for buffer in (sums, weights, block_sums, block_weights):
        buffer[...] = np.nan
    getattr(assign_and_sum_lowd, form)(
        X,
        sample_weight,
        centers_T,
        prune,
        labels,
        min_sq_dist,
        chunk_inertia,
        block_sums,
        block_weights,
        sums,
        weights,
    )
    return labels, min_sq_dist, float(chunk_inertia.sum()), sums, weights


def near_tie_rows(X, centers, relative=1e-5):
    """Rows whose two nearest centers (float64 brute force) differ by at most
    ``relative`` of the distance, among distinct centers: there float32 arithmetic
    may choose either."""
    D = naive.sq_distances(X, centers)
    _, first = np.unique(np.asarray(centers, dtype=np.float64), axis=0, return_index=True)
    D = np.sort(D[:, np.sort(first)], axis=1)
    if D.shape[1] < 2:
        return np.zeros(len(X), dtype=bool)
    return D[:, 1] - D[:, 0] <= relative * np.maximum(D[:, 1], 1e-30)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("d", "k"), SHAPES)
def test_labels_are_the_brute_force_nearest_centers(d, k, dtype, order):
    X, sample_weight, centers = family(d, k, dtype, order)
    labels, min_sq_dist, inertia, sums, weights = run_lowd(X, sample_weight, centers)
    expected_labels, expected_dist = naive.nearest_centers(X, centers)
    exact = d >= GEMM_MIN_FEATURES or dtype == np.float64
    checked = slice(None) if exact else ~near_tie_rows(X, centers)
    np.testing.assert_array_equal(labels[checked], expected_labels[checked])
    # The duplicate center (the last) never wins over its first copy.
    assert not np.any(labels == k - 1)
    rtol = 1e-12 if exact else 1e-5
    scale = np.max(expected_dist)
    np.testing.assert_allclose(min_sq_dist, expected_dist, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(
        inertia, naive.inertia(X, sample_weight, centers, labels), rtol=rtol * 10
    )
    expected_sums, expected_weights = naive.cluster_sums(X, sample_weight, labels, k)
    np.testing.assert_allclose(sums, expected_sums, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(weights, expected_weights, rtol=1e-12)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("d", "k"), SHAPES)
def test_equals_the_kernels_it_replaces(d, k, dtype, order, monkeypatch):
    X, sample_weight, centers = family(d, k, dtype, order, seed=1)
    data = engine_data(X)
    labels, min_sq_dist, inertia, sums, weights = run_lowd(X, sample_weight, centers)
    other = data.assign_and_sum(sample_weight, centers)
    np.testing.assert_array_equal(labels, other[0])
    np.testing.assert_array_equal(sums, other[3])
    np.testing.assert_array_equal(weights, other[4])
    if d < GEMM_MIN_FEATURES:
        np.testing.assert_array_equal(min_sq_dist, other[1])
        assert inertia == other[2]
    else:
        # The product kernel's distances, within its rounding of the direct ones.
        scale = np.max(other[1])
        np.testing.assert_allclose(min_sq_dist, other[1], rtol=1e-5, atol=1e-5 * scale)
        assert inertia == pytest.approx(other[2], rel=1e-6)
    # Serial and parallel forms, with and without the chunk boxes, are the same.
    serial = run_lowd(X, sample_weight, centers, form="serial")
    for got, expected in zip(serial, (labels, min_sq_dist, inertia, sums, weights), strict=True):
        np.testing.assert_array_equal(got, expected)
    if d < GEMM_MIN_FEATURES:
        pruned = run_lowd(X, sample_weight, centers, prune=True)
        for got, expected in zip(
            pruned, (labels, min_sq_dist, inertia, sums, weights), strict=True
        ):
            np.testing.assert_array_equal(got, expected)


def test_block_boundaries_inside_a_chunk_keep_each_chunk_inertia_in_row_order():
    # 16 blocks of 6,251 rows: most block boundaries cut a chunk of CHUNK_ROWS rows.
    X, sample_weight, centers = family(3, 6, np.float64, "random", n=100_003)
    labels, _, inertia, _, _ = run_lowd(X, sample_weight, centers)
    expected = np.empty(dense.n_chunks(len(X)))
    dense.labelled_inertia(X, sample_weight, centers, labels, expected)
    assert inertia == float(expected.sum())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("d", "k"), [(2, 40), (5, 6), (8, 16), (13, 9)])
def test_lloyd_ends_where_the_other_kernels_end(d, k, dtype, monkeypatch):
    X, sample_weight, centers = family(d, k, dtype, "random", n=4000, seed=2)
    data = engine_data(X)
    fast = lloyd(data, sample_weight, centers, 100, 0.0)
    monkeypatch.setattr(lloyd_module, "LOWD_MAX_FEATURES", 0)
    other = lloyd(engine_data(X), sample_weight, centers, 100, 0.0)
    np.testing.assert_array_equal(fast.centers, other.centers)
    np.testing.assert_array_equal(fast.labels, other.labels)
    assert fast.n_iter == other.n_iter
    if d < GEMM_MIN_FEATURES:
        assert fast.inertia == other.inertia
    else:
        assert fast.inertia == pytest.approx(other.inertia, rel=1e-6)


def test_dispatch_by_measured_shape(monkeypatch):
    """The kernel runs for dense X within the feature and cluster limits only."""
    calls = []
    original = lloyd_module._fused_form

    def spy(kernel, data, n_clusters):
        calls.append(kernel is assign_and_sum_lowd)
        return original(kernel, data, n_clusters)

    monkeypatch.setattr(lloyd_module, "_fused_form", spy)
    rng = np.random.default_rng(0)
    for d, k, expected in [
        (LOWD_MAX_FEATURES, LOWD_MAX_CLUSTERS, True),
        (LOWD_MAX_FEATURES + 1, 4, False),
        (3, LOWD_MAX_CLUSTERS + 1, False),
    ]:
        X = rng.normal(size=(500, d))
        calls.clear()
        result = assign_and_sum(engine_data(X), np.ones(500), X[:k].copy())
        assert bool(calls) == expected
        np.testing.assert_array_equal(result[0], naive.nearest_centers(X, X[:k])[0])


def test_sorted_rows_prune_centers_with_the_same_result():
    """Rows in spatial order (few features, many clusters) take the chunk boxes' pruning
    inside the kernel and give the unpruned result."""
    rng = np.random.default_rng(3)
    X = np.sort(rng.uniform(0, 100, size=(20_000, 2)), axis=0)
    k = DIRECT_PRUNE_MIN_CLUSTERS + 8
    centers = X[rng.choice(len(X), k, replace=False)].copy()
    data = engine_data(X)
    assert data.direct_pruning(k)
    w = np.ones(len(X))
    got = assign_and_sum(data, w, centers)
    expected = run_lowd(X, w, centers, prune=False)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_numba_num_threads_does_not_change_the_fit():
    script = (
        "import hashlib, numpy as np\n"
        "from centroids import KMeans\n"
        "rng = np.random.default_rng(5)\n"
        "for d, dtype in ((3, np.float32), (8, np.float64), (11, np.float32)):\n"
        "    X = (rng.normal(size=(60_000, d)) * 2 + rng.integers(0, 5, (60_000, 1)))\n"
        "    X = X.astype(dtype)\n"
        "    m = KMeans(12, random_state=0, n_init=1, algorithm='lloyd', refine=False).fit(X)\n"
        "    h = hashlib.sha256(m.labels_.tobytes() + m.cluster_centers_.tobytes())\n"
        "    print(h.hexdigest(), m.n_iter_, repr(m.inertia_))\n"
    )
    outputs = stdout_per_thread_count(script)
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") == 3
