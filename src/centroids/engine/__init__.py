"""One k-means run, and the driver that owns the n_init loop.

Three layers, as in scikit-learn: the estimators in :mod:`centroids.models` validate
input; this package seeds (:mod:`.seeding`), iterates and converges (:mod:`.lloyd`,
:mod:`.bounded`), refines (:mod:`.refine`), and its driver (:mod:`.driver`) picks the
iterations, keeps the best of several runs and warns; the kernels in
:mod:`centroids._kernels` do the arithmetic on buffers and check nothing. Data reaches
the kernels through an adapter (:mod:`.data`) that gives the engine one interface for
dense and sparse X. This module only re-exports the names the rest of the package uses.
"""

from .data import CSRData, DenseData, engine_data
from .driver import ALGORITHMS, ITERATIONS, blas_limited_to_one_thread, choose_algorithm, fit_kmeans
from .lloyd import KMeansRun, absolute_tolerance, centers_from_sums, lloyd, relocate_empty_clusters
from .seeding import initial_centers, kmeans_plusplus_centers, random_centers

__all__ = [
    "ALGORITHMS",
    "ITERATIONS",
    "CSRData",
    "DenseData",
    "KMeansRun",
    "absolute_tolerance",
    "blas_limited_to_one_thread",
    "centers_from_sums",
    "choose_algorithm",
    "engine_data",
    "fit_kmeans",
    "initial_centers",
    "kmeans_plusplus_centers",
    "lloyd",
    "random_centers",
    "relocate_empty_clusters",
]
