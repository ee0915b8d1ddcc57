"""Memory formats (``framework.channels_last`` ...) against PyTorch: the strides that
``contiguous``, ``to``, ``clone``, the ``*_like`` factories, ``empty`` and ``Module.to`` give,
``is_contiguous(memory_format=...)``, unchanged values and gradients, and errors."""
import numpy as np
import pytest
import torch

import framework
from helpers import check_op

RNG = np.random.default_rng(0)


def _big(t):
    """The strides of the dims longer than 1 (a size-1 dim's stride is arbitrary: framework's
    row-major strides give it 1 where torch gives the product of the later sizes)."""
    return [s for n, s in zip(t.shape, t.stride()) if n != 1]


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 3, 1, 1), (2, 1, 3, 3)])
def test_contiguous_to_and_clone_lay_out_like_torch(device, shape):
    data = RNG.standard_normal(shape)

    def base(lib):
        t = lib.tensor(data)
        return t.to(device) if lib is framework else t
    for call in (lambda lib, t: t.contiguous(memory_format=lib.channels_last),
                 lambda lib, t: t.to(memory_format=lib.channels_last),
                 lambda lib, t: t.contiguous(memory_format=lib.channels_last).contiguous(),
                 lambda lib, t: t.contiguous(memory_format=lib.channels_last).clone(
                     memory_format=lib.preserve_format),
                 lambda lib, t: t.clone(memory_format=lib.channels_last)):
        ours, theirs = call(framework, base(framework)), call(torch, base(torch))
        assert _big(ours) == _big(theirs)
        for fmt in ("contiguous_format", "channels_last"):
            assert ours.is_contiguous(memory_format=getattr(framework, fmt)) == \
                theirs.is_contiguous(memory_format=getattr(torch, fmt))
        np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())


def test_channels_last_keeps_values_and_gradients(device):
    check_op(lambda t: (t.contiguous(memory_format=framework.channels_last) * 2).sum(1),
             lambda t: (t.contiguous(memory_format=torch.channels_last) * 2).sum(1),
             [RNG.standard_normal((2, 3, 4, 4))], device=device, dtype=framework.float64)
    check_op(lambda t: t.to(memory_format=framework.channels_last_3d).exp(),
             lambda t: t.to(memory_format=torch.channels_last_3d).exp(),
             [RNG.standard_normal((1, 2, 2, 3, 3))], device=device, dtype=framework.float64)


def test_factories_and_modules_take_memory_formats(device):
    x = framework.randn(2, 3, 4, 5, device=device).contiguous(memory_format=framework.channels_last)
    t = torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    for name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        assert getattr(framework, name)(x).stride() == getattr(torch, name)(t).stride()
        assert getattr(framework, name)(x, memory_format=framework.contiguous_format).stride() \
            == getattr(torch, name)(t, memory_format=torch.contiguous_format).stride()
    assert framework.zeros_like(x, requires_grad=True).is_leaf
    assert framework.empty(2, 3, 4, 5, memory_format=framework.channels_last,
                           device=device).stride() == \
        torch.empty(2, 3, 4, 5, memory_format=torch.channels_last).stride()
    conv = framework.nn.Conv2d(3, 4, 3).to(device).to(memory_format=framework.channels_last)
    assert conv.weight.stride() == torch.nn.Conv2d(3, 4, 3).to(
        memory_format=torch.channels_last).weight.stride()
    assert conv.bias.stride() == (1,)
    assert conv(x).shape == (2, 4, 2, 3)


def test_memory_format_errors_match_torch(device):
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        framework.ones(2, 3, device=device).contiguous(memory_format=framework.channels_last)
    with pytest.raises(RuntimeError, match="preserve memory format is unsupported"):
        framework.ones(2, 3, device=device).contiguous(memory_format=framework.preserve_format)
    with pytest.raises(TypeError, match="memory_format"):
        framework.ones(2, 3, device=device).contiguous(memory_format="channels_last")
    assert repr(framework.channels_last) == "framework.channels_last"
    assert isinstance(framework.channels_last, framework.memory_format)
