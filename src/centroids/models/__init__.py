"""scikit-learn compatible estimators over the centroids engine."""

from .kmeans import KMeans, kmeans_plusplus

__all__ = ["KMeans", "kmeans_plusplus"]
