"""Every error the service answers, in one JSON shape, mapped in one place.

The body of every error response is::

    {"error": "what was wrong and what to do", "error_code": "INVALID_PARAMETER_VALUE",
     "status": 422, "type": "BadDataError", "row": 3, "column": "spend"}

``error`` is what Open Inference Protocol clients read, ``error_code`` and ``message``
(the same text) what MLflow clients read; ``row`` and ``column`` are there when the
error is about one cell of the request. The status comes from
:func:`centroids.errors.http_status` (the library's own table) for the library's errors,
from the error class for the service's own (:class:`ServiceError`), and is 500 for
anything else, whose message then hides the details (they go to the log).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import BadDataError, CentroidsError, http_status

log = logging.getLogger("centroids.serve")

#: MLflow's error codes, by HTTP status.
_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    405: "BAD_REQUEST",
    409: "RESOURCE_CONFLICT",
    413: "REQUEST_LIMIT_EXCEEDED",
    415: "BAD_REQUEST",
    422: "INVALID_PARAMETER_VALUE",
    503: "TEMPORARILY_UNAVAILABLE",
}


class ServiceError(CentroidsError):
    """An error of the request itself (not of the library): its class carries the status."""

    status = 400


class BadRequestError(ServiceError):
    """The request cannot be read: not JSON, not the shape the endpoint takes."""

    status = 400


class UnauthorizedError(ServiceError):
    """A write without a bearer token."""

    status = 401


class ForbiddenError(ServiceError):
    """A write with a wrong token, or writes disabled (no token configured)."""

    status = 403


class PayloadTooLargeError(ServiceError):
    """A body or a row count over the service's limits."""

    status = 413


class UnsupportedMediaTypeError(ServiceError):
    """A body of a content type the endpoint does not read."""

    status = 415


class NotReadyError(ServiceError):
    """The service cannot answer yet: the store holds no version, or cannot be reached."""

    status = 503


class BadRowError(BadDataError):
    """A value of the request that the model cannot take, at a row and column."""

    def __init__(self, message, *, row=None, column=None):
        super().__init__(message)
        self.row = row
        self.column = column


def status_of(error: BaseException) -> int:
    """The HTTP status that answers ``error``: the one mapping of the service."""
    if isinstance(error, ServiceError):
        return error.status
    if isinstance(error, StarletteHTTPException):
        return error.status_code
    if isinstance(error, RequestValidationError):
        return 422
    status = http_status(error)
    if status == 500 and isinstance(error, ValueError | TypeError):
        # The library's checks of user input that still raise the built-ins (they name
        # what was wrong): a bad request, not a failure of the service.
        return 422
    return status


def error_body(error: BaseException, status: int) -> dict:
    """The JSON body answering ``error`` with ``status``."""
    if status >= 500 and not isinstance(error, ServiceError):
        message = "internal error of the service; the log has the details"
        kind = "InternalError"
    elif isinstance(error, StarletteHTTPException):
        message = str(error.detail)
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(status, "HTTPError")
    elif isinstance(error, RequestValidationError):
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item.get("loc", ()))
            problems.append(f"{where}: {item.get('msg')}")
        message = "invalid request: " + "; ".join(problems)
        kind = "RequestValidationError"
    else:
        message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        kind = type(error).__name__
    body = {
        "error": message,
        "message": message,
        "error_code": _ERROR_CODES.get(status, "INTERNAL_ERROR"),
        "status": status,
        "type": kind,
    }
    for detail in ("row", "column"):
        value = getattr(error, detail, None)
        if value is not None:
            body[detail] = value
    return body


def error_response(error: BaseException) -> JSONResponse:
    status = status_of(error)
    headers = None
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="centroids"'}
    if status >= 500:
        log.error("request failed", exc_info=(type(error), error, error.__traceback__))
    return JSONResponse(error_body(error, status), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception of the app through :func:`error_response`."""

    async def handle(request: Request, error: Exception):
        request.state.error_type = type(error).__name__
        return error_response(error)

    # The user errors are answered inside the app; Exception (a failure of ours) by
    # Starlette's outermost middleware, which answers with the same shape, then re-raises
    # for the server to log.
    for kind in (
        CentroidsError,
        ValueError,
        TypeError,
        LookupError,
        StarletteHTTPException,
        RequestValidationError,
        Exception,
    ):
        app.add_exception_handler(kind, handle)
