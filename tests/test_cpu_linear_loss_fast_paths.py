"""The linear backward, cross-entropy and row-scatter fast paths give what the general paths give.

Each fast path (docs/perf.md, "linear backward, cross-entropy node, row scatters") is checked
against the path it short-cuts: float32 bit for bit, float64 to 1e-12 where the summation
order differs, gradients and second derivatives, and that it declines where it must.
"""
from __future__ import annotations

import numpy as np
import pytest

import framework
import framework.nn.functional as F
from framework import dtypes
from framework._backends.numpy import indexing as np_indexing
from framework.autograd import composite
from framework.ops import loss as loss_ops, matmul as matmul_ops

from helpers import DEVICES


def _t(values, dtype, device, grad=False):
    return framework.tensor(values, dtype=dtype, device=device, requires_grad=grad)


# --- cross_entropy: one node ------------------------------------------------------------------
def _loss_grads(loss_of, x_np, t_np, w_np, dtype, device):
    """(node name, [loss, its gradient, a second derivative]) of ``loss_of(x, t, w)``."""
    x = _t(x_np, dtype, device, grad=True)
    t = framework.tensor(t_np, device=device)
    w = None if w_np is None else _t(w_np, dtype, device)
    loss = loss_of(x, t, w)
    name = loss.grad_fn.name()
    scale = framework.full(tuple(loss.shape), 1.7, dtype=dtype, device=device)
    (gx,) = framework.autograd.grad(loss, x, scale, create_graph=True)
    (ggx,) = framework.autograd.grad((gx * gx).sum(), x)
    return name, [a.detach().cpu().numpy() for a in (loss, gx, ggx)]


def _cross_entropy_grads(node: bool, x_np, t_np, w_np, dtype, device, reduction, smoothing):
    call = F.cross_entropy if node else loss_ops._cross_entropy_general
    return _loss_grads(lambda x, t, w: call(x, t, w, reduction=reduction,
                                            label_smoothing=smoothing),
                       x_np, t_np, w_np, dtype, device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_node_equals_the_replayed_composite(device, dtype, reduction):
    rng = np.random.default_rng(0)
    for weighted, smoothing in [(False, 0.0), (True, 0.0), (False, 0.25), (True, 0.1)]:
        x_np = rng.standard_normal((6, 5)) * 3
        t_np = rng.integers(0, 5, 6)
        t_np[2] = -100  # an ignored row
        w_np = rng.random(5) + 0.1 if weighted else None
        fast = _cross_entropy_grads(True, x_np, t_np, w_np, dtype, device, reduction, smoothing)
        general = _cross_entropy_grads(False, x_np, t_np, w_np, dtype, device, reduction,
                                       smoothing)
        assert fast[0] == general[0] == "NllLossBackward0"
        for a, b in zip(fast[1], general[1]):
            # the same kernels on the same operands: the same bits, second derivatives included
            np.testing.assert_array_equal(a, b)


def _nll_loss_grads(node: bool, x_np, t_np, w_np, dtype, device, reduction):
    call = F.nll_loss if node else loss_ops._nll_loss_general
    return _loss_grads(lambda x, t, w: call(x.log_softmax(1), t, w, reduction=reduction),
                       x_np, t_np, w_np, dtype, device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_node_equals_the_replayed_composite(device, dtype, reduction):
    rng = np.random.default_rng(8)
    for weighted in (False, True):
        x_np = rng.standard_normal((6, 5)) * 3
        t_np = rng.integers(0, 5, 6)
        t_np[4] = -100
        w_np = rng.random(5) + 0.1 if weighted else None
        fast = _nll_loss_grads(True, x_np, t_np, w_np, dtype, device, reduction)
        general = _nll_loss_grads(False, x_np, t_np, w_np, dtype, device, reduction)
        assert fast[0] == general[0] == "NllLossBackward0"
        for a, b in zip(fast[1], general[1]):
            np.testing.assert_array_equal(a, b)


def test_cross_entropy_node_runs_no_nested_graph(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the replayed composite ran")
    monkeypatch.setattr(composite._Replay, "apply", refuse)
    x = _t(np.random.default_rng(1).standard_normal((4, 3)), dtypes.float32, "cpu", grad=True)
    F.cross_entropy(x, framework.tensor([0, 2, 1, 2])).backward()
    F.nll_loss(x, framework.tensor([0, 2, 1, 2])).backward()
    assert x.grad is not None


@pytest.mark.parametrize("case", ["probabilities", "3-d input", "1-d input", "no grad"])
def test_cross_entropy_node_declines_where_it_does_not_apply(case, monkeypatch):
    calls = []
    original = loss_ops._CrossEntropyNode.apply
    monkeypatch.setattr(loss_ops._CrossEntropyNode, "apply",
                        lambda *a: calls.append(1) or original(*a))
    rng = np.random.default_rng(2)
    grad = case != "no grad"
    if case == "probabilities":
        x = _t(rng.standard_normal((4, 3)), dtypes.float64, "cpu", grad=True)
        target = framework.tensor(rng.random((4, 3))).softmax(1)
    elif case == "3-d input":
        x = _t(rng.standard_normal((2, 3, 4)), dtypes.float64, "cpu", grad=True)
        target = framework.tensor(rng.integers(0, 3, (2, 4)))
    elif case == "1-d input":
        x = _t(rng.standard_normal(3), dtypes.float64, "cpu", grad=True)
        target = framework.tensor(1)
    else:
        x = _t(rng.standard_normal((4, 3)), dtypes.float64, "cpu", grad=False)
        target = framework.tensor([0, 1, 2, 0])
    loss = F.cross_entropy(x, target)
    assert calls == []
    if grad:
        loss.backward()
        assert x.grad is not None


def test_cross_entropy_node_keeps_the_argument_errors():
    x = _t(np.zeros((2, 3)), dtypes.float32, "cpu", grad=True)
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        F.cross_entropy(x, framework.tensor([0, 3]))
    x3 = _t(np.zeros((3, 3)), dtypes.float32, "cpu", grad=True)
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        F.cross_entropy(x3, framework.tensor([0, -100, 5]))  # the range check's slow branch
    with pytest.raises(IndexError, match="Target -1 is out of bounds"):
        F.cross_entropy(x3, framework.tensor([0, -100, -1]))
    F.cross_entropy(x3, framework.tensor([0, -100, 2])).backward()  # ignored rows are valid
    with pytest.raises(RuntimeError, match="expected target dtype to be Long"):
        F.cross_entropy(x, framework.tensor([0, 1], dtype=dtypes.int32))
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        F.cross_entropy(x, framework.tensor([0, 1]), reduction="avg")


# --- linear: the backward by the kernels ------------------------------------------------------
def _linear_grads(direct: bool, monkeypatch, dtype, device, shape, activation, bias, residual,
                  transposed_grad=False):
    monkeypatch.setattr(matmul_ops, "_DIRECT_GRAD_DTYPES",
                        (dtypes.float32, dtypes.float64) if direct else ())
    rng = np.random.default_rng(3)
    x = _t(rng.standard_normal(shape), dtype, device, grad=True)
    w = _t(rng.standard_normal((4, shape[-1])), dtype, device, grad=True)
    b = _t(rng.standard_normal(4), dtype, device, grad=True) if bias else None
    r = _t(rng.standard_normal(shape[:-1] + (4,)), dtype, device, grad=True) if residual else None
    g = rng.standard_normal(shape[:-1] + (4,))
    if transposed_grad:  # rows that do not fold into one matrix: the general path
        g_t = _t(np.ascontiguousarray(np.swapaxes(g, 0, 1)), dtype, device).transpose(0, 1)
    else:
        g_t = _t(g, dtype, device)
    y = F.linear(x, w, b, activation=activation, residual=r)
    y.backward(g_t)
    return [t.grad.cpu().numpy() for t in (x, w, b, r) if t is not None]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.float64])
@pytest.mark.parametrize("activation", [None, "relu", "gelu"])
def test_linear_direct_backward_equals_the_general_backward(device, dtype, activation,
                                                            monkeypatch):
    cases = [((6, 5), True, False), ((6, 5), False, True), ((2, 3, 5), True, True),
             ((3, 2, 5), False, False, True)]
    for shape, bias, residual, *transposed in cases:
        args = (dtype, device, shape, activation, bias, residual, bool(transposed))
        fast = _linear_grads(True, monkeypatch, *args)
        general = _linear_grads(False, monkeypatch, *args)
        for a, b in zip(fast, general):
            np.testing.assert_array_equal(a, b)  # the same kernels on the same views


def test_linear_direct_backward_records_no_matmul_op(monkeypatch):
    calls = []
    original = matmul_ops._Matmul.apply
    monkeypatch.setattr(matmul_ops._Matmul, "apply",
                        lambda *a: calls.append(1) or original(*a))
    x = _t(np.ones((3, 2)), dtypes.float32, "cpu", grad=True)
    w = _t(np.ones((4, 2)), dtypes.float32, "cpu", grad=True)
    F.linear(x, w).sum().backward()
    assert calls == []
    # create_graph keeps the recorded (differentiable) backward; grad(..., x) asks it for
    # x's gradient only (the engine prunes w's), so one recorded product
    (gx,) = framework.autograd.grad(F.linear(x, w, activation="relu").sum(), x,
                                    create_graph=True)
    assert len(calls) == 1 and gx.requires_grad


# --- row gathers and scatter-adds -------------------------------------------------------------
def _rows_index(rows: np.ndarray, width: int):
    """A (R, width) index varying only along dim 0 (stride 0 along the columns)."""
    from framework._backends.numpy._arrays import wrap
    column = wrap(np.ascontiguousarray(rows, dtype=np.int64), dtypes.int64)
    return column.view((rows.shape[0], width), (1, 0), column.offset)


@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.float64, dtypes.int64])
def test_row_scatter_add_equals_add_at(dtype):
    from framework._backends.numpy._arrays import nd, wrap
    rng = np.random.default_rng(4)
    for base_zero, count, vocab, width in [(True, 40, 7, 3), (False, 300, 10, 5),
                                           (True, 2, 1, 4), (False, 64, 64, 1)]:
        rows = rng.integers(-vocab, vocab, count)  # negative indices count from the end
        values = (rng.standard_normal((count, width)) * 100).astype(dtype.numpy)
        base = np.zeros((vocab, width), dtype.numpy) if base_zero else \
            (rng.standard_normal((vocab, width)) * 100).astype(dtype.numpy)
        expected = base.copy()
        np.add.at(expected, (np.broadcast_to(rows[:, None], (count, width)),
                             np.arange(width)[None, :]), values)
        got = nd(np_indexing.scatter_add(wrap(base, dtype), 0, _rows_index(rows, width),
                                         wrap(values, dtype)))
        if dtype is dtypes.int64:
            np.testing.assert_array_equal(got, expected)
        else:
            # per target row the same terms in the same order, NumPy's pairwise reduction
            # instead of add.at's sequential one: rounding differs in the last bits
            tol = 1e-12 if dtype is dtypes.float64 else 2e-6
            np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * 100 * count)


def test_row_scatter_add_takes_the_fast_path_only_for_whole_rows(monkeypatch):
    from framework._backends.numpy._arrays import nd, wrap
    calls = []
    original = np_indexing._add_rows
    monkeypatch.setattr(np_indexing, "_add_rows", lambda *a: calls.append(1) or original(*a))
    base = wrap(np.zeros((3, 2)), dtypes.float64)
    values = wrap(np.ones((4, 2)), dtypes.float64)
    np_indexing.scatter_add(base, 0, _rows_index(np.array([0, 2, 0, 1]), 2), values)
    assert calls == [1]
    full = wrap(np.array([[0, 1], [2, 0], [0, 0], [1, 1]]), dtypes.int64)  # not whole rows
    out = np_indexing.scatter_add(base, 0, full, values)
    np.testing.assert_array_equal(nd(out), [[2, 2], [1, 2], [1, 0]])
    assert calls == [1]


def test_row_gather_equals_the_coordinate_gather():
    from framework._backends.numpy._arrays import nd, wrap
    rng = np.random.default_rng(5)
    data = rng.standard_normal((6, 4)).astype(np.float32)
    rows = rng.integers(-6, 6, 9)
    got = nd(np_indexing.gather(wrap(data, dtypes.float32), 0, _rows_index(rows, 3)))
    np.testing.assert_array_equal(got, data[:, :3][rows])


@pytest.mark.parametrize("device", DEVICES)
def test_embedding_gradient_sums_repeated_rows(device):
    rng = np.random.default_rng(6)
    tokens = rng.integers(0, 5, (4, 6))
    w_np = rng.standard_normal((5, 3))
    g_np = rng.standard_normal((4, 6, 3))
    w = _t(w_np, dtypes.float64, device, grad=True)
    out = F.embedding(framework.tensor(tokens, device=device), w, padding_idx=1)
    out.backward(_t(g_np, dtypes.float64, device))
    expected = np.zeros((5, 3))
    for token, g in zip(tokens.reshape(-1), g_np.reshape(-1, 3)):
        if token != 1:
            expected[token] += g
    np.testing.assert_allclose(out.detach().cpu().numpy(), w_np[tokens], rtol=0, atol=0)
    np.testing.assert_allclose(w.grad.cpu().numpy(), expected, rtol=1e-12, atol=1e-12)


# --- the NumPy cross-entropy kernels: one-hot rows without the coefficient arrays ------------
def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)  # NaN where NaN
    finite = ~np.isnan(a.astype(np.float64))
    np.testing.assert_array_equal(np.signbit(a.astype(np.float64))[finite],
                                  np.signbit(b.astype(np.float64))[finite])


@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.float64, dtypes.float16])
def test_plain_index_cross_entropy_kernels_equal_the_coefficient_kernels(dtype, monkeypatch):
    from framework._backends.numpy import loss as np_loss
    from framework._backends.numpy._arrays import nd, wrap
    rng = np.random.default_rng(7)
    row = np_loss._row_dtype(dtype)
    for trial in range(12):
        M, C = int(rng.integers(1, 9)), int(rng.integers(1, 7))
        x = rng.standard_normal((M, C)) * [1, 30, 1e4][trial % 3]
        special = [np.nan, np.inf, -np.inf][trial % 3]
        x[rng.integers(0, M), rng.integers(0, C)] = special
        if trial % 4 == 3:
            x[0, :] = -np.inf  # a row of -inf: NaN loss, as PyTorch
        t = rng.integers(0, C, M)
        t[rng.random(M) < 0.3] = -100  # ignored rows
        logits, target = wrap(x.astype(dtype.numpy), dtype), wrap(t, dtypes.int64)
        grad = wrap(rng.standard_normal(M).astype(row.numpy), row)
        results = []
        for plain in (True, False):
            if not plain:
                monkeypatch.setattr(np_loss, "_plain_indices", lambda *a: False)
            loss, lse, weight = np_loss.cross_entropy_forward(logits, target, None, -100, 0.0)
            back = np_loss.cross_entropy_backward(logits, target, None, lse, grad, -100, 0.0)
            results.append([nd(a).copy() for a in (loss, lse, weight, back)])
        monkeypatch.undo()
        for a, b in zip(*results):
            _same_bits(a, b)
