"""Properties of centroids.KMeans on small random data, checked against tests/naive.py.

Properties that compare two fits (row permutation, translation, duplicated rows)
start both from the same explicit ``init`` array, so that the seeding does not depend
on the row order, and use continuous, well-separated data, so that float rounding
cannot move a row across a cluster boundary.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning

from centroids import KMeans

import naive

DTYPES = [np.float32, np.float64]
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}

SETTINGS = settings(max_examples=50, deadline=None)


def as_layout(X, layout):
    return sp.csr_matrix(X) if layout == "csr" else X


@st.composite
def fit_inputs(draw):
    """(X, sample_weight, n_clusters, init, layout) for a small problem of any shape."""
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(1, 40))
    d = draw(st.integers(1, 4))
    width = np.dtype(dtype).itemsize * 8
    elements = st.floats(-100, 100, allow_subnormal=False, width=width)
    X = draw(hnp.arrays(dtype, (n, d), elements=elements))
    sample_weight = draw(
        st.none() | hnp.arrays(dtype, n, elements=st.floats(0.125, 10, width=width))
    )
    n_clusters = draw(st.integers(1, min(n, 5)))
    init = draw(st.sampled_from(["k-means++", "random"]))
    layout = draw(st.sampled_from(["dense", "csr"]))
    return X, sample_weight, n_clusters, init, layout


def fit_quietly(model, X, sample_weight=None):
    """Fit, ignoring the warning about fewer distinct points than clusters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, sample_weight=sample_weight)


@st.composite
def separated_blobs(draw, dtype=np.float64):
    """Continuous blobs far apart: (X, init, n_clusters), init made of distinct rows of X."""
    n_blobs = draw(st.integers(1, 5))
    d = draw(st.integers(1, 3))
    per_blob = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # Blob means on a grid with spacing 100; rows within a few units of their mean.
    grid = rng.choice(10**d, size=n_blobs, replace=False)
    means = np.array([np.unravel_index(g, (10,) * d) for g in grid], dtype=np.float64) * 100
    X = np.repeat(means, per_blob, axis=0) + rng.normal(size=(n_blobs * per_blob, d))
    X = X.astype(dtype)
    n_clusters = draw(st.integers(1, min(len(X), 5)))
    rows = draw(st.permutations(range(len(X))))[:n_clusters]
    return X, X[rows].copy(), n_clusters


# ---------------------------------------------------------------------------
# One fit against the reference
# ---------------------------------------------------------------------------


@SETTINGS
@given(inputs=fit_inputs(), seed=st.integers(0, 1000))
def test_labels_are_the_nearest_centers(inputs, seed):
    X, sample_weight, n_clusters, init, layout = inputs
    km = fit_quietly(
        KMeans(n_clusters, init=init, random_state=seed), as_layout(X, layout), sample_weight
    )
    assert km.labels_.shape == (len(X),)
    D = naive.sq_distances(X, km.cluster_centers_)
    centers = km.cluster_centers_.astype(np.float64)
    scale = (X.astype(np.float64) ** 2).sum(axis=1).max() + (centers**2).sum(axis=1).max()
    allowed = RTOL[np.dtype(X.dtype)] * scale + 1e-290
    rows = np.arange(len(X))
    # The assigned center is a nearest one (exact ties may go either way)...
    assert np.all(D[rows, km.labels_] <= D.min(axis=1) + allowed)
    # ...and it is the argmin of transform(X) wherever the nearest center is clearly nearest.
    T = km.transform(as_layout(X, layout))
    assert T.shape == (len(X), n_clusters) and T.dtype == X.dtype
    if n_clusters > 1:
        best, runner_up = np.partition(D, 1, axis=1)[:, :2].T
        clear = runner_up - best > 2 * allowed
        np.testing.assert_array_equal(km.labels_[clear], np.argmin(T, axis=1)[clear])
    # predict(X) agrees with labels_ (modulo exact ties).
    predicted = km.predict(as_layout(X, layout))
    assert np.all(np.abs(D[rows, predicted] - D[rows, km.labels_]) <= allowed)


@SETTINGS
@given(inputs=fit_inputs(), seed=st.integers(0, 1000))
def test_inertia_is_the_weighted_sum_of_squared_distances(inputs, seed):
    X, sample_weight, n_clusters, init, layout = inputs
    km = fit_quietly(
        KMeans(n_clusters, init=init, random_state=seed), as_layout(X, layout), sample_weight
    )
    w = np.ones(len(X)) if sample_weight is None else sample_weight.astype(np.float64)
    expected = naive.inertia(X, w, km.cluster_centers_, km.labels_)
    centers = km.cluster_centers_.astype(np.float64)
    norms = (X.astype(np.float64) ** 2).sum(axis=1) + (centers**2).sum(axis=1).max()
    allowed = RTOL[np.dtype(X.dtype)] * np.sum(w * norms) + 1e-290
    assert abs(km.inertia_ - expected) <= allowed
    assert np.all(np.isfinite(km.cluster_centers_))
    assert km.cluster_centers_.dtype == X.dtype


def test_predict_on_the_training_rows_equals_labels_on_constant_data():
    X = np.full((6, 1), 71.48085531751386)
    with pytest.warns(ConvergenceWarning):
        km = KMeans(2, random_state=0).fit(X)
    np.testing.assert_array_equal(km.predict(X), km.labels_)


# ---------------------------------------------------------------------------
# Invariances between two fits from the same explicit init
# ---------------------------------------------------------------------------


@SETTINGS
@given(
    blobs=separated_blobs(),
    layout=st.sampled_from(["dense", "csr"]),
    order_seed=st.integers(0, 2**32 - 1),
)
def test_permuting_the_rows_gives_the_same_partition(blobs, layout, order_seed):
    X, init, n_clusters = blobs
    perm = np.random.default_rng(order_seed).permutation(len(X))
    model = KMeans(n_clusters, init=init, n_init=1, tol=0.0)
    km = fit_quietly(model, as_layout(X, layout))
    km_perm = fit_quietly(KMeans(**model.get_params()), as_layout(X[perm], layout))
    # Row perm[i] of X is row i of X[perm]: map the labels back to X's row order.
    labels_back = np.empty_like(km_perm.labels_)
    labels_back[perm] = km_perm.labels_
    assert naive.partition(labels_back) == naive.partition(km.labels_)
    np.testing.assert_allclose(km_perm.cluster_centers_, km.cluster_centers_, rtol=1e-10, atol=1e-9)
    assert km_perm.inertia_ == pytest.approx(km.inertia_, rel=1e-9, abs=1e-9)


@SETTINGS
@given(
    blobs=separated_blobs(),
    shift=hnp.arrays(np.float64, 3, elements=st.floats(-1000, 1000, allow_subnormal=False)),
)
def test_translating_the_data_translates_the_centers(blobs, shift):
    X, init, n_clusters = blobs
    v = shift[: X.shape[1]]
    km = fit_quietly(KMeans(n_clusters, init=init, n_init=1, tol=0.0), X)
    km_moved = fit_quietly(KMeans(n_clusters, init=init + v, n_init=1, tol=0.0), X + v)
    assert naive.partition(km_moved.labels_) == naive.partition(km.labels_)
    atol = 1e-9 * (np.abs(X).max() + np.abs(v).max() + 1)
    np.testing.assert_allclose(km_moved.cluster_centers_, km.cluster_centers_ + v, atol=atol)
    assert km_moved.inertia_ == pytest.approx(km.inertia_, rel=1e-6, abs=1e-6)


@SETTINGS
@given(blobs=separated_blobs(), layout=st.sampled_from(["dense", "csr"]))
def test_duplicating_every_row_equals_weight_two(blobs, layout):
    X, init, n_clusters = blobs
    n = len(X)
    model = KMeans(n_clusters, init=init, n_init=1, tol=0.0)
    km_twice = fit_quietly(KMeans(**model.get_params()), as_layout(np.vstack([X, X]), layout))
    km_weighted = fit_quietly(model, as_layout(X, layout), np.full(n, 2.0))
    np.testing.assert_array_equal(km_twice.labels_[:n], km_twice.labels_[n:])
    assert naive.partition(km_twice.labels_[:n]) == naive.partition(km_weighted.labels_)
    np.testing.assert_allclose(
        km_twice.cluster_centers_, km_weighted.cluster_centers_, rtol=1e-10, atol=1e-9
    )
    assert km_twice.inertia_ == pytest.approx(km_weighted.inertia_, rel=1e-9, abs=1e-9)


# ---------------------------------------------------------------------------
# Degenerate numbers of distinct points
# ---------------------------------------------------------------------------


@st.composite
def distinct_rows(draw, max_rows=15):
    """Distinct integer-valued rows (so no two rows are closer than 1), in random order."""
    dtype = draw(st.sampled_from(DTYPES))
    d = draw(st.integers(1, 3))
    n = draw(st.integers(1, max_rows))
    values = draw(hnp.arrays(np.int64, (n, d), elements=st.integers(-20, 20)))
    X = np.unique(values, axis=0)
    order = draw(st.permutations(range(len(X))))
    return X[list(order)].astype(dtype)


@SETTINGS
@given(
    X=distinct_rows(),
    init=st.sampled_from(["k-means++", "random"]),
    layout=st.sampled_from(["dense", "csr"]),
    seed=st.integers(0, 1000),
)
def test_one_cluster_per_distinct_row(X, init, layout, seed):
    n = len(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        km = KMeans(n, init=init, random_state=seed).fit(as_layout(X, layout))
    assert km.inertia_ == 0.0
    assert len(np.unique(km.labels_)) == n
    np.testing.assert_array_equal(km.cluster_centers_[km.labels_], X)


@SETTINGS
@given(
    X=distinct_rows(max_rows=4),
    data=st.data(),
    init=st.sampled_from(["k-means++", "random"]),
    layout=st.sampled_from(["dense", "csr"]),
    seed=st.integers(0, 1000),
)
def test_fewer_distinct_points_than_clusters_warns_and_gives_no_nan(X, data, init, layout, seed):
    m = len(X)
    repeats = data.draw(hnp.arrays(np.int64, m, elements=st.integers(1, 4)))
    X_repeated = np.repeat(X, repeats, axis=0)
    n_clusters = data.draw(st.integers(m + 1, max(m + 1, len(X_repeated))))
    if n_clusters > len(X_repeated):
        X_repeated = np.vstack([X_repeated, X[:1].repeat(n_clusters - len(X_repeated), axis=0)])
    km = KMeans(n_clusters, init=init, random_state=seed)
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        km.fit(as_layout(X_repeated, layout))
    assert km.cluster_centers_.shape == (n_clusters, X.shape[1])
    assert np.all(np.isfinite(km.cluster_centers_))
    assert len(np.unique(km.labels_)) <= m
    if init == "k-means++":
        # k-means++ takes every distinct point before any duplicate: a perfect fit.
        assert km.inertia_ == 0.0
        assert len(np.unique(km.labels_)) == m
