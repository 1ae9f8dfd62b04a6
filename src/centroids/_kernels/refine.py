"""Kernels for refining a converged k-means run: each row's two nearest centers.

A center's *removal cost* is the inertia added when it is deleted and its rows move to
their second-nearest center, ``Σ_{labels[i]=c} w_i (d₂(x_i) - d₁(x_i))``; these kernels
give the per-row distances it is made of (O(n) memory, never an n×k matrix), and the
caller sums them per cluster in row order.
"""

import numpy as np
from numba import njit, prange

from ..settings import CHUNK_ROWS, JIT_OPTIONS
from ._compile import chunked_kernel
from .bounded import point_sq_dist
from .dense import n_chunks, row_sq_dist
from .sparse import _sq_dist, dense_row_sq_norms


@njit(**JIT_OPTIONS)
def _keep_two_smallest(dist, c, best, best_c, second):
    """Insert ``dist`` (of center ``c``) into the running (best, best_c, second).

    Ties go to the lowest center index, as ``numpy.argmin``: a later equal distance
    becomes the second-nearest, not the nearest.
    """
    if dist < best:
        return dist, c, best
    if dist < second:
        return best, best_c, dist
    return best, best_c, second


@chunked_kernel
def two_nearest_centers(X, centers, labels, min_sq_dist, second_sq_dist):
    """Nearest center of every row and the squared distances to its two nearest centers.

    ``labels[i] = argmin_c ||X[i] - centers[c]||²`` (lowest index on ties),
    ``min_sq_dist[i]`` that distance, ``second_sq_dist[i]`` the smallest distance to any
    other center (``inf`` when there is a single center).

    X : (n, d) IN; centers : (k, d) IN; labels : (n,) int32 OUT;
    min_sq_dist, second_sq_dist : (n,) float64 OUT.
    """
    n = X.shape[0]
    k = centers.shape[0]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for i in range(start, stop):
            best = np.inf
            best_c = 0
            second = np.inf
            for c in range(k):
                dist = row_sq_dist(X, i, centers, c)
                best, best_c, second = _keep_two_smallest(dist, c, best, best_c, second)
            labels[i] = best_c
            min_sq_dist[i] = best
            second_sq_dist[i] = second


@chunked_kernel
def sparse_two_nearest_centers(
    data, indices, indptr, x_sq_norms, centers, labels, min_sq_dist, second_sq_dist
):
    """Sparse twin of :func:`two_nearest_centers` over a CSR matrix's arrays."""
    n = indptr.shape[0] - 1
    k = centers.shape[0]
    c_sq_norms = dense_row_sq_norms(centers)
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for i in range(start, stop):
            best = np.inf
            best_c = 0
            second = np.inf
            for c in range(k):
                dist = _sq_dist(data, indices, indptr, x_sq_norms, i, centers, c_sq_norms, c)
                best, best_c, second = _keep_two_smallest(dist, c, best, best_c, second)
            labels[i] = best_c
            min_sq_dist[i] = best
            second_sq_dist[i] = second


@chunked_kernel
def two_nearest_centers_gemm(
    X,
    x_sq_norms,
    product_centers,
    labels,
    min_sq_dist,
    second_sq_dist,
):
    """:func:`two_nearest_centers` through a matrix product per chunk of rows (high d).

    Per chunk, ``scores = X[chunk] @ neg2_centers_T`` in X's dtype (BLAS), and
    ``||x||² + ||c||² + score`` (in float64, clipped at zero) is the squared distance.
    Where the second-nearest is within twice the product's error bound of the nearest,
    the centers in that reach get their direct float64 distances, so the label is the
    exact nearest center (lowest index on ties: equal centers give equal distances,
    whatever the product's rounding of each), as ``assign_labels_gemm`` chooses it.
    Only a (CHUNK_ROWS, k) block of scores exists at a time.

    X : (n, d) IN; x_sq_norms : (n,) float64 IN; product_centers : IN, as
    ``assign_labels_gemm`` takes them (``gemm_centers``); labels, min_sq_dist,
    second_sq_dist : OUT, as :func:`two_nearest_centers`.
    """
    centers, neg2_centers_T, c_sq_norms, tie_slack = product_centers
    n = X.shape[0]
    k = neg2_centers_T.shape[1]
    slack_scale, slack_floor, c_sq_max = tie_slack
    rows = (X, x_sq_norms)
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        scores = np.dot(X[start:stop], neg2_centers_T)
        for r in range(stop - start):
            i = start + r
            best = np.inf
            best_c = 0
            second = np.inf
            for c in range(k):
                dist = max(x_sq_norms[i] + c_sq_norms[c] + np.float64(scores[r, c]), 0.0)
                best, best_c, second = _keep_two_smallest(dist, c, best, best_c, second)
            slack = slack_scale * (x_sq_norms[i] + c_sq_max) + slack_floor
            reach = best + 2.0 * slack
            if second <= reach:
                best = np.inf
                second = np.inf
                for c in range(k):
                    dist = max(x_sq_norms[i] + c_sq_norms[c] + np.float64(scores[r, c]), 0.0)
                    if dist <= reach:
                        dist = point_sq_dist(rows, i, centers, c_sq_norms, c)
                    best, best_c, second = _keep_two_smallest(dist, c, best, best_c, second)
            labels[i] = best_c
            min_sq_dist[i] = best
            second_sq_dist[i] = second
