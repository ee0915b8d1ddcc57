"""Launch wrappers: convolutions and im2col/col2im on ``cuda`` (kernels in ``triton_kernels/conv.py``).

Operands reach the kernels as they are (any NCHW strides, no copies); results
are new contiguous arrays. The GEMM kernels launch a 2-d grid: output tiles
along axis 0, groups along axis 1.
"""
from __future__ import annotations

import functools

import triton
import triton.language as tl

from ... import autotune, dtypes
from ..array import Array
from . import runtime
from .launch import pointer
from .memory import empty

_DTYPE_NAMES = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32", "float64": "fp64"}

# CUDA limits grid axis 1 (the groups) to 65535 programs; more groups launch in chunks.
MAX_GRID_GROUPS = 65535


def _acc(dtype):
    return tl.float64 if dtype is dtypes.float64 else tl.float32


def _gemm_options(kernel: str, dtype, problem: dict) -> dict:
    """Tile config (autotuned: ``framework.autotune``) and dtype flags for GEMM ``kernel``."""
    interpreter = runtime.mode() == "interpreter"
    config = autotune.choose(CONV_TUNABLES[kernel], problem)
    # fp32 convs stay exact ("ieee"): the TF32 variants of these kernels spill registers on
    # sm_80 at the default tiles (tests/test_compile.py); tuning them is left for later.
    return dict(config, ACC_DTYPE=_acc(dtype), INPUT_PRECISION="ieee",
                INTERPRET_BF16=interpreter and dtype is dtypes.bfloat16)


def _problem(kernel: str, x_shape, w_shape, stride, padding, dilation, groups, dtype) -> dict:
    """The autotune problem of one conv GEMM launch (sizes of x and weight, geometry, dtype)."""
    name = _DTYPE_NAMES[dtype.name]
    return {"kernel": kernel, "x": list(x_shape), "w": list(w_shape), "stride": list(stride),
            "padding": list(padding), "dilation": list(dilation), "groups": groups, "dtype": name}


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
    """(N, C, H, W) * (CO, C/groups, KH, KW) -> (N, CO, HO, WO); padding = (top, left).

    A 1x1 convolution with stride 1 and no padding or groups, whose output has the input's
    size, is a batched GEMM ``W (CO, C) @ x[n] (C, H*W)``: it runs on the (autotuned) matmul
    kernel. (A smaller ``out_size`` comes from conv_transpose2d's input gradient with output
    padding: the general kernel computes just those rows and columns.)
    """
    if _is_pointwise(x, weight, stride, padding, groups) and tuple(out_size) == x.shape[2:]:
        return _pointwise_conv(x, weight)
    problem = _problem("conv2d_kernel", x.shape, weight.shape, stride, padding, dilation,
                       groups, x.dtype)
    return _launch_conv2d(x, weight, stride, padding, dilation, groups, out_size,
                          _gemm_options("conv2d_kernel", x.dtype, problem))


def _is_pointwise(x: Array, weight: Array, stride, padding, groups: int) -> bool:
    return (weight.shape[2:] == (1, 1) and tuple(stride) == (1, 1) and tuple(padding) == (0, 0)
            and groups == 1 and x.strides[2] == x.shape[3] * x.strides[3])


def _pointwise_conv(x: Array, weight: Array) -> Array:
    from .matmul import matmul
    n, c, h, w = x.shape
    co = weight.shape[0]
    a = weight.view((n, co, c), (0, weight.strides[0], weight.strides[1]), weight.offset)
    b = x.view((n, c, h * w), (x.strides[0], x.strides[1], x.strides[3]), x.offset)
    out = matmul(a, b)
    return out.view((n, co, h, w), (co * h * w, h * w, w, 1), out.offset)


def _launch_conv2d(x: Array, weight: Array, stride, padding, dilation, groups: int, out_size,
                   opts: dict) -> Array:
    n, c, h, w = x.shape
    co, c_g, kh, kw = weight.shape
    ho, wo = out_size
    out = empty((n, co, ho, wo), x.dtype)
    if out.numel == 0:
        return out
    co_g = co // groups
    m = n * ho * wo
    tiles = triton.cdiv(m, opts["BLOCK_M"]) * triton.cdiv(co_g, opts["BLOCK_N"])
    operands = ((x, c_g * x.strides[1]), (weight, co_g * weight.strides[0]),
                (out, co_g * out.strides[1]))
    _launch_by_groups(
        runtime.kernels().conv.conv2d_kernel, tiles, groups, operands,
        c_g, h, w, co_g, ho, wo, kh, kw, m,
        *_geometry(stride, padding, dilation), *x.strides, *weight.strides, *out.strides, **opts)
    return out


def conv2d_input_grad(grad_out: Array, weight: Array, stride, padding, dilation, groups: int,
                      in_size) -> Array:
    """dx (N, C, H, W) of conv2d from dy (N, CO, HO, WO); the forward of conv_transpose2d."""
    n = grad_out.shape[0]
    c = weight.shape[1] * groups
    problem = _problem("conv2d_input_grad_kernel", (n, c) + tuple(in_size), weight.shape,
                       stride, padding, dilation, groups, grad_out.dtype)
    return _launch_input_grad(grad_out, weight, stride, padding, dilation, groups, in_size,
                              _gemm_options("conv2d_input_grad_kernel", grad_out.dtype, problem))


def _launch_input_grad(grad_out: Array, weight: Array, stride, padding, dilation, groups: int,
                       in_size, opts: dict) -> Array:
    n, co, ho, wo = grad_out.shape
    _, c_g, kh, kw = weight.shape
    h, w = in_size
    out = empty((n, c_g * groups, h, w), grad_out.dtype)
    if out.numel == 0:
        return out
    co_g = co // groups
    m = n * h * w
    tiles = triton.cdiv(m, opts["BLOCK_M"]) * triton.cdiv(c_g, opts["BLOCK_N"])
    operands = ((grad_out, co_g * grad_out.strides[1]), (weight, co_g * weight.strides[0]),
                (out, c_g * out.strides[1]))
    _launch_by_groups(
        runtime.kernels().conv.conv2d_input_grad_kernel, tiles, groups, operands,
        c_g, h, w, co_g, ho, wo, kh, kw, m,
        *_geometry(stride, padding, dilation), *grad_out.strides, *weight.strides, *out.strides,
        **opts)
    return out


def conv2d_weight_grad(x: Array, grad_out: Array, stride, padding, dilation, groups: int,
                       kernel_size) -> Array:
    """dw (CO, C/groups, KH, KW) of conv2d from x (N, C, H, W) and dy (N, CO, HO, WO)."""
    w_shape = (grad_out.shape[1], x.shape[1] // groups) + tuple(kernel_size)
    problem = _problem("conv2d_weight_grad_kernel", x.shape, w_shape, stride, padding, dilation,
                       groups, x.dtype)
    return _launch_weight_grad(x, grad_out, stride, padding, dilation, groups, kernel_size,
                               _gemm_options("conv2d_weight_grad_kernel", x.dtype, problem))


def _launch_weight_grad(x: Array, grad_out: Array, stride, padding, dilation, groups: int,
                        kernel_size, opts: dict) -> Array:
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
    tiles = triton.cdiv(co_g, opts["BLOCK_M"]) * triton.cdiv(taps, opts["BLOCK_N"])
    operands = ((x, c_g * x.strides[1]), (grad_out, co_g * grad_out.strides[1]),
                (out, co_g * out.strides[0]))
    _launch_by_groups(
        runtime.kernels().conv.conv2d_weight_grad_kernel, tiles, groups, operands,
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
    block, warps = kernels.IM2COL_CONFIG["BLOCK"], kernels.IM2COL_CONFIG["num_warps"]
    kernels.im2col_kernel[(triton.cdiv(out.numel, block),)](
        pointer(x), pointer(out), out.numel, c, h, w, ho, wo, kh, kw,
        *_geometry(stride, padding, dilation), *x.strides, BLOCK=block, num_warps=warps)
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
    block, warps = kernels.IM2COL_CONFIG["BLOCK"], kernels.IM2COL_CONFIG["num_warps"]
    interpreter = runtime.mode() == "interpreter"
    kernels.col2im_kernel[(triton.cdiv(out.numel, block),)](
        pointer(cols), pointer(out), out.numel, c, h, w, ho, wo, kh, kw,
        *_geometry(stride, padding, dilation), *cols.strides, ACC_DTYPE=_acc(cols.dtype),
        INTERPRET_BF16=interpreter and cols.dtype is dtypes.bfloat16, BLOCK=block,
        num_warps=warps)
    return out


# -- autotuning ---------------------------------------------------------------------------------
def _gemm_dims(problem: dict) -> tuple:
    """(M, N, K) of the implicit GEMM of ``problem``."""
    n, c, h, w = problem["x"]
    co, c_g, kh, kw = problem["w"]
    groups = problem["groups"]
    ho, wo = _output_size(problem)
    co_g = co // groups
    if problem["kernel"] == "conv2d_kernel":
        return n * ho * wo, co_g, c_g * kh * kw
    if problem["kernel"] == "conv2d_input_grad_kernel":
        return n * h * w, c_g, co_g * kh * kw
    return co_g, c_g * kh * kw, n * ho * wo


def _output_size(problem: dict) -> tuple:
    _, _, h, w = problem["x"]
    _, _, kh, kw = problem["w"]
    (sh, sw), (ph, pw), (dh, dw) = problem["stride"], problem["padding"], problem["dilation"]
    return ((h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1)


def _itemsize(dtype: str) -> int:
    return {"fp16": 2, "bf16": 2, "fp32": 4, "tf32": 4, "fp64": 8}[dtype]


def _heuristic(problem: dict) -> dict:
    m, n, k = _gemm_dims(problem)
    return runtime.kernels().conv.default_config(problem["kernel"], m, n, k,
                                                 _itemsize(problem["dtype"]),
                                                 runtime.mode() == "interpreter")


def _configs(problem: dict) -> list:
    from .tuning import shared_memory_per_block
    if runtime.mode() == "interpreter":
        base = _heuristic(problem)
        return [base, dict(base, BLOCK_K=16)]
    return runtime.kernels().conv.config_space(problem["kernel"], _itemsize(problem["dtype"]),
                                               shared_memory_per_block(),
                                               problem["dtype"] not in ("fp32", "fp64"))


def _key_fields(problem: dict) -> tuple:
    m, n, k = _gemm_dims(problem)
    _, _, kh, kw = problem["w"]
    (sh, sw) = problem["stride"]
    layout = f"NCHW-k{kh}x{kw}-s{sh}x{sw}" + ("-g" if problem["groups"] > 1 else "")
    return problem["dtype"], layout, {"M": m, "N": n, "K": k}


def _runner(problem: dict):
    """Allocate the operands of ``problem`` once; return ``run(config)``."""
    from . import random as triton_random
    dtype = {"fp16": dtypes.float16, "bf16": dtypes.bfloat16, "fp32": dtypes.float32,
             "tf32": dtypes.float32, "fp64": dtypes.float64}[problem["dtype"]]
    x_shape, w_shape = tuple(problem["x"]), tuple(problem["w"])
    geometry = (tuple(problem["stride"]), tuple(problem["padding"]),
                tuple(problem["dilation"]), problem["groups"])
    out_size = _output_size(problem)
    x = triton_random.randn(x_shape, dtype, 1, 0)
    weight = triton_random.randn(w_shape, dtype, 2, 0)
    grad = triton_random.randn((x_shape[0], w_shape[0]) + out_size, dtype, 3, 0)
    kernel = problem["kernel"]

    def run(config: dict) -> None:
        opts = dict(config, ACC_DTYPE=_acc(dtype), INPUT_PRECISION="ieee",
                    INTERPRET_BF16=runtime.mode() == "interpreter" and dtype is dtypes.bfloat16)
        if kernel == "conv2d_kernel":
            _launch_conv2d(x, weight, *geometry, out_size, opts)
        elif kernel == "conv2d_input_grad_kernel":
            _launch_input_grad(grad, weight, *geometry, x_shape[2:], opts)
        else:
            _launch_weight_grad(x, grad, *geometry, w_shape[2:], opts)

    return run


@functools.lru_cache(maxsize=None)
def _kernel_hash(kernel: str) -> str:
    from .tuning import REFERENCE_SHARED_MEMORY
    kernels = runtime.kernels().conv
    space = kernels.config_space(kernel, 2, REFERENCE_SHARED_MEMORY, True)
    return autotune.source_hash(getattr(kernels, kernel), [kernels.CONV_CONFIGS[kernel], space])


CONV_TUNABLES = {
    name: autotune.Tunable(name=name.replace("_kernel", ""),
                           kernel_hash=functools.partial(_kernel_hash, name), configs=_configs,
                           heuristic=_heuristic, key_fields=_key_fields, runner=_runner)
    for name in ("conv2d_kernel", "conv2d_input_grad_kernel", "conv2d_weight_grad_kernel")
}


KERNELS = {
    "conv2d": conv2d,
    "conv2d_input_grad": conv2d_input_grad,
    "conv2d_weight_grad": conv2d_weight_grad,
    "im2col": im2col,
    "col2im": col2im,
}
