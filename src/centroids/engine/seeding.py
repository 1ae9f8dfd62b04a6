"""Initial centers: greedy k-means++, weighted random rows, or the caller's."""

from __future__ import annotations

import numpy as np


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
