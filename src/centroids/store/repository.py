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
"""

from __future__ import annotations

import inspect
import json
import os
import platform
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
)

from . import schema as tables
from .align import CenterAlignment, align_centers
from .errors import (
    ConcurrentWriteError,
    ImmutableVersionError,
    SchemaVersionError,
    SegmentNotFoundError,
    StoreConnectionError,
    StoreError,
    StoreURLError,
    VersionNotFoundError,
)
from .writeback import (
    WriteBackResult,
    as_record_keys,
    drop_staging,
    inspect_target,
    load_staging,
    update_from_staging,
)

#: Called with a stage name ('save_version', 'write_back', 'record_assignments') inside
#: the open transaction, just before it commits. None in normal use; tests set it to pause
#: a child process there and kill it.
_before_commit_hook: Callable[[str], None] | None = None

#: PostgreSQL advisory lock key that serialises the store's writers (any 64-bit number
#: private to centroids).
_POSTGRES_LOCK_KEY = 0x63656E74726F6964  # "centroid"

#: How many times a save is retried after losing a race for a version number.
_SAVE_ATTEMPTS = 5

_DEFAULT_URL = "sqlite:///segments.db"


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


def _storable_id(number: int) -> bool:
    """Whether ``number`` can be a version or segment id: ids are positive 64-bit integers
    in every backend, so one outside that range cannot exist (and would overflow the
    driver's integer conversion if it were sent in a query)."""
    return 0 < number < 2**63


def _normalise_url(url) -> sa.URL:
    if isinstance(url, os.PathLike) or (isinstance(url, str) and "://" not in url):
        if isinstance(url, str) and not url:
            raise StoreURLError("the store URL is empty; pass e.g. 'sqlite:///segments.db'")
        return sa.URL.create("sqlite", database=os.fspath(url))
    if isinstance(url, sa.URL):
        parsed = url
    elif isinstance(url, str):
        try:
            parsed = sa.make_url(url)
        except (ArgumentError, ValueError) as error:
            raise StoreURLError(
                f"cannot parse the store URL {url!r}: {error}; expected e.g. "
                "'sqlite:///segments.db' or 'postgresql://user:password@host:5432/database'"
            ) from None
    else:
        raise TypeError(f"url must be a string, a path or a sqlalchemy URL, got {type(url)!r}")
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "psycopg"):
            raise StoreURLError(
                f"the PostgreSQL driver {driver!r} is not supported; use "
                "'postgresql://...' or 'postgresql+psycopg://...' (psycopg 3)"
            )
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if driver not in ("", "pysqlite"):
            raise StoreURLError(
                f"the SQLite driver {driver!r} is not supported; use 'sqlite:///path'"
            )
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                raise StoreURLError(
                    f"the folder {str(folder)!r} of the SQLite database {database!r} does not "
                    "exist; create it first or use another path"
                )
        return parsed.set(drivername="sqlite")
    raise StoreURLError(
        f"unsupported database {backend!r} in the store URL; centroids stores segments in "
        "SQLite ('sqlite:///segments.db') or PostgreSQL ('postgresql://...')"
    )


def _create_engine(url: sa.URL) -> sa.Engine:
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, connection_record):
            # Let SQLAlchemy's begin event (below) open transactions, not the driver.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            # Bulk write-backs: the staging table in memory, and a page cache large enough
            # (up to 128 MiB, allocated only as used) that a transaction of a million rows
            # does not spill pages to the file before its commit.
            cursor.execute("PRAGMA temp_store = MEMORY")
            cursor.execute("PRAGMA cache_size = -131072")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            # A write transaction takes the write lock at once, so that two writers queue
            # up instead of both reading the same latest version number.
            write = connection.get_execution_options().get("centroids_write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _model_class():
    from centroids.segments.segmentation import Segmentation

    return Segmentation


def _jsonable(value):
    """A JSON-safe copy of ``value`` (numpy scalars and arrays become Python values)."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return repr(value)


def _library_versions() -> dict[str, str]:
    import numba
    import sklearn

    import centroids

    return {
        "centroids_version": centroids.__version__,
        "numpy_version": np.__version__,
        "numba_version": numba.__version__,
        "sklearn_version": sklearn.__version__,
        "python_version": platform.python_version(),
    }


def _thread_count() -> int:
    import numba

    return int(numba.get_num_threads())


def _segment_names(model, count: int) -> list[str | None]:
    names = getattr(model, "names_", None)
    if names is None:
        return [None] * count
    if isinstance(names, dict):
        return [None if names.get(i) is None else str(names.get(i)) for i in range(count)]
    names = list(names)
    if len(names) != count:
        return [None] * count
    return [None if name is None else str(name) for name in names]


def _per_segment(values, count: int, what: str) -> list:
    if values is None:
        return [None] * count
    if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(f"{what} must be a list with one entry per cluster, got {type(values)!r}")
    if len(values) != count:
        raise ValueError(f"{what} has {len(values)} entries but the model has {count} clusters")
    return [None if value is None else str(value) for value in values]


def _center_records(frame: pd.DataFrame) -> list[dict]:
    return _jsonable(frame.to_dict(orient="records"))


def _preparation_description(model):
    preparation = getattr(model, "preparation_", None)
    if preparation is None or not hasattr(preparation, "to_dict"):
        return None
    return _jsonable(preparation.to_dict())


def _insert_promotion(connection, version, note):
    """Record ``version`` as the one served from now (inside the caller's transaction)."""
    connection.execute(
        tables.promotions_table.insert().values(
            version=version, promoted_at=datetime.now(UTC), note=_optional_str(note)
        )
    )


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
        self._open()

    # -- connection and schema ----------------------------------------------------------

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

    def _open(self) -> None:
        with self._read() as connection:
            current = tables.read_schema_version(connection)
        if current is None:
            # Under the write lock, so that two processes opening a new store at once
            # do not both create it.
            with self._write() as connection:
                current = tables.read_schema_version(connection)
                if current is None:
                    tables.create_schema(connection)
                    return
        if current > tables.SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the store at {self._safe_url} has schema version {current}, newer than "
                f"version {tables.SCHEMA_VERSION} which this centroids understands; "
                "upgrade centroids"
            )
        if current < tables.SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the store at {self._safe_url} has schema version {current}, older than "
                f"version {tables.SCHEMA_VERSION}; back the database up, then call "
                "SegmentStore.upgrade(url) to bring it up to date"
            )

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
        engine = _create_engine(_normalise_url(url))
        try:
            with _connect(engine, url, write=True) as connection:
                if tables.read_schema_version(connection) is not None:
                    tables.upgrade_schema(connection)
        finally:
            engine.dispose()
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

    # -- versions -----------------------------------------------------------------------

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
        model = self._check_model(segmentation)
        n_clusters = int(np.asarray(model.centers_).shape[0])
        names = _per_segment(names, n_clusters, "names")
        descriptions = _per_segment(descriptions, n_clusters, "descriptions")
        description = _jsonable(model.to_dict())
        last_error = None
        for _ in range(_SAVE_ATTEMPTS):
            try:
                with self._write() as connection:
                    info = self._save_in(connection, model, description, names, descriptions, note)
                    _pause("save_version")
                return info
            except IntegrityError as error:
                # Lost a race for the version number against a writer that took no lock
                # (another tool); the unique version key rejected the duplicate. Retry.
                last_error = error
        raise ConcurrentWriteError(
            f"could not save a new version after {_SAVE_ATTEMPTS} attempts: other writers "
            f"kept taking the version number ({last_error.orig}); try again"
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
        model = self._check_model(segmentation)
        n_clusters = int(np.asarray(model.centers_).shape[0])
        names = _per_segment(names, n_clusters, "names")
        descriptions = _per_segment(descriptions, n_clusters, "descriptions")
        description = _jsonable(model.to_dict())
        if write_back is not None:
            key_column = write_back[1] if key_column is None else key_column
        keys = _row_keys(data, keys, key_column)
        labels, distances = model.predict_with_distance(data)
        labels = np.asarray(labels, dtype=np.int64)
        if len(keys) != len(labels):
            raise ValueError(f"keys has {len(keys)} entries but data has {len(labels)} rows")
        placed = labels >= 0
        n_skipped = int((~placed).sum())
        keys = np.asarray(keys)[placed] if n_skipped else keys
        labels, distances = labels[placed], np.asarray(distances, dtype=np.float64)[placed]
        sample_rows, sample_positions = _member_sample(model, data, placed, labels)
        target = None
        if write_back is not None:
            table, key_col, segment_column = write_back
            target = (table, key_col, segment_column, None, None)
        last_error = None
        for _ in range(_SAVE_ATTEMPTS):
            try:
                with self._write() as connection:
                    info = self._save_in(connection, model, description, names, descriptions, note)
                    ids = np.asarray(info.segment_ids, dtype=np.int64)
                    result = _write_assignments(
                        connection,
                        keys,
                        ids[labels],
                        distances,
                        version=info.version,
                        target=target,
                        n_skipped=n_skipped,
                        assigned_at=datetime.now(UTC),
                    )
                    connection.execute(
                        tables.member_samples_table.insert().values(
                            version=info.version,
                            n_members=int(labels.size),
                            rows=sample_rows,
                            positions=sample_positions,
                        )
                    )
                    if promote:
                        _insert_promotion(connection, info.version, note)
                    _pause("save_run")
                written = result if isinstance(result, WriteBackResult) else None
                n_assigned = written.rows_given if written is not None else int(result)
                return SavedRun(info, n_assigned, n_skipped, written)
            except IntegrityError as error:
                last_error = error
        raise ConcurrentWriteError(
            f"could not save a new version after {_SAVE_ATTEMPTS} attempts: other writers "
            f"kept taking the version number ({last_error.orig}); try again"
        )

    def _check_model(self, segmentation):
        required = ("centers_", "spread_", "to_dict", "predict_with_distance", "preparation_")
        missing = [name for name in required if not hasattr(segmentation, name)]
        if missing:
            raise TypeError(
                f"SegmentStore.save expects a fitted centroids.segments.segmentation.Segmentation; "
                f"{type(segmentation).__name__} lacks {missing} (fit it first)"
            )
        return segmentation

    def _save_in(self, connection, model, description, names, descriptions, note) -> VersionInfo:
        versions, segments, centers = (
            tables.versions_table,
            tables.segments_table,
            tables.centers_table,
        )
        parent = connection.execute(sa.select(sa.func.max(versions.c.version))).scalar()
        version = 1 if parent is None else int(parent) + 1
        new_centers = np.asarray(model.centers_, dtype=np.float64)
        n_clusters = new_centers.shape[0]
        segment_ids = np.full(n_clusters, -1, dtype=np.int64)
        retired_ids: list[int] = []
        if parent is not None:
            previous, previous_ids = self._model_in(connection, int(parent))
            alignment = self._align(previous, model)
            continued = alignment.new_to_previous >= 0
            segment_ids[continued] = previous_ids[alignment.new_to_previous[continued]]
            retired_ids = [int(previous_ids[i]) for i in alignment.retired]
        largest = connection.execute(sa.select(sa.func.max(segments.c.segment_id))).scalar()
        next_id = 1 if largest is None else int(largest) + 1
        born = np.flatnonzero(segment_ids < 0)
        segment_ids[born] = np.arange(next_id, next_id + born.size)
        created_at = datetime.now(UTC)
        params = getattr(model, "params_", {}) or {}
        random_state = params.get("random_state") if isinstance(params, dict) else None
        connection.execute(
            versions.insert().values(
                version=version,
                created_at=created_at,
                parent_version=None if parent is None else int(parent),
                n_clusters=n_clusters,
                n_features=new_centers.shape[1],
                spread=float(model.spread_),
                data_fingerprint=_optional_str(getattr(model, "fingerprint_", None)),
                random_state=None if random_state is None else str(random_state)[:200],
                n_threads=_thread_count(),
                note=note,
                model=description,
                environment=_jsonable(getattr(model, "environment_", None)),
                metrics=_jsonable(getattr(model, "metrics_", None)),
                **_library_versions(),
            )
        )
        suggested = _segment_names(model, n_clusters)
        born_set = set(born.tolist())
        for position in range(n_clusters):
            segment_id = int(segment_ids[position])
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
        sizes = getattr(model, "sizes_", None)
        sizes = np.zeros(n_clusters, np.int64) if sizes is None else np.asarray(sizes)
        originals = _center_records(model.centers_original_)
        connection.execute(
            centers.insert(),
            [
                {
                    "version": version,
                    "position": position,
                    "segment_id": int(segment_ids[position]),
                    "size": int(sizes[position]),
                    "center": new_centers[position].tolist(),
                    "center_original": originals[position],
                }
                for position in range(n_clusters)
            ],
        )
        continued_ids = tuple(int(segment_ids[i]) for i in range(n_clusters) if i not in born_set)
        return VersionInfo(
            version=version,
            parent_version=None if parent is None else int(parent),
            segment_ids=tuple(int(i) for i in segment_ids),
            continued=continued_ids,
            born=tuple(int(segment_ids[i]) for i in born),
            retired=tuple(retired_ids),
            created_at=created_at,
        )

    def _align(self, previous, model) -> CenterAlignment:
        new_centers = np.asarray(model.centers_, dtype=np.float64)
        same_space = _preparation_description(previous) == _preparation_description(model)
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
        return align_centers(
            previous_centers, new_centers, spread=spread, threshold=self.match_threshold
        )

    def _model_in(self, connection, version: int):
        cached = self._models.get(version)
        if cached is not None:
            return cached
        row = connection.execute(
            sa.select(tables.versions_table.c.model).where(
                tables.versions_table.c.version == version
            )
        ).scalar_one_or_none()
        if row is None:
            raise VersionNotFoundError(self._no_version_message(connection, version))
        ids = connection.execute(
            sa.select(tables.centers_table.c.segment_id)
            .where(tables.centers_table.c.version == version)
            .order_by(tables.centers_table.c.position)
        ).scalars()
        model = _model_class().from_dict(row)
        entry = (model, np.asarray(list(ids), dtype=np.int64))
        self._models[version] = entry
        return entry

    def _no_version_message(self, connection, version) -> str:
        latest = connection.execute(
            sa.select(sa.func.max(tables.versions_table.c.version))
        ).scalar()
        if latest is None:
            return "the store holds no version yet; save a fitted Segmentation first"
        return f"no version {version} in the store (versions 1 to {latest} exist)"

    def _resolve_version(self, connection, version) -> int:
        if version is None:
            latest = connection.execute(
                sa.select(sa.func.max(tables.versions_table.c.version))
            ).scalar()
            if latest is None:
                raise VersionNotFoundError(
                    "the store holds no version yet; save a fitted Segmentation first"
                )
            return int(latest)
        if isinstance(version, bool) or not isinstance(version, int | np.integer):
            raise TypeError(f"version must be an int or None (the latest), got {version!r}")
        version = int(version)
        if not _storable_id(version):
            raise VersionNotFoundError(self._no_version_message(connection, version))
        exists = connection.execute(
            sa.select(tables.versions_table.c.version).where(
                tables.versions_table.c.version == version
            )
        ).scalar_one_or_none()
        if exists is None:
            raise VersionNotFoundError(self._no_version_message(connection, version))
        return version

    @property
    def latest_version(self) -> int | None:
        """The number of the latest version, None when the store is empty."""
        with self._read() as connection:
            latest = connection.execute(
                sa.select(sa.func.max(tables.versions_table.c.version))
            ).scalar()
        return None if latest is None else int(latest)

    @property
    def served_version(self) -> int | None:
        """The version to serve: the latest :meth:`promote`'s, else the latest version.

        None when the store is empty. A service answers requests that name no version
        with it.
        """
        promotions, versions = tables.promotions_table, tables.versions_table
        with self._read() as connection:
            promoted = connection.execute(
                sa.select(promotions.c.version).order_by(promotions.c.promotion.desc()).limit(1)
            ).scalar()
            if promoted is not None:
                return int(promoted)
            latest = connection.execute(sa.select(sa.func.max(versions.c.version))).scalar()
        return None if latest is None else int(latest)

    def member_sample(self, version=None) -> tuple[np.ndarray, np.ndarray, int] | None:
        """The members sampled when ``version`` was saved by :meth:`save_run`.

        Returns ``(rows in model space, segment id of each, number of members)``, or None
        when the version was saved without its data (:meth:`save`).
        """
        table = tables.member_samples_table
        with self._read() as connection:
            version = self._resolve_version(connection, version)
            row = connection.execute(sa.select(table).where(table.c.version == version)).first()
        if row is None:
            return None
        ids = self.segment_ids(version)
        rows = np.asarray(row.rows, dtype=np.float64).reshape(len(row.positions), -1)
        return rows, ids[np.asarray(row.positions, dtype=np.int64)], int(row.n_members)

    def promote(self, version, *, note=None) -> None:
        """Make ``version`` the one served (see :attr:`served_version`); recorded with the time.

        Saving a later version does not change the served one once a version has been
        promoted: promote the new one when it should be served.
        """
        with self._write() as connection:
            _insert_promotion(connection, self._resolve_version(connection, version), note)

    def versions(self) -> pd.DataFrame:
        """One row per saved version: number, time, size, fingerprint and environment."""
        table = tables.versions_table
        columns = [c for c in table.c if c.name not in ("model", "environment", "metrics")]
        with self._read() as connection:
            rows = connection.execute(sa.select(*columns).order_by(table.c.version)).all()
        return pd.DataFrame(rows, columns=[c.name for c in columns])

    def version_info(self, version=None) -> dict:
        """Everything recorded about one version (None: the latest), model description too."""
        with self._read() as connection:
            version = self._resolve_version(connection, version)
            row = connection.execute(
                sa.select(tables.versions_table).where(tables.versions_table.c.version == version)
            ).one()
        return dict(row._mapping)

    def load(self, version=None):
        """The segmentation of a version (None: the latest), ready to predict."""
        return self._load(version)[0]

    def _load(self, version):
        with self._read() as connection:
            version = self._resolve_version(connection, version)
            return self._model_in(connection, version)

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

    def centers(self, version=None, *, original_units=True) -> pd.DataFrame:
        """Centers of a version indexed by segment id, in original units or model space."""
        with self._read() as connection:
            version = self._resolve_version(connection, version)
            rows = connection.execute(
                sa.select(tables.centers_table)
                .where(tables.centers_table.c.version == version)
                .order_by(tables.centers_table.c.position)
            ).all()
        ids = pd.Index([row.segment_id for row in rows], name="segment_id")
        if original_units:
            return pd.DataFrame([row.center_original for row in rows], index=ids)
        model = self.load(version)
        names = getattr(model, "feature_names_", None)
        frame = pd.DataFrame([row.center for row in rows], index=ids)
        if names is not None and len(names) == frame.shape[1]:
            frame.columns = list(names)
        return frame

    # -- segments -----------------------------------------------------------------------

    def segments(self, *, include_retired=True) -> pd.DataFrame:
        """One row per segment id: name, description, first and last version, retired."""
        table = tables.segments_table
        query = sa.select(table).order_by(table.c.segment_id)
        if not include_retired:
            query = query.where(table.c.retired == sa.false())
        with self._read() as connection:
            rows = connection.execute(query).all()
        frame = pd.DataFrame(rows, columns=[c.name for c in table.c])
        return frame.set_index("segment_id")

    def rename(self, segment_id, name, description=None) -> None:
        """Give a segment a new name (and description, when given); kept across versions."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        if description is not None and not isinstance(description, str):
            raise TypeError(f"description must be a string or None, got {description!r}")
        if isinstance(segment_id, bool) or not isinstance(segment_id, int | np.integer):
            raise TypeError(f"segment_id must be an int, got {segment_id!r}")
        changes = {"name": name.strip()}
        if description is not None:
            changes["description"] = description
        table = tables.segments_table
        with self._write() as connection:
            count = (
                connection.execute(
                    table.update().where(table.c.segment_id == int(segment_id)).values(**changes)
                ).rowcount
                if _storable_id(int(segment_id))
                else 0
            )
            if count == 0:
                known = connection.execute(sa.select(table.c.segment_id)).scalars().all()
                raise SegmentNotFoundError(
                    f"no segment with id {segment_id} (known ids: {sorted(known)})"
                )

    # -- retraining ---------------------------------------------------------------------

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
        Segmentation = _model_class()
        accepted = set(inspect.signature(Segmentation).parameters)
        unknown = sorted(set(params) - accepted)
        if unknown:
            raise TypeError(
                f"retrain got unknown Segmentation parameter(s) {unknown}; "
                f"known: {sorted(accepted)}"
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
        n_clusters_value = settings.pop("n_clusters", previous_k)
        model = Segmentation(n_clusters_value, **settings).fit(data)
        return self.save(model, names=names, descriptions=descriptions, note=note)

    # -- assignments and write-back -----------------------------------------------------

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
        keys = _row_keys(data, keys, key_column)
        with self._read() as connection:
            version = self._resolve_version(connection, version)
        scored = self.predict_with_distance(data, version)
        if len(keys) != len(scored):
            raise ValueError(f"keys has {len(keys)} entries but data has {len(scored)} rows")
        placed = scored["segment_id"].notna().to_numpy()
        n_skipped = int((~placed).sum())
        if n_skipped:
            keys = np.asarray(keys)[placed]
            scored = scored[placed]
        with self._write() as connection:
            result = _write_assignments(
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
        table = tables.assignments_table
        with self._read() as connection:
            version = self._resolve_version(connection, version)
            rows = connection.execute(
                sa.select(table).where(table.c.version == version).order_by(table.c.record_key)
            ).all()
        return pd.DataFrame(rows, columns=[c.name for c in table.c])

    # -- drift, export, SQL ---------------------------------------------------------------

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

    def export(self, version=None, path=None) -> dict:
        """A JSON-safe description of a version: model, centers, segments, environment.

        With ``path``, also written there as JSON (to a temporary name, then renamed).
        """
        info = self.version_info(version)
        version = info["version"]
        segment_rows = self.segments()
        centers = []
        with self._read() as connection:
            for row in connection.execute(
                sa.select(tables.centers_table)
                .where(tables.centers_table.c.version == version)
                .order_by(tables.centers_table.c.position)
            ):
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
        exported = _jsonable(
            {
                "format": "centroids.SegmentStore.export",
                "schema_version": tables.SCHEMA_VERSION,
                "version": info,
                "segments": centers,
                "model": model,
            }
        )
        if path is not None:
            _write_json_atomically(Path(path), exported)
        return exported

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


def _optional_str(value):
    return None if value is None else str(value)


#: Members of a version kept (in model space) by save_run for the explorer's map.
MEMBER_SAMPLE_ROWS = 2000


def _member_sample(model, data, placed, labels):
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


def _row_keys(data, keys, key_column):
    """The record keys of ``data``: ``keys``, else its ``key_column``, else its index."""
    if keys is not None:
        return keys
    if isinstance(data, pd.DataFrame) and key_column is not None and key_column in data:
        return data[key_column]
    if isinstance(data, pd.DataFrame):
        return data.index
    raise ValueError("pass keys= (one per row of data) when data is not a DataFrame")


def _write_assignments(
    connection, keys, segment_ids, distances, *, version, target, n_skipped, assigned_at
):
    """Stage the assignments, apply the write-back ``target`` and record the history.

    Inside the caller's transaction. Returns a :class:`WriteBackResult` when ``target``
    is given, else the number of records.
    """
    if target is not None:
        table, key_col, segment_column, timestamp_column, schema = target
        spec = inspect_target(connection, table, key_col, segment_column, timestamp_column, schema)
        key_array = as_record_keys(
            keys, column_type=spec.key_type, where=f" {key_col!r} of table {table!r}"
        )
        key_type = spec.key_type
    else:
        key_array = as_record_keys(keys)
        key_type = sa.BigInteger() if key_array.dtype.kind in "iu" else sa.Text()
    load_staging(connection, key_array, segment_ids, distances, key_type)
    result = None
    if target is not None:
        matched, changed = update_from_staging(connection, spec, assigned_at)
        result = WriteBackResult(
            table, len(key_array), matched, changed, len(key_array) - matched, n_skipped
        )
    _record_history(connection, version, assigned_at)
    drop_staging(connection)
    return result if result is not None else len(key_array)


def _record_history(connection: sa.Connection, version: int, assigned_at: datetime) -> None:
    """Copy the staged assignments into the history, replacing a version's earlier ones."""
    postgres = connection.dialect.name == "postgresql"
    staging = "pg_temp.centroids_staging" if postgres else "temp.centroids_staging"
    key_text = "CAST(staged.record_key AS TEXT)"
    differs = "IS DISTINCT FROM" if postgres else "IS NOT"
    table = tables.assignments_table
    first_for_version = (
        connection.execute(
            sa.select(table.c.version).where(table.c.version == version).limit(1)
        ).first()
        is None
    )
    # The first assignments of a version are plain inserts; later ones may meet earlier
    # rows of the same records and replace them only where the assignment changed (an
    # upsert costs half as much again, so it is kept for when it is needed).
    conflict = (
        ""
        if first_for_version
        else (
            "ON CONFLICT (version, record_key) DO UPDATE SET "
            "segment_id = excluded.segment_id, distance = excluded.distance, "
            "assigned_at = excluded.assigned_at "
            f"WHERE centroids_assignments.segment_id {differs} excluded.segment_id "
            f"OR centroids_assignments.distance {differs} excluded.distance"
        )
    )
    statement = sa.text(
        "INSERT INTO centroids_assignments "
        "(version, record_key, segment_id, distance, assigned_at) "
        f"SELECT :version, {key_text}, staged.segment_id, staged.distance, :assigned_at "
        f"FROM {staging} AS staged WHERE true {conflict}"
    ).bindparams(sa.bindparam("assigned_at", type_=sa.DateTime(timezone=True)))
    connection.execute(statement, {"version": version, "assigned_at": assigned_at})
    if postgres:
        # A bulk insert leaves the planner's statistics behind until autovacuum gets to
        # them: estimating a few rows per version, it then planned the drift self-join as
        # a nested loop, still running after 20 minutes on two 200,000-row versions.
        # ANALYZE samples a fixed number of rows, so it costs little at any size.
        connection.execute(sa.text("ANALYZE centroids_assignments"))


def _pause(stage: str) -> None:
    if _before_commit_hook is not None:
        _before_commit_hook(stage)


@contextmanager
def _connect(engine: sa.Engine, where, *, write: bool) -> Iterator[sa.Connection]:
    """A connection in a transaction committed on success, rolled back on any error.

    Database errors become :class:`StoreError` subclasses with a readable message.
    """
    try:
        connection = engine.connect()
    except OperationalError as error:
        raise StoreConnectionError(
            f"cannot connect to the store at {where}: {error.orig}"
        ) from None
    try:
        if write:
            connection = connection.execution_options(centroids_write=True)
        with connection.begin():
            if write and connection.dialect.name == "postgresql":
                # One writer at a time, as SQLite's BEGIN IMMEDIATE gives: released at the
                # end of the transaction, or when the server sees the connection die.
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_LOCK_KEY}
                )
            yield connection
    except DBAPIError as error:
        if tables.is_immutability_violation(error):
            raise ImmutableVersionError(
                "model versions and their centers are immutable; save a new version instead"
            ) from error
        if isinstance(error, OperationalError) and "locked" in str(error.orig):
            raise ConcurrentWriteError(
                f"the store at {where} stayed locked by another writer; try again"
            ) from error
        if isinstance(error, IntegrityError):
            raise
        raise StoreError(f"the database at {where} refused the operation: {error.orig}") from error
    finally:
        connection.close()


def _write_json_atomically(path: Path, value) -> None:
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ValueError(f"the folder {str(folder)!r} does not exist; create it first")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(value, file, indent=2, sort_keys=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
