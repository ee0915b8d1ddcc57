"""Launch wrappers: indexing kernels on ``cuda`` (kernels in ``triton_kernels/indexing.py``).

Gather and scatter walk ``index``'s shape; the other operand's strides are
passed with the indexed dim's stride set to 0 and that stride separately, so
the walk collapses like any strided copy (``launch.pack_strided``). Scatters
copy the input into a fresh contiguous output first; atomic accumulation of
half types (and bools) runs in a float32 (int32) buffer cast back at the end.

Index ranges are checked by the kernels, not here: a bad index is flagged on
the device and raised at the next host synchronization (``device_errors``),
so none of these wrappers reads device memory on the host (except
``nonzero``, whose output size is data dependent).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import triton

from ... import dtypes
from ..array import Array
from . import device_errors, runtime
from .launch import grid_1d, pack_strided, pointer
from .memory import cast, contiguous, empty, from_numpy, to_numpy
from .sort import sort

# Atomic adds run in these types (Triton has no bf16/bool atomics on every GPU).
_ACCUMULATE_DTYPE = {"float16": dtypes.float32, "bfloat16": dtypes.float32, "bool": dtypes.int32}


def _kernels():
    return runtime.kernels().indexing


@functools.lru_cache(maxsize=None)
def _launch_config() -> tuple:
    """``(BLOCK, num_warps)`` of ``triton_kernels.indexing.INDEXING_CONFIGS`` (read at the first
    launch: importing the kernels fixes the interpreter mode)."""
    config = _kernels().INDEXING_CONFIGS[0]
    return config["BLOCK"], config["num_warps"]


def _without_dim(strides: tuple, dim: int) -> tuple:
    return tuple(0 if d == dim else s for d, s in enumerate(strides))


def gather(x: Array, dim: int, index: Array) -> Array:
    """``out[i] = x[i with i[dim] = index[i]]``; the result has ``index``'s shape."""
    out = empty(index.shape, x.dtype)
    n = out.numel
    if n == 0:
        return out
    sizes, (x_strides, i_strides) = pack_strided(index.shape, _without_dim(x.strides, dim),
                                                 index.strides)
    block, warps = _launch_config()
    _kernels().gather_kernel[grid_1d(n, block)](
        pointer(x), pointer(index), pointer(out), n, x.shape[dim], x.strides[dim],
        *sizes, *x_strides, *i_strides, *device_errors.flag_args("gather"), BLOCK=block,
        num_warps=warps)
    return out


def _scatter(x: Array, dim: int, index: Array, src: Array, accumulate: bool) -> Array:
    work_dtype = _ACCUMULATE_DTYPE.get(x.dtype.name, x.dtype) if accumulate else x.dtype
    out = cast(x, work_dtype)  # fresh, contiguous
    n = index.numel
    if n:
        if src.storage is out.storage:
            src = contiguous(src, force=True)
        sizes, (o_strides, i_strides, s_strides) = pack_strided(
            index.shape, _without_dim(out.strides, dim), index.strides,
            src.view(index.shape, src.strides, src.offset))
        block, warps = _launch_config()
        _kernels().scatter_kernel[grid_1d(n, block)](
            pointer(out), pointer(index), pointer(src), n, out.shape[dim], out.strides[dim],
            *sizes, *o_strides, *i_strides, *s_strides,
            *device_errors.flag_args("scatter_add" if accumulate else "scatter"),
            ACCUMULATE=accumulate, BLOCK=block, num_warps=warps)
    if work_dtype is not x.dtype:
        out = cast(out, x.dtype)
    return out


def scatter(x: Array, dim: int, index: Array, src: Array) -> Array:
    """A copy of ``x`` with ``src[i]`` stored at ``i`` with ``i[dim] = index[i]``."""
    return _scatter(x, dim, index, src, accumulate=False)


def scatter_add(x: Array, dim: int, index: Array, src: Array) -> Array:
    """A copy of ``x`` with ``src[i]`` added at ``i`` with ``i[dim] = index[i]``.

    A row index (``index`` varies along ``dim`` only and covers ``x`` in the
    other dims) takes the deterministic sorted segment sum; any other index
    adds with atomics (summation order varies between runs).
    """
    if _is_row_index(x, dim, index) and x.dtype is not dtypes.bool and index.numel:
        return _row_scatter_add(x, dim, index, src)
    return _scatter(x, dim, index, src, accumulate=True)


def _is_row_index(x: Array, dim: int, index: Array) -> bool:
    """True when ``index`` is one 1-D row index broadcast over every other dim of ``x``."""
    return all(d == dim or (size == x.shape[d] and (stride == 0 or size == 1))
               for d, (size, stride) in enumerate(zip(index.shape, index.strides)))


def _row_scatter_add(x: Array, dim: int, index: Array, src: Array) -> Array:
    """Deterministic ``scatter_add`` of whole rows, all on the device: sort the row indices
    stably, then sum each run of equal indices in order into its target row."""
    n = index.shape[dim]
    rows = index.view((n,), (index.strides[dim],), index.offset)
    if rows.dtype is not dtypes.int64:
        rows = cast(rows, dtypes.int64)
    ordered, order = sort(rows, 0, False, True)
    out = cast(x, x.dtype)  # fresh, contiguous
    source = contiguous(src.view(index.shape, src.strides, src.offset), force=True)
    outer = math.prod(x.shape[:dim])
    inner = math.prod(x.shape[dim + 1:])
    n_cols = outer * inner
    if n_cols == 0:
        return out
    max_block, warps = _launch_config()
    block = min(max_block, triton.next_power_of_2(n_cols))
    _kernels().sorted_segment_sum_kernel[(n, triton.cdiv(n_cols, block))](
        pointer(out), pointer(source), pointer(ordered), pointer(order), n, x.shape[dim], n_cols,
        inner, *device_errors.flag_args("scatter_add"), ACC=_accumulator(x.dtype), BLOCK=block,
        num_warps=warps)
    return out


def _accumulator(dtype):
    """Triton type of a segment sum: float32 for halves, int64 for integers."""
    import triton.language as tl
    if dtype.is_floating_point:
        return tl.float64 if dtype is dtypes.float64 else tl.float32
    return tl.int64


# scatter_reduce works in these types: 32/64-bit elements (compare-and-swap needs them).
_REDUCE_DTYPE = {"float16": dtypes.float32, "bfloat16": dtypes.float32, "bool": dtypes.int32,
                 "int8": dtypes.int32, "uint8": dtypes.int32, "int16": dtypes.int32}


def scatter_reduce(x: Array, dim: int, index: Array, src: Array, reduce: str) -> Array:
    """A copy of ``x`` with each ``src[i]`` folded into ``out[i with i[dim] = index[i]]`` by
    ``reduce`` ('sum' with atomic adds; 'prod', 'amax', 'amin' with compare-and-swap loops).
    Half and small integer types work in a 32-bit buffer cast back at the end."""
    import triton.language as tl
    work_dtype = _REDUCE_DTYPE.get(x.dtype.name, x.dtype)
    out = cast(x, work_dtype)  # fresh, contiguous
    n = index.numel
    if n:
        if src.storage is out.storage:
            src = contiguous(src, force=True)
        sizes, (o_strides, i_strides, s_strides) = pack_strided(
            index.shape, _without_dim(out.strides, dim), index.strides,
            src.view(index.shape, src.strides, src.offset))
        bits = tl.int64 if work_dtype.itemsize == 8 else tl.int32
        block, warps = _launch_config()
        _kernels().scatter_reduce_kernel[grid_1d(n, block)](
            pointer(out), pointer(index), pointer(src), n, out.shape[dim], out.strides[dim],
            *sizes, *o_strides, *i_strides, *s_strides, *device_errors.flag_args("scatter_reduce"),
            REDUCE=_kernels().REDUCE_CODES[reduce], BITS=bits, BLOCK=block, num_warps=warps)
    if work_dtype is not x.dtype:
        out = cast(out, x.dtype)
    return out


def nonzero(x: Array) -> Array:
    """The (n, ndim) int64 coordinates of the nonzero elements, in row-major order.

    The number of rows is data dependent: the per-block counts come back to
    the host (a synchronization, as in PyTorch) to size the output.
    """
    n = x.numel
    if n == 0:
        return empty((0, x.ndim), dtypes.int64)
    x = contiguous(x)
    block, warps = _launch_config()
    grid = grid_1d(n, block)
    counts = empty((grid[0],), dtypes.int64)
    k = _kernels()
    k.nonzero_count_kernel[grid](pointer(x), pointer(counts), n, BLOCK=block, num_warps=warps)
    host_counts = to_numpy(counts)
    starts = np.concatenate(([0], np.cumsum(host_counts)[:-1])).astype(np.int64)
    total = int(host_counts.sum())
    out = empty((total, x.ndim), dtypes.int64)
    if total and x.ndim:
        sizes = from_numpy(np.asarray(x.shape, dtype=np.int64), dtypes.int64)
        starts = from_numpy(starts, dtypes.int64)  # kept alive until the launch returns
        k.nonzero_write_kernel[grid](pointer(x), pointer(starts), pointer(sizes), pointer(out),
                                     n, x.ndim, BLOCK=block, num_warps=warps)
    return out


KERNELS = {"gather": gather, "scatter": scatter, "scatter_add": scatter_add,
           "scatter_reduce": scatter_reduce, "nonzero": nonzero}
