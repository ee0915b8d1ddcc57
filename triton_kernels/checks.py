"""Device-side index checks shared by the kernels that read or write through an index.

A kernel that finds an index outside ``[0, limit)`` skips that access (its
loads and stores are masked) and records the index with ``report_bad_indices``
in a small ``int64[4]`` error flag that the host reads at its next
synchronization (``framework/_backends/triton/device_errors.py``):

* slot 0: the code of the first kernel that found a bad index (0: none),
* slot 1: 1 + the largest index >= limit (0: none),
* slot 2: the smallest negative index (0: none),
* slot 3: the largest limit among the failures.
"""
import triton
import triton.language as tl

# Elements per program instance of ``assert_kernel`` (a memory-bound pass over a bool array).
CHECK_CONFIGS = [{"BLOCK": 1024, "num_warps": 4}]


@triton.jit
def report_bad_indices(err_ptr, index, bad, limit, code):
    """Record the elements of the block ``index`` where ``bad`` in the error flag at
    ``err_ptr``. Only a block with a bad element touches the flag. The first kernel to fail
    claims slot 0 (compare-and-swap from 0), so the host reports the first error queued;
    the value slots take only that kernel's bad elements."""
    if tl.max(bad.to(tl.int32), axis=0) > 0:
        index = index.to(tl.int64)
        zero = tl.zeros_like(index)
        # tl.cast, not code.to(): Triton turns an int argument equal to 1 into a constexpr
        first = tl.atomic_cas(err_ptr, tl.full((), 0, tl.int64), tl.cast(code, tl.int64))
        # block-shaped comparisons (the interpreter mistypes scalar bools in masks)
        owner = (first + zero == 0) | (first + zero == code)
        mine = bad & owner
        tl.atomic_max(err_ptr + 1 + zero, tl.where(index >= 0, index + 1, 0), mask=mine)
        tl.atomic_min(err_ptr + 2 + zero, tl.where(index < 0, index, 0), mask=mine)
        tl.atomic_max(err_ptr + 3 + zero, zero + limit, mask=mine)


@triton.jit
def assert_kernel(cond_ptr, n, err_ptr, err_code, BLOCK: tl.constexpr):
    """Each program reads BLOCK elements of the contiguous bool array ``cond`` and records
    ``err_code`` in the error flag when one of them is False (a device-side assert)."""
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n  # the last block is partial
    ok = tl.load(cond_ptr + offs, mask=mask, other=1) != 0
    report_bad_indices(err_ptr, offs * 0, mask & (ok == 0), 0, err_code)


COMPILE_SPECS = [
    {"kernel": "assert_kernel", "label": "i1", "no_spills": True,
     "num_warps": CHECK_CONFIGS[0]["num_warps"],
     "signature": {"cond_ptr": "*i1", "n": "i64", "err_ptr": "*i64", "err_code": "i32"},
     "constexprs": {"BLOCK": CHECK_CONFIGS[0]["BLOCK"]}},
]
