"""Spherical k-means: k-means in cosine geometry, for text and embeddings."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._kernels.labels import count_distinct_labels
from .._utils.validation import (
    check_features,
    check_initial_centers,
    check_sample_weight,
    unchanged_on_error,
)
from ..engine import (
    KMeansRun,
    blas_limited_to_one_thread,
    engine_data,
    kmeans_plusplus_centers,
    random_centers,
    relocate_empty_clusters,
)
from ..engine.dask import (
    fit_dask,
    is_dask_collection,
    predict_dask,
    score_dask,
    transform_dask,
)
from ..engine.lloyd import stopping_rule
from ._backend import (
    BACKEND_CONSTRAINTS,
    fit_backend,
    fit_spherical_on_torch,
    host_array,
)
from ._centers import SparseCentersMixin


def normalize_rows(X, *, copy=True):
    """(X with every non-zero row scaled to unit Euclidean norm, mask of the zero rows).

    ``X`` is a validated C-ordered float32/float64 array or canonical CSR matrix (see
    :func:`centroids._utils.validation.check_features`); the result has its type and
    dtype. Rows of zeros stay zero. With ``copy=False`` the rows are scaled in place
    (the values of a CSR matrix).

    Examples
    --------
    >>> import numpy as np
    >>> unit, zero_rows = normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    >>> unit
    array([[0.6, 0.8],
           [0. , 0. ]])
    >>> zero_rows
    array([False,  True])
    """
    sq_norms = engine_data(X).x_sq_norms
    zero_rows = sq_norms == 0
    inverse_norms = np.zeros_like(sq_norms)
    np.divide(1.0, np.sqrt(sq_norms), out=inverse_norms, where=~zero_rows)
    inverse_norms = inverse_norms.astype(X.dtype)
    if sp.issparse(X):
        scale = np.repeat(inverse_norms, np.diff(X.indptr))
        if not copy:
            X.data *= scale
            return X, zero_rows
        return sp.csr_matrix((X.data * scale, X.indices, X.indptr), shape=X.shape), zero_rows
    if not copy:
        X *= inverse_norms[:, None]
        return X, zero_rows
    return X * inverse_norms[:, None], zero_rows


def _unit_centers(sums, previous_centers):
    """Rows of ``sums`` scaled to unit norm; a zero row keeps its previous center."""
    norms = np.sqrt(np.einsum("ij,ij->i", sums, sums))
    centers = previous_centers.copy()
    nonzero = norms > 0
    centers[nonzero] = sums[nonzero] / norms[nonzero, None]
    return centers


def assign_by_cosine(data, sample_weight, centers, zero_rows):
    """Labels, squared Euclidean distances and ``Σ w (1 - cos)`` of unit rows.

    The engine's assignment (smallest Euclidean distance = largest cosine for unit
    vectors), with the rule for rows of zeros applied exactly: label 0, squared
    distance 1 (cosine 0), ``w · 1`` in the inertia.
    """
    labels, min_sq_dist, sq_inertia = data.assign_labels(sample_weight, centers)
    if not zero_rows.any():
        return labels, min_sq_dist, sq_inertia / 2
    labels[zero_rows] = 0
    min_sq_dist[zero_rows] = 1.0
    weights = np.asarray(sample_weight, dtype=np.float64)
    # ||x - c||² = 2 (1 - cos) for a unit row; a zero row is at cosine distance 1.
    inertia = float(weights[~zero_rows] @ min_sq_dist[~zero_rows]) / 2
    return labels, min_sq_dist, inertia + float(weights[zero_rows].sum())


def spherical_lloyd(data, sample_weight, zero_rows, centers_init, max_iter, tol, verbose=False):
    """Spherical k-means iterations on unit rows, from unit ``centers_init``.

    Assignment by the largest cosine similarity (for unit vectors, the smallest
    Euclidean distance: ``||x - c||² = 2 - 2 cos``, so the engine's dense and CSR
    assignment kernels serve); each center becomes the normalised weighted sum of its
    rows; an empty cluster takes the row of lowest similarity to its center (the
    engine's relocation). Stops when no label changes, when the total squared shift
    of the centers is at most ``tol``, or after ``max_iter`` iterations. The returned
    labels are the assignment to the returned centers; the inertia is
    ``Σ w (1 - cos)``.

    ``zero_rows`` marks rows of zeros: at distance 1 from every unit center they take
    the lowest center index, add nothing to the sums, are never relocated, and count
    ``w · 1`` in the inertia (cosine 0).
    """
    centers = np.array(centers_init, dtype=data.dtype, order="C", copy=True)
    n_clusters = centers.shape[0]
    labels_old = np.full(data.n_rows, -1, dtype=np.int32)
    iteration = 0
    for iteration in range(max_iter):
        labels, min_sq_dist, inertia = assign_by_cosine(data, sample_weight, centers, zero_rows)
        sums, weights = data.cluster_sums(sample_weight, labels, n_clusters)
        min_sq_dist[zero_rows] = 0.0  # never relocated: a zero row cannot seed a center
        relocate_empty_clusters(data, sample_weight, labels, min_sq_dist, sums, weights)
        new_centers = _unit_centers(sums, centers.astype(np.float64)).astype(data.dtype)
        center_shift = float(((new_centers.astype(np.float64) - centers) ** 2).sum())
        if verbose:
            print(f"Iteration {iteration}, inertia {inertia}.")
        centers = new_centers
        if stopping_rule(iteration, np.array_equal(labels, labels_old), center_shift, tol, verbose):
            break
        labels_old = labels
    labels, _, inertia = assign_by_cosine(data, sample_weight, centers, zero_rows)
    return KMeansRun(centers=centers, labels=labels, inertia=inertia, n_iter=iteration + 1)


class SphericalKMeans(
    ClassNamePrefixFeaturesOutMixin,
    SparseCentersMixin,
    TransformerMixin,
    ClusterMixin,
    BaseEstimator,
):
    """Spherical k-means: clusters of directions, by cosine similarity.

    Every row is scaled to unit length, so only its direction counts; the centers
    are unit vectors too, each the normalised (weighted) sum of its cluster's rows,
    and a row belongs to the center of largest cosine similarity (Dhillon & Modha,
    2001). The objective is ``Σ w_i (1 - cos(x_i, c_{label_i}))``. The right model
    for TF-IDF document vectors and for sentence or image embeddings, where length
    says little and angle says much. Dense and CSR input run on the engine's
    assignment kernels (for unit vectors the largest cosine is the smallest
    Euclidean distance); sparse input is never densified; float32 stays float32.

    Rows of zeros have no direction. They are accepted under one rule: their cosine
    similarity to every center is 0, so they get the lowest cluster index (the rule
    for ties), count ``w · 1`` in the inertia, never move a center and are never
    picked as a seed. Drop them when that is not what you want (for documents:
    texts with no term in the vocabulary).

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters, at least 1 and at most the number of rows.
    init : {'k-means++', 'random'} or array-like of shape (n_clusters, n_features), \
            default='k-means++'
        'k-means++': centroids' greedy k-means++ on the unit rows (for unit vectors
        the squared Euclidean distance is ``2 (1 - cos)``, so it spreads the seeds in
        angle). 'random': ``n_clusters`` distinct rows drawn in proportion to their
        sample weight. An array gives the initial centers; they are scaled to unit
        length (a row of zeros is an error).
    n_init : 'auto' or int, default='auto'
        Number of runs from different seeds; the lowest inertia wins. 'auto' is 1 for
        'k-means++' or an array, 10 for 'random'.
    max_iter : int, default=300
        Maximum number of iterations of one run.
    tol : float, default=1e-4
        A run stops when the total squared shift of the (unit) centers between two
        iterations is at most ``tol``, or as soon as no label changes. Unit vectors
        need no scaling, so ``tol`` is absolute.
    verbose : int, default=0
        Print the inertia of every iteration when positive.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation; the same seed gives the same result.
    copy_x : bool, default=True
        When False and X is a float32/float64 C-ordered array or CSR matrix of float
        values, its rows are normalised in place (X is modified) instead of in a
        copy, saving the memory of one copy of X (the numba backend; the torch backend
        normalises a copy on the device).
    backend : {'auto', 'numba', 'torch'}, default='auto'
        Where the fit runs. 'numba': centroids' CPU engine. 'torch': the same
        algorithm on a torch device (``pip install 'centroids[gpu]'``; see
        docs/gpu.md). 'auto': torch on a CUDA device when X is already there (a torch
        tensor or a CuPy array), or when torch and a CUDA device are present and one
        pass does at least ``centroids.settings.TORCH_AUTO_MIN_WORK`` multiply-adds
        (rows × features × clusters); numba otherwise, and for sparse X.
    device : str, int, torch.device or None, default=None
        The torch device ('cuda', 'cuda:1', 'cpu'). None: X's device for a tensor,
        else 'cuda' when present, else 'cpu'. With backend='numba' only None or 'cpu'.
    product_dtype : {'float32', 'bfloat16', 'float16'} or None, default=None
        Taken for the same API as KMeans; spherical fits compute in X's dtype.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The unit-norm centers, in the dtype of the training data.
    labels_ : ndarray of shape (n_samples,), dtype int32
        Index of the cluster of every training row.
    inertia_ : float
        ``Σ w_i (1 - cos(x_i, c_{label_i}))``: the weighted cosine distance of the
        rows to their center, between 0 (every row on its center) and 2 Σ w.
    n_iter_ : int
        Number of iterations of the winning run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when X was a DataFrame with string
        column names.

    See Also
    --------
    centroids.KMeans : k-means in Euclidean geometry.

    Examples
    --------
    >>> import numpy as np
    >>> from centroids.models.spherical import SphericalKMeans
    >>> X = np.array([[1.0, 0.1], [5.0, 0.4], [0.2, 2.0], [0.1, 9.0]])
    >>> model = SphericalKMeans(n_clusters=2, random_state=0).fit(X)
    >>> bool(model.labels_[0] == model.labels_[1] != model.labels_[2] == model.labels_[3])
    True
    >>> np.linalg.norm(model.cluster_centers_, axis=1).round(6).tolist()
    [1.0, 1.0]
    >>> bool(model.predict([[30.0, 2.0]])[0] == model.labels_[0])
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "copy_x": ["boolean"],
        **BACKEND_CONSTRAINTS,
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        verbose=0,
        random_state=None,
        copy_x=True,
        backend="auto",
        device=None,
        product_dtype=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.backend = backend
        self.device = device
        self.product_dtype = product_dtype

    # -- fitting -----------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Compute spherical k-means clustering.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training rows (rows of zeros: see the class notes). float32 stays float32;
            other numeric types become float64; CSC becomes CSR; sparse input is never
            densified.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row; None gives every row weight 1.

        Returns
        -------
        self : SphericalKMeans
            The fitted estimator; on bad input the estimator is left as it was.
        """
        if is_dask_collection(X):
            return fit_dask(self, X, sample_weight)
        with unchanged_on_error(self):
            self._fit(X, sample_weight)
        return self

    def _fit(self, X, sample_weight):
        self._validate_params()
        backend = fit_backend(self, X)
        if backend.is_torch:
            return fit_spherical_on_torch(self, X, sample_weight, backend)
        original = X
        X = check_features(self, X, reset=True, where="fit")
        n_samples, n_features = X.shape
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}: "
                "X has fewer rows than clusters. Lower n_clusters or pass more rows."
            )
        sample_weight = check_sample_weight(sample_weight, n_samples, X.dtype)
        n_weighted = int(np.count_nonzero(sample_weight))
        if n_weighted < self.n_clusters:
            raise ValueError(
                f"Only {n_weighted} rows have a positive sample_weight, fewer than "
                f"n_clusters={self.n_clusters}; lower n_clusters or give more rows weight."
            )
        in_place = not self.copy_x and _same_memory(original, X)
        X, zero_rows = normalize_rows(X, copy=not in_place)
        seed_weight = np.where(zero_rows, 0, sample_weight).astype(X.dtype)
        n_directions = int(np.count_nonzero(seed_weight))
        if n_directions < self.n_clusters:
            raise ValueError(
                f"Only {n_directions} rows have both a positive sample_weight and a non-zero "
                f"vector, fewer than n_clusters={self.n_clusters}: rows of zeros have no "
                "direction to seed a cluster with. Lower n_clusters or pass more rows."
            )
        init, n_init = self._resolved_init(n_features, X.dtype)
        random_state = check_random_state(self.random_state)
        best = self._best_of_runs(
            engine_data(X), sample_weight, zero_rows, seed_weight, init, n_init, random_state
        )
        n_distinct = count_distinct_labels(best.labels, self.n_clusters)
        if n_distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}): X probably has fewer than "
                f"{self.n_clusters} distinct directions (rows that are multiples of each "
                "other count once). Some centers are duplicates; lower n_clusters.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.cluster_centers_ = best.centers
        self.labels_ = best.labels
        self.inertia_ = best.inertia
        self.n_iter_ = best.n_iter

    def _best_of_runs(
        self, data, sample_weight, zero_rows, seed_weight, init, n_init, random_state
    ):
        """The spherical Lloyd run of lowest inertia among ``n_init`` seedings."""
        best = None
        with blas_limited_to_one_thread():
            for _ in range(n_init):
                if isinstance(init, str) and init == "k-means++":
                    centers = kmeans_plusplus_centers(
                        data, self.n_clusters, seed_weight, random_state
                    )[0]
                elif isinstance(init, str):
                    centers = random_centers(data, self.n_clusters, seed_weight, random_state)
                else:
                    centers = init
                if self.verbose:
                    print("Initialization complete")
                run = spherical_lloyd(
                    data,
                    sample_weight,
                    zero_rows,
                    centers,
                    self.max_iter,
                    self.tol,
                    bool(self.verbose),
                )
                if best is None or run.inertia < best.inertia:
                    best = run
        return best

    def _resolved_init(self, n_features, dtype):
        """The init (a name, or unit centers of ``dtype``) and the number of runs."""
        init = self.init
        if isinstance(init, str):
            n_init = (10 if init == "random" else 1) if self.n_init == "auto" else self.n_init
            return init, n_init
        centers = check_initial_centers(init, self.n_clusters, n_features, dtype)
        zero = np.flatnonzero(~centers.any(axis=1))
        if zero.size:
            raise ValueError(
                f"init has a center of zeros (row {zero[0]}): a zero vector has no direction. "
                "Give non-zero initial centers; they are scaled to unit length."
            )
        centers, _ = normalize_rows(centers, copy=False)
        if self.n_init != "auto" and self.n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init in "
                f"{type(self).__name__} instead of n_init={self.n_init}.",
                RuntimeWarning,
                stacklevel=4,
            )
        return centers, 1

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return the cluster index of every row (``labels_``)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    # -- using a fitted model ----------------------------------------------------------

    def _unit_test_data(self, X, where):
        check_is_fitted(self)
        X = check_features(self, host_array(X), reset=False, where=where)
        X, zero_rows = normalize_rows(X)
        return X, zero_rows, self.cluster_centers_.astype(X.dtype, copy=False)

    def predict(self, X):
        """Index of the center of largest cosine similarity for every row of X.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Rows with the features of fit. A row of zeros gets cluster 0.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
        """
        if is_dask_collection(X):
            return predict_dask(self, X)
        X, zero_rows, centers = self._unit_test_data(X, "predict")
        data = engine_data(X)
        ones = np.ones(data.n_rows, dtype=data.dtype)
        with blas_limited_to_one_thread():
            labels, _, _ = assign_by_cosine(data, ones, centers, zero_rows)
        return labels

    def transform(self, X):
        """Cosine distance ``1 - cos(x, c)`` from every row of X to every center.

        Between 0 (same direction) and 2 (opposite); ``1 - transform(X)`` is the
        cosine similarity. The smallest value of a row is at its predicted cluster.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters), in X's float dtype
        """
        if is_dask_collection(X):
            return transform_dask(self, X)
        X, _, centers = self._unit_test_data(X, "transform")
        similarity = np.asarray(X @ centers.T)
        distance = np.subtract(1, similarity, dtype=similarity.dtype)
        return np.clip(distance, 0, 2, out=distance)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the cosine distances from every row to every center."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the spherical inertia of X (higher is better).

        Returns
        -------
        score : float
            ``-Σ w_i (1 - max_c cos(x_i, c))``.
        """
        if is_dask_collection(X):
            return score_dask(self, X, sample_weight)
        X, zero_rows, centers = self._unit_test_data(X, "score")
        data = engine_data(X)
        sample_weight = check_sample_weight(sample_weight, data.n_rows, data.dtype)
        with blas_limited_to_one_thread():
            _, _, inertia = assign_by_cosine(data, sample_weight, centers, zero_rows)
        return -inertia


def _same_memory(original, validated):
    """Whether validation handed back the caller's own array or matrix values."""
    if sp.issparse(original) and sp.issparse(validated):
        return original.format == "csr" and np.shares_memory(original.data, validated.data)
    if isinstance(original, np.ndarray) and isinstance(validated, np.ndarray):
        return np.shares_memory(original, validated)
    return False
