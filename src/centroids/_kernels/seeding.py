"""Seeding kernels: k-means++ distance updates pruned by the triangle inequality.

Every point keeps its closest chosen center ``closest_center[i]`` and the squared
distance to it ``closest_sq_dist[i]`` (D²). For a new point y and a point x whose
closest center is c, ``||y - c|| ≥ 2 D(x)`` implies ``||x - y|| ≥ D(x)``: y cannot
come closer to x, so the distance is not computed. In squared form the test is
``||y - c||² ≥ 4 D²``. The kernels also keep, for every center, an upper bound
``group_max_sq[c]`` of D² over the points closest to it: a center whose group is
out of reach of every candidate lets its points be skipped with one comparison.

Rows are visited in chunks of ``CHUNK_ROWS``; per-chunk partial sums go to their own
slot and are added in chunk order by the caller, so results do not depend on the
number of threads. Distances are summed in float64. Dense kernels take a C-ordered
X; sparse kernels take CSR ``data``, ``indices``, ``indptr`` and the float64 squared
row norms, and compute ``||x||² - 2 x·y + ||y||²`` clipped at zero.
"""

import numpy as np
from numba import njit, prange

from .._config import CHUNK_ROWS, JIT_OPTIONS, REDUCTION_BLOCKS
from ._compile import chunked_kernel


@njit(**JIT_OPTIONS)
def seeding_chunks(n_rows):
    """Number of chunks of ``CHUNK_ROWS`` rows covering ``n_rows`` rows."""
    return (n_rows + CHUNK_ROWS - 1) // CHUNK_ROWS


@njit(**JIT_OPTIONS)
def seeding_blocks(n_rows):
    """Number of row blocks (runs of whole chunks) for the per-center maxima."""
    return min(REDUCTION_BLOCKS, seeding_chunks(n_rows))


@njit(**JIT_OPTIONS)
def _dense_sq_dist(X, i, Y, t):
    """||X[i] - Y[t]||², summed in float64."""
    total = 0.0
    for j in range(X.shape[1]):
        diff = np.float64(X[i, j]) - np.float64(Y[t, j])
        total += diff * diff
    return total


@njit(**JIT_OPTIONS)
def _sparse_sq_dist(data, indices, indptr, x_sq_norms, i, Y, y_sq_norms, t):
    """||x_i - Y[t]||² for sparse row i and dense row Y[t], clipped at zero."""
    dot = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        dot += np.float64(data[p]) * np.float64(Y[t, indices[p]])
    return max(x_sq_norms[i] - 2.0 * dot + y_sq_norms[t], 0.0)


@njit(**JIT_OPTIONS)
def dense_sq_norms(Y):
    """||Y[t]||² of every dense row, float64."""
    out = np.empty(Y.shape[0])
    for t in range(Y.shape[0]):
        total = 0.0
        for j in range(Y.shape[1]):
            total += np.float64(Y[t, j]) * np.float64(Y[t, j])
        out[t] = total
    return out


@njit(**JIT_OPTIONS)
def points_to_centers_sq(points, centers, n_centers, out):
    """out[t, c] = ||points[t] - centers[c]||² for c < n_centers (direct, float64).

    points : (t, d) IN; centers : (k, d) IN; out : (t, ≥ n_centers) float64 OUT.
    """
    for t in range(points.shape[0]):
        for c in range(n_centers):
            out[t, c] = _dense_sq_dist(points, t, centers, c)


@njit(**JIT_OPTIONS)
def active_groups(cand_center_sq, n_centers, group_max_sq, out):
    """out[c] = 1 if some candidate t has ``cand_center_sq[t, c] < 4 group_max_sq[c]``.

    A group (the points closest to center c) whose flag is 0 is out of reach of every
    candidate. out : (≥ n_centers,) uint8 OUT.
    """
    for c in range(n_centers):
        out[c] = 0
        for t in range(cand_center_sq.shape[0]):
            if cand_center_sq[t, c] < 4.0 * group_max_sq[c]:
                out[c] = 1
                break


@njit(**JIT_OPTIONS)
def combine_group_max(block_max_sq, n_centers, group_max_sq):
    """group_max_sq[c] = max over blocks of block_max_sq[b, c], for c < n_centers."""
    for c in range(n_centers):
        best = 0.0
        for b in range(block_max_sq.shape[0]):
            if block_max_sq[b, c] > best:
                best = block_max_sq[b, c]
        group_max_sq[c] = best


@chunked_kernel
def dense_candidate_deltas(
    X,
    sample_weight,
    closest_sq_dist,
    closest_center,
    candidates,
    cand_center_sq,
    group_active,
    chunk_deltas,
    chunk_counts,
):
    """Change of the k-means++ potential from adding each candidate, per chunk, pruned.

    ``chunk_deltas[chunk, t] = Σ_{i in chunk} w_i (min(D_i², ||X[i] - cand_t||²) - D_i²)``
    where the sum runs over the points not pruned (a pruned point contributes 0 anyway).

    X : (n, d) IN; sample_weight, closest_sq_dist : (n,) IN; closest_center : (n,) IN;
    candidates : (t, d) IN; cand_center_sq : (t, k) float64 IN (candidate-to-center
    squared distances); group_active : (k,) uint8 IN (see :func:`active_groups`);
    chunk_deltas : (n_chunks, t) float64 OUT; chunk_counts : (n_chunks,) int64 OUT
    (distances computed).
    """
    n = X.shape[0]
    n_candidates = candidates.shape[0]
    for chunk in prange(seeding_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for t in range(n_candidates):
            chunk_deltas[chunk, t] = 0.0
        count = 0
        for i in range(start, stop):
            c = closest_center[i]
            if group_active[c] == 0:
                continue
            reach = 4.0 * closest_sq_dist[i]
            w = np.float64(sample_weight[i])
            for t in range(n_candidates):
                if cand_center_sq[t, c] < reach:
                    count += 1
                    dist = _dense_sq_dist(X, i, candidates, t)
                    if dist < closest_sq_dist[i]:
                        chunk_deltas[chunk, t] += w * (dist - closest_sq_dist[i])
        chunk_counts[chunk] = count


@chunked_kernel
def dense_candidate_deltas_gemm(
    X,
    x_sq_norms,
    sample_weight,
    closest_sq_dist,
    closest_center,
    candidates,
    cand_center_sq,
    group_active,
    chunk_deltas,
    chunk_counts,
):
    """:func:`dense_candidate_deltas` with the distances of a busy chunk from one product.

    In a chunk where at least a quarter of the (point, candidate) pairs survive pruning,
    the distances are ``||x||² - 2 x·y + ||y||²`` (clipped at zero) from a float64
    matrix product of the chunk with the candidates (BLAS); elsewhere they are direct.
    x_sq_norms : (n,) float64 IN, ||X[i]||².
    """
    n = X.shape[0]
    d = X.shape[1]
    n_candidates = candidates.shape[0]
    cand64_T = np.empty((d, n_candidates))
    for t in range(n_candidates):
        for j in range(d):
            cand64_T[j, t] = np.float64(candidates[t, j])
    cand_sq_norms = dense_sq_norms(candidates)
    for chunk in prange(seeding_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for t in range(n_candidates):
            chunk_deltas[chunk, t] = 0.0
        reached = np.zeros((stop - start, n_candidates), dtype=np.uint8)
        count = 0
        for i in range(start, stop):
            c = closest_center[i]
            if group_active[c] == 0:
                continue
            reach = 4.0 * closest_sq_dist[i]
            for t in range(n_candidates):
                if cand_center_sq[t, c] < reach:
                    reached[i - start, t] = 1
                    count += 1
        chunk_counts[chunk] = count
        if count == 0:
            continue
        if 4 * count >= (stop - start) * n_candidates:
            rows64 = np.empty((stop - start, d))
            for i in range(start, stop):
                for j in range(d):
                    rows64[i - start, j] = np.float64(X[i, j])
            dots = np.dot(rows64, cand64_T)
            for i in range(start, stop):
                w = np.float64(sample_weight[i])
                for t in range(n_candidates):
                    if reached[i - start, t]:
                        dist = x_sq_norms[i] - 2.0 * dots[i - start, t] + cand_sq_norms[t]
                        dist = max(dist, 0.0)
                        if dist < closest_sq_dist[i]:
                            chunk_deltas[chunk, t] += w * (dist - closest_sq_dist[i])
        else:
            for i in range(start, stop):
                w = np.float64(sample_weight[i])
                for t in range(n_candidates):
                    if reached[i - start, t]:
                        dist = _dense_sq_dist(X, i, candidates, t)
                        if dist < closest_sq_dist[i]:
                            chunk_deltas[chunk, t] += w * (dist - closest_sq_dist[i])


@chunked_kernel
def dense_row_sq_norms(X):
    """||X[i]||² of every row, float64 (direct sums)."""
    n = X.shape[0]
    out = np.empty(n)
    for chunk in prange(seeding_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for i in range(start, stop):
            total = 0.0
            for j in range(X.shape[1]):
                total += np.float64(X[i, j]) * np.float64(X[i, j])
            out[i] = total
    return out


@chunked_kernel
def sparse_candidate_deltas(
    data,
    indices,
    indptr,
    x_sq_norms,
    sample_weight,
    closest_sq_dist,
    closest_center,
    candidates,
    cand_center_sq,
    group_active,
    chunk_deltas,
    chunk_counts,
):
    """Sparse twin of :func:`dense_candidate_deltas` (candidates are dense rows)."""
    n = indptr.shape[0] - 1
    n_candidates = candidates.shape[0]
    cand_sq_norms = dense_sq_norms(candidates)
    for chunk in prange(seeding_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for t in range(n_candidates):
            chunk_deltas[chunk, t] = 0.0
        count = 0
        for i in range(start, stop):
            c = closest_center[i]
            if group_active[c] == 0:
                continue
            reach = 4.0 * closest_sq_dist[i]
            w = np.float64(sample_weight[i])
            for t in range(n_candidates):
                if cand_center_sq[t, c] < reach:
                    count += 1
                    dist = _sparse_sq_dist(
                        data, indices, indptr, x_sq_norms, i, candidates, cand_sq_norms, t
                    )
                    if dist < closest_sq_dist[i]:
                        chunk_deltas[chunk, t] += w * (dist - closest_sq_dist[i])
        chunk_counts[chunk] = count


@chunked_kernel
def dense_add_center(
    X, centers, new, new_center_sq, closest_sq_dist, closest_center, block_max_sq, chunk_counts
):
    """Make ``centers[new]`` a chosen center: update D² and the closest center, pruned.

    A point whose closest center c has ``new_center_sq[c] ≥ 4 D²`` keeps its D². Also
    writes, per block of rows, the largest D² of the points closest to each center.

    centers : (k, d) IN; new_center_sq : (k,) float64 IN (||centers[new] - centers[c]||²
    for c < new; use ``+inf`` D² to force every distance); closest_sq_dist,
    closest_center : (n,) IN/OUT; block_max_sq : (seeding_blocks(n), k) float64 OUT
    (columns ≤ new); chunk_counts : (n_chunks,) int64 OUT.
    """
    n = X.shape[0]
    n_chunks = seeding_chunks(n)
    n_blocks = seeding_blocks(n)
    for block in prange(n_blocks):
        for c in range(new + 1):
            block_max_sq[block, c] = 0.0
        first = block * n_chunks // n_blocks
        last = (block + 1) * n_chunks // n_blocks
        for chunk in range(first, last):
            start = chunk * CHUNK_ROWS
            stop = min(start + CHUNK_ROWS, n)
            count = 0
            for i in range(start, stop):
                c = closest_center[i]
                if new_center_sq[c] < 4.0 * closest_sq_dist[i]:
                    count += 1
                    dist = _dense_sq_dist(X, i, centers, new)
                    if dist < closest_sq_dist[i]:
                        closest_sq_dist[i] = dist
                        closest_center[i] = new
                c = closest_center[i]
                if closest_sq_dist[i] > block_max_sq[block, c]:
                    block_max_sq[block, c] = closest_sq_dist[i]
            chunk_counts[chunk] = count


@chunked_kernel
def sparse_add_center(
    data,
    indices,
    indptr,
    x_sq_norms,
    centers,
    new,
    new_center_sq,
    closest_sq_dist,
    closest_center,
    block_max_sq,
    chunk_counts,
):
    """Sparse twin of :func:`dense_add_center` (centers are dense rows)."""
    n = indptr.shape[0] - 1
    n_chunks = seeding_chunks(n)
    n_blocks = seeding_blocks(n)
    new_sq_norm = np.empty(1)
    new_row = centers[new : new + 1]
    new_sq_norm[0] = dense_sq_norms(new_row)[0]
    for block in prange(n_blocks):
        for c in range(new + 1):
            block_max_sq[block, c] = 0.0
        first = block * n_chunks // n_blocks
        last = (block + 1) * n_chunks // n_blocks
        for chunk in range(first, last):
            start = chunk * CHUNK_ROWS
            stop = min(start + CHUNK_ROWS, n)
            count = 0
            for i in range(start, stop):
                c = closest_center[i]
                if new_center_sq[c] < 4.0 * closest_sq_dist[i]:
                    count += 1
                    dist = _sparse_sq_dist(
                        data, indices, indptr, x_sq_norms, i, new_row, new_sq_norm, 0
                    )
                    if dist < closest_sq_dist[i]:
                        closest_sq_dist[i] = dist
                        closest_center[i] = new
                c = closest_center[i]
                if closest_sq_dist[i] > block_max_sq[block, c]:
                    block_max_sq[block, c] = closest_sq_dist[i]
            chunk_counts[chunk] = count


@chunked_kernel
def dense_add_centers(X, centers, first, closest_sq_dist, closest_center):
    """Make ``centers[first:]`` chosen centers at once (no pruning): for every point,
    D² = min(D², ||X[i] - centers[m]||²) over m ≥ first, the closest center following.

    Ties keep the earlier center. closest_sq_dist, closest_center : (n,) IN/OUT.
    """
    n = X.shape[0]
    k = centers.shape[0]
    for chunk in prange(seeding_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for i in range(start, stop):
            for m in range(first, k):
                dist = _dense_sq_dist(X, i, centers, m)
                if dist < closest_sq_dist[i]:
                    closest_sq_dist[i] = dist
                    closest_center[i] = m


@chunked_kernel
def dense_add_centers_gemm(X, x_sq_norms, centers, first, closest_sq_dist, closest_center):
    """:func:`dense_add_centers` with the distances from float64 matrix products.

    Per chunk of rows and block of up to ``CHUNK_ROWS`` new centers, the distances are
    ``||x||² - 2 x·c + ||c||²``; one that comes out below a millionth of
    ``||x||² + ||c||²`` (where cancellation dominates) is recomputed directly, so a
    row equal to a center is at distance exactly 0. x_sq_norms : (n,) float64 IN.
    """
    n = X.shape[0]
    d = X.shape[1]
    k = centers.shape[0]
    n_new = k - first
    new64_T = np.empty((d, n_new))
    for m in range(n_new):
        for j in range(d):
            new64_T[j, m] = np.float64(centers[first + m, j])
    new_sq_norms = dense_sq_norms(centers[first:])
    for chunk in prange(seeding_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        rows64 = np.empty((stop - start, d))
        for i in range(start, stop):
            for j in range(d):
                rows64[i - start, j] = np.float64(X[i, j])
        for block_start in range(0, n_new, CHUNK_ROWS):
            block_stop = min(block_start + CHUNK_ROWS, n_new)
            dots = np.dot(rows64, np.ascontiguousarray(new64_T[:, block_start:block_stop]))
            for i in range(start, stop):
                for m in range(block_start, block_stop):
                    scale = x_sq_norms[i] + new_sq_norms[m]
                    dist = scale - 2.0 * dots[i - start, m - block_start]
                    if dist < 1e-6 * scale:
                        dist = _dense_sq_dist(X, i, centers, first + m)
                    if dist < closest_sq_dist[i]:
                        closest_sq_dist[i] = dist
                        closest_center[i] = first + m


@chunked_kernel
def sparse_add_centers(
    data, indices, indptr, x_sq_norms, centers, first, closest_sq_dist, closest_center
):
    """Sparse twin of :func:`dense_add_centers` (centers are dense rows)."""
    n = indptr.shape[0] - 1
    k = centers.shape[0]
    c_sq_norms = dense_sq_norms(centers)
    for chunk in prange(seeding_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for i in range(start, stop):
            for m in range(first, k):
                dist = _sparse_sq_dist(data, indices, indptr, x_sq_norms, i, centers, c_sq_norms, m)
                if dist < closest_sq_dist[i]:
                    closest_sq_dist[i] = dist
                    closest_center[i] = m


@njit(**JIT_OPTIONS)
def draw_by_mass(sample_weight, closest_sq_dist, draws, out):
    """Invert the cumulative distribution of ``w_i D_i²`` at ``draws[t] · total``.

    The cumulative sum runs in row order, as :func:`numpy.cumsum` does, so the rows are
    those of ``searchsorted(cumsum(w · D²), draws · total, side='right')``; a row of zero
    mass is never returned, and a position past the end goes to the last row with mass.
    Returns the total mass; when it is 0, ``out`` is left as it was.
    out : (t,) int64 OUT.
    """
    n = sample_weight.shape[0]
    cumulative = np.empty(n)
    total = 0.0
    last_with_mass = -1
    for i in range(n):
        mass = np.float64(sample_weight[i]) * closest_sq_dist[i]
        total += mass
        cumulative[i] = total
        if mass > 0:
            last_with_mass = i
    if not total > 0:
        return total
    for t in range(draws.shape[0]):
        target = draws[t] * total
        row = np.searchsorted(cumulative, target, side="right")
        out[t] = min(row, last_with_mass)
    return total


@chunked_kernel
def min_sq_dist_to_centers(points, centers, n_centers, out):
    """out[t] = min over c < n_centers of ||points[t] - centers[c]||² (direct, float64).

    points : (t, d) IN; centers : (k, d) IN; out : (t,) float64 OUT.
    """
    for t in prange(points.shape[0]):
        best = np.inf
        for c in range(n_centers):
            dist = _dense_sq_dist(points, t, centers, c)
            if dist < best:
                best = dist
        out[t] = best
