"""How far apart the clusters of a partition are, each pair along the line of its centers.

For two clusters i and j with centers c_i and c_j, project the rows of each onto the unit
vector u from c_i to c_j: the pair's separation is ``|c_j - c_i| / (s_i + s_j)``, where
``s_i`` is the standard deviation of cluster i's projected rows. Two Gaussian blobs
``m`` spreads apart (m times the sum of their standard deviations) score about m; the two
halves of one cluster cut by k-means score far less whatever the cluster's shape: 1.32
for a Gaussian cut in two, 1.73 for a uniform interval (the flattest unimodal shape). So
a partition whose every pair scores above 2 has cut no cluster in two: the partition's
separation is its worst pair's.
"""

from __future__ import annotations

import numpy as np


def sampled_rows_per_cluster(labels, n_clusters, rows, min_per_cluster, rng):
    """Sorted rows: a uniform sample of every cluster, its share of ``rows`` but at least
    ``min_per_cluster`` (all rows of a smaller cluster); every row where that is all."""
    n = labels.shape[0]
    if n <= rows:
        return np.arange(n)
    counts = np.bincount(labels, minlength=n_clusters)
    take = np.minimum(counts, np.maximum(min_per_cluster, np.ceil(rows * counts / n)))
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)))
    kept = [
        order[starts[c] : starts[c + 1]][rng.permutation(counts[c])[: int(take[c])]]
        for c in range(n_clusters)
    ]
    return np.sort(np.concatenate(kept))


def pairwise_separation(X, labels, centers, sample_weight=None):
    """The (n_clusters, n_clusters) matrix of pair separations (inf on the diagonal).

    ``labels`` index ``centers``; a cluster with no row of X gives NaN in its row and
    column. ``sample_weight`` weights the projected spreads.
    """
    centers = np.asarray(centers, dtype=np.float64)
    k = centers.shape[0]
    spreads = np.full((k, k), np.nan)
    for i in range(k):
        members = np.flatnonzero(labels == i)
        if members.size == 0:
            continue
        directions = centers - centers[i]
        lengths = np.linalg.norm(directions, axis=1)
        directions /= np.where(lengths > 0, lengths, 1.0)[:, None]
        projected = np.asarray(X[members], dtype=np.float64) @ directions.T
        weights = None if sample_weight is None else sample_weight[members]
        if weights is not None and not weights.sum() > 0:
            continue
        mean = np.average(projected, axis=0, weights=weights)
        spreads[i] = np.sqrt(np.average((projected - mean) ** 2, axis=0, weights=weights))
    gaps = np.linalg.norm(centers[:, None, :] - centers[None, :, :], axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        separation = gaps / (spreads + spreads.T)
    np.fill_diagonal(separation, np.inf)
    return separation


def worst_pair_separation(X, labels, centers, sample_weight=None):
    """The separation of the partition: its closest pair's (NaN with fewer than 2 clusters)."""
    separation = pairwise_separation(X, labels, centers, sample_weight)
    finite = separation[~np.eye(separation.shape[0], dtype=bool)]
    finite = finite[~np.isnan(finite)]
    return float(finite.min()) if finite.size else np.nan
