"""Device-side index checks shared by the kernels that read or write through an index.

A kernel that finds an index outside ``[0, limit)`` skips that access (its
loads and stores are masked) and records the index with ``report_bad_indices``
in a small ``int64[4]`` error flag that the host reads at its next
synchronization (``framework/backends/triton/device_errors.py``):

* slot 0: the largest code of a kernel that found a bad index,
* slot 1: 1 + the largest index >= limit (0: none),
* slot 2: the smallest negative index (0: none),
* slot 3: the largest limit among the failures.
"""
import triton
import triton.language as tl


@triton.jit
def report_bad_indices(err_ptr, index, bad, limit, code):
    """Record the elements of the block ``index`` where ``bad`` in the error flag at
    ``err_ptr``. Every atomic is masked by ``bad``: a block without bad indices does none."""
    index = index.to(tl.int64)
    zero = tl.zeros_like(index)
    tl.atomic_max(err_ptr + zero, zero + code, mask=bad)
    tl.atomic_max(err_ptr + 1 + zero, tl.where(index >= 0, index + 1, 0), mask=bad)
    tl.atomic_min(err_ptr + 2 + zero, tl.where(index < 0, index, 0), mask=bad)
    tl.atomic_max(err_ptr + 3 + zero, zero + limit, mask=bad)
