"""The exception hierarchy: every kind is a CentroidsError and the built-in users catch."""

import pytest

import centroids
from centroids import errors
from centroids.data import DataError
from centroids.store import errors as store_errors


@pytest.mark.parametrize(
    ("kind", "builtin"),
    [
        (errors.BadDataError, ValueError),
        (errors.BadParameterError, ValueError),
        (errors.BadParameterTypeError, TypeError),
        (errors.NotFoundError, LookupError),
        (errors.ConflictError, RuntimeError),
        (DataError, ValueError),
        (store_errors.StoreError, ValueError),
        (store_errors.VersionNotFoundError, LookupError),
        (store_errors.KeyTypeError, TypeError),
    ],
)
def test_each_kind_is_a_centroids_error_and_its_builtin(kind, builtin):
    error = kind("message")
    assert isinstance(error, errors.CentroidsError)
    assert isinstance(error, builtin)
    assert str(error) == "message"


def test_store_errors_have_the_library_kind_they_are():
    assert issubclass(store_errors.SegmentNotFoundError, errors.NotFoundError)
    assert issubclass(store_errors.ImmutableVersionError, errors.ConflictError)
    assert issubclass(store_errors.ConcurrentWriteError, errors.ConflictError)
    assert issubclass(store_errors.StoreURLError, errors.BadDataError)
    assert issubclass(DataError, errors.BadDataError)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (store_errors.VersionNotFoundError("v"), 404),
        (store_errors.ImmutableVersionError("v"), 409),
        (errors.BadParameterTypeError("t"), 422),
        (DataError("d"), 422),
        (store_errors.StoreConnectionError("c"), 400),
        (ValueError("a bug of ours"), 500),
        (KeyError("a bug of ours"), 500),
    ],
)
def test_http_status_of_each_kind(error, status):
    assert errors.http_status(error) == status


def test_the_hierarchy_is_public():
    for name in ("CentroidsError", "BadDataError", "BadParameterError", "NotFoundError"):
        assert getattr(centroids, name) is getattr(errors, name)
