"""The tables of the segment store, their immutability triggers, and schema upgrades.

Seven tables, all prefixed ``centroids_`` so that they can live beside the user's own:

``centroids_schema``
    one row: the schema version of the database, checked on every open.
``centroids_versions``
    one row per saved model version: the model itself (JSON), and what is needed to
    reproduce it (library versions, thread count, random state, data fingerprint).
    Immutable: triggers reject UPDATE and DELETE.
``centroids_centers``
    the centers of every version in model space and in original units, with the stable
    segment id each center carries and its training size. Immutable like the versions.
``centroids_segments``
    one row per stable segment id: name, description, first and last version it appears
    in, and whether (and in which version) it was retired.
``centroids_assignments``
    history of record assignments: record key (as text), segment id, distance to the
    center, version and time.
``centroids_promotions``
    history of promotions (schema 2): which version was made the one served, and when.
    The served version is the latest promotion's, else the latest version.
``centroids_member_samples``
    a random sample of each version's members in model space with their cluster
    (schema 2), written by :meth:`SegmentStore.save_run`, drawn for the explorer's map.

Upgrades: :data:`MIGRATIONS` maps a schema version ``v`` to the function that brings a
database from ``v`` to ``v + 1``; :func:`upgrade_schema` applies them in order in one
transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from .errors import SchemaVersionError

#: Schema version this code writes and reads.
SCHEMA_VERSION = 2

metadata = sa.MetaData()

schema_table = sa.Table(
    "centroids_schema",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("id = 1", name="centroids_schema_single_row"),
)

versions_table = sa.Table(
    "centroids_versions",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("parent_version", sa.Integer, nullable=True),
    sa.Column("n_clusters", sa.Integer, nullable=False),
    sa.Column("n_features", sa.Integer, nullable=False),
    sa.Column("spread", sa.Float(precision=53), nullable=False),
    sa.Column("data_fingerprint", sa.String(128), nullable=True),
    sa.Column("random_state", sa.String(200), nullable=True),
    sa.Column("n_threads", sa.Integer, nullable=False),
    sa.Column("centroids_version", sa.String(40), nullable=False),
    sa.Column("numpy_version", sa.String(40), nullable=False),
    sa.Column("numba_version", sa.String(40), nullable=False),
    sa.Column("sklearn_version", sa.String(40), nullable=False),
    sa.Column("python_version", sa.String(40), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("model", sa.JSON, nullable=False),
    sa.Column("environment", sa.JSON, nullable=True),
    sa.Column("metrics", sa.JSON, nullable=True),
)

segments_table = sa.Table(
    "centroids_segments",
    metadata,
    sa.Column("segment_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("first_version", sa.Integer, nullable=False),
    sa.Column("last_version", sa.Integer, nullable=False),
    sa.Column("retired", sa.Boolean, nullable=False, default=False),
    sa.Column("retired_in_version", sa.Integer, nullable=True),
)

centers_table = sa.Table(
    "centroids_centers",
    metadata,
    sa.Column(
        "version",
        sa.Integer,
        sa.ForeignKey("centroids_versions.version"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column(
        "segment_id", sa.Integer, sa.ForeignKey("centroids_segments.segment_id"), nullable=False
    ),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("center", sa.JSON, nullable=False),
    sa.Column("center_original", sa.JSON, nullable=False),
    sa.UniqueConstraint("version", "segment_id", name="centroids_centers_one_center_per_segment"),
)

# No foreign keys here: the store writes assignments only from its own predictions of
# an existing version, and per-row foreign key checks tripled the cost of recording a
# million assignments. The primary key (version, record_key) serves the drift joins.
assignments_table = sa.Table(
    "centroids_assignments",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("record_key", sa.String(400), primary_key=True),
    sa.Column("segment_id", sa.Integer, nullable=False),
    sa.Column("distance", sa.Float(precision=53), nullable=True),
    sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
)

# Schema 2. Append-only: the latest row names the served version.
promotions_table = sa.Table(
    "centroids_promotions",
    metadata,
    sa.Column("promotion", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.Integer, sa.ForeignKey("centroids_versions.version"), nullable=False),
    sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
)

# Schema 2. One row per version saved with its data (save_run): sampled rows.
member_samples_table = sa.Table(
    "centroids_member_samples",
    metadata,
    sa.Column(
        "version",
        sa.Integer,
        sa.ForeignKey("centroids_versions.version"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("n_members", sa.BigInteger, nullable=False),
    sa.Column("rows", sa.JSON, nullable=False),
    sa.Column("positions", sa.JSON, nullable=False),
)

#: Tables whose rows are never updated nor deleted once written.
IMMUTABLE_TABLES = ("centroids_versions", "centroids_centers")

_IMMUTABLE_MESSAGE = "centroids: model versions are immutable; save a new version instead"


def _immutability_ddl(dialect_name: str) -> list[str]:
    """Statements that create triggers rejecting UPDATE and DELETE on the immutable tables."""
    statements = []
    if dialect_name == "sqlite":
        for table in IMMUTABLE_TABLES:
            for operation in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{operation.lower()} "
                    f"BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{_IMMUTABLE_MESSAGE}'); END"
                )
    elif dialect_name == "postgresql":
        statements.append(
            "CREATE OR REPLACE FUNCTION centroids_reject_change() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION USING MESSAGE = '{_IMMUTABLE_MESSAGE} (' || TG_OP || ' on ' "
            "|| TG_TABLE_NAME || ')', ERRCODE = 'raise_exception'; END $$"
        )
        for table in IMMUTABLE_TABLES:
            statements.append(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
            statements.append(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION centroids_reject_change()"
            )
    return statements


def is_immutability_violation(error: BaseException) -> bool:
    """Whether a database error is one of the immutability triggers firing."""
    return "model versions are immutable" in str(getattr(error, "orig", error))


def create_schema(connection: sa.Connection) -> None:
    """Create every table and trigger of the current schema (inside the caller's transaction)."""
    metadata.create_all(connection)
    for statement in _immutability_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)
    connection.execute(
        schema_table.insert().values(
            id=1, schema_version=SCHEMA_VERSION, updated_at=datetime.now(UTC)
        )
    )


def read_schema_version(connection: sa.Connection) -> int | None:
    """The database's schema version; None when the store's tables do not exist yet."""
    if not sa.inspect(connection).has_table(schema_table.name):
        return None
    version = connection.execute(sa.select(schema_table.c.schema_version)).scalar_one_or_none()
    if version is None:
        raise SchemaVersionError(
            "the table centroids_schema exists but is empty: the store was not fully "
            "created; drop the centroids_* tables or point the store at another database"
        )
    return int(version)


#: ``MIGRATIONS[v]`` brings a database from schema ``v`` to ``v + 1`` (same transaction).
def _add_promotions(connection: sa.Connection) -> None:
    """Schema 1 → 2: the tables of promotions (which version is served) and samples."""
    promotions_table.create(connection, checkfirst=True)
    member_samples_table.create(connection, checkfirst=True)


MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {1: _add_promotions}


def upgrade_schema(connection: sa.Connection, target: int | None = None) -> list[int]:
    """Apply the migrations from the database's schema version up to ``target``.

    ``target`` defaults to :data:`SCHEMA_VERSION`.
    Runs inside the caller's transaction, so an upgrade that fails half way leaves the
    database as it was. Returns the versions migrated from.
    """
    target = SCHEMA_VERSION if target is None else target
    current = read_schema_version(connection)
    if current is None:
        raise SchemaVersionError("the database holds no segment store to upgrade")
    if current > target:
        raise SchemaVersionError(
            f"the store's schema is version {current}, newer than version {target} which "
            "this centroids understands; upgrade centroids"
        )
    applied = []
    for version in range(current, target):
        if version not in MIGRATIONS:
            raise SchemaVersionError(
                f"no upgrade from store schema version {version} to {version + 1} is known"
            )
        MIGRATIONS[version](connection)
        applied.append(version)
    if applied:
        connection.execute(
            schema_table.update().values(schema_version=target, updated_at=datetime.now(UTC))
        )
    return applied
