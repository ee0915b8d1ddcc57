"""Running a row-wise CPU kernel on blocks of rows, over ``threads()`` threads.

A kernel whose rows are independent (norm rows) writes each block of rows of its
fresh results from the same block of its inputs, so a block computed on another
thread gives the bits the one-thread pass gives: every row sees the same NumPy calls
on the same values. NumPy releases the GIL in ufunc loops, copies, reductions and BLAS
calls, so the blocks can run in parallel; but every NumPy call of a block takes the GIL
back, and on the 2-core VM a hand-off between two threads costs about as much as a
5-25 us call, so a kernel splits only from ``min_elements`` on (its own measured
break-even; docs/perf.md, ``char2``). Small BLAS calls from two threads at once
serialize inside OpenBLAS, so a kernel made of them (attention's per-matrix products)
is not split at all.
"""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np

from ._parallel import _executor, one_blas_thread, threads


# block bounds are multiples of this many rows: a BLAS kernel that handles rows in groups
# (matrix-vector products, GEMMs' row panels) then groups every row of a block as it does
# in the whole array, and the last block keeps the whole array's remainder
ALIGN = 16


def row_blocks(rows: int, elements: int, min_elements: int) -> list:
    """``[(start, stop), ...]``: ``rows`` split into one block per thread (bounds at multiples
    of ``ALIGN``) when the kernel touches at least ``min_elements`` elements, else one block
    of all rows."""
    count = min(threads(), rows // ALIGN)
    if count <= 1 or elements < min_elements:
        return [(0, rows)]
    bounds = [rows * k // count // ALIGN * ALIGN for k in range(count)] + [rows]
    return list(zip(bounds[:-1], bounds[1:]))


def run_rows(fn: Callable, blocks: list) -> None:
    """``fn(start, stop)`` for every block, with NumPy's floating-point warnings silenced in
    each (IEEE results: inf, NaN); ``fn`` writes its block of the kernel's results.

    With several blocks, the pool's threads and the calling thread each take the next
    block not yet taken until none is left, and the caller then waits for the blocks
    taken by others: on a busy machine, where a pool thread gets no core for a while,
    the caller does the blocks itself instead of waiting (never much slower than one
    thread). OpenBLAS runs one thread per call meanwhile, as in ``run_pieces``."""
    if len(blocks) == 1:
        with np.errstate(all="ignore"):
            fn(*blocks[0])
        return
    taken = iter(range(len(blocks)))  # next() on it is atomic under the GIL
    lock = threading.Lock()
    done = [threading.Event() for _ in blocks]
    errors: list = []

    def work() -> None:
        with np.errstate(all="ignore"):  # the error state is per thread
            while True:
                with lock:
                    index = next(taken, None)
                if index is None:
                    return
                try:
                    fn(*blocks[index])
                except BaseException as exc:  # re-raised in the calling thread
                    errors.append(exc)
                finally:
                    done[index].set()

    with one_blas_thread():
        executor = _executor(len(blocks) - 1)
        for _ in range(len(blocks) - 1):
            executor.submit(work)
        work()
        for event in done:
            event.wait()
    if errors:
        raise errors[0]
