"""SphericalKMeans against a slow NumPy reference, and its estimator contract."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from centroids.models.spherical import SphericalKMeans, normalize_rows

SAMPLE_WEIGHT_REASON = (
    "k-means++ and random seeding draw rows at random: weighting a row by w and repeating "
    "it w times define the same objective, but not the same sequence of draws (the check "
    "also shuffles the rows), so the two fits may reach different local optima. The "
    "deterministic part, the iterations from the same initial centers, is checked for "
    "weight/repetition equivalence in test_weights_equal_repetitions_from_the_same_start."
)


@parametrize_with_checks(
    [
        SphericalKMeans(n_clusters=3, random_state=0),
        SphericalKMeans(n_clusters=2, init="random", n_init=2, max_iter=5, random_state=0),
    ],
    expected_failed_checks=lambda estimator: {
        "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_REASON,
        "check_sample_weight_equivalence_on_sparse_data": SAMPLE_WEIGHT_REASON,
    },
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def directions(n=400, d=6, k=4, spread=0.15, seed=0, dtype=np.float64):
    """Rows near k random directions, each scaled by a random length in [0.1, 10].

    Euclidean k-means is misled by the lengths; the directions are the clusters.
    """
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d))
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    truth = rng.integers(k, size=n)
    X = means[truth] + spread * rng.normal(size=(n, d))
    X *= rng.uniform(0.1, 10.0, size=(n, 1))
    return X.astype(dtype), truth


def reference_spherical(X, centers, sample_weight, max_iter=300):
    """Slow spherical k-means: argmax of cosine, normalised weighted sums, stop when no
    label changes. No empty-cluster handling (the test data never empties a cluster)."""
    X = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    C = centers / np.linalg.norm(centers, axis=1, keepdims=True)
    old = None
    for _ in range(max_iter):
        labels = np.argmax(Xn @ C.T, axis=1)
        sums = np.zeros_like(C)
        np.add.at(sums, labels, sample_weight[:, None] * Xn)
        assert (np.linalg.norm(sums, axis=1) > 0).all()
        C = sums / np.linalg.norm(sums, axis=1, keepdims=True)
        if old is not None and np.array_equal(labels, old):
            break
        old = labels
    similarity = Xn @ C.T
    labels = np.argmax(similarity, axis=1)
    inertia = float((sample_weight * (1 - similarity[np.arange(len(X)), labels])).sum())
    return labels, C, inertia


@pytest.mark.parametrize("container", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [3, 12])
def test_matches_the_reference_from_the_same_start(container, dtype, d):
    X, _ = directions(d=d, dtype=dtype)
    rng = np.random.default_rng(1)
    weights = rng.uniform(0.5, 2.0, size=X.shape[0])
    start = X[[0, 1, 2, 3]].astype(np.float64)
    expected_labels, expected_centers, expected_inertia = reference_spherical(X, start, weights)
    if container == "csr":
        X = sp.csr_matrix(X)
    model = SphericalKMeans(4, init=start, tol=0).fit(X, sample_weight=weights)
    assert_array_equal(model.labels_, expected_labels)
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    assert_allclose(model.cluster_centers_, expected_centers, rtol=rtol, atol=rtol)
    assert_allclose(model.inertia_, expected_inertia, rtol=rtol * 10)
    assert model.cluster_centers_.dtype == dtype


def test_dense_and_sparse_give_the_same_fit():
    X, _ = directions(d=10)
    X[np.abs(X) < 0.5] = 0.0  # real zeros, so CSR differs from dense in layout
    dense = SphericalKMeans(4, random_state=3).fit(X)
    sparse = SphericalKMeans(4, random_state=3).fit(sp.csr_matrix(X))
    assert_array_equal(dense.labels_, sparse.labels_)
    assert_allclose(dense.cluster_centers_, sparse.cluster_centers_, rtol=1e-10, atol=1e-12)
    assert_allclose(dense.inertia_, sparse.inertia_, rtol=1e-10)


def test_recovers_directions_where_euclidean_kmeans_does_not():
    X, truth = directions(n=600, d=8, k=5, spread=0.1)
    labels = SphericalKMeans(5, random_state=0).fit_predict(X)
    assert adjusted_rand_score(truth, labels) > 0.95
    euclidean = SklearnKMeans(5, random_state=0, n_init=1).fit_predict(X)
    assert adjusted_rand_score(truth, euclidean) < 0.6


def test_fitted_attributes_and_methods_agree():
    X, _ = directions(d=5)
    weights = np.random.default_rng(2).uniform(0, 3, size=X.shape[0])
    model = SphericalKMeans(4, random_state=1).fit(X, sample_weight=weights)
    assert_allclose(np.linalg.norm(model.cluster_centers_, axis=1), 1.0, rtol=1e-12)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    cosine = Xn @ model.cluster_centers_.T
    distances = model.transform(X)
    assert_allclose(distances, 1 - cosine, atol=1e-12)
    assert_array_equal(model.predict(X), model.labels_)
    assert_array_equal(np.argmin(distances, axis=1), model.labels_)
    assert_allclose(model.inertia_, (weights * (1 - cosine.max(axis=1))).sum(), rtol=1e-10)
    assert_allclose(model.score(X, sample_weight=weights), -model.inertia_, rtol=1e-10)
    assert_allclose(model.fit_transform(X, sample_weight=weights), distances, atol=1e-12)
    assert model.labels_.dtype == np.int32
    assert model.n_iter_ >= 1


def test_row_lengths_do_not_matter():
    X, _ = directions(d=4)
    scaled = X * np.random.default_rng(5).uniform(0.01, 100, size=(X.shape[0], 1))
    first = SphericalKMeans(4, random_state=2).fit(X)
    second = SphericalKMeans(4, random_state=2).fit(scaled)
    assert_array_equal(first.labels_, second.labels_)
    assert_allclose(first.cluster_centers_, second.cluster_centers_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("container", ["dense", "csr"])
def test_float32_stays_float32(container):
    X, _ = directions(d=6, dtype=np.float32)
    X = sp.csr_matrix(X) if container == "csr" else X
    model = SphericalKMeans(3, random_state=0).fit(X)
    assert model.cluster_centers_.dtype == np.float32
    assert model.transform(X).dtype == np.float32


def test_same_seed_same_result_and_random_init_runs():
    X, _ = directions(d=6)
    for init in ["k-means++", "random"]:
        first = SphericalKMeans(4, init=init, random_state=7).fit(X)
        second = SphericalKMeans(4, init=init, random_state=7).fit(X)
        assert_array_equal(first.labels_, second.labels_)
        assert_array_equal(first.cluster_centers_, second.cluster_centers_)


def test_weights_equal_repetitions_from_the_same_start():
    X, _ = directions(n=120, d=4)
    counts = np.random.default_rng(3).integers(1, 4, size=X.shape[0])
    start = X[:4]
    weighted = SphericalKMeans(4, init=start).fit(X, sample_weight=counts)
    repeated = SphericalKMeans(4, init=start).fit(np.repeat(X, counts, axis=0))
    assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-10)
    assert_allclose(weighted.inertia_, repeated.inertia_, rtol=1e-10)
    assert_array_equal(np.repeat(weighted.labels_, counts), repeated.labels_)


def test_empty_cluster_takes_the_row_of_lowest_similarity():
    X, _ = directions(n=200, d=3, k=2, spread=0.05)
    far = -X.mean(axis=0)  # cosine < 0 with every row: its cluster starts empty
    start = np.vstack([X[0], X[1], far])
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    with warnings.catch_warnings():
        # One iteration: the relocated center has not yet won its rows back.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SphericalKMeans(3, init=start, max_iter=1).fit(X)
    first_centers = start[:2] / np.linalg.norm(start[:2], axis=1, keepdims=True)
    lowest = np.argmin((Xn @ first_centers.T).max(axis=1))
    # After one iteration the empty cluster's center is the relocated row.
    assert_allclose(model.cluster_centers_[2], Xn[lowest], rtol=1e-12)
    full = SphericalKMeans(3, init=start).fit(X)
    assert np.bincount(full.labels_, minlength=3).min() > 0


def test_rows_of_zeros_follow_the_documented_rule():
    X, _ = directions(n=100, d=4, k=2, spread=0.05)
    X[[5, 50]] = 0.0
    weights = np.ones(X.shape[0])
    weights[50] = 3.0
    model = SphericalKMeans(2, random_state=0).fit(X, sample_weight=weights)
    assert model.labels_[5] == model.labels_[50] == 0
    assert np.isfinite(model.cluster_centers_).all()
    nonzero = np.ones(X.shape[0], dtype=bool)
    nonzero[[5, 50]] = False
    Xn = X[nonzero] / np.linalg.norm(X[nonzero], axis=1, keepdims=True)
    cosine = (Xn @ model.cluster_centers_.T).max(axis=1)
    assert_allclose(model.inertia_, (1 - cosine).sum() + 1.0 + 3.0, rtol=1e-10)
    assert_allclose(model.transform(np.zeros((1, 4))), [[1.0, 1.0]])
    assert_allclose(model.score(X, sample_weight=weights), -model.inertia_, rtol=1e-10)
    # Rows of zeros never seed: the other rows alone give the same clusters.
    alone = SphericalKMeans(2, random_state=0).fit(X[nonzero])
    assert adjusted_rand_score(alone.labels_, model.labels_[nonzero]) == 1.0


def test_copy_x():
    X, _ = directions(d=4)
    kept = X.copy()
    SphericalKMeans(3, random_state=0).fit(X)
    assert_array_equal(X, kept)
    SphericalKMeans(3, random_state=0, copy_x=False).fit(X)
    assert_allclose(np.linalg.norm(X, axis=1), 1.0)  # normalised in place, as documented
    sparse = sp.csr_matrix(kept)
    SphericalKMeans(3, random_state=0, copy_x=False).fit(sparse)
    assert_allclose(sp.linalg.norm(sparse, axis=1), 1.0)


def test_normalize_rows_reports_zero_rows_and_keeps_sparsity():
    X = sp.csr_matrix(np.array([[3.0, 0.0, 4.0], [0.0, 0.0, 0.0]], dtype=np.float32))
    unit, zero_rows = normalize_rows(X)
    assert sp.issparse(unit) and unit.dtype == np.float32 and unit.nnz == 2
    assert_allclose(unit.toarray(), [[0.6, 0.0, 0.8], [0.0, 0.0, 0.0]], rtol=1e-6)
    assert zero_rows.tolist() == [False, True]
    assert_allclose(X.toarray(), [[3.0, 0.0, 4.0], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize(
    ("model", "X", "match"),
    [
        (SphericalKMeans(3), np.eye(2), "fewer rows than clusters"),
        (SphericalKMeans(2), np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]), "Only 1 rows"),
        (SphericalKMeans(2, init=np.array([[1.0, 0.0], [0.0, 0.0]])), np.eye(2), "zeros"),
        (SphericalKMeans(2, init=np.ones((3, 2))), np.eye(2), "does not match"),
        (SphericalKMeans(2), np.array([[1.0, np.nan], [0.0, 1.0]]), "NaN"),
    ],
)
def test_bad_input_raises_a_clear_error(model, X, match):
    with pytest.raises(ValueError, match=match):
        model.fit(X)


def test_duplicate_directions_warn():
    X = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    with pytest.warns(ConvergenceWarning, match="distinct directions"):
        SphericalKMeans(3, random_state=0).fit(X)
