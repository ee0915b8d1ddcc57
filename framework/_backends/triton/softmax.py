"""Launch wrappers: softmax and log-softmax on ``cuda`` (``triton_kernels/softmax.py``).

One program per row: a row is the N elements along ``dim`` of the operand
made contiguous (a copy only for strided views), stride ``inner`` (the size
of the dims after it). Outputs are new contiguous arrays in the input's dtype.
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from ..array import Array
from . import runtime
from .launch import pointer
from .memory import contiguous, empty

_ACC = {"float64": tl.float64}


def _acc(dtype):
    """fp64 math for fp64, fp32 for fp32 and the half types."""
    return _ACC.get(dtype.name, tl.float32)


def _block(n: int) -> tuple:
    """``(BLOCK_N, SINGLE, num_warps)`` for rows of ``n`` elements."""
    limit = runtime.kernels().softmax.MAX_BLOCK_N
    block = min(triton.next_power_of_2(max(n, 1)), limit)
    warps = 4 if block <= 1024 else 8
    return block, n <= block, warps


def _quiet():
    """Silence NumPy's floating-point warnings under the interpreter (inf/NaN are intended)."""
    return np.errstate(all="ignore")


def _softmax_geometry(shape: tuple, dim: int) -> tuple:
    """``(rows, N, inner)`` of a contiguous array reduced along ``dim``: N = shape[dim],
    inner = the elements after it (the stride along the row), rows = the rest."""
    n = shape[dim]
    inner = math.prod(shape[dim + 1:])
    return math.prod(shape) // n if n else 0, n, inner


def softmax(x: Array, dim: int, log: bool) -> Array:
    """Softmax (``log``: log-softmax) along ``dim``, in ``x``'s dtype (contiguous result)."""
    out = empty(x.shape, x.dtype)
    rows, n, inner = _softmax_geometry(x.shape, dim)
    if rows == 0:
        return out
    block, single, warps = _block(n)
    xc = contiguous(x)  # kept referenced until the launch ends
    with _quiet():
        runtime.kernels().softmax.softmax_kernel[(rows,)](
            pointer(xc), pointer(out), n, inner, LOG=log, SINGLE=single, STRIDED=inner > 1,
            ACC=_acc(x.dtype), BLOCK_N=block, num_warps=warps)
    return out


def softmax_backward(grad: Array, out: Array, dim: int, log: bool) -> Array:
    """Input gradient of softmax/log-softmax along ``dim``, from its output ``out``."""
    dx = empty(grad.shape, grad.dtype)
    rows, n, inner = _softmax_geometry(grad.shape, dim)
    if rows == 0:
        return dx
    block, single, warps = _block(n)
    gc, oc = contiguous(grad), contiguous(out)  # kept referenced until the launch ends
    with _quiet():
        runtime.kernels().softmax.softmax_backward_kernel[(rows,)](
            pointer(gc), pointer(oc), pointer(dx), n, inner, LOG=log, SINGLE=single,
            STRIDED=inner > 1, ACC=_acc(grad.dtype), BLOCK_N=block, num_warps=warps)
    return dx


KERNELS = {"softmax": softmax, "softmax_backward": softmax_backward}
