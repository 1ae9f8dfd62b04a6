import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from centroids import KMeans
from centroids.datasets import CUSTOMER_SEGMENTS, REGIONS, make_customers


def test_same_seed_same_table_other_seed_other_table():
    a = make_customers(2_000, random_state=5)
    b = make_customers(2_000, random_state=5)
    c = make_customers(2_000, random_state=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_columns_types_and_ranges():
    customers = make_customers(5_000, random_state=0)
    assert customers["customer_id"].is_unique
    assert customers["age"].dtype == np.int64 and customers["age"].between(18, 95).all()
    assert customers["spending_score"].between(1, 100).all()
    assert (customers["annual_income"] % 100 == 0).all()
    assert isinstance(customers["region"].dtype, pd.CategoricalDtype)
    assert set(customers["region"].cat.categories) == set(REGIONS)
    assert not customers.isna().any().any()


def test_segments_have_the_documented_shares_and_are_recoverable():
    customers, segments = make_customers(20_000, random_state=1, return_segments=True)
    shares = pd.Series(segments).value_counts(normalize=True)
    for name, spec in CUSTOMER_SEGMENTS.items():
        assert shares[name] == pytest.approx(spec["share"], abs=0.02)
    numeric = customers[["annual_income", "spending_score", "age", "purchase_frequency"]]
    X = StandardScaler().fit_transform(numeric)
    labels = KMeans(len(CUSTOMER_SEGMENTS), random_state=0).fit_predict(X)
    assert adjusted_rand_score(segments.codes, labels) > 0.9


def test_missing_rate_blanks_spending_and_region_only():
    customers = make_customers(20_000, missing_rate=0.01, random_state=2)
    missing = customers.isna().mean()
    assert missing["spending_score"] == pytest.approx(0.01, abs=0.004)
    assert missing["region"] == pytest.approx(0.01, abs=0.004)
    assert missing.drop(["spending_score", "region"]).eq(0).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n_samples": 0}, "n_samples"), ({"n_samples": 10, "missing_rate": 1.0}, "missing_rate")],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_customers(**kwargs)
