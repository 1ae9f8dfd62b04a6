"""Saving a version: its number, its stable segment ids, its rows, and retraining.

A new version's centers are aligned with the latest version's
(:func:`align_with_previous`, through :func:`centroids.store.align.align_centers`):
matched centers keep their segment id, the others get new ids, and the previous
segments left unmatched are retired. :func:`save_version_in` writes the version, its
segments and its centers inside the caller's write transaction; the caller retries it
when another writer took the version number first.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from . import schema as tables
from .align import CenterAlignment, align_centers
from .assignments import check_key_count
from .records import (
    center_records,
    jsonable,
    library_versions,
    optional_str,
    per_segment,
    preparation_description,
    segment_names,
    thread_count,
)
from .writeback import WriteBackResult

#: Members of a version kept (in model space) by save_run for the explorer's map.
MEMBER_SAMPLE_ROWS = 2000


@dataclass(frozen=True)
class VersionInfo:
    """What saving a version did.

    Attributes
    ----------
    version : int
        The new version number (1 for the first).
    parent_version : int or None
        The version its segment ids were aligned with.
    segment_ids : tuple of int
        Segment id of every center, in the model's cluster order (label ``i`` is segment
        ``segment_ids[i]``).
    continued : tuple of int
        Segment ids carried over from the parent version.
    born : tuple of int
        Segment ids created by this version.
    retired : tuple of int
        Segment ids of the parent version that this version no longer has.
    created_at : datetime
    """

    version: int
    parent_version: int | None
    segment_ids: tuple[int, ...]
    continued: tuple[int, ...]
    born: tuple[int, ...]
    retired: tuple[int, ...]
    created_at: datetime


@dataclass(frozen=True)
class SavedRun:
    """What :meth:`SegmentStore.save_run` did.

    Attributes
    ----------
    version : VersionInfo
        The version saved.
    n_assigned : int
        Records whose assignment was recorded.
    n_skipped : int
        Rows the model could not place (a missing value under ``missing='drop'``).
    write_back : WriteBackResult or None
        What the write-back did, when one was asked for.
    """

    version: VersionInfo
    n_assigned: int
    n_skipped: int
    write_back: WriteBackResult | None = None


@dataclass(frozen=True)
class VersionContent:
    """A fitted segmentation checked for saving, with what is stored beside it."""

    model: object
    description: dict
    names: list
    descriptions: list

    @classmethod
    def of(cls, segmentation, names, descriptions) -> VersionContent:
        """Check ``segmentation`` is fitted and ``names`` / ``descriptions`` have one
        entry per cluster."""
        model = check_model(segmentation)
        n_clusters = int(np.asarray(model.centers_).shape[0])
        return cls(
            model,
            jsonable(model.to_dict()),
            per_segment(names, n_clusters, "names"),
            per_segment(descriptions, n_clusters, "descriptions"),
        )


@dataclass(frozen=True)
class ScoredRun:
    """The training rows of a :meth:`SegmentStore.save_run`, scored before the lock."""

    keys: object
    labels: np.ndarray
    distances: np.ndarray
    n_skipped: int
    sample_rows: list
    sample_positions: list

    @classmethod
    def of(cls, model, data, keys) -> ScoredRun:
        """Place the rows of ``data`` (one key each), keeping those the model places."""
        labels, distances = model.predict_with_distance(data)
        labels = np.asarray(labels, dtype=np.int64)
        check_key_count(keys, len(labels))
        placed = labels >= 0
        n_skipped = int((~placed).sum())
        keys = np.asarray(keys)[placed] if n_skipped else keys
        labels, distances = labels[placed], np.asarray(distances, dtype=np.float64)[placed]
        sample_rows, sample_positions = member_sample(model, data, placed, labels)
        return cls(keys, labels, distances, n_skipped, sample_rows, sample_positions)


def check_model(segmentation):
    """``segmentation``, checked to be a fitted Segmentation (TypeError naming what it
    lacks)."""
    required = ("centers_", "spread_", "to_dict", "predict_with_distance", "preparation_")
    missing = [name for name in required if not hasattr(segmentation, name)]
    if missing:
        raise TypeError(
            f"SegmentStore.save expects a fitted centroids.segments.segmentation.Segmentation; "
            f"{type(segmentation).__name__} lacks {missing} (fit it first)"
        )
    return segmentation


def save_version_in(connection, content: VersionContent, note, *, previous, match_threshold):
    """Write the next version of ``content`` inside the caller's write transaction.

    ``previous(connection, version)`` gives ``(model, segment ids)`` of a saved version
    (the store's cached reader); the centers are aligned with the latest version's under
    ``match_threshold``.
    """
    versions, segments = tables.versions_table, tables.segments_table
    model = content.model
    parent = connection.execute(sa.select(sa.func.max(versions.c.version))).scalar()
    parent = None if parent is None else int(parent)
    version = 1 if parent is None else parent + 1
    n_clusters = np.asarray(model.centers_).shape[0]
    segment_ids = np.full(n_clusters, -1, dtype=np.int64)
    retired_ids: list[int] = []
    if parent is not None:
        previous_model, previous_ids = previous(connection, parent)
        alignment = align_with_previous(previous_model, model, match_threshold)
        continued = alignment.new_to_previous >= 0
        segment_ids[continued] = previous_ids[alignment.new_to_previous[continued]]
        retired_ids = [int(previous_ids[i]) for i in alignment.retired]
    largest = connection.execute(sa.select(sa.func.max(segments.c.segment_id))).scalar()
    next_id = 1 if largest is None else int(largest) + 1
    born = np.flatnonzero(segment_ids < 0)
    segment_ids[born] = np.arange(next_id, next_id + born.size)
    born_set = set(born.tolist())
    created_at = datetime.now(UTC)
    _insert_version(connection, content, note, version, parent, created_at)
    _write_segments(connection, content, version, segment_ids, born_set, retired_ids)
    _insert_centers(connection, model, version, segment_ids)
    return VersionInfo(
        version=version,
        parent_version=parent,
        segment_ids=tuple(int(i) for i in segment_ids),
        continued=tuple(int(segment_ids[i]) for i in range(n_clusters) if i not in born_set),
        born=tuple(int(segment_ids[i]) for i in born),
        retired=tuple(retired_ids),
        created_at=created_at,
    )


def _insert_version(connection, content: VersionContent, note, version, parent, created_at):
    """The version's row: its model description, environment, metrics and libraries."""
    model = content.model
    centers = np.asarray(model.centers_, dtype=np.float64)
    params = getattr(model, "params_", {}) or {}
    random_state = params.get("random_state") if isinstance(params, dict) else None
    connection.execute(
        tables.versions_table.insert().values(
            version=version,
            created_at=created_at,
            parent_version=parent,
            n_clusters=centers.shape[0],
            n_features=centers.shape[1],
            spread=float(model.spread_),
            data_fingerprint=optional_str(getattr(model, "fingerprint_", None)),
            random_state=None if random_state is None else str(random_state)[:200],
            n_threads=thread_count(),
            note=note,
            model=content.description,
            environment=jsonable(getattr(model, "environment_", None)),
            metrics=jsonable(getattr(model, "metrics_", None)),
            **library_versions(),
        )
    )


def _write_segments(connection, content, version, segment_ids, born_set, retired_ids):
    """Insert the segments born in ``version``, extend (and rename where asked) the
    continued ones, retire the parent's unmatched ones."""
    segments = tables.segments_table
    names, descriptions = content.names, content.descriptions
    suggested = segment_names(content.model, len(segment_ids))
    for position, segment_id in enumerate(int(i) for i in segment_ids):
        if position in born_set:
            connection.execute(
                segments.insert().values(
                    segment_id=segment_id,
                    name=names[position] or suggested[position] or f"Segment {segment_id}",
                    description=descriptions[position],
                    first_version=version,
                    last_version=version,
                    retired=False,
                    retired_in_version=None,
                )
            )
        else:
            changes = {"last_version": version}
            if names[position] is not None:
                changes["name"] = names[position]
            if descriptions[position] is not None:
                changes["description"] = descriptions[position]
            connection.execute(
                segments.update().where(segments.c.segment_id == segment_id).values(**changes)
            )
    if retired_ids:
        connection.execute(
            segments.update()
            .where(segments.c.segment_id.in_(retired_ids))
            .values(retired=True, retired_in_version=version)
        )


def _insert_centers(connection, model, version, segment_ids):
    """The version's centers (model space and original units) with their sizes."""
    centers = np.asarray(model.centers_, dtype=np.float64)
    n_clusters = centers.shape[0]
    sizes = getattr(model, "sizes_", None)
    sizes = np.zeros(n_clusters, np.int64) if sizes is None else np.asarray(sizes)
    originals = center_records(model.centers_original_)
    connection.execute(
        tables.centers_table.insert(),
        [
            {
                "version": version,
                "position": position,
                "segment_id": int(segment_ids[position]),
                "size": int(sizes[position]),
                "center": centers[position].tolist(),
                "center_original": originals[position],
            }
            for position in range(n_clusters)
        ],
    )


def align_with_previous(previous, model, match_threshold: float) -> CenterAlignment:
    """Match the new ``model``'s centers to the ``previous`` version's, in the new model's
    space (the previous centers go through the new preparation when it changed)."""
    new_centers = np.asarray(model.centers_, dtype=np.float64)
    same_space = preparation_description(previous) == preparation_description(model)
    if same_space:
        previous_centers = np.asarray(previous.centers_, dtype=np.float64)
    else:
        # The preparation changed (scaling statistics, columns, categories): take the
        # previous centers in original units through the new preparation.
        previous_centers = np.asarray(
            model.preparation_.transform_centers(previous.centers_original_),
            dtype=np.float64,
        )
        previous_centers = np.nan_to_num(previous_centers, nan=0.0)
    spread = float(model.spread_)
    if not np.isfinite(spread) or spread <= 0:
        spread = np.finfo(np.float64).tiny
    return align_centers(previous_centers, new_centers, spread=spread, threshold=match_threshold)


def member_sample(model, data, placed, labels):
    """Up to :data:`MEMBER_SAMPLE_ROWS` placed rows of ``data`` in model space (lists) and
    their clusters, drawn with the segmentation's ``random_state``."""
    from sklearn.utils import check_random_state

    rows = np.flatnonzero(placed)
    params = getattr(model, "params_", {}) or {}
    seed = params.get("random_state") if isinstance(params, dict) else None
    seed = seed if isinstance(seed, int) else 0
    if rows.size > MEMBER_SAMPLE_ROWS:
        chosen = np.sort(check_random_state(seed).choice(rows.size, MEMBER_SAMPLE_ROWS, False))
    else:
        chosen = np.arange(rows.size)
    picked = rows[chosen]
    frame = data.iloc[picked] if isinstance(data, pd.DataFrame) else np.asarray(data)[picked]
    Z = np.asarray(model.transform(frame), dtype=np.float64)
    return np.round(Z, 6).tolist(), labels[chosen].tolist()


def insert_member_sample(connection, version: int, run: ScoredRun) -> None:
    """Keep ``run``'s member sample with the version (the explorer's map reads it)."""
    connection.execute(
        tables.member_samples_table.insert().values(
            version=version,
            n_members=int(run.labels.size),
            rows=run.sample_rows,
            positions=run.sample_positions,
        )
    )


def retrain_settings(latest, model_class, *, warm_start, n_clusters, random_state, params):
    """``(n_clusters, other parameters)`` of a ``model_class`` refit of the ``latest``
    segmentation."""
    accepted = set(inspect.signature(model_class).parameters)
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise TypeError(
            f"retrain got unknown Segmentation parameter(s) {unknown}; known: {sorted(accepted)}"
        )
    settings = {k: v for k, v in dict(latest.params_).items() if k in accepted}
    settings.update(params)
    previous_k = int(np.asarray(latest.centers_).shape[0])
    if n_clusters is not None:
        settings["n_clusters"] = n_clusters
    if random_state is not None:
        settings["random_state"] = random_state
    same_k = n_clusters is None or int(n_clusters) == previous_k
    # K-Prototypes has no warm start (it seeds itself); K-Means starts from the
    # latest centers in original units.
    if warm_start and same_k and settings.get("model", "kmeans") == "kmeans":
        settings["init"] = latest.centers_original_
    elif "init" not in params:
        settings["init"] = "k-means++"
    return settings.pop("n_clusters", previous_k), settings
