"""The engine's view of X: one interface over the dense and the sparse kernels.

:class:`DenseData` (a C-ordered float32/float64 array) and :class:`CSRData` (a CSR
matrix, never densified) give seeding and iterations the same methods; each method
picks the parallel or serial form of its kernel by the work it will do.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._kernels import dense as dense_kernels
from .._kernels import sparse as sparse_kernels
from .._kernels.labels import group_rows_by_label


class DenseData:
    """A C-ordered float32/float64 array, seen through the dense kernels."""

    def __init__(self, X):
        self.X = X
        self.n_rows, self.n_features = X.shape
        self.dtype = X.dtype
        self.row_work = X.size

    def assign_labels(self, sample_weight, centers):
        """Labels, squared distance to the assigned center, and inertia."""
        labels = np.empty(self.n_rows, dtype=np.int32)
        min_sq_dist = np.empty(self.n_rows)
        chunk_inertia = np.empty(dense_kernels.n_chunks(self.n_rows))
        _sized(dense_kernels.assign_labels, self, centers.shape[0])(
            self.X, sample_weight, centers, labels, min_sq_dist, chunk_inertia
        )
        return labels, min_sq_dist, float(chunk_inertia.sum())

    def labelled_inertia(self, sample_weight, centers, labels):
        chunk_inertia = np.empty(dense_kernels.n_chunks(self.n_rows))
        _sized(dense_kernels.labelled_inertia, self, 1)(
            self.X, sample_weight, centers, labels, chunk_inertia
        )
        return float(chunk_inertia.sum())

    def cluster_sums(self, sample_weight, labels, n_clusters):
        """float64 weighted sums of the rows of each cluster, and cluster weights."""
        order, starts = _group_by_label(labels, n_clusters)
        sums = np.empty((n_clusters, self.n_features))
        weights = np.empty(n_clusters)
        _sized(dense_kernels.weighted_cluster_sums, self, 1)(
            self.X, sample_weight, order, starts, sums, weights
        )
        return sums, weights

    def sq_distances(self, centers):
        out = np.empty((self.n_rows, centers.shape[0]), dtype=self.dtype)
        _sized(dense_kernels.pairwise_sq_distances, self, centers.shape[0])(self.X, centers, out)
        return out

    def candidate_potentials(self, sample_weight, closest_sq_dist, candidates):
        chunk_pot = np.empty((dense_kernels.n_chunks(self.n_rows), candidates.shape[0]))
        _sized(dense_kernels.candidate_potentials, self, candidates.shape[0])(
            self.X, sample_weight, closest_sq_dist, candidates, chunk_pot
        )
        return chunk_pot.sum(axis=0)

    def update_closest_sq_dist(self, points, p, closest_sq_dist):
        _sized(dense_kernels.update_closest_sq_dist, self, 1)(self.X, points, p, closest_sq_dist)

    def rows(self, indices):
        """Rows of X as a dense array of X's dtype."""
        return self.X[np.asarray(indices)]

    def column_variances(self):
        return _sized(dense_kernels.column_variances, self, 1)(self.X)


class CSRData:
    """A CSR matrix of float32/float64, seen through the sparse kernels; never densified."""

    def __init__(self, X):
        self.X = X
        self.n_rows, self.n_features = X.shape
        self.dtype = X.dtype
        self.row_work = X.nnz
        self._arrays = (X.data, X.indices, X.indptr)
        self.x_sq_norms = _sized(sparse_kernels.row_sq_norms, self, 1)(X.data, X.indptr)

    def assign_labels(self, sample_weight, centers):
        labels = np.empty(self.n_rows, dtype=np.int32)
        min_sq_dist = np.empty(self.n_rows)
        chunk_inertia = np.empty(dense_kernels.n_chunks(self.n_rows))
        _sized(sparse_kernels.assign_labels, self, centers.shape[0])(
            *self._arrays,
            self.x_sq_norms,
            sample_weight,
            centers,
            labels,
            min_sq_dist,
            chunk_inertia,
        )
        return labels, min_sq_dist, float(chunk_inertia.sum())

    def labelled_inertia(self, sample_weight, centers, labels):
        chunk_inertia = np.empty(dense_kernels.n_chunks(self.n_rows))
        _sized(sparse_kernels.labelled_inertia, self, 1)(
            *self._arrays, self.x_sq_norms, sample_weight, centers, labels, chunk_inertia
        )
        return float(chunk_inertia.sum())

    def cluster_sums(self, sample_weight, labels, n_clusters):
        order, starts = _group_by_label(labels, n_clusters)
        sums = np.empty((n_clusters, self.n_features))
        weights = np.empty(n_clusters)
        _sized(sparse_kernels.weighted_cluster_sums, self, 1)(
            *self._arrays, sample_weight, order, starts, sums, weights
        )
        return sums, weights

    def sq_distances(self, centers):
        out = np.empty((self.n_rows, centers.shape[0]), dtype=self.dtype)
        _sized(sparse_kernels.pairwise_sq_distances, self, centers.shape[0])(
            *self._arrays, self.x_sq_norms, centers, out
        )
        return out

    def candidate_potentials(self, sample_weight, closest_sq_dist, candidates):
        chunk_pot = np.empty((dense_kernels.n_chunks(self.n_rows), candidates.shape[0]))
        _sized(sparse_kernels.candidate_potentials, self, candidates.shape[0])(
            *self._arrays, self.x_sq_norms, sample_weight, closest_sq_dist, candidates, chunk_pot
        )
        return chunk_pot.sum(axis=0)

    def update_closest_sq_dist(self, points, p, closest_sq_dist):
        _sized(sparse_kernels.update_closest_sq_dist, self, 1)(
            *self._arrays, self.x_sq_norms, points, p, closest_sq_dist
        )

    def rows(self, indices):
        return self.X[np.asarray(indices)].toarray()

    def column_variances(self):
        from sklearn.utils.sparsefuncs import mean_variance_axis

        return np.asarray(mean_variance_axis(self.X, axis=0)[1], dtype=np.float64)


def engine_data(X):
    """Wrap a validated X (C-ordered ndarray or CSR matrix) in its kernel adapter."""
    if sp.issparse(X):
        return CSRData(X)
    return DenseData(X)


def _sized(kernel, data, n_centers):
    """The parallel or serial form of ``kernel``, by the work it will do on ``data``."""
    return kernel.for_work(data.row_work * n_centers)


def _group_by_label(labels, n_clusters):
    order = np.empty(labels.shape[0], dtype=np.int64)
    starts = np.empty(n_clusters + 1, dtype=np.int64)
    group_rows_by_label(labels, n_clusters, order, starts)
    return order, starts
