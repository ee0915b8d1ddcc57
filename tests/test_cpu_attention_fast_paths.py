"""The CPU transformer fast paths give what the general paths give (docs/perf.md, issue 12).

- ``MultiheadAttention._rows_attention``: in-projection GEMM(s) on 2-D rows, one
  ``HeadsAttentionBackward0`` node over strided head views, ``out_proj``; against
  the general path (``_attention``: per-head reshapes, matmuls and softmax).
- ``TransformerEncoderLayer._rows_forward``: the layer on 2-D rows with the residuals and
  relu/gelu in the GEMM epilogues; against its general path.
- ``layer_norm``'s ``_LayerNorm`` node and ``batch_norm``'s ``_BatchNorm`` node (training
  mode); against the replayed composites.

The fused attention kernel computes the scores in another order than the general
path's ops, so attention results are compared in float64 (1e-12); paths that run the
same kernels are compared bit for bit in float32. Gradients are checked with the
kernel backward and under ``create_graph`` (framework-op backward), and second
derivatives too.
"""
from __future__ import annotations

import numpy as np
import pytest

import framework
from framework import nn
from framework.nn import functional as F
from framework.nn.modules.attention import MultiheadAttention
from framework.nn.modules.transformer import TransformerEncoderLayer
from framework.ops import norm as norm_ops


def _node_names(fn) -> list:
    names, seen, stack = [], set(), [fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        names.append(node.name())
        stack.extend(nxt for nxt, _ in node.next_functions)
    return names


def _tensor(rng, shape, dtype=framework.float64, requires_grad=True):
    return framework.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=requires_grad)


def _grads(out, inputs, create_graph):
    weight = framework.tensor(np.random.default_rng(99).standard_normal(tuple(out.shape)),
                              dtype=out.dtype)
    return framework.autograd.grad((out * weight).sum(), inputs, create_graph=create_graph)


def _compare(run_fast, run_general, inputs, exact=False, rtol=1e-12):
    """Outputs, gradients (kernel backward and create_graph) and second derivatives agree
    (``exact``: outputs and kernel-backward gradients bit for bit, the framework-op
    create_graph gradients to float32 rounding)."""
    loose = 1e-4 if exact else rtol
    for create_graph in (False, True):
        fast, general = run_fast(), run_general()
        if exact:
            assert fast.detach().numpy().tobytes() == general.detach().numpy().tobytes()
        else:
            np.testing.assert_allclose(fast.detach().numpy(), general.detach().numpy(),
                                       rtol=rtol, atol=rtol)
        f_grads = _grads(fast, inputs, create_graph)
        g_grads = _grads(general, inputs, create_graph)
        for a, b in zip(f_grads, g_grads):
            if exact and not create_graph:
                assert a.numpy().tobytes() == b.numpy().tobytes()
            else:
                np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=loose,
                                           atol=loose)
        if create_graph:  # second derivatives: d/d(inputs) of sum(grad * grad)
            f2 = framework.autograd.grad(sum((g * g).sum() for g in f_grads), inputs,
                                         allow_unused=True)
            g2 = framework.autograd.grad(sum((g * g).sum() for g in g_grads), inputs,
                                         allow_unused=True)
            for a, b in zip(f2, g2):
                assert (a is None) == (b is None)
                if a is not None:
                    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=100 * loose,
                                               atol=100 * loose)
    return fast


def _without(monkeypatch, cls, name):
    """A callable running ``fn`` with ``cls.name`` (a fast path) declining."""
    def run(fn):
        with monkeypatch.context() as m:
            m.setattr(cls, name, lambda *args, **kwargs: None)
            return fn()
    return run


# --- MultiheadAttention ------------------------------------------------------------------------
def _mha_inputs(rng, mode, batch_first, batched=True):
    def shape(length):
        if not batched:
            return (length, 8)
        return (3, length, 8) if batch_first else (length, 3, 8)
    q = _tensor(rng, shape(4))
    if mode == "self":
        return q, q, q
    kv = _tensor(rng, shape(5))
    return (q, kv, kv) if mode == "kv" else (q, kv, _tensor(rng, shape(5)))


def _masks(rng, kind, batch_first, batched=True):
    """(key_padding_mask, attn_mask) for query length 4 and key length 5 (4 for self)."""
    if kind == "none":
        return None, None
    source = 5
    padding = rng.random((3, source) if batched else (source,)) < 0.3
    padding[..., 0] = False  # no fully masked row
    if kind == "padding":
        return framework.tensor(padding), None
    if kind == "float":
        return None, framework.tensor(rng.standard_normal((4, source)))
    blocked = rng.random((3 * 2 if batched else 2, 4, source)) < 0.3
    blocked[..., 0] = False  # key 0 stays allowed for every query
    return framework.tensor(padding), framework.tensor(blocked)


@pytest.mark.parametrize("mode", ["self", "kv", "separate"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "padding", "float", "both"])
def test_mha_rows_path_equals_the_general_path(mode, batch_first, masks, monkeypatch):
    rng = np.random.default_rng(1)
    m = nn.MultiheadAttention(8, 2, batch_first=batch_first).to(dtype=framework.float64)
    q, k, v = _mha_inputs(rng, mode, batch_first)
    key_len = k.shape[1] if batch_first else k.shape[0]
    padding, attn = _masks(rng, masks, batch_first)
    if padding is not None:
        padding = padding[:, :key_len]
    if attn is not None:
        attn = attn[..., :key_len]
    params = list(m.parameters())
    inputs = [t for t in dict.fromkeys([q, k, v])] + params
    general = _without(monkeypatch, MultiheadAttention, "_rows_attention")

    def call():
        return m(q, k, v, key_padding_mask=padding, attn_mask=attn, need_weights=False)[0]
    fast = _compare(call, lambda: general(call), inputs)
    assert "HeadsAttentionBackward0" in _node_names(fast.grad_fn)
    assert "SoftmaxBackward0" not in _node_names(fast.grad_fn)


def test_mha_rows_path_unbatched_equals_the_general_path(monkeypatch):
    rng = np.random.default_rng(2)
    m = nn.MultiheadAttention(8, 2).to(dtype=framework.float64)
    x = _tensor(rng, (4, 8))
    padding = framework.tensor(np.array([False, True, False, False]))
    general = _without(monkeypatch, MultiheadAttention, "_rows_attention")

    def call():
        return m(x, x, x, key_padding_mask=padding, need_weights=False)[0]
    fast = _compare(call, lambda: general(call), [x] + list(m.parameters()))
    assert tuple(fast.shape) == (4, 8)
    assert "HeadsAttentionBackward0" in _node_names(fast.grad_fn)


def test_mha_records_five_nodes_for_self_attention():
    """Rows view, packed in-projection, attention, out_proj, view back."""
    m = nn.MultiheadAttention(8, 2, batch_first=True)
    x = framework.randn(3, 4, 8, requires_grad=True)
    names = _node_names(m(x, x, x, need_weights=False)[0].grad_fn)
    assert sorted(n for n in names if "AccumulateGrad" not in n) == sorted(
        ["ViewBackward0", "AddmmBackward0", "HeadsAttentionBackward0", "AddmmBackward0",
         "ViewBackward0"])


@pytest.mark.parametrize("case", ["weights", "dropout", "fully_masked", "mask_grad", "bias_kv",
                                  "kdim", "mask_dtype"])
def test_mha_rows_path_declines_where_it_does_not_apply(case):
    """The general path runs (its graph has the softmax node) and gives its own results:
    a fully masked row stays NaN, a float mask gets its gradient."""
    rng = np.random.default_rng(3)
    kwargs = {"dropout": 0.5} if case == "dropout" else \
        {"add_bias_kv": True} if case == "bias_kv" else {"kdim": 6, "vdim": 6} if case == "kdim" else {}
    m = nn.MultiheadAttention(8, 2, batch_first=True, **kwargs).to(dtype=framework.float64)
    q = _tensor(rng, (2, 4, 8))
    k = _tensor(rng, (2, 4, 6)) if case == "kdim" else q
    call = {"need_weights": case == "weights"}
    if case == "fully_masked":
        padding = np.zeros((2, 4), dtype=bool)
        padding[1] = True
        call["key_padding_mask"] = framework.tensor(padding)
    if case == "mask_grad":
        call["attn_mask"] = _tensor(rng, (4, 4))
    if case == "mask_dtype":
        call["attn_mask"] = _tensor(rng, (4, 4), dtype=framework.float32, requires_grad=False)
    framework.manual_seed(0)
    out = m(q, k, k, **call)[0]
    assert "SoftmaxBackward0" in _node_names(out.grad_fn)
    if case == "fully_masked":
        assert np.isnan(out.detach().numpy()[1]).all()
        assert not np.isnan(out.detach().numpy()[0]).any()
    if case == "mask_grad":
        out.sum().backward()
        assert call["attn_mask"].grad is not None


# --- TransformerEncoderLayer ---------------------------------------------------------------
def _layer_call(layer, x, mask, padding):
    return lambda: layer(x, src_mask=mask, src_key_padding_mask=padding)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "silu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_rows_path_equals_the_general_path(norm_first, activation, batch_first,
                                                         monkeypatch):
    """float64 to 1e-12 with masks, and float32 bit for bit (the attention runs the same rows
    path in both: the residual and relu epilogues give the same bits as separate ops)."""
    act = F.silu if activation == "silu" else activation
    general = _without(monkeypatch, TransformerEncoderLayer, "_rows_forward")
    for dtype in (framework.float64, framework.float32):
        framework.manual_seed(0)
        layer = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.1, activation=act,
                                           norm_first=norm_first, batch_first=batch_first)
        layer.eval() if dtype is framework.float32 else None  # eval: dropout off
        layer.to(dtype=dtype)
        if dtype is framework.float64:
            layer.dropout.p = layer.dropout1.p = layer.dropout2.p = 0.0  # train, dropout 0
            layer.self_attn.dropout = 0.0
        rng = np.random.default_rng(4)
        x = _tensor(rng, (3, 4, 8) if batch_first else (4, 3, 8), dtype=dtype)
        mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=dtype)
        padding = framework.tensor(np.array([[False, False, True, False]] * 3))
        call = _layer_call(layer, x, mask, padding)
        # float32: bit for bit, except gelu's gradient (linear's epilogue backward is another
        # gelu derivative formula than gelu's own kernel: equal in float64 to 1e-12)
        exact = dtype is framework.float32 and activation != "gelu"
        fast = _compare(call, lambda: general(call), [x] + list(layer.parameters()),
                        exact=exact, rtol=1e-12 if dtype is framework.float64 else 1e-5)
        names = _node_names(fast.grad_fn)
        assert "HeadsAttentionBackward0" in names and "AddBackward0" not in names


def test_encoder_layer_records_nine_nodes():
    """Rows view, in-projection, attention, out_proj (+ residual), norm, linear1 (+ relu),
    linear2 (+ residual), norm, view back: no reshape, permute, copy, add or relu node."""
    layer = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, batch_first=True)
    x = framework.randn(3, 4, 8, requires_grad=True)
    names = sorted(n for n in _node_names(layer(x).grad_fn) if "AccumulateGrad" not in n)
    assert names == sorted(["ViewBackward0"] * 2 + ["AddmmBackward0"] * 4
                           + ["HeadsAttentionBackward0"] + ["NativeLayerNormBackward0"] * 2)


def test_encoder_layer_rows_path_leaves_hooked_or_overridden_submodules_to_the_general_path():
    """The rows path uses linear1's parameters without calling it: a forward hook on a
    submodule it bypasses, or a subclass overriding its forward, must run."""
    layer = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, batch_first=True)
    x = framework.randn(3, 4, 8, requires_grad=True)
    seen = []
    handle = layer.linear1.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    out = layer(x)
    assert seen and "AddBackward0" in _node_names(out.grad_fn)
    handle.remove()
    assert layer._rows_forward(x, None, None) is not None

    class Doubled(nn.Linear):
        def forward(self, input):
            return super().forward(input) * 2.0
    doubled = Doubled(12, 8)
    doubled.load_state_dict(layer.linear2.state_dict())
    layer.linear2 = doubled
    assert layer._rows_forward(x, None, None) is None


def test_encoder_layer_keeps_the_general_path_with_active_dropout():
    layer = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.1, batch_first=True)
    x = framework.randn(3, 4, 8, requires_grad=True)
    assert layer._rows_forward(x, None, None) is None
    layer.eval()
    assert layer._rows_forward(x, None, None) is not None


# --- layer_norm ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape, normalized, affine", [
    ((5, 6), (6,), True), ((2, 3, 4), (3, 4), True), ((2, 3, 4), (4,), False),
    ((1, 7), (7,), True)])
def test_layer_norm_node_equals_the_replayed_composite(shape, normalized, affine):
    """Bit for bit in float32 (the same kernels and sums), float64 second derivatives."""
    for dtype in (framework.float32, framework.float64):
        rng = np.random.default_rng(5)
        x = _tensor(rng, shape, dtype=dtype)
        w = _tensor(rng, normalized, dtype=dtype) if affine else None
        b = _tensor(rng, normalized, dtype=dtype) if affine else None
        inputs = [t for t in (x, w, b) if t is not None]

        def fast():
            return F.layer_norm(x, normalized, w, b, 1e-5)

        def replayed():
            return norm_ops._layer_norm_replayed(x, normalized, w, b, 1e-5)
        out = _compare(fast, replayed, inputs, exact=dtype is framework.float32)
        assert out.grad_fn.name() == "NativeLayerNormBackward0"
        assert [n for n, _ in out.grad_fn.next_functions][0] is not None
        assert type(out.grad_fn).__name__ == "NativeLayerNormBackward0"


def test_layer_norm_node_takes_only_contiguous_cpu_inputs():
    x = framework.randn(4, 6, requires_grad=True)
    assert norm_ops._layer_norm_node_shape(x, (6,), None, None) == (4, 1, 6)
    assert norm_ops._layer_norm_node_shape(x.t(), (4,), None, None) is None
    out = F.layer_norm(x.t(), (4,))  # the replayed path, same result as a contiguous copy
    ref = F.layer_norm(x.t().contiguous(), (4,))
    assert out.detach().numpy().tobytes() == ref.detach().numpy().tobytes()
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(x, (5,))


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 4, 5), (3, 2, 1, 1, 2)], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_node_equals_the_replayed_composite(shape, affine):
    """Training mode: outputs, gradients and running statistics bit for bit in float32 (the
    same kernels and sums), float64 second derivatives."""
    channels = shape[1]
    for dtype in (framework.float32, framework.float64):
        rng = np.random.default_rng(6)
        x = _tensor(rng, shape, dtype=dtype)
        w = _tensor(rng, (channels,), dtype=dtype) if affine else None
        b = _tensor(rng, (channels,), dtype=dtype) if affine else None
        inputs = [t for t in (x, w, b) if t is not None]
        stats = [(framework.zeros(channels, dtype=dtype), framework.ones(channels, dtype=dtype))
                 for _ in range(2)]

        def fast():
            return F.batch_norm(x, *stats[0], w, b, True, 0.1, 1e-5)

        def replayed():
            return norm_ops._batch_norm_replayed(x, *stats[1], w, b, True, 0.1, 1e-5)
        out = _compare(fast, replayed, inputs, exact=dtype is framework.float32)
        assert type(out.grad_fn).__name__ == "NativeBatchNormBackward0"
        assert out.grad_fn.fn_cls is norm_ops._BatchNorm
        composite = norm_ops._batch_norm_replayed(x, None, None, w, b, True, 0.1, 1e-5)
        assert composite.grad_fn.fn_cls is not norm_ops._BatchNorm
        for fast_stat, replayed_stat in zip(*stats):  # updated alike, 8 times each
            assert fast_stat.numpy().tobytes() == replayed_stat.numpy().tobytes()


def test_batch_norm_node_takes_only_contiguous_training_cpu_inputs_needing_grad():
    x = framework.randn(4, 3, 2, 2, requires_grad=True)
    w = framework.ones(3, requires_grad=True)
    applies = norm_ops._batch_norm_node_applies
    assert applies(x, w, None)
    assert not applies(x.transpose(2, 3), w, None)  # not contiguous: the replayed path
    assert not applies(x.detach(), None, None)  # nothing needs a gradient
    assert not applies(x, w.double(), None)  # another dtype
    with framework.no_grad():
        assert not applies(x, w, None)
    out = F.batch_norm(x.transpose(2, 3), None, None, w, None, True)
    ref = F.batch_norm(x.transpose(2, 3).contiguous(), None, None, w, None, True)
    assert out.detach().numpy().tobytes() == ref.detach().numpy().tobytes()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(framework.randn(1, 3, requires_grad=True), None, None, training=True)


@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_node_output_may_change_in_place(affine):
    """A ResNet block's ``out = bn(x); out += identity``: the node keeps no alias of its
    output, so the in-place add is no error (as in PyTorch), and the gradients are those of
    the out-of-place sum."""
    rng = np.random.default_rng(8)
    x = _tensor(rng, (4, 3, 2, 2), dtype=framework.float32)
    bn = nn.BatchNorm2d(3, affine=affine)
    out = bn(x)
    out += x
    out.sum().backward()
    in_place = [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in bn.parameters()]
    x.grad = None
    bn.zero_grad()
    (bn(x) + x).sum().backward()
    out_of_place = [x.grad.numpy()] + [p.grad.numpy() for p in bn.parameters()]
    for a, b in zip(in_place, out_of_place):
        assert a.tobytes() == b.tobytes()
