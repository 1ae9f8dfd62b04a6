"""Segments as a service: the REST app of ``centroids serve`` and the batch job.

:func:`create_app` builds the FastAPI app over a :class:`~centroids.store.SegmentStore`
(Open Inference Protocol V2, MLflow / SageMaker ``/invocations``, read and write
endpoints, Prometheus metrics, the explorer page); :func:`serve` runs it with uvicorn.
Needs the ``serve`` extra (``pip install centroids[serve]``).
"""

from .app import create_app, load_token
from .run import serve

__all__ = ["create_app", "load_token", "serve"]
