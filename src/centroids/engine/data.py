"""The engine's view of X: one interface over the dense and the sparse kernels.

:class:`DenseData` (a C-ordered float32/float64 array) and :class:`CSRData` (a CSR
matrix, never densified) give seeding and iterations the same methods; each method
picks the parallel or serial form of its kernel by the work it will do.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from .._kernels import dense as dense_kernels
from .._kernels import seeding as seeding_kernels
from .._kernels import sparse as sparse_kernels
from ..settings import (
    CLUSTER_SUMS_PARALLEL_MIN_WORK,
    CSR_CLUSTER_SUMS_PARALLEL_MIN_NONZEROS,
    DIRECT_PRUNE_MIN_CLUSTERS,
    GEMM_MIN_FEATURES,
    SEEDING_Z_ORDER_MAX_FEATURES,
    SEEDING_Z_ORDER_MIN_SPREAD,
)


class DenseData:
    """A C-ordered float32/float64 array, seen through the dense kernels."""

    def __init__(self, X):
        self.X = X
        self.n_rows, self.n_features = X.shape
        self.dtype = X.dtype
        self.row_work = X.size
        self._x_sq_norms = None
        self._chunk_boxes = None
        self._in_spatial_order = None

    def chunk_boxes(self):
        """(lo, hi), each (n_chunks, d) float64: the bounding box of every chunk of
        ``CHUNK_ROWS`` rows (``dense_chunk_boxes``); made on first use and kept."""
        if self._chunk_boxes is None:
            n_chunks = seeding_kernels.seeding_chunks(self.n_rows)
            lo = np.empty((n_chunks, self.n_features))
            hi = np.empty((n_chunks, self.n_features))
            seeding_kernels.dense_chunk_boxes.for_work(self.row_work)(self.X, lo, hi)
            self._chunk_boxes = (lo, hi)
        return self._chunk_boxes

    def chunk_spread(self):
        """The share of the data's bounding box a chunk's box covers, on average (the
        product, over the features the data spans, of the chunk's extent over the
        data's): about 1 for rows in random order, small for rows in spatial order
        (sorted, gridded, Z-ordered); 0 when the data spans nothing."""
        lo, hi = self.chunk_boxes()
        extent = hi.max(axis=0) - lo.min(axis=0)
        spanned = extent > 0
        if not np.any(spanned):
            return 0.0
        return float(np.prod((hi - lo)[:, spanned] / extent[spanned], axis=1).mean())

    def direct_pruning(self, n_clusters):
        """Whether the direct assignment leaves out, chunk by chunk, the centers the
        chunk's box proves farther (``direct_assign_rows``): from
        ``DIRECT_PRUNE_MIN_CLUSTERS`` clusters on, with at most
        ``SEEDING_Z_ORDER_MAX_FEATURES`` features, for rows in spatial order (chunk
        spread at most ``SEEDING_Z_ORDER_MIN_SPREAD``: the seeding's rule, whose box
        volumes tell random rows from ordered ones only in so few dimensions); decided
        once per data."""
        if (
            n_clusters < DIRECT_PRUNE_MIN_CLUSTERS
            or self.n_features > SEEDING_Z_ORDER_MAX_FEATURES
            or self.n_rows == 0
        ):
            return False
        if self._in_spatial_order is None:
            self._in_spatial_order = self.chunk_spread() <= SEEDING_Z_ORDER_MIN_SPREAD
        return self._in_spatial_order

    def assign_labels(self, sample_weight, centers):
        """Labels, squared distance to the assigned center, and inertia.

        Arithmetic is in X's dtype: direct differences for few features, a matrix
        product per chunk of rows (``-2 x·c``) from ``GEMM_MIN_FEATURES`` on, whose
        rows with two centers nearest within its rounding get their exact distances
        (see ``assign_labels_gemm``).
        """
        gemm, inputs = self._assignment_inputs(sample_weight, centers)
        kernel = dense_kernels.assign_labels_gemm if gemm else dense_kernels.assign_labels_direct
        labels, min_sq_dist, chunk_inertia = _assignment_buffers(self)
        _sized(kernel, self, centers.shape[0])(*inputs, labels, min_sq_dist, chunk_inertia)
        return labels, min_sq_dist, float(chunk_inertia.sum())

    def assign_and_sum(self, sample_weight, centers):
        """:meth:`assign_labels` and :meth:`cluster_sums` of its labels in one pass over
        X: (labels, min_sq_dist, inertia, sums, weights), bit-identical to the two."""
        n_clusters = centers.shape[0]
        gemm, inputs = self._assignment_inputs(sample_weight, centers)
        fused = dense_kernels.assign_and_sum_gemm if gemm else dense_kernels.assign_and_sum_direct
        kernel = _fused_form(fused, self, n_clusters)
        if kernel is None:
            return _two_passes(self, sample_weight, centers)
        labels, min_sq_dist, chunk_inertia = _assignment_buffers(self)
        sums, weights, scratch = _cluster_sum_buffers(self, n_clusters)
        kernel(*inputs, labels, min_sq_dist, chunk_inertia, *scratch, sums, weights)
        return labels, min_sq_dist, float(chunk_inertia.sum()), sums, weights

    def _assignment_inputs(self, sample_weight, centers):
        """(whether the assignment goes through a matrix product, the arguments its
        kernels take before their outputs)."""
        centers = np.ascontiguousarray(centers, dtype=self.dtype)
        if uses_gemm(self.n_features, centers.shape[0]):
            return True, (self.X, self.x_sq_norms, sample_weight, gemm_centers(centers))
        prune = self.direct_pruning(centers.shape[0])
        return False, (self.X, sample_weight, np.ascontiguousarray(centers.T), prune)

    @property
    def x_sq_norms(self):
        """||X[i]||² of every row, float64; computed on first use and kept."""
        if self._x_sq_norms is None:
            self._x_sq_norms = _sized(dense_kernels.row_sq_norms, self, 1)(self.X)
        return self._x_sq_norms

    def labelled_inertia(self, sample_weight, centers, labels):
        chunk_inertia = np.empty(dense_kernels.n_chunks(self.n_rows))
        _sized(dense_kernels.labelled_inertia, self, 1)(
            self.X, sample_weight, centers, labels, chunk_inertia
        )
        return float(chunk_inertia.sum())

    def cluster_sums(self, sample_weight, labels, n_clusters):
        """float64 weighted sums of the rows of each cluster, and cluster weights."""
        sums, weights, scratch = _cluster_sum_buffers(self, n_clusters)
        _sized_sums(dense_kernels.weighted_cluster_sums, self)(
            self.X, sample_weight, labels, *scratch, sums, weights
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
        """Labels, squared distance to the assigned center, and inertia (X's dtype)."""
        centers = np.ascontiguousarray(centers, dtype=self.dtype)
        labels, min_sq_dist, chunk_inertia = _assignment_buffers(self)
        neg2_centers_T, c_sq_norms = _scaled_transposed_centers(centers)
        _sized(sparse_kernels.assign_labels, self, centers.shape[0])(
            *self._arrays,
            self.x_sq_norms,
            sample_weight,
            neg2_centers_T,
            c_sq_norms,
            labels,
            min_sq_dist,
            chunk_inertia,
        )
        return labels, min_sq_dist, float(chunk_inertia.sum())

    def assign_and_sum(self, sample_weight, centers):
        """:meth:`assign_labels`, then :meth:`cluster_sums` of its labels:
        (labels, min_sq_dist, inertia, sums, weights).

        Two passes, not a fused kernel as for dense X: sparse assignment is bound by
        gathering k-vectors of the centers, not by reading X, and with the per-block
        sums competing for the cache a fused CSR pass (written and measured, then
        removed) was no faster on one thread and slower on two (50,000 × 20,000 CSR,
        100 non-zeros a row, k = 20: 39.5 ms against 29.1 ms; 2026-11-23).
        """
        return _two_passes(self, sample_weight, np.ascontiguousarray(centers, dtype=self.dtype))

    def labelled_inertia(self, sample_weight, centers, labels):
        chunk_inertia = np.empty(dense_kernels.n_chunks(self.n_rows))
        _sized(sparse_kernels.labelled_inertia, self, 1)(
            *self._arrays, self.x_sq_norms, sample_weight, centers, labels, chunk_inertia
        )
        return float(chunk_inertia.sum())

    def cluster_sums(self, sample_weight, labels, n_clusters):
        """float64 weighted sums of the rows of each cluster, and cluster weights."""
        sums, weights, scratch = _cluster_sum_buffers(self, n_clusters)
        _sized_sums(
            sparse_kernels.weighted_cluster_sums, self, CSR_CLUSTER_SUMS_PARALLEL_MIN_NONZEROS
        )(*self._arrays, sample_weight, labels, *scratch, sums, weights)
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


def _sized_sums(kernel, data, parallel_from=CLUSTER_SUMS_PARALLEL_MIN_WORK):
    """The serial form of a cluster-sums kernel, or the parallel one for large X (from
    ``parallel_from`` values of work on)."""
    if data.row_work < parallel_from:
        return kernel.serial
    return kernel.for_work(data.row_work)


def _fused_form(kernel, data, n_centers):
    """The form of a fused assignment-and-sums kernel to run, or None for two passes.

    By the assignment's work, which dominates, as :func:`_sized`. The fused kernel
    splits its rows over the cluster-sum blocks only (:func:`cluster_sum_blocks`);
    where the parallel form would have fewer blocks than numba has threads, the two
    separate passes (the assignment over every chunk) use the threads better.
    """
    form = _sized(kernel, data, n_centers)
    if form is kernel.parallel:
        n_blocks = dense_kernels.cluster_sum_blocks(data.n_rows, n_centers, data.n_features)
        if n_blocks < numba.get_num_threads():
            return None
    return form


def _two_passes(data, sample_weight, centers):
    """(labels, min_sq_dist, inertia, sums, weights) by the separate passes."""
    labels, min_sq_dist, inertia = data.assign_labels(sample_weight, centers)
    sums, weights = data.cluster_sums(sample_weight, labels, centers.shape[0])
    return labels, min_sq_dist, inertia, sums, weights


def _assignment_buffers(data):
    """(labels, min_sq_dist, chunk_inertia) outputs of an assignment kernel."""
    return (
        np.empty(data.n_rows, dtype=np.int32),
        np.empty(data.n_rows),
        np.empty(dense_kernels.n_chunks(data.n_rows)),
    )


def uses_gemm(n_features, n_clusters):
    """Whether dense assignment goes through a matrix product (else direct differences)."""
    return n_features >= GEMM_MIN_FEATURES


def gemm_centers(centers):
    """What the matrix-product assignment (``assign_labels_gemm``) takes of the centers
    (X's dtype): (centers, -2 centers.T C-ordered, their float64 ||c||², and the
    product's error bound (scale, floor, max ||c||²), by which rows whose nearest
    centers the product cannot tell apart get their exact distances)."""
    neg2_centers_T, _ = _scaled_transposed_centers(centers)
    centers64 = centers.astype(np.float64)
    c_sq_norms = np.einsum("ij,ij->i", centers64, centers64)
    scale, floor = product_error_bound(centers.dtype, centers.shape[1])
    c_sq_max = float(c_sq_norms.max()) if c_sq_norms.size else 0.0
    return centers, neg2_centers_T, c_sq_norms, (float(scale), float(floor), c_sq_max)


def _scaled_transposed_centers(centers):
    """(-2 centers.T C-ordered, ||c||² of every center), both of the centers' dtype."""
    neg2_centers_T = np.ascontiguousarray(centers.T * centers.dtype.type(-2))
    c_sq_norms = np.einsum("ij,ij->i", centers, centers)
    return neg2_centers_T, c_sq_norms


def _cluster_sum_buffers(data, n_clusters):
    """(sums, weights) outputs and the per-block scratch of ``weighted_cluster_sums``."""
    n_blocks = dense_kernels.cluster_sum_blocks(data.n_rows, n_clusters, data.n_features)
    sums = np.empty((n_clusters, data.n_features))
    weights = np.empty(n_clusters)
    scratch = (np.empty((n_blocks, n_clusters, data.n_features)), np.empty((n_blocks, n_clusters)))
    return sums, weights, scratch


def product_error_bound(dtype, n_features):
    """(scale, floor): a product distance of X's dtype is within scale·S + floor of the
    direct float64 one, S = ||x||² + ||y||².

    A d-term dot product in precision u errs by at most γ_d Σ|x_j y_j| ≤ γ_d S / 2,
    γ_d = d u / (1 - d u), whatever the order of the sums (Higham, Accuracy and
    Stability of Numerical Algorithms, §3.1); the distance takes twice the dot product.
    Added: the float64 norms and the evaluation of ||x||² - 2 x·y + ||y||² (a few
    units of 2^-53 each, on up to 2S), the rounding of the direct float64 distance
    (γ_{d+1} on at most 2S), and an absolute floor for underflowing products.
    """
    info = np.finfo(dtype)
    unit = float(info.eps) / 2
    terms = n_features * unit
    if terms >= 0.5:
        return np.inf, np.inf
    scale = terms / (1.0 - terms) + (3 * n_features + 16) * 2.0**-53
    floor = 4.0 * (n_features + 1) * float(info.smallest_subnormal)
    return scale * (1.0 + 2.0**-20), floor


def uniform_row_sample(data, sample_weight, n_rows, random_state):
    """``n_rows`` rows of dense engine ``data`` drawn uniformly without replacement from
    ``random_state`` (kept in their order), as engine data, with their weights."""
    picked = np.sort(random_state.choice(data.n_rows, size=int(n_rows), replace=False))
    sample = engine_data(np.ascontiguousarray(data.X[picked]))
    return sample, np.ascontiguousarray(sample_weight[picked])
