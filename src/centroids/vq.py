"""SciPy-style vector quantization: drop-in replacements for :mod:`scipy.cluster.vq`.

:func:`kmeans`, :func:`kmeans2`, :func:`vq` and :func:`whiten` take the arguments of
their SciPy namesakes and return the same shapes, dtypes and meanings, computed by
centroids' engine: the assignment kernels of :mod:`centroids.engine.data` (numba, both
cores, chunked, no ``n × k`` matrix) and greedy k-means++ of
:mod:`centroids.engine.seeding`.

Where SciPy's behaviour is kept
    ``kmeans`` returns the mean Euclidean (not squared) distance as its distortion, stops
    a run when the distortion changes by at most ``thresh``, drops centroids that lose
    all their observations, and with an integer ``k_or_guess`` runs ``iter`` times from
    ``k`` distinct random observations, keeping the lowest distortion. ``kmeans2`` runs
    exactly ``iter`` iterations, leaves an empty cluster at its previous position and
    warns or raises (``missing``). 1-D input is a set of 1-D observations and gives 1-D
    centroids. float32 input gives float32 centroids and distances; labels are int32.
    ``seed`` means what it means to SciPy (None, an int seeding a legacy ``RandomState``,
    a ``RandomState`` or a ``Generator``), and the newer ``rng`` keyword is accepted
    too; with the same seed, ``kmeans`` with an integer ``k_or_guess`` and ``kmeans2``
    with ``minit='points'`` or ``'random'`` draw the same initial centroids as SciPy.

Where it differs
    ``minit='++'`` is greedy k-means++ (the best of ``2 + ln k`` candidates per center)
    rather than SciPy's plain k-means++, so its draws differ. Integer input is converted
    to float64 (SciPy's ``kmeans`` and ``kmeans2`` raise a TypeError). The distances
    ``vq`` returns are sums of squared differences to the chosen code (SciPy takes them
    from ``||x||² - 2 x·c + ||c||²`` for 5 or more features, which loses digits near a
    code word), so they are exact to rounding.
    ``vq`` always returns int32 codes (SciPy returns int64 ones for integer input).
    Where SciPy's Cholesky factorisation of the covariance fails (a constant column),
    ``minit='random'`` draws through a symmetric square root instead of raising.
    Errors say which argument was wrong and what to do.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.cluster.vq import ClusterError
from sklearn.utils import check_random_state

from .engine import blas_limited_to_one_thread, engine_data, kmeans_plusplus_centers
from .engine.data import uses_gemm

__all__ = ["ClusterError", "kmeans", "kmeans2", "vq", "whiten"]

#: Rows per block when the exact distances to the chosen codes are computed.
_DISTANCE_BLOCK_ROWS = 1 << 15

_MINIT_METHODS = ("random", "points", "++", "matrix")
_MISSING_METHODS = ("warn", "raise")


# -- input ---------------------------------------------------------------------------


def _float_array(values, name):
    """``values`` as a float32/float64 ndarray (other numbers become float64)."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of numbers: {error}") from error
    if array.dtype.kind == "c":
        raise TypeError(
            f"{name} holds complex numbers ({array.dtype}); vector quantization needs real "
            "numbers: pass the real part, or the real and imaginary parts as two columns."
        )
    if array.dtype in (np.float32, np.float64):
        return array
    if array.dtype.kind not in "biuf":
        try:
            return array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"{name} must be an array of numbers, got dtype {array.dtype}: {error}"
            ) from error
    return array.astype(np.float32 if array.dtype == np.float16 else np.float64)


def _check_finite(array, name):
    if array.dtype.kind != "f" or np.isfinite(array).all():
        return
    bad = np.argwhere(~np.isfinite(array))[0]
    where = f"observation {bad[0]}" + (f", feature {bad[1]}" if bad.size > 1 else "")
    raise ValueError(
        f"{name} contains {array[tuple(bad)]} at {where}; the values must be finite "
        "(array must not contain infs or NaNs). Drop or impute those observations."
    )


def _observations(obs, name, check_finite):
    """(2-D C-ordered float array, whether the input was 1-D) for a set of observations."""
    array = _float_array(obs, name)
    if array.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be 1-D (one value per observation) or 2-D (one row per "
            f"observation); got {array.ndim} dimension(s), shape {array.shape}. "
            "Input of rank > 2 is not supported."
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}): empty input is not supported.")
    if check_finite:
        _check_finite(array, name)
    one_dimensional = array.ndim == 1
    if one_dimensional:
        array = array[:, None]
    return np.ascontiguousarray(array), one_dimensional


def _code_book(code_book, n_features, one_dimensional, dtype, name, check_finite):
    """``code_book`` as a (k, n_features) C-ordered array of ``dtype``."""
    array = _float_array(code_book, name)
    if check_finite:
        _check_finite(array, name)
    expected_ndim = 1 if one_dimensional else 2
    if array.ndim != expected_ndim:
        raise ValueError(
            f"{name} must have the rank of the observations ({expected_ndim}-D), got "
            f"shape {array.shape}: observation and code_book should have the same rank."
        )
    if one_dimensional:
        array = array[:, None]
    if array.shape[0] == 0:
        raise ValueError(f"{name} holds no code (shape {array.shape}): give at least one.")
    if array.shape[1] != n_features:
        raise ValueError(
            f"{name} has {array.shape[1]} feature(s) (columns) but the observations have "
            f"{n_features}: obs and code_book should have the same number of features."
        )
    return np.ascontiguousarray(array, dtype=dtype)


def _random_generator(seed, rng):
    """The RandomState/Generator SciPy would use for ``seed`` (legacy) or ``rng``."""
    if rng is not None:
        if seed is not None:
            raise TypeError("Pass seed or rng, not both: they name the same random source.")
        return np.random.default_rng(rng)
    if isinstance(seed, np.random.Generator):
        return seed
    return check_random_state(seed)


def _whole_number(value, name):
    """``value`` as an int when it is a real whole number (3 or 3.0), else a ValueError."""
    try:
        number = np.asarray(value).reshape(()).item()
        whole = not isinstance(number, bool) and float(number).is_integer()
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(number)


# -- the engine, seen as SciPy's primitives -------------------------------------------


def _assign(data, code_book):
    """Code of the nearest code word for every row (int32), ties to the lowest index."""
    ones = np.ones(data.n_rows, dtype=data.dtype)
    labels, _, _ = data.assign_labels(ones, code_book)
    return labels


def _assign_with_distances(data, code_book):
    """(codes, float64 Euclidean distances to them). The distances are direct: taken
    from the assignment when it computed differences (few features), else recomputed
    from the chosen code, never from the ``||x||² - 2 x·c + ||c||²`` product form."""
    ones = np.ones(data.n_rows, dtype=data.dtype)
    labels, min_sq_dist, _ = data.assign_labels(ones, code_book)
    if uses_gemm(data.n_features, code_book.shape[0]):
        return labels, _distances_to_codes(data.X, code_book.astype(np.float64), labels)
    return labels, np.sqrt(min_sq_dist, out=min_sq_dist)


def _distances_to_codes(X, code_book, labels):
    """Euclidean distance of every row of X to ``code_book[labels]``, float64, direct."""
    out = np.empty(X.shape[0])
    for start in range(0, X.shape[0], _DISTANCE_BLOCK_ROWS):
        stop = min(start + _DISTANCE_BLOCK_ROWS, X.shape[0])
        diff = X[start:stop].astype(np.float64) - code_book[labels[start:stop]]
        np.sqrt(np.einsum("ij,ij->i", diff, diff), out=out[start:stop])
    return out


def _cluster_means(data, labels, n_codes):
    """(float64 means of the rows of each code, whether the code has rows)."""
    ones = np.ones(data.n_rows, dtype=data.dtype)
    sums, counts = data.cluster_sums(ones, labels, n_codes)
    has_members = counts > 0
    means = np.zeros_like(sums)
    means[has_members] = sums[has_members] / counts[has_members, None]
    return means, has_members


def _shaped(code_book, one_dimensional):
    return code_book[:, 0].copy() if one_dimensional else code_book


# -- public functions -----------------------------------------------------------------


def whiten(obs, check_finite=True):
    """Divide every feature (column) by its standard deviation over the observations.

    As :func:`scipy.cluster.vq.whiten`: a column of standard deviation zero is left
    unchanged (with a RuntimeWarning when ``check_finite``).

    Parameters
    ----------
    obs : array-like of shape (n_observations, n_features) or (n_observations,)
        One row per observation. float32 stays float32; other numbers become float64.
    check_finite : bool, default=True
        Reject NaN and infinite values with a ValueError.

    Returns
    -------
    result : ndarray of the shape of ``obs``
        ``obs / obs.std(axis=0)``.

    Examples
    --------
    >>> import numpy as np
    >>> from centroids.vq import whiten
    >>> whiten(np.array([[1.0, 4.0], [3.0, 8.0]]))
    array([[1., 2.],
           [3., 4.]])
    """
    array = _float_array(obs, "obs")
    if check_finite:
        _check_finite(array, "obs")
    std_dev = array.std(axis=0)
    zero_std = std_dev == 0
    if np.any(zero_std):
        std_dev = np.where(zero_std, array.dtype.type(1), std_dev)
        if check_finite:
            columns = np.flatnonzero(np.atleast_1d(zero_std)).tolist()
            warnings.warn(
                f"Some columns have standard deviation zero (columns {columns[:10]}"
                f"{' ...' if len(columns) > 10 else ''}). The values of these columns will "
                "not change.",
                RuntimeWarning,
                stacklevel=2,
            )
    return array / std_dev


def vq(obs, code_book, check_finite=True):
    """Assign every observation the code of its nearest code word.

    As :func:`scipy.cluster.vq.vq`, through centroids' chunked assignment kernels.

    Parameters
    ----------
    obs : array-like of shape (M, N) or (M,)
        One row per observation (1-D: one value per observation).
    code_book : array-like of shape (k, N) or (k,)
        One code word per row, of the rank of ``obs``.
    check_finite : bool, default=True
        Reject NaN and infinite values with a ValueError.

    Returns
    -------
    code : ndarray of shape (M,), int32
        Index of the nearest code word (the lowest index among equally near ones).
    dist : ndarray of shape (M,)
        Euclidean distance to that code word; float32 when both inputs are float32,
        else float64.

    Examples
    --------
    >>> import numpy as np
    >>> from centroids.vq import vq
    >>> code_book = np.array([[1.0, 1.0], [2.0, 2.0]])
    >>> code, dist = vq(np.array([[1.9, 2.3], [0.8, 0.6]]), code_book)
    >>> code
    array([1, 0], dtype=int32)
    >>> dist.round(4)
    array([0.3162, 0.4472])
    """
    X, one_dimensional = _observations(obs, "obs", check_finite)
    codes = _float_array(code_book, "code_book")
    dtype = np.result_type(X.dtype, codes.dtype)
    X = np.ascontiguousarray(X, dtype=dtype)
    codes = _code_book(codes, X.shape[1], one_dimensional, dtype, "code_book", check_finite)
    with blas_limited_to_one_thread():
        labels, dist = _assign_with_distances(engine_data(X), codes)
    return labels, dist.astype(dtype, copy=False)


def _kmeans_run(data, code_book, thresh):
    """One run of SciPy's ``kmeans`` from ``code_book``: (code book, distortion).

    Iterates until the mean distance changes by at most ``thresh``; codes that lose
    all their observations are dropped. The code book returned is the one updated
    after the last assignment, the distortion that of the last assignment.
    """
    previous = np.inf
    while True:
        # The mean needs no exact recomputation: the product form's error is relative
        # to ||x||² + ||c||² and matters only for rows almost on their code word, which
        # add almost nothing to the mean (SciPy's own distortion has the same error).
        ones = np.ones(data.n_rows, dtype=data.dtype)
        labels, min_sq_dist, _ = data.assign_labels(ones, code_book)
        distortion = float(np.sqrt(min_sq_dist, out=min_sq_dist).mean())
        means, has_members = _cluster_means(data, labels, code_book.shape[0])
        code_book = np.ascontiguousarray(means[has_members], dtype=data.dtype)
        change = abs(previous - distortion)
        previous = distortion
        if not change > thresh:
            return code_book, distortion


def kmeans(obs, k_or_guess, iter=20, thresh=1e-5, check_finite=True, *, seed=None, rng=None):
    """K-means on a set of observations, as :func:`scipy.cluster.vq.kmeans`.

    Parameters
    ----------
    obs : array-like of shape (M, N) or (M,)
        One row per observation; SciPy advises whitening it first (:func:`whiten`).
    k_or_guess : int or array-like of shape (k, N) or (k,)
        The number of centroids, drawn as ``k`` distinct random observations at the
        start of each of the ``iter`` runs; or the initial centroids (one run).
    iter : int, default=20
        Number of runs from different random starts (ignored for an array
        ``k_or_guess``); the code book of lowest distortion is kept. Not a number of
        iterations.
    thresh : float, default=1e-5
        A run stops when its distortion changes by at most ``thresh``.
    check_finite : bool, default=True
        Reject NaN and infinite values with a ValueError.
    seed : None, int, numpy.random.RandomState or numpy.random.Generator, keyword-only
        Random source of the starts, as SciPy's ``seed``: an int seeds a
        ``RandomState``, None uses NumPy's global one.
    rng : None, int or numpy.random.Generator, keyword-only
        SciPy's newer name: an int seeds a ``Generator``. Give seed or rng, not both.

    Returns
    -------
    codebook : ndarray of shape (k', N) or (k',)
        The centroids, float32 for float32 input. Centroids that end with no
        observation are removed, so ``k'`` may be smaller than ``k``.
    distortion : numpy float
        Mean Euclidean (not squared) distance of the observations to their nearest
        centroid, for the code book of the last assignment.

    Examples
    --------
    >>> import numpy as np
    >>> from centroids.vq import kmeans
    >>> obs = np.array([[1.0, 1.0], [1.2, 1.0], [5.0, 5.0], [5.0, 5.2]])
    >>> codebook, distortion = kmeans(obs, obs[[0, 2]])
    >>> codebook
    array([[1.1, 1. ],
           [5. , 5.1]])
    >>> round(float(distortion), 6)
    0.1
    """
    iter = _whole_number(iter, "iter")
    if iter < 1:
        raise ValueError(f"iter must be at least 1, got {iter}")
    try:
        thresh_ok = float(thresh) >= 0
    except (TypeError, ValueError):
        thresh_ok = False
    if not thresh_ok:
        raise ValueError(
            f"thresh must be a number >= 0 (the change of distortion that ends a run), "
            f"got {thresh!r}"
        )
    X, one_dimensional = _observations(obs, "obs", check_finite)
    guess = np.asarray(k_or_guess)
    random_state = _random_generator(seed, rng)
    data = engine_data(X)
    with blas_limited_to_one_thread():
        if guess.size != 1 or guess.ndim == 2:
            if guess.size < 1:
                raise ValueError(f"Asked for 0 clusters: the initial code book {guess} is empty.")
            code_book = _code_book(
                guess, X.shape[1], one_dimensional, X.dtype, "k_or_guess", check_finite
            )
            book, distortion = _kmeans_run(data, code_book, thresh)
            return _shaped(book, one_dimensional), X.dtype.type(distortion)
        try:
            k = _whole_number(guess, "k_or_guess")
        except ValueError:
            raise ValueError(
                f"If k_or_guess is a scalar, it must be an integer; got {k_or_guess!r}."
            ) from None
        if k < 1:
            raise ValueError(f"Asked for {k} clusters: k_or_guess must be at least 1.")
        if k > data.n_rows:
            raise ValueError(
                f"Asked for {k} clusters but obs has only {data.n_rows} observations: the "
                "initial centroids are distinct observations. Lower k_or_guess."
            )
        best_book, best_distortion = None, np.inf
        for _ in range(iter):
            rows = random_state.choice(data.n_rows, size=k, replace=False)
            book, distortion = _kmeans_run(data, np.ascontiguousarray(X[rows]), thresh)
            if distortion < best_distortion or best_book is None:
                best_book, best_distortion = book, distortion
    return _shaped(best_book, one_dimensional), X.dtype.type(best_distortion)


def _gaussian_centroids(X, k, random_state, one_dimensional):
    """k draws from a Gaussian with the mean and covariance of X (SciPy's 'random')."""
    mu = X.mean(axis=0)
    if one_dimensional:
        draws = random_state.standard_normal(size=k) * np.sqrt(np.cov(X[:, 0]))
        return (draws + mu[0])[:, None]
    n, d = X.shape
    if d > n:
        # The covariance is rank deficient: draw in the span of the centred rows.
        _, s, vh = np.linalg.svd(X - mu, full_matrices=False)
        draws = random_state.standard_normal(size=(k, s.size))
        return draws @ (s[:, None] * vh / np.sqrt(n - 1.0)) + mu
    covariance = np.atleast_2d(np.cov(X.T))
    draws = random_state.standard_normal(size=(k, d))
    try:
        factor = np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        # Singular covariance (a constant or duplicated column): a symmetric square root.
        values, vectors = np.linalg.eigh(covariance)
        factor = vectors * np.sqrt(np.clip(values, 0, None))
    return draws @ factor.T + mu


def kmeans2(
    data,
    k,
    iter=10,
    thresh=1e-5,
    minit="random",
    missing="warn",
    check_finite=True,
    *,
    seed=None,
    rng=None,
):
    """K-means with a fixed number of iterations, as :func:`scipy.cluster.vq.kmeans2`.

    Parameters
    ----------
    data : array-like of shape (M, N) or (M,)
        One row per observation (1-D: one value per observation).
    k : int or array-like of shape (k, N) or (k,)
        The number of clusters; or, with ``minit='matrix'`` (or any array of more
        than one value), the initial centroids.
    iter : int, default=10
        Number of k-means iterations (assign, then update the centroids).
    thresh : float, default=1e-5
        Not used; kept for SciPy compatibility (SciPy does not use it either).
    minit : {'random', 'points', '++', 'matrix'}, default='random'
        'random': ``k`` draws from a Gaussian with the data's mean and covariance.
        'points': ``k`` distinct observations at random. '++': greedy k-means++
        (centroids' seeding). 'matrix': ``k`` is the array of initial centroids.
    missing : {'warn', 'raise'}, default='warn'
        What to do when a cluster ends an iteration empty: warn (UserWarning) and
        leave its centroid where it was, or raise ``ClusterError``.
    check_finite : bool, default=True
        Reject NaN and infinite values with a ValueError.
    seed : None, int, numpy.random.RandomState or numpy.random.Generator, keyword-only
        Random source of the start, as SciPy's ``seed`` (an int seeds a RandomState).
    rng : None, int or numpy.random.Generator, keyword-only
        SciPy's newer name (an int seeds a Generator). Give seed or rng, not both.

    Returns
    -------
    centroid : ndarray of shape (k, N) or (k,)
        The centroids after the last iteration, in the data's float dtype.
    label : ndarray of shape (M,), int32
        The code of the centroid each observation was nearest to in the last
        iteration (before its centroids were updated), as SciPy returns.

    Examples
    --------
    >>> import numpy as np
    >>> from centroids.vq import kmeans2
    >>> data = np.array([[1.0, 1.0], [1.2, 1.0], [5.0, 5.0], [5.0, 5.2]])
    >>> centroid, label = kmeans2(data, data[[0, 2]], minit="matrix")
    >>> centroid
    array([[1.1, 1. ],
           [5. , 5.1]])
    >>> label
    array([0, 0, 1, 1], dtype=int32)
    """
    iter = _whole_number(iter, "iter")
    if iter < 1:
        raise ValueError(f"Invalid iter ({iter}), must be a positive integer.")
    if missing not in _MISSING_METHODS:
        raise ValueError(f"Unknown missing method {missing!r}: use one of {_MISSING_METHODS}.")
    X, one_dimensional = _observations(data, "data", check_finite)
    code_book = _initial_code_book(X, k, minit, one_dimensional, check_finite, seed, rng)
    code_book, label = _kmeans2_iterations(X, code_book, iter, missing)
    return _shaped(np.ascontiguousarray(code_book), one_dimensional), label


def _initial_code_book(X, k, minit, one_dimensional, check_finite, seed, rng):
    """The starting centroids of :func:`kmeans2`: ``k`` itself when it is an array (or
    ``minit='matrix'``), else ``k`` of them drawn by ``minit``."""
    n, d = X.shape
    k_array = np.asarray(k)
    if minit == "matrix" or k_array.size > 1:
        if k_array.ndim != (1 if one_dimensional else 2):
            raise ValueError(
                f"k array doesn't match data rank: data is {1 if one_dimensional else 2}-D, "
                f"k has shape {k_array.shape}."
            )
        code_book = _code_book(k_array, d, one_dimensional, X.dtype, "k", check_finite)
    else:
        if minit not in _MINIT_METHODS:
            raise ValueError(f"Unknown init method {minit!r}: use one of {_MINIT_METHODS}.")
        try:
            n_clusters = int(k_array.reshape(()))
        except (TypeError, ValueError) as error:
            raise TypeError(f"k must be a number of clusters or an array, got {k!r}") from error
        if n_clusters < 1:
            raise ValueError(f"Cannot ask kmeans2 for {n_clusters} clusters (k was {k!r}).")
        if n_clusters != k_array:
            warnings.warn(
                f"k was not an integer ({k!r}), was converted to {n_clusters}.", stacklevel=3
            )
        if minit in ("points", "++") and n_clusters > n:
            raise ValueError(
                f"Cannot pick {n_clusters} initial centroids among {n} observations with "
                f"minit={minit!r}: lower k, or use minit='random'."
            )
        random_state = _random_generator(seed, rng)
        engine_view = engine_data(X)
        if minit == "random":
            start = _gaussian_centroids(X, n_clusters, random_state, one_dimensional)
        elif minit == "points":
            start = X[random_state.choice(n, size=n_clusters, replace=False)]
        else:
            with blas_limited_to_one_thread():
                start = kmeans_plusplus_centers(
                    engine_view, n_clusters, np.ones(n, dtype=X.dtype), random_state
                )[0]
        code_book = np.ascontiguousarray(start, dtype=X.dtype)
    return code_book


def _kmeans2_iterations(X, code_book, n_iter, missing):
    """``n_iter`` Lloyd iterations from ``code_book``; an empty cluster keeps its centroid
    (and warns, or raises with ``missing='raise'``). The centroids and the last labels."""
    data_view = engine_data(X)
    n_codes = code_book.shape[0]
    with blas_limited_to_one_thread():
        for iteration in range(n_iter):
            label = _assign(data_view, code_book)
            means, has_members = _cluster_means(data_view, label, n_codes)
            if not has_members.all():
                empty = np.flatnonzero(~has_members).tolist()
                message = (
                    f"One of the clusters is empty: cluster(s) {empty[:10]}"
                    f"{' ...' if len(empty) > 10 else ''} had no observation at iteration "
                    f"{iteration}. Re-run kmeans with a different initialization."
                )
                if missing == "raise":
                    raise ClusterError(message)
                warnings.warn(message, UserWarning, stacklevel=3)
            code_book = np.where(has_members[:, None], means, code_book).astype(X.dtype)
    return code_book, label
