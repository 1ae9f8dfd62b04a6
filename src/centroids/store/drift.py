"""Drift between two stored versions: who changed segment, sizes, center shifts, births.

:func:`compute_drift` reads the store's tables; :class:`Drift` holds the result and
prints as a plain-text report. Records that changed segment come from the assignment
history (``centroids_assignments``): only records assigned under both versions (by
:meth:`SegmentStore.write_back` or :meth:`SegmentStore.record_assignments`) count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa

from . import schema as tables


@dataclass(frozen=True)
class Drift:
    """How the segments changed from one version to another.

    Attributes
    ----------
    from_version, to_version : int
    records_compared : int
        Records with a recorded assignment under both versions.
    records_changed : int
        Those whose segment id differs between the two.
    transitions : DataFrame
        Records compared, counted by segment before (rows) and after (columns).
    sizes : DataFrame
        Indexed by segment id: ``name``, training ``size_before``, ``size_after`` (0 where
        the segment is absent), ``size_change`` and the shares of the training rows.
    center_shifts : DataFrame
        Indexed by the segment ids present in both versions: the change of every numeric
        column of the centers in original units (after - before; category shares too), and
        for a categorical column ``'before → after'`` where its dominant category changed
        (empty otherwise).
    born : tuple of int
        Segment ids in ``to_version`` but not in ``from_version``.
    retired : tuple of int
        Segment ids in ``from_version`` but not in ``to_version``.
    names : dict
        Segment id → current name.
    """

    from_version: int
    to_version: int
    records_compared: int
    records_changed: int
    transitions: pd.DataFrame
    sizes: pd.DataFrame
    center_shifts: pd.DataFrame
    born: tuple[int, ...]
    retired: tuple[int, ...]
    names: dict = field(default_factory=dict)

    def to_dict(self):
        """The drift as plain types, ready for JSON (the service's ``/v1/drift``).

        ``sizes`` and ``center_shifts`` are lists of records (with ``segment_id``), the
        transitions a matrix of counts with the segment ids of its rows and columns.
        """
        transitions = self.transitions
        return {
            "from_version": self.from_version,
            "to_version": self.to_version,
            "records_compared": self.records_compared,
            "records_changed": self.records_changed,
            "changed_share": self.changed_share,
            "born": list(self.born),
            "retired": list(self.retired),
            "names": {str(k): v for k, v in self.names.items()},
            "sizes": self.sizes.reset_index().to_dict(orient="records"),
            "center_shifts": self.center_shifts.reset_index().to_dict(orient="records"),
            "transitions": {
                "from_segments": [int(i) for i in transitions.index],
                "to_segments": [int(i) for i in transitions.columns],
                "counts": transitions.to_numpy().astype(int).tolist(),
            },
        }

    @property
    def changed_share(self) -> float:
        """Share of the compared records that changed segment (NaN when none compared)."""
        if self.records_compared == 0:
            return float("nan")
        return self.records_changed / self.records_compared

    def to_text(self) -> str:
        """The drift as a plain-text report (also what ``str()`` gives)."""
        lines = [f"Drift from version {self.from_version} to version {self.to_version}"]
        if self.records_compared:
            lines.append(
                f"records assigned under both: {self.records_compared}; changed segment: "
                f"{self.records_changed} ({100 * self.changed_share:.1f}%)"
            )
        else:
            lines.append("records assigned under both: none recorded (no comparison)")
        lines.append(f"segments born: {self._listed(self.born)}")
        lines.append(f"segments retired: {self._listed(self.retired)}")
        lines.append("")
        lines.append("Sizes (training rows)")
        lines.append(self.sizes.to_string())
        if not self.center_shifts.empty:
            lines.append("")
            lines.append("Center shifts in original units (after - before)")
            lines.append(self.center_shifts.to_string(float_format=lambda v: f"{v:.4g}"))
        return "\n".join(lines)

    def _listed(self, ids) -> str:
        if not ids:
            return "none"
        return ", ".join(f"{i} ({self.names.get(i, '?')})" for i in ids)

    def __str__(self):
        return self.to_text()


def _centers(connection: sa.Connection, version: int) -> pd.DataFrame:
    table = tables.centers_table
    rows = connection.execute(
        sa.select(table.c.segment_id, table.c.size, table.c.center_original)
        .where(table.c.version == version)
        .order_by(table.c.position)
    ).all()
    originals = pd.DataFrame(
        [row.center_original for row in rows],
        index=pd.Index([row.segment_id for row in rows], name="segment_id"),
    )
    sizes = pd.Series([row.size for row in rows], index=originals.index, name="size")
    return originals.assign(_size=sizes)


def compute_drift(connection: sa.Connection, from_version: int, to_version: int) -> Drift:
    """Compare two versions already known to exist (see :meth:`SegmentStore.drift`)."""
    segments = tables.segments_table
    names = dict(connection.execute(sa.select(segments.c.segment_id, segments.c.name)).all())
    before = _centers(connection, from_version)
    after = _centers(connection, to_version)
    before_ids, after_ids = list(before.index), list(after.index)
    born = tuple(int(i) for i in after_ids if i not in set(before_ids))
    retired = tuple(int(i) for i in before_ids if i not in set(after_ids))

    sizes = _size_changes(before, after, names)
    center_shifts = _center_shifts(before, after)
    transitions, counts = _transitions(connection, from_version, to_version)
    compared = int(counts["records"].sum())
    changed = int(counts.loc[counts["before"] != counts["after"], "records"].sum())
    return Drift(
        from_version=from_version,
        to_version=to_version,
        records_compared=compared,
        records_changed=changed,
        transitions=transitions,
        sizes=sizes,
        center_shifts=center_shifts,
        born=born,
        retired=retired,
        names=names,
    )


def _size_changes(before, after, names):
    """Every segment's size and share before and after (0 where it did not exist)."""
    before_ids, after_ids = list(before.index), list(after.index)
    all_ids = sorted(set(before_ids) | set(after_ids))
    size_before = before["_size"].reindex(all_ids, fill_value=0).astype(np.int64)
    size_after = after["_size"].reindex(all_ids, fill_value=0).astype(np.int64)
    return pd.DataFrame(
        {
            "name": [names.get(i) for i in all_ids],
            "size_before": size_before.to_numpy(),
            "size_after": size_after.to_numpy(),
            "size_change": (size_after - size_before).to_numpy(),
            "share_before": (size_before / max(int(size_before.sum()), 1)).round(4).to_numpy(),
            "share_after": (size_after / max(int(size_after.sum()), 1)).round(4).to_numpy(),
        },
        index=pd.Index(all_ids, name="segment_id"),
    )


def _center_shifts(before, after):
    """The shift of every segment in both versions, column by column in original units:
    after - before for a number, 'old → new' for a category that changed."""
    before_ids, after_ids = list(before.index), list(after.index)
    common = [i for i in after_ids if i in set(before_ids)]
    shifts = {}
    columns = [c for c in after.columns if c != "_size"]
    for column in columns:
        if column not in before.columns:
            continue
        old = before.loc[common, column]
        new = after.loc[common, column]
        numeric_old = pd.to_numeric(old, errors="coerce")
        numeric_new = pd.to_numeric(new, errors="coerce")
        if numeric_old.notna().all() and numeric_new.notna().all():
            shifts[column] = (numeric_new - numeric_old).astype(np.float64)
        else:
            shifts[column] = pd.Series(
                [f"{a} → {b}" if a != b else "" for a, b in zip(old, new, strict=True)],
                index=old.index,
            )
    return pd.DataFrame(shifts, index=pd.Index(common, name="segment_id"))


def _transitions(connection, from_version, to_version):
    """Records assigned under both versions: the (segment before x segment after) table
    of their counts, and the counts as (before, after, records) rows."""
    assignments = tables.assignments_table
    first = assignments.alias("first")
    second = assignments.alias("second")
    rows = connection.execute(
        sa.select(first.c.segment_id, second.c.segment_id, sa.func.count())
        .select_from(first.join(second, first.c.record_key == second.c.record_key))
        .where(first.c.version == from_version, second.c.version == to_version)
        .group_by(first.c.segment_id, second.c.segment_id)
    ).all()
    counts = pd.DataFrame(rows, columns=["before", "after", "records"])
    transitions = (
        counts.pivot_table(index="before", columns="after", values="records", fill_value=0)
        .astype(np.int64)
        .rename_axis(index="segment before", columns="segment after")
    )
    return transitions, counts
