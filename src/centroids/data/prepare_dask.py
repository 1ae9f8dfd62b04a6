"""A :class:`~centroids.data.prepare.Preparation` learned from a Dask DataFrame, from
aggregates only: the rows stay on the workers.

Every statistic is the one :meth:`Preparation.fit` computes on the same rows: counts,
missing values, sums (mean, standard deviation), extremes, the exact median and quartiles,
category levels and shares. The prepared features are the in-memory ones, up to the
rounding of sums taken in another order.

Two passes over the data: the first takes every count, extreme, sum, centered sum of
squares (combined over the partitions as Chan et al. do) and category count, and a grid
of each partition's sorted values (:data:`GRID_POINTS` of them); the grids bracket every
wanted order statistic to a few thousand values, which the second pass gathers (all
columns and ranks at once) to be sorted on the client. A bracket larger than
:data:`GATHER_LIMIT` is narrowed by histogram passes first. The medians imputed into the
holes (``missing='impute'``) enter the quartiles on the client, from order statistics of
the observed values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .prepare import (
    CategoricalColumn,
    NumericColumn,
    Preparation,
    _factorized_keys,
    _is_categorical_dtype,
    _numeric_values,
    _reject_infinite,
    _reject_numbers_stored_as_text,
    _sort_key,
    center_and_spread,
)

#: A bracket of an order statistic holding at most this many values is gathered and sorted.
GATHER_LIMIT = 65_536
#: Values of each partition's sorted column the first pass keeps to bracket the ranks.
GRID_POINTS = 1024
#: Bins of each histogram refinement pass.
HISTOGRAM_BINS = 1024
_WHERE = "Preparation.fit (Dask)"


def _numeric_block(part, numeric, missing):
    """float64 values of the numeric columns of one partition, and its kept-row mask."""
    values = {}
    keep = np.ones(len(part), dtype=bool)
    for name in numeric:
        column = _numeric_values(part[name], name, _WHERE)
        _reject_infinite(column, name, _WHERE)
        values[name] = column
        if missing == "drop":
            keep &= ~np.isnan(column)
    return values, keep


def _first_pass(part, numeric, categorical, missing):
    values, keep = _numeric_block(part, numeric, missing)
    holes = np.zeros(len(part), dtype=bool)
    out = {"rows": len(part), "kept": int(keep.sum()), "numeric": {}, "categorical": {}}
    for name, column in values.items():
        nan = np.isnan(column)
        holes |= nan
        observed = column[~nan]
        kept = column[keep & ~nan]
        kept_mean = float(kept.mean()) if kept.size else 0.0
        out["numeric"][name] = {
            "missing": int(nan.sum()),
            "observed": (observed.size, *_extremes(observed)),
            "kept": (kept.size, *_extremes(kept), float(kept.sum())),
            "integer": bool(np.all(np.floor(kept) == kept)),
            "kept_m2": (kept_mean, float(np.sum((kept - kept_mean) ** 2))),
            "grid": {"observed": _grid(observed), "kept": _grid(kept)},
        }
    out["holes"] = int(holes.sum())
    for name in categorical:
        column = part[name]
        _reject_numbers_stored_as_text(column, name)
        codes, keys = _factorized_keys(column)
        counts_all = np.bincount(codes[codes >= 0], minlength=len(keys))
        kept_codes = codes[keep]
        counts_kept = np.bincount(kept_codes[kept_codes >= 0], minlength=len(keys))
        out["categorical"][name] = {
            "keys": keys,
            "all": counts_all.tolist(),
            "kept": counts_kept.tolist(),
            "missing": int((codes < 0).sum()),
            "missing_kept": int((kept_codes < 0).sum()),
        }
    return out


def _grid(values):
    """(positions, values there, size) of about GRID_POINTS evenly spaced ranks of the
    sorted values, the first and the last included."""
    if values.size == 0:
        return (np.zeros(0, dtype=np.int64), np.zeros(0), 0)
    positions = np.unique(np.linspace(0, values.size - 1, GRID_POINTS).round().astype(np.int64))
    return (positions, np.sort(values)[positions], values.size)


def _bracket(grids, rank, top):
    """(lo, hi, at most how many values in [lo, hi)) with the value of ``rank`` (0-based,
    over all partitions) in [lo, hi), from the partitions' grids; ``top`` is above every
    value."""
    grids = [g for g in grids if g[2]]
    candidates = np.unique(np.concatenate([g[1] for g in grids]))
    below_most = np.zeros(candidates.size, dtype=np.int64)  # ≥ #values < candidate
    below_least = np.zeros(candidates.size, dtype=np.int64)  # ≤ #values < candidate
    for positions, values, size in grids:
        first = np.searchsorted(values, candidates, side="left")  # first grid value ≥ t
        padded = np.append(positions, size)
        below_most += padded[first]
        below_least += np.where(first > 0, padded[np.maximum(first - 1, 0)] + 1, 0)
    i = int(np.searchsorted(below_most, rank, side="right")) - 1
    lo, n_below = float(candidates[i]), int(below_least[i])
    j = int(np.searchsorted(below_least, rank + 1, side="left"))
    if j < candidates.size:
        hi, n_under_hi = float(candidates[j]), int(below_most[j])
    else:
        hi, n_under_hi = top, sum(g[2] for g in grids)
    return lo, hi, n_under_hi - n_below


def _with_copies(data_rank, n_data, rank, value, copies):
    """The value of ``rank`` in the data with ``copies`` more values equal to ``value``,
    from the data's order statistics (``data_rank(i)``)."""
    if copies == 0:
        return data_rank(rank)
    if rank < n_data and data_rank(rank) < value:
        return data_rank(rank)
    if rank - copies >= 0 and data_rank(rank - copies) >= value:
        return data_rank(rank - copies)
    return value


def _extremes(values):
    if values.size == 0:
        return (np.inf, -np.inf)
    return (float(values.min()), float(values.max()))


def _selected(part, numeric, missing, which):
    """The values of each numeric column that a statistic is taken over: the observed
    values (``which='observed'``) or those of the kept rows."""
    values, keep = _numeric_block(part, numeric, missing)
    if which == "observed":
        return {name: v[~np.isnan(v)] for name, v in values.items()}
    return {name: v[keep & ~np.isnan(v)] for name, v in values.items()}


def _bracket_pass(part, numeric, missing, brackets, sample=None):
    """Per (selection, column, rank): values below the bracket, a histogram inside it, or
    the values inside it when ``brackets`` asks for them (bins None); with ``sample``
    (fraction, seed, partition index) also the partition's rows kept with probability
    ``fraction``, the uniforms drawn from (seed, partition index)."""
    rows = None
    if sample is not None:
        fraction, seed, index = sample
        rows = part
        if fraction < 1:
            uniforms = np.random.default_rng([seed, index]).random(len(part))
            rows = part[uniforms < fraction]
    return _brackets_of(part, numeric, missing, brackets), rows


def _brackets_of(part, numeric, missing, brackets):
    selections = {key[0] for key in brackets}
    selected = {which: _selected(part, numeric, missing, which) for which in selections}
    out = {}
    for key, (lo, hi, edges) in brackets.items():
        values = selected[key[0]][key[1]]
        below = int(np.count_nonzero(values < lo))
        inside = values[(values >= lo) & (values < hi)]
        if edges is None:
            out[key] = (below, inside)
        else:
            bins = np.searchsorted(edges, inside, side="right") - 1
            out[key] = (below, np.bincount(bins, minlength=len(edges) - 1))
    return out


def _order_statistics(frame, numeric, missing, wanted, sample=None):
    """Exact order statistics over the partitions.

    ``wanted`` maps (selection, column, rank) to (lo, hi, n): a range [lo, hi) holding
    the value of that rank and at most how many values it holds. Each pass either gathers
    the brackets of at most :data:`GATHER_LIMIT` values and sorts them, or cuts them into
    :data:`HISTOGRAM_BINS` bins and keeps the bin holding the rank; every open bracket
    goes in the same pass. ``sample`` (fraction, seed): the first pass also gathers
    a sample of the rows (all columns). Returns ({(selection, column, rank): value},
    the sample or None).
    """
    import dask

    found = {}
    open_ = dict(wanted)
    parts = frame.to_delayed()
    task = dask.delayed(_bracket_pass, pure=True)
    rows = None
    while open_ or (sample is not None and rows is None):
        request = {
            key: (lo, hi, None if n <= GATHER_LIMIT else _edges(lo, hi))
            for key, (lo, hi, n) in open_.items()
        }
        draws = (
            [None] * len(parts)
            if rows is not None or sample is None
            else [(*sample, i) for i in range(len(parts))]
        )
        computed = dask.compute(
            [task(p, numeric, missing, request, d) for p, d in zip(parts, draws, strict=True)]
        )[0]
        results = [r for r, _ in computed]
        if rows is None and sample is not None:
            rows = pd.concat([r for _, r in computed]).reset_index(drop=True)
        for key, (_, _, edges) in request.items():
            local = key[2] - sum(r[key][0] for r in results)
            if edges is None:
                inside = np.concatenate([r[key][1] for r in results])
                found[key] = float(np.sort(inside)[local])
                del open_[key]
                continue
            histogram = sum(r[key][1] for r in results)
            j = int(np.searchsorted(np.cumsum(histogram), local, side="right"))
            new_lo, new_hi = float(edges[j]), float(edges[j + 1])
            if np.nextafter(new_lo, np.inf) >= new_hi:
                found[key] = new_lo  # a bracket of one representable value
                del open_[key]
            else:
                open_[key] = (new_lo, new_hi, int(histogram[j]))
    return found, rows


def _edges(lo, hi):
    return np.unique(np.linspace(lo, hi, HISTOGRAM_BINS + 1))


def _percentile_ranks(n, q):
    position = (n - 1) * q
    low = int(np.floor(position))
    return low, min(low + 1, n - 1), position - low


def fit_preparation_dask(frame, *, columns=None, id_column=None, scale="standard", missing="drop"):
    """A fitted :class:`Preparation` of a Dask DataFrame (see
    :func:`fit_preparation_and_sample_dask`)."""
    preparation, _ = fit_preparation_and_sample_dask(
        frame, columns=columns, id_column=id_column, scale=scale, missing=missing
    )
    return preparation


def fit_preparation_and_sample_dask(
    frame,
    *,
    columns=None,
    id_column=None,
    scale="standard",
    missing="drop",
    sample_rows=None,
    sample_seed=0,
):
    """A fitted :class:`Preparation` of a Dask DataFrame, computed from aggregates.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
    columns, id_column, scale
        As for :class:`Preparation`.
    missing : {'drop', 'impute', 'median'}
        'kpod' and 'masked' cluster rows with holes, which a Dask fit does not do.

    sample_rows : int or None
        Also gather about this many rows (every column of ``frame``), drawn in the
        preparation's second pass over the data from ``sample_seed`` and each
        partition's index (the same rows for the same partitioning): all rows when
        there are no more.
    sample_seed : int

    Returns
    -------
    (Preparation, pandas.DataFrame or None)
        ``row_mask_`` is None (the rows were not gathered); the sample, when asked.
    """
    preparation, features = _checked_preparation(frame, columns, id_column, scale, missing)
    meta = frame._meta
    kinds = {
        name: "categorical" if _is_categorical_dtype(meta[name].dtype) else "numeric"
        for name in features
    }
    numeric = [n for n in features if kinds[n] == "numeric"]
    categorical = [n for n in features if kinds[n] == "categorical"]
    first, n_rows, n_kept = _run_first_pass(frame, numeric, categorical, missing)
    imputing = missing in ("impute", "median")
    numeric_stats = _combined_numeric_stats(first, numeric, n_rows)
    combined_ranks, wanted = _wanted_order_statistics(first, numeric_stats, imputing)
    sample = None
    if sample_rows is not None:
        sample = (min(1.0, sample_rows / n_rows), int(sample_seed))
    ranks, sample = _order_statistics(frame, numeric, missing, wanted, sample)
    medians = _observed_medians(numeric_stats, ranks)
    kept_ranks, extra = _kept_ranks_and_moments(
        first, numeric_stats, combined_ranks, ranks, medians, imputing
    )
    specs, missing_counts = _feature_specs(
        features, kinds, first, numeric_stats, kept_ranks, extra, medians, n_kept, scale,
        preparation,
    )  # fmt: skip
    preparation.feature_names_ = features
    preparation.feature_types_ = dict(kinds)
    preparation._specs = specs
    preparation.model_feature_names_ = preparation._model_feature_names()
    preparation.n_rows_ = n_rows
    preparation.n_dropped_ = n_rows - n_kept
    preparation.n_rows_with_holes_ = int(sum(p["holes"] for p in first))
    preparation.missing_counts_ = missing_counts
    preparation.row_mask_ = None
    # rows of each partition the missing-value policy keeps: the prepared rows' chunks
    preparation._dask_partition_rows = tuple(int(p["kept"]) for p in first)
    return preparation, sample


def _checked_preparation(frame, columns, id_column, scale, missing):
    """An unfitted :class:`Preparation` of checked parameters, and the feature columns."""
    if missing not in ("drop", "impute", "median"):
        raise ValueError(
            f"missing={missing!r} is not available on Dask: k-POD and masked fits need every "
            "hole at once; use drop or impute (median)"
        )
    preparation = Preparation(columns=columns, id_column=id_column, scale=scale, missing=missing)
    preparation._check_parameters()
    available = [str(c) for c in frame.columns]
    for option, value in (("id_column", id_column), ("columns", columns)):
        names = [] if value is None else [value] if isinstance(value, str) else value
        absent = [c for c in names if c not in available]
        if absent:
            raise ValueError(
                f"{option} names column(s) {absent} that the data does not have; "
                f"available columns: {available}."
            )
    features = list(columns) if columns is not None else [c for c in available if c != id_column]
    if not features:
        raise ValueError("No feature columns to cluster on: the data has only the id column.")
    if len(set(features)) != len(features):
        raise ValueError(f"columns lists a column more than once: {features}.")
    return preparation, features


def _run_first_pass(whole, numeric, categorical, missing):
    """The first pass's aggregates of every partition, the rows and the rows kept."""
    import dask

    parts = whole.to_delayed()
    first = dask.compute(
        [dask.delayed(_first_pass, pure=True)(p, numeric, categorical, missing) for p in parts]
    )[0]
    n_rows = sum(p["rows"] for p in first)
    if n_rows == 0:
        raise ValueError("The Parquet data set is empty (0 rows).")
    n_kept = sum(p["kept"] for p in first)
    if n_kept == 0:
        raise ValueError(
            f"Every one of the {n_rows} rows has a missing numeric value, so missing='drop' "
            "leaves nothing to cluster; use missing='median' or fill the gaps first."
        )
    return first, n_rows, n_kept


def _combined_numeric_stats(first, numeric, n_rows):
    """Every numeric column's counts, extremes and sums, combined over the partitions."""
    numeric_stats = {}
    for name in numeric:
        stats = [p["numeric"][name] for p in first]
        n_missing = sum(s["missing"] for s in stats)
        n_observed = sum(s["observed"][0] for s in stats)
        if n_observed == 0:
            raise ValueError(
                f"Column {name!r} has no value at all (all {n_rows} are missing); drop it "
                "from columns."
            )
        observed = (min(s["observed"][1] for s in stats), max(s["observed"][2] for s in stats))
        kept_n = sum(s["kept"][0] for s in stats)
        kept_range = (min(s["kept"][1] for s in stats), max(s["kept"][2] for s in stats))
        numeric_stats[name] = {
            "n_missing": n_missing,
            "n_observed": n_observed,
            "observed": observed,
            "kept_n": kept_n,
            "kept_range": kept_range,
            "kept_sum": sum(s["kept"][3] for s in stats),
            "integer": all(s["integer"] for s in stats),
        }
    return numeric_stats


def _wanted_order_statistics(first, numeric_stats, imputing):
    """Every order statistic in one gathering pass: the observed medians, and the kept
    quartiles and median (under impute from the observed values, the holes' copies of
    the median added on the client). The ranks of the combined values each column's
    quartiles need, and the bracket of every wanted (selection, column, rank)."""
    kept_selection = "observed" if imputing else "kept"
    combined_ranks = {}
    for name, s in numeric_stats.items():
        n = s["kept_n"] + (s["n_missing"] if imputing else 0)
        combined_ranks[name] = (
            n,
            sorted({r for q in (0.25, 0.5, 0.75) for r in _percentile_ranks(n, q)[:2]}),
        )
    wanted = {}
    for name, s in numeric_stats.items():
        grids = [p["numeric"][name]["grid"] for p in first]
        requests = [("observed", r) for r in {(s["n_observed"] - 1) // 2, s["n_observed"] // 2}]
        n_data, copies = s["kept_n"], s["n_missing"] if imputing else 0
        for rank in combined_ranks[name][1]:
            for data_rank in (rank, rank - copies):
                if 0 <= data_rank < n_data:
                    requests.append((kept_selection, data_rank))
        for which, rank in requests:
            bounds = s["observed"] if which == "observed" else s["kept_range"]
            top = float(np.nextafter(bounds[1], np.inf))
            wanted[(which, name, rank)] = _bracket([g[which] for g in grids], rank, top)
    return combined_ranks, wanted


def _observed_medians(numeric_stats, ranks):
    """The median of each numeric column's observed values (np.median's middle mean)."""
    medians = {}
    for name, s in numeric_stats.items():
        n = s["n_observed"]
        middle = [ranks[("observed", name, (n - 1) // 2)], ranks[("observed", name, n // 2)]]
        medians[name] = float(np.mean(middle))
    return medians


def _kept_ranks_and_moments(first, numeric_stats, combined_ranks, ranks, medians, imputing):
    """The order statistics of the kept values (under impute, the holes as copies of the
    median), each column's centered sum of squares of its data values; under impute the
    kept counts, sums and ranges of ``numeric_stats`` take in the median's copies. The
    kept ranks, and each imputed column's (median, copies)."""
    kept_selection = "observed" if imputing else "kept"
    kept_ranks = {}
    extra = {}
    for name, s in numeric_stats.items():
        copies = s["n_missing"] if imputing else 0
        n_data = s["kept_n"]

        def data_rank(i, name=name):
            return ranks[(kept_selection, name, i)]

        for rank in combined_ranks[name][1]:
            kept_ranks[(name, rank)] = _with_copies(data_rank, n_data, rank, medians[name], copies)
        stats = [p["numeric"][name] for p in first]
        data_mean = s["kept_sum"] / n_data
        s["data_squares"] = sum(
            m2 + size * (mean - data_mean) ** 2
            for (size, *_), (mean, m2) in ((t["kept"], t["kept_m2"]) for t in stats)
        )
        s["data_mean"], s["data_n"] = data_mean, n_data
        # the kept values: under impute every row, holes as the median
        if copies:
            extra[name] = (medians[name], copies)
            s["kept_n"] += copies
            s["kept_sum"] += copies * medians[name]
            low, high = s["kept_range"]
            s["kept_range"] = (min(low, medians[name]), max(high, medians[name]))
            s["integer"] = s["integer"] and float(np.floor(medians[name])) == medians[name]
    return kept_ranks, extra


def _feature_specs(
    features, kinds, first, numeric_stats, kept_ranks, extra, medians, n_kept, scale, preparation
):
    """The column spec of every feature, and its count of missing values."""
    means = {name: s["kept_sum"] / s["kept_n"] for name, s in numeric_stats.items()}
    specs = []
    missing_counts = {}
    for name in features:
        if kinds[name] == "numeric":
            s = numeric_stats[name]
            specs.append(
                _numeric_spec_from_ranks(name, scale, s, kept_ranks, extra, medians, means)
            )
            missing_counts[name] = s["n_missing"]
        else:
            partials = [p["categorical"][name] for p in first]
            spec, n_missing = _categorical_spec(name, partials, n_kept, preparation)
            specs.append(spec)
            missing_counts[name] = n_missing
    return specs, missing_counts


def _numeric_spec_from_ranks(name, scale, s, kept_ranks, extra, medians, means):
    """A numeric column's spec: its kept values' standard deviation, quartiles and median."""
    n = s["kept_n"]
    square_sum = s["data_squares"] + s["data_n"] * (s["data_mean"] - means[name]) ** 2
    if name in extra:
        square_sum += extra[name][1] * (extra[name][0] - means[name]) ** 2
    quantiles = {}
    for q in (0.25, 0.5, 0.75):
        low, high, fraction = _percentile_ranks(n, q)
        pair = np.array([kept_ranks[(name, low)], kept_ranks[(name, high)]])
        quantiles[q] = float(np.quantile(pair, fraction))
    # np.median of the kept values: the mean of the middle two (ranks of q=0.5)
    middle = [kept_ranks[(name, (n - 1) // 2)], kept_ranks[(name, n // 2)]]
    kept_median = float(np.mean(middle))
    return _numeric_spec(
        name, scale, s, medians[name], means[name], np.sqrt(square_sum / n), quantiles,
        kept_median,
    )  # fmt: skip


def _numeric_spec(name, scale, s, median, mean, std, quantiles, kept_median):
    minimum, maximum = (float(v) for v in s["kept_range"])
    q25, q75 = quantiles[0.25], quantiles[0.75]
    std = float(std)
    center, spread = center_and_spread(
        scale, mean, std, lambda: kept_median, q25, q75, minimum, maximum
    )
    return NumericColumn(
        name=name,
        center=float(center),
        scale=float(spread),
        median=median,
        n_missing=int(s["n_missing"]),
        mean=float(mean),
        std=std,
        minimum=minimum,
        maximum=maximum,
        q25=q25,
        q75=q75,
        integer_valued=bool(s["integer"]),
    )


def _categorical_spec(name, partials, n_kept, preparation):
    """The one-hot levels of a categorical column from its per-partition counts, as
    :meth:`Preparation._fit_categorical` finds them on the whole column."""
    counts_all, counts_kept = {}, {}
    for partial in partials:
        for key, a, k in zip(partial["keys"], partial["all"], partial["kept"], strict=True):
            counts_all[key] = counts_all.get(key, 0) + a
            counts_kept[key] = counts_kept.get(key, 0) + k
    n_missing = sum(p["missing"] for p in partials)
    missing_kept = sum(p["missing_kept"] for p in partials)
    if not counts_all:
        raise ValueError(
            f"Column {name!r} has no value at all (all are missing); drop it from columns."
        )
    keys = list(counts_all)
    if len({type(k) for k in keys}) > 1 and any(isinstance(k, str) for k in keys):
        merged_all, merged_kept = {}, {}
        for key in keys:
            text = str(key)
            merged_all[text] = merged_all.get(text, 0) + counts_all[key]
            merged_kept[text] = merged_kept.get(text, 0) + counts_kept[key]
        counts_all, counts_kept = merged_all, merged_kept
    categories = sorted(counts_all, key=_sort_key)
    shares = [counts_kept[c] / n_kept for c in categories]
    missing_level = n_missing > 0
    if missing_level:
        shares.append(missing_kept / n_kept)
    return (
        CategoricalColumn(
            name=name,
            categories=categories,
            missing_level=missing_level,
            weight=preparation._weight_of(name),
            n_missing=n_missing,
            shares=shares,
        ),
        n_missing,
    )


def transform_dask(preparation, frame):
    """The model matrix of a Dask DataFrame's rows, a partition per task (a Dask DataFrame
    whose columns are ``preparation.model_feature_names_``)."""
    names = list(preparation.model_feature_names_)
    meta = pd.DataFrame({name: pd.Series(dtype=np.float64) for name in names})

    def prepared(part):
        return pd.DataFrame(preparation.transform(part), columns=names, index=part.index)

    return frame.map_partitions(prepared, meta=meta)


__all__ = ["fit_preparation_and_sample_dask", "fit_preparation_dask", "transform_dask"]
