"""Kernels over dense, C-ordered float32 or float64 arrays.

Rows are processed in chunks of ``CHUNK_ROWS``; per-chunk partial sums are written
to their own slot and combined in chunk order by the caller, so results do not
depend on the number of threads. Distances are squared Euclidean. The assignment
kernels compute them in X's dtype (float32 stays float32): by direct differences
for few features, through a BLAS matrix product per chunk of rows for many; the
reported distances, inertia and cluster sums are float64.
"""

import numpy as np
from numba import njit, prange

from ..settings import (
    CHUNK_ROWS,
    CLUSTER_SUMS_BLOCKS,
    CLUSTER_SUMS_SCRATCH,
    GEMM_ONE_PASS_MIN_CLUSTERS,
    JIT_OPTIONS,
    REDUCTION_BLOCKS,
)
from ._compile import chunked_kernel
from .bounded import exact_label


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


@njit(**JIT_OPTIONS)
def argmin_of_row(scores, r):
    """(lowest index of the minimum of ``scores[r]``, that minimum); ties to the lowest index."""
    best = scores[r, 0]
    best_c = 0
    for c in range(1, scores.shape[1]):
        if scores[r, c] < best:
            best = scores[r, c]
            best_c = c
    return best_c, best


@chunked_kernel
def assign_labels_direct(X, sample_weight, centers_T, prune, labels, min_sq_dist, chunk_inertia):
    """Nearest center of every row by direct differences, in X's dtype (for low d).

    ``labels[i] = argmin_c Σ_j (X[i, j] - centers_T[j, c])²``, ties to the lowest
    center index. The innermost loop runs over the k contiguous centers of one
    feature, so it vectorises without reordering any sum.

    X : (n, d) IN; sample_weight : (n,) IN; centers_T : (d, k) IN, C-ordered, X's
    dtype; prune : bool IN, whether chunks leave out the centers their bounding box
    proves farther (see :func:`direct_assign_rows`); labels : (n,) int32 OUT;
    min_sq_dist : (n,) float64 OUT, the squared distance to the chosen center;
    chunk_inertia : (n_chunks(n),) float64 OUT, the weighted sum of ``min_sq_dist``
    over each chunk.
    """
    n = X.shape[0]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        chunk_inertia[chunk] = direct_assign_rows(
            X, start, stop, sample_weight, centers_T, prune, labels, min_sq_dist
        )


@njit(**JIT_OPTIONS)
def direct_assign_rows(X, start, stop, sample_weight, centers_T, prune, labels, min_sq_dist):
    """Rows ``start`` to ``stop`` (exclusive) of :func:`assign_labels_direct`; returns
    the sum of their ``sample_weight[i] * min_sq_dist[i]`` in row order.

    With ``prune``, centers that are farther than another center from every row of
    the range are left out, with the same labels and
    distances: each center's smallest and largest distance to the rows' bounding box
    are summed in X's dtype term by term as a row's distance is, and rounding is
    monotone, so no row's computed distance to a center is below its smallest or above
    its largest. A center whose smallest exceeds the least of the largest is strictly
    farther, for every row, than the center that gives that least. Rows in spatial
    order (sorted, gridded or Z-ordered data) leave few centers to compute; on rows in
    random order every center stays, and the box (a pass over the range's rows and k·d
    checks) is wasted: the caller decides (``DenseData.direct_pruning``).
    """
    d = X.shape[1]
    k = centers_T.shape[1]
    partial = 0.0
    if prune:
        keep = np.empty(k, dtype=np.int64)
        n_keep = centers_in_reach(X, start, stop, centers_T, keep)
        if n_keep < k:
            kept_T = np.empty((d, n_keep), dtype=X.dtype)
            for j in range(d):
                for m in range(n_keep):
                    kept_T[j, m] = centers_T[j, keep[m]]
            dist = np.empty((1, n_keep), dtype=X.dtype)
            for i in range(start, stop):
                partial += direct_assign_row(X, i, sample_weight, kept_T, labels, min_sq_dist, dist)
                labels[i] = keep[labels[i]]
            return partial
    dist = np.empty((1, k), dtype=X.dtype)
    for i in range(start, stop):
        partial += direct_assign_row(X, i, sample_weight, centers_T, labels, min_sq_dist, dist)
    return partial


@njit(**JIT_OPTIONS)
def centers_in_reach(X, start, stop, centers_T, keep):
    """The centers :func:`direct_assign_rows` computes for rows ``start`` to ``stop``:
    writes their indices, ascending, to ``keep`` ((k,) int64 OUT) and returns how
    many. Every center left out is, for every row of the range, strictly farther (as
    the direct kernel computes distances) than one that is kept."""
    d = X.shape[1]
    k = centers_T.shape[1]
    lo = X[start].copy()
    hi = X[start].copy()
    for i in range(start + 1, stop):
        for j in range(d):
            lo[j] = min(lo[j], X[i, j])
            hi[j] = max(hi[j], X[i, j])
    zero = np.zeros(1, dtype=X.dtype)[0]
    nearest = np.empty(k, dtype=X.dtype)
    least_farthest = np.inf
    for c in range(k):
        near = zero
        far = zero
        for j in range(d):
            to_lo = lo[j] - centers_T[j, c]
            to_hi = hi[j] - centers_T[j, c]
            gap = to_lo if to_lo > 0 else (to_hi if to_hi < 0 else zero)
            near += gap * gap
            reach = max(abs(to_lo), abs(to_hi))
            far += reach * reach
        nearest[c] = near
        least_farthest = min(least_farthest, far)
    n_keep = 0
    for c in range(k):
        if nearest[c] <= least_farthest:
            keep[n_keep] = c
            n_keep += 1
    return n_keep


@njit(**JIT_OPTIONS)
def direct_assign_row(X, i, sample_weight, centers_T, labels, min_sq_dist, dist):
    """Row i of :func:`assign_labels_direct`: sets ``labels[i]`` and ``min_sq_dist[i]``,
    returns ``sample_weight[i] * min_sq_dist[i]``. dist : (1, k) scratch of X's dtype."""
    d = X.shape[1]
    k = centers_T.shape[1]
    for c in range(k):
        dist[0, c] = 0
    for j in range(d):
        x = X[i, j]
        for c in range(k):
            diff = x - centers_T[j, c]
            dist[0, c] += diff * diff
    best_c, best = argmin_of_row(dist, 0)
    labels[i] = best_c
    min_sq_dist[i] = best
    return sample_weight[i] * np.float64(best)


@chunked_kernel
def assign_labels_gemm(
    X, x_sq_norms, sample_weight, product_centers, labels, min_sq_dist, chunk_inertia
):
    """Nearest center of every row through a matrix product per chunk (for high d).

    Per chunk of rows, ``X[chunk] @ neg2_centers_T`` in X's dtype (BLAS sgemm/dgemm)
    gives ``-2 x·c``, and ``max(||x||² - 2 x·c + ||c||², 0)`` (added in float64) each
    squared distance, within ``scale · (||x||² + max ||c||²) + floor`` of the direct
    float64 one (see ``centroids.engine.data.product_error_bound``). The label is the
    argmin; where another center lies within twice that bound of it, the centers in
    that reach get their direct float64 distances and the label is their argmin (ties
    to the lowest center index), as the bounded iterations choose (``exact_label``).
    So the labels are the exact nearest centers whatever the product's rounding
    (float32 rounding would otherwise flip rows between near-equidistant centers from
    pass to pass, and Lloyd's tail would drag on). ``min_sq_dist`` is the product's
    distance to the chosen center. Only a (CHUNK_ROWS, k) block of products exists at
    a time.

    X : (n, d) IN; x_sq_norms : (n,) float64 IN, ``||X[i]||²``; product_centers : IN,
    (centers, neg2_centers_T, c_sq_norms, tie_slack) as
    ``centroids.engine.data.gemm_centers`` makes them: centers (k, d), X's dtype;
    ``-2 centers.T`` (d, k), C-ordered, X's dtype; ``||c||²`` (k,) in float64; and
    (scale, floor, max ||c||²) of the error bound; labels,
    min_sq_dist, chunk_inertia : OUT, as :func:`assign_labels_direct`.
    """
    # Unpacked outside the parallel loop: numba's parfors take no nested tuple.
    centers, neg2_centers_T, c_sq_norms, tie_slack = product_centers
    for chunk in prange(n_chunks(X.shape[0])):
        gemm_assign_chunk(
            X,
            x_sq_norms,
            sample_weight,
            (centers, neg2_centers_T, c_sq_norms, tie_slack),
            labels,
            min_sq_dist,
            chunk_inertia,
            # int64, as in the serial form and the block loop of assign_and_sum_gemm
            # (a parallel loop's index is uint64): one compiled gemm_assign_chunk.
            np.int64(chunk),
        )


@njit(**JIT_OPTIONS)
def gemm_assign_chunk(
    X,
    x_sq_norms,
    sample_weight,
    product_centers,
    labels,
    min_sq_dist,
    chunk_inertia,
    chunk,
):
    """One chunk of :func:`assign_labels_gemm` (same arguments, plus the chunk's index).

    The matrix product always covers the whole chunk: BLAS may round a row differently
    in a product of another height, so every caller multiplies exactly these rows. The
    products are then read row by row, once each: a row's float64 scores are made in
    a (k,) buffer that stays in L1 (a (chunk, k) block of them would not fit in L2 for
    a thousand centers), and from ``GEMM_ONE_PASS_MIN_CLUSTERS`` centers on only the
    rows whose two nearest centers are within the product's reach get that buffer at
    all (see :func:`nearest_two_scores`). Either way the label is the same.
    """
    centers, neg2_centers_T, c_sq_norms, tie_slack = product_centers
    n = X.shape[0]
    k = neg2_centers_T.shape[1]
    start = chunk * CHUNK_ROWS
    stop = min(start + CHUNK_ROWS, n)
    products = np.dot(X[start:stop], neg2_centers_T)
    slack_scale, slack_floor, c_sq_max = tie_slack
    rows = (X, x_sq_norms)
    one_pass = k >= GEMM_ONE_PASS_MIN_CLUSTERS
    scores = np.empty((1, k))
    partial = 0.0
    for r in range(stop - start):
        i = start + r
        slack = slack_scale * (x_sq_norms[i] + c_sq_max) + slack_floor
        if one_pass:
            best_c, best, second = nearest_two_scores(products, r, c_sq_norms)
            near = second <= best + 2.0 * slack
            if near:
                row_scores(products, r, c_sq_norms, scores)
        else:
            row_scores(products, r, c_sq_norms, scores)
            best_c, best = argmin_of_row(scores, 0)
            reach = best + 2.0 * slack
            n_near = 0
            for c in range(k):
                n_near += 1 if scores[0, c] <= reach else 0
            near = n_near > 1
        if near:
            best_c = exact_label(rows, i, centers, c_sq_norms, scores[0], slack)
            best = scores[0, best_c]
        dist = max(x_sq_norms[i] + best, 0.0)
        labels[i] = best_c
        min_sq_dist[i] = dist
        partial += sample_weight[i] * dist
    chunk_inertia[chunk] = partial


@njit(**JIT_OPTIONS)
def row_scores(products, r, c_sq_norms, scores):
    """``scores[0, c] = products[r, c] + c_sq_norms[c]`` in float64: ``||c||² - 2 x·c``,
    the squared distances less ||x||², which does not change their order or
    differences. scores : (1, k) float64 OUT."""
    for c in range(products.shape[1]):
        scores[0, c] = np.float64(products[r, c]) + c_sq_norms[c]


@njit(**JIT_OPTIONS)
def nearest_two_scores(products, r, c_sq_norms):
    """(lowest index of the least score of row r, that score, the least score of the
    other centers; inf when k = 1), the scores as :func:`row_scores` makes them, in one
    pass and without storing them. The second is within twice the product's slack of
    the least exactly when more than one center is, so the rows the exact check takes
    are the same as by counting the centers in that reach. Its branches are rarely
    taken once a few hundred centers have been seen; with fewer centers they are
    mispredicted often enough that the stored scores are faster."""
    best = np.inf
    second = np.inf
    best_c = 0
    for c in range(products.shape[1]):
        score = np.float64(products[r, c]) + c_sq_norms[c]
        if score < second:
            if score < best:
                second = best
                best = score
                best_c = c
            else:
                second = score
    return best_c, best, second


@chunked_kernel
def row_sq_norms(X):
    """||X[i]||² of every row, summed in float64."""
    n, d = X.shape
    out = np.empty(n)
    for chunk in prange(n_chunks(n)):
        for i in range(chunk * CHUNK_ROWS, min((chunk + 1) * CHUNK_ROWS, n)):
            total = 0.0
            for j in range(d):
                total += np.float64(X[i, j]) * np.float64(X[i, j])
            out[i] = total
    return out


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


@njit(**JIT_OPTIONS)
def cluster_sum_blocks(n_rows, n_clusters, n_features):
    """Number of row blocks :func:`weighted_cluster_sums` splits ``n_rows`` rows into.

    Depends on the shape only (never on the thread count): at most
    ``CLUSTER_SUMS_BLOCKS``, at most one per chunk of rows, and few enough that the
    per-block (k, d) partial sums stay within ``CLUSTER_SUMS_SCRATCH`` values.
    """
    by_scratch = CLUSTER_SUMS_SCRATCH // max(1, n_clusters * n_features)
    return max(1, min(CLUSTER_SUMS_BLOCKS, n_chunks(n_rows), by_scratch))


@chunked_kernel
def weighted_cluster_sums(X, sample_weight, labels, block_sums, block_weights, sums, weights):
    """Per-cluster weighted sums of rows: ``sums[c] = Σ_{labels[i]=c} w_i X[i]``.

    One pass over X: the rows are cut into ``block_sums.shape[0]`` contiguous blocks
    (see :func:`cluster_sum_blocks`), each accumulating float64 partial sums for every
    cluster; the blocks are then added in block order, so the result does not depend
    on the number of threads.

    labels : (n,) int IN; block_sums : (n_blocks, k, d) float64 scratch;
    block_weights : (n_blocks, k) float64 scratch; sums : (k, d) float64 OUT;
    weights : (k,) float64 OUT, the weight of each cluster.
    """
    n = X.shape[0]
    n_blocks = block_weights.shape[0]
    for b in prange(n_blocks):
        block_sums[b] = 0.0
        block_weights[b] = 0.0
        lo, hi = block_rows(n, n_blocks, b)
        for i in range(lo, hi):
            add_row_to_block(X, i, sample_weight, labels, block_sums[b], block_weights[b])
    add_blocks_in_order(block_sums, block_weights, sums, weights)


@njit(**JIT_OPTIONS)
def add_row_to_block(X, i, sample_weight, labels, sums, weights):
    """Adds ``w_i X[i]`` to one block's partial sum of the cluster of row i (float64).

    sums : (k, d) float64 IN/OUT, the block's slice of ``block_sums``; weights : (k,)
    float64 IN/OUT, its slice of ``block_weights``.
    """
    c = labels[i]
    w = np.float64(sample_weight[i])
    weights[c] += w
    for j in range(X.shape[1]):
        sums[c, j] += w * X[i, j]


@njit(**JIT_OPTIONS)
def add_blocks_in_order(block_sums, block_weights, sums, weights):
    """sums = Σ_b block_sums[b], weights = Σ_b block_weights[b], b in increasing order.

    Written as loops over scalars: numba takes seconds to type the same sums written
    as array expressions (``sums += block_sums[b]``), on every cold start."""
    n_blocks, k, d = block_sums.shape
    for c in range(k):
        total = block_weights[0, c]
        for b in range(1, n_blocks):
            total += block_weights[b, c]
        weights[c] = total
        for j in range(d):
            value = block_sums[0, c, j]
            for b in range(1, n_blocks):
                value += block_sums[b, c, j]
            sums[c, j] = value


# Fused assignment and cluster sums (one pass over X per Lloyd iteration). The rows
# are cut into the blocks of :func:`weighted_cluster_sums`; each block labels its rows
# chunk by chunk, exactly as the assignment kernels do, and adds them to its partial
# sums while they are still in cache. A block boundary need not fall on a chunk
# boundary: the inertia of a chunk cut by one is summed over the whole chunk in row
# order afterwards (:func:`cut_chunk_inertia`), as the assignment kernels sum it.


@njit(**JIT_OPTIONS)
def block_rows(n_rows, n_blocks, b):
    """(first row, row after the last) of block b of :func:`weighted_cluster_sums`."""
    rows_per_block = (n_rows + n_blocks - 1) // n_blocks
    lo = min(b * rows_per_block, n_rows)
    return lo, min(lo + rows_per_block, n_rows)


@njit(**JIT_OPTIONS)
def block_chunks(lo, hi):
    """The indices of the row chunks that hold rows lo to hi - 1 (none when lo == hi)."""
    if hi <= lo:
        return range(0)
    return range(lo // CHUNK_ROWS, n_chunks(hi))


@njit(**JIT_OPTIONS)
def chunk_is_cut(n_rows, n_blocks, chunk):
    """Whether a block boundary falls strictly inside row chunk ``chunk``."""
    rows_per_block = (n_rows + n_blocks - 1) // n_blocks
    start = chunk * CHUNK_ROWS
    stop = min(start + CHUNK_ROWS, n_rows)
    return start // rows_per_block != (stop - 1) // rows_per_block


@njit(**JIT_OPTIONS)
def cut_chunk_inertia(n_blocks, sample_weight, min_sq_dist, chunk_inertia):
    """``chunk_inertia`` of the chunks cut by a block boundary, from ``min_sq_dist``:
    ``Σ w_i min_sq_dist[i]`` over the chunk in row order (IN: sample_weight,
    min_sq_dist; OUT: those entries of chunk_inertia)."""
    n = min_sq_dist.shape[0]
    for b in range(1, n_blocks):
        boundary = block_rows(n, n_blocks, b)[0]
        chunk = boundary // CHUNK_ROWS
        if boundary < n and boundary % CHUNK_ROWS != 0:
            partial = 0.0
            for i in range(chunk * CHUNK_ROWS, min((chunk + 1) * CHUNK_ROWS, n)):
                partial += sample_weight[i] * min_sq_dist[i]
            chunk_inertia[chunk] = partial


@chunked_kernel
def assign_and_sum_direct(
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
    """:func:`assign_labels_direct` and :func:`weighted_cluster_sums` of its labels, in
    one pass over X; bit-identical to the two.

    The first seven arguments are those of :func:`assign_labels_direct`, the last four
    those of :func:`weighted_cluster_sums` (block_sums : (n_blocks, k, d) float64
    scratch, n_blocks from :func:`cluster_sum_blocks`; block_weights : (n_blocks, k)
    float64 scratch; sums : (k, d) float64 OUT; weights : (k,) float64 OUT).
    """
    n = X.shape[0]
    n_blocks = block_weights.shape[0]
    for b in prange(n_blocks):
        block_sums[b] = 0.0
        block_weights[b] = 0.0
        lo, hi = block_rows(n, n_blocks, b)
        dist = np.empty((1, centers_T.shape[1]), dtype=X.dtype)
        for chunk in block_chunks(lo, hi):
            start = max(lo, chunk * CHUNK_ROWS)
            stop = min(hi, (chunk + 1) * CHUNK_ROWS)
            if prune:
                partial = direct_assign_rows(
                    X, start, stop, sample_weight, centers_T, prune, labels, min_sq_dist
                )
                for i in range(start, stop):
                    add_row_to_block(X, i, sample_weight, labels, block_sums[b], block_weights[b])
            else:  # each row summed while in registers
                partial = 0.0
                for i in range(start, stop):
                    partial += direct_assign_row(
                        X, i, sample_weight, centers_T, labels, min_sq_dist, dist
                    )
                    add_row_to_block(X, i, sample_weight, labels, block_sums[b], block_weights[b])
            if not chunk_is_cut(n, n_blocks, chunk):
                chunk_inertia[chunk] = partial
    cut_chunk_inertia(n_blocks, sample_weight, min_sq_dist, chunk_inertia)
    add_blocks_in_order(block_sums, block_weights, sums, weights)


@chunked_kernel
def assign_and_sum_gemm(
    X,
    x_sq_norms,
    sample_weight,
    product_centers,
    labels,
    min_sq_dist,
    chunk_inertia,
    block_sums,
    block_weights,
    sums,
    weights,
):
    """:func:`assign_labels_gemm` and :func:`weighted_cluster_sums` of its labels, in
    one pass over X; bit-identical to the two.

    The first seven arguments are those of :func:`assign_labels_gemm`, the last four
    those of :func:`weighted_cluster_sums` (see :func:`assign_and_sum_direct`). The
    matrix product covers whole chunks only, so the chunks cut by a block boundary are
    labelled first, on their own; the blocks then add their rows.
    """
    n = X.shape[0]
    n_blocks = block_weights.shape[0]
    # Unpacked outside the parallel loops: numba's parfors take no nested tuple.
    centers, neg2_centers_T, c_sq_norms, tie_slack = product_centers
    for chunk in prange(n_chunks(n)):
        # int64 like the block loop's chunks (a parallel loop's index is uint64), so
        # both loops call the same compiled gemm_assign_chunk and chunk_is_cut.
        chunk64 = np.int64(chunk)
        if chunk_is_cut(n, n_blocks, chunk64):
            gemm_assign_chunk(
                X,
                x_sq_norms,
                sample_weight,
                (centers, neg2_centers_T, c_sq_norms, tie_slack),
                labels,
                min_sq_dist,
                chunk_inertia,
                chunk64,
            )
    for b in prange(n_blocks):
        block_sums[b] = 0.0
        block_weights[b] = 0.0
        lo, hi = block_rows(n, n_blocks, b)
        for chunk in block_chunks(lo, hi):
            if not chunk_is_cut(n, n_blocks, chunk):
                gemm_assign_chunk(
                    X,
                    x_sq_norms,
                    sample_weight,
                    (centers, neg2_centers_T, c_sq_norms, tie_slack),
                    labels,
                    min_sq_dist,
                    chunk_inertia,
                    chunk,
                )
            for i in range(max(lo, chunk * CHUNK_ROWS), min(hi, (chunk + 1) * CHUNK_ROWS)):
                add_row_to_block(X, i, sample_weight, labels, block_sums[b], block_weights[b])
    add_blocks_in_order(block_sums, block_weights, sums, weights)


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
    """Population variance of every column, float64, by two passes over fixed row blocks.

    The per-block sums are added in block order by scalar loops: numba takes about a
    second to compile the same sums written as array expressions (``mean +=
    partial[b]``), on every cold start (issue 16 item 5)."""
    n, d = X.shape
    n_blocks = min(REDUCTION_BLOCKS, n_chunks(n))
    rows_per_block = (n + n_blocks - 1) // n_blocks
    partial = np.zeros((n_blocks, d))
    for b in prange(n_blocks):
        for i in range(b * rows_per_block, min((b + 1) * rows_per_block, n)):
            for j in range(d):
                partial[b, j] += X[i, j]
    mean = _column_totals(partial)
    for j in range(d):
        mean[j] /= n
    for b in prange(n_blocks):
        for j in range(d):
            partial[b, j] = 0.0
        for i in range(b * rows_per_block, min((b + 1) * rows_per_block, n)):
            for j in range(d):
                diff = X[i, j] - mean[j]
                partial[b, j] += diff * diff
    variances = _column_totals(partial)
    for j in range(d):
        variances[j] /= n
    return variances


@njit(**JIT_OPTIONS)
def _column_totals(partial):
    """``Σ_b partial[b]`` (a new (d,) array), from 0.0, b in increasing order."""
    totals = np.zeros(partial.shape[1])
    for b in range(partial.shape[0]):
        for j in range(partial.shape[1]):
            totals[j] += partial[b, j]
    return totals


@njit(**JIT_OPTIONS)
def first_nonfinite(X):
    """(row, column) of the first NaN or infinite value in row-major order, or (-1, -1)."""
    n, d = X.shape
    for i in range(n):
        for j in range(d):
            if not np.isfinite(X[i, j]):
                return i, j
    return -1, -1
