"""Pooling, interpolation and pixel shuffle against PyTorch (float64 oracle) on cpu and cuda.

Every case runs through ``check_op``: forward values (and max pooling's
indices, compared exactly) and the input gradient for a random output
gradient. Shapes stay tiny: the cuda backend runs on Triton's interpreter,
one program per (n, c) plane.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework
import framework.nn.functional as F
from framework.autograd import gradgradcheck
from helpers import check_op

RNG = np.random.default_rng(0)
HALVES = [framework.float16, framework.bfloat16]


def _normal(*shape):
    return np.asarray(RNG.standard_normal(shape))


def _ties(*shape):
    """Values from {0, 1, 2}: most windows hold several maxima (PyTorch takes the first)."""
    return RNG.integers(0, 3, shape).astype(np.float64)


def _both(name, *args, **kwargs):
    """(framework fn, torch fn) calling the functional op ``name`` with the same arguments."""
    return (lambda x: getattr(F, name)(x, *args, **kwargs),
            lambda x: getattr(TF, name)(x, *args, **kwargs))


def run(name, data, device, *args, dtype=framework.float32, contiguous=True, **kwargs):
    fw_fn, torch_fn = _both(name, *args, **kwargs)
    return check_op(fw_fn, torch_fn, [data], device=device, dtype=dtype, contiguous=contiguous)


# max pooling -----------------------------------------------------------------------
MAX_POOL_2D = {
    "k2": dict(kernel_size=2),
    "k3-s2-p1": dict(kernel_size=3, stride=2, padding=1),
    "k3-s1-overlap": dict(kernel_size=3, stride=1),
    "rect-ceil": dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True),
    "dilation": dict(kernel_size=2, stride=1, padding=1, dilation=(2, 3)),
    "ceil-dilation": dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
}


@pytest.mark.parametrize("case", MAX_POOL_2D)
def test_max_pool2d(device, case):
    run("max_pool2d", _normal(1, 2, 7, 6), device, return_indices=True, **MAX_POOL_2D[case])


@pytest.mark.parametrize("case", ["k2", "k3-s1-overlap", "ceil-dilation"])
def test_max_pool2d_ties(device, case):
    out = run("max_pool2d", _ties(1, 2, 6, 7), device, dtype=framework.float64,
              return_indices=True, **MAX_POOL_2D[case])
    assert out[1].dtype == framework.int64


def test_max_pool2d_non_contiguous_unbatched_float64(device):
    run("max_pool2d", _normal(3, 6, 5), device, 3, 2, 1, dtype=framework.float64,
        contiguous=False, return_indices=True)


@pytest.mark.parametrize("dtype", HALVES)
def test_max_pool2d_half(device, dtype):
    run("max_pool2d", _normal(1, 2, 5, 5), device, 2, 1, dtype=dtype)


@pytest.mark.parametrize("dtype", [framework.int32, framework.int64])
def test_max_pool2d_integers(device, dtype):
    data = RNG.integers(-2**31, 2**31 - 1, (1, 2, 5, 5)) if dtype is framework.int32 \
        else RNG.integers(-4, 4, (1, 2, 5, 5))
    run("max_pool2d", data, device, 2, 1, 1, dtype=dtype, return_indices=True)


def test_max_pool2d_nan_and_inf(device):
    x = _normal(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    x[0, 0, 2:, 2:] = -np.inf
    run("max_pool2d", x, device, 2, dtype=framework.float64, return_indices=True)


def test_max_pool2d_empty_batch_and_size_one(device):
    run("max_pool2d", _normal(0, 2, 4, 4), device, 2)
    run("max_pool2d", _normal(1, 1, 1, 5), device, (1, 2), return_indices=True)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, stride=2, padding=1),
                                    dict(kernel_size=2, dilation=2, ceil_mode=True, stride=2)])
def test_max_pool1d(device, kwargs):
    run("max_pool1d", _ties(2, 1, 9), device, return_indices=True, **kwargs)
    run("max_pool1d", _normal(3, 8), device, contiguous=False, **kwargs)  # unbatched


# average pooling -------------------------------------------------------------------
AVG_POOL_2D = {
    "k2": dict(kernel_size=2),
    "k3-s2-p1": dict(kernel_size=3, stride=2, padding=1),
    "exclude-pad-ceil": dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                             count_include_pad=False),
    "include-pad-ceil": dict(kernel_size=(2, 3), stride=(3, 2), padding=(1, 1), ceil_mode=True),
    "divisor": dict(kernel_size=3, stride=1, padding=1, divisor_override=4),
}


@pytest.mark.parametrize("case", AVG_POOL_2D)
def test_avg_pool2d(device, case):
    run("avg_pool2d", _normal(1, 2, 7, 6), device, **AVG_POOL_2D[case])


def test_avg_pool2d_non_contiguous_unbatched(device):
    run("avg_pool2d", _normal(2, 5, 6), device, 3, 2, 1, dtype=framework.float64,
        contiguous=False, count_include_pad=False)


@pytest.mark.parametrize("dtype", HALVES)
def test_avg_pool2d_half(device, dtype):
    run("avg_pool2d", _normal(1, 2, 5, 5), device, 2, 1, 1, dtype=dtype)


def test_avg_pool2d_empty_batch(device):
    run("avg_pool2d", _normal(0, 3, 4, 4), device, 2)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                    dict(kernel_size=2, padding=1, count_include_pad=False)])
def test_avg_pool1d(device, kwargs):
    run("avg_pool1d", _normal(2, 1, 9), device, **kwargs)
    run("avg_pool1d", _normal(3, 8), device, contiguous=False, **kwargs)  # unbatched


# adaptive pooling ------------------------------------------------------------------
@pytest.mark.parametrize("size", [(3, 2), 4, (None, 5), (9, 1)])
def test_adaptive_avg_pool2d(device, size):
    run("adaptive_avg_pool2d", _normal(1, 2, 7, 6), device, size)


@pytest.mark.parametrize("size", [(3, 2), (9, 8), (None, 4)])
def test_adaptive_max_pool2d(device, size):
    run("adaptive_max_pool2d", _ties(1, 2, 7, 6), device, size, True)


def test_adaptive_pools_non_contiguous_unbatched(device):
    run("adaptive_max_pool2d", _normal(2, 5, 7), device, (2, 3), True, dtype=framework.float64,
        contiguous=False)
    run("adaptive_avg_pool2d", _normal(2, 5, 7), device, (4, 3), contiguous=False)


@pytest.mark.parametrize("size", [3, 11])
def test_adaptive_pools_1d(device, size):
    run("adaptive_avg_pool1d", _normal(2, 2, 7), device, size)
    run("adaptive_max_pool1d", _normal(2, 7), device, size, return_indices=True)


def test_adaptive_pool_zero_output(device):
    """An empty output size gives an empty result (PyTorch's backward rejects it: forward only)."""
    for name, args in (("adaptive_avg_pool2d", ((0, 2),)), ("adaptive_max_pool2d", (0, True))):
        fw_fn, torch_fn = _both(name, *args)
        check_op(fw_fn, torch_fn, [_normal(1, 2, 4, 4)], device=device, grad=False)


@pytest.mark.parametrize("dtype", HALVES)
def test_adaptive_avg_pool2d_half(device, dtype):
    run("adaptive_avg_pool2d", _normal(1, 2, 5, 6), device, (3, 4), dtype=dtype)


# interpolate -----------------------------------------------------------------------
INTERPOLATE_2D = {
    "nearest-size-up": dict(size=(7, 9)),
    "nearest-size-down": dict(size=(3, 2)),
    "nearest-scale": dict(scale_factor=1.7),
    "nearest-scale-recompute": dict(scale_factor=(0.6, 2.3), recompute_scale_factor=True),
    "bilinear-up": dict(size=(7, 9), mode="bilinear"),
    "bilinear-down": dict(size=(3, 2), mode="bilinear"),
    "bilinear-corners-up": dict(size=(7, 9), mode="bilinear", align_corners=True),
    "bilinear-corners-down": dict(size=(3, 1), mode="bilinear", align_corners=True),
    "bilinear-scale": dict(scale_factor=(1.5, 0.7), mode="bilinear"),
    "bilinear-scale-recompute": dict(scale_factor=1.3, mode="bilinear",
                                     recompute_scale_factor=True),
    "bicubic-up": dict(size=(7, 9), mode="bicubic"),
    "bicubic-down": dict(size=(3, 2), mode="bicubic"),
    "bicubic-corners": dict(size=(7, 3), mode="bicubic", align_corners=True),
    "bicubic-scale": dict(scale_factor=(1.5, 0.7), mode="bicubic"),
    "bicubic-scale-recompute": dict(scale_factor=1.3, mode="bicubic",
                                    recompute_scale_factor=True),
}


@pytest.mark.parametrize("case", INTERPOLATE_2D)
def test_interpolate_2d(device, case):
    run("interpolate", _normal(1, 2, 4, 5), device, **INTERPOLATE_2D[case])


@pytest.mark.parametrize("kwargs", [dict(size=9, mode="linear"), dict(scale_factor=0.6, mode="linear"),
                                    dict(size=7, mode="linear", align_corners=True),
                                    dict(scale_factor=2.5), dict(size=3)])
def test_interpolate_1d(device, kwargs):
    run("interpolate", _normal(2, 2, 6), device, **kwargs)


def test_interpolate_non_contiguous_float64(device):
    run("interpolate", _normal(1, 3, 4, 5), device, dtype=framework.float64, contiguous=False,
        size=(6, 3), mode="bilinear")
    run("interpolate", _normal(2, 2, 4, 5), device, dtype=framework.float64, contiguous=False,
        size=(6, 8), mode="bicubic")
    run("interpolate", _normal(1, 3, 4, 5), device, dtype=framework.float64, contiguous=False,
        scale_factor=1.5)


@pytest.mark.parametrize("dtype", HALVES)
def test_interpolate_half(device, dtype):
    run("interpolate", _normal(1, 2, 3, 4), device, size=(5, 6), mode="bilinear", dtype=dtype)


def test_interpolate_size_one_and_empty_batch(device):
    run("interpolate", _normal(1, 1, 1, 1), device, size=(3, 2), mode="bilinear")
    run("interpolate", _normal(0, 2, 3, 3), device, size=(4, 4), mode="bilinear")
    run("interpolate", _normal(1, 1, 1, 2), device, size=(3, 1), mode="bicubic")
    run("interpolate", _normal(0, 2, 3, 3), device, size=(4, 4), mode="bicubic")


def test_interpolate_bicubic_is_one_node_and_twice_differentiable(device):
    x = framework.tensor(_normal(1, 1, 3, 4), dtype=framework.float64, device=device,
                         requires_grad=True)
    out = F.interpolate(x, scale_factor=1.5, mode="bicubic")
    assert type(out.grad_fn).__name__ == "UpsampleBicubic2DBackward0"
    assert gradgradcheck(lambda t: F.interpolate(t, size=(2, 5), mode="bicubic"), (x,))


# pixel_shuffle ---------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 8, 2, 3), (4, 1, 2), (2, 1, 9, 1, 1)])
def test_pixel_shuffle(device, shape):
    r = 3 if shape[-3] == 9 else 2
    run("pixel_shuffle", _normal(*shape), device, r, contiguous=False)
    assert framework.pixel_shuffle is F.pixel_shuffle


@pytest.mark.parametrize("shape", [(2, 2, 4, 6), (1, 2, 2), (1, 1, 1, 3, 3)])
def test_pixel_unshuffle(device, shape):
    r = 3 if shape[-1] == 3 else 2
    run("pixel_unshuffle", _normal(*shape), device, r, contiguous=False)


# second derivatives ----------------------------------------------------------------
GRADGRAD = {
    "avg_pool2d": lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    "adaptive_avg_pool2d": lambda x: F.adaptive_avg_pool2d(x, (2, 2)),
    "bilinear": lambda x: F.interpolate(x, size=(2, 4), mode="bilinear"),
    "nearest": lambda x: F.interpolate(x, scale_factor=1.5),
}


@pytest.mark.parametrize("name", GRADGRAD)
def test_gradgradcheck(device, name):
    x = framework.tensor(_normal(1, 1, 3, 3), dtype=framework.float64, device=device,
                         requires_grad=True)
    assert gradgradcheck(GRADGRAD[name], (x,))


def _max_pool_double_backward(lib, fn, make, x, seed, weights):
    """(first gradient, gradient of sum(first gradient * weights) w.r.t. the output grad)."""
    x = make(x, requires_grad=True)
    seed = make(seed, requires_grad=True)
    (g,) = lib.autograd.grad([fn(x)], [x], [seed], create_graph=True)
    (gg,) = lib.autograd.grad([(g * make(weights)).sum()], [seed])
    return g.detach().cpu().numpy(), gg.detach().cpu().numpy()


@pytest.mark.parametrize("name, args, out_hw", [("max_pool2d", (3, 1, 1), (4, 5)),
                                                ("adaptive_max_pool2d", ((3, 2),), (3, 2))])
def test_max_pool_double_backward(device, name, args, out_hw):
    """Max pooling's backward is differentiable in the incoming gradient (a gather at the
    argmax) like PyTorch's; the overlapping windows here share argmaxes."""
    fw_fn, torch_fn = _both(name, *args)
    data = (_normal(1, 2, 4, 5), _normal(1, 2, *out_hw), _normal(1, 2, 4, 5))
    got = _max_pool_double_backward(
        framework, fw_fn, lambda a, **k: framework.tensor(a, device=device, **k), *data)
    want = _max_pool_double_backward(torch, torch_fn, lambda a, **k: torch.tensor(a, **k), *data)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-12)


# bad input -------------------------------------------------------------------------
BAD = {
    "kernel-larger-than-input": (lambda m, x: m.max_pool2d(x, 5), RuntimeError),
    "avg-kernel-larger-than-input": (lambda m, x: m.avg_pool2d(x, 5), RuntimeError),
    "pad-over-half-kernel": (lambda m, x: m.max_pool2d(x, 3, padding=2), RuntimeError),
    "avg-pad-over-half-kernel": (lambda m, x: m.avg_pool1d(x[0], 3, padding=2), RuntimeError),
    "zero-stride": (lambda m, x: m.max_pool2d(x, 2, stride=0), RuntimeError),
    "zero-dilation": (lambda m, x: m.max_pool2d(x, 2, dilation=0), RuntimeError),
    "kernel-tuple-length": (lambda m, x: m.max_pool2d(x, (2, 2, 2)), RuntimeError),
    "zero-divisor": (lambda m, x: m.avg_pool2d(x, 2, divisor_override=0), RuntimeError),
    "pool-wrong-ndim": (lambda m, x: m.max_pool2d(x[0, 0, 0], 2), RuntimeError),
    "pool1d-wrong-ndim": (lambda m, x: m.max_pool1d(x[0, 0, 0], 2), RuntimeError),
    "adaptive-wrong-ndim": (lambda m, x: m.adaptive_avg_pool2d(x[0, 0], 2), RuntimeError),
    "adaptive-negative-size": (lambda m, x: m.adaptive_avg_pool2d(x, -1), RuntimeError),
    "adaptive-max-negative-size": (lambda m, x: m.adaptive_max_pool2d(x, (-1, 2)), RuntimeError),
    "adaptive1d-two-sizes": (lambda m, x: m.adaptive_avg_pool1d(x[0], (2, 2)), RuntimeError),
    "interpolate-negative-size": (lambda m, x: m.interpolate(x, size=-1), RuntimeError),
    "interpolate-zero-size": (lambda m, x: m.interpolate(x, size=(0, 2)), RuntimeError),
    "interpolate-size-length": (lambda m, x: m.interpolate(x, size=(2,)), ValueError),
    "interpolate-no-size": (lambda m, x: m.interpolate(x), ValueError),
    "interpolate-both": (lambda m, x: m.interpolate(x, size=2, scale_factor=2.0), ValueError),
    "interpolate-corners-nearest": (lambda m, x: m.interpolate(x, size=2, align_corners=True),
                                    ValueError),
    "interpolate-linear-4d": (lambda m, x: m.interpolate(x, size=2, mode="linear"),
                              NotImplementedError),
    "interpolate-wrong-ndim": (lambda m, x: m.interpolate(x[0, 0, 0], size=2), NotImplementedError),
    "interpolate-bicubic-3d": (lambda m, x: m.interpolate(x[0], size=2, mode="bicubic"),
                               NotImplementedError),
    "interpolate-bicubic-int": (lambda m, x: m.interpolate(x.long(), size=2, mode="bicubic"),
                                NotImplementedError),
    "max_pool1d-int": (lambda m, x: m.max_pool1d(x[0].long(), 2), NotImplementedError),
    "adaptive-max-int": (lambda m, x: m.adaptive_max_pool2d(x.long(), 2), NotImplementedError),
    "interpolate-int": (lambda m, x: m.interpolate(x.long(), size=2), NotImplementedError),
    "avg-pool-bool": (lambda m, x: m.avg_pool2d(x.bool(), 2), NotImplementedError),
    "shuffle-channels": (lambda m, x: m.pixel_shuffle(x, 3), RuntimeError),
    "shuffle-zero-factor": (lambda m, x: m.pixel_shuffle(x, 0), RuntimeError),
    "shuffle-ndim": (lambda m, x: m.pixel_shuffle(x[0, 0], 2), RuntimeError),
    "unshuffle-height": (lambda m, x: m.pixel_unshuffle(x, 3), RuntimeError),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_raises_like_torch(case):
    """Each case takes the functional module and a (1, 1, 4, 4) input of one library."""
    fn, error = BAD[case]
    with pytest.raises(error):
        fn(TF, torch.zeros(1, 1, 4, 4))
    with pytest.raises(error):
        fn(F, framework.zeros(1, 1, 4, 4))


def test_bad_input_messages_name_the_op():
    x = framework.zeros(1, 1, 4, 4)
    with pytest.raises(RuntimeError, match="max_pool2d"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(RuntimeError, match="adaptive_avg_pool2d"):
        F.adaptive_avg_pool2d(x, -1)
    with pytest.raises(RuntimeError, match="interpolate"):
        F.interpolate(x, size=-1)
    with pytest.raises(NotImplementedError, match="avg_pool2d"):
        F.avg_pool2d(framework.zeros(1, 1, 4, 4, dtype=framework.int32), 2)
    with pytest.raises(TypeError, match="max_pool2d"):
        F.max_pool2d([[1.0]], 2)


@pytest.mark.parametrize("shape, kwargs", [((1, 2, 6, 9), dict(size=(3, 4))),
                                           ((2, 1, 5, 5), dict(scale_factor=0.5)),
                                           ((1, 2, 4, 4), dict(size=(8, 6))),
                                           ((2, 3, 7), dict(size=3))])
def test_interpolate_area_is_adaptive_average_pooling(device, shape, kwargs):
    run("interpolate", _normal(*shape), device, mode="area", **kwargs)


def test_interpolate_area_bad_input(device):
    x = framework.ones(1, 1, 2, 2, 2, device=device)
    with pytest.raises(NotImplementedError, match="area"):
        F.interpolate(x, size=(1, 1, 1), mode="area")
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(framework.ones(1, 1, 4, 4, device=device), size=2, mode="area",
                      align_corners=True)
