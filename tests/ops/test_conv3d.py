"""conv3d / conv_transpose3d (and nn.Conv3d / nn.ConvTranspose3d) against PyTorch on cpu and cuda.

Tiny shapes: on the interpreter every 3-d convolution is one 2-d implicit GEMM launch plus
views, an index_add (transpose) and the backward launches.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close, check_op

import framework
import framework.nn.functional as FF

RNG = np.random.default_rng(33)
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def _arrays(x_shape, w_shape, bias_size):
    arrays = [RNG.standard_normal(x_shape), RNG.standard_normal(w_shape)]
    return arrays + [RNG.standard_normal(bias_size)] if bias_size else arrays


def _call(fn, kwargs):
    return lambda x, w, b=None: fn(x, w, b, **kwargs)


CONV3D_CASES = {  # (input, weight, kwargs, bias)
    "basic-bias": ((2, 2, 4, 5, 4), (3, 2, 2, 3, 2), {}, True),
    "stride-pad-dilation-groups": ((1, 4, 5, 4, 5), (4, 2, 3, 2, 3),
                                   {"stride": (2, 1, 2), "padding": (1, 0, 1),
                                    "dilation": (1, 2, 1), "groups": 2}, True),
    "same-even-depth": ((1, 2, 4, 4, 4), (2, 2, 2, 2, 2), {"padding": "same",
                                                           "dilation": (2, 1, 1)}, False),
    "valid-1x1x1": ((2, 3, 2, 3, 3), (2, 3, 1, 1, 1), {"padding": "valid"}, True),
    "depthwise-stride-leaves-slices": ((1, 2, 5, 4, 4), (2, 1, 2, 2, 2),
                                       {"groups": 2, "stride": 2}, False),
    "unbatched": ((2, 4, 4, 4), (3, 2, 3, 3, 3), {"padding": 1}, True),
}


@pytest.mark.parametrize("case", list(CONV3D_CASES))
def test_conv3d(device, case):
    x_shape, w_shape, kwargs, bias = CONV3D_CASES[case]
    check_op(_call(FF.conv3d, kwargs), _call(F.conv3d, kwargs),
             _arrays(x_shape, w_shape, bias and w_shape[0]), device=device)


def test_conv3d_non_contiguous(device):
    kwargs = {"stride": (1, 2, 1), "padding": (1, 0, 1)}
    check_op(_call(FF.conv3d, kwargs), _call(F.conv3d, kwargs),
             _arrays((1, 2, 3, 4, 4), (2, 2, 2, 2, 2), 2), device=device, contiguous=False)


def test_conv3d_float64_and_half(device):
    args = _arrays((1, 2, 3, 3, 3), (2, 2, 2, 2, 2), 0)
    check_op(_call(FF.conv3d, {}), _call(F.conv3d, {}), args, device=device,
             dtype=framework.float64)
    check_op(_call(FF.conv3d, {}), _call(F.conv3d, {}), args, device=device,
             dtype=framework.float16, scale=4, grad=False)


CONVT3D_CASES = {
    "basic-bias": ((2, 2, 3, 4, 3), (2, 3, 2, 3, 2), {}, True),
    "all-args-groups": ((1, 4, 3, 3, 2), (4, 1, 3, 2, 3),
                        {"stride": (2, 1, 2), "padding": (1, 0, 1), "output_padding": (1, 0, 1),
                         "dilation": (1, 2, 1), "groups": 2}, True),
    "unbatched-crop": ((2, 3, 2, 3), (2, 2, 2, 2, 2),
                       {"stride": 2, "padding": 1, "dilation": 2, "output_padding": 1}, False),
}


@pytest.mark.parametrize("case", list(CONVT3D_CASES))
def test_conv_transpose3d(device, case):
    x_shape, w_shape, kwargs, bias = CONVT3D_CASES[case]
    check_op(_call(FF.conv_transpose3d, kwargs), _call(F.conv_transpose3d, kwargs),
             _arrays(x_shape, w_shape, bias and w_shape[1] * kwargs.get("groups", 1)),
             device=device)


def test_conv_transpose3d_non_contiguous(device):
    kwargs = {"stride": 2, "padding": (0, 1, 0)}
    check_op(_call(FF.conv_transpose3d, kwargs), _call(F.conv_transpose3d, kwargs),
             _arrays((1, 2, 2, 3, 2), (2, 2, 2, 2, 2), 0), device=device, contiguous=False)


def test_conv3d_double_backward(device):
    # Second derivatives compose from the 2-d primitives, the views and index_add.
    x = RNG.standard_normal((1, 2, 3, 3, 3))
    w = RNG.standard_normal((2, 2, 2, 2, 2))
    fx = framework.tensor(x, device=device, requires_grad=True)
    fw = framework.tensor(w, device=device, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    (gx,) = framework.autograd.grad([(FF.conv3d(fx, fw, padding=1) ** 2).sum()], [fx],
                                    create_graph=True)
    (tgx,) = torch.autograd.grad([(F.conv3d(tx, tw, padding=1) ** 2).sum()], [tx],
                                 create_graph=True)
    got = framework.autograd.grad([gx.sum()], [fw])[0]
    want = torch.autograd.grad([tgx.sum()], [tw])[0]
    assert_close(got, want, 1e-4, 1e-4)


def test_nn_conv3d_modules(device):
    torch.manual_seed(0)
    for t_mod, kwargs in ((torch.nn.Conv3d, dict(stride=(1, 2, 1), padding=1, groups=2)),
                          (torch.nn.ConvTranspose3d, dict(stride=2, output_padding=1,
                                                          bias=False, dilation=2))):
        ref = t_mod(2, 4, (2, 3, 2), **kwargs).double()
        mod = getattr(framework.nn, t_mod.__name__)(2, 4, (2, 3, 2), **kwargs)
        assert repr(mod) == repr(ref)
        assert tuple(mod.weight.shape) == tuple(ref.weight.shape)
        mod = mod.to(device).double()
        mod.weight.data = framework.tensor(ref.weight.detach().numpy(), device=device)
        if ref.bias is not None:
            mod.bias.data = framework.tensor(ref.bias.detach().numpy(), device=device)
        x = RNG.standard_normal((1, 2, 3, 4, 3))
        got = mod(framework.tensor(x, device=device))
        assert_close(got, ref(torch.tensor(x)), 1e-9, 1e-7)


BAD = {
    "rank": (lambda m, x, w: m.conv3d(x[0, 0], w), RuntimeError),
    "channels": (lambda m, x, w: m.conv3d(x, w[:, :1]), RuntimeError),
    "stride-length": (lambda m, x, w: m.conv3d(x, w, stride=(1, 1)), RuntimeError),
    "negative-padding": (lambda m, x, w: m.conv3d(x, w, padding=-1), RuntimeError),
    "kernel-too-big": (lambda m, x, w: m.conv3d(x[:, :, :1], w), RuntimeError),
    "same-strided": (lambda m, x, w: m.conv3d(x, w, padding="same", stride=2), RuntimeError),
    "transpose-output-padding": (lambda m, x, w: m.conv_transpose3d(x, w, output_padding=1),
                                 RuntimeError),
    "transpose-channels": (lambda m, x, w: m.conv_transpose3d(x[:, :1], w), RuntimeError),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_raises_like_torch(case):
    fn, error = BAD[case]
    with pytest.raises(error):
        fn(F, torch.zeros(1, 2, 3, 3, 3), torch.zeros(2, 2, 2, 2, 2))
    with pytest.raises(error, match="conv"):
        fn(FF, framework.zeros(1, 2, 3, 3, 3), framework.zeros(2, 2, 2, 2, 2))


@pytest.mark.parametrize("fn,x_shape,w_shape", [
    ("conv3d", (0, 2, 3, 3, 3), (2, 2, 2, 2, 2)),  # empty batch
    ("conv3d", (1, 2, 1, 3, 3), (2, 2, 1, 2, 2)),  # depth 1
    ("conv_transpose3d", (0, 2, 3, 3, 3), (2, 2, 2, 2, 2)),
    ("conv_transpose3d", (1, 2, 1, 1, 1), (2, 1, 1, 1, 1)),
])
def test_conv3d_edge_shapes(device, fn, x_shape, w_shape):
    check_op(_call(getattr(FF, fn), {}), _call(getattr(F, fn), {}),
             _arrays(x_shape, w_shape, 0), device=device)
