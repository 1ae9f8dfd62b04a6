"""A :class:`~centroids.data.prepare.Preparation` learned from a Dask DataFrame, from
aggregates only: the rows stay on the workers.

Every statistic is the one :meth:`Preparation.fit` computes on the same rows: counts,
missing values, sums (mean, standard deviation), extremes, the exact median and quartiles
(found by histogram refinement over the partitions, then the few values left in the
bracket gathered and sorted), category levels and shares. The prepared features are the
in-memory ones, up to the rounding of sums taken in another order.
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
        out["numeric"][name] = {
            "missing": int(nan.sum()),
            "observed": (observed.size, *_extremes(observed)),
            "kept": (kept.size, *_extremes(kept), float(kept.sum())),
            "integer": bool(np.all(np.floor(kept) == kept)),
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


def _bracket_pass(part, numeric, missing, which, brackets):
    """Per (column, rank): values below the bracket, a histogram inside it, or the values
    inside it when ``brackets`` asks for them (bins None)."""
    selected = _selected(part, numeric, missing, which)
    out = {}
    for key, (lo, hi, edges) in brackets.items():
        values = selected[key[0]]
        below = int(np.count_nonzero(values < lo))
        inside = values[(values >= lo) & (values < hi)]
        if edges is None:
            out[key] = (below, inside)
        else:
            bins = np.searchsorted(edges, inside, side="right") - 1
            out[key] = (below, np.bincount(bins, minlength=len(edges) - 1))
    return out


def _order_statistics(frame, numeric, missing, which, wanted, extra):
    """Exact order statistics over the partitions.

    ``wanted`` maps (column, rank) to (lo, hi, n): a range holding every value of the
    column and how many values (of the data) it holds; ``extra`` maps a column to
    (value, count) copies counted as if present (the imputed medians). Each pass either
    gathers a bracket of at most :data:`GATHER_LIMIT` values and sorts them, or cuts it
    into :data:`HISTOGRAM_BINS` bins and keeps the bin holding the rank. Returns
    {(column, rank): value}.
    """
    import dask

    found = {}
    open_ = {key: (lo, np.nextafter(hi, np.inf), n) for key, (lo, hi, n) in wanted.items()}
    parts = frame.to_delayed()
    task = dask.delayed(_bracket_pass, pure=True)
    while open_:
        request = {
            key: (lo, hi, None if n <= GATHER_LIMIT else _edges(lo, hi))
            for key, (lo, hi, n) in open_.items()
        }
        results = dask.compute([task(p, numeric, missing, which, request) for p in parts])[0]
        for key, (lo, hi, edges) in request.items():
            name, rank = key
            value, copies = extra.get(name, (None, 0))
            below = sum(r[key][0] for r in results)
            if value is not None and value < lo:
                below += copies
            local = rank - below
            added = value is not None and lo <= value < hi
            if edges is None:
                inside = np.concatenate([r[key][1] for r in results])
                if added:
                    inside = np.concatenate([inside, np.full(copies, value)])
                found[key] = float(np.sort(inside)[local])
                del open_[key]
                continue
            histogram = sum(r[key][1] for r in results)
            data_counts = histogram.copy()
            if added:
                histogram[np.searchsorted(edges, value, side="right") - 1] += copies
            j = int(np.searchsorted(np.cumsum(histogram), local, side="right"))
            new_lo, new_hi = float(edges[j]), float(edges[j + 1])
            if np.nextafter(new_lo, np.inf) >= new_hi:
                found[key] = new_lo  # a bracket of one representable value
                del open_[key]
            else:
                open_[key] = (new_lo, new_hi, int(data_counts[j]))
    return found


def _edges(lo, hi):
    return np.unique(np.linspace(lo, hi, HISTOGRAM_BINS + 1))


def _percentile_ranks(n, q):
    position = (n - 1) * q
    low = int(np.floor(position))
    return low, min(low + 1, n - 1), position - low


def fit_preparation_dask(frame, *, columns=None, id_column=None, scale="standard", missing="drop"):
    """A fitted :class:`Preparation` of a Dask DataFrame, computed from aggregates.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
    columns, id_column, scale
        As for :class:`Preparation`.
    missing : {'drop', 'impute', 'median'}
        'kpod' and 'masked' cluster rows with holes, which a Dask fit does not do.

    Returns
    -------
    Preparation
        ``row_mask_`` is None (the rows were not gathered).
    """
    import dask

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
    meta = frame._meta
    kinds = {
        name: "categorical" if _is_categorical_dtype(meta[name].dtype) else "numeric"
        for name in features
    }
    numeric = [n for n in features if kinds[n] == "numeric"]
    categorical = [n for n in features if kinds[n] == "categorical"]
    frame = frame[features]
    parts = frame.to_delayed()
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
    imputing = missing in ("impute", "median")
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
    # the median of the observed values of every column (np.median: mean of the middle two)
    wanted = {}
    for name, s in numeric_stats.items():
        n = s["n_observed"]
        for rank in {(n - 1) // 2, n // 2}:
            wanted[(name, rank)] = (*s["observed"], n)
    observed_ranks = _order_statistics(frame, numeric, missing, "observed", wanted, {})
    medians = {}
    for name, s in numeric_stats.items():
        n = s["n_observed"]
        middle = [observed_ranks[(name, (n - 1) // 2)], observed_ranks[(name, n // 2)]]
        medians[name] = float(np.mean(middle))
    # the kept values: under impute every row, holes as the median
    extra = {}
    for name, s in numeric_stats.items():
        if imputing and s["n_missing"]:
            extra[name] = (medians[name], s["n_missing"])
            s["kept_n"] += s["n_missing"]
            s["kept_sum"] += s["n_missing"] * medians[name]
            low, high = s["kept_range"]
            s["kept_range"] = (min(low, medians[name]), max(high, medians[name]))
            s["integer"] = s["integer"] and float(np.floor(medians[name])) == medians[name]
    wanted = {}
    for name, s in numeric_stats.items():
        n = s["kept_n"]
        for q in (0.25, 0.5, 0.75):
            low, high, _ = _percentile_ranks(n, q)
            n_data = n - extra.get(name, (None, 0))[1]
            wanted[(name, low)] = wanted[(name, high)] = (*s["kept_range"], n_data)
    kept_ranks = _order_statistics(frame, numeric, missing, "kept", wanted, extra)
    means = {name: s["kept_sum"] / s["kept_n"] for name, s in numeric_stats.items()}
    squares = dask.compute(
        [dask.delayed(_squares_pass, pure=True)(p, numeric, missing, means) for p in parts]
    )[0]
    specs = []
    holes = sum(p["holes"] for p in first)
    missing_counts = {}
    for name in features:
        if kinds[name] == "numeric":
            s = numeric_stats[name]
            n = s["kept_n"]
            square_sum = sum(q[name] for q in squares)
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
            specs.append(
                _numeric_spec(
                    name,
                    scale,
                    s,
                    medians[name],
                    means[name],
                    np.sqrt(square_sum / n),
                    quantiles,
                    kept_median,
                )
            )
            missing_counts[name] = s["n_missing"]
        else:
            partials = [p["categorical"][name] for p in first]
            spec, n_missing = _categorical_spec(name, partials, n_kept, preparation)
            specs.append(spec)
            missing_counts[name] = n_missing
    preparation.feature_names_ = features
    preparation.feature_types_ = dict(kinds)
    preparation._specs = specs
    preparation.model_feature_names_ = preparation._model_feature_names()
    preparation.n_rows_ = n_rows
    preparation.n_dropped_ = n_rows - n_kept
    preparation.n_rows_with_holes_ = int(holes)
    preparation.missing_counts_ = missing_counts
    preparation.row_mask_ = None
    return preparation


def _squares_pass(part, numeric, missing, means):
    selected = _selected(part, numeric, missing, "kept")
    return {name: float(np.sum((v - means[name]) ** 2)) for name, v in selected.items()}


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


__all__ = ["fit_preparation_dask", "transform_dask"]
