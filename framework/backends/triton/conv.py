"""Launch wrappers: convolutions and im2col/col2im on ``cuda`` (kernels in ``triton_kernels/conv.py``).

Operands reach the kernels as they are (any NCHW strides, no copies); results
are new contiguous arrays. The GEMM kernels launch a 2-d grid: output tiles
along axis 0, groups along axis 1.
"""
from __future__ import annotations

import triton
import triton.language as tl

from ... import dtypes
from ..array import Array
from . import runtime
from .memory import empty, pointer

# CUDA limits grid axis 1 (the groups) to 65535 programs; more groups launch in chunks.
MAX_GRID_GROUPS = 65535


def _acc(dtype):
    return tl.float64 if dtype is dtypes.float64 else tl.float32


def _gemm_options(kernel: str, dtype, m: int, n: int, k: int) -> dict:
    """Tile config and dtype flags for GEMM ``kernel`` of (M, N, K)."""
    interpreter = runtime.mode() == "interpreter"
    config = runtime.kernels().conv.default_config(kernel, m, n, k, dtype.itemsize, interpreter)
    return dict(config, ACC_DTYPE=_acc(dtype), INPUT_PRECISION="ieee",
                INTERPRET_BF16=interpreter and dtype is dtypes.bfloat16)


def _geometry(stride, padding, dilation) -> tuple:
    return (*stride, *padding, *dilation)


def _launch_by_groups(kernel, tiles: int, groups: int, operands, *args, **options) -> None:
    """Launch ``kernel`` on a (tiles, groups) grid, in chunks of at most MAX_GRID_GROUPS groups.

    ``operands`` are (array, elements per group) pairs: a chunk starting at group
    ``start`` gets pointers advanced by ``start`` groups, so the kernel's
    ``program_id(1)`` counts groups from the chunk's first one.
    """
    for start in range(0, groups, MAX_GRID_GROUPS):
        count = min(MAX_GRID_GROUPS, groups - start)
        pointers = [pointer(a.view(a.shape, a.strides, a.offset + start * step))
                    for a, step in operands]
        kernel[(tiles, count)](*pointers, *args, **options)


def conv2d(x: Array, weight: Array, stride, padding, dilation, groups: int, out_size) -> Array:
    """(N, C, H, W) * (CO, C/groups, KH, KW) -> (N, CO, HO, WO); padding = (top, left)."""
    n, c, h, w = x.shape
    co, c_g, kh, kw = weight.shape
    ho, wo = out_size
    out = empty((n, co, ho, wo), x.dtype)
    if out.numel == 0:
        return out
    co_g = co // groups
    m = n * ho * wo
    opts = _gemm_options("conv2d_fwd_kernel", x.dtype, m, co_g, c_g * kh * kw)
    tiles = triton.cdiv(m, opts["BLOCK_M"]) * triton.cdiv(co_g, opts["BLOCK_N"])
    operands = ((x, c_g * x.strides[1]), (weight, co_g * weight.strides[0]),
                (out, co_g * out.strides[1]))
    _launch_by_groups(
        runtime.kernels().conv.conv2d_fwd_kernel, tiles, groups, operands,
        c_g, h, w, co_g, ho, wo, kh, kw, m,
        *_geometry(stride, padding, dilation), *x.strides, *weight.strides, *out.strides, **opts)
    return out


def conv2d_input_grad(grad_out: Array, weight: Array, stride, padding, dilation, groups: int,
                      in_size) -> Array:
    """dx (N, C, H, W) of conv2d from dy (N, CO, HO, WO); the forward of conv_transpose2d."""
    n, co, ho, wo = grad_out.shape
    _, c_g, kh, kw = weight.shape
    h, w = in_size
    out = empty((n, c_g * groups, h, w), grad_out.dtype)
    if out.numel == 0:
        return out
    co_g = co // groups
    m = n * h * w
    opts = _gemm_options("conv2d_dgrad_kernel", grad_out.dtype, m, c_g, co_g * kh * kw)
    tiles = triton.cdiv(m, opts["BLOCK_M"]) * triton.cdiv(c_g, opts["BLOCK_N"])
    operands = ((grad_out, co_g * grad_out.strides[1]), (weight, co_g * weight.strides[0]),
                (out, c_g * out.strides[1]))
    _launch_by_groups(
        runtime.kernels().conv.conv2d_dgrad_kernel, tiles, groups, operands,
        c_g, h, w, co_g, ho, wo, kh, kw, m,
        *_geometry(stride, padding, dilation), *grad_out.strides, *weight.strides, *out.strides,
        **opts)
    return out


def conv2d_weight_grad(x: Array, grad_out: Array, stride, padding, dilation, groups: int,
                       kernel_size) -> Array:
    """dw (CO, C/groups, KH, KW) of conv2d from x (N, C, H, W) and dy (N, CO, HO, WO)."""
    n, c, h, w = x.shape
    _, co, ho, wo = grad_out.shape
    kh, kw = kernel_size
    c_g = c // groups
    out = empty((co, c_g, kh, kw), x.dtype)
    if out.numel == 0:
        return out
    co_g = co // groups
    m = n * ho * wo
    taps = c_g * kh * kw
    opts = _gemm_options("conv2d_wgrad_kernel", x.dtype, co_g, taps, m)
    tiles = triton.cdiv(co_g, opts["BLOCK_M"]) * triton.cdiv(taps, opts["BLOCK_N"])
    operands = ((x, c_g * x.strides[1]), (grad_out, co_g * grad_out.strides[1]),
                (out, co_g * out.strides[0]))
    _launch_by_groups(
        runtime.kernels().conv.conv2d_wgrad_kernel, tiles, groups, operands,
        c_g, h, w, co_g, ho, wo, kh, kw, m,
        *_geometry(stride, padding, dilation), *x.strides, *grad_out.strides, *out.strides, **opts)
    return out


def im2col(x: Array, kernel_size, dilation, padding, stride, out_size) -> Array:
    """(N, C, H, W) -> (N, C*KH*KW, HO*WO): every sliding window as a column (0 in the padding)."""
    n, c, h, w = x.shape
    kh, kw = kernel_size
    ho, wo = out_size
    out = empty((n, c * kh * kw, ho * wo), x.dtype)
    if out.numel == 0:
        return out
    kernels = runtime.kernels().conv
    block = kernels.IM2COL_CONFIG["BLOCK"]
    kernels.unfold_kernel[(triton.cdiv(out.numel, block),)](
        pointer(x), pointer(out), out.numel, c, h, w, ho, wo, kh, kw,
        *_geometry(stride, padding, dilation), *x.strides, BLOCK=block)
    return out


def col2im(cols: Array, output_size, kernel_size, dilation, padding, stride, blocks) -> Array:
    """(N, C*KH*KW, HO*WO) -> (N, C, H, W) summing overlapping windows; blocks = (HO, WO)."""
    n, rows, _ = cols.shape
    kh, kw = kernel_size
    h, w = output_size
    ho, wo = blocks
    c = rows // (kh * kw)
    out = empty((n, c, h, w), cols.dtype)
    if out.numel == 0:
        return out
    kernels = runtime.kernels().conv
    block = kernels.IM2COL_CONFIG["BLOCK"]
    interpreter = runtime.mode() == "interpreter"
    kernels.fold_kernel[(triton.cdiv(out.numel, block),)](
        pointer(cols), pointer(out), out.numel, c, h, w, ho, wo, kh, kw,
        *_geometry(stride, padding, dilation), *cols.strides, ACC_DTYPE=_acc(cols.dtype),
        INTERPRET_BF16=interpreter and cols.dtype is dtypes.bfloat16, BLOCK=block)
    return out


KERNELS = {
    "conv2d": conv2d,
    "conv2d_input_grad": conv2d_input_grad,
    "conv2d_weight_grad": conv2d_weight_grad,
    "im2col": im2col,
    "col2im": col2im,
}
