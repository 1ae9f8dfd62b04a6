"""Cluster-quality metrics: silhouette (exact, estimated, simplified), Davies-Bouldin,
Calinski-Harabasz and inertia.

``silhouette_score``, ``silhouette_samples``, ``davies_bouldin_score`` and
``calinski_harabasz_score`` take scikit-learn's arguments and give its values (to
about 1e-9 on float64 data), computed by centroids' own kernels: numba, both cores,
no n × n distance matrix (the silhouette keeps one sorted copy of X and sums distances
per cluster on the fly), sparse CSR input never densified, the same result on any
number of threads.

Beyond scikit-learn: :func:`silhouette_estimate` gives the silhouette of a random
sample of rows measured against every row, with a confidence interval;
:func:`simplified_silhouette_score` compares rows with centers instead of with every
other row (O(n · k), for very large n); :func:`inertia` is the k-means objective.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from .._kernels import silhouette as kernels
from .._kernels.sparse import row_sq_norms as sparse_row_sq_norms
from .._utils.validation import check_features, check_sample_weight
from ..engine import blas_limited_to_one_thread
from ..engine.data import engine_data
from ..settings import SILHOUETTE_GEMM_MIN_FEATURES

__all__ = [
    "SilhouetteEstimate",
    "calinski_harabasz_score",
    "davies_bouldin_score",
    "inertia",
    "silhouette_estimate",
    "silhouette_samples",
    "silhouette_score",
    "simplified_silhouette_samples",
    "simplified_silhouette_score",
]

#: Metric names computed by centroids' own kernels, and the kernel code of each.
_KERNEL_METRICS = {
    "euclidean": kernels.EUCLIDEAN,
    "l2": kernels.EUCLIDEAN,
    "sqeuclidean": kernels.SQEUCLIDEAN,
    "manhattan": kernels.MANHATTAN,
    "cityblock": kernels.MANHATTAN,
    "l1": kernels.MANHATTAN,
    "cosine": kernels.COSINE,
}

#: Row blocks of the per-cluster distance sums (Davies-Bouldin, Calinski-Harabasz,
#: inertia): fixed, never tied to the thread count, so results do not depend on it.
_DISTANCE_SUM_BLOCKS = 64


# --------------------------------------------------------------------------- checks


def _check_X(X, where):
    """X as a C-ordered float32/float64 array or a canonical CSR matrix, finite."""
    if sp.issparse(X) and X.format != "csr":
        X = X.tocsr()
    return check_features(None, X, reset=False, where=where, name=where)


def _encode_labels(labels, n_samples, where):
    """(codes 0..k-1 as int64, the distinct labels) of one label per row of X."""
    array = np.asarray(labels)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"labels passed to {where} must be 1-D, one cluster label per row of X; got "
            f"shape {array.shape}."
        )
    if array.shape[0] != n_samples:
        raise ValueError(
            f"X has {n_samples} rows but labels has {array.shape[0]} values ({where}): give "
            "exactly one cluster label per row of X, in the same order."
        )
    if array.dtype.kind in "fc":
        missing = np.flatnonzero(np.isnan(array))
        if missing.size:
            raise ValueError(
                f"labels passed to {where} contains NaN at index {missing[0]} ({missing.size} "
                "in all): every row needs a cluster label. Drop the unlabelled rows from "
                "X and labels, or give them a label of their own."
            )
    try:
        classes, codes = np.unique(array, return_inverse=True)
    except TypeError as error:
        raise TypeError(
            f"labels passed to {where} mix values that cannot be compared with each other "
            f"({error}); use labels of one type, e.g. all integers or all strings."
        ) from error
    return codes.reshape(-1).astype(np.int64, copy=False), classes


def _check_number_of_labels(n_labels, n_samples, where):
    """The condition of scikit-learn's ``check_number_of_labels``, with what to do."""
    if not 1 < n_labels < n_samples:
        problem = (
            "every row has the same label" if n_labels <= 1 else "every row is a cluster of its own"
        )
        raise ValueError(
            f"Number of labels is {n_labels}. Valid values are 2 to n_samples - 1 = "
            f"{n_samples - 1} (inclusive): {problem}, so {where} cannot compare clusters. "
            "Pass the labels of a clustering into at least 2 clusters and fewer clusters "
            "than rows."
        )


def _check_precomputed(D, where):
    """A square matrix of distances with zeros on its diagonal, as scikit-learn asks."""
    if D.shape[0] != D.shape[1]:
        raise ValueError(
            f"With metric='precomputed', X passed to {where} must be a square matrix of "
            f"distances between the rows (n_samples, n_samples); got shape {D.shape}. Pass "
            "the data itself with a metric name, or sklearn.metrics.pairwise_distances(X)."
        )
    diagonal = D.diagonal()
    atol = np.finfo(D.dtype).eps * 100
    bad = np.flatnonzero(np.abs(diagonal) > atol)
    if bad.size:
        raise ValueError(
            "The precomputed distance matrix contains non-zero elements on the diagonal, "
            f"first at row {bad[0]} ({diagonal[bad[0]]!r}; {bad.size} in all): a row's "
            "distance to itself must be 0. Use np.fill_diagonal(X, 0)."
        )


def _check_sample_size(sample_size, n_samples, minimum, where):
    if (
        isinstance(sample_size, bool)
        or not isinstance(sample_size, numbers.Integral)
        or sample_size < minimum
    ):
        raise ValueError(
            f"sample_size passed to {where} must be an integer >= {minimum}, the number of "
            f"rows to draw; got {sample_size!r}."
        )
    return min(int(sample_size), n_samples)


def _metric_code(metric, kwds):
    """The kernel code of ``metric``, or None when scikit-learn must compute distances."""
    if isinstance(metric, str) and not kwds:
        return _KERNEL_METRICS.get(metric)
    return None


# ---------------------------------------------------------------- exact silhouette


def _exact_silhouettes(X, codes, n_clusters, query_rows, metric, kwds, where):
    """Silhouettes of rows ``query_rows`` (None: all) of validated X against all rows."""
    n = codes.shape[0]
    queries = np.arange(n) if query_rows is None else np.asarray(query_rows, dtype=np.int64)
    query_codes = np.ascontiguousarray(codes[queries])
    out = np.empty(queries.shape[0])
    cluster_sizes = np.bincount(codes, minlength=n_clusters).astype(np.int64)
    if metric == "precomputed":
        _check_precomputed(X, where)
        _silhouettes_from_distances(_rows(X, query_rows), codes, query_codes, cluster_sizes, out)
        return out
    code = _metric_code(metric, kwds)
    if code is None:
        return _silhouettes_through_sklearn(X, codes, queries, query_rows is None, metric, kwds)
    order = np.argsort(codes, kind="stable")
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    query_positions = np.ascontiguousarray(position[queries])
    offsets = np.concatenate(([0], np.cumsum(cluster_sizes))).astype(np.int64)
    if sp.issparse(X):
        return _sparse_silhouettes(
            X, code, queries, query_rows, query_codes, query_positions, order, offsets, out
        )
    if code == kernels.COSINE:
        X = _unit_rows(X)
    if code != kernels.MANHATTAN and X.shape[1] >= SILHOUETTE_GEMM_MIN_FEATURES:
        X = np.asarray(X, dtype=np.float64)
        columns = np.ascontiguousarray(X[order])
        sq_norms = np.einsum("ij,ij->i", X, X)
        kernel = kernels.silhouette_dense_gemm.for_work(queries.shape[0] * n * X.shape[1])
        with blas_limited_to_one_thread():
            kernel(
                _rows(X, query_rows),
                np.ascontiguousarray(sq_norms[queries]),
                query_codes,
                query_positions,
                columns,
                np.ascontiguousarray(sq_norms[order]),
                offsets,
                code,
                out,
            )
        return out
    columns_T = np.ascontiguousarray(X[order].T)
    query_matrix = _rows(X, query_rows)
    kernel = kernels.silhouette_dense.for_work(queries.shape[0] * n * X.shape[1])
    kernel(query_matrix, query_codes, query_positions, columns_T, offsets, code, out)
    return out


def _sparse_silhouettes(
    X, code, queries, query_rows, query_codes, query_positions, order, offsets, out
):
    """The exact silhouettes of CSR rows, by the sparse kernel over the rows sorted by
    cluster; written to ``out``, which is returned."""
    data, indices, indptr, norms = _sparse_rows_for(X, code)
    sorted_rows = sp.csr_matrix((data, indices, indptr), shape=X.shape)[order]
    query_matrix = _rows(sp.csr_matrix((data, indices, indptr), shape=X.shape), query_rows)
    kernel = kernels.silhouette_sparse.for_work(query_matrix.nnz * order.shape[0])
    kernel(
        query_matrix.data,
        query_matrix.indices,
        query_matrix.indptr,
        np.ascontiguousarray(norms[queries]),
        query_codes,
        query_positions,
        sorted_rows.data,
        sorted_rows.indices,
        sorted_rows.indptr,
        np.ascontiguousarray(norms[order]),
        X.shape[1],
        offsets,
        code,
        out,
    )
    return out


def _rows(X, rows):
    """The rows ``rows`` of X (all of X, not copied, for None), C-ordered or CSR."""
    if rows is None:
        return X
    return X[rows] if sp.issparse(X) else np.ascontiguousarray(X[rows])


def _csr_arrays(X):
    """(data, indices, indptr) of a CSR matrix, as the sparse kernels take them."""
    return X.data, X.indices, X.indptr


def _unit_rows(X):
    """Dense rows scaled to unit Euclidean length in float64 (zero rows stay zero)."""
    X = np.asarray(X, dtype=np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    norms[norms == 0.0] = 1.0
    return X / norms[:, None]


def _sparse_rows_for(X, code):
    """(data, indices, indptr, per-row norms) of CSR X as the sparse kernel wants them.

    Euclidean: float64 ``||x||²``; Manhattan: ``||x||₁``; cosine: rows scaled to unit
    length (norms unused).
    """
    n = X.shape[0]
    row_of_value = np.repeat(np.arange(n), np.diff(X.indptr))
    if code == kernels.MANHATTAN:
        norms = np.bincount(row_of_value, weights=np.abs(X.data), minlength=n)
        return X.data, X.indices, X.indptr, norms
    sq_norms = sparse_row_sq_norms.for_work(X.nnz)(X.data, X.indptr)
    if code == kernels.COSINE:
        lengths = np.sqrt(sq_norms)
        lengths[lengths == 0.0] = 1.0
        data = X.data.astype(np.float64) / lengths[row_of_value]
        return data, X.indices, X.indptr, np.zeros(n)
    return X.data, X.indices, X.indptr, sq_norms


def _silhouettes_from_distances(D, codes, query_codes, cluster_sizes, out):
    """Silhouettes from rows of a distance matrix (dense or CSR), into ``out``."""
    n = codes.shape[0]
    if sp.issparse(D):
        D = sp.csr_matrix(D)
        kernel = kernels.silhouette_from_sparse_distances.for_work(D.nnz)
        kernel(D.data, D.indices, D.indptr, codes, query_codes, cluster_sizes, out)
    else:
        D = np.ascontiguousarray(D)
        kernel = kernels.silhouette_from_distances.for_work(D.shape[0] * n)
        kernel(D, codes, query_codes, cluster_sizes, out)


def _silhouettes_through_sklearn(X, codes, queries, all_rows, metric, kwds):
    """Any other metric: scikit-learn computes distances by chunks, our kernel reduces."""
    from sklearn.metrics import pairwise_distances_chunked

    cluster_sizes = np.bincount(codes).astype(np.int64)
    query_codes = codes[queries]
    parts = []

    def reduce_chunk(D_chunk, start):
        part = np.empty(D_chunk.shape[0])
        chunk_codes = np.ascontiguousarray(query_codes[start : start + D_chunk.shape[0]])
        _silhouettes_from_distances(D_chunk, codes, chunk_codes, cluster_sizes, part)
        return part

    if all_rows:
        chunks = pairwise_distances_chunked(X, reduce_func=reduce_chunk, metric=metric, **kwds)
    else:
        chunks = pairwise_distances_chunked(
            X[queries], X, reduce_func=reduce_chunk, metric=metric, **kwds
        )
    parts.extend(chunks)
    return np.concatenate(parts) if parts else np.empty(0)


def _weighted_silhouettes(X, codes, n_clusters, weights, metric, kwds):
    """Silhouettes with frequency weights: row j counts as ``weights[j]`` copies of itself.

    For row i in cluster A, ``a = Σ_{j ∈ A} w_j d_ij / (W_A - 1)`` (its other copies and
    the other rows of A; the row itself is one copy at distance 0) and ``b = min_B
    Σ_{j ∈ B} w_j d_ij / W_B``; the coefficient is 0 where ``W_A ≤ 1`` (a row alone in
    its cluster). Distances come from scikit-learn, a chunk of rows at a time (memory
    O(chunk · n)); the per-cluster sums are one sparse product per chunk.
    """
    from sklearn.metrics import pairwise_distances_chunked

    n = codes.shape[0]
    totals = np.bincount(codes, weights=weights, minlength=n_clusters)
    indicator = sp.csr_matrix((weights, (np.arange(n), codes)), shape=(n, n_clusters))
    out = np.empty(n)

    def reduce_chunk(D_chunk, start):
        sums = np.asarray(indicator.T @ np.asarray(D_chunk).T).T  # (chunk, k)
        rows = np.arange(start, start + sums.shape[0])
        own = codes[rows]
        own_weight = totals[own] - 1.0
        with np.errstate(invalid="ignore", divide="ignore"):
            a = np.where(own_weight > 0, sums[np.arange(rows.size), own] / own_weight, 0.0)
            means = np.where(totals > 0, sums / totals, np.inf)
        means[np.arange(rows.size), own] = np.inf
        b = means.min(axis=1)
        largest = np.maximum(a, b)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(largest > 0, (b - a) / largest, 0.0)
        out[rows] = np.where(own_weight > 0, values, 0.0)
        return None

    if metric == "precomputed":
        _check_precomputed(X, "silhouette_samples")
        step = max(1, (1 << 22) // max(1, n))
        for start in range(0, n, step):
            block = X[start : start + step]
            reduce_chunk(block.toarray() if sp.issparse(block) else block, start)
        return out
    for _ in pairwise_distances_chunked(X, reduce_func=reduce_chunk, metric=metric, **kwds):
        pass
    return out


def silhouette_samples(X, labels, *, metric="euclidean", sample_weight=None, **kwds):
    """Silhouette coefficient of every row, exactly.

    For row i in cluster A, ``a`` is its mean distance to the other rows of A and
    ``b`` its mean distance to the rows of the nearest other cluster; the coefficient
    is ``(b - a) / max(a, b)``, in [-1, 1]. A row alone in its cluster gets 0. Same
    arguments and values as :func:`sklearn.metrics.silhouette_samples`, without the
    n × n distance matrix: the distances are computed on the fly and summed per
    cluster, so the extra memory is one copy of X sorted by cluster (float64 from 32
    features on) plus O(chunk · (k + block)) per thread. Dense distances are
    computed in float64 (float32 input too; scikit-learn rounds them to float32),
    by direct differences below 32 features and through a matrix product per block
    from 32 on; sparse ones from the non-zeros (``||x||² + ||y||² - 2 x·y``).

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
            (n_samples, n_samples)
        The rows (float32 or float64, dense or CSR; distances are computed in float64),
        or with ``metric='precomputed'`` the square matrix of distances between them.
    labels : array-like of shape (n_samples,)
        The cluster of every row: any values (integers, strings, ...), at least 2 and
        at most ``n_samples - 1`` distinct ones.
    metric : str or callable, default='euclidean'
        'euclidean', 'sqeuclidean', 'manhattan' and 'cosine' (and their aliases 'l2',
        'cityblock', 'l1') run in centroids' kernels; 'precomputed' reads X as
        distances; any other name or callable that
        :func:`sklearn.metrics.pairwise_distances` accepts is computed by scikit-learn
        chunk by chunk and summed by centroids' kernels.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weight of every row: a weight of 2 gives the silhouettes of the data
        with that row twice, a weight of 0 those of the data without it (see
        :func:`_weighted_silhouettes`). Weights are counts: a row's own cluster needs
        more than 1 in total for its coefficient to be non-zero. None weighs every
        row 1 (the unweighted kernels).
    **kwds : optional keyword parameters
        Passed on to the distance function of scikit-learn (then it computes the
        distances, also for the metrics above).

    Returns
    -------
    silhouettes : ndarray of shape (n_samples,)
        float64 silhouette coefficient of every row.

    Examples
    --------
    >>> from centroids.evaluate.metrics import silhouette_samples
    >>> X = [[0.0, 0.0], [0.0, 1.0], [4.0, 0.0], [4.0, 1.0], [4.0, 2.0]]
    >>> silhouette_samples(X, ["a", "a", "b", "b", "b"]).round(3)
    array([0.762, 0.755, 0.631, 0.754, 0.651])
    """
    return _silhouette_samples(X, labels, metric, kwds, "silhouette_samples", sample_weight)


def _silhouette_samples(X, labels, metric, kwds, where, sample_weight=None):
    X = _check_X(X, where)
    codes, classes = _encode_labels(labels, X.shape[0], where)
    _check_number_of_labels(classes.shape[0], X.shape[0], where)
    if sample_weight is not None:
        weights = check_sample_weight(sample_weight, X.shape[0], np.float64)
        return _weighted_silhouettes(X, codes, classes.shape[0], weights, metric, kwds)
    return _exact_silhouettes(X, codes, classes.shape[0], None, metric, kwds, where)


def silhouette_score(
    X,
    labels,
    *,
    metric="euclidean",
    sample_size=None,
    random_state=None,
    sample_weight=None,
    **kwds,
):
    """Mean silhouette coefficient of all rows, exactly, or of a subsample as scikit-learn.

    Same arguments and value as :func:`sklearn.metrics.silhouette_score`. With
    ``sample_size``, it follows scikit-learn's meaning exactly (the same rows for the
    same ``random_state``, and the same value): the silhouette of the subsample
    computed *within the subsample*, as if the other rows did not exist. That is a
    different, noisier quantity than the silhouette of the data; for an estimate of
    the full silhouette with a confidence interval use :func:`silhouette_estimate`.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
            (n_samples, n_samples)
        The rows, or the distances between them with ``metric='precomputed'``.
    labels : array-like of shape (n_samples,)
        The cluster of every row, any values; 2 to ``n_samples - 1`` distinct ones.
    metric : str or callable, default='euclidean'
        As :func:`silhouette_samples`.
    sample_size : int or None, default=None
        Compute the score on this many rows drawn at random without replacement
        (within the sample, as scikit-learn); None uses every row.
    random_state : int, RandomState instance or None, default=None
        Seed of the draw when ``sample_size`` is given.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weight of every row (see :func:`silhouette_samples`): the score is the
        weighted mean ``Σ w_i s_i / Σ w_i`` of the weighted silhouettes, that of the
        data with each row repeated ``w_i`` times. With ``sample_size`` the sampled rows
        keep their weights.
    **kwds : optional keyword parameters
        Passed on to scikit-learn's distance function, as :func:`silhouette_samples`.

    Returns
    -------
    score : float
        Mean silhouette coefficient, in [-1, 1]; higher is better.

    Examples
    --------
    >>> from centroids.evaluate.metrics import silhouette_score
    >>> X = [[0.0, 0.0], [0.0, 1.0], [4.0, 0.0], [4.0, 1.0], [4.0, 2.0]]
    >>> round(silhouette_score(X, [0, 0, 1, 1, 1]), 4)
    0.7105
    """
    where = "silhouette_score"
    if sample_weight is not None:
        n_rows = _check_X(X, where).shape[0]
        weights = check_sample_weight(sample_weight, n_rows, np.float64)
        if sample_size is not None:
            sample_size = _check_sample_size(sample_size, n_rows, 1, where)
            rows = check_random_state(random_state).permutation(n_rows)[:sample_size]
            X = _check_X(X, where)
            X = X[rows][:, rows] if metric == "precomputed" else X[rows]
            labels = np.asarray(labels)[rows]
            weights = weights[rows]
        values = _silhouette_samples(X, labels, metric, kwds, where, weights)
        return float(np.average(values, weights=weights))
    if sample_size is None:
        return float(np.mean(_silhouette_samples(X, labels, metric, kwds, where)))
    X = _check_X(X, where)
    n = X.shape[0]
    sample_size = _check_sample_size(sample_size, n, 1, where)
    indices = check_random_state(random_state).permutation(n)[:sample_size]
    codes, _ = _encode_labels(labels, n, where)
    if metric == "precomputed":
        _check_precomputed(X, where)
        X = X[indices][:, indices]
    else:
        X = X[indices]
    sample_codes, sample_classes = np.unique(codes[indices], return_inverse=True)
    _check_number_of_labels(sample_codes.shape[0], sample_size, where + " (in the sample)")
    sample_classes = sample_classes.reshape(-1).astype(np.int64)
    values = _exact_silhouettes(X, sample_classes, sample_codes.shape[0], None, metric, kwds, where)
    return float(np.mean(values))


# ------------------------------------------------------------- silhouette estimate


@dataclass(frozen=True)
class SilhouetteEstimate:
    """The silhouette of the data estimated from a random sample of its rows.

    Attributes
    ----------
    score : float
        Mean of the sampled rows' exact silhouettes (each measured against every row).
    low, high : float
        The confidence interval of the data's mean silhouette (clipped to [-1, 1]).
    stderr : float
        Standard error of ``score``, with the finite population correction.
    sample_size : int
        Number of rows sampled (without replacement).
    n_samples : int
        Number of rows in the data.
    confidence : float
        Confidence level of ``[low, high]``.
    """

    score: float
    low: float
    high: float
    stderr: float
    sample_size: int
    n_samples: int
    confidence: float

    def __float__(self):
        return self.score


def silhouette_estimate(
    X, labels, sample_size, *, metric="euclidean", confidence=0.95, random_state=None
):
    """Estimate the silhouette score of all rows from a sample, with a confidence interval.

    Draws ``sample_size`` rows at random without replacement and computes each one's
    *exact* silhouette against every row of X (O(sample_size · n) distances, memory
    O(n · d)), so their mean is an unbiased estimate of :func:`silhouette_score` over
    all rows. The interval is the usual one for the mean of a simple random sample:
    ``mean ± t · s / √m · √((n - m) / (n - 1))`` with Student's t at ``m - 1`` degrees
    of freedom and the finite population correction; a sample of every row gives the
    exact score and an interval of width 0.

    This differs from ``silhouette_score(..., sample_size=m)`` (scikit-learn's
    meaning), which computes the silhouette of the subsample within the subsample and
    gives no interval. The same ``random_state`` draws the same rows in both.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
            (n_samples, n_samples)
        The rows, or the distances between them with ``metric='precomputed'``.
    labels : array-like of shape (n_samples,)
        The cluster of every row, any values; 2 to ``n_samples - 1`` distinct ones.
    sample_size : int
        Number of rows to sample, at least 2 (more than ``n_samples`` means all).
    metric : str or callable, default='euclidean'
        As :func:`silhouette_samples` (keyword parameters of scikit-learn's distance
        functions are not taken here).
    confidence : float, default=0.95
        Confidence level of the interval, strictly between 0 and 1.
    random_state : int, RandomState instance or None, default=None
        Seed of the draw.

    Returns
    -------
    estimate : SilhouetteEstimate
        ``score``, ``low``, ``high``, ``stderr``, ``sample_size``, ``n_samples`` and
        ``confidence``; ``float(estimate)`` is the score.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from centroids.evaluate.metrics import silhouette_estimate, silhouette_score
    >>> X, labels = make_blobs(2_000, centers=4, random_state=0)
    >>> estimate = silhouette_estimate(X, labels, 200, random_state=0)
    >>> bool(estimate.low <= silhouette_score(X, labels) <= estimate.high)
    True
    >>> estimate.sample_size, estimate.n_samples
    (200, 2000)
    """
    where = "silhouette_estimate"
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0 < confidence < 1
    ):
        raise ValueError(
            f"confidence passed to {where} must be a number strictly between 0 and 1, e.g. "
            f"0.95 for a 95% interval; got {confidence!r}."
        )
    X = _check_X(X, where)
    n = X.shape[0]
    sample_size = _check_sample_size(sample_size, n, 2, where)
    codes, classes = _encode_labels(labels, n, where)
    _check_number_of_labels(classes.shape[0], n, where)
    rows = check_random_state(random_state).permutation(n)[:sample_size]
    values = _exact_silhouettes(X, codes, classes.shape[0], rows, metric, {}, where)
    from scipy import stats

    score = float(np.mean(values))
    correction = (n - sample_size) / (n - 1)
    stderr = float(np.std(values, ddof=1) / np.sqrt(sample_size) * np.sqrt(correction))
    half_width = float(stats.t.ppf(0.5 + confidence / 2, sample_size - 1)) * stderr
    return SilhouetteEstimate(
        score=score,
        low=max(score - half_width, -1.0),
        high=min(score + half_width, 1.0),
        stderr=stderr,
        sample_size=sample_size,
        n_samples=n,
        confidence=float(confidence),
    )


# ------------------------------------------------------------ centroid-based scores


def _cluster_means(X, codes, n_clusters, sample_weight):
    """float64 (weighted) mean of every cluster's rows, and the cluster weights."""
    sums, weights = engine_data(X).cluster_sums(sample_weight, codes.astype(np.int32), n_clusters)
    safe = np.where(weights > 0, weights, 1.0)
    return sums / safe[:, None], weights


def _distance_sums(X, codes, centers, sample_weight):
    """Per cluster: (Σ w ||x - c||², Σ w ||x - c||), float64, added in block order."""
    k = centers.shape[0]
    n = X.shape[0]
    n_blocks = max(1, min(_DISTANCE_SUM_BLOCKS, (n + 255) // 256))
    block_sums = np.empty((n_blocks, 2, k))
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    weights = np.ascontiguousarray(sample_weight, dtype=np.float64)
    if sp.issparse(X):
        x_sq_norms = sparse_row_sq_norms.for_work(X.nnz)(X.data, X.indptr)
        c_sq_norms = np.einsum("ij,ij->i", centers, centers)
        kernel = kernels.cluster_distance_sums_sparse.for_work(X.nnz)
        kernel(*_csr_arrays(X), x_sq_norms, codes, weights, centers, c_sq_norms, block_sums)
    else:
        kernel = kernels.cluster_distance_sums_dense.for_work(X.size)
        kernel(X, codes, weights, centers, block_sums)
    totals = block_sums[0].copy()
    for b in range(1, n_blocks):
        totals += block_sums[b]
    return totals[0], totals[1]


def _cluster_dispersion(X, labels, where, sample_weight=None):
    """The checks of a cluster index, then (centroids, sizes, Σ squared distances, Σ
    distances) per cluster, the distances taken from the rows to their centroid.

    With ``sample_weight`` every sum is weighted (a weight of 2 counts as the row twice)
    and a cluster whose rows all weigh 0 is left out, as if its rows were not there.
    """
    X = _check_X(X, where)
    codes, classes = _encode_labels(labels, X.shape[0], where)
    k = classes.shape[0]
    _check_number_of_labels(k, X.shape[0], where)
    weights = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    centroids, sizes = _cluster_means(X, codes, k, weights)
    sq_sums, distance_sums = _distance_sums(X, codes, centroids, weights)
    if sample_weight is not None and not (sizes > 0).all():
        kept = sizes > 0
        if kept.sum() < 2:
            raise ValueError(
                f"{where} needs at least 2 clusters with a positive sample_weight; only "
                f"{int(kept.sum())} of the {k} clusters have one."
            )
        centroids, sizes = centroids[kept], sizes[kept]
        sq_sums, distance_sums = sq_sums[kept], distance_sums[kept]
    return centroids, sizes, sq_sums, distance_sums


def davies_bouldin_score(X, labels, *, sample_weight=None):
    """Davies-Bouldin index: mean over clusters of the worst ratio of spread to separation.

    For clusters i and j with mean distance to their centroid ``s_i``, ``s_j`` and
    centroid distance ``d_ij``, the index is the mean over i of ``max_{j != i} (s_i +
    s_j) / d_ij``; lower is better, 0 is the minimum. Same arguments and value as
    :func:`sklearn.metrics.davies_bouldin_score`, in two passes over X (cluster sums,
    then distances to the centroids); CSR input is accepted and never densified.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The rows, float32 or float64 (sums in float64).
    labels : array-like of shape (n_samples,)
        The cluster of every row, any values; 2 to ``n_samples - 1`` distinct ones.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weight of every row: centroids and spreads are weighted means, so a
        weight of 2 gives the index of the data with that row twice. A cluster of
        weight 0 does not count. None weighs every row 1.

    Returns
    -------
    score : float
        The Davies-Bouldin index.

    Examples
    --------
    >>> from centroids.evaluate.metrics import davies_bouldin_score
    >>> round(davies_bouldin_score([[0, 1], [1, 1], [3, 4]], [0, 0, 1]), 4)
    0.128
    """
    centroids, sizes, _, distance_sums = _cluster_dispersion(
        X, labels, "davies_bouldin_score", sample_weight
    )
    spread = distance_sums / sizes
    diff = centroids[:, None, :] - centroids[None, :, :]
    centroid_distances = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    if np.all(np.isclose(spread, 0.0)) or np.all(np.isclose(centroid_distances, 0.0)):
        return 0.0
    centroid_distances[centroid_distances == 0] = np.inf
    ratios = (spread[:, None] + spread[None, :]) / centroid_distances
    return float(np.mean(np.max(ratios, axis=1)))


def calinski_harabasz_score(X, labels, *, sample_weight=None):
    """Calinski-Harabasz index (variance ratio criterion): between- over within-cluster spread.

    ``[B / (k - 1)] / [W / (n - k)]`` with ``B`` the size-weighted squared distances of
    the cluster means to the overall mean and ``W`` the squared distances of the rows
    to their cluster's mean; higher is better (1.0 when ``W`` is 0, as scikit-learn).
    Same arguments and value as :func:`sklearn.metrics.calinski_harabasz_score`, in two
    passes over X; CSR input is accepted and never densified.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The rows, float32 or float64 (sums in float64).
    labels : array-like of shape (n_samples,)
        The cluster of every row, any values; 2 to ``n_samples - 1`` distinct ones.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weight of every row, a frequency: ``n`` becomes the total weight and
        every sum is weighted, so a weight of 2 gives the index of the data with that
        row twice. A cluster of weight 0 does not count. None weighs every row 1.

    Returns
    -------
    score : float
        The Calinski-Harabasz index.

    Examples
    --------
    >>> from centroids.evaluate.metrics import calinski_harabasz_score
    >>> X = [[0, 0], [0, 1], [4, 0], [4, 1]]
    >>> calinski_harabasz_score(X, [0, 0, 1, 1])
    32.0
    """
    centroids, sizes, within, _ = _cluster_dispersion(
        X, labels, "calinski_harabasz_score", sample_weight
    )
    n, k = float(sizes.sum()), centroids.shape[0]
    intra_disp = float(within.sum())
    mean = (centroids * sizes[:, None]).sum(axis=0) / n
    extra_disp = float(np.sum(sizes * np.sum((centroids - mean) ** 2, axis=1)))
    if intra_disp == 0.0:
        return 1.0
    return float(extra_disp * (n - k) / (intra_disp * (k - 1.0)))


def weighted_label_scores(X, labels, sample_weight, silhouette_sample_size=None, seed=None):
    """Weighted silhouette (of a sample of rows when a size is given), Davies-Bouldin and
    Calinski-Harabasz of one labelling, as a dict; empty unless 2 to n - 1 labels."""
    if not 2 <= np.unique(labels).shape[0] <= np.shape(X)[0] - 1:
        return {}
    options = {"sample_weight": sample_weight}
    silhouette = silhouette_score(
        X, labels, sample_size=silhouette_sample_size, random_state=seed, **options
    )
    return {
        "silhouette": silhouette,
        "davies_bouldin": davies_bouldin_score(X, labels, **options),
        "calinski_harabasz": calinski_harabasz_score(X, labels, **options),
    }


def _centers_and_codes(X, labels, centers, sample_weight, where):
    """(codes, centers float64, number of rows per center, classes or None)."""
    n = X.shape[0]
    if centers is None:
        codes, classes = _encode_labels(labels, n, where)
        means, _ = _cluster_means(X, codes, classes.shape[0], sample_weight)
        return codes, means, np.bincount(codes, minlength=classes.shape[0]), classes
    try:
        centers = np.array(centers, dtype=np.float64, order="C")
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"centers passed to {where} must be an array of numbers: {error}"
        ) from error
    if centers.ndim != 2 or centers.shape[1] != X.shape[1] or centers.shape[0] == 0:
        raise ValueError(
            f"centers passed to {where} must have shape (n_clusters, n_features) with "
            f"n_features = {X.shape[1]} (X's columns); got shape {centers.shape}."
        )
    if not np.isfinite(centers).all():
        row, column = np.argwhere(~np.isfinite(centers))[0]
        raise ValueError(
            f"centers passed to {where} contains {centers[row, column]} at center {row}, "
            f"column {column}; centers must be finite."
        )
    array = np.asarray(labels)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(
            f"X has {n} rows but labels passed to {where} has shape {array.shape}: give "
            "exactly one cluster label per row of X."
        )
    k = centers.shape[0]
    if array.dtype.kind not in "iub" or (array.size and (array.min() < 0 or array.max() >= k)):
        raise ValueError(
            f"With centers given, labels passed to {where} must be integer indices of "
            f"rows of centers, 0 to {k - 1}; got values of type {array.dtype} "
            + (f"from {array.min()} to {array.max()}." if array.dtype.kind in "iuf" else ".")
            + " Pass centers=None to use the mean of every cluster instead."
        )
    codes = array.astype(np.int64)
    return codes, centers, np.bincount(codes, minlength=k), None


def simplified_silhouette_samples(X, labels, centers=None):
    """Simplified (centroid) silhouette of every row, O(n · k).

    For a row, ``a`` is its distance to its own cluster's center and ``b`` its
    distance to the nearest other center; the coefficient is ``(b - a) / max(a, b)``
    (Hruschka et al., 2004). It needs k distances per row instead of n, so it scales
    to any n, and tracks the silhouette closely for compact, round clusters. Euclidean
    distance; dense or CSR X.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The rows, float32 or float64 (distances in float64).
    labels : array-like of shape (n_samples,)
        The cluster of every row. With ``centers=None`` any values (2 to ``n_samples -
        1`` distinct ones); with ``centers``, integer row indices of ``centers``.
    centers : array-like of shape (n_clusters, n_features), default=None
        The centers (e.g. a fitted model's ``cluster_centers_``; at least 2). None uses
        the mean of every cluster; then a row alone in its cluster gets 0, as in the
        silhouette (its own center is the row itself).

    Returns
    -------
    silhouettes : ndarray of shape (n_samples,)
        float64 simplified silhouette of every row, in [-1, 1].

    Examples
    --------
    >>> from centroids.evaluate.metrics import simplified_silhouette_samples
    >>> X = [[0.0, 0.0], [0.0, 2.0], [6.0, 0.0], [6.0, 2.0]]
    >>> simplified_silhouette_samples(X, [0, 0, 1, 1]).round(4)
    array([0.8356, 0.8356, 0.8356, 0.8356])
    """
    where = "simplified_silhouette_samples"
    X = _check_X(X, where)
    n = X.shape[0]
    ones = np.ones(n, dtype=X.dtype)
    codes, centers, sizes, classes = _centers_and_codes(X, labels, centers, ones, where)
    if classes is not None:
        _check_number_of_labels(classes.shape[0], n, where)
        singleton = sizes == 1
    else:
        if centers.shape[0] < 2:
            raise ValueError(
                f"{where} needs at least 2 centers to compare a row's own center with the "
                f"nearest other; got {centers.shape[0]}."
            )
        singleton = np.zeros(centers.shape[0], dtype=bool)
    out = np.empty(n)
    if sp.issparse(X):
        x_sq_norms = sparse_row_sq_norms.for_work(X.nnz)(X.data, X.indptr)
        c_sq_norms = np.einsum("ij,ij->i", centers, centers)
        kernel = kernels.simplified_silhouette_sparse.for_work(X.nnz * centers.shape[0])
        kernel(*_csr_arrays(X), x_sq_norms, codes, centers, c_sq_norms, singleton, out)
    else:
        kernel = kernels.simplified_silhouette_dense.for_work(X.size * centers.shape[0])
        kernel(X, codes, centers, singleton, out)
    return out


def simplified_silhouette_score(X, labels, centers=None):
    """Mean simplified (centroid) silhouette of all rows, O(n · k).

    See :func:`simplified_silhouette_samples`.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The rows.
    labels : array-like of shape (n_samples,)
        The cluster of every row (integer indices of ``centers`` when given).
    centers : array-like of shape (n_clusters, n_features), default=None
        The centers; None uses the mean of every cluster.

    Returns
    -------
    score : float
        Mean simplified silhouette, in [-1, 1]; higher is better.

    Examples
    --------
    >>> from centroids.evaluate.metrics import simplified_silhouette_score
    >>> X = [[0.0, 0.0], [0.0, 2.0], [6.0, 0.0], [6.0, 2.0]]
    >>> round(simplified_silhouette_score(X, [0, 0, 1, 1], centers=[[0, 1], [6, 1]]), 4)
    0.8356
    """
    return float(np.mean(simplified_silhouette_samples(X, labels, centers)))


def inertia(X, labels, centers=None, sample_weight=None):
    """Sum of (weighted) squared distances of the rows to their cluster's center.

    The k-means objective, as a fitted model's ``inertia_``. One pass over X (two
    without ``centers``: the cluster means first); dense or CSR X, sums in float64.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The rows.
    labels : array-like of shape (n_samples,)
        The cluster of every row. With ``centers=None`` any values; with ``centers``,
        integer row indices of ``centers``.
    centers : array-like of shape (n_clusters, n_features), default=None
        The centers. None uses the (weighted) mean of every cluster, the centers that
        minimise the inertia for these labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weight of every row; None weighs every row 1.

    Returns
    -------
    inertia : float
        ``Σ_i w_i ||x_i - centers[labels[i]]||²``.

    Examples
    --------
    >>> from centroids.evaluate.metrics import inertia
    >>> X = [[0, 0], [0, 2], [6, 0], [6, 2]]
    >>> inertia(X, [0, 0, 1, 1])
    4.0
    >>> inertia(X, [0, 0, 1, 1], centers=[[0, 0], [6, 0]])
    8.0
    """
    where = "inertia"
    X = _check_X(X, where)
    weights = check_sample_weight(sample_weight, X.shape[0], np.float64)
    codes, centers, _, _ = _centers_and_codes(X, labels, centers, weights.astype(X.dtype), where)
    squared, _ = _distance_sums(X, codes, centers, weights)
    return float(squared.sum())
