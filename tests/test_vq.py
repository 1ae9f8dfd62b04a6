"""centroids.vq against scipy.cluster.vq on the same inputs."""

import warnings

import numpy as np
import pytest
import scipy.cluster.vq as scipy_vq
from numpy.testing import assert_allclose, assert_array_equal

from centroids.vq import ClusterError, kmeans, kmeans2, vq, whiten


def blobs(n=600, d=3, k=4, seed=0, dtype=np.float64):
    """Gaussian blobs around k random means: well separated, no exact ties."""
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=6.0, size=(k, d))
    X = means[rng.integers(k, size=n)] + rng.normal(size=(n, d))
    return X.astype(dtype)


def rtol_for(dtype):
    return 1e-12 if np.dtype(dtype) == np.float64 else 1e-5


# -- vq ------------------------------------------------------------------------------


@pytest.mark.parametrize("n_features", [1, 2, 4, 5, 8, 20])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vq_matches_scipy(n_features, dtype):
    X = blobs(d=n_features, dtype=dtype)
    code_book = np.random.default_rng(1).normal(scale=4.0, size=(7, n_features)).astype(dtype)
    expected_code, expected_dist = scipy_vq.vq(X, code_book)
    code, dist = vq(X, code_book)
    assert_array_equal(code, expected_code)
    assert code.dtype == np.int32 and dist.dtype == expected_dist.dtype == dtype
    assert_allclose(dist, expected_dist, rtol=rtol_for(dtype))


def test_vq_distances_are_exact_where_scipy_rounds():
    """SciPy's product form leaves ~1e-8 at a code word itself; ours is 0."""
    X = blobs(d=8)
    code, dist = vq(X, X[:5])
    assert_array_equal(code[:5], np.arange(5))
    assert_array_equal(dist[:5], 0.0)
    reference = np.sqrt(((X - X[:5][code]) ** 2).sum(axis=1))
    assert_allclose(dist, reference, rtol=1e-14)


def test_vq_one_dimensional_and_mixed_dtypes_as_scipy():
    X = blobs(d=1)[:, 0]
    code_book = np.array([-5.0, 0.0, 5.0])
    expected = scipy_vq.vq(X, code_book)
    code, dist = vq(X, code_book)
    assert_array_equal(code, expected[0])
    assert_allclose(dist, expected[1], rtol=1e-12)
    # float32 observations with a float64 code book compute in float64, as SciPy.
    code, dist = vq(X.astype(np.float32), code_book)
    assert dist.dtype == scipy_vq.vq(X.astype(np.float32), code_book)[1].dtype == np.float64


def test_vq_integer_input_gives_float64_distances():
    X = (blobs(d=2) * 10).astype(np.int64)
    code_book = X[[0, 100, 200]]
    code, dist = vq(X, code_book)
    expected_code, expected_dist = scipy_vq.vq(X, code_book)
    assert_array_equal(code, expected_code)
    assert dist.dtype == np.float64
    assert_allclose(dist, expected_dist, rtol=1e-12)


def test_vq_ties_go_to_the_lowest_code():
    code, dist = vq(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]))
    assert code.tolist() == [0] and dist.tolist() == [1.0]


@pytest.mark.parametrize(
    ("obs", "code_book", "error", "match"),
    [
        (np.zeros((4, 3)), np.zeros((2, 2)), ValueError, "same number of features"),
        (np.zeros(4), np.zeros((2, 2)), ValueError, "same rank"),
        (np.zeros((2, 2, 2)), np.zeros((2, 2)), ValueError, "rank > 2"),
        (np.zeros((0, 2)), np.zeros((2, 2)), ValueError, "empty"),
        (np.array([[0.0, np.nan]]), np.zeros((2, 2)), ValueError, "observation 0, feature 1"),
        (np.zeros((2, 2)), np.array([[np.inf, 0.0]]), ValueError, "code_book contains inf"),
        (np.zeros((2, 2)) + 1j, np.zeros((2, 2)), TypeError, "complex"),
        (np.array([["a", "b"]]), np.zeros((2, 2)), TypeError, "numbers"),
    ],
)
def test_vq_rejects_bad_input(obs, code_book, error, match):
    with pytest.raises(error, match=match):
        vq(obs, code_book)


def test_vq_check_finite_false_skips_the_check():
    code, _ = vq(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[0.0, 0.0]]), check_finite=False)
    assert code.tolist() == [0, 0]


# -- whiten --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_whiten_matches_scipy(dtype):
    X = (blobs(d=3) * 10).astype(dtype)
    expected = scipy_vq.whiten(X)
    result = whiten(X)
    assert result.dtype == expected.dtype
    assert_allclose(result, expected, rtol=rtol_for(result.dtype))


def test_whiten_leaves_constant_columns_and_warns():
    X = np.array([[1.0, 2.0], [3.0, 2.0]])
    with pytest.warns(RuntimeWarning, match=r"columns \[1\]"):
        result = whiten(X)
    assert_allclose(result, [[1.0, 2.0], [3.0, 2.0]])


# -- kmeans --------------------------------------------------------------------------


@pytest.mark.parametrize("n_features", [1, 3, 8])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kmeans_from_a_guess_matches_scipy(n_features, dtype):
    X = blobs(d=n_features, dtype=dtype)
    guess = X[[0, 1, 2, 3, 4]]
    expected_book, expected_distortion = scipy_vq.kmeans(X, guess)
    book, distortion = kmeans(X, guess)
    assert book.dtype == expected_book.dtype == dtype
    assert type(distortion) is type(expected_distortion)
    assert_allclose(book, expected_book, rtol=rtol_for(dtype) * 100, atol=1e-12)
    assert_allclose(distortion, expected_distortion, rtol=rtol_for(dtype))


def test_kmeans_drops_codes_that_lose_their_observations_as_scipy():
    X = blobs(d=2)
    guess = np.vstack([X[:3], [[1e6, 1e6]]])  # the far code word gets no observation
    expected_book, expected_distortion = scipy_vq.kmeans(X, guess)
    book, distortion = kmeans(X, guess)
    assert book.shape == expected_book.shape == (3, 2)
    assert_allclose(book, expected_book, rtol=1e-12)
    assert_allclose(distortion, expected_distortion, rtol=1e-12)


@pytest.mark.parametrize(
    "make_seed",
    [lambda: 3, lambda: np.random.RandomState(3), lambda: np.random.default_rng(3)],
    ids=["int", "RandomState", "Generator"],
)
def test_kmeans_with_a_count_draws_scipys_starts(make_seed):
    X = blobs(n=300, d=2, k=5)
    expected_book, expected_distortion = scipy_vq.kmeans(X, 5, iter=4, seed=make_seed())
    book, distortion = kmeans(X, 5, iter=4, seed=make_seed())
    assert_allclose(book, expected_book, rtol=1e-12)
    assert_allclose(distortion, expected_distortion, rtol=1e-12)


def test_kmeans_rng_keyword_and_one_dimensional_data():
    X = blobs(d=1)[:, 0]
    expected_book, expected_distortion = scipy_vq.kmeans(X, 3, rng=7)
    book, distortion = kmeans(X, 3, rng=7)
    assert book.ndim == 1
    assert_allclose(book, expected_book, rtol=1e-12)
    assert_allclose(distortion, expected_distortion, rtol=1e-12)


def test_kmeans_distortion_is_the_mean_distance_of_the_last_assignment():
    X = blobs(d=2)
    book, distortion = kmeans(X, 4, seed=0, thresh=0.0)
    # thresh=0: the last two distortions are equal, so book is a fixed point.
    assert_allclose(distortion, vq(X, book)[1].mean(), rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k_or_guess": 0}, ValueError, "Asked for 0 clusters"),
        ({"k_or_guess": 2.5}, ValueError, "must be an integer"),
        ({"k_or_guess": 7}, ValueError, "only 6 observations"),
        ({"k_or_guess": 2, "iter": 0}, ValueError, "iter must be at least 1"),
        ({"k_or_guess": 2, "thresh": -1.0}, ValueError, "thresh must be a number >= 0"),
        ({"k_or_guess": 2, "thresh": float("nan")}, ValueError, "thresh must be"),
        ({"k_or_guess": np.zeros((2, 3))}, ValueError, "same number of features"),
        ({"k_or_guess": 2, "seed": 1, "rng": 1}, TypeError, "not both"),
    ],
)
def test_kmeans_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        kmeans(np.arange(12.0).reshape(6, 2), **kwargs)


def test_kmeans_same_seed_same_result():
    X = blobs(d=3)
    first = kmeans(X, 4, seed=11)
    second = kmeans(X, 4, seed=11)
    assert_array_equal(first[0], second[0])
    assert first[1] == second[1]


# -- kmeans2 -------------------------------------------------------------------------


@pytest.mark.parametrize("n_features", [1, 3, 8])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_iter", [1, 4, 10])
def test_kmeans2_matrix_matches_scipy(n_features, dtype, n_iter):
    X = blobs(d=n_features, dtype=dtype)
    start = X[[0, 5, 10, 15]]
    expected_centroid, expected_label = scipy_vq.kmeans2(X, start, iter=n_iter, minit="matrix")
    centroid, label = kmeans2(X, start, iter=n_iter, minit="matrix")
    assert centroid.dtype == expected_centroid.dtype == dtype
    assert label.dtype == expected_label.dtype == np.int32
    assert_array_equal(label, expected_label)
    assert_allclose(centroid, expected_centroid, rtol=rtol_for(dtype) * 100)


@pytest.mark.parametrize("minit", ["points", "random"])
@pytest.mark.parametrize("n_features", [1, 2, 5])
def test_kmeans2_draws_scipys_start_for_the_same_seed(minit, n_features):
    X = blobs(d=n_features, k=3)
    data = X[:, 0] if n_features == 1 else X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 'random' may leave a cluster empty
        expected = scipy_vq.kmeans2(data, 3, minit=minit, seed=4)
        result = kmeans2(data, 3, minit=minit, seed=4)
    assert result[0].shape == expected[0].shape
    assert_allclose(result[0], expected[0], rtol=1e-12)
    assert_array_equal(result[1], expected[1])


def test_kmeans2_random_start_with_more_features_than_rows_matches_scipy():
    X = np.random.default_rng(0).normal(size=(6, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = scipy_vq.kmeans2(X, 2, iter=3, minit="random", seed=2)
        result = kmeans2(X, 2, iter=3, minit="random", seed=2)
    assert_allclose(result[0], expected[0], rtol=1e-10)
    assert_array_equal(result[1], expected[1])


def test_kmeans2_random_start_survives_a_singular_covariance():
    X = blobs(d=2)
    X = np.column_stack([X, np.full(X.shape[0], 5.0)])  # constant column: Cholesky fails
    with pytest.raises(np.linalg.LinAlgError):
        scipy_vq.kmeans2(X, 3, minit="random", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        centroid, _ = kmeans2(X, 3, minit="random", seed=0)
    assert centroid.shape == (3, 3) and np.isfinite(centroid).all()
    assert_allclose(centroid[:, 2], 5.0)  # the draws stay in the data's span


def test_kmeans2_plusplus_starts_from_distinct_rows_and_is_reproducible():
    X = blobs(d=3, k=4)
    centroid, label = kmeans2(X, 4, iter=1, minit="++", seed=5)
    again = kmeans2(X, 4, iter=1, minit="++", seed=5)
    assert_array_equal(centroid, again[0])
    assert_array_equal(label, again[1])
    # With a huge iter count it converges to 4 well separated clusters of blobs.
    centroid, label = kmeans2(X, 4, iter=50, minit="++", seed=5)
    assert np.unique(label).size == 4


def test_kmeans2_empty_cluster_warns_or_raises_and_keeps_its_place():
    X = blobs(d=2)
    start = np.vstack([X[:2], [[1e6, 1e6]]])
    with pytest.warns(UserWarning, match=r"cluster\(s\) \[2\]"):
        centroid, label = kmeans2(X, start, iter=3, minit="matrix")
    with pytest.warns(UserWarning):
        expected_centroid, expected_label = scipy_vq.kmeans2(X, start, iter=3, minit="matrix")
    assert_allclose(centroid, expected_centroid, rtol=1e-12)
    assert_array_equal(label, expected_label)
    assert_array_equal(centroid[2], [1e6, 1e6])
    with pytest.raises(ClusterError, match="empty"):
        kmeans2(X, start, minit="matrix", missing="raise")
    assert ClusterError is scipy_vq.ClusterError


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((3,), {"iter": 0}, ValueError, "Invalid iter"),
        ((3,), {"missing": "ignore"}, ValueError, "Unknown missing method"),
        ((3,), {"minit": "kmeans"}, ValueError, "Unknown init method"),
        ((0,), {}, ValueError, "for 0 clusters"),
        ((np.zeros((2, 3)),), {"minit": "matrix"}, ValueError, "same number of features"),
        ((np.zeros(3),), {"minit": "matrix"}, ValueError, "doesn't match data rank"),
        ((20,), {"minit": "points"}, ValueError, "among 12 observations"),
        ((3,), {"seed": 1, "rng": 1}, TypeError, "not both"),
    ],
)
def test_kmeans2_rejects_bad_arguments(args, kwargs, error, match):
    X = np.random.default_rng(0).normal(size=(12, 2))
    with pytest.raises(error, match=match):
        kmeans2(X, *args, **kwargs)


def test_kmeans2_non_integer_k_warns_and_is_converted():
    X = blobs(d=2)
    with pytest.warns(UserWarning, match="not an integer"):
        centroid, _ = kmeans2(X, 3.7, minit="points", seed=0)
    assert centroid.shape == (3, 2)


def test_kmeans2_integer_data_runs_in_float64():
    X = (blobs(d=2) * 10).astype(np.int64)
    centroid, label = kmeans2(X, X[[0, 1, 2]], minit="matrix")
    expected = scipy_vq.kmeans2(X.astype(np.float64), X[[0, 1, 2]].astype(np.float64))
    assert centroid.dtype == np.float64
    assert_allclose(centroid, expected[0], rtol=1e-12)
    assert_array_equal(label, expected[1])
