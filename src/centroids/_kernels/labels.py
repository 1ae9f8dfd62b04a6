"""Functions over label vectors, shared by dense and sparse data."""

import numpy as np


def count_distinct_labels(labels, n_clusters):
    """Number of distinct values in ``labels`` (values in ``[0, n_clusters)``).

    NumPy, not numba: one pass of ``bincount`` costs microseconds, and every fit calls
    this once, so a compiled form only added its compile time to a cold first fit
    (issue 16 item 5).
    """
    return int(np.count_nonzero(np.bincount(labels, minlength=n_clusters)))
