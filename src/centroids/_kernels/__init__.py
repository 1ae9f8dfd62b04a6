"""Numba kernels: pure functions over arrays.

Prior validation of the data is assumed: kernels take buffers allocated by the
caller (marked ``# OUT`` in their signatures), check nothing and allocate at most
O(number of chunks) or O(k·d) scratch space. Dense kernels take C-ordered arrays
of float32 or float64; sparse kernels take the ``data``, ``indices`` and ``indptr``
arrays of a CSR matrix. Assignment distances are computed in the input's dtype
(float32 stays float32); sums, norms, inertia and bounds accumulate in float64.
"""
