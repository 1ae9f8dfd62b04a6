"""scikit-learn compatible estimators over the centroids engine."""

from .kmeans import KMeans, kmeans_plusplus
from .minibatch import MiniBatchKMeans

__all__ = ["KMeans", "MiniBatchKMeans", "kmeans_plusplus"]
