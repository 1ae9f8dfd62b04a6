"""scikit-learn compatible estimators over the centroids engine."""

from .constrained import SizeConstrainedKMeans
from .kmeans import KMeans, kmeans_plusplus
from .kmedoids import KMedoids
from .kprototypes import KPrototypes
from .minibatch import MiniBatchKMeans
from .spherical import SphericalKMeans

__all__ = [
    "KMeans",
    "KMedoids",
    "KPrototypes",
    "MiniBatchKMeans",
    "SizeConstrainedKMeans",
    "SphericalKMeans",
    "kmeans_plusplus",
]
