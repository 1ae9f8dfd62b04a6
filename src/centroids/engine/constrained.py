"""Driver of the size-constrained assignment: bounds, prices, candidate rows, certificate."""

import numpy as np

from .._kernels.constrained import gather_costs, reduced_cost_pass, successive_shortest_paths
from ..errors import BadParameterError

#: Fewest candidate rows handed to the shortest-path phase (all rows below this).
MIN_CANDIDATES = 4096
#: Candidate rows per unit of imbalance left after a pass.
CANDIDATES_PER_UNIT = 32
#: Cold starts on more rows than this first solve every ``COLD_STRIDE``-th row and start
#: from that problem's prices.
COLD_SAMPLE_MIN = 40_000
COLD_STRIDE = 8
#: A warm start whose first pass leaves more imbalance than ``n / RESAMPLE_SHARE``
#: candidate rows' worth re-solves from the stride sample first.
RESAMPLE_SHARE = 4
#: Cheapest moves kept per pair of clusters in the shortest-path phase between rescans
#: of the pair (a rescan walks the source cluster's candidate rows).
TOP_MOVES = 256
#: Passes over the data before giving up (each is a certificate check; a handful suffice).
MAX_ROUNDS = 60


def resolve_size_bounds(n_samples, n_clusters, size_min, size_max, where="size bounds"):
    """The integer bounds ``(lo, hi)`` for ``n_samples`` rows in ``n_clusters`` clusters.

    ``None`` means 0 (``size_min``) or ``n_samples`` (``size_max``). Raises
    :class:`~centroids.errors.BadParameterError` when no assignment can meet them.
    """
    lo = 0 if size_min is None else int(size_min)
    hi = n_samples if size_max is None else int(size_max)
    if lo < 0 or hi < 0:
        raise BadParameterError(
            f"{where}: size_min={size_min!r} and size_max={size_max!r} must be >= 0."
        )
    if lo > hi:
        raise BadParameterError(f"{where}: size_min={lo} is larger than size_max={hi}.")
    if n_clusters * lo > n_samples:
        raise BadParameterError(
            f"{where}: infeasible, n_clusters * size_min = {n_clusters} * {lo} = "
            f"{n_clusters * lo} > n_samples = {n_samples}; lower size_min."
        )
    if n_clusters * hi < n_samples:
        raise BadParameterError(
            f"{where}: infeasible, n_clusters * size_max = {n_clusters} * {hi} = "
            f"{n_clusters * hi} < n_samples = {n_samples}; raise size_max."
        )
    return lo, hi


def scaled_size_bounds(size_min, size_max, n_rows, n_fit_rows):
    """Size bounds for ``n_rows`` rows from bounds given for ``n_fit_rows``: the minimum
    scaled and rounded down, the maximum scaled and rounded up (None stays None), so
    the scaled problem is feasible whenever the original one is."""
    lo = None if size_min is None else int(np.floor(size_min * n_rows / n_fit_rows))
    hi = None if size_max is None else int(np.ceil(size_max * n_rows / n_fit_rows))
    return lo, hi


def default_tolerance(X):
    """``1e-9`` (float64) or ``1e-5`` (float32) times the squared-distance scale of ``X``."""
    if X.shape[0] == 0:
        return 1e-9
    scale = float(np.max(np.abs(X))) ** 2 * X.shape[1] + 1.0
    return scale * (1e-5 if X.dtype == np.float32 else 1e-9)


def assign_with_size_bounds(
    X,
    centers,
    size_min=None,
    size_max=None,
    tol=None,
    prices=None,
    return_prices=False,
    sample_weight=None,
):
    """Optimal labels of ``X`` for fixed ``centers`` under the size bounds.

    Minimises ``sum_i ||x_i - c_{a(i)}||^2`` subject to
    ``size_min <= |{i : a(i) = j}| <= size_max`` for every cluster ``j``. Exact: it stops
    on a dual certificate checked over every row, cluster prices under which each row is
    at its cheapest cluster (within ``tol``, by default :func:`default_tolerance`), the
    sizes are within the bounds and a cluster's price is positive only at ``size_min``
    and negative only at ``size_max``. The objective is then within ``n * tol`` of the
    optimum.

    ``sample_weight`` (non-negative, one per row) scales each row's cost:
    ``sum_i w_i ||x_i - c_{a(i)}||^2`` is minimised; the bounds still count rows.

    ``prices`` (from an earlier call with ``return_prices=True``, e.g. the previous Lloyd
    iteration) start the search near the answer; without them a large problem first
    solves a stride sample of its rows for a start.

    Returns
    -------
    labels : ndarray of shape (n_samples,), int64
    objective : float
    prices : ndarray of shape (n_clusters,), float64, only with ``return_prices``
    """
    X = np.ascontiguousarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    centers = np.ascontiguousarray(centers, dtype=X.dtype)
    n, k = X.shape[0], centers.shape[0]
    lo, hi = resolve_size_bounds(n, k, size_min, size_max)
    if sample_weight is None:
        weights = np.ones(n)
    else:
        weights = np.ascontiguousarray(sample_weight, dtype=np.float64).reshape(-1)
        if weights.shape[0] != n or not np.all(np.isfinite(weights)) or (weights < 0).any():
            raise BadParameterError(
                f"sample_weight must hold {n} finite non-negative numbers, one per row."
            )
    if tol is None:
        tol = default_tolerance(X) * max(1.0, float(weights.max(initial=0.0)))
    labels, objective, p = _solve(X, centers, weights, lo, hi, float(tol), prices)
    return (labels, objective, p) if return_prices else (labels, objective)


def _cold_prices(X, centers, weights, lo, hi, tol):
    """Prices of the problem on every ``COLD_STRIDE``-th row, bounds scaled (a warm start)."""
    n, k = X.shape[0], centers.shape[0]
    if n <= COLD_SAMPLE_MIN:
        return np.zeros(k)
    return _sample_prices(X, centers, weights, lo, hi, tol, None)


def _sample_prices(X, centers, weights, lo, hi, tol, prices):
    """Optimal prices of the problem on every ``COLD_STRIDE``-th row with the bounds scaled,
    solved from ``prices`` (None: from its own sample, recursively)."""
    n = X.shape[0]
    sample = X[::COLD_STRIDE]
    m = sample.shape[0]
    lo_s = lo * m // n
    hi_s = min(m, -(-hi * m // n))
    w = np.ascontiguousarray(weights[::COLD_STRIDE])
    return _solve(np.ascontiguousarray(sample), centers, w, lo_s, hi_s, tol, prices)[2]


def _solve(X, centers, weights, lo, hi, tol, prices):
    n, k = X.shape[0], centers.shape[0]
    p = np.zeros(k + 1)
    p[:k] = _cold_prices(X, centers, weights, lo, hi, tol) if prices is None else prices
    p[np.abs(p) <= tol] = 0.0
    labels = np.full(n, -1, dtype=np.int64)
    margin = np.empty(n)
    own = np.empty(n)
    moved = np.empty(n, dtype=np.int8)
    pass_kernel = reduced_cost_pass.for_work(n * k * X.shape[1])
    flow = None
    growth = 1
    restart = prices is not None
    for _ in range(MAX_ROUNDS):
        pass_kernel(X, centers, weights, p[:k] - p[k], tol, labels, margin, own, moved)
        sizes = np.bincount(labels, minlength=k).astype(np.int64)
        if flow is None:
            # the sink arcs' flows that the prices allow (p_T = 0 here)
            flow = np.clip(sizes - lo, 0, hi - lo)
            flow[p[:k] > 0] = 0
            flow[p[:k] < 0] = hi - lo
        excess = sizes - lo - flow
        sink_excess = int(flow.sum()) - (n - k * lo)
        units = (int(np.abs(excess).sum()) + abs(sink_excess)) // 2
        if units == 0 and not moved.any():
            return labels, float(own.sum()), p[:k] - p[k]
        if restart and n > COLD_SAMPLE_MIN and CANDIDATES_PER_UNIT * units * RESAMPLE_SHARE > n:
            # Warm prices far from the answer (centers that moved a lot): one path per
            # unit over every row would be slow, so first solve the stride sample from
            # these prices, then start over from the sample's prices (once).
            restart = False
            p[:k] = _sample_prices(X, centers, weights, lo, hi, tol, p[:k] - p[k])
            p[k] = 0.0
            p[np.abs(p) <= tol] = 0.0
            labels[:] = -1
            flow = None
            continue
        want = min(n, max(MIN_CANDIDATES, CANDIDATES_PER_UNIT * max(units, 1)) * growth)
        if want >= n:
            rows = np.arange(n)
        else:
            tau = np.partition(margin, want - 1)[want - 1]
            rows = np.flatnonzero(margin <= tau)
        # grouped by cluster, so that the shortest-path phase reads each cluster's rows
        # from one block of the cost matrix
        rows = rows[np.argsort(labels[rows], kind="stable")]
        cost = np.empty((rows.shape[0], k))
        gather_costs.for_work(rows.shape[0] * k * X.shape[1])(X, centers, weights, rows, cost)
        cand = labels[rows]
        status = successive_shortest_paths(
            cost, cand, sizes, flow, p, lo, hi, n - k * lo, 4 * n + 16, TOP_MOVES
        )
        labels[rows] = cand
        if status < 0:
            if want >= n:
                raise RuntimeError(
                    "size-constrained assignment: no augmenting path with every row a "
                    "candidate; the bounds were checked feasible, so this is a bug."
                )
            growth *= 4
    raise RuntimeError(
        f"size-constrained assignment did not certify optimality in {MAX_ROUNDS} passes."
    )
