"""Running a CPU kernel's independent pieces (blocks of images) on several threads.

NumPy releases the GIL in array copies, ufunc loops and BLAS calls, so pieces
that write disjoint outputs run in parallel on Python threads. The thread count
is the one the BLAS library is told to use (``OPENBLAS_NUM_THREADS``, else
``OMP_NUM_THREADS``, else 1), so ``OMP_NUM_THREADS=2`` gives two threads to the
convolutions as it does to PyTorch's. OpenBLAS runs a GEMM single threaded
below about 2.6e5 multiply-adds (M*N*K), which one image's GEMMs of LeNet are;
larger ones may use its threads too.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

_EXECUTOR: list = [None, 0, 0]  # a cache: [executor, its worker count, the process it serves]


def threads() -> int:
    """The number of threads CPU kernels may use (at least 1)."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "")
        if value.strip().isdigit():
            return max(1, int(value))
    return 1


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


def run_pieces(fn: Callable, pieces: Sequence, count: int) -> list:
    """``[fn(piece) for piece in pieces]``, the pieces split into ``count`` runs of
    consecutive pieces, all but the first run on the pool's threads."""
    pieces = list(pieces)
    if count <= 1 or len(pieces) <= 1:
        return [fn(piece) for piece in pieces]
    count = min(count, len(pieces))
    bounds = [len(pieces) * k // count for k in range(count + 1)]
    runs = [pieces[bounds[k]:bounds[k + 1]] for k in range(count)]
    futures = [_executor(count - 1).submit(lambda run=run: [fn(p) for p in run])
               for run in runs[1:]]
    results = [fn(piece) for piece in runs[0]]
    for future in futures:
        results.extend(future.result())
    return results
