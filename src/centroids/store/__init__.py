"""Segments in a database: versioned segmentations, stable ids, write-back, drift.

:class:`SegmentStore` is the entry point; :func:`align_centers` and
:func:`write_segments` are usable on their own. Every error a user can cause is a
:class:`StoreError` (a ``ValueError``).
"""

from .align import CenterAlignment, align_centers
from .drift import Drift
from .errors import (
    ColumnNotFoundError,
    ConcurrentWriteError,
    ImmutableVersionError,
    KeyTypeError,
    SchemaVersionError,
    SegmentNotFoundError,
    StoreConnectionError,
    StoreError,
    StoreURLError,
    TableNotFoundError,
    VersionNotFoundError,
)
from .repository import SavedRun, SegmentStore, VersionInfo
from .scoring_sql import segmentation_to_sql
from .writeback import WriteBackResult, write_segments

__all__ = [
    "CenterAlignment",
    "ColumnNotFoundError",
    "ConcurrentWriteError",
    "Drift",
    "ImmutableVersionError",
    "KeyTypeError",
    "SavedRun",
    "SchemaVersionError",
    "SegmentNotFoundError",
    "SegmentStore",
    "StoreConnectionError",
    "StoreError",
    "StoreURLError",
    "TableNotFoundError",
    "VersionInfo",
    "VersionNotFoundError",
    "WriteBackResult",
    "align_centers",
    "segmentation_to_sql",
    "write_segments",
]
