"""Launch wrappers: sorting, searching and counting on ``cuda`` (kernels in
``triton_kernels/sort.py``).

``sort`` views the operand as rows around the sorted dim (like the scans):
rows that fit one bitonic block (up to ``MAX_SORT_BLOCK``) are sorted and
written in one launch; longer rows are sorted in blocks whose (key, index)
pairs are merged pass after pass, each pass doubling the sorted run width,
the last one writing the output. ``unique`` is a sort of the flattened input
followed by group bookkeeping; ``searchsorted`` is a binary search per value;
``bincount`` adds with atomics.
"""
from __future__ import annotations

import math

import triton

from ... import dtypes
from ..array import Array
from . import runtime
from .launch import pointer
from .memory import cast, contiguous, empty, full, to_numpy
from .scan import Rows, cumsum


def _kernels():
    return runtime.kernels().sort


def sort(x: Array, dim: int, descending: bool, stable: bool) -> tuple:
    """(values, int64 indices) sorted along ``dim``; NaN largest; always stable."""
    values = empty(x.shape, x.dtype)
    indices = empty(x.shape, dtypes.int64)
    if values.numel == 0:
        return values, indices
    rows = Rows(x, dim)
    k = _kernels()
    block = max(2, min(triton.next_power_of_2(rows.N), k.MAX_SORT_BLOCK))
    chunks = triton.cdiv(rows.N, block)
    final = chunks == 1
    keys = empty((rows.M, rows.N), dtypes.int64) if not final else indices
    order = empty((rows.M, rows.N), dtypes.int64) if not final else indices
    k.sort_block_kernel[(rows.M, chunks)](
        pointer(rows.array), pointer(keys), pointer(order), pointer(values), *rows.geometry(),
        DESCENDING=descending, FINAL=final, BLOCK=block, LOG_BLOCK=int(math.log2(block)),
        num_warps=k.NUM_WARPS)
    if final:
        return values, indices
    width = block
    keys_out = empty((rows.M, rows.N), dtypes.int64)
    order_out = empty((rows.M, rows.N), dtypes.int64)
    while width < rows.N:
        last = 2 * width >= rows.N
        k.merge_pass_kernel[(rows.M, triton.cdiv(rows.N, k.MERGE_BLOCK))](
            pointer(keys), pointer(order), pointer(keys_out),
            pointer(indices if last else order_out), pointer(rows.array), pointer(values),
            *rows.geometry(), width, width.bit_length(), FINAL=last, BLOCK=k.MERGE_BLOCK,
            num_warps=k.NUM_WARPS)
        keys, keys_out = keys_out, keys
        order, order_out = order_out, order
        width *= 2
    return values, indices


def searchsorted(sorted_sequence: Array, values: Array, right: bool, out_dtype,
                 sorter) -> Array:
    """Insertion index of each value in its row of ``sorted_sequence`` (1-D, or the same
    leading dims as ``values``), read through ``sorter`` when given; ``out_dtype`` int32/64."""
    out = empty(values.shape, out_dtype)
    if out.numel == 0:
        return out
    seq = contiguous(sorted_sequence)
    vals = contiguous(values)
    n = seq.shape[-1] if seq.ndim else 1
    per_row = vals.shape[-1] if seq.ndim > 1 else max(out.numel, 1)
    row_stride = n if seq.ndim > 1 else 0
    k = _kernels()
    sorter_arg = cast(sorter, dtypes.int64) if sorter is not None else seq
    k.searchsorted_kernel[(triton.cdiv(out.numel, k.BLOCK),)](
        pointer(seq), pointer(sorter_arg), pointer(vals), pointer(out), out.numel, n, per_row,
        row_stride, n.bit_length() + 1, RIGHT=right, HAS_SORTER=sorter is not None,
        BLOCK=k.BLOCK, num_warps=k.NUM_WARPS)
    return out


def bincount(x: Array, weights, minlength: int, out_dtype) -> Array:
    """``out[v]`` = number (or total weight) of the elements equal to v, for v <
    max(max(x) + 1, minlength)."""
    from .reduce import amax
    largest = int(to_numpy(amax(x, (0,)))) if x.numel else -1
    size = max(largest + 1, minlength)
    acc = dtypes.float32 if out_dtype in (dtypes.float16, dtypes.bfloat16) else out_dtype
    out = full((size,), 0, acc)
    if x.numel:
        k = _kernels()
        w = contiguous(weights) if weights is not None else out
        k.bincount_kernel[(triton.cdiv(x.numel, k.BLOCK),)](
            pointer(contiguous(x)), pointer(w), pointer(out), x.numel,
            HAS_WEIGHTS=weights is not None, BLOCK=k.BLOCK, num_warps=k.NUM_WARPS)
    return out if acc is out_dtype else cast(out, out_dtype)


def unique(x: Array) -> tuple:
    """(sorted unique values, int64 inverse of x's shape, int64 counts); every NaN is its own
    value (NaN != NaN)."""
    flat = contiguous(x)
    flat = flat.view((x.numel,), (1,), flat.offset)
    n = x.numel
    inverse = empty(x.shape, dtypes.int64)
    if n == 0:
        return empty((0,), x.dtype), inverse, empty((0,), dtypes.int64)
    k = _kernels()
    ordered, order = sort(flat, 0, False, True)
    flags = empty((n,), dtypes.int64)
    grid = (triton.cdiv(n, k.BLOCK),)
    k.group_starts_kernel[grid](pointer(ordered), pointer(flags), n, BLOCK=k.BLOCK,
                                num_warps=k.NUM_WARPS)
    running = cumsum(flags, 0, dtypes.int64)
    groups = int(to_numpy(running.view((1,), (1,), running.offset + n - 1))[0])
    values = empty((groups,), x.dtype)
    starts = empty((groups,), dtypes.int64)
    ends = empty((groups,), dtypes.int64)
    group_ids = _minus_one(running)
    k.unique_groups_kernel[grid](pointer(ordered), pointer(order), pointer(group_ids),
                                 pointer(values), pointer(starts), pointer(ends),
                                 pointer(inverse), n, BLOCK=k.BLOCK, num_warps=k.NUM_WARPS)
    from .elementwise import KERNELS as ELEMENTWISE
    counts = ELEMENTWISE["sub"](ends, starts, dtypes.int64, dtypes.int64)
    return values, inverse, counts


def _minus_one(a: Array) -> Array:
    from .elementwise import KERNELS as ELEMENTWISE
    return ELEMENTWISE["sub"](a, 1, dtypes.int64, dtypes.int64)


KERNELS = {"sort": sort, "searchsorted": searchsorted, "bincount": bincount, "unique": unique}
