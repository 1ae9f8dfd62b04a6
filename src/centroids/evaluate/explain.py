"""What sets each cluster apart: effect sizes per cluster and feature, in words.

:func:`explain` compares every cluster with the rest of the rows, feature by feature,
in the features' own units and as a standardised difference (Cohen's d against the
pooled standard deviation of the cluster and the rest), ranks the features by how
much of their variation the clusters account for (one-way ANOVA F and eta² for
numeric features, chi-square and Cramér's V for categorical ones), and turns the
largest differences of a cluster into a short description such as
``"income high (+1.8 sd), age low (-0.9 sd)"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

__all__ = [
    "DESCRIBE_MIN_EFFECT",
    "Explanation",
    "explain",
    "split_columns",
]

#: Smallest absolute standardised difference :meth:`Explanation.describe` puts into
#: words. 0.2 is Cohen's "small" effect: below it a cluster's mean and the rest's
#: overlap so much that calling the cluster "high" or "low" would mislead.
DESCRIBE_MIN_EFFECT = 0.2

#: Differences and standard deviations below this share of a feature's largest
#: magnitude are rounding noise (a mean of identical values divided back is not
#: always exactly that value) and are treated as exactly zero, so a constant feature
#: gets a standardised difference of 0, never a ratio of two rounding errors.
ROUNDING_TOLERANCE = 1e-10

NUMERIC_COLUMNS = [
    "size",
    "cluster_mean",
    "overall_mean",
    "difference",
    "rest_mean",
    "cluster_sd",
    "overall_sd",
    "pooled_sd",
    "std_difference",
]
CATEGORICAL_COLUMNS = [
    "size",
    "category",
    "cluster_share",
    "overall_share",
    "share_difference",
    "rest_share",
    "std_difference",
    "top_category",
    "top_share",
]
RANKING_COLUMNS = [
    "kind",
    "test",
    "statistic",
    "p_value",
    "eta_squared",
    "cramers_v",
    "association",
]
TOP_FEATURE_COLUMNS = [
    "kind",
    "std_difference",
    "cluster_value",
    "overall_value",
    "difference",
    "category",
    "description",
]


@dataclass(frozen=True)
class SplitColumns:
    """A table cut into its numeric part and its categorical columns."""

    numeric: np.ndarray  # float64, (n_samples, n_numeric)
    numeric_names: list
    categorical: dict  # name -> object ndarray of the column's values
    other: dict  # name -> dtype string: columns that are neither (dates, durations)
    n_samples: int


def _feature_names(X, n_features, feature_names):
    if feature_names is None:
        if isinstance(X, pd.DataFrame):
            return [str(name) for name in X.columns]
        return [f"x{j}" for j in range(n_features)]
    names = [str(name) for name in feature_names]
    if len(names) != n_features:
        raise ValueError(
            f"feature_names has {len(names)} name(s) but X has {n_features} column(s); "
            "give one name per column, in order."
        )
    if len(set(names)) != len(names):
        duplicated = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"feature_names must be unique; {duplicated} appear more than once.")
    return names


def _numeric_or_none(values):
    """The column as float64 when every present value is a number, else None."""
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    if values.dtype.kind != "O":
        values = values.astype(object)
    series = pd.Series(values, dtype=object)
    present = series.notna().to_numpy()
    if not present.any():
        return None
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind == "boolean":
        return np.where(present, series.astype(bool), np.nan).astype(np.float64)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    if kind != "string":
        return None
    # Strings: numbers written as text convert; try a few first, most columns fail there.
    head = series[present].iloc[:100]
    if pd.to_numeric(head, errors="coerce").isna().any():
        return None
    converted = pd.to_numeric(series, errors="coerce")
    if (converted.isna().to_numpy() & present).any():
        return None
    return converted.to_numpy(dtype=np.float64)


def split_columns(X, feature_names=None, *, where="explain"):
    """Cut X into float64 numeric columns and categorical (string-like) columns.

    Numbers and booleans (as 0/1) are numeric; object columns whose values all parse
    as numbers are numeric too. Strings, pandas categoricals and other objects are
    categorical. Dates and durations are neither and are returned apart in ``other``.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
    feature_names : sequence of str, default=None
        Column names; by default the DataFrame's columns, else ``x0, x1, ...``.
    where : str, default='explain'
        Who asks, for error messages.

    Returns
    -------
    SplitColumns
        ``numeric`` (float64 array), ``numeric_names``, ``categorical`` (name ->
        object array), ``other`` (name -> dtype) and ``n_samples``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"age": [31, 45], "city": ["Oslo", "Lima"]})
    >>> split = split_columns(table)
    >>> split.numeric_names, list(split.categorical)
    (['age'], ['city'])
    """
    if sp.issparse(X):
        raise TypeError(
            f"{where} needs a dense table, but X is a sparse matrix ({type(X).__name__}). "
            "Pass X.toarray() when it has few columns, or reduce it first (for example to "
            "its top TruncatedSVD components)."
        )
    n_samples, names, columns = _columns_of(X, feature_names, where)
    numeric, numeric_names, categorical, other = [], [], {}, {}
    for name, column in zip(names, columns, strict=True):
        if isinstance(column, pd.Series):
            dtype = column.dtype
            if pd.api.types.is_bool_dtype(dtype) or (
                pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)
            ):
                numeric.append(column.to_numpy(dtype=np.float64, na_value=np.nan))
                numeric_names.append(name)
                continue
            if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(
                dtype
            ):
                other[name] = str(dtype)
                continue
            if isinstance(dtype, pd.CategoricalDtype):
                categorical[name] = column.astype(object).to_numpy()
                continue
            values = column.to_numpy(dtype=object)
        else:
            values = column
            if values.dtype.kind in "mM":
                other[name] = str(values.dtype)
                continue
        as_numbers = _numeric_or_none(np.asarray(values))
        if as_numbers is not None:
            numeric.append(as_numbers)
            numeric_names.append(name)
        else:
            categorical[name] = np.asarray(values, dtype=object)
    numeric_array = (
        np.column_stack(numeric) if numeric else np.empty((n_samples, 0), dtype=np.float64)
    )
    return SplitColumns(numeric_array, numeric_names, categorical, other, n_samples)


def _columns_of(X, feature_names, where):
    """The rows, names and columns (Series of a DataFrame, else 1-d arrays) of a table."""
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if isinstance(X, pd.DataFrame):
        n_samples, n_features = X.shape
        names = _feature_names(X, n_features, feature_names)
        columns = [X.iloc[:, j] for j in range(n_features)]
    else:
        array = np.asarray(X)
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        if array.ndim != 2:
            raise ValueError(
                f"{where} needs a 2-d table of shape (n_samples, n_features); X has "
                f"{array.ndim} dimension(s) (shape {array.shape})."
            )
        n_samples, n_features = array.shape
        names = _feature_names(X, n_features, feature_names)
        columns = [array[:, j] for j in range(n_features)]
    if n_samples == 0 or n_features == 0:
        raise ValueError(
            f"X passed to {where} is empty (shape ({n_samples}, {n_features})); it needs at "
            "least one row and one column."
        )
    return n_samples, names, columns


def _check_labels(labels, n_samples):
    labels = np.asarray(labels)
    if labels.ndim != 1:
        labels = labels.reshape(-1) if labels.ndim == 2 and 1 in labels.shape else labels
    if labels.ndim != 1 or labels.shape[0] != n_samples:
        raise ValueError(
            f"labels must hold one cluster per row of X: X has {n_samples} rows, labels has "
            f"shape {labels.shape}."
        )
    missing = pd.isna(labels)
    if missing.any():
        raise ValueError(
            f"labels holds a missing value (NaN/None) at row {int(np.flatnonzero(missing)[0])}; "
            f"{int(missing.sum())} row(s) have no cluster. Give every row a cluster, or drop "
            "those rows from X and labels."
        )
    codes, clusters = pd.factorize(labels, sort=True)
    if clusters.size < 2:
        raise ValueError(
            f"explain compares clusters with one another, but labels holds only "
            f"{clusters.size} cluster ({clusters.tolist()}); pass labels with at least 2 "
            "clusters."
        )
    return codes.astype(np.intp), np.asarray(clusters)


def _check_finite(numeric, names, where):
    finite = np.isfinite(numeric)
    if finite.all():
        return
    column = int(np.flatnonzero(~finite.all(axis=0))[0])
    row = int(np.flatnonzero(~finite[:, column])[0])
    n_bad = int((~finite[:, column]).sum())
    raise ValueError(
        f"X passed to {where} has a missing or infinite value in column {names[column]!r} "
        f"(index {column}), first at row {row}; {n_bad} value(s) in that column are NaN or "
        "infinite. Drop those rows or impute them (sklearn.impute.SimpleImputer) first."
    )


def _numeric_statistics(X, codes, n_clusters):
    """Per (cluster, feature) means, spreads and Cohen's d; per feature ANOVA."""
    n_samples = X.shape[0]
    indicator = sp.csr_matrix(
        (np.ones(n_samples), (codes, np.arange(n_samples))), shape=(n_clusters, n_samples)
    )
    sizes = np.bincount(codes, minlength=n_clusters).astype(np.float64)
    means = (indicator @ X) / sizes[:, None]
    overall_mean = X.mean(axis=0)
    scale = np.maximum(np.abs(X).max(axis=0), np.finfo(np.float64).tiny)
    zero_tolerance = ROUNDING_TOLERANCE * scale
    constant = X.max(axis=0) == X.min(axis=0)
    means[:, constant] = X[0, constant]
    overall_mean[constant] = X[0, constant]

    residuals = X - means[codes]
    within_ss = indicator @ (residuals * residuals)  # (k, d)
    between_ss = sizes[:, None] * (means - overall_mean) ** 2
    total_within = within_ss.sum(axis=0)
    total_between = between_ss.sum(axis=0)
    total_ss = total_within + total_between

    rest_mean, pooled_sd, cluster_sd, overall_sd, std_difference = _versus_rest(
        means, overall_mean, sizes, within_ss, between_ss, total_ss, zero_tolerance, constant,
        n_samples,
    )  # fmt: skip
    f_statistic, eta_squared, p_value = _anova(
        total_between, total_within, total_ss, n_samples, n_clusters, zero_tolerance
    )
    difference = means - overall_mean
    difference[np.abs(difference) <= zero_tolerance] = 0.0
    cluster_sd[cluster_sd <= zero_tolerance] = 0.0
    overall_sd = np.where(overall_sd <= zero_tolerance, 0.0, overall_sd)
    pooled_sd[pooled_sd <= zero_tolerance] = 0.0
    return {
        "sizes": sizes,
        "cluster_mean": means,
        "overall_mean": overall_mean,
        "difference": difference,
        "rest_mean": rest_mean,
        "cluster_sd": cluster_sd,
        "overall_sd": overall_sd,
        "pooled_sd": pooled_sd,
        "std_difference": std_difference,
        "f_statistic": f_statistic,
        "p_value": p_value,
        "eta_squared": eta_squared,
    }


def _versus_rest(
    means, overall_mean, sizes, within_ss, between_ss, total_ss, zero_tolerance, constant,
    n_samples,
):  # fmt: skip
    """Every cluster against the rows outside it: the rest's mean, the pooled, cluster and
    overall standard deviations, and the standardised difference (Cohen's d)."""
    rest_sizes = n_samples - sizes
    rest_mean = (n_samples * overall_mean - sizes[:, None] * means) / rest_sizes[:, None]
    rest_ss = (
        total_ss - within_ss - between_ss - rest_sizes[:, None] * (rest_mean - overall_mean) ** 2
    )
    rest_ss = np.maximum(rest_ss, 0.0)
    pooled_dof = max(n_samples - 2, 1)
    pooled_sd = np.sqrt((within_ss + rest_ss) / pooled_dof)
    cluster_sd = np.sqrt(within_ss / np.maximum(sizes - 1, 1)[:, None])
    overall_sd = np.sqrt(total_ss / max(n_samples - 1, 1))

    difference_vs_rest = means - rest_mean
    difference_vs_rest[np.abs(difference_vs_rest) <= zero_tolerance] = 0.0
    # Constant within the cluster and within the rest: scale by the overall spread
    # instead, so a perfectly separated feature gets a finite, large value.
    scale_sd = np.where(pooled_sd > zero_tolerance, pooled_sd, overall_sd)
    with np.errstate(divide="ignore", invalid="ignore"):
        std_difference = np.where(scale_sd > zero_tolerance, difference_vs_rest / scale_sd, 0.0)
    std_difference[:, constant] = 0.0

    return rest_mean, pooled_sd, cluster_sd, overall_sd, std_difference


def _anova(total_between, total_within, total_ss, n_samples, n_groups, zero_tolerance):
    """Per feature: the one-way ANOVA F statistic, eta squared and the p-value of F, with a
    feature of no spread at F = 0 (p = 1) and a perfectly separated one at F = inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        f_statistic = (total_between / (n_groups - 1)) / (
            total_within / max(n_samples - n_groups, 1)
        )
        eta_squared = total_between / total_ss
    no_spread = total_ss <= (zero_tolerance**2) * n_samples
    separated = ~no_spread & (total_within <= (zero_tolerance**2) * n_samples)
    f_statistic[no_spread] = 0.0
    f_statistic[separated] = np.inf
    eta_squared[no_spread] = 0.0
    if n_samples > n_groups:
        p_value = stats.f.sf(f_statistic, n_groups - 1, n_samples - n_groups)
    else:
        p_value = np.full(total_ss.shape[0], np.nan)
    p_value[no_spread] = 1.0
    return f_statistic, eta_squared, p_value


def _proportion_effect(share, rest_share):
    """Cohen's h: the difference of two proportions on the arcsine-root scale."""
    return 2.0 * np.arcsin(np.sqrt(share)) - 2.0 * np.arcsin(np.sqrt(rest_share))


def _categorical_statistics(values, codes, n_clusters, clusters, name):
    """Per-cluster distinctive category and the chi-square association of one column."""
    filled = pd.Series(values, dtype=object).where(pd.notna(values), "(missing)")
    category_codes, categories = pd.factorize(filled.astype(str), sort=True)
    n_samples = codes.shape[0]
    counts = np.zeros((n_clusters, categories.size))
    np.add.at(counts, (codes, category_codes), 1.0)
    sizes = counts.sum(axis=1)
    totals = counts.sum(axis=0)
    shares = counts / sizes[:, None]
    overall_share = totals / n_samples
    rest_counts = totals - counts
    rest_sizes = n_samples - sizes
    rest_share = rest_counts / rest_sizes[:, None]
    effect = _proportion_effect(shares, rest_share)
    # Largest |h|; on a tie (two categories) the over-represented one reads better.
    chosen = np.argmax(np.abs(effect) + 1e-9 * (effect > 0), axis=1)
    top = np.argmax(shares, axis=1)
    rows = np.arange(n_clusters)
    table = pd.DataFrame(
        {
            "size": sizes.astype(np.int64),
            "category": np.asarray(categories, dtype=object)[chosen],
            "cluster_share": shares[rows, chosen],
            "overall_share": overall_share[chosen],
            "share_difference": shares[rows, chosen] - overall_share[chosen],
            "rest_share": rest_share[rows, chosen],
            "std_difference": effect[rows, chosen],
            "top_category": np.asarray(categories, dtype=object)[top],
            "top_share": shares[rows, top],
        },
        index=pd.MultiIndex.from_arrays(
            [clusters, np.full(n_clusters, name, dtype=object)], names=["cluster", "feature"]
        ),
    )
    if categories.size < 2:
        chi2, p_value, cramers_v = 0.0, 1.0, 0.0
    else:
        chi2, p_value, _, _ = stats.chi2_contingency(counts, correction=False)
        cramers_v = float(np.sqrt(chi2 / (n_samples * min(n_clusters - 1, categories.size - 1))))
    ranking = {
        "kind": "categorical",
        "test": "chi-square",
        "statistic": float(chi2),
        "p_value": float(p_value),
        "eta_squared": np.nan,
        "cramers_v": cramers_v,
        "association": cramers_v**2,
    }
    return table, ranking


def _format_number(value):
    magnitude = abs(value)
    if magnitude == 0 or 1e-3 <= magnitude < 1e6:
        return f"{value:,.3g}" if magnitude < 1000 else f"{value:,.0f}"
    return f"{value:.3g}"


@dataclass(frozen=True)
class Explanation:
    """What sets each cluster apart from the other rows (the result of :func:`explain`).

    Attributes
    ----------
    table : DataFrame
        One row per (cluster, numeric feature): ``size`` (rows in the cluster),
        ``cluster_mean``, ``overall_mean``, ``difference`` (cluster minus overall, in
        the feature's units), ``rest_mean`` (mean of the rows outside the cluster),
        ``cluster_sd``, ``overall_sd``, ``pooled_sd`` (of the cluster and the rest)
        and ``std_difference`` (``(cluster_mean - rest_mean) / pooled_sd``, Cohen's
        d; 0 for a constant feature; scaled by ``overall_sd`` when the feature is
        constant within the cluster and within the rest).
    categories : DataFrame
        One row per (cluster, categorical feature): the ``category`` whose share in
        the cluster differs most from its share in the rest (by Cohen's h, the
        ``std_difference`` column, on the same scale as Cohen's d), its
        ``cluster_share``, ``overall_share``, ``share_difference``, ``rest_share``, and
        the most common category of the cluster (``top_category``, ``top_share``).
        Empty when X had no categorical column.
    ranking : DataFrame
        One row per feature, most telling first: ``kind`` ('numeric' or
        'categorical'), ``test`` ('anova' or 'chi-square'), its ``statistic`` (F or
        chi²) and ``p_value``, ``eta_squared`` (share of a numeric feature's variance
        between clusters), ``cramers_v`` (categorical), and ``association`` (eta² or
        V², both between 0 and 1) by which the rows are sorted.
    sizes : Series
        Rows per cluster.
    """

    table: pd.DataFrame
    categories: pd.DataFrame
    ranking: pd.DataFrame
    sizes: pd.Series

    @property
    def clusters(self):
        """The cluster labels, sorted."""
        return self.sizes.index.tolist()

    def _check_cluster(self, cluster):
        if cluster not in self.sizes.index:
            raise ValueError(
                f"cluster {cluster!r} is not one of the explained clusters {self.clusters}."
            )

    def top_features(self, cluster, n=3):
        """The ``n`` features that set ``cluster`` apart most, largest |effect| first.

        Parameters
        ----------
        cluster : label
            One of :attr:`clusters`.
        n : int, default=3
            How many features to return (fewer when X has fewer).

        Returns
        -------
        DataFrame
            Indexed by feature: ``kind``, ``std_difference`` (Cohen's d, or Cohen's h
            for a category), ``cluster_value`` and ``overall_value`` (means, or shares
            of ``category``), ``difference`` (in the feature's units, or in share),
            ``category`` (categorical features only) and ``description`` (words).
        """
        self._check_cluster(cluster)
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}.")
        rows = []
        if len(self.table):
            numeric = self.table.xs(cluster, level="cluster")
            for feature, row in numeric.iterrows():
                rows.append(
                    {
                        "feature": feature,
                        "kind": "numeric",
                        "std_difference": row["std_difference"],
                        "cluster_value": row["cluster_mean"],
                        "overall_value": row["overall_mean"],
                        "difference": row["difference"],
                        "category": None,
                        "description": _describe_numeric(feature, row),
                    }
                )
        if len(self.categories):
            categorical = self.categories.xs(cluster, level="cluster")
            for feature, row in categorical.iterrows():
                rows.append(
                    {
                        "feature": feature,
                        "kind": "categorical",
                        "std_difference": row["std_difference"],
                        "cluster_value": row["cluster_share"],
                        "overall_value": row["overall_share"],
                        "difference": row["share_difference"],
                        "category": row["category"],
                        "description": _describe_categorical(feature, row),
                    }
                )
        frame = pd.DataFrame(rows, columns=["feature", *TOP_FEATURE_COLUMNS])
        order = np.argsort(
            -np.abs(frame["std_difference"].to_numpy(dtype=np.float64)), kind="stable"
        )
        return frame.iloc[order[:n]].set_index("feature")

    def describe(self, cluster, n=3, *, min_effect=DESCRIBE_MIN_EFFECT):
        """A few words on what sets ``cluster`` apart, e.g. ``"income high (+1.8 sd)"``.

        Parameters
        ----------
        cluster : label
            One of :attr:`clusters`.
        n : int, default=3
            Most features named.
        min_effect : float, default=DESCRIBE_MIN_EFFECT
            Features whose |standardised difference| is below this are left out.

        Returns
        -------
        str
            The features joined by commas, largest effect first, or a sentence saying
            that the cluster is close to the average on every feature.
        """
        top = self.top_features(cluster, n)
        kept = top[np.abs(top["std_difference"].to_numpy(dtype=np.float64)) >= min_effect]
        if kept.empty:
            return f"close to the average on every feature (no |effect| >= {min_effect:g} sd)"
        return ", ".join(kept["description"])

    def __str__(self):
        total = int(self.sizes.sum())
        lines = []
        for cluster, size in self.sizes.items():
            lines.append(
                f"cluster {cluster} ({int(size):,} rows, {size / total:.0%}): "
                f"{self.describe(cluster)}"
            )
        return "\n".join(lines)


def _describe_numeric(feature, row):
    effect = row["std_difference"]
    word = "high" if effect > 0 else "low" if effect < 0 else "average"
    if word == "average":
        return f"{feature} average"
    return f"{feature} {word} ({effect:+.1f} sd)"


def _describe_categorical(feature, row):
    share, rest = row["cluster_share"], row["rest_share"]
    word = "mostly" if share >= 0.5 else "often" if share > rest else "rarely"
    return f"{feature} {word} {row['category']!r} ({share:.0%} vs {rest:.0%} elsewhere)"


def explain(X, labels, feature_names=None):
    """Which features set each cluster apart from the rest, and by how much.

    Every cluster is compared with the rows outside it, feature by feature: the
    difference of the means in the feature's units, and standardised by the pooled
    standard deviation of the cluster and the rest (Cohen's d: 0.2 is small, 0.5
    medium, 0.8 large). Categorical columns of a DataFrame are compared by the share
    of their most distinctive category (Cohen's h). Features are ranked overall by
    the share of their variation that lies between the clusters (eta² from a one-way
    ANOVA; Cramér's V² from a chi-square test for categorical columns).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        The rows in their original units (explain the unscaled data for readable
        differences, even when the clustering ran on scaled data).
    labels : array-like of shape (n_samples,)
        Cluster of every row (any labels: integers, strings); at least 2 clusters.
    feature_names : sequence of str, default=None
        Names of X's columns; by default a DataFrame's columns, else ``x0, x1, ...``.

    Returns
    -------
    Explanation
        ``table`` (per cluster and numeric feature), ``categories`` (per cluster and
        categorical feature), ``ranking`` (per feature), ``sizes``;
        ``top_features(cluster, n)`` and ``describe(cluster)``.

    Raises
    ------
    ValueError
        If labels does not give one cluster per row, holds fewer than 2 clusters, or
        a numeric column holds NaN or infinity.
    TypeError
        If X is sparse.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame(
    ...     {"income": [20, 22, 21, 80, 85, 90], "age": [30, 50, 40, 41, 39, 40]}
    ... )
    >>> explanation = explain(customers, [0, 0, 0, 1, 1, 1])
    >>> explanation.describe(1)
    'income high (+17.8 sd)'
    >>> explanation.ranking.index[0]
    'income'
    """
    split = split_columns(X, feature_names, where="explain")
    codes, clusters = _check_labels(labels, split.n_samples)
    _check_finite(split.numeric, split.numeric_names, "explain")
    if split.other:
        described = ", ".join(f"{name!r} ({dtype})" for name, dtype in split.other.items())
        raise TypeError(
            f"explain compares numbers and categories, but X has date or duration column(s) "
            f"{described}. Turn them into numbers (for example days since a reference "
            "date) or drop them."
        )
    n_clusters = clusters.size
    cluster_index = pd.Index(clusters, name="cluster")
    numeric_table, ranking_rows = _numeric_table(split, codes, clusters)
    category_tables = []
    for name, values in split.categorical.items():
        table, ranking = _categorical_statistics(values, codes, n_clusters, clusters, name)
        category_tables.append(table)
        ranking_rows[name] = ranking
    if category_tables:
        categories = pd.concat(category_tables).sort_index(level="cluster", sort_remaining=False)
    else:
        categories = pd.DataFrame(
            columns=CATEGORICAL_COLUMNS,
            index=pd.MultiIndex.from_arrays([[], []], names=["cluster", "feature"]),
        )
    ranking = pd.DataFrame.from_dict(ranking_rows, orient="index", columns=RANKING_COLUMNS)
    ranking.index.name = "feature"
    ranking = ranking.sort_values(["association", "statistic"], ascending=False, kind="stable")
    sizes = pd.Series(np.bincount(codes, minlength=n_clusters), index=cluster_index, name="size")
    return Explanation(numeric_table, categories, ranking, sizes)


def _numeric_table(split, codes, clusters):
    """The per (cluster, numeric feature) table of :func:`explain`, and the ranking row
    (ANOVA) of every numeric feature."""
    n_clusters = clusters.size
    ranking_rows = {}
    numeric_table = pd.DataFrame(
        columns=NUMERIC_COLUMNS,
        index=pd.MultiIndex.from_arrays([[], []], names=["cluster", "feature"]),
    )
    if split.numeric.shape[1]:
        statistics = _numeric_statistics(split.numeric, codes, n_clusters)
        n_features = split.numeric.shape[1]
        index = pd.MultiIndex.from_product(
            [clusters, split.numeric_names], names=["cluster", "feature"]
        )
        numeric_table = pd.DataFrame(
            {
                "size": np.repeat(statistics["sizes"].astype(np.int64), n_features),
                "cluster_mean": statistics["cluster_mean"].ravel(),
                "overall_mean": np.tile(statistics["overall_mean"], n_clusters),
                "difference": statistics["difference"].ravel(),
                "rest_mean": statistics["rest_mean"].ravel(),
                "cluster_sd": statistics["cluster_sd"].ravel(),
                "overall_sd": np.tile(statistics["overall_sd"], n_clusters),
                "pooled_sd": statistics["pooled_sd"].ravel(),
                "std_difference": statistics["std_difference"].ravel(),
            },
            index=index,
        )
        for j, name in enumerate(split.numeric_names):
            ranking_rows[name] = {
                "kind": "numeric",
                "test": "anova",
                "statistic": float(statistics["f_statistic"][j]),
                "p_value": float(statistics["p_value"][j]),
                "eta_squared": float(statistics["eta_squared"][j]),
                "cramers_v": np.nan,
                "association": float(statistics["eta_squared"][j]),
            }
    return numeric_table, ranking_rows
