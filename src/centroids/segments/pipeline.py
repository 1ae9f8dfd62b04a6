"""From a table to named, stable segments: read → prepare → choose K → fit → judge → store.

:func:`segment_data` is what ``centroids segment`` runs; a Python user calls it the same
way. Each step is a library function of its own (:func:`centroids.data.read.read_table`,
:class:`centroids.segments.segmentation.Segmentation`, :func:`centroids.evaluate.choose_k.choose_k`,
:func:`centroids.evaluate.diagnose.diagnose`, :class:`centroids.store.SegmentStore`,
:func:`centroids.report.html.write_report`); this module strings them together, one
function per step (:func:`read_rows`, :func:`prepare_rows`, :func:`pick_k`,
:func:`fit_segmentation`, :func:`diagnose_segments`, :func:`store_segments`,
:func:`assignments_table`), each callable on its own.
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
from ..settings import DEFAULT_STORE_URL

DEFAULT_DB = DEFAULT_STORE_URL
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
    size_bounds : tuple of (int or None) or None
        ``(lo, hi)`` rows per segment when the run bounded the sizes (``size_min`` /
        ``size_max``), else None.
    timings : dict
        Seconds spent in each step.
    partitions : PartitionAssignment or None
        With ``--dask``: what the partition tasks assigned and wrote
        (:mod:`centroids.segments.dask_segment`); ``assignments`` is then None.
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
    size_bounds: tuple | None = None
    timings: dict = field(default_factory=dict)
    partitions: object = None


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
    size_min=None,
    size_max=None,
):
    """Segment a table: choose K, fit, diagnose, name, store a version, write the outputs.

    Each step is a function of this module that a Python user can call on its own:
    :func:`read_rows`, :func:`prepare_rows`, :func:`pick_k`, :func:`fit_segmentation`,
    :func:`diagnose_segments`, :func:`store_segments`, :func:`assignments_table`.

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
    size_min, size_max : int, float or None, default=None
        Bounds on every segment's size: an int counts rows, a float in (0, 1] is a share
        of the rows fitted (see :class:`Segmentation`). K (chosen or given) is checked
        against them before the fit; a chosen K is chosen without them, then the
        bounded model is fitted from that K's centers. The bounds are part of the
        stored version's parameters, so a retrain keeps them.

    Returns
    -------
    SegmentRun
    """
    k = parse_k(k)
    missing = _check_options(impute, missing, mixed, out, report)
    target = _write_back_target(write_back, id_column)
    check_size_options(size_min, size_max, mixed, missing)
    step = _StepClock(progress)

    step("read")
    frame, columns, source = read_rows(
        data, table=table, columns=columns, id_column=id_column, source=source
    )
    step("prepare")
    preparation, Z = prepare_rows(
        frame, columns=columns, id_column=id_column, scale=scale, missing=missing, mixed=mixed
    )
    step("choose K")
    k, choice, initial_centers = pick_k(Z, k, random_state=random_state, mixed=mixed)
    bounds = size_bounds_for(size_min, size_max, k, Z.shape[0])
    step("fit")
    segmentation = fit_segmentation(
        frame, k, columns=columns, id_column=id_column, scale=scale, missing=missing,
        mixed=mixed, initial_centers=initial_centers, random_state=random_state,
        size_min=size_min, size_max=size_max,
    )  # fmt: skip
    step("diagnose")
    diagnosis = diagnose_segments(Z, segmentation, scale=scale, random_state=random_state)
    step("store")
    stored = store_segments(
        segmentation, frame, db=db, id_column=id_column, write_back=target,
        note=f"centroids segment {source}", promote=promote,
    )  # fmt: skip
    step("write")
    run = _write_step(
        segmentation, frame, preparation, stored, choice, diagnosis, id_column=id_column,
        out=out, report=report, source=source, random_state=random_state, missing=missing,
        size_bounds=bounds, timings=step.timings,
    )  # fmt: skip
    step(None)
    return run


def _write_step(
    segmentation, frame, preparation, stored, choice, diagnosis, *, id_column, out, report,
    source, random_state, missing, size_bounds, timings,
):  # fmt: skip
    """The last step of :func:`segment_data`: the assignments, the outputs asked for, and
    the :class:`SegmentRun` that tells of the whole run."""
    assignments = assignments_table(frame, id_column, stored.scored, stored.names)
    segments, labels_path, report_path = _write_outputs(
        segmentation,
        frame,
        assignments,
        stored,
        choice,
        diagnosis,
        out,
        report,
        source,
        random_state,
    )
    return SegmentRun(
        segmentation=segmentation,
        choice=choice,
        diagnosis=diagnosis,
        version=stored.version,
        drift=stored.drift,
        assignments=assignments,
        segments=segments,
        store_url=stored.store_url,
        write_back=stored.write_back,
        labels_path=labels_path,
        report_path=report_path,
        n_rows=len(frame),
        n_dropped=int(segmentation.metrics_.get("n_dropped", 0) or 0),
        missing=missing,
        n_rows_with_holes=int(preparation.n_rows_with_holes_),
        size_bounds=size_bounds,
        timings=timings,
    )


#: The steps of :func:`segment_data`, in the order ``progress`` is told of them.
STEPS = ("read", "prepare", "choose K", "fit", "diagnose", "store", "write")


class _StepClock:
    """Times the steps of :func:`segment_data` and tells ``progress`` of each one."""

    def __init__(self, progress):
        self.progress = progress
        self.timings = {}
        self._current = None
        self._started = time.perf_counter()

    def __call__(self, name):
        now = time.perf_counter()
        if self._current is not None:
            self.timings[self._current] = now - self._started
        self._current, self._started = name, now
        if self.progress is not None and name is not None:
            self.progress(STEPS.index(name), len(STEPS), name)


def _check_options(impute, missing, mixed, out, report):
    """The missing-value policy of a run, once its options are known to fit together."""
    if impute not in ("drop", "median"):
        raise ValueError(f"impute must be 'drop' or 'median', got {impute!r}")
    missing = missing or {"median": "impute"}.get(impute, impute)
    if model_missing_option(missing) != "error" and mixed and missing != "drop":
        raise ValueError(f"--missing {missing} clusters with K-Means; --mixed needs drop or impute")
    for path, kinds, what in ((out, (".csv", ".parquet"), "out"), (report, (".html",), "report")):
        if path is not None and Path(path).suffix.lower() not in kinds:
            raise ValueError(f"{what} must be a {' or '.join(kinds)} file, got {str(path)!r}")
    return missing


def check_size_options(size_min, size_max, mixed=False, missing="drop"):
    """Raise ``ValueError`` (one line, naming the option) for size bounds that cannot hold
    whatever the data: negative, a share outside (0, 1], min above max, with --mixed."""
    from .segmentation import _check_size_bound, _rows_of

    for value, flag in ((size_min, "--min-size"), (size_max, "--max-size")):
        try:
            _check_size_bound(value, flag)
        except ValueError as error:
            raise ValueError(str(error).replace(f"{flag}=", f"{flag} ")) from None
    if size_min is None and size_max is None:
        return
    if mixed or missing in ("kpod", "masked"):
        raise ValueError(
            "--min-size / --max-size bound K-Means segments of complete rows; they do "
            f"not apply with {'--mixed' if mixed else f'--missing {missing}'}"
        )
    if size_min is not None and size_max is not None:
        # compare on a common scale: the same kind directly, else at 1,000,000 rows
        n = 1_000_000
        if _rows_of(size_min, n, np.floor) > _rows_of(size_max, n, np.ceil) and (
            _is_share(size_min) == _is_share(size_max)
        ):
            raise ValueError(f"--min-size {size_min} is larger than --max-size {size_max}")


def _is_share(value):
    return not isinstance(value, int | np.integer) and not (float(value).is_integer() and value > 1)


def size_bounds_for(size_min, size_max, k, n_rows):
    """``(lo, hi)`` rows per segment for ``k`` segments of ``n_rows`` rows, or None when
    unbounded; ``ValueError`` naming the bound and K when no labeling can meet them."""
    from .segmentation import _rows_of

    if size_min is None and size_max is None:
        return None
    lo = _rows_of(size_min, n_rows, np.floor)
    hi = _rows_of(size_max, n_rows, np.ceil)
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(
            f"--min-size {size_min} ({lo} rows) is larger than --max-size {size_max} "
            f"({hi} rows) for {n_rows:,} rows"
        )
    if lo is not None and k * lo > n_rows:
        raise ValueError(
            f"--min-size {size_min} is infeasible for k={k}: {k} segments of at least "
            f"{lo:,} rows need {k * lo:,} rows, there are {n_rows:,} to segment"
        )
    if hi is not None and k * hi < n_rows:
        raise ValueError(
            f"--max-size {size_max} is infeasible for k={k}: {k} segments of at most "
            f"{hi:,} rows hold {k * hi:,} rows, there are {n_rows:,} to segment"
        )
    return (lo, hi)


def read_rows(data, *, table=None, columns=None, id_column=None, source=None):
    """The first step: the rows, their feature columns, and how to name them.

    Parameters
    ----------
    data : DataFrame, str or path
        The rows, or where to read them (CSV, Parquet, or a database URL with ``table``).
    table, columns, id_column, source
        As in :func:`segment_data`.

    Returns
    -------
    frame : DataFrame
    columns : list of str
        The feature columns (every column but the id when ``columns`` is None).
    source : str
        ``source``, or the path / table the rows came from.
    """
    if isinstance(data, pd.DataFrame):
        frame = data
        source = source or "data frame"
    else:
        frame = read_table(data, table=table, columns=columns, id_column=id_column)
        source = source or (f"{data}#{table}" if table else str(data))
    if columns is None:
        columns = [c for c in frame.columns if c != id_column]
    return frame, columns, source


def prepare_rows(frame, *, columns, id_column=None, scale="standard", missing="drop", mixed=False):
    """The rows in model space, as choosing K and the diagnosis see them.

    Parameters
    ----------
    frame : DataFrame
    columns, id_column, scale, missing, mixed
        As in :func:`segment_data` (``missing`` a policy of
        :data:`centroids.data.prepare.MISSING_POLICIES`).

    Returns
    -------
    preparation : Preparation
        Fitted on ``frame``; with ``mixed``, the weighted one-hot embedding of
        K-Prototypes.
    Z : ndarray of shape (n_complete_rows, n_model_features)
        The prepared rows without a missing value.

    Raises
    ------
    DataError
        With ``mixed`` and no categorical column, or when no row is complete.
    """
    from .segmentation import mixed_preparation

    preparation = Preparation(columns=columns, id_column=id_column, scale=scale, missing=missing)
    Z = complete_model_rows(preparation.fit_transform(frame))
    if mixed:
        if "categorical" not in preparation.feature_types_.values():
            raise DataError(
                "--mixed (K-Prototypes) needs at least one categorical column, but the "
                f"features {preparation.feature_names_} are all numeric; drop --mixed "
                "(K-Means), or include a categorical column in --columns"
            )
        preparation, Z, _ = mixed_preparation(
            frame, columns=columns, id_column=id_column, scale=scale, missing=missing
        )
    if Z.shape[0] == 0:
        raise DataError(
            "Every row has a missing value in a numeric column; impute them "
            "(impute='median' / --impute median) or fill them in"
        )
    return preparation, Z


def pick_k(Z, k, *, random_state=0, mixed=False):
    """The number of segments: ``k`` itself, or chosen on ``Z`` for 'auto' or a range.

    Parameters
    ----------
    Z : ndarray of shape (n_rows, n_model_features)
        Prepared rows (:func:`prepare_rows`).
    k : 'auto', int or range
        As :func:`parse_k` gives it. 'auto' tries :data:`AUTO_K_RANGE`, its upper end
        capped at one cluster per :data:`ROWS_PER_CLUSTER` rows.
    random_state : int, default=0
    mixed : bool, default=False
        K-Prototypes follows: the K-Means centers of the choice do not start it.

    Returns
    -------
    k : int
    choice : ChooseKResult or None
        None when ``k`` was one number. When the choice finds no structure, K is the
        one the silhouette prefers (people still ask for segments).
    initial_centers : ndarray or None
        The chosen model's centers, to start the fit from.
    """
    from ..evaluate.choose_k import choose_k

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
    return k, choice, initial_centers


def fit_segmentation(
    frame,
    k,
    *,
    columns,
    id_column=None,
    scale="standard",
    missing="drop",
    mixed=False,
    initial_centers=None,
    random_state=0,
    size_min=None,
    size_max=None,
):
    """The :class:`Segmentation` of ``frame`` into ``k`` segments (K-Prototypes if ``mixed``).

    ``initial_centers`` (from :func:`pick_k`) start a single run; without them the fit
    seeds with k-means++ and ``n_init='auto'``. The other parameters are those of
    :func:`segment_data`.
    """
    from .segmentation import Segmentation

    return Segmentation(
        k,
        scale=scale,
        columns=columns,
        id_column=id_column,
        missing=missing,
        random_state=random_state,
        init="k-means++" if initial_centers is None else initial_centers,
        n_init="auto" if initial_centers is None else 1,
        model="kprototypes" if mixed else "kmeans",
        size_min=size_min,
        size_max=size_max,
    ).fit(frame)


def diagnose_segments(Z, segmentation, *, scale="standard", random_state=0):
    """The diagnosis of a fitted segmentation, on its prepared rows ``Z``.

    :func:`centroids.evaluate.diagnose.diagnose`'s findings, less the advice to scale
    when the columns were scaled (one-hot columns are 0/1 by design), with a note on
    how K-Prototypes segments were examined.

    Parameters
    ----------
    Z : ndarray
        The rows the segmentation fitted, prepared (:func:`prepare_rows`).
    segmentation : Segmentation
        Fitted (:func:`fit_segmentation`).
    scale : str, default='standard'
        The scaling of the run.
    random_state : int, default=0

    Returns
    -------
    Diagnosis
    """
    from ..evaluate.diagnose import diagnose

    # Z is these rows already prepared: the segmentation fitted the same preparation (the
    # choice of K and the initial centers rest on that too).
    diagnosis = diagnose(
        Z,
        segmentation.model_,
        feature_names=segmentation.preparation_.model_feature_names_,
        random_state=random_state,
    )
    notes = []
    if scale != "none":
        # The command scaled the numeric columns itself and one-hot columns are 0/1 by
        # design, so a spread ratio between them is not advice the user can act on.
        kept = tuple(f for f in diagnosis.findings if f.code != "unscaled-features")
        if len(kept) != len(diagnosis.findings):
            diagnosis = dataclasses.replace(diagnosis, findings=kept)
            notes.append(
                f"Numeric columns were scaled ({scale}) before clustering; the spread of "
                "one-hot columns is left as it is by design."
            )
    if segmentation.model == "kprototypes":
        notes.append(
            "The segments come from K-Prototypes (gamma "
            f"{segmentation.gamma_:.3g}); they were examined in the weighted one-hot "
            "space where squared distances are k-prototypes costs, and the stability "
            "check refitted K-Means there."
        )
    if notes:
        diagnosis = dataclasses.replace(diagnosis, notes=(*diagnosis.notes, *notes))
    return diagnosis


@dataclass
class StoredRun:
    """What :func:`store_segments` saved and read back.

    Attributes
    ----------
    version : VersionInfo
    write_back : WriteBackResult or None
    drift : Drift or None
        Against the version before, when there was one.
    scored : DataFrame
        ``segment_id`` and ``distance`` of every row of the frame, by the new version.
    names : Series
        Segment names by id (retired segments left out).
    store_url : str
        The database, password hidden.
    """

    version: object
    write_back: object
    drift: object
    scored: pd.DataFrame
    names: pd.Series
    store_url: str


def store_segments(
    segmentation, frame, *, db=DEFAULT_DB, id_column=None, write_back=None, note=None, promote=False
):
    """Saves a fitted segmentation as a new version of the store at ``db``.

    One transaction holds the version, its assignments (keyed by ``id_column``, or the
    frame's index) and the write-back (a ``(table, key, column)`` of
    :func:`parse_write_back`), or nothing; ``promote`` serves the new version.

    Returns
    -------
    StoredRun
    """
    from ..store import SegmentStore

    with SegmentStore(db) as store:
        previous = store.latest_version
        saved = store.save_run(
            segmentation,
            frame,
            keys=frame[id_column] if id_column is not None else frame.index,
            write_back=write_back,
            note=note,
            promote=promote,
        )
        version = saved.version
        return StoredRun(
            version=version,
            write_back=saved.write_back,
            drift=store.drift(previous, version.version) if previous is not None else None,
            scored=store.predict_with_distance(frame, version.version),
            names=store.segments(include_retired=False)["name"],
            store_url=store.url.render_as_string(hide_password=True),
        )


def assignments_table(frame, id_column, scored, names):
    """One row per input row: its key (or ``row``), segment id, segment name, distance.

    ``scored`` and ``names`` are those of a :class:`StoredRun`.
    """
    keys = frame[id_column].to_numpy() if id_column else np.arange(len(frame))
    return pd.DataFrame(
        {
            (id_column or "row"): keys,
            "segment_id": scored["segment_id"].array,
            "segment_name": scored["segment_id"].map(names).to_numpy(),
            "distance": scored["distance"].to_numpy(),
        }
    )


def _write_back_target(write_back, id_column):
    """The parsed ``write_back`` target (None without one), checked to have an id column."""
    target = parse_write_back(write_back) if write_back is not None else None
    if target is not None and id_column is None:
        raise ValueError("write-back needs id_column: the key that matches rows of the table")
    return target


def _write_outputs(
    segmentation, frame, assignments, stored, choice, diagnosis, out, report, source, random_state
):
    """The table of segments, and the labels file and the report when asked for."""
    used = segmentation.labels_ >= 0
    segments = _segments_table(
        segmentation, stored.version.segment_ids, stored.names, frame.loc[used]
    )
    labels_path = write_table(assignments, out) if out is not None else None
    report_path = None
    if report is not None:
        report_path = _write_run_report(
            report, segmentation, frame, choice, diagnosis, stored, source, random_state
        )
    return segments, labels_path, report_path


def _write_run_report(path, segmentation, frame, choice, diagnosis, stored, source, random_state):
    from ..report.html import write_report

    return Path(
        write_report(
            path,
            segmentation,
            frame,
            choice=choice,
            diagnosis=diagnosis,
            version=stored.version,
            drift=stored.drift,
            segment_names=[stored.names.get(i, "") for i in stored.version.segment_ids],
            source=source,
            random_state=random_state,
        )
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
