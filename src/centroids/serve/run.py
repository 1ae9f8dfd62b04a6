"""Running the service: uvicorn over :func:`centroids.serve.create_app`."""

from __future__ import annotations

import logging

log = logging.getLogger("centroids.serve")


def serve(
    db,
    *,
    host="127.0.0.1",
    port=8000,
    cors_origins=(),
    log_level="info",
    token=None,
    environ=None,
):
    """Serve the store at ``db`` over HTTP until interrupted.

    The write token comes from ``token`` or, by default, from the environment
    (:func:`centroids.serve.load_token`): ``CENTROIDS_TOKEN`` or the file named by
    ``CENTROIDS_TOKEN_FILE``. Logs are JSON lines on stderr.
    """
    import uvicorn

    from .app import create_app, load_token
    from .observe import configure_logging

    configure_logging(log_level)
    token = load_token(environ) if token is None else token
    # One BLAS thread for the process: the engine's kernels never nest BLAS inside
    # numba's pool, and a service gets its parallelism from concurrent requests.
    from ..engine import blas_limited_to_one_thread
    from . import scoring

    limit = blas_limited_to_one_thread()
    scoring.BLAS_LIMITED_FOR_PROCESS = True
    app = create_app(db, token=token, cors_origins=tuple(cors_origins))
    log.info(
        "serving",
        extra={
            "store": app.state.store.url.render_as_string(hide_password=True),
            "host": host,
            "port": port,
            "writes": "enabled" if token else "disabled (no token)",
            "cors_origins": list(cors_origins),
        },
    )
    try:
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    finally:
        scoring.BLAS_LIMITED_FOR_PROCESS = False
        limit.restore_original_limits()
