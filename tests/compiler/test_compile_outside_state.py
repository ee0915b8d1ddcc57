"""framework.compile and the state a function reads from outside its arguments.

Like ``torch.compile``, modules and tensors a compiled function reaches (its closure, the
globals it names, a bound method's ``self``) are graph inputs read by reference: replays see
in-place updates, gradients reach them, module modes are part of the signature. A tensor
the function reaches some other way stays a constant guarded by its version counter. A call
that steps an optimizer, writes into such a constant or differentiates inside runs eagerly,
once per call.
"""
from __future__ import annotations

import logging
import types

import numpy as np
import pytest

import framework
import framework.nn as nn
import framework.nn.functional as F


def _close(a, b):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_a_closure_tensor_updated_in_place_is_read_at_each_call(device):
    w = framework.ones(3, device=device)
    scaled = framework.compile(lambda x: x * w)
    x = framework.arange(3.0, device=device)
    _close(scaled(x), x * w)
    w.add_(1.0)
    _close(scaled(x), x * w)
    w.mul_(3.0)
    _close(scaled(x), x * w)
    assert scaled.stats == {"traces": 1, "replays": 2, "eager": 0}


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_gradients_reach_a_module_and_a_tensor_in_the_closure(device):
    framework.manual_seed(0)
    model = nn.Linear(3, 2).to(device)
    twin = nn.Linear(3, 2).to(device)
    twin.load_state_dict(model.state_dict())
    bias = framework.ones(2, device=device, requires_grad=True)
    twin_bias = framework.ones(2, device=device, requires_grad=True)

    def loss(x, module, b):
        return (module(x) * b).pow(2).mean()

    compiled = framework.compile(lambda x: loss(x, model, bias))
    x = framework.randn(4, 3, device=device)
    for _ in range(3):
        out = compiled(x)
        expected = loss(x, twin, twin_bias)
        _close(out, expected)
        out.backward()
        expected.backward()
        for p, q in zip(model.parameters(), twin.parameters()):
            _close(p.grad, q.grad)
        _close(bias.grad, twin_bias.grad)
        with framework.no_grad():  # an optimizer-like update between calls
            for p, q in zip(list(model.parameters()) + [bias], list(twin.parameters()) + [twin_bias]):
                p.sub_(0.1 * p.grad)
                q.sub_(0.1 * q.grad)
    assert compiled.stats == {"traces": 1, "replays": 2, "eager": 0}


_GLOBAL_MODEL = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))


def _global_forward(x):
    return _GLOBAL_MODEL(x)


def test_a_global_module_s_mode_is_part_of_the_signature():
    compiled = framework.compile(_global_forward)
    x = framework.randn(3, 2)
    _GLOBAL_MODEL.eval()
    with framework.no_grad():
        _close(compiled(x), _GLOBAL_MODEL(x))
        _GLOBAL_MODEL[0].weight.mul_(2.0)
        _close(compiled(x), _GLOBAL_MODEL(x))
        _GLOBAL_MODEL.train()
        compiled(x)  # training mode: another signature
    assert compiled.stats["traces"] == 2
    _GLOBAL_MODEL.eval()


def test_a_bound_method_of_a_plain_object_reaches_its_modules():
    class Agent:
        def __init__(self) -> None:
            self.policy = nn.Linear(2, 3)
            self.temperature = framework.tensor(2.0)

        def act(self, x):
            return self.policy(x) / self.temperature

    agent = Agent()
    act = framework.compile(agent.act)
    x = framework.randn(4, 2)
    act(x).sum().backward()
    expected_grad = agent.policy.weight.grad.clone()
    agent.policy.weight.grad = None
    agent.act(x).sum().backward()
    _close(expected_grad, agent.policy.weight.grad)
    with framework.no_grad():
        agent.temperature.fill_(4.0)
        _close(act(x), agent.act(x))


def test_an_unreachable_tensor_is_a_guarded_constant(caplog):
    hidden = framework.ones(3)

    def f(x, w=hidden):  # a default argument: not a name the code loads
        return x * w

    compiled = framework.compile(f)
    x = framework.arange(3.0)
    _close(compiled(x), x * hidden)
    _close(compiled(x), x * hidden)
    assert compiled.stats == {"traces": 1, "replays": 1, "eager": 0}
    hidden.add_(1.0)  # the guard sees the version change: retrace
    _close(compiled(x), x * hidden)
    assert compiled.stats["traces"] == 2
    with caplog.at_level(logging.WARNING, logger="framework.compile"):
        for _ in range(3):  # changing at every call: eager after a few retraces
            hidden.add_(1.0)
            _close(compiled(x), x * hidden)
    assert "keeps changing between calls" in caplog.text


def test_an_unreachable_tensor_that_requires_grad_runs_eagerly(caplog):
    hidden = framework.ones(3, requires_grad=True)

    def f(x, w=hidden):
        return (x * w).sum()

    compiled = framework.compile(f)
    x = framework.arange(3.0)
    with caplog.at_level(logging.WARNING, logger="framework.compile"):
        compiled(x).backward()
    _close(hidden.grad, x)
    assert "requires grad but is neither an argument" in caplog.text


def test_an_optimizer_step_inside_runs_eagerly_once_per_call(caplog):
    framework.manual_seed(0)
    model, twin = nn.Linear(3, 2), nn.Linear(3, 2)
    twin.load_state_dict(model.state_dict())
    x = framework.randn(4, 3)

    def stepper(module):
        optimizer = framework.optim.Adam(module.parameters(), lr=0.1)

        def step():
            optimizer.zero_grad()
            module(x).pow(2).sum().backward()
            optimizer.step()
        return optimizer, step

    optimizer, step = stepper(model)
    twin_optimizer, twin_step = stepper(twin)
    compiled = framework.compile(step)
    with caplog.at_level(logging.WARNING, logger="framework.compile"):
        for _ in range(3):
            compiled()
            twin_step()
    assert float(optimizer.state[model.weight]["step"]) == 3.0
    _close(model.weight, twin.weight)
    assert "differentiates inside" in caplog.text

    only_step = framework.compile(optimizer.step)  # the gradients stay from the last call
    for _ in range(2):
        only_step()
        twin_optimizer.step()
    assert float(optimizer.state[model.weight]["step"]) == 5.0
    _close(model.weight, twin.weight)


def test_a_write_into_an_outside_constant_runs_eagerly():
    hidden = framework.zeros(3)

    def f(x, out=hidden):
        out.copy_(x)
        return x + 1

    compiled = framework.compile(f)
    for k in range(3):
        x = framework.full((3,), float(k))
        _close(compiled(x), x + 1)
        _close(hidden, x)


_SCALE = 2.0
_WEIGHT = framework.ones(3)


def _scaled_by_globals(x):
    return x * _WEIGHT * _SCALE


def test_rebinding_a_global_or_closure_variable_is_seen():
    global _SCALE, _WEIGHT
    compiled = framework.compile(_scaled_by_globals)
    x = framework.arange(3.0)
    try:
        _close(compiled(x), x * 2.0)
        _SCALE = 3.0  # a Python number the graph froze
        _close(compiled(x), x * 3.0)
        _WEIGHT = framework.full((3,), 5.0)  # a new tensor object
        _close(compiled(x), x * 15.0)
    finally:
        _SCALE, _WEIGHT = 2.0, framework.ones(3)

    bias = framework.zeros(3)

    def shifted(y):
        return y + bias

    compiled_shift = framework.compile(shifted)
    _close(compiled_shift(x), x)
    bias = framework.ones(3)  # rebinds the closure cell
    _close(compiled_shift(x), x + 1)


def test_a_variable_rebound_at_every_call_ends_eager(caplog):
    counter = {"step": 0}

    def f(x):
        return x * counter["step"]

    compiled = framework.compile(f)
    x = framework.ones(2)
    with caplog.at_level(logging.WARNING, logger="framework.compile"):
        for step in range(12):
            counter["step"] = step
            _close(compiled(x), x * step)
    assert "keeps being rebound" in caplog.text
