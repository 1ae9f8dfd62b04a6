"""SegmentStore: versioned segmentations with stable segment ids in a database.

A :class:`SegmentStore` keeps every saved segmentation as an immutable numbered version,
gives each cluster a stable segment id that survives retraining (see
:mod:`centroids.store.align`), keeps a name and description per segment, writes segment
ids back into the user's tables in bulk and records every assignment, so that drift
between versions can be measured. SQLite (a file, by default) or PostgreSQL (psycopg 3).

Every write is one transaction: a process killed in the middle leaves the database as it
was before. Saving a version takes a write lock (``BEGIN IMMEDIATE`` on SQLite, a
transaction-level advisory lock on PostgreSQL), so concurrent writers queue up and
version numbers stay unique.

This module is the facade: the public API in one class, each method opening the
transaction it needs and handing the work to the module of its concern:

* :mod:`~centroids.store.connection`: the URL, the engine, transactions, the schema check;
* :mod:`~centroids.store.saving`: a new version, its segment ids, retraining;
* :mod:`~centroids.store.reading`: which version a call means, its model, rows, export;
* :mod:`~centroids.store.names`: the segments, their names and descriptions;
* :mod:`~centroids.store.assignments`: assignments, write-back and their history;
* :mod:`~centroids.store.drift` and :mod:`~centroids.store.scoring_sql`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError

from . import reading
from . import schema as tables
from .assignments import assignments_frame, placed_rows, row_keys, write_assignments
from .connection import DEFAULT_URL as _DEFAULT_URL
from .connection import connect as _connect
from .connection import create_engine as _create_engine
from .connection import normalise_url as _normalise_url
from .connection import open_schema, upgrade_schema
from .errors import ConcurrentWriteError, StoreURLError, VersionNotFoundError
from .names import rename_changes, rename_segment, segments_frame
from .records import optional_str, write_json_atomically
from .saving import (
    SavedRun,
    ScoredRun,
    VersionContent,
    VersionInfo,
    insert_member_sample,
    retrain_settings,
    save_version_in,
)
from .writeback import WriteBackResult

__all__ = ["SavedRun", "SegmentStore", "VersionInfo"]

#: Called with a stage name ('save_version', 'save_run', 'write_back',
#: 'record_assignments') inside the open transaction, just before it commits. None in
#: normal use; tests set it (on this module) to pause a child process there and kill it.
_before_commit_hook: Callable[[str], None] | None = None

#: How many times a save is retried after losing a race for a version number.
_SAVE_ATTEMPTS = 5


class SegmentStore:
    """Versioned segmentations and stable segment ids in SQLite or PostgreSQL.

    Parameters
    ----------
    url : str, path or sqlalchemy.URL, default='sqlite:///segments.db'
        The database. A SQLite file (``'sqlite:///path/to/file.db'``, or a plain path),
        ``'sqlite://'`` for a private in-memory database, or PostgreSQL
        (``'postgresql://user:password@host:port/database'``, through psycopg 3). The
        store's tables (``centroids_*``) are created on first use.
    match_threshold : float, default=1.0
        A center of a new version keeps the segment id of the previous version's center it
        is matched to when they are closer than ``match_threshold`` times the new model's
        within-cluster spread (root mean squared distance of the points to their center).

    Attributes
    ----------
    url : sqlalchemy.URL
        The database URL (its password hidden when printed).
    engine : sqlalchemy.Engine

    Notes
    -----
    Versions and their centers are immutable: the API has no update, and database triggers
    reject UPDATE and DELETE on those tables. Segment names and the retired flag can
    change. Loaded models are cached per version (they never change).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from centroids.segments.segmentation import Segmentation
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"spend": np.r_[rng.normal(10, 1, 50), rng.normal(50, 1, 50)],
    ...                    "visits": np.r_[rng.normal(2, 0.5, 50), rng.normal(9, 0.5, 50)]})
    >>> store = SegmentStore("sqlite://")
    >>> first = store.save(Segmentation(2, random_state=0).fit(df))
    >>> first.version, first.segment_ids
    (1, (1, 2))
    >>> second = store.retrain(df.sample(frac=1.0, random_state=1), random_state=5)
    >>> second.version, sorted(second.continued), second.born, second.retired
    (2, [1, 2], (), ())
    >>> store.predict(df.iloc[[0, 99]]).tolist()
    [2, 1]
    >>> store.rename(1, "Regulars", "spend and visit a lot")
    >>> store.segments()["name"].tolist()
    ['Regulars', 'spend low · visits low']
    """

    def __init__(self, url=_DEFAULT_URL, *, match_threshold=1.0):
        threshold = float(match_threshold)
        if not np.isfinite(threshold) or threshold < 0:
            raise ValueError(
                f"match_threshold must be a non-negative number, got {match_threshold!r}"
            )
        self.match_threshold = threshold
        self.url = _normalise_url(url)
        try:
            self.engine = _create_engine(self.url)
        except (ArgumentError, NoSuchModuleError) as error:
            raise StoreURLError(f"cannot use the store URL {self._safe_url}: {error}") from None
        self._models: dict[int, tuple[object, np.ndarray]] = {}
        open_schema(self.engine, self._safe_url)

    # -- connection and schema (centroids.store.connection) -------------------------------

    @property
    def _safe_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def __repr__(self):
        return f"SegmentStore({self._safe_url!r})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @classmethod
    def upgrade(cls, url=_DEFAULT_URL, **options) -> SegmentStore:
        """Upgrade the store's schema at ``url`` to this version of centroids, then open it.

        The upgrade runs in one transaction: if it fails, the database is left unchanged.

        Examples
        --------
        >>> store = SegmentStore.upgrade("sqlite://")
        >>> store.schema_version
        2
        """
        upgrade_schema(url)
        return cls(url, **options)

    @property
    def schema_version(self) -> int:
        """The schema version of the database."""
        with self._read() as connection:
            return tables.read_schema_version(connection)

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with _connect(self.engine, self._safe_url, write=True) as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with _connect(self.engine, self._safe_url, write=False) as connection:
            yield connection

    def _save_transaction(self, stage: str, work):
        """``work(connection)`` in a write transaction, retried when another writer that
        took no lock (another tool) got the version number first: the unique version key
        rejects the duplicate."""
        last_error = None
        for _ in range(_SAVE_ATTEMPTS):
            try:
                with self._write() as connection:
                    result = work(connection)
                    _pause(stage)
                return result
            except IntegrityError as error:
                last_error = error
        raise ConcurrentWriteError(
            f"could not save a new version after {_SAVE_ATTEMPTS} attempts: other writers "
            f"kept taking the version number ({last_error.orig}); try again"
        )

    # -- versions (centroids.store.saving) --------------------------------------------------

    def save(self, segmentation, *, names=None, descriptions=None, note=None) -> VersionInfo:
        """Save a fitted segmentation as the next version, aligning its segment ids.

        Its centers are matched to the latest version's (see
        :func:`centroids.store.align.align_centers`): matched centers keep their segment
        id and name, the others get new ids, and the latest version's segments left
        without a match are retired.

        Parameters
        ----------
        segmentation : Segmentation
            A fitted :class:`centroids.segments.segmentation.Segmentation`.
        names, descriptions : list of str, optional
            One entry per cluster (None entries keep the existing or suggested name). A
            continued segment keeps its name unless one is given here; a new segment gets
            the given name, else the segmentation's suggested name (``names_``).
        note : str, optional
            Free text stored with the version.

        Returns
        -------
        VersionInfo
        """
        content = VersionContent.of(segmentation, names, descriptions)
        return self._save_transaction(
            "save_version", lambda connection: self._save_in(connection, content, note)
        )

    def save_run(
        self,
        segmentation,
        data,
        *,
        keys=None,
        key_column=None,
        write_back=None,
        names=None,
        descriptions=None,
        note=None,
        promote=False,
    ) -> SavedRun:
        """Save a version and record the assignments of ``data`` under it, as one unit.

        What :meth:`save` then :meth:`record_assignments` (or :meth:`write_back`), and
        :meth:`promote` when ``promote`` is true, do, in one transaction: the version,
        its segments, its centers, the assignments of every row of ``data``, the
        write-back and the promotion all appear together, or (the process killed, an
        error) none of them. The rows are scored by ``segmentation`` before the write
        lock is taken.

        Parameters
        ----------
        segmentation : Segmentation
            A fitted segmentation, as for :meth:`save`.
        data : DataFrame
            The rows whose assignments to record (usually the training rows).
        keys, key_column
            The rows' keys, as in :meth:`write_back`.
        write_back : tuple (table, key_column, segment_column), optional
            Also set the segment ids of that table of the store's database.
        names, descriptions, note
            As in :meth:`save`.
        promote : bool, default=False
            Also make the new version the one served (:meth:`promote`).

        Returns
        -------
        SavedRun
        """
        content = VersionContent.of(segmentation, names, descriptions)
        if write_back is not None:
            key_column = write_back[1] if key_column is None else key_column
        run = ScoredRun.of(content.model, data, row_keys(data, keys, key_column))
        target = None
        if write_back is not None:
            table, key_col, segment_column = write_back
            target = (table, key_col, segment_column, None, None)

        def work(connection):
            info = self._save_in(connection, content, note)
            ids = np.asarray(info.segment_ids, dtype=np.int64)
            result = write_assignments(
                connection,
                run.keys,
                ids[run.labels],
                run.distances,
                version=info.version,
                target=target,
                n_skipped=run.n_skipped,
                assigned_at=datetime.now(UTC),
            )
            insert_member_sample(connection, info.version, run)
            if promote:
                _insert_promotion(connection, info.version, note)
            return info, result

        info, result = self._save_transaction("save_run", work)
        written = result if isinstance(result, WriteBackResult) else None
        n_assigned = written.rows_given if written is not None else int(result)
        return SavedRun(info, n_assigned, run.n_skipped, written)

    def _save_in(self, connection, content: VersionContent, note) -> VersionInfo:
        return save_version_in(
            connection,
            content,
            note,
            previous=self._model_in,
            match_threshold=self.match_threshold,
        )

    def retrain(
        self,
        data,
        *,
        warm_start=True,
        n_clusters=None,
        random_state=None,
        names=None,
        descriptions=None,
        note=None,
        **params,
    ) -> VersionInfo:
        """Fit the latest version's segmentation on new data and save it as the next version.

        Parameters
        ----------
        data : DataFrame
            The new training data.
        warm_start : bool, default=True
            Start from the latest version's centers (in original units). Ignored when
            ``n_clusters`` changes and for a K-Prototypes segmentation (it seeds itself);
            k-means++ seeding is used then, and when False.
        n_clusters : int, optional
            A new number of clusters (default: the latest version's).
        random_state : int, optional
            Seed of the new fit (default: the latest version's).
        names, descriptions, note
            As in :meth:`save`.
        **params
            Other :class:`~centroids.segments.segmentation.Segmentation` parameters to change.

        Returns
        -------
        VersionInfo
        """
        latest = self.load()
        Segmentation = reading.model_class()
        n_clusters_value, settings = retrain_settings(
            latest,
            Segmentation,
            warm_start=warm_start,
            n_clusters=n_clusters,
            random_state=random_state,
            params=params,
        )
        model = Segmentation(n_clusters_value, **settings).fit(data)
        return self.save(model, names=names, descriptions=descriptions, note=note)

    # -- reading versions (centroids.store.reading) -----------------------------------------

    def _model_in(self, connection, version: int):
        return reading.model_in(connection, version, self._models)

    def _resolve_version(self, connection, version) -> int:
        return reading.resolve_version(connection, version)

    @property
    def latest_version(self) -> int | None:
        """The number of the latest version, None when the store is empty."""
        with self._read() as connection:
            return reading.latest_version(connection)

    def versions(self) -> pd.DataFrame:
        """One row per saved version: number, time, size, fingerprint and environment."""
        with self._read() as connection:
            return reading.versions_frame(connection)

    def version_info(self, version=None) -> dict:
        """Everything recorded about one version (None: the latest), model description too."""
        with self._read() as connection:
            return reading.version_row(connection, self._resolve_version(connection, version))

    def load(self, version=None):
        """The segmentation of a version (None: the latest), ready to predict."""
        return self._load(version)[0]

    def _load(self, version):
        with self._read() as connection:
            return self._model_in(connection, self._resolve_version(connection, version))

    def segment_ids(self, version=None) -> np.ndarray:
        """Segment id of every cluster of a version, in the model's cluster order."""
        return self._load(version)[1].copy()

    def predict(self, data, version=None) -> pd.Series:
        """Segment ids of the rows of ``data`` under a version (None: the latest).

        Returns a Series (nullable Int64) aligned with ``data``'s index when it is a
        DataFrame; missing for rows the model cannot place (see :meth:`predict_with_distance`).
        """
        return self.predict_with_distance(data, version)["segment_id"]

    def predict_with_distance(self, data, version=None) -> pd.DataFrame:
        """Segment ids and distances to their centers (model space) of the rows of ``data``.

        Returns a DataFrame with columns ``segment_id`` (nullable Int64: missing for a row
        the model cannot place, one with a missing numeric value under ``missing='drop'``)
        and ``distance`` (NaN there).
        """
        model, ids = self._load(version)
        return reading.predictions(model, ids, data)

    def centers(self, version=None, *, original_units=True) -> pd.DataFrame:
        """Centers of a version indexed by segment id, in original units or model space."""
        with self._read() as connection:
            version = self._resolve_version(connection, version)
            rows = reading.center_rows(connection, version)
        model = None if original_units else self.load(version)
        return reading.centers_frame(rows, model, original_units=original_units)

    def member_sample(self, version=None) -> tuple[np.ndarray, np.ndarray, int] | None:
        """The members sampled when ``version`` was saved by :meth:`save_run`.

        Returns ``(rows in model space, segment id of each, number of members)``, or None
        when the version was saved without its data (:meth:`save`).
        """
        with self._read() as connection:
            version = self._resolve_version(connection, version)
            row = reading.member_sample_row(connection, version)
        if row is None:
            return None
        ids = self.segment_ids(version)
        rows = np.asarray(row.rows, dtype=np.float64).reshape(len(row.positions), -1)
        return rows, ids[np.asarray(row.positions, dtype=np.int64)], int(row.n_members)

    def export(self, version=None, path=None) -> dict:
        """A JSON-safe description of a version: model, centers, segments, environment.

        With ``path``, also written there as JSON (to a temporary name, then renamed).
        """
        info = self.version_info(version)
        segment_rows = self.segments()
        with self._read() as connection:
            rows = reading.center_rows(connection, info["version"])
        exported = reading.export_document(info, rows, segment_rows)
        if path is not None:
            write_json_atomically(Path(path), exported)
        return exported

    # -- the served version --------------------------------------------------------------

    @property
    def served_version(self) -> int | None:
        """The version to serve: the latest :meth:`promote`'s, else the latest version.

        None when the store is empty. A service answers requests that name no version
        with it.
        """
        with self._read() as connection:
            return reading.served_version(connection)

    def promote(self, version, *, note=None) -> None:
        """Make ``version`` the one served (see :attr:`served_version`); recorded with the time.

        Saving a later version does not change the served one once a version has been
        promoted: promote the new one when it should be served.
        """
        with self._write() as connection:
            _insert_promotion(connection, self._resolve_version(connection, version), note)

    # -- segments (centroids.store.names) ---------------------------------------------------

    def segments(self, *, include_retired=True) -> pd.DataFrame:
        """One row per segment id: name, description, first and last version, retired."""
        with self._read() as connection:
            return segments_frame(connection, include_retired=include_retired)

    def rename(self, segment_id, name, description=None) -> None:
        """Give a segment a new name (and description, when given); kept across versions."""
        changes = rename_changes(segment_id, name, description)
        with self._write() as connection:
            rename_segment(connection, segment_id, changes)

    # -- assignments and write-back (centroids.store.assignments) ---------------------------

    def write_back(
        self,
        data,
        *,
        table,
        key_column,
        segment_column,
        timestamp_column=None,
        keys=None,
        version=None,
        schema=None,
    ) -> WriteBackResult:
        """Predict the segments of ``data`` and write them into ``table`` of the store's database.

        In one transaction: the (key, segment id) pairs are bulk-loaded into a staging
        table, one ``UPDATE ... FROM`` sets ``segment_column`` (and ``timestamp_column``)
        of the rows whose segment changes, and the assignments are recorded in the
        store's history (``centroids_assignments``). Running it twice leaves the table
        and the history as running it once.

        Parameters
        ----------
        data : DataFrame
            The records, with the model's feature columns.
        table, key_column, segment_column : str
            An existing table of the store's database and its key and segment columns
            (checked against the catalogue, quoted).
        timestamp_column : str, optional
            Set to the assignment time on rows whose segment changes.
        keys : array-like, optional
            The records' keys; default ``data[key_column]`` when ``data`` has that column,
            else ``data.index``.
        version : int, optional
            The version to predict with (default: the latest).
        schema : str, optional
            Database schema (namespace) of the table.

        Returns
        -------
        WriteBackResult
        """
        return self._assign(
            data,
            keys=keys,
            key_column=key_column,
            version=version,
            target=(table, key_column, segment_column, timestamp_column, schema),
        )

    def record_assignments(self, data, *, keys=None, key_column=None, version=None) -> int:
        """Predict the segments of ``data`` and record them in the assignment history only.

        Returns the number of records. Keys as in :meth:`write_back`.
        """
        return self._assign(data, keys=keys, key_column=key_column, version=version, target=None)

    def _assign(self, data, *, keys, key_column, version, target):
        keys = row_keys(data, keys, key_column)
        with self._read() as connection:
            version = self._resolve_version(connection, version)
        keys, scored, n_skipped = placed_rows(keys, self.predict_with_distance(data, version))
        with self._write() as connection:
            result = write_assignments(
                connection,
                keys,
                scored["segment_id"].to_numpy(dtype=np.int64),
                scored["distance"].to_numpy(),
                version=version,
                target=target,
                n_skipped=n_skipped,
                assigned_at=datetime.now(UTC),
            )
            _pause("write_back" if target is not None else "record_assignments")
        return result

    def assignments(self, version=None) -> pd.DataFrame:
        """The recorded assignments of a version (None: the latest)."""
        with self._read() as connection:
            return assignments_frame(connection, self._resolve_version(connection, version))

    # -- drift and SQL (centroids.store.drift, centroids.store.scoring_sql) -----------------

    def drift(self, from_version=None, to_version=None):
        """Compare two versions (default: the one before the latest, and the latest).

        Returns
        -------
        centroids.store.drift.Drift
            Records that changed segment (from the assignment history), per-segment size
            changes, center shifts in original units, segments born and retired; its
            ``str()`` is a plain-text table.
        """
        from .drift import compute_drift

        with self._read() as connection:
            to_version = self._resolve_version(connection, to_version)
            if from_version is None:
                if to_version == 1:
                    raise VersionNotFoundError(
                        "drift needs two versions and the store holds only version 1"
                    )
                from_version = to_version - 1
            from_version = self._resolve_version(connection, from_version)
            return compute_drift(connection, from_version, to_version)

    def to_sql(
        self,
        version=None,
        dialect=None,
        *,
        table=None,
        columns=None,
        view_name=None,
        output_column="segment_id",
    ) -> str:
        """SQL that gives every row of ``table`` its segment id under a version.

        Calls :func:`centroids.store.scoring_sql.segmentation_to_sql` (see it for
        ``table``, ``columns``, ``view_name``, ``output_column``) with this store's
        stable segment ids, so the database computes the ids :meth:`predict` gives.
        ``dialect`` defaults to the store's own database ('sqlite' or 'postgresql').
        """
        from .scoring_sql import segmentation_to_sql

        model, ids = self._load(version)
        return segmentation_to_sql(
            model,
            self.engine.dialect.name if dialect is None else dialect,
            table=table,
            columns=columns,
            segment_ids=[int(i) for i in ids],
            view_name=view_name,
            output_column=output_column,
        )


def _insert_promotion(connection, version, note):
    """Record ``version`` as the one served from now (inside the caller's transaction)."""
    connection.execute(
        tables.promotions_table.insert().values(
            version=version, promoted_at=datetime.now(UTC), note=optional_str(note)
        )
    )


def _pause(stage: str) -> None:
    """Call :data:`_before_commit_hook` (read from this module, where tests set it)."""
    if _before_commit_hook is not None:
        _before_commit_hook(stage)
