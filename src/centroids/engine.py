"""One k-means run, and the driver that owns the n_init loop.

Three layers, as in scikit-learn: the estimators in :mod:`centroids.models`
validate input; this module seeds, iterates, converges, relocates empty clusters,
keeps the best of several runs and warns; the kernels in :mod:`centroids._kernels`
do the arithmetic on buffers and check nothing.

Data reaches the kernels through an adapter, :class:`DenseData` or :class:`CSRData`,
which gives the engine one interface for both layouts. Prior validation of X,
sample_weight and init is assumed here.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

from ._kernels import dense as dense_kernels
from ._kernels import sparse as sparse_kernels
from ._kernels.labels import count_distinct_labels, group_rows_by_label

ALGORITHMS = ("lloyd",)


class DenseData:
    """A C-ordered float32/float64 array, seen through the dense kernels."""

    def __init__(self, X):
        self.X = X
        self.n_rows, self.n_features = X.shape
        self.dtype = X.dtype
        self.row_work = X.size

    def assign_labels(self, sample_weight, centers):
        """Labels, squared distance to the assigned center, and inertia."""
        labels = np.empty(self.n_rows, dtype=np.int32)
        min_sq_dist = np.empty(self.n_rows)
        chunk_inertia = np.empty(dense_kernels.n_chunks(self.n_rows))
        _sized(dense_kernels.assign_labels, self, centers.shape[0])(
            self.X, sample_weight, centers, labels, min_sq_dist, chunk_inertia
        )
        return labels, min_sq_dist, float(chunk_inertia.sum())

    def labelled_inertia(self, sample_weight, centers, labels):
        chunk_inertia = np.empty(dense_kernels.n_chunks(self.n_rows))
        _sized(dense_kernels.labelled_inertia, self, 1)(
            self.X, sample_weight, centers, labels, chunk_inertia
        )
        return float(chunk_inertia.sum())

    def cluster_sums(self, sample_weight, labels, n_clusters):
        """float64 weighted sums of the rows of each cluster, and cluster weights."""
        order, starts = _group_by_label(labels, n_clusters)
        sums = np.empty((n_clusters, self.n_features))
        weights = np.empty(n_clusters)
        _sized(dense_kernels.weighted_cluster_sums, self, 1)(
            self.X, sample_weight, order, starts, sums, weights
        )
        return sums, weights

    def sq_distances(self, centers):
        out = np.empty((self.n_rows, centers.shape[0]), dtype=self.dtype)
        _sized(dense_kernels.pairwise_sq_distances, self, centers.shape[0])(self.X, centers, out)
        return out

    def candidate_potentials(self, sample_weight, closest_sq_dist, candidates):
        chunk_pot = np.empty((dense_kernels.n_chunks(self.n_rows), candidates.shape[0]))
        _sized(dense_kernels.candidate_potentials, self, candidates.shape[0])(
            self.X, sample_weight, closest_sq_dist, candidates, chunk_pot
        )
        return chunk_pot.sum(axis=0)

    def update_closest_sq_dist(self, points, p, closest_sq_dist):
        _sized(dense_kernels.update_closest_sq_dist, self, 1)(self.X, points, p, closest_sq_dist)

    def rows(self, indices):
        """Rows of X as a dense array of X's dtype."""
        return self.X[np.asarray(indices)]

    def column_variances(self):
        return _sized(dense_kernels.column_variances, self, 1)(self.X)


class CSRData:
    """A CSR matrix of float32/float64, seen through the sparse kernels; never densified."""

    def __init__(self, X):
        self.X = X
        self.n_rows, self.n_features = X.shape
        self.dtype = X.dtype
        self.row_work = X.nnz
        self._arrays = (X.data, X.indices, X.indptr)
        self.x_sq_norms = _sized(sparse_kernels.row_sq_norms, self, 1)(X.data, X.indptr)

    def assign_labels(self, sample_weight, centers):
        labels = np.empty(self.n_rows, dtype=np.int32)
        min_sq_dist = np.empty(self.n_rows)
        chunk_inertia = np.empty(dense_kernels.n_chunks(self.n_rows))
        _sized(sparse_kernels.assign_labels, self, centers.shape[0])(
            *self._arrays,
            self.x_sq_norms,
            sample_weight,
            centers,
            labels,
            min_sq_dist,
            chunk_inertia,
        )
        return labels, min_sq_dist, float(chunk_inertia.sum())

    def labelled_inertia(self, sample_weight, centers, labels):
        chunk_inertia = np.empty(dense_kernels.n_chunks(self.n_rows))
        _sized(sparse_kernels.labelled_inertia, self, 1)(
            *self._arrays, self.x_sq_norms, sample_weight, centers, labels, chunk_inertia
        )
        return float(chunk_inertia.sum())

    def cluster_sums(self, sample_weight, labels, n_clusters):
        order, starts = _group_by_label(labels, n_clusters)
        sums = np.empty((n_clusters, self.n_features))
        weights = np.empty(n_clusters)
        _sized(sparse_kernels.weighted_cluster_sums, self, 1)(
            *self._arrays, sample_weight, order, starts, sums, weights
        )
        return sums, weights

    def sq_distances(self, centers):
        out = np.empty((self.n_rows, centers.shape[0]), dtype=self.dtype)
        _sized(sparse_kernels.pairwise_sq_distances, self, centers.shape[0])(
            *self._arrays, self.x_sq_norms, centers, out
        )
        return out

    def candidate_potentials(self, sample_weight, closest_sq_dist, candidates):
        chunk_pot = np.empty((dense_kernels.n_chunks(self.n_rows), candidates.shape[0]))
        _sized(sparse_kernels.candidate_potentials, self, candidates.shape[0])(
            *self._arrays, self.x_sq_norms, sample_weight, closest_sq_dist, candidates, chunk_pot
        )
        return chunk_pot.sum(axis=0)

    def update_closest_sq_dist(self, points, p, closest_sq_dist):
        _sized(sparse_kernels.update_closest_sq_dist, self, 1)(
            *self._arrays, self.x_sq_norms, points, p, closest_sq_dist
        )

    def rows(self, indices):
        return self.X[np.asarray(indices)].toarray()

    def column_variances(self):
        from sklearn.utils.sparsefuncs import mean_variance_axis

        return np.asarray(mean_variance_axis(self.X, axis=0)[1], dtype=np.float64)


def engine_data(X):
    """Wrap a validated X (C-ordered ndarray or CSR matrix) in its kernel adapter."""
    if sp.issparse(X):
        return CSRData(X)
    return DenseData(X)


def _sized(kernel, data, n_centers):
    """The parallel or serial form of ``kernel``, by the work it will do on ``data``."""
    return kernel.for_work(data.row_work * n_centers)


def _group_by_label(labels, n_clusters):
    order = np.empty(labels.shape[0], dtype=np.int64)
    starts = np.empty(n_clusters + 1, dtype=np.int64)
    group_rows_by_label(labels, n_clusters, order, starts)
    return order, starts


# ---------------------------------------------------------------------------
# Seeding
# ---------------------------------------------------------------------------


def kmeans_plusplus_centers(data, n_clusters, sample_weight, random_state, n_local_trials=None):
    """Greedy k-means++ (Arthur & Vassilvitskii 2007, greedy form as in scikit-learn).

    Each new center is the best of ``n_local_trials`` candidates (default ``2 + ln k``)
    drawn with probability proportional to ``w_i · D(x_i)²``; the best candidate is
    the one that leaves the lowest potential ``Σ w_i min(D(x_i)², ||x_i - cand||²)``.

    Returns the centers, (k, d) of the data's dtype, and the row indices they came from.
    """
    n = data.n_rows
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    weights = np.asarray(sample_weight, dtype=np.float64)
    probabilities = weights / weights.sum()

    centers = np.empty((n_clusters, data.n_features), dtype=data.dtype)
    indices = np.empty(n_clusters, dtype=np.int64)
    indices[0] = random_state.choice(n, p=probabilities)
    centers[0] = data.rows([indices[0]])[0]
    closest_sq_dist = np.full(n, np.inf)
    data.update_closest_sq_dist(centers, 0, closest_sq_dist)
    for c in range(1, n_clusters):
        mass = weights * closest_sq_dist
        cumulative = np.cumsum(mass)
        draws = random_state.uniform(size=n_local_trials) * cumulative[-1]
        if cumulative[-1] > 0:
            # side="right" never picks a point of zero mass (one already a center);
            # a draw past the end from rounding goes to the last point with mass.
            last_with_mass = n - 1 - int(np.argmax(mass[::-1] > 0))
            candidates = np.minimum(
                np.searchsorted(cumulative, draws, side="right"), last_with_mass
            )
        else:
            # Every point coincides with a chosen center (fewer distinct points than
            # n_clusters): any further center duplicates one; the driver warns.
            candidates = random_state.choice(n, size=n_local_trials, p=probabilities)
        candidate_points = data.rows(candidates)
        potentials = data.candidate_potentials(weights, closest_sq_dist, candidate_points)
        best = int(np.argmin(potentials))
        centers[c] = candidate_points[best]
        indices[c] = candidates[best]
        data.update_closest_sq_dist(centers, c, closest_sq_dist)
    return centers, indices


def random_centers(data, n_clusters, sample_weight, random_state):
    """n_clusters distinct rows drawn with probability proportional to their weight."""
    weights = np.asarray(sample_weight, dtype=np.float64)
    indices = random_state.choice(
        data.n_rows, size=n_clusters, replace=False, p=weights / weights.sum()
    )
    return data.rows(indices).astype(data.dtype, copy=False)


def initial_centers(data, X, n_clusters, init, sample_weight, random_state):
    """Centers to start a run from: by name, from a callable, or the given array."""
    if isinstance(init, str) and init == "k-means++":
        return kmeans_plusplus_centers(data, n_clusters, sample_weight, random_state)[0]
    if isinstance(init, str) and init == "random":
        return random_centers(data, n_clusters, sample_weight, random_state)
    if callable(init):
        return init(X, n_clusters, random_state=random_state)
    return np.array(init, dtype=data.dtype, order="C", copy=True)


# ---------------------------------------------------------------------------
# Iterations
# ---------------------------------------------------------------------------


def relocate_empty_clusters(data, sample_weight, labels, min_sq_dist, sums, weights):
    """Give every empty cluster the point farthest from its own center.

    Works on the float64 ``sums``/``weights`` of the update step, in place: the
    point's contribution moves from its old cluster to the empty one, so the next
    centers are the means of the moved partition (labels are fixed by the next
    assignment). Only points with positive weight and positive distance are moved,
    the farthest first and the lowest row index first among equals; a cluster that
    cannot get one (X has fewer distinct points than n_clusters) keeps its previous
    center, never NaN. Returns the number of points moved.
    """
    empty = np.flatnonzero(weights == 0)
    if empty.size == 0:
        return 0
    positive = sample_weight > 0
    distance = np.where(positive, min_sq_dist, -1.0)
    farthest = _farthest_rows(distance, min(empty.size, distance.size))
    # Members of positive weight left in each cluster: a cluster whose last one moves
    # is empty, whatever rounding residue the subtractions leave in its sums.
    members = np.bincount(labels[positive], minlength=weights.size)
    n_moved = 0
    for new_cluster, i in zip(empty, farthest, strict=False):
        if distance[i] <= 0:
            break
        old_cluster = labels[i]
        w = float(sample_weight[i])
        x = np.asarray(data.rows([i])[0], dtype=np.float64)
        members[old_cluster] -= 1
        if members[old_cluster] == 0:
            sums[old_cluster] = 0.0
            weights[old_cluster] = 0.0
        else:
            sums[old_cluster] -= w * x
            weights[old_cluster] -= w
        sums[new_cluster] = w * x
        weights[new_cluster] = w
        n_moved += 1
    return n_moved


def _farthest_rows(distance, n):
    """Indices of the ``n`` largest distances, largest first, lower index first among
    equals (in O(len(distance)) plus a sort of the ``n`` chosen)."""
    cut = np.partition(distance, distance.size - n)[distance.size - n]
    above = np.flatnonzero(distance > cut)
    at_cut = np.flatnonzero(distance == cut)[: n - above.size]
    chosen = np.concatenate([above, at_cut])
    return chosen[np.lexsort((chosen, -distance[chosen]))]


def centers_from_sums(sums, weights, previous_centers):
    """Means from weighted sums; a cluster of zero weight keeps its previous center."""
    centers = previous_centers.copy()
    filled = weights > 0
    centers[filled] = sums[filled] / weights[filled, None]
    return centers


@dataclass
class KMeansRun:
    """What one run of k-means found."""

    centers: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int


def lloyd(data, sample_weight, centers_init, max_iter, tol, verbose=False):
    """Lloyd's iterations from ``centers_init`` until no label changes or the total
    squared center shift is at most ``tol`` (absolute), or ``max_iter`` is reached.

    The returned labels are always the assignment to the returned centers.
    """
    centers = np.array(centers_init, dtype=data.dtype, order="C", copy=True)
    n_clusters = centers.shape[0]
    labels_old = np.full(data.n_rows, -1, dtype=np.int32)
    strict_convergence = False
    for iteration in range(max_iter):
        labels, min_sq_dist, inertia = data.assign_labels(sample_weight, centers)
        sums, weights = data.cluster_sums(sample_weight, labels, n_clusters)
        relocate_empty_clusters(data, sample_weight, labels, min_sq_dist, sums, weights)
        new_centers = centers_from_sums(sums, weights, centers)
        center_shift = float(((new_centers.astype(np.float64) - centers) ** 2).sum())
        if verbose:
            print(f"Iteration {iteration}, inertia {inertia}.")
        centers_moved = not np.array_equal(new_centers, centers)
        centers = new_centers
        if np.array_equal(labels, labels_old):
            strict_convergence = True
            if verbose:
                print(f"Converged at iteration {iteration}: strict convergence.")
            break
        if center_shift <= tol:
            if verbose:
                print(
                    f"Converged at iteration {iteration}: center shift {center_shift} "
                    f"within tolerance {tol}."
                )
            break
        labels_old = labels
    if strict_convergence and not centers_moved:
        # The last assignment was made to the final centers. (After a relocation in
        # the previous iteration they may still move, as the means of the same labels.)
        inertia = data.labelled_inertia(sample_weight, centers, labels)
    else:
        labels, _, inertia = data.assign_labels(sample_weight, centers)
    return KMeansRun(centers=centers, labels=labels, inertia=inertia, n_iter=iteration + 1)


def absolute_tolerance(data, tol):
    """``tol`` scaled by the mean variance of the features, as scikit-learn does."""
    if tol == 0:
        return 0.0
    return float(np.mean(data.column_variances()) * tol)


_THREADPOOLS = None


def blas_limited_to_one_thread():
    """Context in which BLAS runs on one thread, so it never nests inside numba's pool."""
    global _THREADPOOLS
    if _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS.limit(limits=1, user_api="blas")


def fit_kmeans(
    X,
    sample_weight,
    *,
    n_clusters,
    init,
    n_init,
    max_iter,
    tol,
    random_state,
    algorithm="lloyd",
    verbose=False,
):
    """Best of ``n_init`` k-means runs on a validated X.

    X is a C-ordered float32/float64 ndarray or a CSR matrix; ``sample_weight`` an
    array of X's dtype; ``init`` 'k-means++', 'random', a callable or a validated
    (k, d) array; ``random_state`` a ``numpy.random.RandomState``. The run with the
    lowest inertia wins. Warns with ``ConvergenceWarning`` when fewer than
    ``n_clusters`` distinct clusters were found.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    data = engine_data(X)
    with blas_limited_to_one_thread():
        tol = absolute_tolerance(data, tol)
        best = None
        for _ in range(n_init):
            centers = initial_centers(data, X, n_clusters, init, sample_weight, random_state)
            if verbose:
                print("Initialization complete")
            run = lloyd(data, sample_weight, centers, max_iter, tol, verbose)
            if best is None or run.inertia < best.inertia:
                best = run
    n_distinct = count_distinct_labels(best.labels, n_clusters)
    if n_distinct < n_clusters:
        warnings.warn(
            f"Number of distinct clusters ({n_distinct}) found smaller than "
            f"n_clusters ({n_clusters}): X probably has fewer than {n_clusters} distinct "
            "points (duplicate rows). Some centers are duplicates; lower n_clusters.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return best
