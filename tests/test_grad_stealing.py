"""A leaf's gradient becomes ``.grad`` without a copy only when nothing else references it.

The engine (``framework/autograd/engine.py``, ``_accumulate_into_leaf``) takes a gradient
that only it references as the leaf's ``.grad``, as PyTorch's AccumulateGrad does, and
copies any other. Each scenario below returns whether the leaf's ``.grad`` behaved as
PyTorch's: its memory is not shared with a tensor someone else holds. The scenarios pass
with the engine's test (``_unshared``) and fail when every gradient is taken
(``test_scenarios_fail_if_every_gradient_were_taken``), so they can catch a test that is
too lax. ``test_taken_gradients_equal_the_copying_path`` checks that taking a gradient
gives the same ``.grad`` values and training trajectory as copying it.
"""
from __future__ import annotations

import numpy as np
import pytest

import framework
import framework.nn as nn
import framework.nn.functional as F
from framework.autograd import engine


def _leaf(device, shape=(2, 3), seed=0):
    values = np.random.default_rng(seed).standard_normal(shape)
    return framework.tensor(values, device=device, requires_grad=True)


def _values(t):
    return t.detach().cpu().numpy().copy()


def _two_leaves_one_gradient(device):
    """``add``'s backward hands its one gradient to both operands: two leaves, one tensor."""
    a, b = _leaf(device), _leaf(device, seed=1)
    ((a + b) * 2.0).sum().backward()
    a.grad.add_(1.0)  # in place: must not reach b.grad
    ((a + b) * 2.0).sum().backward()  # accumulates into both .grad in place
    return np.array_equal(_values(b.grad), np.full((2, 3), 4.0)) and np.array_equal(
        _values(a.grad), np.full((2, 3), 5.0))


def _hook_keeps_the_gradient(device):
    """A leaf hook that keeps a reference to the gradient it sees."""
    w = _leaf(device)
    kept = []
    w.register_hook(lambda g: kept.append(g))
    (w * 2.0).sum().backward()
    w.grad.add_(1.0)
    return np.array_equal(_values(kept[0]), np.full((2, 3), 2.0))


def _retained_gradient(device):
    """``clone``'s backward hands its incoming gradient on unchanged: the retained ``.grad``
    of the non-leaf and the leaf's gradient are one tensor's memory."""
    x = _leaf(device)
    y = x.clone()
    y.retain_grad()
    (y * 1.0).sum().backward()
    x.grad.mul_(5.0)
    return np.array_equal(_values(y.grad), np.ones((2, 3)))


def _caller_gradient_reaches_the_leaf(device):
    """The caller's ``gradient=`` flows to the leaf unchanged; accumulating into ``.grad``
    later must not write into it."""
    x = _leaf(device)
    given = framework.tensor(np.full((2, 3), 3.0), device=device)
    x.clone().backward(given)
    x.clone().backward(given)  # in-place accumulation into x.grad
    return (np.array_equal(_values(given), np.full((2, 3), 3.0))
            and np.array_equal(_values(x.grad), np.full((2, 3), 6.0)))


def _gradient_kept_by_a_custom_function(device):
    """A Function whose backward returns a tensor it also keeps (in ``ctx``, retained)."""
    class Keep(framework.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            ctx.kept = grad * 2.0
            return ctx.kept

    x = _leaf(device)
    y = Keep.apply(x)
    y.sum().backward(retain_graph=True)
    kept = y.grad_fn.kept if hasattr(y.grad_fn, "kept") else None
    x.grad.add_(1.0)
    return kept is None or np.array_equal(_values(kept), np.full((2, 3), 2.0))


def _create_graph_clones(device):
    """Under ``create_graph`` the leaf gets a recorded clone (PyTorch): its ``.grad`` has a
    graph, and writing into it leaves the retained ``.grad`` it came from alone."""
    x = _leaf(device)
    y = x.clone()
    y.retain_grad()
    (y * y).sum().backward(create_graph=True)
    retained = _values(y.grad)
    with framework.no_grad():
        x.grad.zero_()
    return x.grad.grad_fn is not None and np.array_equal(_values(y.grad), retained)


SCENARIOS = [_two_leaves_one_gradient, _hook_keeps_the_gradient, _retained_gradient,
             _caller_gradient_reaches_the_leaf, _gradient_kept_by_a_custom_function,
             _create_graph_clones]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__.strip("_"))
def test_shared_gradients_are_copied_into_grad(scenario, device):
    assert scenario(device)


def _take_always(monkeypatch):
    """Every contiguous gradient taken as it is, whatever references it (the test these
    scenarios must catch), under create_graph too."""
    original = engine._accumulate_into_leaf

    def taking(leaf, slots, create_graph):
        grad = slots[0]
        if (leaf.grad is None and grad.dtype is leaf.dtype and grad.device == leaf.device
                and grad.is_contiguous()):
            slots[0] = None
            for hook in leaf._leaf_hooks():
                result = hook(grad)
                grad = grad if result is None else result
            leaf.grad = grad if create_graph else grad.detach()
            return
        original(leaf, slots, create_graph)
    monkeypatch.setattr(engine, "_accumulate_into_leaf", taking)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__.strip("_"))
def test_scenarios_fail_if_every_gradient_were_taken(scenario, monkeypatch):
    _take_always(monkeypatch)
    assert not scenario("cpu")


def test_unreferenced_gradients_are_taken(device, monkeypatch):
    """A linear layer's weight and bias gradients (fresh GEMM and sum results) become .grad
    without a copy (no clone); with the reference test answering no, both are cloned."""
    layer = nn.Linear(4, 3).to(device)
    x = framework.tensor(np.random.default_rng(0).standard_normal((5, 4)), device=device,
                         dtype=framework.float32)
    clones = []
    clone = framework.Tensor.clone

    def counting(self, *args, **kwargs):
        clones.append(1)
        return clone(self, *args, **kwargs)
    monkeypatch.setattr(framework.Tensor, "clone", counting)
    layer(x).sum().backward()
    taken = engine._REFCOUNTS_EXACT  # else (CPython >= 3.14, free-threaded) every one is copied
    assert len(clones) == (0 if taken else 2)
    assert layer.weight.grad is not None and layer.bias.grad is not None
    monkeypatch.setattr(engine, "_unshared", lambda grad: False)
    layer.zero_grad()
    layer(x).sum().backward()
    assert len(clones) == 2


def _mlp_run(take: bool, monkeypatch, device="cpu", steps=3):
    if not take:
        monkeypatch.setattr(engine, "_unshared", lambda grad: False)
    framework.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    opt = framework.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(1)
    x = framework.tensor(rng.standard_normal((5, 6)), dtype=framework.float32, device=device)
    y = framework.tensor(rng.integers(0, 3, 5), device=device)
    grads = []
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        grads.append([_values(p.grad) for p in model.parameters()])
        opt.step()
    monkeypatch.undo()
    return grads, [_values(p) for p in model.parameters()]


def test_taken_gradients_equal_the_copying_path(device, monkeypatch):
    taken = _mlp_run(True, monkeypatch, device)
    copied = _mlp_run(False, monkeypatch, device)
    for step_a, step_b in zip(taken[0], copied[0]):
        for a, b in zip(step_a, step_b):
            assert a.tobytes() == b.tobytes()
    for a, b in zip(taken[1], copied[1]):
        assert a.tobytes() == b.tobytes()
