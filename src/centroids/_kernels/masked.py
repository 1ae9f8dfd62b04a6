"""Kernels over dense rows with holes (NaN): distances and sums over observed entries only.

A NaN in ``X`` is a missing entry; every other value is observed (prior validation has
rejected infinities). The distance of row i to center c is
``s_i · Σ_{j observed in i} (X[i, j] - C[c, j])²`` with ``s_i = d / |O_i|`` (the
inverse of the fraction of the row observed) when ``scaled``, else ``s_i = 1``. For
one row the factor does not change which center is nearest, only the distance.
Rows are processed in chunks of ``CHUNK_ROWS``; per-chunk sums are combined in chunk
order by the caller, so results do not depend on the number of threads.
"""

import numpy as np
from numba import njit, prange

from ..settings import CHUNK_ROWS, JIT_OPTIONS
from ._compile import chunked_kernel
from .dense import n_chunks


@njit(**JIT_OPTIONS)
def observed_scale(X, i, scaled):
    """``d / |O_i|`` when ``scaled`` (0 for a row with nothing observed), else 1."""
    if not scaled:
        return 1.0
    n_observed = 0
    for j in range(X.shape[1]):
        if X[i, j] == X[i, j]:
            n_observed += 1
    if n_observed == 0:
        return 0.0
    return X.shape[1] / n_observed


@njit(**JIT_OPTIONS)
def observed_sq_dist(X, i, C, c):
    """``Σ_{j: X[i, j] is not NaN} (X[i, j] - C[c, j])²``, summed in float64."""
    total = 0.0
    for j in range(X.shape[1]):
        x = X[i, j]
        if x == x:
            diff = np.float64(x) - np.float64(C[c, j])
            total += diff * diff
    return total


@chunked_kernel
def masked_assign(X, sample_weight, centers, scaled, labels, min_sq_dist, chunk_inertia):
    """Nearest center of every row over its observed entries, ties to the lowest index.

    X : (n, d) IN, NaN where missing; sample_weight : (n,) IN; centers : (k, d) IN,
    finite; scaled : bool IN; labels : (n,) int32 OUT; min_sq_dist : (n,) float64 OUT,
    the (scaled) squared distance to the chosen center; chunk_inertia : (n_chunks(n),)
    float64 OUT, the weighted sum of ``min_sq_dist`` over each chunk.
    """
    n = X.shape[0]
    k = centers.shape[0]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        total = 0.0
        for i in range(start, stop):
            best = observed_sq_dist(X, i, centers, 0)
            best_c = 0
            for c in range(1, k):
                dist = observed_sq_dist(X, i, centers, c)
                if dist < best:
                    best = dist
                    best_c = c
            dist = best * observed_scale(X, i, scaled)
            labels[i] = best_c
            min_sq_dist[i] = dist
            total += sample_weight[i] * dist
        chunk_inertia[chunk] = total


@chunked_kernel
def masked_sq_distances(X, centers, scaled, out):
    """Every row's (scaled) squared distance to every center over its observed entries.

    X : (n, d) IN, NaN where missing; centers : (k, d) IN; scaled : bool IN;
    out : (n, k) float64 OUT.
    """
    n = X.shape[0]
    k = centers.shape[0]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for i in range(start, stop):
            scale = observed_scale(X, i, scaled)
            for c in range(k):
                out[i, c] = observed_sq_dist(X, i, centers, c) * scale


@njit(**JIT_OPTIONS)
def masked_cluster_sums(X, sample_weight, labels, scaled, sums, weights):
    """Per cluster and feature, the weighted sum and the weight of the observed entries.

    ``sums[c, j] = Σ_{i: labels[i] = c, X[i, j] observed} w_i s_i X[i, j]`` and
    ``weights[c, j]`` the same sum of ``w_i s_i``, so ``sums / weights`` minimises the
    (scaled) distance of the cluster's rows to the center coordinate by coordinate.

    X : (n, d) IN; sample_weight : (n,) IN; labels : (n,) int32 IN; scaled : bool IN;
    sums, weights : (k, d) float64 OUT (overwritten).
    """
    sums[:] = 0.0
    weights[:] = 0.0
    for i in range(X.shape[0]):
        w = np.float64(sample_weight[i]) * observed_scale(X, i, scaled)
        if w == 0.0:
            continue
        c = labels[i]
        for j in range(X.shape[1]):
            x = X[i, j]
            if x == x:
                sums[c, j] += w * np.float64(x)
                weights[c, j] += w


@njit(**JIT_OPTIONS)
def fill_from_centers(X, rows, labels, centers, out):
    """Copy ``X[rows]`` into ``out[rows]`` with every NaN replaced by its center's value.

    X : (n, d) IN; rows : (m,) int64 IN, the rows to fill; labels : (n,) int32 IN;
    centers : (k, d) IN; out : (n, d) OUT (only ``rows`` are written).
    """
    for r in range(rows.shape[0]):
        i = rows[r]
        c = labels[i]
        for j in range(X.shape[1]):
            x = X[i, j]
            out[i, j] = x if x == x else centers[c, j]
