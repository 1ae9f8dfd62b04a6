"""``centroids segment DIR --dask SCHEDULER``: the steps of
:func:`centroids.segments.pipeline.segment_data` on a directory of Parquet files, without
gathering the rows on the client.

- read: ``dask.dataframe.read_parquet``;
- prepare: :func:`centroids.data.prepare_dask.fit_preparation_and_sample_dask` (the
  in-memory statistics, from aggregates, in two passes over the files) and a
  ``map_partitions`` transform;
- choose K, diagnose, the report's plots: on a seeded sample of at most
  :data:`centroids.settings.DASK_SAMPLE_ROWS` rows gathered to the client in the
  preparation's second pass;
- fit: :class:`centroids.KMeans` on the prepared rows (k-means||, exact Lloyd passes on
  the workers; one read of the files to persist them, the partitions' lengths known from
  the preparation, the segments' sizes from the last pass);
- store: the version saved as in memory (same fields, aligned stable segment ids), then
  every row's assignment recorded (and written back) by
  :func:`centroids.segments.dask_assign.assign_partitions`, a transaction per partition,
  idempotent when a partition runs again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import settings
from ..data.prepare import complete_model_rows
from .dask_assign import assign_partitions, dask_scheduler, read_parquet_directory
from .pipeline import (
    SegmentRun,
    StoredRun,
    _check_options,
    _StepClock,
    _write_run_report,
    diagnose_segments,
    parse_k,
    parse_write_back,
    pick_k,
)


def segment_dask(
    data,
    *,
    scheduler,
    id_column,
    columns=None,
    k="auto",
    scale="standard",
    impute="drop",
    missing=None,
    db=settings.DEFAULT_STORE_URL,
    write_back=None,
    out=None,
    report=None,
    random_state=0,
    progress=None,
    mixed=False,
    promote=False,
    source=None,
):
    """Segment a directory of Parquet files on Dask; the parameters are those of
    :func:`~centroids.segments.pipeline.segment_data` plus ``scheduler`` ('local' or a
    scheduler address). ``id_column`` is required (it keys every assignment); ``out`` is a
    directory (one labels file per partition).

    Returns
    -------
    SegmentRun
        ``assignments`` is None (the rows stay on the cluster: see ``partitions``, the
        :class:`~centroids.segments.dask_assign.PartitionAssignment`); the metrics of
        ``segmentation`` (silhouette, Davies-Bouldin, Calinski-Harabasz) and the
        diagnosis are those of the sample, the counts, sizes and inertia of all rows.
    """
    k, options = _check_dask_options(
        mixed, id_column, k, impute, missing, report, write_back, columns=columns, scale=scale,
        db=db, out=out, random_state=random_state, promote=promote, source=source or str(data),
    )  # fmt: skip
    step = _StepClock(progress)
    step("read")
    frame = _read_with_id_column(data, id_column)
    with dask_scheduler(scheduler):
        step("prepare")
        preparation, sample, prepared, Z_sample = _prepare_on_dask(frame, options)
        step("choose K")
        k, choice, initial_centers = _pick_k_on_sample(Z_sample, k, preparation, random_state)
        step("fit")
        segmentation = _fit_on_dask(prepared, preparation, Z_sample, k, initial_centers, options)
        step("diagnose")
        diagnosis = diagnose_segments(
            Z_sample, segmentation, scale=scale, random_state=random_state
        )
        step("store")
        stored, partitions, profile = _store_on_dask(segmentation, frame, sample, options)
    step("write")
    report_path = None
    if report is not None:
        report_path = _write_run_report(
            report, segmentation, sample, choice, diagnosis, stored, options.source, random_state
        )
    step(None)
    return _dask_segment_run(
        segmentation, choice, diagnosis, stored, partitions, profile, preparation, options,
        report_path=report_path, timings=step.timings,
    )  # fmt: skip


@dataclass(frozen=True)
class _DaskOptions:
    """The checked options of one :func:`segment_dask` run, as its steps need them."""

    id_column: str
    columns: list | None
    scale: str
    missing: str
    target: tuple | None
    db: str
    out: object
    random_state: object
    promote: bool
    source: str


def _check_dask_options(mixed, id_column, k, impute, missing, report, write_back, **given):
    """The options :func:`segment_dask` accepts, checked before any file is read: the
    parsed ``k`` and the :class:`_DaskOptions` (missing-value policy, write-back target)."""
    if mixed:
        raise ValueError(
            "--mixed (K-Prototypes) is not available with --dask; drop --mixed (K-Means "
            "with one-hot categories runs on Dask)"
        )
    if id_column is None:
        raise ValueError("--dask needs --id-column: the key of every assigned row")
    k = parse_k(k)
    missing = _check_options(impute, missing, mixed, None, report)
    if missing not in ("drop", "impute"):
        raise ValueError(
            f"--missing {missing} is not available with --dask (k-POD and masked fits need "
            "every hole at once); use drop or impute"
        )
    target = parse_write_back(write_back) if write_back is not None else None
    return k, _DaskOptions(id_column=id_column, missing=missing, target=target, **given)


def _read_with_id_column(data, id_column):
    """The Parquet directory as a Dask frame, checked to hold the id column."""
    frame = read_parquet_directory(data)
    if id_column not in frame.columns:
        raise ValueError(
            f"id column {id_column!r} is not in {data}; its columns are {list(frame.columns)}"
        )
    return frame


def _prepare_on_dask(frame, options):
    """The preparation fitted on the files, the client's sample (raw and prepared)
    and the lazily prepared rows of every partition."""
    from ..data.prepare_dask import fit_preparation_and_sample_dask, transform_dask

    random_state = options.random_state
    # the sample rides on the preparation's second pass over the files
    preparation, sample = fit_preparation_and_sample_dask(
        frame,
        columns=options.columns,
        id_column=options.id_column,
        scale=options.scale,
        missing=options.missing,
        sample_rows=settings.DASK_SAMPLE_ROWS,
        sample_seed=random_state if isinstance(random_state, int) else 0,
    )
    prepared = transform_dask(preparation, frame)
    if options.missing == "drop":
        prepared = prepared.dropna()
    Z_sample = complete_model_rows(preparation.transform(sample))
    return preparation, sample, prepared, Z_sample


def _pick_k_on_sample(Z_sample, k, preparation, random_state):
    """K chosen (or checked) on the sample, and checked against the rows of all files."""
    k, choice, initial_centers = pick_k(Z_sample, k, random_state=random_state)
    n_fit = preparation.n_rows_ - preparation.n_dropped_
    if k > n_fit:
        raise ValueError(f"k={k} segments need at least {k} rows with values; there are {n_fit}")
    return k, choice, initial_centers


def _fit_on_dask(prepared, preparation, Z_sample, k, initial_centers, options):
    """K-Means on the workers, packaged as a fitted :class:`Segmentation` whose counts,
    sizes and inertia are those of all rows and whose scores are the sample's."""
    from ..models import KMeans
    from .naming import suggest_segment_names
    from .segmentation import Segmentation, _centers_holder, _fingerprint

    n_fit = preparation.n_rows_ - preparation.n_dropped_
    init = "k-means++" if initial_centers is None else initial_centers
    n_init = "auto" if initial_centers is None else 1
    model = KMeans(n_clusters=k, init=init, n_init=n_init, random_state=options.random_state)
    # the partitions' lengths are known from the preparation's first pass: the fit
    # need not count them with a pass of its own
    model.fit(prepared.to_dask_array(lengths=preparation._dask_partition_rows))
    sizes = model._dask_cluster_members  # the fit's last pass counted them
    centers = np.asarray(model.cluster_centers_, dtype=np.float64)
    holder = _centers_holder(centers, None, policy=options.missing)
    holder.inertia_ = float(model.inertia_)
    holder.n_iter_ = int(model.n_iter_)
    segmentation = Segmentation(
        k,
        scale=options.scale,
        columns=list(preparation.feature_names_),
        id_column=options.id_column,
        missing=options.missing,
        random_state=options.random_state,
        init=init,
        n_init=n_init,
    )
    segmentation.kprototypes_ = None
    segmentation.gamma_ = None
    segmentation._set_fitted(
        preparation, holder, Z_sample, holder.predict(Z_sample), model.inertia_
    )
    # counts of all rows; the scores above are the sample's
    segmentation.sizes_ = np.asarray(sizes, dtype=np.int64)
    segmentation.spread_ = float(np.sqrt(segmentation.inertia_ / n_fit))
    segmentation.metrics_["n_used"] = int(n_fit)
    segmentation.metrics_["scores_sample_rows"] = int(Z_sample.shape[0])
    segmentation.fingerprint_ = _fingerprint(Z_sample, preparation)
    segmentation.names_ = suggest_segment_names(segmentation)
    segmentation.labels_ = None
    return segmentation


def _store_on_dask(segmentation, frame, sample, options):
    """Save the version from the sample, record (and write back) every partition's
    assignments, promote it if asked; the stored run, the partitions' assignment and the
    rows, sums and counts of every segment's numeric columns."""
    from ..store import SegmentStore

    db = options.db
    note = f"centroids segment {options.source} --dask"
    with SegmentStore(db) as store:
        previous = store.latest_version
        saved = store.save_run(segmentation, sample, keys=sample[options.id_column], note=note)
        version = saved.version
    numeric = [c for c, kind in segmentation.feature_types_.items() if kind == "numeric"]
    partitions, profile = assign_partitions(
        frame,
        db=db,
        id_column=options.id_column,
        version=version.version,
        write_back=options.target,
        out=options.out,
        record=True,
        profile=numeric,
    )
    with SegmentStore(db) as store:
        if options.promote:
            store.promote(version.version, note=note)
        stored = StoredRun(
            version=version,
            write_back=None,
            drift=store.drift(previous, version.version) if previous is not None else None,
            scored=None,
            names=store.segments(include_retired=False)["name"],
            store_url=store.url.render_as_string(hide_password=True),
        )
    return stored, partitions, profile


def _dask_segment_run(
    segmentation, choice, diagnosis, stored, partitions, profile, preparation, options, *,
    report_path, timings,
):  # fmt: skip
    """The :class:`SegmentRun` of a Dask run: the segments table from the partitions'
    profile, no in-memory assignments."""
    target = options.target
    numeric = [c for c, kind in segmentation.feature_types_.items() if kind == "numeric"]
    segments = _segments_table(stored.version.segment_ids, stored.names, profile, numeric)
    return SegmentRun(
        segmentation=segmentation,
        choice=choice,
        diagnosis=diagnosis,
        version=stored.version,
        drift=stored.drift,
        assignments=None,
        segments=segments,
        store_url=stored.store_url,
        write_back=None if target is None else _WriteBackTotals(target[0], partitions),
        labels_path=partitions.out,
        report_path=report_path,
        n_rows=int(preparation.n_rows_),
        n_dropped=int(preparation.n_dropped_),
        missing=options.missing,
        n_rows_with_holes=int(preparation.n_rows_with_holes_),
        timings=timings,
        partitions=partitions,
    )


class _WriteBackTotals:
    """The write-back of all partitions, in the shape the command prints."""

    def __init__(self, table, partitions):
        self.table = table
        self.rows_changed = partitions.rows_changed
        self.keys_not_found = partitions.keys_not_found


def _segments_table(segment_ids, names, profile, numeric):
    """segment_id, name, rows, share and the numeric means of every segment's members."""
    ids = [int(i) for i in segment_ids]
    rows = (
        profile[0]["rows"].reindex(ids).fillna(0).astype(np.int64).to_numpy()
        if profile is not None
        else np.zeros(len(ids), dtype=np.int64)
    )
    table = pd.DataFrame(
        {
            "segment_id": ids,
            "name": [names.get(i, "") for i in ids],
            "rows": rows,
            "share": rows / max(1, rows.sum()),
        }
    )
    for column in numeric:
        means = profile[1][column] / profile[2][column].replace(0, np.nan)
        table[column] = means.reindex(ids).to_numpy(dtype=np.float64)
    return table
