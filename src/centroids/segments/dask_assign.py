"""Segments of a directory of Parquet files, assigned and written back partition by partition
on Dask (``centroids predict DIR --dask SCHEDULER``, and the last step of
``centroids segment DIR --dask SCHEDULER``, which also records every assignment in the
store's history: :func:`assign_partitions` with ``record=True``).

Each partition is one task: it opens the store, scores its rows with the stored version
(the same version for every partition, resolved once on the client), and, when asked,
writes its segment ids into the user's table in its own transaction
(:meth:`centroids.store.SegmentStore.write_back`: a bulk staging load and one
``UPDATE ... FROM``; rows already holding their segment are not touched, so a task that
Dask runs again after a lost worker changes nothing more) and writes its labels as one
Parquet file of the output directory (temporary name, then renamed).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import settings
from .._utils.files import write_table
from ..engine.dask import INSTALL_HINT, require_dask


class SchedulerUnreachable(ValueError):
    """The ``--dask`` scheduler address answered not (or not in time)."""


@dataclass(frozen=True)
class PartitionAssignment:
    """What the partitions did, added up."""

    version: int
    n_partitions: int
    n_rows: int
    n_unplaced: int
    rows_changed: int | None
    keys_not_found: int | None
    out: Path | None


@contextlib.contextmanager
def dask_scheduler(address):
    """The Dask scheduler to run on: ``'local'`` is dask's local (threaded) scheduler, any
    other value the address of a running ``distributed`` scheduler."""
    if address == "local":
        import dask

        with dask.config.set(scheduler="threads"):
            yield None
        return
    try:
        from distributed import Client
    except ImportError as error:
        raise ImportError(
            f"--dask {address} needs dask.distributed: {INSTALL_HINT} ({error})"
        ) from error
    try:
        client = Client(address, timeout=settings.DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as error:
        raise SchedulerUnreachable(
            f"could not reach the Dask scheduler at {address!r} within "
            f"{settings.DASK_CONNECT_TIMEOUT} s ({type(error).__name__}: {error}); check that it "
            "runs (`dask scheduler`) and the address, or pass --dask local"
        ) from None
    with client:
        yield client


def _assign_partition(
    frame, index, *, db, version, id_column, target, out, record=False, profile=None
):
    from ..store import SegmentStore

    with SegmentStore(db) as store:
        scored = store.predict_with_distance(frame, version)
        names = store.segments()["name"]
        written = None
        if target is None and record:
            store.record_assignments(frame, keys=frame[id_column].to_numpy(), version=version)
        if target is not None:
            table, key_column, segment_column = target
            written = store.write_back(
                frame,
                table=table,
                key_column=key_column,
                segment_column=segment_column,
                keys=frame[id_column].to_numpy(),
                version=version,
            )
    if out is not None:
        labels = pd.DataFrame(
            {
                id_column: frame[id_column].to_numpy(),
                "segment_id": scored["segment_id"].array,
                "segment_name": scored["segment_id"].map(names).to_numpy(),
                "distance": scored["distance"].to_numpy(),
            }
        )
        write_table(labels, Path(out) / f"part-{index:05d}.parquet")
    sums = None
    if profile is not None:
        # per segment: member count and, per numeric column, the sum and count of values
        ids = scored["segment_id"].to_numpy(dtype=float, na_value=np.nan)
        placed = ~np.isnan(ids)
        values = frame[list(profile)].apply(pd.to_numeric, errors="coerce")[placed]
        groups = ids[placed].astype(np.int64)
        sums = (
            pd.Series(groups).value_counts().sort_index().rename("rows").to_frame(),
            values.groupby(groups).sum(min_count=1),
            values.notna().groupby(groups).sum(),
        )
    return {
        "profile": sums,
        "rows": len(frame),
        "unplaced": int(scored["segment_id"].isna().sum()),
        "changed": None if written is None else written.rows_changed,
        "not_found": None if written is None else written.keys_not_found,
    }


def assign_parquet_partitions(
    path, *, scheduler, db, id_column, version=None, write_back=None, out=None
):
    """Score a directory of Parquet files with a stored version, a task per partition.

    Parameters
    ----------
    path : str or path
        A Parquet file or directory of Parquet files (``dask.dataframe.read_parquet``).
    scheduler : str
        ``'local'`` or the address of a running Dask scheduler (``tcp://host:8786``).
    db : str
        The store's database URL; every worker must reach it.
    id_column : str
        The column of unique row keys.
    version : int, optional
        The stored version (default: the latest, resolved once before any task runs).
    write_back : (table, key_column, segment_column), optional
        Set the segment column of the user's table, one transaction per partition.
    out : path, optional
        A directory to write one labels file per partition into.

    Returns
    -------
    PartitionAssignment
    """
    require_dask()
    from ..store import SegmentStore

    frame = read_parquet_directory(path)
    if id_column not in frame.columns:
        raise ValueError(
            f"id column {id_column!r} is not in {path}; its columns are {list(frame.columns)}"
        )
    with SegmentStore(db) as store:
        version = int(store.version_info(version)["version"])
    with dask_scheduler(scheduler):
        result, _ = assign_partitions(
            frame, db=db, id_column=id_column, version=version, write_back=write_back, out=out
        )
    return result


#: URL schemes of the object stores and file systems fsspec reads Parquet from.
_REMOTE_SCHEMES = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "hdfs", "http", "https")


def read_parquet_directory(path):
    """``dask.dataframe.read_parquet`` of a directory of Parquet files, or a ValueError
    saying what ``path`` is instead."""
    require_dask()
    import dask.dataframe as dd

    scheme = str(path).split("://", 1)[0].lower() if "://" in str(path) else None
    if scheme in _REMOTE_SCHEMES:
        # a remote store (s3://, gs://, hdfs://): the workers read it, fsspec checks it
        return dd.read_parquet(str(path))
    if scheme not in (None, "file"):
        raise ValueError(
            f"--dask needs DATA to be a directory of Parquet files; {str(path)!r} looks like "
            "a database URL. Export the table to Parquet files, or drop --dask"
        )
    path = Path(str(path).removeprefix("file://"))
    if not path.exists():
        raise FileNotFoundError(f"--dask input {str(path)!r} does not exist")
    if not path.is_dir():
        kind = path.suffix.lower() or "file"
        raise ValueError(
            f"--dask needs DATA to be a directory of Parquet files; {str(path)!r} is a "
            f"{kind} file. Write it as Parquet files into a directory (e.g. "
            "dask.dataframe.read_csv(...).to_parquet('dir/')), or drop --dask to read it "
            "in memory"
        )
    if not any(path.rglob("*.parquet")) and not any(path.rglob("*.parq")):
        found = sorted(p.name for p in path.iterdir())[:5]
        raise ValueError(
            f"--dask needs a directory of Parquet files; {str(path)!r} holds none "
            f"(found {found or 'nothing'})"
        )
    return dd.read_parquet(str(path))


def assign_partitions(
    frame, *, db, id_column, version, write_back=None, out=None, record=False, profile=None
):
    """Score the partitions of ``frame`` with stored ``version`` on the current Dask
    scheduler, a task per partition; returns (PartitionAssignment, profile) where profile
    is (rows, sums, counts) per segment id of the ``profile`` columns (or None)."""
    import dask

    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
    task = dask.delayed(_assign_partition, pure=False)
    parts = frame.to_delayed()
    results = dask.compute(
        [
            task(
                part,
                i,
                db=db,
                version=version,
                id_column=id_column,
                target=write_back,
                out=None if out is None else str(out),
                record=record,
                profile=None if profile is None else tuple(profile),
            )
            for i, part in enumerate(parts)
        ]
    )[0]
    totals = None
    if profile is not None:
        pieces = [r["profile"] for r in results]
        totals = tuple(pd.concat([p[j] for p in pieces]).groupby(level=0).sum() for j in range(3))
    written = write_back is not None
    summary = PartitionAssignment(
        version=version,
        n_partitions=len(results),
        n_rows=sum(r["rows"] for r in results),
        n_unplaced=sum(r["unplaced"] for r in results),
        rows_changed=sum(r["changed"] for r in results) if written else None,
        keys_not_found=sum(r["not_found"] for r in results) if written else None,
        out=None if out is None else Path(out),
    )
    return summary, totals
