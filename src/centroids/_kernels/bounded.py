"""Kernels of the exact accelerated k-means iterations: Hamerly, Elkan and Yinyang.

Each kernel is one assignment pass that keeps, per row, an upper bound on the
distance to its assigned center and lower bounds on the distances to the others,
loosened by how far the centers moved since the last pass (triangle inequality).
A row whose bounds prove that its label cannot change is skipped; the others get
exact distances. The label chosen for a row that is looked at is the argmin of the
same squared distances Lloyd's assignment computes (lowest index on ties), so from
the same centers the labels are Lloyd's, except at genuine ties within rounding.

X reaches the kernels as a tuple ``rows``: ``(X, x_sq_norms)`` for a dense C-ordered
array, ``(data, indices, indptr, x_sq_norms)`` for a CSR matrix (never densified; the
squared distance is ``||x||² - 2 x·c + ||c||²`` over the non-zeros, clipped at 0),
``x_sq_norms`` the float64 ``||x||²`` of every row. Bounds are float64 Euclidean
distances (not squared).

The first, full pass takes all distances of a chunk of dense rows at once through a
matrix product in X's dtype (``||x||² - 2 x·c + ||c||²``, BLAS sgemm for float32 X,
one (chunk, k) block at a time); so do, in Hamerly's later passes, the rows of a chunk
whose bounds fail (see :func:`rows_sq_dists`). Each such distance is within a
known bound of the exact one (``slack_scale · (||x||² + max ||c||²) + slack_floor``,
see ``centroids.engine.data.product_error_bound``): the bounds are widened by it, so
they stay valid for the exact distances the later passes use, and a row whose
nearest centers are not told apart by it gets those centers' exact distances, so
its label is the exact argmin whatever the product's rounding.

Rows are processed in chunks of ``CHUNK_ROWS``; per-chunk counts (changed labels,
distances computed) go to their own slot, so results do not depend on the number
of threads.
"""

import numpy as np
from numba import njit, prange
from numba.extending import overload

from ..settings import BOUNDED_PRODUCT_MIN_WORK, CHUNK_ROWS, GEMM_MIN_FEATURES, JIT_OPTIONS
from ._compile import chunked_kernel


@njit(**JIT_OPTIONS)
def n_chunks(n_rows):
    """Number of row chunks of ``CHUNK_ROWS`` rows needed to cover ``n_rows`` rows."""
    return (n_rows + CHUNK_ROWS - 1) // CHUNK_ROWS


def n_rows_of(rows):
    """Number of rows of X given as a ``rows`` tuple (dense or CSR)."""


def point_sq_dist(rows, i, centers, c_sq_norms, c):
    """Squared distance from row i of X to ``centers[c]``, float64 (for dense rows
    with fewer than ``GEMM_MIN_FEATURES`` features, summed exactly as Lloyd's direct
    float64 kernel sums it)."""


def all_sq_dists(rows, i, centers_t, c_sq_norms, out):
    """``out[c]`` = squared distance from row i of X to every center, as
    :func:`point_sq_dist` computes it; ``centers_t`` : the centers transposed,
    (d × k) float64 C-ordered."""


def rows_sq_dists(rows, which, n_which, full_pass, centers_t, c_sq_norms, block, slack):
    """``block[r, c]`` = squared distance from row ``which[r]`` to every center, for
    ``r < n_which``, and ``slack[r]``, a bound on its error against :func:`point_sq_dist`.

    ``full_pass`` = (centers transposed in X's dtype (d × k, C-ordered), slack_scale,
    slack_floor, max ||c||², use_product): with ``use_product``, dense rows go through
    one matrix product in X's dtype (rows that follow one another are read in place,
    others are gathered first) when they are at least ``BOUNDED_PRODUCT_MIN_WORK``
    multiply-adds; otherwise (CSR, few features, few rows) every distance is computed
    as :func:`all_sq_dists` does, with zero slack."""


@overload(rows_sq_dists)
def _rows_sq_dists(rows, which, n_which, full_pass, centers_t, c_sq_norms, block, slack):
    if len(rows) == 2:

        def dense(rows, which, n_which, full_pass, centers_t, c_sq_norms, block, slack):
            X, x_sq_norms = rows
            centers_t_x, slack_scale, slack_floor, c_sq_max, use_product = full_pass
            k = centers_t_x.shape[1]
            if not use_product or n_which * k * X.shape[1] < BOUNDED_PRODUCT_MIN_WORK:
                for r in range(n_which):
                    all_sq_dists(rows, which[r], centers_t, c_sq_norms, block[r])
                    slack[r] = 0.0
                return
            first = which[0]
            if which[n_which - 1] - first == n_which - 1:
                dots = np.dot(X[first : first + n_which], centers_t_x)
            else:
                gathered = np.empty((n_which, X.shape[1]), dtype=X.dtype)
                for r in range(n_which):
                    gathered[r] = X[which[r]]
                dots = np.dot(gathered, centers_t_x)
            for r in range(n_which):
                x_sq = x_sq_norms[which[r]]
                slack[r] = slack_scale * (x_sq + c_sq_max) + slack_floor
                for c in range(k):
                    block[r, c] = max(x_sq - 2.0 * np.float64(dots[r, c]) + c_sq_norms[c], 0.0)

        return dense

    def sparse(rows, which, n_which, full_pass, centers_t, c_sq_norms, block, slack):
        for r in range(n_which):
            all_sq_dists(rows, which[r], centers_t, c_sq_norms, block[r])
            slack[r] = 0.0

    return sparse


@njit(**JIT_OPTIONS)
def chunk_sq_dists(rows, start, stop, full_pass, centers_t, c_sq_norms, block, slack):
    """:func:`rows_sq_dists` of the rows ``start`` to ``stop`` (exclusive)."""
    which = np.arange(start, stop)
    rows_sq_dists(rows, which, stop - start, full_pass, centers_t, c_sq_norms, block, slack)


@njit(**JIT_OPTIONS)
def exact_label(rows, i, centers, c_sq_norms, sq_dists, slack):
    """Label of row i from its distances ``sq_dists`` as :func:`rows_sq_dists` gives
    them (each within ``slack`` of the exact one): the exact argmin, lowest index on
    ties. Only centers within ``2 slack`` of the smallest are computed exactly, and
    only when there is more than one."""
    best = _argmin_first(sq_dists)
    if slack == 0.0:
        return best
    reach = sq_dists[best] + 2.0 * slack
    n_near = 0
    for c in range(sq_dists.shape[0]):
        if sq_dists[c] <= reach:
            n_near += 1
    if n_near == 1:
        return best
    best_exact = np.inf
    for c in range(sq_dists.shape[0]):
        if sq_dists[c] <= reach:
            exact = point_sq_dist(rows, i, centers, c_sq_norms, c)
            if exact < best_exact:
                best_exact = exact
                best = c
    return best


@overload(n_rows_of)
def _n_rows_of(rows):
    if len(rows) == 2:
        return lambda rows: rows[0].shape[0]
    return lambda rows: rows[2].shape[0] - 1


@overload(point_sq_dist)
def _point_sq_dist(rows, i, centers, c_sq_norms, c):
    if len(rows) == 2:

        def dense(rows, i, centers, c_sq_norms, c):
            X = rows[0]
            d = X.shape[1]
            if d < GEMM_MIN_FEATURES:
                # Summed in feature order, as Lloyd's direct kernel does for few features.
                total = 0.0
                for j in range(d):
                    diff = np.float64(X[i, j]) - np.float64(centers[c, j])
                    total += diff * diff
                return total
            # Four running sums, so the additions do not wait on one another.
            sum0 = sum1 = sum2 = sum3 = 0.0
            last = d - d % 4
            for j in range(0, last, 4):
                diff0 = np.float64(X[i, j]) - np.float64(centers[c, j])
                diff1 = np.float64(X[i, j + 1]) - np.float64(centers[c, j + 1])
                diff2 = np.float64(X[i, j + 2]) - np.float64(centers[c, j + 2])
                diff3 = np.float64(X[i, j + 3]) - np.float64(centers[c, j + 3])
                sum0 += diff0 * diff0
                sum1 += diff1 * diff1
                sum2 += diff2 * diff2
                sum3 += diff3 * diff3
            for j in range(last, d):
                diff = np.float64(X[i, j]) - np.float64(centers[c, j])
                sum0 += diff * diff
            return (sum0 + sum1) + (sum2 + sum3)

        return dense

    def sparse(rows, i, centers, c_sq_norms, c):
        data, indices, indptr, x_sq_norms = rows
        dot = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            dot += np.float64(data[p]) * np.float64(centers[c, indices[p]])
        return max(x_sq_norms[i] - 2.0 * dot + c_sq_norms[c], 0.0)

    return sparse


@overload(all_sq_dists)
def _all_sq_dists(rows, i, centers_t, c_sq_norms, out):
    if len(rows) == 2:

        def dense(rows, i, centers_t, c_sq_norms, out):
            X = rows[0]
            k = centers_t.shape[1]
            for c in range(k):
                out[c] = 0.0
            # Feature by feature over the contiguous centers: vectorises over c, and
            # each distance is still summed over j in order, as point_sq_dist does.
            for j in range(X.shape[1]):
                x = np.float64(X[i, j])
                column = centers_t[j]
                for c in range(k):
                    diff = x - column[c]
                    out[c] += diff * diff

        return dense

    def sparse(rows, i, centers_t, c_sq_norms, out):
        data, indices, indptr, x_sq_norms = rows
        k = centers_t.shape[1]
        for c in range(k):
            out[c] = 0.0
        # Same summation order as one dot product per center: over the non-zeros.
        for p in range(indptr[i], indptr[i + 1]):
            value = np.float64(data[p])
            column = centers_t[indices[p]]
            for c in range(k):
                out[c] += value * column[c]
        for c in range(k):
            out[c] = max(x_sq_norms[i] - 2.0 * out[c] + c_sq_norms[c], 0.0)

    return sparse


@njit(**JIT_OPTIONS)
def _argmin_first(values):
    """Index of the smallest value, lowest index on ties (``numpy.argmin``)."""
    best = 0
    for c in range(1, values.shape[0]):
        if values[c] < values[best]:
            best = c
    return best


# -- centers -----------------------------------------------------------------------------


@njit(**JIT_OPTIONS)
def _center_pair_distance(centers, a, b):
    total = 0.0
    for j in range(centers.shape[1]):
        diff = np.float64(centers[a, j]) - np.float64(centers[b, j])
        total += diff * diff
    return np.sqrt(total)


@chunked_kernel
def half_distance_to_nearest_center(centers, out):
    """``out[c] = ½ min_{c' ≠ c} ||centers[c] - centers[c']||`` (inf when k = 1).

    A row within this distance of its center cannot be nearer to another one.
    out : (k,) float64 OUT.
    """
    k = centers.shape[0]
    for a in prange(k):
        nearest = np.inf
        for b in range(k):
            if b != a:
                nearest = min(nearest, _center_pair_distance(centers, a, b))
        out[a] = 0.5 * nearest


@chunked_kernel
def center_distance_matrix(centers, out):
    """``out[a, b] = ||centers[a] - centers[b]||``. out : (k, k) float64 OUT."""
    k = centers.shape[0]
    for a in prange(k):
        for b in range(k):
            out[a, b] = _center_pair_distance(centers, a, b) if a != b else 0.0


@chunked_kernel
def labelled_sq_distances(rows, centers, c_sq_norms, labels, out):
    """``out[i]`` = squared distance from row i to ``centers[labels[i]]``. out : (n,) OUT."""
    n = n_rows_of(rows)
    for chunk in prange(n_chunks(n)):
        for i in range(chunk * CHUNK_ROWS, min((chunk + 1) * CHUNK_ROWS, n)):
            out[i] = point_sq_dist(rows, i, centers, c_sq_norms, labels[i])


# -- Hamerly -----------------------------------------------------------------------------


@chunked_kernel
def hamerly_pass(
    rows,
    centers,
    centers_t,
    c_sq_norms,
    center_shift,
    half_nearest,
    full,
    full_pass,
    labels,
    upper,
    lower,
    chunk_changed,
    chunk_distances,
):
    """One assignment pass of Hamerly's algorithm: one upper and one lower bound per row.

    rows : X IN; centers : (k, d) IN; centers_t : (d, k) IN, C-ordered;
    c_sq_norms : (k,) float64 IN, ``||c||²``; center_shift : (k,) float64 IN,
    how far each center moved since the last pass; half_nearest : (k,) float64 IN,
    from :func:`half_distance_to_nearest_center`; full : bool IN, compute every
    distance and set the bounds from scratch; full_pass : tuple IN, how all the
    distances of a row are taken (see :func:`rows_sq_dists`); labels : (n,) int32
    IN/OUT; upper : (n,) float64 IN/OUT, ≥ distance to the assigned center;
    lower : (n,) float64 IN/OUT, ≤ distance to every other center;
    chunk_changed, chunk_distances : (n_chunks(n),) int64 OUT, labels changed and
    distances computed in each chunk.

    The rows of a chunk whose bounds fail (all of them in a full pass) are gathered
    and take their distances together, through one matrix product for dense rows
    with enough features: a pass costs at most about what Lloyd's assignment costs.
    """
    n = n_rows_of(rows)
    k = centers.shape[0]
    # The largest shift, and the largest among the other centers for its own rows.
    first = 0
    for c in range(k):
        if center_shift[c] > center_shift[first]:
            first = c
    largest = center_shift[first]
    second_largest = 0.0
    for c in range(k):
        if c != first:
            second_largest = max(second_largest, center_shift[c])
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        # Rows whose bounds fail are gathered, and get all their distances at once.
        pending = np.empty(stop - start, dtype=np.int64)
        n_pending = 0
        distances = 0
        for i in range(start, stop):
            if not full:
                label = labels[i]
                bound_upper = upper[i] + center_shift[label]
                bound_lower = lower[i] - (second_largest if label == first else largest)
                threshold = max(half_nearest[label], bound_lower)
                if bound_upper < threshold:
                    upper[i] = bound_upper
                    lower[i] = bound_lower
                    continue
                bound_upper = np.sqrt(point_sq_dist(rows, i, centers, c_sq_norms, label))
                distances += 1
                if bound_upper < threshold:
                    upper[i] = bound_upper
                    lower[i] = bound_lower
                    continue
            pending[n_pending] = i
            n_pending += 1
        changed = 0
        if n_pending > 0:
            block = np.empty((n_pending, k))
            slack = np.empty(n_pending)
            rows_sq_dists(rows, pending, n_pending, full_pass, centers_t, c_sq_norms, block, slack)
            distances += n_pending * k
            for r in range(n_pending):
                i = pending[r]
                sq_dists = block[r]
                best = exact_label(rows, i, centers, c_sq_norms, sq_dists, slack[r])
                second = np.inf
                for c in range(k):
                    if c != best and sq_dists[c] < second:
                        second = sq_dists[c]
                if best != labels[i]:
                    changed += 1
                labels[i] = best
                upper[i] = np.sqrt(sq_dists[best] + slack[r])
                lower[i] = np.sqrt(max(second - slack[r], 0.0))
        chunk_changed[chunk] = changed
        chunk_distances[chunk] = distances


# -- Elkan -------------------------------------------------------------------------------


@chunked_kernel
def elkan_pass(
    rows,
    centers,
    centers_t,
    c_sq_norms,
    center_shift,
    total_shift,
    half_nearest,
    center_distances,
    full,
    full_pass,
    labels,
    upper,
    lower,
    chunk_changed,
    chunk_distances,
):
    """One assignment pass of Elkan's algorithm: a lower bound per row and center.

    As :func:`hamerly_pass`, with total_shift : (k,) float64 IN, the sum of each
    center's shifts since the first pass (this one's included); center_distances :
    (k, k) float64 IN, from :func:`center_distance_matrix`; lower : (n, k) float64
    IN/OUT, ``lower[i, c] - total_shift[c]`` ≤ distance from row i to center c.

    Lower bounds are kept offset by the total shift, so loosening them costs nothing:
    a row that its upper bound settles never touches its k bounds.
    """
    n = n_rows_of(rows)
    k = centers.shape[0]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        changed = 0
        distances = 0
        if full:
            block = np.empty((stop - start, k))
            slack = np.empty(stop - start)
            chunk_sq_dists(rows, start, stop, full_pass, centers_t, c_sq_norms, block, slack)
            distances += (stop - start) * k
            for i in range(start, stop):
                sq_dists = block[i - start]
                row_slack = slack[i - start]
                best = exact_label(rows, i, centers, c_sq_norms, sq_dists, row_slack)
                for c in range(k):
                    lower[i, c] = np.sqrt(max(sq_dists[c] - row_slack, 0.0)) + total_shift[c]
                upper[i] = np.sqrt(sq_dists[best] + row_slack)
                if best != labels[i]:
                    changed += 1
                labels[i] = best
        for i in range(start, stop):
            if full:
                break
            label = labels[i]
            bound_upper = upper[i] + center_shift[label]
            if bound_upper < half_nearest[label]:
                upper[i] = bound_upper
                continue
            best = label
            best_sq = np.inf
            tight = False
            for c in range(k):
                if c == best:
                    continue
                bound = max(lower[i, c] - total_shift[c], 0.5 * center_distances[best, c])
                if bound_upper < bound:
                    continue
                if not tight:
                    best_sq = point_sq_dist(rows, i, centers, c_sq_norms, best)
                    distances += 1
                    bound_upper = np.sqrt(best_sq)
                    lower[i, best] = bound_upper + total_shift[best]
                    tight = True
                    if bound_upper < bound:
                        continue
                sq_dist = point_sq_dist(rows, i, centers, c_sq_norms, c)
                distances += 1
                dist = np.sqrt(sq_dist)
                lower[i, c] = dist + total_shift[c]
                if sq_dist < best_sq or (sq_dist == best_sq and c < best):
                    best = c
                    best_sq = sq_dist
                    bound_upper = dist
            if best != label:
                changed += 1
            labels[i] = best
            upper[i] = bound_upper
        chunk_changed[chunk] = changed
        chunk_distances[chunk] = distances


# -- Yinyang -----------------------------------------------------------------------------


@chunked_kernel
def yinyang_pass(
    rows,
    centers,
    centers_t,
    c_sq_norms,
    center_shift,
    group_of,
    group_members,
    group_starts,
    group_shift,
    full,
    full_pass,
    labels,
    upper,
    lower,
    chunk_changed,
    chunk_distances,
):
    """One assignment pass of Yinyang k-means (Ding et al., 2015): a lower bound per
    row and group of centers, with the global, group and local filters.

    As :func:`hamerly_pass`, with group_of : (k,) IN, the group of each center;
    group_members : (k,) IN, centers listed group by group, the members of group g at
    ``group_members[group_starts[g]:group_starts[g + 1]]``; group_shift : (t,) float64
    IN, the largest shift in each group; lower : (n, t) float64 IN/OUT,
    ``lower[i, g]`` ≤ distance from row i to every center of group g but its own.
    """
    n = n_rows_of(rows)
    k = centers.shape[0]
    n_groups = group_starts.shape[0] - 1
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        previous_lower = np.empty(n_groups)
        changed = 0
        distances = 0
        if full:
            block = np.empty((stop - start, k))
            slack = np.empty(stop - start)
            chunk_sq_dists(rows, start, stop, full_pass, centers_t, c_sq_norms, block, slack)
            distances += (stop - start) * k
            for i in range(start, stop):
                sq_dists = block[i - start]
                row_slack = slack[i - start]
                best = exact_label(rows, i, centers, c_sq_norms, sq_dists, row_slack)
                for g in range(n_groups):
                    nearest = np.inf
                    for q in range(group_starts[g], group_starts[g + 1]):
                        c = group_members[q]
                        if c != best and sq_dists[c] < nearest:
                            nearest = sq_dists[c]
                    lower[i, g] = np.sqrt(max(nearest - row_slack, 0.0))
                upper[i] = np.sqrt(sq_dists[best] + row_slack)
                if best != labels[i]:
                    changed += 1
                labels[i] = best
        for i in range(start, stop):
            if full:
                break
            label = labels[i]
            bound_upper = upper[i] + center_shift[label]
            global_lower = np.inf
            for g in range(n_groups):
                previous_lower[g] = lower[i, g]
                lower[i, g] = previous_lower[g] - group_shift[g]
                global_lower = min(global_lower, lower[i, g])
            if bound_upper < global_lower:
                upper[i] = bound_upper
                continue
            label_sq = point_sq_dist(rows, i, centers, c_sq_norms, label)
            label_dist = np.sqrt(label_sq)
            distances += 1
            if label_dist < global_lower:
                upper[i] = label_dist
                continue
            best = label
            best_sq = label_sq
            best_dist = label_dist
            for g in range(n_groups):
                if best_dist < lower[i, g]:
                    continue  # group filter
                group_lower = np.inf
                for q in range(group_starts[g], group_starts[g + 1]):
                    c = group_members[q]
                    if c == best:
                        continue
                    if c == label:
                        sq_dist = label_sq
                        dist = label_dist
                    else:
                        bound = previous_lower[g] - center_shift[c]
                        if best_dist < bound:  # local filter
                            group_lower = min(group_lower, bound)
                            continue
                        sq_dist = point_sq_dist(rows, i, centers, c_sq_norms, c)
                        dist = np.sqrt(sq_dist)
                        distances += 1
                    if sq_dist < best_sq or (sq_dist == best_sq and c < best):
                        # The former best becomes one of the others of its group.
                        former_group = group_of[best]
                        if former_group == g:
                            group_lower = min(group_lower, best_dist)
                        else:
                            lower[i, former_group] = min(lower[i, former_group], best_dist)
                        best = c
                        best_sq = sq_dist
                        best_dist = dist
                    else:
                        group_lower = min(group_lower, dist)
                lower[i, g] = group_lower
            if best != label:
                changed += 1
            labels[i] = best
            upper[i] = best_dist
        chunk_changed[chunk] = changed
        chunk_distances[chunk] = distances
