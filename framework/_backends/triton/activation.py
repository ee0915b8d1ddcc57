"""Launch wrappers: activations on ``cuda`` (``triton_kernels/activation.py``).

gelu, gelu_tanh, silu and softplus launch ``activation_unary_kernel`` through
the elementwise unary launcher (flat fast path or 6-d strided reads). The
parameterized activations make operands contiguous (a copy only for strided
views); one program per BLOCK elements; the result is a new contiguous array.
"""
from __future__ import annotations

import functools

import numpy as np
import triton.language as tl

from ..array import Array
from . import runtime
from .elementwise import _unary
from .launch import grid_1d, pointer
from .memory import contiguous, empty


@functools.lru_cache(maxsize=None)
def _launch_config() -> tuple:
    """``(BLOCK, num_warps)`` of ``triton_kernels.activation.ACTIVATION_CONFIGS`` (read at the
    first launch: importing the kernels fixes the interpreter mode)."""
    config = runtime.kernels().activation.ACTIVATION_CONFIGS[0]
    return config["BLOCK"], config["num_warps"]


def _bits(value: float) -> int:
    """The int64 bit pattern of ``value`` as a float64 (kernels take parameters this way)."""
    return int(np.array(float(value), dtype=np.float64).view(np.int64))


def _compute(dtype):
    """fp64 math for fp64, fp32 for fp32 and the half types."""
    return tl.float64 if dtype.name == "float64" else tl.float32


def _unary_activation(op: str, x: Array, out_dtype, p0=0.0, p1=0.0) -> Array:
    return _unary(op, x, out_dtype, p0=p0, p1=p1,
                  kernel=runtime.kernels().activation.activation_unary_kernel)


def gelu(x: Array, out_dtype) -> Array:
    """``x * Phi(x)`` as ``out_dtype`` (float32 math for halves)."""
    return _unary_activation("gelu", x, out_dtype)


def gelu_tanh(x: Array, out_dtype) -> Array:
    """gelu's tanh approximation as ``out_dtype`` (float32 math for halves)."""
    return _unary_activation("gelu_tanh", x, out_dtype)


def silu(x: Array, out_dtype) -> Array:
    """``x * sigmoid(x)`` as ``out_dtype`` (float32 math for halves)."""
    return _unary_activation("silu", x, out_dtype)


def softplus(x: Array, out_dtype, beta: float = 1.0, threshold: float = 20.0) -> Array:
    """``log1p(exp(beta * x)) / beta``, or ``x`` where ``beta * x > threshold``."""
    return _unary_activation("softplus", x, out_dtype, p0=float(beta), p1=float(threshold))


def activation(x: Array, op: str, p0: float, p1: float) -> Array:
    """Elementwise activation ``op`` of ``x`` (result in ``x``'s dtype)."""
    out = empty(x.shape, x.dtype)
    n = out.numel
    if n == 0:
        return out
    xc = contiguous(x)  # kept referenced until the launch ends
    block, warps = _launch_config()
    with np.errstate(all="ignore"):
        runtime.kernels().activation.activation_kernel[grid_1d(n, block)](
            pointer(out), pointer(xc), n, _bits(p0), _bits(p1), OP=op,
            COMPUTE=_compute(x.dtype), BLOCK=block, num_warps=warps)
    return out


def activation_backward(grad: Array, x: Array, op: str, p0: float, p1: float) -> Array:
    """``grad * op'(x)`` (result in ``grad``'s dtype)."""
    dx = empty(grad.shape, grad.dtype)
    n = dx.numel
    if n == 0:
        return dx
    gc, xc = contiguous(grad), contiguous(x)
    block, warps = _launch_config()
    with np.errstate(all="ignore"):
        runtime.kernels().activation.activation_backward_kernel[grid_1d(n, block)](
            pointer(dx), pointer(gc), pointer(xc), n, _bits(p0), _bits(p1), OP=op,
            COMPUTE=_compute(x.dtype), BLOCK=block, num_warps=warps)
    return dx


KERNELS = {"gelu": gelu, "gelu_tanh": gelu_tanh, "silu": silu, "softplus": softplus,
           "activation": activation, "activation_backward": activation_backward}
