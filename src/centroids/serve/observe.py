"""What the operator sees: Prometheus metrics and one JSON log line per request.

The metrics live in a registry of the app's own (two apps in one process, as in tests,
do not share counters). Log lines carry the method, the route, the status, the time,
the rows scored and the version; never a header, so never a token.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

log = logging.getLogger("centroids.serve")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extras."""

    _standard = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._standard:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "info") -> None:
    """Send the service's and uvicorn's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    for name in ("centroids.serve", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


class Metrics:
    """The service's Prometheus metrics, in a registry of their own."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "centroids_requests",
            "HTTP requests answered, by route, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "centroids_request_duration_seconds",
            "Time to answer a request, by route.",
            ("route",),
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10),
            registry=self.registry,
        )
        self.errors = Counter(
            "centroids_errors",
            "Error responses, by route and error type.",
            ("route", "type"),
            registry=self.registry,
        )
        self.rows = Counter(
            "centroids_rows_scored",
            "Rows scored, by model version.",
            ("version",),
            registry=self.registry,
        )
        self.served_version = Gauge(
            "centroids_model_version",
            "The model version served to requests that name none.",
            registry=self.registry,
        )
        self.jobs = Counter(
            "centroids_retrain_jobs",
            "Retrain jobs finished, by outcome.",
            ("status",),
            registry=self.registry,
        )


class ObserveMiddleware:
    """Pure ASGI middleware: counts, times and logs every HTTP request."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]
        scope.setdefault("state", {})

        async def send_and_record(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            state = scope.get("state", {})
            code = status[0]
            self.metrics.requests.labels(path, scope["method"], str(code)).inc()
            self.metrics.latency.labels(path).observe(elapsed)
            if code >= 400:
                self.metrics.errors.labels(path, state.get("error_type", "HTTPError")).inc()
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": path,
                        "status": code,
                        "duration_ms": round(elapsed * 1000, 3),
                        "rows": state.get("rows"),
                        "model_version": state.get("model_version"),
                        "client": (scope.get("client") or [None])[0],
                    },
                )
