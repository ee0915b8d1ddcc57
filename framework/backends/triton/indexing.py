"""Launch wrappers: indexing kernels on ``cuda`` (kernels in ``triton_kernels/indexing.py``).

Gather and scatter walk ``index``'s shape; the other operand's strides are
passed with the indexed dim's stride set to 0 and that stride separately, so
the walk collapses like any strided copy (``launch.pack_strided``). Scatters
copy the input into a fresh contiguous output first; atomic accumulation of
half types (and bools) runs in a float32 (int32) buffer cast back at the end.
"""
from __future__ import annotations

import numpy as np

from ... import dtypes
from ..array import Array
from . import runtime
from .copy import cast, contiguous
from .launch import grid_1d, pack_strided, pointer
from .memory import empty, from_numpy, to_numpy

_BLOCK = 1024  # triton_kernels.indexing.INDEXING_CONFIGS
_NUM_WARPS = 4
# Atomic adds run in these types (Triton has no bf16/bool atomics on every GPU).
_ACCUMULATE_DTYPE = {"float16": dtypes.float32, "bfloat16": dtypes.float32, "bool": dtypes.int32}


def _kernels():
    return runtime.kernels().indexing


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
    _kernels().gather_kernel[grid_1d(n, _BLOCK)](
        pointer(x), pointer(index), pointer(out), n, x.shape[dim], x.strides[dim],
        *sizes, *x_strides, *i_strides, BLOCK=_BLOCK, num_warps=_NUM_WARPS)
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
        _kernels().scatter_kernel[grid_1d(n, _BLOCK)](
            pointer(out), pointer(index), pointer(src), n, out.shape[dim], out.strides[dim],
            *sizes, *o_strides, *i_strides, *s_strides, ACCUMULATE=accumulate, BLOCK=_BLOCK,
            num_warps=_NUM_WARPS)
    if work_dtype is not x.dtype:
        out = cast(out, x.dtype)
    return out


def scatter(x: Array, dim: int, index: Array, src: Array) -> Array:
    """A copy of ``x`` with ``src[i]`` stored at ``i`` with ``i[dim] = index[i]``."""
    return _scatter(x, dim, index, src, accumulate=False)


def scatter_add(x: Array, dim: int, index: Array, src: Array) -> Array:
    """A copy of ``x`` with ``src[i]`` added (atomically) at ``i`` with ``i[dim] = index[i]``."""
    return _scatter(x, dim, index, src, accumulate=True)


def nonzero(x: Array) -> Array:
    """The (n, ndim) int64 coordinates of the nonzero elements, in row-major order.

    The number of rows is data dependent: the per-block counts come back to
    the host (a synchronization, as in PyTorch) to size the output.
    """
    n = x.numel
    if n == 0:
        return empty((0, x.ndim), dtypes.int64)
    x = contiguous(x)
    grid = grid_1d(n, _BLOCK)
    counts = empty((grid[0],), dtypes.int64)
    k = _kernels()
    k.nonzero_count_kernel[grid](pointer(x), pointer(counts), n, BLOCK=_BLOCK,
                                 num_warps=_NUM_WARPS)
    host_counts = to_numpy(counts)
    starts = np.concatenate(([0], np.cumsum(host_counts)[:-1])).astype(np.int64)
    total = int(host_counts.sum())
    out = empty((total, x.ndim), dtypes.int64)
    if total and x.ndim:
        sizes = from_numpy(np.asarray(x.shape, dtype=np.int64), dtypes.int64)
        starts = from_numpy(starts, dtypes.int64)  # kept alive until the launch returns
        k.nonzero_write_kernel[grid](pointer(x), pointer(starts), pointer(sizes), pointer(out), n, x.ndim, BLOCK=_BLOCK,
                                     num_warps=_NUM_WARPS)
    return out


KERNELS = {"gather": gather, "scatter": scatter, "scatter_add": scatter_add, "nonzero": nonzero}
