"""Small helpers shared by the test modules: input layouts and hypothesis floats."""

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st


def as_layout(X, layout):
    """X as a CSR matrix (``layout == "csr"``) or as a C-ordered array."""
    return sp.csr_matrix(X) if layout == "csr" else np.ascontiguousarray(X)


def finite_floats(dtype, bound=100.0):
    """Finite, normal floats of ``dtype``'s width in ``[-bound, bound]``."""
    return st.floats(
        -bound,
        bound,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
        width=np.dtype(dtype).itemsize * 8,
    )
