"""The gap statistic (Tibshirani, Walther and Hastie, 2001).

For every number of clusters k, the log of the within-cluster dispersion ``W_k`` (the
k-means inertia; ``W_1`` is the total dispersion about the mean) is compared with its
expected value on reference data without structure: sets of the same size drawn
uniformly in the data's bounding box, or in the box of its principal components (which
follows the data's orientation). ``gap(k) = mean_b log W*_kb - log W_k``; its standard
error is ``s_k = sd_k sqrt(1 + 1/B)`` over the B reference sets, and Tibshirani's rule
picks the smallest k with ``gap(k) >= gap(k+1) - s_(k+1)``. The rule picking k = 1 says
the data are no more clustered than uniform noise in the same box.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from numbers import Integral

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from ..engine import blas_limited_to_one_thread
from ..models.kmeans import KMeans

__all__ = ["GapStatistic", "ReferenceSampler", "gap_statistic", "tibshirani_k"]

REFERENCES = ("box", "pca")

# Seeds handed to the reference draws and the k-means fits come from this range.
_SEED_BOUND = np.iinfo(np.int32).max


@dataclass(frozen=True)
class GapStatistic:
    """The gap statistic over a range of numbers of clusters.

    Attributes
    ----------
    k_values : ndarray of int
        The numbers of clusters, increasing.
    gap : ndarray
        ``gap(k) = mean_b log W*_kb - log W_k`` for every k.
    gap_se : ndarray
        ``s_k = sd_k sqrt(1 + 1/B)``, sd_k the standard deviation of ``log W*_kb``.
    log_dispersion : ndarray
        ``log W_k`` of the data.
    reference_log_dispersion : ndarray of shape (n_references, n_k)
        ``log W*_kb`` of every reference set b.
    k : int or None
        Tibshirani's pick: the smallest k with ``gap(k) >= gap(k+1) - s_(k+1)``;
        None when the gap still rises beyond its standard error up to the last k.
    reference : {'box', 'pca'}
        How the reference sets were drawn.
    """

    k_values: np.ndarray
    gap: np.ndarray
    gap_se: np.ndarray
    log_dispersion: np.ndarray
    reference_log_dispersion: np.ndarray
    k: int | None
    reference: str

    def to_frame(self):
        """The figures as a DataFrame indexed by k (gap, gap_se, log_w, reference_log_w)."""
        return pd.DataFrame(
            {
                "gap": self.gap,
                "gap_se": self.gap_se,
                "log_w": self.log_dispersion,
                "reference_log_w": self.reference_log_dispersion.mean(axis=0),
            },
            index=pd.Index(self.k_values, name="k"),
        )


class ReferenceSampler:
    """Uniform reference sets without cluster structure, in the box of X or of its PCA.

    Every set is drawn from a seed fixed when the sampler is made, so set ``b`` is the
    same whenever it is drawn and the sets never have to be kept in memory together.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The data, float32 or float64; the sets have its shape and dtype.
    n_references : int
        Number of reference sets, B.
    reference : {'box', 'pca'}
        'box': uniform between each feature's minimum and maximum. 'pca': uniform in
        the box of the data's principal-component scores, rotated back (Tibshirani et
        al.'s second option, which follows elongated or tilted data).
    random_state : int, RandomState instance or None
        Seed of the draws.
    n_rows : int or None, default=None
        Rows of every set; None gives X's number of rows.

    Examples
    --------
    >>> import numpy as np
    >>> from centroids.evaluate.gap import ReferenceSampler
    >>> X = np.array([[0.0, 0.0], [2.0, 1.0], [1.0, 3.0], [2.0, 2.0]])
    >>> sampler = ReferenceSampler(X, 2, "box", random_state=0)
    >>> Z = sampler.draw(0)
    >>> Z.shape, bool((Z >= X.min(axis=0)).all() and (Z <= X.max(axis=0)).all())
    ((4, 2), True)
    >>> bool(np.array_equal(Z, sampler.draw(0)))
    True
    """

    def __init__(self, X, n_references, reference, random_state, n_rows=None):
        self.shape = (X.shape[0] if n_rows is None else int(n_rows), X.shape[1])
        self.dtype = X.dtype
        self.reference = reference
        rng = check_random_state(random_state)
        self.seeds = rng.randint(_SEED_BOUND, size=n_references)
        X64 = np.asarray(X, dtype=np.float64)
        if reference == "pca":
            self.mean = X64.mean(axis=0)
            _, _, components = np.linalg.svd(X64 - self.mean, full_matrices=False)
            scores = (X64 - self.mean) @ components.T
            self.components = components
            self.low, self.high = scores.min(axis=0), scores.max(axis=0)
        else:
            self.mean = self.components = None
            self.low, self.high = X64.min(axis=0), X64.max(axis=0)

    def __len__(self):
        return len(self.seeds)

    def draw(self, b):
        """Reference set ``b`` (0 <= b < n_references): ``n_rows`` rows, X's dtype."""
        rng = np.random.default_rng(int(self.seeds[b]))
        n_samples = self.shape[0]
        uniform = rng.uniform(self.low, self.high, size=(n_samples, self.low.shape[0]))
        if self.components is not None:
            uniform = uniform @ self.components + self.mean
        return np.ascontiguousarray(uniform, dtype=self.dtype)


def total_dispersion(X):
    """``W_1``: the sum of squared distances of the rows of X to their mean."""
    X64 = np.asarray(X, dtype=np.float64)
    return float(((X64 - X64.mean(axis=0)) ** 2).sum())


def safe_log(dispersion):
    """log W, with a dispersion of 0 (every row on a center) kept finite."""
    return float(np.log(max(dispersion, np.finfo(np.float64).tiny)))


def tibshirani_k(k_values, gap, gap_se):
    """Tibshirani's rule: the smallest k with ``gap(k) >= gap(k+1) - s_(k+1)``.

    ``k+1`` means the next k of ``k_values``. Returns None when no k qualifies (the
    gap rises beyond its error at every step: try larger k).

    Examples
    --------
    >>> from centroids.evaluate.gap import tibshirani_k
    >>> tibshirani_k([1, 2, 3, 4], [0.1, 0.5, 0.55, 0.5], [0.05, 0.05, 0.06, 0.05])
    2
    >>> tibshirani_k([1, 2, 3], [0.1, 0.4, 0.9], [0.05, 0.05, 0.05]) is None
    True
    """
    k_values = np.asarray(k_values)
    gap = np.asarray(gap, dtype=np.float64)
    gap_se = np.asarray(gap_se, dtype=np.float64)
    for i in range(len(k_values) - 1):
        if gap[i] >= gap[i + 1] - gap_se[i + 1]:
            return int(k_values[i])
    return None


def check_k_values(k_range, n_samples, name="k_range"):
    """k_range as an increasing int array of distinct values in 1..n_samples."""
    try:
        values = [v for v in k_range]
    except TypeError:
        raise TypeError(
            f"{name} must be an iterable of integers such as range(2, 11); "
            f"got {type(k_range).__name__}."
        ) from None
    if not values:
        raise ValueError(
            f"{name} is empty; give at least one number of clusters, e.g. range(2, 11)."
        )
    for v in values:
        if isinstance(v, bool) or not isinstance(v, Integral | np.integer):
            raise TypeError(f"{name} must hold integers; got {v!r} ({type(v).__name__}).")
        if not 1 <= v <= n_samples:
            raise ValueError(
                f"{name} holds k={v}, outside 1..n_samples={n_samples}: every number of "
                "clusters must be at least 1 and at most the number of rows."
            )
    k_values = np.unique(np.asarray(values, dtype=np.int64))
    if k_values.shape[0] != len(values):
        raise ValueError(f"{name} holds the same k more than once: {values!r}.")
    return k_values


def check_dense_features(X, where):
    """X as a C-ordered float32/float64 ndarray with finite values (sparse refused)."""
    if sp.issparse(X):
        raise TypeError(
            f"{where} needs dense X: uniform reference sets in the bounding box of sparse "
            "data are dense and meaningless. Reduce X first (e.g. TruncatedSVD) or densify it."
        )
    X = check_array(
        X, dtype=[np.float64, np.float32], order="C", ensure_min_samples=2, input_name="X"
    )
    return X


def check_reference_options(n_references, reference):
    if isinstance(n_references, bool) or not isinstance(n_references, Integral | np.integer):
        raise TypeError(f"n_references must be an integer; got {n_references!r}.")
    if n_references < 2:
        raise ValueError(
            f"n_references must be at least 2 (the standard error needs two reference sets); "
            f"got {n_references}."
        )
    if reference not in REFERENCES:
        raise ValueError(f"reference must be 'box' or 'pca'; got {reference!r}.")


def fit_log_dispersion(X, k, seed, kmeans_params):
    """log W_k of X and the KMeans fitted for it (None for k = 1, which needs no fit)."""
    if k == 1:
        return safe_log(total_dispersion(X)), None
    model = KMeans(n_clusters=int(k), random_state=seed, **kmeans_params).fit(X)
    return safe_log(model.inertia_), model


def gap_from_log_dispersions(log_w, reference_log_w):
    """gap and its standard error ``sd_k sqrt(1 + 1/B)`` from the log dispersions."""
    n_references = reference_log_w.shape[0]
    gap = reference_log_w.mean(axis=0) - log_w
    gap_se = reference_log_w.std(axis=0) * np.sqrt(1.0 + 1.0 / n_references)
    return gap, gap_se


def gap_statistic(
    X,
    k_range=range(1, 11),
    *,
    n_references=10,
    reference="box",
    random_state=None,
    kmeans_params=None,
    n_jobs=None,
    progress=None,
):
    """The gap statistic of X for every k of ``k_range``, with Tibshirani's pick.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Dense data (float32 stays float32). Sparse input is refused.
    k_range : iterable of int, default=range(1, 11)
        Numbers of clusters, each in 1..n_samples. k = 1 needs no fit: ``W_1`` is the
        total dispersion. The rule compares each k with the next one of the range.
    n_references : int, default=10
        Number B of uniform reference sets, at least 2.
    reference : {'box', 'pca'}, default='box'
        Draw the reference sets uniformly in the bounding box of the features, or in
        the box of the principal components (see :class:`ReferenceSampler`).
    random_state : int, RandomState instance or None, default=None
        Seeds the reference sets and every k-means fit: the same seed gives the same
        result.
    kmeans_params : dict, default=None
        Extra parameters for :class:`centroids.KMeans` (e.g. ``{"n_init": 3}``), used
        alike for the data and the reference sets.
    n_jobs : int, default=None
        Number of threads running fits side by side; None means numba's thread count.
        The result is the same for any value.
    progress : callable, default=None
        Called as ``progress(step, total, message)`` after every fit, from the thread
        that ran it (one call at a time).

    Returns
    -------
    result : GapStatistic
        gap, gap_se, the log dispersions and Tibshirani's pick ``result.k``.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from centroids.evaluate.gap import gap_statistic
    >>> X, _ = make_blobs(300, centers=3, cluster_std=0.5, random_state=0)
    >>> result = gap_statistic(X, range(1, 6), n_references=5, random_state=0)
    >>> result.k
    3
    """
    X = check_dense_features(X, "gap_statistic")
    k_values = check_k_values(k_range, X.shape[0])
    check_reference_options(n_references, reference)
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral | np.integer) or n_jobs < 1
    ):
        raise ValueError(f"n_jobs must be None or a positive integer; got {n_jobs!r}.")
    kmeans_params = dict(kmeans_params or {})
    rng = check_random_state(random_state)
    total = len(k_values) * (1 + n_references)
    counter = _ProgressCounter(progress, total)

    data_seeds = rng.randint(_SEED_BOUND, size=len(k_values))
    sampler = ReferenceSampler(X, n_references, reference, rng)
    reference_seeds = rng.randint(_SEED_BOUND, size=(n_references, len(k_values)))

    def fit_data(j):
        log_w_k, _ = fit_log_dispersion(X, k_values[j], int(data_seeds[j]), kmeans_params)
        counter(f"data, k={k_values[j]}")
        return log_w_k

    def fit_reference(b):
        # Each reference set is drawn once and clustered at every k.
        Z = sampler.draw(b)
        log_w_b = np.empty(len(k_values))
        for j, k in enumerate(k_values):
            log_w_b[j], _ = fit_log_dispersion(Z, k, int(reference_seeds[b, j]), kmeans_params)
            counter(f"reference set {b + 1}/{n_references}, k={k}")
        return log_w_b

    # Every fit is seeded on its own: the result does not depend on the thread count.
    n_threads = numba.get_num_threads() if n_jobs is None else n_jobs
    with blas_limited_to_one_thread(), ThreadPoolExecutor(max_workers=n_threads) as pool:
        reference_units = [pool.submit(fit_reference, b) for b in range(n_references)]
        data_units = [pool.submit(fit_data, j) for j in range(len(k_values))]
        log_w = np.array([unit.result() for unit in data_units])
        reference_log_w = np.array([unit.result() for unit in reference_units])
    gap, gap_se = gap_from_log_dispersions(log_w, reference_log_w)
    return GapStatistic(
        k_values=k_values,
        gap=gap,
        gap_se=gap_se,
        log_dispersion=log_w,
        reference_log_dispersion=reference_log_w,
        k=tibshirani_k(k_values, gap, gap_se),
        reference=reference,
    )


class _ProgressCounter:
    """Counts steps and forwards ``(step, total, message)`` to a progress callback.

    Safe to call from several threads: steps are counted and reported one at a time.
    """

    def __init__(self, callback, total):
        if callback is not None and not callable(callback):
            raise TypeError(
                f"progress must be a callable taking (step, total, message); got {callback!r}."
            )
        self.callback = callback
        self.total = total
        self.step = 0
        self._lock = threading.Lock()

    def __call__(self, message):
        with self._lock:
            self.step += 1
            if self.callback is not None:
                self.callback(self.step, self.total, message)
