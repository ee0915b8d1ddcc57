"""Tensor.unfold(dimension, size, step): a strided view of sliding windows, with backward."""
import numpy as np
import pytest
import torch
from helpers import check_op

import framework

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("args", [(1, 3, 2), (1, 2, 1), (-1, 4, 3), (0, 1, 5), (1, 7, 1),
                                  (1, 0, 2), (2, 4, 4)])
def test_unfold(device, args):
    # Overlapping (step < size), disjoint, gapped (step > size), whole-dim and empty windows.
    check_op(lambda x: x.unfold(*args), lambda x: x.unfold(*args),
             [RNG.standard_normal((3, 7, 4))], device=device)


def test_unfold_non_contiguous_and_twice(device):
    def twice(x):
        return x.unfold(0, 2, 1).unfold(1, 3, 2)
    check_op(twice, twice, [RNG.standard_normal((4, 6))], device=device, contiguous=False)


def test_unfold_is_a_view(device):
    x = framework.arange(10.0, device=device)
    y = x.unfold(0, 4, 3)
    t = torch.arange(10.0).unfold(0, 4, 3)
    assert y.stride() == t.stride() and y.storage_offset() == t.storage_offset()
    x[4] = 100.0  # shared storage: both windows holding x[4] see it
    assert y[1, 1].item() == 100.0
    s = framework.tensor(3.0, device=device).unfold(0, 1, 1)
    assert tuple(s.shape) == tuple(torch.tensor(3.0).unfold(0, 1, 1).shape)


def test_unfold_double_backward(device):
    x = framework.tensor(RNG.standard_normal((5,)), device=device, requires_grad=True)
    tx = torch.tensor(x.detach().cpu().numpy(), requires_grad=True)
    (g,) = framework.autograd.grad([(x.unfold(0, 3, 1) ** 3).sum()], [x], create_graph=True)
    (tg,) = torch.autograd.grad([(tx.unfold(0, 3, 1) ** 3).sum()], [tx], create_graph=True)
    (gg,) = framework.autograd.grad([g.sum()], [x])
    (tgg,) = torch.autograd.grad([tg.sum()], [tx])
    np.testing.assert_allclose(gg.cpu().numpy(), tgg.numpy(), rtol=1e-5, atol=1e-5)


def test_unfold_errors(device):
    x = framework.randn(3, 5, device=device)
    with pytest.raises(RuntimeError,
                       match="maximum size for tensor at dimension 1 is 5 but size is 6"):
        x.unfold(1, 6, 1)
    with pytest.raises(RuntimeError, match="step is 0 but must be > 0"):
        x.unfold(1, 2, 0)
    with pytest.raises(IndexError):
        x.unfold(2, 1, 1)
    for bad in ((1, 6, 1), (1, 2, 0)):
        with pytest.raises(RuntimeError):
            torch.randn(3, 5).unfold(*bad)
