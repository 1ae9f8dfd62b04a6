"""The batch container's job: retrain the segments and write them back, configured by
environment variables; ``python -u -m centroids.serve.batch``.

========================  ===============================================================
variable                  meaning
========================  ===============================================================
``CENTROIDS_DB``          the store's database URL (required)
``CENTROIDS_SOURCE``      a CSV / Parquet file, or a database URL, to read the rows from
``CENTROIDS_TABLE``       the table to read: of ``CENTROIDS_SOURCE`` when it is a database
                          URL, else of ``CENTROIDS_DB``
``CENTROIDS_ID_COLUMN``   the rows' key column (keys the assignments and the write-back)
``CENTROIDS_K``           ``auto``, a number, or a range ``A-B``; default: the K of the
                          store's latest version, ``auto`` for an empty store
``CENTROIDS_COLUMNS``     comma-separated feature columns (default: all but the id)
``CENTROIDS_SCALE``       standard (default), robust, minmax, none
``CENTROIDS_IMPUTE``      drop (default) or median
``CENTROIDS_MISSING``     missing numbers: drop, impute, kpod or masked (every row gets a
                          segment; see ``centroids segment --missing``); default: from
                          ``CENTROIDS_IMPUTE``
``CENTROIDS_SEED``        random seed (default 0)
``CENTROIDS_WRITE_BACK``  ``TABLE.KEY:SEGMENT_COLUMN`` of ``CENTROIDS_DB`` to update
``CENTROIDS_PROMOTE``     1 to promote the new version (the served one); default 0
========================  ===============================================================

The run is one unit in the store (:meth:`SegmentStore.save_run`: the version, its
assignments, the write-back and the promotion in one transaction): killed at any point,
it leaves the store as it was. On success it prints one JSON line (version, K, rows,
segments born and retired) and exits 0; on failure it prints one line saying why on
stderr and exits 2 for a problem of the configuration or the data, 1 for anything else.
Database passwords are never printed.
"""

from __future__ import annotations

import json
import os
import sys
import time

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


class JobConfigError(ValueError):
    """The job's environment variables do not describe a run."""


def _get(environ, name, default=None):
    value = environ.get(name)
    return default if value is None or not value.strip() else value.strip()


def job_settings(environ) -> dict:
    """The run the environment describes, checked; a JobConfigError says what is wrong."""
    db = _get(environ, "CENTROIDS_DB")
    if db is None:
        raise JobConfigError(
            "CENTROIDS_DB is not set: give the store's database URL, e.g. "
            "sqlite:////data/segments.db or postgresql://user@host/db"
        )
    source = _get(environ, "CENTROIDS_SOURCE")
    table = _get(environ, "CENTROIDS_TABLE")
    if source is None and table is None:
        raise JobConfigError(
            "neither CENTROIDS_SOURCE (a CSV / Parquet file or a database URL) nor "
            "CENTROIDS_TABLE (a table of CENTROIDS_DB) is set: say where the rows are"
        )
    if source is None:
        source = db
    columns = _get(environ, "CENTROIDS_COLUMNS")
    seed = _get(environ, "CENTROIDS_SEED", "0")
    if not seed.isdigit():
        raise JobConfigError(f"CENTROIDS_SEED must be a non-negative integer, got {seed!r}")
    promote = _get(environ, "CENTROIDS_PROMOTE", "0").lower()
    if promote not in ("0", "1", "true", "false", "yes", "no"):
        raise JobConfigError(f"CENTROIDS_PROMOTE must be 1 or 0, got {promote!r}")
    return {
        "db": db,
        "source": source,
        "table": table,
        "id_column": _get(environ, "CENTROIDS_ID_COLUMN"),
        "k": _get(environ, "CENTROIDS_K"),
        "columns": [c.strip() for c in columns.split(",") if c.strip()] if columns else None,
        "scale": _get(environ, "CENTROIDS_SCALE", "standard"),
        "impute": _get(environ, "CENTROIDS_IMPUTE", "drop"),
        "missing": _get(environ, "CENTROIDS_MISSING"),
        "random_state": int(seed),
        "write_back": _get(environ, "CENTROIDS_WRITE_BACK"),
        "promote": promote in ("1", "true", "yes"),
    }


def run_job(environ=None) -> dict:
    """Run the retrain-and-write-back job the environment describes; returns its summary."""
    from ..segments.pipeline import parse_k, segment_data
    from ..store import SegmentStore

    config = job_settings(os.environ if environ is None else environ)
    _check_job_choices(config)
    k = config["k"]
    with SegmentStore(config["db"]) as store:
        latest = store.latest_version
        if k is None:
            k = "auto" if latest is None else int(store.version_info(latest)["n_clusters"])
        else:
            try:
                k = parse_k(k)
            except ValueError as error:
                raise JobConfigError(f"CENTROIDS_K: {error}") from None
        store_url = store.url.render_as_string(hide_password=True)
    started = time.perf_counter()
    run = segment_data(
        config["source"],
        table=config["table"],
        id_column=config["id_column"],
        columns=config["columns"],
        k=k,
        scale=config["scale"],
        impute=config["impute"],
        missing=config["missing"],
        promote=config["promote"],
        db=config["db"],
        write_back=config["write_back"],
        random_state=config["random_state"],
        source="batch job",
    )
    return _job_summary(run, store_url, config, started)


def _check_job_choices(config):
    """The job's scale, impute and missing settings are ones ``segment_data`` takes."""
    from ..data.prepare import MISSING_POLICIES

    if config["scale"] not in ("standard", "robust", "minmax", "none"):
        raise JobConfigError(
            f"CENTROIDS_SCALE must be standard, robust, minmax or none, got {config['scale']!r}"
        )
    if config["impute"] not in ("drop", "median"):
        raise JobConfigError(f"CENTROIDS_IMPUTE must be drop or median, got {config['impute']!r}")
    if config["missing"] is not None and config["missing"] not in MISSING_POLICIES:
        raise JobConfigError(
            f"CENTROIDS_MISSING must be one of {', '.join(MISSING_POLICIES)}, "
            f"got {config['missing']!r}"
        )


def _job_summary(run, store_url, config, started):
    """The summary the job prints: the version it saved and what the run did."""
    version = run.version
    return {
        "status": "succeeded",
        "store": store_url,
        "version": version.version,
        "parent_version": version.parent_version,
        "k": len(version.segment_ids),
        "rows": run.n_rows,
        "rows_dropped": run.n_dropped,
        "missing": run.missing,
        "rows_with_missing_values": run.n_rows_with_holes,
        "born": list(version.born),
        "retired": list(version.retired),
        "promoted": config["promote"],
        "rows_written_back": None if run.write_back is None else run.write_back.rows_changed,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _one_line(error: BaseException) -> str:
    message = error.args[0] if isinstance(error, KeyError) and error.args else error
    return " ".join(str(message).split())


def main(environ=None) -> int:
    """Run the job; print its summary (stdout) or one line saying why it failed (stderr)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..errors import CentroidsError

    try:
        summary = run_job(environ)
    except (CentroidsError, ValueError, TypeError, LookupError, OSError) as error:
        print(f"centroids batch job failed: {_one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SQLAlchemyError as error:
        print(f"centroids batch job failed: database error: {_one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:
        print(
            f"centroids batch job failed: unexpected {type(error).__name__}: {_one_line(error)}",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
