"""The fused recurrent-cell kernels (contract family ``rnn``) against PyTorch in float64.

``lstm_cell``/``lstm_cell_backward`` and ``gru_cell``/``gru_cell_backward`` are called on
each backend directly (cpu: NumPy; cuda: the Triton kernels on the interpreter), forward
and backward, with strided (transposed) gate views, missing gradients, batch 1, hidden 1
and a hidden size that is not a multiple of the Triton block. The oracle is PyTorch's
cell math in float64 with autograd. These kernels are reached only through ``nn.LSTM``/
``nn.GRU`` (no public op), whose inputs are validated there (``tests/nn/test_nn_rnn.py``).
"""
import numpy as np
import pytest
import torch

import framework
from framework import dtypes
from framework._backends import for_device
from framework.ops._util import wrap
from helpers import DEVICES, tolerance

RNG = np.random.default_rng(0)
DTYPES = [dtypes.float32, dtypes.float64]
HALF_DTYPES = [dtypes.float16, dtypes.bfloat16]
# (N, H): batch 1, hidden 1, odd sizes; (3, 130) has a hidden size past one 128-wide block
SHAPES = [(1, 1), (1, 5), (3, 7), (3, 130)]

# the interpreter's exp overflows on saturating inputs (the kernels' limits are then exact)
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")


def _tensor(array, device, dtype, transposed=False):
    """A framework tensor of ``array``; with ``transposed``, a (column-major) transposed view."""
    if transposed:
        return framework.tensor(np.ascontiguousarray(array.T), dtype=dtype, device=device).t()
    return framework.tensor(array, dtype=dtype, device=device)


def _numpy(array, device):
    return wrap(array, framework.device(device)).cpu().numpy().astype(np.float64)


def _reference_lstm(gates, c_prev, grad_h, grad_c):
    g = torch.tensor(gates, requires_grad=True)
    c0 = torch.tensor(c_prev, requires_grad=True)
    i, f, gg, o = g.chunk(4, 1)
    i, f, gg, o = i.sigmoid(), f.sigmoid(), gg.tanh(), o.sigmoid()
    c = f * c0 + i * gg
    tanh_c = c.tanh()
    h = o * tanh_c
    saved = torch.cat([i, f, gg, o], 1)
    loss = (h * torch.tensor(grad_h)).sum() if grad_h is not None else 0
    if grad_c is not None:
        loss = loss + (c * torch.tensor(grad_c)).sum()
    d_g, d_c0 = torch.autograd.grad(loss, (g, c0), allow_unused=True) if torch.is_tensor(loss) \
        else (torch.zeros_like(g), torch.zeros_like(c0))
    return [t.detach().numpy() for t in (h, c, saved, d_g, d_c0)]


def _reference_gru(x_gates, h_gates, h_prev, grad_h):
    x = torch.tensor(x_gates, requires_grad=True)
    hg = torch.tensor(h_gates, requires_grad=True)
    hp = torch.tensor(h_prev, requires_grad=True)
    xr, xz, xn = x.chunk(3, 1)
    hr, hz, hn = hg.chunk(3, 1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    h = (1 - z) * n + z * hp
    saved = torch.cat([r, z, n, hn], 1)
    if grad_h is None:
        grads = [torch.zeros_like(t) for t in (x, hg, hp)]
    else:
        grads = torch.autograd.grad((h * torch.tensor(grad_h)).sum(), (x, hg, hp))
    # h_prev's gradient through h = ... + z h_prev only (the direct part), as the kernel gives
    direct = torch.zeros_like(hp) if grad_h is None else torch.tensor(grad_h) * z
    return [t.detach().numpy() for t in (h, saved, grads[0], grads[1], direct)]


def _check(actual, expected, device, dtype, names):
    atol, rtol = tolerance(dtype)
    for name, a, e in zip(names, actual, expected):
        got = _numpy(a, device)
        assert got.shape == e.shape, f"{name}: shape {got.shape} != {e.shape}"
        np.testing.assert_allclose(got, e, atol=atol, rtol=rtol, err_msg=name)


def _transposed_copy(a, device, transposed):
    """Array ``a`` itself, or (``transposed``) the same values through a transposed view."""
    if not transposed:
        return a
    return _tensor(_numpy(a, device), device, a.dtype, True)._a


def _round(array, dtype):
    """``array`` rounded to ``dtype`` and back to float64 (the oracle sees the kernel's input)."""
    return framework.tensor(array, dtype=dtype).to(dtypes.float64).numpy()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("transposed", [False, True])
def test_lstm_cell_forward_and_backward(device, dtype, shape, transposed):
    n, hidden = shape
    gates, c_prev = RNG.standard_normal((n, 4 * hidden)), RNG.standard_normal((n, hidden))
    grad_h, grad_c = RNG.standard_normal((n, hidden)), RNG.standard_normal((n, hidden))
    kernels = for_device(framework.device(device))
    g_t = _tensor(gates, device, dtype, transposed)
    c_t = _tensor(c_prev, device, dtype, transposed)
    h, c, saved = kernels.lstm_cell(g_t._a, c_t._a, dtype)
    d_g, d_c = kernels.lstm_cell_backward(_tensor(grad_h, device, dtype, transposed)._a,
                                          _tensor(grad_c, device, dtype)._a, c_t._a,
                                          _transposed_copy(c, device, transposed), saved, dtype)
    _check((h, c, saved, d_g, d_c), _reference_lstm(gates, c_prev, grad_h, grad_c), device, dtype,
           ("h", "c", "saved", "d_gates", "d_c_prev"))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("missing", ["grad_h", "grad_c", "both"])
def test_lstm_cell_backward_treats_a_missing_gradient_as_zero(device, missing):
    n, hidden, dtype = 2, 3, dtypes.float64
    gates, c_prev = RNG.standard_normal((n, 4 * hidden)), RNG.standard_normal((n, hidden))
    grad_h = None if missing in ("grad_h", "both") else RNG.standard_normal((n, hidden))
    grad_c = None if missing in ("grad_c", "both") else RNG.standard_normal((n, hidden))
    kernels = for_device(framework.device(device))
    c_t = _tensor(c_prev, device, dtype)
    _, c, saved = kernels.lstm_cell(_tensor(gates, device, dtype)._a, c_t._a, dtype)
    args = [None if g is None else _tensor(g, device, dtype)._a for g in (grad_h, grad_c)]
    d_g, d_c = kernels.lstm_cell_backward(*args, c_t._a, c, saved, dtype)
    _check((d_g, d_c), _reference_lstm(gates, c_prev, grad_h, grad_c)[3:], device, dtype,
           ("d_gates", "d_c_prev"))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("transposed", [False, True])
def test_gru_cell_forward_and_backward(device, dtype, shape, transposed):
    n, hidden = shape
    x_gates, h_gates = RNG.standard_normal((n, 3 * hidden)), RNG.standard_normal((n, 3 * hidden))
    h_prev, grad_h = RNG.standard_normal((n, hidden)), RNG.standard_normal((n, hidden))
    kernels = for_device(framework.device(device))
    hp_t = _tensor(h_prev, device, dtype, transposed)
    h, saved = kernels.gru_cell(_tensor(x_gates, device, dtype, transposed)._a,
                                _tensor(h_gates, device, dtype)._a, hp_t._a, dtype)
    d_x, d_hg, d_h = kernels.gru_cell_backward(_tensor(grad_h, device, dtype, transposed)._a,
                                               hp_t._a, saved, dtype)
    _check((h, saved, d_x, d_hg, d_h), _reference_gru(x_gates, h_gates, h_prev, grad_h), device,
           dtype, ("h", "saved", "d_x_gates", "d_h_gates", "d_h_prev"))


@pytest.mark.parametrize("device", DEVICES)
def test_gru_cell_backward_treats_a_missing_gradient_as_zero(device):
    n, hidden, dtype = 2, 3, dtypes.float64
    x_gates, h_gates = RNG.standard_normal((n, 3 * hidden)), RNG.standard_normal((n, 3 * hidden))
    h_prev = RNG.standard_normal((n, hidden))
    kernels = for_device(framework.device(device))
    hp_t = _tensor(h_prev, device, dtype)
    _, saved = kernels.gru_cell(_tensor(x_gates, device, dtype)._a,
                                _tensor(h_gates, device, dtype)._a, hp_t._a, dtype)
    d_x, d_hg, d_h = kernels.gru_cell_backward(None, hp_t._a, saved, dtype)
    _check((d_x, d_hg, d_h), _reference_gru(x_gates, h_gates, h_prev, None)[2:], device, dtype,
           ("d_x_gates", "d_h_gates", "d_h_prev"))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_cells_compute_half_types_in_float32(device, dtype):
    """Half inputs: results in the half type, ``saved`` in float32, values within the half
    type's tolerance of the float64 oracle on the rounded inputs."""
    n, hidden = 3, 5
    kernels = for_device(framework.device(device))
    gates = _round(RNG.standard_normal((n, 4 * hidden)), dtype)
    state, grad = _round(RNG.standard_normal((n, hidden)), dtype), _round(
        RNG.standard_normal((n, hidden)), dtype)
    s_t = _tensor(state, device, dtype)
    h, c, saved = kernels.lstm_cell(_tensor(gates, device, dtype)._a, s_t._a, dtype)
    assert (h.dtype, c.dtype, saved.dtype) == (dtype, dtype, dtypes.float32)
    d_g, d_c = kernels.lstm_cell_backward(_tensor(grad, device, dtype)._a, None, s_t._a, c,
                                          saved, dtype)
    expected = _reference_lstm(gates, state, grad, None)
    _check((h, c, saved, d_g, d_c), expected, device, dtype,
           ("h", "c", "saved", "d_gates", "d_c_prev"))
    x_gates = _round(RNG.standard_normal((n, 3 * hidden)), dtype)
    h_gates = _round(RNG.standard_normal((n, 3 * hidden)), dtype)
    h, saved = kernels.gru_cell(_tensor(x_gates, device, dtype)._a,
                                _tensor(h_gates, device, dtype)._a, s_t._a, dtype)
    assert (h.dtype, saved.dtype) == (dtype, dtypes.float32)
    d_x, d_hg, d_h = kernels.gru_cell_backward(_tensor(grad, device, dtype)._a, s_t._a, saved,
                                               dtype)
    _check((h, saved, d_x, d_hg, d_h), _reference_gru(x_gates, h_gates, state, grad), device,
           dtype, ("h", "saved", "d_x_gates", "d_h_gates", "d_h_prev"))


@pytest.mark.parametrize("device", DEVICES)
def test_cells_saturate_without_nan(device):
    """Large pre-activations: sigmoid and tanh reach their limits, no NaN or inf."""
    kernels = for_device(framework.device(device))
    gates = np.array([[80.0, -80.0, 30.0, -30.0], [-1e4, 1e4, -1e4, 1e4]])
    c_prev = np.array([[1.0], [-2.0]])
    h, c, saved = kernels.lstm_cell(_tensor(gates, device, dtypes.float32)._a,
                                    _tensor(c_prev, device, dtypes.float32)._a, dtypes.float32)
    expected = _reference_lstm(gates, c_prev, None, None)
    _check((h, c, saved), expected[:3], device, dtypes.float32, ("h", "c", "saved"))
    assert np.isfinite(_numpy(saved, device)).all()


def _lstm_by_the_ops(gates, c_prev, grad_h, grad_c):
    """NumPy transcription of the per-step ops in their order, on the column blocks of the
    gate array (strided views, as ``chunk`` gives them): the forward of ``_lstm_cell_ops``
    and the backward formulas of ``_LSTMCell.backward``."""
    hidden = c_prev.shape[1]
    i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
    i, f, o = (1.0 / (1.0 + np.exp(-x)) for x in (i, f, o))
    g = np.tanh(g)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    d_c = grad_c + (grad_h * o) * (1.0 - tanh_c * tanh_c)
    d_gates = np.concatenate([((d_c * g) * i) * (1.0 - i), ((d_c * c_prev) * f) * (1.0 - f),
                              (d_c * i) * (1.0 - g * g), ((grad_h * tanh_c) * o) * (1.0 - o)], 1)
    return h, c, np.concatenate([i, f, g, o], 1), d_gates, d_c * f


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (3, 130), (32, 128)])
@pytest.mark.parametrize("transposed", [False, True])
def test_numpy_lstm_cell_has_the_per_op_bits(dtype, shape, transposed):
    """The NumPy LSTM kernels work on gate-major copies of the (N, 4H) arrays (contiguous
    blocks); every value is still the per-step ops' value bit for bit, in float32 and float64,
    at the benchmark's width, for strided inputs and through saturation, inf and NaN."""
    n, hidden = shape
    rng = np.random.default_rng(21)
    gates = rng.standard_normal((n, 4 * hidden)) * 8
    gates[0, :4] = [np.inf, -np.inf, np.nan, 100.0]
    c_prev, grad_h, grad_c = (rng.standard_normal((n, hidden)) for _ in range(3))
    kernels = for_device(framework.device("cpu"))
    g_t = _tensor(gates, "cpu", dtype, transposed)
    c_t = _tensor(c_prev, "cpu", dtype, transposed)
    h, c, saved = kernels.lstm_cell(g_t._a, c_t._a, dtype)
    d_g, d_c = kernels.lstm_cell_backward(_tensor(grad_h, "cpu", dtype, transposed)._a,
                                          _tensor(grad_c, "cpu", dtype)._a, c_t._a, c, saved,
                                          dtype)
    as_type = [a.astype(dtype.numpy) for a in (gates, c_prev, grad_h, grad_c)]
    with np.errstate(all="ignore"):
        expected = _lstm_by_the_ops(*as_type)
    for name, got, want in zip(("h", "c", "saved", "d_gates", "d_c_prev"),
                               (h, c, saved, d_g, d_c), expected):
        got = wrap(got, framework.device("cpu")).numpy()
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert got.tobytes() == want.tobytes(), name


# Whole sequences ---------------------------------------------------------------------------
def _slot_order(length, reverse):
    """(t, slot read, slot written) of each step in running order (the kernels' layout)."""
    if reverse:
        return [(t, t + 1, t) for t in range(length - 1, -1, -1)]
    return [(t, t, t + 1) for t in range(length)]


def _reference_lstm_sequence(x_proj, h0, c0, w_hh, b_hh, reverse, grad_out, grad_h, grad_c):
    """PyTorch float64: (states, cells) in the kernels' slot layout and the gradients of
    x_proj, h0 and c0 for the loss sum(h_t grad_out[t]) + h_T grad_h + c_T grad_c."""
    x, h, c = (torch.tensor(a, requires_grad=True) for a in (x_proj, h0, c0))
    w = torch.tensor(w_hh)
    length = x_proj.shape[0]
    states, cells = [None] * (length + 1), [None] * (length + 1)
    first = length if reverse else 0
    states[first], cells[first] = h, c
    loss = 0
    for t, src, dst in _slot_order(length, reverse):
        gates = states[src] @ w.T + x[t]
        if b_hh is not None:
            gates = gates + torch.tensor(b_hh)
        i, f, g, o = gates.chunk(4, 1)
        cells[dst] = f.sigmoid() * cells[src] + i.sigmoid() * g.tanh()
        states[dst] = o.sigmoid() * cells[dst].tanh()
        if grad_out is not None:
            loss = loss + (states[dst] * torch.tensor(grad_out[t])).sum()
    last = 0 if reverse else length
    for value, grad in ((states[last], grad_h), (cells[last], grad_c)):
        if grad is not None:
            loss = loss + (value * torch.tensor(grad)).sum()
    grads = torch.autograd.grad(loss, (x, h, c), allow_unused=True) if torch.is_tensor(loss) \
        else (None,) * 3
    grads = [torch.zeros_like(v) if gr is None else gr for gr, v in zip(grads, (x, h, c))]
    return [t.detach().numpy() for t in (torch.stack(states), torch.stack(cells), *grads)]


def _sequence_inputs(length, n, hidden, bias, seed=3):
    rng = np.random.default_rng(seed)
    x_proj = rng.standard_normal((length, n, 4 * hidden))
    h0, c0 = rng.standard_normal((n, hidden)), rng.standard_normal((n, hidden))
    w_hh = rng.standard_normal((4 * hidden, hidden)) * 0.5
    b_hh = rng.standard_normal(4 * hidden) if bias else None
    grads = [rng.standard_normal((length, n, hidden))] + [rng.standard_normal((n, hidden))
                                                          for _ in range(2)]
    return x_proj, h0, c0, w_hh, b_hh, grads


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, reverse, bias, strided", [
    ((3, 2, 5), False, True, False), ((3, 2, 5), True, True, True), ((1, 1, 1), False, False, True),
    ((4, 3, 130), True, False, False), ((0, 2, 3), False, True, False)])
def test_lstm_sequence_forward_and_backward(device, dtype, shape, reverse, bias, strided):
    """All steps of a layer direction in one call, against PyTorch's step-by-step math: the
    (T + 1) states and cells, and the gradients of the gates, h0 and c0; ``strided``: x_proj
    a permuted view and w_hh a transposed one."""
    length, n, hidden = shape
    x_proj, h0, c0, w_hh, b_hh, (g_out, g_h, g_c) = _sequence_inputs(length, n, hidden, bias)
    kernels = for_device(framework.device(device))
    if strided:
        x_t = framework.tensor(np.ascontiguousarray(x_proj.transpose(1, 0, 2)), dtype=dtype,
                               device=device).transpose(0, 1)
    else:
        x_t = _tensor(x_proj, device, dtype)
    args = [x_t._a, _tensor(h0, device, dtype)._a, _tensor(c0, device, dtype, strided)._a,
            _tensor(w_hh, device, dtype, strided)._a,
            None if b_hh is None else _tensor(b_hh, device, dtype)._a]
    states, cells, saved = kernels.lstm_sequence(*args, reverse)
    grads = [_tensor(g, device, dtype)._a for g in (g_out, g_h, g_c)]
    d_gates, d_h0, d_c0 = kernels.lstm_sequence_backward(*grads, args[3], cells, saved, reverse,
                                                         True, True)
    expected = _reference_lstm_sequence(x_proj, h0, c0, w_hh, b_hh, reverse, g_out, g_h, g_c)
    _check((states, cells, d_gates, d_h0, d_c0), expected, device, dtype,
           ("states", "cells", "d_gates", "d_h0", "d_c0"))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("missing", ["grad_out", "grad_h", "grad_c", "all"])
def test_lstm_sequence_backward_treats_a_missing_gradient_as_zero(device, missing):
    length, n, hidden, dtype = 3, 2, 3, dtypes.float64
    x_proj, h0, c0, w_hh, b_hh, grads = _sequence_inputs(length, n, hidden, True, seed=4)
    grads = [None if missing in (name, "all") else g
             for name, g in zip(("grad_out", "grad_h", "grad_c"), grads)]
    kernels = for_device(framework.device(device))
    w_t = _tensor(w_hh, device, dtype)
    _, cells, saved = kernels.lstm_sequence(
        *(_tensor(a, device, dtype)._a for a in (x_proj, h0, c0)), w_t._a,
        _tensor(b_hh, device, dtype)._a, False)
    results = kernels.lstm_sequence_backward(
        *(None if g is None else _tensor(g, device, dtype)._a for g in grads), w_t._a, cells,
        saved, False, True, True)
    expected = _reference_lstm_sequence(x_proj, h0, c0, w_hh, b_hh, False, *grads)[2:]
    _check(results, expected, device, dtype, ("d_gates", "d_h0", "d_c0"))


@pytest.mark.parametrize("device", DEVICES)
def test_lstm_sequence_backward_skips_state_gradients_not_needed(device):
    x_proj, h0, c0, w_hh, b_hh, grads = _sequence_inputs(2, 2, 3, True, seed=5)
    dtype = dtypes.float64
    kernels = for_device(framework.device(device))
    w_t = _tensor(w_hh, device, dtype)
    _, cells, saved = kernels.lstm_sequence(
        *(_tensor(a, device, dtype)._a for a in (x_proj, h0, c0)), w_t._a, None, True)
    d_gates, d_h0, d_c0 = kernels.lstm_sequence_backward(
        *(_tensor(g, device, dtype)._a for g in grads), w_t._a, cells, saved, True, False, False)
    assert d_h0 is None and d_c0 is None
    expected = _reference_lstm_sequence(x_proj, h0, c0, w_hh, None, True, *grads)[2]
    _check((d_gates,), (expected,), device, dtype, ("d_gates",))


@pytest.mark.parametrize("device", DEVICES)
def test_lstm_sequence_rejects_bad_operands(device):
    """Half types and mismatched shapes are refused with a ValueError naming the kernel."""
    kernels = for_device(framework.device(device))
    state = _tensor(np.zeros((2, 3)), device, dtypes.float32)._a
    w_hh = _tensor(np.zeros((12, 3)), device, dtypes.float32)._a
    x_proj = _tensor(np.zeros((4, 2, 12)), device, dtypes.float32)._a
    half = _tensor(np.zeros((4, 2, 12)), device, dtypes.float16)._a
    with pytest.raises(ValueError, match="lstm_sequence: expected float32 or float64"):
        kernels.lstm_sequence(half, state, state, w_hh, None, False)
    wide = _tensor(np.zeros((4, 2, 8)), device, dtypes.float32)._a
    with pytest.raises(ValueError, match=r"lstm_sequence: expected x_proj \(T, N, 4H\)"):
        kernels.lstm_sequence(wide, state, state, w_hh, None, False)
    with pytest.raises(ValueError, match=r"lstm_sequence: expected x_proj \(T, N, 4H\)"):
        kernels.lstm_sequence(x_proj, state, state, _tensor(np.zeros((12, 4)), device,
                                                            dtypes.float32)._a, None, False)


def _reference_gru_sequence(x_proj, h0, w_hh, b_hh, reverse, grad_out, grad_h):
    """PyTorch float64: the states in the kernels' slot layout and the gradients of x_proj,
    of each step's hidden projection (h_prev W_hhᵀ + b_hh) and of h0 for the loss
    sum(h_t grad_out[t]) + h_T grad_h."""
    x, h = (torch.tensor(a, requires_grad=True) for a in (x_proj, h0))
    w = torch.tensor(w_hh)
    length = x_proj.shape[0]
    states, projections = [None] * (length + 1), [None] * length
    states[length if reverse else 0] = h
    loss = 0
    for t, src, dst in _slot_order(length, reverse):
        h_proj = states[src] @ w.T
        if b_hh is not None:
            h_proj = h_proj + torch.tensor(b_hh)
        projections[t] = h_proj
        h_proj.retain_grad()
        x_r, x_z, x_n = x[t].chunk(3, 1)
        h_r, h_z, h_n = h_proj.chunk(3, 1)
        r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
        n = (x_n + r * h_n).tanh()
        states[dst] = (1 - z) * n + z * states[src]
        if grad_out is not None:
            loss = loss + (states[dst] * torch.tensor(grad_out[t])).sum()
    if grad_h is not None:
        loss = loss + (states[0 if reverse else length] * torch.tensor(grad_h)).sum()
    if torch.is_tensor(loss):
        loss.backward()
    d_proj = [torch.zeros_like(p) if p.grad is None else p.grad for p in projections]
    d_proj = torch.stack(d_proj) if d_proj else torch.zeros_like(x)
    grads = [torch.zeros_like(v) if v.grad is None else v.grad for v in (x, h)]
    return [t.detach().numpy() for t in (torch.stack(states), grads[0], d_proj, grads[1])]


def _gru_sequence_inputs(length, n, hidden, bias, seed=6):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((length, n, 3 * hidden)), rng.standard_normal((n, hidden)),
            rng.standard_normal((3 * hidden, hidden)) * 0.5,
            rng.standard_normal(3 * hidden) if bias else None,
            [rng.standard_normal((length, n, hidden)), rng.standard_normal((n, hidden))])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, reverse, bias, strided", [
    ((3, 2, 5), False, True, False), ((3, 2, 5), True, True, True), ((1, 1, 1), False, False, True),
    ((4, 3, 130), True, False, False), ((0, 2, 3), False, True, False)])
def test_gru_sequence_forward_and_backward(device, dtype, shape, reverse, bias, strided):
    """All steps of a GRU layer direction in one call, against PyTorch's step-by-step math:
    the (T + 1) states, and the gradients of x_proj, of each step's hidden projection and of
    h0; ``strided``: x_proj a permuted view, h0 and w_hh transposed ones."""
    length, n, hidden = shape
    x_proj, h0, w_hh, b_hh, (g_out, g_h) = _gru_sequence_inputs(length, n, hidden, bias)
    kernels = for_device(framework.device(device))
    if strided:
        x_t = framework.tensor(np.ascontiguousarray(x_proj.transpose(1, 0, 2)), dtype=dtype,
                               device=device).transpose(0, 1)
    else:
        x_t = _tensor(x_proj, device, dtype)
    w_t = _tensor(w_hh, device, dtype, strided)
    states, saved = kernels.gru_sequence(
        x_t._a, _tensor(h0, device, dtype, strided)._a, w_t._a,
        None if b_hh is None else _tensor(b_hh, device, dtype)._a, reverse)
    results = kernels.gru_sequence_backward(
        *(_tensor(g, device, dtype)._a for g in (g_out, g_h)), w_t._a, states, saved, reverse,
        True)
    expected = _reference_gru_sequence(x_proj, h0, w_hh, b_hh, reverse, g_out, g_h)
    _check((states, *results), expected, device, dtype,
           ("states", "d_x_proj", "d_h_proj", "d_h0"))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("missing", ["grad_out", "grad_h", "both"])
def test_gru_sequence_backward_treats_a_missing_gradient_as_zero(device, missing):
    dtype = dtypes.float64
    x_proj, h0, w_hh, b_hh, grads = _gru_sequence_inputs(3, 2, 3, True, seed=7)
    grads = [None if missing in (name, "both") else g
             for name, g in zip(("grad_out", "grad_h"), grads)]
    kernels = for_device(framework.device(device))
    w_t = _tensor(w_hh, device, dtype)
    states, saved = kernels.gru_sequence(_tensor(x_proj, device, dtype)._a,
                                         _tensor(h0, device, dtype)._a, w_t._a,
                                         _tensor(b_hh, device, dtype)._a, True)
    results = kernels.gru_sequence_backward(
        *(None if g is None else _tensor(g, device, dtype)._a for g in grads), w_t._a, states,
        saved, True, True)
    expected = _reference_gru_sequence(x_proj, h0, w_hh, b_hh, True, *grads)[1:]
    _check(results, expected, device, dtype, ("d_x_proj", "d_h_proj", "d_h0"))
    without_h0 = kernels.gru_sequence_backward(
        *(None if g is None else _tensor(g, device, dtype)._a for g in grads), w_t._a, states,
        saved, True, False)
    assert without_h0[2] is None
    _check(without_h0[:2], expected[:2], device, dtype, ("d_x_proj", "d_h_proj"))


@pytest.mark.parametrize("device", DEVICES)
def test_gru_sequence_rejects_bad_operands(device):
    """Mixed dtypes and mismatched shapes are refused with a ValueError naming the kernel."""
    kernels = for_device(framework.device(device))
    state = _tensor(np.zeros((2, 3)), device, dtypes.float32)._a
    w_hh = _tensor(np.zeros((9, 3)), device, dtypes.float32)._a
    x64 = _tensor(np.zeros((4, 2, 9)), device, dtypes.float64)._a
    with pytest.raises(ValueError, match="gru_sequence: expected float32 or float64 operands "
                                         "of one dtype"):
        kernels.gru_sequence(x64, state, w_hh, None, False)
    x_proj = _tensor(np.zeros((4, 2, 9)), device, dtypes.float32)._a
    with pytest.raises(ValueError, match=r"gru_sequence: expected x_proj \(T, N, 3H\)"):
        kernels.gru_sequence(x_proj, _tensor(np.zeros((3, 3)), device, dtypes.float32)._a,
                             w_hh, None, False)
