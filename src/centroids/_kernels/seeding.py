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

With many features, dense candidate passes (:func:`dense_candidate_deltas_filtered`)
estimate the distances from one matrix product per chunk in X's dtype, with a rigorous
bound on their error: they mark the rows each candidate may bring closer and bound the
error of each potential. The distances that change D², and the potentials the bounds
cannot tell apart, are then computed directly over the marked rows only.
"""

import numpy as np
from numba import njit, prange

from ..settings import CHUNK_ROWS, JIT_OPTIONS, REDUCTION_BLOCKS
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
def dense_chunk_boxes(X, lo, hi):
    """Bounding box of every chunk of rows: ``lo[chunk, j]`` and ``hi[chunk, j]`` are the
    smallest and largest ``X[i, j]`` over its rows, in float64 (exact). OUT: lo, hi
    : (n_chunks, d) float64."""
    n, d = X.shape
    for chunk in prange(seeding_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for j in range(d):
            lo[chunk, j] = np.float64(X[start, j])
            hi[chunk, j] = np.float64(X[start, j])
        for i in range(start + 1, stop):
            for j in range(d):
                value = np.float64(X[i, j])
                lo[chunk, j] = min(lo[chunk, j], value)
                hi[chunk, j] = max(hi[chunk, j], value)


@njit(**JIT_OPTIONS)
def _box_sq_dist(lo, hi, chunk, Y, t):
    """Squared float64 distance from ``Y[t]`` to the box of ``chunk``.

    Never above :func:`_dense_sq_dist` of ``Y[t]`` to a row of the chunk as computed:
    each term's difference is no larger (rounding is monotone, and symmetric under
    negation) and the terms are added in the same order.
    """
    total = 0.0
    for j in range(lo.shape[1]):
        y = np.float64(Y[t, j])
        # At most one of the two is positive: the gap below the box or above it.
        diff = max(lo[chunk, j] - y, 0.0) + max(y - hi[chunk, j], 0.0)
        total += diff * diff
    return total


@chunked_kernel
def chunks_in_reach(lo, hi, chunk_max_sq, Y, out):
    """``out[chunk, t] = 1`` when ``Y[t]`` may bring a row of the chunk closer.

    A row x of the chunk comes closer only if ``||x - Y[t]||² < D²(x) ≤ chunk_max_sq``;
    every row lies in the chunk's box, so a box at ``chunk_max_sq`` or further
    (:func:`_box_sq_dist`) rules the whole chunk out, exactly. Pays where rows close
    in the array are close in space (sorted or spatially ordered data).

    lo, hi : (n_chunks, d) float64 IN (:func:`dense_chunk_boxes`); chunk_max_sq :
    (n_chunks,) float64 IN, the largest D² of each chunk's rows; Y : (t, d) IN;
    out : (n_chunks, t) uint8 OUT.
    """
    for chunk in prange(lo.shape[0]):
        for t in range(Y.shape[0]):
            out[chunk, t] = _box_sq_dist(lo, hi, chunk, Y, t) < chunk_max_sq[chunk]


@chunked_kernel
def dense_candidate_deltas(
    X,
    sample_weight,
    closest_sq_dist,
    closest_center,
    candidates,
    cand_center_sq,
    group_active,
    chunk_reach,
    chunk_deltas,
    chunk_counts,
):
    """Change of the k-means++ potential from adding each candidate, per chunk, pruned.

    ``chunk_deltas[chunk, t] = Σ_{i in chunk} w_i (min(D_i², ||X[i] - cand_t||²) - D_i²)``
    where the sum runs over the points not pruned (a pruned point contributes 0 anyway).

    X : (n, d) IN; sample_weight, closest_sq_dist : (n,) IN; closest_center : (n,) IN;
    candidates : (t, d) IN; cand_center_sq : (t, k) float64 IN (candidate-to-center
    squared distances); group_active : (k,) uint8 IN (see :func:`active_groups`);
    chunk_reach : (n_chunks, t) uint8 IN (see :func:`chunks_in_reach`); chunk_deltas :
    (n_chunks, t) float64 OUT; chunk_counts : (n_chunks,) int64 OUT (distances
    computed).
    """
    n = X.shape[0]
    n_candidates = candidates.shape[0]
    for chunk in prange(seeding_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        in_reach = 0
        for t in range(n_candidates):
            chunk_deltas[chunk, t] = 0.0
            in_reach += chunk_reach[chunk, t]
        count = 0
        for i in range(start, stop if in_reach > 0 else start):
            c = closest_center[i]
            if group_active[c] == 0:
                continue
            reach = 4.0 * closest_sq_dist[i]
            w = np.float64(sample_weight[i])
            for t in range(n_candidates):
                if chunk_reach[chunk, t] and cand_center_sq[t, c] < reach:
                    count += 1
                    dist = _dense_sq_dist(X, i, candidates, t)
                    if dist < closest_sq_dist[i]:
                        chunk_deltas[chunk, t] += w * (dist - closest_sq_dist[i])
        chunk_counts[chunk] = count


@chunked_kernel
def dense_candidate_deltas_filtered(
    X,
    x_sq_norms,
    sample_weight,
    closest_sq_dist,
    closest_center,
    candidates,
    candidates_T,
    cand_sq_norms,
    error_scale,
    error_floor,
    center_cand_sq,
    group_active,
    chunk_reach,
    product_min_share,
    product_max_scale,
    near,
    chunk_deltas,
    chunk_bounds,
    chunk_counts,
):
    """:func:`dense_candidate_deltas` from a product in X's dtype, with error bounds.

    In a chunk where at least a ``product_min_share`` of the (point, candidate) pairs
    survive the pruning (and ``||x||² + ||y||² < product_max_scale``, so that nothing
    overflows), the distances of all its pairs come from one matrix product of the
    chunk with the candidates in X's dtype (BLAS sgemm/dgemm; X is never copied or
    upcast): ``d̃² = max(||x||² - 2 x·y + ||y||², 0)`` with float64 norms, at most
    ``e = error_scale (||x||² + ||y||²) + error_floor`` from the direct float64 value
    (the caller derives ``error_scale`` from the rounding of a d-term dot product).
    Elsewhere the pairs that survive the pruning are computed directly (exact: e = 0).

    A pair with ``d̃² - D² < e`` may bring the point closer (the others provably do
    not, up to float64 rounding): it is marked in ``near`` (see :func:`is_near`), adds ``w e`` to
    ``chunk_bounds[chunk, t]``, and ``w (d̃² - D²)`` to ``chunk_deltas[chunk, t]`` when
    ``d̃² < D²``. The exact delta of candidate t is within the summed bound of the summed
    delta; :func:`dense_near_candidate_deltas` recomputes it over the marked rows. A
    pair the pruning would skip is marked only within its bound of D² (harmless).

    The t candidates are padded to p ≥ t columns (zeros) so that the product and the
    per-pair loop run on whole SIMD vectors; the padding columns of the outputs are
    meaningless. X : (n, d) IN; x_sq_norms : (n,) float64 IN; candidates : (t, d) IN;
    candidates_T : (d, p) C-ordered IN, X's dtype, the candidates in the first t
    columns, p a multiple of 8; cand_sq_norms : (p,) float64 IN; near : (n, p / 8) uint8
    OUT, one bit a pair (1 bit in place of a byte keeps it O(n) small); chunk_deltas,
    chunk_bounds : (n_chunks, p) float64 OUT; chunk_counts : (n_chunks,) int64 OUT,
    the pairs left by the pruning; center_cand_sq : (k, t) float64 C-ordered IN, the
    transpose of ``cand_center_sq``. Other arguments as in
    :func:`dense_candidate_deltas`; a chunk out of reach of every candidate is skipped
    (nothing marked).
    """
    n = X.shape[0]
    n_candidates = candidates.shape[0]
    width = candidates_T.shape[1]
    largest_cand_sq = 0.0
    for t in range(n_candidates):
        largest_cand_sq = max(largest_cand_sq, cand_sq_norms[t])
    for chunk in prange(seeding_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        in_reach = 0
        for t in range(n_candidates):
            in_reach += chunk_reach[chunk, t]
        if in_reach == 0:
            near[start:stop] = 0
            chunk_deltas[chunk] = 0.0
            chunk_bounds[chunk] = 0.0
            chunk_counts[chunk] = 0
            continue
        count = 0
        largest_x_sq = 0.0
        for i in range(start, stop):
            largest_x_sq = max(largest_x_sq, x_sq_norms[i])
            # Branch-free; a point of an inactive group is out of reach of every
            # candidate anyway (D² ≤ its group's maximum).
            c = closest_center[i]
            reach = 4.0 * closest_sq_dist[i]
            for t in range(n_candidates):
                count += center_cand_sq[c, t] < reach
        chunk_counts[chunk] = count
        deltas = np.zeros(width)
        bounds = np.zeros(width)
        by_product = (
            count > 0
            and count >= product_min_share * (stop - start) * n_candidates
            # No product or partial sum can overflow X's dtype (all are ≤ S / 2).
            and largest_x_sq + largest_cand_sq < product_max_scale
        )
        if by_product:
            dots = np.dot(X[start:stop], candidates_T)
            # Branch-free over the padded width, so that it runs on SIMD vectors; the
            # marks are packed into bits afterwards.
            marks = np.empty((stop - start, width), dtype=np.uint8)
            for i in range(start, stop):
                x_sq = x_sq_norms[i]
                current = closest_sq_dist[i]
                w = np.float64(sample_weight[i])
                for t in range(width):
                    scale = x_sq + cand_sq_norms[t]
                    dist = scale - 2.0 * np.float64(dots[i - start, t])
                    dist = dist if dist > 0.0 else 0.0
                    error = error_scale * scale + error_floor
                    change = dist - current
                    marked = change < error
                    marks[i - start, t] = marked
                    marked_w = w if marked else 0.0
                    bounds[t] += marked_w * error
                    deltas[t] += marked_w * (change if change < 0.0 else 0.0)
            # Eight 0/1 bytes read as one little-endian word: the multiply gathers byte
            # b's bit into bit 56 + b (no carries), so the top byte is the packed marks.
            words = marks.view(np.uint64)
            for i in range(start, stop):
                for byte in range(width // 8):
                    near[i, byte] = (words[i - start, byte] * _GATHER_BITS) >> np.uint64(56)
        else:
            for i in range(start, stop):
                c = closest_center[i]
                active = group_active[c] != 0
                current = closest_sq_dist[i]
                reach = 4.0 * current
                w = np.float64(sample_weight[i])
                for byte in range(width // 8):
                    near[i, byte] = 0
                for t in range(n_candidates):
                    if active and chunk_reach[chunk, t] and center_cand_sq[c, t] < reach:
                        dist = _dense_sq_dist(X, i, candidates, t)
                        if dist < current:
                            near[i, t >> 3] |= np.uint8(1 << (t & 7))
                            deltas[t] += w * (dist - current)
        for t in range(width):
            chunk_deltas[chunk, t] = deltas[t]
            chunk_bounds[chunk, t] = bounds[t]


#: Multiplier that gathers the low bits of a word's eight bytes into its top byte.
_GATHER_BITS = np.uint64(0x0102040810204080)


@njit(**JIT_OPTIONS)
def is_near(near, i, t):
    """Whether row i is marked near candidate t in the bits ``near`` (n, bytes) uint8:
    bit ``t % 8`` of byte ``t // 8`` of the row."""
    return ((near[i, t >> 3] >> (t & 7)) & 1) != 0


@njit(**JIT_OPTIONS)
def _add_center_to_block(
    X,
    centers,
    new,
    near,
    near_column,
    new_center_sq,
    chunk_reach,
    closest_sq_dist,
    closest_center,
    block_max_sq,
    chunk_max_sq,
    chunk_counts,
    block,
):
    """One block of rows (of :func:`seeding_blocks`) of the add-center kernels.

    A row's distance to ``centers[new]`` is computed when it is marked near in column
    ``near_column`` of ``near`` (see :func:`is_near`), or, with
    an empty ``near``, when its chunk is in reach and ``new_center_sq[c] < 4 D²``. A
    block with no chunk in reach is not visited: nothing in it changes, so its maxima
    for the older centers stand (whenever a row of the block may have changed, they are
    rewritten), and it holds no row of the new center.
    """
    n = X.shape[0]
    n_chunks = seeding_chunks(n)
    n_blocks = seeding_blocks(n)
    first = block * n_chunks // n_blocks
    last = (block + 1) * n_chunks // n_blocks
    in_reach = False
    for chunk in range(first, last):
        in_reach = in_reach or chunk_reach[chunk] != 0
    if not in_reach:
        block_max_sq[block, new] = 0.0
        for chunk in range(first, last):
            chunk_counts[chunk] = 0
        return
    by_near = near.shape[0] > 0
    for c in range(new + 1):
        block_max_sq[block, c] = 0.0
    for chunk in range(first, last):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        count = 0
        largest = 0.0
        live = chunk_reach[chunk] != 0
        for i in range(start, stop):
            if by_near:
                compute = is_near(near, i, near_column)
            else:
                compute = live and new_center_sq[closest_center[i]] < 4.0 * closest_sq_dist[i]
            if compute:
                count += 1
                dist = _dense_sq_dist(X, i, centers, new)
                if dist < closest_sq_dist[i]:
                    closest_sq_dist[i] = dist
                    closest_center[i] = new
            c = closest_center[i]
            block_max_sq[block, c] = max(block_max_sq[block, c], closest_sq_dist[i])
            largest = max(largest, closest_sq_dist[i])
        chunk_counts[chunk] = count
        chunk_max_sq[chunk] = largest


@chunked_kernel
def dense_near_candidate_deltas(
    X, sample_weight, closest_sq_dist, candidates, which, near, chunk_deltas
):
    """Exact :func:`dense_candidate_deltas` of the candidates ``which``, over marked rows.

    Only the rows marked near candidate t (by :func:`dense_candidate_deltas_filtered`: a
    superset of the rows candidate t brings closer) are computed, directly; the
    per-chunk sums are those :func:`dense_candidate_deltas` gives, bit for bit.
    which : (m,) int64 IN, candidate indices; near : (n, ≥ t / 8) uint8 IN, bits;
    chunk_deltas : (n_chunks, m) float64 OUT.
    """
    n = X.shape[0]
    for chunk in prange(seeding_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for m in range(which.shape[0]):
            t = which[m]
            total = 0.0
            for i in range(start, stop):
                if is_near(near, i, t):
                    dist = _dense_sq_dist(X, i, candidates, t)
                    if dist < closest_sq_dist[i]:
                        total += np.float64(sample_weight[i]) * (dist - closest_sq_dist[i])
            chunk_deltas[chunk, m] = total


@chunked_kernel
def dense_add_near_center(
    X,
    centers,
    new,
    near,
    near_column,
    chunk_reach,
    closest_sq_dist,
    closest_center,
    block_max_sq,
    chunk_max_sq,
    chunk_counts,
):
    """:func:`dense_add_center` computing only the rows marked near in column
    ``near_column`` of ``near``.

    near : (n, bytes) uint8 IN, bits as :func:`dense_candidate_deltas_filtered` writes
    them; the rows marked in the column are those the new center may bring closer (a
    superset of those it does), none outside the chunks in reach. Their distances are
    direct, so D² and the closest centers come out as :func:`dense_add_center` leaves
    them, bit for bit. Other arguments as there.
    """
    no_center_sq = np.empty(0)
    for block in prange(seeding_blocks(X.shape[0])):
        _add_center_to_block(
            X,
            centers,
            new,
            near,
            near_column,
            no_center_sq,
            chunk_reach,
            closest_sq_dist,
            closest_center,
            block_max_sq,
            chunk_max_sq,
            chunk_counts,
            block,
        )


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
    """Change of the k-means++ potential from adding each candidate, per chunk, pruned
    (CSR rows, dense candidates).

    ``chunk_deltas[chunk, t] = Σ_{i in chunk} w_i (min(D_i², ||x_i - cand_t||²) - D_i²)``
    over the pairs not pruned (a pruned pair contributes 0 anyway). A row with at
    least one candidate in reach takes the dot products with every candidate in one
    walk over its non-zeros, through the candidates transposed (one cache line per
    non-zero for all candidates instead of one per candidate); each dot is summed over
    the non-zeros in order, as a single one would be.

    candidates : (t, d) IN; cand_center_sq : (t, k) float64 IN (candidate-to-center
    squared distances); group_active : (k,) uint8 IN (see :func:`active_groups`);
    chunk_deltas : (n_chunks, t) float64 OUT; chunk_counts : (n_chunks,) int64 OUT
    (distances computed).
    """
    n = indptr.shape[0] - 1
    n_candidates = candidates.shape[0]
    cand_sq_norms = dense_sq_norms(candidates)
    candidates_T = np.empty((candidates.shape[1], n_candidates))
    for t in range(n_candidates):
        for j in range(candidates.shape[1]):
            candidates_T[j, t] = np.float64(candidates[t, j])
    for chunk in prange(seeding_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        deltas = np.zeros(n_candidates)
        dots = np.empty(n_candidates)
        count = 0
        for i in range(start, stop):
            c = closest_center[i]
            if group_active[c] == 0:
                continue
            reach = 4.0 * closest_sq_dist[i]
            in_reach = 0
            for t in range(n_candidates):
                in_reach += cand_center_sq[t, c] < reach
            if in_reach == 0:
                continue
            count += n_candidates
            dots[:] = 0.0
            for p in range(indptr[i], indptr[i + 1]):
                value = np.float64(data[p])
                column = candidates_T[indices[p]]
                for t in range(n_candidates):
                    dots[t] += value * column[t]
            w = np.float64(sample_weight[i])
            for t in range(n_candidates):
                if not cand_center_sq[t, c] < reach:
                    continue  # provably no closer: contributes 0, as when pruned
                dist = max(x_sq_norms[i] - 2.0 * dots[t] + cand_sq_norms[t], 0.0)
                if dist < closest_sq_dist[i]:
                    deltas[t] += w * (dist - closest_sq_dist[i])
        for t in range(n_candidates):
            chunk_deltas[chunk, t] = deltas[t]
        chunk_counts[chunk] = count


@chunked_kernel
def dense_add_center(
    X,
    centers,
    new,
    new_center_sq,
    chunk_reach,
    closest_sq_dist,
    closest_center,
    block_max_sq,
    chunk_max_sq,
    chunk_counts,
):
    """Make ``centers[new]`` a chosen center: update D² and the closest center, pruned.

    A point whose closest center c has ``new_center_sq[c] ≥ 4 D²``, or whose chunk is
    out of the new center's reach, keeps its D². Also writes, per block of rows, the
    largest D² of the points closest to each center, and the largest D² of each chunk;
    a block with no chunk in reach is not visited (its maxima stand). Call it, or
    :func:`dense_add_near_center`, for every center added, with the same
    ``block_max_sq`` and ``chunk_max_sq``.

    centers : (k, d) IN; new_center_sq : (k,) float64 IN (||centers[new] - centers[c]||²
    for c < new; use ``+inf`` D² to force every distance); chunk_reach : (n_chunks,)
    uint8 IN (a column of :func:`chunks_in_reach`: 0 rules the chunk out);
    closest_sq_dist, closest_center : (n,) IN/OUT; block_max_sq :
    (seeding_blocks(n), k) float64 OUT (columns ≤ new); chunk_max_sq : (n_chunks,)
    float64 OUT; chunk_counts : (n_chunks,) int64 OUT.
    """
    no_near = np.empty((0, 1), dtype=np.uint8)
    for block in prange(seeding_blocks(X.shape[0])):
        _add_center_to_block(
            X,
            centers,
            new,
            no_near,
            0,
            new_center_sq,
            chunk_reach,
            closest_sq_dist,
            closest_center,
            block_max_sq,
            chunk_max_sq,
            chunk_counts,
            block,
        )


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
                block_max_sq[block, c] = max(block_max_sq[block, c], closest_sq_dist[i])
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
def draw_by_mass(sample_weight, closest_sq_dist, draws, out, position=None):
    """Invert the cumulative distribution of ``w_i D_i²`` at ``draws[t] · total``.

    The cumulative sum runs in row order, as :func:`numpy.cumsum` does, so the rows are
    those of ``searchsorted(cumsum(w · D²), draws · total, side='right')``; a row of zero
    mass is never returned, and a position past the end goes to the last row with mass.
    The running sum is kept at the start of every block of ``CHUNK_ROWS`` rows only
    (O(n / CHUNK_ROWS) memory, no n-length buffer): a draw's block is found among
    those, and the sum is resumed from there over that block alone, which repeats the
    same additions in the same order, so it finds the row the full sum would.
    Returns the total mass; when it is 0, ``out`` is left as it was.
    out : (t,) int64 OUT. position : (n,) int IN, optional: D² held in another row
    order, row i's being ``closest_sq_dist[position[i]]`` (the sum still runs over the
    rows in their own order, with the same result).
    """
    n = sample_weight.shape[0]
    n_blocks = (n + CHUNK_ROWS - 1) // CHUNK_ROWS
    block_end = np.empty(n_blocks)  # the running sum after each block
    total = 0.0
    last_with_mass = -1
    for block in range(n_blocks):
        for i in range(block * CHUNK_ROWS, min((block + 1) * CHUNK_ROWS, n)):
            mass = np.float64(sample_weight[i]) * _sq_dist_at(closest_sq_dist, position, i)
            total += mass
            if mass > 0:
                last_with_mass = i
        block_end[block] = total
    if not total > 0:
        return total
    for t in range(draws.shape[0]):
        target = draws[t] * total
        # searchsorted(side='right') is the first row whose cumulative sum exceeds the
        # target; it lies in the first block whose sum at its end does.
        block = _first_above(block_end, target)
        if block == n_blocks:  # past every cumulative sum
            out[t] = last_with_mass
            continue
        running = block_end[block - 1] if block > 0 else 0.0
        row = min((block + 1) * CHUNK_ROWS, n) - 1
        for i in range(block * CHUNK_ROWS, min((block + 1) * CHUNK_ROWS, n)):
            running += np.float64(sample_weight[i]) * _sq_dist_at(closest_sq_dist, position, i)
            if running > target:
                row = i
                break
        out[t] = min(row, last_with_mass)
    return total


@njit(**JIT_OPTIONS)
def _first_above(ascending, goal):
    """``searchsorted(ascending, goal, side='right')``: the first index whose value
    exceeds ``goal`` (``len(ascending)`` when none does), by bisection. Written out:
    numba's ``searchsorted`` takes it over a second to compile (issue 16 item 5)."""
    lo = 0
    hi = ascending.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if ascending[mid] > goal:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(**JIT_OPTIONS)
def _sq_dist_at(closest_sq_dist, position, i):
    return closest_sq_dist[i] if position is None else closest_sq_dist[position[i]]


@njit(**JIT_OPTIONS)
def draw_by_weight(weights, weight_sum, uniform):
    """The row ``numpy.random.RandomState.choice(n, p=weights / weight_sum)`` returns for
    the uniform it draws, without its n-length arrays.

    That call takes ``cdf = cumsum(p) / cumsum(p)[-1]`` (a running sum in row order)
    and returns ``searchsorted(cdf, uniform, side='right')``; the same running sum,
    taken twice (for its last value, then to find the row), gives the same row.
    weights : (n,) float64 IN, non-negative with a positive sum ``weight_sum``.
    """
    n = weights.shape[0]
    last = 0.0
    for i in range(n):
        last += weights[i] / weight_sum
    running = 0.0
    for i in range(n):
        running += weights[i] / weight_sum
        if running / last > uniform:
            return i
    return n - 1


@njit(**JIT_OPTIONS)
def z_order(X):
    """The rows in Z order (Morton order): (n,) int64, a permutation of 0..n-1.

    Each coordinate is scaled to an integer of ``63 // d`` bits over its column's
    range and the bits are interleaved into one key per row; rows are sorted by key,
    ties in row order (a stable sort). Rows close in the order are close in space, so
    chunks of consecutive rows have small bounding boxes. For few features only (the
    bits per coordinate shrink as d grows).
    """
    n, d = X.shape
    bits = 63 // d
    lo = np.empty(d)
    scale = np.empty(d)
    for j in range(d):
        low = np.float64(X[0, j])
        high = low
        for i in range(1, n):
            value = np.float64(X[i, j])
            low = min(low, value)
            high = max(high, value)
        lo[j] = low
        scale[j] = ((1 << bits) - 1) / (high - low) if high > low else 0.0
    top = np.float64((1 << bits) - 1)
    keys = np.empty(n, dtype=np.uint64)
    for i in range(n):
        key = np.uint64(0)
        for j in range(d):
            q = np.uint64(min((np.float64(X[i, j]) - lo[j]) * scale[j], top))
            for b in range(bits):
                key |= ((q >> np.uint64(b)) & np.uint64(1)) << np.uint64(b * d + j)
        keys[i] = key
    return np.argsort(keys, kind="mergesort")


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
