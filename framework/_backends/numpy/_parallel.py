"""Running a CPU kernel's independent pieces (blocks of images) on several threads.

NumPy releases the GIL in array copies, ufunc loops and BLAS calls, so pieces
that write disjoint outputs run in parallel on Python threads. The thread count
is the one the BLAS library is told to use (``OPENBLAS_NUM_THREADS``, else
``OMP_NUM_THREADS``, else 1), so ``OMP_NUM_THREADS=2`` gives two threads to the
convolutions as it does to PyTorch's. OpenBLAS runs a GEMM single threaded
below about 2.6e5 multiply-adds (M*N*K), which one image's GEMMs of LeNet are;
larger ones (mnist_cnn's second layer: 32 x 144 x 196) would use its threads too, so
while pieces run on several threads OpenBLAS is told to use one thread per call
(two pool threads each waking OpenBLAS's workers oversubscribe the cores and queue
on its thread server). OpenBLAS splits a GEMM over rows and columns, never over
the summed dimension, so its results do not depend on its thread count.

Large elementwise passes (relu and its backward, binary ufuncs, dropout) are split
the same way, into blocks of elements (``run_blocks``, ``flat_blocks``) above
``SPLIT_ELEMENTS``: every element is computed alone, so the result is the one-thread
result bit for bit. A hand-off to a pool thread and back costs ~40 us on the 2-core VM.
"""
from __future__ import annotations

import contextlib
import ctypes
import glob
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

_EXECUTOR: list = [None, 0, 0]  # a cache: [executor, its worker count, the process it serves]
_SET_THREADS: list = [None]  # framework.set_num_threads(n): [n], else [None] (the environment's)
_BLAS: list = []  # a cache, filled on first use: [(set_num_threads, get_num_threads) or None]
_BLAS_SYMBOLS = ("scipy_openblas{}_num_threads64_", "scipy_openblas{}_num_threads",
                 "openblas{}_num_threads64_", "openblas{}_num_threads")


def threads() -> int:
    """The number of threads CPU kernels may use (at least 1): the count given to
    ``framework.set_num_threads``, else the environment's."""
    if _SET_THREADS[0] is not None:
        return _SET_THREADS[0]
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "")
        if value.strip().isdigit():
            return max(1, int(value))
    return 1


def set_threads(count: "int | None") -> None:
    """Use ``count`` threads from now on (``framework.set_num_threads``), OpenBLAS's count
    included; None goes back to the environment's count."""
    _SET_THREADS[0] = count
    control = _blas_threads_control()
    if control is not None:
        control[0](threads())


def _executor(workers: int) -> ThreadPoolExecutor:
    """The shared pool of ``workers`` threads, made again after a fork (a child process
    has none of its parent's threads) or when the count changed."""
    executor, count, pid = _EXECUTOR
    if executor is None or count != workers or pid != os.getpid():
        if executor is not None and pid == os.getpid():
            executor.shutdown(wait=False)  # idle: its threads end
        executor = ThreadPoolExecutor(workers, thread_name_prefix="framework-cpu")
        _EXECUTOR[:] = [executor, workers, os.getpid()]
    return executor


def _blas_threads_control():
    """``(set_num_threads, get_num_threads)`` of the OpenBLAS that NumPy bundles (found by
    its exported symbols, as threadpoolctl does), or None (another BLAS, or none found)."""
    if not _BLAS:
        setter = openblas_function([p.format("_set") for p in _BLAS_SYMBOLS], [ctypes.c_int])
        getter = openblas_function([p.format("_get") for p in _BLAS_SYMBOLS], [], ctypes.c_int)
        _BLAS.append((setter, getter) if setter is not None and getter is not None else None)
    return _BLAS[0]


def openblas_function(names: Sequence, argtypes: list, restype=None):
    """The first of ``names`` exported by the OpenBLAS that NumPy bundles, as a ctypes
    function with ``argtypes`` and ``restype``; None when none is found."""
    import numpy as np
    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs, "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes, fn.restype = argtypes, restype
                return fn
    return None


def run_pieces(fn: Callable, pieces: Sequence, count: int) -> list:
    """``[fn(piece) for piece in pieces]``, the pieces split into ``count`` runs of
    consecutive pieces, all but the first run on the pool's threads."""
    pieces = list(pieces)
    if count <= 1 or len(pieces) <= 1:
        return [fn(piece) for piece in pieces]
    count = min(count, len(pieces))
    bounds = [len(pieces) * k // count for k in range(count + 1)]
    runs = [pieces[bounds[k]:bounds[k + 1]] for k in range(count)]
    with one_blas_thread():  # one BLAS thread per piece: the pool's threads are the parallelism
        futures = [_executor(count - 1).submit(lambda run=run: [fn(p) for p in run])
                   for run in runs[1:]]
        results = [fn(piece) for piece in runs[0]]
        for future in futures:
            results.extend(future.result())
    return results


@contextlib.contextmanager
def one_blas_thread():
    """OpenBLAS (NumPy's) on one thread per call while the block runs, its count restored
    afterwards (also after an exception); a no-op for another BLAS."""
    control = _blas_threads_control()
    blas_threads = control[1]() if control is not None else 1
    if blas_threads > 1:
        control[0](1)
    try:
        yield
    finally:
        if blas_threads > 1:
            control[0](blas_threads)


# elementwise passes over at least this many elements are split over ``threads()`` threads
# (a NumPy ufunc pass costs ~0.1-0.4 ns per element on the 2-core VM, a hand-off to a pool
# thread and back ~40 us, so smaller passes stay on the calling thread)
SPLIT_ELEMENTS = 1 << 18


def split_count(size: int, minimum: "int | None" = None) -> int:
    """How many threads a pass over ``size`` elements runs on: ``threads()`` from
    ``minimum`` elements on (default ``SPLIT_ELEMENTS``), else 1."""
    return threads() if size >= (SPLIT_ELEMENTS if minimum is None else minimum) else 1


def run_blocks(fn: Callable, n: int, count: int, align: int = 1) -> list:
    """``fn(start, stop)`` over ``count`` consecutive blocks of ``range(n)`` (block bounds
    multiples of ``align``), the first on the calling thread, the others on the pool's.
    Each block must write only its own part of any output (no two blocks share one)."""
    units = -(-n // align)
    count = max(1, min(count, units))
    if count == 1:
        return [fn(0, n)]
    bounds = [min(n, (units * k // count) * align) for k in range(count + 1)]
    return run_pieces(lambda block: fn(*block), list(zip(bounds[:-1], bounds[1:])), count)


def flat_blocks(fn: Callable, arrays: Sequence, count: int, align: int = 1) -> None:
    """``fn(*blocks)`` on ``count`` threads, each with the same flat element range of every
    one of ``arrays`` (C-contiguous, one size): an elementwise pass split over threads
    (bit for bit the one-thread pass, as every element is computed alone)."""
    flat = [a.reshape(-1) for a in arrays]
    run_blocks(lambda start, stop: fn(*[a[start:stop] for a in flat]), flat[0].size, count,
               align)
