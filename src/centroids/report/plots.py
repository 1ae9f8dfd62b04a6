"""Plots of a clustering: choosing k, silhouettes, a PCA map, cluster profiles, sizes.

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot: no
figure is registered with pyplot's global state, nothing has to be closed, and the
figure is freed when the caller drops it (the caller owns it). Draw it into a file
with ``fig.savefig("plot.png")`` (or ``.svg``), or into memory with
:func:`figure_to_png_bytes` and :func:`figure_to_data_uri`, which the HTML report
uses to embed images. Nothing here calls ``plt.show``; the figures render with the
Agg canvas whatever backend is active.

The figures size themselves from their content (clusters, features, label lengths)
and use matplotlib's constrained layout, so titles, tick labels, annotations and
legends do not overlap up to at least 20 clusters and 50 features with long names.
Every plot of clusters gives cluster ``i`` (in sorted label order) the same colour,
from :func:`cluster_colors`.
"""

from __future__ import annotations

import base64
import contextlib
import io
import math
import re
import sys
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from matplotlib import colormaps, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.ticker import MaxNLocator, StrMethodFormatter
from sklearn.utils import check_random_state

from .._utils.validation import check_features

__all__ = [
    "cluster_colors",
    "figure_to_data_uri",
    "figure_to_png_bytes",
    "format_compact",
    "plot_clusters_pca",
    "plot_k_selection",
    "plot_profiles",
    "plot_silhouette",
    "plot_sizes",
]

#: Font size of tick labels, cell values and legends, in points.
FONT_SIZE = 9

#: Colour of the chosen-k line and the mean-silhouette line.
MARK_COLOR = "#c0392b"

#: Rows of dense X converted to float64 at a time when :func:`plot_profiles` averages.
PROFILE_CHUNK_ROWS = 1 << 16

#: Formats :func:`figure_to_data_uri` writes, with their MIME types.
IMAGE_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}

#: Column names of a choose_k table that :func:`plot_k_selection` draws, in panel order,
#: with their axis labels.
K_SELECTION_PANELS = {
    "inertia": "inertia\n(within-cluster sum of squares)",
    "silhouette": "mean silhouette",
    "gap": "gap statistic",
}


# -- colours, numbers, names ---------------------------------------------------------


def cluster_colors(n_clusters):
    """The colour of each of ``n_clusters`` clusters, as RGB tuples.

    The first 10 are matplotlib's qualitative ``tab10`` colours; clusters 10 to 19
    take their lighter ``tab20`` companions, and from 20 on the 20 colours repeat.
    Cluster ``i`` has the same colour whatever the number of clusters.

    Parameters
    ----------
    n_clusters : int
        Number of colours, at least 0.

    Returns
    -------
    colors : list of tuple of float
        ``n_clusters`` RGB tuples with components in [0, 1].

    Examples
    --------
    >>> from centroids.report.plots import cluster_colors
    >>> colors = cluster_colors(12)
    >>> len(colors), colors[0] == cluster_colors(3)[0], colors[0] == colors[10]
    (12, True, False)
    >>> cluster_colors(25)[20] == cluster_colors(25)[0]
    True
    """
    if not isinstance(n_clusters, Integral) or n_clusters < 0:
        raise ValueError(f"n_clusters must be an integer >= 0, got {n_clusters!r}.")
    paired = colormaps["tab20"].colors
    palette = [tuple(c) for c in paired[0::2]] + [tuple(c) for c in paired[1::2]]
    return [palette[i % len(palette)] for i in range(int(n_clusters))]


def format_compact(value):
    """A number in at most 3 significant digits, with k/M/B/T for thousands and up.

    Parameters
    ----------
    value : float
        The number.

    Returns
    -------
    text : str
        For example ``'12.3k'``, ``'-4.5M'``, ``'0.0123'``, ``'1.2e-5'``, ``'0'``.

    Examples
    --------
    >>> from centroids.report.plots import format_compact
    >>> [format_compact(v) for v in (0, 3, 12.345, 999.96, 12_345, -4_500_000, 0.01234, 1.2e-5)]
    ['0', '3', '12.3', '1k', '12.3k', '-4.5M', '0.0123', '1.2e-5']
    """
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    rounded = float(f"{abs(value):.3g}")
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if rounded >= scale:
            if rounded >= 1000 * scale:
                break  # beyond the largest suffix: exponent notation below
            return f"{sign}{float(f'{rounded / scale:.3g}'):g}{suffix}"
    text = f"{rounded:.3g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return sign + text


def _shorten(text, width, max_lines):
    """``text`` wrapped into at most ``max_lines`` lines of ``width`` characters.

    Lines break after spaces and underscores (snake_case names), inside a word only when
    it is longer than a line; text beyond the last line is cut and ends with '…'.
    """
    lines, line = [], ""
    for piece in re.split(r"(?<=[_\s])", " ".join(str(text).split())):
        if line and len(line + piece.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        line += piece
        while len(line.rstrip()) > width:
            lines.append(line[:width])
            line = line[width:]
    lines.append(line.rstrip())
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(width - 1, 1)].rstrip() + "…"
    return "\n".join(lines)


def _count(n):
    return f"{n:,}"


# -- input checks --------------------------------------------------------------------


def _check_labels(labels, n_rows, where):
    """Labels as a 1-D array (integral floats become int64), one per row of X."""
    if labels is None:
        raise TypeError(f"{where} needs labels: one cluster label per row (e.g. model.labels_).")
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(
            f"labels passed to {where} must be 1-D, one cluster label per row; "
            f"got shape {labels.shape}."
        )
    if labels.shape[0] == 0:
        raise ValueError(f"labels passed to {where} are empty: there is nothing to plot.")
    if n_rows is not None and labels.shape[0] != n_rows:
        raise ValueError(
            f"labels passed to {where} has {labels.shape[0]} entries but X has {n_rows} rows: "
            "give exactly one label per row, in the order of the rows of X."
        )
    if labels.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(labels))
        if bad.size:
            raise ValueError(
                f"labels passed to {where} contain {labels[bad[0]]} at index {bad[0]}: every "
                "row needs a cluster label (drop unassigned rows first)."
            )
        if np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
    elif labels.dtype.kind == "O":
        with contextlib.suppress(TypeError, ValueError):
            labels = np.asarray(labels.tolist())
        if labels.dtype.kind == "O":
            raise TypeError(
                f"labels passed to {where} mix types; use integers or strings for all labels."
            )
    return labels


def _cluster_index(labels, names, n_clusters, where):
    """The clusters to show and every row's position among them.

    Returns ``(clusters, codes, display_names)``: the cluster label values in display
    order, the position of each row's cluster in ``clusters``, and the text naming each
    cluster. Integer labels with ``n_clusters`` (the rows of ``centers``, or the length
    of a ``names`` sequence) show clusters ``0 .. n_clusters - 1``, empty ones included.
    """
    present = np.unique(labels)
    if names is not None and not isinstance(names, dict):
        if isinstance(names, str) or not hasattr(names, "__len__"):
            raise TypeError(
                f"names passed to {where} must be a dict {{label: name}} or a sequence with "
                f"one name per cluster, got {type(names).__name__}."
            )
        names = list(names)
        n_clusters = len(names) if n_clusters is None else n_clusters
    if (
        n_clusters is not None
        and labels.dtype.kind in "iu"
        and present[0] >= 0
        and present[-1] < n_clusters
    ):
        clusters = np.arange(n_clusters, dtype=labels.dtype)
    else:
        clusters = present
        if isinstance(names, dict) and names:
            try:
                clusters = np.unique(np.concatenate([present, np.asarray(list(names))]))
            except (TypeError, ValueError) as error:
                raise TypeError(
                    f"the keys of names passed to {where} must be labels of the same type as "
                    f"labels ({labels.dtype}): {error}"
                ) from error
            if clusters.dtype.kind != present.dtype.kind and present.dtype.kind in "iu":
                raise TypeError(
                    f"the keys of names passed to {where} must be cluster labels like "
                    f"{present[0]!r}, got {next(iter(names))!r}."
                )
    if n_clusters is not None and n_clusters != clusters.size:
        what = "names" if isinstance(names, list) else "centers"
        raise ValueError(
            f"{what} passed to {where} describes {n_clusters} clusters but labels hold "
            f"{present.size} distinct values ({_preview(present)}) that are not the integers "
            f"0 .. {n_clusters - 1}: give one entry per distinct label, in sorted label order."
        )
    if isinstance(names, list) and len(names) != clusters.size:
        raise ValueError(
            f"names passed to {where} has {len(names)} names for {clusters.size} clusters: "
            "give one name per cluster, in sorted label order, or a dict {label: name}."
        )
    codes = np.searchsorted(clusters, labels)
    if isinstance(names, dict):
        display = [str(names.get(_plain(c), c)) for c in clusters]
    elif isinstance(names, list):
        display = [str(name) for name in names]
    else:
        display = [str(_plain(c)) for c in clusters]
    return clusters, codes, display


def _plain(value):
    """A NumPy scalar as the Python value it holds (for dict look-ups and text)."""
    return value.item() if isinstance(value, np.generic) else value


def _preview(values, limit=6):
    shown = ", ".join(repr(_plain(v)) for v in values[:limit])
    return shown + (", ..." if len(values) > limit else "")


def _check_data(X, where):
    """X as a float array or CSR matrix, and its feature names (None for arrays)."""
    feature_names = None
    columns = getattr(X, "columns", None)
    if columns is not None and hasattr(X, "iloc"):
        feature_names = [str(c) for c in columns]
    X = check_features(None, X, reset=True, where=where, name=where)
    return X, feature_names


def _new_figure(width, height):
    """A constrained-layout Figure on an Agg canvas, outside pyplot's registry."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _stratified_rows(codes, n_clusters, max_rows, random_state):
    """Sorted row indices: at most about ``max_rows``, every cluster kept (≥ 20 rows each)."""
    n_rows = codes.shape[0]
    if n_rows <= max_rows:
        return np.arange(n_rows)
    rng = check_random_state(random_state)
    sizes = np.bincount(codes, minlength=n_clusters)
    quota = np.minimum(sizes, np.maximum(np.round(sizes * (max_rows / n_rows)), 20)).astype(int)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    chosen = [
        order[starts[c] : starts[c + 1]][rng.choice(sizes[c], quota[c], replace=False)]
        for c in range(n_clusters)
        if quota[c]
    ]
    return np.sort(np.concatenate(chosen))


# -- rendering -----------------------------------------------------------------------


def _release(fig):
    """Close ``fig`` in pyplot if pyplot manages it (figures made here never are)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None and fig.canvas.manager is not None:
        pyplot.close(fig)


def _render(fig, image_format, dpi, close):
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}.")
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"format must be one of {sorted(IMAGE_FORMATS)}, got {image_format!r}.")
    if not isinstance(dpi, Integral | float) or not 10 <= dpi <= 1200:
        raise ValueError(f"dpi must be a number between 10 and 1200, got {dpi!r}.")
    buffer = io.BytesIO()
    # A fixed hash salt and no date make the SVG of the same figure byte-identical.
    with rc_context({"svg.hashsalt": "centroids"}):
        metadata = {"Date": None} if image_format == "svg" else None
        fig.savefig(buffer, format=image_format, dpi=dpi, metadata=metadata)
    if close:
        _release(fig)
    return buffer.getvalue()


def figure_to_png_bytes(fig, *, dpi=100, close=True):
    """The PNG image of a figure, as bytes.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to render.
    dpi : float, default=100
        Pixels per inch of the image (the figure's size is in inches).
    close : bool, default=True
        Close the figure in pyplot after rendering when pyplot manages it (a figure
        from ``plt.figure``), so that rendering many figures leaks none. The figures of
        this module are not managed by pyplot and need no closing; they stay usable.

    Returns
    -------
    png : bytes
        The PNG file's content.

    Examples
    --------
    >>> from centroids.report.plots import figure_to_png_bytes, plot_sizes
    >>> png = figure_to_png_bytes(plot_sizes([0, 0, 1]), dpi=50)
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    return _render(fig, "png", dpi, close)


def figure_to_data_uri(fig, format="png", *, dpi=100, close=True):
    """A figure as a ``data:`` URI to embed in HTML (``<img src="...">``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to render.
    format : {'png', 'svg'}, default='png'
        Image format: PNG (raster) or SVG (vector; text drawn as paths, so the image
        looks the same without the fonts). The SVG carries no date, so the same
        figure always gives the same URI.
    dpi : float, default=100
        Pixels per inch of a PNG image.
    close : bool, default=True
        As for :func:`figure_to_png_bytes`.

    Returns
    -------
    uri : str
        ``'data:image/png;base64,...'`` or ``'data:image/svg+xml;base64,...'``.

    Examples
    --------
    >>> from centroids.report.plots import figure_to_data_uri, plot_sizes
    >>> figure_to_data_uri(plot_sizes([0, 1, 1]), "svg")[:26]
    'data:image/svg+xml;base64,'
    """
    content = _render(fig, format, dpi, close)
    return f"data:{IMAGE_FORMATS[format]};base64,{base64.b64encode(content).decode('ascii')}"


# -- choosing k ----------------------------------------------------------------------


def _k_selection_table(result, table):
    import pandas as pd

    if table is None:
        if isinstance(result, pd.DataFrame):
            table = result
        elif result is not None:
            table = getattr(result, "table", None)
            if table is None:
                raise TypeError(
                    "plot_k_selection needs a choose_k result (an object with a `table` "
                    f"attribute) or table=DataFrame; got {type(result).__name__} without one."
                )
        else:
            raise TypeError(
                "plot_k_selection needs a choose_k result or table=DataFrame indexed by k."
            )
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame indexed by k, got {type(table)}.")
    if "k" in table.columns:
        table = table.set_index("k")
    if table.shape[0] == 0:
        raise ValueError("the k-selection table is empty: it needs one row per k tried.")
    try:
        ks = np.asarray(table.index, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"the k-selection table must be indexed by the numbers of clusters k, got index "
            f"{list(table.index)[:5]} ({error})."
        ) from error
    if not np.all(np.isfinite(ks)) or np.any(ks != np.round(ks)) or np.any(ks < 1):
        raise ValueError(
            f"the k-selection table must be indexed by integers k >= 1, got {list(ks)[:8]}."
        )
    if np.unique(ks).size != ks.size:
        raise ValueError("the k-selection table has the same k on several rows; keep one each.")
    table = table.copy()
    table.index = ks.astype(np.int64)
    return table.sort_index()


def _check_mark(value, ks, name):
    if value is None:
        return None
    if not isinstance(value, Integral | np.integer) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer number of clusters or None, got {value!r}.")
    if int(value) not in set(ks.tolist()):
        raise ValueError(
            f"{name}={value} is not among the k of the table ({_preview(ks, 12)}): mark a k "
            "that was tried."
        )
    return int(value)


def plot_k_selection(result=None, *, table=None, k=None, elbow=None, figsize=None):
    """Elbow, silhouette (and gap) against k on one figure, the chosen k marked.

    Stacked panels that share the k axis: the inertia with its elbow (the knee of the
    curve) ringed, the mean silhouette, and the gap statistic with its standard error
    when the table has those columns. A vertical line across every panel marks the
    chosen k, annotated above the top panel; the reason for the choice is the title.

    Parameters
    ----------
    result : object or DataFrame, default=None
        What :func:`centroids.evaluate.choose_k.choose_k` returns (read through its
        attributes ``table``, ``k``, ``elbow`` and ``reason``), or the table itself.
    table : DataFrame, default=None
        The scores by k instead of a result: indexed by k (or with a ``k`` column), with
        any of the columns ``inertia``, ``silhouette``, ``gap`` (and ``gap_se``). NaN
        values (no silhouette for k = 1) are left out of the curves.
    k : int, default=None
        The chosen k; defaults to ``result.k``. None draws no line.
    elbow : int, default=None
        The k at the elbow of the inertia curve; defaults to ``result.elbow``.
    figsize : tuple of float, default=None
        Width and height in inches; by default 7.5 wide and 2.4 per panel.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (not registered with pyplot; the caller owns it).

    Examples
    --------
    >>> import pandas as pd
    >>> from centroids.report.plots import plot_k_selection
    >>> table = pd.DataFrame(
    ...     {"inertia": [900.0, 300.0, 120.0, 100.0, 90.0],
    ...      "silhouette": [float("nan"), 0.55, 0.71, 0.52, 0.44]},
    ...     index=pd.Index([1, 2, 3, 4, 5], name="k"))
    >>> fig = plot_k_selection(table=table, k=3, elbow=3)
    >>> [ax.get_ylabel().split("\\n")[0] for ax in fig.axes]
    ['inertia', 'mean silhouette']
    """
    table = _k_selection_table(result, table)
    ks = table.index.to_numpy()
    k = _check_mark(k if k is not None else getattr(result, "k", None), ks, "k")
    elbow = _check_mark(elbow if elbow is not None else getattr(result, "elbow", None), ks, "elbow")
    reason = getattr(result, "reason", None)
    panels = _k_selection_panels(table)
    width, height = figsize or (7.5, 1.2 + 2.4 * len(panels))
    fig = _new_figure(width, height)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (column, values) in zip(axes, panels, strict=True):
        _draw_k_panel(ax, column, values, ks, table, k, elbow)
    bottom = axes[-1]
    bottom.set_xlabel("number of clusters k", fontsize=FONT_SIZE + 1)
    if ks.size <= 30:
        bottom.set_xticks(ks)
    else:
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    if k is not None:
        _annotate_chosen_k(axes[0], k)
    headline = "Choosing the number of clusters: " + (
        f"k = {k}" if k is not None else "no k recommended"
    )
    if reason:
        headline += "\n" + _shorten(reason, width=max(int(width * 13), 40), max_lines=3)
    fig.suptitle(headline, fontsize=FONT_SIZE + 2)
    return fig


def _k_selection_panels(table):
    """(column, values) of every score column of the table with a finite value, in the
    order of :data:`K_SELECTION_PANELS`."""
    panels = []
    for column in K_SELECTION_PANELS:
        if column in table.columns:
            values = np.asarray(table[column], dtype=np.float64)
            if np.isfinite(values).any():
                panels.append((column, values))
    if not panels:
        raise ValueError(
            "the k-selection table has no finite values in any of the columns "
            f"{list(K_SELECTION_PANELS)}; it has columns {list(table.columns)}."
        )
    return panels


def _draw_k_panel(ax, column, values, ks, table, k, elbow):
    """One score against k: the gap with its error bars, the best silhouette and the
    elbow of the inertia ringed, the chosen k as a dashed line."""
    finite = np.isfinite(values)
    if column == "gap" and "gap_se" in table.columns:
        errors = np.nan_to_num(np.asarray(table["gap_se"], dtype=np.float64)[finite])
        ax.errorbar(
            ks[finite],
            values[finite],
            yerr=errors,
            fmt="o-",
            color="C0",
            capsize=3,
            markersize=4,
            label="gap ± standard error",
        )
    else:
        ax.plot(ks[finite], values[finite], "o-", color="C0", markersize=4)
    if column == "silhouette":
        best = ks[finite][np.argmax(values[finite])]
        _ring(ax, best, values[ks == best][0], "C2", f"highest silhouette (k = {best})")
    if column == "inertia" and elbow is not None and np.isfinite(values[ks == elbow][0]):
        _ring(ax, elbow, values[ks == elbow][0], "C1", f"elbow (k = {elbow})")
    if k is not None:
        ax.axvline(k, color=MARK_COLOR, linestyle="--", linewidth=1.4)
    ax.set_ylabel(K_SELECTION_PANELS[column], fontsize=FONT_SIZE + 1)
    ax.grid(True, alpha=0.3)
    ax.tick_params(labelsize=FONT_SIZE)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=FONT_SIZE, loc="best", framealpha=0.9)


def _ring(ax, x, y, color, label):
    """An open circle around the point (x, y), named in the legend."""
    ax.plot(
        [x],
        [y],
        "o",
        markersize=11,
        markerfacecolor="none",
        markeredgecolor=color,
        markeredgewidth=1.8,
        linestyle="none",
        label=label,
    )


def _annotate_chosen_k(ax, k):
    """The label ``chosen k = K`` above the top panel, over the chosen k's line."""
    low, high = ax.get_xlim()
    where_on_axis = (k - low) / (high - low) if high > low else 0.5
    # Near an end of the axis the text runs inwards, clear of the corner tick labels.
    align = "left" if where_on_axis < 0.15 else "right" if where_on_axis > 0.85 else "center"
    ax.annotate(
        f"chosen k = {k}",
        xy=(k, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(0, 6),
        textcoords="offset points",
        ha=align,
        va="bottom",
        color=MARK_COLOR,
        fontsize=FONT_SIZE + 1,
        fontweight="bold",
        annotation_clip=False,
    )


# -- silhouette ----------------------------------------------------------------------


def _band_heights(sizes, axes_height_points, label_points):
    """Height of each cluster's band, in rows: its size, widened to fit one label."""
    sizes = sizes.astype(np.float64)
    share = min(label_points / axes_height_points, 0.9 / max(sizes.size, 1))
    heights = sizes.copy()
    for _ in range(4):  # the minimum is a share of the total, which the minimum raises
        heights = np.maximum(sizes, share * heights.sum() * 1.06)
    return heights


def plot_silhouette(
    X,
    labels,
    *,
    sample_values=None,
    metric="euclidean",
    sample_size=None,
    random_state=0,
    names=None,
    max_points=5_000,
    figsize=None,
):
    """Silhouette plot: each cluster's rows as bars sorted by silhouette, mean marked.

    Each cluster is a band of horizontal bars, one per row, from the highest
    silhouette to the lowest; the band's height follows the cluster's size (tiny
    clusters are widened to fit their label). Wide bands that reach far right are
    compact, separated clusters; bars to the left of 0 are rows closer to another
    cluster than to their own. The dashed line is the mean silhouette of all rows.

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features) or None
        The clustered rows; may be None when ``sample_values`` are given.
    labels : array-like of shape (n_samples,)
        The cluster of every row; at least 2 distinct labels.
    sample_values : array-like of shape (n_samples,), default=None
        Silhouette values already computed (e.g. by
        :func:`centroids.evaluate.metrics.silhouette_samples`); computed from X when None.
    metric : str or callable, default='euclidean'
        Distance passed to ``silhouette_samples``.
    sample_size : int, default=None
        Compute silhouettes on a random sample of this many rows (every cluster kept,
        with at least 20 rows or all of its rows) instead of all rows: the computation
        takes time quadratic in the rows. None uses every row; ignored when
        ``sample_values`` are given.
    random_state : int, RandomState instance or None, default=0
        Seed of that sample.
    names : dict or sequence, default=None
        Cluster names: ``{label: name}`` or one name per cluster in sorted label order.
    max_points : int, default=5000
        Most bars drawn; a larger cluster is drawn from evenly spaced quantiles of its
        sorted values (the shape of the band is kept). The title says so.
    figsize : tuple of float, default=None
        Width and height in inches; by default 7.5 wide and tall enough for the labels.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (not registered with pyplot; the caller owns it).

    Examples
    --------
    >>> import numpy as np
    >>> from centroids.report.plots import plot_silhouette
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.3]])
    >>> fig = plot_silhouette(X, [0, 0, 0, 1, 1, 1])
    >>> [label.get_text() for label in fig.axes[0].get_yticklabels()]
    ['0', '1']
    """
    where = "plot_silhouette"
    X, labels, clusters, codes, display = _silhouette_clusters(
        X, labels, sample_values, names, max_points, where
    )
    n_total = labels.shape[0]
    if sample_values is not None:
        values = _given_silhouettes(sample_values, labels)
        rows = np.arange(n_total)
    else:
        rows, values = _computed_silhouettes(
            X, codes, clusters.size, metric, sample_size, random_state, where
        )
    row_codes = codes[rows]
    band_labels = [_shorten(name, 28, 2) for name in display]
    label_lines = max(label.count("\n") + 1 for label in band_labels)
    per_cluster = 0.3 if label_lines == 1 else 0.46
    width, height = figsize or (7.5, max(4.0, 1.6 + per_cluster * clusters.size))
    fig = _new_figure(width, height)
    ax = fig.add_subplot()
    sizes = np.bincount(row_codes, minlength=clusters.size)
    heights = _band_heights(sizes, (height - 1.6) * 72, (0.5 + 1.25 * label_lines) * FONT_SIZE)
    y_end, shown_bars, ticks = _draw_silhouette_bands(
        ax, values, row_codes, heights, band_labels, max_points
    )
    _label_silhouette_axes(ax, values, y_end, ticks)
    title = f"Silhouette of {_count(rows.size)} rows in {clusters.size} clusters"
    notes = []
    if rows.size < n_total:
        notes.append(f"a random sample of {_count(rows.size)} of {_count(n_total)} rows")
    if shown_bars < rows.size:
        notes.append(f"{_count(shown_bars)} evenly spaced quantiles drawn")
    if notes:
        title += "\n(" + "; ".join(notes) + ")"
    ax.set_title(title, fontsize=FONT_SIZE + 2)
    return fig


def _silhouette_clusters(X, labels, sample_values, names, max_points, where):
    """``(X, labels, clusters, codes, display names)`` of a silhouette plot, its data,
    labels and ``max_points`` checked (X as the silhouette computation takes it)."""
    if sample_values is None and X is None:
        raise TypeError(f"{where} needs X, or the silhouette values as sample_values.")
    if X is not None:
        X, _ = _check_data(X, where)
    labels = _check_labels(labels, None if X is None else X.shape[0], where)
    clusters, codes, display = _cluster_index(labels, names, None, where)
    if np.unique(codes).size < 2:
        raise ValueError(
            f"{where} needs at least 2 clusters, but labels hold one value "
            f"({_preview(np.unique(labels))}): a silhouette compares a row's own cluster with "
            "the nearest other one."
        )
    if not isinstance(max_points, Integral) or max_points < 2 * clusters.size:
        raise ValueError(
            f"max_points must be an integer >= 2 per cluster ({2 * clusters.size}), "
            f"got {max_points!r}."
        )
    return X, labels, clusters, codes, display


def _given_silhouettes(sample_values, labels):
    """``sample_values`` checked: one finite value in [-1, 1] per row."""
    values = np.asarray(sample_values, dtype=np.float64)
    if values.shape != labels.shape:
        raise ValueError(
            f"sample_values has shape {values.shape} but labels has shape {labels.shape}: "
            "give one silhouette value per row."
        )
    bad = np.flatnonzero(~np.isfinite(values) | (np.abs(values) > 1 + 1e-9))
    if bad.size:
        raise ValueError(
            f"sample_values holds {values[bad[0]]} at index {bad[0]}: silhouette values "
            "are finite numbers in [-1, 1]."
        )
    return values


def _computed_silhouettes(X, codes, n_clusters, metric, sample_size, random_state, where):
    """``(rows, silhouette of each)``: every row, or a stratified sample of
    ``sample_size`` rows."""
    from ..evaluate.metrics import silhouette_samples

    n_total = codes.shape[0]
    rows = np.arange(n_total)
    if sample_size is not None:
        if not isinstance(sample_size, Integral) or sample_size < 2:
            raise ValueError(f"sample_size must be an integer >= 2 or None, got {sample_size!r}.")
        rows = _stratified_rows(codes, n_clusters, int(sample_size), random_state)
    if np.unique(codes[rows]).size >= rows.size:
        raise ValueError(
            f"{where} needs fewer clusters than rows: {rows.size} rows in "
            f"{np.unique(codes[rows]).size} clusters leave every row alone in its cluster."
        )
    X_rows = X[rows] if rows.size < n_total else X
    return rows, np.asarray(silhouette_samples(X_rows, codes[rows], metric=metric))


def _draw_silhouette_bands(ax, values, row_codes, heights, band_labels, max_points):
    """One band per cluster, its rows' silhouettes sorted, drawn as one step outline.

    Returns ``(bottom of the last band, bars drawn, (tick positions, tick labels))``.
    """
    colors = cluster_colors(len(heights))
    gap = 0.025 * heights.sum()
    shown_bars = 0
    y_start, tick_positions, tick_labels = gap, [], []
    for position in range(len(heights)):
        cluster_values = np.sort(values[row_codes == position])[::-1]
        if cluster_values.size == 0:
            continue
        budget = max(2, round(max_points * cluster_values.size / row_codes.size))
        if cluster_values.size > budget:
            picks = np.linspace(0, cluster_values.size - 1, budget).round().astype(int)
            cluster_values = cluster_values[picks]
        shown_bars += cluster_values.size
        edges = y_start + np.linspace(0, heights[position], cluster_values.size + 1)
        # One step outline per band: from (0, top) along every bar's end to (0, bottom).
        outline = np.empty((2 * cluster_values.size + 2, 2))
        outline[0], outline[-1] = (0.0, edges[0]), (0.0, edges[-1])
        outline[1:-1, 0] = np.repeat(cluster_values, 2)
        outline[1:-1, 1] = np.repeat(edges, 2)[1:-1]
        ax.add_patch(
            Polygon(
                outline,
                closed=True,
                facecolor=colors[position],
                edgecolor=colors[position],
                linewidth=0.3,
            )
        )
        tick_positions.append(y_start + heights[position] / 2)
        tick_labels.append(band_labels[position])
        y_start += heights[position] + gap
    return y_start, shown_bars, (tick_positions, tick_labels)


def _label_silhouette_axes(ax, values, y_end, ticks):
    """The mean silhouette and zero lines, the limits, the cluster ticks and the labels."""
    mean = float(values.mean())
    ax.axvline(
        mean, color=MARK_COLOR, linestyle="--", linewidth=1.4, label=f"mean silhouette = {mean:.3f}"
    )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_ylim(y_end, 0)
    ax.set_yticks(*ticks, fontsize=FONT_SIZE)
    ax.tick_params(axis="y", length=0)
    low = min(-0.1, float(values.min()) - 0.05)
    ax.set_xlim(low, 1.0)
    ax.set_xlabel("silhouette coefficient", fontsize=FONT_SIZE + 1)
    ax.set_ylabel("cluster (band height ∝ rows)", fontsize=FONT_SIZE + 1)
    ax.tick_params(axis="x", labelsize=FONT_SIZE)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=FONT_SIZE, framealpha=0.9)


# -- PCA map -------------------------------------------------------------------------


def _check_centers(centers, n_features, where):
    try:
        centers = np.asarray(centers, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"centers passed to {where} must be numbers: {error}") from error
    if centers.ndim != 2 or centers.shape[1] != n_features:
        raise ValueError(
            f"centers passed to {where} must have shape (n_clusters, {n_features}) like "
            f"model.cluster_centers_, got shape {centers.shape}."
        )
    if not np.isfinite(centers).all():
        raise ValueError(f"centers passed to {where} contain NaN or infinite values.")
    return centers


def plot_clusters_pca(
    X,
    labels,
    centers=None,
    *,
    max_points=20_000,
    random_state=0,
    names=None,
    figsize=None,
):
    """The clusters on the first two principal components of X, with their centers.

    PCA (scikit-learn's) is fitted on every row; the points drawn are a random sample
    of at most ``max_points`` rows that keeps every cluster (the title says so), in
    random order so that no cluster hides the others. The centers are projected with
    the same PCA and drawn as large crosses. The axis labels give the share of the
    variance each component explains: a small total means the map flattens much of
    the structure.

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The clustered rows, in the space the clustering used.
    labels : array-like of shape (n_samples,)
        The cluster of every row.
    centers : array-like of shape (n_clusters, n_features), default=None
        The cluster centers (``model.cluster_centers_``): center ``i`` belongs to label
        ``i`` for integer labels, otherwise to the ``i``-th label in sorted order.
    max_points : int, default=20000
        Most rows drawn.
    random_state : int, RandomState instance or None, default=0
        Seed of the rows drawn and their order (and of a randomized PCA).
    names : dict or sequence, default=None
        Cluster names for the legend: ``{label: name}`` or one per cluster.
    figsize : tuple of float, default=None
        Width and height in inches; by default 8.5 × 6, wider for many clusters.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (not registered with pyplot; the caller owns it).

    Examples
    --------
    >>> import numpy as np
    >>> from centroids.report.plots import plot_clusters_pca
    >>> X = np.random.default_rng(0).normal(size=(60, 3))
    >>> labels = (X[:, 0] > 0).astype(int)
    >>> centers = np.array([X[labels == 0].mean(axis=0), X[labels == 1].mean(axis=0)])
    >>> fig = plot_clusters_pca(X, labels, centers)
    >>> fig.axes[0].get_xlabel().startswith("PC1")
    True
    """
    where = "plot_clusters_pca"
    X, _ = _check_data(X, where)
    labels = _check_labels(labels, X.shape[0], where)
    if centers is not None:
        centers = _check_centers(centers, X.shape[1], where)
    clusters, codes, display = _cluster_index(
        labels, names, None if centers is None else centers.shape[0], where
    )
    if not isinstance(max_points, Integral) or max_points < 1:
        raise ValueError(f"max_points must be an integer >= 1, got {max_points!r}.")
    rng = check_random_state(random_state)
    n_rows = X.shape[0]
    if n_rows < 2:
        raise ValueError(f"{where} needs at least 2 rows to find principal components, got 1.")
    pca, rows, points = _pca_points(X, codes, clusters.size, max_points, rng)

    colors = np.asarray(cluster_colors(clusters.size))
    legend_columns = 1 if clusters.size <= 20 else math.ceil(clusters.size / 20)
    width, height = figsize or (8.5 + 1.5 * (legend_columns - 1), 6.0)
    fig = _new_figure(width, height)
    ax = fig.add_subplot()
    handles = _scatter_pca_points(ax, points, colors[codes[rows]], colors, display)
    if centers is not None:
        handles.append(_scatter_pca_centers(ax, pca, centers, colors))
    ax.legend(
        handles=handles,
        title="cluster",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=FONT_SIZE,
        title_fontsize=FONT_SIZE + 1,
        ncols=legend_columns,
        frameon=False,
        borderaxespad=0.0,
    )
    _label_pca_axes(ax, pca)
    title = f"{clusters.size} clusters on the first two principal components"
    if rows.size < n_rows:
        title += (
            f"\n(a random sample of {_count(rows.size)} of {_count(n_rows)} rows shown; "
            "PCA fitted on all rows)"
        )
    ax.set_title(title, fontsize=FONT_SIZE + 2)
    return fig


def _pca_points(X, codes, n_clusters, max_points, rng):
    """``(fitted PCA, rows shown, their 2-D points)``: PCA on every row, a stratified
    sample of at most ``max_points`` rows in random order (one component: the second
    coordinate is a random vertical spread). Draws from ``rng`` in that order."""
    from sklearn.decomposition import PCA

    n_features = X.shape[1]
    n_components = min(2, n_features)
    solver = "auto"
    if sp.issparse(X):  # no centring copy: the covariance for few features, else ARPACK
        small = n_features <= 1000 or n_components >= min(X.shape)
        solver = "covariance_eigh" if small else "arpack"
    pca = PCA(n_components, svd_solver=solver, random_state=rng.randint(2**31 - 1))
    pca.fit(X)
    rows = _stratified_rows(codes, n_clusters, max_points, rng)
    rows = rows[rng.permutation(rows.size)]
    points = pca.transform(X[rows])
    if n_components < 2:  # one feature (or one row): spread the points vertically
        points = np.column_stack([points[:, 0], rng.uniform(-0.5, 0.5, rows.size)])
    return pca, rows, points


def _scatter_pca_points(ax, points, point_colors, colors, display):
    """The rows' points, sized and faded by their number; one legend handle a cluster."""
    n_points = points.shape[0]
    point_size = float(np.clip(20_000 / n_points, 3.0, 30.0))
    alpha = 0.85 if n_points <= 5000 else 0.5
    ax.scatter(
        points[:, 0],
        points[:, 1],
        s=point_size,
        c=point_colors,
        alpha=alpha,
        linewidths=0,
        rasterized=n_points > 2000,
    )
    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=7,
            markerfacecolor=colors[i],
            markeredgecolor="none",
            label=_shorten(display[i], 36, 1),
        )
        for i in range(len(display))
    ]


def _scatter_pca_centers(ax, pca, centers, colors):
    """The centers as crosses in their clusters' colours; returns their legend handle."""
    projected = pca.transform(centers)
    if pca.n_components_ < 2:
        projected = np.column_stack([projected[:, 0], np.zeros(projected.shape[0])])
    ax.scatter(
        projected[:, 0],
        projected[:, 1],
        s=170,
        marker="X",
        c=colors,
        edgecolors="black",
        linewidths=1.3,
        zorder=3,
    )
    return Line2D(
        [],
        [],
        marker="X",
        linestyle="none",
        markersize=10,
        markerfacecolor="white",
        markeredgecolor="black",
        markeredgewidth=1.3,
        label="centers",
    )


def _label_pca_axes(ax, pca):
    """Each axis labelled with its share of the variance (one feature: no second)."""
    ratios = np.zeros(2)
    ratios[: pca.n_components_] = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({ratios[0]:.1%} of variance)", fontsize=FONT_SIZE + 1)
    if pca.n_components_ < 2:
        ax.set_ylabel("random vertical spread (X has one feature)", fontsize=FONT_SIZE + 1)
        ax.set_yticks([])
    else:
        ax.set_ylabel(f"PC2 ({ratios[1]:.1%} of variance)", fontsize=FONT_SIZE + 1)
    ax.tick_params(labelsize=FONT_SIZE)
    ax.grid(True, alpha=0.25)


# -- profiles ------------------------------------------------------------------------


def _cluster_means(X, codes, n_clusters):
    """Per-cluster means (n_clusters × d), overall means and standard deviations (d).

    Dense X is read in blocks of ``PROFILE_CHUNK_ROWS`` rows converted to float64 (two
    passes: sums, then squared deviations from the overall mean); sparse X stays sparse.
    """
    n_rows, n_features = X.shape
    sizes = np.bincount(codes, minlength=n_clusters).astype(np.float64)
    if sp.issparse(X):
        indicator = sp.csr_matrix(
            (np.ones(n_rows), (codes, np.arange(n_rows))), shape=(n_clusters, n_rows)
        )
        sums = (indicator @ X.astype(np.float64)).toarray()
        overall = sums.sum(axis=0) / n_rows
        squares = np.asarray(X.multiply(X).sum(axis=0), dtype=np.float64).ravel() / n_rows
        spread = np.sqrt(np.maximum(squares - overall**2, 0.0))
    else:
        blocks = [
            (start, min(start + PROFILE_CHUNK_ROWS, n_rows))
            for start in range(0, n_rows, PROFILE_CHUNK_ROWS)
        ]
        sums = np.zeros((n_clusters, n_features))
        for start, stop in blocks:
            rows = stop - start
            indicator = sp.csr_matrix(
                (np.ones(rows), (codes[start:stop], np.arange(rows))), shape=(n_clusters, rows)
            )
            sums += indicator @ np.asarray(X[start:stop], dtype=np.float64)
        overall = sums.sum(axis=0) / n_rows
        squared_deviations = np.zeros(n_features)
        for start, stop in blocks:
            deviations = np.asarray(X[start:stop], dtype=np.float64) - overall
            squared_deviations += np.einsum("ij,ij->j", deviations, deviations)
        spread = np.sqrt(squared_deviations / n_rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / sizes[:, None]
    return means, overall, spread, sizes


def _luminance(rgb):
    red, green, blue = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def plot_profiles(
    X,
    labels,
    feature_names=None,
    *,
    scale_colors="zscore",
    names=None,
    max_features=50,
    annotate="auto",
    figsize=None,
):
    """Heatmap of cluster profiles: the mean of every feature in every cluster.

    Rows are clusters, columns features. Each cell shows the cluster's mean of the
    feature in the feature's own units (3 significant digits, 12.3k for thousands);
    its colour says how far that mean is from the mean of all rows, in standard
    deviations of the feature, so that features on different scales compare: red
    above the overall mean, blue below. Pass X in original units (before scaling) to
    read the means as they were measured.

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The rows; a DataFrame's column names name the features.
    labels : array-like of shape (n_samples,)
        The cluster of every row.
    feature_names : sequence of str, default=None
        Names of the features; X's columns, or ``x0, x1, ...``, by default.
    scale_colors : {'zscore', 'minmax'}, default='zscore'
        'zscore': colour = (cluster mean − overall mean) / overall standard deviation,
        on a diverging scale centred on 0 and clipped at ±2.5. 'minmax': each
        feature's cluster means scaled to [0, 1] between its lowest and highest
        cluster mean.
    names : dict or sequence, default=None
        Cluster names for the rows: ``{label: name}`` or one per cluster.
    max_features : int, default=50
        Most features shown; beyond it, the features whose cluster means differ most
        from their overall mean (largest absolute z-score in any cluster), in their
        original order. The title says how many were left out.
    annotate : 'auto' or bool, default='auto'
        Write the means in the cells; 'auto' writes them up to 2,000 cells.
    figsize : tuple of float, default=None
        Width and height in inches; by default sized from the number of clusters,
        features and the length of their names.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (not registered with pyplot; the caller owns it).

    Examples
    --------
    >>> import pandas as pd
    >>> from centroids.report.plots import plot_profiles
    >>> X = pd.DataFrame({"income": [20e3, 22e3, 90e3, 95e3], "age": [25, 30, 50, 55]})
    >>> fig = plot_profiles(X, [0, 0, 1, 1])
    >>> sorted(t.get_text() for t in fig.axes[0].texts)
    ['21k', '27.5', '52.5', '92.5k']
    """
    where = "plot_profiles"
    if scale_colors not in ("zscore", "minmax"):
        raise ValueError(f"scale_colors must be 'zscore' or 'minmax', got {scale_colors!r}.")
    if annotate not in ("auto", True, False):
        raise ValueError(f"annotate must be 'auto', True or False, got {annotate!r}.")
    if not isinstance(max_features, Integral) or max_features < 1:
        raise ValueError(f"max_features must be an integer >= 1, got {max_features!r}.")
    X, column_names = _check_data(X, where)
    n_features = X.shape[1]
    feature_names = _profile_feature_names(feature_names, column_names, n_features)
    labels = _check_labels(labels, X.shape[0], where)
    means, zscores, display = _profile_means(X, labels, names, where)
    n_clusters = means.shape[0]
    kept = _strongest_features(zscores, max_features)
    means, zscores = means[:, kept], zscores[:, kept]
    shown_names = [feature_names[j] for j in kept]
    n_shown = kept.size
    colours, norm, cmap, bar_label, extend = _profile_colours(means, zscores, scale_colors)
    if annotate == "auto":
        annotate = n_clusters * n_shown <= 2000
    column_labels, horizontal, row_labels, default_size = _profile_layout(
        shown_names, display, annotate
    )
    width, height = figsize or default_size
    fig = _new_figure(width, height)
    ax = fig.add_subplot()
    image = ax.imshow(colours, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    _profile_grid(ax, column_labels, row_labels, horizontal)
    if annotate:
        _annotate_profile(ax, means, colours, cmap, norm)
    colorbar = fig.colorbar(
        image,
        ax=ax,
        shrink=min(1.0, 3.5 / max(height - 1.5, 1.0)),  # about 3.5 inches at most
        extend=extend,
        pad=0.02,
    )
    colorbar.set_label(bar_label, fontsize=FONT_SIZE)
    colorbar.ax.tick_params(labelsize=FONT_SIZE)
    ax.set_ylabel("cluster", fontsize=FONT_SIZE + 1)
    title = "Cluster profiles: mean of each feature"
    if n_shown < n_features:
        title += (
            f"\n(the {n_shown} of {n_features} features whose cluster means differ most "
            "from the overall mean)"
        )
    fig.suptitle(title, fontsize=FONT_SIZE + 2)
    return fig


def _profile_feature_names(feature_names, column_names, n_features):
    """The name of each of the ``n_features`` columns: given, the frame's, or x0, x1..."""
    if feature_names is None:
        return column_names or [f"x{j}" for j in range(n_features)]
    if isinstance(feature_names, str):
        raise TypeError("feature_names must be a sequence of names, not one string.")
    feature_names = [str(name) for name in feature_names]
    if len(feature_names) != n_features:
        raise ValueError(
            f"feature_names has {len(feature_names)} names but X has {n_features} "
            "features: give one name per column."
        )
    return feature_names


def _profile_means(X, labels, names, where):
    """``(means, z-scores, display names)`` of the clusters that have rows: each cluster's
    mean of each feature, and its distance from the overall mean in standard deviations."""
    clusters, codes, display = _cluster_index(labels, names, None, where)
    means, overall, spread, sizes = _cluster_means(X, codes, clusters.size)
    present = sizes > 0  # a name given for a label without rows has no profile
    means = means[present]
    display = [name for name, keep in zip(display, present, strict=True) if keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        zscores = np.where(spread > 0, (means - overall) / np.where(spread > 0, spread, 1), 0.0)
    return means, zscores, display


def _strongest_features(zscores, max_features):
    """The columns shown: all, or the ``max_features`` whose cluster means differ most
    from the overall mean, in their order."""
    n_features = zscores.shape[1]
    if n_features <= max_features:
        return np.arange(n_features)
    strength = np.abs(zscores).max(axis=0)
    return np.sort(np.argsort(-strength, kind="stable")[:max_features])


def _profile_colours(means, zscores, scale_colors):
    """``(cell values, norm, colour map, colour bar label, colour bar extend)``."""
    if scale_colors == "zscore":
        limit = 2.5
        extend = "both" if np.abs(zscores).max() > limit else "neither"
        return (
            zscores,
            Normalize(-limit, limit),
            colormaps["RdBu_r"],
            "cluster mean − overall mean\n(standard deviations)",
            extend,
        )
    low, high = means.min(axis=0), means.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return (
        np.where(high > low, (means - low) / span, 0.5),
        Normalize(0.0, 1.0),
        colormaps["viridis"],
        "cluster mean, from the feature's\nlowest (0) to highest (1) cluster mean",
        "neither",
    )


def _profile_layout(shown_names, display, annotate):
    """``(column labels, horizontal, row labels, default figure size)``: cells wide enough
    for '-12.3k' when annotated, labels wrapped."""
    n_shown, n_clusters = len(shown_names), len(display)
    cell_width = 0.62 if annotate else 0.32
    line_points = FONT_SIZE * 1.25
    horizontal = max(len(name) for name in shown_names) <= 7
    if horizontal:
        column_labels = shown_names
        label_depth = line_points / 72
    else:
        lines = max(1, min(2, int(cell_width * 72 // line_points)))
        column_labels = [_shorten(name, 24, lines) for name in shown_names]
        label_depth = max(len(line) for c in column_labels for line in c.split("\n")) * 0.075
    row_labels = [_shorten(name, 28, 2) for name in display]
    two_line_rows = any("\n" in label for label in row_labels)
    cell_height = 0.5 if two_line_rows else 0.34
    row_label_width = max(len(line) for c in row_labels for line in c.split("\n")) * 0.075
    default_size = (
        min(max(row_label_width + 0.5 + n_shown * cell_width + 1.6, 5.0), 45.0),
        min(max(label_depth + 1.2 + n_clusters * cell_height, 3.0), 45.0),
    )
    return column_labels, horizontal, row_labels, default_size


def _profile_grid(ax, column_labels, row_labels, horizontal):
    """Feature labels on top, cluster labels on the left, white lines between cells."""
    n_shown, n_clusters = len(column_labels), len(row_labels)
    ax.set_xticks(
        np.arange(n_shown), column_labels, fontsize=FONT_SIZE, rotation=0 if horizontal else 90
    )
    ax.set_yticks(np.arange(n_clusters), row_labels, fontsize=FONT_SIZE)
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    ax.set_xticks(np.arange(n_shown + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(n_clusters + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _annotate_profile(ax, means, colours, cmap, norm):
    """Each cell's mean, in white on dark cells and black on light ones."""
    n_clusters, n_shown = means.shape
    for row in range(n_clusters):
        for column in range(n_shown):
            face = cmap(norm(colours[row, column]))
            ax.text(
                column,
                row,
                format_compact(means[row, column]),
                ha="center",
                va="center",
                fontsize=FONT_SIZE - 1,
                color="white" if _luminance(to_rgb(face)) < 0.35 else "black",
            )


# -- sizes ---------------------------------------------------------------------------


def plot_sizes(labels, *, names=None, sort="label", figsize=None):
    """Horizontal bars of the number of rows in each cluster, with count and percent.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        The cluster of every row.
    names : dict or sequence, default=None
        Segment names: ``{label: name}``, or one per cluster in sorted label order. A
        name given for a label with no rows shows that cluster with 0 rows.
    sort : {'label', 'size'}, default='label'
        Clusters top to bottom in label order, or from the largest to the smallest.
    figsize : tuple of float, default=None
        Width and height in inches; by default 7.5 wide and 0.32 per cluster.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (not registered with pyplot; the caller owns it).

    Examples
    --------
    >>> from centroids.report.plots import plot_sizes
    >>> fig = plot_sizes([0, 0, 0, 1], names={0: "loyal", 1: "new"})
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['3 (75.0%)', '1 (25.0%)']
    """
    where = "plot_sizes"
    if sort not in ("label", "size"):
        raise ValueError(f"sort must be 'label' or 'size', got {sort!r}.")
    labels = _check_labels(labels, None, where)
    clusters, codes, display = _cluster_index(labels, names, None, where)
    counts = np.bincount(codes, minlength=clusters.size)
    total = labels.shape[0]
    order = np.arange(clusters.size)
    if sort == "size":
        order = np.argsort(-counts, kind="stable")
    colors = cluster_colors(clusters.size)
    bar_labels = [_shorten(display[i], 30, 2) for i in order]
    per_cluster = 0.3 if all("\n" not in label for label in bar_labels) else 0.44
    width, height = figsize or (7.5, max(2.5, 1.3 + per_cluster * clusters.size))
    fig = _new_figure(width, height)
    ax = fig.add_subplot()
    positions = np.arange(clusters.size)
    ax.barh(positions, counts[order], color=[colors[i] for i in order], height=0.72)
    ax.set_yticks(positions, bar_labels, fontsize=FONT_SIZE)
    ax.set_ylim(clusters.size - 0.5, -0.5)
    texts = [
        ax.annotate(
            f"{_count(int(counts[i]))} ({_percent(counts[i] / total)})",
            xy=(counts[i], p),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            ha="left",
            fontsize=FONT_SIZE,
        )
        for p, i in zip(positions, order, strict=True)
    ]
    ax.set_xlim(0, max(int(counts.max()), 1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel("rows", fontsize=FONT_SIZE + 1)
    ax.tick_params(labelsize=FONT_SIZE)
    ax.tick_params(axis="y", length=0)
    ax.grid(True, axis="x", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        f"Cluster sizes ({_count(total)} rows, {clusters.size} clusters)", fontsize=FONT_SIZE + 2
    )
    _make_room_on_the_right(fig, ax, texts)
    return fig


def _percent(share):
    """A share as a percentage with one decimal; '<0.1%' for small non-zero shares."""
    return "<0.1%" if 0 < share < 0.0005 else f"{share:.1%}"


def _make_room_on_the_right(fig, ax, texts):
    """Widen the x range until every text at the end of a bar lies inside the axes."""
    for _ in range(4):  # the layout changes the axes' width, so measure again
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
        right = max(text.get_window_extent(renderer).x1 for text in texts)
        box = ax.get_window_extent(renderer)
        if right <= box.x1 - 2:
            return
        low, high = ax.get_xlim()
        needed = (right + 6 - box.x0) / max(box.width, 1.0)
        ax.set_xlim(low, low + (high - low) * needed)
