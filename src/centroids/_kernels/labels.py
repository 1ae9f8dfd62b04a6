"""Kernels over label vectors, shared by dense and sparse data."""

import numpy as np
from numba import njit

from ..settings import JIT_OPTIONS


@njit(**JIT_OPTIONS)
def count_distinct_labels(labels, n_clusters):
    """Number of distinct values in ``labels`` (values in ``[0, n_clusters)``)."""
    seen = np.zeros(n_clusters, dtype=np.bool_)
    for i in range(labels.shape[0]):
        seen[labels[i]] = True
    return int(seen.sum())
