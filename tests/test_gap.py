"""The gap statistic: reference sets, the dispersions against a slow reference, the rule."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.datasets import make_blobs

from centroids.evaluate.gap import (
    ReferenceSampler,
    gap_statistic,
    tibshirani_k,
)


def slow_log_dispersion(X, k):
    """log W_k by the textbook formula: sum over clusters of pairwise distances / (2 n_r)."""
    if k == 1:
        labels = np.zeros(len(X), dtype=int)
    else:
        labels = SklearnKMeans(k, n_init=10, random_state=0).fit(X).labels_
    total = 0.0
    for c in np.unique(labels):
        rows = X[labels == c]
        pairwise = ((rows[:, None, :] - rows[None, :, :]) ** 2).sum(axis=2)
        total += pairwise.sum() / (2 * len(rows))
    return np.log(total)


@pytest.fixture(scope="module")
def three_blobs():
    X, _ = make_blobs(240, centers=[[0, 0], [6, 1], [12, 0]], cluster_std=0.6, random_state=2)
    return X


def test_tibshirani_rule_on_hand_made_curves():
    k = [1, 2, 3, 4, 5]
    # gap(2)=0.9 >= gap(3) - s(3) = 0.95 - 0.1: the rule stops at 2.
    assert tibshirani_k(k, [0.2, 0.9, 0.95, 1.2, 1.3], [0.1] * 5) == 2
    # Falling from the start: k = 1.
    assert tibshirani_k(k, [0.5, 0.4, 0.3, 0.2, 0.1], [0.01] * 5) == 1
    # Still rising beyond the error at every step: no k of the range.
    assert tibshirani_k(k, [0.1, 0.3, 0.5, 0.7, 0.9], [0.01] * 5) is None
    # The next k is the next value of the range, not k + 1.
    assert tibshirani_k([2, 4, 8], [0.5, 0.55, 1.5], [0.0, 0.1, 0.1]) == 2


def test_dispersions_match_the_textbook_formula(three_blobs):
    result = gap_statistic(three_blobs, range(1, 6), n_references=4, random_state=0)
    expected = np.array([slow_log_dispersion(three_blobs, k) for k in range(1, 6)])
    # Up to the true k the optimum is unique; beyond, k-means optima may differ, and
    # centroids' refined fit must be at least as good as scikit-learn's best of 10.
    np.testing.assert_allclose(result.log_dispersion[:3], expected[:3], rtol=1e-9)
    assert np.all(result.log_dispersion <= expected + 1e-9)
    np.testing.assert_allclose(result.log_dispersion, expected, atol=0.01)


def test_gap_and_standard_error_follow_their_definitions(three_blobs):
    result = gap_statistic(three_blobs, range(1, 6), n_references=6, random_state=1)
    ref = result.reference_log_dispersion
    assert ref.shape == (6, 5)
    np.testing.assert_allclose(result.gap, ref.mean(axis=0) - result.log_dispersion)
    sd = np.sqrt(((ref - ref.mean(axis=0)) ** 2).mean(axis=0))
    np.testing.assert_allclose(result.gap_se, sd * np.sqrt(1 + 1 / 6))
    assert result.k == tibshirani_k(result.k_values, result.gap, result.gap_se)
    frame = result.to_frame()
    assert list(frame.index) == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(frame["gap"], result.gap)


@pytest.mark.parametrize("reference", ["box", "pca"])
def test_finds_the_blobs(three_blobs, reference):
    result = gap_statistic(
        three_blobs, range(1, 7), n_references=5, reference=reference, random_state=0
    )
    assert result.k == 3
    assert result.reference == reference


@pytest.mark.parametrize(
    "X",
    [
        np.random.default_rng(0).uniform(size=(600, 2)),
        np.random.default_rng(1).uniform(size=(600, 6)),
        np.random.default_rng(2).normal(size=(600, 3)),
    ],
    ids=["uniform-2d", "uniform-6d", "gaussian-3d"],
)
def test_no_structure_gives_k_1(X):
    assert gap_statistic(X, range(1, 6), n_references=5, random_state=0).k == 1


def test_box_reference_stays_in_the_bounding_box(three_blobs):
    sampler = ReferenceSampler(three_blobs, 3, "box", random_state=0)
    low, high = three_blobs.min(axis=0), three_blobs.max(axis=0)
    draws = [sampler.draw(b) for b in range(3)]
    for Z in draws:
        assert Z.shape == three_blobs.shape
        assert np.all(low <= Z)
        assert np.all(high >= Z)
        # Uniform: each feature fills its range (means near the middle of the box).
        assert np.all(np.abs(Z.mean(axis=0) - (low + high) / 2) < 0.1 * (high - low))
    assert not np.array_equal(draws[0], draws[1])
    np.testing.assert_array_equal(draws[2], sampler.draw(2))


def test_pca_reference_lies_in_the_box_of_the_principal_components():
    rng = np.random.default_rng(3)
    # A long, thin, tilted cloud: its bounding box is mostly empty.
    t = rng.uniform(-10, 10, size=500)
    X = np.column_stack([t, t + rng.normal(scale=0.3, size=500)])
    sampler = ReferenceSampler(X, 2, "pca", random_state=0)
    Z = sampler.draw(0)
    mean = X.mean(axis=0)
    _, _, components = np.linalg.svd(X - mean, full_matrices=False)
    scores_X = (X - mean) @ components.T
    scores_Z = (Z - mean) @ components.T
    tolerance = 1e-9
    assert np.all(scores_Z >= scores_X.min(axis=0) - tolerance)
    assert np.all(scores_Z <= scores_X.max(axis=0) + tolerance)
    # The second component's spread is the cloud's thickness, not the box's width.
    assert scores_Z[:, 1].std() < 0.5


def test_float32_stays_float32_and_seed_reproduces(three_blobs):
    X32 = three_blobs.astype(np.float32)
    assert ReferenceSampler(X32, 2, "box", 0).draw(0).dtype == np.float32
    first = gap_statistic(X32, [1, 2, 3, 4], n_references=3, random_state=7)
    second = gap_statistic(X32, [1, 2, 3, 4], n_references=3, random_state=7)
    np.testing.assert_array_equal(first.gap, second.gap)
    np.testing.assert_array_equal(first.gap_se, second.gap_se)
    other = gap_statistic(X32, [1, 2, 3, 4], n_references=3, random_state=8)
    assert not np.array_equal(first.reference_log_dispersion, other.reference_log_dispersion)


def test_same_result_on_one_thread_and_on_several(three_blobs):
    serial = gap_statistic(three_blobs, [1, 2, 3, 4], n_references=3, random_state=3, n_jobs=1)
    threaded = gap_statistic(three_blobs, [1, 2, 3, 4], n_references=3, random_state=3, n_jobs=4)
    np.testing.assert_array_equal(
        serial.reference_log_dispersion, threaded.reference_log_dispersion
    )
    np.testing.assert_array_equal(serial.log_dispersion, threaded.log_dispersion)


def test_progress_counts_every_fit(three_blobs):
    calls = []
    gap_statistic(
        three_blobs,
        [1, 2, 3],
        n_references=2,
        random_state=0,
        progress=lambda *args: calls.append(args),
    )
    assert [c[0] for c in calls] == list(range(1, 10))
    assert {c[1] for c in calls} == {9}
    assert all(isinstance(c[2], str) and c[2] for c in calls)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k_range": []}, ValueError, "k_range is empty"),
        ({"k_range": [0, 1, 2]}, ValueError, "k=0, outside 1..n_samples=240"),
        ({"k_range": [2, 241]}, ValueError, "k=241, outside"),
        ({"k_range": [2, 2, 3]}, ValueError, "same k more than once"),
        ({"k_range": [2.5]}, TypeError, "integers"),
        ({"k_range": 5}, TypeError, "iterable of integers"),
        ({"n_references": 1}, ValueError, "at least 2"),
        ({"n_references": 2.0}, TypeError, "n_references must be an integer"),
        ({"reference": "ball"}, ValueError, "'box' or 'pca'"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be None or a positive integer"),
        ({"progress": "yes"}, TypeError, "progress must be a callable"),
    ],
)
def test_bad_arguments_are_explained(three_blobs, kwargs, error, match):
    with pytest.raises(error, match=match):
        gap_statistic(three_blobs, **{"k_range": [1, 2], **kwargs})


def test_sparse_and_non_finite_input_are_refused(three_blobs):
    with pytest.raises(TypeError, match="needs dense X"):
        gap_statistic(sp.csr_matrix(three_blobs), [1, 2])
    bad = three_blobs.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gap_statistic(bad, [1, 2])
