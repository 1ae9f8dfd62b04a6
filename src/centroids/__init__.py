"""centroids: K-Means clustering for Python.

An engine of its own (numba kernels, both cores, float32 kept float32, sparse
input never densified) under scikit-learn compatible estimators.
"""

from .models import KMeans, kmeans_plusplus

__version__ = "0.1.0"

__all__ = ["KMeans", "__version__", "kmeans_plusplus"]
