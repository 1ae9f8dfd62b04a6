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

#: The median absolute deviation of a Gaussian times this is its standard deviation.
MAD_TO_SD = 1.482602218505602


def has_discrete_columns(X, max_values, sample_rows, rng):
    """Whether some column of ``X`` takes at most ``max_values`` distinct values on a
    uniform sample of ``sample_rows`` rows (all rows of a smaller X) that has more rows
    than that: a one-hot or coded column, along which clusters split by value are apart
    by construction, so a partition's separation says nothing about its K there."""
    n = X.shape[0]
    rows = np.sort(rng.choice(n, sample_rows, replace=False)) if n > sample_rows else slice(None)
    sample = np.asarray(X[rows])
    if sample.shape[0] <= max_values:
        return False
    return any(np.unique(column).size <= max_values for column in sample.T)


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


def _covariances(X, labels, k, sample_weight):
    """Every cluster's (weighted) covariance matrix; None for a cluster without weight."""
    covariances = []
    for i in range(k):
        members = np.flatnonzero(labels == i)
        weights = None if sample_weight is None else sample_weight[members]
        if members.size == 0 or (weights is not None and not weights.sum() > 0):
            covariances.append(None)
            continue
        rows = np.asarray(X[members], dtype=np.float64)
        deviations = rows - np.average(rows, axis=0, weights=weights)
        weighted = deviations if weights is None else deviations * weights[:, None]
        total = members.size if weights is None else weights.sum()
        covariances.append(weighted.T @ deviations / total)
    return covariances


def _weighted_median(values, weights):
    if weights is None:
        return float(np.median(values))
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def _robust_location_scale(values, weights):
    """Median and the scaled median absolute deviation (the sd for a Gaussian)."""
    median = _weighted_median(values, weights)
    return median, MAD_TO_SD * _weighted_median(np.abs(values - median), weights)


def pairwise_separation(X, labels, centers, sample_weight=None):
    """The (n_clusters, n_clusters) matrix of pair separations (inf on the diagonal).

    Each pair is measured along its discriminant direction ``w = (S_i + S_j)^-1 (c_j -
    c_i)`` (S the clusters' covariances): the distance of the two clusters' medians along
    w over the sum of their spreads there (median absolute deviations, scaled to the
    standard deviation of a Gaussian), so that the tail of one cluster that k-means
    gives to its neighbour does not count as spread. The measure is the same whatever
    linear scaling the features had (standardised blobs stay as far apart as before).
    ``labels`` index ``centers``; a cluster with no row of X gives NaN in its row and
    column. ``sample_weight`` weights the medians.
    """
    centers = np.asarray(centers, dtype=np.float64)
    k, d = centers.shape
    covariances = _covariances(X, labels, k, sample_weight)
    members = [np.flatnonzero(labels == i) for i in range(k)]
    separation = np.full((k, k), np.inf)
    for i in range(k):
        for j in range(i + 1, k):
            if covariances[i] is None or covariances[j] is None:
                separation[i, j] = separation[j, i] = np.nan
                continue
            pooled = covariances[i] + covariances[j]
            ridge = 1e-9 * max(np.trace(pooled) / d, np.finfo(np.float64).tiny)
            w = np.linalg.solve(pooled + ridge * np.eye(d), centers[j] - centers[i])
            w /= max(np.linalg.norm(w), np.finfo(np.float64).tiny)
            located = [
                _robust_location_scale(
                    np.asarray(X[rows], dtype=np.float64) @ w,
                    None if sample_weight is None else sample_weight[rows],
                )
                for rows in (members[i], members[j])
            ]
            (median_i, scale_i), (median_j, scale_j) = located
            with np.errstate(divide="ignore", invalid="ignore"):
                value = abs(median_j - median_i) / (scale_i + scale_j)
            separation[i, j] = separation[j, i] = value
    return separation


def worst_pair_separation(X, labels, centers, sample_weight=None):
    """The separation of the partition: its closest pair's (NaN with fewer than 2 clusters)."""
    separation = pairwise_separation(X, labels, centers, sample_weight)
    finite = separation[~np.eye(separation.shape[0], dtype=bool)]
    finite = finite[~np.isnan(finite)]
    return float(finite.min()) if finite.size else np.nan
