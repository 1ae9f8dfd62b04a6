"""centroids.KMeans: scikit-learn compatibility, agreement with scikit-learn, behaviour."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_info

from centroids import KMeans, kmeans_plusplus
from centroids._utils.validation import check_features
from centroids.engine.driver import auto_restarts
from centroids.settings import SMALL_FIT_MAX_RESTARTS

from arrays import stdout_per_thread_count
from sample_data import DATASETS

SAMPLE_WEIGHT_REASON = (
    "k-means++ and random seeding draw rows at random: weighting a row by w and repeating "
    "it w times define the same objective, but not the same sequence of draws (the check "
    "also shuffles the rows), so the two fits may reach different local optima (or, by "
    "chance, the same one: then the check passes, as it does for the refined random-init "
    "configuration, so the mark is not strict). "
    "scikit-learn's own KMeans fails this check too. The deterministic part, Lloyd from "
    "the same initial centers, is checked for weight/repetition equivalence in "
    "test_weights_equal_repetitions_from_the_same_start."
)


def _expected_failed_checks(estimator):
    return {
        "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_REASON,
        "check_sample_weight_equivalence_on_sparse_data": SAMPLE_WEIGHT_REASON,
    }


@parametrize_with_checks(
    [
        KMeans(n_clusters=3, random_state=0),
        KMeans(n_clusters=2, init="random", n_init=2, max_iter=5, random_state=0),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def subset_means(X, k, seed, subset=20):
    """k initial centers, each the mean of a random subset of rows: no ties, no duplicates."""
    rng = np.random.RandomState(seed)
    rows = [rng.choice(X.shape[0], subset, replace=False) for _ in range(k)]
    return np.vstack([np.asarray(X[r].mean(axis=0)).ravel() for r in rows])


def relative_difference(a, b):
    return np.abs(np.asarray(a, np.float64) - b).max() / np.abs(np.asarray(b, np.float64)).max()


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly", "elkan", "yinyang", "auto"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(DATASETS))
def test_iterations_agree_with_sklearn_lloyd_from_the_same_start(name, dtype, weighted, algorithm):
    X, k = DATASETS[name]
    X = X.astype(dtype)
    init = subset_means(X, k, seed=1).astype(dtype)
    weights = np.random.RandomState(2).uniform(0.2, 3.0, X.shape[0]) if weighted else None
    params = {"n_clusters": k, "init": init, "n_init": 1, "algorithm": "lloyd"}

    ours = KMeans(**{**params, "algorithm": algorithm}).fit(X, sample_weight=weights)
    peer = SklearnKMeans(**params).fit(X, sample_weight=weights)
    if dtype == np.float32:
        # scikit-learn's float32 arithmetic can flip a near-tie that exact arithmetic does
        # not; in that case its float64 run is the reference for the labels.
        peer64 = SklearnKMeans(**{**params, "init": init.astype(np.float64)}).fit(
            X.astype(np.float64), sample_weight=weights
        )
        if not np.array_equal(peer.labels_, peer64.labels_):
            peer = peer64

    np.testing.assert_array_equal(ours.labels_, peer.labels_)
    assert ours.n_iter_ == peer.n_iter_
    assert ours.cluster_centers_.dtype == dtype
    assert relative_difference(ours.cluster_centers_, peer.cluster_centers_) <= 1e-6
    inertia_rtol = 1e-10 if dtype == np.float64 else 1e-5
    assert ours.inertia_ == pytest.approx(peer.inertia_, rel=inertia_rtol)


@pytest.mark.parametrize("name", ["iris", "wine", "digits", "blobs"])
def test_kmeanspp_best_of_ten_is_as_good_as_sklearn(name):
    X, k = DATASETS[name]
    ours = KMeans(n_clusters=k, n_init=10, random_state=0).fit(X)
    peer = SklearnKMeans(n_clusters=k, n_init=10, random_state=0).fit(X)
    assert ours.inertia_ <= peer.inertia_ * 1.005


def test_weights_equal_repetitions_from_the_same_start():
    X, _ = DATASETS["blobs"]
    repeats = np.random.RandomState(0).randint(0, 4, X.shape[0])
    init = subset_means(X, 6, seed=3)
    weighted = KMeans(6, init=init).fit(X, sample_weight=repeats)
    repeated = KMeans(6, init=init).fit(np.repeat(X, repeats, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-10)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-10)


# -- determinism ------------------------------------------------------------------------


def _fit_signature(model):
    return (model.labels_.tobytes(), model.cluster_centers_.tobytes(), model.inertia_)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_same_seed_gives_bit_identical_results(init):
    X, _ = DATASETS["digits"]
    runs = [_fit_signature(KMeans(10, init=init, n_init=3, random_state=5).fit(X)) for _ in "ab"]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_thread_count_does_not_change_the_result(sparse):
    import numba

    X = DATASETS["tfidf"][0] if sparse else np.vstack([DATASETS["blobs"][0]] * 3)
    before = numba.get_num_threads()
    try:
        signatures = []
        for threads in (1, 2):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            signatures.append(_fit_signature(KMeans(8, random_state=11).fit(X)))
    finally:
        numba.set_num_threads(before)
    assert signatures[0] == signatures[1]


def test_numba_num_threads_environment_does_not_change_the_result():
    script = (
        "import hashlib, numpy as np\n"
        "from sklearn.datasets import make_blobs\n"
        "from centroids import KMeans\n"
        "X = make_blobs(6000, n_features=7, centers=9, random_state=4)[0].astype(np.float32)\n"
        "m = KMeans(9, random_state=3, n_init=2).fit(X)\n"
        "h = hashlib.sha256(m.labels_.tobytes() + m.cluster_centers_.tobytes())\n"
        "print(h.hexdigest(), repr(m.inertia_))\n"
    )
    outputs = stdout_per_thread_count(script)
    assert outputs[0] == outputs[1]


def test_blas_runs_single_threaded_inside_fit():
    seen = []

    def init(X, n_clusters, random_state):
        seen.extend(m["num_threads"] for m in threadpool_info() if m["user_api"] == "blas")
        return X[:n_clusters]

    KMeans(3, init=init, n_init=1).fit(DATASETS["iris"][0])
    assert seen and all(n == 1 for n in seen)


# -- input layouts and dtypes -----------------------------------------------------------


def test_float32_is_kept_without_a_copy(blobs):
    X = np.ascontiguousarray(blobs, dtype=np.float32)
    assert check_features(KMeans(), X, reset=True, where="fit") is X
    model = KMeans(4, random_state=0).fit(X)
    assert model.cluster_centers_.dtype == np.float32
    assert model.transform(X).dtype == np.float32
    assert model.transform(X.astype(np.float64)).dtype == np.float64


def test_fortran_order_and_integers_match_c_order(blobs):
    init = blobs[:4]
    c_order = KMeans(4, init=init).fit(blobs)
    f_order = KMeans(4, init=init).fit(np.asfortranarray(blobs))
    np.testing.assert_array_equal(c_order.labels_, f_order.labels_)
    np.testing.assert_array_equal(c_order.cluster_centers_, f_order.cluster_centers_)
    integers = np.rint(blobs * 100).astype(np.int64)
    from_int = KMeans(4, init=integers[:4]).fit(integers)
    assert from_int.cluster_centers_.dtype == np.float64
    np.testing.assert_array_equal(from_int.predict(integers), from_int.labels_)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_matches_dense(fmt):
    X = DATASETS["tfidf"][0]
    init = subset_means(X, 10, seed=4)
    sparse = KMeans(10, init=init).fit(X.asformat(fmt))
    dense = KMeans(10, init=init).fit(X.toarray())
    np.testing.assert_array_equal(sparse.labels_, dense.labels_)
    np.testing.assert_allclose(sparse.cluster_centers_, dense.cluster_centers_, atol=1e-12)
    np.testing.assert_allclose(sparse.transform(X), dense.transform(X.toarray()), atol=1e-7)
    assert sparse.score(X) == pytest.approx(dense.score(X.toarray()), rel=1e-10)


def test_sparse_input_is_never_densified():
    # Dense, this matrix would take 20,000 × 400,000 × 8 bytes = 64 GB, more than the
    # machine has: fitting it shows X stays sparse all the way through.
    rng = np.random.RandomState(0)
    n, d, per_row = 20_000, 400_000, 6
    rows = np.repeat(np.arange(n), per_row)
    columns = rng.randint(0, d, rows.size)
    columns[::per_row] = np.arange(n) % 4  # four groups share one heavy column each
    values = rng.uniform(0.1, 1.0, rows.size)
    values[::per_row] = 5.0
    X = sp.csr_matrix((values, (rows, columns)), shape=(n, d))
    model = KMeans(4, random_state=0, max_iter=10).fit(X)
    assert model.cluster_centers_.shape == (4, d)
    assert np.bincount(model.labels_, minlength=4).tolist() == [n // 4] * 4


def test_dataframe_feature_names_and_pandas_output(blobs):
    frame = pd.DataFrame(blobs, columns=["income", "spend", "age", "visits"])
    model = KMeans(3, random_state=0).fit(frame)
    np.testing.assert_array_equal(model.feature_names_in_, frame.columns)
    np.testing.assert_array_equal(model.get_feature_names_out(), ["kmeans0", "kmeans1", "kmeans2"])
    model.set_output(transform="pandas")
    distances = model.transform(frame)
    assert isinstance(distances, pd.DataFrame)
    assert list(distances.columns) == ["kmeans0", "kmeans1", "kmeans2"]
    np.testing.assert_allclose(distances.to_numpy().argmin(axis=1), model.labels_)
    fitted = KMeans(3, random_state=0).set_output(transform="pandas").fit_transform(frame)
    assert isinstance(fitted, pd.DataFrame)


# -- fitting behaviour -------------------------------------------------------------------


def test_predict_fit_predict_and_score_are_consistent(blobs):
    model = KMeans(4, random_state=0)
    labels = model.fit_predict(blobs)
    np.testing.assert_array_equal(labels, model.labels_)
    np.testing.assert_array_equal(model.predict(blobs), labels)
    assert model.score(blobs) == pytest.approx(-model.inertia_, rel=1e-12)
    distances = model.fit_transform(blobs)
    np.testing.assert_array_equal(distances.argmin(axis=1), model.labels_)


def test_empty_cluster_is_relocated_not_left_nan(blobs):
    far_away = np.full((1, blobs.shape[1]), 1e6)
    init = np.vstack([blobs[:3], far_away])
    model = KMeans(4, init=init).fit(blobs)
    assert np.isfinite(model.cluster_centers_).all()
    assert np.bincount(model.labels_, minlength=4).min() > 0
    assert np.unique(model.cluster_centers_, axis=0).shape[0] == 4


def test_fewer_distinct_points_than_clusters_warns():
    X = np.repeat([[0.0, 0.0], [5.0, 5.0], [9.0, 0.0]], 10, axis=0)
    with pytest.warns(ConvergenceWarning, match=r"distinct clusters \(3\).*n_clusters \(5\)"):
        model = KMeans(5, random_state=0).fit(X)
    assert np.isfinite(model.cluster_centers_).all()
    assert model.inertia_ == 0.0


def test_convergence_rules_set_n_iter(blobs, capsys):
    strict = KMeans(4, init=blobs[:4], tol=0.0, verbose=1).fit(blobs)
    assert "strict convergence" in capsys.readouterr().out
    loose = KMeans(4, init=blobs[:4], tol=1e3, verbose=1).fit(blobs)
    assert "within tolerance" in capsys.readouterr().out
    assert loose.n_iter_ == 1 < strict.n_iter_
    capped = KMeans(4, init=blobs[:4], tol=0.0, max_iter=1).fit(blobs)
    assert capped.n_iter_ == 1
    # labels always describe the returned centers, even when stopped early
    np.testing.assert_array_equal(capped.predict(blobs), capped.labels_)


def test_best_of_n_init_runs_wins():
    X, _ = DATASETS["digits"]
    starts = []

    def recording_init(X, n_clusters, random_state):
        centers = X[random_state.choice(X.shape[0], n_clusters, replace=False)]
        starts.append(centers)
        return centers

    best = KMeans(10, init=recording_init, n_init=6, random_state=0).fit(X)
    assert len(starts) == 6
    inertias = [KMeans(10, init=s, n_init=1).fit(X).inertia_ for s in starts]
    assert best.inertia_ == pytest.approx(min(inertias), rel=1e-12)
    assert len(set(np.round(inertias, 3))) > 1  # the runs really differed


@pytest.mark.parametrize(
    ("init", "n_init", "expected_runs"),
    [("k-means++", "auto", 1), ("random", "auto", 10), ("k-means++", 4, 4), ("random", 2, 2)],
)
def test_n_init_auto(blobs, capsys, init, n_init, expected_runs):
    # 'auto' on a fit this small spends the restart budget (centroids.settings); on
    # one above it 'auto' is 1 run with k-means++ and 10 with 'random'.
    if n_init == "auto":
        expected_runs = max(expected_runs, auto_restarts(blobs, 4))
        assert expected_runs == SMALL_FIT_MAX_RESTARTS
    KMeans(4, init=init, n_init=n_init, random_state=0, verbose=1).fit(blobs)
    assert capsys.readouterr().out.count("Initialization complete") == expected_runs


def test_explicit_init_runs_once_and_says_so(blobs):
    with pytest.warns(RuntimeWarning, match="only one init"):
        model = KMeans(4, init=blobs[:4], n_init=5).fit(blobs)
    assert model.n_iter_ >= 1


def test_callable_init_is_called_with_a_random_state_and_checked(blobs):
    calls = []

    def init(X, n_clusters, random_state):
        calls.append((X.shape, n_clusters, type(random_state).__name__))
        return X[:n_clusters]

    KMeans(4, init=init, n_init=1).fit(blobs)
    assert calls == [(blobs.shape, 4, "RandomState")]
    message = "does not match the number of clusters 4: the init callable's result"
    with pytest.raises(ValueError, match=message):
        KMeans(4, init=lambda X, k, random_state: X[:2], n_init=1).fit(blobs)


def test_kmeans_plusplus_function(blobs):
    centers, indices = kmeans_plusplus(blobs, 4, random_state=0)
    np.testing.assert_array_equal(centers, blobs[indices])
    assert len(set(indices.tolist())) == 4
    again, _ = kmeans_plusplus(blobs, 4, random_state=0)
    np.testing.assert_array_equal(centers, again)
    with pytest.raises(ValueError, match="n_clusters must be an integer between 1"):
        kmeans_plusplus(blobs, 0)
    with pytest.raises(ValueError, match="n_local_trials"):
        kmeans_plusplus(blobs, 3, n_local_trials=0)


# -- bad input -----------------------------------------------------------------------------


def test_nan_names_column_and_first_row(blobs):
    frame = pd.DataFrame(blobs, columns=["income", "spend", "age", "visits"])
    frame.loc[[17, 40, 41], "age"] = np.nan
    with pytest.raises(ValueError, match=r"NaN in column 'age' \(index 2\), first at row 17; 3"):
        KMeans(3).fit(frame)
    X = blobs.copy()
    X[5, 1] = np.inf
    with pytest.raises(ValueError, match=r"infinity \(inf\) in column 1, first at row 5"):
        KMeans(3).fit(X)
    model = KMeans(3, random_state=0).fit(blobs)
    with pytest.raises(ValueError, match=r"passed to predict contains infinity"):
        model.predict(X)
    with pytest.raises(ValueError, match=r"passed to transform contains NaN in column 'age'"):
        KMeans(3).fit(frame.fillna(0)).transform(frame)


def test_sparse_nan_names_column_and_row():
    X = sp.random(50, 10, density=0.3, format="csr", random_state=0)
    X.data[X.indptr[7]] = np.nan
    column = X.indices[X.indptr[7]]
    with pytest.raises(ValueError, match=rf"NaN in column {column}, first at row 7"):
        KMeans(2).fit(X)


def test_non_numeric_columns_are_named_with_a_hint(blobs):
    frame = pd.DataFrame(blobs[:, :2], columns=["income", "spend"])
    frame["region"] = "north"
    frame["plan"] = pd.Categorical(["a", "b"] * (len(frame) // 2))
    with pytest.raises(TypeError, match=r"'region' \((object|str)\), 'plan' \(category\).*One-hot"):
        KMeans(2).fit(frame)
    numbers_as_text = frame[["income"]].astype(str).astype(object)
    assert KMeans(2, random_state=0).fit(numbers_as_text).n_features_in_ == 1
    array = np.array([[1.0, "x"], [2.0, 3.0]], dtype=object)
    with pytest.raises(TypeError, match=r"holds 'x' in column 1 at row 0"):
        KMeans(1).fit(array)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.empty((0, 3)), r"X is empty: it has 0 sample\(s\) \(shape=\(0, 3\)\)"),
        (np.empty((5, 0)), r"0 feature\(s\) \(shape=\(5, 0\)\).*at least one numeric column"),
    ],
)
def test_empty_input(X, message):
    with pytest.raises(ValueError, match=message):
        KMeans(1).fit(X)


def test_n_clusters_out_of_range(blobs):
    with pytest.raises(ValueError, match=r"n_samples=5 should be >= n_clusters=8"):
        KMeans(8).fit(blobs[:5])
    with pytest.raises(ValueError, match=r"'n_clusters' parameter of KMeans must be an int"):
        KMeans(0).fit(blobs)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.ones(7), r"sample_weight has 7 values but X has 500 rows"),
        (np.r_[np.ones(3), -1.0, np.ones(496)], r"negative values, first at index 3 \(-1.0"),
        (np.r_[np.ones(9), np.nan, np.ones(490)], r"contains nan at index 9"),
        (np.zeros(500), r"zero for every row"),
        (np.r_[np.ones(2), np.zeros(498)], r"Only 2 rows have a positive sample_weight"),
        (np.ones((500, 2)), r"must be 1-D"),
    ],
)
def test_bad_sample_weight(blobs, weights, message):
    with pytest.raises(ValueError, match=message):
        KMeans(3).fit(blobs, sample_weight=weights)


def test_predict_with_other_features_fails_clearly(blobs):
    frame = pd.DataFrame(blobs, columns=["income", "spend", "age", "visits"])
    with pytest.raises(ValueError, match="X has 3 features, but KMeans is expecting 4"):
        KMeans(3, random_state=0).fit(blobs).predict(blobs[:, :3])
    model = KMeans(3, random_state=0).fit(frame)
    renamed = frame.rename(columns={"age": "years"})
    with pytest.raises(ValueError, match=r"feature names should match(.|\n)*years"):
        model.predict(renamed)


def test_bad_init_array(blobs):
    with pytest.raises(ValueError, match=r"does not match the number of clusters 4"):
        KMeans(4, init=blobs[:3]).fit(blobs)
    with pytest.raises(ValueError, match=r"does not match the number of features"):
        KMeans(3, init=blobs[:3, :2]).fit(blobs)
    bad = blobs[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"init contains nan at center 1, column 2"):
        KMeans(3, init=bad).fit(blobs)


def test_failed_fit_leaves_the_estimator_unchanged(blobs):
    fresh = KMeans(3, random_state=0)
    with pytest.raises(ValueError):
        fresh.fit(np.full((10, 2), np.nan))
    assert not hasattr(fresh, "n_features_in_")
    assert not hasattr(fresh, "cluster_centers_")

    model = KMeans(3, random_state=0).fit(pd.DataFrame(blobs, columns=list("abcd")))
    before = {key: np.copy(value) for key, value in vars(model).items()}
    bad = pd.DataFrame(blobs[:, :2], columns=["x", "y"])
    bad.loc[3, "y"] = np.nan
    with pytest.raises(ValueError):
        model.fit(bad)
    with pytest.raises(ValueError):
        model.fit(blobs, sample_weight=-np.ones(len(blobs)))
    after = vars(model)
    assert before.keys() == after.keys()
    for key, value in before.items():
        np.testing.assert_array_equal(value, after[key], err_msg=key)


def test_no_warning_on_well_posed_fit(blobs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KMeans(4, random_state=0).fit(blobs)


def _fit_in_child(X):
    return _fit_signature(KMeans(8, random_state=0).fit(X))


def test_fit_works_in_a_process_forked_after_the_thread_pool_started():
    import multiprocessing

    X = np.random.RandomState(0).normal(size=(20_000, 8))  # large enough for the pool
    in_parent = _fit_signature(KMeans(8, random_state=0).fit(X))
    with multiprocessing.get_context("fork").Pool(1) as pool:
        in_child = pool.apply_async(_fit_in_child, (X,)).get(timeout=120)
    assert in_child == in_parent


# ---------------------------------------------------------------------------
# Algorithm choice, seedings and refinement through the estimator
# ---------------------------------------------------------------------------


def grid_of_blobs(n_side=5, per_cluster=40, spread=0.2, seed=0):
    """n_side² equal Gaussian clusters on a unit grid, touching (spread 0.2) so that
    k-means++ + Lloyd often leaves two centers in one cluster; and the true centers."""
    rng = np.random.RandomState(seed)
    grid = np.array([(i, j) for i in range(n_side) for j in range(n_side)], dtype=np.float64)
    X = np.repeat(grid, per_cluster, axis=0) + rng.normal(
        scale=spread, size=(len(grid) * per_cluster, 2)
    )
    return X, grid


def clusters_missed(centers, true_centers):
    """True centers that no found center has as its nearest true center (half of CI)."""
    nearest = np.argmin(((centers[:, None, :] - true_centers[None]) ** 2).sum(axis=2), axis=1)
    return len(true_centers) - len(np.unique(nearest))


def test_default_refinement_finds_every_cluster_where_plain_kmeans_misses_some():
    X, grid = grid_of_blobs()
    k = len(grid)
    # One run each: on a fit this small n_init='auto' also restarts, which alone
    # finds every cluster here; the test is about what the refinement adds to a run.
    plain = [KMeans(k, n_init=1, random_state=s, refine=False).fit(X) for s in range(8)]
    refined = [KMeans(k, n_init=1, random_state=s).fit(X) for s in range(8)]
    assert sum(clusters_missed(m.cluster_centers_, grid) for m in plain) > 0
    assert all(clusters_missed(m.cluster_centers_, grid) == 0 for m in refined)
    for p, r in zip(plain, refined, strict=True):
        assert r.inertia_ <= p.inertia_ * (1 + 1e-12)
        np.testing.assert_array_equal(r.labels_, r.predict(X))


def test_refine_auto_leaves_a_given_start_alone_and_true_refines_it():
    X, grid = grid_of_blobs(n_side=3, spread=0.06)
    # Two centers share the first cluster; none sits in the last one.
    init = np.vstack([grid[:1] + 0.01, grid[:-1]])
    plain = KMeans(len(grid), init=init, refine=False).fit(X)
    auto = KMeans(len(grid), init=init).fit(X)
    forced = KMeans(len(grid), init=init, refine=True, random_state=0).fit(X)
    np.testing.assert_array_equal(auto.labels_, plain.labels_)
    assert auto.n_iter_ == plain.n_iter_
    assert clusters_missed(plain.cluster_centers_, grid) == 1
    assert clusters_missed(forced.cluster_centers_, grid) == 0
    assert forced.inertia_ < plain.inertia_


@pytest.mark.parametrize("init", ["k-means||", "afk-mc2"])
def test_other_seedings_through_the_estimator(init, blobs):
    model = KMeans(4, init=init, random_state=0).fit(blobs)
    again = KMeans(4, init=init, random_state=0).fit(blobs)
    reference = KMeans(4, random_state=0).fit(blobs)
    np.testing.assert_array_equal(model.labels_, again.labels_)
    assert model.inertia_ <= reference.inertia_ * 1.01


def test_auto_algorithm_choice():
    from centroids.engine import choose_algorithm, engine_data

    rng = np.random.RandomState(0)
    plane = engine_data(rng.normal(size=(50, 2)))
    some_features = engine_data(rng.normal(size=(50_000, 8)))
    many_features = engine_data(rng.normal(size=(6_000, 300)))
    sparse = engine_data(sp.random(50, 30, density=0.1, format="csr", random_state=0))
    assert choose_algorithm(some_features, 2) == "lloyd"
    assert choose_algorithm(some_features, 16) == "lloyd"
    assert choose_algorithm(some_features, 64) == "hamerly"
    assert choose_algorithm(some_features, 1024) == "hamerly"
    assert choose_algorithm(plane, 100) == "lloyd"
    assert choose_algorithm(many_features, 10) == "lloyd"
    assert choose_algorithm(many_features, 128) == "hamerly"
    assert choose_algorithm(sparse, 20) == "lloyd"
    assert choose_algorithm(sparse, 100) == "elkan"


def test_auto_algorithm_takes_lloyd_with_few_rows_per_cluster():
    # Below AUTO_HAMERLY_MIN_ROWS_PER_CLUSTER rows a cluster most rows fail Hamerly's
    # bounds: Lloyd's pass is cheaper. At the threshold Hamerly again.
    from centroids.engine import choose_algorithm, engine_data
    from centroids.settings import AUTO_HAMERLY_MIN_ROWS_PER_CLUSTER as per_cluster

    data = engine_data(np.random.RandomState(0).normal(size=(per_cluster * 100, 10)))
    assert choose_algorithm(data, 100) == "hamerly"
    assert choose_algorithm(data, 101) == "lloyd"
    assert choose_algorithm(data, 1_000) == "lloyd"
