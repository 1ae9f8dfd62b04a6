"""Kernel of the random swap refinement: trial swaps evaluated on the rows they touch.

A *trial* moves one center ``r`` onto a data row ``x`` of a cluster ``t`` and runs a
few k-means steps restricted to the *local* clusters: ``r``, ``t`` and the
``n_neighbours`` centers nearest to each of them. Only the rows of those clusters take
part; every other row keeps its center, and those centers do not move. The local
clusters' rows are exactly the rows whose center is local before and after the trial,
so the local steps compute exact means, and

    inertia after = inertia before - Σ_local w·d1 (before) + Σ_local w·d1 (after)

is the inertia of a valid partition with its means (rows outside may even have a
nearer center now: the nearest-center inertia is lower still). A trial is accepted when
that inertia drops; the members of each cluster are kept in one array ordered by
cluster (rebuilt by a counting sort after each accepted trial).
"""

import numpy as np
from numba import njit

from ..settings import JIT_OPTIONS
from .dense import row_sq_dist


@njit(**JIT_OPTIONS)
def _members_by_cluster(labels, n_clusters, order, offsets):
    """Counting sort of the rows by label, stable: the rows of cluster ``c`` are
    ``order[offsets[c]:offsets[c + 1]]`` in increasing row order.

    labels : (n,) int32 IN; order : (n,) int64 OUT; offsets : (k + 1,) int64 OUT.
    """
    offsets[:] = 0
    for i in range(labels.shape[0]):
        offsets[labels[i] + 1] += 1
    for c in range(n_clusters):
        offsets[c + 1] += offsets[c]
    fill = offsets[:-1].copy()
    for i in range(labels.shape[0]):
        c = labels[i]
        order[fill[c]] = i
        fill[c] += 1


@njit(**JIT_OPTIONS)
def _neighbour_list(centers, c, neighbours, neighbour_sq_dist):
    """Fill row ``c`` of the neighbour table: the centers nearest to center ``c``
    (nearest first, ties to the lowest index) and their squared distances."""
    k = centers.shape[0]
    m = neighbours.shape[1]
    neighbours[c, :] = -1
    neighbour_sq_dist[c, :] = np.inf
    for other in range(k):
        if other == c:
            continue
        dist = row_sq_dist(centers, other, centers, c)
        if dist < neighbour_sq_dist[c, m - 1]:
            pos = m - 1
            while pos > 0 and neighbour_sq_dist[c, pos - 1] > dist:
                neighbour_sq_dist[c, pos] = neighbour_sq_dist[c, pos - 1]
                neighbours[c, pos] = neighbours[c, pos - 1]
                pos -= 1
            neighbour_sq_dist[c, pos] = dist
            neighbours[c, pos] = other


@njit(**JIT_OPTIONS)
def _utility(X, sample_weight, centers, c, order, offsets, min_sq_dist, neighbours):
    """Approximate removal cost of center ``c``: ``Σ w (d₂ - d₁)`` over its rows, with
    ``d₂`` the distance to the nearest center of its neighbour list."""
    m = neighbours.shape[1]
    total = 0.0
    for q in range(offsets[c], offsets[c + 1]):
        i = order[q]
        second = np.inf
        for p in range(m):
            o = neighbours[c, p]
            if o < 0:
                break
            dist = row_sq_dist(X, i, centers, o)
            if dist < second:
                second = dist
        total += sample_weight[i] * (second - min_sq_dist[i])
    return total


@njit(**JIT_OPTIONS)
def _first_above(cumulative, goal):
    """The first index whose running sum exceeds ``goal`` (binary search)."""
    lo = 0
    hi = cumulative.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] > goal:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(**JIT_OPTIONS)
def _cumulative(values, out):
    """Running sum of ``values`` into ``out``; returns the total."""
    total = 0.0
    for c in range(values.shape[0]):
        total += values[c]
        out[c] = total
    return total


@njit(**JIT_OPTIONS)
def random_swap(
    X,
    sample_weight,
    centers,
    labels,
    min_sq_dist,
    draws,
    n_removal_draws,
    n_neighbours,
    n_steps,
    max_failures,
    work_budget,
    trial_gains,
):
    """Trial swaps until ``max_failures`` rejected in a row, ``draws`` used up or the
    work (rows × local centers × features × steps summed over the trials) past
    ``work_budget``.

    Trial ``s`` reads ``draws[s]``: the center to move (uniform), the target cluster
    (drawn ∝ its inertia) and the row of it the center moves to (uniform among its
    rows). A trial whose target is the moved center's own cluster is rejected
    unevaluated.

    X : (n, d) IN; sample_weight : (n,) IN; centers : (k, d) float64 IN/OUT (means of
    their rows for every cluster a swap touched); labels : (n,) int32 IN/OUT (the
    partition, not necessarily every row's nearest center); min_sq_dist : (n,) float64
    IN/OUT, each row's squared distance to its own center; draws : (m, 3) float64 in
    [0, 1) IN. Returns ``(n_trials, n_accepted, work)``.
    """
    n, d = X.shape
    k = centers.shape[0]
    n_neighbours = min(n_neighbours, k - 1)
    order = np.empty(n, dtype=np.int64)
    offsets = np.empty(k + 1, dtype=np.int64)
    _members_by_cluster(labels, k, order, offsets)
    cluster_sse = np.zeros(k)
    for i in range(n):
        cluster_sse[labels[i]] += sample_weight[i] * min_sq_dist[i]
    cumulative_sse = np.empty(k)
    total_sse = _cumulative(cluster_sse, cumulative_sse)

    neighbours = np.empty((k, max(n_neighbours, 1)), dtype=np.int64)
    neighbour_sq_dist = np.empty((k, max(n_neighbours, 1)))
    for c in range(k):
        _neighbour_list(centers, c, neighbours, neighbour_sq_dist)
    utility = np.empty(k)
    for c in range(k):
        utility[c] = _utility(X, sample_weight, centers, c, order, offsets, min_sq_dist, neighbours)
    stale = np.zeros(k, dtype=np.bool_)
    n_draws = draws.shape[1]

    chosen = np.zeros(k, dtype=np.bool_)
    local = np.empty(k, dtype=np.int64)
    position = np.full(k, -1, dtype=np.int64)  # a center's index among the local ones
    rows = np.empty(n, dtype=np.int64)
    local_labels = np.empty(n, dtype=np.int64)
    new_sq_dist = np.empty(n)
    local_centers = np.empty((k, d))
    sums = np.empty((k, d))
    weights = np.empty(k)
    half_gap_sq = np.empty(k)
    local_X = np.empty((min(n, 1024), d))
    local_w = np.empty(min(n, 1024))

    n_trials = 0
    n_accepted = 0
    last_accepted = -1
    failures = 0
    work = 0.0
    for s in range(draws.shape[0]):
        if failures >= max_failures or work > work_budget or not total_sse > 0:
            break
        n_trials += 1
        # The center to move: the lowest utility of a few drawn uniformly.
        moved = min(int(draws[s, 0] * k), k - 1)
        for t in range(1, n_removal_draws):
            other = min(int(draws[s, t] * k), k - 1)
            if utility[other] < utility[moved]:
                moved = other
        # The target: the largest inertia of a few clusters drawn in proportion to it.
        target = -1
        for t in range(n_removal_draws, n_draws - 1):
            drawn = _first_above(cumulative_sse, draws[s, t] * total_sse)
            if target < 0 or cluster_sse[drawn] > cluster_sse[target]:
                target = drawn
        size = offsets[target + 1] - offsets[target]
        if target == moved or size == 0:
            failures += 1
            continue
        row = order[offsets[target] + min(int(draws[s, n_draws - 1] * size), size - 1)]

        chosen[moved] = True
        chosen[target] = True
        for p in range(n_neighbours):
            for c in (neighbours[moved, p], neighbours[target, p]):
                if c >= 0:
                    chosen[c] = True
        n_local = 0
        for c in range(k):
            if chosen[c]:
                chosen[c] = False
                local[n_local] = c
                position[c] = n_local
                n_local += 1
        # The local rows, copied together: the steps then read them in order.
        n_rows = 0
        for p in range(n_local):
            n_rows += offsets[local[p] + 1] - offsets[local[p]]
        if n_rows > local_X.shape[0]:
            capacity = max(n_rows, 2 * local_X.shape[0])
            local_X = np.empty((capacity, d))
            local_w = np.empty(capacity)
        n_rows = 0
        old_sse = 0.0
        for p in range(n_local):
            c = local[p]
            for q in range(offsets[c], offsets[c + 1]):
                i = order[q]
                rows[n_rows] = i
                local_labels[n_rows] = p
                wi = sample_weight[i]
                local_w[n_rows] = wi
                for j in range(d):
                    local_X[n_rows, j] = X[i, j]
                old_sse += wi * min_sq_dist[i]
                n_rows += 1
            for j in range(d):
                local_centers[p, j] = centers[c, j]
        for j in range(d):
            local_centers[position[moved], j] = X[row, j]

        pairs = 0
        for _ in range(n_steps):
            # Hamerly's test: a row closer to its center than half the distance from
            # that center to any other keeps it.
            for p in range(n_local):
                closest = np.inf
                for o in range(n_local):
                    if o == p:
                        continue
                    closest = min(closest, row_sq_dist(local_centers, o, local_centers, p))
                half_gap_sq[p] = 0.25 * closest
            sums[:n_local] = 0.0
            weights[:n_local] = 0.0
            for q in range(n_rows):
                best_p = local_labels[q]
                best = row_sq_dist(local_X, q, local_centers, best_p)
                pairs += 1
                if not best < half_gap_sq[best_p]:
                    for p in range(n_local):
                        if p == local_labels[q]:
                            continue
                        dist = row_sq_dist(local_X, q, local_centers, p)
                        if dist < best:
                            best = dist
                            best_p = p
                    pairs += n_local - 1
                local_labels[q] = best_p
                wi = local_w[q]
                weights[best_p] += wi
                for j in range(d):
                    sums[best_p, j] += wi * local_X[q, j]
            for p in range(n_local):
                if weights[p] > 0:
                    for j in range(d):
                        local_centers[p, j] = sums[p, j] / weights[p]
        work += float(pairs + n_rows) * d

        new_sse = 0.0
        for q in range(n_rows):
            p = local_labels[q]
            dist = row_sq_dist(local_X, q, local_centers, p)
            new_sq_dist[q] = dist
            new_sse += local_w[q] * dist

        trial_gains[s] = old_sse - new_sse
        if new_sse < old_sse - 1e-12 * total_sse:
            n_accepted += 1
            last_accepted = s
            failures = 0
            for p in range(n_local):
                c = local[p]
                cluster_sse[c] = 0.0
                for j in range(d):
                    centers[c, j] = local_centers[p, j]
            for q in range(n_rows):
                i = rows[q]
                c = local[local_labels[q]]
                labels[i] = c
                min_sq_dist[i] = new_sq_dist[q]
                cluster_sse[c] += sample_weight[i] * new_sq_dist[q]
            _members_by_cluster(labels, k, order, offsets)
            total_sse = _cumulative(cluster_sse, cumulative_sse)
            # Neighbour lists: the local centers' own, and every list a local center
            # was in or now enters; then the utilities of the clusters concerned.
            for p in range(n_local):
                stale[local[p]] = True
            for c in range(k):
                if stale[c]:
                    continue
                worst = neighbour_sq_dist[c, n_neighbours - 1]
                for p in range(n_neighbours):
                    o = neighbours[c, p]
                    if o >= 0 and position[o] >= 0:
                        stale[c] = True
                        break
                if stale[c]:
                    continue
                for p in range(n_local):
                    a = local[p]
                    if row_sq_dist(centers, a, centers, c) < worst:
                        stale[c] = True
                        break
            for c in range(k):
                if stale[c]:
                    _neighbour_list(centers, c, neighbours, neighbour_sq_dist)
            for c in range(k):
                if stale[c]:
                    stale[c] = False
                    utility[c] = _utility(
                        X, sample_weight, centers, c, order, offsets, min_sq_dist, neighbours
                    )
        else:
            failures += 1
        for p in range(n_local):
            position[local[p]] = -1
    return n_trials, n_accepted, last_accepted, work
