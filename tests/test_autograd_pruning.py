"""``autograd.grad`` runs only the graph nodes on a path to the inputs asked for (PyTorch's
``exec_info``), and asks framework ops' backwards only for the gradients it needs.

The pruned run must give the bits of the full run (``backward`` into ``.grad``, which runs
every node), and third-order gradients (the PINN example's pattern) must match PyTorch's.
"""
import math

import numpy as np
import pytest
import torch

import framework
import framework.nn as nn
from framework.autograd import Function


def _weights(width: int, seed: int = 0) -> list:
    """Weights and biases of a 1-width-width-1 MLP (float64 NumPy arrays)."""
    rng = np.random.default_rng(seed)
    shapes = [(width, 1), (width,), (width, width), (width,), (1, width), (1,)]
    values = [rng.standard_normal(s) * 0.7 for s in shapes]
    return values


def _framework_net(values, device):
    params = [framework.tensor(v, dtype=framework.float64, device=device, requires_grad=True)
              for v in values]

    def net(x):
        h = framework.tanh(nn.functional.linear(x, params[0], params[1]))
        h = framework.tanh(nn.functional.linear(h, params[2], params[3]))
        return nn.functional.linear(h, params[4], params[5])
    return net, params


def _torch_net(values):
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]

    def net(x):
        h = torch.tanh(torch.nn.functional.linear(x, params[0], params[1]))
        h = torch.tanh(torch.nn.functional.linear(h, params[2], params[3]))
        return torch.nn.functional.linear(h, params[4], params[5])
    return net, params


def _residual_loss(lib, net, x):
    (du,) = lib.autograd.grad(net(x).sum(), x, create_graph=True)
    (d2u,) = lib.autograd.grad(du.sum(), x, create_graph=True)
    return (d2u + math.pi ** 2 * lib.sin(math.pi * x)).pow(2).mean(), du, d2u


def test_third_order_gradients_match_pytorch(device):
    values = _weights(width=3)
    xs = np.linspace(0.1, 0.9, 5).reshape(-1, 1)
    net, params = _framework_net(values, device)
    x = framework.tensor(xs, dtype=framework.float64, device=device, requires_grad=True)
    loss, du, d2u = _residual_loss(framework, net, x)
    loss.backward()
    tnet, tparams = _torch_net(values)
    tx = torch.tensor(xs, requires_grad=True)
    tloss, tdu, td2u = _residual_loss(torch, tnet, tx)
    tloss.backward()
    np.testing.assert_allclose(du.detach().cpu().numpy(), tdu.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(d2u.detach().cpu().numpy(), td2u.detach().numpy(), rtol=1e-10)
    for p, tp in zip(params, tparams):
        if tp.grad is None:  # the last bias: no part of u'' (nor of u')
            assert p.grad is None
            continue
        np.testing.assert_allclose(p.grad.cpu().numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("create_graph", [False, True])
def test_pruned_grad_has_the_bits_of_the_full_backward(device, create_graph):
    """grad(u, x) skips the weights' branches; backward() runs them all: same x gradient, and
    the same second derivative through the pruned first one."""
    values = _weights(width=4, seed=1)
    xs = np.linspace(-1.0, 1.0, 6).reshape(-1, 1)
    net, params = _framework_net(values, device)
    x = framework.tensor(xs, dtype=framework.float32, device=device, requires_grad=True)
    net32 = lambda t: net(t.double()).float()  # noqa: E731
    (pruned,) = framework.autograd.grad(net32(x).sum(), x, create_graph=create_graph)
    net32(x).sum().backward(create_graph=create_graph)
    full = x.grad
    np.testing.assert_array_equal(pruned.detach().cpu().numpy(), full.detach().cpu().numpy())
    assert pruned.requires_grad == create_graph
    if create_graph:
        (pruned2,) = framework.autograd.grad(pruned.sum(), x)
        x.grad = None
        full.sum().backward(inputs=[x])
        np.testing.assert_array_equal(pruned2.cpu().numpy(), x.grad.cpu().numpy())


def test_grad_does_not_run_nodes_off_the_path_to_its_inputs(device):
    """As in PyTorch: a hook on the weight's branch does not fire under grad(y, x), and the
    weight's gradient is not computed; backward() afterwards still gets it (the node's
    needs_input_grad is restored)."""
    fired = {}
    for lib, dev in ((framework, device), (torch, "cpu")):
        x = lib.tensor([[0.5, -1.0], [2.0, 0.25], [1.0, 1.5]], dtype=lib.float64, device=dev,
                       requires_grad=True)
        w = lib.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=lib.float64, device=dev,
                       requires_grad=True)
        w2 = w * 2
        seen = fired[lib.__name__] = []
        w2.register_hook(lambda g, seen=seen: seen.append("w2"))
        x2 = x * 1
        x2.register_hook(lambda g, seen=seen: seen.append("x2"))
        y = (x2 @ w2).tanh().sum()
        lib.autograd.grad(y, x, retain_graph=True)
        assert seen == ["x2"] and w.grad is None
        y.backward()
        assert sorted(seen) == ["w2", "x2", "x2"]
        seen.append(w.grad.sum().item())
    assert fired["framework"][-1] == pytest.approx(fired["torch"][-1], rel=1e-12)


def test_grad_with_respect_to_a_non_leaf_stops_there(device):
    x = framework.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(1))
    h = x.exp()
    y = (h * h).sum()
    (gh,) = framework.autograd.grad(y, h)
    np.testing.assert_allclose(gh.cpu().numpy(), 2 * np.exp([1.0, 2.0, 3.0]), rtol=1e-6)
    assert calls == []  # nothing below h ran


def test_user_function_sees_its_forward_needs_input_grad(device):
    """PyTorch keeps a custom Function's needs_input_grad as in its forward: only framework
    ops' backwards are asked for fewer gradients."""
    seen = []

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            seen.append(ctx.needs_input_grad)
            a, b = ctx.saved_tensors
            return grad * b, grad * a

    a = framework.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = framework.tensor([3.0, 4.0], device=device, requires_grad=True)
    (ga,) = framework.autograd.grad(Mul.apply(a, b).sum(), a)
    np.testing.assert_allclose(ga.cpu().numpy(), [3.0, 4.0])
    assert seen == [(True, True)]


def test_grad_of_an_unreachable_input_is_none_or_an_error(device):
    x = framework.tensor([1.0, 2.0], device=device, requires_grad=True)
    z = framework.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = (x * 3).sum()
    gx, gz = framework.autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
    np.testing.assert_allclose(gx.cpu().numpy(), [3.0, 3.0])
    assert gz is None
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        framework.autograd.grad(y, [z])
