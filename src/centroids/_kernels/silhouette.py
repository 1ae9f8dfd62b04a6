"""Kernels of the cluster-quality metrics: exact silhouettes, per-cluster distance sums.

The silhouette kernels never hold an n × n matrix. The rows of X are first sorted by
cluster (the caller does it once), so every cluster is a contiguous range of
"column" rows; each chunk of "query" rows then walks the clusters one block of
columns at a time, computing the distances on the fly and adding them to per-row,
per-cluster sums. Only ``(chunk rows × block width)`` partial sums and ``(chunk rows ×
k)`` cluster sums exist at a time, so memory is O(n + chunk · (k + block)).

Distances are computed in float64 whatever X's dtype: by direct differences for few
features, through a matrix product per block (as scikit-learn) for many. Each query row's sums are
added in a fixed order by one thread, so results are bit-identical on any number of
threads.

Metric codes (``metric`` arguments): ``EUCLIDEAN``, ``SQEUCLIDEAN``, ``MANHATTAN``,
``COSINE`` (``1 - x·y`` of rows the caller has scaled to unit length, clipped to
[0, 2], as scikit-learn's ``cosine_distances``).
"""

import numpy as np
from numba import njit, prange

from ..settings import (
    CHUNK_ROWS,
    JIT_OPTIONS,
    SILHOUETTE_COLUMN_BLOCK,
    SILHOUETTE_QUERY_ROWS,
    SPARSE_QUERY_SCRATCH,
)
from ._compile import chunked_kernel

EUCLIDEAN = 0
SQEUCLIDEAN = 1
MANHATTAN = 2
COSINE = 3


@njit(**JIT_OPTIONS)
def n_query_chunks(n_queries, rows_per_chunk):
    """Number of chunks of ``rows_per_chunk`` query rows needed to cover ``n_queries``."""
    return (n_queries + rows_per_chunk - 1) // rows_per_chunk


@njit(**JIT_OPTIONS)
def silhouette_of_row(cluster_sums, r, own, cluster_sizes):
    """Silhouette of one row from its sums of distances to every cluster.

    ``a = sums[own] / (size[own] - 1)``, ``b = min_{c != own} sums[c] / size[c]``,
    ``s = (b - a) / max(a, b)``; 0 for a row alone in its cluster, and 0 where
    ``a = b = 0``.
    """
    size_own = cluster_sizes[own]
    if size_own <= 1:
        return 0.0
    a = cluster_sums[r, own] / (size_own - 1)
    b = np.inf
    for c in range(cluster_sizes.shape[0]):
        if c != own and cluster_sizes[c] > 0:
            mean = cluster_sums[r, c] / cluster_sizes[c]
            if mean < b:
                b = mean
    largest = max(a, b)
    if largest == 0.0 or not np.isfinite(largest):
        return 0.0
    return (b - a) / largest


#: Query rows whose distances to a block of columns are computed together: each column
#: value loaded from memory serves this many rows.
_ROWS_TOGETHER = 4


@njit(**JIT_OPTIONS)
def _block_distances(queries, first, last, columns_T, start, width, metric, dist):
    """dist[u, t] = distance between query row ``min(first + u, last)`` and column
    ``start + t``, for u < 4 and t < width (rows past ``last`` repeat it)."""
    d = queries.shape[1]
    i0 = first
    i1 = min(first + 1, last)
    i2 = min(first + 2, last)
    i3 = min(first + 3, last)
    d0 = dist[0, :width]
    d1 = dist[1, :width]
    d2 = dist[2, :width]
    d3 = dist[3, :width]
    d0[:] = 0.0
    d1[:] = 0.0
    d2[:] = 0.0
    d3[:] = 0.0
    for f in range(d):
        x0 = np.float64(queries[i0, f])
        x1 = np.float64(queries[i1, f])
        x2 = np.float64(queries[i2, f])
        x3 = np.float64(queries[i3, f])
        column = columns_T[f, start : start + width]
        if metric == MANHATTAN:
            for t in range(width):
                y = np.float64(column[t])
                d0[t] += abs(x0 - y)
                d1[t] += abs(x1 - y)
                d2[t] += abs(x2 - y)
                d3[t] += abs(x3 - y)
        elif metric == COSINE:
            for t in range(width):
                y = np.float64(column[t])
                d0[t] += x0 * y
                d1[t] += x1 * y
                d2[t] += x2 * y
                d3[t] += x3 * y
        else:
            for t in range(width):
                y = np.float64(column[t])
                e0 = x0 - y
                e1 = x1 - y
                e2 = x2 - y
                e3 = x3 - y
                d0[t] += e0 * e0
                d1[t] += e1 * e1
                d2[t] += e2 * e2
                d3[t] += e3 * e3
    if metric == COSINE:
        for u in range(_ROWS_TOGETHER):
            row = dist[u, :width]
            for t in range(width):
                row[t] = min(max(1.0 - row[t], 0.0), 2.0)
    elif metric == EUCLIDEAN:
        for u in range(_ROWS_TOGETHER):
            row = dist[u, :width]
            for t in range(width):
                row[t] = np.sqrt(row[t])


@chunked_kernel
def silhouette_dense(
    queries, query_codes, query_positions, columns_T, cluster_offsets, metric, out
):
    """Exact silhouette of every query row against every column row (dense X).

    queries : (m, d) IN, the rows whose silhouette is wanted; query_codes : (m,) int
    IN, their clusters; query_positions : (m,) int64 IN, the column each query row is
    (its own distance counts as 0), or -1; columns_T : (d, n) IN, C-ordered, the rows
    of X sorted by cluster, transposed; cluster_offsets : (k + 1,) int64 IN, cluster c
    is columns ``cluster_offsets[c]:cluster_offsets[c + 1]``; metric : int IN, a metric
    code; out : (m,) float64 OUT, the silhouettes.
    """
    m = queries.shape[0]
    k = cluster_offsets.shape[0] - 1
    rows_per_chunk = SILHOUETTE_QUERY_ROWS
    block = SILHOUETTE_COLUMN_BLOCK
    cluster_sizes = np.diff(cluster_offsets)
    for chunk in prange(n_query_chunks(m, rows_per_chunk)):
        r0 = chunk * rows_per_chunk
        rows = min(r0 + rows_per_chunk, m) - r0
        sums = np.empty((rows, k))
        lanes = np.empty((rows, block))
        dist = np.empty((_ROWS_TOGETHER, block))
        for c in range(k):
            lanes[:] = 0.0
            for start in range(cluster_offsets[c], cluster_offsets[c + 1], block):
                width = min(block, cluster_offsets[c + 1] - start)
                for g in range(0, rows, _ROWS_TOGETHER):
                    _block_distances(
                        queries, r0 + g, r0 + rows - 1, columns_T, start, width, metric, dist
                    )
                    for u in range(min(_ROWS_TOGETHER, rows - g)):
                        r = g + u
                        own = query_positions[r0 + r] - start
                        if 0 <= own < width:
                            dist[u, own] = 0.0
                        lane = lanes[r, :width]
                        row = dist[u, :width]
                        for t in range(width):
                            lane[t] += row[t]
            for r in range(rows):
                total = 0.0
                for t in range(block):
                    total += lanes[r, t]
                sums[r, c] = total
        for r in range(rows):
            out[r0 + r] = silhouette_of_row(sums, r, query_codes[r0 + r], cluster_sizes)


@chunked_kernel
def silhouette_dense_gemm(
    queries,
    q_sq_norms,
    query_codes,
    query_positions,
    columns,
    c_sq_norms,
    cluster_offsets,
    metric,
    out,
):
    """As :func:`silhouette_dense` through one matrix product per block (many features).

    Per chunk of query rows and block of columns, ``G = Q @ C[block].T`` (BLAS), then
    ``||q||² + ||c||² - 2 G`` clipped at 0 (Euclidean, its root; squared Euclidean) or
    ``1 - G`` clipped to [0, 2] (cosine, unit rows), as scikit-learn computes them.

    queries : (m, d) float64 IN; q_sq_norms : (m,) float64 IN; columns : (n, d) float64
    IN, C-ordered, the rows sorted by cluster; c_sq_norms : (n,) float64 IN; the other
    arguments as :func:`silhouette_dense`. Metric: EUCLIDEAN, SQEUCLIDEAN or COSINE.
    """
    m = queries.shape[0]
    k = cluster_offsets.shape[0] - 1
    rows_per_chunk = SILHOUETTE_QUERY_ROWS
    block = SILHOUETTE_COLUMN_BLOCK
    cluster_sizes = np.diff(cluster_offsets)
    for chunk in prange(n_query_chunks(m, rows_per_chunk)):
        r0 = chunk * rows_per_chunk
        rows = min(r0 + rows_per_chunk, m) - r0
        chunk_queries = queries[r0 : r0 + rows]
        sums = np.empty((rows, k))
        lanes = np.empty((rows, block))
        for c in range(k):
            lanes[:] = 0.0
            for start in range(cluster_offsets[c], cluster_offsets[c + 1], block):
                width = min(block, cluster_offsets[c + 1] - start)
                dist = np.dot(chunk_queries, columns[start : start + width].T)
                column_norms = c_sq_norms[start : start + width]
                for r in range(rows):
                    row = dist[r]
                    if metric == COSINE:
                        for t in range(width):
                            row[t] = min(max(1.0 - row[t], 0.0), 2.0)
                    else:
                        q_norm = q_sq_norms[r0 + r]
                        for t in range(width):
                            row[t] = max(q_norm + column_norms[t] - 2.0 * row[t], 0.0)
                        if metric == EUCLIDEAN:
                            for t in range(width):
                                row[t] = np.sqrt(row[t])
                    own = query_positions[r0 + r] - start
                    if 0 <= own < width:
                        row[own] = 0.0
                    lane = lanes[r, :width]
                    for t in range(width):
                        lane[t] += row[t]
            for r in range(rows):
                total = 0.0
                for t in range(block):
                    total += lanes[r, t]
                sums[r, c] = total
        for r in range(rows):
            out[r0 + r] = silhouette_of_row(sums, r, query_codes[r0 + r], cluster_sizes)


@njit(**JIT_OPTIONS)
def sparse_query_rows(n_features):
    """Query rows per chunk of the sparse silhouette: the dense copy fits its scratch."""
    return max(1, min(SILHOUETTE_QUERY_ROWS, SPARSE_QUERY_SCRATCH // max(1, n_features)))


@chunked_kernel
def silhouette_sparse(
    q_data,
    q_indices,
    q_indptr,
    q_norms,
    query_codes,
    query_positions,
    data,
    indices,
    indptr,
    norms,
    n_features,
    cluster_offsets,
    metric,
    out,
):
    """Exact silhouette of every sparse query row against every sparse column row.

    The query rows of a chunk are copied into a dense (d, rows) float64 block; each
    column row (CSR, sorted by cluster) then adds ``x_f · Q[f, :]`` over its non-zeros.
    Euclidean: ``||q||² + ||x||² - 2 q·x`` (clipped at 0); cosine (unit rows):
    ``1 - q·x``; Manhattan: ``||q||₁ + Σ_{f ∈ nz(x)} (|q_f - x_f| - |q_f|)``.

    q_* : the query rows (CSR arrays); q_norms : (m,) float64 IN, ``||q||²`` (euclidean,
    sqeuclidean) or ``||q||₁`` (manhattan); data, indices, indptr : the column rows
    sorted by cluster (CSR arrays); norms : (n,) float64 IN, as q_norms for the
    columns; query_codes, query_positions, cluster_offsets, metric, out : as
    :func:`silhouette_dense`.
    """
    m = q_indptr.shape[0] - 1
    k = cluster_offsets.shape[0] - 1
    rows_per_chunk = sparse_query_rows(n_features)
    cluster_sizes = np.diff(cluster_offsets)
    for chunk in prange(n_query_chunks(m, rows_per_chunk)):
        r0 = chunk * rows_per_chunk
        rows = min(r0 + rows_per_chunk, m) - r0
        dense_T = np.zeros((n_features, rows))
        for r in range(rows):
            for p in range(q_indptr[r0 + r], q_indptr[r0 + r + 1]):
                dense_T[q_indices[p], r] = q_data[p]
        sums_T = np.zeros((k, rows))
        acc = np.empty(rows)
        for c in range(k):
            for j in range(cluster_offsets[c], cluster_offsets[c + 1]):
                for r in range(rows):
                    acc[r] = 0.0
                if metric == MANHATTAN:
                    for p in range(indptr[j], indptr[j + 1]):
                        f = indices[p]
                        x = np.float64(data[p])
                        for r in range(rows):
                            q = dense_T[f, r]
                            acc[r] += abs(q - x) - abs(q)
                    for r in range(rows):
                        acc[r] = max(q_norms[r0 + r] + acc[r], 0.0)
                else:
                    for p in range(indptr[j], indptr[j + 1]):
                        f = indices[p]
                        x = np.float64(data[p])
                        for r in range(rows):
                            acc[r] += x * dense_T[f, r]
                    if metric == COSINE:
                        for r in range(rows):
                            acc[r] = min(max(1.0 - acc[r], 0.0), 2.0)
                    else:
                        for r in range(rows):
                            acc[r] = max(q_norms[r0 + r] + norms[j] - 2.0 * acc[r], 0.0)
                        if metric == EUCLIDEAN:
                            for r in range(rows):
                                acc[r] = np.sqrt(acc[r])
                for r in range(rows):
                    if query_positions[r0 + r] == j:
                        acc[r] = 0.0
                    sums_T[c, r] += acc[r]
        sums = np.ascontiguousarray(sums_T.T)
        for r in range(rows):
            out[r0 + r] = silhouette_of_row(sums, r, query_codes[r0 + r], cluster_sizes)


@chunked_kernel
def silhouette_from_distances(distances, codes, query_codes, cluster_sizes, out):
    """Silhouettes of query rows from their rows of a distance matrix.

    distances : (m, n) IN, distances from each query row to every row; codes : (n,)
    int IN, the cluster of every row; query_codes : (m,) int IN; cluster_sizes : (k,)
    int64 IN; out : (m,) float64 OUT. Row sums are added in column order.
    """
    m, n = distances.shape
    k = cluster_sizes.shape[0]
    rows_per_chunk = SILHOUETTE_QUERY_ROWS
    for chunk in prange(n_query_chunks(m, rows_per_chunk)):
        r0 = chunk * rows_per_chunk
        rows = min(r0 + rows_per_chunk, m) - r0
        sums = np.zeros((rows, k))
        for r in range(rows):
            for j in range(n):
                sums[r, codes[j]] += distances[r0 + r, j]
            out[r0 + r] = silhouette_of_row(sums, r, query_codes[r0 + r], cluster_sizes)


@chunked_kernel
def silhouette_from_sparse_distances(data, indices, indptr, codes, query_codes, cluster_sizes, out):
    """As :func:`silhouette_from_distances` for a CSR distance matrix (absent = 0)."""
    m = indptr.shape[0] - 1
    k = cluster_sizes.shape[0]
    rows_per_chunk = SILHOUETTE_QUERY_ROWS
    for chunk in prange(n_query_chunks(m, rows_per_chunk)):
        r0 = chunk * rows_per_chunk
        rows = min(r0 + rows_per_chunk, m) - r0
        sums = np.zeros((rows, k))
        for r in range(rows):
            for p in range(indptr[r0 + r], indptr[r0 + r + 1]):
                sums[r, codes[indices[p]]] += data[p]
            out[r0 + r] = silhouette_of_row(sums, r, query_codes[r0 + r], cluster_sizes)


@njit(**JIT_OPTIONS)
def _nearest_other(distances, own):
    best = np.inf
    for c in range(distances.shape[0]):
        if c != own and distances[c] < best:
            best = distances[c]
    return best


@chunked_kernel
def simplified_silhouette_dense(X, codes, centers, singleton, out):
    """Centroid silhouette of every row: own-center distance against the nearest other.

    ``a = ||x - centers[own]||``, ``b = min_{c != own} ||x - centers[c]||``,
    ``s = (b - a) / max(a, b)`` (0 where both are 0, and for rows flagged alone in
    their cluster). X : (n, d) IN; codes : (n,) int IN; centers : (k, d) float64 IN;
    singleton : (k,) bool IN; out : (n,) float64 OUT.
    """
    n, d = X.shape
    k = centers.shape[0]
    rows_per_chunk = CHUNK_ROWS
    for chunk in prange(n_query_chunks(n, rows_per_chunk)):
        dist = np.empty(k)
        for i in range(chunk * rows_per_chunk, min((chunk + 1) * rows_per_chunk, n)):
            for c in range(k):
                total = 0.0
                for f in range(d):
                    diff = np.float64(X[i, f]) - centers[c, f]
                    total += diff * diff
                dist[c] = np.sqrt(total)
            out[i] = _simplified_value(dist, codes[i], singleton)


@njit(**JIT_OPTIONS)
def _simplified_value(dist, own, singleton):
    if singleton[own]:
        return 0.0
    a = dist[own]
    b = _nearest_other(dist, own)
    largest = max(a, b)
    if largest == 0.0 or not np.isfinite(largest):
        return 0.0
    return (b - a) / largest


@chunked_kernel
def simplified_silhouette_sparse(
    data, indices, indptr, x_sq_norms, codes, centers, c_sq_norms, singleton, out
):
    """As :func:`simplified_silhouette_dense` for CSR rows (``||x||² - 2 x·c + ||c||²``)."""
    n = indptr.shape[0] - 1
    k = centers.shape[0]
    rows_per_chunk = CHUNK_ROWS
    for chunk in prange(n_query_chunks(n, rows_per_chunk)):
        dist = np.empty(k)
        for i in range(chunk * rows_per_chunk, min((chunk + 1) * rows_per_chunk, n)):
            for c in range(k):
                dot = 0.0
                for p in range(indptr[i], indptr[i + 1]):
                    dot += np.float64(data[p]) * centers[c, indices[p]]
                dist[c] = np.sqrt(max(x_sq_norms[i] - 2.0 * dot + c_sq_norms[c], 0.0))
            out[i] = _simplified_value(dist, codes[i], singleton)


@chunked_kernel
def cluster_distance_sums_dense(X, codes, sample_weight, centers, block_sums):
    """Per row block and cluster: Σ w ||x - c||² and Σ w ||x - c|| over the block's rows.

    X : (n, d) IN; codes : (n,) int IN; sample_weight : (n,) float64 IN; centers :
    (k, d) float64 IN; block_sums : (n_blocks, 2, k) float64 OUT, per block of
    ``ceil(n / n_blocks)`` consecutive rows: [0] the weighted squared distances, [1]
    the weighted distances. The caller adds the blocks in block order.
    """
    n, d = X.shape
    n_blocks = block_sums.shape[0]
    rows_per_block = (n + n_blocks - 1) // n_blocks
    for b in prange(n_blocks):
        block_sums[b] = 0.0
        for i in range(b * rows_per_block, min((b + 1) * rows_per_block, n)):
            c = codes[i]
            total = 0.0
            for f in range(d):
                diff = np.float64(X[i, f]) - centers[c, f]
                total += diff * diff
            block_sums[b, 0, c] += sample_weight[i] * total
            block_sums[b, 1, c] += sample_weight[i] * np.sqrt(total)


@chunked_kernel
def cluster_distance_sums_sparse(
    data, indices, indptr, x_sq_norms, codes, sample_weight, centers, c_sq_norms, block_sums
):
    """As :func:`cluster_distance_sums_dense` for CSR rows (``||x||² - 2 x·c + ||c||²``)."""
    n = indptr.shape[0] - 1
    n_blocks = block_sums.shape[0]
    rows_per_block = (n + n_blocks - 1) // n_blocks
    for b in prange(n_blocks):
        block_sums[b] = 0.0
        for i in range(b * rows_per_block, min((b + 1) * rows_per_block, n)):
            c = codes[i]
            dot = 0.0
            for p in range(indptr[i], indptr[i + 1]):
                dot += np.float64(data[p]) * centers[c, indices[p]]
            total = max(x_sq_norms[i] - 2.0 * dot + c_sq_norms[c], 0.0)
            block_sums[b, 0, c] += sample_weight[i] * total
            block_sums[b, 1, c] += sample_weight[i] * np.sqrt(total)
