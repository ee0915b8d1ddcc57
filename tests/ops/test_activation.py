"""Activations against PyTorch (float64 oracle) on cpu and cuda (Triton interpreter).

gelu (both forms), silu and softplus (one kernel each, backward by the fused
``activation_backward`` kernel, framework ops under ``create_graph``) run over every float dtype, non-contiguous, edge-shaped and special
values, with second derivatives and bad input. Each parameterized op runs through ``check_op`` (forward and input gradient, which takes the
fused backward kernel) over every float dtype, non-contiguous and size-0/1
inputs, with values placed on the kinks (0, +-3, the hardtanh bounds) where
PyTorch's one-sided derivative choices matter. Second derivatives (the
framework-op backward), in-place forms, glu/prelu and bad input have their own tests.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework
import framework.nn.functional as F
from framework._backends import for_device
from framework.autograd import gradgradcheck
from helpers import assert_close, check_op, make_input

RNG = np.random.default_rng(0)
FLOATS = [framework.float32, framework.float64, framework.float16, framework.bfloat16]

# name -> (framework fn, torch fn): the fused activations with non-default parameters
OPS = {
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    "elu": (lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7)),
    "selu": (F.selu, TF.selu),
    "celu": (lambda x: F.celu(x, 0.5), lambda x: TF.celu(x, 0.5)),
    "hardtanh": (lambda x: F.hardtanh(x, -2.0, 2.5), lambda x: TF.hardtanh(x, -2.0, 2.5)),
    "relu6": (F.relu6, TF.relu6),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid),
    "hardswish": (F.hardswish, TF.hardswish),
    "mish": (F.mish, TF.mish),
    "softsign": (F.softsign, TF.softsign),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid),
}
KINKS = [0.0, -3.0, 3.0, -2.0, 2.5, 6.0, 30.0, -30.0]


def _data(*shape):
    """Normal values scaled by 3, with the kinks of every op at the front."""
    x = np.asarray(RNG.standard_normal(shape) * 3)
    flat = x.reshape(-1)
    k = min(len(KINKS), flat.size)
    flat[:k] = KINKS[:k]
    return x


# gelu / silu / softplus ------------------------------------------------------------------------
UNARY = {
    "gelu": (F.gelu, TF.gelu),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    "silu": (F.silu, TF.silu),
    "softplus": (F.softplus, TF.softplus),
    "softplus_beta": (lambda x: F.softplus(x, beta=2.0, threshold=1.5),
                      lambda x: TF.softplus(x, beta=2.0, threshold=1.5)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", FLOATS)
def test_unary_activation(device, name, dtype):
    fw, tf = UNARY[name]
    (out,) = check_op(fw, tf, [RNG.standard_normal((4, 5))], device=device, dtype=dtype,
                      contiguous=dtype is not framework.float64)
    assert out.dtype is dtype


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_activation_edge_shapes_and_special_values(device, name):
    fw, tf = UNARY[name]
    for shape in [(0,), (2, 0, 3), (1,), (1, 1, 3), ()]:
        (out,) = check_op(fw, tf, [RNG.standard_normal(shape)], device=device)
        assert tuple(out.shape) == shape
    values = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 88.0, -88.0, 0.5, -0.5,
                       1.5, 2.5, -2.5, 1e-4, -1e-4, 40.0, -40.0])
    for dtype in (framework.float32, framework.float64):
        check_op(fw, tf, [values], device=device, dtype=dtype, grad=False)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_activation_double_backward(device, name):
    fw, _ = UNARY[name]
    x = make_input(RNG.standard_normal(4), framework.float64, device, requires_grad=True)
    assert gradgradcheck(fw, (x,))


# op -> (the activation_backward op, p0, p1, PyTorch's node name)
UNARY_BACKWARD = {
    "gelu": ("gelu", 0.0, 0.0, "GeluBackward0"),
    "gelu_tanh": ("gelu_tanh", 0.0, 0.0, "GeluBackward0"),
    "silu": ("silu", 0.0, 0.0, "SiluBackward0"),
    "softplus": ("softplus", 1.0, 20.0, "SoftplusBackward0"),
    "softplus_beta": ("softplus", 2.0, 1.5, "SoftplusBackward0"),
}


@pytest.fixture
def backward_calls(device, monkeypatch):
    """The ``(op, p0, p1)`` of every ``activation_backward`` call on ``device``."""
    backend = for_device(framework.device(device))
    calls = []
    original = backend.activation_backward

    def spy(grad, x, op, p0, p1):
        calls.append((op, p0, p1))
        return original(grad, x, op, p0, p1)

    monkeypatch.setattr(backend, "activation_backward", spy)
    return calls


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_activation_backward_is_the_fused_kernel(device, name, backward_calls):
    fw, tf = UNARY[name]
    op, p0, p1, node = UNARY_BACKWARD[name]
    data = _data(3, 4)
    x = make_input(data, framework.float32, device, requires_grad=True)
    y = fw(x)
    assert type(y.grad_fn).__name__ == node
    y.backward(framework.ones_like(y))
    assert backward_calls == [(op, p0, p1)]
    tx = torch.tensor(data, requires_grad=True)
    tf(tx).sum().backward()
    assert_close(x.grad, tx.grad, 1e-6, 1e-5)
    # a recorded backward (create_graph) is framework ops, not the kernel
    backward_calls.clear()
    framework.autograd.grad(fw(x).sum(), x, create_graph=True)
    assert backward_calls == []


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_activation_gradient_at_special_values(device, name):
    fw, tf = UNARY[name]
    values = np.array([np.nan, 0.0, -0.0, 1e-30, 88.0, -88.0, 0.75, 1.5, -2.5, 10.0, 40.0, -40.0])
    for dtype in (framework.float32, framework.float64):
        x = make_input(values, dtype, device, requires_grad=True)
        fw(x).sum().backward()
        tx = torch.tensor(values, dtype=getattr(torch, str(dtype).split(".")[-1]),
                          requires_grad=True)
        tf(tx).sum().backward()
        assert_close(x.grad, tx.grad, 1e-6, 1e-5)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_activation_second_derivative_matches_torch(device, name):
    fw_fn, torch_fn = UNARY[name]
    data = RNG.standard_normal(5)
    x = framework.tensor(data, dtype=framework.float64, device=device, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    (g,) = framework.autograd.grad(fw_fn(x).sum(), x, create_graph=True)
    (gg,) = framework.autograd.grad(g.sum(), x)
    (tg,) = torch.autograd.grad(torch_fn(tx).sum(), tx, create_graph=True)
    (tgg,) = torch.autograd.grad(tg.sum(), tx)
    assert_close(g, tg, 1e-10, 1e-9)
    assert_close(gg, tgg, 1e-10, 1e-9)


def test_unary_activation_bad_input(device):
    i = framework.tensor([1, 2], device=device)
    x = framework.tensor([1.0, 2.0], device=device)
    with pytest.raises(RuntimeError, match="gelu\\(\\)"):
        F.gelu(i)
    with pytest.raises(RuntimeError, match="gelu\\(\\): approximate"):
        F.gelu(x, approximate="fast")
    with pytest.raises(TypeError, match="softplus\\(\\)"):
        F.softplus(x, beta="1")
    with pytest.raises(TypeError, match="silu\\(\\): argument 'input'"):
        F.silu([1.0])


# Parameterized activations -------------------------------------------------------------------
@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("dtype", FLOATS)
def test_activation(device, op, dtype):
    fw, tf = OPS[op]
    check_op(fw, tf, [_data(3, 5)], device=device, dtype=dtype)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("shape,contiguous", [((2, 3, 4), False), ((0, 3), True), ((1,), False),
                                              ((), True)])
def test_activation_shapes(device, op, shape, contiguous):
    fw, tf = OPS[op]
    check_op(fw, tf, [_data(*shape)], device=device, dtype=framework.float64,
             contiguous=contiguous)


def test_default_parameters(device):
    x = [_data(2, 5)]
    for fw, tf in ((F.leaky_relu, TF.leaky_relu), (F.elu, TF.elu), (F.celu, TF.celu),
                   (F.hardtanh, TF.hardtanh), (F.gelu, TF.gelu), (F.softplus, TF.softplus),
                   (F.silu, TF.silu)):
        check_op(fw, tf, x, device=device, dtype=framework.float64)
    check_op(lambda t: F.gelu(t, approximate="tanh"), lambda t: TF.gelu(t, approximate="tanh"),
             x, device=device, dtype=framework.float64)
    check_op(framework.selu, torch.selu, x, device=device)
    check_op(lambda t: framework.celu(t, 2.0), lambda t: torch.celu(t, 2.0), x, device=device)


@pytest.mark.parametrize("op", sorted(OPS))
def test_second_derivative(op):
    fw, _ = OPS[op]
    x = RNG.uniform(0.2, 2.5, (2, 3)) * RNG.choice([-1.0, 1.0], (2, 3))  # away from the kinks
    assert gradgradcheck(fw, (make_input(x, framework.float64, "cpu", requires_grad=True),))


@pytest.mark.parametrize("op", ["mish", "elu", "logsigmoid"])
def test_second_derivative_cuda(op):
    fw, _ = OPS[op]
    x = RNG.uniform(0.2, 2.5, (3,)) * np.array([-1.0, 1.0, -1.0])
    assert gradgradcheck(fw, (make_input(x, framework.float64, "cuda", requires_grad=True),))


# in-place forms ---------------------------------------------------------------------------------
INPLACE = {
    "relu_": (F.relu_, TF.relu_),
    "leaky_relu_": (lambda x: F.leaky_relu_(x, 0.3), lambda x: TF.leaky_relu_(x, 0.3)),
    "elu_": (lambda x: F.elu_(x, 0.5), lambda x: TF.elu_(x, 0.5)),
    "hardtanh_": (lambda x: F.hardtanh_(x, -0.5, 0.5), lambda x: TF.hardtanh_(x, -0.5, 0.5)),
    "selu_": (F.selu_, torch.selu_),
    "celu_": (lambda x: F.celu_(x, 0.5), lambda x: torch.celu_(x, 0.5)),
    "relu6-inplace": (lambda x: F.relu6(x, inplace=True), lambda x: TF.relu6(x, inplace=True)),
    "mish-inplace": (lambda x: F.mish(x, inplace=True), lambda x: TF.mish(x, inplace=True)),
    "hardswish-inplace": (lambda x: F.hardswish(x, inplace=True),
                          lambda x: TF.hardswish(x, inplace=True)),
    "silu-inplace": (lambda x: F.silu(x, inplace=True), lambda x: TF.silu(x, inplace=True)),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_forms(device, name):
    """The result is written into the input (same tensor returned); gradients flow through it."""
    fw, tf = INPLACE[name]
    x = _data(2, 4)
    check_op(lambda t: fw(t * 1.0), lambda t: tf(t * 1.0), [x], device=device,
             dtype=framework.float64)
    t = make_input(x, framework.float32, device)
    assert fw(t) is t
    expected = tf(torch.tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(t.cpu().numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_inplace_on_leaf_requiring_grad_raises(device):
    x = make_input(_data(3), framework.float32, device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaky_relu_.*leaf"):
        F.leaky_relu_(x)


# glu / prelu ----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,dim,contiguous", [((4, 6), -1, True), ((2, 4, 3), 1, False),
                                                  ((0, 2), 1, True), ((2,), 0, False)])
@pytest.mark.parametrize("dtype", [framework.float64, framework.float16])
def test_glu(device, shape, dim, contiguous, dtype):
    check_op(lambda x: F.glu(x, dim), lambda x: TF.glu(x, dim), [_data(*shape)], device=device,
             dtype=dtype, contiguous=contiguous)


@pytest.mark.parametrize("shape,channels,contiguous", [((2, 3, 4), 3, False), ((2, 3), 1, True),
                                                       ((4, 3), 3, True), ((5,), 1, False),
                                                       ((0, 3, 2), 3, True)])
@pytest.mark.parametrize("dtype", [framework.float64, framework.bfloat16])
def test_prelu(device, shape, channels, contiguous, dtype):
    weight = RNG.uniform(0.1, 0.5, channels)
    check_op(F.prelu, TF.prelu, [_data(*shape), weight], device=device, dtype=dtype,
             contiguous=contiguous)
    check_op(lambda x, w: x.prelu(w), lambda x, w: x.prelu(w), [_data(*shape), weight],
             device=device, dtype=dtype, contiguous=contiguous)


# bad input ---------------------------------------------------------------------------------------
def test_bad_input_raises_like_torch(device):
    x = framework.tensor(_data(2, 3), device=device)
    with pytest.raises(RuntimeError, match="glu.*Halving dimension must be even"):
        F.glu(x, 1)
    with pytest.raises(RuntimeError, match="prelu.*Mismatch of parameter numbers"):
        F.prelu(x, framework.ones(2, device=device))
    with pytest.raises(RuntimeError, match="prelu.*channel size = 1"):
        F.prelu(framework.ones(3, device=device), framework.ones(3, device=device))
    with pytest.raises(RuntimeError, match="prelu.*scalar or 1D"):
        F.prelu(x, framework.ones(1, 3, device=device))
    with pytest.raises(RuntimeError, match="leaky_relu.*floating point"):
        F.leaky_relu(framework.tensor([1, 2], device=device))
    with pytest.raises(TypeError, match="elu.*alpha"):
        F.elu(x, "1")
    with pytest.raises(TypeError, match="mish.*input"):
        F.mish([1.0, 2.0])
    with pytest.raises(ValueError, match="hardtanh.*min_val cannot be greater"):
        F.hardtanh(x, 1.0, -1.0)
    # PyTorch raises the same error types for these inputs
    with pytest.raises(RuntimeError):
        TF.glu(torch.zeros(2, 3), 1)
    with pytest.raises(RuntimeError):
        TF.prelu(torch.zeros(2, 3), torch.ones(2))
    with pytest.raises(RuntimeError):
        TF.prelu(torch.zeros(3), torch.ones(3))
    with pytest.raises(ValueError):
        TF.hardtanh(torch.zeros(2), 1.0, -1.0)


# --- compositions: softmin, threshold, hardshrink, softshrink -----------------------------------
@pytest.mark.parametrize("name,args", [("softmin", (1,)), ("threshold", (0.3, -2.0)),
                                       ("hardshrink", (0.4,)), ("softshrink", (0.4,))])
def test_shrink_threshold_softmin_match_torch(device, name, args):
    x = RNG.standard_normal((3, 5))
    check_op(lambda t: getattr(F, name)(t, *args), lambda t: getattr(TF, name)(t, *args), [x],
             device=device)


def test_threshold_inplace_and_softshrink_bad_lambda():
    x = framework.tensor([-1.0, 0.5, 2.0])
    F.threshold(x, 0.6, 9.0, inplace=True)
    assert x.tolist() == [9.0, 9.0, 2.0]
    with pytest.raises(RuntimeError, match="lambda must be greater or equal to 0"):
        F.softshrink(framework.ones(2), -1.0)


def test_gelu_tanh_gradient_is_accurate_in_the_tails(device):
    """float32 ``0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) u'`` cancels for |x| ~ 3..10 (an error
    of ~1e-6 against a derivative of ~1e-7); the kernels compute it by sigmoids of 2u."""
    values = np.concatenate([np.linspace(-10.0, -2.5, 61), np.linspace(2.5, 10.0, 61)])
    x = make_input(values, framework.float32, device, requires_grad=True)
    F.gelu(x, approximate="tanh").sum().backward()
    tx = torch.tensor(values.astype(np.float32).astype(np.float64), requires_grad=True)
    TF.gelu(tx, approximate="tanh").sum().backward()
    assert_close(x.grad, tx.grad, 2e-8, 1e-5, "gradient")
