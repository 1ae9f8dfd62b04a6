"""centroids: K-Means clustering for Python.

An engine of its own (numba kernels, both cores, float32 kept float32, sparse
input never densified) under scikit-learn compatible estimators; tools to choose K
and judge clusters; segments kept in a database with stable ids.
"""

from . import vq
from .data import DataError, Preparation, read_table
from .documents import DocumentClusters, cluster_documents, read_documents
from .evaluate import (
    calinski_harabasz_score,
    choose_k,
    davies_bouldin_score,
    diagnose,
    explain,
    silhouette_estimate,
    silhouette_samples,
    silhouette_score,
)
from .models import (
    KMeans,
    KMedoids,
    KPrototypes,
    MiniBatchKMeans,
    SphericalKMeans,
    kmeans_plusplus,
)
from .naming import describe_segments, suggest_segment_names
from .segmentation import Segmentation
from .store import SegmentStore, StoreError
from .stream import fit_stream, iter_parquet_batches

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
