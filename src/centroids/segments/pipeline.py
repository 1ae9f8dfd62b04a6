"""From a table to named, stable segments: read → prepare → choose K → fit → judge → store.

:func:`segment_data` is what ``centroids segment`` runs; a Python user calls it the same
way. Each step is a library function of its own (:func:`centroids.data.read.read_table`,
:class:`centroids.segments.segmentation.Segmentation`, :func:`centroids.evaluate.choose_k.choose_k`,
:func:`centroids.evaluate.diagnose.diagnose`, :class:`centroids.store.SegmentStore`,
:func:`centroids.report.html.write_report`); this module only strings them together.
"""

import dataclasses
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._utils.files import write_table
from ..data.prepare import Preparation, complete_model_rows, model_missing_option
from ..data.read import DataError, read_table

DEFAULT_DB = "sqlite:///segments.db"
# K tried by --k auto: a range that holds the number of segments people act on; the
# upper end shrinks for small tables (each K needs a few rows per cluster).
AUTO_K_RANGE = range(2, 11)
ROWS_PER_CLUSTER = 10

_K_RANGE_PATTERN = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
_WRITE_BACK_PATTERN = re.compile(r"^([^:]+)\.([^.:]+):([^:.]+)$")


@dataclass
class SegmentRun:
    """What :func:`segment_data` did.

    Attributes
    ----------
    segmentation : Segmentation
        The fitted segmentation (preparation + K-Means + names).
    choice : ChooseKResult or None
        The choice of K (None when K was given as one number).
    diagnosis : Diagnosis
        The findings of :func:`centroids.evaluate.diagnose.diagnose` on the model.
    version : VersionInfo
        The version saved in the store (stable segment ids).
    drift : Drift or None
        Changes against the previous version, when there was one.
    assignments : DataFrame
        One row per input row: the id column (or ``row``), ``segment_id`` (nullable),
        ``segment_name`` and ``distance`` (to the segment's center, model space).
    segments : DataFrame
        One row per segment: ``segment_id``, ``name``, ``rows``, ``share`` and the
        profile means of the numeric features in original units.
    store_url : str
        The store's database (password hidden).
    write_back : WriteBackResult or None
    labels_path, report_path : Path or None
        The files written.
    n_rows, n_dropped : int
        Rows read, and rows left out of the fit for a missing value (each still gets a
        segment).
    missing : str
        The missing-value policy (:data:`centroids.data.prepare.MISSING_POLICIES`).
    n_rows_with_holes : int
        Rows with at least one missing numeric value.
    timings : dict
        Seconds spent in each step.
    """

    segmentation: object
    choice: object
    diagnosis: object
    version: object
    drift: object
    assignments: pd.DataFrame
    segments: pd.DataFrame
    store_url: str
    write_back: object = None
    labels_path: Path | None = None
    report_path: Path | None = None
    n_rows: int = 0
    n_dropped: int = 0
    missing: str = "drop"
    n_rows_with_holes: int = 0
    timings: dict = field(default_factory=dict)


def parse_k(spec):
    """``'auto'``, ``'N'`` or ``'A-B'`` (also an int or a range) as 'auto', an int or a range.

    Examples
    --------
    >>> parse_k("auto"), parse_k("5"), parse_k("3-8")
    ('auto', 5, range(3, 9))
    """
    if isinstance(spec, range):
        return spec
    if isinstance(spec, int | np.integer) and not isinstance(spec, bool):
        value = int(spec)
    elif isinstance(spec, str) and spec.strip().lower() == "auto":
        return "auto"
    elif isinstance(spec, str) and spec.strip().isdigit():
        value = int(spec)
    elif isinstance(spec, str) and _K_RANGE_PATTERN.match(spec):
        low, high = map(int, _K_RANGE_PATTERN.match(spec).groups())
        if not 1 <= low <= high:
            raise ValueError(f"k range {spec!r} must go from a low K >= 1 up to a higher one")
        return range(low, high + 1)
    else:
        raise ValueError(
            f"k must be 'auto', a number such as 5 or a range such as 3-8; got {spec!r}"
        )
    if value < 1:
        raise ValueError(f"k must be at least 1, got {value}")
    return value


def parse_write_back(spec):
    """``'TABLE.KEY:SEGMENT_COLUMN'`` (TABLE may be ``schema.table``) as a tuple.

    Examples
    --------
    >>> parse_write_back("crm.customers.id:segment")
    ('crm.customers', 'id', 'segment')
    """
    if isinstance(spec, tuple) and len(spec) == 3:
        return spec
    match = _WRITE_BACK_PATTERN.match(str(spec).strip())
    if not match:
        raise ValueError(
            f"write-back target {spec!r} must look like TABLE.KEY_COLUMN:SEGMENT_COLUMN, "
            f"e.g. customers.customer_id:segment_id"
        )
    return match.groups()


def segment_data(
    data,
    *,
    table=None,
    id_column=None,
    columns=None,
    k="auto",
    scale="standard",
    impute="drop",
    db=DEFAULT_DB,
    write_back=None,
    out=None,
    report=None,
    random_state=0,
    progress=None,
    source=None,
    mixed=False,
    missing=None,
    promote=False,
):
    """Segment a table: choose K, fit, diagnose, name, store a version, write the outputs.

    Parameters
    ----------
    data : DataFrame, str or path
        The rows, or where to read them (CSV, Parquet, or a database URL with ``table``).
    table : str, optional
        The table to read when ``data`` is a database URL.
    id_column : str, optional
        A column of unique row keys; it is never a feature, and it keys the stored
        assignments, the labels file and the write-back.
    columns : list of str, optional
        Feature columns (default: every column but the id).
    k : 'auto', int, range or str, default='auto'
        The number of segments; 'auto' (or a range such as ``'3-8'``) chooses it with
        :func:`centroids.evaluate.choose_k.choose_k`.
    scale : {'standard', 'robust', 'minmax', 'none'}, default='standard'
        Scaling of numeric columns; categorical columns are one-hot encoded.
    impute : {'drop', 'median'}, default='drop'
        The former name of ``missing`` ('median' is 'impute'); used when ``missing`` is None.
    missing : {'drop', 'impute', 'kpod', 'masked'}, optional
        Missing numeric values (:data:`centroids.data.prepare.MISSING_POLICIES`); every
        row gets a segment under each. Choosing K and the diagnosis use the rows
        without a hole.
    db : str, default='sqlite:///segments.db'
        The store's database URL.
    write_back : str or tuple, optional
        ``'TABLE.KEY:SEGMENT_COLUMN'``: set the segment id of every row of that table of
        the store's database, matched by its key column to ``id_column``.
    out : str or path, optional
        Labels file to write (``.csv`` or ``.parquet``).
    report : str or path, optional
        HTML report to write.
    random_state : int, default=0
        Seed of every random step.
    progress : callable, optional
        Called as ``progress(step, n_steps, message)`` before each step.
    source : str, optional
        How to name the data in the report (default: the path or table).
    mixed : bool, default=False
        Fit K-Prototypes instead of K-Means (``Segmentation(model='kprototypes')``): a
        segment's categorical profile is the mode of each categorical column, and a
        categorical mismatch costs ``gamma`` (half the mean standard deviation of the
        scaled numeric columns). Needs at least one categorical column. With ``k='auto'``
        (or a range) K is chosen by :func:`~centroids.evaluate.choose_k.choose_k` on the
        weighted one-hot embedding, whose squared distances are the k-prototypes costs
        (up to a constant per row for categories unseen in fit), and the K-Means
        centers it found are not used to start the fit. The diagnosis examines the
        segments in that embedding.
    promote : bool, default=False
        Make the new version the one served, in the transaction that saves it.

    Returns
    -------
    SegmentRun
    """
    from ..evaluate.choose_k import choose_k
    from ..evaluate.diagnose import diagnose
    from ..store import SegmentStore
    from .segmentation import Segmentation, mixed_preparation

    k = parse_k(k)
    if impute not in ("drop", "median"):
        raise ValueError(f"impute must be 'drop' or 'median', got {impute!r}")
    impute = missing or {"median": "impute"}.get(impute, impute)
    if model_missing_option(impute) != "error" and mixed and impute != "drop":
        raise ValueError(f"--missing {impute} clusters with K-Means; --mixed needs drop or impute")
    target = parse_write_back(write_back) if write_back is not None else None
    for path, kinds, what in ((out, (".csv", ".parquet"), "out"), (report, (".html",), "report")):
        if path is not None and Path(path).suffix.lower() not in kinds:
            raise ValueError(f"{what} must be a {' or '.join(kinds)} file, got {str(path)!r}")
    if target is not None and id_column is None:
        raise ValueError("write-back needs id_column: the key that matches rows of the table")
    steps = ["read", "prepare", "choose K", "fit", "diagnose", "store", "write"]
    timings = {}
    current = [None, time.perf_counter()]

    def step(name):
        now = time.perf_counter()
        if current[0] is not None:
            timings[current[0]] = now - current[1]
        current[:] = [name, now]
        if progress is not None and name is not None:
            progress(steps.index(name), len(steps), name)

    step("read")
    if isinstance(data, pd.DataFrame):
        frame = data
        source = source or "data frame"
    else:
        frame = read_table(data, table=table, columns=columns, id_column=id_column)
        source = source or (f"{data}#{table}" if table else str(data))
    if columns is None:
        columns = [c for c in frame.columns if c != id_column]
    n_rows = len(frame)

    step("prepare")
    preparation = Preparation(columns=columns, id_column=id_column, scale=scale, missing=impute)
    Z = complete_model_rows(preparation.fit_transform(frame))
    if mixed:
        if "categorical" not in preparation.feature_types_.values():
            raise DataError(
                "--mixed (K-Prototypes) needs at least one categorical column, but the "
                f"features {preparation.feature_names_} are all numeric; drop --mixed "
                "(K-Means), or include a categorical column in --columns"
            )
        preparation, Z, _ = mixed_preparation(
            frame, columns=columns, id_column=id_column, scale=scale, missing=impute
        )
    if Z.shape[0] == 0:
        raise DataError(
            "Every row has a missing value in a numeric column; impute them "
            "(impute='median' / --impute median) or fill them in"
        )

    step("choose K")
    choice = None
    initial_centers = None
    if not isinstance(k, int):
        k_range = AUTO_K_RANGE if k == "auto" else k
        largest = max(2, min(max(k_range), Z.shape[0] // ROWS_PER_CLUSTER))
        k_range = range(min(k_range), largest + 1) if min(k_range) <= largest else k_range
        choice = choose_k(Z, k_range, random_state=random_state, keep_models="recommended")
        if choice.k is None:
            # No cluster structure: still segment (people ask for segments), at the K
            # the scores like best, and say so in the diagnosis and the report.
            k = int(choice.votes.get("silhouette") or min(k_range))
        else:
            k = int(choice.k)
            model = choice.models.get(k)
            if model is not None and not mixed:
                initial_centers = np.asarray(model.cluster_centers_, dtype=np.float64)
    if k > Z.shape[0]:
        raise DataError(f"k={k} segments need at least {k} rows with values; there are {len(Z)}")

    step("fit")
    segmentation = Segmentation(
        k,
        scale=scale,
        columns=columns,
        id_column=id_column,
        missing=impute,
        random_state=random_state,
        init="k-means++" if initial_centers is None else initial_centers,
        n_init="auto" if initial_centers is None else 1,
        model="kprototypes" if mixed else "kmeans",
    ).fit(frame)

    step("diagnose")
    used = segmentation.labels_ >= 0
    # Z is these rows already prepared: the segmentation fitted the same preparation (the
    # choice of K and the initial centers rest on that too).
    diagnosis = diagnose(
        Z,
        segmentation.model_,
        feature_names=segmentation.preparation_.model_feature_names_,
        random_state=random_state,
    )

    if scale != "none":
        # The command scaled the numeric columns itself and one-hot columns are 0/1 by
        # design, so a spread ratio between them is not advice the user can act on.
        kept = tuple(f for f in diagnosis.findings if f.code != "unscaled-features")
        if len(kept) != len(diagnosis.findings):
            diagnosis = dataclasses.replace(
                diagnosis,
                findings=kept,
                notes=(
                    *diagnosis.notes,
                    f"Numeric columns were scaled ({scale}) before clustering; the spread of "
                    "one-hot columns is left as it is by design.",
                ),
            )
    if mixed:
        diagnosis = dataclasses.replace(
            diagnosis,
            notes=(
                *diagnosis.notes,
                "The segments come from K-Prototypes (gamma "
                f"{segmentation.gamma_:.3g}); they were examined in the weighted one-hot "
                "space where squared distances are k-prototypes costs, and the stability "
                "check refitted K-Means there.",
            ),
        )

    step("store")
    with SegmentStore(db) as store:
        previous = store.latest_version
        # One transaction: the version, its assignments and the write-back, or nothing.
        saved = store.save_run(
            segmentation,
            frame,
            keys=frame[id_column] if id_column is not None else frame.index,
            write_back=target,
            note=f"centroids segment {source}",
            promote=promote,
        )
        version, written = saved.version, saved.write_back
        drift = store.drift(previous, version.version) if previous is not None else None
        scored = store.predict_with_distance(frame, version.version)
        names = store.segments(include_retired=False)["name"]
        store_url = store.url.render_as_string(hide_password=True)

    step("write")
    assignments = pd.DataFrame(
        {
            (id_column or "row"): (frame[id_column].to_numpy() if id_column else np.arange(n_rows)),
            "segment_id": scored["segment_id"].array,
            "segment_name": scored["segment_id"].map(names).to_numpy(),
            "distance": scored["distance"].to_numpy(),
        }
    )
    segments = _segments_table(segmentation, version.segment_ids, names, frame.loc[used])
    labels_path = write_table(assignments, out) if out is not None else None
    report_path = None
    if report is not None:
        from ..report.html import write_report

        report_path = Path(
            write_report(
                report,
                segmentation,
                frame,
                choice=choice,
                diagnosis=diagnosis,
                version=version,
                drift=drift,
                segment_names=[names.get(i, "") for i in version.segment_ids],
                source=source,
                random_state=random_state,
            )
        )
    step(None)
    return SegmentRun(
        segmentation=segmentation,
        choice=choice,
        diagnosis=diagnosis,
        version=version,
        drift=drift,
        assignments=assignments,
        segments=segments,
        store_url=store_url,
        write_back=written,
        labels_path=labels_path,
        report_path=report_path,
        n_rows=n_rows,
        n_dropped=int(segmentation.metrics_.get("n_dropped", 0) or 0),
        missing=impute,
        n_rows_with_holes=int(preparation.n_rows_with_holes_),
        timings=timings,
    )


def _segments_table(segmentation, segment_ids, names, frame_used):
    labels = segmentation.labels_[segmentation.labels_ >= 0]
    sizes = np.bincount(labels, minlength=len(segment_ids))
    numeric = [c for c, kind in segmentation.feature_types_.items() if kind == "numeric"]
    means = frame_used[numeric].apply(pd.to_numeric, errors="coerce").groupby(labels).mean()
    table = pd.DataFrame(
        {
            "segment_id": list(segment_ids),
            "name": [names.get(i, "") for i in segment_ids],
            "rows": sizes,
            "share": sizes / max(1, sizes.sum()),
        }
    )
    for column in numeric:
        table[column] = means[column].reindex(range(len(segment_ids))).to_numpy()
    return table
