"""Knee (elbow) detection on a curve: the Kneedle algorithm.

Satopää, Albrecht, Irwin and Raghavan, "Finding a 'Kneedle' in a Haystack: Detecting
Knee Points in System Behavior" (ICDCS workshops, 2011). The curve is scaled to the
unit square and turned so that its knee becomes the point farthest above the diagonal
(a concave, increasing shape); the difference between the turned curve and the
diagonal has a local maximum at every candidate knee, and a candidate is kept when the
difference later falls below a threshold set by the sensitivity ``S`` (how many
average x-steps of drop are needed to call it a knee).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import numpy as np

__all__ = ["Kneedle", "find_knee", "kneedle"]

CURVES = ("concave", "convex")
DIRECTIONS = ("increasing", "decreasing")

#: Differences below this (in the unit square) are flat: a straight line has no knee.
FLAT_DIFFERENCE = 1e-9


@dataclass(frozen=True)
class Kneedle:
    """What :func:`kneedle` found on one curve.

    Attributes
    ----------
    knee : float or None
        The x of the most pronounced knee (the kept candidate with the largest
        difference), or None when the curve has no knee.
    knees : list of float
        The x of every kept knee, in increasing x.
    curve : {'concave', 'convex'}
        The shape used (as given, or found when ``curve='auto'``).
    direction : {'increasing', 'decreasing'}
        The direction used (as given, or found when ``direction='auto'``).
    x_normalized, y_normalized : ndarray
        The curve scaled to the unit square.
    difference : ndarray
        The turned curve minus the diagonal; its local maxima are the candidates.
    thresholds : dict
        For every candidate's x, the threshold the difference had to fall below.
    """

    knee: float | None
    knees: list
    curve: str
    direction: str
    x_normalized: np.ndarray
    y_normalized: np.ndarray
    difference: np.ndarray
    thresholds: dict


def _check_curve_points(x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(
            f"x and y must be one-dimensional; got shapes {x.shape} and {y.shape}. "
            "Pass one value per point of the curve."
        )
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length; got {x.shape[0]} and {y.shape[0]}.")
    if x.shape[0] < 3:
        raise ValueError(
            f"A knee needs at least 3 points on the curve; got {x.shape[0]}. "
            "Evaluate the curve at more x values."
        )
    for name, values in (("x", x), ("y", y)):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ValueError(
                f"{name} has a NaN or infinite value at position {bad[0]}; "
                "drop that point or fill it in."
            )
    steps = np.diff(x)
    if np.any(steps <= 0):
        where = int(np.flatnonzero(steps <= 0)[0])
        raise ValueError(
            f"x must be strictly increasing; x[{where + 1}]={x[where + 1]!r} follows "
            f"x[{where}]={x[where]!r}. Sort the points by x and drop repeated x values."
        )
    return x, y


def _guess_shape(x_norm, y_norm):
    """Direction from the end points, shape from which side of the chord the curve lies."""
    direction = "increasing" if y_norm[-1] >= y_norm[0] else "decreasing"
    chord = y_norm[0] + (y_norm[-1] - y_norm[0]) * x_norm
    curve = "concave" if np.mean(y_norm - chord) > 0 else "convex"
    return curve, direction


def _difference_curve(x_norm, y_norm, curve, direction):
    """The curve turned to a concave increasing shape, minus the diagonal.

    concave increasing: y - x; convex decreasing: (1 - y) - x; convex increasing:
    x - y (both axes flipped); concave decreasing: y - (1 - x) (x flipped). In every
    case the knee is where the difference is largest.
    """
    if curve == "concave" and direction == "increasing":
        return y_norm - x_norm
    if curve == "convex" and direction == "decreasing":
        return (1.0 - y_norm) - x_norm
    if curve == "convex" and direction == "increasing":
        return x_norm - y_norm
    return y_norm - (1.0 - x_norm)


def kneedle(x, y, *, curve="auto", direction="auto", sensitivity=1.0):
    """Knees of the curve ``y(x)`` by the Kneedle algorithm (Satopää et al., 2011).

    Parameters
    ----------
    x : array-like of shape (n_points,)
        Strictly increasing x values, at least 3.
    y : array-like of shape (n_points,)
        The curve's values at ``x``.
    curve : {'auto', 'concave', 'convex'}, default='auto'
        Shape of the curve: 'convex' bends upwards (an inertia or an error curve),
        'concave' bends downwards (a gain curve). 'auto' takes the side of the chord
        between the end points on which the curve lies on average.
    direction : {'auto', 'increasing', 'decreasing'}, default='auto'
        Whether y grows or falls with x; 'auto' compares the end points.
    sensitivity : float, default=1.0
        Kneedle's S, non-negative: a candidate knee is kept only when the difference
        curve later falls by more than S average x-steps below its peak. Smaller values
        call knees sooner; larger values ask for a more marked bend.

    Returns
    -------
    result : Kneedle
        ``result.knee`` is the most pronounced knee or None; see :class:`Kneedle`.

    Examples
    --------
    >>> from centroids.evaluate.knee import kneedle
    >>> k = [1, 2, 3, 4, 5, 6, 7, 8]
    >>> inertia = [100, 40, 12, 10, 9, 8.5, 8, 7.6]
    >>> result = kneedle(k, inertia)
    >>> result.knee, result.curve, result.direction
    (3.0, 'convex', 'decreasing')
    """
    x, y = _check_curve_points(x, y)
    if curve not in ("auto", *CURVES):
        raise ValueError(f"curve must be 'auto', 'concave' or 'convex'; got {curve!r}.")
    if direction not in ("auto", *DIRECTIONS):
        raise ValueError(
            f"direction must be 'auto', 'increasing' or 'decreasing'; got {direction!r}."
        )
    if not isinstance(sensitivity, Real) or isinstance(sensitivity, bool) or sensitivity < 0:
        raise ValueError(f"sensitivity must be a non-negative number; got {sensitivity!r}.")
    x_norm = (x - x[0]) / (x[-1] - x[0])
    y_span = float(y.max() - y.min())
    # A constant curve has no bend at all.
    y_norm = np.zeros_like(y) if y_span == 0.0 else (y - y.min()) / y_span
    guessed_curve, guessed_direction = _guess_shape(x_norm, y_norm)
    curve = guessed_curve if curve == "auto" else curve
    direction = guessed_direction if direction == "auto" else direction
    difference = _difference_curve(x_norm, y_norm, curve, direction)

    n_points = x.shape[0]
    # Candidates: interior local maxima (a plateau counts once, at its first point),
    # and the first point when the curve starts by falling.
    candidates = [
        i
        for i in range(1, n_points - 1)
        if difference[i] > difference[i - 1] and difference[i] >= difference[i + 1]
    ]
    candidates = [i for i in candidates if difference[i] > FLAT_DIFFERENCE]
    mean_step = float(np.mean(np.diff(x_norm)))
    thresholds = {}
    knees = []
    for position, i in enumerate(candidates):
        threshold = difference[i] - sensitivity * mean_step
        thresholds[float(x[i])] = float(threshold)
        stop = candidates[position + 1] if position + 1 < len(candidates) else n_points
        # Kept when the difference falls below the threshold before the next candidate.
        if np.any(difference[i + 1 : stop] < threshold):
            knees.append(i)
    knee = None
    if knees:
        knee = float(x[max(knees, key=lambda i: difference[i])])
    return Kneedle(
        knee=knee,
        knees=[float(x[i]) for i in knees],
        curve=curve,
        direction=direction,
        x_normalized=x_norm,
        y_normalized=y_norm,
        difference=difference,
        thresholds=thresholds,
    )


def find_knee(x, y, *, curve="auto", direction="auto", sensitivity=1.0):
    """The x of the most pronounced knee of ``y(x)``, or None when there is none.

    A shortcut for ``kneedle(x, y, ...).knee``; see :func:`kneedle` for the
    parameters. The knee comes back in x's own type when every x is an integer
    (as for numbers of clusters).

    Examples
    --------
    >>> from centroids.evaluate.knee import find_knee
    >>> find_knee([1, 2, 3, 4, 5, 6], [60, 20, 8, 7, 6.5, 6])
    3
    >>> find_knee([1, 2, 3, 4], [1, 2, 3, 4]) is None
    True
    """
    result = kneedle(x, y, curve=curve, direction=direction, sensitivity=sensitivity)
    if result.knee is None:
        return None
    x_values = np.asarray(x)
    if np.issubdtype(x_values.dtype, np.integer):
        return int(result.knee)
    return result.knee
