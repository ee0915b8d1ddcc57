"""Recurrent layers ``RNN``, ``LSTM``, ``GRU`` and their cells, built from matmuls and
elementwise ops.

Parameter names, shapes, gate order (LSTM: i, f, g, o; GRU: r, z, n) and
initialization follow PyTorch, so state dicts load either way.

``RNN``, ``LSTM`` and ``GRU`` also take a ``PackedSequence`` (``nn.utils.rnn``): each step
runs on the sequences still running (``_run_packed_direction``); GRU and LSTM run one
whole-sequence node (``_GRUSequence``, ``_LSTMSequence``) per run of steps of equal batch
size, RNN (and LSTM with ``proj_size``) the per-step cell.
"""
from __future__ import annotations

import math
import warnings

from ... import dtypes, ops
from ..._backends.array import Array
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...ops._util import backend, wrap
from ...ops.indexing import index_select
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..utils.rnn import PackedSequence
from ._factory import empty_parameter
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_cell(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None,
              nonlinearity: str) -> Tensor:
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), with the input part precomputed."""
    pre = _affine(h, w_hh, b_hh, x_proj)
    return ops.unary.tanh(pre) if nonlinearity == "tanh" else ops.unary.relu(pre)


def _lstm_cell(x_proj: Tensor, state: tuple, w_hh: Tensor, b_hh: Tensor | None,
               w_hr: Tensor | None = None) -> tuple:
    """One LSTM step: gates i, f, g, o from the input and hidden projections; with
    ``w_hr`` (proj_size > 0) the new hidden state is projected by it."""
    if w_hr is None and _fused(x_proj, state[0], state[1], w_hh, b_hh):
        return _LSTMCell.apply(x_proj, state[0], state[1], w_hh, b_hh)
    return _lstm_cell_ops(x_proj, state, w_hh, b_hh, w_hr)


def _lstm_cell_ops(x_proj: Tensor, state: tuple, w_hh: Tensor, b_hh: Tensor | None,
                   w_hr: Tensor | None = None) -> tuple:
    """``_lstm_cell`` as separately recorded ops (the general path)."""
    h, c = state
    gates = _affine(h, w_hh, b_hh, x_proj)
    i, f, g, o = gates.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    if w_hr is not None:
        h = h.matmul(w_hr.t())
    return h, c


def _gru_cell(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """One GRU step: r, z from the summed projections; n = tanh(x_n + r * (h W_hnᵀ + b_hn))."""
    if _fused(x_proj, h, w_hh, b_hh):
        return _GRUCell.apply(x_proj, h, w_hh, b_hh)
    return _gru_cell_ops(x_proj, h, w_hh, b_hh)


def _gru_gates(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> tuple:
    """(r, z, n, h_n): the GRU gates and the hidden projection's n part."""
    h_proj = _affine(h, w_hh, b_hh)
    hidden = h.shape[-1]
    # r and z in one add and one sigmoid over the first two gates (elementwise: same values)
    r, z = (x_proj[..., :2 * hidden] + h_proj[..., :2 * hidden]).sigmoid().chunk(2, -1)
    h_n = h_proj[..., 2 * hidden:]
    n = (x_proj[..., 2 * hidden:] + r * h_n).tanh()
    return r, z, n, h_n


def _gru_cell_ops(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """``_gru_cell`` as separately recorded ops (the general path)."""
    r, z, n, _ = _gru_gates(x_proj, h, w_hh, b_hh)
    return (1 - z) * n + z * h


def _fused(*tensors) -> bool:
    """Whether a cell runs as one graph node (``_GRUCell``/``_LSTMCell``): floating tensors
    of one dtype (a mixed-dtype or integer call keeps the general path and its errors)."""
    dtype = tensors[0].dtype
    return dtype.is_floating_point and all(t is None or t.dtype == dtype for t in tensors)


def _sigmoid_grad(g: Tensor, s: Tensor) -> Tensor:
    return g * s * (1 - s)


def _tanh_grad(g: Tensor, t: Tensor) -> Tensor:
    return g * (1 - t * t)


def _affine_grads(d_proj: Tensor, h: Tensor, w_hh: Tensor, needs: tuple) -> tuple:
    """Gradients (h, w_hh, b_hh) of ``h W_hhᵀ + b_hh`` for its output gradient ``d_proj``;
    None where ``needs`` (three flags) says no gradient is wanted."""
    grad_h = d_proj.matmul(w_hh) if needs[0] else None
    grad_w = d_proj.mT.matmul(h) if needs[1] else None
    grad_b = d_proj.sum(0) if needs[2] else None
    return grad_h, grad_w, grad_b


class _TimeSteps(Function):
    """``x`` (T, ...) -> its T slices along dim 0 (copies), as one graph node whose backward
    stacks the T gradients (zeros for unused steps)."""

    @staticmethod
    def forward(ctx, x):
        return tuple(x[t].clone() for t in range(x.shape[0]))

    @staticmethod
    def backward(ctx, *grads):
        return ops.shape.stack(list(grads), 0)


class _PackedSteps(Function):
    """Packed rows ``x`` (rows, ...) -> its consecutive pieces of ``sizes[t]`` rows (copies),
    the time steps of a ``PackedSequence``, as one graph node whose backward concatenates
    the gradients."""

    @staticmethod
    def forward(ctx, x, sizes):
        pieces, start = [], 0
        for size in sizes:
            pieces.append(x[start:start + size].clone())
            start += size
        return tuple(pieces)

    @staticmethod
    def backward(ctx, *grads):
        return ops.shape.cat(list(grads), 0), None


def _equal_runs(batch_sizes: list) -> list:
    """``(steps, batch size)`` of each run of consecutive equal batch sizes."""
    runs = []
    for size in batch_sizes:
        if runs and runs[-1][1] == size:
            runs[-1] = (runs[-1][0] + 1, size)
        else:
            runs.append((1, size))
    return runs


def _rows(state) -> int:
    """The batch rows of a state (a tensor, or LSTM's (h, c))."""
    return (state[0] if isinstance(state, tuple) else state).shape[0]


def _narrow_state(state, start: int, stop: int):
    """Rows ``start:stop`` of a state (a tensor, or LSTM's (h, c))."""
    if isinstance(state, tuple):
        return tuple(s[start:stop] for s in state)
    return state[start:stop]


def _cat_states(states: list):
    """Row-wise concatenation of states (tensors, or LSTM's (h, c) pairs)."""
    if len(states) == 1:
        return states[0]
    if isinstance(states[0], tuple):
        return tuple(ops.shape.cat(list(parts), 0) for parts in zip(*states))
    return ops.shape.cat(states, 0)


class _GRUCell(Function):
    """One GRU step as one graph node. The forward runs the general path's ops (same
    values) without recording each; the backward is the step's gradient written in
    framework ops, so it is differentiable again (under ``create_graph`` the gates are
    recomputed with a graph first). ``tests/test_cpu_fast_paths.py`` checks it against
    the general path."""

    @staticmethod
    def forward(ctx, x_proj, h, w_hh, b_hh):
        r, z, n, h_n = _gru_gates(x_proj, h, w_hh, b_hh)
        ctx.save_for_backward(x_proj, h, w_hh, b_hh)
        ctx.gates = (r, z, n, h_n)
        return (1 - z) * n + z * h

    @staticmethod
    def backward(ctx, grad):
        x_proj, h, w_hh, b_hh = ctx.saved_tensors
        r, z, n, h_n = _gru_gates(x_proj, h, w_hh, b_hh) if is_grad_enabled() else ctx.gates
        d_n = _tanh_grad(grad * (1 - z), n)
        d_r = _sigmoid_grad(d_n * h_n, r)
        d_z = _sigmoid_grad(grad * (h - n), z)
        d_x = ops.shape.cat([d_r, d_z, d_n], -1)
        d_h_proj = ops.shape.cat([d_r, d_z, d_n * r], -1)
        grad_h, grad_w, grad_b = _affine_grads(d_h_proj, h, w_hh, ctx.needs_input_grad[1:4])
        if grad_h is not None:
            grad_h = grad_h + grad * z
        return d_x, grad_h, grad_w, grad_b


def _lstm_gates(x_proj: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor | None):
    """(i, f, g, o, c'): the LSTM gate activations and the new cell state."""
    i, f, g, o = _affine(h, w_hh, b_hh, x_proj).chunk(4, -1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    return i, f, g, o, f * c + i * g


class _LSTMCell(Function):
    """One LSTM step (no projection) as one graph node; outputs (h', c'). Like
    ``_GRUCell``: the general path's values, the gradient in framework ops."""

    @staticmethod
    def forward(ctx, x_proj, h, c, w_hh, b_hh):
        i, f, g, o, c_new = _lstm_gates(x_proj, h, c, w_hh, b_hh)
        tanh_c = c_new.tanh()
        ctx.save_for_backward(x_proj, h, c, w_hh, b_hh)
        ctx.gates = (i, f, g, o, tanh_c)
        return o * tanh_c, c_new

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        x_proj, h, c, w_hh, b_hh = ctx.saved_tensors
        if is_grad_enabled():
            i, f, g, o, c_new = _lstm_gates(x_proj, h, c, w_hh, b_hh)
            tanh_c = c_new.tanh()
        else:
            i, f, g, o, tanh_c = ctx.gates
        d_c = grad_c + _tanh_grad(grad_h * o, tanh_c)
        d_gates = ops.shape.cat([_sigmoid_grad(d_c * g, i), _sigmoid_grad(d_c * c, f),
                                 _tanh_grad(d_c * i, g), _sigmoid_grad(grad_h * tanh_c, o)], -1)
        need = ctx.needs_input_grad
        grad_h_prev, grad_w, grad_b = _affine_grads(d_gates, h, w_hh, (need[1],) + need[3:5])
        return d_gates, grad_h_prev, d_c * f if need[2] else None, grad_w, grad_b


def _steps(length: int, reverse: bool) -> range:
    return range(length - 1, -1, -1) if reverse else range(length)


def _gru_sequence_forward(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None,
                          reverse: bool) -> tuple:
    """Every step of ``_gru_cell`` over ``x_proj`` (T, N, 3H) from ``h``: (outputs by time
    index, final h, per-step (h_prev, r, z, n, h_n) by time index)."""
    outputs, saved = [None] * x_proj.shape[0], [None] * x_proj.shape[0]
    steps = x_proj.unbind(0)
    for t in _steps(len(steps), reverse):
        r, z, n, h_n = _gru_gates(steps[t], h, w_hh, b_hh)
        saved[t] = (h, r, z, n, h_n)
        h = outputs[t] = (1 - z) * n + z * h
    return outputs, h, saved


class _GRUSequence(Function):
    """All T steps of one GRU layer direction as one graph node: ``(x_proj (T, N, 3H), h0,
    w_hh, b_hh)`` -> ``(output (T, N, H), h_T)``.

    The forward is ``_gru_cell``'s computation step by step, unrecorded. The backward
    runs back through time with one ``d_gates @ w_hh`` per step, then gets ``w_hh``'s and
    ``b_hh``'s gradients from all steps at once (one GEMM over T·N rows, one sum), where
    per-step nodes made T small GEMMs and the engine summed T weight gradients.

    In float32/float64 (cpu and cuda) each direction is one contract kernel call
    (``gru_sequence``, ``gru_sequence_backward``: the whole recurrence inside the backend, no
    op layer per step; NumPy writes every step into preallocated buffers). For other
    dtypes, and for the backward under ``create_graph``, the steps are framework ops;
    under ``create_graph`` the steps are recomputed with a graph first, so second
    derivatives work. ``tests/test_cpu_fast_paths.py`` checks both against the per-step
    general path (on cpu the fused NumPy kernels keep the ops' order of operations)."""

    @staticmethod
    def forward(ctx, x_proj, h0, w_hh, b_hh, reverse):
        ctx.save_for_backward(x_proj, h0, w_hh, b_hh)
        ctx.reverse = reverse
        ctx.on_kernels = _on_kernels(x_proj)
        if ctx.on_kernels:
            states, saved = backend(x_proj).gru_sequence(
                x_proj._a, h0._a, w_hh._a, None if b_hh is None else b_hh._a, reverse)
            ctx.steps = (states, saved)
            last = 0 if reverse else x_proj.shape[0]
            return _own_outputs(ctx, states, x_proj), _own_copy(_at(states, last), x_proj)
        outputs, h, ctx.steps = _gru_sequence_forward(x_proj, h0, w_hh, b_hh, reverse)
        return ops.shape.stack(outputs, 0), h

    @staticmethod
    def backward(ctx, grad_out, grad_h):
        x_proj, h0, w_hh, b_hh = ctx.saved_tensors
        need = ctx.needs_input_grad
        if ctx.on_kernels and not is_grad_enabled():
            d_x, d_proj, d_h = backend(x_proj).gru_sequence_backward(
                *(None if g is None else g._a for g in (grad_out, grad_h)), w_hh._a,
                *ctx.steps, ctx.reverse, need[1])
            device = x_proj.device
            grad_w, grad_b = _weight_grads(wrap(d_proj, device), wrap(ctx.h_prev, device),
                                           need[2:4])
            return wrap(d_x, device), None if d_h is None else wrap(d_h, device), grad_w, grad_b, \
                None
        saved = ctx.steps
        if ctx.on_kernels or is_grad_enabled():  # Arrays, or create_graph: no graph saved
            saved = _gru_sequence_forward(x_proj, h0, w_hh, b_hh, ctx.reverse)[2]
        length = x_proj.shape[0]
        grads_out = (None,) * length if grad_out is None else grad_out.unbind(0)
        d_x, d_proj = [None] * length, [None] * length
        d_h = grad_h
        for t in _steps(length, not ctx.reverse):
            h, r, z, n, h_n = saved[t]
            grad = _add_grads(d_h, grads_out[t])
            if grad is None:
                grad = ops.creation.zeros_like(h)
            d_n = _tanh_grad(grad * (1 - z), n)
            d_r = _sigmoid_grad(d_n * h_n, r)
            d_z = _sigmoid_grad(grad * (h - n), z)
            d_x[t] = ops.shape.cat([d_r, d_z, d_n], -1)
            d_proj[t] = ops.shape.cat([d_r, d_z, d_n * r], -1)
            d_h = d_proj[t].matmul(w_hh) + grad * z
        grad_w, grad_b = _sequence_weight_grads(d_proj, [s[0] for s in saved],
                                                ctx.needs_input_grad[2:4])
        return (ops.shape.stack(d_x, 0), d_h if ctx.needs_input_grad[1] else None, grad_w,
                grad_b, None)


def _lstm_sequence_forward(x_proj: Tensor, h: Tensor, c: Tensor, w_hh: Tensor,
                           b_hh: Tensor | None, reverse: bool) -> tuple:
    """Every step of ``_lstm_cell`` (no projection) over ``x_proj`` (T, N, 4H): (outputs by
    time index, final h, final c, per-step (h_prev, c_prev, i, f, g, o, tanh c'))."""
    outputs, saved = [None] * x_proj.shape[0], [None] * x_proj.shape[0]
    steps = x_proj.unbind(0)
    for t in _steps(len(steps), reverse):
        i, f, g, o, c_new = _lstm_gates(steps[t], h, c, w_hh, b_hh)
        tanh_c = c_new.tanh()
        saved[t] = (h, c, i, f, g, o, tanh_c)
        h, c = o * tanh_c, c_new
        outputs[t] = h
    return outputs, h, c, saved


class _LSTMSequence(Function):
    """All T steps of one LSTM layer direction (no projection) as one graph node:
    ``(x_proj (T, N, 4H), h0, c0, w_hh, b_hh)`` -> ``(output (T, N, H), h_T, c_T)``. Like
    ``_GRUSequence``: the per-step ops' values forward, one weight-gradient GEMM backward.

    In float32/float64 each direction is one contract kernel call (``lstm_sequence``,
    ``lstm_sequence_backward``: the whole recurrence inside the backend, NumPy writing every
    step into preallocated buffers); elsewhere, and under ``create_graph``, framework ops."""

    @staticmethod
    def forward(ctx, x_proj, h0, c0, w_hh, b_hh, reverse):
        ctx.save_for_backward(x_proj, h0, c0, w_hh, b_hh)
        ctx.reverse = reverse
        ctx.on_kernels = _on_kernels(x_proj)
        if ctx.on_kernels:
            states, cells, saved = backend(x_proj).lstm_sequence(
                x_proj._a, h0._a, c0._a, w_hh._a, None if b_hh is None else b_hh._a, reverse)
            ctx.steps = (cells, saved)
            last = 0 if reverse else x_proj.shape[0]
            return (_own_outputs(ctx, states, x_proj), _own_copy(_at(states, last), x_proj),
                    _own_copy(_at(cells, last), x_proj))
        outputs, h, c, ctx.steps = _lstm_sequence_forward(x_proj, h0, c0, w_hh, b_hh, reverse)
        return ops.shape.stack(outputs, 0), h, c

    @staticmethod
    def backward(ctx, grad_out, grad_h, grad_c):
        x_proj, h0, c0, w_hh, b_hh = ctx.saved_tensors
        need = ctx.needs_input_grad
        if ctx.on_kernels and not is_grad_enabled():
            cells, saved = ctx.steps
            d_gates, d_h, d_c = backend(x_proj).lstm_sequence_backward(
                *(None if g is None else g._a for g in (grad_out, grad_h, grad_c)), w_hh._a,
                cells, saved, ctx.reverse, need[1], need[2])
            device = x_proj.device
            d_gates = wrap(d_gates, device)
            grad_w, grad_b = _weight_grads(d_gates, wrap(ctx.h_prev, device), need[3:5])
            return (d_gates, None if d_h is None else wrap(d_h, device),
                    None if d_c is None else wrap(d_c, device), grad_w, grad_b, None)
        saved = ctx.steps
        if ctx.on_kernels or is_grad_enabled():  # Arrays, or create_graph: no graph saved
            saved = _lstm_sequence_forward(x_proj, h0, c0, w_hh, b_hh, ctx.reverse)[3]
        length = x_proj.shape[0]
        grads_out = (None,) * length if grad_out is None else grad_out.unbind(0)
        d_gates = [None] * length
        d_h, d_c = grad_h, grad_c
        for t in _steps(length, not ctx.reverse):
            h, c, i, f, g, o, tanh_c = saved[t]
            d_h = _add_grads(d_h, grads_out[t])
            if d_h is None:
                d_h = ops.creation.zeros_like(h)
            d_c = _add_grads(d_c, _tanh_grad(d_h * o, tanh_c))
            d_gates[t] = ops.shape.cat([_sigmoid_grad(d_c * g, i), _sigmoid_grad(d_c * c, f),
                                        _tanh_grad(d_c * i, g),
                                        _sigmoid_grad(d_h * tanh_c, o)], -1)
            d_h, d_c = d_gates[t].matmul(w_hh), d_c * f
        need = ctx.needs_input_grad
        grad_w, grad_b = _sequence_weight_grads(d_gates, [s[0] for s in saved], need[3:5])
        return (ops.shape.stack(d_gates, 0), d_h if need[1] else None,
                d_c if need[2] else None, grad_w, grad_b, None)


def _add_grads(a: Tensor | None, b: Tensor | None) -> Tensor | None:
    """``a + b`` where either may be None (no gradient)."""
    return b if a is None else a if b is None else a + b


def _sequence_weight_grads(d_proj: list, h_prev: list, needs: tuple) -> tuple:
    """Gradients (w_hh, b_hh) of ``h_prev[t] W_hhᵀ + b_hh`` summed over all steps: one GEMM
    over the T·N rows and one sum (None where ``needs`` says no gradient is wanted)."""
    if not (needs[0] or needs[1]):
        return None, None
    rows = ops.shape.cat(d_proj, 0)  # (T·N, G)
    grad_w = rows.mT.matmul(ops.shape.cat(h_prev, 0)) if needs[0] else None
    grad_b = rows.sum(0) if needs[1] else None
    return grad_w, grad_b


def _at(a: Array, t: int) -> Array:
    """``a[t]`` as a view."""
    return a.view(a.shape[1:], a.strides[1:], a.offset + t * a.strides[0])


def _on_kernels(x_proj: Tensor) -> bool:
    """Whether a sequence node runs on the sequence kernels (``lstm_sequence``,
    ``gru_sequence`` and their backwards): float32/float64 tensors on either device (its
    backward under ``create_graph`` still runs the per-step framework ops). Elsewhere it
    runs the per-step framework ops."""
    return x_proj.dtype in (dtypes.float32, dtypes.float64)


def _slots(states: Array, start: int) -> Array:
    """``states[start:start + T]`` as a view, T = len(states) - 1."""
    return states.view((states.shape[0] - 1,) + tuple(states.shape[1:]), states.strides,
                       states.offset + start * states.strides[0])


def _own_outputs(ctx, states: Array, like: Tensor) -> Tensor:
    """The (T, N, H) output tensor: a copy of the output slots of ``states``, whose previous
    states the node keeps (``ctx.h_prev``, the weight gradient's operand) safe from in-place
    writes to the output."""
    reverse = ctx.reverse
    ctx.h_prev = _slots(states, 1 if reverse else 0)
    outputs = _slots(states, 0 if reverse else 1)
    out = backend(like).empty(tuple(outputs.shape), outputs.dtype)
    backend(like).copy_(out, outputs)
    return wrap(out, like.device)


def _own_copy(a: Array, like: Tensor) -> Tensor:
    """A tensor holding a copy of ``a`` (a slot of a buffer the node keeps for its backward)."""
    out = backend(like).empty(tuple(a.shape), a.dtype)
    backend(like).copy_(out, a)
    return wrap(out, like.device)


def _weight_grads(d_proj: Tensor, h_prev: Tensor, needs: tuple) -> tuple:
    """Gradients (w_hh, b_hh) of ``h_prev[t] W_hhᵀ + b_hh`` over all T steps from the
    per-step projection gradients ``d_proj`` (T, N, G) and the previous states ``h_prev``
    (T, N, H, contiguous): one GEMM over the T·N rows."""
    if not (needs[0] or needs[1]):
        return None, None
    length, rows, gates = d_proj.shape
    flat = d_proj.reshape(length * rows, gates)
    grad_w = grad_b = None
    if needs[0]:
        grad_w = flat.mT.matmul(h_prev.reshape(length * rows, h_prev.shape[-1]))
    if needs[1]:
        grad_b = flat.sum(0)
    return grad_w, grad_b


def _affine(x: Tensor, weight: Tensor, bias: Tensor | None,
            residual: Tensor | None = None) -> Tensor:
    """``x Wᵀ + b (+ residual)``: one fused ``linear`` (no transpose op, bias and the
    residual added in its epilogue)."""
    return ops.matmul.linear(x, weight, bias, residual=residual)


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrence shared by RNN, LSTM and GRU."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        _check_rnn_args(dropout, num_layers, hidden_size, proj_size, mode)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names: list = []
        num_directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for kind, shape in shapes:
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, empty_parameter(shape, device, dtype))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def flatten_parameters(self) -> None:
        """A no-op kept for PyTorch compatibility (there is no cuDNN weight buffer here)."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name) for name in self._flat_weights_names]

    def reset_parameters(self) -> None:
        """Every weight and bias uniform in ±1/√hidden_size."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _layer_weights(self, layer: int, direction: int) -> dict:
        """``{'weight_ih': ..., 'bias_ih': ... or None, ...}`` of one layer and direction."""
        suffix = "_reverse" if direction == 1 else ""
        return {kind: getattr(self, f"{kind}_l{layer}{suffix}", None)
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")}

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # the recurrence ---------------------------------------------------------------
    def _step(self, x_proj: Tensor, state, weights: dict):
        """One time step from the precomputed input projection ``x_proj``."""
        raise NotImplementedError

    def _sequence(self, x_proj: Tensor, state, weights: dict, reverse: bool):
        """All steps of one layer direction as one graph node, as ``(outputs, final state)``;
        None where that node does not apply (the per-step loop then runs)."""
        return None

    def _run_direction(self, x: Tensor, state, layer: int, direction: int) -> tuple:
        """Run one direction of one layer over the (T, N, features) sequence ``x``;
        returns the (T, N, hidden) outputs and the final state."""
        weights = self._layer_weights(layer, direction)
        x_proj = _affine(x, weights["weight_ih"], weights["bias_ih"])  # all steps in one matmul
        if x.size(0):
            fused = self._sequence(x_proj, state, weights, direction == 1)
            if fused is not None:
                return fused
        steps = range(x.size(0) - 1, -1, -1) if direction == 1 else range(x.size(0))
        outputs = [None] * x.size(0)
        # one node for all steps' slices: its backward is one stack, where T separate
        # slices would each scatter into a zero (T, N, G) gradient (quadratic in T)
        per_step = _TimeSteps.apply(x_proj) if x.size(0) else ()
        for t in steps:
            state = self._step(per_step[t], state, weights)
            outputs[t] = state[0] if isinstance(state, tuple) else state
        return ops.shape.stack(outputs, 0), state

    def _run_packed_direction(self, x: Tensor, state, layer: int, direction: int,
                              batch_sizes: list) -> tuple:
        """Run one direction of one layer over packed rows ``x`` (sum of lengths, features),
        step ``t`` being the next ``batch_sizes[t]`` rows (the sorted sequences still running).
        Returns the packed (rows, hidden) outputs and the final state: each sequence's state
        after its last step (forward) or after step 0 (reverse)."""
        weights = self._layer_weights(layer, direction)
        x_proj = _affine(x, weights["weight_ih"], weights["bias_ih"])  # all rows in one matmul
        if type(self)._sequence is not RNNBase._sequence:  # GRU, LSTM
            fused = self._packed_runs(x_proj, state, weights, batch_sizes, direction == 1)
            if fused is not None:
                return fused
        per_step = _PackedSteps.apply(x_proj, tuple(batch_sizes))
        run = self._packed_reverse if direction == 1 else self._packed_forward
        outputs, final = run(per_step, state, weights, batch_sizes)
        return ops.shape.cat(outputs, 0), final

    def _packed_runs(self, x_proj: Tensor, state, weights: dict, batch_sizes: list,
                     reverse: bool):
        """One direction over packed rows with one whole-sequence node (``_sequence``) per
        run of steps of equal batch size (their rows are one contiguous (steps, size, G)
        block of ``x_proj``); between runs the state narrows (forward) or grows from the
        initial state (reverse) as in the per-step loop. Returns ``(outputs (rows, H),
        final state)``, or None where ``_sequence`` does not apply."""
        runs = _equal_runs(batch_sizes)
        pieces = list(zip(_PackedSteps.apply(x_proj, tuple(steps * size for steps, size in runs)),
                          runs))
        outputs, ended, initial = [], [], state
        if reverse:
            pieces = pieces[::-1]
            state = _narrow_state(initial, 0, batch_sizes[-1])
        for piece, (steps, size) in pieces:
            active = _rows(state)
            if size < active:
                ended.append(_narrow_state(state, size, active))
                state = _narrow_state(state, 0, size)
            elif size > active:
                state = _cat_states([state, _narrow_state(initial, active, size)])
            fused = self._sequence(piece.reshape(steps, size, piece.shape[-1]), state, weights,
                                   reverse)
            if fused is None:
                return None
            out, state = fused
            outputs.append(out.reshape(steps * size, out.shape[-1]))
        if reverse:
            outputs = outputs[::-1]
        return ops.shape.cat(outputs, 0), _cat_states([state] + ended[::-1])

    def _packed_forward(self, per_step: tuple, state, weights: dict, batch_sizes: list) -> tuple:
        """Steps t = 0, 1, ...: the first ``batch_sizes[t]`` rows step, the rows of sequences
        that have ended keep their state. Returns (outputs by step, final state)."""
        outputs = [None] * len(batch_sizes)
        ended = []  # states of the rows that stopped, in the order they stopped (last rows first)
        for t, running in enumerate(batch_sizes):
            active = _rows(state)
            if running < active:
                ended.append(_narrow_state(state, running, active))
                state = _narrow_state(state, 0, running)
            state = self._step(per_step[t], state, weights)
            outputs[t] = state[0] if isinstance(state, tuple) else state
        return outputs, _cat_states([state] + ended[::-1])

    def _packed_reverse(self, per_step: tuple, state, weights: dict, batch_sizes: list) -> tuple:
        """Steps t = T-1, ..., 0: rows join as their sequence's last step comes, starting
        from their initial state. Returns (outputs by step, state after step 0)."""
        outputs = [None] * len(batch_sizes)
        initial = state
        state = _narrow_state(initial, 0, batch_sizes[-1])
        for t in range(len(batch_sizes) - 1, -1, -1):
            running, active = batch_sizes[t], _rows(state)
            if running > active:
                state = _cat_states([state, _narrow_state(initial, active, running)])
            state = self._step(per_step[t], state, weights)
            outputs[t] = state[0] if isinstance(state, tuple) else state
        return outputs, state

    def _packed_input(self, packed: PackedSequence) -> tuple:
        """``(data, batch_sizes as ints)`` of a ``PackedSequence`` input, checked."""
        data = packed.data
        if data.dim() != 2:
            raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
        if data.size(-1) != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {data.size(-1)}")
        return data, [int(size) for size in packed.batch_sizes.tolist()]

    def _packed_initial_state(self, data: Tensor, hx: Tensor | None, packed: PackedSequence,
                              name: str = "hidden", size: int | None = None) -> Tensor:
        """The initial state for a packed input: zeros, or ``hx`` (in the original batch
        order) permuted into the packed (sorted) order. ``name`` names it in the error."""
        batch = int(packed.batch_sizes[0])
        if hx is None:
            return self._initial_state(data, None, batch, True, size=size)
        shape = (self.num_layers * (2 if self.bidirectional else 1), batch,
                 self.hidden_size if size is None else size)
        if tuple(hx.shape) != shape:
            raise RuntimeError(f"Expected {name} size {shape}, got {list(hx.shape)}")
        if packed.sorted_indices is not None:
            hx = index_select(hx, 1, packed.sorted_indices)
        return hx

    def _check_input(self, input: Tensor) -> bool:
        """Validate ``input``; returns whether it has a batch dim."""
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D tensor instead")
        if input.size(-1) != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")
        return input.dim() == 3

    def _initial_state(self, input: Tensor, hx: Tensor | None, batch: int, batched: bool,
                       name: str = "hx", size: int | None = None) -> Tensor:
        size = self.hidden_size if size is None else size
        shape = (self.num_layers * (2 if self.bidirectional else 1), batch, size)
        if hx is None:
            return ops.creation.zeros(shape, dtype=input.dtype, device=input.device)
        if batched and hx.dim() != 3:
            raise RuntimeError(f"For batched 3-D input, {name} should also be 3-D but got "
                               f"{hx.dim()}-D tensor")
        if not batched and hx.dim() != 2:
            raise RuntimeError(f"For unbatched 2-D input, {name} should also be 2-D but got "
                               f"{hx.dim()}-D tensor")
        if not batched:
            hx = hx.unsqueeze(1)
        if tuple(hx.shape) != shape:
            raise RuntimeError(f"Expected hidden size {shape}, got {list(hx.shape)}")
        return hx

    def _forward_layers(self, x: Tensor, states: list, batch_sizes: list | None = None) -> tuple:
        """Run every layer over ``x`` (T, N, F), or over the packed rows ``x`` (rows, F) of
        a ``PackedSequence`` with ``batch_sizes``; ``states[k]`` is the initial state of the
        k-th (layer, direction). Returns the last layer's output and the final states."""
        num_directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(num_directions):
                state = states[layer * num_directions + direction]
                if batch_sizes is None:
                    out, final = self._run_direction(x, state, layer, direction)
                else:
                    out, final = self._run_packed_direction(x, state, layer, direction,
                                                            batch_sizes)
                outs.append(out)
                finals.append(final)
            x = outs[0] if num_directions == 1 else ops.shape.cat(outs, -1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, finals


def _check_rnn_args(dropout, num_layers, hidden_size, proj_size, mode) -> None:
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or \
            not 0 <= dropout <= 1:
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
        raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
    if hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                      "non-zero dropout expects num_layers greater than 1, but got "
                      f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")
    if proj_size and mode != "LSTM":
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")


class _SequenceRNN(RNNBase):
    """RNN and GRU: a single hidden state."""

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple:
        """``(output, h_n)``: output (L, N, D·H) (or batch first), h_n (D·layers, N, H).
        A ``PackedSequence`` input gives a ``PackedSequence`` output, and h_n holds each
        sequence's state at its own last step (``hx`` and h_n in the original batch order)."""
        if isinstance(input, PackedSequence):
            data, batch_sizes = self._packed_input(input)
            h0 = self._packed_initial_state(data, hx, input)
            output, finals = self._forward_layers(data, list(h0.unbind(0)), batch_sizes)
            return _repacked(input, output), _unsorted(ops.shape.stack(finals, 0), input)
        batched = self._check_input(input)
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        h0 = self._initial_state(input, hx, input.size(1), batched)
        output, finals = self._forward_layers(input, list(h0.unbind(0)))
        h_n = ops.shape.stack(finals, 0)
        if not batched:
            return output.squeeze(1), h_n.squeeze(1)
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, h_n


class RNN(_SequenceRNN):
    """Elman RNN: h_t = act(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh), act tanh or relu."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity

    def _step(self, x_proj, state, weights):
        return _rnn_cell(x_proj, state, weights["weight_hh"], weights["bias_hh"],
                         self.nonlinearity)


class GRU(_SequenceRNN):
    """Gated recurrent unit (gates r, z, n in PyTorch's order)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype)

    def _step(self, x_proj, state, weights):
        return _gru_cell(x_proj, state, weights["weight_hh"], weights["bias_hh"])

    def _sequence(self, x_proj, state, weights, reverse):
        w_hh, b_hh = weights["weight_hh"], weights["bias_hh"]
        if not _fused(x_proj, state, w_hh, b_hh):
            return None
        return _GRUSequence.apply(x_proj, state, w_hh, b_hh, reverse)


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o in PyTorch's order)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)

    def _step(self, x_proj, state, weights):
        return _lstm_cell(x_proj, state, weights["weight_hh"], weights["bias_hh"],
                          weights["weight_hr"])

    def _sequence(self, x_proj, state, weights, reverse):
        w_hh, b_hh = weights["weight_hh"], weights["bias_hh"]
        if weights["weight_hr"] is not None or not _fused(x_proj, *state, w_hh, b_hh):
            return None
        out, h, c = _LSTMSequence.apply(x_proj, *state, w_hh, b_hh, reverse)
        return out, (h, c)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        """``(output, (h_n, c_n))``; ``hx`` is ``(h_0, c_0)`` or None for zeros. A
        ``PackedSequence`` input gives a ``PackedSequence`` output (see ``GRU.forward``)."""
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, *_lstm_hx(hx))
        batched = self._check_input(input)
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        h0, c0 = _lstm_hx(hx)
        h0 = self._initial_state(input, h0, input.size(1), batched, "hx[0]",
                                 self.proj_size or self.hidden_size)
        c0 = self._initial_state(input, c0, input.size(1), batched, "hx[1]")
        states = list(zip(h0.unbind(0), c0.unbind(0)))
        output, finals = self._forward_layers(input, states)
        h_n = ops.shape.stack([h for h, _ in finals], 0)
        c_n = ops.shape.stack([c for _, c in finals], 0)
        if not batched:
            return output.squeeze(1), (h_n.squeeze(1), c_n.squeeze(1))
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, (h_n, c_n)

    def _forward_packed(self, packed: PackedSequence, h0: Tensor | None,
                        c0: Tensor | None) -> tuple:
        """``forward`` for a ``PackedSequence``."""
        data, batch_sizes = self._packed_input(packed)
        h0 = self._packed_initial_state(data, h0, packed, "hidden[0]",
                                        self.proj_size or self.hidden_size)
        c0 = self._packed_initial_state(data, c0, packed, "hidden[1]")
        states = list(zip(h0.unbind(0), c0.unbind(0)))
        output, finals = self._forward_layers(data, states, batch_sizes)
        h_n = _unsorted(ops.shape.stack([h for h, _ in finals], 0), packed)
        c_n = _unsorted(ops.shape.stack([c for _, c in finals], 0), packed)
        return _repacked(packed, output), (h_n, c_n)


def _lstm_hx(hx) -> tuple:
    """``(h_0, c_0)`` of LSTM's ``hx`` argument ((None, None) for None)."""
    if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
        raise RuntimeError("LSTM: hx must be a tuple (h_0, c_0)")
    return (None, None) if hx is None else tuple(hx)


def _repacked(packed: PackedSequence, data: Tensor) -> PackedSequence:
    """``data`` as a ``PackedSequence`` with the batch sizes and order of ``packed``."""
    return PackedSequence(data, packed.batch_sizes, packed.sorted_indices,
                          packed.unsorted_indices)


def _unsorted(state: Tensor, packed: PackedSequence) -> Tensor:
    """A (layers, batch, H) final state of a packed run back in the original batch order."""
    if packed.unsorted_indices is None:
        return state
    return index_select(state, 1, packed.unsorted_indices)


class RNNCellBase(Module):
    """Shared state of the RNN cells: ``weight_ih`` (chunks·hidden, input), ``weight_hh``
    (chunks·hidden, hidden) and, with ``bias``, ``bias_ih``/``bias_hh``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = empty_parameter((num_chunks * hidden_size, input_size), device, dtype)
        self.weight_hh = empty_parameter((num_chunks * hidden_size, hidden_size), device, dtype)
        if bias:
            self.bias_ih = empty_parameter((num_chunks * hidden_size,), device, dtype)
            self.bias_hh = empty_parameter((num_chunks * hidden_size,), device, dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = RNNBase.reset_parameters

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Tensor, hx: Tensor | None) -> tuple:
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{input.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
            hx = None if hx is None else hx.unsqueeze(0)
        if hx is None:
            hx = ops.creation.zeros((input.size(0), self.hidden_size), dtype=input.dtype,
                                    device=input.device)
        return input, hx, batched


class RNNCell(RNNCellBase):
    """One step of an Elman RNN."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """The next hidden state."""
        input, hx, batched = self._prepare(input, hx)
        h = _rnn_cell(_affine(input, self.weight_ih, self.bias_ih), hx, self.weight_hh,
                      self.bias_hh, self.nonlinearity)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One step of an LSTM."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        """The next ``(h, c)``."""
        input, h0, batched = self._prepare(input, None if hx is None else hx[0])
        if hx is None:
            c0 = ops.creation.zeros_like(h0)
        else:
            c0 = hx[1] if batched else hx[1].unsqueeze(0)
        h, c = _lstm_cell(_affine(input, self.weight_ih, self.bias_ih), (h0, c0),
                          self.weight_hh, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One step of a GRU."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """The next hidden state."""
        input, hx, batched = self._prepare(input, hx)
        h = _gru_cell(_affine(input, self.weight_ih, self.bias_ih), hx, self.weight_hh,
                      self.bias_hh)
        return h if batched else h.squeeze(0)
