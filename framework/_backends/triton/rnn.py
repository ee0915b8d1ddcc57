"""Launch wrappers: fused LSTM/GRU cells on ``cuda`` (kernels in ``triton_kernels/rnn.py``),
and whole layer directions (``lstm_sequence``, ``gru_sequence``: per step the GEMM and the
cell kernel, launched into slots of the sequence's buffers).

Operands are read in place through their two strides; outputs and ``saved`` are contiguous
(new arrays, or slots of a sequence's buffers). One program per tile of BLOCK_N rows by
BLOCK_H hidden units.
"""
from __future__ import annotations

import triton
import triton.language as tl

from ... import dtypes
from ..array import Array
from ..sequence import check_sequence, slot_order
from . import runtime
from .launch import pointer
from .elementwise import binary
from .matmul import matmul, matmul_epilogue
from .memory import copy_, empty, full


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
    _lstm_cell_into(h, c, saved, gates, c_prev, out_dtype)
    return h, c, saved


def _lstm_cell_into(h: Array, c: Array, saved: Array, gates: Array, c_prev: Array,
                    out_dtype) -> None:
    """``lstm_cell`` writing into ``h``, ``c`` (N, H) and ``saved`` (N, 4H): contiguous
    views (slots of a sequence's buffers, or new arrays)."""
    rows, hidden = c_prev.shape
    if rows * hidden:
        _launch(_kernels().lstm_cell_kernel, rows, hidden, pointer(h), pointer(c),
                pointer(saved), pointer(gates), pointer(c_prev),
                strides=_strides(gates) + _strides(c_prev), COMPUTE=_compute(out_dtype))


def lstm_cell_backward(grad_h: Array | None, grad_c: Array | None, c_prev: Array, c: Array,
                       saved: Array, out_dtype) -> tuple:
    """(d_gates (N, 4H), d_c_prev (N, H)) of ``lstm_cell`` from its ``c`` and ``saved``."""
    rows, hidden = c_prev.shape
    d_gates, d_c = empty((rows, 4 * hidden), out_dtype), empty((rows, hidden), out_dtype)
    _lstm_cell_backward_into(d_gates, d_c, grad_h, grad_c, c_prev, c, saved, out_dtype)
    return d_gates, d_c


def _lstm_cell_backward_into(d_gates: Array, d_c: Array, grad_h: Array | None,
                             grad_c: Array | None, c_prev: Array, c: Array, saved: Array,
                             out_dtype) -> None:
    """``lstm_cell_backward`` writing into the contiguous views ``d_gates`` (N, 4H) and
    ``d_c`` (N, H)."""
    rows, hidden = c_prev.shape
    if rows * hidden:
        _launch(_kernels().lstm_cell_backward_kernel, rows, hidden, pointer(d_gates),
                pointer(d_c), pointer(saved if grad_h is None else grad_h),
                pointer(saved if grad_c is None else grad_c), pointer(c_prev), pointer(c),
                pointer(saved),
                strides=_strides(grad_h) + _strides(grad_c) + _strides(c_prev) + _strides(c),
                HAS_GRAD_H=grad_h is not None, HAS_GRAD_C=grad_c is not None,
                COMPUTE=_compute(out_dtype))


def gru_cell(x_gates: Array, h_gates: Array, h_prev: Array, out_dtype) -> tuple:
    """(h, saved) of one GRU step from the input and hidden gate projections (N, 3H) and
    h_prev (N, H); saved (N, 4H) = [r, z, n, h_n]."""
    rows, hidden = h_prev.shape
    h = empty((rows, hidden), out_dtype)
    saved = empty((rows, 4 * hidden), _saved_dtype(out_dtype))
    _gru_cell_into(h, saved, x_gates, h_gates, h_prev, out_dtype)
    return h, saved


def _gru_cell_into(h: Array, saved: Array, x_gates: Array, h_gates: Array, h_prev: Array,
                   out_dtype) -> None:
    """``gru_cell`` writing into the contiguous views ``h`` (N, H) and ``saved`` (N, 4H)."""
    rows, hidden = h_prev.shape
    if rows * hidden:
        _launch(_kernels().gru_cell_kernel, rows, hidden, pointer(h), pointer(saved),
                pointer(x_gates), pointer(h_gates), pointer(h_prev),
                strides=_strides(x_gates) + _strides(h_gates) + _strides(h_prev),
                COMPUTE=_compute(out_dtype))


def gru_cell_backward(grad_h: Array | None, h_prev: Array, saved: Array, out_dtype) -> tuple:
    """(d_x_gates, d_h_gates (N, 3H), d_h_prev's direct part grad_h z (N, H)) of ``gru_cell``."""
    rows, hidden = h_prev.shape
    d_x, d_hg = empty((rows, 3 * hidden), out_dtype), empty((rows, 3 * hidden), out_dtype)
    d_h = empty((rows, hidden), out_dtype)
    _gru_cell_backward_into(d_x, d_hg, d_h, grad_h, h_prev, saved, out_dtype)
    return d_x, d_hg, d_h


def _gru_cell_backward_into(d_x: Array, d_hg: Array, d_h: Array, grad_h: Array | None,
                            h_prev: Array, saved: Array, out_dtype) -> None:
    """``gru_cell_backward`` writing into the contiguous views ``d_x``, ``d_hg`` (N, 3H) and
    ``d_h`` (N, H)."""
    rows, hidden = h_prev.shape
    if rows * hidden:
        _launch(_kernels().gru_cell_backward_kernel, rows, hidden, pointer(d_x), pointer(d_hg),
                pointer(d_h), pointer(saved if grad_h is None else grad_h), pointer(h_prev),
                pointer(saved), strides=_strides(grad_h) + _strides(h_prev),
                HAS_GRAD_H=grad_h is not None, COMPUTE=_compute(out_dtype))


# Whole sequences: one call per layer direction, each step the recurrent GEMM (bias and
# input projection in its epilogue) and the cell kernel writing into slots of the sequence's
# buffers; the same slot layout as the NumPy backend's.


def _at(a: Array, t: int) -> Array:
    """``a[t]`` as a view."""
    return a.view(a.shape[1:], a.strides[1:], a.offset + t * a.strides[0])


def _matrix(a: Array) -> Array:
    """A 2-D view as the (1, M, K) operand of the GEMM kernels."""
    return a.view((1,) + tuple(a.shape), (0,) + tuple(a.strides), a.offset)


def _plain(a: Array) -> Array:
    """The (1, M, N) result of a GEMM as its (M, N) view."""
    return a.view(a.shape[1:], a.strides[1:], a.offset)


def _transposed(w_hh: Array) -> Array:
    """A contiguous copy of ``w_hh``ᵀ (G, H) -> (H, G) as the (1, H, G) right operand of every
    step's GEMM (made once per sequence: the GEMMs then read it row-major)."""
    gates, hidden = w_hh.shape
    out = empty((hidden, gates), w_hh.dtype)
    copy_(out, w_hh.view((hidden, gates), (w_hh.strides[1], w_hh.strides[0]), w_hh.offset))
    return _matrix(out)


def lstm_sequence(x_proj: Array, h0: Array, c0: Array, w_hh: Array, b_hh: Array | None,
                  reverse: bool) -> tuple:
    """(states, cells, saved): all T steps of one LSTM layer direction; states and cells
    (T + 1, N, H) hold h0/c0 and each step's h/c (``slot_order``); saved (T, N, 4H) is each
    step's ``lstm_cell`` saved, for the backward."""
    length, rows, hidden = check_sequence("lstm_sequence", x_proj, c0, w_hh, 4)
    dtype = x_proj.dtype
    states, cells = (empty((length + 1, rows, hidden), dtype) for _ in range(2))
    saved = empty((length, rows, 4 * hidden), dtype)
    first = length if reverse else 0
    copy_(_at(states, first), h0)
    copy_(_at(cells, first), c0)
    w_t = _transposed(w_hh)
    for t, src, dst in slot_order(length, reverse):
        pre, _ = matmul_epilogue(_matrix(_at(states, src)), w_t, b_hh, None,
                                 _matrix(_at(x_proj, t)), False)
        _lstm_cell_into(_at(states, dst), _at(cells, dst), _at(saved, t), _plain(pre),
                        _at(cells, src), dtype)
    return states, cells, saved


def lstm_sequence_backward(grad_out: Array | None, grad_h: Array | None, grad_c: Array | None,
                           w_hh: Array, cells: Array, saved: Array, reverse: bool,
                           need_h0: bool, need_c0: bool) -> tuple:
    """(d_gates (T, N, 4H), d_h0, d_c0 (N, H) or None where not needed) of ``lstm_sequence``
    from its cells and saved; grad_out (T, N, H), grad_h, grad_c (N, H) or None (zero)."""
    length, rows, width = saved.shape
    hidden, dtype = width // 4, saved.dtype
    d_gates = empty((length, rows, width), dtype)
    w3 = _matrix(w_hh)
    order = slot_order(length, reverse)[::-1]  # back through time
    d_h = _first_grad(grad_out if order else None, grad_h, order[0][0] if order else 0, dtype)
    d_c = grad_c
    for step, (t, src, dst) in enumerate(order):
        d_c_prev = empty((rows, hidden), dtype)
        _lstm_cell_backward_into(_at(d_gates, t), d_c_prev, d_h, d_c, _at(cells, src),
                                 _at(cells, dst), _at(saved, t), dtype)
        d_c = d_c_prev
        rows_t = _matrix(_at(d_gates, t))
        if step == length - 1:
            d_h = _plain(matmul(rows_t, w3)) if need_h0 else None
        elif grad_out is None:
            d_h = _plain(matmul(rows_t, w3))
        else:  # d_h_prev = d_gates W_hh + the next output's gradient (the GEMM's epilogue)
            d_h = _plain(matmul_epilogue(rows_t, w3, None, None,
                                         _matrix(_at(grad_out, order[step + 1][0])), False)[0])
    if not length:  # no steps: the state gradients pass through
        d_h, d_c = (None if g is None else _copy(g) for g in (grad_h, grad_c))
    return (d_gates, _or_zeros(d_h, rows, hidden, dtype) if need_h0 else None,
            _or_zeros(d_c, rows, hidden, dtype) if need_c0 else None)


def _first_grad(grad_out: Array | None, grad_h: Array | None, t: int, dtype) -> Array | None:
    """grad_h + grad_out[t] (either possibly None: zero; None when both are)."""
    if grad_out is None:
        return grad_h
    if grad_h is None:
        return _at(grad_out, t)
    return binary("add", grad_h, _at(grad_out, t), dtype, dtype)


def gru_sequence(x_proj: Array, h0: Array, w_hh: Array, b_hh: Array | None,
                 reverse: bool) -> tuple:
    """(states, saved): all T steps of one GRU layer direction; states (T + 1, N, H) holds h0
    and each step's h (``slot_order``); saved (T, N, 4H) is each step's ``gru_cell`` saved."""
    length, rows, hidden = check_sequence("gru_sequence", x_proj, h0, w_hh, 3)
    dtype = x_proj.dtype
    states = empty((length + 1, rows, hidden), dtype)
    saved = empty((length, rows, 4 * hidden), dtype)
    copy_(_at(states, length if reverse else 0), h0)
    w_t = _transposed(w_hh)
    for t, src, dst in slot_order(length, reverse):
        h_gates, _ = matmul_epilogue(_matrix(_at(states, src)), w_t, b_hh, None, None, False)
        _gru_cell_into(_at(states, dst), _at(saved, t), _at(x_proj, t), _plain(h_gates),
                       _at(states, src), dtype)
    return states, saved


def gru_sequence_backward(grad_out: Array | None, grad_h: Array | None, w_hh: Array,
                          states: Array, saved: Array, reverse: bool, need_h0: bool) -> tuple:
    """(d_x_proj, d_h_proj (T, N, 3H), d_h0 (N, H) or None) of ``gru_sequence`` from its
    states and saved; grad_out (T, N, H), grad_h (N, H) or None (zero)."""
    length, rows, width = saved.shape
    hidden, dtype = width // 4, saved.dtype
    d_x, d_proj = (empty((length, rows, 3 * hidden), dtype) for _ in range(2))
    w3 = _matrix(w_hh)
    order = slot_order(length, reverse)[::-1]  # back through time
    grad = _first_grad(grad_out if order else None, grad_h, order[0][0] if order else 0, dtype)
    for step, (t, src, _) in enumerate(order):
        direct = empty((rows, hidden), dtype)
        _gru_cell_backward_into(_at(d_x, t), _at(d_proj, t), direct, grad, _at(states, src),
                                _at(saved, t), dtype)
        if step == length - 1 and not need_h0:
            break
        # d_h_prev = d_proj W_hh + the direct part (the GEMM's epilogue) + the next output's
        grad, _ = matmul_epilogue(_matrix(_at(d_proj, t)), w3, None, None, _matrix(direct),
                                  False)
        grad = _plain(grad)
        if grad_out is not None and step < length - 1:
            grad = binary("add", grad, _at(grad_out, order[step + 1][0]), dtype, dtype)
    if not length and grad is not None:  # no steps: the state gradient passes through
        grad = _copy(grad)
    return d_x, d_proj, _or_zeros(grad, rows, hidden, dtype) if need_h0 else None


def _copy(a: Array) -> Array:
    out = empty(tuple(a.shape), a.dtype)
    copy_(out, a)
    return out


def _or_zeros(grad: Array | None, rows: int, hidden: int, dtype) -> Array:
    """``grad``, or (N, H) zeros for None (no gradient reached the state)."""
    return full((rows, hidden), 0.0, dtype) if grad is None else grad


KERNELS = {"lstm_cell": lstm_cell, "lstm_cell_backward": lstm_cell_backward,
           "gru_cell": gru_cell, "gru_cell_backward": gru_cell_backward,
           "lstm_sequence": lstm_sequence, "lstm_sequence_backward": lstm_sequence_backward,
           "gru_sequence": gru_sequence, "gru_sequence_backward": gru_sequence_backward}
