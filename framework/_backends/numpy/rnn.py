"""CPU kernels of the fused recurrent cells (NumPy): one LSTM or GRU step, and all steps of
a layer direction (``lstm_sequence``, ``gru_sequence``), forward and backward.

Each kernel is a short run of ufuncs writing into preallocated buffers (``out=``): no
temporary per elementwise step. The operations and their order are those of the per-step
ops (``sigmoid`` as ``1 / (1 + exp(-x))``, ``tanh``, ``mul``, ``add``), so in float32 and
float64 the values are the ops' bits. Half types compute in float32 (cells only); ``saved``
stays in float32 for them.
"""
from __future__ import annotations

import numpy as np

from ..array import Array
from ..sequence import check_sequence, slot_order
from ._arrays import compute_dtype, nd, quiet, wrap


def _operand(a: Array, ct: np.dtype) -> np.ndarray:
    """The NumPy view of ``a`` in the compute type (a converted copy only for half types)."""
    data = nd(a)
    return data if data.dtype == ct else data.astype(ct)


def _sigmoid_(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = 1 / (1 + exp(-x))`` in four in-place passes (``out`` may be ``x``)."""
    np.negative(x, out=out)
    np.exp(out, out=out)
    np.add(out, 1.0, out=out)
    return np.divide(1.0, out, out=out)


def _result(value: np.ndarray, out_dtype) -> Array:
    return wrap(value if value.dtype == out_dtype.numpy else value.astype(out_dtype.numpy),
                out_dtype)


def _by_gate(a: np.ndarray, gates: int) -> np.ndarray:
    """The (N, k·H) array ``a`` as a (k, N, H) view: one (N, H) block per gate (splitting the
    last axis is a view for any strides)."""
    rows, width = a.shape
    return a.reshape(rows, gates, width // gates).transpose(1, 0, 2)


def _gate_major(a: np.ndarray) -> np.ndarray:
    """A gate-major copy (4, N, H) of the (N, 4H) ``a``: each gate's block contiguous.

    A gate's columns of an (N, 4H) array are N strided rows, and NumPy runs an elementwise
    op on them as N short inner loops (~4 us for a (32, 128) product, against ~1 us
    contiguous); one transposing copy in (and one out) is ~2 us each, so the cell kernels
    run every elementwise step on contiguous blocks."""
    out = np.empty((4,) + (a.shape[0], a.shape[1] // 4), a.dtype)
    np.copyto(out, _by_gate(a, 4))
    return out


def _row_major(blocks: np.ndarray) -> np.ndarray:
    """The (N, 4H) array of the gate-major blocks (4, N, H): ``_gate_major``'s inverse."""
    _, rows, hidden = blocks.shape
    out = np.empty((rows, 4 * hidden), blocks.dtype)
    np.copyto(_by_gate(out, 4), blocks)
    return out


def _lstm_cell(gates, c_prev, out_dtype) -> tuple:
    ct = compute_dtype(out_dtype)
    cp = _operand(c_prev, ct)
    s = _gate_major(_operand(gates, ct))  # pre-activations, then [σ(i), σ(f), tanh(g), σ(o)]
    i, f, g, o = s
    _sigmoid_(s[:2], s[:2])  # i and f: one contiguous block
    _sigmoid_(o, o)
    np.tanh(g, out=g)
    c = np.multiply(f, cp)
    h = np.multiply(i, g)
    np.add(c, h, out=c)
    np.tanh(c, out=h)
    np.multiply(o, h, out=h)
    return _result(h, out_dtype), _result(c, out_dtype), wrap(_row_major(s))


def lstm_cell(gates: Array, c_prev: Array, out_dtype) -> tuple:
    """(h, c, saved) of one LSTM step from the summed gate pre-activations (N, 4H) and
    c_prev (N, H); saved (N, 4H) = [σ(i), σ(f), tanh(g), σ(o)]."""
    return quiet(_lstm_cell, gates, c_prev, out_dtype)


def _lstm_cell_backward(grad_h, grad_c, c_prev, c, saved, out_dtype) -> tuple:
    ct = compute_dtype(out_dtype)
    cp = _operand(c_prev, ct)
    s = _gate_major(_operand(saved, ct))
    i, f, g, o = s
    rows, hidden = cp.shape
    tanh_c = np.tanh(_operand(c, ct))
    d_h = np.zeros((rows, hidden), ct) if grad_h is None else _operand(grad_h, ct)
    # gate-major d_gates; first A = [d_c g, d_c c_prev, d_c i, d_h tanh_c]
    d = np.empty((4, rows, hidden), ct)
    np.multiply(d_h, tanh_c, out=d[3])
    # d_c = grad_c + (d_h * o) * (1 - tanh_c²)
    d_c = np.multiply(d_h, o)
    np.multiply(tanh_c, tanh_c, out=tanh_c)
    np.subtract(1.0, tanh_c, out=tanh_c)
    np.multiply(d_c, tanh_c, out=d_c)
    if grad_c is not None:
        np.add(_operand(grad_c, ct), d_c, out=d_c)
    np.multiply(d_c, g, out=d[0])
    np.multiply(d_c, cp, out=d[1])
    np.multiply(d_c, i, out=d[2])
    # then (A * σ) * (1 - σ) for i, f, o and A * (1 - tanh(g)²) for g: the ops' order
    np.multiply(d[:2], s[:2], out=d[:2])
    np.multiply(d[3], o, out=d[3])
    one_minus = np.subtract(1.0, s)
    np.multiply(g, g, out=one_minus[2])
    np.subtract(1.0, one_minus[2], out=one_minus[2])
    np.multiply(d, one_minus, out=d)
    np.multiply(d_c, f, out=d_c)
    return _result(_row_major(d), out_dtype), _result(d_c, out_dtype)


def lstm_cell_backward(grad_h: Array | None, grad_c: Array | None, c_prev: Array, c: Array,
                       saved: Array, out_dtype) -> tuple:
    """(d_gates (N, 4H), d_c_prev (N, H)) of ``lstm_cell`` from its ``c`` and ``saved``."""
    return quiet(_lstm_cell_backward, grad_h, grad_c, c_prev, c, saved, out_dtype)


def _gru_cell(x_gates, h_gates, h_prev, out_dtype) -> tuple:
    ct = compute_dtype(out_dtype)
    x, hg, hp = _operand(x_gates, ct), _operand(h_gates, ct), _operand(h_prev, ct)
    rows, hidden = hp.shape
    saved = np.empty((rows, 4 * hidden), ct)
    r, z, n, h_n = (saved[:, k * hidden:(k + 1) * hidden] for k in range(4))
    rz = saved[:, :2 * hidden]
    np.add(x[:, :2 * hidden], hg[:, :2 * hidden], out=rz)
    _sigmoid_(rz, rz)
    h_n[...] = hg[:, 2 * hidden:]
    np.multiply(r, h_n, out=n)
    np.add(x[:, 2 * hidden:], n, out=n)
    np.tanh(n, out=n)
    h = np.subtract(1.0, z)
    np.multiply(h, n, out=h)
    tmp = np.multiply(z, hp)
    np.add(h, tmp, out=h)
    return _result(h, out_dtype), wrap(saved)


def gru_cell(x_gates: Array, h_gates: Array, h_prev: Array, out_dtype) -> tuple:
    """(h, saved) of one GRU step from the input and hidden gate projections (N, 3H) and
    h_prev (N, H); saved (N, 4H) = [r, z, n, h_n]."""
    return quiet(_gru_cell, x_gates, h_gates, h_prev, out_dtype)


def _gru_cell_backward(grad_h, h_prev, saved, out_dtype) -> tuple:
    ct = compute_dtype(out_dtype)
    s, hp = _operand(saved, ct), _operand(h_prev, ct)
    rows, hidden = hp.shape
    r, z, n, h_n = (s[:, k * hidden:(k + 1) * hidden] for k in range(4))
    grad = np.zeros((rows, hidden), ct) if grad_h is None else _operand(grad_h, ct)
    d_x = np.empty((rows, 3 * hidden), ct)
    d_r, d_z, d_n = (d_x[:, k * hidden:(k + 1) * hidden] for k in range(3))
    # d_n = (grad (1 - z)) (1 - n²)
    one_minus = np.subtract(1.0, s[:, :2 * hidden])  # [1 - r, 1 - z]
    np.multiply(grad, one_minus[:, hidden:], out=d_n)
    tmp = np.multiply(n, n)
    np.subtract(1.0, tmp, out=tmp)
    np.multiply(d_n, tmp, out=d_n)
    # d_r = ((d_n h_n) r) (1 - r), d_z = ((grad (h_prev - n)) z) (1 - z)
    np.multiply(d_n, h_n, out=d_r)
    np.subtract(hp, n, out=d_z)
    np.multiply(grad, d_z, out=d_z)
    rz = d_x[:, :2 * hidden]
    np.multiply(rz, s[:, :2 * hidden], out=rz)
    np.multiply(rz, one_minus, out=rz)
    d_hg = np.empty((rows, 3 * hidden), ct)
    d_hg[:, :2 * hidden] = rz
    np.multiply(d_n, r, out=d_hg[:, 2 * hidden:])
    direct = np.multiply(grad, z, out=tmp)
    return _result(d_x, out_dtype), _result(d_hg, out_dtype), _result(direct, out_dtype)


def gru_cell_backward(grad_h: Array | None, h_prev: Array, saved: Array, out_dtype) -> tuple:
    """(d_x_gates, d_h_gates (N, 3H), d_h_prev's direct part grad_h z (N, H)) of ``gru_cell``."""
    return quiet(_gru_cell_backward, grad_h, h_prev, saved, out_dtype)


# Whole sequences ---------------------------------------------------------------------------
# One call runs all T steps of a layer direction: the recurrent GEMM writes into one
# preallocated (N, G) buffer, the cell math into slots of the (T + 1, N, H) state buffers and
# of a gate-major workspace, so a step is a dozen ufunc calls on contiguous blocks with no
# allocation and no ``Array`` wrapping. The forward has the per-step ops' bits (the GEMM,
# then the bias, then the input projection added, as ``linear``'s epilogue does).


def _rows_of(bias: Array | None, rows: int) -> np.ndarray | None:
    """The bias repeated over ``rows`` rows, contiguous (None for None): adding it per step
    is then a same-shape add (~2 us less than broadcasting the vector, same sums)."""
    return None if bias is None else np.repeat(nd(bias)[None], rows, axis=0)


def _lstm_sequence(x_proj, h0, c0, w_hh, b_hh, reverse) -> tuple:
    x, w = nd(x_proj), nd(w_hh)
    length, rows, hidden = check_sequence("lstm_sequence", x_proj, c0, w_hh, 4)
    dt = x.dtype
    w_t = np.ascontiguousarray(w.T)  # (H, 4H): the GEMM reads its right operand row-major
    bias = _rows_of(b_hh, rows)
    states, cells = (np.empty((length + 1, rows, hidden), dt) for _ in range(2))
    saved = np.empty((length, 5, rows, hidden), dt)  # [σ(i), σ(f), σ(o), tanh(g), tanh(c)]
    pre, i_g = np.empty((rows, 4 * hidden), dt), np.empty((rows, hidden), dt)
    gates = _by_gate(pre, 4)  # (4, N, H) view: i, f, g, o
    first = length if reverse else 0
    states[first], cells[first] = nd(h0), nd(c0)
    for t, src, dst in slot_order(length, reverse):
        np.matmul(states[src], w_t, out=pre)
        if bias is not None:
            np.add(pre, bias, out=pre)
        np.add(pre, x[t], out=pre)
        s = saved[t]
        # σ's first pass (negation) is the gate-major copy: i, f, o side by side, so the other
        # three passes run once over one contiguous block
        np.negative(gates[:2], out=s[:2])
        np.negative(gates[3], out=s[2])
        np.tanh(gates[2], out=s[3])
        sig = s[:3]
        np.exp(sig, out=sig)
        np.add(sig, 1.0, out=sig)
        np.divide(1.0, sig, out=sig)
        i, f, o, g, tanh_c = s
        c = cells[dst]
        np.multiply(f, cells[src], out=c)  # c = σ(f) c_prev + σ(i) tanh(g)
        np.multiply(i, g, out=i_g)
        np.add(c, i_g, out=c)
        np.tanh(c, out=tanh_c)
        np.multiply(o, tanh_c, out=states[dst])  # h = σ(o) tanh(c)
    return wrap(states), wrap(cells), wrap(saved)


def lstm_sequence(x_proj: Array, h0: Array, c0: Array, w_hh: Array, b_hh: Array | None,
                  reverse: bool) -> tuple:
    """(states, cells, saved): all T steps of one LSTM layer direction; states and cells
    (T + 1, N, H) hold h0/c0 and each step's h/c (``slot_order``); saved (T, 5, N, H) is
    [σ(i), σ(f), σ(o), tanh(g), tanh(c)] per step, gate-major, for the backward."""
    return quiet(_lstm_sequence, x_proj, h0, c0, w_hh, b_hh, reverse)


def _first_grad(grad_out, grad_h, t: int, shape: tuple, dt) -> np.ndarray:
    """grad_h + grad_out[t], either possibly None (zero), as a new array."""
    if grad_h is None and grad_out is None:
        return np.zeros(shape, dt)
    if grad_h is None:
        return np.array(nd(grad_out)[t], dt)
    if grad_out is None:
        return np.array(nd(grad_h), dt)
    return np.add(nd(grad_h), nd(grad_out)[t])


def _lstm_sequence_backward(grad_out, grad_h, grad_c, w_hh, cells, saved, reverse, need_h0,
                            need_c0) -> tuple:
    s_all, cs, w = nd(saved), nd(cells), nd(w_hh)
    length, _, rows, hidden = s_all.shape
    dt = s_all.dtype
    order = slot_order(length, reverse)[::-1]  # back through time
    grads = None if grad_out is None else nd(grad_out)
    d_gates = np.empty((length, rows, 4 * hidden), dt)
    d, one_minus = np.empty((4, rows, hidden), dt), np.empty((4, rows, hidden), dt)
    tmp = np.empty((rows, hidden), dt)
    d_h = _first_grad(grad_out, grad_h, order[0][0], (rows, hidden), dt) if order else None
    d_c = None if grad_c is None else np.array(nd(grad_c), dt)
    d_h0 = None
    for step, (t, src, _) in enumerate(order):
        s = s_all[t]
        i, f, o, g, tanh_c = s
        # d_c = grad_c + (d_h σ(o)) (1 - tanh(c)²)
        np.multiply(d_h, o, out=tmp)
        np.multiply(tanh_c, tanh_c, out=d[0])
        np.subtract(1.0, d[0], out=d[0])
        np.multiply(tmp, d[0], out=tmp)
        if d_c is None:
            d_c, tmp = tmp, np.empty((rows, hidden), dt)
        else:
            np.add(d_c, tmp, out=d_c)
        # d (gate order i, f, g, o) = A (1 - σ) σ for i, f, o and A (1 - tanh(g)²) for g, with
        # A = [d_c tanh(g), d_c c_prev, d_c σ(i), d_h tanh(c)]: the cell kernels' order
        np.multiply(d_c, g, out=d[0])
        np.multiply(d_c, cs[src], out=d[1])
        np.multiply(d_c, i, out=d[2])
        np.multiply(d_h, tanh_c, out=d[3])
        np.multiply(d[:2], s[:2], out=d[:2])
        np.multiply(d[3], o, out=d[3])
        np.subtract(1.0, s[:2], out=one_minus[:2])
        np.subtract(1.0, o, out=one_minus[3])
        np.multiply(g, g, out=one_minus[2])
        np.subtract(1.0, one_minus[2], out=one_minus[2])
        np.multiply(d, one_minus, out=d)
        np.multiply(d_c, f, out=d_c)  # d_c_prev
        rows_t = d_gates[t]
        np.copyto(_by_gate(rows_t, 4), d)
        if step == length - 1:
            d_h0 = np.matmul(rows_t, w) if need_h0 else None
        else:
            np.matmul(rows_t, w, out=d_h)  # d_h_prev = d_gates W_hh (+ the next output's grad)
            if grads is not None:
                np.add(d_h, grads[order[step + 1][0]], out=d_h)
    if length == 0:  # no steps: the state gradients pass through
        d_h0 = _first_grad(None, grad_h, 0, (rows, hidden), dt)
        d_c = _first_grad(None, grad_c, 0, (rows, hidden), dt)
    return (wrap(d_gates), wrap(d_h0) if need_h0 else None, wrap(d_c) if need_c0 else None)


def lstm_sequence_backward(grad_out: Array | None, grad_h: Array | None, grad_c: Array | None,
                           w_hh: Array, cells: Array, saved: Array, reverse: bool,
                           need_h0: bool, need_c0: bool) -> tuple:
    """(d_gates (T, N, 4H), d_h0, d_c0 (N, H) or None where not needed) of ``lstm_sequence``
    from its cells and saved; grad_out (T, N, H), grad_h, grad_c (N, H) or None (zero)."""
    return quiet(_lstm_sequence_backward, grad_out, grad_h, grad_c, w_hh, cells, saved,
                 reverse, need_h0, need_c0)


def _gru_sequence(x_proj, h0, w_hh, b_hh, reverse) -> tuple:
    x, w = nd(x_proj), nd(w_hh)
    length, rows, hidden = check_sequence("gru_sequence", x_proj, h0, w_hh, 3)
    dt = x.dtype
    w_t = np.ascontiguousarray(w.T)  # (H, 3H): the GEMM reads its right operand row-major
    bias = _rows_of(b_hh, rows)
    states = np.empty((length + 1, rows, hidden), dt)
    saved = np.empty((length, 4, rows, hidden), dt)  # [r, z, n, h_n] per step, gate-major
    h_proj, z_h = np.empty((rows, 3 * hidden), dt), np.empty((rows, hidden), dt)
    h_gates = _by_gate(h_proj, 3)
    states[length if reverse else 0] = nd(h0)
    for t, src, dst in slot_order(length, reverse):
        np.matmul(states[src], w_t, out=h_proj)
        if bias is not None:
            np.add(h_proj, bias, out=h_proj)
        s, x_gates = saved[t], _by_gate(x[t], 3)
        np.add(x_gates[:2], h_gates[:2], out=s[:2])  # r, z = σ(x_rz + h_rz)
        _sigmoid_(s[:2], s[:2])
        np.copyto(s[3], h_gates[2])
        np.multiply(s[0], s[3], out=s[2])  # n = tanh(x_n + r h_n)
        np.add(x_gates[2], s[2], out=s[2])
        np.tanh(s[2], out=s[2])
        h = states[dst]
        np.subtract(1.0, s[1], out=h)  # h = (1 - z) n + z h_prev
        np.multiply(h, s[2], out=h)
        np.multiply(s[1], states[src], out=z_h)
        np.add(h, z_h, out=h)
    return wrap(states), wrap(saved)


def gru_sequence(x_proj: Array, h0: Array, w_hh: Array, b_hh: Array | None,
                 reverse: bool) -> tuple:
    """(states, saved): all T steps of one GRU layer direction; states (T + 1, N, H) holds h0
    and each step's h (``slot_order``); saved (T, 4, N, H) is [r, z, n, h_n] per step,
    gate-major, for the backward."""
    return quiet(_gru_sequence, x_proj, h0, w_hh, b_hh, reverse)


def _gru_sequence_backward(grad_out, grad_h, w_hh, states, saved, reverse, need_h0) -> tuple:
    s_all, hs, w = nd(saved), nd(states), nd(w_hh)
    length, _, rows, hidden = s_all.shape
    dt = s_all.dtype
    order = slot_order(length, reverse)[::-1]  # back through time
    grads = None if grad_out is None else nd(grad_out)
    d_x, d_proj = (np.empty((length, rows, 3 * hidden), dt) for _ in range(2))
    d, one_minus = np.empty((3, rows, hidden), dt), np.empty((2, rows, hidden), dt)
    direct = np.empty((rows, hidden), dt)
    d_h = _first_grad(grad_out if order else None, grad_h, order[0][0] if order else 0,
                      (rows, hidden), dt)
    for step, (t, src, _) in enumerate(order):
        s = s_all[t]
        r, z, n, h_n = s
        d_r, d_z, d_n = d
        np.subtract(1.0, s[:2], out=one_minus)  # [1 - r, 1 - z]
        np.multiply(d_h, one_minus[1], out=d_n)  # d_n = (grad (1 - z)) (1 - n²)
        np.multiply(n, n, out=direct)
        np.subtract(1.0, direct, out=direct)
        np.multiply(d_n, direct, out=d_n)
        np.multiply(d_n, h_n, out=d_r)  # d_r = ((d_n h_n) r) (1 - r)
        np.subtract(hs[src], n, out=d_z)  # d_z = ((grad (h_prev - n)) z) (1 - z)
        np.multiply(d_h, d_z, out=d_z)
        np.multiply(d[:2], s[:2], out=d[:2])
        np.multiply(d[:2], one_minus, out=d[:2])
        np.copyto(_by_gate(d_x[t], 3), d)
        proj = _by_gate(d_proj[t], 3)
        np.copyto(proj[:2], d[:2])
        np.multiply(d_n, r, out=proj[2])
        np.multiply(d_h, z, out=direct)  # h_prev's direct part
        if step == length - 1 and not need_h0:
            break
        np.matmul(d_proj[t], w, out=d_h)  # d_h_prev = d_proj W_hh + direct (+ next grad)
        np.add(d_h, direct, out=d_h)
        if grads is not None and step < length - 1:
            np.add(d_h, grads[order[step + 1][0]], out=d_h)
    return wrap(d_x), wrap(d_proj), wrap(d_h) if need_h0 else None


def gru_sequence_backward(grad_out: Array | None, grad_h: Array | None, w_hh: Array,
                          states: Array, saved: Array, reverse: bool, need_h0: bool) -> tuple:
    """(d_x_proj, d_h_proj (T, N, 3H), d_h0 (N, H) or None) of ``gru_sequence`` from its
    states and saved; grad_out (T, N, H), grad_h (N, H) or None (zero)."""
    return quiet(_gru_sequence_backward, grad_out, grad_h, w_hh, states, saved, reverse,
                 need_h0)


KERNELS = {"lstm_cell": lstm_cell, "lstm_cell_backward": lstm_cell_backward,
           "gru_cell": gru_cell, "gru_cell_backward": gru_cell_backward,
           "lstm_sequence": lstm_sequence, "lstm_sequence_backward": lstm_sequence_backward,
           "gru_sequence": gru_sequence, "gru_sequence_backward": gru_sequence_backward}
