"""Kernels of k-prototypes: the mixed numeric + categorical cost, seeding and center updates.

The cost of a row against a prototype is Huang's (1998)::

    cost(i, c) = Σ_j (X_num[i, j] - num_centers[c, j])²
                 + gamma · #{ l : X_cat[i, l] != modes[c, l] }

Categorical values arrive as int32 codes per column (``0 .. n_categories[l] - 1``); a code
of -1 (a category not seen in fit) never equals a mode, which is always ``>= 0``. Numeric
values are float64. Rows are cut into chunks of ``CHUNK_ROWS``; per-chunk partial sums are
written to their own slot and added in chunk order by the caller, so results do not depend
on the number of threads. Prior validation of every argument is assumed.
"""

import numpy as np
from numba import njit, prange

from ..settings import CHUNK_ROWS, JIT_OPTIONS
from ._compile import chunked_kernel
from .dense import n_chunks


@njit(**JIT_OPTIONS)
def mixed_cost(X_num, X_cat, i, num_centers, modes, c, gamma):
    """Squared Euclidean distance of the numeric part + gamma × categorical mismatches."""
    total = 0.0
    for j in range(X_num.shape[1]):
        diff = X_num[i, j] - num_centers[c, j]
        total += diff * diff
    mismatches = 0
    for j in range(X_cat.shape[1]):
        if X_cat[i, j] != modes[c, j]:
            mismatches += 1
    return total + gamma * mismatches


@chunked_kernel
def assign_mixed(
    X_num, X_cat, sample_weight, num_centers_T, modes_T, gamma, labels, min_cost, chunk_cost
):
    """Cheapest prototype of every row under the mixed cost; ties to the lowest index.

    The innermost loops run over the k contiguous prototypes of one column, so they
    vectorise; each row's numeric sum still adds its columns in increasing order, as
    :func:`mixed_cost` does.

    X_num : (n, p) float64 IN; X_cat : (n, m) int32 IN; sample_weight : (n,) float64 IN;
    num_centers_T : (p, k) float64 IN, C-ordered; modes_T : (m, k) int32 IN, C-ordered;
    gamma : float IN; labels : (n,) int32 OUT; min_cost : (n,) float64 OUT, the cost to
    the chosen prototype; chunk_cost : (n_chunks(n),) float64 OUT, the weighted cost of
    each chunk.
    """
    n, p = X_num.shape
    m = X_cat.shape[1]
    k = num_centers_T.shape[1]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        squared = np.empty(k)
        mismatches = np.empty(k, dtype=np.int64)
        partial = 0.0
        for i in range(start, stop):
            squared[:] = 0.0
            mismatches[:] = 0
            for j in range(p):
                x = X_num[i, j]
                for c in range(k):
                    diff = x - num_centers_T[j, c]
                    squared[c] += diff * diff
            for j in range(m):
                code = X_cat[i, j]
                for c in range(k):
                    mismatches[c] += code != modes_T[j, c]
            best = np.inf
            best_c = 0
            for c in range(k):
                cost = squared[c] + gamma * mismatches[c]
                if cost < best:
                    best = cost
                    best_c = c
            labels[i] = best_c
            min_cost[i] = best
            partial += sample_weight[i] * best
        chunk_cost[chunk] = partial


@chunked_kernel
def mixed_cost_matrix(X_num, X_cat, num_centers, modes, gamma, out):
    """out[i, c] = cost(i, c) for every row and prototype (for ``transform``).

    out : (n, k) float64 OUT.
    """
    n = X_num.shape[0]
    k = num_centers.shape[0]
    for chunk in prange(n_chunks(n)):
        for i in range(chunk * CHUNK_ROWS, min((chunk + 1) * CHUNK_ROWS, n)):
            for c in range(k):
                out[i, c] = mixed_cost(X_num, X_cat, i, num_centers, modes, c, gamma)


@chunked_kernel
def costs_to_row(X_num, X_cat, row, gamma, out):
    """out[i] = cost of row i against row ``row`` taken as a prototype (seeding).

    out : (n,) float64 OUT.
    """
    n = X_num.shape[0]
    for chunk in prange(n_chunks(n)):
        for i in range(chunk * CHUNK_ROWS, min((chunk + 1) * CHUNK_ROWS, n)):
            total = 0.0
            for j in range(X_num.shape[1]):
                diff = X_num[i, j] - X_num[row, j]
                total += diff * diff
            mismatches = 0
            for j in range(X_cat.shape[1]):
                if X_cat[i, j] != X_cat[row, j]:
                    mismatches += 1
            out[i] = total + gamma * mismatches


@chunked_kernel
def seeding_potentials(X_num, X_cat, sample_weight, candidates, gamma, closest, chunk_potential):
    """Potential of each candidate row: ``Σ_i w_i min(closest[i], cost(i, candidate))``.

    candidates : (t,) int64 IN, rows of X; closest : (n,) float64 IN, each row's cost to
    its cheapest prototype so far; chunk_potential : (n_chunks(n), t) float64 OUT, the
    weighted sums per chunk, added in chunk order by the caller.
    """
    n = X_num.shape[0]
    t = candidates.shape[0]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        for r in range(t):
            row = candidates[r]
            partial = 0.0
            for i in range(start, stop):
                total = 0.0
                for j in range(X_num.shape[1]):
                    diff = X_num[i, j] - X_num[row, j]
                    total += diff * diff
                mismatches = 0
                for j in range(X_cat.shape[1]):
                    if X_cat[i, j] != X_cat[row, j]:
                        mismatches += 1
                cost = total + gamma * mismatches
                partial += sample_weight[i] * min(closest[i], cost)
            chunk_potential[chunk, r] = partial


@njit(**JIT_OPTIONS)
def update_prototypes(
    X_num, X_cat, sample_weight, labels, category_offsets, num_centers, modes, cluster_weight
):
    """Weighted means of the numeric columns and modes of the categorical ones, per cluster.

    The mode of a column in a cluster is the code with the largest total weight among the
    cluster's rows; ties go to the lowest code. Codes of -1 (unseen categories, only at
    predict time) are not counted. A cluster without weight keeps its previous prototype
    (the caller relocates it).

    labels : (n,) int32 IN; category_offsets : (m + 1,) int64 IN, column l's codes occupy
    ``offsets[l] .. offsets[l + 1] - 1`` of a flat count vector; num_centers : (k, p)
    float64 IN/OUT; modes : (k, m) int32 IN/OUT; cluster_weight : (k,) float64 OUT.
    """
    n, p = X_num.shape
    m = X_cat.shape[1]
    k = num_centers.shape[0]
    sums = np.zeros((k, p))
    counts = np.zeros((k, category_offsets[m]))
    cluster_weight[:] = 0.0
    for i in range(n):
        c = labels[i]
        w = sample_weight[i]
        cluster_weight[c] += w
        for j in range(p):
            sums[c, j] += w * X_num[i, j]
        for j in range(m):
            code = X_cat[i, j]
            if code >= 0:
                counts[c, category_offsets[j] + code] += w
    for c in range(k):
        if cluster_weight[c] <= 0.0:
            continue
        for j in range(p):
            num_centers[c, j] = sums[c, j] / cluster_weight[c]
        for j in range(m):
            best_code = 0
            best_count = -1.0
            for code in range(category_offsets[j + 1] - category_offsets[j]):
                count = counts[c, category_offsets[j] + code]
                if count > best_count:
                    best_count = count
                    best_code = code
            modes[c, j] = best_code


@chunked_kernel
def removal_costs(
    X_num, X_cat, sample_weight, num_centers, modes, gamma, labels, min_cost, chunk_removal
):
    """What removing each prototype would add to the cost, per chunk of rows.

    ``chunk_removal[chunk, c] = Σ w_i (second-lowest cost of i - min_cost[i])`` over the
    rows i of the chunk labelled c: the rows of cluster c would move to their second
    choice. labels, min_cost : (n,) IN, as :func:`assign_mixed` left them;
    chunk_removal : (n_chunks(n), k) float64 OUT, added in chunk order by the caller.
    """
    n = X_num.shape[0]
    k = num_centers.shape[0]
    for chunk in prange(n_chunks(n)):
        for c in range(k):
            chunk_removal[chunk, c] = 0.0
        for i in range(chunk * CHUNK_ROWS, min((chunk + 1) * CHUNK_ROWS, n)):
            second = np.inf
            for c in range(k):
                if c != labels[i]:
                    second = min(second, mixed_cost(X_num, X_cat, i, num_centers, modes, c, gamma))
            chunk_removal[chunk, labels[i]] += sample_weight[i] * (second - min_cost[i])
