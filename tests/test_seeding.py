"""Seeding: pruned greedy k-means++, k-means||, AFK-MC² and their kernels.

The pruned k-means++ must choose exactly the rows of the unpruned reference
(tests/naive.py) and of scikit-learn's ``kmeans_plusplus``; k-means|| and AFK-MC² are
compared with references that make the same draws, and checked for validity and
quality on blobs.
"""

from unittest import mock

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus
from sklearn.datasets import make_blobs

from centroids._kernels import seeding as kernels
from centroids.engine import engine_data
from centroids.engine import seeding as seeding_engine
from centroids.engine.seeding import (
    SEEDING_METHODS,
    _pruned_kmeans_plusplus,
    _SeedingState,
    afkmc2_centers,
    initial_centers,
    kmeans_parallel_centers,
    kmeans_plusplus_centers,
)
from centroids.settings import CHUNK_ROWS, SEEDING_Z_ORDER_MIN_ROWS, SEEDING_Z_ORDER_MIN_SPREAD

import naive
from arrays import as_layout

DTYPES = [np.float32, np.float64]
LAYOUTS = ["dense", "csr"]
SETTINGS = settings(max_examples=25, deadline=None)


def clustered(n, d, k, seed, dtype=np.float64, spread=0.5, zero_fraction=0.0):
    """Rows around k random means (continuous, no ties); some entries zeroed."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d)) * 5.0
    X = means[rng.integers(0, k, n)] + rng.normal(size=(n, d)) * spread
    if zero_fraction:
        X[rng.random((n, d)) < zero_fraction] = 0.0
    return X.astype(dtype)


@st.composite
def seeding_problems(draw):
    """(X, sample_weight, n_clusters, layout, seed): small or multi-chunk, maybe weighted."""
    n = draw(st.sampled_from([5, 40, 150, CHUNK_ROWS + 37, 2 * CHUNK_ROWS + 5]))
    # From SEEDING_GEMM_MIN_FEATURES features on, candidate distances come from a product.
    d = draw(st.one_of(st.integers(1, 5), st.integers(16, 20)))
    n_clusters = draw(st.integers(1, min(n, 9)))
    seed = draw(st.integers(0, 2**31 - 1))
    dtype = draw(st.sampled_from(DTYPES))
    layout = draw(st.sampled_from(LAYOUTS))
    rng = np.random.default_rng(seed)
    X = clustered(n, d, draw(st.integers(1, 6)), seed, dtype, zero_fraction=0.2)
    if draw(st.booleans()):  # rows sorted along one axis: chunks far from a candidate
        X = X[np.argsort(X[:, 0], kind="stable")]
    weighting = draw(st.sampled_from(["ones", "uniform", "some_zero"]))
    if weighting == "ones":
        w = np.ones(n)
    else:
        w = rng.uniform(0.2, 2.0, n)
        if weighting == "some_zero":
            w[rng.random(n) < 0.3] = 0.0
            w[0] = 1.0
    # One weighted row per cluster at least, so the weighted rows are enough distinct rows.
    n_clusters = min(n_clusters, int(np.count_nonzero(w)))
    return X, w.astype(dtype), n_clusters, layout, seed


# ---------------------------------------------------------------------------
# Kernels against the references
# ---------------------------------------------------------------------------


@SETTINGS
@given(problem=seeding_problems(), data=st.data())
def test_pruned_updates_and_candidate_deltas_match_reference(problem, data):
    X, w, _, layout, seed = problem
    rng = np.random.default_rng(seed)
    n_chosen = data.draw(st.integers(1, min(len(X), 6)))
    chosen = rng.choice(len(X), n_chosen, replace=False)
    state = _SeedingState(engine_data(as_layout(X, layout)), n_chosen)
    for row in chosen:
        state.add_center(X[row])
    labels, closest = naive.closest_chosen_centers(X, X[chosen])
    np.testing.assert_allclose(state.closest_sq_dist, closest, rtol=1e-9, atol=1e-9)
    assert np.all(state.closest_sq_dist[chosen] <= 1e-9)
    nearest_two = np.sort(naive.sq_distances(X, X[chosen]), axis=1)[:, :2]
    unambiguous = nearest_two[:, -1] - nearest_two[:, 0] > 1e-6 * (1 + nearest_two[:, -1])
    if n_chosen == 1:
        unambiguous[:] = True
    np.testing.assert_array_equal(state.closest_center[unambiguous], labels[unambiguous])
    for c in range(n_chosen):  # the group maxima bound D² of the members
        members = state.closest_center == c
        if members.any():
            assert state.group_max_sq[c] >= state.closest_sq_dist[members].max()

    candidates = np.ascontiguousarray(X[rng.choice(len(X), 4)])
    w64 = w.astype(np.float64)
    deltas, bounds, _ = state.candidate_deltas(w64, candidates)
    current = float(np.sum(w64 * state.closest_sq_dist))
    expected = np.array(
        [
            naive.candidate_potential(X, w, state.closest_sq_dist, cand) - current
            for cand in candidates
        ]
    )
    # Deltas are exact (bound 0) but where dense X with many features takes them from a
    # product in X's dtype: then each is within its bound of the exact one.
    if not state.filtered:
        np.testing.assert_array_equal(bounds, 0.0)
    rounding = 1e-7 * np.abs(expected) + 1e-7 * max(current, 1.0)
    assert np.all(np.abs(deltas - expected) <= bounds + rounding)
    # The chosen candidate has the exact lowest potential (ties: any of the tied ones).
    best, _ = state.best_candidate(w64, candidates)
    assert expected[best] <= expected.min() + 1e-9 * max(current, 1.0)


@pytest.fixture
def small_data_kernels(monkeypatch):
    """Let the seeding take its product filter and chunk boxes on the small arrays of these
    tests: on so few rows a default fit skips them to keep a cold first fit's compiling
    short (settings.SEEDING_PRODUCT_MIN_ROWS, SEEDING_CHUNK_BOXES_MIN_ROWS)."""
    monkeypatch.setattr(seeding_engine, "SEEDING_PRODUCT_MIN_ROWS", 0)
    monkeypatch.setattr(seeding_engine, "SEEDING_CHUNK_BOXES_MIN_ROWS", 0)


def filtered_state(X, n_chosen, seed):
    """A seeding state over dense X (many features) with ``n_chosen`` random rows chosen."""
    state = _SeedingState(engine_data(X), n_chosen + 1)
    assert state.filtered
    for row in np.random.default_rng(seed).choice(len(X), n_chosen, replace=False):
        state.add_center(X[row])
    return state


def direct_deltas(state, w, candidates):
    """Exact deltas of the candidates from the direct kernel (every pair computed)."""
    n_chunks = kernels.seeding_chunks(state.data.n_rows)
    chunk_deltas = np.empty((n_chunks, len(candidates)))
    cand_center_sq = state.center_distances(candidates)
    kernels.dense_candidate_deltas.serial(
        state.data.X,
        w,
        state.closest_sq_dist,
        state.closest_center,
        candidates,
        np.zeros_like(cand_center_sq),  # no pruning
        np.ones(state.n_centers, dtype=np.uint8),
        np.ones((n_chunks, len(candidates)), dtype=np.uint8),  # every chunk in reach
        chunk_deltas,
        np.empty(n_chunks, dtype=np.int64),
    )
    return chunk_deltas.sum(axis=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.usefixtures("small_data_kernels")
def test_filtered_deltas_are_within_tight_bounds(dtype):
    X = clustered(3000, 32, 40, seed=11, dtype=dtype, spread=2.0)
    w = np.random.default_rng(11).uniform(0.5, 1.5, len(X))
    state = filtered_state(X, 12, seed=11)
    candidates = np.ascontiguousarray(X[np.random.default_rng(12).choice(len(X), 7)])
    deltas, bounds, _ = state.candidate_deltas(w, candidates)
    exact = direct_deltas(state, w, candidates)
    assert np.all(bounds > 0)
    assert np.all(np.abs(deltas - exact) <= bounds)
    # Tight enough to tell candidates apart: float32 bounds within 0.1% of the deltas.
    assert np.all(bounds <= (1e-3 if dtype == np.float32 else 1e-10) * np.abs(exact))
    # The rows marked near a candidate (one bit each, little-endian in a byte per 8
    # candidates) include every row it brings closer, and not every row.
    near = np.unpackbits(state._scratch[0], axis=1, bitorder="little")
    assert near.shape == (len(X), 8)
    for t, cand in enumerate(candidates):
        closer = naive.sq_distances(X, cand[None, :])[:, 0] < state.closest_sq_dist * (1 - 1e-9)
        assert np.all(near[closer, t])
        assert not np.all(near[:, t])
        assert all(kernels.is_near(state._scratch[0], i, t) == near[i, t] for i in range(50))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.usefixtures("small_data_kernels")
def test_filtered_near_ties_are_decided_on_exact_deltas(dtype, monkeypatch):
    # Mirror-symmetric data: a row and its mirror image leave equal potentials, up to
    # the order of the sums; the product estimates cannot tell them apart.
    half = clustered(700, 20, 6, seed=13, dtype=dtype)
    X = np.concatenate([np.zeros((1, 20), dtype=dtype), half, -half])
    w = np.ones(len(X))
    state = _SeedingState(engine_data(X), 4)
    state.add_center(X[0])
    calls = []
    exact_deltas = state._exact_deltas
    monkeypatch.setattr(
        state, "_exact_deltas", lambda *args: calls.append(args[2]) or exact_deltas(*args)
    )
    for row in (5, 123, 600):
        candidates = np.ascontiguousarray(X[[1 + 700 + row, 1 + row]])  # mirror first
        best, _ = state.best_candidate(w, candidates)
        assert best == int(np.argmin(direct_deltas(state, w, candidates)))
    assert len(calls) == 3 and all(list(which) == [0, 1] for which in calls)


def test_filtered_seeding_survives_overflow_in_the_product():
    # float32 products of these values overflow; the direct float64 distances do not.
    X = clustered(600, 16, 5, seed=14, dtype=np.float32) * np.float32(3e19)
    w = np.ones(len(X))
    _, indices = kmeans_plusplus_centers(engine_data(X), 6, w, np.random.RandomState(14))
    _, expected = naive.kmeans_plusplus(X, 6, w, np.random.RandomState(14))
    np.testing.assert_array_equal(indices, expected)


@pytest.mark.parametrize("n", [10, CHUNK_ROWS * 3 + 11])
def test_draw_by_mass_matches_cumulative_search(n):
    rng = np.random.default_rng(n)
    w = rng.uniform(0.0, 2.0, n)
    w[rng.random(n) < 0.3] = 0.0
    closest = rng.uniform(0.0, 3.0, n)
    closest[rng.random(n) < 0.2] = 0.0
    uniforms = np.concatenate([rng.random(50), [0.0, 1.0 - 1e-17, 1.0]])
    rows = np.empty(len(uniforms), dtype=np.int64)
    total = kernels.draw_by_mass(w, closest, uniforms, rows)
    assert total == np.cumsum(w * closest)[-1]
    np.testing.assert_array_equal(rows, naive.rows_drawn_by_mass(w * closest, uniforms))
    assert np.all(w[rows] * closest[rows] > 0)


def test_draw_by_mass_at_the_cumulative_sum_of_a_block_end():
    # Unit masses: the cumulative sum after each block of CHUNK_ROWS rows is a whole
    # number, hit exactly by these draws; the row is the first of the next block (the
    # first whose cumulative sum exceeds the target), as searchsorted(side='right').
    n = CHUNK_ROWS * 4
    w = np.ones(n)
    closest = np.ones(n)
    uniforms = np.array([b * CHUNK_ROWS / n for b in range(4)] + [(CHUNK_ROWS - 1) / n])
    rows = np.empty(len(uniforms), dtype=np.int64)
    assert kernels.draw_by_mass(w, closest, uniforms, rows) == n
    np.testing.assert_array_equal(rows, naive.rows_drawn_by_mass(w * closest, uniforms))
    np.testing.assert_array_equal(
        rows, [0, CHUNK_ROWS, 2 * CHUNK_ROWS, 3 * CHUNK_ROWS, CHUNK_ROWS - 1]
    )


def test_draw_by_mass_reports_zero_total():
    rows = np.full(3, -7, dtype=np.int64)
    assert kernels.draw_by_mass(np.ones(4), np.zeros(4), np.full(3, 0.5), rows) == 0.0
    np.testing.assert_array_equal(rows, [-7, -7, -7])


@pytest.mark.parametrize("n", [1, 7, CHUNK_ROWS * 3 + 11])
def test_draw_row_by_weight_is_random_state_choice(n):
    """The first center's draw: RandomState.choice's row and use of the stream, without
    its n-length arrays; zero weights and repeated weights included."""
    rng = np.random.default_rng(n)
    for trial in range(200):
        w = rng.uniform(0.0, 3.0, n)
        w[rng.random(n) < 0.3] = 0.0
        if trial % 2:
            w = np.round(w)  # ties, and cumulative sums that stall
        if not w.sum() > 0:
            w[-1] = 0.5
        ours, theirs = np.random.RandomState(trial), np.random.RandomState(trial)
        row = seeding_engine.draw_row_by_weight(w, ours)
        assert row == theirs.choice(n, p=w / w.sum())
        assert w[row] > 0
        assert ours.random_sample() == theirs.random_sample()
    generator = np.random.default_rng(5)
    w = rng.uniform(0.0, 1.0, n)
    assert seeding_engine.draw_row_by_weight(w, generator) == np.random.default_rng(5).choice(
        n, p=w / w.sum()
    )


# ---------------------------------------------------------------------------
# Pruned greedy k-means++: the same rows as the unpruned reference and as sklearn
# ---------------------------------------------------------------------------


@SETTINGS
@given(problem=seeding_problems())
def test_pruned_kmeans_plusplus_picks_the_reference_rows(problem):
    X, w, n_clusters, layout, seed = problem
    data = engine_data(as_layout(X, layout))
    centers, indices = kmeans_plusplus_centers(data, n_clusters, w, np.random.RandomState(seed))
    naive.assert_same_rows_up_to_ties(
        indices,
        lambda **tie_rule: naive.kmeans_plusplus(
            X, n_clusters, w, np.random.RandomState(seed), **tie_rule
        )[1],
    )
    np.testing.assert_array_equal(centers, X[indices])
    assert centers.dtype == X.dtype
    assert np.all(w[indices] > 0)


@SETTINGS
@given(problem=seeding_problems())
def test_z_ordered_seeding_picks_the_reference_rows(problem):
    # Every dense X with few features seeded in Z order (the size and spread thresholds
    # lifted): the draws run over the rows in their own order, so the rows are those of
    # the reference, which seeds X as given.
    X, w, n_clusters, layout, seed = problem
    data = engine_data(as_layout(X, layout))
    with (
        mock.patch.object(seeding_engine, "SEEDING_Z_ORDER_MIN_ROWS", 0),
        mock.patch.object(seeding_engine, "SEEDING_Z_ORDER_MIN_SPREAD", -1.0),
    ):
        reordered = seeding_engine._spatial_order(data) is not None
        _, indices = kmeans_plusplus_centers(data, n_clusters, w, np.random.RandomState(seed))
    spans_space = np.ptp(X, axis=0).max() > 0
    assert reordered == (layout == "dense" and X.shape[1] <= 3 and spans_space)
    naive.assert_same_rows_up_to_ties(
        indices,
        lambda **tie_rule: naive.kmeans_plusplus(
            X, n_clusters, w, np.random.RandomState(seed), **tie_rule
        )[1],
    )


@pytest.mark.parametrize("n_features", [2, 3])
def test_rows_in_no_spatial_order_are_seeded_in_z_order(n_features):
    # Shuffled blobs, as many rows as the threshold: seeded in Z order, whose chunks
    # have small boxes, choosing scikit-learn's rows (weighted) all the same.
    X, _ = make_blobs(
        SEEDING_Z_ORDER_MIN_ROWS, n_features=n_features, centers=40, random_state=n_features
    )
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(X))
    data = engine_data(X)
    order = seeding_engine._spatial_order(data)
    assert order is not None
    np.testing.assert_array_equal(np.sort(order), np.arange(len(X)))
    spread = np.ptp(X, axis=0)

    def mean_box_share(rows):  # of the data's bounding box, over the chunks of rows
        chunks = range(0, len(rows), CHUNK_ROWS)
        return np.mean([np.prod(np.ptp(rows[i : i + CHUNK_ROWS], axis=0) / spread) for i in chunks])

    assert mean_box_share(X) > 0.5
    assert mean_box_share(X[order]) < SEEDING_Z_ORDER_MIN_SPREAD
    _, indices = kmeans_plusplus_centers(data, 40, w, np.random.RandomState(7))
    _, expected = sklearn_kmeans_plusplus(X, 40, sample_weight=w, random_state=7)
    np.testing.assert_array_equal(indices, expected)
    # Rows already in spatial order are seeded as they are.
    assert seeding_engine._spatial_order(engine_data(X[order])) is None


@pytest.mark.parametrize("dtype", DTYPES)
def test_chunk_boxes_and_reach_match_numpy(dtype):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(3 * CHUNK_ROWS + 17, 3)).astype(dtype)
    n_chunks = kernels.seeding_chunks(len(X))
    lo, hi = np.empty((n_chunks, 3)), np.empty((n_chunks, 3))
    kernels.dense_chunk_boxes(X, lo, hi)
    for chunk in range(n_chunks):
        rows = X[chunk * CHUNK_ROWS : (chunk + 1) * CHUNK_ROWS].astype(np.float64)
        np.testing.assert_array_equal(lo[chunk], rows.min(axis=0))
        np.testing.assert_array_equal(hi[chunk], rows.max(axis=0))
    points = rng.normal(size=(5, 3)).astype(dtype) * 3
    chunk_max_sq = rng.uniform(0.5, 4.0, n_chunks)
    reach = np.empty((n_chunks, 5), dtype=np.uint8)
    kernels.chunks_in_reach(lo, hi, chunk_max_sq, points, reach)
    nearest_in_box = np.clip(points[None].astype(np.float64), lo[:, None], hi[:, None])
    box_sq = ((nearest_in_box - points[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(reach, box_sq < chunk_max_sq[:, None])


def test_draw_by_mass_follows_the_rows_through_a_position_map():
    rng = np.random.default_rng(8)
    w, closest = rng.uniform(0, 2, 500), rng.uniform(0, 3, 500)
    order = rng.permutation(500)
    position = np.empty(500, dtype=np.int64)
    position[order] = np.arange(500)
    uniforms = rng.uniform(size=9)
    rows, rows_mapped = np.empty(9, dtype=np.int64), np.empty(9, dtype=np.int64)
    total = kernels.draw_by_mass(w, closest, uniforms, rows)
    total_mapped = kernels.draw_by_mass(w, closest[order], uniforms, rows_mapped, position)
    assert total_mapped == total
    np.testing.assert_array_equal(rows_mapped, rows)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dataset", ["blobs", "uniform", "overlapping"])
def test_pruned_kmeans_plusplus_picks_sklearn_rows(seed, dataset):
    if dataset == "blobs":
        X, _ = make_blobs(1200, n_features=4, centers=12, random_state=seed)
    elif dataset == "uniform":
        X = np.random.default_rng(seed).uniform(size=(900, 3))
    else:
        X, _ = make_blobs(1500, n_features=6, centers=60, cluster_std=3.0, random_state=seed)
    w = np.random.default_rng(seed).uniform(0.5, 2.0, len(X))
    k = 20
    _, indices = kmeans_plusplus_centers(engine_data(X), k, w, np.random.RandomState(seed))
    _, expected = sklearn_kmeans_plusplus(X, k, sample_weight=w, random_state=seed)
    np.testing.assert_array_equal(indices, expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_few_rows_with_much_seeding_work_take_the_product_filter(dtype, monkeypatch):
    # Fewer rows than SEEDING_PRODUCT_MIN_ROWS, but n d k above SEEDING_PRODUCT_MIN_WORK:
    # the candidate distances come from the product, and the rows are those of float64
    # arithmetic (sklearn's on X upcast), as on the direct path.
    X = np.random.default_rng(5).uniform(-10, 10, size=(3000, 40)).astype(dtype)
    k = 60
    monkeypatch.setattr(seeding_engine, "SEEDING_PRODUCT_MIN_WORK", X.size * k)
    assert len(X) < seeding_engine.SEEDING_PRODUCT_MIN_ROWS
    assert _SeedingState(engine_data(X), k).filtered
    assert not _SeedingState(engine_data(X), k - 1).filtered
    calls = []
    kernel = kernels.dense_candidate_deltas_filtered
    for form in ("serial", "parallel"):
        original = getattr(kernel, form)
        monkeypatch.setattr(kernel, form, lambda *a, f=original: calls.append(1) or f(*a))
    w = np.ones(len(X))
    _, indices = kmeans_plusplus_centers(engine_data(X), k, w, np.random.RandomState(3))
    assert len(calls) == k - 1
    _, expected = sklearn_kmeans_plusplus(X.astype(np.float64), k, random_state=3)
    np.testing.assert_array_equal(indices, expected)


@pytest.mark.parametrize("seed", range(4))
def test_float32_kmeans_plusplus_picks_the_rows_of_exact_arithmetic(seed):
    # Many features: candidate distances from float32 products, yet the choices are those
    # of float64 arithmetic on the same values: sklearn's rows for X upcast to float64.
    # (sklearn on float32 X rounds D² to float32, so a draw landing within that rounding
    # of a boundary of the cumulative mass takes the neighbouring row: with seed 1, a
    # candidate for the 17th center is row 2904 there, 2903 in exact arithmetic.)
    X, _ = make_blobs(4000, n_features=32, centers=80, cluster_std=4.0, random_state=seed)
    X = X.astype(np.float32)
    k = 40
    _, indices = kmeans_plusplus_centers(
        engine_data(X), k, np.ones(len(X), dtype=np.float32), np.random.RandomState(seed)
    )
    _, expected = sklearn_kmeans_plusplus(X.astype(np.float64), k, random_state=seed)
    np.testing.assert_array_equal(indices, expected)


def test_pruning_skips_most_distance_computations():
    X, _ = make_blobs(4000, n_features=3, centers=40, cluster_std=0.3, random_state=0)
    k, trials = 40, 2 + int(np.log(40))
    _, indices, n_distances = _pruned_kmeans_plusplus(
        engine_data(X), k, np.ones(len(X)), np.random.RandomState(0)
    )
    unpruned = len(X) * (1 + (k - 1) * (trials + 1))
    assert n_distances < 0.25 * unpruned
    _, expected = naive.kmeans_plusplus(X, k, np.ones(len(X)), np.random.RandomState(0))
    np.testing.assert_array_equal(indices, expected)


@pytest.mark.parametrize("n_features", [2, 8])
@pytest.mark.usefixtures("small_data_kernels")
def test_chunks_out_of_reach_are_skipped_on_sorted_rows(n_features):
    # Rows sorted along one axis: a chunk's bounding box is narrow, and most chunks are
    # too far from a candidate for any of their rows to come closer. No row of a chunk
    # ruled out comes closer; the seeding chooses scikit-learn's rows. 8 features take
    # the filtered passes.
    X, _ = make_blobs(
        20 * CHUNK_ROWS, n_features=n_features, centers=30, cluster_std=0.5, random_state=3
    )
    X = X[np.argsort(X[:, 0], kind="stable")]
    k = 30
    _, indices = kmeans_plusplus_centers(
        engine_data(X), k, np.ones(len(X)), np.random.RandomState(5)
    )
    _, expected = sklearn_kmeans_plusplus(X, k, random_state=5)
    np.testing.assert_array_equal(indices, expected)
    state = _SeedingState(engine_data(X), k)
    for row in indices[:-1]:
        state.add_center(X[row])
    candidates = np.ascontiguousarray(X[np.random.default_rng(3).choice(len(X), 6)])
    reach = state.chunk_reach(candidates)
    closer = naive.sq_distances(X, candidates) < state.closest_sq_dist[:, None]
    chunk_of_row = np.arange(len(X)) // CHUNK_ROWS
    assert not np.any(closer & (reach[chunk_of_row] == 0))
    assert reach.mean() < 0.4  # most (chunk, candidate) pairs ruled out


# ---------------------------------------------------------------------------
# k-means|| and AFK-MC²
# ---------------------------------------------------------------------------

SEEDERS = {"k-means||": kmeans_parallel_centers, "afk-mc2": afkmc2_centers}


@SETTINGS
@given(problem=seeding_problems())
def test_kmeans_parallel_matches_reference(problem):
    X, w, n_clusters, layout, seed = problem
    data = engine_data(as_layout(X, layout))
    centers, indices = kmeans_parallel_centers(data, n_clusters, w, np.random.RandomState(seed))
    naive.assert_same_rows_up_to_ties(
        indices,
        lambda **tie_rule: naive.kmeans_parallel(
            X, n_clusters, w, np.random.RandomState(seed), **tie_rule
        ),
    )
    np.testing.assert_array_equal(centers, X[indices])
    assert np.all(w[indices] > 0)


@SETTINGS
@given(problem=seeding_problems())
def test_afkmc2_matches_reference(problem):
    X, w, n_clusters, layout, seed = problem
    data = engine_data(as_layout(X, layout))
    centers, indices = afkmc2_centers(
        data, n_clusters, w, np.random.RandomState(seed), chain_length=20
    )
    expected = naive.afkmc2(X, n_clusters, w, np.random.RandomState(seed), chain_length=20)
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_array_equal(centers, X[indices])
    assert np.all(w[indices] > 0)


def test_reference_replay_accepts_exact_ties_only():
    # Seed 4 starts at [0, 3]; the rows at x = ±10 are then equally far from it and from
    # everything else, so adding either leaves the same potential: both are right second
    # centers. A row that does not tie must still be rejected.
    X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 0.0], [-10.0, 0.0], [0.0, 3.0]])
    w = np.ones(len(X))

    def reference(**tie_rule):
        return naive.kmeans_plusplus(X, 2, w, np.random.RandomState(4), 5, **tie_rule)[1]

    ties = []
    first = int(reference(ties=ties)[0])
    assert first == 4 and ties == [{2, 3}]
    for row in (2, 3):
        naive.assert_same_rows_up_to_ties([first, row], reference)
    for row in (0, 1):
        with pytest.raises(AssertionError, match="tie with it"):
            naive.assert_same_rows_up_to_ties([first, row], reference)


def potential(X, centers, w):
    return float(np.sum(w * naive.sq_distances(X, centers).min(axis=1)))


@pytest.mark.parametrize("method", sorted(SEEDERS))
def test_seeding_quality_close_to_kmeans_plusplus(method):
    X, _ = make_blobs(3000, n_features=5, centers=30, cluster_std=1.0, random_state=3)
    w = np.ones(len(X))
    data = engine_data(X)
    # AFK-MC² approximates plain k-means++ (one candidate per step), k-means|| the greedy one.
    n_local_trials = 1 if method == "afk-mc2" else None
    ratios = []
    for seed in range(4):
        reference, _ = kmeans_plusplus_centers(
            data, 30, w, np.random.RandomState(seed), n_local_trials
        )
        centers, _ = SEEDERS[method](data, 30, w, np.random.RandomState(seed))
        ratios.append(potential(X, centers, w) / potential(X, reference, w))
    assert np.mean(ratios) < 1.5, ratios


@pytest.mark.parametrize("method", sorted(SEEDERS))
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_seeding_is_deterministic_and_returns_rows(method, layout, dtype):
    X = clustered(600, 4, 8, seed=1, dtype=dtype, zero_fraction=0.2)
    w = np.random.default_rng(1).uniform(0.5, 1.5, len(X)).astype(dtype)
    data = engine_data(as_layout(X, layout))
    first = SEEDERS[method](data, 10, w, np.random.RandomState(7))
    second = SEEDERS[method](data, 10, w, np.random.RandomState(7))
    np.testing.assert_array_equal(first[1], second[1])
    np.testing.assert_array_equal(first[0], second[0])
    assert first[0].dtype == dtype and first[0].shape == (10, 4)
    assert isinstance(first[0], np.ndarray)
    np.testing.assert_array_equal(first[0], X[first[1]])
    assert len(set(first[1].tolist())) == 10


@pytest.mark.parametrize("method", [*sorted(SEEDERS), "k-means++"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_seeding_never_picks_a_row_of_zero_weight(method, layout):
    X = clustered(300, 2, 5, seed=4)
    w = np.ones(len(X))
    w[np.random.default_rng(4).random(len(X)) < 0.6] = 0.0
    far = np.argsort(-naive.sq_distances(X, X.mean(axis=0, keepdims=True))[:, 0])[:15]
    w[far] = 0.0  # the farthest rows, which D² sampling would favour
    data = engine_data(as_layout(X, layout))
    seeders = {**SEEDERS, "k-means++": kmeans_plusplus_centers}
    for seed in range(4):
        _, indices = seeders[method](data, 12, w, np.random.RandomState(seed))
        assert np.all(w[indices] > 0)


@pytest.mark.parametrize("method", [*sorted(SEEDERS), "k-means++"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_seeding_with_fewer_distinct_points_than_clusters(method, layout):
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]] * 4 + [[50.0, 50.0]] * 6)
    w = np.array([1.0] * 12 + [0.0] * 6)
    data = engine_data(as_layout(X, layout))
    seeders = {**SEEDERS, "k-means++": kmeans_plusplus_centers}
    for seed in range(4):
        centers, indices = seeders[method](data, 5, w, np.random.RandomState(seed))
        assert centers.shape == (5, 2) and not np.isnan(centers).any()
        assert np.all(w[indices] > 0)
        assert len(np.unique(centers, axis=0)) == 3  # every distinct weighted row


def test_kmeans_parallel_tops_up_when_rounds_give_too_few_candidates():
    X = clustered(400, 3, 6, seed=5)
    w = np.ones(len(X))
    centers, indices = kmeans_parallel_centers(
        engine_data(X), 20, w, np.random.RandomState(0), n_rounds=1, oversampling_factor=0.1
    )
    assert centers.shape == (20, 3) and len(set(indices.tolist())) == 20
    expected = naive.kmeans_parallel(X, 20, w, np.random.RandomState(0), 1, 0.1)
    np.testing.assert_array_equal(indices, expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_seeding_does_not_depend_on_the_thread_count(dtype):
    # Big enough that the candidate and k-means|| kernels run on the thread pool.
    X = clustered(20_000, 16, 30, seed=6, dtype=dtype)
    w = np.random.default_rng(6).uniform(0.5, 1.5, len(X)).astype(dtype)
    seeders = {**SEEDERS, "k-means++": kmeans_plusplus_centers}
    results = {}
    threads_before = numba.get_num_threads()
    try:
        for n_threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(n_threads)
            for method, seeder in seeders.items():
                results[method, n_threads] = seeder(engine_data(X), 30, w, np.random.RandomState(3))
    finally:
        numba.set_num_threads(threads_before)
    for method in seeders:
        one = results[method, 1]
        many = results[method, min(2, numba.config.NUMBA_NUM_THREADS)]
        np.testing.assert_array_equal(one[1], many[1])
        np.testing.assert_array_equal(one[0], many[0])


# ---------------------------------------------------------------------------
# initial_centers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("init", SEEDING_METHODS)
def test_initial_centers_accepts_every_method_name(init):
    X = clustered(200, 3, 4, seed=8)
    centers = initial_centers(engine_data(X), X, 4, init, np.ones(len(X)), np.random.RandomState(0))
    assert centers.shape == (4, 3) and centers.dtype == X.dtype
    assert all((row == X).all(axis=1).any() for row in centers)


def test_initial_centers_rejects_an_unknown_name():
    X = clustered(50, 2, 2, seed=9)
    with pytest.raises(ValueError, match="init must be one of"):
        initial_centers(engine_data(X), X, 2, "kmeans++", np.ones(50), np.random.RandomState(0))
