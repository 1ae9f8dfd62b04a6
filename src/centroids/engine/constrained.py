"""Driver of the size-constrained assignment: bounds, prices, candidate rows, certificate."""

import numpy as np

from .._kernels.constrained import (
    cost_matrix,
    gather_costs,
    reduced_cost_pass,
    reduced_cost_pass_on_costs,
    successive_shortest_paths,
    top_two_pass,
    top_two_pass_on_costs,
)
from ..errors import BadParameterError

#: Fewest candidate rows handed to the shortest-path phase (all rows below this).
MIN_CANDIDATES = 4096
#: Candidate rows per unit of imbalance left after a pass.
CANDIDATES_PER_UNIT = 32
#: Cold starts on more rows than this first solve every ``COLD_STRIDE``-th row and start
#: from that problem's prices.
COLD_SAMPLE_MIN = 40_000
COLD_STRIDE = 8
#: Cheapest moves kept per pair of clusters in the shortest-path phase between rescans
#: of the pair (a rescan walks the source cluster's candidate rows).
TOP_MOVES = 256
#: Largest cost matrix (rows x clusters, float64) held for one assignment; above it every
#: pass recomputes the distances from X.
MAX_COST_ENTRIES = 1 << 26
#: Newton steps of the price phase, and halvings of one step before the phase gives up.
NEWTON_MAX_STEPS = 60
NEWTON_HALVINGS = 4
#: The price phase hands over to the shortest paths at this many units of imbalance.
NEWTON_STOP_UNITS = 32
#: Share of the rows, those of smallest margin, whose boundaries estimate the Jacobian.
NEWTON_WINDOW_SHARE = 0.1
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
    sample = X[::COLD_STRIDE]
    m = sample.shape[0]
    lo_s = lo * m // n
    hi_s = min(m, -(-hi * m // n))
    w = np.ascontiguousarray(weights[::COLD_STRIDE])
    return _solve(np.ascontiguousarray(sample), centers, w, lo_s, hi_s, tol, None)[2]


class _RowCosts:
    """The rows' weighted squared distances to the centers, read by the passes: a matrix
    computed once when it fits in ``MAX_COST_ENTRIES``, else recomputed from X each pass
    (same values either way)."""

    def __init__(self, X, centers, weights):
        self.X, self.centers, self.weights = X, centers, weights
        n, k = X.shape[0], centers.shape[0]
        work = n * k * X.shape[1]
        self.matrix = None
        if n * k <= MAX_COST_ENTRIES:
            self.matrix = np.empty((n, k))
            cost_matrix.for_work(work)(X, centers, weights, self.matrix)
            work = n * k
        self._settle = (
            reduced_cost_pass if self.matrix is None else reduced_cost_pass_on_costs
        ).for_work(work)
        self._top_two = (top_two_pass if self.matrix is None else top_two_pass_on_costs).for_work(
            work
        )

    def _source(self):
        if self.matrix is None:
            return (self.X, self.centers, self.weights)
        return (self.matrix,)

    def settle(self, prices, tol, labels, margin, own, moved):
        """Every row kept at (or moved to) an argmin of its reduced cost."""
        self._settle(*self._source(), prices, tol, labels, margin, own, moved)

    def top_two(self, prices, best, second, margin, low):
        """Every row's best and second cluster under ``prices``, the gap between and the
        lowest reduced cost."""
        self._top_two(*self._source(), prices, best, second, margin, low)

    def of_rows(self, rows):
        """The (len(rows), k) costs of the given rows."""
        if self.matrix is not None:
            return self.matrix[rows]
        out = np.empty((rows.shape[0], self.centers.shape[0]))
        gather_costs.for_work(out.size * self.X.shape[1])(
            self.X, self.centers, self.weights, rows, out
        )
        return out


def _imbalance(sizes, prices, lo, hi, n):
    """Units of imbalance the shortest paths would start from at these sizes and prices
    (sink price 0): the sink arcs carry what the prices allow."""
    k = sizes.shape[0]
    flow = np.clip(sizes - lo, 0, hi - lo)
    flow[prices > 0] = 0
    flow[prices < 0] = hi - lo
    return (int(np.abs(sizes - lo - flow).sum()) + abs(int(flow.sum()) - (n - k * lo))) // 2


def _boundary_jacobian(best, second, margin, sizes, lo, hi):
    """d sizes / d prices, estimated from the rows nearest a boundary: the graph Laplacian
    of the row densities between each pair of clusters (rows per unit of price).

    A secant estimate: each cluster's window is the price move that its error in rows
    would take on its own (the margin of its ``e``-th nearest row to leave or join it,
    ``e`` its rows outside the bounds, at least the ``NEWTON_WINDOW_SHARE`` quantile of
    all margins), and a pair counts the rows within the wider of its two windows. None
    when the margins are all 0 or infinite."""
    n, k = margin.shape[0], sizes.shape[0]
    share = max(1, min(n - 1, int(NEWTON_WINDOW_SHARE * n)))
    base = float(np.partition(margin, share)[share])
    if not np.isfinite(base) or base <= 0.0:
        return None
    window = np.full(k, base)
    error = np.maximum(sizes - hi, 0) + np.maximum(lo - sizes, 0)
    for j in np.flatnonzero(error):
        side = margin[(best == j) if sizes[j] > hi else (second == j)]
        side = side[np.isfinite(side)]
        if side.shape[0] > 0:
            r = min(int(error[j]), side.shape[0] - 1)
            window[j] = max(base, float(np.partition(side, r)[r]))
    pair_window = np.maximum(window[:, None], window[None, :])
    near = margin < pair_window[best, second]
    pairs = np.bincount(best[near] * k + second[near], minlength=k * k).reshape(k, k)
    density = (pairs + pairs.T) / (2.0 * pair_window)
    np.fill_diagonal(density, 0.0)
    return np.diag(density.sum(1)) - density


def _newton_step(jac, sizes, prices, lo, hi):
    """The price step that meets the bounds if sizes were linear in the prices (``jac``).

    Each cluster is held at ``lo`` (its price to end at or above the sink's), at ``hi``
    (at or below) or free (price 0, size anywhere in the bounds), by the sign of its
    price (at 0: held at the bound it is past). The roles are revised on the linear model
    until they agree with the step (a cluster changes role at most twice): a held
    cluster whose price would cross 0 goes free, a free one whose size would leave the
    bounds is held at the bound it passes.
    """
    k = sizes.shape[0]
    role = np.zeros(k, dtype=np.int64)  # +1 held at lo, -1 held at hi, 0 free
    role[(prices > 0) | ((prices == 0) & (sizes < lo))] = 1
    role[(prices < 0) | ((prices == 0) & (sizes > hi))] = -1
    flips = np.zeros(k, dtype=np.int64)
    ridge = 1e-6 * max(float(np.trace(jac)) / k, 1e-300)
    step = np.zeros(k)
    for _ in range(2 * k + 2):
        held = role != 0
        step[:] = 0.0
        step[~held] = -prices[~held]
        if held.any():
            target = np.where(role > 0, lo, hi).astype(np.float64)
            rhs = (target - sizes - jac @ step)[held]
            sub = jac[np.ix_(held, held)] + ridge * np.eye(int(held.sum()))
            step[held] = np.linalg.solve(sub, rhs)
        after = prices + step
        predicted = sizes + jac @ step
        new_role = role.copy()
        new_role[(role > 0) & (after < 0)] = 0
        new_role[(role < 0) & (after > 0)] = 0
        new_role[(role == 0) & (predicted < lo - 0.5)] = 1
        new_role[(role == 0) & (predicted > hi + 0.5)] = -1
        new_role[flips >= 2] = role[flips >= 2]
        if np.array_equal(new_role, role):
            break
        flips += new_role != role
        role = new_role
    # a held price ends on its side of the sink's
    after = prices + step
    wrong = ((role > 0) & (after < 0)) | ((role < 0) & (after > 0))
    step[wrong] = -prices[wrong]
    return step


def _dual_value(low, prices, lo, hi):
    """The assignment's Lagrangian dual at ``prices`` (sink price 0), from the rows' lowest
    reduced costs: concave, its maximum is the optimal cost."""
    return float(low.sum()) + float(
        (lo * np.maximum(prices, 0.0) + hi * np.minimum(prices, 0.0)).sum()
    )


def _newton_prices(costs, prices, lo, hi, n, k):
    """Damped Newton ascent of the dual on the k cluster prices (sink price 0): each step
    solves the boundary-density Laplacian for the sizes' errors and is halved until the
    dual rises. Returns the prices of least imbalance met (the start of the exact
    phase; they need not be optimal)."""
    best = np.empty(n, dtype=np.int64)
    second = np.empty(n, dtype=np.int64)
    margin = np.empty(n)
    low = np.empty(n)
    costs.top_two(prices, best, second, margin, low)
    sizes = np.bincount(best, minlength=k)
    units = _imbalance(sizes, prices, lo, hi, n)
    value = _dual_value(low, prices, lo, hi)
    kept, kept_units = prices, units
    for _ in range(NEWTON_MAX_STEPS):
        if kept_units <= NEWTON_STOP_UNITS:
            break
        jac = _boundary_jacobian(best, second, margin, sizes, lo, hi)
        if jac is None:
            break
        step = _newton_step(jac, sizes, prices, lo, hi)
        scale = 1.0
        for _ in range(NEWTON_HALVINGS):
            trial = prices + scale * step
            costs.top_two(trial, best, second, margin, low)
            trial_value = _dual_value(low, trial, lo, hi)
            if trial_value > value:
                break
            scale *= 0.5
        else:
            break
        prices, value = trial, trial_value
        sizes = np.bincount(best, minlength=k)
        units = _imbalance(sizes, prices, lo, hi, n)
        if units < kept_units:
            kept, kept_units = prices, units
    return kept


def _solve(X, centers, weights, lo, hi, tol, prices):
    n, k = X.shape[0], centers.shape[0]
    costs = _RowCosts(X, centers, weights)
    start = _cold_prices(X, centers, weights, lo, hi, tol) if prices is None else prices
    p = np.zeros(k + 1)
    p[:k] = _newton_prices(costs, np.asarray(start, dtype=np.float64), lo, hi, n, k)
    p[np.abs(p) <= tol] = 0.0
    labels = np.full(n, -1, dtype=np.int64)
    margin = np.empty(n)
    own = np.empty(n)
    moved = np.empty(n, dtype=np.int8)
    flow = None
    growth = 1
    for _ in range(MAX_ROUNDS):
        costs.settle(p[:k] - p[k], tol, labels, margin, own, moved)
        sizes = np.bincount(labels, minlength=k).astype(np.int64)
        if flow is None:
            # the sink arcs' flows that the prices allow (p_T = 0 here)
            flow = np.clip(sizes - lo, 0, hi - lo)
            flow[p[:k] > 0] = 0
            flow[p[:k] < 0] = hi - lo
        excess = sizes - lo - flow
        units = (int(np.abs(excess).sum()) + abs(int(flow.sum()) - (n - k * lo))) // 2
        if units == 0 and not moved.any():
            return labels, float(own.sum()), p[:k] - p[k]
        if not _shortest_paths(costs, labels, margin, sizes, flow, p, lo, hi, units, growth):
            if growth * max(MIN_CANDIDATES, CANDIDATES_PER_UNIT * max(units, 1)) >= n:
                raise RuntimeError(
                    "size-constrained assignment: no augmenting path with every row a "
                    "candidate; the bounds were checked feasible, so this is a bug."
                )
            growth *= 4
    raise RuntimeError(
        f"size-constrained assignment did not certify optimality in {MAX_ROUNDS} passes."
    )


def _shortest_paths(costs, labels, margin, sizes, flow, p, lo, hi, units, growth):
    """The exact phase on the rows of smallest margin (every row when they would be most):
    shortest paths until no imbalance is left. False when these rows could not fix it."""
    n, k = labels.shape[0], sizes.shape[0]
    want = min(n, max(MIN_CANDIDATES, CANDIDATES_PER_UNIT * max(units, 1)) * growth)
    if want >= n:
        rows = np.arange(n)
    else:
        tau = np.partition(margin, want - 1)[want - 1]
        rows = np.flatnonzero(margin <= tau)
    # grouped by cluster, so that the shortest-path phase reads each cluster's rows
    # from one block of the cost matrix
    rows = rows[np.argsort(labels[rows], kind="stable")]
    cand = labels[rows]
    saved = (sizes.copy(), flow.copy(), p.copy())
    status = successive_shortest_paths(
        costs.of_rows(rows), cand, sizes, flow, p, lo, hi, n - k * lo, 4 * n + 16, TOP_MOVES
    )
    if status < 0:
        # these rows could not fix it: the paths found moved prices away from what the
        # other rows allow, so start the larger set from the state before them
        sizes[:], flow[:], p[:] = saved
        return False
    labels[rows] = cand
    return True
