"""The container's HEALTHCHECK: ``python -m centroids.serve.healthcheck``.

When the container runs ``centroids serve`` (its main process's command line says so),
healthy means ``/v2/health/ready`` answers 200 on ``CENTROIDS_PORT`` (default 8000); a
batch job is healthy while it runs. Exit 0 healthy, 1 not (Docker's convention).
``CENTROIDS_HEALTHCHECK_PID`` names another process to look at than 1.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path


def serves(pid: str) -> tuple[bool, int]:
    """Whether process ``pid`` runs the service, and the port it was given."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False, 0
    words = [a.decode("utf-8", "replace") for a in arguments if a]
    port = int(os.environ.get("CENTROIDS_PORT", "8000"))
    if "--port" in words[:-1]:
        port = int(words[words.index("--port") + 1])
    return "serve" in words, port


def main() -> int:
    running_service, port = serves(os.environ.get("CENTROIDS_HEALTHCHECK_PID", "1"))
    if not running_service:
        return 0
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=4) as r:
            return 0 if r.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"not ready: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
