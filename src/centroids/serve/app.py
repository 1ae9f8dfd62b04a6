"""The FastAPI app of ``centroids serve``: a thin layer over :class:`SegmentStore`.

Routes, by the clients that call them:

* Open Inference Protocol V2 (KServe, Triton, MLServer clients): ``/v2/health/live``,
  ``/v2/health/ready``, ``/v2``, ``/v2/models/segments`` (metadata),
  ``/v2/models/segments/ready``, ``/v2/models/segments/infer`` and
  ``/v2/models/segments/versions/{version}[/infer]``.
* MLflow / SageMaker scoring: ``/ping``, ``/invocations`` (``dataframe_split``,
  ``dataframe_records``, ``instances`` JSON, or ``text/csv``).
* Reading the segments: ``/v1/versions``, ``/v1/versions/{version}``,
  ``/v1/segments``, ``/v1/versions/{version}/segments``, ``.../centers``, ``.../map``,
  ``/v1/drift``, ``/v1/jobs/{job_id}``.
* Writes, with ``Authorization: Bearer <token>``: ``PATCH /v1/segments/{segment_id}``
  (rename), ``POST /v1/versions/{version}/promote``, ``POST /v1/jobs/retrain``.
* The operator: ``/metrics`` (Prometheus); the explorer page at ``/``.

Every error is answered by :mod:`centroids.serve.errors` in one JSON shape.
"""

from __future__ import annotations

import hmac
import json
import math
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import numpy as np
import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParameter
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from .. import settings
from ..errors import BadParameterError
from .errors import (
    BadRequestError,
    ForbiddenError,
    NotReadyError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    error_body,
    install_error_handlers,
)
from .jobs import JobRunner
from .observe import Metrics, ObserveMiddleware
from .scoring import (
    OUTPUTS,
    ModelCache,
    check_row_count,
    columns_from_csv,
    columns_from_mlflow,
    columns_from_oip,
    csv_response,
    oip_response,
    requested_outputs,
)

MODEL_NAME = "segments"


# Ids in paths and queries are database integers: past 64 bits is a 422, not an overflow.
_MAX_ID = 2**63 - 1
PathId = Annotated[int, PathParameter(le=_MAX_ID)]
QueryId = Annotated[int | None, Query(le=_MAX_ID)]


def load_token(environ=None) -> str | None:
    """The write token: ``$CENTROIDS_TOKEN``, else the contents of ``$CENTROIDS_TOKEN_FILE``.

    None when neither is set (the service then refuses every write). A token file that
    cannot be read, or an empty token, is an error: better not to start than to start
    with writes open or closed by mistake.
    """
    environ = os.environ if environ is None else environ
    token = environ.get(settings.SERVE_TOKEN_VARIABLE)
    path = environ.get(settings.SERVE_TOKEN_FILE_VARIABLE)
    if token is None and path:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise BadParameterError(
                f"cannot read the token file named by {settings.SERVE_TOKEN_FILE_VARIABLE}: "
                f"{error.strerror}"
            ) from None
    if token is not None and not token.strip():
        raise BadParameterError(
            f"the write token ({settings.SERVE_TOKEN_VARIABLE} or the file named by "
            f"{settings.SERVE_TOKEN_FILE_VARIABLE}) is empty"
        )
    return None if token is None else token.strip()


# -- request bodies that the schema describes (and schemathesis fuzzes) ---------------------

_TENSOR = {
    "type": "object",
    "required": ["name", "shape", "datatype", "data"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {"type": "string", "enum": ["FP64", "FP32", "INT64", "INT32", "BYTES"]},
        "data": {"type": "array"},
        "parameters": {"type": "object"},
    },
}
_INFER_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["inputs"],
                "properties": {
                    "id": {"type": "string"},
                    "inputs": {"type": "array", "items": _TENSOR},
                    "outputs": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                    },
                    "parameters": {"type": "object"},
                },
            }
        }
    },
}
_INVOCATIONS_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "dataframe_split": {
                        "type": "object",
                        "properties": {
                            "columns": {"type": "array", "items": {"type": "string"}},
                            "data": {"type": "array", "items": {"type": "array"}},
                        },
                    },
                    "dataframe_records": {"type": "array", "items": {"type": "object"}},
                    "instances": {"type": "array"},
                },
            }
        },
        "text/csv": {"schema": {"type": "string"}},
    },
}


class RenameBody(BaseModel):
    """A segment's new name (and description)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)


class PromoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=10_000)


class RetrainBody(BaseModel):
    """A retrain from a table of the store's database."""

    model_config = ConfigDict(extra="forbid")
    table: str = Field(min_length=1, max_length=200)
    id_column: str | None = Field(default=None, max_length=200)
    columns: list[str] | None = None
    k: str | int = "auto"
    scale: str = "standard"
    impute: str = "drop"
    random_state: int = Field(default=0, ge=0, le=2**32 - 1)
    promote: bool = False


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _json(payload, status=200) -> Response:
    # orjson writes the same compact JSON as json.dumps (floats in their shortest form that
    # reads back exactly) in a fraction of the time: most of a 1,000-row answer is JSON.
    # It writes a NaN as null where json.dumps(allow_nan=False) would refuse; answers carry
    # finite numbers or None (_finite), so the two agree on every answer made here.
    try:
        body = orjson.dumps(payload)
    except TypeError:  # a key or value orjson does not write (an integer over 64 bits)
        body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return Response(body, status_code=status, media_type="application/json")


def _loads(body: bytes):
    """A request body's JSON: orjson where it reads it, else the standard library.

    orjson is strict RFC 8259; json.loads also takes NaN / Infinity literals, integers over
    64 bits and lone surrogates, which clients send (pandas writes NaN). Falling back keeps
    what a body may contain exactly as json.loads takes it, and its error messages.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


class BodyLimitMiddleware:
    """413 for a declared body over the limits, before any of it is read."""

    def __init__(self, app, limit: int, upload_limit: int):
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            for name, value in scope.get("headers", ()):
                if name == b"content-length":
                    limit = self.upload_limit if scope["path"] == "/v1/jobs/retrain" else self.limit
                    if value.isdigit() and int(value) > limit:
                        error = PayloadTooLargeError(
                            f"the request body has {int(value):,} bytes, more than the "
                            f"{limit:,} this endpoint takes; send smaller batches"
                        )
                        response = JSONResponse(error_body(error, 413), status_code=413)
                        await response(scope, receive, send)
                        return
        await self.app(scope, receive, send)


class _Service:
    """What the routes share: the store, the model cache, the jobs, the metrics, the limits.

    One object per app, made by :func:`create_app` and handed to each group of routes.
    """

    def __init__(self, store, *, token, max_body_bytes, max_rows, max_upload_bytes, check_seconds):
        self.store = store
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.max_rows = max_rows
        self.max_upload_bytes = max_upload_bytes
        self.cache = ModelCache(store, check_seconds=check_seconds)
        self.metrics = Metrics()
        self.jobs = JobRunner(
            store.url.render_as_string(hide_password=False),
            on_success=self._after_retrain,
            on_finish=lambda j: self.metrics.jobs.labels(j.status).inc(),
        )

    def _after_retrain(self, job, version):
        if job.params.get("promote"):
            self.store.promote(version, note=f"retrain job {job.job_id}")
        self.cache.invalidate()

    def require_token(self, request: Request) -> None:
        """The dependency of every write: a bearer token equal to the service's."""
        header = request.headers.get("authorization")
        if not header:
            raise UnauthorizedError(
                "this endpoint changes the store: send 'Authorization: Bearer <token>'"
            )
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise UnauthorizedError("the Authorization header must be 'Bearer <token>'")
        if self.token is None:
            raise ForbiddenError(
                "writes are disabled: start the service with the token in "
                f"{settings.SERVE_TOKEN_VARIABLE} or in a file named by "
                f"{settings.SERVE_TOKEN_FILE_VARIABLE}"
            )
        if not hmac.compare_digest(given.strip().encode("utf-8"), self.token.encode("utf-8")):
            raise ForbiddenError("the bearer token is not the one this service accepts")

    async def read_body(self, request: Request, limit: int | None = None) -> bytes:
        """The request's body, refused (413) past ``limit`` bytes (default: the body limit)."""
        limit = self.max_body_bytes if limit is None else limit
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLargeError(
                    f"the request body is larger than the {limit:,} bytes this endpoint "
                    "takes; send smaller batches"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def read_json(self, request: Request):
        """The request's body parsed as JSON (400 if it is not)."""
        body = await self.read_body(request)
        try:
            return _loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BadRequestError(f"the request body is not JSON: {error}") from None

    async def model_for(self, version: int | None):
        """The scoring model of ``version`` (None: the served one), from the cache."""
        if version is None:
            if self.cache.due():
                served = await run_in_threadpool(self.cache.served)
            else:
                served = self.cache.served()
            self.metrics.served_version.set(served.version)
            return served
        if version < 1:
            raise BadParameterError(f"version must be 1 or more, got {version}")
        return await run_in_threadpool(self.cache.version, version)

    async def score(self, request: Request, model, columns, n_rows):
        """Scores the rows (inline when small, in a thread otherwise) and counts them."""
        check_row_count(n_rows, self.max_rows)
        if n_rows * len(model.feature_names) <= settings.SERVE_INLINE_MAX_CELLS:
            scored = model.score(columns, n_rows)
        else:
            scored = await run_in_threadpool(model.score, columns, n_rows)
        request.state.rows = n_rows
        request.state.model_version = scored.version
        self.metrics.rows.labels(str(scored.version)).inc(n_rows)
        return scored

    def resolve(self, version: int | None) -> int:
        """The version number a route reads: ``version``, or the served one for None."""
        if version is None:
            served = self.store.served_version
            if served is None:
                raise NotReadyError("the store holds no version yet")
            return served
        if version < 1:
            raise BadParameterError(f"version must be 1 or more, got {version}")
        return version


def create_app(
    store,
    *,
    token: str | None = None,
    cors_origins=(),
    max_body_bytes: int = settings.SERVE_MAX_BODY_BYTES,
    max_rows: int = settings.SERVE_MAX_ROWS,
    max_upload_bytes: int = settings.SERVE_MAX_UPLOAD_BYTES,
    check_seconds: float = settings.SERVE_VERSION_CHECK_SECONDS,
) -> FastAPI:
    """The service over ``store`` (a :class:`SegmentStore` or its URL).

    Parameters
    ----------
    store : SegmentStore or str
    token : str, optional
        The bearer token that writes need; None refuses every write (403). Read it with
        :func:`load_token` (from the environment or a file), never from a command line.
    cors_origins : sequence of str, default=()
        Origins allowed to call from a browser; none by default (CORS off).
    max_body_bytes, max_rows, max_upload_bytes : int
        Limits of a scoring request and of an uploaded file (413 beyond).
    check_seconds : float
        How often the served version is looked up in the store.
    """
    from .. import __version__
    from ..store import SegmentStore

    if not isinstance(store, SegmentStore):
        store = SegmentStore(store)
    service = _Service(
        store,
        token=token,
        max_body_bytes=max_body_bytes,
        max_rows=max_rows,
        max_upload_bytes=max_upload_bytes,
        check_seconds=check_seconds,
    )
    app = _application(service, __version__, cors_origins)
    # The order of registration is the order of the OpenAPI document.
    _add_inference_protocol_routes(app, service, __version__)
    _add_mlflow_routes(app, service)
    _add_segment_routes(app, service)
    _add_write_routes(app, service)
    _add_operator_routes(app, service)
    return app


def _application(service, version, cors_origins):
    """The FastAPI application of ``service``: its state, error handlers and middleware
    (body limits, CORS when origins are given, metrics), without routes."""
    store = service.store
    max_body_bytes, max_upload_bytes = service.max_body_bytes, service.max_upload_bytes

    @asynccontextmanager
    async def lifespan(app):
        yield
        service.jobs.close()

    app = FastAPI(
        lifespan=lifespan,
        title="centroids segments",
        version=version,
        description=(
            "Segments as a service: score rows (Open Inference Protocol V2, MLflow / "
            "SageMaker invocations), read versions, segments, centers and drift, and, with "
            "a bearer token, rename segments, promote a version, retrain."
        ),
    )
    app.state.store = store
    app.state.cache = service.cache
    app.state.jobs = service.jobs
    app.state.metrics = service.metrics
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limit=max_body_bytes, upload_limit=max_upload_bytes)
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "PATCH"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(ObserveMiddleware, metrics=service.metrics)
    return app


def _model_metadata(model, versions):
    """The Open Inference Protocol's model metadata of ``model`` under ``versions``."""
    return {
        "name": MODEL_NAME,
        "versions": [str(v) for v in versions],
        "platform": "centroids",
        "inputs": model.inputs(),
        "outputs": [{"name": n, "datatype": t, "shape": [-1]} for n, t in OUTPUTS],
        "parameters": {
            "version": str(model.version),
            "n_segments": len(model.segment_ids),
            "segment_ids": model.segment_ids.tolist(),
            "missing": model.preparation.missing,
        },
    }


def _add_inference_protocol_routes(app: FastAPI, service: _Service, server_version: str):
    """Open Inference Protocol V2: health, metadata and ``infer``, served or by version."""
    _add_oip_health_and_metadata_routes(app, service, server_version)
    _add_oip_infer_routes(app, service)


def _add_oip_health_and_metadata_routes(app: FastAPI, service: _Service, server_version: str):
    """Open Inference Protocol V2: the server's and the model's health and metadata."""
    model_for = service.model_for

    @app.get("/v2/health/live", tags=["inference protocol"])
    async def live():
        """The server is running."""
        return {"live": True}

    @app.get("/v2/health/ready", tags=["inference protocol"])
    async def ready():
        """The server can score: the store answers and holds a version."""
        model = await model_for(None)
        return {"ready": True, "model_version": str(model.version)}

    @app.get("/v2", tags=["inference protocol"])
    async def server_metadata():
        return {"name": "centroids", "version": server_version, "extensions": []}

    @app.get("/v2/models/segments", tags=["inference protocol"])
    async def metadata():
        """Inputs (the raw feature columns, with datatypes), outputs and versions."""
        model = await model_for(None)
        versions = await run_in_threadpool(lambda: service.store.versions()["version"].tolist())
        return _model_metadata(model, versions)

    @app.get("/v2/models/segments/versions/{version}", tags=["inference protocol"])
    async def version_metadata(version: PathId):
        model = await model_for(version)
        return _model_metadata(model, [version])

    @app.get("/v2/models/segments/ready", tags=["inference protocol"])
    async def model_ready():
        model = await model_for(None)
        return {"name": MODEL_NAME, "ready": True, "model_version": str(model.version)}

    @app.get("/v2/models/segments/versions/{version}/ready", tags=["inference protocol"])
    async def version_ready(version: PathId):
        model = await model_for(version)
        return {"name": MODEL_NAME, "ready": True, "model_version": str(model.version)}


def _add_oip_infer_routes(app: FastAPI, service: _Service):
    """Open Inference Protocol V2: ``infer`` by the served version or by a given one."""
    model_for = service.model_for

    async def infer(request: Request, version: int | None):
        body = await service.read_json(request)
        model = await model_for(version)
        columns, n_rows = columns_from_oip(body, model, service.max_rows)
        outputs = requested_outputs(body)
        scored = await service.score(request, model, columns, n_rows)
        return _json(oip_response(scored, outputs, body.get("id")))

    @app.post(
        "/v2/models/segments/infer",
        tags=["inference protocol"],
        openapi_extra={"requestBody": _INFER_BODY},
    )
    async def infer_served(request: Request):
        """Segments of the rows, by the served version: one tensor per feature column
        (named after it) or one 2-D tensor [rows, features]."""
        return await infer(request, None)

    @app.post(
        "/v2/models/segments/versions/{version}/infer",
        tags=["inference protocol"],
        openapi_extra={"requestBody": _INFER_BODY},
    )
    async def infer_version(request: Request, version: PathId):
        """Segments of the rows by a given version."""
        return await infer(request, version)


def _add_mlflow_routes(app: FastAPI, service: _Service):
    """MLflow / SageMaker scoring: ``/ping`` and ``/invocations`` (JSON or CSV)."""

    @app.get("/ping", tags=["mlflow / sagemaker"])
    async def ping():
        """Health check of SageMaker and MLflow: 200 once the model can be served."""
        model = await service.model_for(None)
        return {"status": "ok", "model_version": str(model.version)}

    @app.post(
        "/invocations",
        tags=["mlflow / sagemaker"],
        openapi_extra={"requestBody": _INVOCATIONS_BODY},
    )
    async def invocations(request: Request):
        """Segments of the rows: MLflow's JSON (``dataframe_split``, ``dataframe_records``,
        ``instances``) or CSV (with a header row, or the columns in the model's order).
        Answers ``{"predictions": [...]}``, or CSV when the request asks for text/csv."""
        content_type = request.headers.get("content-type", "application/json").split(";")[0]
        content_type = content_type.strip().lower()
        model = await service.model_for(None)
        if content_type in ("text/csv", "application/csv"):
            body = await service.read_body(request)
            try:
                columns, n_rows = columns_from_csv(body, model, service.max_rows)
            except UnicodeDecodeError:
                raise BadRequestError("the CSV body is not UTF-8 text") from None
        elif content_type in ("application/json", ""):
            raw = await service.read_json(request)
            columns, n_rows = columns_from_mlflow(raw, model, service.max_rows)
        else:
            raise UnsupportedMediaTypeError(
                f"/invocations reads application/json or text/csv, not {content_type!r}"
            )
        scored = await service.score(request, model, columns, n_rows)
        accept = request.headers.get("accept", "")
        headers = {"X-Model-Version": str(scored.version)}
        if "text/csv" in accept:
            return PlainTextResponse(csv_response(scored), media_type="text/csv", headers=headers)
        response = _json({"predictions": scored.records()})
        response.headers.update(headers)
        return response


def _centers_body(store, version: int, space: str) -> dict:
    """The body of ``/v1/versions/{version}/centers``: centers by segment id."""
    frame = store.centers(version, original_units=space == "original")
    if space == "model":
        frame.columns = store.load(version).preparation_.model_feature_names_
    return {
        "version": version,
        "space": space,
        "columns": [str(c) for c in frame.columns],
        "centers": [
            {"segment_id": int(i), "values": {str(k): v for k, v in row.items()}}
            for i, row in frame.iterrows()
        ],
    }


def _add_segment_routes(app: FastAPI, service: _Service):
    """Reading the segments: versions, segments, centers, the map, drift."""
    store, resolve = service.store, service.resolve

    @app.get("/v1/versions", tags=["segments"])
    def list_versions():
        """Every version: number, time, K, parent, note, and which one is served."""
        served = store.served_version
        frame = store.versions()
        records = []
        for row in frame.to_dict(orient="records"):
            row["served"] = row["version"] == served
            records.append(_finite(row))
        return {"served_version": served, "versions": records}

    @app.get("/v1/versions/{version}", tags=["segments"])
    def get_version(version: PathId):
        info = store.version_info(resolve(version))
        info.pop("model", None)
        return _finite(info)

    @app.get("/v1/segments", tags=["segments"])
    def served_segments():
        """The served version's segments: names, sizes and profiles."""
        from .views import segments_view

        return _finite(segments_view(store, resolve(None)))

    @app.get("/v1/versions/{version}/segments", tags=["segments"])
    def version_segments(version: PathId):
        """A version's segments: name, size, share, and the profile against the population."""
        from .views import segments_view

        return _finite(segments_view(store, resolve(version)))

    @app.get("/v1/versions/{version}/centers", tags=["segments"])
    def version_centers(version: PathId, space: str = "original"):
        """Centers by segment id, in original units (default) or in model space."""
        if space not in ("original", "model"):
            raise BadParameterError(f"space must be 'original' or 'model', got {space!r}")
        return _finite(_centers_body(store, resolve(version), space))

    @app.get("/v1/versions/{version}/map", tags=["segments"])
    def version_map(version: PathId):
        """A 2-D PCA map of the members sampled when the version was saved, and the centers."""
        from .views import map_view

        return _finite(map_view(store, resolve(version)))

    @app.get("/v1/drift", tags=["segments"])
    def drift(from_version: QueryId = None, to_version: QueryId = None):
        """Changes between two versions (default: the one before the latest, and the latest)."""
        from .views import drift_view

        for value in (from_version, to_version):
            if value is not None and value < 1:
                raise BadParameterError(f"versions are 1 or more, got {value}")
        return _finite(drift_view(store.drift(from_version, to_version)))


#: The OpenAPI request body of ``POST /v1/jobs/retrain``: a table (JSON) or a file.
_RETRAIN_BODY = {
    "content": {
        "application/json": {"schema": RetrainBody.model_json_schema()},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "id_column": {"type": "string"},
                    "k": {"type": "string"},
                    "promote": {"type": "boolean"},
                },
            }
        },
    }
}

#: The fields a retrain form may carry beside ``file``.
_RETRAIN_FORM_FIELDS = {"id_column", "k", "columns", "promote", "scale"}


async def _retrain_params_from_form(request: Request, service: _Service):
    """The parameters and the saved upload of a retrain request sent as a multipart form."""
    # Read within the limit, then handed to Starlette's form parser (which reads
    # the body it holds instead of the consumed stream).
    request._body = await service.read_body(request, service.max_upload_bytes)
    form = await request.form()
    file = form.get("file")
    if file is None or isinstance(file, str):
        raise BadRequestError("the form needs a file in the field 'file'")
    filename = Path(file.filename or "upload.csv").name
    if Path(filename).suffix.lower() not in (".csv", ".tsv", ".parquet", ".gz"):
        raise BadRequestError(
            f"the uploaded file {filename!r} must be a .csv, .tsv or .parquet file"
        )
    fields = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
    unknown = sorted(set(fields) - _RETRAIN_FORM_FIELDS)
    if unknown:
        raise BadRequestError(f"unknown form field(s) {unknown}")
    params = {
        "upload": True,
        "filename": filename,
        "id_column": fields.get("id_column") or None,
        "k": fields.get("k") or "auto",
        "scale": fields.get("scale") or "standard",
        "columns": [c.strip() for c in fields["columns"].split(",") if c.strip()]
        if fields.get("columns")
        else None,
        "promote": fields.get("promote", "").lower() in ("1", "true", "yes"),
    }
    content = await file.read()
    upload = await run_in_threadpool(service.jobs.save_upload, content, filename)
    return params, upload


async def _retrain_params_from_json(request: Request, service: _Service) -> dict:
    """The parameters of a retrain request sent as JSON (a table of the database)."""
    raw = await service.read_json(request)
    try:
        parsed = RetrainBody.model_validate(raw)
    except Exception as error:
        raise BadRequestError(f"invalid retrain request: {error}") from None
    params = parsed.model_dump()
    if not isinstance(params["k"], str):
        params["k"] = str(params["k"])
    return params


def _add_write_routes(app: FastAPI, service: _Service):
    """Writes, behind the bearer token: rename, promote, retrain; the jobs' status."""
    store, cache, jobs = service.store, service.cache, service.jobs
    token_needed = [Depends(service.require_token)]

    @app.patch("/v1/segments/{segment_id}", tags=["writes"], dependencies=token_needed)
    def rename(segment_id: PathId, body: RenameBody):
        """Rename a segment (its name is kept across versions)."""
        store.rename(segment_id, body.name, body.description)
        cache.invalidate()
        row = store.segments().loc[segment_id]
        return _finite(
            {"segment_id": segment_id, "name": row["name"], "description": row["description"]}
        )

    @app.post("/v1/versions/{version}/promote", tags=["writes"], dependencies=token_needed)
    def promote(version: PathId, body: PromoteBody | None = None):
        """Serve this version to requests that name none."""
        if version < 1:
            raise BadParameterError(f"version must be 1 or more, got {version}")
        store.promote(version, note=None if body is None else body.note)
        cache.invalidate()
        return {"served_version": store.served_version}

    @app.post(
        "/v1/jobs/retrain",
        tags=["writes"],
        status_code=202,
        dependencies=token_needed,
        openapi_extra={"requestBody": _RETRAIN_BODY},
    )
    async def retrain(request: Request):
        """Start a retrain job from a table of the store's database (JSON body) or from an
        uploaded CSV / Parquet file (multipart form, field ``file``); poll its status at
        ``/v1/jobs/{job_id}``."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        upload = None
        if content_type == "multipart/form-data":
            params, upload = await _retrain_params_from_form(request, service)
        elif content_type in ("application/json", ""):
            params = await _retrain_params_from_json(request, service)
        else:
            raise UnsupportedMediaTypeError(
                "/v1/jobs/retrain reads application/json (a table) or multipart/form-data "
                f"(a file), not {content_type!r}"
            )
        from ..segments.pipeline import parse_k

        parse_k(params["k"])  # a bad K is the request's error, not the job's
        job = jobs.submit(params, upload)
        return _json(job.to_dict(), status=202)

    @app.get("/v1/jobs", tags=["writes"])
    def list_jobs():
        return {"jobs": [job.to_dict() for job in jobs.all()]}

    @app.get("/v1/jobs/{job_id}", tags=["writes"])
    def get_job(job_id: str):
        """A retrain job's status: queued, running, succeeded (with the version) or failed."""
        return jobs.get(job_id).to_dict()


def _add_operator_routes(app: FastAPI, service: _Service):
    """The operator's ``/metrics`` (Prometheus) and the explorer page at ``/``."""

    @app.get("/metrics", tags=["operator"], include_in_schema=True)
    def prometheus_metrics():
        """Prometheus metrics: requests, latency, errors, rows scored, model version."""
        served = service.cache._served
        if served is not None:
            service.metrics.served_version.set(served.version)
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", response_class=HTMLResponse, tags=["explorer"])
    def explorer():
        """The explorer page: versions, segments, profiles, a map; rename with the token."""
        from .views import explorer_page

        return HTMLResponse(explorer_page())
