"""Assignment of rows to fixed centers under cluster-size bounds (a transportation problem).

Exact method for large n and small k, never an n x k matrix:

1. Start from the nearest center of every row. With prices ``p`` (zero at first) every row
   sits at an argmin of ``d_ij - p_j``, so the assignment is optimal for its own sizes.
2. Bulk price steps (Gauss-Seidel over clusters): an overfull cluster lowers its price by
   exactly the margin that lets its surplus rows leave for their next-best cluster; an
   underfull one raises its price until its deficit arrives. Each step keeps every row at
   an argmin of ``d_ij - p_j``, so the assignment stays optimal for its sizes.
3. Exact finish on the k-node cluster graph: the edge ``j -> dst`` costs
   ``min_{i in j} (d_il - d_ij)``; all-pairs shortest paths (Floyd-Warshall, k^3) give the
   cheapest way to move one row's worth of size from ``j`` to ``dst``. Paths that reduce the
   bound violation, then paths of negative cost between a cluster above ``size_min`` and one
   below ``size_max``, are applied one unit at a time (successive shortest paths keep the
   graph free of negative cycles). When none is left the assignment is optimal: that is the
   dual certificate.
"""

import numpy as np
from numba import njit

from .dense import row_sq_dist as _sq_dist


@njit(cache=True, nogil=True)
def constrained_assign(X, centers, size_min, size_max, labels, max_sweeps, tol):
    """Optimal labels under ``size_min <= |cluster| <= size_max`` for fixed ``centers``.

    X : (n, d) IN; centers : (k, d) IN; labels : (n,) int64 OUT.
    Returns (objective, bulk sweeps, unit path moves). Feasibility is checked by the caller.
    """
    n = X.shape[0]
    k = centers.shape[0]
    prices = np.zeros(k)
    dcur = np.empty(n)
    sizes = np.zeros(k, dtype=np.int64)
    for i in range(n):
        best = np.inf
        bj = 0
        for j in range(k):
            d = _sq_dist(X, i, centers, j)
            if d < best:
                best = d
                bj = j
        labels[i] = bj
        dcur[i] = best
        sizes[bj] += 1

    # 2. bulk price steps
    sweeps = 0
    buf_val = np.empty(n)
    buf_row = np.empty(n, dtype=np.int64)
    buf_to = np.empty(n, dtype=np.int64)
    buf_d = np.empty(n)
    for _ in range(max_sweeps):
        violated = False
        for j in range(k):
            if sizes[j] > size_max:
                violated = True
                t = sizes[j] - size_max
                m = 0
                for i in range(n):
                    if labels[i] != j:
                        continue
                    own = dcur[i] - prices[j]
                    second = np.inf
                    sl = -1
                    sd = 0.0
                    for dst in range(k):
                        if dst == j:
                            continue
                        d = _sq_dist(X, i, centers, dst)
                        r = d - prices[dst]
                        if r < second:
                            second = r
                            sl = dst
                            sd = d
                    buf_val[m] = second - own
                    buf_row[m] = i
                    buf_to[m] = sl
                    buf_d[m] = sd
                    m += 1
                order = np.argsort(buf_val[:m], kind="mergesort")
                prices[j] -= buf_val[order[t - 1]]
                for q in range(t):
                    o = order[q]
                    i = buf_row[o]
                    labels[i] = buf_to[o]
                    dcur[i] = buf_d[o]
                    sizes[buf_to[o]] += 1
                sizes[j] -= t
            elif sizes[j] < size_min:
                violated = True
                t = size_min - sizes[j]
                m = 0
                for i in range(n):
                    a = labels[i]
                    if a == j:
                        continue
                    d = _sq_dist(X, i, centers, j)
                    buf_val[m] = (d - prices[j]) - (dcur[i] - prices[a])
                    buf_row[m] = i
                    buf_d[m] = d
                    m += 1
                order = np.argsort(buf_val[:m], kind="mergesort")
                prices[j] += buf_val[order[t - 1]]
                for q in range(t):
                    o = order[q]
                    i = buf_row[o]
                    sizes[labels[i]] -= 1
                    labels[i] = j
                    dcur[i] = buf_d[o]
                sizes[j] += t
        if not violated:
            break
        sweeps += 1

    # 3. exact finish on the cluster graph
    edge = np.empty((k, k))
    edge_row = np.empty((k, k), dtype=np.int64)
    dist = np.empty((k, k))
    nxt = np.empty((k, k), dtype=np.int64)
    moves = 0
    while True:
        edge[:, :] = np.inf
        edge_row[:, :] = -1
        for i in range(n):
            a = labels[i]
            for dst in range(k):
                if dst == a:
                    continue
                c = _sq_dist(X, i, centers, dst) - dcur[i]
                if c < edge[a, dst]:
                    edge[a, dst] = c
                    edge_row[a, dst] = i
        for j in range(k):
            for dst in range(k):
                dist[j, dst] = edge[j, dst]
                nxt[j, dst] = dst
            dist[j, j] = 0.0
            nxt[j, j] = j
        for m in range(k):
            for j in range(k):
                djm = dist[j, m]
                if djm == np.inf:
                    continue
                for dst in range(k):
                    v = djm + dist[m, dst]
                    if v < dist[j, dst]:
                        dist[j, dst] = v
                        nxt[j, dst] = nxt[j, m]
        best_gain = 0
        best_cost = np.inf
        bj = -1
        bl = -1
        for j in range(k):
            if sizes[j] <= size_min:
                continue
            out_gain = 1 if sizes[j] > size_max else 0
            for dst in range(k):
                if dst == j or dist[j, dst] == np.inf or sizes[dst] >= size_max:
                    continue
                gain = out_gain + (1 if sizes[dst] < size_min else 0)
                c = dist[j, dst]
                if gain == 0 and c >= -tol:
                    continue
                if gain > best_gain or (gain == best_gain and c < best_cost):
                    best_gain = gain
                    best_cost = c
                    bj = j
                    bl = dst
        if bj < 0:
            break
        # apply the path bj -> ... -> bl, one row per edge (rows chosen before any move)
        u = bj
        while u != bl:
            v = nxt[u, bl]
            i = edge_row[u, v]
            labels[i] = v
            dcur[i] = _sq_dist(X, i, centers, v)
            sizes[u] -= 1
            sizes[v] += 1
            u = v
        moves += 1
        if moves > 4 * n * k + 100:
            break
    total = 0.0
    for i in range(n):
        total += _sq_dist(X, i, centers, labels[i])
    return total, sweeps, moves
