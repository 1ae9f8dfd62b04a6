"""centroids: K-Means clustering for Python.

An engine of its own (numba kernels, both cores, float32 kept float32, sparse
input never densified) under scikit-learn compatible estimators; tools to choose K
and judge clusters; segments kept in a database with stable ids.
"""

import importlib

from . import vq
from .models import (
    KMeans,
    KMedoids,
    KPrototypes,
    MiniBatchKMeans,
    SphericalKMeans,
    kmeans_plusplus,
)

#: Names imported from their submodule on first use (PEP 562), so that ``import
#: centroids`` for the estimators does not load pandas, SQLAlchemy, the plots or the
#: report (measured 2026-11-23: 243 MB resident after the import instead of 268).
_LAZY = {
    "DataError": "data",
    "Preparation": "data",
    "read_table": "data",
    "DocumentClusters": "documents",
    "cluster_documents": "documents",
    "read_documents": "documents",
    "calinski_harabasz_score": "evaluate",
    "choose_k": "evaluate",
    "davies_bouldin_score": "evaluate",
    "diagnose": "evaluate",
    "explain": "evaluate",
    "silhouette_estimate": "evaluate",
    "silhouette_samples": "evaluate",
    "silhouette_score": "evaluate",
    "describe_segments": "naming",
    "suggest_segment_names": "naming",
    "Segmentation": "segmentation",
    "SegmentStore": "store",
    "StoreError": "store",
    "fit_stream": "stream",
    "iter_parquet_batches": "stream",
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"

__all__ = [
    "DataError",
    "DocumentClusters",
    "KMeans",
    "KMedoids",
    "KPrototypes",
    "MiniBatchKMeans",
    "Preparation",
    "SegmentStore",
    "Segmentation",
    "SphericalKMeans",
    "StoreError",
    "__version__",
    "calinski_harabasz_score",
    "choose_k",
    "cluster_documents",
    "davies_bouldin_score",
    "describe_segments",
    "diagnose",
    "explain",
    "fit_stream",
    "iter_parquet_batches",
    "kmeans_plusplus",
    "read_documents",
    "read_table",
    "silhouette_estimate",
    "silhouette_samples",
    "silhouette_score",
    "suggest_segment_names",
    "vq",
]
