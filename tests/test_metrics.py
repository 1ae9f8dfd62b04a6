"""Cluster-quality metrics against scikit-learn and against slow, obvious references."""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as sk_metrics
from sklearn.datasets import make_blobs
from sklearn.metrics.pairwise import pairwise_distances

from centroids.evaluate.metrics import (
    SilhouetteEstimate,
    calinski_harabasz_score,
    davies_bouldin_score,
    inertia,
    silhouette_estimate,
    silhouette_samples,
    silhouette_score,
    simplified_silhouette_samples,
    simplified_silhouette_score,
)
from centroids.models import KMeans

from arrays import finite_floats

# ------------------------------------------------------------------ references


def naive_silhouettes(D, labels):
    """Silhouette of every row from a full distance matrix, one row at a time."""
    labels = np.asarray(labels)
    clusters = list(np.unique(labels))
    out = np.zeros(len(labels))
    for i in range(len(labels)):
        own = labels == labels[i]
        if own.sum() == 1:
            continue
        a = D[i, own].sum() / (own.sum() - 1)
        b = min(D[i, labels == c].mean() for c in clusters if c != labels[i])
        out[i] = 0.0 if max(a, b) == 0 else (b - a) / max(a, b)
    return out


def naive_simplified(X, labels, centers):
    out = np.zeros(len(labels))
    for i, x in enumerate(X):
        dist = np.sqrt(((centers - x) ** 2).sum(axis=1))
        a = dist[labels[i]]
        b = np.delete(dist, labels[i]).min()
        out[i] = 0.0 if max(a, b) == 0 else (b - a) / max(a, b)
    return out


def blobs(n=240, d=5, k=4, seed=0):
    X, y = make_blobs(n, n_features=d, centers=k, cluster_std=2.0, random_state=seed)
    return X, y


def sparse_data(n=200, d=30, k=4, seed=1):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.15, format="csr", random_state=seed)
    X.data = rng.normal(size=X.nnz)
    X.data[X.indptr[3] : X.indptr[4]] = 0.0  # an empty row
    X.eliminate_zeros()
    return X, rng.integers(0, k, n)


# ------------------------------------------------------------ exact silhouette


@pytest.mark.parametrize("n_features", [5, 40])  # direct differences; matrix products
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "manhattan", "cosine"])
def test_silhouette_samples_equal_sklearn_dense(metric, n_features):
    X, y = blobs(d=n_features)
    np.testing.assert_allclose(
        silhouette_samples(X, y, metric=metric),
        sk_metrics.silhouette_samples(X, y, metric=metric),
        rtol=0,
        atol=1e-9,
    )


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine"])
def test_silhouette_samples_equal_sklearn_sparse(metric):
    X, y = sparse_data()
    expected = sk_metrics.silhouette_samples(X, y, metric=metric)
    np.testing.assert_allclose(silhouette_samples(X, y, metric=metric), expected, atol=1e-9)
    # the dense and the sparse kernels agree
    np.testing.assert_allclose(
        silhouette_samples(X.toarray(), y, metric=metric), expected, atol=1e-9
    )


def test_sparse_sqeuclidean_matches_dense():
    X, y = sparse_data(seed=5)
    np.testing.assert_allclose(
        silhouette_samples(X, y, metric="sqeuclidean"),
        silhouette_samples(X.toarray(), y, metric="sqeuclidean"),
        atol=1e-9,
    )


@pytest.mark.parametrize("n_features", [5, 40])
def test_float32_close_to_float64_and_sklearn(n_features):
    X, y = blobs(d=n_features, seed=2)
    X32 = X.astype(np.float32)
    ours = silhouette_samples(X32, y)
    assert ours.dtype == np.float64
    # distances are computed in float64 from the float32 values
    np.testing.assert_allclose(ours, silhouette_samples(X32.astype(np.float64), y), atol=1e-12)
    np.testing.assert_allclose(ours, sk_metrics.silhouette_samples(X32, y), atol=1e-5)


def test_silhouette_against_naive_reference_with_singletons_and_duplicates():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 3))
    X[10] = X[11]  # duplicate rows
    X[20:23] = X[20]  # a cluster of identical rows: a = 0
    labels = rng.integers(0, 4, 60)
    labels[20:23] = 7
    labels[40] = 9  # a singleton
    ours = silhouette_samples(X, labels)
    expected = naive_silhouettes(pairwise_distances(X), labels)
    np.testing.assert_allclose(ours, expected, atol=1e-12)
    assert ours[40] == 0.0
    np.testing.assert_array_equal(ours[20:23], 1.0)


@settings(max_examples=25, deadline=None)
@given(
    X=hnp.arrays(
        np.float64,
        st.tuples(st.integers(3, 40), st.integers(1, 4)),
        elements=finite_floats(np.float64, 10),
    ),
    data=st.data(),
)
def test_silhouette_property_against_naive(X, data):
    n = X.shape[0]
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 3)))
    if not 1 < len(np.unique(labels)) < n:
        labels = np.arange(n) % 2  # n >= 3 rows: two clusters, one with 2 rows or more
    for metric in ("euclidean", "manhattan"):
        np.testing.assert_allclose(
            silhouette_samples(X, labels, metric=metric),
            naive_silhouettes(pairwise_distances(X, metric=metric), labels),
            atol=1e-9,
        )


def test_string_labels_and_label_values_do_not_matter():
    X, y = blobs(seed=3)
    names = np.array(["north", "south", "east", "west"])[y]
    shifted = y * 10 + 3
    reference = silhouette_samples(X, y)
    np.testing.assert_array_equal(silhouette_samples(X, names), reference)
    np.testing.assert_array_equal(silhouette_samples(X, list(shifted)), reference)
    assert silhouette_score(X, names) == pytest.approx(sk_metrics.silhouette_score(X, y), abs=1e-12)


def test_silhouette_score_is_the_mean_and_a_float():
    X, y = blobs(seed=6)
    score = silhouette_score(X, y)
    assert type(score) is float
    assert score == pytest.approx(float(np.mean(silhouette_samples(X, y))), abs=1e-15)
    assert score == pytest.approx(sk_metrics.silhouette_score(X, y), abs=1e-9)


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_precomputed_equals_sklearn(layout):
    X, y = blobs(n=120, seed=7)
    D = pairwise_distances(X)
    if layout == "csr":
        D[D > 8] = 0.0  # a sparse "distance" matrix: absent entries count as 0
        D = sp.csr_matrix(D)
    np.testing.assert_allclose(
        silhouette_samples(D, y, metric="precomputed"),
        sk_metrics.silhouette_samples(D, y, metric="precomputed"),
        atol=1e-12,
    )


def test_precomputed_needs_a_square_matrix_with_zero_diagonal():
    X, y = blobs(n=50)
    D = pairwise_distances(X)
    with pytest.raises(ValueError, match="square matrix"):
        silhouette_samples(D[:, :40], y, metric="precomputed")
    D[5, 5] = 0.5
    with pytest.raises(ValueError, match=r"non-zero elements on the diagonal, first at row 5"):
        silhouette_score(D, y, metric="precomputed")


@pytest.mark.parametrize("metric", ["chebyshev", "callable"])
def test_other_metrics_go_through_sklearn_distances(metric):
    X, y = blobs(n=150, seed=8)
    if metric == "callable":

        def metric(u, v):
            return float(np.abs(u - v).max() + np.abs(u - v).sum())

    np.testing.assert_allclose(
        silhouette_samples(X, y, metric=metric),
        sk_metrics.silhouette_samples(X, y, metric=metric),
        atol=1e-12,
    )


def test_metric_keywords_are_passed_to_sklearn():
    X, y = blobs(n=100, seed=9)
    ours = silhouette_samples(X, y, metric="minkowski", p=3)
    np.testing.assert_allclose(
        ours, sk_metrics.silhouette_samples(X, y, metric="minkowski", p=3), atol=1e-12
    )


@pytest.mark.parametrize("metric", ["euclidean", "precomputed"])
def test_sample_size_follows_sklearn(metric):
    X, y = blobs(n=300, seed=10)
    data = pairwise_distances(X) if metric == "precomputed" else X
    for seed in (0, 1, 2):
        assert silhouette_score(
            data, y, metric=metric, sample_size=80, random_state=seed
        ) == pytest.approx(
            sk_metrics.silhouette_score(data, y, metric=metric, sample_size=80, random_state=seed),
            abs=1e-9,
        )


def test_same_result_on_any_number_of_threads():
    X, y = blobs(n=700, d=6, seed=11)  # enough work for the parallel kernel
    X_wide, y_wide = blobs(n=300, d=40, seed=11)
    Xs, ys = sparse_data(n=400, d=40, seed=12)
    threads = numba.get_num_threads()
    results = []
    try:
        for count in sorted({1, threads}):
            numba.set_num_threads(count)
            results.append(
                (
                    silhouette_samples(X, y),
                    silhouette_samples(X, y, metric="cosine"),
                    silhouette_samples(X_wide, y_wide),
                    silhouette_samples(Xs, ys),
                    davies_bouldin_score(X, y),
                    calinski_harabasz_score(X, y),
                    simplified_silhouette_samples(X, y),
                )
            )
    finally:
        numba.set_num_threads(threads)
    for first, other in zip(results[0], results[-1], strict=True):
        np.testing.assert_array_equal(first, other)


# ----------------------------------------------------------------- bad input


def test_length_mismatch_is_reported():
    X, y = blobs(n=50)
    for function in (silhouette_score, davies_bouldin_score, calinski_harabasz_score):
        with pytest.raises(ValueError, match=r"X has 50 rows but labels has 49 values"):
            function(X, y[:49])


def test_single_cluster_and_all_singletons_are_reported():
    X, _ = blobs(n=30)
    for function in (
        silhouette_score,
        silhouette_samples,
        davies_bouldin_score,
        calinski_harabasz_score,
        simplified_silhouette_score,
    ):
        with pytest.raises(ValueError, match=r"Number of labels is 1\..*same label"):
            function(X, np.zeros(30))
        with pytest.raises(ValueError, match=r"Number of labels is 30\..*cluster of its own"):
            function(X, np.arange(30))


def test_nan_in_X_and_in_labels_are_reported():
    X, y = blobs(n=40)
    X_nan = X.copy()
    X_nan[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN in column 2, first at row 7"):
        silhouette_score(X_nan, y)
    with pytest.raises(ValueError, match=r"NaN in column 2, first at row 7"):
        davies_bouldin_score(X_nan, y)
    labels = y.astype(float)
    labels[4] = np.nan
    with pytest.raises(
        ValueError, match="labels passed to silhouette_samples contains NaN at index 4"
    ):
        silhouette_samples(X, labels)


def test_labels_of_wrong_shape_or_mixed_types_are_reported():
    X, y = blobs(n=40)
    with pytest.raises(ValueError, match="must be 1-D"):
        silhouette_score(X, np.stack([y, y], axis=1))
    np.testing.assert_array_equal(silhouette_samples(X, y[:, None]), silhouette_samples(X, y))
    with pytest.raises(TypeError, match="cannot be compared"):
        silhouette_score(X, np.array([1, "a"] * 20, dtype=object))


def test_bad_sample_size_is_reported():
    X, y = blobs(n=40)
    with pytest.raises(
        ValueError, match="sample_size passed to silhouette_score must be an integer"
    ):
        silhouette_score(X, y, sample_size=0)
    with pytest.raises(ValueError, match=r"sample_size passed to silhouette_estimate .* >= 2"):
        silhouette_estimate(X, y, 1)
    with pytest.raises(ValueError, match=r"confidence .* strictly between 0 and 1"):
        silhouette_estimate(X, y, 10, confidence=95)


def test_non_numeric_X_is_reported():
    with pytest.raises(TypeError, match="silhouette_score needs numbers"):
        silhouette_score([["a", 1.0], ["b", 2.0], ["c", 3.0]], [0, 1, 1])


# ---------------------------------------------------------- silhouette estimate


def test_estimate_values_are_exact_silhouettes_of_the_sampled_rows():
    X, y = blobs(n=400, seed=13)
    estimate = silhouette_estimate(X, y, 50, random_state=3)
    rows = np.random.RandomState(3).permutation(400)[:50]
    exact = silhouette_samples(X, y)
    assert isinstance(estimate, SilhouetteEstimate)
    assert estimate.score == pytest.approx(exact[rows].mean(), abs=1e-12)
    fpc = np.sqrt((400 - 50) / 399)
    assert estimate.stderr == pytest.approx(exact[rows].std(ddof=1) / np.sqrt(50) * fpc)
    assert estimate.low < estimate.score < estimate.high
    assert float(estimate) == estimate.score
    assert (estimate.sample_size, estimate.n_samples, estimate.confidence) == (50, 400, 0.95)


@pytest.mark.parametrize(("metric", "layout"), [("cosine", "dense"), ("euclidean", "csr")])
def test_estimate_with_other_metrics_and_sparse(metric, layout):
    if layout == "csr":
        X, y = sparse_data(n=150)
    else:
        X, y = blobs(n=150)
    estimate = silhouette_estimate(X, y, 40, metric=metric, random_state=0)
    rows = np.random.RandomState(0).permutation(150)[:40]
    exact = silhouette_samples(X, y, metric=metric)
    assert estimate.score == pytest.approx(exact[rows].mean(), abs=1e-12)


def test_estimate_of_every_row_is_exact():
    X, y = blobs(n=120, seed=14)
    estimate = silhouette_estimate(X, y, 500, random_state=0)
    assert estimate.sample_size == 120
    assert estimate.stderr == 0.0
    assert estimate.low == estimate.high == pytest.approx(silhouette_score(X, y), abs=1e-12)


def test_estimate_interval_covers_the_exact_score():
    X, y = make_blobs(1500, n_features=4, centers=5, cluster_std=2.5, random_state=15)
    exact = silhouette_score(X, y)
    covered = 0
    for seed in range(50):
        estimate = silhouette_estimate(X, y, 60, random_state=seed)
        covered += estimate.low <= exact <= estimate.high
    # 95% intervals: about 47.5 of 50 cover; fewer than 43 would be a 1-in-200 event
    assert covered >= 43
    wide = silhouette_estimate(X, y, 60, confidence=0.99, random_state=0)
    narrow = silhouette_estimate(X, y, 60, confidence=0.5, random_state=0)
    assert narrow.high - narrow.low < wide.high - wide.low


def test_estimate_precomputed_matches_exact_rows():
    X, y = blobs(n=100, seed=16)
    D = pairwise_distances(X)
    estimate = silhouette_estimate(D, y, 30, metric="precomputed", random_state=1)
    rows = np.random.RandomState(1).permutation(100)[:30]
    assert estimate.score == pytest.approx(silhouette_samples(X, y)[rows].mean(), abs=1e-12)


# -------------------------------------------------------- simplified silhouette


def test_simplified_silhouette_with_given_centers_against_reference():
    X, _ = blobs(n=300, seed=17)
    model = KMeans(n_clusters=4, random_state=0).fit(X)
    ours = simplified_silhouette_samples(X, model.labels_, model.cluster_centers_)
    expected = naive_simplified(X, model.labels_, model.cluster_centers_)
    np.testing.assert_allclose(ours, expected, atol=1e-12)
    assert simplified_silhouette_score(X, model.labels_, model.cluster_centers_) == pytest.approx(
        expected.mean(), abs=1e-12
    )


def test_simplified_silhouette_uses_cluster_means_and_zeroes_singletons():
    X, y = blobs(n=100, seed=18)
    y = y.copy()
    y[0] = 9  # a singleton
    names = np.array([f"c{v}" for v in y])
    codes = np.unique(y, return_inverse=True)[1]
    centers = np.array([X[codes == c].mean(axis=0) for c in range(codes.max() + 1)])
    expected = naive_simplified(X, codes, centers)
    expected[0] = 0.0
    np.testing.assert_allclose(simplified_silhouette_samples(X, names), expected, atol=1e-12)


def test_simplified_silhouette_sparse_equals_dense():
    X, y = sparse_data(seed=19)
    np.testing.assert_allclose(
        simplified_silhouette_samples(X, y),
        simplified_silhouette_samples(X.toarray(), y),
        atol=1e-9,
    )


def test_simplified_silhouette_checks_centers_and_labels():
    X, y = blobs(n=40)
    with pytest.raises(ValueError, match=r"integer indices of rows of centers, 0 to 1"):
        simplified_silhouette_score(X, y, centers=X[:2])
    with pytest.raises(ValueError, match=r"shape \(n_clusters, n_features\) with n_features = 5"):
        simplified_silhouette_score(X, y, centers=X[:4, :3])
    with pytest.raises(ValueError, match="at least 2 centers"):
        simplified_silhouette_score(X, np.zeros(40, dtype=int), centers=X[:1])


# ---------------------------------------------- Davies-Bouldin, Calinski-Harabasz


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [0, 1])
def test_davies_bouldin_and_calinski_harabasz_equal_sklearn(dtype, seed):
    X, y = blobs(n=500, d=6, k=5, seed=seed)
    X = X.astype(dtype)
    names = np.array(list("abcde"))[y]
    tolerance = 1e-9 if dtype == np.float64 else 1e-5
    assert davies_bouldin_score(X, names) == pytest.approx(
        sk_metrics.davies_bouldin_score(X, y), rel=tolerance
    )
    assert calinski_harabasz_score(X, names) == pytest.approx(
        sk_metrics.calinski_harabasz_score(X, y), rel=tolerance
    )


def test_davies_bouldin_and_calinski_harabasz_sparse_equal_dense():
    X, y = sparse_data(seed=20)
    dense = X.toarray()
    assert davies_bouldin_score(X, y) == pytest.approx(
        sk_metrics.davies_bouldin_score(dense, y), rel=1e-9
    )
    assert calinski_harabasz_score(X, y) == pytest.approx(
        sk_metrics.calinski_harabasz_score(dense, y), rel=1e-9
    )


def test_degenerate_clusters_follow_sklearn():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    y = [0, 0, 1, 1]
    assert calinski_harabasz_score(X, y) == sk_metrics.calinski_harabasz_score(X, y) == 1.0
    assert davies_bouldin_score(X, y) == sk_metrics.davies_bouldin_score(X, y) == 0.0
    # two clusters with the same centroid: their centroid distance counts as infinite
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0], [9.0, 9.0], [9.0, 8.0]])
    y = [0, 0, 1, 1, 2, 2]
    assert davies_bouldin_score(X, y) == pytest.approx(
        sk_metrics.davies_bouldin_score(X, y), rel=1e-12
    )


# --------------------------------------------------------------------- inertia


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_inertia_equals_the_models_inertia(layout):
    X, _ = blobs(n=400, seed=21)
    model = KMeans(n_clusters=4, random_state=0).fit(X)
    data = sp.csr_matrix(X) if layout == "csr" else X
    assert inertia(data, model.labels_, model.cluster_centers_) == pytest.approx(
        model.inertia_, rel=1e-9
    )
    # the model's centers are the cluster means at convergence
    assert inertia(data, model.labels_) == pytest.approx(model.inertia_, rel=1e-9)


def test_inertia_with_weights_against_reference():
    rng = np.random.default_rng(22)
    X = rng.normal(size=(90, 3)).astype(np.float32)
    labels = rng.choice(["x", "y", "z"], 90)
    weights = rng.uniform(0, 3, 90)
    expected = 0.0
    for name in np.unique(labels):
        rows = labels == name
        center = np.average(X[rows].astype(np.float64), axis=0, weights=weights[rows])
        expected += (weights[rows] * ((X[rows] - center) ** 2).sum(axis=1)).sum()
    assert inertia(X, labels, sample_weight=weights) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="sample_weight has 3 values but X has 90 rows"):
        inertia(X, labels, sample_weight=[1, 2, 3])


def test_dataframe_input_and_series_labels():
    import pandas as pd

    X, y = blobs(n=120, seed=23)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    labels = pd.Series(np.array(["p", "q", "r", "s"])[y], index=np.arange(1000, 1120))
    assert silhouette_score(frame, labels) == pytest.approx(
        sk_metrics.silhouette_score(X, y), abs=1e-12
    )
    assert davies_bouldin_score(frame, labels) == pytest.approx(
        sk_metrics.davies_bouldin_score(X, y), rel=1e-12
    )


def test_sparse_sample_size_follows_sklearn():
    X, y = sparse_data(n=180, seed=24)
    assert silhouette_score(X, y, sample_size=70, random_state=5) == pytest.approx(
        sk_metrics.silhouette_score(X, y, sample_size=70, random_state=5), abs=1e-9
    )


def test_inertia_checks_centers_and_labels():
    X, y = blobs(n=40)
    with pytest.raises(ValueError, match=r"integer indices of rows of centers, 0 to 2"):
        inertia(X, y, centers=X[:3])
    with pytest.raises(ValueError, match="centers must be finite"):
        inertia(X, y, centers=np.full((4, 5), np.nan))
    with pytest.raises(TypeError, match="must be an array of numbers"):
        inertia(X, y, centers=[["a"] * 5] * 4)
