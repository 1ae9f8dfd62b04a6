"""Small helpers shared by the test modules: input layouts, hypothesis floats and runs
under several numba thread counts."""

import os
import subprocess
import sys

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


def stdout_per_thread_count(script, thread_counts=("1", "2")):
    """What ``python -c script`` prints in a fresh process per ``NUMBA_NUM_THREADS``."""
    outputs = []
    for threads in thread_counts:
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        outputs.append(done.stdout)
    return outputs
