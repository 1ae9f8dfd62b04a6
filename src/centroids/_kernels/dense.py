"""Kernels over dense, C-ordered float32 or float64 arrays.

Rows are processed in chunks of ``CHUNK_ROWS``; per-chunk partial sums are written
to their own slot and combined in chunk order by the caller, so results do not
depend on the number of threads. Distances are squared Euclidean, accumulated in
float64.
"""

import numpy as np
from numba import njit, prange

from .._config import CHUNK_ROWS, JIT_OPTIONS, REDUCTION_BLOCKS
from ._compile import chunked_kernel


@njit(**JIT_OPTIONS)
def n_chunks(n_rows):
    """Number of row chunks of ``CHUNK_ROWS`` rows needed to cover ``n_rows`` rows."""
    return (n_rows + CHUNK_ROWS - 1) // CHUNK_ROWS


@njit(**JIT_OPTIONS)
def row_sq_dist(X, i, C, c):
    """||X[i] - C[c]||², summed in float64."""
    total = 0.0
    for j in range(X.shape[1]):
        diff = np.float64(X[i, j]) - np.float64(C[c, j])
        total += diff * diff
    return total


@chunked_kernel
def assign_labels(X, sample_weight, centers, labels, min_sq_dist, chunk_inertia):
    """Nearest center of every row: ``labels[i] = argmin_c ||X[i] - centers[c]||²``.

    Ties go to the lowest center index, as ``numpy.argmin``.

    X : (n, d) IN; sample_weight : (n,) IN; centers : (k, d) IN;
    labels : (n,) int32 OUT; min_sq_dist : (n,) float64 OUT, the squared distance
    to the chosen center; chunk_inertia : (n_chunks(n),) float64 OUT, the weighted
    sum of ``min_sq_dist`` over each chunk.
    """
    n = X.shape[0]
    k = centers.shape[0]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        partial = 0.0
        for i in range(start, stop):
            best = np.inf
            best_c = 0
            for c in range(k):
                dist = row_sq_dist(X, i, centers, c)
                if dist < best:
                    best = dist
                    best_c = c
            labels[i] = best_c
            min_sq_dist[i] = best
            partial += sample_weight[i] * best
        chunk_inertia[chunk] = partial


@chunked_kernel
def labelled_inertia(X, sample_weight, centers, labels, chunk_inertia):
    """Weighted squared distance of each row to the center it is labelled with.

    chunk_inertia : (n_chunks(n),) float64 OUT, one partial sum per chunk.
    """
    n = X.shape[0]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        partial = 0.0
        for i in range(start, stop):
            partial += sample_weight[i] * row_sq_dist(X, i, centers, labels[i])
        chunk_inertia[chunk] = partial


@chunked_kernel
def weighted_cluster_sums(X, sample_weight, order, starts, sums, weights):
    """Per-cluster weighted sums of rows: ``sums[c] = Σ_{labels[i]=c} w_i X[i]``.

    ``order``/``starts`` come from :func:`group_rows_by_label`. Each cluster is
    summed by one thread, its rows in increasing index order.

    sums : (k, d) float64 OUT; weights : (k,) float64 OUT, the weight of each cluster.
    """
    d = X.shape[1]
    for c in prange(sums.shape[0]):
        for j in range(d):
            sums[c, j] = 0.0
        total_weight = 0.0
        for p in range(starts[c], starts[c + 1]):
            i = order[p]
            w = np.float64(sample_weight[i])
            total_weight += w
            for j in range(d):
                sums[c, j] += w * X[i, j]
        weights[c] = total_weight


@chunked_kernel
def pairwise_sq_distances(X, centers, out):
    """out[i, c] = ||X[i] - centers[c]||². out : (n, k) OUT, any float dtype."""
    n = X.shape[0]
    k = centers.shape[0]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for i in range(start, stop):
            for c in range(k):
                out[i, c] = row_sq_dist(X, i, centers, c)


@chunked_kernel
def candidate_potentials(X, sample_weight, closest_sq_dist, candidates, chunk_potentials):
    """k-means++ potential of each candidate center, per chunk.

    ``chunk_potentials[chunk, t] =``
    ``Σ_{i in chunk} w_i min(closest_sq_dist[i], ||X[i] - candidates[t]||²)``

    candidates : (t, d) IN; chunk_potentials : (n_chunks(n), t) float64 OUT.
    """
    n = X.shape[0]
    n_candidates = candidates.shape[0]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for t in range(n_candidates):
            chunk_potentials[chunk, t] = 0.0
        for i in range(start, stop):
            w = np.float64(sample_weight[i])
            for t in range(n_candidates):
                dist = min(closest_sq_dist[i], row_sq_dist(X, i, candidates, t))
                chunk_potentials[chunk, t] += w * dist


@chunked_kernel
def update_closest_sq_dist(X, points, p, closest_sq_dist):
    """closest_sq_dist[i] = min(closest_sq_dist[i], ||X[i] - points[p]||²). IN/OUT."""
    n = X.shape[0]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for i in range(start, stop):
            dist = row_sq_dist(X, i, points, p)
            if dist < closest_sq_dist[i]:
                closest_sq_dist[i] = dist


@chunked_kernel
def column_variances(X):
    """Population variance of every column, float64, by two passes over fixed row blocks."""
    n, d = X.shape
    n_blocks = min(REDUCTION_BLOCKS, n_chunks(n))
    rows_per_block = (n + n_blocks - 1) // n_blocks
    partial = np.zeros((n_blocks, d))
    for b in prange(n_blocks):
        for i in range(b * rows_per_block, min((b + 1) * rows_per_block, n)):
            for j in range(d):
                partial[b, j] += X[i, j]
    mean = np.zeros(d)
    for b in range(n_blocks):
        mean += partial[b]
    mean /= n
    partial[:] = 0.0
    for b in prange(n_blocks):
        for i in range(b * rows_per_block, min((b + 1) * rows_per_block, n)):
            for j in range(d):
                diff = X[i, j] - mean[j]
                partial[b, j] += diff * diff
    variances = np.zeros(d)
    for b in range(n_blocks):
        variances += partial[b]
    return variances / n


@njit(**JIT_OPTIONS)
def first_nonfinite(X):
    """(row, column) of the first NaN or infinite value in row-major order, or (-1, -1)."""
    n, d = X.shape
    for i in range(n):
        for j in range(d):
            if not np.isfinite(X[i, j]):
                return i, j
    return -1, -1
