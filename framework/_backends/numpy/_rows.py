"""Running a row-wise CPU kernel on blocks of rows, over ``threads()`` threads.

Kernels whose rows are independent (norm rows, attention's batch of heads, a GEMM
epilogue's bias and activation) write each block of rows of their fresh results
from the same block of their inputs, so a block computed on another thread gives
the bits the one-thread pass gives: every row sees the same NumPy calls on the same
values. NumPy releases the GIL in ufunc loops, copies, reductions and BLAS calls, so
the blocks run in parallel. A hand-off costs ~20-50 us, so a kernel splits only
from ``min_elements`` on (its own measured break-even).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ._parallel import run_pieces, threads


def row_blocks(rows: int, elements: int, min_elements: int) -> list:
    """``[(start, stop), ...]``: ``rows`` split into one block per thread when the kernel
    touches at least ``min_elements`` elements (else one block of all rows)."""
    count = min(threads(), rows)
    if count <= 1 or elements < min_elements:
        return [(0, rows)]
    return [(rows * k // count, rows * (k + 1) // count) for k in range(count)]


def run_rows(fn: Callable, blocks: list) -> None:
    """``fn(start, stop)`` for every block (on the pool's threads when more than one), with
    NumPy's floating-point warnings silenced in each (IEEE results: inf, NaN). ``fn``
    writes its block of the kernel's results; its return value is ignored."""
    if len(blocks) == 1:
        with np.errstate(all="ignore"):
            fn(*blocks[0])
        return

    def block(bounds):
        with np.errstate(all="ignore"):  # the error state is per thread
            fn(*bounds)

    run_pieces(block, blocks, len(blocks))
