"""Values whose squares overflow the working dtype are refused, naming column and row."""

import numpy as np
import pytest
import scipy.sparse as sp

from centroids import KMeans, MiniBatchKMeans, SphericalKMeans
from centroids._utils.validation import OVERFLOW_MARGIN, overflow_limit
from centroids.errors import BadDataError

ESTIMATORS = [
    lambda: KMeans(n_clusters=3, random_state=0),
    lambda: MiniBatchKMeans(n_clusters=3, random_state=0, batch_size=64),
    lambda: SphericalKMeans(n_clusters=3, random_state=0),
]


def _data(dtype, n=200, d=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(dtype)


def test_limit_follows_dtype_and_features():
    for dtype in (np.float64, np.float32):
        for n, d in ((1, 1), (200, 8), (1000, 50)):
            limit = overflow_limit(dtype, n, d)
            expected = np.sqrt(np.finfo(dtype).max / (n * d)) / OVERFLOW_MARGIN
            assert limit == pytest.approx(expected)
            # The sum over all rows of squared distances between values just under the limit
            # stays finite.
            x = np.full((n, d), 0.99 * limit, dtype=dtype)
            with np.errstate(over="raise"):
                assert np.isfinite(np.sum((x - (-x)) ** 2, dtype=dtype))


@pytest.mark.parametrize("make", ESTIMATORS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
def test_fit_refuses_overflowing_value(make, dtype, sparse):
    X = _data(dtype)
    X[37, 2] = 1e308 if dtype == np.float64 else 1e38
    X[90, 2] = -X[37, 2]
    X[120, 1] = X[37, 2]
    data = sp.csr_matrix(X) if sparse else X
    with pytest.raises(BadDataError, match=r"column 1, first at row 37|column 2, first at row 37"):
        make().fit(data)
    with pytest.raises(BadDataError) as caught:
        make().fit(data)
    message = str(caught.value)
    assert "column 2, first at row 37" in message
    assert "2 value(s) in that column" in message
    assert f"{overflow_limit(dtype, 200, 4):.4g}" in message


def test_first_offending_entry_in_row_order():
    X = _data(np.float64)
    X[50, 3] = 1e200
    X[50, 0] = -1e200
    X[10, 2] = 1e160
    with pytest.raises(BadDataError, match=r"column 2, first at row 10"):
        KMeans(n_clusters=2, random_state=0).fit(X)
    with pytest.raises(BadDataError, match=r"column 2, first at row 10"):
        KMeans(n_clusters=2, random_state=0).fit(sp.csr_matrix(X))


def test_dataframe_column_named():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(_data(np.float64), columns=["a", "b", "c", "income"])
    X.loc[5, "income"] = 1e300
    with pytest.raises(BadDataError, match=r"column 'income' \(index 3\), first at row 5"):
        KMeans(n_clusters=2, random_state=0).fit(X)


@pytest.mark.parametrize("make", ESTIMATORS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
def test_predict_transform_score_refuse(make, dtype, sparse):
    X = _data(dtype)
    model = make().fit(sp.csr_matrix(X) if sparse else X)
    bad = X[:10].copy()
    bad[4, 0] = -np.sqrt(np.finfo(dtype).max)
    bad = sp.csr_matrix(bad) if sparse else bad
    for method in (model.predict, model.transform, model.score):
        with pytest.raises(BadDataError, match=r"column 0, first at row 4"):
            method(bad)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
def test_just_under_limit_fits_finite(dtype, sparse):
    d = 4
    limit = overflow_limit(dtype, 200, d)
    X = _data(dtype, d=d)
    X[:100] *= 0.01
    X[:100] += 0.5
    X[100:] = -X[:100]
    X *= limit * 0.9 / np.abs(X).max()
    assert np.abs(X).max() <= limit
    data = sp.csr_matrix(X) if sparse else X
    with np.errstate(over="raise", invalid="raise"):
        model = KMeans(n_clusters=2, random_state=0).fit(data)
    assert np.isfinite(model.inertia_)
    assert np.isfinite(model.cluster_centers_).all()
    assert np.isfinite(model.transform(data)).all()


def test_missing_values_do_not_hide_overflow():
    X = _data(np.float64)
    X[3, 1] = np.nan
    X[8, 0] = 1e300
    with pytest.raises(BadDataError, match=r"column 0, first at row 8"):
        KMeans(n_clusters=2, random_state=0, missing="masked").fit(X)
    X[8, 0] = 1.0
    KMeans(n_clusters=2, random_state=0, missing="masked").fit(X)
