"""conv family (conv1d/2d, conv_transpose1d/2d, unfold/fold) against PyTorch on cpu and cuda."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close, check_op, make_input
from hypothesis import given, settings
from hypothesis import strategies as st

import framework
import framework.nn.functional as FF

RNG = np.random.default_rng(4321)
# PyTorch warns that 'same' padding with even kernels may copy the input; not our concern here.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def randn(*shape):
    return RNG.standard_normal(shape)


def _call(fn, kwargs, bias):
    """``fn(x, w[, b], **kwargs)`` as a two- or three-argument function for check_op."""
    if bias:
        return lambda x, w, b: fn(x, w, b, **kwargs)
    return lambda x, w: fn(x, w, **kwargs)


def _inputs(x_shape, w_shape, bias_size):
    arrays = [randn(*x_shape), randn(*w_shape)]
    return arrays + [randn(bias_size)] if bias_size else arrays


# (input shape, weight shape, kwargs, bias): tiny shapes (the interpreter runs ~1.5 ms a program).
CONV2D_CASES = {
    "basic-bias": ((2, 3, 5, 5), (4, 3, 3, 3), {}, True),
    "stride-padding": ((2, 3, 5, 5), (4, 3, 3, 3), {"stride": 2, "padding": 1}, True),
    "pair-args": ((2, 3, 5, 6), (4, 3, 2, 3), {"stride": (1, 2), "padding": (1, 0),
                                               "dilation": (2, 1)}, False),
    "dilation": ((1, 2, 6, 6), (3, 2, 3, 3), {"dilation": 2, "padding": 2}, False),
    "same-odd": ((2, 3, 5, 5), (4, 3, 3, 3), {"padding": "same"}, True),
    "same-even-asymmetric": ((2, 3, 5, 5), (4, 3, 2, 4), {"padding": "same", "dilation": (1, 2)},
                             False),
    "valid": ((2, 3, 5, 4), (2, 3, 3, 2), {"padding": "valid"}, False),
    "groups": ((2, 4, 5, 5), (6, 2, 3, 3), {"groups": 2, "padding": 1}, True),
    "depthwise": ((2, 3, 5, 5), (6, 1, 3, 3), {"groups": 3, "stride": 2}, True),
    "batch1-1x1": ((1, 3, 4, 4), (5, 3, 1, 1), {}, True),
    "unbatched": ((3, 5, 5), (4, 3, 3, 3), {"padding": 1}, True),
    "stride-leaves-rows": ((2, 2, 6, 6), (3, 2, 3, 3), {"stride": 2}, False),
}


@pytest.mark.parametrize("case", list(CONV2D_CASES))
def test_conv2d(device, case):
    x_shape, w_shape, kwargs, bias = CONV2D_CASES[case]
    check_op(_call(FF.conv2d, kwargs, bias), _call(F.conv2d, kwargs, bias),
             _inputs(x_shape, w_shape, bias and w_shape[0]), device=device)


def test_conv2d_non_contiguous(device):
    kwargs = {"stride": (2, 1), "padding": 1, "groups": 2}
    check_op(_call(FF.conv2d, kwargs, True), _call(F.conv2d, kwargs, True),
             _inputs((2, 4, 5, 5), (4, 2, 3, 3), 4), device=device, contiguous=False)


def test_conv2d_channels_last_view(device):
    # An NHWC buffer seen as NCHW: any input strides reach the kernels without a copy.
    x = randn(2, 5, 5, 3)
    w = randn(4, 3, 3, 3)
    check_op(lambda x, w: FF.conv2d(x.permute(0, 3, 1, 2), w, padding=1),
             lambda x, w: F.conv2d(x.permute(0, 3, 1, 2), w, padding=1), [x, w], device=device)


def test_conv2d_multi_tile(device):
    # Bigger than one interpreter tile in every GEMM dim: 81 pixels, 70 channels, 72 taps
    # (forward 2x2 tiles and 2 K steps; input_grad 10 K steps; weight_grad 2x2 tiles over
    # 81 pixels).
    check_op(_call(FF.conv2d, {"padding": 1}, False), _call(F.conv2d, {"padding": 1}, False),
             _inputs((1, 8, 9, 9), (70, 8, 3, 3), 0), device=device, scale=72)


@st.composite
def conv_geometries(draw, max_size=7):
    """A small valid conv2d problem: shapes and stride/padding/dilation/groups."""
    groups = draw(st.integers(1, 3))
    c_g, co_g = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = tuple(max(draw(st.integers(1, max_size)), d * (k - 1) + 1 - 2 * p)
                 for k, d, p in zip(kernel, dilation, padding))
    x_shape = (draw(st.integers(1, 2)), c_g * groups) + size
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return x_shape, (co_g * groups, c_g) + kernel, kwargs


@pytest.mark.parametrize("device_name", ["cpu", "cuda"])
@settings(max_examples=6, deadline=None)
@given(case=conv_geometries(max_size=6), contiguous=st.booleans())
def test_hypothesis_conv2d(device_name, case, contiguous):
    x_shape, w_shape, kwargs = case
    check_op(_call(FF.conv2d, kwargs, True), _call(F.conv2d, kwargs, True),
             _inputs(x_shape, w_shape, w_shape[0]), device=device_name, contiguous=contiguous)


@pytest.mark.parametrize("device_name", ["cpu", "cuda"])
@settings(max_examples=6, deadline=None)
@given(case=conv_geometries(max_size=4), extra=st.integers(0, 2))
def test_hypothesis_conv_transpose2d(device_name, case, extra):
    x_shape, w_shape, kwargs = case
    # The same geometry read as a transposed convolution: weight (C_in, C_out/groups, KH, KW),
    # padding cut down so that the output is not empty.
    w_shape = (x_shape[1], w_shape[0] // kwargs["groups"]) + w_shape[2:]
    stride, dilation = kwargs["stride"], kwargs["dilation"]
    output_padding = tuple(min(extra, max(s, d) - 1) for s, d in zip(stride, dilation))
    full = [(i - 1) * s + d * (k - 1) + o for i, s, d, k, o in
            zip(x_shape[2:], stride, dilation, w_shape[2:], output_padding)]
    padding = tuple(min(p, f // 2) for p, f in zip(kwargs["padding"], full))
    kwargs = dict(kwargs, padding=padding, output_padding=output_padding)
    check_op(_call(FF.conv_transpose2d, kwargs, False), _call(F.conv_transpose2d, kwargs, False),
             _inputs(x_shape, w_shape, 0), device=device_name)


def test_groups_beyond_the_grid_limit_launch_in_chunks(monkeypatch):
    # More groups than CUDA's grid axis 1 allows run as several launches (limit lowered here).
    framework.zeros(1, device="cuda")  # start the cuda runtime before Triton is imported
    from framework._backends.triton import conv as triton_conv
    monkeypatch.setattr(triton_conv, "MAX_GRID_GROUPS", 2)
    kwargs = {"groups": 5, "padding": 1}
    check_op(_call(FF.conv2d, kwargs, False), _call(F.conv2d, kwargs, False),
             _inputs((1, 5, 3, 3), (10, 1, 3, 3), 0), device="cuda", contiguous=False)


def test_conv2d_zero_batch(device):
    check_op(_call(FF.conv2d, {"padding": 1}, True), _call(F.conv2d, {"padding": 1}, True),
             _inputs((0, 3, 4, 4), (2, 3, 3, 3), 2), device=device)


CONV1D_CASES = {
    "basic-bias": ((2, 3, 7), (4, 3, 3), {}, True),
    "stride-dilation-padding": ((2, 3, 9), (4, 3, 3), {"stride": 2, "dilation": 2, "padding": 1},
                                False),
    "same-even": ((2, 2, 6), (3, 2, 4), {"padding": "same"}, True),
    "depthwise": ((1, 4, 6), (4, 1, 3), {"groups": 4, "padding": "valid"}, False),
    "unbatched": ((3, 7), (2, 3, 2), {"stride": (3,)}, True),
}


@pytest.mark.parametrize("case", list(CONV1D_CASES))
def test_conv1d(device, case):
    x_shape, w_shape, kwargs, bias = CONV1D_CASES[case]
    check_op(_call(FF.conv1d, kwargs, bias), _call(F.conv1d, kwargs, bias),
             _inputs(x_shape, w_shape, bias and w_shape[0]), device=device)


def test_conv1d_non_contiguous(device):
    check_op(_call(FF.conv1d, {"padding": 1}, True), _call(F.conv1d, {"padding": 1}, True),
             _inputs((2, 3, 6), (2, 3, 3), 2), device=device, contiguous=False)


# (input shape, weight shape (C_in, C_out/groups, k...), kwargs, bias size)
CONV_T2D_CASES = {
    "basic-bias": ((2, 3, 4, 4), (3, 2, 3, 3), {}, 2),
    "stride-output-padding": ((2, 3, 3, 4), (3, 2, 3, 3), {"stride": 2, "padding": 1,
                                                           "output_padding": 1}, 2),
    "pairs": ((1, 2, 3, 3), (2, 3, 2, 3), {"stride": (2, 3), "padding": (0, 1),
                                           "output_padding": (1, 2)}, 0),
    "groups-dilation": ((2, 4, 3, 3), (4, 1, 3, 3), {"groups": 2, "dilation": 2,
                                                     "output_padding": 1}, 2),
    "unbatched": ((3, 3, 3), (3, 2, 2, 2), {"stride": 2}, 2),
    # 1x1 kernels, stride 1, output padding allowed by the dilation: the input gradient is a
    # 1x1 convolution whose output is cut to the input's size (found by hypothesis: cuda's
    # pointwise GEMM path ignored the size)
    "pointwise-output-padding": ((2, 3, 2, 3), (3, 2, 1, 1), {"dilation": (2, 2),
                                                             "output_padding": (1, 1)}, 2),
    "pointwise-one-axis": ((1, 1, 2, 1), (1, 1, 1, 1), {"dilation": (2, 1),
                                                       "output_padding": (1, 0)}, 0),
}


@pytest.mark.parametrize("case", list(CONV_T2D_CASES))
def test_conv_transpose2d(device, case):
    x_shape, w_shape, kwargs, bias = CONV_T2D_CASES[case]
    check_op(_call(FF.conv_transpose2d, kwargs, bias), _call(F.conv_transpose2d, kwargs, bias),
             _inputs(x_shape, w_shape, bias), device=device)


def test_conv_transpose2d_non_contiguous(device):
    kwargs = {"stride": 2, "output_padding": 1}
    check_op(_call(FF.conv_transpose2d, kwargs, True), _call(F.conv_transpose2d, kwargs, True),
             _inputs((2, 2, 3, 3), (2, 3, 2, 2), 3), device=device, contiguous=False)


@pytest.mark.parametrize("kwargs", [{}, {"stride": 3, "padding": 1, "output_padding": 2,
                                         "groups": 2, "dilation": 2}], ids=["plain", "all-args"])
def test_conv_transpose1d(device, kwargs):
    check_op(_call(FF.conv_transpose1d, kwargs, True), _call(F.conv_transpose1d, kwargs, True),
             _inputs((2, 4, 5), (4, 3, 3), 3 * kwargs.get("groups", 1)), device=device)


UNFOLD_CASES = {
    "basic": ((2, 3, 4, 5), {"kernel_size": 2}),
    "all-args": ((2, 2, 5, 6), {"kernel_size": (2, 3), "dilation": (1, 2), "padding": 1,
                                "stride": (2, 1)}),
    "unbatched": ((3, 4, 4), {"kernel_size": 3, "padding": 1, "stride": 2}),
}


@pytest.mark.parametrize("case", list(UNFOLD_CASES))
def test_unfold(device, case):
    shape, kwargs = UNFOLD_CASES[case]
    check_op(lambda x: FF.unfold(x, **kwargs), lambda x: F.unfold(x, **kwargs), [randn(*shape)],
             device=device)


def test_unfold_fold_many_programs(device):
    # Thousands of elements: several programs of the elementwise im2col/col2im kernels.
    kwargs = {"kernel_size": 3, "padding": 1, "stride": (1, 2)}
    check_op(lambda x: FF.unfold(x, **kwargs), lambda x: F.unfold(x, **kwargs),
             [randn(2, 4, 9, 9)], device=device)
    check_op(lambda x: FF.fold(x, (9, 9), **kwargs), lambda x: F.fold(x, (9, 9), **kwargs),
             [randn(2, 36, 45)], device=device)


def test_unfold_non_contiguous(device):
    check_op(lambda x: FF.unfold(x, 2, padding=1), lambda x: F.unfold(x, 2, padding=1),
             [randn(2, 3, 4, 4)], device=device, contiguous=False)


FOLD_CASES = {
    "basic": ((2, 12, 16), {"output_size": 5, "kernel_size": 2}),
    "overlap-all-args": ((2, 12, 18), {"output_size": (5, 6), "kernel_size": (2, 3),
                                       "padding": 1, "stride": (2, 1)}),
    "dilation": ((1, 8, 9), {"output_size": (5, 5), "kernel_size": 2, "dilation": 2}),
    "unbatched": ((12, 9), {"output_size": (4, 4), "kernel_size": 2, "padding": 1, "stride": 2}),
}


@pytest.mark.parametrize("case", list(FOLD_CASES))
def test_fold(device, case):
    shape, kwargs = FOLD_CASES[case]
    check_op(lambda x: FF.fold(x, **kwargs), lambda x: F.fold(x, **kwargs), [randn(*shape)],
             device=device)


def test_fold_non_contiguous(device):
    check_op(lambda x: FF.fold(x, (4, 4), 2), lambda x: F.fold(x, (4, 4), 2), [randn(2, 8, 9)],
             device=device, contiguous=False)


def test_unfold_matmul_is_conv(device):
    # im2col followed by a product is the convolution (the classic identity).
    x = framework.tensor(randn(2, 3, 5, 5), device=device)
    w = framework.tensor(randn(4, 3, 3, 3), device=device)
    cols = FF.unfold(x, 3, padding=1)
    via_unfold = (w.reshape((4, 27)) @ cols).reshape((2, 4, 5, 5))
    want = F.conv2d(torch.tensor(x.cpu().numpy()), torch.tensor(w.cpu().numpy()), padding=1)
    assert_close(via_unfold, want, 1e-9, 1e-7)


@pytest.mark.parametrize("dtype", [framework.float64, framework.float16, framework.bfloat16],
                         ids=str)
def test_conv2d_dtypes(device, dtype):
    # Half types: inputs rounded to the type, fp32 accumulation, one rounding of the result.
    kwargs = {"padding": 1, "groups": 1}
    check_op(_call(FF.conv2d, kwargs, True), _call(F.conv2d, kwargs, True),
             _inputs((2, 3, 4, 4), (4, 3, 3, 3), 4), device=device, dtype=dtype, scale=27)


@pytest.mark.parametrize("dtype", [framework.float64, framework.float16, framework.bfloat16],
                         ids=str)
def test_conv_transpose2d_and_fold_dtypes(device, dtype):
    check_op(_call(FF.conv_transpose2d, {"stride": 2}, False),
             _call(F.conv_transpose2d, {"stride": 2}, False), _inputs((1, 3, 3, 3), (3, 2, 2, 2), 0),
             device=device, dtype=dtype, scale=12)
    check_op(lambda x: FF.fold(x, 4, 2, padding=1), lambda x: F.fold(x, 4, 2, padding=1),
             [randn(1, 8, 25)], device=device, dtype=dtype, scale=4)


def test_conv_output_dtype_and_layout(device):
    for dtype in (framework.float16, framework.bfloat16, framework.float32, framework.float64):
        x = framework.randn(1, 2, 4, 4, dtype=dtype, device=device)
        w = framework.randn(3, 2, 3, 3, dtype=dtype, device=device)
        out = FF.conv2d(x, w, padding="same")
        assert out.dtype == dtype and out.is_contiguous() and tuple(out.shape) == (1, 3, 4, 4)


def test_conv2d_integer_on_cpu():
    # PyTorch convolves integer tensors on the CPU exactly (no cuda kernel for them).
    x = RNG.integers(-5, 5, (1, 2, 4, 4))
    w = RNG.integers(-3, 3, (3, 2, 2, 2))
    got = FF.conv2d(framework.tensor(x), framework.tensor(w), stride=2)
    want = F.conv2d(torch.tensor(x), torch.tensor(w), stride=2)
    assert got.dtype == framework.int64
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_conv2d_integer_on_cuda_is_not_implemented():
    x = framework.ones(1, 2, 4, 4, dtype=framework.int64, device="cuda")
    with pytest.raises(NotImplementedError, match="conv2d"):
        FF.conv2d(x, framework.ones(3, 2, 2, 2, dtype=framework.int64, device="cuda"))


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
def test_second_derivatives(device, op):
    # The backward is made of the three differentiable primitives: grad of grad matches PyTorch.
    kwargs = {"stride": 2, "padding": 1, "groups": 2}
    x_np, w_np = randn(1, 4, 4, 4), randn(4, 2, 3, 3)
    v_np = randn(*getattr(F, op)(torch.tensor(x_np), torch.tensor(w_np), **kwargs).shape)

    def second(lib, fn, tensor):
        x, w, v = (tensor(a) for a in (x_np, w_np, v_np))
        x.requires_grad_(True)
        w.requires_grad_(True)
        gx, gw = lib.autograd.grad([(fn(x, w, **kwargs) * v).sum()], [x, w], create_graph=True)
        return lib.autograd.grad([(gx * gx).sum() + (gw * gw).sum()], [x, w])

    got = second(framework, getattr(FF, op), lambda a: framework.tensor(a, device=device))
    want = second(torch, getattr(F, op), torch.tensor)
    for g, t in zip(got, want):
        assert_close(g, t, 1e-8, 1e-7, "second derivative")


def test_gradgradcheck_conv2d():
    # Finite differences of the double backward (cpu: many evaluations).
    x = make_input(randn(1, 2, 3, 3), framework.float64, "cpu", requires_grad=True)
    w = make_input(randn(2, 1, 2, 2), framework.float64, "cpu", requires_grad=True)
    assert framework.autograd.gradgradcheck(
        lambda a, b: FF.conv2d(a, b, stride=(2, 1), padding=1, groups=2), (x, w))


def test_gradgradcheck_unfold_fold():
    # Finite differences launch many kernels: cpu only; cuda is checked against PyTorch below.
    x = make_input(randn(1, 2, 3, 3), framework.float64, "cpu", requires_grad=True)
    assert framework.autograd.gradgradcheck(lambda t: FF.unfold(t, 2, padding=1) * 2, (x,))
    c = make_input(randn(1, 8, 4), framework.float64, "cpu", requires_grad=True)
    assert framework.autograd.gradgradcheck(lambda t: FF.fold(t, 3, 2), (c,))


@pytest.mark.parametrize("op,shape,args", [("unfold", (1, 2, 3, 3), (2,)),
                                           ("fold", (1, 8, 4), (3, 2))], ids=["unfold", "fold"])
def test_unfold_fold_backward_is_differentiable(device, op, shape, args):
    # d/dv <grad(op(x), x, v), u> = op(u): the backward (the other op) is itself differentiable.
    x_np = randn(*shape)
    v_np = randn(*getattr(F, op)(torch.tensor(x_np), *args).shape)
    u_np = randn(*shape)

    def grad_of_grad(lib, fn, tensor):
        x, v, u = (tensor(a) for a in (x_np, v_np, u_np))
        x.requires_grad_(True)
        v.requires_grad_(True)
        (gx,) = lib.autograd.grad([fn(x, *args)], [x], [v], create_graph=True)
        return lib.autograd.grad([(gx * u).sum()], [v])[0]

    got = grad_of_grad(framework, getattr(FF, op), lambda a: framework.tensor(a, device=device))
    assert_close(got, grad_of_grad(torch, getattr(F, op), torch.tensor), 1e-9, 1e-7)


def test_exported_names():
    assert framework.conv2d is FF.conv2d and framework.conv1d is FF.conv1d
    assert framework.conv_transpose1d is FF.conv_transpose1d
    assert framework.conv_transpose2d is FF.conv_transpose2d
    assert callable(FF.unfold) and callable(FF.fold)


def _t(*shape, dtype=framework.float32):
    return framework.zeros(*shape, dtype=dtype)


BAD_INPUTS = {
    "conv2d-rank": (lambda: FF.conv2d(_t(2, 3), _t(4, 3, 3, 3)), RuntimeError,
                    r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d"),
    "conv1d-rank": (lambda: FF.conv1d(_t(2, 3, 5, 5), _t(4, 3, 3)), RuntimeError,
                    r"Expected 2D \(unbatched\) or 3D \(batched\) input to conv1d"),
    "weight-rank": (lambda: FF.conv1d(_t(2, 3, 5), _t(4, 3, 3, 3)), RuntimeError,
                    "conv1d.*4-dimensional weight"),
    "channel-mismatch": (lambda: FF.conv2d(_t(2, 3, 5, 5), _t(4, 2, 3, 3)), RuntimeError,
                         r"conv2d.*expected input\[2, 3, 5, 5\] to have 2 channels, but got 3"),
    "groups-not-dividing": (lambda: FF.conv2d(_t(2, 4, 5, 5), _t(3, 2, 3, 3), groups=2),
                            RuntimeError, "conv2d.*expected weight to be divisible by 2"),
    "groups-channels": (lambda: FF.conv2d(_t(2, 3, 5, 5), _t(4, 1, 3, 3), groups=2), RuntimeError,
                        "conv2d.*to have 2 channels, but got 3 channels"),
    "groups-zero": (lambda: FF.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), groups=0), RuntimeError,
                    "conv2d.*non-positive groups"),
    "stride-zero": (lambda: FF.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), stride=0), RuntimeError,
                    "conv2d.*non-positive stride"),
    "negative-padding": (lambda: FF.conv1d(_t(2, 3, 5), _t(4, 3, 3), padding=-1), RuntimeError,
                         "conv1d.*negative padding"),
    "stride-length": (lambda: FF.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), stride=(1, 1, 1)),
                      RuntimeError, "conv2d.*stride to be a single integer value or a list of 2"),
    "same-strided": (lambda: FF.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), padding="same", stride=2),
                     RuntimeError, "conv2d.*padding='same' is not supported for strided"),
    "padding-string": (lambda: FF.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), padding="full"),
                       RuntimeError, "conv2d.*Invalid padding string: 'full'"),
    "kernel-too-big": (lambda: FF.conv2d(_t(2, 3, 2, 2), _t(4, 3, 3, 3)), RuntimeError,
                       r"conv2d.*Kernel size can't be greater than actual input size"),
    "bias-size": (lambda: FF.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), _t(3)), RuntimeError,
                  "conv2d.*expected bias to be 1-dimensional with 4 elements"),
    "dtype-mismatch": (lambda: FF.conv2d(_t(2, 3, 5, 5, dtype=framework.float64), _t(4, 3, 3, 3)),
                       RuntimeError, "conv2d.*expected scalar type Double but found Float"),
    "not-a-tensor": (lambda: FF.conv2d(np.zeros((2, 3, 5, 5)), _t(4, 3, 3, 3)), TypeError,
                     "conv2d.*'input' must be Tensor"),
    "transpose-channels": (lambda: FF.conv_transpose2d(_t(2, 3, 5, 5), _t(4, 2, 3, 3)),
                           RuntimeError, "conv_transpose2d.*transposed=1.*to have 4 channels"),
    "transpose-output-padding": (lambda: FF.conv_transpose2d(_t(2, 3, 5, 5), _t(3, 2, 3, 3),
                                                             stride=2, output_padding=2),
                                 RuntimeError, "conv_transpose2d.*output padding must be smaller"),
    "transpose-padding-string": (lambda: FF.conv_transpose1d(_t(2, 3, 5), _t(3, 2, 3),
                                                             padding="same"),
                                 TypeError, "conv_transpose1d.*'padding' must be tuple of ints"),
    "transpose-rank": (lambda: FF.conv_transpose2d(_t(2, 3), _t(3, 2, 3, 3)), RuntimeError,
                       "Expected 3D .* input to conv_transpose2d"),
    "unfold-rank": (lambda: FF.unfold(_t(2, 3), 2), RuntimeError, "unfold.*Expected 3D or 4D"),
    "unfold-too-small": (lambda: FF.unfold(_t(1, 3, 2, 2), 3), RuntimeError,
                         "unfold.*sliding blocks .* must be at least one"),
    "unfold-kernel-zero": (lambda: FF.unfold(_t(1, 3, 4, 4), 0), RuntimeError,
                           "unfold.*kernel size should be greater than zero"),
    "unfold-integer": (lambda: FF.unfold(_t(1, 3, 4, 4, dtype=framework.int64), 2),
                       NotImplementedError, "unfold.*im2col.*'Long'"),
    "fold-rank": (lambda: FF.fold(_t(1, 1, 12, 16), 5, 2), RuntimeError,
                  "fold.*Expected 2D or 3D"),
    "fold-blocks": (lambda: FF.fold(_t(1, 12, 15), 5, 2), RuntimeError,
                    "fold.*calculated number of sliding blocks 4 \\* 4 = 16"),
    "fold-channels": (lambda: FF.fold(_t(1, 13, 16), 5, 2), RuntimeError,
                      "fold.*divisible by the product of kernel_size"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input(case):
    fn, error, message = BAD_INPUTS[case]
    with pytest.raises(error, match=message):
        fn()


def test_device_mismatch():
    with pytest.raises(RuntimeError, match="conv2d.*same device"):
        FF.conv2d(_t(1, 2, 3, 3), framework.zeros(1, 2, 3, 3, device="cuda"))
