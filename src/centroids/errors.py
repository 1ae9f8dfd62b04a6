"""The one exception hierarchy of centroids.

Every error a user can cause (bad data, a bad parameter, a name that does not exist, a
write that conflicts with the store's state) is a :class:`CentroidsError`. Each kind also
derives from the built-in exception that Python code conventionally catches for it, so
``except ValueError`` keeps working:

============================  =========================================  ==============
class                          what was wrong                             also a
============================  =========================================  ==============
:class:`BadDataError`          the data (a value, a column, a row, shape) ``ValueError``
:class:`BadParameterError`     a parameter's value                        ``ValueError``
:class:`BadParameterTypeError` a parameter's type                         ``TypeError``
:class:`NotFoundError`         a version, segment, table, column, file    ``LookupError``
:class:`ConflictError`         the state forbids it (immutable, busy)     ``RuntimeError``
============================  =========================================  ==============

The command line maps a :class:`CentroidsError` to exit code 2 (the user's mistake) and
anything else to exit code 1 (a failure of ours); the service maps them to 4xx responses.
Both mappings live in one place each (``centroids.cli`` and ``centroids.serve``) and read
:data:`HTTP_STATUS` below.
"""

from __future__ import annotations


class CentroidsError(Exception):
    """Base of every error a user can cause; the message says what, where, and what to do."""


class BadDataError(CentroidsError, ValueError):
    """The data cannot be used as given: a value, a column, a row or the shape is wrong."""


class BadParameterError(CentroidsError, ValueError):
    """A parameter has a value outside what it accepts."""


class BadParameterTypeError(BadParameterError, TypeError):
    """A parameter has a type it does not accept."""


class NotFoundError(CentroidsError, LookupError):
    """Something named does not exist: a model version, a segment, a table, a column, a file."""


class ConflictError(CentroidsError, RuntimeError):
    """The request is valid but the current state forbids it (immutable, busy, incomplete)."""


#: HTTP status for each kind of user error, most specific first; the service's error
#: handler and its tests read this table.
HTTP_STATUS = (
    (NotFoundError, 404),
    (ConflictError, 409),
    (BadParameterTypeError, 422),
    (BadParameterError, 422),
    (BadDataError, 422),
    (CentroidsError, 400),
)


def http_status(error: BaseException) -> int:
    """The HTTP status that answers ``error``: its kind's from :data:`HTTP_STATUS`, else 500."""
    for kind, status in HTTP_STATUS:
        if isinstance(error, kind):
            return status
    return 500


__all__ = [
    "HTTP_STATUS",
    "BadDataError",
    "BadParameterError",
    "BadParameterTypeError",
    "CentroidsError",
    "ConflictError",
    "NotFoundError",
    "http_status",
]
