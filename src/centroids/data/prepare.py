"""Turn a table into the numeric matrix K-Means clusters, and back.

:class:`Preparation` selects columns, tells numeric from categorical columns, handles
missing values, scales the numeric columns and one-hot encodes the categorical ones. Every
statistic it learns is kept in plain Python numbers, so :meth:`Preparation.to_dict` gives
a JSON-safe description from which :meth:`Preparation.from_dict` rebuilds a preparation
that transforms new rows identically (and from which SQL can be written, see
:mod:`centroids.store.scoring_sql`).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["MISSING_LEVEL", "SCALINGS", "Preparation"]

#: How the missing numeric values of a table are handled (``Preparation(missing=...)``,
#: ``Segmentation(missing=...)``, ``centroids segment --missing``). Under every policy
#: each row gets a segment; they differ in which rows and values the fit sees:
#:
#: - 'drop': the rows with a hole are left out of the fit; afterwards each is assigned to
#:   the nearest center over its observed columns (rescaled distance, see
#:   :mod:`centroids.engine.missing`).
#: - 'impute': a hole takes the training median of its column, at fit and predict time
#:   ('median' is its former name).
#: - 'kpod', 'masked': every row enters the fit with its holes, clustered by
#:   ``KMeans(missing='kpod' | 'masked')``; rows with holes are predicted the same way.
#:
#: A row none of whose numeric features is observed, with no categorical feature, has no
#: distance to any center and is the one row left without a segment (label -1).
MISSING_POLICIES = ("drop", "impute", "kpod", "masked")

#: The estimators' ``missing`` option that serves each policy.
_MODEL_MISSING = {
    "drop": "masked",
    "impute": "error",
    "median": "error",
    "kpod": "kpod",
    "masked": "masked",
}


def model_missing_option(policy):
    """The ``missing`` option of :class:`centroids.KMeans` that fits and predicts under a
    table's missing-value ``policy`` (one of :data:`MISSING_POLICIES`, or 'median')."""
    if policy not in _MODEL_MISSING:
        raise ValueError(
            f"missing must be one of {', '.join(map(repr, MISSING_POLICIES))}; got {policy!r}."
        )
    return _MODEL_MISSING[policy]


def complete_model_rows(Z):
    """The rows of a model matrix without a hole (what choosing K and diagnosing use)."""
    return Z[~np.isnan(Z).any(axis=1)] if np.isnan(Z).any() else Z


def rows_with_observed_values(Z):
    """Mask of the rows of a model matrix that have at least one observed value."""
    return ~np.isnan(Z).all(axis=1)


#: The name of the one-hot level that stands for a missing categorical value.
MISSING_LEVEL = "(missing)"

#: The numeric scalings :class:`Preparation` knows.
SCALINGS = ("standard", "robust", "minmax", "none")

_FORMAT = "centroids.Preparation"
_FORMAT_VERSION = 1


@dataclass
class NumericColumn:
    """What a numeric column became: ``z = (x - center) / scale``, missing → ``median``."""

    name: str
    center: float
    scale: float
    median: float
    n_missing: int
    mean: float
    std: float
    minimum: float
    maximum: float
    q25: float
    q75: float
    integer_valued: bool

    kind = "numeric"

    def to_dict(self):
        return {"kind": self.kind, **{k: getattr(self, k) for k in _NUMERIC_FIELDS}}


_NUMERIC_FIELDS = (
    "name",
    "center",
    "scale",
    "median",
    "n_missing",
    "mean",
    "std",
    "minimum",
    "maximum",
    "q25",
    "q75",
    "integer_valued",
)


@dataclass
class CategoricalColumn:
    """What a categorical column became: one one-hot column per known category.

    ``categories`` are JSON values (str, int, float or bool); ``missing_level`` adds a
    last column for missing values. ``shares`` are the training shares of every level
    (the missing level last).
    """

    name: str
    categories: list
    missing_level: bool
    weight: float
    n_missing: int
    shares: list = field(default_factory=list)

    kind = "categorical"

    @property
    def levels(self):
        """The category of every one-hot column (the missing level as ``MISSING_LEVEL``)."""
        return [*self.categories, *([MISSING_LEVEL] if self.missing_level else [])]

    def to_dict(self):
        return {
            "kind": self.kind,
            "name": self.name,
            "categories": list(self.categories),
            "missing_level": self.missing_level,
            "weight": self.weight,
            "n_missing": self.n_missing,
            "shares": list(self.shares),
        }


def _json_category(value):
    """A category value as a JSON-safe Python scalar (bool, int, float or str)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return value
    return str(value)


def _is_missing(values):
    return pd.isna(values)


def _is_categorical_dtype(dtype):
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _as_frame(data, where):
    """A DataFrame from a DataFrame or a 2-D array (columns named x0 .. x{d-1})."""
    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, pd.Series):
        frame = data.to_frame()
    else:
        if hasattr(data, "toarray") or type(data).__module__.startswith("scipy.sparse"):
            raise TypeError(
                f"{where} takes a DataFrame or a dense 2-D array, not a sparse matrix; "
                "cluster sparse data with centroids.KMeans directly."
            )
        try:
            array = np.asarray(data)
        except Exception as error:  # pragma: no cover - numpy's own message is clearer
            raise TypeError(f"{where} takes a DataFrame or a 2-D array; got {type(data)}.") from (
                error
            )
        if array.ndim != 2:
            raise ValueError(
                f"{where} takes a DataFrame or a 2-D array; got an array of shape "
                f"{array.shape}. Reshape a single feature with array.reshape(-1, 1)."
            )
        frame = pd.DataFrame(array, columns=[f"x{j}" for j in range(array.shape[1])])
    if frame.columns.has_duplicates:
        duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise ValueError(
            f"The data passed to {where} has duplicated column names {duplicated}; rename them."
        )
    return frame


def _numeric_values(column, name, where):
    """float64 values of a numeric column (NaN for missing), or a TypeError naming it."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or not (
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    ):
        raise TypeError(
            f"Column {name!r} passed to {where} holds {dtype} values, which are not numbers, "
            "but it is a numeric feature. Convert it to numbers (a date to days since a "
            "reference date, for example), or declare it categorical."
        )
    if pd.api.types.is_numeric_dtype(dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    converted = pd.to_numeric(column, errors="coerce")
    bad = converted.isna().to_numpy() & ~_is_missing(column).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise TypeError(
            f"Column {name!r} passed to {where} must be numeric, but it holds "
            f"{column.iloc[row]!r} at row {row} ({int(bad.sum())} non-numeric value(s)). "
            "Clean the column, or declare it categorical."
        )
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


# An inferred categorical column whose values are numbers in at least this share (and not
# all of them) is a numeric column with a few bad entries, not categories.
NUMBERS_AS_TEXT_SHARE = 0.9


def _reject_numbers_stored_as_text(column, name):
    """ValueError for a text column that is mostly numbers ('12', '13', 'n/a', ...): as
    categories it would become one level per distinct number."""
    if column.dtype != object and not pd.api.types.is_string_dtype(column.dtype):
        return
    present = column[~_is_missing(column)]
    if len(present) == 0 or present.map(lambda v: isinstance(v, bool)).any():
        return
    numbers = pd.to_numeric(present, errors="coerce")
    parsed = numbers.notna().to_numpy()
    if parsed.all() or parsed.mean() < NUMBERS_AS_TEXT_SHARE:
        return
    first = int(np.flatnonzero(~parsed)[0])
    row = int(np.flatnonzero(~_is_missing(column).to_numpy())[first])
    raise ValueError(
        f"Column {name!r} holds numbers ({parsed.mean():.0%} of its values) but also text "
        f"such as {present.iloc[first]!r} at row {row}: it would be clustered as categories, "
        "one per distinct number. Clean or blank those values (blanks are missing values), "
        "or name the column in categorical= if it really is categorical."
    )


def _reject_infinite(values, name, where):
    infinite = np.isinf(values)
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise ValueError(
            f"Column {name!r} passed to {where} holds an infinite value at row {row} "
            f"({int(infinite.sum())} in all). Replace infinities with a number or a missing "
            "value."
        )


def _factorized_keys(column):
    """Codes of every value (-1 where missing) and the JSON-safe key of every code."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return codes, [_json_category(value) for value in np.asarray(uniques, dtype=object)]


def _sort_key(value):
    return (type(value).__name__, value)


def check_description(description, what, format_name, format_version):
    """ValueError unless ``description`` is a ``to_dict`` output of the ``format_name``
    format at ``format_version`` (``what`` names the object in the message)."""
    if not isinstance(description, dict) or description.get("format") != format_name:
        raise ValueError(f"Not a {what} description: expected a dict with format={format_name!r}.")
    if description.get("format_version") != format_version:
        raise ValueError(
            f"{what} description version {description.get('format_version')!r} is "
            f"not supported (this centroids reads version {format_version})."
        )


class Preparation:
    """Column selection, type inference, missing values, scaling and one-hot encoding.

    Parameters
    ----------
    columns : list of str or None, default=None
        The columns to cluster on; None means every column but ``id_column``.
    id_column : str or None, default=None
        A column that identifies rows (kept out of the features).
    categorical : list of str or None, default=None
        Columns to one-hot encode. None infers them: object, category, bool and string
        columns are categorical, every other column numeric. A list replaces the
        inference: the features it does not name are numeric.
    numeric : list of str or None, default=None
        Columns that must be numeric even though their dtype says otherwise (a text column
        of numbers); a value that is not a number is a TypeError.
    scale : {'standard', 'robust', 'minmax', 'none'}, default='standard'
        How numeric columns are scaled: 'standard' subtracts the mean and divides by the
        standard deviation (ddof=0); 'robust' subtracts the median and divides by the
        interquartile range; 'minmax' maps the training minimum to 0 and the maximum to 1;
        'none' leaves the values as they are. A constant column (zero spread) is only
        centred: its scale is 1, so it never divides by zero.
    missing : {'drop', 'impute', 'kpod', 'masked', 'median'}, default='drop'
        Missing numeric values (see :data:`MISSING_POLICIES`): 'drop' leaves the rows
        that have one out of the fit (:meth:`fit_transform` returns the others and
        ``row_mask_`` says which were kept) and :meth:`transform` keeps NaN in their
        model columns; 'impute' (or its former name 'median') replaces them with the
        training median of their column (at fit and transform time; the scaling
        statistics are then computed on the imputed column); 'kpod' and 'masked' keep
        every row, with NaN in the model columns of its holes, for an estimator that
        clusters rows with holes (the scaling statistics are those of the observed
        values). Missing categorical values
        are never dropped: they form their own level ``'(missing)'`` when the training
        data has any; otherwise a missing value at transform time gives an all-zero block,
        like an unseen category.
    categorical_weight : float or dict, default=1.0
        The value of a set one-hot cell, for every categorical column or per column
        (``{column: weight}``, others 1.0). Two rows in different categories of a column
        are ``weight * sqrt(2)`` apart in model space.

    Attributes
    ----------
    feature_names_ : list of str
        The input columns used, in order.
    feature_types_ : dict
        ``{column: 'numeric' | 'categorical'}``.
    model_feature_names_ : list of str
        The columns of the model matrix: a numeric column keeps its name, a categorical
        column gives ``'column=category'`` for each known category (and
        ``'column=(missing)'``).
    n_rows_ : int
        Rows seen in fit.
    n_dropped_ : int
        Rows left out of the fit for a missing numeric value (0 unless ``missing='drop'``).
    n_rows_with_holes_ : int
        Training rows with at least one missing numeric value, whatever the policy.
    missing_counts_ : dict
        Missing values per feature column in the training data.
    row_mask_ : ndarray of bool
        The training rows kept (not serialised).

    Notes
    -----
    At transform time a category not seen in fit gives an all-zero one-hot block for its
    column (it is equally far from every known category); columns other than the features
    are ignored. Category values are compared as JSON scalars: a categorical column
    trained on strings compares ``str(value)`` of new values.

    Examples
    --------
    >>> import pandas as pd
    >>> from centroids.data.prepare import Preparation
    >>> df = pd.DataFrame({"age": [20, 30, 40], "city": ["a", "b", "a"]})
    >>> prep = Preparation(scale="minmax")
    >>> prep.fit_transform(df)
    array([[0. , 1. , 0. ],
           [0.5, 0. , 1. ],
           [1. , 1. , 0. ]])
    >>> prep.model_feature_names_
    ['age', 'city=a', 'city=b']
    """

    def __init__(
        self,
        *,
        columns=None,
        id_column=None,
        categorical=None,
        numeric=None,
        scale="standard",
        missing="drop",
        categorical_weight=1.0,
    ):
        self.columns = columns
        self.id_column = id_column
        self.categorical = categorical
        self.numeric = numeric
        self.scale = scale
        self.missing = missing
        self.categorical_weight = categorical_weight

    # -- parameters ---------------------------------------------------------------------

    def _check_parameters(self):
        if self.scale not in SCALINGS:
            raise ValueError(
                f"scale must be one of {', '.join(map(repr, SCALINGS))}; got {self.scale!r}."
            )
        model_missing_option(self.missing)
        for name in ("columns", "categorical", "numeric"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, str) or not all(isinstance(c, str) for c in value)
            ):
                raise TypeError(
                    f"{name} must be a list of column names (str) or None; got {value!r}."
                )
        if self.id_column is not None and not isinstance(self.id_column, str):
            raise TypeError(
                f"id_column must be a column name (str) or None; got {self.id_column!r}."
            )
        both = sorted(set(self.categorical or ()) & set(self.numeric or ()))
        if both:
            raise ValueError(f"Column(s) {both} are listed as both categorical and numeric.")
        weights = self.categorical_weight
        values = weights.values() if isinstance(weights, dict) else [weights]
        for value in values:
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(
                    f"categorical_weight must be a positive number or a dict of them; got "
                    f"{weights!r}."
                )

    def _weight_of(self, name):
        if isinstance(self.categorical_weight, dict):
            return float(self.categorical_weight.get(name, 1.0))
        return float(self.categorical_weight)

    # -- fitting ------------------------------------------------------------------------

    def fit(self, data):
        """Learn the preparation from a DataFrame or a 2-D array; returns self."""
        self.fit_transform(data)
        return self

    def fit_transform(self, data):
        """Learn the preparation and return the model matrix of the rows kept.

        Parameters
        ----------
        data : DataFrame or array-like of shape (n_rows, n_columns)
            The training table; an array's columns are named ``x0 .. x{d-1}``.

        Returns
        -------
        Z : ndarray of shape (n_kept, n_model_features), float64
            The rows kept (``row_mask_``), prepared.
        """
        self._check_parameters()
        frame = _as_frame(data, "Preparation.fit")
        available = [str(c) for c in frame.columns]
        frame = frame.set_axis(available, axis=1)
        features = self._fit_feature_names(frame, available)
        kinds = self._fit_feature_types(frame, features)
        numeric_values, row_mask, holes, missing_counts = self._fit_missing(frame, features, kinds)
        n_kept = int(row_mask.sum())
        specs = []
        for name in features:
            if kinds[name] == "numeric":
                specs.append(self._fit_numeric(name, numeric_values[name], row_mask))
            else:
                specs.append(self._fit_categorical(name, frame[name], row_mask))
        self.feature_names_ = features
        self.feature_types_ = dict(kinds)
        self._specs = specs
        self.model_feature_names_ = self._model_feature_names()
        self.n_rows_ = len(frame)
        self.n_dropped_ = len(frame) - n_kept
        self.n_rows_with_holes_ = int(holes.sum())
        self.missing_counts_ = missing_counts
        self.row_mask_ = row_mask
        return self._transform_frame(frame.loc[row_mask], "Preparation.fit")

    def _fit_feature_names(self, frame, available):
        """The feature columns, the column options checked against the table."""
        for option in ("id_column", "columns", "categorical", "numeric"):
            value = getattr(self, option)
            names = [] if value is None else [value] if isinstance(value, str) else value
            absent = [c for c in names if c not in frame.columns]
            if absent:
                raise ValueError(
                    f"{option} names column(s) {absent} that the data does not have; "
                    f"available columns: {available}."
                )
        if self.columns is not None:
            features = list(self.columns)
        else:
            features = [c for c in available if c != self.id_column]
        for option in ("categorical", "numeric"):
            outside = [c for c in getattr(self, option) or () if c not in features]
            if outside:
                raise ValueError(
                    f"{option} names column(s) {outside} that are not among the features "
                    f"{features}; add them to columns."
                )
        if not features:
            raise ValueError(
                "No feature columns to cluster on: the data has only the id column. Pass "
                "a table with at least one feature column."
            )
        if len(set(features)) != len(features):
            raise ValueError(f"columns lists a column more than once: {features}.")
        if len(frame) == 0:
            raise ValueError(
                "The data passed to Preparation.fit is empty (0 rows). Check the filter, "
                "query or file that produced it."
            )
        return features

    def _fit_feature_types(self, frame, features):
        """'numeric' or 'categorical' for every feature: as forced, else by its dtype."""
        forced_categorical = set(self.categorical or ())
        forced_numeric = set(self.numeric or ())
        kinds = {}
        for name in features:
            if name in forced_categorical:
                kinds[name] = "categorical"
            elif name in forced_numeric or self.categorical is not None:
                kinds[name] = "numeric"
            else:
                kinds[name] = (
                    "categorical" if _is_categorical_dtype(frame[name].dtype) else "numeric"
                )
                if kinds[name] == "categorical":
                    _reject_numbers_stored_as_text(frame[name], name)
        return kinds

    def _fit_missing(self, frame, features, kinds):
        """The numeric columns' float values, the rows the missing-value policy keeps, the
        rows with a hole, and each feature's count of missing values."""
        numeric_values = {}
        row_mask = np.ones(len(frame), dtype=bool)
        holes = np.zeros(len(frame), dtype=bool)
        missing_counts = {}
        for name in features:
            column = frame[name]
            if kinds[name] == "numeric":
                values = _numeric_values(column, name, "Preparation.fit")
                _reject_infinite(values, name, "Preparation.fit")
                missing = np.isnan(values)
                if missing.all():
                    raise ValueError(
                        f"Column {name!r} has no value at all (all {len(values)} are "
                        "missing); drop it from columns."
                    )
                numeric_values[name] = values
                holes |= missing
                if self.missing == "drop":
                    row_mask &= ~missing
            else:
                missing = _is_missing(column).to_numpy()
                if missing.all():
                    raise ValueError(
                        f"Column {name!r} has no value at all (all {len(column)} are "
                        "missing); drop it from columns."
                    )
            missing_counts[name] = int(missing.sum())
        if not row_mask.any():
            raise ValueError(
                f"Every one of the {len(frame)} rows has a missing numeric value, so "
                "missing='drop' leaves nothing to cluster; use missing='median' or fill "
                "the gaps first."
            )
        return numeric_values, row_mask, holes, missing_counts

    def _fit_numeric(self, name, values, row_mask):
        observed = values[~np.isnan(values)]
        median = float(np.median(observed))
        kept = values[row_mask]
        if self.missing in ("median", "impute"):
            kept = np.where(np.isnan(kept), median, kept)
        kept = kept[~np.isnan(kept)]
        # statistics of the sorted values: they, hence the prepared rows, do not depend
        # on the row order (the segmentation's fingerprint relies on it)
        kept = np.sort(kept)
        q25, q75 = (float(q) for q in np.percentile(kept, [25, 75]))
        mean = float(kept.sum() / len(kept))
        std = float(np.sqrt(np.sum((kept - mean) ** 2) / len(kept)))
        minimum, maximum = float(kept[0]), float(kept[-1])
        center, spread = center_and_spread(
            self.scale, mean, std, lambda: float(np.median(kept)), q25, q75, minimum, maximum
        )
        return NumericColumn(
            name=name,
            center=center,
            scale=float(spread),
            median=median,
            n_missing=int(np.isnan(values).sum()),
            mean=mean,
            std=std,
            minimum=minimum,
            maximum=maximum,
            q25=q25,
            q75=q75,
            integer_valued=bool(np.all(np.floor(kept) == kept)),
        )

    def _fit_categorical(self, name, column, row_mask):
        codes, keys = _factorized_keys(column)
        if len({type(k) for k in keys}) > 1 and any(isinstance(k, str) for k in keys):
            # mixed text and numbers: compare everything as text
            keys = [str(k) for k in keys]
        categories = sorted(set(keys), key=_sort_key)
        position = {c: j for j, c in enumerate(categories)}
        code_position = np.array([position[k] for k in keys], dtype=np.int64)
        n_missing = int(np.count_nonzero(codes < 0))
        missing_level = n_missing > 0
        kept = codes[row_mask]
        counts = np.bincount(code_position[kept[kept >= 0]], minlength=len(categories))
        total = len(kept)
        shares = (counts / total).tolist()
        if missing_level:
            shares.append(int(np.count_nonzero(kept < 0)) / total)
        return CategoricalColumn(
            name=name,
            categories=categories,
            missing_level=missing_level,
            weight=self._weight_of(name),
            n_missing=n_missing,
            shares=shares,
        )

    def _model_feature_names(self):
        names = []
        for spec in self._specs:
            if spec.kind == "numeric":
                names.append(spec.name)
            else:
                names.extend(f"{spec.name}={level}" for level in spec.levels)
        return names

    # -- using a fitted preparation -------------------------------------------------------

    def _check_fitted(self):
        if not hasattr(self, "_specs"):
            raise ValueError(
                "This Preparation is not fitted yet; call fit or fit_transform first, or "
                "build it with Preparation.from_dict."
            )

    @property
    def specs(self):
        """The learned description of every feature column (NumericColumn/CategoricalColumn)."""
        self._check_fitted()
        return list(self._specs)

    def transform(self, data):
        """The model matrix of new rows.

        Parameters
        ----------
        data : DataFrame or array-like
            A DataFrame with (at least) the feature columns, or an array whose columns
            are the features in order.

        Returns
        -------
        Z : ndarray of shape (n_rows, n_model_features), float64
            With ``missing='drop'`` a missing numeric value stays NaN (in its column);
            with ``missing='median'`` it is replaced by the training median.
        """
        self._check_fitted()
        frame = self._frame_for_transform(data, "Preparation.transform")
        return self._transform_frame(frame, "Preparation.transform")

    def _frame_for_transform(self, data, where):
        if isinstance(data, (pd.DataFrame, pd.Series)):
            frame = _as_frame(data, where)
            frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
            absent = [c for c in self.feature_names_ if c not in frame.columns]
            if absent:
                raise ValueError(
                    f"The data passed to {where} lacks column(s) {absent} that the "
                    f"segmentation was fitted on; available columns: {list(frame.columns)}."
                )
            return frame
        frame = _as_frame(data, where)
        if frame.shape[1] != len(self.feature_names_):
            raise ValueError(
                f"The array passed to {where} has {frame.shape[1]} column(s), but the "
                f"preparation has {len(self.feature_names_)} feature(s) "
                f"{self.feature_names_}; pass a DataFrame with those columns."
            )
        return frame.set_axis(self.feature_names_, axis=1)

    def _transform_frame(self, frame, where):
        Z = np.empty((len(frame), len(self.model_feature_names_)), dtype=np.float64)
        position = 0
        for spec in self._specs:
            column = frame[spec.name]
            if spec.kind == "numeric":
                values = _numeric_values(column, spec.name, where)
                _reject_infinite(values, spec.name, where)
                if self.missing in ("median", "impute"):
                    values = np.where(np.isnan(values), spec.median, values)
                np.divide(values - spec.center, spec.scale, out=Z[:, position])
                position += 1
            else:
                width = len(spec.levels)
                self._one_hot(spec, column, Z[:, position : position + width])
                position += width
        return Z

    def _one_hot(self, spec, column, block):
        """Fill ``block`` (a view of the model matrix) with the column's one-hot cells."""
        codes, keys = _factorized_keys(column)
        if all(isinstance(c, str) for c in spec.categories):
            keys = [str(k) for k in keys]
        index = {c: j for j, c in enumerate(spec.categories)}
        code_position = np.array([index.get(k, -1) for k in keys] + [-1], dtype=np.int64)
        missing_position = len(spec.categories) if spec.missing_level else -1
        positions = np.where(codes >= 0, code_position[codes], missing_position)
        block[:] = 0.0
        rows = np.flatnonzero(positions >= 0)
        block[rows, positions[rows]] = spec.weight

    def inverse_transform(self, Z, *, shares=False):
        """Rows of the model space back in the units of the input columns.

        Parameters
        ----------
        Z : array-like of shape (n_rows, n_model_features)
            Model-space rows, typically cluster centers.
        shares : bool, default=False
            Also return, for every one-hot level, its share (the cell divided by the
            column's weight: for a cluster center, the fraction of the cluster's rows in
            that category), as columns named like ``model_feature_names_``.

        Returns
        -------
        DataFrame
            Numeric columns unscaled; a categorical column holds the most likely category
            (the largest one-hot cell, the first level on ties; None when the block is all
            zero).
        """
        self._check_fitted()
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != len(self.model_feature_names_):
            raise ValueError(
                f"inverse_transform needs rows of {len(self.model_feature_names_)} model "
                f"features {self.model_feature_names_}; got an array of shape {Z.shape}."
            )
        columns = {}
        extra = {}
        position = 0
        for spec in self._specs:
            if spec.kind == "numeric":
                columns[spec.name] = Z[:, position] * spec.scale + spec.center
                position += 1
                continue
            width = len(spec.levels)
            block = Z[:, position : position + width] / spec.weight
            position += width
            levels = spec.levels
            best = np.argmax(block, axis=1)
            dominant = [levels[b] if block[i, b] > 0 else None for i, b in enumerate(best.tolist())]
            columns[spec.name] = pd.Series(dominant, dtype=object)
            if shares:
                for j, level in enumerate(spec.levels):
                    extra[f"{spec.name}={level}"] = block[:, j]
        frame = pd.DataFrame({k: pd.Series(v) for k, v in columns.items()})
        if shares:
            frame = pd.concat([frame, pd.DataFrame(extra)], axis=1)
        return frame

    def transform_centers(self, centers_original):
        """Centers in original units (``inverse_transform(..., shares=True)``) to model space.

        Like :meth:`transform`, except that a categorical block is filled from the share
        columns ``'column=category'`` when the frame has any for that column (a level
        without its column gets 0), so a center keeps its category mix instead of
        becoming its dominant category. Without share columns the block is the one-hot
        of the category column. Used to warm-start a retrain from a previous
        segmentation's ``centers_original_``.

        Examples
        --------
        >>> import pandas as pd
        >>> from centroids.data.prepare import Preparation
        >>> prep = Preparation(scale="none").fit(pd.DataFrame({"c": ["a", "b", "b"]}))
        >>> prep.transform_centers(pd.DataFrame({"c": ["b"], "c=a": [0.25], "c=b": [0.75]}))
        array([[0.25, 0.75]])
        """
        self._check_fitted()
        if not isinstance(centers_original, pd.DataFrame):
            raise TypeError(
                "transform_centers takes a DataFrame of centers in original units; got "
                f"{type(centers_original).__name__}."
            )
        frame = centers_original.reset_index(drop=True)
        Z = self.transform(frame)
        position = 0
        for spec in self._specs:
            if spec.kind == "numeric":
                position += 1
                continue
            share_columns = [f"{spec.name}={level}" for level in spec.levels]
            if any(c in frame.columns for c in share_columns):
                for j, column in enumerate(share_columns):
                    shares = (
                        frame[column].to_numpy(dtype=np.float64)
                        if column in frame.columns
                        else np.zeros(len(frame))
                    )
                    Z[:, position + j] = np.nan_to_num(shares) * spec.weight
            position += len(spec.levels)
        return Z

    def complete_rows(self, data):
        """Boolean mask of the rows with every numeric feature present."""
        self._check_fitted()
        frame = self._frame_for_transform(data, "Preparation.complete_rows")
        mask = np.ones(len(frame), dtype=bool)
        for spec in self._specs:
            if spec.kind == "numeric":
                mask &= ~_is_missing(frame[spec.name]).to_numpy()
        return mask

    # -- serialisation ------------------------------------------------------------------

    def get_params(self):
        """The constructor parameters, as a dict."""
        weight = self.categorical_weight
        return {
            "columns": None if self.columns is None else list(self.columns),
            "id_column": self.id_column,
            "categorical": None if self.categorical is None else list(self.categorical),
            "numeric": None if self.numeric is None else list(self.numeric),
            "scale": self.scale,
            "missing": self.missing,
            "categorical_weight": dict(weight) if isinstance(weight, dict) else float(weight),
        }

    def to_dict(self):
        """A JSON-safe dict from which :meth:`from_dict` rebuilds this preparation.

        Examples
        --------
        >>> import json
        >>> import pandas as pd
        >>> from centroids.data.prepare import Preparation
        >>> prep = Preparation().fit(pd.DataFrame({"x": [1.0, 2.0, 4.0]}))
        >>> copy = Preparation.from_dict(json.loads(json.dumps(prep.to_dict())))
        >>> bool((copy.transform(pd.DataFrame({"x": [3.0]})) == prep.transform(
        ...     pd.DataFrame({"x": [3.0]}))).all())
        True
        """
        self._check_fitted()
        return {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "params": self.get_params(),
            "columns": [spec.to_dict() for spec in self._specs],
            "n_rows": self.n_rows_,
            "n_dropped": self.n_dropped_,
            "n_rows_with_holes": self.n_rows_with_holes_,
            "missing_counts": dict(self.missing_counts_),
        }

    @classmethod
    def from_dict(cls, description):
        """Rebuild a fitted preparation from :meth:`to_dict`'s output."""
        check_description(description, "Preparation", _FORMAT, _FORMAT_VERSION)
        preparation = cls(**description["params"])
        preparation._check_parameters()
        specs = []
        for column in description["columns"]:
            if column["kind"] == "numeric":
                specs.append(NumericColumn(**{k: column[k] for k in _NUMERIC_FIELDS}))
            elif column["kind"] == "categorical":
                specs.append(
                    CategoricalColumn(
                        name=column["name"],
                        categories=list(column["categories"]),
                        missing_level=bool(column["missing_level"]),
                        weight=float(column["weight"]),
                        n_missing=int(column["n_missing"]),
                        shares=[float(s) for s in column["shares"]],
                    )
                )
            else:
                raise ValueError(f"Unknown column kind {column['kind']!r} in the description.")
        preparation._specs = specs
        preparation.feature_names_ = [spec.name for spec in specs]
        preparation.feature_types_ = {spec.name: spec.kind for spec in specs}
        preparation.model_feature_names_ = preparation._model_feature_names()
        preparation.n_rows_ = int(description["n_rows"])
        preparation.n_dropped_ = int(description["n_dropped"])
        preparation.missing_counts_ = dict(description["missing_counts"])
        preparation.n_rows_with_holes_ = int(description.get("n_rows_with_holes", 0))
        return preparation

    def __repr__(self):
        params = self.get_params()
        defaults = Preparation().get_params()
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if v != defaults[k])
        return f"Preparation({shown})"


def center_and_spread(scale, mean, std, median, q25, q75, minimum, maximum):
    """(center, spread) of a numeric column under ``scale``; ``median`` is called only
    for the robust scale. A spread that is zero, or rounding noise next to the values,
    means a constant column: it is centred only (scikit-learn's scalers use the same
    guard)."""
    if scale == "standard":
        center, spread = mean, std
    elif scale == "robust":
        center, spread = median(), q75 - q25
    elif scale == "minmax":
        center, spread = minimum, maximum - minimum
    else:
        center, spread = 0.0, 1.0
    eps = 10 * np.finfo(np.float64).eps
    if not spread > eps * max(abs(center), abs(maximum), abs(minimum), 1.0):
        spread = 1.0
    return center, spread
