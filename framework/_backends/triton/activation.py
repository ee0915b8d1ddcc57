"""Launch wrappers: parameterized activations on ``cuda`` (``triton_kernels/activation.py``).

Operands are made contiguous (a copy only for strided views); one program
per BLOCK elements; the result is a new contiguous array.
"""
from __future__ import annotations

import functools

import numpy as np
import triton.language as tl

from ..array import Array
from . import runtime
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


KERNELS = {"activation": activation, "activation_backward": activation_backward}
