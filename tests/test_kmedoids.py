"""KMedoids: FasterPAM and alternating steps against brute force, scipy and kmedoids."""

import itertools
import warnings

import kmedoids
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from centroids._kernels.kmedoids import (
    EUCLIDEAN,
    PRECOMPUTED,
    _apply_swap,
    _best_swap_for,
    _removal_losses,
    nearest_two_medoids,
)
from centroids.models.kmedoids import KMedoids, _distance_matrix

SCIPY_METRIC = {"euclidean": "euclidean", "manhattan": "cityblock", "cosine": "cosine"}


SAMPLE_WEIGHT_REASON = (
    "k-medoids++ draws rows at random and FasterPAM visits them in a random order: "
    "weighting a row by 2 and repeating it define the same objective but not the same "
    "draws (the check also shuffles the rows), so the two fits may end at different "
    "local optima. The deterministic part (the same start, the same search) is checked "
    "in test_weight_two_equals_the_row_repeated."
)


def _expected_failed_checks(estimator):
    return {"check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_REASON}


@parametrize_with_checks(
    [
        KMedoids(n_clusters=3, random_state=0),
        KMedoids(n_clusters=3, method="alternate", init="random", random_state=0),
        KMedoids(n_clusters=2, metric="manhattan", precompute_distances=False, random_state=0),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- slow references ---------------------------------------------------------------------


def total_deviation(D, medoids):
    """Σ_o min_m D[o, m]: the k-medoids objective, by brute force."""
    return float(D[:, list(medoids)].min(axis=1).sum())


def best_single_swap(D, medoids):
    """The lowest total over every (medoid, non-medoid) swap, by brute force."""
    best = np.inf
    for slot in range(len(medoids)):
        for candidate in range(D.shape[0]):
            if candidate in medoids:
                continue
            trial = list(medoids)
            trial[slot] = candidate
            best = min(best, total_deviation(D, trial))
    return best


def global_optimum(D, k):
    return min(total_deviation(D, combo) for combo in itertools.combinations(range(len(D)), k))


def small_data(seed, n=40, d=3):
    rng = np.random.RandomState(seed)
    centers = rng.uniform(-5, 5, size=(4, d))
    return centers[rng.randint(4, size=n)] + rng.normal(size=(n, d))


# -- kernels against the references -------------------------------------------------------


def caches(source, metric, medoids, n):
    near, second = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    d_near, d_second = np.empty(n), np.empty(n)
    nearest_two_medoids(source, np.empty(0), metric, medoids, near, d_near, second, d_second)
    return near, d_near, second, d_second


@pytest.mark.parametrize("as_matrix", [True, False])
def test_swap_evaluation_and_update_against_brute_force(as_matrix):
    X = small_data(11, n=30)
    D = cdist(X, X)
    source, metric = (D, PRECOMPUTED) if as_matrix else (X, EUCLIDEAN)
    medoids = np.array([3, 17, 25, 8], dtype=np.int64)
    near, d_near, second, d_second = caches(source, metric, medoids, 30)
    sorted_d = np.sort(D[:, medoids], axis=1)
    np.testing.assert_array_equal(near, np.argmin(D[:, medoids], axis=1))
    np.testing.assert_allclose(d_near, sorted_d[:, 0], rtol=1e-12)
    np.testing.assert_allclose(d_second, sorted_d[:, 1], rtol=1e-12)
    removal_loss = np.empty(4)
    _removal_losses(near, d_near, d_second, 4, removal_loss, np.ones(30))
    current = total_deviation(D, medoids)
    delta = np.empty(4)
    for candidate in range(30):
        if candidate in medoids:
            continue
        slot, change = _best_swap_for(
            source,
            np.empty(0),
            metric,
            candidate,
            near,
            d_near,
            d_second,
            removal_loss,
            delta,
            np.ones(30),
        )
        changes = []
        for s in range(4):
            trial = medoids.copy()
            trial[s] = candidate
            changes.append(total_deviation(D, trial) - current)
        assert change == pytest.approx(min(changes), abs=1e-9)
        assert changes[slot] == pytest.approx(min(changes), abs=1e-9)
    _apply_swap(source, np.empty(0), metric, medoids, 2, 0, near, d_near, second, d_second)
    assert medoids.tolist() == [3, 17, 0, 8]
    expected = caches(source, metric, medoids, 30)
    for got, want in zip((near, d_near, second, d_second), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine"])
@pytest.mark.parametrize("n_features", [3, 40])  # direct differences; scikit-learn's product
def test_distance_matrix_against_scipy(metric, n_features):
    X = np.random.RandomState(0).normal(size=(300, n_features))
    X[5] = 0.0  # a zero row: cosine distance 1 to every other row
    D = _distance_matrix(X, metric)
    expected = cdist(X, X, SCIPY_METRIC[metric])
    if metric == "cosine":
        expected[5, :] = expected[:, 5] = 1.0
    np.fill_diagonal(expected, 0.0)
    assert D.dtype == np.float32
    np.testing.assert_allclose(D, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(np.diag(D), 0.0)


# -- the objective -------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine"])
@pytest.mark.parametrize("precompute", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fasterpam_reaches_a_swap_local_optimum(metric, precompute, seed):
    X = small_data(seed)
    D = cdist(X, X, SCIPY_METRIC[metric])
    model = KMedoids(
        n_clusters=4, metric=metric, precompute_distances=precompute, random_state=seed
    ).fit(X)
    medoids = model.medoid_indices_.tolist()
    total = total_deviation(D, medoids)
    assert model.inertia_ == pytest.approx(total, rel=1e-9)
    assert best_single_swap(D, medoids) >= total - 1e-5 * total
    np.testing.assert_array_equal(model.cluster_centers_, X[medoids])
    # labels are the nearest medoid (no exact ties in this continuous data)
    np.testing.assert_array_equal(model.labels_, np.argmin(D[:, medoids], axis=1))


@pytest.mark.parametrize("seed", range(6))
def test_fasterpam_finds_the_global_optimum_of_small_data_as_often_as_kmedoids(seed):
    X = small_data(seed, n=14, d=2)
    D = cdist(X, X)
    optimum = global_optimum(D, 3)
    ours = KMedoids(n_clusters=3, random_state=seed).fit(X).inertia_
    peer = kmedoids.fasterpam(D, 3, random_state=seed, init="random", n_cpu=1).loss
    # both are local optima of the swap neighbourhood; on 14 points both are global
    assert ours == pytest.approx(optimum, rel=1e-9)
    assert peer == pytest.approx(optimum, rel=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_fasterpam_is_no_worse_than_the_kmedoids_package(seed):
    X, _ = make_blobs(400, n_features=4, centers=6, cluster_std=2.5, random_state=seed)
    D = cdist(X, X)
    ours = KMedoids(n_clusters=6, random_state=seed).fit(X).inertia_
    peer = kmedoids.fasterpam(D, 6, random_state=seed, init="random", n_cpu=1)
    # Both stop at swap-local optima; on overlapping blobs these agree within 0.5%
    assert ours <= peer.loss * 1.005


def test_precomputed_matrix_and_euclidean_agree():
    X = small_data(5, n=60)
    by_data = KMedoids(n_clusters=4, random_state=3).fit(X)
    for D in (cdist(X, X), cdist(X, X).astype(np.float32)):
        by_matrix = KMedoids(n_clusters=4, metric="precomputed", random_state=3).fit(D)
        np.testing.assert_array_equal(by_matrix.medoid_indices_, by_data.medoid_indices_)
        np.testing.assert_array_equal(by_matrix.labels_, by_data.labels_)
        assert by_matrix.inertia_ == pytest.approx(by_data.inertia_, rel=1e-6)
        assert by_matrix.cluster_centers_ is None


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine"])
def test_the_matrix_and_on_the_fly_distances_give_the_same_fit(metric):
    X = small_data(7, n=80, d=5)
    fits = [
        KMedoids(n_clusters=5, metric=metric, precompute_distances=p, random_state=1).fit(X)
        for p in (True, False)
    ]
    np.testing.assert_array_equal(fits[0].medoid_indices_, fits[1].medoid_indices_)
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert fits[0].inertia_ == pytest.approx(fits[1].inertia_, rel=1e-12)


@pytest.mark.parametrize("precompute", [True, False])
def test_alternate_stops_at_a_fixed_point(precompute):
    X = small_data(3, n=60)
    D = cdist(X, X)
    model = KMedoids(
        n_clusters=4, method="alternate", precompute_distances=precompute, random_state=0
    ).fit(X)
    medoids = model.medoid_indices_
    labels = np.argmin(D[:, medoids], axis=1)
    np.testing.assert_array_equal(model.labels_, labels)
    for slot, medoid in enumerate(medoids):
        members = np.flatnonzero(labels == slot)
        within = D[np.ix_(members, members)].sum(axis=0)
        assert within[list(members).index(medoid)] == pytest.approx(within.min(), rel=1e-9)
    assert model.inertia_ == pytest.approx(total_deviation(D, medoids), rel=1e-9)


def test_alternate_is_no_better_than_fasterpam_on_blobs():
    X, _ = make_blobs(300, n_features=3, centers=5, cluster_std=2.0, random_state=4)
    swap = KMedoids(n_clusters=5, random_state=0).fit(X).inertia_
    alt = KMedoids(n_clusters=5, method="alternate", random_state=0).fit(X).inertia_
    assert swap <= alt * (1 + 1e-9)


def test_one_cluster_takes_the_row_of_least_total_distance():
    X = small_data(9, n=30)
    D = cdist(X, X)
    for method in ("fasterpam", "alternate"):
        model = KMedoids(n_clusters=1, method=method, random_state=0).fit(X)
        assert model.medoid_indices_.tolist() == [int(np.argmin(D.sum(axis=0)))]
        assert np.all(model.labels_ == 0)


def test_as_many_clusters_as_rows_makes_every_row_a_medoid():
    X = small_data(1, n=6)
    model = KMedoids(n_clusters=6, random_state=0).fit(X)
    assert sorted(model.medoid_indices_.tolist()) == list(range(6))
    assert model.inertia_ == 0.0


def test_duplicate_rows_fewer_distinct_than_clusters():
    X = np.repeat([[0.0, 0.0], [5.0, 5.0]], 5, axis=0)
    model = KMedoids(n_clusters=3, random_state=0).fit(X)
    assert model.inertia_ == 0.0
    assert len(set(model.medoid_indices_.tolist())) == 3


def test_a_few_outliers_do_not_move_a_medoid_as_they_move_a_mean():
    rng = np.random.RandomState(0)
    outliers = np.full((5, 2), 40.0)
    X = np.vstack([rng.normal(0, 1, (50, 2)), rng.normal(10, 1, (50, 2)), outliers])
    model = KMedoids(n_clusters=2, random_state=0).fit(X)
    far = int(np.argmax(model.cluster_centers_.sum(axis=1)))
    members = X[model.labels_ == far]
    assert len(members) == 55  # the outliers joined the cluster around (10, 10)
    assert np.abs(model.cluster_centers_[far] - 10).max() < 1.0
    assert np.abs(members.mean(axis=0) - 10).min() > 2.0  # where a mean would have gone


def test_initial_medoids_given_as_row_indices():
    X = small_data(2, n=50)
    D = cdist(X, X)
    start = np.array([0, 1, 2, 3])
    model = KMedoids(n_clusters=4, init=start, random_state=0).fit(X)
    assert model.inertia_ <= total_deviation(D, start)
    alt = KMedoids(n_clusters=4, init=start, method="alternate", max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        alt.fit(X)
    assert alt.n_iter_ == 1


def test_the_same_seed_gives_the_same_fit_and_seeds_differ():
    X = small_data(4, n=200)
    a = KMedoids(n_clusters=5, random_state=11).fit(X)
    b = KMedoids(n_clusters=5, random_state=11).fit(X)
    np.testing.assert_array_equal(a.medoid_indices_, b.medoid_indices_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        inits = {
            tuple(KMedoids(n_clusters=5, max_iter=1, random_state=s).fit(X).medoid_indices_)
            for s in range(5)
        }
    assert len(inits) > 1


# -- using a fitted model -----------------------------------------------------------------


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine"])
def test_predict_and_transform_against_scipy(metric):
    X = small_data(6, n=80)
    model = KMedoids(n_clusters=4, metric=metric, random_state=0).fit(X)
    new = small_data(8, n=25)
    expected = cdist(new, X[model.medoid_indices_], SCIPY_METRIC[metric])
    np.testing.assert_allclose(model.transform(new), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(model.predict(new), np.argmin(expected, axis=1))
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    assert model.score(new) == pytest.approx(-expected.min(axis=1).sum())


def test_predict_with_a_precomputed_matrix_reads_training_or_medoid_columns():
    X = small_data(6, n=40)
    model = KMedoids(n_clusters=3, metric="precomputed", random_state=0).fit(cdist(X, X))
    new = small_data(10, n=7)
    to_training = cdist(new, X)
    to_medoids = to_training[:, model.medoid_indices_]
    np.testing.assert_array_equal(model.predict(to_training), np.argmin(to_medoids, axis=1))
    np.testing.assert_array_equal(model.predict(to_medoids), np.argmin(to_medoids, axis=1))
    np.testing.assert_array_equal(model.transform(to_training), to_medoids)
    with pytest.raises(ValueError, match=r"to the 40 training rows .* or to the 3 medoids"):
        model.predict(to_training[:, :5])


# -- bad input ------------------------------------------------------------------------------


def test_a_precomputed_matrix_must_be_square():
    with pytest.raises(ValueError, match=r"square matrix .* shape \(5, 4\)"):
        KMedoids(n_clusters=2, metric="precomputed").fit(np.ones((5, 4)))


def test_a_precomputed_matrix_must_be_symmetric_and_non_negative():
    D = cdist(small_data(0, n=10), small_data(0, n=10))
    asymmetric = D.copy()
    asymmetric[2, 7] += 1.0
    with pytest.raises(ValueError, match=r"not symmetric: X\[2, 7\]"):
        KMedoids(n_clusters=2, metric="precomputed").fit(asymmetric)
    negative = D.copy()
    negative[3, 4] = negative[4, 3] = -1.0
    with pytest.raises(ValueError, match=r"negative value -1.0 at row 3, column 4"):
        KMedoids(n_clusters=2, metric="precomputed").fit(negative)
    with_nan = D.copy()
    with_nan[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN in column 1, first at row 1"):
        KMedoids(n_clusters=2, metric="precomputed").fit(with_nan)


def test_sparse_input_is_refused_with_what_to_do():
    with pytest.raises(
        TypeError, match=r"needs dense X, not a sparse csr_matrix.*metric='precomputed'"
    ):
        KMedoids(n_clusters=2).fit(sp.random(10, 3, density=0.5, format="csr", random_state=0))


def test_bad_init_and_too_many_clusters():
    X = small_data(0, n=10)
    with pytest.raises(ValueError, match=r"shape \(n_clusters,\) = \(3,\)"):
        KMedoids(n_clusters=3, init=[0, 1]).fit(X)
    with pytest.raises(ValueError, match=r"row index 10 at position 2, outside 0 \.\. 9"):
        KMedoids(n_clusters=3, init=[0, 1, 10]).fit(X)
    with pytest.raises(ValueError, match="more than once"):
        KMedoids(n_clusters=3, init=[0, 1, 1]).fit(X)
    with pytest.raises(ValueError, match="n_samples=10 should be >= n_clusters=11"):
        KMedoids(n_clusters=11).fit(X)
    model = KMedoids(n_clusters=2)
    with pytest.raises(ValueError, match="NaN in column 1, first at row 4"):
        model.fit(np.where(np.arange(30).reshape(10, 3) == 13, np.nan, X))
    assert not hasattr(model, "labels_")


# -- sample_weight -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["alternate", "fasterpam"])
@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "precomputed"])
def test_weight_two_equals_the_row_repeated(method, metric):
    """Weight 2 on the first 20 rows = those rows twice: the same medoids (as rows) and
    the same total deviation, from the same initial medoids."""
    X = small_data(3, n=80)
    weights = np.ones(80)
    weights[:20] = 2.0
    repeated = np.vstack([X, X[:20]])
    init = np.array([1, 30, 55], dtype=np.int64)
    kind = "cityblock" if metric == "manhattan" else "euclidean"
    data = (lambda A: cdist(A, A)) if metric == "precomputed" else (lambda A: A)
    kwargs = {"n_clusters": 3, "method": method, "init": init, "random_state": 0}
    kwargs["metric"] = metric
    weighted = KMedoids(**kwargs).fit(data(X), sample_weight=weights)
    twice = KMedoids(**kwargs).fit(data(repeated))
    D = cdist(X, X, kind)
    ours = float((weights * D[:, weighted.medoid_indices_].min(axis=1)).sum())
    np.testing.assert_allclose(weighted.inertia_, ours, rtol=1e-6)
    if method == "alternate":
        # Row i < 20 and its copy 80 + i are the same point: compare medoids as points.
        as_points = sorted(int(i) % 80 for i in twice.medoid_indices_)
        assert sorted(weighted.medoid_indices_.tolist()) == as_points
        np.testing.assert_array_equal(weighted.labels_, twice.labels_[:80])
        np.testing.assert_allclose(weighted.inertia_, twice.inertia_, rtol=1e-6)
    else:
        # FasterPAM's random visiting order depends on the row count: both runs end at
        # local optima of the same objective, within a few percent of each other here.
        assert ours <= twice.inertia_ * 1.05 and twice.inertia_ <= ours * 1.05


@pytest.mark.parametrize("init", ["k-medoids++", "random"])
@pytest.mark.parametrize("method", ["alternate", "fasterpam"])
def test_rows_of_weight_zero_never_become_medoids(method, init):
    X = small_data(5, n=120)
    weights = np.ones(120)
    weights[::3] = 0.0
    for seed in range(5):
        model = KMedoids(4, method=method, init=init, random_state=seed)
        model.fit(X, sample_weight=weights)
        assert (weights[model.medoid_indices_] > 0).all()
        kept = weights > 0
        total = cdist(X[kept], X[model.medoid_indices_]).min(axis=1).sum()
        assert model.inertia_ == pytest.approx(total)


@pytest.mark.parametrize("method", ["alternate", "fasterpam"])
def test_rows_of_weight_zero_do_not_move_medoids(method):
    """Far outliers of weight 0 change nothing: the same medoids as without them."""
    X = small_data(7, n=90)
    outliers = np.full((10, X.shape[1]), 1e3)
    both = np.vstack([X, outliers])
    weights = np.r_[np.ones(90), np.zeros(10)]
    init = np.array([0, 40, 80], dtype=np.int64)
    with_outliers = KMedoids(3, method=method, init=init, random_state=0)
    with_outliers.fit(both, sample_weight=weights)
    if method == "fasterpam":
        # The visiting order is a permutation of all rows; the weight-0 rows are skipped.
        assert (with_outliers.medoid_indices_ < 90).all()
        return
    without = KMedoids(3, method=method, init=init, random_state=0).fit(X)
    np.testing.assert_array_equal(with_outliers.medoid_indices_, without.medoid_indices_)
    np.testing.assert_allclose(with_outliers.inertia_, without.inertia_)


def test_sample_weight_errors():
    X = small_data(6, n=30)
    with pytest.raises(ValueError, match="Only 2 rows have a positive sample_weight"):
        KMedoids(3).fit(X, sample_weight=np.r_[np.ones(2), np.zeros(28)])
    weights = np.ones(30)
    weights[4] = 0
    with pytest.raises(ValueError, match="init names row 4 as an initial medoid"):
        KMedoids(3, init=[1, 4, 9]).fit(X, sample_weight=weights)
    with pytest.raises(ValueError, match="negative"):
        KMedoids(3).fit(X, sample_weight=-np.ones(30))


def test_weighted_seeding_draws_in_proportion_to_weight():
    """The first k-medoids++ row is drawn in proportion to weight: with weight 9 on one row
    of ten (and 1/9 on the rest... here 1), it comes first about 1/2 of the time."""
    from centroids.models.kmedoids import _initial_medoids

    X = np.arange(10, dtype=np.float64)[:, None]
    weights = np.ones(10)
    weights[7] = 9.0
    rng = np.random.RandomState(0)
    firsts = [
        _initial_medoids(X, np.empty(0), EUCLIDEAN, 1, "k-medoids++", rng, weights)[0]
        for _ in range(2000)
    ]
    share = np.mean(np.asarray(firsts) == 7)
    assert 0.45 < share < 0.55  # 9 / 18 expected; binomial sd 0.011
