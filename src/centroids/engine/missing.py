"""K-means on rows with missing entries (NaN): k-POD and the masked distance.

Two ways to cluster a dense X whose holes are NaN, without imputing them first:

``'kpod'``
    k-POD (Chi, Chi & Baraniuk, 2016). Fill the holes with the column means, run
    k-means; then alternate filling every hole from the center of its row (the nearest
    over the row's observed entries) and a k-means run from the current centers, until
    the observed inertia stops falling. Each round cannot raise
    ``Σ_i w_i Σ_{j observed} (x_ij - c_{l(i), j})²``, the inertia over the observed
    entries, which is what k-POD minimises (a majorization-minimization scheme).
``'masked'``
    Lloyd's iterations in which the distance of a row to a center is computed over the
    row's observed entries only and rescaled by the inverse of the fraction observed,
    ``d / |O_i|`` (so rows with many holes are not artificially close to everything),
    and each center coordinate is the (weight × scale)-weighted mean of the values
    observed in that coordinate among the cluster's rows: the exact minimiser of the
    rescaled objective, so the iterations descend it. Seeding is k-means++ with the
    same distance.

Both assume the entries are missing at random given the cluster (the chance that a
value is missing may depend on the cluster, not on the value itself). k-POD is not
consistent under every missingness pattern (Terada & Guan, 2024): when values are
missing not at random its centers are biased, as every method that ignores the
missingness mechanism. Prior validation is assumed: X is a C-ordered float32/float64
ndarray whose only non-finite values are NaN, no row is entirely NaN, no column is.
"""

from __future__ import annotations

import math

import numpy as np

from .._kernels import masked as kernels
from .._kernels.dense import n_chunks
from .driver import blas_limited_to_one_thread, fit_kmeans
from .lloyd import KMeansRun

#: The options of the estimators' ``missing`` parameter.
MISSING_OPTIONS = ("error", "kpod", "masked")

#: Most rounds of fill + k-means run by k-POD (each round's k-means run has its own
#: ``max_iter``); the rounds stop earlier when the observed inertia stops falling.
KPOD_MAX_ROUNDS = 100

#: k-POD stops when a round lowers the observed inertia by less than this fraction.
KPOD_RELATIVE_TOL = 1e-6


def missing_mask(X):
    """Boolean (n, d) mask of the NaN entries of a dense X."""
    return np.isnan(X)


def check_holes(X, where, feature_names=None):
    """ValueError when a row or a column of X has no observed value; the rows with holes.

    A row with nothing observed has no distance to any center; a column with nothing
    observed gives no center coordinate. Returns the indices of the rows that have at
    least one NaN.
    """
    mask = missing_mask(X)
    per_row = mask.sum(axis=1)
    empty_rows = np.flatnonzero(per_row == X.shape[1])
    if empty_rows.size:
        raise ValueError(
            f"X passed to {where} has row {int(empty_rows[0])} with every feature missing "
            f"(NaN) ({empty_rows.size} such row(s)); a row needs at least one observed "
            "value to be clustered. Drop those rows or impute them."
        )
    if where == "fit" or where == "partial_fit":
        per_column = mask.sum(axis=0)
        empty_columns = np.flatnonzero(per_column == X.shape[0])
        if empty_columns.size and X.shape[0] > 1:
            column = int(empty_columns[0])
            label = (
                f"column {feature_names[column]!r} (index {column})"
                if feature_names is not None
                else f"column {column}"
            )
            raise ValueError(
                f"X passed to {where} has every value of {label} missing (NaN); a feature "
                "with no observed value cannot place a center. Drop that column."
            )
    return np.flatnonzero(per_row)


def observed_column_means(X, sample_weight):
    """Weighted mean of each column over its observed entries (float64; 0 where none)."""
    mask = ~missing_mask(X)
    weights = np.asarray(sample_weight, dtype=np.float64)[:, None] * mask
    totals = weights.sum(axis=0)
    sums = np.where(mask, X, 0).astype(np.float64).T @ np.asarray(sample_weight, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / totals
    return np.where(totals > 0, means, 0.0)


def observed_tolerance(X, tol):
    """``tol`` scaled by the mean observed variance of the features (as for full data)."""
    if tol == 0:
        return 0.0
    with np.errstate(invalid="ignore"):
        variances = np.nanvar(X, axis=0, dtype=np.float64)
    return float(np.nanmean(variances) * tol) if np.isfinite(variances).any() else 0.0


def masked_assign_labels(X, sample_weight, centers, *, scaled):
    """(labels, squared distances, inertia) of X to ``centers`` over observed entries."""
    n = X.shape[0]
    labels = np.empty(n, dtype=np.int32)
    min_sq_dist = np.empty(n, dtype=np.float64)
    chunk_inertia = np.empty(n_chunks(n), dtype=np.float64)
    centers = np.ascontiguousarray(centers, dtype=X.dtype)
    kernel = kernels.masked_assign.for_work(n * centers.shape[0] * X.shape[1])
    kernel(X, sample_weight, centers, scaled, labels, min_sq_dist, chunk_inertia)
    return labels, min_sq_dist, float(chunk_inertia.sum())


def masked_sq_distances(X, centers, *, scaled):
    """(n, k) float64 squared distances of X to ``centers`` over observed entries."""
    out = np.empty((X.shape[0], centers.shape[0]), dtype=np.float64)
    centers = np.ascontiguousarray(centers, dtype=X.dtype)
    kernel = kernels.masked_sq_distances.for_work(X.shape[0] * centers.shape[0] * X.shape[1])
    kernel(X, centers, scaled, out)
    return out


def complete_rows(X, centers, labels, rows, out=None):
    """X with the holes of ``rows`` filled from ``centers[labels]`` (into ``out`` if given)."""
    if out is None:
        out = np.array(X, order="C", copy=True)
    kernels.fill_from_centers(
        X, np.asarray(rows, dtype=np.int64), labels, centers.astype(X.dtype, copy=False), out
    )
    return out


def fill_with_means(X, means):
    """A copy of X with every NaN replaced by its column's value in ``means``."""
    filled = np.array(X, order="C", copy=True)
    holes = np.isnan(filled)
    filled[holes] = np.broadcast_to(means.astype(X.dtype), X.shape)[holes]
    return filled


def fit_kpod(
    X,
    sample_weight,
    *,
    n_clusters,
    init,
    n_init,
    max_iter,
    tol,
    random_state,
    algorithm="auto",
    refine="auto",
    verbose=False,
):
    """k-POD on a validated X with holes; a :class:`KMeansRun` over the observed entries.

    The first k-means run (``n_init`` seedings, ``refine``) is on X with its holes
    filled with the weighted column means; the later rounds start from the current
    centers. ``inertia`` is the weighted squared distance over observed entries and
    ``n_iter`` the number of rounds; labels are the nearest center over observed entries.
    """
    rows = np.flatnonzero(np.isnan(X).any(axis=1))
    filled = fill_with_means(X, observed_column_means(X, sample_weight))
    run = fit_kmeans(
        filled,
        sample_weight,
        n_clusters=n_clusters,
        init=init,
        n_init=n_init,
        max_iter=max_iter,
        tol=tol,
        random_state=random_state,
        algorithm=algorithm,
        refine=refine,
        verbose=verbose,
    )
    with blas_limited_to_one_thread():
        labels, _, inertia = masked_assign_labels(X, sample_weight, run.centers, scaled=False)
    centers = run.centers
    n_rounds = 1
    while rows.size and n_rounds < KPOD_MAX_ROUNDS:
        complete_rows(X, centers, labels, rows, out=filled)
        run = fit_kmeans(
            filled,
            sample_weight,
            n_clusters=n_clusters,
            init=centers,
            n_init=1,
            max_iter=max_iter,
            tol=tol,
            random_state=random_state,
            algorithm=algorithm,
            refine=False,
            verbose=verbose,
        )
        with blas_limited_to_one_thread():
            new_labels, _, new_inertia = masked_assign_labels(
                X, sample_weight, run.centers, scaled=False
            )
        n_rounds += 1
        if verbose:
            print(f"k-POD round {n_rounds}: observed inertia {new_inertia}")
        if not new_inertia < inertia:
            break  # a round that does not lower the objective is not kept
        gain = inertia - new_inertia
        centers, labels, inertia = run.centers, new_labels, new_inertia
        if gain <= KPOD_RELATIVE_TOL * inertia:
            break
    return KMeansRun(centers=centers, labels=labels, inertia=inertia, n_iter=n_rounds)


def masked_kmeans_plusplus(X, sample_weight, n_clusters, random_state, means, n_local_trials=None):
    """Greedy k-means++ under the scaled observed distance; centers have no holes.

    Rows are drawn with probability proportional to weight × distance (a row of weight
    0 is never drawn); of ``n_local_trials`` (default ``2 + ln k``) candidates per step
    the one that lowers the weighted potential most is kept. A drawn row's holes are
    filled with the column ``means``.
    """
    n = X.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(math.log(n_clusters))
    weights = np.asarray(sample_weight, dtype=np.float64)
    centers = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)
    filled_row = lambda i: np.where(np.isnan(X[i]), means, X[i])  # noqa: E731
    first = random_state.choice(n, p=weights / weights.sum())
    centers[0] = filled_row(first)
    closest = masked_sq_distances(X, centers[:1], scaled=True)[:, 0]
    for c in range(1, n_clusters):
        potential = weights * closest
        total = potential.sum()
        if total <= 0:
            # Every weighted row sits on a center: repeat rows of positive weight.
            candidates = random_state.choice(n, size=n_local_trials, p=weights / weights.sum())
        else:
            cumulative = np.cumsum(potential)
            draws = random_state.uniform(size=n_local_trials) * cumulative[-1]
            candidates = np.minimum(np.searchsorted(cumulative, draws), n - 1)
        candidate_centers = np.array([filled_row(i) for i in candidates], dtype=X.dtype)
        distances = masked_sq_distances(X, candidate_centers, scaled=True)
        new_closest = np.minimum(closest[:, None], distances)
        best = int(np.argmin(weights @ new_closest))
        centers[c] = candidate_centers[best]
        closest = new_closest[:, best]
    return centers


def _masked_initial_centers(X, sample_weight, n_clusters, init, random_state, means):
    if isinstance(init, str):
        if init == "random":
            positive = np.flatnonzero(sample_weight > 0)
            p = sample_weight[positive] / sample_weight[positive].sum()
            chosen = random_state.choice(positive, size=n_clusters, replace=False, p=p)
            return fill_with_means(X[np.sort(chosen)], means)
        return masked_kmeans_plusplus(X, sample_weight, n_clusters, random_state, means)
    if callable(init):
        return init(fill_with_means(X, means), n_clusters, random_state=random_state)
    return np.array(init, dtype=X.dtype, order="C", copy=True)


def masked_lloyd(X, sample_weight, centers_init, max_iter, tol, verbose=False):
    """Lloyd's iterations under the scaled observed distance from ``centers_init``."""
    centers = np.array(centers_init, dtype=np.float64, order="C", copy=True)
    n_clusters, n_features = centers.shape
    sums = np.empty((n_clusters, n_features))
    totals = np.empty((n_clusters, n_features))
    labels = None
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        new_labels, min_sq_dist, inertia = masked_assign_labels(
            X, sample_weight, centers, scaled=True
        )
        if verbose:
            print(f"Iteration {n_iter - 1}, inertia {inertia}.")
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        kernels.masked_cluster_sums(X, sample_weight, labels, True, sums, totals)
        _relocate_empty(X, sample_weight, labels, min_sq_dist, sums, totals)
        with np.errstate(invalid="ignore", divide="ignore"):
            new_centers = np.where(totals > 0, sums / totals, centers)
        shift = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        if shift <= tol:
            break
    labels, _, inertia = masked_assign_labels(X, sample_weight, centers, scaled=True)
    return KMeansRun(centers=centers.astype(X.dtype), labels=labels, inertia=inertia, n_iter=n_iter)


def _relocate_empty(X, sample_weight, labels, min_sq_dist, sums, totals):
    """Give each cluster without weight the farthest row of positive weight (in place)."""
    empty = np.flatnonzero(totals.sum(axis=1) == 0)
    if empty.size == 0:
        return
    distance = np.where(sample_weight > 0, min_sq_dist, -1.0)
    order = np.argsort(-distance, kind="stable")[: empty.size]
    for cluster, i in zip(empty, order, strict=False):
        if distance[i] <= 0:
            break
        observed = ~np.isnan(X[i])
        w = float(sample_weight[i]) * X.shape[1] / observed.sum()
        old = labels[i]
        sums[old, observed] -= w * X[i, observed]
        totals[old, observed] -= w
        sums[cluster] = 0.0
        totals[cluster] = 0.0
        sums[cluster, observed] = w * X[i, observed]
        totals[cluster, observed] = w
        labels[i] = cluster


def fit_masked(
    X,
    sample_weight,
    *,
    n_clusters,
    init,
    n_init,
    max_iter,
    tol,
    random_state,
    verbose=False,
):
    """Best of ``n_init`` masked k-means runs on a validated X with holes.

    'k-means++', 'k-means||' and 'afk-mc2' all seed by greedy k-means++ under the
    masked distance; 'random' draws distinct rows ∝ weight; a callable is called on X
    with its holes filled by the column means. Holes of a seed row are filled with the
    column means. ``inertia`` is the scaled observed inertia.
    """
    means = observed_column_means(X, sample_weight)
    tol = observed_tolerance(X, tol)
    best = None
    with blas_limited_to_one_thread():
        for _ in range(n_init):
            centers = _masked_initial_centers(
                X, sample_weight, n_clusters, init, random_state, means
            )
            run = masked_lloyd(X, sample_weight, centers, max_iter, tol, verbose)
            if best is None or run.inertia < best.inertia:
                best = run
    return best


def predict_with_holes(X, centers, missing):
    """Labels of rows with holes: the nearest center over each row's observed entries."""
    ones = np.ones(X.shape[0], dtype=X.dtype)
    with blas_limited_to_one_thread():
        labels, _, _ = masked_assign_labels(X, ones, centers, scaled=missing == "masked")
    return labels


def transform_with_holes(X, centers, missing):
    """Distances of rows with holes to every center.

    'masked': the rescaled distance over observed entries. 'kpod': the Euclidean
    distance of the row completed from its nearest center (the row k-POD clusters).
    """
    with blas_limited_to_one_thread():
        if missing == "masked":
            return np.sqrt(masked_sq_distances(X, centers, scaled=True))
        sq = masked_sq_distances(X, centers, scaled=False)
        labels = np.argmin(sq, axis=1).astype(np.int32)
        holes = np.isnan(X)
        for c in range(centers.shape[0]):
            # The filled entries are centers[labels]; add their squared gap to center c.
            gap = (centers[labels].astype(np.float64) - centers[c]) ** 2
            sq[:, c] += np.where(holes, gap, 0.0).sum(axis=1)
        return np.sqrt(sq)


def score_with_holes(X, sample_weight, centers, missing):
    """Opposite of the (observed or scaled) inertia of rows with holes."""
    with blas_limited_to_one_thread():
        _, _, inertia = masked_assign_labels(X, sample_weight, centers, scaled=missing == "masked")
    return -inertia


def has_holes(X):
    """Whether a validated X is dense and holds a NaN."""
    return isinstance(X, np.ndarray) and bool(np.isnan(X).any())


def fit_with_holes(missing, X, sample_weight, *, algorithm="auto", refine="auto", **run_options):
    """One fit of a validated X with holes under ``missing`` ('kpod' or 'masked')."""
    if missing == "kpod":
        return fit_kpod(X, sample_weight, algorithm=algorithm, refine=refine, **run_options)
    return fit_masked(X, sample_weight, **run_options)
