"""What estimators with centers share: sparse input, and (for Euclidean centers) predict,
transform and score once fitted."""

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._utils.validation import check_features, check_sample_weight
from ..engine import blas_limited_to_one_thread, engine_data
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


class EuclideanCentersMixin(SparseCentersMixin, TransformerMixin):
    """predict, transform, fit_transform and score from ``cluster_centers_``.

    For estimators whose ``fit`` sets ``cluster_centers_`` and whose rows are assigned to
    the nearest center in Euclidean distance (KMeans, MiniBatchKMeans). It is a
    ``TransformerMixin`` itself: scikit-learn wraps ``transform`` for ``set_output`` only
    in the class that defines it.
    """

    def _check_test_data(self, X, where):
        check_is_fitted(self)
        X = check_features(self, X, reset=False, where=where)
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        return engine_data(X), centers

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
        check_is_fitted(self)
        backend = predict_backend(self, X)
        if backend.is_torch:
            return predict_on_torch(self, X, backend)[0]
        data, centers = self._check_test_data(X, "predict")
        with blas_limited_to_one_thread():
            labels, _, _ = data.assign_labels(np.ones(data.n_rows, dtype=data.dtype), centers)
        return labels

    def transform(self, X):
        """Euclidean distance from every row of X to every center.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters), in X's float dtype
        """
        data, centers = self._check_test_data(host_array(X), "transform")
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
        check_is_fitted(self)
        backend = predict_backend(self, X)
        if backend.is_torch:
            return -predict_on_torch(self, X, backend, sample_weight)[1]
        data, centers = self._check_test_data(X, "score")
        sample_weight = check_sample_weight(sample_weight, data.n_rows, data.dtype)
        with blas_limited_to_one_thread():
            _, _, inertia = data.assign_labels(sample_weight, centers)
        return -inertia
