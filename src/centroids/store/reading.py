"""Reading versions back: which version a call means, its model, its rows, its export.

Each function takes an open connection (the caller's transaction), so that a
:class:`~centroids.store.SegmentStore` method reads everything it needs from one
snapshot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from . import schema as tables
from .connection import storable_id
from .errors import VersionNotFoundError
from .records import jsonable

_NO_VERSION_YET = "the store holds no version yet; save a fitted Segmentation first"


def model_class():
    """:class:`~centroids.segments.segmentation.Segmentation` (imported when first needed:
    the store is imported by the segment application)."""
    from centroids.segments.segmentation import Segmentation

    return Segmentation


def latest_version(connection) -> int | None:
    """The number of the latest version, None when the store is empty."""
    latest = connection.execute(sa.select(sa.func.max(tables.versions_table.c.version))).scalar()
    return None if latest is None else int(latest)


def no_version_message(connection, version) -> str:
    """What to tell a user who asked for ``version`` when it does not exist."""
    latest = latest_version(connection)
    if latest is None:
        return _NO_VERSION_YET
    return f"no version {version} in the store (versions 1 to {latest} exist)"


def resolve_version(connection, version) -> int:
    """The version number ``version`` means (None: the latest), checked to exist."""
    if version is None:
        latest = latest_version(connection)
        if latest is None:
            raise VersionNotFoundError(_NO_VERSION_YET)
        return latest
    if isinstance(version, bool) or not isinstance(version, int | np.integer):
        raise TypeError(f"version must be an int or None (the latest), got {version!r}")
    version = int(version)
    if not storable_id(version):
        raise VersionNotFoundError(no_version_message(connection, version))
    exists = connection.execute(
        sa.select(tables.versions_table.c.version).where(tables.versions_table.c.version == version)
    ).scalar_one_or_none()
    if exists is None:
        raise VersionNotFoundError(no_version_message(connection, version))
    return version


def model_in(connection, version: int, cache: dict):
    """``(segmentation, segment id of each cluster)`` of a version, from ``cache`` when
    it holds the version (versions never change), else read and kept there."""
    cached = cache.get(version)
    if cached is not None:
        return cached
    row = connection.execute(
        sa.select(tables.versions_table.c.model).where(tables.versions_table.c.version == version)
    ).scalar_one_or_none()
    if row is None:
        raise VersionNotFoundError(no_version_message(connection, version))
    ids = connection.execute(
        sa.select(tables.centers_table.c.segment_id)
        .where(tables.centers_table.c.version == version)
        .order_by(tables.centers_table.c.position)
    ).scalars()
    model = model_class().from_dict(row)
    entry = (model, np.asarray(list(ids), dtype=np.int64))
    cache[version] = entry
    return entry


def served_version(connection) -> int | None:
    """The latest promoted version, else the latest version (None: the store is empty)."""
    promotions = tables.promotions_table
    promoted = connection.execute(
        sa.select(promotions.c.version).order_by(promotions.c.promotion.desc()).limit(1)
    ).scalar()
    if promoted is not None:
        return int(promoted)
    return latest_version(connection)


def versions_frame(connection) -> pd.DataFrame:
    """One row per saved version, without the model, environment and metrics documents."""
    table = tables.versions_table
    columns = [c for c in table.c if c.name not in ("model", "environment", "metrics")]
    rows = connection.execute(sa.select(*columns).order_by(table.c.version)).all()
    return pd.DataFrame(rows, columns=[c.name for c in columns])


def version_row(connection, version: int) -> dict:
    """Every column of one version's row."""
    table = tables.versions_table
    row = connection.execute(sa.select(table).where(table.c.version == version)).one()
    return dict(row._mapping)


def center_rows(connection, version: int) -> list:
    """The rows of a version's centers, in the model's cluster order."""
    table = tables.centers_table
    return connection.execute(
        sa.select(table).where(table.c.version == version).order_by(table.c.position)
    ).all()


def member_sample_row(connection, version: int):
    """The member sample saved with a version, None when it was saved without its data."""
    table = tables.member_samples_table
    return connection.execute(sa.select(table).where(table.c.version == version)).first()


def predictions(model, ids: np.ndarray, data) -> pd.DataFrame:
    """``segment_id`` (nullable Int64, missing where the model cannot place a row) and
    ``distance`` of the rows of ``data``, indexed as ``data`` when it is a DataFrame."""
    labels, distances = model.predict_with_distance(data)
    labels = np.asarray(labels, dtype=np.int64)
    assigned = labels >= 0
    segment_ids = pd.array(np.where(assigned, ids[np.maximum(labels, 0)], 0), dtype="Int64")
    segment_ids[~assigned] = pd.NA
    index = data.index if isinstance(data, pd.DataFrame) else None
    return pd.DataFrame(
        {"segment_id": segment_ids, "distance": np.asarray(distances, dtype=np.float64)},
        index=index,
    )


def centers_frame(rows, model, *, original_units: bool) -> pd.DataFrame:
    """The centers of ``rows`` (:func:`center_rows`) indexed by segment id, in original
    units or in model space (then named by the model's features)."""
    ids = pd.Index([row.segment_id for row in rows], name="segment_id")
    if original_units:
        return pd.DataFrame([row.center_original for row in rows], index=ids)
    names = getattr(model, "feature_names_", None)
    frame = pd.DataFrame([row.center for row in rows], index=ids)
    if names is not None and len(names) == frame.shape[1]:
        frame.columns = list(names)
    return frame


def export_document(info: dict, rows, segment_rows: pd.DataFrame) -> dict:
    """The JSON-safe export of a version: ``info`` (:func:`version_row`, its ``model``
    taken out), its center ``rows`` with the names and descriptions of ``segment_rows``."""
    centers = []
    for row in rows:
        segment = segment_rows.loc[row.segment_id]
        centers.append(
            {
                "position": row.position,
                "segment_id": row.segment_id,
                "name": segment["name"],
                "description": segment["description"],
                "size": row.size,
                "center": row.center,
                "center_original": row.center_original,
            }
        )
    model = info.pop("model")
    return jsonable(
        {
            "format": "centroids.SegmentStore.export",
            "schema_version": tables.SCHEMA_VERSION,
            "version": info,
            "segments": centers,
            "model": model,
        }
    )
