"""Launch wrappers: fused LSTM/GRU cells on ``cuda`` (kernels in ``triton_kernels/rnn.py``).

Operands are read in place through their two strides; outputs and ``saved`` are new
contiguous arrays. One program per tile of BLOCK_N rows by BLOCK_H hidden units.
"""
from __future__ import annotations

import triton
import triton.language as tl

from ... import dtypes
from ..array import Array
from . import runtime
from .launch import pointer
from .memory import empty


def _kernels():
    return runtime.kernels().rnn


def _compute(dtype):
    """fp64 math for fp64, fp32 for fp32 and the half types."""
    return tl.float64 if dtype.name == "float64" else tl.float32


def _saved_dtype(dtype):
    """``saved`` keeps the compute type: float32 for the half types."""
    return dtypes.float64 if dtype.name == "float64" else dtypes.float32


def _launch(kernel, rows: int, hidden: int, *args, **constexprs) -> None:
    """Launch ``kernel`` over the (rows, hidden) state in tiles of at most TILE elements."""
    k = _kernels()
    block_h = min(triton.next_power_of_2(hidden), k.MAX_BLOCK_H)
    block_n = min(triton.next_power_of_2(rows), max(1, k.TILE // block_h))
    grid = (triton.cdiv(rows, block_n), triton.cdiv(hidden, block_h))
    kernel[grid](*args, rows, hidden, *constexprs.pop("strides"), **constexprs,
                 BLOCK_N=block_n, BLOCK_H=block_h, num_warps=k.NUM_WARPS)


def _strides(a: Array | None) -> tuple:
    return (0, 0) if a is None else tuple(a.strides)


def lstm_cell(gates: Array, c_prev: Array, out_dtype) -> tuple:
    """(h, c, saved) of one LSTM step from the summed gate pre-activations (N, 4H) and
    c_prev (N, H); saved (N, 4H) = [σ(i), σ(f), tanh(g), σ(o)]."""
    rows, hidden = c_prev.shape
    h, c = empty((rows, hidden), out_dtype), empty((rows, hidden), out_dtype)
    saved = empty((rows, 4 * hidden), _saved_dtype(out_dtype))
    if h.numel:
        _launch(_kernels().lstm_cell_kernel, rows, hidden, pointer(h), pointer(c),
                pointer(saved), pointer(gates), pointer(c_prev),
                strides=_strides(gates) + _strides(c_prev), COMPUTE=_compute(out_dtype))
    return h, c, saved


def lstm_cell_backward(grad_h: Array | None, grad_c: Array | None, c_prev: Array, c: Array,
                       saved: Array, out_dtype) -> tuple:
    """(d_gates (N, 4H), d_c_prev (N, H)) of ``lstm_cell`` from its ``c`` and ``saved``."""
    rows, hidden = c_prev.shape
    d_gates, d_c = empty((rows, 4 * hidden), out_dtype), empty((rows, hidden), out_dtype)
    if d_c.numel:
        _launch(_kernels().lstm_cell_backward_kernel, rows, hidden, pointer(d_gates),
                pointer(d_c), pointer(saved if grad_h is None else grad_h),
                pointer(saved if grad_c is None else grad_c), pointer(c_prev), pointer(c),
                pointer(saved),
                strides=_strides(grad_h) + _strides(grad_c) + _strides(c_prev) + _strides(c),
                HAS_GRAD_H=grad_h is not None, HAS_GRAD_C=grad_c is not None,
                COMPUTE=_compute(out_dtype))
    return d_gates, d_c


def gru_cell(x_gates: Array, h_gates: Array, h_prev: Array, out_dtype) -> tuple:
    """(h, saved) of one GRU step from the input and hidden gate projections (N, 3H) and
    h_prev (N, H); saved (N, 4H) = [r, z, n, h_n]."""
    rows, hidden = h_prev.shape
    h = empty((rows, hidden), out_dtype)
    saved = empty((rows, 4 * hidden), _saved_dtype(out_dtype))
    if h.numel:
        _launch(_kernels().gru_cell_kernel, rows, hidden, pointer(h), pointer(saved),
                pointer(x_gates), pointer(h_gates), pointer(h_prev),
                strides=_strides(x_gates) + _strides(h_gates) + _strides(h_prev),
                COMPUTE=_compute(out_dtype))
    return h, saved


def gru_cell_backward(grad_h: Array | None, h_prev: Array, saved: Array, out_dtype) -> tuple:
    """(d_x_gates, d_h_gates (N, 3H), d_h_prev's direct part grad_h z (N, H)) of ``gru_cell``."""
    rows, hidden = h_prev.shape
    d_x, d_hg = empty((rows, 3 * hidden), out_dtype), empty((rows, 3 * hidden), out_dtype)
    d_h = empty((rows, hidden), out_dtype)
    if d_h.numel:
        _launch(_kernels().gru_cell_backward_kernel, rows, hidden, pointer(d_x), pointer(d_hg),
                pointer(d_h), pointer(saved if grad_h is None else grad_h), pointer(h_prev),
                pointer(saved), strides=_strides(grad_h) + _strides(h_prev),
                HAS_GRAD_H=grad_h is not None, COMPUTE=_compute(out_dtype))
    return d_x, d_hg, d_h


KERNELS = {"lstm_cell": lstm_cell, "lstm_cell_backward": lstm_cell_backward,
           "gru_cell": gru_cell, "gru_cell_backward": gru_cell_backward}
