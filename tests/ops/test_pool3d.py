"""3-D pooling, max_unpool2d, 5-D interpolate and 'nearest-exact' against PyTorch (cpu, cuda),
with their nn modules."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close, check_op

import framework
import framework.nn.functional as FF

RNG = np.random.default_rng(21)

POOL3D = {  # kwargs of max_pool3d / avg_pool3d on a (2, 2, 4, 5, 5) input
    "cube": {"kernel_size": 2},
    "mixed": {"kernel_size": (2, 3, 2), "stride": (1, 2, 1), "padding": (1, 1, 0)},
    "ceil": {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
}


@pytest.mark.parametrize("case", list(POOL3D))
def test_max_pool3d(device, case):
    kwargs = POOL3D[case]
    x = RNG.standard_normal((2, 2, 4, 5, 5))
    check_op(lambda x: FF.max_pool3d(x, return_indices=True, **kwargs),
             lambda x: F.max_pool3d(x, return_indices=True, **kwargs), [x], device=device)


def test_max_pool3d_ties_dilation_unbatched(device):
    # Ties: the first maximum in (d, h, w) order wins, as PyTorch's index says.
    x = RNG.integers(0, 3, size=(2, 4, 5, 5)).astype(np.float64)
    check_op(lambda x: FF.max_pool3d(x, 2, stride=1, dilation=(2, 1, 2), return_indices=True),
             lambda x: F.max_pool3d(x, 2, stride=1, dilation=(2, 1, 2), return_indices=True),
             [x], device=device, dtype=framework.float64)


def test_max_pool3d_non_contiguous_and_integers(device):
    check_op(lambda x: FF.max_pool3d(x, (1, 2, 2)), lambda x: F.max_pool3d(x, (1, 2, 2)),
             [RNG.standard_normal((1, 2, 3, 4, 4))], device=device, contiguous=False)
    x = RNG.integers(-9, 9, size=(1, 2, 3, 4, 4))
    got = FF.max_pool3d(framework.tensor(x, device=device), 2, return_indices=True)
    want = F.max_pool3d(torch.tensor(x), 2, return_indices=True)
    for a, b in zip(got, want):
        assert_close(a, b, 0, 0)


@pytest.mark.parametrize("case", list(POOL3D))
@pytest.mark.parametrize("include_pad,override", [(True, None), (False, None), (False, 3)])
def test_avg_pool3d(device, case, include_pad, override):
    kwargs = dict(POOL3D[case], count_include_pad=include_pad, divisor_override=override)
    check_op(lambda x: FF.avg_pool3d(x, **kwargs), lambda x: F.avg_pool3d(x, **kwargs),
             [RNG.standard_normal((2, 2, 4, 5, 5))], device=device)


def test_avg_pool3d_non_contiguous_unbatched(device):
    check_op(lambda x: FF.avg_pool3d(x, 2, stride=1), lambda x: F.avg_pool3d(x, 2, stride=1),
             [RNG.standard_normal((2, 3, 3, 4))], device=device, contiguous=False)


def _unpool_pair(module, kernel, stride, output_size=None):
    def run(x):
        values, indices = module.max_pool2d(x, kernel, stride, return_indices=True)
        return module.max_unpool2d(values, indices, kernel, stride, output_size=output_size)
    return run


@pytest.mark.parametrize("shape,kernel,stride,output_size", [
    ((1, 2, 4, 6), 2, 2, None), ((1, 2, 5, 5), 3, 2, None), ((1, 2, 5, 5), 2, 2, (5, 5)),
    ((1, 2, 5, 5), 3, 2, (1, 2, 6, 5))])
def test_max_unpool2d(device, shape, kernel, stride, output_size):
    # Overlapping windows (3, stride 2) select an element twice: written once, as PyTorch.
    check_op(_unpool_pair(FF, kernel, stride, output_size),
             _unpool_pair(F, kernel, stride, output_size),
             [RNG.standard_normal(shape)], device=device)


def test_max_unpool2d_given_indices_unbatched(device):
    idx = np.array([[[0, 3], [9, 15]], [[1, 2], [4, 5]]])
    fi, ti = framework.tensor(idx, device=device), torch.tensor(idx)
    check_op(lambda x: FF.max_unpool2d(x, fi, 2), lambda x: F.max_unpool2d(x, ti, 2),
             [RNG.standard_normal((2, 2, 2))], device=device, contiguous=False)


INTERP5D = [
    ("nearest", {"scale_factor": 2}),
    ("nearest", {"size": (3, 7, 4)}),
    ("nearest-exact", {"size": (6, 3, 7)}),
    ("trilinear", {"size": (3, 7, 4)}),
    ("trilinear", {"scale_factor": (1.5, 0.5, 2.0)}),
    ("trilinear", {"scale_factor": 1.5, "align_corners": True}),
]


@pytest.mark.parametrize("mode,kwargs", INTERP5D)
def test_interpolate_5d(device, mode, kwargs):
    check_op(lambda x: FF.interpolate(x, mode=mode, **kwargs),
             lambda x: F.interpolate(x, mode=mode, **kwargs),
             [RNG.standard_normal((1, 2, 3, 4, 5))], device=device)


def test_interpolate_5d_non_contiguous(device):
    check_op(lambda x: FF.interpolate(x, size=(2, 3, 3), mode="trilinear"),
             lambda x: F.interpolate(x, size=(2, 3, 3), mode="trilinear"),
             [RNG.standard_normal((2, 1, 3, 2, 4))], device=device, contiguous=False)


@pytest.mark.parametrize("shape,kwargs", [((2, 3, 7), {"scale_factor": 1.7}),
                                          ((2, 3, 5), {"size": 3}),
                                          ((1, 2, 5, 4), {"size": (7, 3)}),
                                          ((1, 2, 3, 4), {"scale_factor": (0.6, 2.5)})])
def test_interpolate_nearest_exact(device, shape, kwargs):
    check_op(lambda x: FF.interpolate(x, mode="nearest-exact", **kwargs),
             lambda x: F.interpolate(x, mode="nearest-exact", **kwargs),
             [RNG.standard_normal(shape)], device=device)


def test_nn_modules(device):
    x = RNG.standard_normal((1, 2, 4, 4, 4))
    pairs = [(framework.nn.MaxPool3d(2), torch.nn.MaxPool3d(2)),
             (framework.nn.MaxPool3d(3, 2, 1, ceil_mode=True),
              torch.nn.MaxPool3d(3, 2, 1, ceil_mode=True)),
             (framework.nn.AvgPool3d((1, 2, 2), stride=(1, 2, 2)),
              torch.nn.AvgPool3d((1, 2, 2), stride=(1, 2, 2))),
             (framework.nn.Upsample(scale_factor=2, mode="trilinear"),
              torch.nn.Upsample(scale_factor=2, mode="trilinear")),
             (framework.nn.Upsample(size=(2, 3, 5), mode="nearest-exact"),
              torch.nn.Upsample(size=(2, 3, 5), mode="nearest-exact"))]
    for mine, ref in pairs:
        assert repr(mine) == repr(ref)
        assert_close(mine(framework.tensor(x, device=device)), ref(torch.tensor(x)), 1e-9, 1e-7)
    unpool, ref_unpool = framework.nn.MaxUnpool2d(2), torch.nn.MaxUnpool2d(2)
    assert repr(unpool) == repr(ref_unpool)
    values, indices = F.max_pool2d(torch.tensor(x[0]), 2, return_indices=True)
    got = unpool(framework.tensor(values.numpy(), device=device),
                 framework.tensor(indices.numpy(), device=device), output_size=(4, 5))
    assert_close(got, ref_unpool(values, indices, output_size=(4, 5)), 0, 0)


BAD = {
    "max3d-rank": (lambda m, x: m.max_pool3d(x[0, 0], 2), RuntimeError),
    "avg3d-kernel-pair": (lambda m, x: m.avg_pool3d(x, (2, 2)), RuntimeError),
    "max3d-big-pad": (lambda m, x: m.max_pool3d(x, 2, padding=2), RuntimeError),
    "avg3d-zero-divisor": (lambda m, x: m.avg_pool3d(x, 2, divisor_override=0), RuntimeError),
    "avg3d-too-small": (lambda m, x: m.avg_pool3d(x[:, :, :1], 2), RuntimeError),
    "unpool-int32-indices": (lambda m, x: m.max_unpool2d(x[0], x[0].int(), 2), RuntimeError),
    "unpool-shape": (lambda m, x: m.max_unpool2d(x[0], x[0, :, :1].long(), 2), RuntimeError),
    "unpool-index-range": (lambda m, x: m.max_unpool2d(x[0], (x[0] + 99).long(), 2),
                           RuntimeError),
    "unpool-output-size": (lambda m, x: m.max_unpool2d(x[0], x[0].long(), 2, output_size=(20, 20)),
                           ValueError),
    "trilinear-4d": (lambda m, x: m.interpolate(x[0], size=2, mode="trilinear"),
                     NotImplementedError),
    "bilinear-5d": (lambda m, x: m.interpolate(x, size=2, mode="bilinear"), NotImplementedError),
    "nearest-exact-corners": (lambda m, x: m.interpolate(x, size=2, mode="nearest-exact",
                                                         align_corners=True), ValueError),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_raises_like_torch(case):
    """Each case takes the functional module and a (1, 2, 4, 4, 4) zero input."""
    fn, error = BAD[case]
    with pytest.raises(error):
        fn(F, torch.zeros(1, 2, 4, 4, 4))
    with pytest.raises(error):
        fn(FF, framework.zeros(1, 2, 4, 4, 4))


@pytest.mark.parametrize("name,fn", [
    ("max_pool3d", lambda m, x: m.max_pool3d(x, 2)),
    ("avg_pool3d", lambda m, x: m.avg_pool3d(x, 1)),
    ("interpolate", lambda m, x: m.interpolate(x, scale_factor=2, mode="trilinear")),
])
@pytest.mark.parametrize("shape", [(0, 2, 2, 2, 2), (1, 1, 1, 2, 2)])
def test_edge_shapes(device, name, fn, shape):
    if name == "max_pool3d" and shape[2] == 1:
        shape = (1, 1, 2, 2, 2)  # a kernel of 2 needs two slices; keep a size-1 channel/batch
    check_op(lambda x: fn(FF, x), lambda x: fn(F, x), [RNG.standard_normal(shape)],
             device=device)
