"""framework.compile for training: the joint forward + backward graph, gradients as eager's."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from compiler_models import on

import framework
import framework.nn as nn
import framework.nn.functional as F
from framework.compiler.capture import flatten


def _close(a, b, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(),
                               rtol=rtol, atol=atol)


def _pair(device: str, name: str):
    """The same model twice (eager, compiled copy), in training mode."""
    eager, args = on(device, name)
    copy, _ = on(device, name)
    copy.load_state_dict(eager.state_dict())
    return eager.train(), copy.train(), args


def _grads(module, out, weight):
    loss = (out * weight).sum() if not isinstance(out, tuple) else (out[0] * weight).sum()
    loss.backward()
    return {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("device,name", [
    ("cpu", "mlp"), ("cpu", "cnn"), ("cpu", "causal_block"), ("cpu", "encoder_block"),
    ("cpu", "gru"),
    ("cuda", "mlp"), ("cuda", "cnn"), ("cuda", "encoder_block")])  # interpreter: ~10 s a block
def test_gradients_match_eager(device, name):
    eager, copy, (x,) = _pair(device, name)
    compiled = framework.compile(copy)
    floating = x.dtype.is_floating_point
    x_eager = x.detach().clone().requires_grad_(floating)
    x_compiled = x.detach().clone().requires_grad_(floating)
    out_eager = eager(x_eager)
    first = out_eager[0] if isinstance(out_eager, tuple) else out_eager  # gru: (logits, states)
    weight = framework.randn(*first.shape, device=device)
    want = _grads(eager, out_eager, weight)
    out = compiled(x_compiled)
    assert type(flatten(out)[0][0].grad_fn).__name__ == "CompiledFunctionBackward"
    got = _grads(copy, out, weight)
    for a, b in zip(flatten(out)[0], flatten(out_eager)[0]):
        _close(a, b)
    assert set(got) == set(want)
    for key in want:
        _close(got[key], want[key])
    if floating:
        _close(x_compiled.grad, x_eager.grad)
    # a replay: gradients accumulate into .grad as eager's do
    _grads(eager, eager(x_eager), weight)
    _grads(copy, compiled(x_compiled), weight)
    for (key, p), q in zip(eager.named_parameters(), copy.parameters()):
        _close(q.grad, p.grad)
    assert compiled._compiled.stats == {"traces": 1, "replays": 1, "eager": 0}


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_cache_reuse_retrace_and_inputs_without_grad(device):
    eager, copy, (x,) = _pair(device, "mlp")
    compiled = framework.compile(copy)
    for batch in (3, 3, 5):  # x needs no gradient: only the parameters get one
        x = framework.randn(batch, 6, device=device)
        for module, run in ((eager, eager), (copy, compiled)):
            module.zero_grad()
            run(x).square().mean().backward()
        for p, q in zip(eager.parameters(), copy.parameters()):
            _close(q.grad, p.grad)
    assert compiled._compiled.stats == {"traces": 2, "replays": 1, "eager": 0}
    entry = next(iter(compiled._compiled.cache.values()))
    assert "input0" not in str(entry.backward_graph.output)
    with framework.no_grad():  # grad mode off: an inference signature, its own graph
        _close(compiled(x), eager(x))
    assert compiled._compiled.stats["traces"] == 3


def test_frozen_parameters_and_a_training_step_with_dropout():
    framework.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))
    twin = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))
    twin.load_state_dict(model.state_dict())
    for m in (model, twin):
        m[0].weight.requires_grad_(False)
    compiled = framework.compile(twin)
    x = framework.randn(6, 4)
    opts = [framework.optim.SGD(m.parameters(), lr=0.1) for m in (model, twin)]
    for _ in range(3):
        for run, opt, seed in ((model, opts[0], 1), (compiled, opts[1], 1)):
            framework.manual_seed(seed)  # the same masks: dropout is redrawn per call
            opt.zero_grad()
            F.mse_loss(run(x), framework.zeros(6, 2)).backward()
            opt.step()
    assert twin[0].weight.grad is None
    for p, q in zip(model.parameters(), twin.parameters()):
        _close(q, p)
    framework.manual_seed(2)
    a = compiled(x)
    b = compiled(x)
    assert not np.array_equal(a.detach().numpy(), b.detach().numpy())  # fresh masks per call
    assert compiled._compiled.stats["eager"] == 0


class _Reparam(nn.Module):
    """A VAE's encoder, sampling and decoder: randn_like inside the compiled call."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(6, 4)
        self.dec = nn.Linear(2, 6)

    def forward(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=1)
        z = mu + framework.randn_like(mu) * (0.5 * logvar).exp()
        return self.dec(z), mu


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_random_draws_are_redrawn_per_call_like_eager(device):
    framework.manual_seed(0)
    eager, twin = _Reparam().to(device), _Reparam().to(device)
    twin.load_state_dict(eager.state_dict())
    compiled = framework.compile(twin)
    x = framework.randn(3, 6, device=device)
    for seed in range(3):
        for module, run in ((eager, eager), (twin, compiled)):
            framework.manual_seed(seed)
            module.zero_grad()
            out, mu = run(x)
            (out.square().sum() + mu.sum()).backward()
        for p, q in zip(eager.parameters(), twin.parameters()):
            _close(q.grad, p.grad)
    assert compiled._compiled.stats == {"traces": 1, "replays": 2, "eager": 0}


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_dropout_in_training_mode_under_no_grad_is_compiled_and_redraws(device, caplog):
    """A module in training mode called under no_grad: its first trace drew random numbers,
    so the second call traces a joint graph whose replays take each call's own draws: the
    same outputs as eager over a run of calls from one seed, none requiring grad."""
    framework.manual_seed(0)
    eager = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.Linear(8, 3)).to(device)
    twin = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.Linear(8, 3)).to(device)
    twin.load_state_dict(eager.state_dict())
    compiled = framework.compile(twin)
    x = framework.randn(4, 6, device=device)
    runs = []
    for run in (eager, compiled):
        framework.manual_seed(7)
        with framework.no_grad(), caplog.at_level(logging.WARNING, logger="framework.compile"):
            runs.append([run(x) for _ in range(4)])
    for a, b in zip(*runs):
        _close(b, a)
        assert not b.requires_grad
    assert not np.allclose(runs[1][2].cpu().numpy(), runs[1][3].cpu().numpy())  # fresh draws
    assert compiled._compiled.stats == {"traces": 2, "replays": 2, "eager": 0}
    assert "eagerly" not in caplog.text


def test_random_draws_with_nothing_to_differentiate_run_eagerly(caplog):
    @framework.compile
    def noisy(x):
        return framework.nn.functional.dropout(x, 0.5) * 2

    x = framework.ones(3, 4)
    with caplog.at_level(logging.WARNING, logger="framework.compile"):
        framework.manual_seed(3)
        first, second = noisy(x), noisy(x)
    framework.manual_seed(3)
    _close(first, framework.nn.functional.dropout(x, 0.5) * 2)
    _close(second, framework.nn.functional.dropout(x, 0.5) * 2)
    assert "eagerly" in caplog.text and "random kernel dropout" in caplog.text
    assert noisy.stats == {"traces": 1, "replays": 0, "eager": 1}


def test_eager_fallback_logs_a_reason_when_capture_fails(caplog):
    def f(x):
        return x * 2 if x.sum().item() > 0 else x * 3

    compiled = framework.compile(f)
    x = framework.ones(2, 3, requires_grad=True)
    with caplog.at_level(logging.WARNING, logger="framework.compile"):
        compiled(x).sum().backward()
    assert "eagerly" in caplog.text and "Python number" in caplog.text
    _close(x.grad, framework.full((2, 3), 2.0))
    compiled(x).sum().backward()  # the signature stays eager
    _close(x.grad, framework.full((2, 3), 4.0))
    assert compiled.stats == {"traces": 1, "replays": 0, "eager": 1}


def test_backward_twice_needs_retain_graph():
    module, (x,) = on("cpu", "mlp")
    compiled = framework.compile(module.train())
    y = compiled(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_double_backward_recomputes_eagerly():
    module, _ = on("cpu", "mlp")
    compiled = framework.compile(module.train())
    x = framework.randn(4, 6)
    grads = []
    for run in (module, compiled):
        xi = x.detach().clone().requires_grad_(True)
        (g,) = framework.autograd.grad(run(xi).tanh().sum(), xi, create_graph=True)
        (g2,) = framework.autograd.grad(g.square().sum(), xi)
        grads.append((g, g2))
    _close(grads[1][0], grads[0][0])
    _close(grads[1][1], grads[0][1])


def test_batchnorm_buffers_update_once_per_call():
    def make():
        framework.manual_seed(0)
        return nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                             nn.Linear(3 * 4 * 4, 2), nn.LayerNorm(2))
    eager, twin = make(), make()
    compiled = framework.compile(twin)
    x = framework.randn(4, 1, 6, 6)
    for _ in range(3):  # the trace's call, then two replays
        for run in (eager, compiled):
            run.zero_grad()
            run(x).square().sum().backward()
    for p, q in zip(eager.parameters(), twin.parameters()):
        _close(q.grad, p.grad)
    for a, b in zip(eager.buffers(), twin.buffers()):
        _close(b, a)  # running mean/var and num_batches_tracked == 3
    assert compiled._compiled.stats == {"traces": 1, "replays": 2, "eager": 0}


def test_a_whole_training_step_runs_eagerly_with_a_reason(caplog):
    framework.manual_seed(0)
    model = nn.Linear(3, 1)
    twin = nn.Linear(3, 1)
    twin.load_state_dict(model.state_dict())
    x, y = framework.randn(5, 3), framework.randn(5, 1)

    def stepper(module):
        optimizer = framework.optim.SGD(module.parameters(), lr=0.1)

        def step(x, y):
            optimizer.zero_grad()
            loss = F.mse_loss(module(x), y)
            loss.backward()
            optimizer.step()
            return loss.detach()
        return step

    eager, compiled = stepper(model), framework.compile(stepper(twin))
    with caplog.at_level(logging.WARNING, logger="framework.compile"):
        for _ in range(3):
            _close(compiled(x, y), eager(x, y))
    assert "differentiates inside (backward() or autograd.grad())" in caplog.text
    _close(twin.weight, model.weight)
    with pytest.raises(framework.compiler.compile.CompileError):
        framework.compile(stepper(twin), fullgraph=True)(x, y)


def test_saved_views_of_parameters_are_made_again_in_the_backward():
    """MultiheadAttention's q, k, v weight slices: the forward saves the in_proj weight once
    (not three slices), the backward slices it again; gradients as eager's."""
    eager, copy, (x,) = _pair("cpu", "encoder_block")
    compiled = framework.compile(copy)
    weight = framework.randn(*x.shape)
    want = _grads(eager, eager(x), weight)
    got = _grads(copy, compiled(x), weight)
    for key in want:
        _close(got[key], want[key])
    entry = next(iter(compiled._compiled.cache.values()))
    forward = entry.forward_graph
    producer = {o.id: n for n in forward.nodes for o in n.outputs if o is not None}
    inputs = {v.id for v in forward.inputs}
    for v in forward.output[1]:  # no saved value is a view of an input
        node = producer.get(v.id)
        while node is not None and node.is_view:
            v = node.args["input"]
            node = producer.get(v.id)
            assert node is not None or v.id not in inputs
    names = [v.name for v in forward.output[1] if v.id in inputs]
    assert names.count("layer.self_attn.in_proj_weight") == 1
    readers = [n for n in entry.backward_graph.nodes
               if any(v.name == "layer.self_attn.in_proj_weight" for v in n.inputs())]
    # the q, k, v input gradients from its three row blocks are one matmul reading the whole
    # weight (splitk.merge_split_matmuls): one reshape of it, no slices
    assert [n.op for n in readers] == ["reshape"]
