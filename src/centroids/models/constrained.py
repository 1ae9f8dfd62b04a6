"""K-Means whose clusters keep their sizes between bounds (territories, balanced batches)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._utils.validation import check_features
from ..engine import blas_limited_to_one_thread, engine_data, kmeans_plusplus_centers
from ..engine.constrained import (
    assign_with_size_bounds,
    default_tolerance,
    resolve_size_bounds,
    scaled_size_bounds,
)
from ..settings import CONSTRAINED_SAMPLE_START_MIN_ROWS, CONSTRAINED_SAMPLE_START_ROWS_PER_CLUSTER


class SizeConstrainedKMeans(ClassNamePrefixFeaturesOutMixin, ClusterMixin, BaseEstimator):
    """K-Means with ``size_min <= |cluster| <= size_max`` for every cluster.

    Each iteration assigns the rows to the current centers by the exact optimal
    assignment under the size bounds (a transportation problem solved on the k-node
    cluster graph, see :func:`centroids.engine.constrained.assign_with_size_bounds`), then
    moves every center to the mean of its rows. It stops when the labels stop changing or
    the centers move less than ``tol``.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    size_min : int or None, default=None
        Fewest rows in a cluster; None means 0.
    size_max : int or None, default=None
        Most rows in a cluster; None means no bound.
    init : 'k-means++' or array of shape (n_clusters, n_features), default='k-means++'
        The seeding; given centers start a single run (``n_init`` is then 1).
    n_init : int, default=3
        Seedings tried (k-means++); the run of lowest inertia is kept.
    max_iter : int, default=100
        Most assign-and-update iterations per run.
    tol : float, default=1e-4
        Stop when the squared center shift is below ``tol`` times the mean feature variance.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ draws.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,), each cluster's size within the bounds
    inertia_ : float
    n_iter_ : int

    Notes
    -----
    ``predict(X)`` gives each row its nearest center, as :class:`KMeans` does.
    ``predict(X, constrained=True)`` applies the bounds scaled to the batch:
    ``floor(size_min * m / n)`` and ``ceil(size_max * m / n)`` for ``m`` rows after a fit
    on ``n``.

    Examples
    --------
    >>> import numpy as np
    >>> from centroids import SizeConstrainedKMeans
    >>> X = np.random.default_rng(0).normal(size=(100, 2))
    >>> model = SizeConstrainedKMeans(4, size_min=20, size_max=30, random_state=0).fit(X)
    >>> sizes = np.bincount(model.labels_)
    >>> bool(sizes.min() >= 20 and sizes.max() <= 30)
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "size_min": [Interval(Integral, 0, None, closed="left"), None],
        "size_max": [Interval(Integral, 1, None, closed="left"), None],
        "init": [StrOptions({"k-means++"}), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        size_min=None,
        size_max=None,
        init="k-means++",
        n_init=3,
        max_iter=100,
        tol=1e-4,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.size_min = size_min
        self.size_max = size_max
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, X, y=None, sample_weight=None):
        """Fit the centers under the size bounds. Returns self.

        ``sample_weight`` (non-negative, one per row; None: all 1) weighs each row's
        squared distance in the objective and in its center's mean; the size bounds
        count rows, whatever their weight (a row of weight 2 is one row of a cluster,
        not two). A row of weight 0 still takes one place in a cluster but never
        moves a center.
        """
        self._validate_params()
        X = check_features(self, X, reset=True, where="fit")
        n = X.shape[0]
        if n < self.n_clusters:
            raise ValueError(f"n_samples={n} should be >= n_clusters={self.n_clusters}.")
        resolve_size_bounds(n, self.n_clusters, self.size_min, self.size_max, where="fit")
        rs = check_random_state(self.random_state)
        if sample_weight is None:
            sample_weight = np.ones(n)
        sample_weight = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if sample_weight.shape[0] != n:
            raise ValueError(
                f"sample_weight has {sample_weight.shape[0]} values for {n} rows of X."
            )
        if not np.all(np.isfinite(sample_weight)) or (sample_weight < 0).any():
            raise ValueError("sample_weight must be finite and non-negative.")
        if not sample_weight.any():
            raise ValueError("sample_weight is 0 for every row; nothing to fit.")
        weights = sample_weight.astype(X.dtype)
        threshold = _shift_threshold(X, sample_weight, self.tol)
        best = None
        given = None if isinstance(self.init, str) else np.asarray(self.init, dtype=X.dtype)
        if given is not None and given.shape != (self.n_clusters, X.shape[1]):
            raise ValueError(
                f"init has shape {given.shape}; expected (n_clusters, n_features) = "
                f"({self.n_clusters}, {X.shape[1]})."
            )
        for _ in range(1 if given is not None else self.n_init):
            if given is not None:
                centers = given
            else:
                centers = _sample_start(
                    X, weights, sample_weight, self.n_clusters, self.size_min, self.size_max,
                    self.max_iter, self.tol, rs,
                )  # fmt: skip
            centers, labels, inertia, it = _constrained_lloyd(
                X,
                np.asarray(centers, dtype=X.dtype),
                self.size_min,
                self.size_max,
                self.max_iter,
                threshold,
                sample_weight,
            )
            if best is None or inertia < best[2]:
                best = (centers, labels, inertia, it)
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = best
        self.inertia_ = float(self.inertia_)
        self._n_fit_rows = n
        self._n_features_out = self.n_clusters
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def predict(self, X, constrained=False):
        """Nearest center of each row; with ``constrained=True`` the bounds scaled to the batch."""
        check_is_fitted(self)
        X = check_features(self, X, reset=False, where="predict")
        if not constrained:
            return np.argmin(self._sq_distances(X), axis=1)
        lo, hi = scaled_size_bounds(self.size_min, self.size_max, X.shape[0], self._n_fit_rows)
        labels, _ = assign_with_size_bounds(X, self.cluster_centers_, lo, hi)
        return labels

    def transform(self, X):
        """Euclidean distance of each row to each center."""
        check_is_fitted(self)
        X = check_features(self, X, reset=False, where="transform")
        return np.sqrt(self._sq_distances(X))

    def fit_transform(self, X, y=None):
        """Fit, then the distances of X's rows to the centers."""
        return self.fit(X).transform(X)

    def score(self, X, y=None):
        """Minus the inertia of X's rows at their nearest center."""
        check_is_fitted(self)
        X = check_features(self, X, reset=False, where="score")
        return -float(np.sum(np.min(self._sq_distances(X), axis=1)))

    def _sq_distances(self, X):
        C = self.cluster_centers_
        d = (X * X).sum(1)[:, None] - 2 * X @ C.T + (C * C).sum(1)[None, :]
        return np.maximum(d, 0)


def _sample_start(
    X, weights, sample_weight, k, size_min, size_max, max_iter, tol, rs, per_cluster=None
):
    """The start of one run: k-means++ centers, and on large X those centers first taken
    to a constrained fixed point on a uniform sample of the rows.

    Above ``CONSTRAINED_SAMPLE_START_MIN_ROWS`` rows a run seeds on a sample of
    ``CONSTRAINED_SAMPLE_START_ROWS_PER_CLUSTER × k`` rows drawn from ``rs`` and runs the
    constrained Lloyd there under the bounds scaled to the sample (floor of the minimum,
    ceiling of the maximum, so the sample's problem is feasible whenever X's is). The run
    on all rows then starts near its end: its first assignments move few rows away from
    the carried prices, where from k-means++ centers they move most of them (the costly
    part of a large fit). The result is still a fixed point of the constrained Lloyd on
    all rows; only the start differs.

    The sample's own run starts the same way, from a sample ``SAMPLE_LADDER`` times
    smaller (``per_cluster`` rows per cluster, down to ``SAMPLE_LADDER_MIN_PER_CLUSTER``),
    so that the first iterations after k-means++, whose exact assignments move the most
    rows, run on the fewest rows.
    """
    n = X.shape[0]
    top = per_cluster is None
    per_cluster = CONSTRAINED_SAMPLE_START_ROWS_PER_CLUSTER if top else per_cluster
    m = per_cluster * k
    small = (
        n < CONSTRAINED_SAMPLE_START_MIN_ROWS
        if top
        else per_cluster < SAMPLE_LADDER_MIN_PER_CLUSTER
    )
    if small or m >= n:
        return _kmeans_plusplus(X, k, weights, rs)
    rows = np.sort(rs.choice(n, size=m, replace=False))
    Xs, ws = X[rows], sample_weight[rows]
    if not ws.any():  # every sampled row has weight 0: seed on all rows instead
        return _kmeans_plusplus(X, k, weights, rs)
    lo, hi = scaled_size_bounds(size_min, size_max, m, n)
    wsx = ws.astype(X.dtype)
    if SAMPLE_LADDER > 1:
        centers = _sample_start(
            Xs, wsx, ws, k, lo, hi, max_iter, tol, rs, per_cluster // SAMPLE_LADDER
        )
    else:
        centers = _kmeans_plusplus(Xs, k, wsx, rs)
    centers, _, _, _ = _constrained_lloyd(
        Xs,
        np.asarray(centers, dtype=X.dtype),
        lo,
        hi,
        max_iter,
        _shift_threshold(Xs, ws, tol),
        ws,
    )
    return centers


#: Each sample start runs on a sample this many times smaller first (1: k-means++ only).
SAMPLE_LADDER = 5
#: The smallest sample of the ladder, in rows per cluster.
SAMPLE_LADDER_MIN_PER_CLUSTER = 100


def _kmeans_plusplus(X, k, weights, rs):
    """k-means++ centers of X (weights in X's dtype), BLAS on one thread."""
    with blas_limited_to_one_thread():
        centers, _ = kmeans_plusplus_centers(engine_data(X), k, weights, rs)
    return centers


def _shift_threshold(X, sample_weight, tol):
    """``tol`` times the mean weighted variance of the rows that count (weight 0 rows
    change no stopping rule): the center shift below which a run stops."""
    counted = sample_weight > 0
    rows, weights = X[counted], sample_weight[counted]
    mean = np.average(rows, axis=0, weights=weights)
    variance = np.average((rows - mean) ** 2, axis=0, weights=weights)
    return tol * float(np.mean(variance))


def _constrained_lloyd(X, centers, size_min, size_max, max_iter, threshold, weights):
    """One run from ``centers``: exact constrained assignment, then means, until a stop.

    Stops when the labels repeat, when the centers move less than ``threshold`` (squared,
    summed) or when the assignment cost stops decreasing by more than the solver's
    certified precision (``n * tol``): the cost sequence is non-increasing (each step is
    optimal for what the other fixed), so that last test ends a walk between labelings of
    equal cost, and ties go to the lowest cluster index throughout. Each assignment starts from the
    previous one's cluster prices, which change little between iterations.
    """
    k = centers.shape[0]
    slack = X.shape[0] * default_tolerance(X[weights > 0]) * max(1.0, float(weights.max()))
    labels = None
    prices = None
    previous = np.inf
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (read after the loop)
        new_labels, inertia, prices = assign_with_size_bounds(
            X, centers, size_min, size_max, prices=prices, return_prices=True, sample_weight=weights
        )
        if labels is not None and (
            np.array_equal(new_labels, labels) or inertia >= previous - slack
        ):
            labels = new_labels  # optimal for the current centers, as the last labels
            break
        labels = new_labels
        previous = inertia
        new_centers = _means(X, labels, k, centers, weights)
        shift = float(np.sum((new_centers.astype(np.float64) - centers) ** 2))
        centers = new_centers
        if shift <= threshold:
            labels, inertia, prices = assign_with_size_bounds(
                X,
                centers,
                size_min,
                size_max,
                prices=prices,
                return_prices=True,
                sample_weight=weights,
            )
            break
    return centers, labels, inertia, it


def _means(X, labels, k, old, weights):
    """Weighted mean of each cluster's rows (the old center for a cluster of no weight),
    float64 sums."""
    counts = np.bincount(labels, weights=weights, minlength=k)
    sums = np.empty((k, X.shape[1]))
    for f in range(X.shape[1]):
        sums[:, f] = np.bincount(labels, weights=X[:, f] * weights, minlength=k)
    out = old.astype(np.float64).copy()
    nz = counts > 0
    out[nz] = sums[nz] / counts[nz, None]
    return out.astype(X.dtype)
