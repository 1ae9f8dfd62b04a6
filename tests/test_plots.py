"""centroids.report.plots: valid images, no overlapping text, the numbers drawn are right."""

import base64
import io
import itertools
import re
import xml.etree.ElementTree as ET

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.text import Text
from PIL import Image
from sklearn.datasets import make_blobs

from centroids.report.plots import (
    cluster_colors,
    figure_to_data_uri,
    figure_to_png_bytes,
    format_compact,
    plot_clusters_pca,
    plot_k_selection,
    plot_profiles,
    plot_silhouette,
    plot_sizes,
)

# -- data and slow references ----------------------------------------------------------


def blobs_20():
    """20 clusters of uneven sizes (one of 3 rows) with long segment and feature names."""
    sizes = [3] + [40 + 7 * i for i in range(19)]
    X, labels = make_blobs(sizes, n_features=5, random_state=7)
    names = {
        i: f"Segment {i}: customers who buy {'often' if i % 2 else 'rarely'} online"
        for i in range(20)
    }
    columns = [
        "annual income before tax (EUR)",
        "age",
        "number of orders in the last twelve months, all channels",
        "share_of_orders_returned_within_thirty_days",
        "x",
    ]
    frame = pd.DataFrame(X * [1000.0, 1.0, 10.0, 0.01, 1e6], columns=columns)
    return frame, labels, names


def k_table(ks=range(1, 13)):
    ks = np.asarray(list(ks))
    return pd.DataFrame(
        {
            "inertia": 1000.0 / ks**1.5,
            "silhouette": np.where(ks == 1, np.nan, 0.3 + 0.4 * np.exp(-((ks - 5) ** 2) / 4)),
            "gap": np.log(ks) / 2,
            "gap_se": np.full(ks.size, 0.05),
        },
        index=pd.Index(ks, name="k"),
    )


class ChooseKResult:
    """Duck-typed stand-in for what centroids.evaluate.choose_k.choose_k returns."""

    def __init__(self, table, k, elbow, reason):
        self.table, self.k, self.elbow, self.reason = table, k, elbow, reason


def naive_silhouette(X, labels):
    """Silhouette of every row, straight from the definition (Rousseeuw, 1987)."""
    X = np.asarray(X, dtype=np.float64)
    values = np.zeros(X.shape[0])
    for i in range(X.shape[0]):
        distances = np.sqrt(((X - X[i]) ** 2).sum(axis=1))
        own = labels == labels[i]
        if own.sum() == 1:
            continue
        a = distances[own].sum() / (own.sum() - 1)
        b = min(distances[labels == c].mean() for c in np.unique(labels) if c != labels[i])
        values[i] = (b - a) / max(a, b)
    return values


def naive_pca_projection(X, points):
    """The first two principal components of X by SVD; points projected onto them."""
    mean = X.mean(axis=0)
    _, singular, components = np.linalg.svd(X - mean, full_matrices=False)
    variance_share = singular**2 / (singular**2).sum()
    return (points - mean) @ components[:2].T, variance_share[:2]


# -- image and layout checks -------------------------------------------------------------


def drawn_texts(fig, monkeypatch):
    """Every non-empty text the renderer actually draws, with its box in pixels."""
    drawn = []
    original_draw = Text.draw

    def recording_draw(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)
        return original_draw(self, renderer)

    with monkeypatch.context() as patch:
        patch.setattr(Text, "draw", recording_draw)
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [(text.get_text(), text.get_window_extent(renderer)) for text in drawn]


def assert_no_overlapping_text(fig, monkeypatch):
    texts = drawn_texts(fig, monkeypatch)
    assert len(texts) > 5
    width, height = fig.canvas.get_width_height()
    for text, box in texts:
        assert box.x0 >= -1 and box.y0 >= -1, f"{text!r} is cut off: {box}"
        assert box.x1 <= width + 1 and box.y1 <= height + 1, f"{text!r} is cut off: {box}"
    for (text_a, a), (text_b, b) in itertools.combinations(texts, 2):
        overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
        overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
        assert overlap_x <= 1 or overlap_y <= 1, f"{text_a!r} overlaps {text_b!r}"


def check_png(content, min_pixels=200, max_pixels=5000):
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(content))
    image.verify()
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    width, height = image.size
    assert min_pixels <= width <= max_pixels and min_pixels <= height <= max_pixels
    pixels = np.asarray(image.convert("RGB"))
    assert np.unique(pixels.reshape(-1, 3), axis=0).shape[0] > 10  # not a blank canvas
    return image


def check_svg(content):
    root = ET.fromstring(content)
    assert root.tag.endswith("svg")
    assert float(re.sub(r"[a-z]+$", "", root.get("width"))) > 100
    assert len(list(root.iter())) > 50


def all_plots(frame, labels, names):
    X = frame.to_numpy()
    centers = np.array([X[labels == i].mean(axis=0) for i in range(20)])
    table = k_table()
    result = ChooseKResult(table, 5, 4, "The silhouette peaks at k = 5; the elbow is at 4.")
    return {
        "k_selection": lambda: plot_k_selection(result),
        "silhouette": lambda: plot_silhouette(X, labels, names=names),
        "pca": lambda: plot_clusters_pca(X, labels, centers, names=names),
        "profiles": lambda: plot_profiles(frame, labels, names=names),
        "sizes": lambda: plot_sizes(labels, names=names),
    }


PLOTS = ["k_selection", "silhouette", "pca", "profiles", "sizes"]


@pytest.fixture(scope="module")
def twenty_clusters():
    return blobs_20()


@pytest.mark.parametrize("plot", PLOTS)
def test_every_plot_is_a_valid_image_without_overlapping_text(
    plot, twenty_clusters, tmp_path, monkeypatch
):
    """20 clusters of uneven sizes, long segment and feature names: files and layout."""
    fig = all_plots(*twenty_clusters)[plot]()
    assert isinstance(fig, Figure)
    assert_no_overlapping_text(fig, monkeypatch)
    fig.savefig(tmp_path / "plot.png", dpi=60)
    check_png((tmp_path / "plot.png").read_bytes())
    fig.savefig(tmp_path / "plot.svg")
    check_svg((tmp_path / "plot.svg").read_bytes())


@pytest.mark.parametrize("k", [1, 2, 12])
def test_chosen_k_annotation_clears_the_tick_labels_at_either_end(k, monkeypatch):
    fig = plot_k_selection(table=k_table(), k=k, elbow=3)
    assert_no_overlapping_text(fig, monkeypatch)


def test_small_plots_have_no_overlaps_either(monkeypatch):
    X, labels = make_blobs(60, n_features=2, centers=2, random_state=0)
    for fig in (
        plot_silhouette(X, labels),
        plot_clusters_pca(X, labels),
        plot_profiles(X, labels),
        plot_sizes(labels),
        plot_k_selection(table=k_table(range(1, 4)), k=2),
    ):
        assert_no_overlapping_text(fig, monkeypatch)


def test_plots_leak_no_pyplot_figures():
    X, labels = make_blobs(60, n_features=2, centers=3, random_state=0)
    before = plt.get_fignums()
    for fig in (
        plot_silhouette(X, labels),
        plot_clusters_pca(X, labels),
        plot_profiles(X, labels),
        plot_sizes(labels),
        plot_k_selection(table=k_table(range(1, 5)), k=3),
    ):
        figure_to_png_bytes(fig, dpi=20)
        assert fig.canvas.manager is None
    assert plt.get_fignums() == before


def test_rendering_closes_a_pyplot_figure_only_when_asked():
    fig = plt.figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    figure_to_png_bytes(fig, close=False)
    assert fig.number in plt.get_fignums()
    figure_to_png_bytes(fig)
    assert fig.number not in plt.get_fignums()


def test_data_uris_decode_to_the_image_and_svg_is_reproducible():
    fig = plot_sizes([0, 1, 1, 2])
    png_uri = figure_to_data_uri(fig, "png", dpi=50)
    assert png_uri.startswith("data:image/png;base64,")
    check_png(base64.b64decode(png_uri.split(",", 1)[1]), min_pixels=100)
    svg_uri = figure_to_data_uri(fig, "svg")
    assert svg_uri.startswith("data:image/svg+xml;base64,")
    check_svg(base64.b64decode(svg_uri.split(",", 1)[1]))
    assert figure_to_data_uri(plot_sizes([0, 1, 1, 2]), "svg") == svg_uri


def test_rendering_rejects_bad_arguments():
    fig = plot_sizes([0, 1])
    with pytest.raises(ValueError, match="format must be one of"):
        figure_to_data_uri(fig, "jpeg")
    with pytest.raises(ValueError, match="dpi"):
        figure_to_png_bytes(fig, dpi=0)
    with pytest.raises(TypeError, match="matplotlib Figure"):
        figure_to_png_bytes("plot.png")


# -- numbers and colours -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (7, "7"),
        (-4.5, "-4.5"),
        (12.345, "12.3"),
        (999.4, "999"),
        (999.6, "1k"),
        (12_345, "12.3k"),
        (999_950, "1M"),
        (-4_560_000, "-4.56M"),
        (2.5e9, "2.5B"),
        (3.1e12, "3.1T"),
        (4.2e15, "4.2e15"),
        (0.01234, "0.0123"),
        (1.234e-5, "1.23e-5"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
    ],
)
def test_format_compact(value, text):
    assert format_compact(value) == text


def parse_compact(text):
    scale = {"k": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
    if text[-1] in scale:
        return float(text[:-1]) * scale[text[-1]]
    return float(text)


@given(st.floats(min_value=-1e18, max_value=1e18, allow_nan=False).filter(lambda v: v != 0))
def test_format_compact_keeps_three_significant_digits(value):
    text = format_compact(value)
    assert len(text) <= 10  # '-7.95e-203' at most
    assert abs(parse_compact(text) - value) <= 0.005 * abs(value) * (1 + 1e-12)


def test_cluster_colors_are_stable_distinct_and_cycle():
    colors = cluster_colors(25)
    assert colors[:10] == cluster_colors(10)
    assert len(set(colors[:20])) == 20
    assert colors[20:] == colors[:5]
    with pytest.raises(ValueError, match="n_clusters"):
        cluster_colors(-1)


# -- choosing k ----------------------------------------------------------------------------


def line_x(ax):
    """x of the vertical lines of an axes (the chosen-k mark)."""
    return [
        line.get_xdata()[0]
        for line in ax.get_lines()
        if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]
    ]


def test_k_selection_marks_the_chosen_k_and_the_elbow():
    table = k_table()
    result = ChooseKResult(table, 6, 4, "Silhouette and gap agree on 6.")
    fig = plot_k_selection(result)
    inertia_ax, silhouette_ax, gap_ax = fig.axes
    assert [ax.get_ylabel().split("\n")[0] for ax in fig.axes] == [
        "inertia",
        "mean silhouette",
        "gap statistic",
    ]
    for ax in fig.axes:
        assert line_x(ax) == [6]
    curve = inertia_ax.get_lines()[0]
    np.testing.assert_array_equal(curve.get_xdata(), table.index)
    np.testing.assert_allclose(curve.get_ydata(), table["inertia"])
    elbow = [line for line in inertia_ax.get_lines() if "elbow" in str(line.get_label())]
    assert elbow[0].get_xdata().tolist() == [4]
    assert elbow[0].get_ydata()[0] == pytest.approx(table.loc[4, "inertia"])
    silhouette = silhouette_ax.get_lines()[0]
    assert silhouette.get_xdata().tolist() == list(range(2, 13))  # k = 1 has none
    best = [line for line in silhouette_ax.get_lines() if "highest" in str(line.get_label())]
    assert best[0].get_xdata().tolist() == [table["silhouette"].idxmax()]
    assert [t.get_text() for t in inertia_ax.texts] == ["chosen k = 6"]
    assert "Silhouette and gap agree on 6." in fig.get_suptitle()
    assert gap_ax.containers, "the gap panel draws error bars"
    error_bars = gap_ax.containers[0]
    segments = error_bars.lines[2][0].get_segments()
    heights = [segment[1, 1] - segment[0, 1] for segment in segments]
    np.testing.assert_allclose(heights, 2 * table["gap_se"])


def test_k_selection_from_a_table_with_a_k_column_and_only_some_scores():
    table = k_table().reset_index()[["k", "inertia", "silhouette"]].iloc[::-1]
    fig = plot_k_selection(table=table, k=3)
    assert len(fig.axes) == 2
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_xdata(), np.arange(1, 13))
    assert line_x(fig.axes[1]) == [3]
    fig = plot_k_selection(table=table[["k", "silhouette"]])
    assert len(fig.axes) == 1 and line_x(fig.axes[0]) == []
    assert "no k recommended" in fig.get_suptitle()


def test_k_selection_explicit_marks_override_the_result():
    result = ChooseKResult(k_table(), 5, 4, None)
    fig = plot_k_selection(result, k=8)
    assert line_x(fig.axes[0]) == [8]


def test_k_selection_errors():
    table = k_table()
    with pytest.raises(TypeError, match="choose_k result"):
        plot_k_selection()
    with pytest.raises(TypeError, match="`table` attribute"):
        plot_k_selection(object())
    with pytest.raises(ValueError, match=r"k=20 is not among the k of the table"):
        plot_k_selection(table=table, k=20)
    with pytest.raises(TypeError, match="elbow must be an integer"):
        plot_k_selection(table=table, elbow=2.5)
    with pytest.raises(ValueError, match="empty"):
        plot_k_selection(table=table.iloc[:0])
    with pytest.raises(ValueError, match="no finite values"):
        plot_k_selection(table=table[["gap_se"]])
    with pytest.raises(ValueError, match="integers k >= 1"):
        plot_k_selection(table=table.set_axis(np.arange(12) + 0.5))
    with pytest.raises(ValueError, match="same k on several rows"):
        plot_k_selection(table=table.set_axis([1] * 12))


# -- silhouette ----------------------------------------------------------------------------


def band_values(ax):
    """Per band (top to bottom): the silhouette value of every bar drawn, in order."""
    bands = [patch for patch in ax.patches if isinstance(patch, Polygon)]
    # A band's outline runs from (0, top) along both ends of every bar to (0, bottom).
    return bands, [band.get_xy()[1:-2:2, 0] for band in bands]


def test_silhouette_bars_are_each_clusters_sorted_values():
    X, labels = make_blobs([30, 12, 25], n_features=3, cluster_std=2.5, random_state=4)
    reference = naive_silhouette(X, labels)
    fig = plot_silhouette(X, labels, names=["north", "centre", "south"])
    ax = fig.axes[0]
    bands, drawn = band_values(ax)
    assert len(bands) == 3
    for cluster, values in enumerate(drawn):
        expected = np.sort(reference[labels == cluster])[::-1]
        np.testing.assert_allclose(values, expected, atol=1e-12)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["north", "centre", "south"]
    colors = cluster_colors(3)
    for band, color in zip(bands, colors, strict=True):
        np.testing.assert_allclose(band.get_facecolor()[:3], color)
    assert line_x(ax)[0] == pytest.approx(reference.mean())
    assert f"{reference.mean():.3f}" in ax.get_legend().get_texts()[0].get_text()
    heights = [np.ptp(band.get_xy()[:, 1]) for band in bands]
    np.testing.assert_allclose(np.array(heights) / heights[0], np.array([30, 12, 25]) / 30)


def test_silhouette_from_precomputed_values_needs_no_x():
    labels = np.repeat(["b", "a"], [4, 3])
    values = np.array([0.9, 0.1, 0.5, -0.2, 0.3, 0.7, 0.6])
    fig = plot_silhouette(None, labels, sample_values=values)
    ax = fig.axes[0]
    _, drawn = band_values(ax)
    np.testing.assert_allclose(drawn[0], [0.7, 0.6, 0.3])  # label 'a' first
    np.testing.assert_allclose(drawn[1], [0.9, 0.5, 0.1, -0.2])
    assert ax.get_xlim()[0] <= -0.25
    assert line_x(ax)[0] == pytest.approx(values.mean())


def test_silhouette_draws_quantiles_of_large_clusters_and_samples_rows():
    X, labels = make_blobs([600, 300, 5], n_features=2, random_state=1)
    fig = plot_silhouette(X, labels, max_points=100)
    _, drawn = band_values(fig.axes[0])
    assert [v.size for v in drawn] == [66, 33, 2]
    assert drawn[0][0] == max(naive_silhouette(X, labels)[labels == 0])
    assert "quantiles" in fig.axes[0].get_title()
    sampled = plot_silhouette(X, labels, sample_size=200, random_state=3)
    again = plot_silhouette(X, labels, sample_size=200, random_state=3)
    title = sampled.axes[0].get_title()
    assert "random sample" in title and "of 905 rows" in title
    assert len(band_values(sampled.axes[0])[0]) == 3  # the 5-row cluster is kept
    first_bands, second_bands = band_values(sampled.axes[0])[1], band_values(again.axes[0])[1]
    for first, second in zip(first_bands, second_bands, strict=True):
        np.testing.assert_array_equal(first, second)


def test_silhouette_errors():
    X, labels = make_blobs(20, n_features=2, centers=2, random_state=0)
    with pytest.raises(ValueError, match="at least 2 clusters"):
        plot_silhouette(X, np.zeros(20, int))
    with pytest.raises(ValueError, match="has 19 entries but X has 20 rows"):
        plot_silhouette(X, labels[:19])
    with pytest.raises(ValueError, match=r"silhouette values are finite numbers in \[-1, 1\]"):
        plot_silhouette(None, labels, sample_values=np.full(20, 1.5))
    with pytest.raises(ValueError, match="one silhouette value per row"):
        plot_silhouette(None, labels, sample_values=np.zeros(19))
    with pytest.raises(TypeError, match="needs X"):
        plot_silhouette(None, labels)
    with pytest.raises(ValueError, match="fewer clusters than rows"):
        plot_silhouette(X[:3], [0, 1, 2])
    with pytest.raises(ValueError, match="contain nan at index 4"):
        plot_silhouette(X, np.where(np.arange(20) == 4, np.nan, labels))
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(
        ValueError, match="plot_silhouette contains NaN in column 1, first at row 3"
    ):
        plot_silhouette(X_nan, labels)


# -- PCA map -------------------------------------------------------------------------------


def scatter_points(ax):
    """The offsets of the row scatter and of the centers scatter (if any)."""
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    return [s.get_offsets().data for s in scatters], scatters


def same_up_to_sign(a, b):
    signs = np.sign((a * b).sum(axis=0))
    np.testing.assert_allclose(a * signs, b, atol=1e-8)
    return signs


def test_pca_map_projects_rows_and_centers_on_the_principal_components():
    X, labels = make_blobs([50, 30, 20], n_features=4, random_state=5)
    centers = np.array([X[labels == i].mean(axis=0) for i in range(3)])
    fig = plot_clusters_pca(X, labels, centers, names={0: "a", 1: "b", 2: "c"})
    ax = fig.axes[0]
    (rows, drawn_centers), (row_scatter, _) = scatter_points(ax)
    expected_centers, shares = naive_pca_projection(X, centers)
    signs = same_up_to_sign(drawn_centers, expected_centers)
    expected_rows, _ = naive_pca_projection(X, X)
    # Every row drawn once, in a shuffled order: match them through their projections.
    order_drawn = np.lexsort((rows * signs).T[::-1])
    order_expected = np.lexsort(expected_rows.T[::-1])
    np.testing.assert_allclose(
        (rows * signs)[order_drawn], expected_rows[order_expected], atol=1e-8
    )
    colors = np.asarray(cluster_colors(3))
    point_colors = row_scatter.get_facecolors()[:, :3]
    projected_label = labels[order_expected][np.argsort(order_drawn)]
    np.testing.assert_allclose(point_colors, colors[projected_label])
    assert f"{shares[0]:.1%}" in ax.get_xlabel() and f"{shares[1]:.1%}" in ax.get_ylabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["a", "b", "c", "centers"]


def test_pca_map_samples_large_data_keeps_every_cluster_and_says_so():
    X, labels = make_blobs([3000, 900, 4], n_features=3, random_state=2)
    fig = plot_clusters_pca(X, labels, max_points=500, random_state=1)
    (rows,), (scatter,) = scatter_points(fig.axes[0])
    assert 450 <= rows.shape[0] <= 560
    colors = np.asarray(cluster_colors(3))
    drawn_colors = scatter.get_facecolors()[:, :3]
    per_cluster = [int(np.all(drawn_colors == color, axis=1).sum()) for color in colors]
    assert per_cluster[2] == 4  # the 4-row cluster is drawn whole
    assert per_cluster[0] == pytest.approx(3000 * 500 / 3904, abs=2)
    assert per_cluster[1] == pytest.approx(900 * 500 / 3904, abs=2)
    title = fig.axes[0].get_title()
    assert "random sample of" in title and "of 3,904 rows" in title
    again = plot_clusters_pca(X, labels, max_points=500, random_state=1)
    np.testing.assert_array_equal(scatter_points(again.axes[0])[0][0], rows)
    other = plot_clusters_pca(X, labels, max_points=500, random_state=2)
    assert not np.array_equal(scatter_points(other.axes[0])[0][0], rows)


def test_pca_map_of_sparse_data_matches_dense_and_one_feature_works():
    X, labels = make_blobs(80, n_features=5, centers=3, random_state=0)
    X[X < 0] = 0
    dense_rows = scatter_points(plot_clusters_pca(X, labels).axes[0])[0][0]
    sparse_rows = scatter_points(plot_clusters_pca(sp.csr_matrix(X), labels).axes[0])[0][0]
    same_up_to_sign(sparse_rows, dense_rows)
    fig = plot_clusters_pca(X[:, :1], labels, np.array([[0.0], [1.0], [2.0]]))
    assert "one feature" in fig.axes[0].get_ylabel()


def test_pca_map_errors():
    X, labels = make_blobs(30, n_features=3, centers=3, random_state=0)
    with pytest.raises(ValueError, match=r"shape \(n_clusters, 3\)"):
        plot_clusters_pca(X, labels, np.zeros((3, 2)))
    with pytest.raises(
        ValueError, match="centers passed to plot_clusters_pca describes 2 clusters"
    ):
        plot_clusters_pca(X, labels, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="max_points"):
        plot_clusters_pca(X, labels, max_points=0)
    with pytest.raises(ValueError, match="has 2 names for 3 clusters"):
        plot_clusters_pca(X, labels, np.zeros((3, 3)), names=["a", "b"])
    with pytest.raises(ValueError, match="at least 2 rows"):
        plot_clusters_pca(X[:1], labels[:1])


# -- profiles ------------------------------------------------------------------------------


def cell_texts(ax):
    """The text of every heatmap cell, as a (clusters, features) array."""
    cells = {}
    for text in ax.texts:
        column, row = text.get_position()
        cells[(round(row), round(column))] = text.get_text()
    rows = 1 + max(r for r, _ in cells)
    columns = 1 + max(c for _, c in cells)
    return np.array([[cells[(r, c)] for c in range(columns)] for r in range(rows)])


def test_profile_cells_show_cluster_means_in_original_units_coloured_by_zscore():
    frame, labels, _ = blobs_20()
    fig = plot_profiles(frame, labels)
    ax = fig.axes[0]
    means = frame.groupby(labels).mean()
    expected_text = np.vectorize(format_compact)(means.to_numpy())
    np.testing.assert_array_equal(cell_texts(ax), expected_text)
    colours = ax.get_images()[0].get_array()
    expected_z = (means - frame.mean()) / frame.std(ddof=0)
    np.testing.assert_allclose(np.asarray(colours), expected_z.to_numpy(), atol=1e-10)
    tick_names = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    assert tick_names[1] == "age" and tick_names[0] == "annual income before tax (EUR)"
    assert tick_names[2].endswith("…")  # too long for two lines: shortened
    assert [t.get_text() for t in ax.get_yticklabels()] == [str(i) for i in range(20)]


def test_profiles_minmax_scale_sparse_input_and_feature_names():
    X, labels = make_blobs(90, n_features=3, centers=3, random_state=1)
    X = np.abs(X)
    X[X < 3] = 0
    dense = plot_profiles(X, labels, ["a", "b", "c"], scale_colors="minmax")
    sparse = plot_profiles(sp.csr_matrix(X), labels, ["a", "b", "c"], scale_colors="minmax")
    np.testing.assert_array_equal(cell_texts(sparse.axes[0]), cell_texts(dense.axes[0]))
    colours = np.asarray(dense.axes[0].get_images()[0].get_array())
    means = np.array([X[labels == i].mean(axis=0) for i in range(3)])
    expected = (means - means.min(axis=0)) / (means.max(axis=0) - means.min(axis=0))
    np.testing.assert_allclose(colours, expected)
    np.testing.assert_allclose(
        np.asarray(sparse.axes[0].get_images()[0].get_array()), expected, atol=1e-12
    )
    assert [t.get_text() for t in dense.axes[0].get_xticklabels()] == ["a", "b", "c"]


def test_profiles_show_the_features_that_differ_most_when_there_are_many():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 50)
    X = rng.normal(size=(100, 30))
    X[labels == 1, 7] += 5
    X[labels == 1, 21] -= 4
    fig = plot_profiles(X, labels, max_features=2)
    names = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert names == ["x7", "x21"]
    assert "the 2 of 30 features" in fig.get_suptitle()
    assert cell_texts(fig.axes[0]).shape == (2, 2)
    assert not plot_profiles(X, labels, annotate=False).axes[0].texts


def test_profiles_read_dense_data_in_blocks_with_the_same_result(monkeypatch):
    X, labels = make_blobs(100, n_features=4, centers=3, random_state=2)
    X = X * [1.0, 1e3, 1e-3, 1e6] + [0, 5e6, 0, -3e9]
    whole = plot_profiles(X, labels)
    monkeypatch.setattr("centroids.report.plots.PROFILE_CHUNK_ROWS", 7)
    blocks = plot_profiles(X, labels)
    np.testing.assert_array_equal(cell_texts(blocks.axes[0]), cell_texts(whole.axes[0]))
    np.testing.assert_allclose(
        np.asarray(blocks.axes[0].get_images()[0].get_array()),
        np.asarray(whole.axes[0].get_images()[0].get_array()),
        rtol=1e-9,
        atol=1e-9,
    )
    means = np.array([X[labels == i].mean(axis=0) for i in range(3)])
    expected = (means - X.mean(axis=0)) / X.std(axis=0)
    np.testing.assert_allclose(
        np.asarray(blocks.axes[0].get_images()[0].get_array()), expected, rtol=1e-9, atol=1e-9
    )


def test_profiles_skip_named_clusters_without_rows_and_keep_constant_features():
    X = np.array([[1.0, 5.0], [2.0, 5.0], [10.0, 5.0]])
    fig = plot_profiles(X, [0, 0, 2], names={0: "low", 1: "empty", 2: "high"})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["low", "high"]
    np.testing.assert_array_equal(cell_texts(ax), [["1.5", "5"], ["10", "5"]])
    assert np.asarray(ax.get_images()[0].get_array())[:, 1].tolist() == [0.0, 0.0]


def test_profiles_errors():
    frame = pd.DataFrame({"age": [20, 30, 40], "city": ["a", "b", "c"]})
    with pytest.raises(TypeError, match=r"non-numeric column.*'city'"):
        plot_profiles(frame, [0, 1, 1])
    with pytest.raises(ValueError, match="feature_names has 1 names but X has 2 features"):
        plot_profiles(np.ones((3, 2)), [0, 1, 1], ["a"])
    with pytest.raises(ValueError, match="scale_colors"):
        plot_profiles(np.ones((3, 2)), [0, 1, 1], scale_colors="raw")
    with pytest.raises(ValueError, match="labels passed to plot_profiles must be 1-D"):
        plot_profiles(np.ones((3, 2)), [[0, 1, 1]])


# -- sizes ---------------------------------------------------------------------------------


def test_sizes_bars_and_labels_count_the_rows():
    labels = np.array(["b"] * 5 + ["a"] * 2 + ["c"] * 13)
    fig = plot_sizes(labels)
    ax = fig.axes[0]
    widths = [patch.get_width() for patch in ax.patches]
    assert widths == [2, 5, 13]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.texts] == ["2 (10.0%)", "5 (25.0%)", "13 (65.0%)"]
    fig = plot_sizes(labels, sort="size")
    assert [patch.get_width() for patch in fig.axes[0].patches] == [13, 5, 2]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["c", "b", "a"]
    colors = cluster_colors(3)
    np.testing.assert_allclose(fig.axes[0].patches[0].get_facecolor()[:3], colors[2])


def test_sizes_with_names_show_empty_segments_and_tiny_shares():
    labels = np.array([0] * 3000 + [2])
    fig = plot_sizes(labels, names={0: "loyal", 1: "lapsed", 2: "new"})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["loyal", "lapsed", "new"]
    assert [t.get_text() for t in ax.texts] == ["3,000 (100.0%)", "0 (0.0%)", "1 (<0.1%)"]
    fig = plot_sizes([0, 1, 1], names=["first", "second", "third"])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["first", "second", "third"]


def test_sizes_errors():
    with pytest.raises(ValueError, match="empty"):
        plot_sizes([])
    with pytest.raises(ValueError, match="names passed to plot_sizes describes 2 clusters"):
        plot_sizes(["x", "y", "z"], names=["one", "two"])
    with pytest.raises(TypeError, match="dict"):
        plot_sizes([0, 1], names="segments")
    with pytest.raises(ValueError, match="sort"):
        plot_sizes([0, 1], sort="name")
