"""Lloyd's fused assignment and cluster sums for few features, in SIMD lanes over rows.

With few features a row's distances to the centers are short sums, and vectorising
over the features (d lanes) or over the centers (k lanes) leaves most lanes idle or
reloads every row k times. Here each chunk of ``CHUNK_ROWS`` rows is first copied,
transposed, into a (d, rows) tile that stays in L1; then, for one center at a time,
the innermost loops run over the tile's contiguous rows: ``acc[r] += (x[j, r] -
c[j])²`` for every feature j, and a running minimum and argmin per row. Every
innermost loop is over contiguous rows with nothing carried from one row to the
next, so LLVM vectorises it (one SIMD lane a row) without reordering any sum.

The distances are the direct sums of squared differences, so the labels need no
rounding check, and each is summed in the order the engine's other kernels sum it:
below ``GEMM_MIN_FEATURES`` features in X's dtype, feature by feature, as
``dense.direct_assign_row`` does (labels and distances bit-identical to it); from
``GEMM_MIN_FEATURES`` features on in float64, in four running sums of every fourth
feature added as ``(s0 + s1) + (s2 + s3)``, the exact distance
``bounded.point_sq_dist`` gives the product kernels' near ties (labels identical to
``dense.assign_and_sum_gemm``'s; the reported distances are the direct ones, not the
product's, so the inertia agrees with it to rounding). Ties go to the lowest center
index. Which of the two the caller wants is told by the dtype of ``centers_T``.

The cluster sums are those of ``dense.weighted_cluster_sums``: the rows cut into the
same blocks, each adding ``w_i X[i]`` row by row in float64 to its own partial sums,
the blocks added in block order, so the result is the same on any number of threads.
"""

import numpy as np
from numba import njit, prange

from ..settings import CHUNK_ROWS, GEMM_MIN_FEATURES, JIT_OPTIONS
from ._compile import chunked_kernel
from .dense import (
    add_blocks_in_order,
    block_chunks,
    block_rows,
    centers_in_reach,
    chunk_is_cut,
    cut_chunk_inertia,
)


@chunked_kernel
def assign_and_sum_lowd(
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
):
    """Nearest center of every row, and the weighted sums of each cluster's rows, in one
    pass over X.

    X : (n, d) IN, C-ordered float32/float64; sample_weight : (n,) IN; centers_T :
    (d, k) IN, C-ordered: X's dtype below ``GEMM_MIN_FEATURES`` features, float64 from
    there on (the dtype the distances are computed in); prune : bool IN, whether each
    chunk leaves out the centers its bounding box proves farther
    (``dense.centers_in_reach``; only where centers_T has X's dtype); labels : (n,)
    int32 OUT; min_sq_dist : (n,) float64 OUT; chunk_inertia : (n_chunks(n),) float64
    OUT, ``Σ w_i min_sq_dist[i]`` over each chunk in row order; block_sums :
    (n_blocks, k, d) float64 scratch (n_blocks from ``dense.cluster_sum_blocks``);
    block_weights : (n_blocks, k) float64 scratch; sums : (k, d) float64 OUT; weights :
    (k,) float64 OUT.
    """
    n, d = X.shape
    k = centers_T.shape[1]
    n_blocks = block_weights.shape[0]
    for b in prange(n_blocks):
        block_sums[b] = 0.0
        block_weights[b] = 0.0
        lo, hi = block_rows(n, n_blocks, b)
        tile = np.empty((d, CHUNK_ROWS), dtype=centers_T.dtype)
        acc = np.empty((4, CHUNK_ROWS), dtype=centers_T.dtype)
        best = np.empty(CHUNK_ROWS, dtype=centers_T.dtype)
        best_c = np.empty(CHUNK_ROWS, dtype=np.int32)
        keep = np.empty(k, dtype=np.int64)
        for chunk in block_chunks(lo, hi):
            start = max(lo, chunk * CHUNK_ROWS)
            stop = min(hi, (chunk + 1) * CHUNK_ROWS)
            n_keep = k
            if prune:
                n_keep = centers_in_reach(X, start, stop, centers_T, keep)
            if n_keep == k:
                for c in range(k):
                    keep[c] = c
            partial = assign_tile(
                X,
                start,
                stop,
                sample_weight,
                centers_T,
                keep[:n_keep],
                tile,
                acc,
                best,
                best_c,
                labels,
                min_sq_dist,
            )
            add_rows_to_block(
                X, start, stop, sample_weight, labels, block_sums[b], block_weights[b]
            )
            if not chunk_is_cut(n, n_blocks, chunk):
                chunk_inertia[chunk] = partial
    cut_chunk_inertia(n_blocks, sample_weight, min_sq_dist, chunk_inertia)
    add_blocks_in_order(block_sums, block_weights, sums, weights)


@njit(**JIT_OPTIONS)
def add_rows_to_block(X, start, stop, sample_weight, labels, sums, weights):
    """Adds ``w_i X[i]`` to the block's float64 partial sums of the cluster of each row i
    from ``start`` to ``stop``, in row order, as ``dense.add_row_to_block`` does row by
    row (the same sums, bit for bit; one view of the block for all rows).

    sums : (k, d) float64 IN/OUT; weights : (k,) float64 IN/OUT.
    """
    d = X.shape[1]
    for i in range(start, stop):
        c = labels[i]
        w = np.float64(sample_weight[i])
        weights[c] += w
        for j in range(d):
            sums[c, j] += w * X[i, j]


@njit(**JIT_OPTIONS)
def assign_tile(
    X, start, stop, sample_weight, centers_T, keep, tile, acc, best, best_c, labels, min_sq_dist
):
    """Rows ``start`` to ``stop`` (at most ``CHUNK_ROWS``) of :func:`assign_and_sum_lowd`:
    sets their labels and ``min_sq_dist``, returns ``Σ w_i min_sq_dist[i]`` in row order.

    keep : the centers to compute (ascending; every other one is farther for every row);
    tile : (d, CHUNK_ROWS), acc : (4, CHUNK_ROWS), best : (CHUNK_ROWS,), all of
    centers_T's dtype, and best_c : (CHUNK_ROWS,) int32: scratch.
    """
    d = X.shape[1]
    m = stop - start
    for r in range(m):
        for j in range(d):
            tile[j, r] = X[start + r, j]
    for r in range(m):
        best[r] = np.inf
        best_c[r] = keep[0]
    grouped = d >= GEMM_MIN_FEATURES
    for c in keep:
        if grouped:
            tile_nearest_grouped(tile, m, centers_T, c, acc, best, best_c)
        else:
            tile_nearest(tile, m, centers_T, c, acc[0], best, best_c)
    partial = 0.0
    for r in range(m):
        i = start + r
        labels[i] = best_c[r]
        value = np.float64(best[r])
        min_sq_dist[i] = value
        partial += sample_weight[i] * value
    return partial


@njit(**JIT_OPTIONS, inline="always")
def tile_nearest(tile, m, centers_T, c, acc, best, best_c):
    """For r < m: ``dist = Σ_j (tile[j, r] - centers_T[j, c])²``, summed feature by
    feature in the tile's dtype (as ``dense.direct_assign_row``), and where ``dist <
    best[r]``, ``best[r] = dist`` and ``best_c[r] = c``. d ≤ 8; acc : (≥ m,) scratch.

    Each loop runs over contiguous rows and takes up to four features at once (fewer
    loads and stores of the running sum), the last one fused with the comparison.
    """
    d = tile.shape[0]
    if d > 4:
        x0 = tile[0]
        x1 = tile[1]
        x2 = tile[2]
        x3 = tile[3]
        y0 = centers_T[0, c]
        y1 = centers_T[1, c]
        y2 = centers_T[2, c]
        y3 = centers_T[3, c]
        for r in range(m):
            e0 = x0[r] - y0
            e1 = x1[r] - y1
            e2 = x2[r] - y2
            e3 = x3[r] - y3
            acc[r] = ((e0 * e0 + e1 * e1) + e2 * e2) + e3 * e3
        nearest_of_sums(tile, 4, m, centers_T, c, acc, True, best, best_c)
    else:
        nearest_of_sums(tile, 0, m, centers_T, c, acc, False, best, best_c)


@njit(**JIT_OPTIONS, inline="always")
def nearest_of_sums(tile, first, m, centers_T, c, acc, started, best, best_c):
    """The last loop of :func:`tile_nearest`: adds the features ``first`` to d - 1 (at
    most four) to ``acc`` (or starts from them when not ``started``) in feature order,
    and keeps the smaller of the result and ``best[r]``."""
    d = tile.shape[0]
    p = d - first
    x0 = tile[first]
    y0 = centers_T[first, c]
    if p == 1:
        for r in range(m):
            e0 = x0[r] - y0
            dist = acc[r] + e0 * e0 if started else e0 * e0
            if dist < best[r]:
                best[r] = dist
                best_c[r] = c
        return
    x1 = tile[first + 1]
    y1 = centers_T[first + 1, c]
    if p == 2:
        for r in range(m):
            e0 = x0[r] - y0
            e1 = x1[r] - y1
            dist = (acc[r] + e0 * e0 if started else e0 * e0) + e1 * e1
            if dist < best[r]:
                best[r] = dist
                best_c[r] = c
        return
    x2 = tile[first + 2]
    y2 = centers_T[first + 2, c]
    if p == 3:
        for r in range(m):
            e0 = x0[r] - y0
            e1 = x1[r] - y1
            e2 = x2[r] - y2
            dist = ((acc[r] + e0 * e0 if started else e0 * e0) + e1 * e1) + e2 * e2
            if dist < best[r]:
                best[r] = dist
                best_c[r] = c
        return
    x3 = tile[first + 3]
    y3 = centers_T[first + 3, c]
    for r in range(m):
        e0 = x0[r] - y0
        e1 = x1[r] - y1
        e2 = x2[r] - y2
        e3 = x3[r] - y3
        dist = (((acc[r] + e0 * e0 if started else e0 * e0) + e1 * e1) + e2 * e2) + e3 * e3
        if dist < best[r]:
            best[r] = dist
            best_c[r] = c


@njit(**JIT_OPTIONS, inline="always")
def tile_nearest_grouped(tile, m, centers_T, c, acc, best, best_c):
    """:func:`tile_nearest` with the distance summed as ``bounded.point_sq_dist`` sums it
    from ``GEMM_MIN_FEATURES`` features on: four running sums ``s_q`` of the features
    ``j ≡ q (mod 4)`` below the last multiple of 4, the rest added to ``s_0``, then
    ``(s_0 + s_1) + (s_2 + s_3)``. d ≥ 8; acc : (4, ≥ m) scratch.

    Each loop takes four features (one for each running sum); the last group of four,
    or the last of the rest, is fused with the comparison.
    """
    d = tile.shape[0]
    last = d - d % 4
    s0 = acc[0]
    s1 = acc[1]
    s2 = acc[2]
    s3 = acc[3]
    x0 = tile[0]
    x1 = tile[1]
    x2 = tile[2]
    x3 = tile[3]
    y0 = centers_T[0, c]
    y1 = centers_T[1, c]
    y2 = centers_T[2, c]
    y3 = centers_T[3, c]
    for r in range(m):
        e0 = x0[r] - y0
        e1 = x1[r] - y1
        e2 = x2[r] - y2
        e3 = x3[r] - y3
        s0[r] = e0 * e0
        s1[r] = e1 * e1
        s2[r] = e2 * e2
        s3[r] = e3 * e3
    # Groups of four after the first; when d is a multiple of 4 the last group is
    # fused below.
    n_group_loops = last if d > last else last - 4
    for j in range(4, n_group_loops, 4):
        x0 = tile[j]
        x1 = tile[j + 1]
        x2 = tile[j + 2]
        x3 = tile[j + 3]
        y0 = centers_T[j, c]
        y1 = centers_T[j + 1, c]
        y2 = centers_T[j + 2, c]
        y3 = centers_T[j + 3, c]
        for r in range(m):
            e0 = x0[r] - y0
            e1 = x1[r] - y1
            e2 = x2[r] - y2
            e3 = x3[r] - y3
            s0[r] += e0 * e0
            s1[r] += e1 * e1
            s2[r] += e2 * e2
            s3[r] += e3 * e3
    if d == last:
        j = last - 4
        x0 = tile[j]
        x1 = tile[j + 1]
        x2 = tile[j + 2]
        x3 = tile[j + 3]
        y0 = centers_T[j, c]
        y1 = centers_T[j + 1, c]
        y2 = centers_T[j + 2, c]
        y3 = centers_T[j + 3, c]
        for r in range(m):
            e0 = x0[r] - y0
            e1 = x1[r] - y1
            e2 = x2[r] - y2
            e3 = x3[r] - y3
            dist = ((s0[r] + e0 * e0) + (s1[r] + e1 * e1)) + ((s2[r] + e2 * e2) + (s3[r] + e3 * e3))
            if dist < best[r]:
                best[r] = dist
                best_c[r] = c
        return
    # The rest go to s_0 in feature order, the last one fused with the comparison.
    for j in range(last, d - 1):
        x0 = tile[j]
        y0 = centers_T[j, c]
        for r in range(m):
            e0 = x0[r] - y0
            s0[r] += e0 * e0
    x0 = tile[d - 1]
    y0 = centers_T[d - 1, c]
    for r in range(m):
        e0 = x0[r] - y0
        dist = ((s0[r] + e0 * e0) + s1[r]) + (s2[r] + s3[r])
        if dist < best[r]:
            best[r] = dist
            best_c[r] = c
