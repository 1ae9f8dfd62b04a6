"""End to end: the real `centroids serve` process on a free port, over SQLite and over
PostgreSQL, called over HTTP, then stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from test_serve import FEATURES, customers, new_rows, oip_by_name

from centroids.segments.segmentation import Segmentation
from centroids.store import SegmentStore

from store_backends import store_url  # noqa: F401

TOKEN = "process-token-5f2a"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_service(url, port, environ):
    command = Path(sys.executable).with_name("centroids")
    return subprocess.Popen(
        [str(command), "serve", "--db", url, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environ,
        text=True,
    )


def wait_until_ready(base, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service exited: {process.communicate()[1]}")
        try:
            if httpx.get(f"{base}/v2/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the service did not become ready")


def test_the_serve_command_answers_over_http_and_stops(store_url, tmp_path):  # noqa: F811
    frame = customers()
    with SegmentStore(store_url) as store:
        store.save_run(Segmentation(3, columns=FEATURES, random_state=0).fit(frame), frame)
        rows = new_rows(50)
        want = store.predict_with_distance(rows)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    environ = {**os.environ, "CENTROIDS_TOKEN_FILE": str(token_file)}
    environ.pop("CENTROIDS_TOKEN", None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_service(store_url, port, environ)
    try:
        wait_until_ready(base, process)
        response = httpx.post(f"{base}/v2/models/segments/infer", json=oip_by_name(rows))
        assert response.status_code == 200, response.text
        outputs = {o["name"]: o["data"] for o in response.json()["outputs"]}
        assert outputs["segment_id"] == want["segment_id"].astype(int).tolist()
        assert outputs["distance"] == want["distance"].tolist()
        csv = rows[FEATURES].to_csv(index=False, float_format="%.17g")
        response = httpx.post(
            f"{base}/invocations", content=csv, headers={"Content-Type": "text/csv"}
        )
        assert [p["segment_id"] for p in response.json()["predictions"]] == outputs["segment_id"]
        assert httpx.patch(f"{base}/v1/segments/1", json={"name": "n"}).status_code == 401
        renamed = httpx.patch(
            f"{base}/v1/segments/1",
            json={"name": "Renamed over HTTP"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert renamed.status_code == 200, renamed.text
        assert "centroids_requests_total" in httpx.get(f"{base}/metrics").text
        assert httpx.get(f"{base}/").status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    # a graceful shutdown ("Application shutdown complete"), then uvicorn exits by the
    # signal it was sent, as a process stopped by SIGTERM does
    assert process.returncode in (0, -signal.SIGTERM), stderr
    assert "Application shutdown complete" in stderr
    with SegmentStore(store_url) as store:
        assert store.segments().loc[1, "name"] == "Renamed over HTTP"
    # structured logs: one JSON object per line, the token in none of them
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(line.get("route") == "/v2/models/segments/infer" for line in lines)
    assert TOKEN not in stderr and TOKEN not in stdout
    assert "password" not in stderr.lower() or "***" in stderr
