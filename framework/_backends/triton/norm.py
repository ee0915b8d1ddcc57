"""Launch wrappers: row normalization on ``cuda`` (``triton_kernels/norm.py``).

Every launch has one program per row, except batch norm over few channels,
whose long rows are split into chunks (two launches: chunk statistics, then
merge and normalize; the same for the backward). Operands are made
contiguous first (a copy only for strided views): a ``norm_rows`` operand is
a contiguous (A, C, S) array. Outputs are new
contiguous arrays; statistics are float32 for half types.
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from ... import dtypes
from ..array import Array
from . import runtime
from .launch import pointer
from .memory import contiguous, empty, full

_ACC = {"float64": tl.float64}


def _acc(dtype):
    """fp64 math for fp64, fp32 for fp32 and the half types."""
    return _ACC.get(dtype.name, tl.float32)


def _stat_dtype(dtype):
    return dtype if dtype in (dtypes.float32, dtypes.float64) else dtypes.float32


def _block(n: int) -> tuple:
    """``(BLOCK_N, SINGLE, num_warps)`` for rows of ``n`` elements."""
    limit = runtime.kernels().norm.MAX_BLOCK_N
    block = min(triton.next_power_of_2(max(n, 1)), limit)
    warps = 4 if block <= 1024 else 8
    return block, n <= block, warps


def _quiet():
    """Silence NumPy's floating-point warnings under the interpreter (inf/NaN are intended)."""
    return np.errstate(all="ignore")




def _gather(n: int, across: bool) -> int:
    """The kernels' ``GATHER``: 0 (rows contiguous), 32 or 64 (the index math's width: 32 while
    row indices plus a block's padding fit int32)."""
    if not across:
        return 0
    return 32 if n < 2 ** 31 - 2 * runtime.kernels().norm.MAX_BLOCK_N else 64


def _row_geometry(shape: tuple, across: bool) -> tuple:
    """``(rows, N, row_stride, inner, outer_stride)`` of a contiguous (A, C, S) array."""
    a, c, s = shape
    if across:
        return c, a * s, s, s, c * s
    return a * c, s, s, s, 0


def _splits(rows: int, n: int, splittable: bool) -> tuple:
    """``(S, cols_per_split)``: S > 1 chunks per row for few long rows (batch norm), else 1."""
    k = runtime.kernels().norm
    if not splittable:
        return 1, n
    wanted = min(n // k.SPLIT_COLS, max(1, k.TARGET_PROGRAMS // rows), k.MAX_SPLITS)
    if wanted <= 1:
        return 1, n
    cols = triton.cdiv(n, wanted)
    return triton.cdiv(n, cols), cols


def _split_norm(xc: Array, y: Array, mean: Array, rstd: Array, geometry: tuple, splits: tuple,
                eps: float) -> None:
    """Batch norm's few long rows: per-chunk statistics, then merge and normalize per chunk."""
    rows, n, row_stride, inner, outer_stride = geometry
    s, cols = splits
    k = runtime.kernels().norm
    acc = _acc(xc.dtype)
    part = empty((rows, s, 3), dtypes.float64 if acc is tl.float64 else dtypes.float32)
    strides = (row_stride, inner, outer_stride)
    gather = _gather(n, True)
    with _quiet():
        k.norm_partial_stats_kernel[(rows, s)](
            pointer(xc), pointer(part), n, cols, *strides, GATHER=gather, ACC=acc,
            BLOCK_N=k.MAX_BLOCK_N, num_warps=k.SPLIT_NUM_WARPS)
        k.norm_split_kernel[(rows, s)](
            pointer(xc), pointer(y), pointer(part), pointer(mean), pointer(rstd), n, s, cols,
            *strides, float(eps), GATHER=gather, ACC=acc, BLOCK_N=k.MAX_BLOCK_N,
            BLOCK_S=triton.next_power_of_2(s), num_warps=k.SPLIT_NUM_WARPS)


def norm_rows(x: Array, weight, bias, eps: float, rms: bool, across: bool):
    """``(y, mean, rstd)`` of the (A, C, S) array ``x`` (see the contract)."""
    rows, n, row_stride, inner, outer_stride = _row_geometry(x.shape, across)
    stat = _stat_dtype(x.dtype)
    y = empty(x.shape, x.dtype)
    if n == 0:  # empty rows: statistics of nothing
        return y, full((rows,) if across else x.shape[:2], math.nan, stat), \
            full((rows,) if across else x.shape[:2], math.nan, stat)
    mean = empty((x.shape[1],) if across else x.shape[:2], stat)
    rstd = empty(mean.shape, stat)
    if rows == 0:
        return y, mean, rstd
    xc = contiguous(x)
    geometry = (rows, n, row_stride, inner, outer_stride)
    splits = _splits(rows, n, across and not rms and weight is None and bias is None)
    if splits[0] > 1:
        _split_norm(xc, y, mean, rstd, geometry, splits, eps)
        return y, mean, rstd
    block, single, warps = _block(n)
    w = contiguous(weight) if weight is not None else xc  # unused pointers: pass x
    b = contiguous(bias) if bias is not None else xc
    with _quiet():
        runtime.kernels().norm.norm_rows_kernel[(rows,)](
            pointer(xc), pointer(y), pointer(w), pointer(b), pointer(mean), pointer(rstd), n,
            row_stride, inner, outer_stride, float(eps), RMS=rms, HAS_W=weight is not None,
            HAS_B=bias is not None, GATHER=_gather(n, across), SINGLE=single, ACC=_acc(x.dtype),
            BLOCK_N=block, num_warps=warps)
    return y, mean, rstd


def _split_norm_backward(gc: Array, xc: Array, mean: Array, rstd: Array, dx: Array,
                         geometry: tuple, splits: tuple) -> None:
    """dx of batch norm's few long rows: per-chunk row sums, then their total and dx per chunk."""
    rows, n, row_stride, inner, outer_stride = geometry
    s, cols = splits
    k = runtime.kernels().norm
    acc = _acc(xc.dtype)
    part = empty((rows, s, 2), dtypes.float64 if acc is tl.float64 else dtypes.float32)
    strides = (row_stride, inner, outer_stride)
    gather = _gather(n, True)
    with _quiet():
        k.norm_partial_grad_kernel[(rows, s)](
            pointer(gc), pointer(xc), pointer(mean), pointer(rstd), pointer(part), n, cols,
            *strides, GATHER=gather, ACC=acc, BLOCK_N=k.MAX_BLOCK_N, num_warps=k.SPLIT_NUM_WARPS)
        k.norm_split_backward_kernel[(rows, s)](
            pointer(gc), pointer(xc), pointer(mean), pointer(rstd), pointer(part), pointer(dx), n,
            s, cols, *strides, GATHER=gather, ACC=acc, BLOCK_N=k.MAX_BLOCK_N,
            BLOCK_S=triton.next_power_of_2(s), num_warps=k.SPLIT_NUM_WARPS)


def norm_rows_backward(grad: Array, x: Array, weight, mean: Array, rstd: Array, rms: bool,
                       across: bool):
    """``(dx, grad * xhat or None)`` of ``norm_rows`` (see the contract)."""
    rows, n, row_stride, inner, outer_stride = _row_geometry(x.shape, across)
    dx = empty(x.shape, x.dtype)
    gx = empty(x.shape, _stat_dtype(x.dtype)) if weight is not None else None
    if rows == 0 or n == 0:
        if gx is not None and gx.numel:
            gx = full(x.shape, 0.0, gx.dtype)
        return dx, gx
    xc = contiguous(x)
    gc, mc, rc = contiguous(grad), contiguous(mean), contiguous(rstd)
    splits = _splits(rows, n, across and not rms and weight is None)
    if splits[0] > 1:
        _split_norm_backward(gc, xc, mc, rc, dx, (rows, n, row_stride, inner, outer_stride),
                             splits)
        return dx, gx
    block, single, warps = _block(n)
    w = contiguous(weight) if weight is not None else xc  # unused pointers: pass x
    with _quiet():
        runtime.kernels().norm.norm_rows_backward_kernel[(rows,)](
            pointer(gc), pointer(xc), pointer(w), pointer(mc), pointer(rc), pointer(dx),
            pointer(gx if gx is not None else dx), n,
            row_stride, inner, outer_stride, RMS=rms, HAS_W=weight is not None,
            GATHER=_gather(n, across),
            SINGLE=single, ACC=_acc(x.dtype), BLOCK_N=block, num_warps=warps)
    return dx, gx


KERNELS = {
    "norm_rows": norm_rows, "norm_rows_backward": norm_rows_backward,
}
