"""Launch wrappers: pooling and interpolation on ``cuda`` (kernels in ``triton_kernels/pool.py``).

Each call turns the op layer's per-axis descriptions (``Windows`` /
``Samples``) into small device tables (int32 positions and counts, float
divisors/weights in the accumulation type), then launches one program per
(plane, block of output pixels). Forward kernels read the input through its
strides; backward kernels read a contiguous gradient and scatter with atomics
into a zeroed fp32 (fp64 for fp64) buffer, cast to the gradient's dtype after.
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from ... import dtypes
from ..array import Array
from . import runtime
from .launch import pointer
from .memory import cast, contiguous, empty, from_numpy, full


def _kernels():
    return runtime.kernels().pool


def _acc_dtype(dtype) -> "dtypes.dtype":
    """The accumulation type: float64 for float64, float32 otherwise."""
    return dtypes.float64 if dtype is dtypes.float64 else dtypes.float32


def _tl(dtype):
    return tl.float64 if dtype is dtypes.float64 else tl.float32


def _compare_type(dtype):
    """The type max pooling compares in: the integer type itself, else the float ACC."""
    return {"int32": tl.int32, "int64": tl.int64}.get(dtype.name) or _tl(_acc_dtype(dtype))


def _ints(values) -> Array:
    return from_numpy(np.asarray(values, dtype=np.int32).reshape(-1), dtypes.int32)


def _floats(values, dtype) -> Array:
    return from_numpy(np.asarray(values, dtype=np.float64).reshape(-1), dtype)


class _Tables:
    """Device tables of one axis; ``pointers`` are valid while this object lives (keep it
    referenced until the launch has run)."""

    def __init__(self, *arrays: Array) -> None:
        self.arrays = arrays
        self.pointers = tuple(pointer(a) for a in arrays)


def _window_tables(windows, acc) -> _Tables:
    """Device (start, count, divisor) tables of one axis."""
    return _Tables(_ints(windows.start), _ints(windows.count), _floats(windows.divisor, acc))


def _sample_tables(samples, acc) -> _Tables:
    """Device (lo, hi, weight) tables of one axis."""
    return _Tables(_ints(samples.lo), _ints(samples.hi), _floats(samples.weight, acc))


def _grid(planes: int, pixels: int) -> tuple:
    """(grid, BLOCK): one program per plane and BLOCK output pixels."""
    block = min(triton.next_power_of_2(max(pixels, 1)), _kernels().BLOCK_MAX)
    return (planes, triton.cdiv(pixels, block)), block


def _finish(acc: Array, dtype) -> Array:
    return acc if acc.dtype is dtype else cast(acc, dtype)


def _pool(x: Array, rows, cols, is_max: bool, divisor_override) -> tuple:
    n, c, h, w = x.shape
    oh, ow = len(rows.start), len(cols.start)
    out = empty((n, c, oh, ow), x.dtype)
    index = empty((n, c, oh, ow), dtypes.int64) if is_max else out
    if out.numel == 0:
        return out, index
    acc = _acc_dtype(x.dtype)
    grid, block = _grid(n * c, oh * ow)
    row_tables, col_tables = _window_tables(rows, acc), _window_tables(cols, acc)
    _kernels().pool2d_kernel[grid](
        pointer(x), pointer(out), pointer(index), *row_tables.pointers, *col_tables.pointers, c, h, w, ow, oh * ow, *x.strides, rows.size, cols.size,
        rows.step, cols.step, float(divisor_override or 1.0), IS_MAX=is_max,
        HAS_OVERRIDE=divisor_override is not None,
        ACC=_compare_type(x.dtype) if is_max else _tl(acc), BLOCK=block,
        num_warps=_kernels().NUM_WARPS)
    return out, index


def pool_max2d(x: Array, rows, cols) -> tuple:
    """Max over each window and its flat per-plane index h*W+w (first max, NaN wins)."""
    return _pool(x, rows, cols, True, None)


def pool_avg2d(x: Array, rows, cols, divisor_override) -> Array:
    """Window sums over real positions / (rows.divisor * cols.divisor) or divisor_override."""
    return _pool(x, rows, cols, False, divisor_override)[0]


def pool_max2d_backward(grad: Array, indices: Array, in_size: tuple) -> Array:
    """``grad`` scatter-added (atomically) into a zero input at the argmax ``indices``."""
    n, c, oh, ow = grad.shape
    acc = _acc_dtype(grad.dtype)
    out = full((n, c) + tuple(in_size), 0.0, acc)
    if grad.numel:
        grid, block = _grid(n * c, oh * ow)
        grad, indices = contiguous(grad), contiguous(indices)
        _kernels().index_scatter_kernel[grid](
            pointer(grad), pointer(indices), pointer(out), c,
            in_size[0] * in_size[1], oh * ow, ACC=_tl(acc), BLOCK=block,
            num_warps=_kernels().NUM_WARPS)
    return _finish(out, grad.dtype)


def pool_max2d_gather(x: Array, indices: Array) -> Array:
    """Each (n, c) plane of ``x`` (any strides) read at its flat positions ``indices[n, c]``."""
    n, c, h, w = x.shape
    out = empty(indices.shape, x.dtype)
    if out.numel:
        oh, ow = indices.shape[2:]
        grid, block = _grid(n * c, oh * ow)
        indices = contiguous(indices)
        _kernels().index_gather_kernel[grid](
            pointer(x), pointer(indices), pointer(out), c, w, oh * ow, *x.strides, BLOCK=block,
            num_warps=_kernels().NUM_WARPS)
    return out


def pool_avg2d_backward(grad: Array, rows, cols, divisor_override, in_size: tuple) -> Array:
    """The adjoint of ``pool_avg2d``: grad / divisor added (atomically) over each window."""
    n, c, oh, ow = grad.shape
    acc = _acc_dtype(grad.dtype)
    out = full((n, c) + tuple(in_size), 0.0, acc)
    if grad.numel:
        grid, block = _grid(n * c, oh * ow)
        grad = contiguous(grad)
        row_tables, col_tables = _window_tables(rows, acc), _window_tables(cols, acc)
        _kernels().avg_pool2d_backward_kernel[grid](
            pointer(grad), pointer(out), *row_tables.pointers, *col_tables.pointers, c, in_size[0], in_size[1], ow, oh * ow, rows.size,
            cols.size, float(divisor_override or 1.0), HAS_OVERRIDE=divisor_override is not None,
            ACC=_tl(acc), BLOCK=block, num_warps=_kernels().NUM_WARPS)
    return _finish(out, grad.dtype)


def interp2d(x: Array, rows, cols, nearest: bool) -> Array:
    """Nearest (``x[rows.lo, cols.lo]``) or bilinear resampling of every plane."""
    n, c = x.shape[:2]
    oh, ow = len(rows.lo), len(cols.lo)
    out = empty((n, c, oh, ow), x.dtype)
    if out.numel == 0:
        return out
    acc = _acc_dtype(x.dtype)
    grid, block = _grid(n * c, oh * ow)
    row_tables, col_tables = _sample_tables(rows, acc), _sample_tables(cols, acc)
    _kernels().interp2d_kernel[grid](
        pointer(x), pointer(out), *row_tables.pointers, *col_tables.pointers, c, ow,
        oh * ow, *x.strides, NEAREST=nearest, ACC=_tl(acc), BLOCK=block,
        num_warps=_kernels().NUM_WARPS)
    return out


def interp2d_backward(grad: Array, rows, cols, nearest: bool, in_size: tuple) -> Array:
    """The adjoint of ``interp2d``: each grad added (atomically) to its up to 4 sources."""
    n, c, oh, ow = grad.shape
    acc = _acc_dtype(grad.dtype)
    out = full((n, c) + tuple(in_size), 0.0, acc)
    if grad.numel:
        grid, block = _grid(n * c, oh * ow)
        grad = contiguous(grad)
        row_tables, col_tables = _sample_tables(rows, acc), _sample_tables(cols, acc)
        _kernels().interp2d_backward_kernel[grid](
            pointer(grad), pointer(out), *row_tables.pointers, *col_tables.pointers, c, in_size[1], in_size[0] * in_size[1], ow, oh * ow,
            NEAREST=nearest, ACC=_tl(acc), BLOCK=block, num_warps=_kernels().NUM_WARPS)
    return _finish(out, grad.dtype)


KERNELS = {
    "pool_max2d": pool_max2d, "pool_max2d_backward": pool_max2d_backward,
    "pool_max2d_gather": pool_max2d_gather,
    "pool_avg2d": pool_avg2d, "pool_avg2d_backward": pool_avg2d_backward,
    "interp2d": interp2d, "interp2d_backward": interp2d_backward,
}
