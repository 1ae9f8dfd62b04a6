"""Driver of the size-constrained assignment: checks the bounds, calls the kernel."""

import numpy as np

from .._kernels.constrained import constrained_assign
from ..errors import BadParameterError

#: Bulk price sweeps before the exact unit-path finish.
MAX_PRICE_SWEEPS = 50


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


def assign_with_size_bounds(X, centers, size_min=None, size_max=None, tol=None):
    """Optimal labels of ``X`` for fixed ``centers`` under the size bounds.

    Minimises ``sum_i ||x_i - c_{a(i)}||^2`` subject to
    ``size_min <= |{i : a(i) = j}| <= size_max`` for every cluster ``j``. Exact: the result
    leaves no move path of negative cost (within ``tol``, by default ``1e-9`` times the
    largest squared distance scale for float64 data and ``1e-5`` for float32).

    Returns
    -------
    labels : ndarray of shape (n_samples,), int64
    objective : float
    """
    X = np.ascontiguousarray(X)
    centers = np.ascontiguousarray(centers, dtype=X.dtype)
    n, k = X.shape[0], centers.shape[0]
    lo, hi = resolve_size_bounds(n, k, size_min, size_max)
    if tol is None:
        scale = float(np.max(np.abs(X))) ** 2 * X.shape[1] + 1.0 if n else 1.0
        tol = scale * (1e-5 if X.dtype == np.float32 else 1e-9)
    labels = np.empty(n, dtype=np.int64)
    objective, _, _ = constrained_assign(X, centers, lo, hi, labels, MAX_PRICE_SWEEPS, tol)
    return labels, objective
