"""Mixed precision: ``framework.autocast`` picks op dtypes like PyTorch's autocast, and
``GradScaler`` scales, unscales, skips and adapts exactly like ``torch.amp.GradScaler``."""
import math

import numpy as np
import pytest
import torch

import framework
import framework.nn.functional as F
from framework.amp import GradScaler


@pytest.mark.parametrize("device,low", [("cpu", framework.bfloat16), ("cuda", framework.float16)])
def test_autocast_runs_products_low_and_softmax_losses_in_float32(device, low):
    x = framework.randn(2, 3, device=device)
    w = framework.randn(4, 3, device=device)
    target = framework.tensor([1, 3], device=device)
    with framework.autocast(device):
        logits = F.linear(x, w)
        assert logits.dtype is low
        assert (x @ w.T).dtype is low and framework.mm(x, w.T).dtype is low
        assert F.softmax(logits, -1).dtype is framework.float32
        assert F.cross_entropy(logits, target).dtype is framework.float32
        image = framework.randn(1, 2, 5, 5, device=device)
        assert F.conv2d(image, framework.randn(3, 2, 3, 3, device=device)).dtype is low
        assert (x + x).dtype is framework.float32
    assert F.linear(x, w).dtype is framework.float32


def test_autocast_is_per_device_type_nests_and_decorates():
    x = framework.randn(2, 2)
    with framework.autocast("cuda"):
        assert (x @ x).dtype is framework.float32  # cpu tensors are not cast by cuda autocast
    with framework.autocast("cpu", dtype=framework.float16):
        assert (x @ x).dtype is framework.float16
        with framework.autocast("cpu", enabled=False):
            assert (x @ x).dtype is framework.float32
        assert framework.amp.is_autocast_enabled("cpu")
    assert not framework.amp.is_autocast_enabled("cpu")

    @framework.autocast("cpu")
    def product(a):
        return a @ a

    assert product(x).dtype is framework.bfloat16


def test_backward_through_autocast_gives_float32_parameter_grads():
    w = framework.randn(4, 3, requires_grad=True)
    x = framework.randn(2, 3)
    with framework.autocast("cpu"):
        loss = F.cross_entropy(F.linear(x, w), framework.tensor([0, 2]))
    loss.backward()
    assert w.grad.dtype is framework.float32 and w.grad.shape == (4, 3)


def test_autocast_bad_arguments():
    with pytest.raises(RuntimeError, match="unsupported autocast device_type"):
        framework.autocast("tpu")
    with pytest.raises(RuntimeError, match="not supported"):
        framework.autocast("cpu", dtype=framework.float64)


def _params(values):
    ours = framework.tensor(values, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    return ours, theirs


def test_grad_scaler_matches_torch_scale_updates_and_skipped_steps():
    ours_p, theirs_p = _params([1.0, -2.0])
    ours_opt = framework.optim.SGD([ours_p], lr=0.1)
    theirs_opt = torch.optim.SGD([theirs_p], lr=0.1)
    ours = GradScaler("cpu", init_scale=8.0, growth_interval=2)
    theirs = torch.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2)
    grads = [[1.0, 2.0], [float("inf"), 1.0], [0.5, 0.5], [0.25, 1.0], [float("nan"), 0.0],
             [1.0, 1.0], [2.0, 2.0]]
    for g in grads:
        for param, scaler, lib in ((ours_p, ours, framework), (theirs_p, theirs, torch)):
            scaler.scale(lib.tensor(1.0))  # torch's scaler initializes its scale lazily here
            param.grad = lib.tensor(g) * scaler.get_scale()
        ours.step(ours_opt)
        theirs.step(theirs_opt)
        ours.update()
        theirs.update()
        assert ours.get_scale() == theirs.get_scale()
        np.testing.assert_allclose(ours_p.detach().numpy(), theirs_p.detach().numpy(), rtol=1e-6)


def test_grad_scaler_scale_unscale_and_state_dict():
    scaler = GradScaler(init_scale=4.0)
    loss = framework.tensor(2.0, requires_grad=True)
    assert scaler.scale(loss).item() == 8.0
    assert [t.item() for t in scaler.scale([loss, loss])] == [8.0, 8.0]
    p = framework.tensor([1.0], requires_grad=True)
    p.grad = framework.tensor([4.0])
    opt = framework.optim.SGD([p], lr=1.0)
    scaler.unscale_(opt)
    assert p.grad.tolist() == [1.0]
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    assert p.tolist() == [0.0]
    restored = GradScaler()
    restored.load_state_dict(scaler.state_dict())
    assert restored.get_scale() == scaler.get_scale()
    with pytest.raises(ValueError, match="growth factor"):
        GradScaler(growth_factor=0.5)
    assert GradScaler(enabled=False).scale(loss) is loss


def test_logspace_matches_torch():
    np.testing.assert_allclose(framework.logspace(0, 2, 5).numpy(),
                               torch.logspace(0, 2, 5).numpy(), rtol=1e-6)
    np.testing.assert_allclose(framework.logspace(1, 3, 3, base=2.0).numpy(), [2.0, 4.0, 8.0])
    assert math.isclose(framework.logspace(0, 0, 1).item(), 1.0)
