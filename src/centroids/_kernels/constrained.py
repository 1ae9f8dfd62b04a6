"""Assignment of rows to fixed centers under cluster-size bounds (a transportation problem).

The problem: minimise ``sum_i d(i, a(i))`` over labelings ``a`` with
``lo <= |{i : a(i) = j}| <= hi`` for every cluster ``j``, where ``d`` is the squared
distance. As a min-cost flow it has one node per row, one per cluster and a sink ``T``;
the lower bound is moved into each cluster's demand (``lo``) and the arc
``j -> T`` carries the ``flow[j]`` in ``[0, hi - lo]`` rows above it.

Duality gives the certificate the solver stops on. With cluster prices ``p`` (``p_T`` for
the sink) the labeling is optimal when

* every row sits at an argmin of its reduced cost ``d(i, j) - p_j`` (within ``tol``),
* every cluster's size is ``lo + flow[j]`` (no excess, no deficit),
* ``flow[j] > 0`` only where ``p_j <= p_T`` and ``flow[j] < hi - lo`` only where
  ``p_j >= p_T``.

The kernels here are the two halves of a primal-dual method that keeps the first and the
last condition true and drives the imbalances to zero:

* :func:`reduced_cost_pass` visits every row once (chunks of rows over numba's thread
  pool): it keeps or moves each row to its argmin and reports the row's *margin*, how far
  its second-best reduced cost is above its own. Rows of large margin cannot move when
  prices change by less than that margin, so they are left out of the next half.
* :func:`successive_shortest_paths` works on the candidate rows only, whose n_cand x k
  costs it is given: Dijkstra on the (k + 1)-node graph of clusters and sink (the arc
  ``a -> b`` costs the cheapest move of one of ``a``'s candidate rows to ``b``), a price
  update by the distances, which keeps every reduced cost non-negative, and one row moved
  along each arc of the path. Arc costs are cached per pair of clusters and recomputed
  only for the clusters a move took a row from.

The caller (:func:`centroids.engine.constrained.assign_with_size_bounds`) alternates the
two until a full pass finds every row at its argmin with no imbalance left: that pass is
the certificate, over all rows, not only the candidates.

Before them the caller runs a price phase (damped Newton on the dual, in the engine) on
:func:`top_two_pass`, which reports each row's best and second cluster, their gap and its
lowest reduced cost. Every pass exists twice: on X (distances recomputed) and ``_on_costs``
on the n x k matrix :func:`cost_matrix` computes once per assignment (same values).
"""

import numpy as np
from numba import njit, prange

from ..settings import CHUNK_ROWS, JIT_OPTIONS
from ._compile import chunked_kernel
from .dense import row_sq_dist


@njit(**JIT_OPTIONS)
def _row_costs(X, i, centers, w, out):
    """``out[j] = w * ||X[i] - centers[j]||²`` for every cluster j: one row's costs."""
    for j in range(centers.shape[0]):
        out[j] = w * row_sq_dist(X, i, centers, j)


@njit(**JIT_OPTIONS)
def _settle_row(i, costs, prices, tol, labels, margin, own_sq_dist, moved):
    """Keep or move row ``i`` (its costs to the k clusters in ``costs``) to an argmin of
    its reduced cost: :func:`reduced_cost_pass`'s step for one row."""
    k = costs.shape[0]
    own = labels[i]
    best = np.inf
    second = np.inf
    best_j = 0
    best_d = 0.0
    own_r = np.inf
    own_d = 0.0
    for j in range(k):
        d = costs[j]
        r = d - prices[j]
        if j == own:
            own_r = r
            own_d = d
        if r < best:
            second = best
            best = r
            best_j = j
            best_d = d
        elif r < second:
            second = r
    if own >= 0 and own_r <= best + tol:
        margin[i] = (second - own_r) if own == best_j else (best - own_r)
        own_sq_dist[i] = own_d
        moved[i] = 0
    else:
        moved[i] = 1 if own >= 0 else 0
        labels[i] = best_j
        margin[i] = second - best
        own_sq_dist[i] = best_d


@chunked_kernel
def reduced_cost_pass(
    X,  # IN (n, d) float32/float64
    centers,  # IN (k, d), X's dtype
    weights,  # IN (n,) float64: each row's cost is weights[i] * squared distance
    prices,  # IN (k,) float64: cluster prices relative to the sink's
    tol,  # IN float: a row whose own reduced cost is within tol of the minimum stays
    labels,  # IN/OUT (n,) int64: -1 = not yet assigned
    margin,  # OUT (n,) float64: second-lowest reduced cost minus the row's own
    own_sq_dist,  # OUT (n,) float64: weighted squared distance to the (new) label
    moved,  # OUT (n,) int8: 1 where an assigned row had to move to its argmin
):
    """Keep every row at an argmin of ``d(i, j) - prices[j]`` (lowest index on ties)."""
    n = X.shape[0]
    k = centers.shape[0]
    n_chunks = (n + CHUNK_ROWS - 1) // CHUNK_ROWS
    for c in prange(n_chunks):
        costs = np.empty(k)
        for i in range(c * CHUNK_ROWS, min(n, (c + 1) * CHUNK_ROWS)):
            _row_costs(X, i, centers, weights[i], costs)
            _settle_row(i, costs, prices, tol, labels, margin, own_sq_dist, moved)


@chunked_kernel
def reduced_cost_pass_on_costs(
    cost,  # IN (n, k) float64: every row's weighted squared distance to every cluster
    prices,  # IN (k,) float64
    tol,  # IN float
    labels,  # IN/OUT (n,) int64
    margin,  # OUT (n,) float64
    own_sq_dist,  # OUT (n,) float64
    moved,  # OUT (n,) int8
):
    """:func:`reduced_cost_pass` on a cost matrix computed once (same results)."""
    n = cost.shape[0]
    n_chunks = (n + CHUNK_ROWS - 1) // CHUNK_ROWS
    for c in prange(n_chunks):
        for i in range(c * CHUNK_ROWS, min(n, (c + 1) * CHUNK_ROWS)):
            _settle_row(i, cost[i], prices, tol, labels, margin, own_sq_dist, moved)


@njit(**JIT_OPTIONS)
def _top_two_row(i, costs, prices, best, second, margin, low):
    """Row ``i``'s argmin and second argmin of ``costs[j] - prices[j]`` (lowest index on
    ties), the gap between the two and the lowest reduced cost."""
    k = costs.shape[0]
    b = -1
    c = -1
    v = np.inf
    w = np.inf
    for j in range(k):
        r = costs[j] - prices[j]
        if r < v:
            c = b
            w = v
            b = j
            v = r
        elif r < w:
            c = j
            w = r
    best[i] = b
    second[i] = c if c >= 0 else b
    margin[i] = w - v if c >= 0 else np.inf
    low[i] = v


@chunked_kernel
def top_two_pass(X, centers, weights, prices, best, second, margin, low):
    """Every row's best and second-best cluster under ``prices``, the margin between
    them and its lowest reduced cost (the price phase's pass). best, second OUT (n,)
    int64; margin, low OUT (n,) float64."""
    n = X.shape[0]
    k = centers.shape[0]
    n_chunks = (n + CHUNK_ROWS - 1) // CHUNK_ROWS
    for c in prange(n_chunks):
        costs = np.empty(k)
        for i in range(c * CHUNK_ROWS, min(n, (c + 1) * CHUNK_ROWS)):
            _row_costs(X, i, centers, weights[i], costs)
            _top_two_row(i, costs, prices, best, second, margin, low)


@chunked_kernel
def top_two_pass_on_costs(cost, prices, best, second, margin, low):
    """:func:`top_two_pass` on a cost matrix computed once."""
    n = cost.shape[0]
    n_chunks = (n + CHUNK_ROWS - 1) // CHUNK_ROWS
    for c in prange(n_chunks):
        for i in range(c * CHUNK_ROWS, min(n, (c + 1) * CHUNK_ROWS)):
            _top_two_row(i, cost[i], prices, best, second, margin, low)


@chunked_kernel
def cost_matrix(X, centers, weights, out):
    """``out[i, j] = weights[i] * ||X[i] - centers[j]||²`` in float64. out OUT (n, k)."""
    n = X.shape[0]
    n_chunks = (n + CHUNK_ROWS - 1) // CHUNK_ROWS
    for c in prange(n_chunks):
        for i in range(c * CHUNK_ROWS, min(n, (c + 1) * CHUNK_ROWS)):
            _row_costs(X, i, centers, weights[i], out[i])


@chunked_kernel
def gather_costs(X, centers, weights, rows, out):
    """``out[s, j] = weights[rows[s]] * ||X[rows[s]] - centers[j]||²`` in float64.
    rows IN, out OUT (m, k)."""
    m = rows.shape[0]
    n_chunks = (m + CHUNK_ROWS - 1) // CHUNK_ROWS
    for c in prange(n_chunks):
        for s in range(c * CHUNK_ROWS, min(m, (c + 1) * CHUNK_ROWS)):
            _row_costs(X, rows[s], centers, weights[rows[s]], out[s])


@njit(**JIT_OPTIONS)
def _rescan_pair(a, b, cost, head, nxt, top_key, top_row, top_start, top_count, floor, keys, rows):
    """The ``cap`` cheapest moves of cluster ``a``'s candidate rows to cluster ``b``, sorted
    (``cap = top_key.shape[2]``); ``floor[a, b]``: no row left out of the list costs
    less (inf when none is left out). ``keys``, ``rows``: scratch of at least the
    cluster's size."""
    cap = top_key.shape[2]
    size = 0
    s = head[a]
    while s >= 0:
        rows[size] = s
        keys[size] = cost[s, b] - cost[s, a]
        size += 1
        s = nxt[s]
    top_start[a, b] = 0
    floor[a, b] = np.inf
    if size > cap:
        # the (cap + 1)-th smallest key bounds every row left out
        bound = np.partition(keys[:size], cap)[cap]
        floor[a, b] = bound
        kept = 0
        for q in range(size):  # strictly below the bound first, in row order
            key = cost[rows[q], b] - cost[rows[q], a]
            if key < bound:
                keys[kept] = key
                rows[kept] = rows[q]
                kept += 1
        if kept < cap:  # then rows at the bound, in row order, up to cap
            s = head[a]
            while s >= 0 and kept < cap:
                if cost[s, b] - cost[s, a] == bound:
                    keys[kept] = bound
                    rows[kept] = s
                    kept += 1
                s = nxt[s]
        size = kept
    order = np.argsort(keys[:size], kind="mergesort")
    for q in range(size):
        top_key[a, b, q] = keys[order[q]]
        top_row[a, b, q] = rows[order[q]]
    top_count[a, b] = size


@njit(**JIT_OPTIONS)
def _cheapest_move(a, b, cand_labels, top_row, top_start, top_count):
    """Slot of the cheapest move ``a -> b`` still valid in the pair's list, -1 if none."""
    q = top_start[a, b]
    end = top_count[a, b]
    while q < end and cand_labels[top_row[a, b, q]] != a:
        q += 1
    top_start[a, b] = q
    return q if q < end else -1


@njit(**JIT_OPTIONS)
def _offer_move(v, b, key, s, top_key, top_row, top_start, top_count, floor):
    """Row ``s`` just moved into cluster ``v``: add its move ``v -> b`` to the pair's
    sorted list when it costs less than ``floor[v, b]`` (a full list drops its last entry
    and lowers the floor to that entry's key)."""
    if key >= floor[v, b]:
        return
    q0 = top_start[v, b]
    end = top_count[v, b]
    cap = top_key.shape[2]
    if end == cap and q0 > 0:
        for q in range(q0, end):
            top_key[v, b, q - q0] = top_key[v, b, q]
            top_row[v, b, q - q0] = top_row[v, b, q]
        end -= q0
        q0 = 0
        top_start[v, b] = 0
    if end == cap:
        if key >= top_key[v, b, end - 1]:
            floor[v, b] = key
            top_count[v, b] = end
            return
        end -= 1
        floor[v, b] = top_key[v, b, end]
    q = end
    while q > q0 and top_key[v, b, q - 1] > key:
        top_key[v, b, q] = top_key[v, b, q - 1]
        top_row[v, b, q] = top_row[v, b, q - 1]
        q -= 1
    top_key[v, b, q] = key
    top_row[v, b, q] = s
    top_count[v, b] = end + 1


@njit(**JIT_OPTIONS)
def _refresh_arc(
    a, b, cost, cand_labels, head, nxt, top_key, top_row, top_start, top_count, floor,
    keys, rows, edge, edge_row,
):  # fmt: skip
    """``edge[a, b]``, ``edge_row[a, b]``: the cheapest move of one of ``a``'s candidate
    rows to ``b`` (inf, -1 when none), rescanning the pair when its list ran out."""
    q = _cheapest_move(a, b, cand_labels, top_row, top_start, top_count)
    if q < 0 and floor[a, b] < np.inf:
        _rescan_pair(
            a, b, cost, head, nxt, top_key, top_row, top_start, top_count, floor, keys, rows
        )
        q = _cheapest_move(a, b, cand_labels, top_row, top_start, top_count)
    if q < 0:
        edge[a, b] = np.inf
        edge_row[a, b] = -1
    else:
        edge[a, b] = top_key[a, b, q]
        edge_row[a, b] = top_row[a, b, q]


@njit(**JIT_OPTIONS)
def successive_shortest_paths(
    cost,  # IN (m, k) float64: squared distances of the candidate rows
    cand_labels,  # IN/OUT (m,) int64: the candidates' clusters
    sizes,  # IN/OUT (k,) int64: sizes over ALL rows
    flow,  # IN/OUT (k,) int64: rows above lo sent to the sink, in [0, hi - lo]
    prices,  # IN/OUT (k + 1,) float64: cluster prices, the sink's last
    lo,  # IN int
    hi,  # IN int
    sink_demand,  # IN int: n - k * lo
    max_paths,  # IN int
    top_moves,  # IN int: cheapest moves kept per pair of clusters between rescans
):
    """Move candidate rows along shortest paths until no cluster has excess or deficit.

    Keeps every candidate at an argmin of its reduced cost and the sink arcs' reduced
    costs non-negative. Returns the number of paths applied, or ``-1 - paths`` when an
    imbalance is left that the candidates cannot fix (the caller adds rows and calls
    again; the state stays valid).
    """
    m, k = cost.shape
    sink = k
    n_nodes = k + 1
    span = hi - lo
    head = np.full(k, -1, dtype=np.int64)
    nxt = np.full(m, -1, dtype=np.int64)
    prv = np.full(m, -1, dtype=np.int64)
    for s in range(m - 1, -1, -1):
        a = cand_labels[s]
        nxt[s] = head[a]
        if head[a] >= 0:
            prv[head[a]] = s
        head[a] = s
    edge = np.full((k, k), np.inf)
    edge_row = np.full((k, k), -1, dtype=np.int64)
    cap = max(1, min(top_moves, m))
    top_key = np.empty((k, k, cap))
    top_row = np.empty((k, k, cap), dtype=np.int64)
    top_start = np.zeros((k, k), dtype=np.int64)
    top_count = np.zeros((k, k), dtype=np.int64)
    floor = np.full((k, k), np.inf)
    scratch_keys = np.empty(m)
    scratch_rows = np.empty(m, dtype=np.int64)
    for a in range(k):
        for b in range(k):
            if b != a:
                _rescan_pair(
                    a, b, cost, head, nxt, top_key, top_row, top_start, top_count, floor,
                    scratch_keys, scratch_rows,
                )  # fmt: skip
    excess = np.zeros(n_nodes, dtype=np.int64)
    dist = np.empty(n_nodes)
    pred = np.empty(n_nodes, dtype=np.int64)
    settled = np.empty(n_nodes, dtype=np.bool_)
    path_rows = np.empty(n_nodes, dtype=np.int64)
    path_from = np.empty(n_nodes, dtype=np.int64)
    path_to = np.empty(n_nodes, dtype=np.int64)
    stale = np.ones(k, dtype=np.bool_)
    paths = 0
    while paths < max_paths:
        total_flow = 0
        balanced = True
        for j in range(k):
            excess[j] = sizes[j] - lo - flow[j]
            total_flow += flow[j]
            if excess[j] != 0:
                balanced = False
        excess[sink] = total_flow - sink_demand
        if excess[sink] != 0:
            balanced = False
        if balanced:
            return paths
        # Dijkstra from every node with excess, on reduced costs (clipped at 0 against
        # rounding), dense O(nodes²), ties to the lowest node.
        for v in range(n_nodes):
            dist[v] = 0.0 if excess[v] > 0 else np.inf
            pred[v] = -1
            settled[v] = False
        target = -1
        for _ in range(n_nodes):
            u = -1
            du = np.inf
            for v in range(n_nodes):
                if not settled[v] and dist[v] < du:
                    du = dist[v]
                    u = v
            if u < 0:
                break
            settled[u] = True
            if excess[u] < 0:
                target = u
                break
            if u == sink:
                for v in range(k):
                    if flow[v] > 0 and not settled[v]:
                        r = prices[sink] - prices[v]
                        nd = du + (r if r > 0.0 else 0.0)
                        if nd < dist[v]:
                            dist[v] = nd
                            pred[v] = u
            else:
                # the arcs out of u, read now (the clusters never settled are not read)
                # and only when a row left or joined u since they were read (the moves'
                # costs do not depend on the prices)
                for b in range(k):
                    if b != u and stale[u]:
                        _refresh_arc(
                            u, b, cost, cand_labels, head, nxt, top_key, top_row, top_start,
                            top_count, floor, scratch_keys, scratch_rows, edge, edge_row,
                        )  # fmt: skip
                stale[u] = False
                for v in range(k):
                    if v == u or settled[v] or edge_row[u, v] < 0:
                        continue
                    r = edge[u, v] + prices[u] - prices[v]
                    nd = du + (r if r > 0.0 else 0.0)
                    if nd < dist[v]:
                        dist[v] = nd
                        pred[v] = u
                if flow[u] < span and not settled[sink]:
                    r = prices[u] - prices[sink]
                    nd = du + (r if r > 0.0 else 0.0)
                    if nd < dist[sink]:
                        dist[sink] = nd
                        pred[sink] = u
        if target < 0:
            return -1 - paths
        reach = dist[target]
        for v in range(n_nodes):
            prices[v] += dist[v] if dist[v] < reach else reach
        # the path's arcs, read before any row moves (each cluster is the tail of at most
        # one arc, so the rows are distinct)
        n_arcs = 0
        v = target
        while pred[v] >= 0:
            u = pred[v]
            path_from[n_arcs] = u
            path_to[n_arcs] = v
            path_rows[n_arcs] = edge_row[u, v] if (u != sink and v != sink) else -1
            n_arcs += 1
            v = u
        for q in range(n_arcs):
            u = path_from[q]
            v = path_to[q]
            if u == sink:
                flow[v] -= 1
            elif v == sink:
                flow[u] += 1
            else:
                s = path_rows[q]
                # unlink s from u
                if prv[s] >= 0:
                    nxt[prv[s]] = nxt[s]
                else:
                    head[u] = nxt[s]
                if nxt[s] >= 0:
                    prv[nxt[s]] = prv[s]
                # link s into v
                prv[s] = -1
                nxt[s] = head[v]
                if head[v] >= 0:
                    prv[head[v]] = s
                head[v] = s
                cand_labels[s] = v
                stale[u] = True
                stale[v] = True
                sizes[u] -= 1
                sizes[v] += 1
                own = cost[s, v]
                for b in range(k):
                    if b != v:
                        _offer_move(
                            v, b, cost[s, b] - own, s, top_key, top_row, top_start, top_count,
                            floor,
                        )  # fmt: skip
        paths += 1
    return -1 - paths
