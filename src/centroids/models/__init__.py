"""scikit-learn compatible estimators over the centroids engine."""

from .kmeans import KMeans, kmeans_plusplus
from .kmedoids import KMedoids
from .kprototypes import KPrototypes
from .minibatch import MiniBatchKMeans

__all__ = ["KMeans", "KMedoids", "KPrototypes", "MiniBatchKMeans", "kmeans_plusplus"]
