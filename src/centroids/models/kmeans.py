"""K-Means with scikit-learn's estimator API over centroids' own engine."""

from __future__ import annotations

import warnings
from functools import partial
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from .._utils.validation import (
    check_features,
    check_initial_centers,
    check_sample_weight,
    unchanged_on_error,
)
from ..engine import (
    blas_limited_to_one_thread,
    engine_data,
    fit_kmeans,
    kmeans_plusplus_centers,
)
from ..engine.dask import fit_dask, is_dask_collection
from ..engine.driver import auto_restarts
from ..engine.missing import MISSING_OPTIONS, check_holes, fit_with_holes, has_holes
from ._backend import BACKEND_CONSTRAINTS, fit_backend, fit_kmeans_on_torch
from ._centers import EuclideanCentersMixin


class KMeans(
    ClassNamePrefixFeaturesOutMixin,
    EuclideanCentersMixin,
    ClusterMixin,
    BaseEstimator,
):
    """K-Means clustering.

    Parameters and attributes follow :class:`sklearn.cluster.KMeans`; the seeding,
    the iterations and the kernels are centroids' own (numba, both cores, no copy
    of float32 or float64 C-ordered input, sparse input never densified).

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters to form, at least 1 and at most the number of rows.
    init : {'k-means++', 'k-means||', 'afk-mc2', 'random'}, callable or array-like \
            of shape (n_clusters, n_features), default='k-means++'
        'k-means++': greedy k-means++ seeding, the best of ``2 + ln k`` candidates
        at each step (the same rows as scikit-learn's for the same seed, with the
        distance updates pruned by the triangle inequality). 'k-means||': scalable
        k-means++ (Bahmani et al., 2012): a few rounds of oversampling, the candidates
        reduced to ``n_clusters`` by weighted k-means++; for very large n × k.
        'afk-mc2': assumption-free k-MC² (Bachem et al., 2016), a Markov-chain
        approximation of k-means++ that reads few rows per center. 'random':
        ``n_clusters`` distinct rows drawn with probability proportional to their
        sample weight. A callable is called as
        ``init(X, n_clusters, random_state=random_state)`` and returns the centers.
        An array gives the initial centers themselves.
    n_init : 'auto' or int, default='auto'
        Number of runs from different seeds (successive draws from ``random_state``);
        the run with the lowest inertia wins. An int runs exactly that many. 'auto'
        with a built-in seeding ('k-means++', 'k-means||', 'afk-mc2', 'random') runs
        as many restarts as a fixed work budget allows on small fits (rows × features
        × clusters summed over the runs up to
        ``centroids.settings.SMALL_FIT_RESTART_BUDGET``, about 1e6, at most
        ``SMALL_FIT_MAX_RESTARTS`` = 20), so small problems reach their best known
        optimum from a default run, and 1 run on larger fits (10 with 'random'
        whatever the size). With a callable 'auto' means 10 runs, with an array 1.
    max_iter : int, default=300
        Maximum number of iterations of one run.
    tol : float, default=1e-4
        Convergence tolerance on the total squared shift of the centers between two
        iterations, relative to the mean variance of the features. A run also stops
        as soon as no label changes.
    verbose : int, default=0
        Print the inertia of every iteration when positive.
    random_state : int, RandomState instance or None, default=None
        Seed for the initialisation. The same seed gives bit-identical results,
        whatever the number of threads.
    copy_x : bool, default=True
        Kept for compatibility with scikit-learn. centroids never modifies X (it does
        not centre the data in place), so X is left untouched with either value.
    algorithm : {'auto', 'lloyd', 'hamerly', 'elkan', 'yinyang'}, default='auto'
        The iteration algorithm; all give the same result from the same start (up to
        exact ties), they differ in speed. 'lloyd' computes every distance (through a
        matrix product per chunk of rows when there are many features). 'hamerly'
        keeps one upper and one lower bound per row and skips the rows whose center
        cannot change; the others take their distances together, through one matrix
        product per chunk: best from a few dozen clusters on. 'elkan' keeps a lower
        bound per row and center (falls back to 'yinyang' when those would exceed
        256 MiB). 'yinyang' keeps a lower bound per row and group of about 10
        centers; both skip more distances than 'hamerly' but compute the rest one by
        one, so they pay mostly on sparse data. 'auto' picks one from the number of
        features and clusters and from sparsity (see
        :func:`centroids.engine.choose_algorithm`).
    refine : {'auto', True, False}, default='auto'
        After each run, try swaps that move a center of little use to where the
        cost is largest, keeping a swap only when the inertia drops; this escapes
        the local optima k-means++ leaves (two centers in one cluster, one between
        two). On dense X this is random swap (Fränti 2018): trial swaps, each
        followed by two k-means steps over the rows of the clusters it touches,
        until many trials in a row bring nothing, then Lloyd to convergence on all
        rows; on sparse X, guided swaps of the least useful center. 'auto' (after
        the built-in seedings) refines on all rows when one assignment pass is small
        (rows × features × clusters up to about 1.7e7); on larger dense X it runs
        random swap on a uniform subsample whose pass costs about 4e6 (at least 300
        rows per cluster), then Lloyd on all rows to convergence from the swapped
        centers, kept when the inertia on all rows drops: the typical bad start at
        small k (two centers in one group, one across two) is mended for a bounded
        cost whatever n, and the result stays a fixed point of Lloyd on all rows.
        Where that sample would be more than half the rows (many clusters for n, few
        rows each), 'auto' runs random swap on every row with its trials' work capped
        at about 128 distance terms per value of X and at most a share of the fit's
        own work (seeding and iterations). On larger sparse fits 'auto' does not
        refine; on small sparse fits the swap trials spend at most the run's own
        iterations. A start given as an array or a callable is left to plain
        iterations. True refines on all rows always, False never. ``n_iter_`` then
        counts the refinement's iterations on all rows too. backend='torch' does not
        refine ('auto' is off there).
    missing : {'error', 'kpod', 'masked'}, default='error'
        What a missing value (NaN) in dense X means. 'error': X must be finite (a
        ValueError names the first NaN). 'kpod': k-POD (Chi, Chi & Baraniuk, 2016),
        alternating between filling each hole from its row's center and a k-means
        run, so the centers minimise the inertia over the observed entries. 'masked':
        distances and center updates over each row's observed entries only, the
        distance rescaled by the inverse of the fraction observed. ``predict``,
        ``transform`` and ``score`` accept rows with holes in the same way. Both
        assume values are missing at random given the cluster; see
        :mod:`centroids.engine.missing` and the missing-values guide. Without a NaN
        in X both give exactly the result of 'error'. Both run on backend='numba'.
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
        torch backend only: the precision of the distance products (accumulated in
        float32). None: X's dtype. With a lower one, the rows whose two nearest
        centers lie within its error bound are re-checked in X's dtype, so the labels
        stay the exact nearest centers; the products run on the GPU's tensor cores.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Coordinates of the cluster centers, in the dtype of the training data.
    labels_ : ndarray of shape (n_samples,), dtype int32
        Index of the cluster each training row belongs to.
    inertia_ : float
        Sum of the weighted squared distances of the rows to their closest center.
    n_iter_ : int
        Number of iterations run by the winning run, refinement included.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when X was a DataFrame with string
        column names.

    Examples
    --------
    >>> import numpy as np
    >>> from centroids import KMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_.tolist())
    [[1.0, 2.0], [10.0, 2.0]]
    >>> float(km.inertia_)
    16.0
    >>> bool(km.predict([[0, 0]])[0] == km.labels_[0])
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [
            StrOptions({"k-means++", "k-means||", "afk-mc2", "random"}),
            callable,
            "array-like",
        ],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"auto", "lloyd", "hamerly", "elkan", "yinyang"})],
        "refine": [StrOptions({"auto"}), "boolean"],
        "missing": [StrOptions(set(MISSING_OPTIONS))],
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
        algorithm="auto",
        refine="auto",
        missing="error",
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
        self.algorithm = algorithm
        self.refine = refine
        self.missing = missing
        self.backend = backend
        self.device = device
        self.product_dtype = product_dtype

    # -- fitting -----------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Compute k-means clustering.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training rows. float32 data is clustered in float32, without a copy when
            C-ordered; other numeric types are converted to float64. CSC is converted
            to CSR; sparse data is never densified.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row; None gives every row weight 1.

        Returns
        -------
        self : KMeans
            The fitted estimator. On bad input a ValueError or TypeError is raised
            and the estimator is left exactly as it was before the call.
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
            return fit_kmeans_on_torch(self, X, sample_weight, backend)
        X = check_features(self, X, reset=True, where="fit", allow_nan=self.missing != "error")
        holes = has_holes(X)
        if holes:
            check_holes(X, "fit", getattr(self, "feature_names_in_", None))
        n_samples, n_features = X.shape
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}: "
                f"X has fewer rows than clusters. Lower n_clusters or pass more rows."
            )
        sample_weight = check_sample_weight(sample_weight, n_samples, X.dtype)
        n_weighted = int(np.count_nonzero(sample_weight))
        if n_weighted < self.n_clusters:
            raise ValueError(
                f"Only {n_weighted} rows have a positive sample_weight, fewer than "
                f"n_clusters={self.n_clusters}; lower n_clusters or give more rows weight."
            )
        init, n_init = self._resolved_init(n_features, X.dtype)
        if self.n_init == "auto" and isinstance(init, str):
            n_init = max(n_init, auto_restarts(X, self.n_clusters))
        fit = partial(fit_with_holes, self.missing) if holes else fit_kmeans
        result = fit(
            X,
            sample_weight,
            n_clusters=self.n_clusters,
            init=init,
            n_init=n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=check_random_state(self.random_state),
            algorithm=self.algorithm,
            refine=self.refine,
            verbose=bool(self.verbose),
        )
        self.cluster_centers_ = result.centers
        self.labels_ = result.labels
        self.inertia_ = result.inertia
        self.n_iter_ = result.n_iter

    def _resolved_init(self, n_features, dtype):
        """The validated init and the number of runs it implies."""
        init = self.init
        if isinstance(init, str):
            n_init = (10 if init == "random" else 1) if self.n_init == "auto" else self.n_init
            return init, n_init
        if callable(init):
            n_init = 10 if self.n_init == "auto" else self.n_init
            user_init = init
            n_clusters = self.n_clusters

            def validated_init(X, n_clusters_, random_state):
                centers = user_init(X, n_clusters_, random_state=random_state)
                return check_initial_centers(
                    centers, n_clusters, n_features, dtype, source="the init callable's result"
                )

            return validated_init, n_init
        centers = check_initial_centers(init, self.n_clusters, n_features, dtype)
        if self.n_init != "auto" and self.n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init in "
                f"{type(self).__name__} instead of n_init={self.n_init}.",
                RuntimeWarning,
                stacklevel=3,
            )
        return centers, 1

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return the cluster index of every row (``labels_``)."""
        return self.fit(X, sample_weight=sample_weight).labels_


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, random_state=None, n_local_trials=None):
    """Initial centers by greedy k-means++, as :func:`sklearn.cluster.kmeans_plusplus`.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The rows to pick centers from.
    n_clusters : int
        Number of centers, between 1 and n_samples.
    sample_weight : array-like of shape (n_samples,), default=None
        Rows are drawn with probability proportional to weight × squared distance.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.
    n_local_trials : int, default=None
        Candidates tried per center; None means ``2 + int(ln(n_clusters))``.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features), in X's float dtype
    indices : ndarray of shape (n_clusters,)
        The row of X each center was taken from.

    Examples
    --------
    >>> import numpy as np
    >>> from centroids import kmeans_plusplus
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> centers, indices = kmeans_plusplus(X, n_clusters=2, random_state=0)
    >>> centers.shape, sorted(set(centers[:, 0].tolist()))
    ((2, 2), [1.0, 10.0])
    """
    X = check_features(None, X, reset=True, where="kmeans_plusplus", name="kmeans_plusplus")
    n_samples = X.shape[0]
    if not isinstance(n_clusters, Integral) or not 1 <= n_clusters <= n_samples:
        raise ValueError(
            f"n_clusters must be an integer between 1 and n_samples={n_samples}; "
            f"got {n_clusters!r}."
        )
    if n_local_trials is not None and (
        not isinstance(n_local_trials, Integral) or n_local_trials < 1
    ):
        raise ValueError(f"n_local_trials must be a positive integer; got {n_local_trials!r}.")
    sample_weight = check_sample_weight(sample_weight, n_samples, X.dtype)
    with blas_limited_to_one_thread():
        return kmeans_plusplus_centers(
            engine_data(X),
            n_clusters,
            sample_weight,
            check_random_state(random_state),
            n_local_trials,
        )
