"""A fused RMSNorm as a custom op: Triton kernels (cuda), NumPy (cpu), autograd, autotuning.

``rms_norm(x, weight, eps)`` normalizes over the last dimension:
``y = x / sqrt(mean(x**2) + eps) * weight``. Two custom ops do the work:

* ``examples::rms_norm`` -> ``(y, rstd)``: one fused kernel per device;
  ``rstd`` (float32, float64 for float64 inputs) is saved for the backward.
* ``examples::rms_norm_backward`` -> ``(dx, grad * xhat)``: the fused backward
  (non-differentiable); ``dweight`` is the row sum of the second output.

The backward calls the fused op when no graph is being built; with
``create_graph=True`` it evaluates the same formula in framework ops, so
gradients of gradients are exact. See docs/custom_ops.md (a tutorial built
on this file).
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

import framework
from framework import Tensor
from framework.library import TensorMeta, contiguous, custom_op, empty, pointer, triton_jit

MAX_BLOCK_N = 16384  # rows up to this long are normalized by one program
FLOATS = (framework.float16, framework.bfloat16, framework.float32, framework.float64)


# Triton kernels ---------------------------------------------------------------------------------
@triton_jit
def rms_norm_fwd_kernel(x_ptr, w_ptr, y_ptr, rstd_ptr, N, eps, BLOCK_N: tl.constexpr,
                        ACC: tl.constexpr):
    """One program normalizes one row of ``N`` contiguous elements and stores its ``rstd``.

    The whole row fits one block (``N <= BLOCK_N``); lanes past ``N`` are masked
    and load zeros, which add nothing to the sum of squares.
    """
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK_N)
    mask = cols < N
    x = tl.load(x_ptr + row * N + cols, mask=mask, other=0.0).to(ACC)
    rstd = 1.0 / tl.sqrt(tl.sum(x * x, axis=0) / N + eps)
    w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(ACC)
    tl.store(y_ptr + row * N + cols, (x * rstd * w).to(y_ptr.dtype.element_ty), mask=mask)
    tl.store(rstd_ptr + row, rstd.to(rstd_ptr.dtype.element_ty))


@triton_jit
def rms_norm_bwd_kernel(g_ptr, x_ptr, w_ptr, rstd_ptr, dx_ptr, gxhat_ptr, N,
                        BLOCK_N: tl.constexpr, ACC: tl.constexpr):
    """One program computes one row's ``dx = rstd * (g*w - xhat * mean(g*w*xhat))`` and
    ``g * xhat`` (summed over rows by the caller for ``dweight``); masked like the forward."""
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK_N)
    mask = cols < N
    offs = row * N + cols
    g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(ACC)
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(ACC)
    w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(ACC)
    rstd = tl.load(rstd_ptr + row).to(ACC)
    xhat = x * rstd
    gw = g * w
    mean_gwx = tl.sum(gw * xhat, axis=0) / N
    tl.store(dx_ptr + offs, ((gw - xhat * mean_gwx) * rstd).to(dx_ptr.dtype.element_ty), mask=mask)
    tl.store(gxhat_ptr + offs, (g * xhat).to(gxhat_ptr.dtype.element_ty), mask=mask)


def _acc(dtype):
    """fp64 math for float64 inputs, fp32 for the rest."""
    return tl.float64 if dtype == framework.float64 else tl.float32


def _stat_dtype(dtype):
    return framework.float64 if dtype == framework.float64 else framework.float32


def _row_block(n: int) -> int:
    if n > MAX_BLOCK_N:
        raise NotImplementedError(f"examples::rms_norm on cuda: rows of at most {MAX_BLOCK_N} "
                                  f"elements, got {n}")
    return triton.next_power_of_2(max(n, 1))


# The forward op ---------------------------------------------------------------------------------
@custom_op("examples::rms_norm", mutates_args=())
def rms_norm_op(x: Tensor, weight: Tensor, eps: float) -> tuple:
    """``(y, rstd)`` of RMS normalization over the last dimension of ``x``."""


@rms_norm_op.register_fake
def _(x, weight, eps):
    """Output metadata; the argument checks live here (they run before either kernel)."""
    if x.dtype not in FLOATS:
        raise TypeError(f"rms_norm(): expected a floating-point input, got {x.dtype}")
    if x.ndim == 0 or tuple(weight.shape) != (x.shape[-1],):
        raise ValueError(f"rms_norm(): weight of shape ({x.shape[-1] if x.ndim else '?'},) "
                         f"expected for input of shape {tuple(x.shape)}, got {tuple(weight.shape)}")
    if weight.dtype != x.dtype:
        raise TypeError(f"rms_norm(): weight dtype {weight.dtype} differs from input {x.dtype}")
    return TensorMeta(x.shape, x.dtype), TensorMeta(x.shape[:-1], _stat_dtype(x.dtype))


@rms_norm_op.register_kernel("cpu")
def _(x: np.ndarray, weight: np.ndarray, eps: float):
    """NumPy: statistics in float32 (float64 for float64 inputs)."""
    acc = np.float64 if x.dtype == np.float64 else np.float32
    v = x.astype(acc, copy=False)
    mean_square = np.einsum("...i,...i->...", v, v) / max(x.shape[-1], 1)  # no x*x temporary
    rstd = 1.0 / np.sqrt(mean_square + acc(eps))
    y = v * rstd[..., None]
    y *= weight.astype(acc, copy=False)
    return y.astype(x.dtype, copy=False), rstd.astype(acc, copy=False)


@rms_norm_op.register_kernel("cuda")
def _(x, weight, eps, config):
    """Launch one program per row (``config``: the autotuned ``num_warps``)."""
    n = x.shape[-1]
    xc, wc = contiguous(x), contiguous(weight)
    y = empty(x.shape, x.dtype)
    rstd = empty(x.shape[:-1], _stat_dtype(x.dtype))
    rows = x.numel // n if n else 0
    if rows:
        rms_norm_fwd_kernel[(rows,)](pointer(xc), pointer(wc), pointer(y), pointer(rstd), n,
                                     float(eps), BLOCK_N=_row_block(n), ACC=_acc(x.dtype),
                                     num_warps=config["num_warps"])
    return y, rstd


def _warps_heuristic(problem: dict) -> dict:
    """More warps for longer rows (the config used until ``num_warps`` is tuned)."""
    n = problem["N"]
    return {"num_warps": 1 if n <= 256 else 4 if n <= 2048 else 8}


rms_norm_op.register_autotune(
    [{"num_warps": w} for w in (1, 2, 4, 8)],
    key=lambda x, weight, eps: (x.dtype.name, "rows", {"N": x.shape[-1]}),
    heuristic=_warps_heuristic)


# The fused backward op --------------------------------------------------------------------------
@custom_op("examples::rms_norm_backward", mutates_args=(), differentiable=False)
def rms_norm_backward_op(grad: Tensor, x: Tensor, weight: Tensor, rstd: Tensor) -> tuple:
    """``(dx, grad * xhat)`` of ``examples::rms_norm`` (not itself differentiable)."""


@rms_norm_backward_op.register_fake
def _(grad, x, weight, rstd):
    return TensorMeta(x.shape, x.dtype), TensorMeta(x.shape, _stat_dtype(x.dtype))


@rms_norm_backward_op.register_kernel("cpu")
def _(grad, x, weight, rstd):
    acc = rstd.dtype.type
    r = rstd[..., None]
    xhat = x.astype(acc, copy=False) * r
    g = grad.astype(acc, copy=False)
    gw = g * weight.astype(acc, copy=False)
    mean_gwx = np.einsum("...i,...i->...", gw, xhat)[..., None] / max(x.shape[-1], 1)
    dx = xhat * mean_gwx
    np.subtract(gw, dx, out=dx)
    dx *= r                          # rstd * (g*w - xhat * mean(g*w*xhat))
    xhat *= g                        # g * xhat, for dweight
    return dx.astype(x.dtype, copy=False), xhat


@rms_norm_backward_op.register_kernel("cuda")
def _(grad, x, weight, rstd):
    n = x.shape[-1]
    gc, xc, wc = contiguous(grad), contiguous(x), contiguous(weight)
    dx = empty(x.shape, x.dtype)
    gxhat = empty(x.shape, rstd.dtype)
    rows = x.numel // n if n else 0
    if rows:
        rms_norm_bwd_kernel[(rows,)](pointer(gc), pointer(xc), pointer(wc), pointer(rstd),
                                     pointer(dx), pointer(gxhat), n, BLOCK_N=_row_block(n),
                                     ACC=_acc(x.dtype), num_warps=4 if n <= 2048 else 8)
    return dx, gxhat


# Autograd ---------------------------------------------------------------------------------------
def _setup_context(ctx, inputs, output):
    x, weight, eps = inputs
    y, rstd = output
    ctx.eps = eps
    ctx.save_for_backward(x, weight, rstd)
    ctx.mark_non_differentiable(rstd)


def _backward(ctx, grad_y, grad_rstd):
    x, weight, rstd = ctx.saved_tensors
    rows = tuple(range(x.ndim - 1))
    if framework.is_grad_enabled():  # create_graph=True: the formula in framework ops
        dx, g_xhat = rms_norm_backward_composite(grad_y, x, weight, ctx.eps)
    else:
        dx, g_xhat = rms_norm_backward_op(grad_y, x, weight, rstd)
    dweight = g_xhat.sum(rows).to(weight.dtype) if ctx.needs_input_grad[1] else None
    return (dx if ctx.needs_input_grad[0] else None), dweight, None


rms_norm_op.register_autograd(_backward, setup_context=_setup_context)


def rms_norm_backward_composite(grad, x, weight, eps: float) -> tuple:
    """``(dx, grad * xhat)`` in framework ops, ``rstd`` recomputed from ``x`` (differentiable)."""
    rstd = framework.rsqrt((x * x).mean(-1, keepdim=True) + eps)
    xhat = x * rstd
    gw = grad * weight
    dx = (gw - xhat * (gw * xhat).mean(-1, keepdim=True)) * rstd
    return dx, grad * xhat


# Public function and the composite it replaces --------------------------------------------------
def rms_norm(x: Tensor, weight: Tensor, eps: float = 1e-6) -> Tensor:
    """RMS normalization of ``x`` over its last dimension, scaled by ``weight`` (fused)."""
    return rms_norm_op(x, weight, eps)[0]


def rms_norm_composite(x: Tensor, weight: Tensor, eps: float = 1e-6) -> Tensor:
    """The same function in framework ops (four kernels forward): the bench baseline."""
    return x * framework.rsqrt((x * x).mean(-1, keepdim=True) + eps) * weight


if __name__ == "__main__":
    x = framework.randn(4, 8, requires_grad=True)
    w = framework.ones(8, requires_grad=True)
    y = rms_norm(x, w)
    y.sum().backward()
    print(y.shape, x.grad.shape, w.grad.shape)
