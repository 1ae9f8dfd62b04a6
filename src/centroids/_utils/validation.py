"""Input checks shared by the estimators.

Every error a user can cause says what was wrong, where (column, row, index) and
what to do instead. Checks run before an estimator changes any of its state.
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, validate_data

from .._kernels.dense import first_nonfinite
from ..errors import BadDataError

FLOAT_DTYPES = (np.float64, np.float32)


def _column_label(column, feature_names):
    if feature_names is not None:
        return f"column {feature_names[column]!r} (index {column})"
    return f"column {column}"


def reject_non_numeric_columns(X, estimator_name):
    """TypeError naming the DataFrame columns that hold something other than numbers."""
    import pandas as pd

    if not isinstance(X, pd.DataFrame):
        return
    bad = []
    for name in X.columns:
        column = X[name]
        if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
            continue
        if column.dtype == object:
            converted = pd.to_numeric(column, errors="coerce")
            if not (converted.isna() & column.notna()).any():
                continue  # object column that holds numbers only
        bad.append(f"{name!r} ({column.dtype})")
    if bad:
        raise TypeError(
            f"{estimator_name} needs numeric columns, but X has non-numeric column(s) "
            f"{', '.join(bad)}. One-hot encode categorical columns (pandas.get_dummies or "
            "sklearn.preprocessing.OneHotEncoder), turn dates into numbers, drop identifier "
            "columns, or use centroids.KPrototypes for mixed numeric and categorical data."
        )


def _describe_non_numeric_value(X, estimator_name, error):
    """TypeError naming the first cell of an object/string array that is not a number."""
    array = np.asarray(X, dtype=object)
    if array.ndim == 2:
        for row, values in enumerate(array):
            for column, value in enumerate(values):
                try:
                    float(value)
                except (TypeError, ValueError):
                    return TypeError(
                        f"{estimator_name} needs numbers, but X holds {value!r} in column "
                        f"{column} at row {row} ({error}). Encode categorical values as "
                        "numbers (e.g. sklearn.preprocessing.OneHotEncoder) or use "
                        "centroids.KPrototypes for mixed data."
                    )
    return None


def _reject_empty(X):
    n_rows, n_features = X.shape
    if n_rows == 0:
        raise ValueError(
            f"X is empty: it has 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
            "required. Check the filter, query or file that produced X."
        )
    if n_features == 0:
        raise ValueError(
            f"X has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required. "
            "Select at least one numeric column."
        )


def check_finite(X, feature_names, where):
    """ValueError naming the column and first row of a NaN or infinite value in X."""
    if sp.issparse(X):
        bad = np.flatnonzero(~np.isfinite(X.data))
        if bad.size == 0:
            return
        position = bad[0]
        row = int(np.searchsorted(X.indptr, position, side="right") - 1)
        column = int(X.indices[position])
        value = X.data[position]
        column_values = X.tocsc()[:, column].data
    else:
        row, column = first_nonfinite(X)
        if row < 0:
            return
        value = X[row, column]
        column_values = X[:, column]
    kind = "NaN" if np.isnan(value) else "infinity (inf)"
    n_bad = int(np.count_nonzero(~np.isfinite(column_values)))
    raise ValueError(
        f"X passed to {where} contains {kind} in {_column_label(column, feature_names)}, first "
        f"at row {row}; {n_bad} value(s) in that column are NaN or infinite. K-Means needs "
        "finite numbers: drop those rows or impute them (e.g. sklearn.impute.SimpleImputer)."
    )


#: The largest |x| accepted is ``sqrt(finfo.max / (n_samples * n_features)) /
#: OVERFLOW_MARGIN``. Two values at the limit differ by at most twice it, so with a
#: margin of 2 a squared distance, and the sum of those over all rows (the k-means++
#: potential, the inertia), stays within the working dtype. A bound on one row alone
#: (``n_features`` only) is not enough: the seeding's sum over the rows then overflows.
OVERFLOW_MARGIN = 2.0


def overflow_limit(dtype, n_samples, n_features):
    """The largest magnitude a value of X may have in ``dtype`` for X of that shape."""
    cells = max(int(n_samples), 1) * max(int(n_features), 1)
    return float(np.sqrt(np.finfo(dtype).max / cells) / OVERFLOW_MARGIN)


def check_overflow(X, feature_names, where):
    """BadDataError naming the column and first row of a value whose square could overflow.

    One reduction pass for the largest and one for the smallest value (over ``X.data``
    for CSR), no copy; the slow search for the position runs only when a value is too
    large. NaN (missing entries) is ignored here.
    """
    values = X.data if sp.issparse(X) else X
    if values.size == 0:
        return
    limit = overflow_limit(X.dtype, *X.shape)
    high = np.fmax.reduce(values, axis=None)
    low = np.fmin.reduce(values, axis=None)
    if not (high > limit or low < -limit):
        return
    with np.errstate(invalid="ignore"):
        if sp.issparse(X):
            position = int(np.flatnonzero(np.abs(X.data) > limit)[0])
            row = int(np.searchsorted(X.indptr, position, side="right") - 1)
            column = int(X.indices[position])
            value = X.data[position]
            n_bad = int(np.count_nonzero(np.abs(X.tocsc()[:, column].data) > limit))
        else:
            # Row-major order: the first row holding a value too large, then its column.
            too_large = np.abs(X) > limit
            row = int(np.flatnonzero(too_large.any(axis=1))[0])
            column = int(np.flatnonzero(too_large[row])[0])
            value = X[row, column]
            n_bad = int(np.count_nonzero(too_large[:, column]))
    raise BadDataError(
        f"X passed to {where} holds {float(value):g} in {_column_label(column, feature_names)}, "
        f"first at row {row}; {n_bad} value(s) in that column exceed {limit:.4g} in "
        f"magnitude, the limit for {X.dtype} data of {X.shape[0]} row(s) and "
        f"{X.shape[1]} feature(s) (sqrt(finfo.max / (rows * features)) / "
        f"{OVERFLOW_MARGIN:g}), past which the sum of squared distances overflows. "
        "Rescale the column (e.g. sklearn.preprocessing.StandardScaler)"
        + (" or pass float64 data." if X.dtype == np.float32 else ".")
    )


def check_features(estimator, X, *, reset, where, name=None, allow_nan=False):
    """Validate X into a C-ordered float32/float64 array or a canonical CSR matrix.

    Integers and other numbers become float64; float32 stays float32 and no copy is
    made of an array that is already C-ordered floating point. With an estimator,
    sets (``reset=True``) or checks (``reset=False``) ``n_features_in_`` and
    ``feature_names_in_``; with ``estimator=None`` (functions), ``name`` says who asks.
    ``allow_nan`` lets NaN through as missing entries of dense X (infinity is still an
    error; see :mod:`centroids.engine.missing`). A value whose square could overflow
    the sums of squared distances raises BadDataError (:func:`check_overflow`).
    """
    name = name or type(estimator).__name__
    reject_non_numeric_columns(X, name)
    options = {
        "accept_sparse": "csr",
        "dtype": list(FLOAT_DTYPES),
        "order": "C",
        "ensure_all_finite": False,
        "ensure_min_samples": 0,
        "ensure_min_features": 0,
        "accept_large_sparse": True,
    }
    try:
        if estimator is None:
            X = check_array(X, **options)
        else:
            X = validate_data(estimator, X, reset=reset, **options)
    except (TypeError, ValueError) as error:
        kind = getattr(getattr(X, "dtype", None), "kind", "O")
        if kind in "OUS" and not sp.issparse(X):
            described = _describe_non_numeric_value(X, name, error)
            if described is not None:
                raise described from error
        raise
    _reject_empty(X)
    if sp.issparse(X) and not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    names = getattr(estimator, "feature_names_in_", None)
    if allow_nan and not sp.issparse(X):
        if np.isinf(X).any():
            check_finite(np.where(np.isnan(X), 0, X), names, where)
    else:
        check_finite(X, names, where)
    check_overflow(X, names, where)
    return X


def check_sample_weight(sample_weight, n_samples, dtype):
    """One non-negative, finite weight per row, as an array of ``dtype``."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight)
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"sample_weight must hold numbers: {error}") from error
    if weights.ndim != 1:
        raise ValueError(
            f"sample_weight must be 1-D, one weight per row of X; got shape {weights.shape}."
        )
    if weights.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has {weights.shape[0]} values but X has {n_samples} rows: "
            "give exactly one weight per row."
        )
    bad = np.flatnonzero(~np.isfinite(weights))
    if bad.size:
        raise ValueError(
            f"sample_weight contains {weights[bad[0]]} at index {bad[0]} "
            f"({bad.size} non-finite value(s)); weights must be finite numbers >= 0."
        )
    negative = np.flatnonzero(weights < 0)
    if negative.size:
        raise ValueError(
            f"sample_weight contains negative values, first at index {negative[0]} "
            f"({weights[negative[0]]}; {negative.size} in all); weights must be >= 0."
        )
    if not weights.any():
        raise ValueError(
            "sample_weight is zero for every row: at least one row needs a positive weight."
        )
    return weights.astype(dtype, copy=False)


def check_initial_centers(centers, n_clusters, n_features, dtype, source="init"):
    """The (n_clusters, n_features) C-ordered array of ``dtype`` a run can start from."""
    try:
        centers = np.array(centers, dtype=dtype, order="C", copy=True)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{source} must be an array of numbers: {error}") from error
    if centers.ndim != 2:
        raise ValueError(
            f"{source} must be 2-D, of shape (n_clusters, n_features) = "
            f"({n_clusters}, {n_features}); got shape {centers.shape}."
        )
    if centers.shape[0] != n_clusters:
        raise ValueError(
            f"The shape of the initial centers {centers.shape} does not match the number of "
            f"clusters {n_clusters}: {source} has {centers.shape[0]} rows. Pass n_clusters="
            f"{centers.shape[0]} or an array of {n_clusters} centers."
        )
    if centers.shape[1] != n_features:
        raise ValueError(
            f"The shape of the initial centers {centers.shape} does not match the number of "
            f"features of the data {n_features}: {source} needs one column per feature of X."
        )
    row, column = first_nonfinite(centers)
    if row >= 0:
        raise ValueError(
            f"{source} contains {centers[row, column]} at center {row}, column {column}; "
            "initial centers must be finite."
        )
    return centers


@contextlib.contextmanager
def unchanged_on_error(estimator):
    """Run a fit: when it raises, put every attribute of ``estimator`` back as it was,
    so a failed fit (bad input found halfway) never leaves a half-fitted model."""
    state = estimator.__dict__.copy()
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(state)
        raise
