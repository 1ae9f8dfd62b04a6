# centroids: the batch job (default) and the service, in one image.
#
#   docker build -t centroids .
#   docker run --rm -e CENTROIDS_DB=postgresql://... -e CENTROIDS_TABLE=customers \
#       -e CENTROIDS_ID_COLUMN=customer_id centroids                 # retrain + write back
#   docker run -p 8000:8000 -e CENTROIDS_TOKEN_FILE=/run/secrets/token centroids \
#       python -u -m centroids.cli serve --db postgresql://... --host 0.0.0.0 --port 8000
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /opt/centroids
COPY pyproject.toml README.md ./
COPY src ./src
# The package itself, from this checkout; its dependencies' ranges are in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[serve]" \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin centroids

USER 10001
WORKDIR /home/centroids
EXPOSE 8000

# In service mode: ready when /v2/health/ready answers; a batch job is healthy while it runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "centroids.serve.healthcheck"]

CMD ["python", "-u", "-m", "centroids.serve.batch"]
