"""In-place Tensor methods: each equals its out-of-place op, bumps the version counter (so a
backward that saved the old value raises), and records its gradient like PyTorch's.

Runs on cpu and cuda (Triton interpreter) with tiny shapes.
"""
import numpy as np
import pytest
import torch

import framework

RNG = np.random.default_rng(0)


def _positive():
    return RNG.uniform(0.2, 0.9, (2, 3))


def _other():
    return RNG.uniform(0.5, 1.5, (2, 3))


# name -> (extra positional args as arrays/numbers, kwargs, the out-of-place function name)
UNARY = ["neg", "abs", "exp", "log", "sqrt", "sigmoid", "tanh", "relu", "floor", "ceil",
         "round", "trunc", "reciprocal", "square", "sign", "sin", "cos", "tan", "log1p",
         "expm1", "log2", "log10", "exp2", "rsqrt", "frac", "negative", "absolute"]
BINARY = ["add", "sub", "mul", "div", "pow", "remainder", "fmod", "atan2", "multiply",
          "subtract", "divide", "true_divide", "floor_divide"]
OTHERS = {
    "clamp_": ((0.3, 0.6), {}, "clamp"),
    "clip_": ((0.3, 0.6), {}, "clip"),
    "clamp_min_": ((0.5,), {}, "clamp_min"),
    "clamp_max_": ((0.5,), {}, "clamp_max"),
    "lerp_": ((_other(), 0.3), {}, "lerp"),
    "addcmul_": ((_other(), _other()), {"value": 0.5}, "addcmul"),
    "addcdiv_": ((_other(), _other()), {"value": 2.0}, "addcdiv"),
    "add_alpha": ((_other(),), {"alpha": 3.0}, "add"),
    "sub_alpha": ((_other(),), {"alpha": 0.5}, "sub"),
}
CASES = {f"{n}_": ((), {}, n) for n in UNARY}
CASES.update({f"{n}_": ((_other(),), {}, n) for n in BINARY})
CASES.update(OTHERS)


def _method(name: str) -> str:
    return name.replace("_alpha", "_")


def _args(args, device):
    return [framework.tensor(a, dtype=framework.float32, device=device)
            if isinstance(a, np.ndarray) else a for a in args]


@pytest.mark.parametrize("name", sorted(CASES))
def test_inplace_matches_out_of_place_and_bumps_version(device, name):
    args, kwargs, reference = CASES[name]
    data = _positive()
    x = framework.tensor(data, dtype=framework.float32, device=device)
    expected = getattr(framework.Tensor, reference)(x, *_args(args, device), **kwargs)
    version = x._version
    out = getattr(x, _method(name))(*_args(args, device), **kwargs)
    assert out is x
    assert x._version > version
    np.testing.assert_allclose(x.cpu().numpy(), expected.cpu().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(CASES))
def test_inplace_on_a_saved_tensor_raises_at_backward(device, name):
    args, kwargs, _ = CASES[name]
    a = framework.tensor(_positive(), dtype=framework.float32, device=device, requires_grad=True)
    b = a * 1.0
    c = b * b  # saves b
    getattr(b, _method(name))(*_args(args, device), **kwargs)
    with pytest.raises(RuntimeError, match="inplace operation"):
        c.sum().backward()


@pytest.mark.parametrize("name", ["exp_", "mul_", "addcdiv_", "lerp_", "clamp_", "sqrt_", "pow_"])
def test_inplace_gradient_matches_torch(device, name):
    args, kwargs, _ = CASES[name]
    data = _positive()
    a = framework.tensor(data, dtype=framework.float32, device=device, requires_grad=True)
    ta = torch.tensor(data, requires_grad=True)
    b, tb = a * 2.0, ta * 2.0
    getattr(b, _method(name))(*_args(args, device), **kwargs)
    torch_args = [torch.tensor(framework.tensor(x, dtype=framework.float32).numpy()
                               .astype(np.float64)) if isinstance(x, np.ndarray) else x
                  for x in args]
    getattr(tb, _method(name))(*torch_args, **kwargs)
    g = RNG.standard_normal((2, 3))
    b.backward(framework.tensor(g, dtype=framework.float32, device=device))
    tb.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.cpu().numpy(), ta.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_torch_has_every_tested_inplace_method():
    for name in CASES:
        assert hasattr(torch.Tensor, _method(name)), name


def test_inplace_rejects_a_result_type_it_cannot_hold(device):
    x = framework.tensor([1, 2, 3], device=device)
    with pytest.raises(RuntimeError, match="can't be cast"):
        x.sqrt_()
    with pytest.raises(RuntimeError, match="can't be cast"):
        torch.tensor([1, 2, 3]).sqrt_()
