"""Where an estimator runs: the ``backend``, ``device`` and ``product_dtype`` parameters,
and the fits and predictions that go to the torch backend
(:mod:`centroids.engine.torch_backend`).

The estimators call :func:`fit_backend` (or :func:`predict_backend`) first; when it says
torch, the work is done here and the estimator's own path is skipped. torch is imported
only then, so the numba path costs nothing extra.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from .._utils.validation import check_features, check_sample_weight
from ..engine.torch_backend import (
    BACKENDS,
    PRODUCT_DTYPES,
    as_tensor_input,
    choose_backend,
    fit_kmeans_torch,
    fit_spherical_torch,
    is_device_array,
    numpy_dtype,
    predict_torch,
    weights_as_numpy,
)
from ..errors import BadDataError, BadParameterError

#: The constraints of the three parameters, merged into each estimator's table.
BACKEND_CONSTRAINTS = {
    "backend": [StrOptions(set(BACKENDS))],
    "device": "no_validation",  # a string, an index or a torch.device: checked when used
    "product_dtype": [None, StrOptions(set(PRODUCT_DTYPES))],
}

#: How the estimators' docstrings describe them (each docstring holds a copy, for
#: the API reference built from the sources; tests/test_torch_missing.py checks them).
BACKEND_PARAMETERS_DOC = """backend : {'auto', 'numba', 'torch'}, default='auto'
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
        stay the exact nearest centers; the products run on the GPU's tensor cores."""


def _work(X, n_clusters):
    """rows × features × clusters of X, from its shape or its length (0 when unknown:
    the array-likes scikit-learn's checks pass, which must not be converted here)."""
    shape = getattr(X, "shape", None)
    try:
        if shape is None and isinstance(X, list | tuple):
            shape = (len(X), len(X[0]) if len(X) else 0)
        if shape is None or len(shape) != 2:
            return 0
        return int(shape[0]) * int(shape[1]) * int(n_clusters)
    except (TypeError, ValueError):
        return 0


def _backend_for_holes(estimator):
    """The estimator's ``backend``, or 'numba' when its ``missing`` option asks for the
    holes-aware paths (centroids.engine.missing), which run on the numba engine only."""
    backend = getattr(estimator, "backend", "numba")
    missing = getattr(estimator, "missing", "error")
    if missing == "error":
        return backend
    device = getattr(estimator, "device", None)
    if backend == "torch" or device not in (None, "cpu"):
        raise BadParameterError(
            f"missing={missing!r} runs on backend='numba' only (the torch backend takes "
            f"complete rows): use backend='numba' or 'auto' with device=None, or "
            f"missing='error' on complete data."
        )
    return "numba"


def fit_backend(estimator, X):
    """The :class:`~centroids.engine.torch_backend.Backend` ``estimator.fit(X)`` runs on."""
    backend = _backend_for_holes(estimator)
    device = getattr(estimator, "device", None)
    if sp.issparse(X):
        if backend == "torch":
            raise BadDataError(
                "backend='torch' takes dense X; sparse X runs on backend='numba' (or 'auto'), "
                "which never densifies it."
            )
        return choose_backend("numba" if device in (None, "cpu") else backend, device, None, 0)
    return choose_backend(backend, device, X, _work(X, estimator.n_clusters))


def predict_backend(estimator, X):
    """The backend ``estimator.predict(X)`` runs on (the fitted estimator's parameters)."""
    backend = _backend_for_holes(estimator)
    device = getattr(estimator, "device", None)
    if sp.issparse(X) and not is_device_array(X):
        return choose_backend("numba", None, None, 0)
    return choose_backend(backend, device, X, _work(X, len(estimator.cluster_centers_)))


def check_device_features(estimator, X, *, reset, where):
    """X validated for the torch backend: a tensor or DLPack array stays on its device
    (checked there), anything else goes through the usual checks and must be dense."""
    name = type(estimator).__name__
    if is_device_array(X):
        X = as_tensor_input(X, where)
        n_features = int(X.shape[1])
        if reset:
            estimator.n_features_in_ = n_features
            estimator.__dict__.pop("feature_names_in_", None)
        elif n_features != estimator.n_features_in_:
            raise BadDataError(
                f"X has {n_features} features, but {name} is expecting "
                f"{estimator.n_features_in_} features as input."
            )
        return X
    X = check_features(estimator, X, reset=reset, where=where)
    if sp.issparse(X):
        raise BadDataError(
            f"backend='torch' takes dense X, but {name}.{where} got a sparse matrix: use "
            "backend='numba' for sparse data."
        )
    return X


def check_enough_rows(n_clusters, n_samples, sample_weight):
    if n_samples < n_clusters:
        raise BadDataError(
            f"n_samples={n_samples} should be >= n_clusters={n_clusters}: "
            f"X has fewer rows than clusters. Lower n_clusters or pass more rows."
        )
    n_weighted = int(np.count_nonzero(sample_weight))
    if n_weighted < n_clusters:
        raise BadDataError(
            f"Only {n_weighted} rows have a positive sample_weight, fewer than "
            f"n_clusters={n_clusters}; lower n_clusters or give more rows weight."
        )


def _training_data(estimator, X, sample_weight, *, check_rows=True):
    X = check_device_features(estimator, X, reset=True, where="fit")
    n_samples = int(X.shape[0])
    np_dtype = numpy_dtype(X.dtype)
    sample_weight = check_sample_weight(weights_as_numpy(sample_weight), n_samples, np_dtype)
    if check_rows:
        check_enough_rows(estimator.n_clusters, n_samples, sample_weight)
    return X, sample_weight, np_dtype


def _no_refinement(estimator):
    if getattr(estimator, "refine", "auto") is True:
        raise BadParameterError(
            "refine=True does not run on backend='torch' (its iterations are Lloyd's): use "
            "refine='auto' or False there, or backend='numba'."
        )


def fit_kmeans_on_torch(estimator, X, sample_weight, backend):
    """KMeans.fit on the torch backend: sets the same fitted attributes (NumPy)."""
    from sklearn.utils import check_random_state

    _no_refinement(estimator)
    X, sample_weight, np_dtype = _training_data(estimator, X, sample_weight)
    init, n_init = estimator._resolved_init(int(X.shape[1]), np_dtype)
    result = fit_kmeans_torch(
        X,
        sample_weight,
        n_clusters=estimator.n_clusters,
        init=init,
        n_init=n_init,
        max_iter=estimator.max_iter,
        tol=estimator.tol,
        random_state=check_random_state(estimator.random_state),
        device=backend.device,
        product_dtype=estimator.product_dtype,
        verbose=bool(estimator.verbose),
    )
    estimator.cluster_centers_ = result.centers
    estimator.labels_ = result.labels
    estimator.inertia_ = result.inertia
    estimator.n_iter_ = result.n_iter


def fit_spherical_on_torch(estimator, X, sample_weight, backend):
    """SphericalKMeans.fit on the torch backend."""
    from sklearn.utils import check_random_state

    X, sample_weight, np_dtype = _training_data(estimator, X, sample_weight)
    init, n_init = estimator._resolved_init(int(X.shape[1]), np_dtype)
    result = fit_spherical_torch(
        X,
        sample_weight,
        n_clusters=estimator.n_clusters,
        init=init,
        n_init=n_init,
        max_iter=estimator.max_iter,
        tol=estimator.tol,
        random_state=check_random_state(estimator.random_state),
        device=backend.device,
        verbose=bool(estimator.verbose),
    )
    estimator.cluster_centers_ = result.centers
    estimator.labels_ = result.labels
    estimator.inertia_ = result.inertia
    estimator.n_iter_ = result.n_iter


def minibatch_data_on_torch(estimator, X, sample_weight, backend):
    """MiniBatchKMeans.fit's inputs on the torch backend: (X as the seeding reads it,
    sample_weight as NumPy, the steps' view of the rows on the device)."""
    from ..engine.torch_backend import DeviceRows, HostSubsampler, MiniBatchData

    X, sample_weight, _ = _training_data(estimator, X, sample_weight, check_rows=False)
    data = MiniBatchData(DeviceRows(X, sample_weight, backend.device))
    return (X if isinstance(X, np.ndarray) else HostSubsampler(X)), sample_weight, data


def predict_on_torch(estimator, X, backend, sample_weight=None):
    """(labels as NumPy int32, inertia) of X under the fitted centers, on the device."""
    check_is_fitted(estimator)
    X = check_device_features(estimator, X, reset=False, where="predict")
    n_samples = int(X.shape[0])
    np_dtype = numpy_dtype(X.dtype)
    weights = check_sample_weight(weights_as_numpy(sample_weight), n_samples, np.float64)
    centers = estimator.cluster_centers_.astype(np_dtype)
    return predict_torch(
        X, centers, backend.device, weights, getattr(estimator, "product_dtype", None)
    )


def host_array(X):
    """X as NumPy when it is a tensor or CuPy array (for the numba path); else X."""
    if not is_device_array(X):
        return X
    from ..engine.torch_backend import import_torch

    torch = import_torch()
    tensor = X if isinstance(X, torch.Tensor) else torch.from_dlpack(X)
    return tensor.detach().cpu().numpy()
