"""The segments of a store: one row per stable segment id, with its name and description.

A segment's name and description are the only things about it a user changes; they are
kept across versions (a continued segment keeps them, see
:mod:`centroids.store.saving`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from . import schema as tables
from .connection import storable_id
from .errors import SegmentNotFoundError


def segments_frame(connection, *, include_retired: bool) -> pd.DataFrame:
    """One row per segment id (the index): name, description, first and last version,
    retired."""
    table = tables.segments_table
    query = sa.select(table).order_by(table.c.segment_id)
    if not include_retired:
        query = query.where(table.c.retired == sa.false())
    rows = connection.execute(query).all()
    frame = pd.DataFrame(rows, columns=[c.name for c in table.c])
    return frame.set_index("segment_id")


def rename_changes(segment_id, name, description) -> dict:
    """The columns a rename sets, its arguments checked (before any connection opens)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if description is not None and not isinstance(description, str):
        raise TypeError(f"description must be a string or None, got {description!r}")
    if isinstance(segment_id, bool) or not isinstance(segment_id, int | np.integer):
        raise TypeError(f"segment_id must be an int, got {segment_id!r}")
    changes = {"name": name.strip()}
    if description is not None:
        changes["description"] = description
    return changes


def rename_segment(connection, segment_id: int, changes: dict) -> None:
    """Apply ``changes`` (:func:`rename_changes`) to one segment; SegmentNotFoundError
    naming the known ids when there is no such segment."""
    table = tables.segments_table
    count = (
        connection.execute(
            table.update().where(table.c.segment_id == int(segment_id)).values(**changes)
        ).rowcount
        if storable_id(int(segment_id))
        else 0
    )
    if count == 0:
        known = connection.execute(sa.select(table.c.segment_id)).scalars().all()
        raise SegmentNotFoundError(f"no segment with id {segment_id} (known ids: {sorted(known)})")
