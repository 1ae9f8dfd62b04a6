"""K-Medoids: clusters whose centers are actual rows of the data (FasterPAM or alternating)."""

from __future__ import annotations

import math
import warnings
from numbers import Integral
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances, pairwise_distances_argmin_min
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._kernels.dense import n_chunks
from .._kernels.kmedoids import (
    COSINE,
    EUCLIDEAN,
    MANHATTAN,
    PRECOMPUTED,
    alternate,
    candidate_totals,
    distance_matrix,
    distances_to_row,
    fasterpam,
    first_invalid_distance,
)
from .._utils.validation import (
    check_features,
    check_finite,
    check_sample_weight,
    unchanged_on_error,
)

#: With ``precompute_distances='auto'``, a full float32 distance matrix is computed when X
#: has at most this many rows (20,000 rows: 1.6 GB), and distances are computed when
#: needed above. The matrix makes each FasterPAM candidate a contiguous read of n values
#: instead of n distance computations.
FULL_MATRIX_MAX_ROWS = 20_000

#: Up to this many features the distance matrix is computed by direct differences, each
#: pair once (20,000 × 8: 3× faster than scikit-learn's product on the shared 2-core
#: machine); above, through scikit-learn's matrix product (BLAS), a block of rows at a time.
MATRIX_DIRECT_MAX_FEATURES = 32

#: Rows of the distance matrix computed together through scikit-learn (bounds the float64
#: scratch space).
MATRIX_BLOCK_ROWS = 1024

_METRIC_CODES = {"euclidean": EUCLIDEAN, "manhattan": MANHATTAN, "cosine": COSINE}


class KMedoids(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """K-Medoids clustering: every center is a row of the data.

    Minimises the sum of the distances (not squared) of the rows to their closest
    medoid, which makes the clusters robust to outliers and works with any metric,
    including a precomputed dissimilarity matrix.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters (medoids), at least 1 and at most the number of rows.
    metric : {'euclidean', 'manhattan', 'cosine', 'precomputed'}, default='euclidean'
        The distance between rows. 'precomputed': X is a symmetric (n, n) matrix of
        non-negative dissimilarities, ``X[i, j]`` between rows i and j.
    method : {'fasterpam', 'alternate'}, default='fasterpam'
        'fasterpam': the swap search of Schubert and Rousseeuw (2021): every non-medoid
        row is tried as a replacement of the medoid it would best replace, evaluated for
        all medoids at once in O(n), and the first swap that lowers the total distance is
        made at once; rounds over the rows (in an order drawn from ``random_state``)
        end when a whole round since the last swap improves nothing. It reaches a
        local optimum of PAM's swap neighbourhood. 'alternate': Voronoi iteration
        (assign every row to its nearest medoid, then make each cluster's medoid its
        member of least total distance to the others) until no medoid changes: faster,
        usually worse.
    init : {'k-medoids++', 'random'} or array-like of shape (n_clusters,), default='k-medoids++'
        'k-medoids++': the first medoid a row drawn uniformly, each next one the best
        (lowest total distance) of ``2 + ln k`` rows drawn with probability proportional
        to their distance to the nearest medoid so far. 'random': ``n_clusters``
        distinct rows drawn uniformly. An array gives the row indices of the initial
        medoids.
    max_iter : int, default=300
        Most rounds of swaps ('fasterpam') or steps ('alternate').
    precompute_distances : {'auto', True, False}, default='auto'
        Whether to compute all pairwise distances once into a float32 matrix (n² × 4
        bytes) before searching, or to compute distances from X when needed (memory
        O(n)). 'auto': the matrix up to 20,000 rows. Ignored with 'precomputed'.
    random_state : int, RandomState instance or None, default=None
        Seed of the initial medoids and of the order in which FasterPAM tries rows.

    Attributes
    ----------
    medoid_indices_ : ndarray of shape (n_clusters,), dtype int64
        Row of X of every medoid.
    cluster_centers_ : ndarray of shape (n_clusters, n_features) or None
        The medoids' rows of X; None with ``metric='precomputed'``.
    labels_ : ndarray of shape (n_samples,), dtype int32
        Index (into ``medoid_indices_``) of the nearest medoid of every row.
    inertia_ : float
        Sum of the distances of the rows to their nearest medoid (the total deviation).
    n_iter_ : int
        Rounds of swaps ('fasterpam') or steps ('alternate') run.
    n_features_in_ : int
        Number of columns seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in fit, when X was a DataFrame with string column names.

    Notes
    -----
    With a precomputed matrix, ``predict`` and ``transform`` need distances as well: a
    matrix with one column per training row (the medoids' columns are read) or one
    column per medoid, in the order of ``medoid_indices_``; with as many training rows as
    medoids, the first reading applies. Distances in the float32 matrix are rounded to
    float32 during the search; ``inertia_`` is then recomputed in float64 from X.

    Examples
    --------
    >>> import numpy as np
    >>> from centroids.models.kmedoids import KMedoids
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> model = KMedoids(n_clusters=2, random_state=0).fit(X)
    >>> sorted(model.cluster_centers_.tolist())
    [[1.0, 2.0], [10.0, 2.0]]
    >>> float(model.inertia_)
    8.0
    >>> model.predict([[0, 1], [11, 1]]).tolist() == model.labels_[[0, 3]].tolist()
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions({"euclidean", "manhattan", "cosine", "precomputed"})],
        "method": [StrOptions({"fasterpam", "alternate"})],
        "init": [StrOptions({"k-medoids++", "random"}), "array-like"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "precompute_distances": [StrOptions({"auto"}), "boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        metric="euclidean",
        method="fasterpam",
        init="k-medoids++",
        max_iter=300,
        precompute_distances="auto",
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.metric = metric
        self.method = method
        self.init = init
        self.max_iter = max_iter
        self.precompute_distances = precompute_distances
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.metric == "precomputed"
        return tags

    @property
    def _n_features_out(self):
        return self.medoid_indices_.shape[0]

    # -- input -------------------------------------------------------------------------

    def _check_X(self, X, reset, where):
        if sp.issparse(X):
            raise TypeError(
                f"KMedoids needs dense X, not a sparse {type(X).__name__}: densify it with "
                ".toarray(), or pass metric='precomputed' with a dense distance matrix."
            )
        if self.metric != "precomputed" or not reset:
            return check_features(self, X, reset=reset, where=where)
        D = validate_data(
            self,
            X,
            reset=True,
            dtype=[np.float64, np.float32],
            order="C",
            ensure_all_finite=False,
            ensure_min_samples=0,
            ensure_min_features=0,
        )
        if D.shape[0] != D.shape[1]:
            raise ValueError(
                f"With metric='precomputed', X must be a square matrix of distances between "
                f"the rows, but it has shape {D.shape}. Pass the (n, n) distance matrix, or "
                "the data itself with metric='euclidean', 'manhattan' or 'cosine'."
            )
        if D.shape[0] == 0:
            raise ValueError("X is an empty (0, 0) distance matrix; at least 1 row is required.")
        kind, row, column = first_invalid_distance(D, 1e-5, 1e-8)
        if kind == 1:
            check_finite(D, None, "fit")
        if kind == 2:
            raise ValueError(
                f"The precomputed distance matrix holds a negative value {D[row, column]} at "
                f"row {row}, column {column}; distances must be >= 0."
            )
        if kind == 3:
            raise ValueError(
                f"The precomputed distance matrix is not symmetric: X[{row}, {column}] = "
                f"{D[row, column]} but X[{column}, {row}] = {D[column, row]}. Pass a symmetric "
                "dissimilarity matrix, e.g. (D + D.T) / 2."
            )
        return D

    def _resolved_init(self, n_samples):
        if isinstance(self.init, str):
            return self.init
        try:
            medoids = np.asarray(self.init)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"init must be 'k-medoids++', 'random' or row indices: {error}"
            ) from error
        if medoids.ndim != 1 or medoids.shape[0] != self.n_clusters:
            raise ValueError(
                f"init as an array gives the row indices of the initial medoids: it must have "
                f"shape (n_clusters,) = ({self.n_clusters},), got shape {medoids.shape}."
            )
        if medoids.dtype.kind not in "iu" and not (
            medoids.dtype.kind == "f" and np.array_equal(medoids, np.round(medoids))
        ):
            raise TypeError(f"init must hold integer row indices; got dtype {medoids.dtype}.")
        medoids = medoids.astype(np.int64)
        bad = np.flatnonzero((medoids < 0) | (medoids >= n_samples))
        if bad.size:
            raise ValueError(
                f"init holds row index {medoids[bad[0]]} at position {bad[0]}, outside "
                f"0 .. {n_samples - 1} (X has {n_samples} rows)."
            )
        if np.unique(medoids).size != medoids.size:
            raise ValueError(f"init holds a row index more than once: {medoids.tolist()}.")
        return medoids

    # -- fitting -----------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Find the medoids.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples, n_samples)
            The rows to cluster, or with ``metric='precomputed'`` their distance matrix.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row: the total minimised is
            ``Σ w_i d(x_i, medoid(i))``, so a weight of 2 counts as the row twice. A row
            of weight 0 is never a medoid and does not move one.

        Returns
        -------
        self : KMedoids
            The fitted estimator; on bad input the estimator is left as it was.
        """
        with unchanged_on_error(self):
            self._fit(X, sample_weight)
        return self

    def _fit(self, X, sample_weight=None):
        self._validate_params()
        X = self._check_X(X, reset=True, where="fit")
        n_samples = X.shape[0]
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}: X has "
                "fewer rows than clusters. Lower n_clusters or pass more rows."
            )
        weights, init = self._checked_weights_and_init(sample_weight, n_samples)
        random_state = check_random_state(self.random_state)
        source, norms, metric = self._distance_source(X)

        medoids = _initial_medoids(
            source, norms, metric, self.n_clusters, init, random_state, weights
        )
        n_iter, converged, near, d_near = self._search(
            source, norms, metric, medoids, weights, random_state
        )
        if not converged:
            warnings.warn(
                f"KMedoids ({self.method}) did not converge within max_iter={self.max_iter}; "
                "increase max_iter.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if metric == PRECOMPUTED and self.metric != "precomputed":
            # The search read float32 distances; report the total in float64 from X.
            exact_metric = _METRIC_CODES[self.metric]
            exact_norms = _row_norms(X) if exact_metric == COSINE else np.empty(0)
            d_near = _distances_to_assigned(X, exact_norms, exact_metric, medoids, near)
        self.medoid_indices_ = medoids
        self.labels_ = near.astype(np.int32)
        self.inertia_ = float(weights @ d_near)
        self.n_iter_ = int(n_iter)
        self.cluster_centers_ = None if self.metric == "precomputed" else X[medoids].copy()

    def _checked_weights_and_init(self, sample_weight, n_samples):
        """The sample weights and the resolved init, checked to leave enough medoids."""
        weights = check_sample_weight(sample_weight, n_samples, np.float64)
        n_weighted = int(np.count_nonzero(weights))
        if n_weighted < self.n_clusters:
            raise ValueError(
                f"Only {n_weighted} rows have a positive sample_weight, fewer than "
                f"n_clusters={self.n_clusters}; lower n_clusters or give more rows weight."
            )
        init = self._resolved_init(n_samples)
        if not isinstance(init, str) and not (weights[init] > 0).all():
            zero = int(init[np.flatnonzero(weights[init] == 0)[0]])
            raise ValueError(
                f"init names row {zero} as an initial medoid, but its sample_weight is 0; a "
                "row of weight 0 is never a medoid. Choose rows of positive weight."
            )
        return weights, init

    def _search(self, source, norms, metric, medoids, weights, random_state):
        """The medoid search (FasterPAM or alternate) from ``medoids``, updated in place:
        its iterations, whether it converged, every row's nearest medoid and distance."""
        n_samples = weights.shape[0]
        near = np.empty(n_samples, dtype=np.int64)
        second = np.empty(n_samples, dtype=np.int64)
        d_near = np.empty(n_samples)
        d_second = np.empty(n_samples)
        if self.method == "fasterpam":
            order = random_state.permutation(n_samples).astype(np.int64)
            n_iter, _, converged = fasterpam(
                source,
                norms,
                metric,
                medoids,
                order,
                self.max_iter,
                weights,
                near,
                d_near,
                second,
                d_second,
            )
        else:
            n_iter, _, converged = alternate(
                source,
                norms,
                metric,
                medoids,
                self.max_iter,
                weights,
                near,
                d_near,
                second,
                d_second,
            )
        return n_iter, converged, near, d_near

    def _distance_source(self, X):
        """(source, norms, metric code) the kernels read distances from."""
        if self.metric == "precomputed":
            return X, np.empty(0), PRECOMPUTED
        n_samples = X.shape[0]
        use_matrix = self.precompute_distances is True or (
            self.precompute_distances == "auto" and n_samples <= FULL_MATRIX_MAX_ROWS
        )
        if use_matrix:
            return _distance_matrix(X, self.metric), np.empty(0), PRECOMPUTED
        X = np.ascontiguousarray(X, dtype=np.float64)
        metric = _METRIC_CODES[self.metric]
        norms = _row_norms(X) if metric == COSINE else np.empty(0)
        return X, norms, metric

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return the nearest medoid of every row (``labels_``)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    # -- using a fitted model ----------------------------------------------------------

    def _distances_to_medoids(self, X, where):
        check_is_fitted(self)
        if self.metric != "precomputed":
            X = self._check_X(X, reset=False, where=where)
            return None, X
        D = np.asarray(X, dtype=np.float64) if not sp.issparse(X) else None
        if D is None or D.ndim != 2:
            raise ValueError(
                f"With metric='precomputed', {where} needs a 2-D array of distances from the "
                "new rows to the training rows or to the medoids."
            )
        n_train, k = self.n_features_in_, self.medoid_indices_.shape[0]
        if D.shape[1] == n_train:
            D = D[:, self.medoid_indices_]
        elif D.shape[1] != k:
            raise ValueError(
                f"With metric='precomputed', {where} needs distances from the new rows to the "
                f"{n_train} training rows (shape (n, {n_train})) or to the {k} medoids (shape "
                f"(n, {k}), in the order of medoid_indices_); got shape {D.shape}."
            )
        check_finite(D, None, where)
        return np.array(D, order="C"), None  # a copy: transform never returns X itself

    def predict(self, X):
        """Index of the nearest medoid of every row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New rows; with ``metric='precomputed'``, their distances to the training rows
            or to the medoids (see Notes).

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
        """
        D, X = self._distances_to_medoids(X, "predict")
        if D is None:
            labels, _ = pairwise_distances_argmin_min(
                X, self.cluster_centers_.astype(X.dtype, copy=False), metric=self.metric
            )
            return labels.astype(np.int32)
        return np.argmin(D, axis=1).astype(np.int32)

    def transform(self, X):
        """Distance from every row of X to every medoid.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
        """
        D, X = self._distances_to_medoids(X, "transform")
        if D is None:
            return pairwise_distances(
                X, self.cluster_centers_.astype(X.dtype, copy=False), metric=self.metric
            )
        return D

    def score(self, X, y=None):
        """Opposite of the sum of the distances of the rows of X to their nearest medoid."""
        return -float(self.transform(X).min(axis=1).sum())


# -- helpers -------------------------------------------------------------------------------


def _distance_matrix(X, metric):
    """All pairwise distances of the rows of X as a float32 (n, n) matrix, zero diagonal.

    Up to ``MATRIX_DIRECT_MAX_FEATURES`` features (and always for Manhattan), each pair is
    computed once by direct differences in a numba kernel; above, Euclidean and cosine
    distances come from scikit-learn's matrix product, a block of rows at a time.
    """
    n, d = X.shape
    D = np.empty((n, n), dtype=np.float32)
    if metric == "manhattan" or d <= MATRIX_DIRECT_MAX_FEATURES:
        code = _METRIC_CODES[metric]
        norms = _row_norms(X) if code == COSINE else np.empty(0)
        distance_matrix.for_work(n * n * d // 2)(X, norms, code, D)
        return D
    for start in range(0, n, MATRIX_BLOCK_ROWS):
        stop = min(start + MATRIX_BLOCK_ROWS, n)
        D[start:stop] = pairwise_distances(X[start:stop], X, metric=metric)
    np.fill_diagonal(D, 0.0)
    if metric == "cosine":
        np.maximum(D, 0.0, out=D)
    return D


def _row_norms(X):
    return np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))


def _distances_to_assigned(X, norms, metric, medoids, near):
    """Distance (float64, from X) of every row to the medoid it is assigned to."""
    out = np.empty(X.shape[0])
    for slot, medoid in enumerate(medoids):
        rows = np.flatnonzero(near == slot)
        if rows.size == 0:
            continue
        members = np.ascontiguousarray(X[rows], dtype=np.float64)
        center = np.asarray(X[medoid : medoid + 1], dtype=np.float64)
        if metric == EUCLIDEAN:
            out[rows] = np.sqrt(((members - center) ** 2).sum(axis=1))
        elif metric == MANHATTAN:
            out[rows] = np.abs(members - center).sum(axis=1)
        else:
            distances = np.ones(rows.size)
            positive = (norms[rows] > 0) & (norms[medoid] > 0)
            if positive.any():
                dots = members[positive] @ center[0]
                distances[positive] = 1.0 - dots / (norms[rows][positive] * norms[medoid])
            distances[rows == medoid] = 0.0
            out[rows] = np.maximum(distances, 0.0)
    return out


def _initial_medoids(source, norms, metric, n_clusters, init, random_state, weights=None):
    """Row indices of the initial medoids, int64 (see the ``init`` parameter).

    With ``weights``, rows are drawn in proportion to weight (× distance for the
    k-medoids++ draws after the first) and a row of weight 0 is never drawn; without,
    every row weighs 1 and the draws are those of the unweighted seeding.
    """
    n = source.shape[0]
    if not isinstance(init, str):
        return np.array(init, dtype=np.int64)
    uniform = weights is None or bool(np.all(weights == 1.0))
    if weights is None:
        weights = np.ones(n)
    if init == "random":
        if uniform:
            return random_state.choice(n, n_clusters, replace=False).astype(np.int64)
        positive = np.flatnonzero(weights > 0)
        p = weights[positive] / weights[positive].sum()
        return random_state.choice(positive, n_clusters, replace=False, p=p).astype(np.int64)
    work = n * (source.shape[1] if metric != PRECOMPUTED else 1)
    n_trials = 2 + int(math.log(n_clusters))
    medoids = np.empty(n_clusters, dtype=np.int64)
    if uniform:
        medoids[0] = random_state.randint(n)
    else:
        medoids[0] = random_state.choice(n, p=weights / weights.sum())
    chosen = np.zeros(n, dtype=bool)
    chosen[medoids[0]] = True
    nearest = np.empty(n)
    distances_to_row.for_work(work)(source, norms, metric, medoids[0], nearest)
    new_distances = np.empty(n)
    chunk_totals = np.empty((n_chunks(n), n_trials))
    for c in range(1, n_clusters):
        cumulative = np.cumsum(nearest if uniform else weights * nearest)
        total = cumulative[-1]
        if not total > 0:
            # Every row coincides with a medoid (fewer distinct rows than clusters).
            # Fewer positive-weight rows than clusters is rejected before seeding.
            free = np.flatnonzero(~chosen & (weights > 0))
            medoids[c] = free[random_state.randint(free.size)]
        else:
            draws = random_state.uniform(size=n_trials) * total
            candidates = np.minimum(np.searchsorted(cumulative, draws, side="right"), n - 1)
            candidates = candidates.astype(np.int64)
            candidate_totals.for_work(work * n_trials)(
                source, norms, metric, candidates, nearest, weights, chunk_totals
            )
            medoids[c] = candidates[int(np.argmin(chunk_totals.sum(axis=0)))]
        chosen[medoids[c]] = True
        distances_to_row.for_work(work)(source, norms, metric, medoids[c], new_distances)
        np.minimum(nearest, new_distances, out=nearest)
    return medoids
