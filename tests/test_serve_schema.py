"""The service's OpenAPI schema fuzzed with schemathesis: no generated request gets a 5xx,
and every error answer has the one error shape."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import zlib
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from test_serve import ERROR_KEYS, FEATURES, TOKEN, customers

from centroids.segments.segmentation import Segmentation
from centroids.serve import create_app
from centroids.store import SegmentStore


def fuzzed_app():
    """The app over a store of two versions, in a temporary folder removed at exit."""
    folder = tempfile.mkdtemp(prefix="centroids-fuzz-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    store = SegmentStore(f"sqlite:///{Path(folder) / 'segments.db'}")
    frame = customers(300)
    for seed in (0, 1):
        model = Segmentation(3, columns=FEATURES, random_state=seed).fit(frame)
        store.save_run(model, frame)
    return create_app(store, token=TOKEN, check_seconds=0)


# Built at import: schemathesis parametrizes the test from the schema when collecting.
schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app())


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_gets_a_server_error(case):
    # half the requests carry the token, so the writes are fuzzed past the check too;
    # crc32, not hash(): str hashes change per process, and the run must be repeatable
    token = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode()) % 2
    headers = {"Authorization": f"Bearer {TOKEN}"} if token else {}
    response = case.call(headers=headers)
    assert response.status_code < 500, (case.as_curl_command(), response.text)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) >= ERROR_KEYS, body
        assert body["status"] == response.status_code
