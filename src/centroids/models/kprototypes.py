"""K-Prototypes (Huang, 1998): clustering of mixed numeric and categorical data."""

from __future__ import annotations

import contextlib
import math
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._kernels.dense import n_chunks
from .._kernels.kprototypes import (
    assign_mixed,
    costs_to_row,
    mixed_cost_matrix,
    removal_costs,
    seeding_potentials,
    update_prototypes,
)
from .._utils.validation import check_sample_weight, unchanged_on_error
from ..engine.seeding import draw_row_by_weight

#: Swap refinement (``refine=True``): a run stops refining after this many swap steps in a
#: row that did not lower its cost by at least ``REFINE_MIN_GAIN`` (relative).
REFINE_MAX_FAILURES = 2
REFINE_MIN_GAIN = 1e-9


def _is_categorical_dtype(dtype):
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _is_categorical_object_column(values):
    """Whether a 1-D object array holds something other than numbers, or only booleans."""
    present = values[~pd.isna(values)]
    if present.size and all(isinstance(value, (bool, np.bool_)) for value in present):
        return True
    try:
        np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return True
    return False


class _MixedData:
    """Numeric columns as float64 and categorical columns as int32 codes, one row per sample.

    ``numeric`` : (n, p) float64, C-ordered; ``codes`` : (n, m) int32, C-ordered.
    """

    def __init__(self, numeric, codes):
        self.numeric = numeric
        self.codes = codes
        self.n_rows = numeric.shape[0]


class _CategoryEncoder:
    """Maps the values of one categorical column to int codes 0 .. n_categories - 1.

    Categories are sorted when their values can be compared (else kept in order of first
    appearance); missing values (None, NaN, pd.NA, NaT) form one category of their own,
    stored as NaN. Values not seen in fit get the code -1.
    """

    def __init__(self, values):
        missing = pd.isna(values)
        present = values[~missing]
        try:
            codes, uniques = pd.factorize(present, sort=True)
        except TypeError:  # values of types that do not compare (e.g. 1 and 'a')
            codes, uniques = pd.factorize(present, sort=False)
        self.categories = np.empty(len(uniques) + bool(missing.any()), dtype=object)
        self.categories[: len(uniques)] = list(uniques)
        self.missing_code = len(uniques) if missing.any() else -1
        if missing.any():
            self.categories[-1] = np.nan
        self._index = pd.Index(uniques, dtype=object)
        self.fit_codes = np.full(values.shape[0], self.missing_code, dtype=np.int32)
        self.fit_codes[~missing] = codes

    def encode(self, values):
        missing = pd.isna(values)
        codes = np.full(values.shape[0], self.missing_code, dtype=np.int32)
        codes[~missing] = self._index.get_indexer(pd.Index(values[~missing], dtype=object))
        return codes


class KPrototypes(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """K-Prototypes clustering of mixed numeric and categorical data (Huang, 1998).

    The cost of a row against a cluster's prototype is the squared Euclidean distance
    between their numeric columns plus ``gamma`` times the number of categorical columns
    in which they differ. A prototype is made of the (weighted) means of its rows'
    numeric columns and the modes of their categorical columns. Each run seeds the
    prototypes with a k-means++-style draw adapted to this cost, then alternates
    Lloyd-style batch steps (every row to its cheapest prototype, then every prototype
    to its rows' means and modes) until no label changes; the run with the lowest
    cost of ``n_init`` wins. (Huang's original algorithm moves one row at a time and
    updates two prototypes after each move; the batch steps reach the same kind of
    local optimum, and are what makes the compiled kernels fast.)

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters, at least 1 and at most the number of rows.
    categorical : None, int, str or list of them, or boolean mask, default=None
        Which columns are categorical. None: for a DataFrame, the columns whose dtype is
        object, category, bool or string; for an array, every column of a bool, string
        or bytes array, and the columns of an object array that hold anything other than
        numbers, or only booleans (a numeric array then has none and needs this
        parameter). Otherwise column names (DataFrame only), column indices (negative ones
        count from the end) or a boolean mask over the columns. Every other column must
        hold numbers.
    gamma : float or None, default=None
        Weight of one categorical mismatch against squared numeric distances. None: half
        the mean standard deviation of the numeric columns (Huang's suggestion; 1.0 when
        there are no numeric columns or all are constant, where any positive value gives
        the same clusters). Scale the numeric columns first if their units differ.
    init : {'k-prototypes++', 'random'}, default='k-prototypes++'
        'k-prototypes++': the first prototype a row drawn with probability proportional
        to its weight, each next one the best (lowest total cost) of ``2 + ln k`` rows
        drawn with probability proportional to weight × cost to the closest prototype
        so far. 'random': ``n_clusters`` distinct rows drawn with probability
        proportional to their weight.
    n_init : int, default=10
        Number of runs from different seeds; the run with the lowest cost wins.
    max_iter : int, default=100
        Most batch steps of one run (of each refinement trial when refining).
    refine : bool, default=True
        After the batch steps of each run converge, try swap steps: move the prototype
        whose removal would cost least to a row drawn with probability proportional to
        weight × cost, run the batch steps again, and keep the result only when the cost
        drops; stop after two trials in a row that do not. This escapes the local optima
        a seeding leaves (two prototypes in one group, one across two groups) for a few
        more batch runs. False: plain batch k-prototypes.
    verbose : int, default=0
        Print the cost of every run when positive.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws. The same seed gives the same result on any number of threads.

    Attributes
    ----------
    cluster_centers_ : DataFrame or ndarray of shape (n_clusters, n_features)
        The prototypes in the columns of X: means for numeric columns, the mode's value
        (in the column's original dtype) for categorical ones. A DataFrame with X's
        column names when X was a DataFrame; otherwise a float64 array when X was
        numeric, else an object array.
    cluster_centroids_ : DataFrame or ndarray
        The same object as ``cluster_centers_`` (the name the kmodes package uses).
    labels_ : ndarray of shape (n_samples,), dtype int32
        The cluster of every training row.
    cost_ : float
        Total weighted cost of the training rows to their prototypes.
    n_iter_ : int
        Number of batch steps of the winning run, refinement trials included.
    gamma_ : float
        The weight of a categorical mismatch that was used.
    categorical_ : ndarray of int
        Indices of the categorical columns.
    numerical_ : ndarray of int
        Indices of the numeric columns.
    categories_ : list of ndarray
        The categories of each categorical column, in code order (the order used to break
        ties between modes: a tie goes to the category listed first). Missing values
        (None, NaN, pd.NA) are one category of their own, shown as NaN and listed last.
    n_features_in_ : int
        Number of columns seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in fit, when X was a DataFrame with string column names.

    Notes
    -----
    Categories not seen in fit (at predict time) never match a mode: they always count as
    a mismatch. Missing categorical values are a category, not an error; a NaN or an
    infinity in a numeric column is an error naming the column and the row. Without
    numeric columns the model is k-modes (Huang's matching dissimilarity, ``gamma_`` =
    1). Empty clusters get the row with the highest cost as their new prototype.

    Examples
    --------
    >>> import pandas as pd
    >>> from centroids.models.kprototypes import KPrototypes
    >>> X = pd.DataFrame({
    ...     "income": [1.0, 1.2, 0.9, 8.0, 8.3, 7.9],
    ...     "city": ["Oslo", "Oslo", "Oslo", "Rome", "Rome", "Oslo"],
    ... })
    >>> model = KPrototypes(n_clusters=2, random_state=0).fit(X)
    >>> model.categorical_.tolist(), bool(model.labels_[0] != model.labels_[3])
    ([1], True)
    >>> model.cluster_centers_.sort_values("income").round(2).reset_index(drop=True)
       income  city
    0    1.03  Oslo
    1    8.07  Rome
    >>> new_rows = pd.DataFrame({"income": [8.1], "city": ["Paris"]})  # Paris: unseen
    >>> bool(model.predict(new_rows)[0] == model.labels_[3])
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "categorical": [None, Integral, str, list, tuple, np.ndarray],
        "gamma": [None, Interval(Real, 0, None, closed="neither")],
        "init": [StrOptions({"k-prototypes++", "random"})],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "refine": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        categorical=None,
        gamma=None,
        init="k-prototypes++",
        n_init=10,
        max_iter=100,
        refine=True,
        verbose=0,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.categorical = categorical
        self.gamma = gamma
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.refine = refine
        self.verbose = verbose
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    @property
    def _n_features_out(self):
        return self._num_centers.shape[0]

    # -- input -------------------------------------------------------------------------

    def _as_table(self, X, reset):
        """X as a DataFrame or a 2-D array; sets or checks n_features_in_ and names."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            table = X
        else:
            if isinstance(X, (list, tuple)):
                # numpy would turn a list holding numbers and strings into all strings
                X = np.asarray(X, dtype=object)
            table = validate_data(
                self,
                X,
                reset=reset,
                dtype=None,
                ensure_all_finite=False,
                ensure_min_samples=0,
                ensure_min_features=0,
            )
            if table.dtype.kind not in "biufcOUSM":
                table = table.astype(object)
        if table.shape[0] == 0:
            raise ValueError(
                f"X is empty: it has 0 sample(s) (shape={table.shape}) while a minimum of 1 "
                "is required. Check the filter, query or file that produced X."
            )
        if table.shape[1] == 0:
            raise ValueError(
                f"X has 0 feature(s) (shape={table.shape}) while a minimum of 1 is required."
            )
        return table

    @staticmethod
    def _column(table, j):
        if isinstance(table, pd.DataFrame):
            return table.iloc[:, j]
        return table[:, j]

    def _column_label(self, j):
        names = getattr(self, "feature_names_in_", None)
        return f"column {names[j]!r} (index {j})" if names is not None else f"column {j}"

    def _categorical_indices(self, table):
        n_features = table.shape[1]
        spec = self.categorical
        if spec is None:
            if isinstance(table, pd.DataFrame):
                return [j for j in range(n_features) if _is_categorical_dtype(table.dtypes.iloc[j])]
            if table.dtype.kind in "bUS":
                return list(range(n_features))
            if table.dtype.kind == "O":
                return [j for j in range(n_features) if _is_categorical_object_column(table[:, j])]
            return []
        items = np.asarray(spec).ravel() if isinstance(spec, np.ndarray) else spec
        if isinstance(items, np.ndarray) and items.dtype == bool:
            if items.shape[0] != n_features:
                raise ValueError(
                    f"categorical is a boolean mask of {items.shape[0]} values but X has "
                    f"{n_features} columns: give one value per column."
                )
            return np.flatnonzero(items).tolist()
        if isinstance(items, (str, Integral)):
            items = [items]
        names = list(table.columns) if isinstance(table, pd.DataFrame) else None
        indices = []
        for item in items:
            if isinstance(item, (Integral, np.integer)) and not isinstance(item, bool):
                index = int(item)
                if not -n_features <= index < n_features:
                    raise ValueError(
                        f"categorical names column index {index}, but X has {n_features} "
                        f"columns (valid indices: {-n_features} to {n_features - 1})."
                    )
                indices.append(index % n_features)
            elif names is not None and item in names:
                indices.append(names.index(item))
            elif names is None:
                raise ValueError(
                    f"categorical holds {item!r}, but X is an array without column names: "
                    "give column indices, or pass X as a DataFrame."
                )
            else:
                raise ValueError(
                    f"categorical names column {item!r}, which X does not have; its columns "
                    f"are {names}."
                )
        if len(set(indices)) != len(indices):
            raise ValueError(f"categorical names a column more than once: {spec!r}.")
        return sorted(indices)

    def _numeric_block(self, table, where):
        """The numeric columns as a C-ordered float64 array; errors name column and row."""
        numeric = np.empty((table.shape[0], len(self.numerical_)), dtype=np.float64)
        for position, j in enumerate(self.numerical_):
            column = self._column(table, j)
            try:
                if isinstance(column, pd.Series):
                    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
                else:
                    values = np.asarray(column, dtype=np.float64)
            except (TypeError, ValueError) as error:
                raise TypeError(
                    f"{self._column_label(j)} of X passed to {where} is numeric (not in "
                    f"categorical) but holds values that are not numbers ({error}). Name it "
                    "in the categorical parameter, or convert it to numbers."
                ) from error
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                kind = "NaN" if np.isnan(values[bad[0]]) else "infinity (inf)"
                raise ValueError(
                    f"X passed to {where} contains {kind} in numeric {self._column_label(j)}, "
                    f"first at row {bad[0]}; {bad.size} value(s) in that column are NaN or "
                    "infinite. Drop or impute those rows (sklearn.impute.SimpleImputer), or "
                    "name the column in categorical to treat missing values as a category."
                )
            numeric[:, position] = values
        return numeric

    def _categorical_values(self, table, j):
        column = self._column(table, j)
        values = column.to_numpy(dtype=object) if isinstance(column, pd.Series) else column
        return np.asarray(values, dtype=object)

    def _encode_fit(self, table):
        categorical = self._categorical_indices(table)
        n_features = table.shape[1]
        if not categorical:
            raise ValueError(
                f"KPrototypes found no categorical column among the {n_features} column(s) "
                "of X. For numeric data use centroids.KMeans; if some columns are categorical "
                "codes, name them in the categorical parameter (names or indices)."
            )
        self.categorical_ = np.asarray(categorical, dtype=np.intp)
        self.numerical_ = np.asarray(
            [j for j in range(n_features) if j not in set(categorical)], dtype=np.intp
        )
        numeric = self._numeric_block(table, "fit")
        encoders = []
        codes = np.empty((table.shape[0], len(categorical)), dtype=np.int32)
        for position, j in enumerate(categorical):
            values = self._categorical_values(table, j)
            try:
                encoder = _CategoryEncoder(values)
            except TypeError as error:
                raise TypeError(
                    f"Categorical {self._column_label(j)} holds values that cannot be "
                    f"compared for equality or hashed ({error}); convert them to strings."
                ) from error
            encoders.append(encoder)
            codes[:, position] = encoder.fit_codes
        self._encoders = encoders
        self.categories_ = [encoder.categories for encoder in encoders]
        return _MixedData(numeric, codes)

    def _encode(self, table, where):
        numeric = self._numeric_block(table, where)
        codes = np.empty((table.shape[0], len(self.categorical_)), dtype=np.int32)
        for position, j in enumerate(self.categorical_):
            values = self._categorical_values(table, j)
            try:
                codes[:, position] = self._encoders[position].encode(values)
            except TypeError as error:
                raise TypeError(
                    f"Categorical {self._column_label(j)} of X passed to {where} holds values "
                    f"that cannot be hashed ({error}); convert them to strings."
                ) from error
        return _MixedData(numeric, codes)

    # -- fitting -----------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Cluster the rows of X.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Numeric and categorical columns (see the ``categorical`` parameter).
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in the means, the modes and the cost.

        Returns
        -------
        self : KPrototypes
            The fitted estimator; on bad input the estimator is left as it was.
        """
        with unchanged_on_error(self):
            self._fit(X, sample_weight)
        return self

    def _fit(self, X, sample_weight):
        self._validate_params()
        table = self._as_table(X, reset=True)
        data = self._encode_fit(table)
        n_samples = data.n_rows
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}: X has "
                "fewer rows than clusters. Lower n_clusters or pass more rows."
            )
        weights = check_sample_weight(sample_weight, n_samples, np.float64)
        n_weighted = int(np.count_nonzero(weights))
        if n_weighted < self.n_clusters:
            raise ValueError(
                f"Only {n_weighted} rows have a positive sample_weight, fewer than "
                f"n_clusters={self.n_clusters}; lower n_clusters or give more rows weight."
            )
        self.gamma_ = float(self.gamma) if self.gamma is not None else _default_gamma(data)
        random_state = check_random_state(self.random_state)
        seeds = random_state.randint(np.iinfo(np.int32).max, size=self.n_init)
        offsets = np.zeros(len(self._encoders) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(encoder.categories) for encoder in self._encoders])
        best = None
        for run, seed in enumerate(seeds):
            result = _run_kprototypes(
                data,
                weights,
                self.n_clusters,
                self.gamma_,
                self.init,
                self.max_iter,
                offsets,
                self.refine,
                np.random.RandomState(seed),
            )
            if self.verbose:
                print(f"KPrototypes run {run + 1}/{self.n_init}: cost {result[4]:.6g}")
            if best is None or result[4] < best[4]:
                best = result
        num_centers, modes, labels, _, cost, n_iter, converged = best
        if not converged:
            warnings.warn(
                f"KPrototypes did not converge within max_iter={self.max_iter} steps; "
                "increase max_iter.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self._num_centers = num_centers
        self._modes = modes
        self.labels_ = labels
        self.cost_ = float(cost)
        self.n_iter_ = int(n_iter)
        self.cluster_centers_ = self._centers_in_columns_of(table, num_centers, modes)
        self.cluster_centroids_ = self.cluster_centers_

    def _centers_in_columns_of(self, table, num_centers, modes):
        k = num_centers.shape[0]
        columns = {}
        for position, j in enumerate(self.numerical_):
            columns[j] = num_centers[:, position]
        for position, j in enumerate(self.categorical_):
            columns[j] = self.categories_[position][modes[:, position]]
        n_features = table.shape[1]
        if isinstance(table, pd.DataFrame):
            frame = {}
            for j in range(n_features):
                series = pd.Series(columns[j], name=table.columns[j])
                if j in set(self.categorical_.tolist()):
                    # (a missing-value mode may not fit the column's dtype: keep object)
                    with contextlib.suppress(TypeError, ValueError):
                        series = series.astype(table.dtypes.iloc[j])
                frame[j] = series
            centers = pd.concat(frame.values(), axis=1)
            centers.columns = table.columns
            return centers
        if table.dtype.kind in "biuf":
            centers = np.empty((k, n_features), dtype=np.float64)
        else:
            centers = np.empty((k, n_features), dtype=object)
        for j in range(n_features):
            centers[:, j] = columns[j]
        return centers

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return the cluster of every row (``labels_``)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    # -- using a fitted model ----------------------------------------------------------

    def _test_data(self, X, where):
        check_is_fitted(self)
        return self._encode(self._as_table(X, reset=False), where)

    def predict(self, X):
        """Cluster of every row of X: the prototype of lowest cost.

        Categories not seen in fit count as a mismatch against every prototype.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Rows with the columns (and names) seen in fit.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
        """
        data = self._test_data(X, "predict")
        labels, _ = self._assign(data, np.ones(data.n_rows))
        return labels

    def transform(self, X):
        """Cost of every row of X against every prototype.

        Returns
        -------
        costs : ndarray of shape (n_samples, n_clusters), float64
            Squared Euclidean distance of the numeric columns plus ``gamma_`` × the
            number of mismatched categorical columns.
        """
        data = self._test_data(X, "transform")
        out = np.empty((data.n_rows, self.n_clusters))
        mixed_cost_matrix.for_work(data.n_rows * self.n_clusters * _row_width(data))(
            data.numeric, data.codes, self._num_centers, self._modes, self.gamma_, out
        )
        return out

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the cost of every row against every prototype."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the total weighted cost of X under the fitted prototypes."""
        data = self._test_data(X, "score")
        weights = check_sample_weight(sample_weight, data.n_rows, np.float64)
        _, cost = self._assign(data, weights)
        return -cost

    def _assign(self, data, weights):
        labels, _, cost = _assign(data, weights, self._num_centers, self._modes, self.gamma_)
        return labels, cost


# -- one run -------------------------------------------------------------------------------


def _row_width(data):
    return max(1, data.numeric.shape[1] + data.codes.shape[1])


def _default_gamma(data):
    """Half the mean standard deviation of the numeric columns; 1.0 when that is 0 or none."""
    if data.numeric.shape[1] == 0:
        return 1.0
    gamma = 0.5 * float(np.mean(np.std(data.numeric, axis=0)))
    return gamma if gamma > 0 else 1.0


def _assign(data, weights, num_centers, modes, gamma):
    n = data.n_rows
    labels = np.empty(n, dtype=np.int32)
    min_cost = np.empty(n)
    chunk_cost = np.empty(n_chunks(n))
    assign_mixed.for_work(n * num_centers.shape[0] * _row_width(data))(
        data.numeric,
        data.codes,
        weights,
        np.ascontiguousarray(num_centers.T),
        np.ascontiguousarray(modes.T),
        gamma,
        labels,
        min_cost,
        chunk_cost,
    )
    return labels, min_cost, float(chunk_cost.sum())


def _seed_rows(data, weights, n_clusters, gamma, init, random_state):
    """Rows of X whose values start the prototypes (see the ``init`` parameter)."""
    n = data.n_rows
    if init == "random":
        return random_state.choice(n, n_clusters, replace=False, p=weights / weights.sum())
    work = n * _row_width(data)
    n_trials = 2 + int(math.log(n_clusters))
    rows = np.empty(n_clusters, dtype=np.intp)
    rows[0] = draw_row_by_weight(weights, random_state)
    closest = np.empty(n)
    costs_to_row.for_work(work)(data.numeric, data.codes, rows[0], gamma, closest)
    chosen = np.zeros(n, dtype=bool)
    chosen[rows[0]] = True
    new_costs = np.empty(n)
    chunk_potential = np.empty((n_chunks(n), n_trials))
    for c in range(1, n_clusters):
        cumulative = np.cumsum(weights * closest)
        total = cumulative[-1]
        if not total > 0:
            # Fewer distinct rows than clusters: any unchosen weighted row will do; the
            # duplicate prototype's cluster is empty and gets relocated.
            free = np.flatnonzero(~chosen & (weights > 0))
            free = free if free.size else np.flatnonzero(~chosen)
            rows[c] = free[random_state.randint(free.size)]
        else:
            draws = random_state.uniform(size=n_trials) * total
            candidates = np.minimum(np.searchsorted(cumulative, draws, side="right"), n - 1)
            candidates = candidates.astype(np.int64)
            seeding_potentials.for_work(work * n_trials)(
                data.numeric, data.codes, weights, candidates, gamma, closest, chunk_potential
            )
            potentials = chunk_potential.sum(axis=0)
            rows[c] = candidates[int(np.argmin(potentials))]
        chosen[rows[c]] = True
        costs_to_row.for_work(work)(data.numeric, data.codes, rows[c], gamma, new_costs)
        np.minimum(closest, new_costs, out=closest)
    return rows


def _relocate_empty(data, weights, num_centers, modes, cluster_weight, min_cost):
    """Give every empty cluster the weighted row of highest cost as its prototype."""
    empty = np.flatnonzero(cluster_weight <= 0)
    if empty.size == 0:
        return
    order = np.argsort(-np.where(weights > 0, min_cost, -np.inf), kind="stable")
    for c, row in zip(empty, order[: empty.size], strict=False):
        num_centers[c] = data.numeric[row]
        modes[c] = data.codes[row]


def _run_kprototypes(
    data, weights, n_clusters, gamma, init, max_iter, offsets, refine, random_state
):
    """One seeded run of batch k-prototypes, refined by swap steps when ``refine``.

    Returns (num_centers, modes, labels, min_cost, cost, n_iter, converged).
    """
    rows = _seed_rows(data, weights, n_clusters, gamma, init, random_state)
    num_centers = np.ascontiguousarray(data.numeric[rows])
    modes = np.ascontiguousarray(data.codes[rows])
    best = _batch_steps(data, weights, num_centers, modes, gamma, max_iter, offsets)
    if not refine or n_clusters == 1:
        return best
    n_iter = best[5]
    failures = 0
    while failures < REFINE_MAX_FAILURES:
        num_centers, modes, labels, min_cost = best[:4]
        removal = np.empty((n_chunks(data.n_rows), n_clusters))
        removal_costs.for_work(data.n_rows * n_clusters * _row_width(data))(
            data.numeric, data.codes, weights, num_centers, modes, gamma, labels, min_cost, removal
        )
        least_useful = int(np.argmin(removal.sum(axis=0)))
        cumulative = np.cumsum(weights * min_cost)
        if not cumulative[-1] > 0:
            break
        row = min(
            int(np.searchsorted(cumulative, random_state.uniform() * cumulative[-1], "right")),
            data.n_rows - 1,
        )
        num_centers, modes = num_centers.copy(), modes.copy()
        num_centers[least_useful] = data.numeric[row]
        modes[least_useful] = data.codes[row]
        trial = _batch_steps(data, weights, num_centers, modes, gamma, max_iter, offsets)
        n_iter += trial[5]
        if trial[4] < best[4] * (1 - REFINE_MIN_GAIN):
            best = trial
            failures = 0
        else:
            failures += 1
    return (*best[:5], n_iter, best[6])


def _batch_steps(data, weights, num_centers, modes, gamma, max_iter, offsets):
    """Lloyd-style steps from the given prototypes (changed in place) until no label changes.

    Returns (num_centers, modes, labels, min_cost, cost, n_iter, converged).
    """
    n_clusters = num_centers.shape[0]
    labels, min_cost, cost = _assign(data, weights, num_centers, modes, gamma)
    cluster_weight = np.empty(n_clusters)
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is reported)
        update_prototypes(
            data.numeric, data.codes, weights, labels, offsets, num_centers, modes, cluster_weight
        )
        _relocate_empty(data, weights, num_centers, modes, cluster_weight, min_cost)
        new_labels, new_min_cost, new_cost = _assign(data, weights, num_centers, modes, gamma)
        unchanged = np.array_equal(new_labels, labels)
        labels, min_cost, cost = new_labels, new_min_cost, new_cost
        if unchanged:
            converged = True
            break
    return num_centers, modes, labels, min_cost, cost, n_iter, converged
