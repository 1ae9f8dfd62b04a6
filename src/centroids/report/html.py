"""The self-contained HTML report of a segmentation: one file, images embedded, no network."""

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import numpy as np
import pandas as pd

from .._utils.files import replaced_atomically
from .._utils.format import fixed_decimals, missing_number, readable_number
from .plots import (
    figure_to_png_bytes,
    plot_clusters_pca,
    plot_k_selection,
    plot_profiles,
    plot_silhouette,
    plot_sizes,
)

# Rows the silhouette plot is computed on: exact silhouettes cost O(n²), and the shape of
# each cluster's band is already clear from a few thousand rows.
SILHOUETTE_PLOT_ROWS = 4_000
# Most categories of one column shown as profile columns (the most frequent ones).
PROFILE_MAX_CATEGORIES = 4
# Pixels per inch of the embedded figures.
FIGURE_DPI = 96


@dataclass
class _Figure:
    id: str
    heading: str
    uri: str
    alt: str
    width: int
    height: int
    caption: str = ""


def render_report(
    segmentation,
    data,
    *,
    choice=None,
    diagnosis=None,
    version=None,
    drift=None,
    segment_ids=None,
    segment_names=None,
    title=None,
    source=None,
    random_state=0,
):
    """The HTML text of a segmentation report.

    Sections: a summary (rows, segments, quality, the choice of K and its reason),
    the segments (id, name, size, share, the profile values in original units), the K
    selection figure (when ``choice`` is given), a PCA scatter of the segments, the
    profile heatmap in original units, the segment sizes, a silhouette plot,
    the diagnostics, and the drift against the previous version (when ``drift`` is
    given). Every image is embedded as a PNG ``data:`` URI: the file needs nothing
    else to be viewed.

    Parameters
    ----------
    segmentation : Segmentation
        A fitted :class:`centroids.segments.segmentation.Segmentation`.
    data : DataFrame
        The rows it was fitted on (or rows to describe with it).
    choice : ChooseKResult, optional
        What :func:`centroids.evaluate.choose_k.choose_k` found.
    diagnosis : Diagnosis, optional
        What :func:`centroids.evaluate.diagnose.diagnose` found.
    version : VersionInfo, optional
        The stored version (its number and segment ids).
    drift : Drift, optional
        Changes since the previous version.
    segment_ids : sequence of int, optional
        Stable id of every cluster (default ``version.segment_ids``, else 0..k-1).
    segment_names : sequence of str, optional
        Name of every cluster (default the segmentation's suggested names).
    title, source : str, optional
        The report's title, and where the data came from (shown under it).
    random_state : int, default=0
        Seed of the samples drawn for the scatter and silhouette figures.

    Returns
    -------
    str
    """
    from .. import __version__

    k = int(np.asarray(segmentation.centers_).shape[0])
    segment_ids, names = _ids_and_names(segmentation, k, version, segment_ids, segment_names)
    labels = np.asarray(segmentation.predict(data))
    used = labels >= 0
    # The plots of the model space need whole rows: rows with a hole are left out there.
    whole = used & segmentation.preparation_.complete_rows(data)
    Z = np.asarray(segmentation.transform(data.loc[whole] if whole.any() else data))
    labels_used = labels[used]
    labels_whole = labels[whole]
    display = [f"{sid} · {name}" for sid, name in zip(segment_ids, names, strict=True)]
    label_names = dict(enumerate(display))
    original = _profile_frame(segmentation, data.loc[used])
    figures = _report_figures(
        segmentation, choice, Z, labels_whole, labels_used, original, label_names, random_state
    )
    columns, rows = _segment_table(segmentation, segment_ids, names, original, labels_used)
    cards = _summary_cards(segmentation, data, k, version)
    findings, notes = _diagnosis_rows(diagnosis)
    features = ", ".join(map(str, segmentation.feature_names_))
    template = resources.files("centroids.report").joinpath("report.html.j2").read_text()
    return (
        _environment()
        .from_string(template)
        .render(
            title=title or "Segmentation report",
            subtitle=(f"{source} · " if source else "") + f"features: {features}",
            cards=[{"label": label, "value": value} for label, value in cards],
            choice_reason=getattr(choice, "reason", None),
            verdict=getattr(choice, "verdict", None),
            segment_columns=columns,
            segment_rows=rows,
            figures=figures,
            findings=findings,
            diagnosis_notes=notes,
            drift=_drift_section(drift) if drift is not None else None,
            version=__version__,
            created_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            footer=(
                f"Model fitted {segmentation.created_at_}; data fingerprint "
                f"{str(segmentation.fingerprint_)[:12]}."
            ),
        )
    )


def _ids_and_names(segmentation, k, version, segment_ids, segment_names):
    """The stable id and the name of every cluster, as given or by default, checked."""
    if segment_ids is None:
        segment_ids = version.segment_ids if version is not None else range(k)
    segment_ids = [int(i) for i in segment_ids]
    names = list(segment_names) if segment_names is not None else list(segmentation.names_)
    if len(segment_ids) != k or len(names) != k:
        raise ValueError(
            f"segment_ids and segment_names need one entry per segment ({k}); "
            f"got {len(segment_ids)} ids and {len(names)} names"
        )
    return segment_ids, names


def write_report(path, segmentation, data, **options):
    """Write :func:`render_report`'s HTML to ``path``, whole or not at all; returns the path."""
    text = render_report(segmentation, data, **options)
    with replaced_atomically(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _report_figures(
    segmentation, choice, Z, labels_whole, labels_used, original, label_names, random_state
):
    """The report's figures, embedded: K selection (with ``choice``), the PCA scatter,
    the profiles, the sizes, and the silhouette (with two segments or more)."""
    figures = []
    if choice is not None:
        figures.append(
            _embed(
                plot_k_selection(choice),
                "k-selection",
                "Choosing K",
                "Inertia, silhouette and gap statistic against K, the chosen K marked",
            )
        )
    figures.append(
        _embed(
            plot_clusters_pca(
                Z,
                labels_whole,
                segmentation.centers_,
                names=label_names,
                random_state=random_state,
            ),
            "scatter",
            "Segments on the first two principal components",
            "Scatter of the rows on the first two principal components, coloured by segment",
            "Computed on the prepared (scaled, encoded) features the model was fitted on.",
        )
    )
    figures.append(
        _embed(
            plot_profiles(original, labels_used, names=label_names),
            "profiles",
            "Segment profiles in original units",
            "Heatmap of the mean of every feature in every segment",
            "Cells: the segment's mean (for a category: its share of the segment). Colour: "
            "distance from the overall mean in standard deviations.",
        )
    )
    figures.append(
        _embed(
            plot_sizes(labels_used, names=label_names),
            "sizes",
            "Segment sizes",
            "Bar chart of the number of rows in each segment",
        )
    )
    if len(np.unique(labels_whole)) >= 2:
        figures.append(_silhouette_figure(Z, labels_whole, label_names, random_state))
    return figures


def _silhouette_figure(Z, labels_whole, label_names, random_state):
    """The silhouette plot, embedded; on a sample of :data:`SILHOUETTE_PLOT_ROWS` rows."""
    return _embed(
        plot_silhouette(
            Z,
            labels_whole,
            sample_size=min(SILHOUETTE_PLOT_ROWS, len(labels_whole)),
            random_state=random_state,
            names=label_names,
        ),
        "silhouette",
        "Silhouette by segment",
        "Silhouette plot: each segment's rows sorted by silhouette value",
        "Values near 1: rows well inside their segment; below 0: rows closer to "
        "another segment."
        + (
            f" Computed on a sample of {SILHOUETTE_PLOT_ROWS:,} rows."
            if len(labels_whole) > SILHOUETTE_PLOT_ROWS
            else ""
        ),
    )


def _summary_cards(segmentation, data, k, version):
    """The summary cards of the report: ``(label, value)`` pairs."""
    metrics = getattr(segmentation, "metrics_", {}) or {}
    cards = [
        ("Rows", f"{int(metrics.get('n_rows', len(data))):,}"),
        ("Segments", str(k)),
        ("Silhouette", fixed_decimals(metrics.get("silhouette"), 3)),
        ("Davies-Bouldin", fixed_decimals(metrics.get("davies_bouldin"), 3)),
        ("Calinski-Harabasz", fixed_decimals(metrics.get("calinski_harabasz"), 0)),
    ]
    if metrics.get("n_dropped"):
        cards.append(("Rows left out of the fit", f"{int(metrics['n_dropped']):,}"))
    if "missing" in metrics:
        holes = int(metrics.get("n_rows_with_holes") or 0)
        cards.append(("Rows with missing values", f"{holes:,} (--missing {metrics['missing']})"))
    bounds = _size_bounds_text(segmentation, metrics)
    if bounds is not None:
        cards.append(("Segment sizes bounded", bounds))
    if version is not None:
        cards.append(("Version", str(version.version)))
    return cards


def _size_bounds_text(segmentation, metrics):
    """``'380 to 420 rows'`` for a segmentation fitted under size bounds, else None."""
    params = getattr(segmentation, "params_", None) or {}
    if params.get("size_min") is None and params.get("size_max") is None:
        return None
    if "n_used" not in metrics:
        return None
    lo, hi = segmentation.size_bounds(int(metrics["n_used"]))
    low = "no minimum" if lo is None else f"{lo:,}"
    high = "no maximum" if hi is None else f"{hi:,}"
    return f"{low} to {high} rows"


def _diagnosis_rows(diagnosis):
    """The findings (as the template shows them) and the notes of ``diagnosis``."""
    if diagnosis is None:
        return [], []
    findings = [
        f.to_dict(("severity", "title", "observed", "why", "action")) for f in diagnosis.findings
    ]
    return findings, list(diagnosis.notes)


def _environment():
    import jinja2

    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def _embed(fig, figure_id, heading, alt, caption=""):
    import base64

    png = figure_to_png_bytes(fig, dpi=FIGURE_DPI, close=True)
    # The PNG header holds the pixel size (bytes 16-24), so the page can reserve the space.
    width, height = (int.from_bytes(png[i : i + 4], "big") for i in (16, 20))
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return _Figure(figure_id, heading, uri, alt, width, height, caption)


def _profile_frame(segmentation, data):
    """Numeric feature columns in original units, plus the share of the most frequent
    categories of each categorical column (0/1 per row, so a segment's mean is its share)."""
    columns = {}
    for name in segmentation.feature_names_:
        kind = segmentation.feature_types_.get(name)
        values = data[name]
        if kind == "numeric":
            columns[name] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        else:
            text = values.astype("object").where(values.notna(), "(missing)").astype(str)
            for category in text.value_counts().index[:PROFILE_MAX_CATEGORIES]:
                columns[f"{name}={category}"] = (text == category).to_numpy(dtype=float)
    frame = pd.DataFrame(columns, index=data.index)
    return frame.fillna(frame.median(numeric_only=True))


def _segment_table(segmentation, segment_ids, names, original, labels):
    sizes = np.bincount(labels, minlength=len(segment_ids))
    total = max(1, int(sizes.sum()))
    shown = list(original.columns)[:8]
    means = original.groupby(labels).mean()
    columns = [
        {"name": "id", "numeric": True},
        {"name": "name", "numeric": False},
        {"name": "rows", "numeric": True},
        {"name": "share", "numeric": True},
    ] + [{"name": column, "numeric": True} for column in shown]
    rows = []
    for cluster, (sid, name) in enumerate(zip(segment_ids, names, strict=True)):
        row = [str(sid), name, f"{int(sizes[cluster]):,}", f"{sizes[cluster] / total:.1%}"]
        for column in shown:
            value = means[column].get(cluster, np.nan) if cluster in means.index else np.nan
            row.append(_share(value) if "=" in column else readable_number(value))
        rows.append(row)
    return columns, rows


def _drift_section(drift):
    sizes = drift.sizes
    columns = [
        {"name": "id", "numeric": True},
        {"name": "name", "numeric": False},
        {"name": "rows before", "numeric": True},
        {"name": "rows after", "numeric": True},
        {"name": "change", "numeric": True},
        {"name": "status", "numeric": False},
    ]
    rows = []
    for sid, row in sizes.iterrows():
        status = "born" if sid in drift.born else "retired" if sid in drift.retired else ""
        rows.append(
            [
                str(sid),
                str(row.get("name", drift.names.get(sid, ""))),
                f"{int(row['size_before']):,}",
                f"{int(row['size_after']):,}",
                f"{int(row['size_change']):+,}",
                status,
            ]
        )
    if drift.records_compared:
        headline = (
            f"{drift.records_changed:,} of {drift.records_compared:,} records "
            f"({drift.records_changed / drift.records_compared:.1%}) changed segment."
        )
    else:
        headline = "No record has an assignment under both versions yet."
    born = f" Born: {', '.join(map(str, drift.born))}." if drift.born else ""
    retired = f" Retired: {', '.join(map(str, drift.retired))}." if drift.retired else ""
    return {
        "from_version": drift.from_version,
        "headline": headline + born + retired,
        "columns": columns,
        "rows": rows,
    }


def _share(value):
    return "–" if missing_number(value) else f"{value:.0%}"


def report_text_content(text):
    """The visible text of a report (tags and the embedded images removed), for tests
    and for a plain-text preview."""
    text = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()
