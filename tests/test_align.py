"""Stable segment ids: center alignment against a brute-force reference."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centroids.store.align import align_centers


def brute_force_alignment(previous, new, limit):
    """Try every partial matching: most pairs within ``limit``, then least total distance."""
    distances = np.sqrt(((new[:, None, :] - previous[None, :, :]) ** 2).sum(axis=2))
    n_new, n_previous = distances.shape
    best_key, best = None, None
    small, large = (n_new, n_previous) if n_new <= n_previous else (n_previous, n_new)
    for chosen in itertools.permutations(range(large), small):
        pairs = (
            list(zip(range(n_new), chosen, strict=True))
            if n_new <= n_previous
            else list(zip(chosen, range(n_previous), strict=True))
        )
        kept = [(i, j) for i, j in pairs if distances[i, j] <= limit]
        key = (-len(kept), sum(distances[i, j] for i, j in kept))
        if best_key is None or key < best_key:
            best_key, best = key, kept
    mapping = np.full(n_new, -1)
    for i, j in best:
        mapping[i] = j
    return mapping, best_key


def test_identical_centers_in_any_order_keep_every_id():
    previous = np.array([[0.0, 0.0], [5.0, 5.0], [10.0, 0.0], [-4.0, 3.0]])
    order = np.array([2, 0, 3, 1])
    alignment = align_centers(previous, previous[order] + 0.01, spread=1.0)
    assert alignment.new_to_previous.tolist() == order.tolist()
    assert alignment.retired.size == 0
    assert alignment.born.size == 0
    np.testing.assert_allclose(alignment.distances, np.sqrt(2) * 0.01)


def test_new_cluster_is_born_and_vanished_cluster_retired():
    previous = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    grown = np.vstack([previous + 0.2, [[20.0, 20.0]]])
    alignment = align_centers(previous, grown, spread=1.0)
    assert alignment.new_to_previous.tolist() == [0, 1, 2, -1]
    assert alignment.born.tolist() == [3]
    shrunk = align_centers(previous, previous[[0, 2]], spread=1.0)
    assert shrunk.new_to_previous.tolist() == [0, 2]
    assert shrunk.retired.tolist() == [1]


def test_pairs_farther_than_the_threshold_are_not_kept():
    previous = np.array([[0.0, 0.0], [10.0, 0.0]])
    new = np.array([[0.5, 0.0], [13.0, 0.0]])
    alignment = align_centers(previous, new, spread=2.0, threshold=1.0)
    assert alignment.limit == 2.0
    assert alignment.new_to_previous.tolist() == [0, -1]
    assert alignment.retired.tolist() == [1]
    assert alignment.distances[1] == pytest.approx(3.0)
    loose = align_centers(previous, new, spread=2.0, threshold=2.0)
    assert loose.new_to_previous.tolist() == [0, 1]


def test_more_kept_pairs_beat_a_smaller_total_distance():
    # Pairing new 0 with previous 0 (distance 0.1) would leave new 1 unmatched (previous 1
    # is 2.5 away); the alignment keeps two pairs instead.
    previous = np.array([[0.0], [1.9]])
    new = np.array([[0.9], [0.1]])
    alignment = align_centers(previous, new, spread=1.0)
    assert alignment.new_to_previous.tolist() == [1, 0]


@settings(max_examples=40, deadline=None)
@given(
    n_previous=st.integers(1, 5),
    n_new=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    threshold=st.sampled_from([0.5, 1.0, 2.0]),
)
def test_matches_brute_force(n_previous, n_new, seed, threshold):
    rng = np.random.default_rng(seed)
    previous = rng.normal(scale=2.0, size=(n_previous, 2))
    new = rng.normal(scale=2.0, size=(n_new, 2))
    alignment = align_centers(previous, new, spread=1.0, threshold=threshold)
    _, (negative_kept, total) = brute_force_alignment(previous, new, threshold)
    kept = alignment.new_to_previous >= 0
    assert kept.sum() == -negative_kept
    chosen = alignment.new_to_previous[kept]
    assert len(set(chosen.tolist())) == chosen.size
    got_total = np.linalg.norm(new[kept] - previous[chosen], axis=1).sum()
    assert got_total == pytest.approx(total, abs=1e-9)
    assert sorted(alignment.retired.tolist()) == sorted(set(range(n_previous)) - set(chosen))


def test_empty_sides():
    previous = np.zeros((0, 3))
    new = np.ones((2, 3))
    assert align_centers(previous, new, spread=1.0).new_to_previous.tolist() == [-1, -1]
    assert align_centers(new, previous, spread=1.0).retired.tolist() == [0, 1]


@pytest.mark.parametrize(
    ("previous", "new", "spread", "threshold", "message"),
    [
        (np.zeros((2, 2)), np.zeros((2, 3)), 1.0, 1.0, "map the previous centers"),
        (np.zeros(2), np.zeros((2, 2)), 1.0, 1.0, "2-D"),
        (np.full((1, 2), np.nan), np.zeros((2, 2)), 1.0, 1.0, "NaN"),
        (np.zeros((2, 2)), np.zeros((2, 2)), 0.0, 1.0, "spread"),
        (np.zeros((2, 2)), np.zeros((2, 2)), 1.0, -1.0, "threshold"),
    ],
)
def test_bad_input_is_named(previous, new, spread, threshold, message):
    with pytest.raises(ValueError, match=message):
        align_centers(previous, new, spread=spread, threshold=threshold)
