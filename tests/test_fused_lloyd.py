"""The fused assignment-and-sums pass of Lloyd's iterations equals the two passes it
replaces (the assignment kernels, then the cluster sums of their labels) bit for bit:
labels, distances, inertia, sums and weights, whatever the row blocks, the chunks a
block boundary cuts, the kernel form (parallel or serial) or numba's thread count.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from centroids._kernels import dense, sparse
from centroids.engine import data as data_module
from centroids.engine import engine_data, lloyd
from centroids.engine.data import _scaled_transposed_centers, gemm_centers
from centroids.settings import CHUNK_ROWS, CLUSTER_SUMS_BLOCKS, GEMM_MIN_FEATURES

from arrays import stdout_per_thread_count

DTYPES = [np.float32, np.float64]
PATHS = ["direct", "gemm", "csr"]
#: Paths with a fused kernel. CSR keeps its two passes (see CSRData.assign_and_sum):
#: its assign_and_sum is checked at the engine level only.
FUSED_PATHS = ["direct", "gemm"]


def problem(path, dtype, n, k, d=None, seed=0):
    """(X, sample_weight, centers): X dense or CSR of ``dtype``, a third of it zero."""
    rng = np.random.default_rng(seed)
    if d is None:
        d = {"direct": GEMM_MIN_FEATURES - 3, "gemm": GEMM_MIN_FEATURES + 5, "csr": 40}[path]
    X = rng.normal(size=(n, d)) * 2.0 + rng.integers(0, 5, size=(n, 1))
    X[rng.random((n, d)) < 0.35] = 0.0
    X = np.ascontiguousarray(X, dtype=dtype)
    centers = X[rng.choice(n, size=k, replace=n < k)].astype(dtype)
    sample_weight = rng.uniform(0.1, 3.0, size=n).astype(dtype)
    if path == "csr":
        X = sp.csr_matrix(X)
    return X, sample_weight, centers


def nan_buffers(n, k, d, n_blocks):
    """(assignment outputs, cluster-sum scratch, sums, weights), full of NaN (or -1):
    a kernel must overwrite every value it reads or returns."""
    outputs = (
        np.full(n, -1, dtype=np.int32),
        np.full(n, np.nan),
        np.full(dense.n_chunks(n), np.nan),
    )
    scratch = (np.full((n_blocks, k, d), np.nan), np.full((n_blocks, k), np.nan))
    return outputs, scratch, np.full((k, d), np.nan), np.full(k, np.nan)


def assignment_inputs(path, X, sample_weight, centers):
    """The arguments the assignment kernels of ``path`` take before their outputs."""
    if path == "direct":
        return (X, sample_weight, np.ascontiguousarray(centers.T), True)
    if path == "gemm":
        return (X, dense.row_sq_norms(X), sample_weight, gemm_centers(centers))
    neg2_centers_T, c_sq_norms = _scaled_transposed_centers(centers)
    x_sq_norms = sparse.row_sq_norms(X.data, X.indptr)
    return (X.data, X.indices, X.indptr, x_sq_norms, sample_weight, neg2_centers_T, c_sq_norms)


def two_pass_kernels(path, X, sample_weight, centers, n_blocks):
    """The assignment kernel, then the cluster sums of its labels in ``n_blocks`` blocks."""
    n, d = X.shape
    outputs, scratch, sums, weights = nan_buffers(n, centers.shape[0], d, n_blocks)
    labels = outputs[0]
    inputs = assignment_inputs(path, X, sample_weight, centers)
    if path == "csr":
        sparse.assign_labels(*inputs, *outputs)
        sparse.weighted_cluster_sums(*inputs[:3], sample_weight, labels, *scratch, sums, weights)
    else:
        assign = dense.assign_labels_direct if path == "direct" else dense.assign_labels_gemm
        assign(*inputs, *outputs)
        dense.weighted_cluster_sums(X, sample_weight, labels, *scratch, sums, weights)
    return (*outputs, sums, weights)


def fused_kernel(path, form, X, sample_weight, centers, n_blocks):
    """The fused kernel's ``form`` ('parallel' or 'serial') over the same inputs."""
    assert path in FUSED_PATHS
    n, d = X.shape
    outputs, scratch, sums, weights = nan_buffers(n, centers.shape[0], d, n_blocks)
    fused = dense.assign_and_sum_direct if path == "direct" else dense.assign_and_sum_gemm
    inputs = assignment_inputs(path, X, sample_weight, centers)
    getattr(fused, form)(*inputs, *outputs, *scratch, sums, weights)
    return (*outputs, sums, weights)


@pytest.mark.parametrize("dtype", DTYPES)
def test_direct_fused_pass_is_unchanged_by_leaving_out_far_centers(dtype):
    # Rows sorted along x around 60 centers on a line: each chunk's box leaves most
    # centers out; labels, distances, inertia and sums must not change, bit for bit.
    rng = np.random.default_rng(3)
    line = np.stack([np.arange(60.0) * 10, np.zeros(60)], axis=1)
    X = line[rng.integers(0, 60, 5003)] + rng.normal(0, 2.0, (5003, 2))
    X = np.ascontiguousarray(X[np.argsort(X[:, 0])], dtype=dtype)
    centers = np.ascontiguousarray(line + rng.normal(0, 0.5, line.shape), dtype=dtype)
    w = rng.uniform(0.5, 2.0, len(X)).astype(dtype)
    n_blocks = dense.cluster_sum_blocks(len(X), len(centers), 2)
    runs = []
    for prune in (True, False):
        outputs, scratch, sums, weights = nan_buffers(len(X), len(centers), 2, n_blocks)
        centers_T = np.ascontiguousarray(centers.T)
        dense.assign_and_sum_direct(X, w, centers_T, prune, *outputs, *scratch, sums, weights)
        runs.append((*outputs, sums, weights))
    assert_identical(runs[0], runs[1])


def assert_identical(got, expected):
    for a, b in zip(got, expected, strict=True):
        if isinstance(a, float):
            assert a == b
        else:
            np.testing.assert_array_equal(a, b)


# n: one row, within one chunk, just past a chunk, several thousand rows (not a
# multiple of CHUNK_ROWS). Blocks: one, few, the engine's count, more than the chunks
# (empty blocks), and counts whose boundaries cut chunks, some chunks more than once.
@pytest.mark.parametrize("path", FUSED_PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 200, CHUNK_ROWS + 1, 3 * CHUNK_ROWS, 5003])
def test_fused_kernels_equal_the_two_passes(path, dtype, n):
    k = 7
    X, sample_weight, centers = problem(path, dtype, n, k)
    engine_blocks = dense.cluster_sum_blocks(n, k, X.shape[1])
    for n_blocks in sorted({1, 2, 3, 5, engine_blocks, CLUSTER_SUMS_BLOCKS, 40}):
        expected = two_pass_kernels(path, X, sample_weight, centers, n_blocks)
        for form in ("parallel", "serial"):
            got = fused_kernel(path, form, X, sample_weight, centers, n_blocks)
            assert_identical(got, expected)


def engine_two_passes(data, sample_weight, centers):
    labels, min_sq_dist, inertia = data.assign_labels(sample_weight, centers)
    sums, weights = data.cluster_sums(sample_weight, labels, centers.shape[0])
    return labels, min_sq_dist, inertia, sums, weights


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_assign_and_sum_equals_assign_labels_and_cluster_sums(path, dtype):
    X, sample_weight, centers = problem(path, dtype, 6001, 9, seed=1)
    data = engine_data(X)
    assert dense.cluster_sum_blocks(6001, 9, X.shape[1]) == CLUSTER_SUMS_BLOCKS
    got = data.assign_and_sum(sample_weight, centers)
    assert_identical(got, engine_two_passes(data, sample_weight, centers))
    assert isinstance(got[2], float)


@pytest.mark.parametrize("path", ["gemm", "csr"])
def test_assign_and_sum_when_the_scratch_limits_the_blocks(path):
    # k × d large enough that cluster_sum_blocks cuts 3 blocks, not CLUSTER_SUMS_BLOCKS.
    d = 1000 if path == "gemm" else 20_000
    k = 600 if path == "gemm" else 30
    n = 2 * CHUNK_ROWS * 3 + 77
    X, sample_weight, centers = problem(path, np.float32, n, k, d=d, seed=2)
    assert dense.cluster_sum_blocks(n, k, d) == 3
    data = engine_data(X)
    expected = engine_two_passes(data, sample_weight, centers)
    assert_identical(data.assign_and_sum(sample_weight, centers), expected)
    if path not in FUSED_PATHS:
        return
    for form in ("parallel", "serial"):
        got = fused_kernel(path, form, X, sample_weight, centers, 3)
        assert_identical(got, two_pass_kernels(path, X, sample_weight, centers, 3))


@pytest.mark.parametrize("path", PATHS)
def test_lloyd_is_unchanged_by_the_fused_pass(path, monkeypatch):
    # More centers than clusters in the data, some duplicated: empty clusters are
    # relocated along the way.
    X, sample_weight, _ = problem(path, np.float64, 3001, 5, seed=3)
    rows = np.asarray(X[:12].todense()) if sp.issparse(X) else X[:12]
    centers = np.concatenate([rows, rows[:3]])
    fused = lloyd(engine_data(X), sample_weight, centers, 50, 0.0)
    monkeypatch.setattr(data_module.DenseData, "assign_and_sum", engine_two_passes)
    monkeypatch.setattr(data_module.CSRData, "assign_and_sum", engine_two_passes)
    two_pass = lloyd(engine_data(X), sample_weight, centers, 50, 0.0)
    np.testing.assert_array_equal(fused.centers, two_pass.centers)
    np.testing.assert_array_equal(fused.labels, two_pass.labels)
    assert fused.inertia == two_pass.inertia
    assert fused.n_iter == two_pass.n_iter


def test_numba_num_threads_does_not_change_lloyd():
    script = (
        "import hashlib, numpy as np, scipy.sparse as sp\n"
        "from centroids.engine import engine_data, lloyd\n"
        "rng = np.random.default_rng(4)\n"
        "X = (rng.normal(size=(7000, 12)) + rng.integers(0, 4, (7000, 1)) * 3)\n"
        "w = rng.uniform(0.5, 2, 7000)\n"
        "for Xs in (X, X[:, :5].copy(), sp.csr_matrix(np.where(X > 1, X, 0))):\n"
        "    Xs = Xs.astype(np.float32)\n"
        "    start = np.asarray(Xs[:9].todense() if sp.issparse(Xs) else Xs[:9])\n"
        "    r = lloyd(engine_data(Xs), w.astype(np.float32), start, 30, 0.0)\n"
        "    h = hashlib.sha256(r.labels.tobytes() + r.centers.tobytes())\n"
        "    print(h.hexdigest(), r.n_iter, repr(r.inertia))\n"
    )
    outputs = stdout_per_thread_count(script)
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") == 3
