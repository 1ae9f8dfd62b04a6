"""Mini-batch k-means steps: many batches per call, so Python runs once per block of steps.

One step takes a batch of rows (given by their indices into X), assigns each to its
nearest center in X's dtype (direct differences for few features, a matrix product per
chunk of batch rows from ``GEMM_MIN_FEATURES`` on, a sparse × dense product for CSR),
then moves every center that received rows to the weighted mean of its old position
(weighted by the rows it absorbed so far, its *count*) and of the new rows:

    ``c ← (count_c · c + Σ w_i x_i) / (count_c + Σ w_i)``,  ``count_c += Σ w_i``

so each center's learning rate is the share of its mass the batch brought. The centers
and counts are float64 whatever X's dtype. Between steps the kernels watch an
exponentially weighted average (EWA) of the batch inertia per unit weight and stop when
it has not improved for ``max_no_improvement`` steps (or when the centers moved less
than ``tol``), and stop early to let the caller reassign centers whose count fell below
``reassignment_ratio`` × the largest count (the caller draws the rows at random).

The assignment of a batch is cut into chunks of ``CHUNK_ROWS`` rows (in parallel for
large batches) whose partial inertias are added in chunk order; the center update is
sequential, in batch order. Results do not depend on the number of threads.
"""

import numpy as np
from numba import njit, prange

from ..settings import CHUNK_ROWS, GEMM_MIN_FEATURES, JIT_OPTIONS, MINIBATCH_PARALLEL_MIN_WORK
from ._compile import chunked_kernel
from .dense import argmin_of_row, n_chunks

#: Kernel exit states (the first value the step kernels return).
RAN_ALL_STEPS = 0
CONVERGED_CENTER_SHIFT = 1
CONVERGED_NO_IMPROVEMENT = 2
REASSIGN_DUE = 3

#: Slots of the convergence state array ``ewa_state`` (float64).
EWA_INERTIA = 0  # the EWA of the batch inertia per unit weight; NaN before the first
EWA_MINIMUM = 1  # the lowest EWA seen; NaN before the first
NO_IMPROVEMENT = 2  # steps since the EWA last reached a new minimum

#: Slots of the reassignment state array ``reassign_state`` (int64).
ROWS_SINCE_REASSIGN = 0  # rows processed since the last reassignment check fired
ROWS_SEEN = 1  # rows processed since the start of the fit


@njit(**JIT_OPTIONS)
def check_convergence(ewa_state, step, batch_inertia, center_shift, alpha, tol, max_no_improvement):
    """Update the EWA of the batch inertia with step ``step``'s; the exit state it implies.

    ``step`` counts from 0 over the whole fit: step 0's inertia is measured against the
    initial centers and is left out. ``batch_inertia`` is per unit of batch weight;
    ``ewa ← (1 - alpha) ewa + alpha · batch_inertia``. Returns
    ``CONVERGED_CENTER_SHIFT`` when ``tol > 0`` and the squared center shift of the
    step is at most ``tol``, ``CONVERGED_NO_IMPROVEMENT`` when the EWA has not reached
    a new minimum for ``max_no_improvement`` steps (negative: never), else
    ``RAN_ALL_STEPS``. ewa_state : (3,) float64 IN/OUT.
    """
    if step == 0:
        return RAN_ALL_STEPS
    if np.isnan(ewa_state[EWA_INERTIA]):
        ewa_state[EWA_INERTIA] = batch_inertia
    else:
        ewa_state[EWA_INERTIA] = ewa_state[EWA_INERTIA] * (1.0 - alpha) + batch_inertia * alpha
    if tol > 0.0 and center_shift <= tol:
        return CONVERGED_CENTER_SHIFT
    if np.isnan(ewa_state[EWA_MINIMUM]) or ewa_state[EWA_INERTIA] < ewa_state[EWA_MINIMUM]:
        ewa_state[NO_IMPROVEMENT] = 0.0
        ewa_state[EWA_MINIMUM] = ewa_state[EWA_INERTIA]
    else:
        ewa_state[NO_IMPROVEMENT] += 1.0
    if max_no_improvement >= 0 and ewa_state[NO_IMPROVEMENT] >= max_no_improvement:
        return CONVERGED_NO_IMPROVEMENT
    return RAN_ALL_STEPS


@njit(**JIT_OPTIONS)
def _prepare_centers(centers, centers_T, neg2_centers_T, c_sq_norms):
    """``centers.T``, ``-2 centers.T`` and ``||c||²`` in X's dtype (the buffers'), from the
    float64 centers."""
    k, d = centers.shape
    for c in range(k):
        total = 0.0
        for j in range(d):
            centers_T[j, c] = centers[c, j]
            value = centers_T[j, c]
            neg2_centers_T[j, c] = -2 * value
            total += np.float64(value) * np.float64(value)
        c_sq_norms[c] = total


@njit(**JIT_OPTIONS)
def _move_centers(centers, counts, sums, batch_weights):
    """Move each center that got rows to the weighted mean of its mass and the new rows.

    Returns the total squared shift of the centers. centers (k, d), counts (k,): IN/OUT;
    sums (k, d), batch_weights (k,): the batch's weighted row sums per center, IN.
    """
    k, d = centers.shape
    shift = 0.0
    for c in range(k):
        w = batch_weights[c]
        if w <= 0.0:
            continue
        total = counts[c] + w
        for j in range(d):
            moved = (centers[c, j] * counts[c] + sums[c, j]) / total
            diff = moved - centers[c, j]
            shift += diff * diff
            centers[c, j] = moved
        counts[c] = total
    return shift


@njit(**JIT_OPTIONS)
def _reassignment_due(
    reassign_state, batch_rows, reassign_every, reassign_after, counts, reassignment_ratio
):
    """Whether some center's count is below ``reassignment_ratio`` × the largest.

    Looked at once ``reassign_every`` rows have gone by since the last look (at every
    step while some count is zero), but never before ``reassign_after`` rows in all: a
    center that no batch has reached yet is not dead (batches of chunks sorted by
    cluster reach the centers in turn). reassign_state : (2,) int64 IN/OUT.
    """
    reassign_state[ROWS_SEEN] += batch_rows
    reassign_state[ROWS_SINCE_REASSIGN] += batch_rows
    if reassign_state[ROWS_SEEN] < reassign_after:
        return False
    any_empty = False
    largest = 0.0
    for c in range(counts.shape[0]):
        any_empty = any_empty or counts[c] == 0.0
        largest = max(largest, counts[c])
    if not any_empty and reassign_state[ROWS_SINCE_REASSIGN] < reassign_every:
        return False
    reassign_state[ROWS_SINCE_REASSIGN] = 0
    if reassignment_ratio <= 0.0:
        return False
    for c in range(counts.shape[0]):  # noqa: SIM110 (numba compiles no generator in any())
        if counts[c] < reassignment_ratio * largest:
            return True
    return False


def for_batch_work(kernel, work):
    """The serial form of a step kernel, or the parallel one for batches of much work."""
    if work < MINIBATCH_PARALLEL_MIN_WORK:
        return kernel.serial
    return kernel.for_work(work)


@chunked_kernel
def dense_steps(
    X,
    sample_weight,
    use_weights,
    indices,
    batch_starts,
    first_step,
    step_offset,
    centers,
    counts,
    ewa_state,
    reassign_state,
    settings,
    batch_inertia_out,
    center_shift_out,
    batch_labels,
):
    """Mini-batch steps over dense X, from batch ``first_step`` to the last or an exit.

    Batch s holds rows ``indices[batch_starts[s]:batch_starts[s + 1]]`` of X (weights
    ``sample_weight[i]``, or 1 each when ``use_weights`` is False). ``step_offset`` is
    the fit-wide number of batch 0. settings : float64 array of (alpha, tol,
    max_no_improvement, check (1: watch convergence), reassign_every,
    reassignment_ratio, reassign_after). centers (k, d) float64, counts (k,) float64,
    ewa_state (3,), reassign_state (2,) int64: IN/OUT. batch_inertia_out (n_batches,)
    float64 OUT: the batch's weighted inertia (before its update) per unit weight;
    center_shift_out (n_batches,) OUT: the squared shift of its update. batch_labels
    (longest batch,) int32: scratch, then the labels of the last batch run.

    Returns (exit state, last batch run): ``REASSIGN_DUE`` after the update of a batch
    whose reassignment the caller must do (and then check convergence itself).
    """
    k, d = centers.shape
    alpha, tol = settings[0], settings[1]
    max_no_improvement = int(settings[2])
    checking = settings[3] > 0
    reassign_every = int(settings[4])
    reassignment_ratio = settings[5]
    reassign_after = int(settings[6])
    use_gemm = d >= GEMM_MIN_FEATURES
    centers_T = np.empty((d, k), dtype=X.dtype)
    neg2_centers_T = np.empty((d, k), dtype=X.dtype)
    c_sq_norms = np.empty(k, dtype=X.dtype)
    longest = batch_labels.shape[0]
    chunk_inertia = np.empty(n_chunks(longest))
    sums = np.empty((k, d))
    batch_weights = np.empty(k)
    n_batches = batch_starts.shape[0] - 1
    for s in range(first_step, n_batches):
        start, stop = batch_starts[s], batch_starts[s + 1]
        size = stop - start
        _prepare_centers(centers, centers_T, neg2_centers_T, c_sq_norms)
        for chunk in prange(n_chunks(size)):
            lo = chunk * CHUNK_ROWS
            hi = min(lo + CHUNK_ROWS, size)
            partial = 0.0
            if use_gemm:
                rows = np.empty((hi - lo, d), dtype=X.dtype)
                for r in range(hi - lo):
                    rows[r] = X[indices[start + lo + r]]
                scores = np.dot(rows, neg2_centers_T)
            else:
                scores = np.empty((1, k), dtype=X.dtype)
            for r in range(hi - lo):
                i = indices[start + lo + r]
                if use_gemm:
                    row = r
                    x_sq_norm = 0.0
                    for j in range(d):
                        x_sq_norm += np.float64(X[i, j]) * np.float64(X[i, j])
                    for c in range(k):
                        scores[r, c] += c_sq_norms[c]
                else:
                    row = 0
                    x_sq_norm = 0.0
                    for c in range(k):
                        scores[0, c] = 0
                    for j in range(d):
                        x = X[i, j]
                        for c in range(k):
                            diff = x - centers_T[j, c]
                            scores[0, c] += diff * diff
                best_c, best = argmin_of_row(scores, row)
                dist = max(x_sq_norm + np.float64(best), 0.0)
                batch_labels[lo + r] = best_c
                w = np.float64(sample_weight[i]) if use_weights else 1.0
                partial += w * dist
            chunk_inertia[chunk] = partial
        inertia = 0.0
        for chunk in range(n_chunks(size)):
            inertia += chunk_inertia[chunk]
        sums[:] = 0.0
        batch_weights[:] = 0.0
        for r in range(size):
            i = indices[start + r]
            c = batch_labels[r]
            w = np.float64(sample_weight[i]) if use_weights else 1.0
            batch_weights[c] += w
            for j in range(d):
                sums[c, j] += w * X[i, j]
        batch_weight = batch_weights.sum()
        batch_inertia_out[s] = inertia / batch_weight if batch_weight > 0 else 0.0
        center_shift_out[s] = _move_centers(centers, counts, sums, batch_weights)
        if _reassignment_due(
            reassign_state, size, reassign_every, reassign_after, counts, reassignment_ratio
        ):
            return REASSIGN_DUE, s
        if checking:
            state = check_convergence(
                ewa_state,
                step_offset + s,
                batch_inertia_out[s],
                center_shift_out[s],
                alpha,
                tol,
                max_no_improvement,
            )
            if state != RAN_ALL_STEPS:
                return state, s
    return RAN_ALL_STEPS, n_batches - 1


@chunked_kernel
def sparse_steps(
    data,
    col_indices,
    indptr,
    sample_weight,
    use_weights,
    indices,
    batch_starts,
    first_step,
    step_offset,
    centers,
    counts,
    ewa_state,
    reassign_state,
    settings,
    batch_inertia_out,
    center_shift_out,
    batch_labels,
):
    """:func:`dense_steps` over a CSR matrix given as ``data``, ``col_indices``, ``indptr``.

    Rows are never densified: each non-zero ``x_j`` adds ``x_j · (-2 centers.T)[j]`` to
    the row's scores ``||c||² - 2 x·c``, and only the non-zeros enter the center sums.
    """
    k, d = centers.shape
    alpha, tol = settings[0], settings[1]
    max_no_improvement = int(settings[2])
    checking = settings[3] > 0
    reassign_every = int(settings[4])
    reassignment_ratio = settings[5]
    reassign_after = int(settings[6])
    centers_T = np.empty((d, k), dtype=data.dtype)
    neg2_centers_T = np.empty((d, k), dtype=data.dtype)
    c_sq_norms = np.empty(k, dtype=data.dtype)
    longest = batch_labels.shape[0]
    chunk_inertia = np.empty(n_chunks(longest))
    sums = np.empty((k, d))
    batch_weights = np.empty(k)
    n_batches = batch_starts.shape[0] - 1
    for s in range(first_step, n_batches):
        start, stop = batch_starts[s], batch_starts[s + 1]
        size = stop - start
        _prepare_centers(centers, centers_T, neg2_centers_T, c_sq_norms)
        for chunk in prange(n_chunks(size)):
            lo = chunk * CHUNK_ROWS
            hi = min(lo + CHUNK_ROWS, size)
            scores = np.empty((1, k), dtype=data.dtype)
            partial = 0.0
            for r in range(lo, hi):
                i = indices[start + r]
                x_sq_norm = 0.0
                for c in range(k):
                    scores[0, c] = c_sq_norms[c]
                for p in range(indptr[i], indptr[i + 1]):
                    value = data[p]
                    x_sq_norm += np.float64(value) * np.float64(value)
                    j = col_indices[p]
                    for c in range(k):
                        scores[0, c] += value * neg2_centers_T[j, c]
                best_c, best = argmin_of_row(scores, 0)
                dist = max(x_sq_norm + np.float64(best), 0.0)
                batch_labels[r] = best_c
                w = np.float64(sample_weight[i]) if use_weights else 1.0
                partial += w * dist
            chunk_inertia[chunk] = partial
        inertia = 0.0
        for chunk in range(n_chunks(size)):
            inertia += chunk_inertia[chunk]
        sums[:] = 0.0
        batch_weights[:] = 0.0
        for r in range(size):
            i = indices[start + r]
            c = batch_labels[r]
            w = np.float64(sample_weight[i]) if use_weights else 1.0
            batch_weights[c] += w
            for p in range(indptr[i], indptr[i + 1]):
                sums[c, col_indices[p]] += w * data[p]
        batch_weight = batch_weights.sum()
        batch_inertia_out[s] = inertia / batch_weight if batch_weight > 0 else 0.0
        center_shift_out[s] = _move_centers(centers, counts, sums, batch_weights)
        if _reassignment_due(
            reassign_state, size, reassign_every, reassign_after, counts, reassignment_ratio
        ):
            return REASSIGN_DUE, s
        if checking:
            state = check_convergence(
                ewa_state,
                step_offset + s,
                batch_inertia_out[s],
                center_shift_out[s],
                alpha,
                tol,
                max_no_improvement,
            )
            if state != RAN_ALL_STEPS:
                return state, s
    return RAN_ALL_STEPS, n_batches - 1
