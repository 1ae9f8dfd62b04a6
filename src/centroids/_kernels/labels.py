"""Kernels over label vectors, shared by dense and sparse data."""

import numpy as np
from numba import njit

from .._config import JIT_OPTIONS


@njit(**JIT_OPTIONS)
def group_rows_by_label(labels, n_clusters, order, starts):
    """Stable counting sort of row indices by label.

    After the call, ``order[starts[c]:starts[c + 1]]`` lists, in increasing order,
    the rows labelled ``c``.

    labels : (n,) int IN; order : (n,) int64 OUT; starts : (n_clusters + 1,) int64 OUT.
    """
    starts[:] = 0
    for i in range(labels.shape[0]):
        starts[labels[i] + 1] += 1
    for c in range(n_clusters):
        starts[c + 1] += starts[c]
    position = starts[:-1].copy()
    for i in range(labels.shape[0]):
        c = labels[i]
        order[position[c]] = i
        position[c] += 1


@njit(**JIT_OPTIONS)
def count_distinct_labels(labels, n_clusters):
    """Number of distinct values in ``labels`` (values in ``[0, n_clusters)``)."""
    seen = np.zeros(n_clusters, dtype=np.bool_)
    for i in range(labels.shape[0]):
        seen[labels[i]] = True
    return int(seen.sum())
