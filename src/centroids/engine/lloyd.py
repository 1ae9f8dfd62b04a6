"""Lloyd's iterations, empty-cluster relocation and the convergence rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._kernels.lowd import assign_and_sum_lowd
from ..settings import GEMM_MIN_FEATURES, LOWD_MAX_CLUSTERS, LOWD_MAX_FEATURES
from .data import DenseData, _assignment_buffers, _cluster_sum_buffers, _fused_form


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
    labels_old = np.full(data.n_rows, -1, dtype=np.int32)
    strict_convergence = False
    for iteration in range(max_iter):
        labels, min_sq_dist, inertia, sums, weights = assign_and_sum(data, sample_weight, centers)
        relocate_empty_clusters(data, sample_weight, labels, min_sq_dist, sums, weights)
        # Freed before the next assignment allocates its own (O(n) memory at the peak).
        del min_sq_dist
        new_centers = centers_from_sums(sums, weights, centers)
        center_shift = float(((new_centers.astype(np.float64) - centers) ** 2).sum())
        if verbose:
            print(f"Iteration {iteration}, inertia {inertia}.")
        centers_moved = not np.array_equal(new_centers, centers)
        centers = new_centers
        stop = stopping_rule(
            iteration, np.array_equal(labels, labels_old), center_shift, tol, verbose
        )
        if stop is not None:
            strict_convergence = stop == "strict"
            break
        labels_old = labels
    del labels_old
    if strict_convergence and not centers_moved:
        # The last assignment was made to the final centers. (After a relocation in
        # the previous iteration they may still move, as the means of the same labels.)
        inertia = data.labelled_inertia(sample_weight, centers, labels)
    else:
        del labels  # before the final assignment allocates its own
        # Through the fused kernel the iterations already compiled (bit-identical to
        # assign_labels; its sums are dropped): a first fit in a fresh process then
        # compiles one assignment kernel, not two (issue 16 item 5).
        labels, _, inertia, _, _ = assign_and_sum(data, sample_weight, centers)
    return KMeansRun(centers=centers, labels=labels, inertia=inertia, n_iter=iteration + 1)


def assign_and_sum(data, sample_weight, centers):
    """``data.assign_and_sum`` (labels, min_sq_dist, inertia, sums, weights), through the
    kernel for few features (:mod:`centroids._kernels.lowd`, rows in SIMD lanes) where it
    is faster: dense X with at most ``LOWD_MAX_FEATURES`` features and at most
    ``LOWD_MAX_CLUSTERS`` centers. The same labels and sums as the other kernels (the
    distances below ``GEMM_MIN_FEATURES`` features too; from there on the direct
    float64 ones, where the product kernel reports its own).
    """
    n_clusters, n_features = centers.shape
    if (
        not isinstance(data, DenseData)
        or n_features > LOWD_MAX_FEATURES
        or n_clusters > LOWD_MAX_CLUSTERS
        or data.n_rows == 0
    ):
        return data.assign_and_sum(sample_weight, centers)
    kernel = _fused_form(assign_and_sum_lowd, data, n_clusters)
    if kernel is None:
        return data.assign_and_sum(sample_weight, centers)
    # The dtype of the distances: X's below GEMM_MIN_FEATURES (as the direct kernel),
    # float64 from there on (as the exact distances behind the product kernel).
    distance_dtype = data.dtype if n_features < GEMM_MIN_FEATURES else np.float64
    centers_T = np.ascontiguousarray(np.asarray(centers, dtype=data.dtype).T, dtype=distance_dtype)
    prune = n_features < GEMM_MIN_FEATURES and data.direct_pruning(n_clusters)
    labels, min_sq_dist, chunk_inertia = _assignment_buffers(data)
    sums, weights, scratch = _cluster_sum_buffers(data, n_clusters)
    kernel(
        data.X,
        sample_weight,
        centers_T,
        prune,
        labels,
        min_sq_dist,
        chunk_inertia,
        *scratch,
        sums,
        weights,
    )
    return labels, min_sq_dist, float(chunk_inertia.sum()), sums, weights


def stopping_rule(iteration, labels_unchanged, center_shift, tol, verbose):
    """scikit-learn's convergence rules: ``'strict'`` when no label changed, else
    ``'tolerance'`` when the centers' total squared shift is at most ``tol``, else None
    (go on); says which when ``verbose``."""
    if labels_unchanged:
        if verbose:
            print(f"Converged at iteration {iteration}: strict convergence.")
        return "strict"
    if center_shift <= tol:
        if verbose:
            print(
                f"Converged at iteration {iteration}: center shift {center_shift} "
                f"within tolerance {tol}."
            )
        return "tolerance"
    return None


def absolute_tolerance(data, tol):
    """``tol`` scaled by the mean variance of the features, as scikit-learn does."""
    if tol == 0:
        return 0.0
    return float(np.mean(data.column_variances()) * tol)
