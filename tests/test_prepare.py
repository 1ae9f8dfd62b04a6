"""centroids.data.prepare.Preparation against scikit-learn's scalers, imputer and encoder."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler

from centroids.data.prepare import MISSING_LEVEL, Preparation

SKLEARN_SCALERS = {
    "standard": StandardScaler,
    "robust": RobustScaler,
    "minmax": MinMaxScaler,
}


def mixed_frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer": np.arange(n),
            "income": rng.normal(50_000, 12_000, n),
            "age": rng.integers(18, 90, n),
            "city": rng.choice(["paris", "lyon", "nice"], n),
            "member": rng.random(n) < 0.3,
            "tier": pd.Categorical(rng.choice(["gold", "silver"], n)),
        }
    )


def json_round_trip(preparation):
    return Preparation.from_dict(json.loads(json.dumps(preparation.to_dict())))


@pytest.mark.parametrize("scale", ["standard", "robust", "minmax", "none"])
def test_numeric_scaling_matches_sklearn(scale):
    df = mixed_frame()[["income", "age"]]
    Z = Preparation(scale=scale).fit_transform(df)
    values = df.to_numpy(dtype=np.float64)
    expected = values if scale == "none" else SKLEARN_SCALERS[scale]().fit_transform(values)
    np.testing.assert_allclose(Z, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("scale", ["standard", "robust", "minmax", "none"])
def test_constant_column_is_centred_not_divided_by_zero(scale):
    df = pd.DataFrame({"constant": [3.0] * 5, "x": [1.0, 2.0, 3.0, 4.0, 6.0]})
    prep = Preparation(scale=scale)
    Z = prep.fit_transform(df)
    assert np.isfinite(Z).all()
    expected_constant = 3.0 if scale == "none" else 0.0
    np.testing.assert_array_equal(Z[:, 0], expected_constant)
    assert prep.specs[0].scale == 1.0


def test_one_hot_matches_sklearn_and_unseen_category_gives_zeros():
    df = mixed_frame()
    prep = Preparation(columns=["city", "tier"])
    Z = prep.fit_transform(df)
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    expected = encoder.fit_transform(df[["city", "tier"]].astype(str))
    np.testing.assert_array_equal(Z, expected)
    assert prep.model_feature_names_ == [
        "city=lyon",
        "city=nice",
        "city=paris",
        "tier=gold",
        "tier=silver",
    ]
    new = pd.DataFrame({"city": ["marseille", "nice"], "tier": ["gold", "bronze"]})
    np.testing.assert_array_equal(prep.transform(new), encoder.transform(new))


def test_type_inference_and_explicit_types():
    df = mixed_frame()
    df["label"] = pd.Series(df["city"], dtype="string")
    prep = Preparation(id_column="customer").fit(df)
    assert prep.feature_names_ == ["income", "age", "city", "member", "tier", "label"]
    assert prep.feature_types_ == {
        "income": "numeric",
        "age": "numeric",
        "city": "categorical",
        "member": "categorical",
        "tier": "categorical",
        "label": "categorical",
    }
    explicit = Preparation(columns=["age", "income"], categorical=["age"]).fit(df)
    assert explicit.feature_types_ == {"age": "categorical", "income": "numeric"}
    assert explicit.model_feature_names_[0] == f"age={sorted(set(df['age']))[0]}"
    # a text column of numbers, declared numeric
    text_numbers = pd.DataFrame({"amount": ["1.5", "2.5", None, "4"]})
    forced = Preparation(numeric=["amount"], missing="median").fit(text_numbers)
    assert forced.feature_types_ == {"amount": "numeric"}
    np.testing.assert_allclose(
        forced.inverse_transform(forced.transform(text_numbers))["amount"], [1.5, 2.5, 2.5, 4]
    )


def test_ndarray_columns_are_named_and_transform_takes_arrays():
    X = np.random.default_rng(1).normal(size=(20, 3))
    prep = Preparation().fit(X)
    assert prep.feature_names_ == ["x0", "x1", "x2"]
    np.testing.assert_allclose(prep.transform(X), StandardScaler().fit_transform(X), atol=1e-12)
    with pytest.raises(ValueError, match=r"has 2 column\(s\).*3 feature"):
        prep.transform(X[:, :2])


def test_missing_drop_leaves_rows_out_and_keeps_nan_at_transform():
    df = mixed_frame()
    df.loc[[3, 7], "income"] = np.nan
    df.loc[[7, 9], "age"] = np.nan
    prep = Preparation(columns=["income", "age"])
    Z = prep.fit_transform(df)
    keep = ~df[["income", "age"]].isna().any(axis=1).to_numpy()
    np.testing.assert_array_equal(prep.row_mask_, keep)
    assert prep.n_dropped_ == 3 and Z.shape == (len(df) - 3, 2)
    assert prep.missing_counts_ == {"income": 2, "age": 2}
    np.testing.assert_allclose(
        Z, StandardScaler().fit_transform(df.loc[keep, ["income", "age"]]), atol=1e-12
    )
    transformed = prep.transform(df)
    assert np.isnan(transformed[3, 0]) and not np.isnan(transformed[3, 1])
    np.testing.assert_array_equal(prep.complete_rows(df), keep)


def test_missing_median_matches_imputer_then_scaler():
    df = mixed_frame()
    df.loc[[3, 7, 8], "income"] = np.nan
    prep = Preparation(columns=["income", "age"], missing="median", scale="robust")
    Z = prep.fit_transform(df)
    imputed = SimpleImputer(strategy="median").fit_transform(df[["income", "age"]])
    np.testing.assert_allclose(Z, RobustScaler().fit_transform(imputed), atol=1e-12)
    assert prep.n_dropped_ == 0
    assert prep.specs[0].median == float(df["income"].median())
    new = pd.DataFrame({"income": [np.nan], "age": [40]})
    np.testing.assert_allclose(prep.transform(new)[0, 0], Z[3, 0])


def test_categorical_missing_becomes_its_own_level():
    df = pd.DataFrame({"city": ["a", None, "b", "a", np.nan], "x": [1.0, 2, 3, 4, 5]})
    prep = Preparation()
    Z = prep.fit_transform(df)
    assert prep.n_dropped_ == 0  # categorical gaps never drop rows
    assert prep.model_feature_names_ == ["city=a", "city=b", f"city={MISSING_LEVEL}", "x"]
    np.testing.assert_array_equal(Z[:, 2], [0, 1, 0, 0, 1])
    assert prep.specs[0].shares == [0.4, 0.2, 0.4]
    # without a missing level, a missing value at transform time is all zeros
    no_level = Preparation().fit(df.dropna())
    np.testing.assert_array_equal(no_level.transform(df)[1, :2], [0, 0])


def test_categorical_weight_per_block():
    df = pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"], "n": [0.0, 1.0]})
    Z = Preparation(categorical_weight={"a": 0.5}, scale="none").fit_transform(df)
    np.testing.assert_array_equal(Z, [[0.5, 0, 1, 0, 0], [0, 0.5, 0, 1, 1]])
    Z = Preparation(categorical_weight=2.0, scale="none").fit_transform(df)
    assert Z[:, :4].max() == 2.0
    with pytest.raises(ValueError, match="categorical_weight"):
        Preparation(categorical_weight=0).fit(df)


def test_inverse_transform_gives_original_units_and_shares():
    df = mixed_frame()
    prep = Preparation(id_column="customer", scale="minmax")
    Z = prep.fit_transform(df)
    back = prep.inverse_transform(Z)
    np.testing.assert_allclose(back["income"], df["income"], rtol=1e-12)
    np.testing.assert_allclose(back["age"], df["age"], rtol=1e-12)
    assert back["city"].tolist() == df["city"].tolist()
    assert back["member"].tolist() == df["member"].tolist()
    mean_row = prep.inverse_transform(Z.mean(axis=0, keepdims=True), shares=True)
    for city in ["lyon", "nice", "paris"]:
        assert mean_row[f"city={city}"][0] == pytest.approx((df["city"] == city).mean())
    assert mean_row["city"][0] == df["city"].value_counts().idxmax()
    assert mean_row["income"][0] == pytest.approx(df["income"].mean())


def test_json_round_trip_transforms_identically():
    df = mixed_frame()
    df.loc[[1, 2], "income"] = np.nan
    df.loc[[4], "city"] = None
    prep = Preparation(id_column="customer", missing="median", categorical_weight={"city": 0.7})
    Z = prep.fit_transform(df)
    copy = json_round_trip(prep)
    np.testing.assert_array_equal(copy.transform(df), Z)
    assert copy.model_feature_names_ == prep.model_feature_names_
    assert copy.feature_types_ == prep.feature_types_
    assert copy.missing_counts_ == prep.missing_counts_
    with pytest.raises(ValueError, match="Not a Preparation description"):
        Preparation.from_dict({"format": "something else"})


def test_errors_name_the_problem():
    df = mixed_frame()
    with pytest.raises(ValueError, match=r"\['salary'\].*available columns: \['customer'"):
        Preparation(columns=["salary", "age"]).fit(df)
    with pytest.raises(ValueError, match=r"empty \(0 rows\)"):
        Preparation().fit(df.iloc[:0])
    all_nan = df.assign(empty=np.nan)
    with pytest.raises(ValueError, match="Column 'empty' has no value at all"):
        Preparation().fit(all_nan)
    with pytest.raises(
        TypeError, match=r"Column 'city'.*must be numeric.*'(paris|lyon|nice)' at row 0"
    ):
        Preparation(numeric=["city"]).fit(df)
    with pytest.raises(ValueError, match="scale must be one of"):
        Preparation(scale="zscore").fit(df)
    with pytest.raises(ValueError, match="missing must be"):
        Preparation(missing="mean").fit(df)
    with pytest.raises(ValueError, match="infinite value at row 2"):
        Preparation().fit(pd.DataFrame({"x": [1.0, 2.0, np.inf]}))
    with pytest.raises(ValueError, match="missing='drop' leaves nothing"):
        Preparation().fit(pd.DataFrame({"x": [1.0, np.nan], "y": [np.nan, 2.0]}))
    with pytest.raises(ValueError, match="not fitted"):
        Preparation().transform(df)
    prep = Preparation(id_column="customer").fit(df)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['age'\]"):
        prep.transform(df.drop(columns="age"))
    with pytest.raises(TypeError, match=r"Column 'income'.*'high' at row 1"):
        prep.transform(df.assign(income=["12", "high"] + ["1"] * (len(df) - 2)))
    with pytest.raises(ValueError, match="model features"):
        prep.inverse_transform(np.zeros((1, 3)))


def test_numbers_stored_as_text_with_a_few_bad_entries_are_named():
    values = [str(v) for v in range(40)]
    values[17] = "n/a"
    frame = pd.DataFrame({"income": values, "plan": ["a", "b"] * 20})
    with pytest.raises(ValueError, match=r"'income' holds numbers .* 'n/a' at row 17"):
        Preparation().fit(frame)
    # said to be categorical: accepted as such
    assert Preparation(categorical=["income", "plan"]).fit(frame).feature_types_["income"] == (
        "categorical"
    )
    # numbers that are all clean text are not the problem this check is about
    codes = pd.DataFrame({"zip": [f"{v:05d}" for v in range(40)], "x": np.arange(40.0)})
    assert Preparation().fit(codes).feature_types_["zip"] == "categorical"
