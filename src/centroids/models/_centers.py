"""What estimators with centers share: sparse input, and (for Euclidean centers) predict,
transform and score once fitted."""

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._utils.validation import check_features, check_sample_weight
from ..engine import blas_limited_to_one_thread, engine_data
from ..engine import missing as with_holes
from ..engine.dask import (
    is_dask_collection,
    predict_dask,
    score_dask,
    transform_dask,
)
from ._backend import host_array, predict_backend, predict_on_torch


class SparseCentersMixin:
    """Estimators that accept sparse X and transform rows into one column per center."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]

    def to_onnx(self, *, dtype=None, opset=None):
        """The fitted model as an ONNX graph (see :func:`centroids.export.onnx.to_onnx`):
        input ``X``, outputs ``label`` and ``distances`` (those of ``transform``)."""
        from ..export.onnx import to_onnx

        return to_onnx(self, dtype=dtype, opset=opset)

    def save_onnx(self, path, *, dtype=None, opset=None):
        """Write :meth:`to_onnx`'s graph to ``path``, whole or not at all."""
        from ..export.onnx import save_onnx

        return save_onnx(self, path, dtype=dtype, opset=opset)


class EuclideanCentersMixin(SparseCentersMixin, TransformerMixin):
    """predict, transform, fit_transform and score from ``cluster_centers_``.

    For estimators whose ``fit`` sets ``cluster_centers_`` and whose rows are assigned to
    the nearest center in Euclidean distance (KMeans, MiniBatchKMeans). It is a
    ``TransformerMixin`` itself: scikit-learn wraps ``transform`` for ``set_output`` only
    in the class that defines it.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = getattr(self, "missing", "error") != "error"
        return tags

    def _check_test_data(self, X, where):
        check_is_fitted(self)
        missing = getattr(self, "missing", "error")
        X = check_features(self, X, reset=False, where=where, allow_nan=missing != "error")
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        if missing != "error" and with_holes.has_holes(X):
            with_holes.check_holes(X, where)
        return engine_data(X), centers

    def _holes(self, data):
        """The ``missing`` option when rows of ``data`` have holes it handles, else None."""
        missing = getattr(self, "missing", "error")
        return missing if missing != "error" and with_holes.has_holes(data.X) else None

    def predict(self, X):
        """Index of the closest center for every row of X.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Rows with the same features (and column names) as in fit.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
        """
        if is_dask_collection(X):
            return predict_dask(self, X)
        check_is_fitted(self)
        backend = predict_backend(self, X)
        if backend.is_torch:
            return predict_on_torch(self, X, backend)[0]
        data, centers = self._check_test_data(X, "predict")
        if missing := self._holes(data):
            return with_holes.predict_with_holes(data.X, centers, missing)
        with blas_limited_to_one_thread():
            labels, _, _ = data.assign_labels(np.ones(data.n_rows, dtype=data.dtype), centers)
        return labels

    def transform(self, X):
        """Euclidean distance from every row of X to every center.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters), in X's float dtype
        """
        if is_dask_collection(X):
            return transform_dask(self, X)
        data, centers = self._check_test_data(host_array(X), "transform")
        if missing := self._holes(data):
            return with_holes.transform_with_holes(data.X, centers, missing).astype(data.dtype)
        with blas_limited_to_one_thread():
            sq_distances = data.sq_distances(centers)
        return np.sqrt(sq_distances, out=sq_distances)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the distances from every row to every center."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of X under the fitted centers (higher is better).

        Returns
        -------
        score : float
            ``-Σ w_i min_c ||x_i - c||²``.
        """
        if is_dask_collection(X):
            return score_dask(self, X, sample_weight)
        check_is_fitted(self)
        backend = predict_backend(self, X)
        if backend.is_torch:
            return -predict_on_torch(self, X, backend, sample_weight)[1]
        data, centers = self._check_test_data(X, "score")
        sample_weight = check_sample_weight(sample_weight, data.n_rows, data.dtype)
        if missing := self._holes(data):
            return with_holes.score_with_holes(data.X, sample_weight, centers, missing)
        with blas_limited_to_one_thread():
            _, _, inertia = data.assign_labels(sample_weight, centers)
        return -inertia
