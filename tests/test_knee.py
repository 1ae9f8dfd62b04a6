"""Kneedle knee detection: known knees, the four orientations, no knee, bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from centroids.evaluate.knee import find_knee, kneedle


def literal_kneedle_knees(x, y, curve, direction, sensitivity):
    """Offline Kneedle followed step by step as Satopää et al. describe it.

    Scan the difference curve; at every local maximum set the threshold
    ``D_lmx - S * mean(diff(x_normalized))``; whenever a later value drops below the
    current threshold, the last local maximum is a knee (and the threshold is spent).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xn = (x - x.min()) / (x.max() - x.min())
    span = y.max() - y.min()
    yn = (y - y.min()) / span if span > 0 else np.zeros_like(y)
    if curve == "concave" and direction == "increasing":
        d = yn - xn
    elif curve == "convex" and direction == "decreasing":
        d = 1 - yn - xn
    elif curve == "convex" and direction == "increasing":
        d = xn - yn
    else:
        d = yn + xn - 1
    step = np.mean(np.diff(xn))
    knees = []
    last_max = None
    threshold = None
    for i in range(1, len(x)):
        is_local_max = i < len(x) - 1 and d[i - 1] < d[i] >= d[i + 1] and d[i] > 1e-9
        if is_local_max:
            last_max, threshold = i, d[i] - sensitivity * step
        elif threshold is not None and d[i] < threshold:
            knees.append(float(x[last_max]))
            threshold = None
    return knees


def test_convex_decreasing_inertia_like_curve():
    k = np.arange(1, 11)
    inertia = np.array([1000, 400, 120, 100, 90, 82, 76, 71, 67, 64.0])
    result = kneedle(k, inertia)
    assert result.knee == 3.0
    assert (result.curve, result.direction) == ("convex", "decreasing")
    assert find_knee(k, inertia) == 3
    assert isinstance(find_knee(k, inertia), int)


def test_knee_of_a_broken_line_is_the_break():
    x = np.arange(0, 21)
    y = np.where(x <= 6, 100 - 15 * x, 10 - 0.5 * (x - 6))  # steep, then shallow
    assert find_knee(x, y) == 6


@pytest.mark.parametrize(
    ("curve", "direction", "transform", "expected"),
    [
        ("concave", "increasing", lambda y: y, 4.0),
        ("convex", "decreasing", lambda y: -y, 4.0),
        ("convex", "increasing", lambda y: -y[::-1], 16.0),
        ("concave", "decreasing", lambda y: y[::-1], 16.0),
    ],
)
def test_the_four_orientations_find_the_mirrored_knee(curve, direction, transform, expected):
    # A concave increasing curve with its knee at x = 4, mirrored into each shape
    # (reversing y moves the bend to 20 - 4).
    x = np.arange(0, 21, dtype=float)
    base = np.minimum(x, 4.0) * 10 + np.maximum(x - 4.0, 0.0) * 0.5
    y = transform(base)
    given_shape = kneedle(x, y, curve=curve, direction=direction)
    guessed = kneedle(x, y)
    assert given_shape.knee == expected
    assert (guessed.curve, guessed.direction) == (curve, direction)
    assert guessed.knee == expected


def test_straight_line_and_constant_have_no_knee():
    x = np.arange(10)
    assert find_knee(x, 3.0 * x + 1) is None
    assert find_knee(x, -2.0 * x) is None
    assert find_knee(x, np.full(10, 5.0)) is None
    assert kneedle(x, np.full(10, 5.0)).knees == []


def test_curve_bent_the_other_way_has_no_knee_of_the_named_shape():
    x = np.arange(1, 11, dtype=float)
    concave_decreasing = 100 - x**2
    assert find_knee(x, concave_decreasing, curve="convex", direction="decreasing") is None


def test_sensitivity_asks_for_a_sharper_bend():
    x = np.arange(1, 16, dtype=float)
    y = 1.0 / x  # a smooth convex decreasing curve
    found = [kneedle(x, y, sensitivity=s).knees for s in (0.0, 1.0, 3.0, 50.0)]
    counts = [len(k) for k in found]
    assert counts == sorted(counts, reverse=True)
    assert found[1] != []
    assert found[-1] == []


def test_most_pronounced_of_several_knees_is_returned():
    # Two bends: a small one at x=3, a large one at x=10.
    x = np.arange(0, 21, dtype=float)
    y = np.piecewise(
        x,
        [x <= 3, (x > 3) & (x <= 10), x > 10],
        [lambda t: 2 * t, lambda t: 6 + 0.2 * (t - 3) * 10, lambda t: 20 + 0.05 * (t - 10)],
    )
    result = kneedle(x, y, curve="concave", direction="increasing", sensitivity=0.5)
    assert result.knees == literal_kneedle_knees(x, y, "concave", "increasing", 0.5)
    assert result.knee == x[max((int(k) for k in result.knees), key=lambda i: result.difference[i])]


@given(
    st.lists(st.floats(0.01, 10.0), min_size=3, max_size=25),
    st.sampled_from(["concave", "convex"]),
    st.sampled_from(["increasing", "decreasing"]),
    st.sampled_from([0.0, 0.5, 1.0, 2.0]),
)
def test_matches_the_papers_step_by_step_algorithm(steps, curve, direction, sensitivity):
    x = np.arange(len(steps), dtype=float)
    y = np.cumsum(steps)
    result = kneedle(x, y, curve=curve, direction=direction, sensitivity=sensitivity)
    assert result.knees == literal_kneedle_knees(x, y, curve, direction, sensitivity)


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "error", "match"),
    [
        ([1, 2, 3], [1, 2], {}, ValueError, "same length"),
        ([1, 2], [1, 2], {}, ValueError, "at least 3 points"),
        ([1, 3, 2, 4], [4, 3, 2, 1], {}, ValueError, r"strictly increasing; x\[2\]"),
        ([1, 2, 2, 4], [4, 3, 2, 1], {}, ValueError, "strictly increasing"),
        ([1, 2, 3, 4], [4, np.nan, 2, 1], {}, ValueError, "y has a NaN .* position 1"),
        ([[1, 2, 3]], [[1, 2, 3]], {}, ValueError, "one-dimensional"),
        ([1, 2, 3], [3, 2, 1], {"curve": "wavy"}, ValueError, "curve must be"),
        ([1, 2, 3], [3, 2, 1], {"direction": "up"}, ValueError, "direction must be"),
        ([1, 2, 3], [3, 2, 1], {"sensitivity": -1}, ValueError, "non-negative"),
    ],
)
def test_bad_input_is_explained(x, y, kwargs, error, match):
    with pytest.raises(error, match=match):
        kneedle(x, y, **kwargs)
