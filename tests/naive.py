"""Slow, obvious NumPy references for the kernels and the engine.

Everything here is computed in float64 with full ``n × k`` matrices and plain loops,
so that it is easy to check by reading. The fast code in ``centroids`` is compared
with these functions on small random data.
"""

import numpy as np
import scipy.sparse as sp


def as_dense64(X):
    """X (ndarray or sparse matrix) as a dense float64 array."""
    if sp.issparse(X):
        X = X.toarray()
    return np.asarray(X, dtype=np.float64)


def sq_distances(X, centers):
    """D[i, c] = ||X[i] - centers[c]||², float64, full n × k matrix."""
    X = as_dense64(X)
    centers = np.asarray(centers, dtype=np.float64)
    return ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)


def nearest_centers(X, centers):
    """Labels (argmin, lowest index on ties) and the squared distance to the chosen center."""
    D = sq_distances(X, centers)
    labels = np.argmin(D, axis=1)
    return labels, D[np.arange(D.shape[0]), labels]


def inertia(X, sample_weight, centers, labels):
    """Σ w_i ||X[i] - centers[labels[i]]||²."""
    D = sq_distances(X, centers)
    return float(np.sum(np.asarray(sample_weight, dtype=np.float64) * D[np.arange(len(D)), labels]))


def cluster_sums(X, sample_weight, labels, n_clusters):
    """(sums, weights): sums[c] = Σ_{labels[i]=c} w_i X[i], weights[c] = Σ_{labels[i]=c} w_i."""
    X = as_dense64(X)
    w = np.asarray(sample_weight, dtype=np.float64)
    sums = np.zeros((n_clusters, X.shape[1]))
    weights = np.zeros(n_clusters)
    for c in range(n_clusters):
        members = labels == c
        sums[c] = (w[members, None] * X[members]).sum(axis=0)
        weights[c] = w[members].sum()
    return sums, weights


def cluster_means(X, sample_weight, labels, previous_centers):
    """Weighted mean of each cluster; a cluster of zero weight keeps its previous center."""
    previous_centers = np.asarray(previous_centers, dtype=np.float64)
    sums, weights = cluster_sums(X, sample_weight, labels, previous_centers.shape[0])
    means = previous_centers.copy()
    for c in range(len(weights)):
        if weights[c] > 0:
            means[c] = sums[c] / weights[c]
    return means


def column_variances(X):
    """Population variance of every column, float64."""
    return np.var(as_dense64(X), axis=0)


def candidate_potential(X, sample_weight, closest_sq_dist, candidate):
    """k-means++ potential Σ w_i min(closest_sq_dist[i], ||X[i] - candidate||²)."""
    d = sq_distances(X, np.asarray(candidate)[None, :])[:, 0]
    w = np.asarray(sample_weight, dtype=np.float64)
    return float(np.sum(w * np.minimum(closest_sq_dist, d)))


def first_nonfinite(X):
    """(row, column) of the first NaN or infinity in row-major order, or (-1, -1)."""
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if not np.isfinite(X[i, j]):
                return i, j
    return -1, -1


def relabel_by_first_appearance(labels):
    """Labels renamed 0, 1, 2, ... in the order in which they first appear."""
    mapping = {}
    return np.array([mapping.setdefault(int(label), len(mapping)) for label in labels])


def partition(labels):
    """The partition a labeling describes: a frozenset of frozensets of row indices."""
    groups = {}
    for i, label in enumerate(np.asarray(labels).tolist()):
        groups.setdefault(label, set()).add(i)
    return frozenset(frozenset(group) for group in groups.values())


def relocated_labels(sample_weight, labels, min_sq_dist, n_clusters):
    """Labels after giving every empty cluster the farthest point (see engine docstring).

    Empty clusters, in increasing index order, take the positive-weight points in
    decreasing order of distance to their own center (lower row index first among
    equal distances), as long as that distance is positive.
    """
    labels = np.array(labels, copy=True)
    w = np.asarray(sample_weight, dtype=np.float64)
    sizes = np.array([w[labels == c].sum() for c in range(n_clusters)])
    empty = [c for c in range(n_clusters) if sizes[c] == 0]
    candidates = sorted(
        (i for i in range(len(labels)) if w[i] > 0), key=lambda i: (-min_sq_dist[i], i)
    )
    for new_cluster, i in zip(empty, candidates, strict=False):
        if min_sq_dist[i] <= 0:
            break
        labels[i] = new_cluster
    return labels


def lloyd(X, sample_weight, centers_init, max_iter, tol):
    """Plain Lloyd: assign, relocate empty clusters, take means; repeat.

    Stops when no label changes from one iteration to the next, or when the total
    squared shift of the centers is at most ``tol``, or after ``max_iter``
    iterations. Centers are kept in X's dtype between iterations (as the engine
    does); all arithmetic is float64. Returns ``(centers, labels, inertia, n_iter)``
    where ``labels`` is the assignment to the returned ``centers``.
    """
    dtype = X.dtype
    centers = np.array(centers_init, dtype=dtype)
    n_clusters = centers.shape[0]
    labels_old = None
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        labels, min_sq_dist = nearest_centers(X, centers)
        moved = relocated_labels(sample_weight, labels, min_sq_dist, n_clusters)
        new_centers = cluster_means(X, sample_weight, moved, centers).astype(dtype)
        shift = float(((new_centers.astype(np.float64) - centers.astype(np.float64)) ** 2).sum())
        centers = new_centers
        if labels_old is not None and np.array_equal(labels, labels_old):
            break
        if shift <= tol:
            break
        labels_old = labels
    labels, _ = nearest_centers(X, centers)
    return centers, labels, inertia(X, sample_weight, centers, labels), n_iter


# Two candidate potentials closer than this (relative) count as a tie: summed in another
# order they can come out in either order, so either choice is right.
TIE_RTOL = 1e-9


def kmeans_plusplus(
    X, n_clusters, sample_weight, random_state, n_local_trials=None, *, ties=None, choose=None
):
    """Greedy k-means++ with the draw protocol the engine documents.

    First center: a row drawn with probability ∝ w. Every next center: draw
    ``n_local_trials`` candidates by inverting the cumulative distribution of
    ``w_i D(x_i)²`` at ``uniform() × total`` (a row of zero mass is never drawn);
    keep the candidate of lowest potential (first on ties). Returns ``(centers, indices)``.

    ``ties`` (a list) receives, per chosen center, the set of candidates whose potential
    is within :data:`TIE_RTOL` of the lowest; ``choose`` (dict: center number → row)
    forces a choice among them, to replay a run that broke a tie the other way (the
    draws do not depend on the choice, so the rest of the run stays comparable).
    """
    Xd = as_dense64(X)
    n = Xd.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    w = np.asarray(sample_weight, dtype=np.float64)
    indices = [int(random_state.choice(n, p=w / w.sum()))]
    closest = sq_distances(Xd, Xd[indices])[:, 0]
    for _ in range(1, n_clusters):
        mass = w * closest
        cumulative = np.cumsum(mass)
        draws = random_state.uniform(size=n_local_trials) * cumulative[-1]
        if cumulative[-1] > 0:
            positive = np.flatnonzero(mass > 0)
            candidates = []
            for draw in draws:
                # First row of positive mass whose cumulative mass exceeds the draw.
                above = positive[cumulative[positive] > draw]
                candidates.append(int(above[0]) if above.size else int(positive[-1]))
        else:
            candidates = list(random_state.choice(n, size=n_local_trials, p=w / w.sum()))
        potentials = np.array([candidate_potential(Xd, w, closest, Xd[c]) for c in candidates])
        best = candidates[int(np.argmin(potentials))]
        tied = {
            int(c)
            for c, p in zip(candidates, potentials, strict=True)
            if p <= potentials.min() + TIE_RTOL * abs(potentials.min())
        }
        if ties is not None:
            ties.append(tied)
        if choose is not None and len(indices) in choose:
            best = choose[len(indices)]
            assert best in tied, f"forced row {best} is not among the tied candidates {tied}"
        indices.append(best)
        closest = np.minimum(closest, sq_distances(Xd, Xd[[best]])[:, 0])
    indices = np.array(indices)
    rows = X[indices].toarray() if sp.issparse(X) else X[indices]
    return np.asarray(rows, dtype=X.dtype), indices


def two_nearest_sq_distances(X, centers):
    """(labels, d1, d2): nearest center (lowest index on ties), the squared distance to
    it and the squared distance to the nearest *other* center (inf for one center)."""
    D = sq_distances(X, centers)
    labels = np.argmin(D, axis=1)
    rows = np.arange(D.shape[0])
    d1 = D[rows, labels]
    others = D.copy()
    others[rows, labels] = np.inf
    d2 = others.min(axis=1) if D.shape[1] > 1 else np.full(D.shape[0], np.inf)
    return labels, d1, d2


def removal_costs(X, sample_weight, centers):
    """Increase of inertia when each center alone is deleted, by recomputing inertia."""
    X = as_dense64(X)
    centers = np.asarray(centers, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    base = float(np.sum(w * sq_distances(X, centers).min(axis=1)))
    costs = []
    for c in range(centers.shape[0]):
        rest = np.delete(centers, c, axis=0)
        costs.append(float(np.sum(w * sq_distances(X, rest).min(axis=1))) - base)
    return np.array(costs)


def row_sq_norms(X):
    """||X[i]||² of every row, float64."""
    X = as_dense64(X)
    return (X * X).sum(axis=1)


def center_distance_matrix(centers):
    """D[a, b] = ||centers[a] - centers[b]||, float64 (not squared)."""
    return np.sqrt(sq_distances(centers, centers))


def half_distance_to_nearest_center(centers):
    """½ of the distance from each center to the nearest other one (inf when k = 1)."""
    D = center_distance_matrix(centers)
    np.fill_diagonal(D, np.inf)
    return 0.5 * D.min(axis=1)


def bounds_hold(X, centers, labels, upper, lower, group_of=None):
    """Whether bounds of an accelerated assignment are valid for ``centers``.

    ``upper[i]`` ≥ ||X[i] - centers[labels[i]]||; with ``group_of`` None and a 1-d
    ``lower``, ``lower[i]`` ≤ the distance to every other center (Hamerly); with a
    2-d ``lower`` of k columns, ``lower[i, c]`` ≤ the distance to center c (Elkan);
    with ``group_of``, ``lower[i, g]`` ≤ the distance to every center of group g but
    ``labels[i]`` (Yinyang). Compared with a relative margin of 1e-9 for rounding.
    """
    D = np.sqrt(sq_distances(X, centers))
    rows = np.arange(D.shape[0])
    margin = 1e-9 * (1.0 + D.max())
    if np.any(upper < D[rows, labels] - margin):
        return False
    others = D.copy()
    others[rows, labels] = np.inf
    if group_of is None and np.ndim(lower) == 1:
        return bool(np.all(lower <= others.min(axis=1) + margin))
    if group_of is None:
        return bool(np.all(lower <= D + margin))
    for g in range(lower.shape[1]):
        nearest_in_group = others[:, group_of == g].min(axis=1)
        if np.any(lower[:, g] > nearest_in_group + margin):
            return False
    return True


# ---------------------------------------------------------------------------
# Seeding references (k-means||, AFK-MC²): same draws, full n × k matrices.
# ---------------------------------------------------------------------------


def closest_chosen_centers(X, centers):
    """(closest center index, lowest on ties; squared distance) of every row of X."""
    return nearest_centers(X, centers)


def rows_drawn_by_mass(mass, uniforms):
    """Rows where the cumulative mass first exceeds ``u × total`` (zero-mass rows skipped)."""
    cumulative = np.cumsum(mass)
    positive = np.flatnonzero(mass > 0)
    rows = []
    for u in uniforms:
        above = positive[cumulative[positive] > u * cumulative[-1]]
        rows.append(int(above[0]) if above.size else int(positive[-1]))
    return np.array(rows, dtype=np.int64)


def kmeans_parallel(
    X,
    n_clusters,
    sample_weight,
    random_state,
    n_rounds=5,
    oversampling=2.0,
    *,
    ties=None,
    choose=None,
):
    """k-means|| with the draw protocol of ``centroids.engine.seeding``; returns indices.

    First candidate ∝ w; each round keeps row i when ``u_i φ < ℓ w_i D_i²``; top up by
    D² draws while fewer than k candidates; weight candidates by the weight of their
    closest rows; reduce with weighted greedy k-means++ (``kmeans_plusplus`` above).
    ``ties`` and ``choose`` are as there, in rows of X.
    """
    Xd = as_dense64(X)
    n = Xd.shape[0]
    w = np.asarray(sample_weight, dtype=np.float64)
    ell = oversampling * n_clusters
    candidates = [int(random_state.choice(n, p=w / w.sum()))]
    for _ in range(n_rounds):
        _, closest = nearest_centers(Xd, Xd[candidates])
        mass = w * closest
        potential = float(mass.sum())
        if not potential > 0:
            break
        keep = random_state.uniform(size=n) * potential < ell * mass
        candidates.extend(np.flatnonzero(keep).tolist())
    while len(candidates) < n_clusters:
        _, closest = nearest_centers(Xd, Xd[candidates])
        mass = w * closest
        if not mass.sum() > 0:
            break
        uniforms = random_state.uniform(size=n_clusters - len(candidates))
        candidates.extend(np.unique(rows_drawn_by_mass(mass, uniforms)).tolist())
    candidates = np.array(candidates)
    labels, _ = nearest_centers(Xd, Xd[candidates])
    candidate_weights = np.array([w[labels == c].sum() for c in range(len(candidates))])
    position = {int(row): i for i, row in enumerate(candidates)}
    reduction_ties = []
    _, chosen = kmeans_plusplus(
        Xd[candidates],
        n_clusters,
        candidate_weights,
        random_state,
        ties=reduction_ties,
        choose=None if choose is None else {j: position[r] for j, r in choose.items()},
    )
    if ties is not None:
        ties.extend({int(candidates[i]) for i in tied} for tied in reduction_ties)
    return candidates[chosen]


def assert_same_rows_up_to_ties(indices, reference):
    """``indices`` equal ``reference(ties=..., choose=...)``'s rows, where a step whose
    candidates tie (see :data:`TIE_RTOL`) may take any of the tied rows: the reference is
    replayed with the choice ``indices`` made until the two agree or a step differs that
    was not a tie."""
    indices = [int(i) for i in indices]
    choose = {}
    while True:
        ties = []
        expected = [int(i) for i in reference(ties=ties, choose=choose)]
        if expected == indices:
            return
        step = next(
            (j for j, (a, b) in enumerate(zip(indices, expected, strict=False)) if a != b), None
        )
        assert step is not None and step >= 1 and step not in choose, (indices, expected)
        # ties[j - 1] is the tied set of center j (the first center is drawn, not chosen).
        assert indices[step] in ties[step - 1], (
            f"center {step}: row {indices[step]} chosen, reference chose {expected[step]} "
            f"and only {sorted(ties[step - 1])} tie with it"
        )
        choose[step] = indices[step]


def afkmc2(X, n_clusters, sample_weight, random_state, chain_length=200):
    """AFK-MC² with the draw protocol of ``centroids.engine.seeding``; returns indices."""
    Xd = as_dense64(X)
    n = Xd.shape[0]
    w = np.asarray(sample_weight, dtype=np.float64)
    indices = [int(random_state.choice(n, p=w / w.sum()))]
    first_sq = sq_distances(Xd, Xd[indices])[:, 0]
    q = 0.5 * w / w.sum()
    mass = w * first_sq
    if mass.sum() > 0:
        q = q + 0.5 * mass / mass.sum()
    for _ in range(1, n_clusters):
        uniforms = random_state.uniform(size=chain_length)
        chain = rows_drawn_by_mass(q, uniforms)
        accept = random_state.uniform(size=chain_length - 1)
        target = w[chain] * sq_distances(Xd[chain], Xd[indices]).min(axis=1)
        at = 0
        for step in range(1, chain_length):
            if accept[step - 1] * target[at] * q[chain[step]] < target[step] * q[chain[at]]:
                at = step
        indices.append(int(chain[at]))
    return np.array(indices)
