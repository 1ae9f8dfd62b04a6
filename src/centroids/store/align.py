"""Stable segment ids across model versions: match new centers to the previous ones.

A new version's centers are matched to the previous version's by a minimum-cost
assignment (Hungarian method, :func:`scipy.optimize.linear_sum_assignment`) on the
Euclidean distances between centers in the new model's feature space. A matched pair
keeps the old segment id when its centers are closer than ``threshold`` times the
typical within-cluster spread; new centers left without a partner get new ids, and old
segments left without one are retired. The two versions may have different numbers of
centers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class CenterAlignment:
    """Which new centers continue which previous centers.

    Attributes
    ----------
    new_to_previous : ndarray of shape (n_new,)
        For every new center, the index of the previous center it continues, or -1 for a
        new segment.
    distances : ndarray of shape (n_new,)
        Distance from every new center to the previous center it was paired with by the
        assignment (whether or not within the threshold); NaN when it got no partner.
    retired : ndarray
        Indices of the previous centers that no new center continues.
    limit : float
        The distance under which a pair is kept: ``threshold * spread``.
    """

    new_to_previous: np.ndarray
    distances: np.ndarray
    retired: np.ndarray
    limit: float

    @property
    def born(self) -> np.ndarray:
        """Indices of the new centers that start new segments."""
        return np.flatnonzero(self.new_to_previous < 0)


def align_centers(previous_centers, new_centers, *, spread, threshold=1.0) -> CenterAlignment:
    """Match new centers to previous ones, keeping pairs closer than ``threshold * spread``.

    The assignment first keeps as many pairs within the limit as possible, and among
    those assignments takes the one with the smallest total distance: a pair over the
    limit costs more than all pairs within it together.

    Parameters
    ----------
    previous_centers : array-like of shape (n_previous, n_features)
        Centers of the previous version, already in the new model's feature space.
    new_centers : array-like of shape (n_new, n_features)
        Centers of the new version.
    spread : float
        Typical within-cluster spread (root mean squared distance of points to their
        center) in the same space; must be positive and finite.
    threshold : float, default=1.0
        Largest distance between a matched pair, in units of ``spread``.

    Returns
    -------
    CenterAlignment

    Examples
    --------
    >>> import numpy as np
    >>> previous = np.array([[0.0, 0.0], [10.0, 0.0]])
    >>> new = np.array([[10.2, 0.1], [0.1, -0.1], [0.0, 10.0]])
    >>> alignment = align_centers(previous, new, spread=1.0)
    >>> alignment.new_to_previous.tolist()
    [1, 0, -1]
    >>> alignment.retired.tolist()
    []
    """
    previous = _as_centers(previous_centers, "previous_centers")
    new = _as_centers(new_centers, "new_centers")
    if previous.shape[1] != new.shape[1]:
        raise ValueError(
            f"previous_centers have {previous.shape[1]} features and new_centers "
            f"{new.shape[1]}: map the previous centers into the new model's space first"
        )
    spread = float(spread)
    if not np.isfinite(spread) or spread <= 0:
        raise ValueError(f"spread must be a positive finite number, got {spread!r}")
    threshold = float(threshold)
    if not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"threshold must be a non-negative finite number, got {threshold!r}")
    limit = threshold * spread
    new_to_previous = np.full(new.shape[0], -1, dtype=np.int64)
    distances = np.full(new.shape[0], np.nan)
    if previous.shape[0] == 0 or new.shape[0] == 0:
        return CenterAlignment(
            new_to_previous, distances, np.arange(previous.shape[0], dtype=np.int64), limit
        )
    pair_distances = np.sqrt(
        np.maximum(((new[:, None, :] - previous[None, :, :]) ** 2).sum(axis=2), 0.0)
    )
    within = pair_distances <= limit
    n_pairs = min(new.shape[0], previous.shape[0])
    # A pair over the limit costs a constant larger than all within-limit pairs together,
    # so the assignment first maximises the number of kept pairs, then minimises their
    # total distance (over-limit pairs are dropped, their distance must not count).
    over_limit_cost = n_pairs * limit + 1.0
    cost = np.where(within, pair_distances, over_limit_cost)
    rows, cols = linear_sum_assignment(cost)
    distances[rows] = pair_distances[rows, cols]
    kept = within[rows, cols]
    new_to_previous[rows[kept]] = cols[kept]
    continued = np.zeros(previous.shape[0], dtype=bool)
    continued[cols[kept]] = True
    return CenterAlignment(new_to_previous, distances, np.flatnonzero(~continued), limit)


def _as_centers(centers, name: str) -> np.ndarray:
    array = np.asarray(centers, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (centers × features), got {array.ndim}-D")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return array
