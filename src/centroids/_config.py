"""Compile flags and work sizes shared by every kernel.

Kept in one place so that no kernel hard-codes a chunk size or a numba option.
"""

#: Flags for sequential kernels. ``cache=True`` stores the compiled machine code
#: next to the sources, so only the first call on a machine pays for compilation.
#: ``fastmath`` stays off: reductions must keep IEEE order for results that do not
#: depend on the thread count, and NaN/inf must behave as IEEE says.
JIT_OPTIONS = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}

#: Flags for kernels that split their rows over numba's thread pool.
PARALLEL_JIT_OPTIONS = {**JIT_OPTIONS, "parallel": True}

#: Rows handled together by one thread. Every parallel kernel cuts its rows into
#: chunks of this size, whatever the number of threads, and combines per-chunk
#: partial results in chunk order: the same input gives bit-identical output on
#: any number of threads.
CHUNK_ROWS = 256

#: Number of row blocks for reductions whose partial results are vectors (column
#: sums, variances). Fixed, not tied to the thread count, for the same reason as
#: ``CHUNK_ROWS``; bounds the scratch space to ``REDUCTION_BLOCKS × d`` values.
REDUCTION_BLOCKS = 64

#: Below this much work (multiply-adds: rows × centers × features for dense data,
#: non-zeros × centers for sparse data) a kernel runs on the calling thread: waking
#: the thread pool costs more than it saves. Both paths cut the rows into the same
#: chunks and combine them in the same order, so the choice never changes a result.
PARALLEL_MIN_WORK = 1 << 18
