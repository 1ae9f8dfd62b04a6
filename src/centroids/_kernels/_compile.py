"""How kernels are compiled: every row-chunked kernel exists in a parallel and a serial form."""

import types

from numba import njit

from .._config import JIT_OPTIONS, PARALLEL_JIT_OPTIONS, PARALLEL_MIN_WORK


class ChunkedKernel:
    """A row-chunked kernel compiled twice, over numba's thread pool and on one thread.

    Calling it runs the parallel form; :meth:`for_work` picks the serial form for small
    inputs, where waking the pool costs more than it saves. Both forms visit the same
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
        return self.parallel(*args)

    def for_work(self, work):
        """The form to run for ``work`` multiply-adds."""
        return self.parallel if work >= PARALLEL_MIN_WORK else self.serial


def chunked_kernel(func):
    """Decorator: compile ``func`` as a :class:`ChunkedKernel`."""
    return ChunkedKernel(func)
