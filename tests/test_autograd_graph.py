"""The autograd graph as PyTorch shows it: node names and types, ``next_functions``, repr,
node hooks, and second derivatives through ops recorded as one node (``one_node``)."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework
import framework.nn.functional as F
from helpers import assert_close


def _pair(shape, device, seed=0, positive=False):
    """The same float64 values as a framework tensor on ``device`` and a torch tensor."""
    values = np.random.default_rng(seed).standard_normal(shape)
    if positive:
        values = np.abs(values) + 0.5
    fw = framework.tensor(values, dtype=framework.float64, device=device, requires_grad=True)
    return fw, torch.tensor(values, requires_grad=True)


def _index_pair(values, device):
    return (framework.tensor(values, dtype=framework.int64, device=device),
            torch.tensor(values, dtype=torch.int64))


# (label, input shapes, fn(lib, F, *tensors)): ``lib`` is framework or torch.
CASES = [
    ("add", [(3, 4), (3, 4)], lambda m, f, x, y: x + y),
    ("add scalar", [(3, 4)], lambda m, f, x: x + 2),
    ("sub", [(3, 4), (3, 4)], lambda m, f, x, y: x - y),
    ("rsub", [(3, 4)], lambda m, f, x: 1 - x),
    ("mul", [(3, 4), (3, 4)], lambda m, f, x, y: x * y),
    ("div scalar", [(3, 4)], lambda m, f, x: x / 2),
    ("pow scalar", [(3, 4)], lambda m, f, x: x ** 2),
    ("pow tensor", [(3, 4), (3, 4)], lambda m, f, x, y: x.abs() ** y),
    ("neg", [(3, 4)], lambda m, f, x: -x),
    ("exp", [(3, 4)], lambda m, f, x: x.exp()),
    ("matmul 2d", [(3, 4), (4, 5)], lambda m, f, x, y: x @ y),
    ("matmul 3d", [(2, 3, 4), (2, 4, 5)], lambda m, f, x, y: x @ y),
    ("matmul mv", [(3, 4), (4,)], lambda m, f, x, y: x @ y),
    ("matmul dot", [(4,), (4,)], lambda m, f, x, y: x @ y),
    ("mm", [(3, 4), (4, 5)], lambda m, f, x, y: m.mm(x, y)),
    ("bmm", [(2, 3, 4), (2, 4, 5)], lambda m, f, x, y: m.bmm(x, y)),
    ("addmm", [(5,), (3, 4), (4, 5)], lambda m, f, b, x, y: m.addmm(b, x, y)),
    ("linear", [(3, 4), (5, 4), (5,)], lambda m, f, x, w, b: f.linear(x, w, b)),
    ("linear no bias", [(3, 4), (5, 4)], lambda m, f, x, w: f.linear(x, w)),
    ("linear 3d", [(2, 3, 4), (5, 4), (5,)], lambda m, f, x, w, b: f.linear(x, w, b)),
    ("linear 3d no bias", [(2, 3, 4), (5, 4)], lambda m, f, x, w: f.linear(x, w)),
    ("linear 1d", [(4,), (5, 4), (5,)], lambda m, f, x, w, b: f.linear(x, w, b)),
    ("relu", [(3, 4)], lambda m, f, x: f.relu(x)),
    ("sigmoid", [(3, 4)], lambda m, f, x: x.sigmoid()),
    ("tanh", [(3, 4)], lambda m, f, x: x.tanh()),
    ("gelu", [(3, 4)], lambda m, f, x: f.gelu(x)),
    ("silu", [(3, 4)], lambda m, f, x: f.silu(x)),
    ("leaky_relu", [(3, 4)], lambda m, f, x: f.leaky_relu(x)),
    ("elu", [(3, 4)], lambda m, f, x: f.elu(x)),
    ("hardtanh", [(3, 4)], lambda m, f, x: f.hardtanh(x)),
    ("threshold", [(3, 4)], lambda m, f, x: f.threshold(x, 0.1, 0.0)),
    ("glu", [(3, 4)], lambda m, f, x: f.glu(x)),
    ("sum", [(3, 4)], lambda m, f, x: x.sum()),
    ("sum dim", [(3, 4)], lambda m, f, x: x.sum(0)),
    ("mean", [(3, 4)], lambda m, f, x: x.mean()),
    ("mean dim", [(3, 4)], lambda m, f, x: x.mean(1)),
    ("max", [(3, 4)], lambda m, f, x: x.max()),
    ("max dim", [(3, 4)], lambda m, f, x: x.max(1)[0]),
    ("amax", [(3, 4)], lambda m, f, x: x.amax(1)),
    ("logsumexp", [(3, 4)], lambda m, f, x: x.logsumexp(1)),
    ("norm", [(3, 4)], lambda m, f, x: x.norm()),
    ("clamp", [(3, 4)], lambda m, f, x: x.clamp(0, 1)),
    ("clamp_min", [(3, 4)], lambda m, f, x: x.clamp_min(0)),
    ("where", [(3, 4), (3, 4)], lambda m, f, x, y: m.where(x > 0, x, y)),
    ("softmax", [(3, 4)], lambda m, f, x: f.softmax(x, 1)),
    ("log_softmax", [(3, 4)], lambda m, f, x: f.log_softmax(x, 1)),
    ("mse_loss", [(3, 4), (3, 4)], lambda m, f, x, t: f.mse_loss(x, t.detach())),
    ("mse_loss none", [(3, 4), (3, 4)],
     lambda m, f, x, t: f.mse_loss(x, t.detach(), reduction="none")),
    ("l1_loss", [(3, 4), (3, 4)], lambda m, f, x, t: f.l1_loss(x, t.detach())),
    ("smooth_l1_loss", [(3, 4), (3, 4)], lambda m, f, x, t: f.smooth_l1_loss(x, t.detach())),
    ("huber_loss", [(3, 4), (3, 4)], lambda m, f, x, t: f.huber_loss(x, t.detach())),
    ("binary_cross_entropy", [(3, 4), (3, 4)],
     lambda m, f, x, t: f.binary_cross_entropy(x.sigmoid(), t.detach().sigmoid())),
    ("bce_with_logits", [(3, 4), (3, 4)],
     lambda m, f, x, t: f.binary_cross_entropy_with_logits(x, t.detach().sigmoid())),
    ("kl_div", [(3, 4), (3, 4)],
     lambda m, f, x, t: f.kl_div(x, t.detach(), reduction="batchmean")),
    ("layer_norm", [(3, 4)], lambda m, f, x: f.layer_norm(x, (4,))),
    ("group_norm", [(2, 4, 3)], lambda m, f, x: f.group_norm(x, 2)),
    ("batch_norm", [(3, 4)], lambda m, f, x: f.batch_norm(x, None, None, training=True)),
    ("conv2d", [(1, 2, 5, 5), (3, 2, 3, 3), (3,)], lambda m, f, x, w, b: f.conv2d(x, w, b)),
    ("conv1d", [(1, 2, 5), (3, 2, 3)], lambda m, f, x, w: f.conv1d(x, w)),
    ("max_pool2d", [(1, 2, 4, 4)], lambda m, f, x: f.max_pool2d(x, 2)),
    ("avg_pool2d", [(1, 2, 4, 4)], lambda m, f, x: f.avg_pool2d(x, 2)),
    ("adaptive_avg_pool2d 1", [(1, 2, 4, 4)], lambda m, f, x: f.adaptive_avg_pool2d(x, 1)),
    ("interpolate", [(1, 2, 3, 3)], lambda m, f, x: f.interpolate(x, scale_factor=2)),
    ("pad", [(3, 4)], lambda m, f, x: f.pad(x, (1, 1))),
    ("view", [(3, 4)], lambda m, f, x: x.view(12)),
    ("reshape", [(3, 4)], lambda m, f, x: x.reshape(4, 3)),
    ("flatten", [(2, 3, 4)], lambda m, f, x: x.flatten(1)),
    ("t", [(3, 4)], lambda m, f, x: x.t()),
    ("transpose", [(2, 3, 4)], lambda m, f, x: x.transpose(0, 2)),
    ("permute", [(2, 3, 4)], lambda m, f, x: x.permute(2, 0, 1)),
    ("unsqueeze", [(3, 4)], lambda m, f, x: x.unsqueeze(1)),
    ("squeeze dim", [(3, 1, 4)], lambda m, f, x: x.squeeze(1)),
    ("squeeze", [(3, 1, 4)], lambda m, f, x: x.squeeze()),
    ("expand", [(1, 4)], lambda m, f, x: x.expand(3, 4)),
    ("select", [(3, 4)], lambda m, f, x: x[1]),
    ("slice", [(3, 4)], lambda m, f, x: x[:, 1:]),
    ("index None", [(3, 4)], lambda m, f, x: x[1:, None]),
    ("narrow", [(3, 4)], lambda m, f, x: x.narrow(1, 1, 2)),
    ("split", [(4, 3)], lambda m, f, x: x.split(2)[1]),
    ("unbind", [(3, 4)], lambda m, f, x: x.unbind(0)[1]),
    ("cat", [(3, 4), (2, 4)], lambda m, f, x, y: m.cat([x, y])),
    ("stack", [(3, 4), (3, 4)], lambda m, f, x, y: m.stack([x, y])),
    ("to", [(3, 4)], lambda m, f, x: x.float()),
    ("clone", [(3, 4)], lambda m, f, x: x.clone()),
    ("tril", [(3, 4)], lambda m, f, x: x.tril()),
    ("repeat", [(3, 4)], lambda m, f, x: x.repeat(2, 1)),
    ("cumsum", [(3, 4)], lambda m, f, x: x.cumsum(1)),
    ("masked_fill", [(3, 4)], lambda m, f, x: x.masked_fill(x > 0, 0.0)),
    # ops added with issue 11's spatial, scatter and math items
    ("conv3d", [(1, 2, 3, 3, 3), (2, 2, 2, 2, 2)], lambda m, f, x, w: f.conv3d(x, w)),
    ("conv_transpose3d", [(1, 2, 2, 2, 2), (2, 2, 2, 2, 2)],
     lambda m, f, x, w: f.conv_transpose3d(x, w)),
    ("max_pool3d", [(1, 2, 4, 4, 4)], lambda m, f, x: f.max_pool3d(x, 2)),
    ("avg_pool3d", [(1, 2, 4, 4, 4)], lambda m, f, x: f.avg_pool3d(x, 2)),
    ("interpolate trilinear", [(1, 2, 2, 2, 2)],
     lambda m, f, x: f.interpolate(x, scale_factor=2, mode="trilinear")),
    ("interpolate nearest 3d", [(1, 2, 2, 2, 2)], lambda m, f, x: f.interpolate(x, scale_factor=2)),
    ("Tensor.unfold", [(3, 5)], lambda m, f, x: x.unfold(1, 2, 1)),
    ("scatter_reduce", [(3, 4), (3, 4)],
     lambda m, f, x, y: x.scatter_reduce(1, m.tensor([[1, 0, 1, 0]] * 3, device=x.device), y,
                                         "amax")),
    ("index_reduce", [(3, 4), (2, 4)],
     lambda m, f, x, y: x.index_reduce(0, m.tensor([2, 0], device=x.device), y, "prod")),
    ("asin", [(3, 4)], lambda m, f, x: (x * 0.5).asin()),
    ("erfinv", [(3, 4)], lambda m, f, x: (x * 0.5).erfinv()),
    ("hypot", [(3, 4), (3, 4)], lambda m, f, x, y: m.hypot(x, y)),
    ("logaddexp", [(3, 4), (3, 4)], lambda m, f, x, y: m.logaddexp(x, y)),
]


def _names(node) -> list:
    return [(type(n).__name__ if n is not None else None, i) for n, i in node.next_functions]


@pytest.mark.parametrize("label,shapes,fn", CASES, ids=[c[0] for c in CASES])
def test_node_names_match_torch(label, shapes, fn, device):
    pairs = [_pair(s, device, seed=i) for i, s in enumerate(shapes)]
    got = fn(framework, F, *[p[0] for p in pairs])
    want = fn(torch, TF, *[p[1] for p in pairs])
    assert type(got.grad_fn).__name__ == type(want.grad_fn).__name__, label
    assert got.grad_fn.name() == want.grad_fn.name(), label
    assert isinstance(got.grad_fn, framework.autograd.Node)


# Ops whose next_functions PyTorch shows the same way as the framework (node names, indices).
SAME_EDGES = ["add", "add scalar", "sub", "mul", "div scalar", "pow scalar", "pow tensor",
              "exp", "mm", "linear", "linear no bias", "linear 3d", "relu", "sum dim", "mean",
              "max dim", "clamp", "where", "log_softmax", "mse_loss", "smooth_l1_loss",
              "huber_loss", "bce_with_logits", "binary_cross_entropy", "view", "t", "cat",
              "conv2d", "max_pool2d", "select", "masked_fill", "rsub"]


@pytest.mark.parametrize("label", SAME_EDGES)
def test_next_functions_match_torch(label, device):
    _, shapes, fn = next(c for c in CASES if c[0] == label)
    pairs = [_pair(s, device, seed=i) for i, s in enumerate(shapes)]
    got = fn(framework, F, *[p[0] for p in pairs]).grad_fn
    want = fn(torch, TF, *[p[1] for p in pairs]).grad_fn
    if label in ("linear", "linear no bias"):
        # PyTorch records weight.t() as a TBackward0 node; the framework feeds w directly
        got_edges = [n for n, _ in _names(got)]
        want_edges = [("AccumulateGrad" if n == "TBackward0" else n) for n, _ in _names(want)]
        assert got_edges == want_edges
        return
    assert _names(got) == _names(want)


def test_next_functions_are_pairs_and_leaves_accumulate(device):
    x, _ = _pair((3, 4), device)
    w, _ = _pair((5, 4), device, seed=1)
    y = F.linear(x, w).relu().sum()
    node = y.grad_fn
    assert isinstance(node.next_functions, tuple)
    for edge in node.next_functions:
        assert isinstance(edge, tuple) and len(edge) == 2 and isinstance(edge[1], int)
    relu = node.next_functions[0][0]
    mm = relu.next_functions[0][0]
    leaves = [n for n, _ in mm.next_functions]
    assert [type(n).__name__ for n in leaves] == ["AccumulateGrad", "AccumulateGrad"]
    assert leaves[0].variable is x and leaves[1].variable is w
    assert leaves[0].next_functions == ()
    assert leaves[0].name() == "torch::autograd::AccumulateGrad"


def _tutorial_net(lib, nn, x, conv_w, conv_b, w1, b1, w2, b2, target):
    f = nn.functional
    h = f.max_pool2d(f.relu(f.conv2d(x, conv_w, conv_b)), 2)
    h = f.relu(f.linear(h.flatten(1), w1, b1))
    return f.mse_loss(f.linear(h, w2, b2), target)


def test_tutorial_graph_walk_matches_torch(device):
    """The walk of PyTorch's "neural networks" tutorial, from the loss down to the leaves."""
    shapes = [(2, 1, 6, 6), (2, 1, 3, 3), (2,), (3, 8), (3,), (4, 3), (4,), (2, 4)]
    pairs = [_pair(s, device, seed=i) for i, s in enumerate(shapes)]
    got = _tutorial_net(framework, framework.nn, *[p[0] for p in pairs])
    want = _tutorial_net(torch, torch.nn, *[p[1] for p in pairs])

    def walk(node, depth=0, out=None):
        out = [] if out is None else out
        out.append((depth, type(node).__name__))
        for child, index in node.next_functions:
            if child is not None and depth < 12:
                walk(child, depth + 1, out)
        return out
    got_walk = [entry for entry in walk(got.grad_fn) if entry[1] != "TBackward0"]
    want_walk = [entry for entry in walk(want.grad_fn) if entry[1] != "TBackward0"]
    assert [n for _, n in got_walk] == [n for _, n in want_walk]
    assert type(got.grad_fn).__name__ == "MseLossBackward0"
    assert type(got.grad_fn.next_functions[0][0]).__name__ == "AddmmBackward0"


def test_node_repr_like_torch(device):
    x, _ = _pair((3,), device)
    node = (x * 2).grad_fn
    assert re.fullmatch(r"<MulBackward0 object at 0x[0-9a-f]+>", repr(node))
    assert re.fullmatch(r"<AccumulateGrad object at 0x[0-9a-f]+>",
                        repr(node.next_functions[0][0]))
    assert node.metadata == {}


# Second derivatives through the ops recorded as one node -----------------------------------
ONE_NODE = [
    ("mse_loss", lambda m, f, x, t: f.mse_loss(x, t)),
    ("smooth_l1_loss", lambda m, f, x, t: f.smooth_l1_loss(x, t, beta=0.5)),
    ("huber_loss", lambda m, f, x, t: f.huber_loss(x, t, delta=0.5)),
    ("binary_cross_entropy", lambda m, f, x, t: f.binary_cross_entropy(x.sigmoid(), t.sigmoid())),
    ("bce_with_logits", lambda m, f, x, t: f.binary_cross_entropy_with_logits(
        x, t.sigmoid(), pos_weight=t[0].abs().detach())),
    ("cross_entropy", lambda m, f, x, t: f.cross_entropy(x, (t[:, 0] > 0).long())),
    ("nll_loss", lambda m, f, x, t: f.nll_loss(f.log_softmax(x, 1), (t[:, 0] > 0).long())),
    ("layer_norm", lambda m, f, x, t: f.layer_norm(x, (4,), t[0], t[1]).pow(3).sum()),
    ("glu", lambda m, f, x, t: (f.glu(x) * t[:, :2]).pow(2).sum()),
    ("addmm", lambda m, f, x, t: m.addmm(t[0], x.t(), t).pow(2).sum()),
]


@pytest.mark.parametrize("label,fn", ONE_NODE, ids=[c[0] for c in ONE_NODE])
def test_second_derivative_through_one_node(label, fn, device):
    (x, tx), (t, tt) = _pair((3, 4), device), _pair((3, 4), device, seed=1)
    (v, tv) = _pair((3, 4), device, seed=2)
    outs = []
    for lib, f, a, b, vec in ((framework, F, x, t, v), (torch, TF, tx, tt, tv)):
        loss = fn(lib, f, a, b)
        ga, gb = lib.autograd.grad(loss, (a, b), create_graph=True, allow_unused=True,
                                   materialize_grads=True)
        second = lib.autograd.grad((ga * vec).sum() + (gb * vec).sum() * 0.5, (a, b),
                                   allow_unused=True, materialize_grads=True)
        outs.append((loss, ga, gb) + tuple(second))
    for got, want, what in zip(outs[0], outs[1], ["loss", "grad x", "grad t", "hvp x",
                                                  "hvp t"]):
        assert_close(got, want, 1e-9, 1e-7, f"{label}: {what}")
    assert "Backward" in type(ga.grad_fn).__name__


def test_one_node_backward_twice_needs_retain_graph(device):
    x, tx = _pair((3, 4), device)
    t, tt = _pair((3, 4), device, seed=1)
    loss = F.mse_loss(x, t.detach())
    loss.backward(retain_graph=True)
    loss.backward()
    assert_close(x.grad, 2 * (2 * (tx - tt) / 12), 1e-12, 1e-9)
    loss = F.mse_loss(x, t.detach())
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_one_node_replay_keeps_running_stats(device):
    """Under create_graph the composite is re-run: batch_norm's running stats update once."""
    x, tx = _pair((4, 3), device)
    mean = framework.zeros(3, dtype=framework.float64, device=device)
    var = framework.ones(3, dtype=framework.float64, device=device)
    tmean, tvar = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    y = F.batch_norm(x, mean, var, training=True)
    ty = TF.batch_norm(tx, tmean, tvar, training=True)
    assert type(y.grad_fn).__name__ == "NativeBatchNormBackward0"
    (g,) = framework.autograd.grad(y.pow(3).sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad(ty.pow(3).sum(), tx, create_graph=True)
    g.sum().backward()
    tg.sum().backward()
    assert_close(mean, tmean, 1e-12, 1e-9)
    assert_close(var, tvar, 1e-12, 1e-9)
    assert_close(x.grad, tx.grad, 1e-9, 1e-7)


def test_one_node_inplace_edit_of_input_is_caught(device):
    x, _ = _pair((3, 4), device)
    a = x * 1
    loss = F.smooth_l1_loss(a, framework.zeros_like(a).detach())
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_one_node_inplace_edit_of_output_is_allowed(device):
    """ResNet's ``out = bn(conv(x)); out += identity``: batch norm's backward does not read
    its output, so editing the output in place is no error (as in PyTorch)."""
    x, tx = _pair((4, 3), device)
    t, tt = _pair((4, 3), device, seed=1)
    y = F.batch_norm(x, None, None, training=True)
    ty = TF.batch_norm(tx, None, None, training=True)
    y += t.detach()
    ty += tt.detach()
    y.pow(2).sum().backward()
    ty.pow(2).sum().backward()
    assert_close(x.grad, tx.grad, 1e-9, 1e-7)


# Node hooks -------------------------------------------------------------------------------
def test_grad_fn_register_hook_and_prehook(device):
    results = []
    for lib, pair in ((framework, _pair((3,), device)[0]), (torch, _pair((3,), device)[1])):
        x = pair
        y = x * 3
        calls = []

        def post(grad_inputs, grad_outputs, calls=calls):
            calls.append(("post", len(grad_inputs), len(grad_outputs)))
            return (grad_inputs[0] * 10,) + tuple(grad_inputs[1:])

        def pre(grad_outputs, calls=calls):
            calls.append(("pre", len(grad_outputs)))
            return (grad_outputs[0] + 1,)
        y.grad_fn.register_hook(post)
        handle = y.grad_fn.register_prehook(pre)
        y.sum().backward(retain_graph=True)
        first = x.grad.clone()
        handle.remove()
        x.grad = None
        y.sum().backward()
        results.append((calls, first, x.grad))
    (fw_calls, fw_first, fw_second), (t_calls, t_first, t_second) = results
    assert fw_calls == t_calls
    assert_close(fw_first, t_first, 0, 0)
    assert_close(fw_second, t_second, 0, 0)


def test_accumulate_grad_node_hooks(device):
    x, _ = _pair((3,), device)
    y = (x * 2).sum()
    seen = []
    acc = y.grad_fn.next_functions[0][0].next_functions[0][0]
    acc.register_prehook(lambda grads: seen.append(grads[0]) or (grads[0] * 0.5,))
    y.backward()
    assert len(seen) == 1
    assert_close(x.grad, torch.full((3,), 1.0, dtype=torch.float64), 0, 0)


def test_custom_function_node_named_like_torch(device):
    class MyExp(framework.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, grad):
            (out,) = ctx.saved_tensors
            return grad * out

    class TorchExp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.exp()

        @staticmethod
        def backward(ctx, grad):
            return grad
    x, tx = _pair((3,), device)
    got = MyExp.apply(x).grad_fn
    want = TorchExp.apply(tx).grad_fn
    assert type(got).__name__ == "MyExpBackward"
    assert type(want).__name__ == "TorchExpBackward"
    assert got.name() == "MyExpBackward"


def test_one_node_leaves_unused_gradients_none(device):
    """An input the composition does not differentiate gets no gradient, not zeros: nll_loss's
    class weight (PyTorch refuses a weight that requires grad; framework ignores it)."""
    x, _ = _pair((3, 4), device)
    weight = framework.ones(4, dtype=framework.float64, device=device, requires_grad=True)
    target = _index_pair([0, 1, 3], device)[0]
    loss = F.nll_loss(F.log_softmax(x, 1), target, weight=weight)
    loss.backward()
    assert x.grad is not None and weight.grad is None
