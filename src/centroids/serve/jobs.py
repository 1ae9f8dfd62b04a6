"""Retrain jobs of the service: one at a time, in the background, with an id and a status.

A job runs :func:`centroids.segments.pipeline.segment_data` (what ``centroids segment``
and the batch container run) on a table of the store's database or on an uploaded file,
and saves the new version as one unit (see :meth:`SegmentStore.save_run`): a job that
fails, or a service killed during one, leaves the store as it was.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .. import settings
from ..errors import NotFoundError
from .errors import status_of

log = logging.getLogger("centroids.serve")


@dataclass
class RetrainJob:
    """A retrain job: what it was asked, where it is, and what came of it."""

    job_id: str
    params: dict
    status: str = "queued"
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    started_at: str | None = None
    finished_at: str | None = None
    result: dict | None = None
    error: dict | None = None

    def to_dict(self) -> dict:
        return {
            "job_id": self.job_id,
            "status": self.status,
            "params": self.params,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "result": self.result,
            "error": self.error,
        }


class JobRunner:
    """Runs retrain jobs one after the other on a worker thread; remembers the last ones."""

    def __init__(self, store_url, on_success, on_finish=None, kept=settings.SERVE_JOBS_KEPT):
        self.store_url = store_url
        self.on_success = on_success
        self.on_finish = on_finish
        self.kept = kept
        self._jobs: OrderedDict[str, RetrainJob] = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, params: dict, upload: Path | None = None) -> RetrainJob:
        job = RetrainJob(job_id=uuid.uuid4().hex, params=params)
        with self._lock:
            self._jobs[job.job_id] = job
            finished = [j for j in self._jobs.values() if j.status in ("succeeded", "failed")]
            for old in finished[: max(0, len(self._jobs) - self.kept)]:
                self._jobs.pop(old.job_id, None)
        with self._lock:
            if self._pool is None:  # first job, or the first since the app shut down
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="centroids-retrain")
            self._pool.submit(self._run, job, upload)
        return job

    def get(self, job_id: str) -> RetrainJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(
                f"no retrain job {job_id!r} (the service keeps the last {self.kept})"
            )
        return job

    def all(self) -> list[RetrainJob]:
        with self._lock:
            return list(self._jobs.values())

    def _run(self, job: RetrainJob, upload: Path | None) -> None:
        from ..segments.pipeline import segment_data

        job.status = "running"
        job.started_at = datetime.now(UTC).isoformat()
        params = job.params
        try:
            if upload is not None:
                from ..data.read import read_table

                data = read_table(
                    upload, columns=params.get("columns"), id_column=params.get("id_column")
                )
                source = f"upload {params.get('filename') or upload.name}"
            else:
                data = self.store_url
                source = f"table {params['table']}"
            run = segment_data(
                data,
                table=params.get("table") if upload is None else None,
                id_column=params.get("id_column"),
                columns=params.get("columns"),
                k=params.get("k") or "auto",
                scale=params.get("scale") or "standard",
                impute=params.get("impute") or "drop",
                db=self.store_url,
                random_state=int(params.get("random_state") or 0),
                source=f"retrain job {job.job_id} ({source})",
            )
            version = run.version
            job.result = {
                "version": version.version,
                "parent_version": version.parent_version,
                "k": len(version.segment_ids),
                "rows": run.n_rows,
                "rows_dropped": run.n_dropped,
                "born": list(version.born),
                "retired": list(version.retired),
                "continued": list(version.continued),
            }
            self.on_success(job, version.version)
            job.status = "succeeded"
            log.info("retrain job succeeded", extra={"job_id": job.job_id, **job.result})
        except Exception as error:
            status = status_of(error)
            message = str(error) if status < 500 else f"{type(error).__name__}: {error}"
            job.error = {"type": type(error).__name__, "message": message, "status": status}
            job.status = "failed"
            log.warning(
                "retrain job failed",
                extra={"job_id": job.job_id, "error_type": type(error).__name__},
                exc_info=status >= 500,
            )
        finally:
            job.finished_at = datetime.now(UTC).isoformat()
            if upload is not None:
                shutil.rmtree(upload.parent, ignore_errors=True)
            if self.on_finish is not None:
                self.on_finish(job)

    def save_upload(self, body: bytes, filename: str) -> Path:
        """Write an uploaded file whole into a private temporary folder; returns its path."""
        folder = Path(tempfile.mkdtemp(prefix="centroids-upload-"))
        path = folder / Path(filename).name
        path.write_bytes(body)
        return path

    def close(self) -> None:
        """Wait for the running job; forget the queued ones."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
