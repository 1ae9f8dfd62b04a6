"""The one exception hierarchy of the segment store.

Every error a user can cause in :mod:`centroids.store` is a :class:`StoreError`, itself a
``ValueError``; the subclasses say which kind of mistake it was. Key type mismatches are
also ``TypeError``.
"""

from __future__ import annotations


class StoreError(ValueError):
    """Base of every error the segment store raises on bad input or a bad database state."""


class StoreURLError(StoreError):
    """The database URL cannot be used: malformed, an unsupported database, a missing folder."""


class StoreConnectionError(StoreError):
    """The database named by the URL cannot be reached."""


class SchemaVersionError(StoreError):
    """The database's store schema is older (needs ``upgrade()``) or newer than this code."""


class VersionNotFoundError(StoreError):
    """No model version with that number (or no version at all) in the store."""


class SegmentNotFoundError(StoreError):
    """No segment with that id in the store."""


class TableNotFoundError(StoreError):
    """A table named for a write-back does not exist in the database."""


class ColumnNotFoundError(StoreError):
    """A column named for a write-back does not exist in its table."""


class KeyTypeError(StoreError, TypeError):
    """Record keys whose type does not match the key column of the database table."""


class ImmutableVersionError(StoreError):
    """An attempt to change or delete a model version or its centers, which are immutable."""


class ConcurrentWriteError(StoreError):
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
