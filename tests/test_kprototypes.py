"""KPrototypes: mixed numeric + categorical clustering against a naive version and kmodes."""

import warnings

import numpy as np
import pandas as pd
import pytest
from kmodes.kmodes import KModes
from kmodes.kprototypes import KPrototypes as PeerKPrototypes
from sklearn.utils.estimator_checks import parametrize_with_checks

from centroids._kernels.kprototypes import assign_mixed, removal_costs, update_prototypes
from centroids.models.kprototypes import KPrototypes

NAN_IN_CATEGORY_REASON = (
    "the check puts NaN into the data and expects an error, but column 0 is categorical "
    "here, where a missing value is a category of its own (documented), not an error"
)
SAMPLE_WEIGHT_REASON = (
    "k-prototypes++ and random seeding draw rows at random: weighting a row by w and "
    "repeating it w times define the same objective, but not the same sequence of draws, so "
    "the two fits may reach different local optima (scikit-learn's KMeans fails this check "
    "for the same reason). The deterministic parts, weighted means and modes, are checked "
    "in test_update_kernel_against_weighted_means_and_modes."
)


def _expected_failed_checks(estimator):
    return {
        "check_estimators_nan_inf": NAN_IN_CATEGORY_REASON,
        "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_REASON,
    }


@parametrize_with_checks(
    [
        # Numeric arrays have no categorical column of their own: column 0's values are
        # taken as categories.
        KPrototypes(n_clusters=3, categorical=[0], n_init=2, random_state=0),
        KPrototypes(n_clusters=2, categorical=[0], init="random", n_init=1, random_state=0),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- slow references ---------------------------------------------------------------------


def naive_costs(numeric, codes, num_centers, modes, gamma):
    """(n, k) Huang cost by broadcasting: squared distance + gamma × mismatches."""
    squared = ((numeric[:, None, :] - num_centers[None, :, :]) ** 2).sum(axis=2)
    mismatches = (codes[:, None, :] != modes[None, :, :]).sum(axis=2)
    return squared + gamma * mismatches


def naive_prototypes(numeric, codes, weights, labels, k, n_categories):
    """Weighted means and modes (ties to the lowest code) of each cluster, by loops."""
    means = np.zeros((k, numeric.shape[1]))
    modes = np.zeros((k, codes.shape[1]), dtype=np.int32)
    for c in range(k):
        rows = labels == c
        means[c] = np.average(numeric[rows], axis=0, weights=weights[rows])
        for j in range(codes.shape[1]):
            counts = np.bincount(codes[rows, j], weights=weights[rows], minlength=n_categories[j])
            modes[c, j] = int(np.argmax(counts))  # first maximum: the lowest code
    return means, modes


def mixed_frame(n=300, seed=0, n_groups=3):
    """A DataFrame with 2 numeric and 3 categorical columns drawn from n_groups groups."""
    rng = np.random.RandomState(seed)
    group = rng.randint(n_groups, size=n)
    noisy = rng.uniform(size=n) < 0.25
    colours = np.array(["red", "green", "blue", "black"])
    return pd.DataFrame(
        {
            "x": group * 3.0 + rng.normal(size=n),
            "y": -group * 2.0 + rng.normal(size=n),
            "colour": np.where(noisy, colours[rng.randint(4, size=n)], colours[group]),
            "size": pd.Categorical(np.where(rng.uniform(size=n) < 0.8, group, 3) * 10),
            "member": (group % 2 == 0) ^ (rng.uniform(size=n) < 0.1),
        }
    )


# -- kernels against the references ---------------------------------------------------------


def test_assignment_kernel_against_broadcast_costs():
    rng = np.random.RandomState(0)
    numeric = rng.normal(size=(700, 3))
    codes = rng.randint(-1, 4, size=(700, 2)).astype(np.int32)  # -1: unseen categories
    num_centers = rng.normal(size=(5, 3))
    modes = rng.randint(0, 4, size=(5, 2)).astype(np.int32)
    weights = rng.uniform(0.5, 2, size=700)
    labels = np.empty(700, dtype=np.int32)
    min_cost = np.empty(700)
    chunk_cost = np.empty(3)
    centers_T, modes_T = np.ascontiguousarray(num_centers.T), np.ascontiguousarray(modes.T)
    assign_mixed(numeric, codes, weights, centers_T, modes_T, 0.7, labels, min_cost, chunk_cost)
    expected = naive_costs(numeric, codes, num_centers, modes, 0.7)
    np.testing.assert_array_equal(labels, np.argmin(expected, axis=1))
    np.testing.assert_allclose(min_cost, expected.min(axis=1), rtol=1e-12)
    assert chunk_cost.sum() == pytest.approx((weights * expected.min(axis=1)).sum(), rel=1e-12)


def test_update_kernel_against_weighted_means_and_modes():
    rng = np.random.RandomState(1)
    numeric = rng.normal(size=(400, 2))
    n_categories = [3, 5]
    codes = np.column_stack([rng.randint(n, size=400) for n in n_categories]).astype(np.int32)
    weights = rng.randint(1, 4, size=400).astype(np.float64)
    labels = rng.randint(4, size=400).astype(np.int32)
    offsets = np.array([0, 3, 8], dtype=np.int64)
    means = np.zeros((4, 2))
    modes = np.zeros((4, 2), dtype=np.int32)
    cluster_weight = np.empty(4)
    update_prototypes(numeric, codes, weights, labels, offsets, means, modes, cluster_weight)
    expected_means, expected_modes = naive_prototypes(
        numeric, codes, weights, labels, 4, n_categories
    )
    np.testing.assert_allclose(means, expected_means, rtol=1e-12)
    np.testing.assert_array_equal(modes, expected_modes)
    np.testing.assert_allclose(cluster_weight, np.bincount(labels, weights=weights))


def test_removal_cost_kernel_against_broadcast_costs():
    rng = np.random.RandomState(2)
    numeric = rng.normal(size=(600, 2))
    codes = rng.randint(0, 3, size=(600, 2)).astype(np.int32)
    num_centers = rng.normal(size=(4, 2))
    modes = rng.randint(0, 3, size=(4, 2)).astype(np.int32)
    weights = rng.uniform(0.5, 2, size=600)
    costs = naive_costs(numeric, codes, num_centers, modes, 0.4)
    labels = np.argmin(costs, axis=1).astype(np.int32)
    ordered = np.sort(costs, axis=1)
    chunk_removal = np.empty((3, 4))
    removal_costs(
        numeric, codes, weights, num_centers, modes, 0.4, labels, ordered[:, 0], chunk_removal
    )
    expected = np.bincount(labels, weights=weights * (ordered[:, 1] - ordered[:, 0]), minlength=4)
    np.testing.assert_allclose(chunk_removal.sum(axis=0), expected, rtol=1e-12)


def test_mode_ties_go_to_the_lowest_code():
    numeric = np.zeros((4, 1))
    codes = np.array([[2], [1], [2], [1]], dtype=np.int32)
    modes = np.zeros((1, 1), dtype=np.int32)
    update_prototypes(
        numeric,
        codes,
        np.ones(4),
        np.zeros(4, dtype=np.int32),
        np.array([0, 3], dtype=np.int64),
        np.zeros((1, 1)),
        modes,
        np.empty(1),
    )
    assert modes[0, 0] == 1


# -- the fitted model against the references ------------------------------------------------


def encoded(model, frame):
    numeric = frame.iloc[:, model.numerical_].to_numpy(dtype=np.float64)
    codes = np.column_stack(
        [
            pd.Index(categories).get_indexer(frame.iloc[:, j].to_numpy(dtype=object))
            for categories, j in zip(model.categories_, model.categorical_, strict=True)
        ]
    ).astype(np.int32)
    return numeric, codes


@pytest.mark.parametrize("refine", [True, False])
@pytest.mark.parametrize("init", ["k-prototypes++", "random"])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_fit_is_a_fixed_point_of_the_naive_batch_step(init, seed, refine):
    frame = mixed_frame(seed=seed)
    weights = np.random.RandomState(seed).uniform(0.5, 2.0, len(frame))
    model = KPrototypes(n_clusters=3, init=init, n_init=3, refine=refine, random_state=seed)
    model.fit(frame, sample_weight=weights)
    numeric, codes = encoded(model, frame)
    centers = model.cluster_centers_
    num_centers = centers.iloc[:, model.numerical_].to_numpy(dtype=np.float64)
    modes = np.column_stack(
        [
            pd.Index(categories).get_indexer(centers.iloc[:, j].to_numpy(dtype=object))
            for categories, j in zip(model.categories_, model.categorical_, strict=True)
        ]
    )
    costs = naive_costs(numeric, codes, num_centers, modes, model.gamma_)
    np.testing.assert_array_equal(model.labels_, np.argmin(costs, axis=1))
    assert model.cost_ == pytest.approx((weights * costs.min(axis=1)).sum(), rel=1e-10)
    means, expected_modes = naive_prototypes(
        numeric, codes, weights, model.labels_, 3, [len(c) for c in model.categories_]
    )
    np.testing.assert_allclose(num_centers, means, rtol=1e-10)
    np.testing.assert_array_equal(modes, expected_modes)


@pytest.mark.parametrize("seed", range(4))
def test_refinement_never_raises_the_cost_of_the_same_runs(seed):
    frame = mixed_frame(n=500, seed=seed, n_groups=4)
    params = {"n_clusters": 5, "n_init": 2, "random_state": seed}
    plain = KPrototypes(refine=False, **params).fit(frame)
    refined = KPrototypes(refine=True, **params).fit(frame)
    assert refined.cost_ <= plain.cost_
    assert refined.n_iter_ >= 1


def test_default_gamma_is_half_the_mean_standard_deviation_as_in_kmodes():
    frame = mixed_frame()
    model = KPrototypes(n_clusters=3, random_state=0).fit(frame)
    expected = 0.5 * frame[["x", "y"]].to_numpy().std(axis=0).mean()
    assert model.gamma_ == pytest.approx(expected, rel=1e-12)
    peer = PeerKPrototypes(n_clusters=3, n_init=1, random_state=0)
    peer.fit(frame.to_numpy(dtype=object), categorical=[2, 3, 4])
    assert model.gamma_ == pytest.approx(peer.gamma, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cost_no_higher_than_kmodes_kprototypes(seed):
    frame = mixed_frame(n=400, seed=seed, n_groups=4)
    ours = KPrototypes(n_clusters=4, gamma=1.0, n_init=5, random_state=seed).fit(frame)
    peer = PeerKPrototypes(n_clusters=4, gamma=1.0, n_init=5, init="Cao", random_state=seed)
    peer.fit(frame.to_numpy(dtype=object), categorical=[2, 3, 4])
    assert ours.cost_ <= peer.cost_ * (1 + 1e-9)


def test_without_numeric_columns_it_is_kmodes():
    frame = mixed_frame(n=300, seed=3)[["colour", "size", "member"]]
    ours = KPrototypes(n_clusters=3, n_init=5, random_state=0).fit(frame)
    assert ours.gamma_ == 1.0
    assert ours.numerical_.tolist() == []
    peer = KModes(n_clusters=3, n_init=5, init="Huang", random_state=0)
    peer.fit(frame.to_numpy(dtype=object))
    assert ours.cost_ <= peer.cost_


# -- columns, categories and centers ------------------------------------------------------


def test_categorical_columns_are_found_by_dtype():
    frame = mixed_frame(n=60)
    frame["label"] = pd.array(frame["colour"], dtype="string")
    model = KPrototypes(n_clusters=2, n_init=1, random_state=0).fit(frame)
    assert model.categorical_.tolist() == [2, 3, 4, 5]
    assert model.numerical_.tolist() == [0, 1]
    assert model.feature_names_in_.tolist() == list(frame.columns)
    centers = model.cluster_centers_
    assert list(centers.columns) == list(frame.columns)
    assert isinstance(centers["size"].dtype, pd.CategoricalDtype)
    assert centers["member"].dtype == bool
    assert model.cluster_centroids_ is model.cluster_centers_


@pytest.mark.parametrize("categorical", [["colour", "size"], [2, 3], [-3, -2], "mask"])
def test_categorical_columns_by_name_index_or_mask(categorical):
    frame = mixed_frame(n=60)
    if categorical == "mask":
        categorical = np.array([False, False, True, True, False])
    model = KPrototypes(n_clusters=2, categorical=categorical, n_init=1, random_state=0)
    model.fit(frame.assign(member=frame["member"].astype(float)))
    assert model.categorical_.tolist() == [2, 3]
    assert model.numerical_.tolist() == [0, 1, 4]


def test_an_array_with_categorical_indices_and_object_array_detection():
    frame = mixed_frame(n=80)
    values = frame.to_numpy(dtype=object)
    by_index = KPrototypes(n_clusters=3, categorical=[2, 3, 4], random_state=0).fit(values)
    detected = KPrototypes(n_clusters=3, random_state=0).fit(values)
    by_frame = KPrototypes(n_clusters=3, random_state=0).fit(frame)
    # the numbers of 'size' (category dtype in the frame) look numeric in an object array
    assert detected.categorical_.tolist() == [2, 4]
    detected = KPrototypes(n_clusters=3, random_state=0).fit(np.delete(values, 3, axis=1))
    assert detected.categorical_.tolist() == [2, 3]
    np.testing.assert_array_equal(by_index.labels_, by_frame.labels_)
    assert by_index.cluster_centers_.shape == (3, 5) and by_index.cluster_centers_.dtype == object
    numeric_codes = np.column_stack([frame[["x", "y"]].to_numpy(), frame["size"].cat.codes])
    fitted = KPrototypes(n_clusters=3, categorical=[2], random_state=0).fit(numeric_codes)
    assert fitted.cluster_centers_.dtype == np.float64


def test_unseen_categories_count_as_a_mismatch_at_predict():
    frame = mixed_frame(n=120)
    model = KPrototypes(n_clusters=3, random_state=0).fit(frame)
    new = frame.iloc[:4].copy()
    new["colour"] = ["purple", "red", "purple", "teal"]
    costs = model.transform(new)
    numeric, codes = encoded(model, new)
    assert (codes[:, 0] == -1).sum() == 3
    centers = model.cluster_centers_
    num_centers = centers[["x", "y"]].to_numpy(dtype=np.float64)
    modes = np.column_stack(
        [
            pd.Index(cats).get_indexer(centers.iloc[:, j].to_numpy(dtype=object))
            for cats, j in zip(model.categories_, model.categorical_, strict=True)
        ]
    )
    expected = naive_costs(numeric, codes, num_centers, modes, model.gamma_)
    np.testing.assert_allclose(costs, expected, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(new), np.argmin(expected, axis=1))
    assert model.score(new) == pytest.approx(-expected.min(axis=1).sum())


def test_missing_categorical_values_are_one_category():
    frame = pd.DataFrame(
        {
            "x": [0.0, 0.1, 0.2, 5.0, 5.1, 5.2],
            "c": ["a", None, np.nan, "b", "b", pd.NA],
        }
    )
    model = KPrototypes(n_clusters=2, random_state=0).fit(frame)
    categories = model.categories_[0]
    assert categories[:2].tolist() == ["a", "b"] and pd.isna(categories[2])
    assert len(categories) == 3
    low = model.predict(pd.DataFrame({"x": [0.0], "c": [None]}))[0]
    assert low == model.labels_[0]


def test_predict_equals_labels_and_fit_predict():
    frame = mixed_frame(n=200, seed=4)
    model = KPrototypes(n_clusters=3, random_state=5)
    labels = model.fit_predict(frame)
    np.testing.assert_array_equal(model.predict(frame), labels)
    assert model.score(frame) == pytest.approx(-model.cost_)
    again = KPrototypes(n_clusters=3, random_state=5).fit(frame)
    np.testing.assert_array_equal(again.labels_, labels)


def test_empty_clusters_are_relocated_when_rows_repeat():
    frame = pd.DataFrame({"x": [0.0] * 6 + [1.0] * 6, "c": ["a"] * 6 + ["b"] * 6})
    model = KPrototypes(n_clusters=3, n_init=1, random_state=0).fit(frame)
    assert model.cost_ == 0.0
    assert set(model.labels_.tolist()) <= {0, 1, 2}


# -- bad input ------------------------------------------------------------------------------


def test_no_categorical_column_suggests_kmeans():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 2.0, 1.0]})
    with pytest.raises(ValueError, match=r"no categorical column.*centroids.KMeans"):
        KPrototypes(n_clusters=2).fit(frame)
    with pytest.raises(ValueError, match=r"no categorical column"):
        KPrototypes(n_clusters=2).fit(frame.to_numpy())


def test_nan_in_a_numeric_column_names_column_and_row():
    frame = mixed_frame(n=30)
    frame.loc[7, "y"] = np.nan
    model = KPrototypes(n_clusters=2)
    with pytest.raises(ValueError, match=r"NaN in numeric column 'y' \(index 1\), first at row 7"):
        model.fit(frame)
    assert not hasattr(model, "labels_")


def test_bad_categorical_parameter_and_text_in_numeric_columns():
    frame = mixed_frame(n=30)
    with pytest.raises(ValueError, match="'shade', which X does not have"):
        KPrototypes(n_clusters=2, categorical=["shade"]).fit(frame)
    with pytest.raises(ValueError, match="column index 9, but X has 5 columns"):
        KPrototypes(n_clusters=2, categorical=[9]).fit(frame)
    with pytest.raises(ValueError, match="X is an array without column names"):
        KPrototypes(n_clusters=2, categorical=["x"]).fit(frame.to_numpy(dtype=object))
    with pytest.raises(ValueError, match="more than once"):
        KPrototypes(n_clusters=2, categorical=[2, 2]).fit(frame)
    with pytest.raises(TypeError, match=r"column 'colour' .*holds values that are not numbers"):
        KPrototypes(n_clusters=2, categorical=["size"]).fit(frame)
    with pytest.raises(ValueError, match="n_samples=30 should be >= n_clusters=31"):
        KPrototypes(n_clusters=31).fit(frame)


def test_predict_checks_the_columns_seen_in_fit():
    frame = mixed_frame(n=40)
    model = KPrototypes(n_clusters=2, random_state=0).fit(frame)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame.rename(columns={"x": "z"}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(frame)


def test_a_list_of_rows_keeps_numbers_and_strings_apart():
    rows = [[0.1, "a"], [0.2, "a"], [5.0, "b"], [5.2, "b"]]
    model = KPrototypes(n_clusters=2, random_state=0).fit(rows)
    assert model.categorical_.tolist() == [1]
    assert model.labels_[0] == model.labels_[1] != model.labels_[2] == model.labels_[3]
