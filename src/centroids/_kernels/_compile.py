"""How kernels are compiled: every row-chunked kernel exists in a parallel and a serial form."""

import os
import types

from numba import njit

from ..settings import JIT_OPTIONS, PARALLEL_JIT_OPTIONS, PARALLEL_MIN_WORK

# numba's thread pool cannot be used in a process forked after the pool started (GNU
# OpenMP terminates the child). Kernels note when the pool has run; a child forked
# after that runs the serial forms, which give the same results.
_pool = {"started": False, "forked_after_start": False}


def _after_fork_in_child():
    _pool["forked_after_start"] = _pool["started"]


os.register_at_fork(after_in_child=_after_fork_in_child)


class ChunkedKernel:
    """A row-chunked kernel compiled twice, over numba's thread pool and on one thread.

    Calling it runs the parallel form; :meth:`for_work` picks the serial form for small
    inputs, where waking the pool costs more than it saves, and in a process forked
    after the pool started, where the pool cannot run. Both forms visit the same
    chunks and combine them in the same order, so their results are bit-identical.
    """

    def __init__(self, func):
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__
        self.parallel = njit(**PARALLEL_JIT_OPTIONS)(func)
        # A separate function object with its own qualified name, so numba's on-disk
        # cache keeps the two compiled forms apart.
        serial_func = types.FunctionType(
            func.__code__,
            func.__globals__,
            func.__name__ + "_serial",
            func.__defaults__,
            func.__closure__,
        )
        serial_func.__qualname__ = func.__qualname__ + "_serial"
        self.serial = njit(**JIT_OPTIONS)(serial_func)

    def __call__(self, *args):
        return self.for_work(PARALLEL_MIN_WORK)(*args)

    def for_work(self, work):
        """The form to run for ``work`` multiply-adds."""
        if work < PARALLEL_MIN_WORK or _pool["forked_after_start"]:
            return self.serial
        _pool["started"] = True
        return self.parallel


def chunked_kernel(func):
    """Decorator: compile ``func`` as a :class:`ChunkedKernel`."""
    return ChunkedKernel(func)
