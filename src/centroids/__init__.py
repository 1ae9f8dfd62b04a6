"""centroids: K-Means clustering for Python.

An engine of its own (numba kernels, both cores, float32 kept float32, sparse
input never densified) under scikit-learn compatible estimators; tools to choose K
and judge clusters; segments kept in a database with stable ids.
"""

import importlib
import importlib.abc
import importlib.util
import sys

from .errors import (
    BadDataError,
    BadParameterError,
    BadParameterTypeError,
    CentroidsError,
    ConflictError,
    NotFoundError,
)

#: Names imported from their submodule on first use (PEP 562), so that ``import
#: centroids`` does not load numba, scikit-learn, pandas, SQLAlchemy, the plots or the
#: report: commands that do not cluster (``centroids --help``, ``versions``, ``name``,
#: ``drift``) then never import numba nor compile a kernel (issue 16). The estimators
#: come with their first use, ``from centroids import KMeans`` included.
_LAZY = {
    "KMeans": "models",
    "KMedoids": "models",
    "KPrototypes": "models",
    "MiniBatchKMeans": "models",
    "SizeConstrainedKMeans": "models",
    "SphericalKMeans": "models",
    "kmeans_plusplus": "models",
    "DataError": "data",
    "Preparation": "data",
    "read_table": "data",
    "DocumentClusters": "apps.documents",
    "cluster_documents": "apps.documents",
    "read_documents": "apps.documents",
    "calinski_harabasz_score": "evaluate",
    "choose_k": "evaluate",
    "davies_bouldin_score": "evaluate",
    "diagnose": "evaluate",
    "explain": "evaluate",
    "silhouette_estimate": "evaluate",
    "silhouette_samples": "evaluate",
    "silhouette_score": "evaluate",
    "describe_segments": "segments.naming",
    "suggest_segment_names": "segments.naming",
    "Segmentation": "segments.segmentation",
    "SegmentStore": "store",
    "StoreError": "store",
    "fit_stream": "stream",
    "iter_parquet_batches": "stream",
}


#: Modules that moved, by their old names: ``import centroids.pipeline`` still works and
#: gives the module itself (one object under both names), loaded only when asked for.
_MOVED = {
    "centroids.pipeline": "centroids.segments.pipeline",
    "centroids.segmentation": "centroids.segments.segmentation",
    "centroids.naming": "centroids.segments.naming",
    "centroids.quantize": "centroids.apps.quantize",
    "centroids.documents": "centroids.apps.documents",
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds a moved module under its old name and hands out the module at its new place."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module(_MOVED[spec.name])
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module):
        """Nothing to run: the module ran when it was imported under its new name.

        The import machinery has just set ``module.__spec__`` to the old name's spec; the
        module's own (its new name's) is put back, so its relative imports stay right.
        """
        module.__spec__ = module.__spec__.loader_state


if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModuleFinder())


#: Submodules that are attributes of the package (``centroids.vq``), imported on first use.
_LAZY_MODULES = {"vq"}


def __getattr__(name):
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"

__all__ = [
    "BadDataError",
    "BadParameterError",
    "BadParameterTypeError",
    "CentroidsError",
    "ConflictError",
    "DataError",
    "DocumentClusters",
    "KMeans",
    "KMedoids",
    "KPrototypes",
    "MiniBatchKMeans",
    "NotFoundError",
    "Preparation",
    "SegmentStore",
    "Segmentation",
    "SizeConstrainedKMeans",
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
