"""The one exception hierarchy of the segment store.

Every error a user can cause in :mod:`centroids.store` is a :class:`StoreError`, a
:class:`centroids.errors.CentroidsError` and, as before, a ``ValueError``; the subclasses
also derive from the library-wide kind they are (not found, conflict, bad data). Key type
mismatches are also ``TypeError``.
"""

from __future__ import annotations

from ..errors import BadDataError, CentroidsError, ConflictError, NotFoundError


class StoreError(CentroidsError, ValueError):
    """Base of every error the segment store raises on bad input or a bad database state."""


class StoreURLError(StoreError, BadDataError):
    """The database URL cannot be used: malformed, an unsupported database, a missing folder."""


class StoreConnectionError(StoreError):
    """The database named by the URL cannot be reached."""


class SchemaVersionError(StoreError):
    """The database's store schema is older (needs ``upgrade()``) or newer than this code."""


class VersionNotFoundError(StoreError, NotFoundError):
    """No model version with that number (or no version at all) in the store."""


class SegmentNotFoundError(StoreError, NotFoundError):
    """No segment with that id in the store."""


class TableNotFoundError(StoreError, NotFoundError):
    """A table named for a write-back does not exist in the database."""


class ColumnNotFoundError(StoreError, NotFoundError):
    """A column named for a write-back does not exist in its table."""


class KeyTypeError(StoreError, BadDataError, TypeError):
    """Record keys whose type does not match the key column of the database table."""


class ImmutableVersionError(StoreError, ConflictError):
    """An attempt to change or delete a model version or its centers, which are immutable."""


class ConcurrentWriteError(StoreError, ConflictError):
    """Another process kept the store busy; the write was rolled back and may be retried."""


__all__ = [
    "ColumnNotFoundError",
    "ConcurrentWriteError",
    "ImmutableVersionError",
    "KeyTypeError",
    "SchemaVersionError",
    "SegmentNotFoundError",
    "StoreConnectionError",
    "StoreError",
    "StoreURLError",
    "TableNotFoundError",
    "VersionNotFoundError",
]
