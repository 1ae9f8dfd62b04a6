"""Kernels of k-medoids: distances, k-medoids++ seeding, FasterPAM swaps and alternating steps.

Every kernel reads distances through :func:`pair_distance` from a *source*: either a full
symmetric (n, n) matrix of distances (``metric == PRECOMPUTED``; float32 or float64), or the data
X itself, the distance computed when needed (Euclidean, Manhattan or cosine; float64
arithmetic). Medoids are row indices. Per row, the solver keeps the slot (index into
the medoid array) and distance of its nearest and second-nearest medoid. Sums of
distances are accumulated in float64. Prior validation of every argument is assumed.
"""

import numpy as np
from numba import njit, prange

from ..settings import CHUNK_ROWS, JIT_OPTIONS
from ._compile import chunked_kernel
from .dense import n_chunks

#: Metric codes understood by :func:`pair_distance`.
PRECOMPUTED = 0
EUCLIDEAN = 1
MANHATTAN = 2
COSINE = 3


@njit(**JIT_OPTIONS)
def pair_distance(source, norms, metric, i, j):
    """Distance between row i and row j (a medoid or a candidate).

    For a matrix this reads ``source[j, i]``: the matrix must be symmetric, and reading
    the row of the medoid or candidate keeps the kernels' loops over i contiguous.

    Euclidean: ``sqrt(Σ (x_i - x_j)²)``; Manhattan: ``Σ |x_i - x_j|``; cosine:
    ``1 - x_i·x_j / (|x_i| |x_j|)`` with ``norms`` the row norms (a zero row is at
    distance 1 from every other row and 0 from itself).
    """
    if metric == PRECOMPUTED:
        return np.float64(source[j, i])
    total = 0.0
    if metric == EUCLIDEAN:
        for f in range(source.shape[1]):
            diff = np.float64(source[i, f]) - np.float64(source[j, f])
            total += diff * diff
        return np.sqrt(total)
    if metric == MANHATTAN:
        for f in range(source.shape[1]):
            total += abs(np.float64(source[i, f]) - np.float64(source[j, f]))
        return total
    if i == j:
        return 0.0
    if norms[i] == 0.0 or norms[j] == 0.0:
        return 1.0
    for f in range(source.shape[1]):
        total += np.float64(source[i, f]) * np.float64(source[j, f])
    return max(1.0 - total / (norms[i] * norms[j]), 0.0)


@chunked_kernel
def distances_to_row(source, norms, metric, row, out):
    """out[o] = distance between row o and row ``row``. out : (n,) float64 OUT."""
    n = out.shape[0]
    for chunk in prange(n_chunks(n)):
        for o in range(chunk * CHUNK_ROWS, min((chunk + 1) * CHUNK_ROWS, n)):
            out[o] = pair_distance(source, norms, metric, o, row)


@chunked_kernel
def candidate_totals(source, norms, metric, candidates, nearest, weights, chunk_totals):
    """Total weighted distance if each candidate became a medoid:
    ``Σ_o w_o min(nearest[o], d(o, cand))``.

    candidates : (t,) int64 IN; nearest : (n,) float64 IN, distance of every row to its
    nearest medoid so far; weights : (n,) float64 IN, the rows' sample weights;
    chunk_totals : (n_chunks(n), t) float64 OUT, per-chunk sums
    added in chunk order by the caller.
    """
    n = nearest.shape[0]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for r in range(candidates.shape[0]):
            partial = 0.0
            for o in range(start, stop):
                d = pair_distance(source, norms, metric, o, candidates[r])
                partial += weights[o] * min(nearest[o], d)
            chunk_totals[chunk, r] = partial


@chunked_kernel
def nearest_two_medoids(source, norms, metric, medoids, near, d_near, second, d_second):
    """Slot and distance of the nearest and second-nearest medoid of every row.

    medoids : (k,) int64 IN; near, second : (n,) int64 OUT, slots into ``medoids``
    (ties to the lowest slot; ``second`` is -1 and ``d_second`` inf when k = 1);
    d_near, d_second : (n,) float64 OUT.
    """
    n = near.shape[0]
    for chunk in prange(n_chunks(n)):
        for o in range(chunk * CHUNK_ROWS, min((chunk + 1) * CHUNK_ROWS, n)):
            _scan_medoids(source, norms, metric, medoids, o, near, d_near, second, d_second)


@njit(**JIT_OPTIONS)
def _nearest_two_all_rows(source, norms, metric, medoids, near, d_near, second, d_second):
    """:func:`nearest_two_medoids` on the calling thread, for use inside other kernels."""
    for o in range(near.shape[0]):
        _scan_medoids(source, norms, metric, medoids, o, near, d_near, second, d_second)


@njit(**JIT_OPTIONS)
def _scan_medoids(source, norms, metric, medoids, o, near, d_near, second, d_second):
    best, best_d = -1, np.inf
    next_best, next_d = -1, np.inf
    for slot in range(medoids.shape[0]):
        d = pair_distance(source, norms, metric, o, medoids[slot])
        if d < best_d:
            next_best, next_d = best, best_d
            best, best_d = slot, d
        elif d < next_d:
            next_best, next_d = slot, d
    near[o] = best
    d_near[o] = best_d
    second[o] = next_best
    d_second[o] = next_d


@njit(**JIT_OPTIONS)
def _removal_losses(near, d_near, d_second, k, removal_loss, weights):
    """removal_loss[i] = Σ_{o nearest to medoid i} w_o (d_second[o] - d_near[o])."""
    removal_loss[:] = 0.0
    for o in range(near.shape[0]):
        removal_loss[near[o]] += weights[o] * (d_second[o] - d_near[o])


@njit(**JIT_OPTIONS)
def _best_swap_for(
    source, norms, metric, candidate, near, d_near, d_second, removal_loss, delta, weights
):
    """(slot, change of the total) of the best swap of a medoid for ``candidate``.

    Schubert and Rousseeuw's O(n) evaluation for all k medoids at once: starting from the
    loss of removing each medoid, every row that would move to the candidate adds its
    gain to all slots, and corrects the slot of its own nearest medoid; every row counts
    with its weight.
    """
    delta[:] = removal_loss
    shared = 0.0
    if metric == PRECOMPUTED:
        row = source[candidate]
        for o in range(near.shape[0]):
            d = np.float64(row[o])
            w = weights[o]
            if d < d_near[o]:
                shared += w * (d - d_near[o])
                delta[near[o]] += w * (d_near[o] - d_second[o])
            elif d < d_second[o]:
                delta[near[o]] += w * (d - d_second[o])
    else:
        for o in range(near.shape[0]):
            d = pair_distance(source, norms, metric, o, candidate)
            w = weights[o]
            if d < d_near[o]:
                shared += w * (d - d_near[o])
                delta[near[o]] += w * (d_near[o] - d_second[o])
            elif d < d_second[o]:
                delta[near[o]] += w * (d - d_second[o])
    best = 0
    for slot in range(1, delta.shape[0]):
        if delta[slot] < delta[best]:
            best = slot
    return best, delta[best] + shared


@njit(**JIT_OPTIONS)
def _apply_swap(source, norms, metric, medoids, slot, candidate, near, d_near, second, d_second):
    """Replace ``medoids[slot]`` by ``candidate`` and update every row's two nearest."""
    medoids[slot] = candidate
    for o in range(near.shape[0]):
        d = pair_distance(source, norms, metric, o, candidate)
        if near[o] == slot:
            if d <= d_second[o]:
                d_near[o] = d
            else:
                _scan_medoids(source, norms, metric, medoids, o, near, d_near, second, d_second)
        elif second[o] == slot:
            if d < d_near[o]:
                second[o], d_second[o] = near[o], d_near[o]
                near[o], d_near[o] = slot, d
            elif d <= d_second[o]:
                d_second[o] = d
            else:
                _scan_medoids(source, norms, metric, medoids, o, near, d_near, second, d_second)
        elif d < d_near[o]:
            second[o], d_second[o] = near[o], d_near[o]
            near[o], d_near[o] = slot, d
        elif d < d_second[o]:
            second[o], d_second[o] = slot, d


@njit(**JIT_OPTIONS)
def fasterpam(
    source, norms, metric, medoids, order, max_iter, weights, near, d_near, second, d_second
):
    """FasterPAM (Schubert and Rousseeuw, 2021): eager swaps until none improves the total.

    Candidates are visited in ``order``, round after round; the first swap that lowers
    the total distance (its best medoid slot by the O(k) removal-loss evaluation) is made
    at once. The search stops when a whole round of candidates since the last swap
    brings no improvement, or after ``max_iter`` rounds.

    medoids : (k,) int64 IN/OUT; order : (n,) int64 IN, a permutation of the rows;
    weights : (n,) float64 IN, the rows' weights (a row of weight 0 is never made a
    medoid and does not count in the total); near, d_near, second, d_second : (n,) OUT
    (see :func:`nearest_two_medoids`), valid for the final medoids. Returns (number of
    rounds, number of swaps, converged).
    """
    n = order.shape[0]
    k = medoids.shape[0]
    _nearest_two_all_rows(source, norms, metric, medoids, near, d_near, second, d_second)
    if k == 1:
        return _best_single_medoid(source, norms, metric, medoids, weights, near, d_near)
    removal_loss = np.empty(k)
    delta = np.empty(k)
    _removal_losses(near, d_near, d_second, k, removal_loss, weights)
    total = (weights * d_near).sum()
    last_swap = -1
    n_swaps = 0
    n_rounds = 0
    while n_rounds < max_iter:
        n_rounds += 1
        swaps_before = n_swaps
        for position in range(n):
            if position == last_swap:
                return n_rounds, n_swaps, True
            candidate = order[position]
            if d_near[candidate] == 0.0 or weights[candidate] == 0.0:
                continue  # a medoid, a duplicate of one, or a row of weight 0
            slot, change = _best_swap_for(
                source,
                norms,
                metric,
                candidate,
                near,
                d_near,
                d_second,
                removal_loss,
                delta,
                weights,
            )
            if change >= -1e-12 * total:
                continue
            _apply_swap(
                source, norms, metric, medoids, slot, candidate, near, d_near, second, d_second
            )
            _removal_losses(near, d_near, d_second, k, removal_loss, weights)
            total = (weights * d_near).sum()
            last_swap = position
            n_swaps += 1
        if n_swaps == swaps_before:
            return n_rounds, n_swaps, True
    return n_rounds, n_swaps, False


@njit(**JIT_OPTIONS)
def _best_single_medoid(source, norms, metric, medoids, weights, near, d_near):
    """k = 1: the row of positive weight of least total weighted distance to all rows."""
    n = near.shape[0]
    best_total = (weights * d_near).sum()
    for candidate in range(n):
        if weights[candidate] == 0.0:
            continue
        total = 0.0
        for o in range(n):
            total += weights[o] * pair_distance(source, norms, metric, o, candidate)
            if total >= best_total:
                break
        if total < best_total:
            best_total = total
            medoids[0] = candidate
    for o in range(n):
        near[o] = 0
        d_near[o] = pair_distance(source, norms, metric, o, medoids[0])
    return 1, 0, True


@njit(**JIT_OPTIONS)
def alternate(source, norms, metric, medoids, max_iter, weights, near, d_near, second, d_second):
    """Alternating (Voronoi-iteration) k-medoids: assign, then each cluster's best medoid.

    Each step gives every row to its nearest medoid, then makes each cluster's medoid the
    member of positive weight with the least total weighted distance to the other members
    (ties to the current medoid, then to the lowest row); it stops when no medoid
    changes. Returns (number of steps, number of medoid changes, converged); the OUT
    arrays are as in :func:`fasterpam`, valid for the final medoids.
    """
    n = near.shape[0]
    k = medoids.shape[0]
    n_changes = 0
    for step in range(1, max_iter + 1):
        _nearest_two_all_rows(source, norms, metric, medoids, near, d_near, second, d_second)
        order = np.argsort(near, kind="mergesort")
        starts = np.zeros(k + 1, dtype=np.int64)
        for o in range(n):
            starts[near[o] + 1] += 1
        for slot in range(k):
            starts[slot + 1] += starts[slot]
        changed = False
        for slot in range(k):
            members = order[starts[slot] : starts[slot + 1]]
            best = medoids[slot]
            best_total = 0.0
            for o in members:
                best_total += weights[o] * d_near[o]
            for candidate in members:
                if candidate == medoids[slot] or weights[candidate] == 0.0:
                    continue
                total = 0.0
                for o in members:
                    total += weights[o] * pair_distance(source, norms, metric, o, candidate)
                    if total >= best_total:
                        break
                if total < best_total:
                    best_total = total
                    best = candidate
            if best != medoids[slot]:
                medoids[slot] = best
                changed = True
                n_changes += 1
        if not changed:
            return step, n_changes, True
    _nearest_two_all_rows(source, norms, metric, medoids, near, d_near, second, d_second)
    return max_iter, n_changes, False


@njit(**JIT_OPTIONS)
def first_invalid_distance(D, rtol, atol):
    """(kind, i, j) of the first entry that makes D no distance matrix, or (0, -1, -1).

    kind 1: not finite; 2: negative; 3: ``D[i, j]`` and ``D[j, i]`` differ by more than
    ``atol + rtol |D[j, i]|``. Visits D in square tiles so that both the rows and the
    mirrored columns are read from cache.
    """
    n = D.shape[0]
    tile = 64
    for i in range(n):
        for j in range(n):
            value = D[i, j]
            if not np.isfinite(value):
                return 1, i, j
            if value < 0:
                return 2, i, j
    for row_start in range(0, n, tile):
        for col_start in range(row_start, n, tile):
            for i in range(row_start, min(row_start + tile, n)):
                for j in range(max(col_start, i + 1), min(col_start + tile, n)):
                    a = np.float64(D[i, j])
                    b = np.float64(D[j, i])
                    if abs(a - b) > atol + rtol * abs(b):
                        return 3, i, j
    return 0, -1, -1


#: Rows and columns of one square tile of :func:`distance_matrix`.
MATRIX_TILE = 64


@chunked_kernel
def distance_matrix(X, norms, metric, out):
    """out[i, j] = out[j, i] = distance between rows i and j of X; the diagonal is 0.

    Each pair is computed once (tiles on and above the diagonal, mirrored), by direct
    differences in float64, stored in out's dtype. Tile rows are split over the threads;
    every entry is computed the same way on any number of threads.

    X : (n, d) IN; norms : (n,) float64 IN for cosine; out : (n, n) OUT.
    """
    n, d = X.shape
    n_tiles = (n + MATRIX_TILE - 1) // MATRIX_TILE
    for tile_row in prange(n_tiles):
        row_start = tile_row * MATRIX_TILE
        row_stop = min(row_start + MATRIX_TILE, n)
        for col_start in range(row_start, n, MATRIX_TILE):
            col_stop = min(col_start + MATRIX_TILE, n)
            for i in range(row_start, row_stop):
                for j in range(max(col_start, i + 1), col_stop):
                    total = 0.0
                    if metric == EUCLIDEAN:
                        for f in range(d):
                            diff = np.float64(X[i, f]) - np.float64(X[j, f])
                            total += diff * diff
                        total = np.sqrt(total)
                    elif metric == MANHATTAN:
                        for f in range(d):
                            total += abs(np.float64(X[i, f]) - np.float64(X[j, f]))
                    else:
                        total = pair_distance(X, norms, metric, i, j)
                    out[i, j] = total
                    out[j, i] = total
            if col_start == row_start:
                for i in range(row_start, row_stop):
                    out[i, i] = 0.0
