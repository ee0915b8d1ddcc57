"""framework.utils.checkpoint (activation checkpointing) against torch.utils.checkpoint: the
same outputs and gradients (inputs and parameters), the recomputation under the saved RNG
state (dropout masks agree), several outputs, and checkpoint_sequential."""
import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tcp

import framework
import framework.utils.checkpoint as cp
from framework import nn


def _pair():
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).to(framework.float64)
    ours.load_state_dict({k: framework.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    return ours, ref


@pytest.mark.parametrize("use_reentrant", [True, False])
@pytest.mark.parametrize("input_requires_grad", [True, False])
def test_checkpoint_matches_torch(use_reentrant, input_requires_grad):
    ours, ref = _pair()
    x = np.random.default_rng(0).standard_normal((5, 3))
    fx = framework.tensor(x, dtype=framework.float64, requires_grad=input_requires_grad)
    tx = torch.tensor(x, requires_grad=input_requires_grad)
    fy = cp.checkpoint(lambda a, scale=1.0: ours(a) * scale, fx, use_reentrant=use_reentrant,
                       scale=2.0) if not use_reentrant else cp.checkpoint(ours, fx, use_reentrant=True)
    ty = tcp.checkpoint(lambda a, scale=1.0: ref(a) * scale, tx, use_reentrant=use_reentrant,
                        scale=2.0) if not use_reentrant else tcp.checkpoint(ref, tx, use_reentrant=True)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    (fy ** 2).sum().backward()
    if ty.requires_grad:
        (ty ** 2).sum().backward()
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        if q.grad is None:  # torch's reentrant form leaves parameters alone without input grads
            continue
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, err_msg=name)
    if input_requires_grad:
        np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-10)


def test_checkpoint_recomputes_with_the_same_dropout_mask_and_several_outputs():
    layer = nn.Linear(8, 8)
    drop = nn.Dropout(0.5)
    x = framework.randn(4, 8, requires_grad=True)

    def block(a):
        h = drop(layer(a))
        return h, h.sum(1)
    framework.manual_seed(3)
    h, s = cp.checkpoint(block, x, use_reentrant=True)
    (h.sum() + s.sum()).backward()
    got_x, got_w = x.grad.clone(), layer.weight.grad.clone()
    x.grad = None
    layer.weight.grad = None
    framework.manual_seed(3)
    h2, s2 = block(x)
    (h2.sum() + s2.sum()).backward()
    np.testing.assert_array_equal(h.detach().numpy(), h2.detach().numpy())
    np.testing.assert_allclose(got_x.numpy(), x.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(got_w.numpy(), layer.weight.grad.numpy(), rtol=1e-6)


def test_checkpoint_sequential_matches_plain_run():
    ours, _ = _pair()
    x = framework.randn(5, 3, dtype=framework.float64, requires_grad=True)
    y = cp.checkpoint_sequential(ours, 2, x, use_reentrant=False)
    y.sum().backward()
    got = [p.grad.clone() for p in ours.parameters()] + [x.grad.clone()]
    ours.zero_grad()
    x.grad = None
    ours(x).sum().backward()
    want = [p.grad for p in ours.parameters()] + [x.grad]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12)
