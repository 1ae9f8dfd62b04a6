"""centroids.segments.segmentation.Segmentation: fit, predict, metrics, fingerprint, round trip."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.preprocessing import StandardScaler

from centroids import segmentation as segmentation_module
from centroids.models import KMeans
from centroids.segments.segmentation import Segmentation


def customers(n=400, seed=0):
    X, groups = make_blobs(n, n_features=3, centers=4, cluster_std=0.8, random_state=seed)
    rng = np.random.default_rng(seed)
    regions = np.array(["north", "south", "east", "west"])
    region = np.where(rng.random(n) < 0.8, regions[groups], rng.choice(regions, n))
    return pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n),
            "income": 50_000 + 10_000 * X[:, 0],
            "spending": 2_000 + 300 * X[:, 1],
            "age": np.clip(np.round(45 + 5 * X[:, 2]), 18, 95).astype(int),
            "region": region,
        }
    )


def round_trip(segmentation):
    return Segmentation.from_dict(json.loads(json.dumps(segmentation.to_dict())))


def test_matches_scaler_plus_kmeans_on_numeric_data():
    df = customers()[["income", "spending", "age"]]
    seg = Segmentation(n_clusters=4, random_state=3).fit(df)
    Z = StandardScaler().fit_transform(df.to_numpy(dtype=float))
    reference = KMeans(n_clusters=4, random_state=3).fit(Z)
    np.testing.assert_array_equal(seg.labels_, reference.labels_)
    np.testing.assert_allclose(seg.centers_, reference.cluster_centers_, atol=1e-10)
    assert seg.inertia_ == pytest.approx(reference.inertia_)
    np.testing.assert_array_equal(seg.sizes_, np.bincount(reference.labels_, minlength=4))
    assert seg.spread_ == pytest.approx(np.sqrt(reference.inertia_ / len(df)))


def test_attributes_in_original_units_and_metrics():
    df = customers()
    seg = Segmentation(n_clusters=4, id_column="customer_id", random_state=0).fit(df)
    assert seg.feature_names_ == ["income", "spending", "age", "region"]
    assert seg.feature_types_["region"] == "categorical"
    means = df.groupby(seg.labels_)[["income", "spending", "age"]].mean()
    np.testing.assert_allclose(seg.centers_original_[means.columns], means, rtol=1e-9)
    shares = pd.crosstab(seg.labels_, df["region"], normalize="index")
    for region in shares.columns:
        np.testing.assert_allclose(
            seg.centers_original_[f"region={region}"], shares[region], atol=1e-12
        )
    assert seg.centers_original_["region"].tolist() == shares.idxmax(axis=1).tolist()
    Z = seg.transform(df)
    assert seg.metrics_["silhouette"] == pytest.approx(silhouette_score(Z, seg.labels_))
    assert seg.metrics_["davies_bouldin"] == pytest.approx(davies_bouldin_score(Z, seg.labels_))
    assert seg.metrics_["calinski_harabasz"] == pytest.approx(
        calinski_harabasz_score(Z, seg.labels_)
    )
    assert seg.metrics_["n_rows"] == seg.metrics_["n_used"] == len(df)
    assert seg.metrics_["n_dropped"] == 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", seg.created_at_)
    assert set(seg.environment_) >= {"centroids", "numpy", "numba", "scikit-learn", "python"}
    assert seg.environment_["threads"] >= 1
    assert seg.params_["n_clusters"] == 4 and seg.params_["id_column"] == "customer_id"
    assert len(set(seg.names_)) == 4
    profile = seg.profile()
    assert profile["size"].tolist() == seg.sizes_.tolist()
    assert profile["share"].sum() == pytest.approx(1.0)
    assert profile["name"].tolist() == seg.names_
    json.dumps(seg.to_dict())  # JSON-safe


def test_silhouette_is_sampled_beyond_the_sample_size(monkeypatch):
    monkeypatch.setattr(segmentation_module, "SILHOUETTE_SAMPLE_SIZE", 50)
    df = customers(200)[["income", "spending"]]
    seg = Segmentation(n_clusters=3, random_state=7).fit(df)
    rows = np.sort(np.random.RandomState(7).choice(200, 50, False))
    Z = seg.transform(df)
    assert seg.metrics_["silhouette"] == pytest.approx(silhouette_score(Z[rows], seg.labels_[rows]))


def test_single_segment_has_undefined_metrics():
    seg = Segmentation(n_clusters=1, random_state=0).fit(customers(30)[["income"]])
    assert seg.metrics_["silhouette"] is None and seg.metrics_["davies_bouldin"] is None
    assert seg.names_ == ["near average"]


def test_predict_with_distance_and_rows_left_out_of_the_fit():
    """Under 'drop' the rows with a hole are left out of the fit but still get a segment:
    the nearest center over their observed columns (issue 20: every customer gets one)."""
    df = customers()
    df.loc[[5, 17], "income"] = np.nan
    seg = Segmentation(n_clusters=4, id_column="customer_id", random_state=0).fit(df)
    assert (seg.labels_ >= 0).all()
    assert seg.metrics_["n_dropped"] == 2 and seg.sizes_.sum() == len(df) - 2
    assert seg.metrics_["n_rows_with_holes"] == 2 and seg.metrics_["missing"] == "drop"
    labels, distances = seg.predict_with_distance(df)
    np.testing.assert_array_equal(labels, seg.labels_)
    Z = seg.transform(df)
    holes = np.isnan(Z).any(axis=1)
    assert holes.sum() == 2
    observed = ~np.isnan(Z[holes])
    gaps = np.where(observed[:, None, :], Z[holes, None, :] - seg.centers_[None], 0.0)
    rescaled = (gaps**2).sum(axis=2) * (Z.shape[1] / observed.sum(axis=1))[:, None]
    np.testing.assert_array_equal(labels[holes], rescaled.argmin(axis=1))
    np.testing.assert_allclose(distances[holes], np.sqrt(rescaled.min(axis=1)), rtol=1e-12)
    complete = ~holes
    all_distances = np.linalg.norm(Z[complete, None, :] - seg.centers_[None], axis=2)
    np.testing.assert_array_equal(labels[complete], all_distances.argmin(axis=1))
    np.testing.assert_allclose(distances[complete], all_distances.min(axis=1), rtol=1e-12)
    assert np.sqrt(np.mean(distances[complete] ** 2)) == pytest.approx(seg.spread_)


def test_median_policy_assigns_every_row():
    df = customers()
    df.loc[[5, 17], "income"] = np.nan
    seg = Segmentation(n_clusters=4, missing="median", random_state=0).fit(df)
    assert (seg.labels_ >= 0).all() and seg.metrics_["n_dropped"] == 0
    np.testing.assert_array_equal(seg.predict(df), seg.labels_)


def test_json_round_trip_predicts_identically_without_refitting():
    df = customers()
    seg = Segmentation(n_clusters=5, scale="robust", id_column="customer_id", random_state=1)
    seg.fit(df)
    copy = round_trip(seg)
    new = customers(150, seed=9)
    new.loc[3, "region"] = "mars"  # unseen category
    labels, distances = seg.predict_with_distance(new)
    copy_labels, copy_distances = copy.predict_with_distance(new)
    np.testing.assert_array_equal(copy_labels, labels)
    np.testing.assert_array_equal(copy_distances, distances)
    np.testing.assert_array_equal(copy.centers_, seg.centers_)
    assert copy.names_ == seg.names_ and copy.fingerprint_ == seg.fingerprint_
    assert copy.metrics_ == seg.metrics_ and copy.created_at_ == seg.created_at_
    pd.testing.assert_frame_equal(copy.profile(), seg.profile())
    assert copy.labels_ is None
    with pytest.raises(ValueError, match="Not a Segmentation description"):
        Segmentation.from_dict({"format": "centroids.Preparation"})


def test_same_seed_same_segmentation_and_fingerprint_ignores_row_order():
    df = customers()
    first = Segmentation(n_clusters=4, random_state=11).fit(df)
    second = Segmentation(n_clusters=4, random_state=11).fit(df)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    assert first.names_ == second.names_
    shuffled = df.sample(frac=1.0, random_state=0)
    assert Segmentation(n_clusters=4, random_state=0).fit(shuffled).fingerprint_ == (
        first.fingerprint_
    )
    changed = df.assign(income=df["income"] + 1.0)
    assert Segmentation(n_clusters=4, random_state=0).fit(changed).fingerprint_ != (
        first.fingerprint_
    )
    assert re.fullmatch(r"[0-9a-f]{64}", first.fingerprint_)


def test_init_from_previous_centers_in_original_units():
    df = customers()
    first = Segmentation(n_clusters=4, id_column="customer_id", random_state=0).fit(df)
    more = pd.concat([df, customers(100, seed=5)], ignore_index=True)
    warm = Segmentation(
        n_clusters=4, id_column="customer_id", init=first.centers_original_, random_state=0
    ).fit(more)
    Z = warm.transform(more)
    expected_start = warm.preparation_.transform_centers(first.centers_original_)
    # category shares, not only the dominant category, carry over
    np.testing.assert_allclose(
        first.preparation_.transform_centers(first.centers_original_), first.centers_, atol=1e-12
    )
    assert not np.isin(expected_start[:, -4:], [0.0, 1.0]).all()
    reference = KMeans(n_clusters=4, init=expected_start, refine=False).fit(Z)
    # warm starts from array centers are plain Lloyd (refine='auto' leaves them alone)
    np.testing.assert_array_equal(warm.labels_, reference.labels_)
    assert warm.params_["init"] == "array"
    with pytest.raises(ValueError, match=r"init has 3 center row\(s\)"):
        Segmentation(n_clusters=4, init=first.centers_original_.iloc[:3]).fit(df)


def test_errors():
    df = customers(20)
    with pytest.raises(ValueError, match="n_clusters=30"):
        Segmentation(n_clusters=30).fit(df)
    fitted = Segmentation(n_clusters=2, random_state=0).fit(df)
    names = fitted.names_
    fitted.n_clusters = 50
    with pytest.raises(ValueError, match="n_clusters=50"):
        fitted.fit(df)
    assert fitted.names_ is names and len(fitted.centers_) == 2  # left as it was
    with pytest.raises(ValueError, match=r"kmeans_params must not set \['random_state'\]"):
        Segmentation(n_clusters=2, kmeans_params={"random_state": 1}).fit(df)
    with pytest.raises(ValueError, match=r"unknown KMeans parameter\(s\) \['max_iters'\]"):
        Segmentation(n_clusters=2, kmeans_params={"max_iters": 1}).fit(df)
    with pytest.raises(ValueError, match="not fitted"):
        Segmentation().predict(df)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['age'\]"):
        Segmentation(n_clusters=2, random_state=0).fit(df).predict(df.drop(columns="age"))
    seg = Segmentation(n_clusters=2, kmeans_params={"max_iter": 5, "algorithm": "lloyd"})
    assert seg.fit(df).model_.max_iter == 5


# -- model='kprototypes' (mixed numeric and categorical data) ---------------------------------


def mixed_customers(n=240, seed=0):
    """Four groups: 'plan' is the group (clean), the numeric columns shift with it."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 4, n)
    return group, pd.DataFrame(
        {
            "id": np.arange(n),
            "income": 40.0 + 3.0 * group + rng.normal(0, 4, n),
            "visits": rng.normal(10, 2, n) - 0.5 * group,
            "plan": np.array(["basic", "plus", "gold", "team"])[group],
            "channel": rng.choice(["web", "shop"], n, p=[0.9, 0.1]),
        }
    )


def kprototypes_reference(frame, k, seed, gamma=None):
    """KPrototypes fitted directly on the standard-scaled numeric and raw categorical columns."""
    from centroids.models.kprototypes import KPrototypes

    table = frame[["income", "visits", "plan", "channel"]].copy()
    numeric = ["income", "visits"]
    table[numeric] = StandardScaler().fit_transform(table[numeric].to_numpy(dtype=float))
    if gamma is None:
        gamma = 0.5 * float(np.mean(table[numeric].std(ddof=0)))
    model = KPrototypes(k, categorical=["plan", "channel"], gamma=gamma, random_state=seed)
    return model.fit(table), table


def test_kprototypes_segmentation_is_kprototypes():
    from sklearn.metrics import adjusted_rand_score

    group, frame = mixed_customers()
    # default gamma: half the mean standard deviation of the scaled numeric columns
    seg = Segmentation(4, model="kprototypes", id_column="id", random_state=0).fit(frame)
    reference, table = kprototypes_reference(frame, 4, seed=0)
    assert seg.gamma_ == pytest.approx(0.5) == pytest.approx(reference.gamma_)
    assert adjusted_rand_score(seg.labels_, reference.labels_) == 1.0
    assert seg.inertia_ == pytest.approx(reference.cost_, rel=1e-12)
    # a mismatch costly enough for 'plan' to carry the structure: its four groups
    seg = Segmentation(4, model="kprototypes", gamma=5.0, id_column="id", random_state=0).fit(frame)
    reference, table = kprototypes_reference(frame, 4, seed=0, gamma=5.0)
    assert adjusted_rand_score(seg.labels_, reference.labels_) == 1.0
    assert adjusted_rand_score(seg.labels_, group) == 1.0
    assert seg.inertia_ == pytest.approx(reference.cost_, rel=1e-12)
    assert seg.metrics_["inertia"] == seg.inertia_ and seg.metrics_["gamma"] == seg.gamma_
    # predict in model space is the k-prototypes assignment, distance² its cost
    labels, distances = seg.predict_with_distance(frame)
    np.testing.assert_array_equal(labels, seg.labels_)
    np.testing.assert_array_equal(seg.labels_, seg.kprototypes_.labels_)
    assert float(np.sum(distances**2)) == pytest.approx(seg.inertia_, rel=1e-12)
    Z = seg.transform(frame)
    squared = ((Z[:, None, :] - seg.centers_[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_allclose(
        np.sort(squared, axis=1), np.sort(reference.transform(table), axis=1), atol=1e-9
    )
    # one-hot cells are sqrt(gamma / 2): a mismatch costs gamma
    assert seg.preparation_.categorical_weight == pytest.approx(np.sqrt(2.5))
    # centers in original units: means, modes, and the segment's real category shares
    means = frame.groupby(seg.labels_)[["income", "visits"]].mean()
    np.testing.assert_allclose(seg.centers_original_[["income", "visits"]], means, rtol=1e-9)
    shares = pd.crosstab(seg.labels_, frame["channel"], normalize="index")
    for channel in shares.columns:
        np.testing.assert_allclose(
            seg.centers_original_[f"channel={channel}"], shares[channel], atol=1e-12
        )
    modes = frame.groupby(seg.labels_)["plan"].agg(lambda s: s.value_counts().index[0])
    assert seg.centers_original_["plan"].tolist() == modes.tolist()
    assert seg.params_["model"] == "kprototypes" and seg.params_["gamma"] == 5.0
    assert len(set(seg.names_)) == 4


def test_kprototypes_unseen_category_missing_values_and_given_gamma():
    _, frame = mixed_customers(seed=1)
    frame.loc[[3, 7], "channel"] = None  # a missing level of its own
    seg = Segmentation(
        3, model="kprototypes", id_column="id", gamma=2.0, random_state=2, n_init=3
    ).fit(frame)
    assert seg.gamma_ == 2.0 and seg.preparation_.categorical_weight == pytest.approx(1.0)
    assert seg.kprototypes_.n_init == 3 and seg.kprototypes_.gamma_ == 2.0
    assert "channel=(missing)" in seg.preparation_.model_feature_names_
    np.testing.assert_array_equal(seg.predict(frame), seg.kprototypes_.labels_)
    # new rows, with categories never seen in fit: the same cluster as KPrototypes says
    rng = np.random.default_rng(5)
    new = frame.sample(60, random_state=3).reset_index(drop=True)
    new.loc[rng.choice(60, 20, replace=False), "plan"] = "platinum"
    new.loc[rng.choice(60, 10, replace=False), "channel"] = "phone"
    table = new[["income", "visits", "plan", "channel"]].copy()
    specs = {spec.name: spec for spec in seg.preparation_.specs}
    for name in ("income", "visits"):
        table[name] = (table[name] - specs[name].center) / specs[name].scale
    for name in ("plan", "channel"):
        levels = specs[name].levels
        table[name] = [
            levels.index("(missing)" if value is None else value)
            if ("(missing)" if value is None else value) in levels
            else -1
            for value in new[name]
        ]
    np.testing.assert_array_equal(seg.predict(new), seg.kprototypes_.predict(table))


def test_kprototypes_round_trip_store_and_sql(tmp_path):
    import sqlite3

    from centroids.store.repository import SegmentStore
    from centroids.store.scoring_sql import segmentation_to_sql

    _, frame = mixed_customers(seed=2)
    frame.loc[5, "income"] = np.nan  # dropped (label -1, NULL in SQL)
    seg = Segmentation(4, model="kprototypes", id_column="id", random_state=0).fit(frame)
    new = frame.copy()
    new.loc[0, "plan"] = "platinum"
    new.loc[1, "channel"] = None
    again = round_trip(seg)
    assert again.params_["model"] == "kprototypes" and again.kprototypes_ is None
    assert again.gamma_ == pytest.approx(seg.gamma_)
    np.testing.assert_array_equal(again.predict(new), seg.predict(new))
    pd.testing.assert_frame_equal(again.centers_original_, seg.centers_original_)
    assert again.names_ == seg.names_ and again.metrics_ == seg.metrics_
    refit = Segmentation(**{k: v for k, v in again.get_params().items()}).fit(frame)
    np.testing.assert_array_equal(refit.labels_, seg.labels_)

    with SegmentStore(f"sqlite:///{tmp_path / 'segments.db'}") as store:
        info = store.save(seg)
        loaded = store.load()
        np.testing.assert_array_equal(loaded.centers_, seg.centers_)
        np.testing.assert_array_equal(loaded.predict(new), seg.predict(new))
        pd.testing.assert_frame_equal(loaded.centers_original_, seg.centers_original_)
        predicted = store.predict_with_distance(new)
    labels = seg.predict(new)
    ids = np.asarray(info.segment_ids)
    expected = [None if label < 0 else int(ids[label]) for label in labels]
    assert [None if pd.isna(v) else int(v) for v in predicted["segment_id"]] == expected

    connection = sqlite3.connect(":memory:")
    new.to_sql("people", connection, index=False)
    sql = segmentation_to_sql(loaded, "sqlite", table="people", segment_ids=list(ids))
    got = dict(connection.execute(sql).fetchall())
    assert got == dict(zip(new["id"].tolist(), expected, strict=True))
    assert got[5] is not None  # a missing number: placed by the observed columns


def test_kprototypes_errors_and_warnings():
    _, frame = mixed_customers(60)
    numeric_only = frame[["income", "visits"]]
    with pytest.raises(ValueError, match="needs at least one categorical column"):
        Segmentation(2, model="kprototypes").fit(numeric_only)
    with pytest.raises(ValueError, match="model must be one of"):
        Segmentation(2, model="kmodes").fit(frame)
    with pytest.raises(ValueError, match=r"gamma=1\.0 is a K-Prototypes parameter"):
        Segmentation(2, gamma=1.0).fit(frame)
    with pytest.raises(ValueError, match="gamma must be a positive number"):
        Segmentation(2, model="kprototypes", gamma=-1.0).fit(frame)
    with pytest.raises(ValueError, match="not a K-Prototypes seeding"):
        Segmentation(2, model="kprototypes", init="k-means||").fit(frame)
    with pytest.raises(ValueError, match=r"unknown KPrototypes parameter\(s\) \['tol'\]"):
        Segmentation(2, model="kprototypes", kmeans_params={"tol": 1e-3}).fit(frame)
    with pytest.raises(ValueError, match=r"must not set \['gamma'\]"):
        Segmentation(2, model="kprototypes", kmeans_params={"gamma": 1.0}).fit(frame)
    with pytest.raises(ValueError, match="n_init must be"):
        Segmentation(2, model="kprototypes", n_init=0).fit(frame)
    seg = Segmentation(2, model="kprototypes", random_state=0, kmeans_params={"refine": False})
    assert seg.fit(frame).kprototypes_.refine is False
    with pytest.warns(UserWarning, match="cannot start from given centers"):
        warm = Segmentation(2, model="kprototypes", init=seg.centers_original_, random_state=0)
        warm.fit(frame)
    assert warm.sizes_.sum() == len(frame)
