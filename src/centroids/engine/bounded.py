"""Exact accelerated k-means: Hamerly's, Elkan's and Yinyang's iterations.

Each driver takes the arguments of :func:`centroids.engine.lloyd.lloyd` and returns
what it returns: the update step, the empty-cluster relocation and the convergence
rule are Lloyd's; only the assignment step differs, skipping the distances that
bounds prove useless. From the same initial centers the labels, the number of
iterations and the centers are Lloyd's, bit for bit: both choose each label by the
exact (float64) nearest center, Lloyd's matrix-product pass resolving the rows its
rounding cannot tell apart as the bounded passes do. The exception is float32 X
with fewer than ``GEMM_MIN_FEATURES`` features or in CSR form, where Lloyd's direct
or sparse assignment rounds in float32: there the runs can part where two centers
are equally near a row within float32 rounding. When the run
does not end by strict convergence, the final labels and inertia come from Lloyd's
own assignment step (``data.assign_labels``), as :func:`lloyd` computes them.

Bounds are loosened by how far every center moved, however it moved, so an
empty-cluster relocation (a center jumping to a far point) leaves them valid: the
next pass just skips less.

Which to use: Hamerly (O(n) bounds) on dense data from a few dozen clusters on: the
rows of a chunk that fail its bounds take all their distances through one matrix
product, as Lloyd's pass does, so it skips work without paying more per distance.
Elkan (n × k bounds, within ``BOUNDS_MEMORY_BUDGET``) and Yinyang (n × k/10 bounds)
skip more distances but compute the others one by one: they pay on sparse data with
many clusters (see :func:`centroids.engine.choose_algorithm`).
"""

from __future__ import annotations

import math

import numpy as np

from .._kernels import bounded as kernels
from ..settings import BOUNDS_MEMORY_BUDGET
from .data import CSRData, product_error_bound, uses_gemm
from .lloyd import (
    KMeansRun,
    assign_and_sum,
    centers_from_sums,
    relocate_empty_clusters,
    stopping_rule,
)

__all__ = [
    "elkan",
    "elkan_fits_in_budget",
    "hamerly",
    "yinyang",
    "yinyang_groups",
    "yinyang_n_groups",
]

#: Centers per group of Yinyang's center groups.
CENTERS_PER_GROUP = 10

#: Lloyd iterations used to group the initial centers for Yinyang.
GROUPING_ITERATIONS = 5


class _Pass:
    """The data-side state shared by the three algorithms: X as a ``rows`` tuple, the
    labels and the bookkeeping of one assignment pass."""

    def __init__(self, data, n_clusters):
        self.data = data
        self.n_clusters = n_clusters
        self.sparse = isinstance(data, CSRData)
        if self.sparse:
            X = data.X
            self.rows = (X.data, X.indices, X.indptr, data.x_sq_norms)
        else:
            self.rows = (data.X, data.x_sq_norms)
        self.labels = np.zeros(data.n_rows, dtype=np.int32)
        n_chunks = kernels.n_chunks(data.n_rows)
        self.chunk_changed = np.zeros(n_chunks, dtype=np.int64)
        self.chunk_distances = np.zeros(n_chunks, dtype=np.int64)
        if self.sparse:
            self.slack = (0.0, 0.0)
        else:
            self.slack = product_error_bound(data.dtype, data.n_features)

    def center_arrays(self, centers):
        """(centers transposed, float64 C-ordered; their squared norms, float64)."""
        centers64 = centers.astype(np.float64)
        return np.ascontiguousarray(centers64.T), np.einsum("ij,ij->i", centers64, centers64)

    def full_pass(self, centers, c_sq_norms):
        """How a pass takes all the distances of a row (see ``rows_sq_dists``): the centers
        transposed in X's dtype, the product's error bound and the largest ||c||²."""
        centers_t_x = np.ascontiguousarray(centers.T, dtype=self.data.dtype)
        use_product = not self.sparse and uses_gemm(self.data.n_features, self.n_clusters)
        return (centers_t_x, *self.slack, float(c_sq_norms.max()), use_product)

    def kernel(self, kernel, full):
        """The serial or parallel form of ``kernel`` for a full or a bounded pass."""
        per_row = self.n_clusters if full else 4
        return kernel.for_work(self.data.row_work * per_row)

    def counts(self):
        return int(self.chunk_changed.sum()), int(self.chunk_distances.sum())

    def labelled_sq_distances(self, centers):
        _, c_sq_norms = self.center_arrays(centers)
        out = np.empty(self.data.n_rows)
        kernels.labelled_sq_distances.for_work(self.data.row_work)(
            self.rows, centers, c_sq_norms, self.labels, out
        )
        return out


class _Hamerly(_Pass):
    def __init__(self, data, n_clusters):
        super().__init__(data, n_clusters)
        self.upper = np.zeros(data.n_rows)
        self.lower = np.zeros(data.n_rows)

    def assign(self, centers, center_shift, full):
        centers_t, c_sq_norms = self.center_arrays(centers)
        half_nearest = np.empty(self.n_clusters)
        kernels.half_distance_to_nearest_center.for_work(centers.size * self.n_clusters)(
            centers, half_nearest
        )
        self.kernel(kernels.hamerly_pass, full)(
            self.rows,
            centers,
            centers_t,
            c_sq_norms,
            center_shift,
            half_nearest,
            full,
            self.full_pass(centers, c_sq_norms),
            self.labels,
            self.upper,
            self.lower,
            self.chunk_changed,
            self.chunk_distances,
        )
        return self.counts()


class _Elkan(_Pass):
    def __init__(self, data, n_clusters):
        super().__init__(data, n_clusters)
        self.upper = np.zeros(data.n_rows)
        self.lower = np.zeros((data.n_rows, n_clusters))
        self.total_shift = np.zeros(n_clusters)

    def assign(self, centers, center_shift, full):
        centers_t, c_sq_norms = self.center_arrays(centers)
        if full:
            self.total_shift[:] = 0.0
        else:
            self.total_shift += center_shift
        center_distances = np.empty((self.n_clusters, self.n_clusters))
        kernels.center_distance_matrix.for_work(centers.size * self.n_clusters)(
            centers, center_distances
        )
        half_nearest = np.full(self.n_clusters, np.inf)
        if self.n_clusters > 1:
            masked = center_distances + np.diag(np.full(self.n_clusters, np.inf))
            half_nearest = 0.5 * masked.min(axis=1)
        self.kernel(kernels.elkan_pass, full)(
            self.rows,
            centers,
            centers_t,
            c_sq_norms,
            center_shift,
            self.total_shift,
            half_nearest,
            center_distances,
            full,
            self.full_pass(centers, c_sq_norms),
            self.labels,
            self.upper,
            self.lower,
            self.chunk_changed,
            self.chunk_distances,
        )
        return self.counts()


class _Yinyang(_Pass):
    def __init__(self, data, n_clusters, centers_init):
        super().__init__(data, n_clusters)
        n_groups = yinyang_n_groups(data.n_rows, n_clusters)
        self.group_of = yinyang_groups(centers_init, n_groups)
        n_groups = int(self.group_of.max()) + 1
        self.group_members = np.argsort(self.group_of, kind="stable").astype(np.int64)
        self.group_starts = np.zeros(n_groups + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.group_of, minlength=n_groups), out=self.group_starts[1:])
        self.upper = np.zeros(data.n_rows)
        self.lower = np.zeros((data.n_rows, n_groups))

    def assign(self, centers, center_shift, full):
        centers_t, c_sq_norms = self.center_arrays(centers)
        group_shift = np.maximum.reduceat(
            center_shift[self.group_members], self.group_starts[:-1]
        ).astype(np.float64)
        self.kernel(kernels.yinyang_pass, full)(
            self.rows,
            centers,
            centers_t,
            c_sq_norms,
            center_shift,
            self.group_of,
            self.group_members,
            self.group_starts,
            group_shift,
            full,
            self.full_pass(centers, c_sq_norms),
            self.labels,
            self.upper,
            self.lower,
            self.chunk_changed,
            self.chunk_distances,
        )
        return self.counts()


def elkan_fits_in_budget(n_rows, n_clusters):
    """Whether Elkan's ``n_rows × n_clusters`` float64 lower bounds fit in
    ``BOUNDS_MEMORY_BUDGET``."""
    return n_rows * n_clusters * 8 <= BOUNDS_MEMORY_BUDGET


def yinyang_n_groups(n_rows, n_clusters):
    """Number of Yinyang center groups: about one per ``CENTERS_PER_GROUP`` centers,
    fewer when ``n_rows × groups`` float64 bounds would exceed ``BOUNDS_MEMORY_BUDGET``."""
    wanted = math.ceil(n_clusters / CENTERS_PER_GROUP)
    affordable = BOUNDS_MEMORY_BUDGET // (8 * max(n_rows, 1))
    return int(max(1, min(wanted, affordable, n_clusters)))


def yinyang_groups(centers, n_groups):
    """Group of each center (int64, groups numbered 0.. without gaps) by a few
    deterministic Lloyd iterations over the centers themselves.

    The group centers start at evenly spaced centers; groups that end up empty are
    dropped and the others renumbered in order.
    """
    centers = np.asarray(centers, dtype=np.float64)
    k = centers.shape[0]
    group_centers = centers[np.linspace(0, k - 1, n_groups).round().astype(np.int64)]
    group_of = np.zeros(k, dtype=np.int64)
    for _ in range(GROUPING_ITERATIONS):
        # ||c||² is the same for every group: argmin of ||g||² - 2 c·g.
        scores = (group_centers**2).sum(axis=1)[None, :] - 2.0 * centers @ group_centers.T
        group_of = np.argmin(scores, axis=1)
        for g in range(n_groups):
            members = group_of == g
            if members.any():
                group_centers[g] = centers[members].mean(axis=0)
    _, group_of = np.unique(group_of, return_inverse=True)
    return group_of.astype(np.int64)


def _iterate(state, data, sample_weight, centers_init, max_iter, tol, verbose, distance_counts):
    """Lloyd's outer loop over the bounded assignment passes of ``state``."""
    centers = np.array(centers_init, dtype=data.dtype, order="C", copy=True)
    n_clusters = centers.shape[0]
    center_shift = np.zeros(n_clusters)
    strict_convergence = False
    centers_moved = True
    for iteration in range(max_iter):
        n_changed, n_distances = state.assign(centers, center_shift, full=iteration == 0)
        if distance_counts is not None:
            distance_counts.append(n_distances)
        labels = state.labels
        sums, weights = data.cluster_sums(sample_weight, labels, n_clusters)
        if np.any(weights == 0):
            min_sq_dist = state.labelled_sq_distances(centers)
            relocate_empty_clusters(data, sample_weight, labels, min_sq_dist, sums, weights)
        new_centers = centers_from_sums(sums, weights, centers)
        sq_shift = (new_centers.astype(np.float64) - centers) ** 2
        total_shift = float(sq_shift.sum())
        center_shift = np.sqrt(sq_shift.sum(axis=1))
        if verbose:
            inertia = data.labelled_inertia(sample_weight, centers, labels)
            print(f"Iteration {iteration}, inertia {inertia}.")
        centers_moved = not np.array_equal(new_centers, centers)
        centers = new_centers
        stop = stopping_rule(iteration, iteration > 0 and n_changed == 0, total_shift, tol, verbose)
        if stop is not None:
            strict_convergence = stop == "strict"
            break
    if strict_convergence and not centers_moved:
        # The last assignment was made to the final centers.
        labels = state.labels.copy()
        inertia = data.labelled_inertia(sample_weight, centers, labels)
    else:
        # Lloyd's own final assignment (the kernel Lloyd's passes choose, whose distances
        # are direct or product ones), so labels and inertia are exactly Lloyd's.
        labels, _, inertia, _, _ = assign_and_sum(data, sample_weight, centers)
        if distance_counts is not None:
            distance_counts.append(data.n_rows * n_clusters)
    return KMeansRun(centers=centers, labels=labels, inertia=inertia, n_iter=iteration + 1)


def hamerly(
    data, sample_weight, centers_init, max_iter, tol, verbose=False, *, distance_counts=None
):
    """k-means by Hamerly's iterations: one upper and one lower bound per row.

    Same arguments, result and convergence rule as :func:`centroids.engine.lloyd.lloyd`.
    Extra memory O(n). Best with few features (d up to ~20) or few clusters.

    Parameters
    ----------
    distance_counts : list or None
        When a list, the number of point-center distances computed by each
        assignment pass is appended to it (Lloyd computes ``n × k`` per pass).
    """
    state = _Hamerly(data, np.shape(centers_init)[0])
    return _iterate(
        state, data, sample_weight, centers_init, max_iter, tol, verbose, distance_counts
    )


def elkan(data, sample_weight, centers_init, max_iter, tol, verbose=False, *, distance_counts=None):
    """k-means by Elkan's iterations: a lower bound per row and center.

    Same arguments and result as :func:`hamerly`. Extra memory ``n × k`` float64 plus
    ``k × k``; when the bounds would exceed ``BOUNDS_MEMORY_BUDGET`` (see
    :func:`elkan_fits_in_budget`) it runs :func:`yinyang` instead, which gives the
    same result in less memory.
    """
    n_clusters = np.shape(centers_init)[0]
    if not elkan_fits_in_budget(data.n_rows, n_clusters):
        return yinyang(
            data,
            sample_weight,
            centers_init,
            max_iter,
            tol,
            verbose,
            distance_counts=distance_counts,
        )
    state = _Elkan(data, n_clusters)
    return _iterate(
        state, data, sample_weight, centers_init, max_iter, tol, verbose, distance_counts
    )


def yinyang(
    data, sample_weight, centers_init, max_iter, tol, verbose=False, *, distance_counts=None
):
    """k-means by Yinyang iterations (Ding et al., 2015): a lower bound per row and
    group of about ``CENTERS_PER_GROUP`` centers, the groups formed by clustering the
    initial centers.

    Same arguments and result as :func:`hamerly`. Extra memory ``n × groups`` float64,
    within ``BOUNDS_MEMORY_BUDGET`` (fewer groups for large n). Best with many clusters.
    """
    state = _Yinyang(data, np.shape(centers_init)[0], centers_init)
    return _iterate(
        state, data, sample_weight, centers_init, max_iter, tol, verbose, distance_counts
    )
