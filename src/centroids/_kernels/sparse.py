"""Kernels over CSR matrices, given as their ``data``, ``indices`` and ``indptr`` arrays.

X is never densified: the squared distance between a sparse row x and a dense
center c is ``||x||² - 2 x·c + ||c||²``, with the dot product taken over the
non-zeros of x and ``||x||²`` precomputed in float64. The assignment kernel works in
X's dtype against ``-2 centers.T`` (d × k), so each non-zero updates k contiguous
values; the other kernels sum in float64. Results are clipped at zero,
where rounding could make them slightly negative.
"""

import numpy as np
from numba import njit, prange

from ..settings import CHUNK_ROWS, JIT_OPTIONS
from ._compile import chunked_kernel
from .dense import add_blocks_in_order, argmin_of_row, block_rows, n_chunks


@njit(**JIT_OPTIONS)
def row_dot(data, indices, indptr, i, C, c):
    """Dot product of sparse row i with dense row C[c], summed in float64."""
    total = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        total += np.float64(data[p]) * np.float64(C[c, indices[p]])
    return total


@chunked_kernel
def row_sq_norms(data, indptr):
    """||x_i||² of every sparse row, float64."""
    n = indptr.shape[0] - 1
    out = np.empty(n)
    for i in prange(n):
        total = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            total += np.float64(data[p]) * np.float64(data[p])
        out[i] = total
    return out


@njit(**JIT_OPTIONS)
def dense_row_sq_norms(C):
    """||C[c]||² of every dense row, float64."""
    out = np.empty(C.shape[0])
    for c in range(C.shape[0]):
        total = 0.0
        for j in range(C.shape[1]):
            total += np.float64(C[c, j]) * np.float64(C[c, j])
        out[c] = total
    return out


@njit(**JIT_OPTIONS)
def _sq_dist(data, indices, indptr, x_sq_norms, i, C, c_sq_norms, c):
    dist = x_sq_norms[i] - 2.0 * row_dot(data, indices, indptr, i, C, c) + c_sq_norms[c]
    return max(dist, 0.0)


@chunked_kernel
def assign_labels(
    data,
    indices,
    indptr,
    x_sq_norms,
    sample_weight,
    neg2_centers_T,
    c_sq_norms,
    labels,
    min_sq_dist,
    chunk_inertia,
):
    """Nearest center of every sparse row, by a sparse × dense product in X's dtype.

    For each row, ``scores[c] = ||c||² - 2 x·c`` starts at ``c_sq_norms`` and every
    non-zero ``x_j`` adds ``x_j · neg2_centers_T[j]``, a contiguous k-vector; the
    argmin of the scores (ties to the lowest center index) is the label and
    ``max(||x||² + min, 0)`` the squared distance.

    x_sq_norms : (n,) float64 IN; neg2_centers_T : (d, k) IN, ``-2 centers.T``,
    C-ordered, X's dtype; c_sq_norms : (k,) IN, X's dtype; labels, min_sq_dist,
    chunk_inertia : OUT, as :func:`centroids._kernels.dense.assign_labels_direct`.
    """
    n = indptr.shape[0] - 1
    k = neg2_centers_T.shape[1]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        scores = np.empty((1, k), dtype=neg2_centers_T.dtype)
        partial = 0.0
        for i in range(start, stop):
            for c in range(k):
                scores[0, c] = c_sq_norms[c]
            for p in range(indptr[i], indptr[i + 1]):
                value = data[p]
                j = indices[p]
                for c in range(k):
                    scores[0, c] += value * neg2_centers_T[j, c]
            best_c, best = argmin_of_row(scores, 0)
            dist = max(x_sq_norms[i] + np.float64(best), 0.0)
            labels[i] = best_c
            min_sq_dist[i] = dist
            partial += sample_weight[i] * dist
        chunk_inertia[chunk] = partial


@chunked_kernel
def labelled_inertia(
    data, indices, indptr, x_sq_norms, sample_weight, centers, labels, chunk_inertia
):
    """Sparse twin of :func:`centroids._kernels.dense.labelled_inertia`."""
    n = indptr.shape[0] - 1
    c_sq_norms = dense_row_sq_norms(centers)
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        partial = 0.0
        for i in range(start, stop):
            dist = _sq_dist(data, indices, indptr, x_sq_norms, i, centers, c_sq_norms, labels[i])
            partial += sample_weight[i] * dist
        chunk_inertia[chunk] = partial


@chunked_kernel
def weighted_cluster_sums(
    data, indices, indptr, sample_weight, labels, block_sums, block_weights, sums, weights
):
    """Sparse twin of :func:`centroids._kernels.dense.weighted_cluster_sums` (same
    blocks, same arguments after the CSR arrays)."""
    n = indptr.shape[0] - 1
    n_blocks = block_weights.shape[0]
    for b in prange(n_blocks):
        block_sums[b] = 0.0
        block_weights[b] = 0.0
        lo, hi = block_rows(n, n_blocks, b)
        for i in range(lo, hi):
            c = labels[i]
            w = np.float64(sample_weight[i])
            block_weights[b, c] += w
            for p in range(indptr[i], indptr[i + 1]):
                block_sums[b, c, indices[p]] += w * data[p]
    add_blocks_in_order(block_sums, block_weights, sums, weights)


@chunked_kernel
def pairwise_sq_distances(data, indices, indptr, x_sq_norms, centers, out):
    """Sparse twin of :func:`centroids._kernels.dense.pairwise_sq_distances`."""
    n = indptr.shape[0] - 1
    k = centers.shape[0]
    c_sq_norms = dense_row_sq_norms(centers)
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for i in range(start, stop):
            for c in range(k):
                out[i, c] = _sq_dist(data, indices, indptr, x_sq_norms, i, centers, c_sq_norms, c)


@chunked_kernel
def candidate_potentials(
    data, indices, indptr, x_sq_norms, sample_weight, closest_sq_dist, candidates, chunk_potentials
):
    """Sparse twin of :func:`centroids._kernels.dense.candidate_potentials`.

    The candidates are dense rows (a few sparse rows of X, densified by the caller).
    """
    n = indptr.shape[0] - 1
    n_candidates = candidates.shape[0]
    cand_sq_norms = dense_row_sq_norms(candidates)
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for t in range(n_candidates):
            chunk_potentials[chunk, t] = 0.0
        for i in range(start, stop):
            w = np.float64(sample_weight[i])
            for t in range(n_candidates):
                dist = _sq_dist(data, indices, indptr, x_sq_norms, i, candidates, cand_sq_norms, t)
                chunk_potentials[chunk, t] += w * min(closest_sq_dist[i], dist)


@chunked_kernel
def update_closest_sq_dist(data, indices, indptr, x_sq_norms, points, p, closest_sq_dist):
    """Sparse twin of :func:`centroids._kernels.dense.update_closest_sq_dist`."""
    n = indptr.shape[0] - 1
    p_sq_norms = dense_row_sq_norms(points)
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for i in range(start, stop):
            dist = _sq_dist(data, indices, indptr, x_sq_norms, i, points, p_sq_norms, p)
            if dist < closest_sq_dist[i]:
                closest_sq_dist[i] = dist
