"""Launch wrappers: scans on ``cuda`` (kernels in ``triton_kernels/scan.py``).

The operand is seen as (outer, N, inner) around the scanned dim. When the
dims before it collapse to one stride and the dims after it to another, the
kernel reads the operand in place; otherwise it is first copied contiguous.
Outputs are new contiguous arrays of the input's shape.
"""
from __future__ import annotations

import math

import triton
import triton.language as tl

from ... import dtypes
from ..array import Array, collapse_dims
from . import runtime
from .launch import pointer
from .memory import contiguous, empty

_ACC = {"float64": tl.float64, "float32": tl.float32, "float16": tl.float32,
        "bfloat16": tl.float32}


def _kernels():
    return runtime.kernels().scan


class Rows:
    """``x`` as M rows of N elements around ``dim``: the (outer, N, inner) view the scan and
    sort kernels walk, with one stride each for the outer dims, the dim and the inner dims
    (``x`` is copied contiguous first when the outer or inner dims don't collapse)."""

    def __init__(self, x: Array, dim: int) -> None:
        self.N = x.shape[dim]
        self.inner = math.prod(x.shape[dim + 1:])
        self.M = math.prod(x.shape[:dim]) * self.inner
        outer_shape, (outer_strides,) = collapse_dims(x.shape[:dim], x.strides[:dim])
        inner_shape, (inner_strides,) = collapse_dims(x.shape[dim + 1:], x.strides[dim + 1:])
        if len(outer_shape) > 1 or len(inner_shape) > 1:
            x = contiguous(x)
            outer_strides, inner_strides = (self.N * self.inner,), (1,)
        self.array = x
        self.strides = (outer_strides[0] if outer_strides else 0, x.strides[dim],
                        inner_strides[0] if inner_strides else 0)

    def geometry(self) -> tuple:
        """The kernels' ``M, N, inner, stride_o, stride_n, stride_i`` arguments."""
        return (self.M, self.N, self.inner, *self.strides)

    def launch_scan(self, kernel, outputs: tuple, **constexprs) -> None:
        """Launch a scan kernel: BLOCK_N columns (at most MAX_BLOCK_N) by BLOCK_M rows."""
        k = _kernels()
        block_n = min(triton.next_power_of_2(max(self.N, 1)), k.MAX_BLOCK_N)
        block_m = min(triton.next_power_of_2(max(self.M, 1)), max(1, k.TILE // block_n))
        kernel[(triton.cdiv(self.M, block_m),)](
            pointer(self.array), *(pointer(o) for o in outputs), *self.geometry(),
            BLOCK_M=block_m, BLOCK_N=block_n, num_warps=k.NUM_WARPS, **constexprs)


def _acc(dtype) -> "tl.dtype":
    """Accumulator type: fp32 for fp32/halves, fp64 for fp64, int64 for integers and bools."""
    return _ACC.get(dtype.name, tl.int64)


def _scan(op: str, x: Array, dim: int, out_dtype) -> Array:
    out = empty(x.shape, out_dtype)
    if out.numel == 0:
        return out
    Rows(x, dim).launch_scan(_kernels().scan_kernel, (out,), OP=op, ACC=_acc(out_dtype))
    return out


def cumsum(x: Array, dim: int, out_dtype) -> Array:
    """Inclusive cumulative sum along ``dim`` in ``out_dtype`` (fp32 accumulation for halves)."""
    return _scan("sum", x, dim, out_dtype)


def cumprod(x: Array, dim: int, out_dtype) -> Array:
    """Inclusive cumulative product along ``dim`` in ``out_dtype``."""
    return _scan("prod", x, dim, out_dtype)


def logcumsumexp(x: Array, dim: int) -> Array:
    """``log(cumsum(exp(x)))`` along ``dim``, computed stably (floating ``x``)."""
    return _scan("logcumsumexp", x, dim, x.dtype)


def _scan_extreme(x: Array, dim: int, is_max: bool) -> tuple:
    values = empty(x.shape, x.dtype)
    indices = empty(x.shape, dtypes.int64)
    if values.numel:
        Rows(x, dim).launch_scan(_kernels().scan_extreme_kernel, (values, indices), IS_MAX=is_max,
                             ACC=_acc(x.dtype))
    return values, indices


def cummax(x: Array, dim: int) -> tuple:
    """(running maximum, int64 index of it) along ``dim``: latest index among ties, NaN wins."""
    return _scan_extreme(x, dim, True)


def cummin(x: Array, dim: int) -> tuple:
    """(running minimum, int64 index of it) along ``dim``: latest index among ties, NaN wins."""
    return _scan_extreme(x, dim, False)


KERNELS = {"cumsum": cumsum, "cumprod": cumprod, "logcumsumexp": logcumsumexp,
           "cummax": cummax, "cummin": cummin}
