"""Unary ops (framework/ops/unary.py) against PyTorch (float64 oracle) on cpu and cuda
(Triton interpreter).

Every op goes through ``check_op`` (forward and input gradient) in float32 with
non-contiguous inputs, and in float64, float16 and bfloat16; integer inputs keep their dtype
or give the default float. Special values (NaN, inf, signed zeros, ties, the ends of the
domain), relative accuracy near 0 and in the tails, gradients at kinks, second derivatives
and bad input have their own tests, as do the API surface shared by the three pointwise
modules (their ``TENSOR_METHODS``, error messages, fresh results, grad_fn names).
"""
import math

import numpy as np
import pytest
import torch
from helpers import assert_close, check_op, make_input, tolerance
from pointwise_cases import (BF16, BOOL, F16, F32, F64, I32, I64, INTEGER_DTYPES, RNG,
                             above_minus_one, above_one, away_from_zero, float_minus_as_triton_3_6,
                             halves, inside_unit, integer_values, integers, normal, positive,
                             small)

import framework
import framework.nn.functional as F
from framework.autograd import gradgradcheck
from framework.ops import binary, compare, unary

# --------------------------------------------------------------------------------------------
# Unary ops: name -> (framework fn, torch fn, data maker)
# --------------------------------------------------------------------------------------------
UNARY = {
    "neg": (framework.neg, torch.neg, normal),
    "negative": (framework.negative, torch.negative, normal),
    "abs": (framework.abs, torch.abs, normal),
    "absolute": (lambda x: x.absolute(), torch.absolute, normal),
    "exp": (framework.exp, torch.exp, normal),
    "exp2": (framework.exp2, torch.exp2, normal),
    "log": (framework.log, torch.log, positive),
    "log2": (framework.log2, torch.log2, positive),
    "log10": (framework.log10, torch.log10, positive),
    "log1p": (framework.log1p, torch.log1p, above_minus_one),
    "expm1": (framework.expm1, torch.expm1, normal),
    "sqrt": (framework.sqrt, torch.sqrt, positive),
    "rsqrt": (framework.rsqrt, torch.rsqrt, positive),
    "sin": (framework.sin, torch.sin, normal),
    "cos": (framework.cos, torch.cos, normal),
    "tan": (framework.tan, torch.tan, small),
    "tanh": (framework.tanh, torch.tanh, normal),
    "sigmoid": (framework.sigmoid, torch.sigmoid, normal),
    "relu": (framework.relu, torch.relu, normal),
    "sign": (framework.sign, torch.sign, normal),
    "floor": (framework.floor, torch.floor, normal),
    "ceil": (framework.ceil, torch.ceil, normal),
    "round": (framework.round, torch.round, halves),
    "round_decimals": (lambda x: framework.round(x, decimals=1),
                       lambda x: torch.round(x, decimals=1), normal),
    "trunc": (framework.trunc, torch.trunc, normal),
    "frac": (framework.frac, torch.frac, normal),
    "reciprocal": (framework.reciprocal, torch.reciprocal, away_from_zero),
    "square": (framework.square, torch.square, normal),
    "asin": (framework.asin, torch.asin, inside_unit),
    "acos": (framework.acos, torch.acos, inside_unit),
    "atan": (framework.atan, torch.atan, normal),
    "sinh": (framework.sinh, torch.sinh, normal),
    "cosh": (framework.cosh, torch.cosh, normal),
    "asinh": (framework.asinh, torch.asinh, normal),
    "acosh": (framework.acosh, torch.acosh, above_one),
    "atanh": (framework.atanh, torch.atanh, inside_unit),
    "arcsin": (lambda x: x.arcsin(), torch.arcsin, inside_unit),
    "arccos": (framework.arccos, torch.arccos, inside_unit),
    "arctan": (lambda x: x.arctan(), torch.arctan, normal),
    "arcsinh": (framework.arcsinh, torch.arcsinh, normal),
    "arccosh": (lambda x: x.arccosh(), torch.arccosh, above_one),
    "arctanh": (framework.arctanh, torch.arctanh, inside_unit),
    "erf": (framework.erf, torch.erf, normal),
    "erfc": (lambda x: x.erfc(), torch.erfc, normal),
    "erfinv": (framework.erfinv, torch.erfinv, inside_unit),
}


HALF_SUBSET = sorted(UNARY)  # every floating dtype for every unary op


F64_SUBSET = sorted(UNARY)


def run_unary(name, device, dtype=F32, shape=(4, 5), contiguous=True):
    fw_fn, torch_fn, make = UNARY[name]
    return check_op(fw_fn, torch_fn, [make(*shape)], device=device, dtype=dtype,
                    contiguous=contiguous)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float32(device, name):
    out = run_unary(name, device, contiguous=False)
    assert out[0].dtype is F32


@pytest.mark.parametrize("name", F64_SUBSET)
def test_unary_float64(device, name):
    run_unary(name, device, F64, shape=(3, 4))


@pytest.mark.parametrize("dtype", [F16, BF16], ids=["float16", "bfloat16"])
@pytest.mark.parametrize("name", HALF_SUBSET)
def test_unary_half(device, name, dtype):
    out = run_unary(name, device, dtype, shape=(3, 4))
    assert out[0].dtype is dtype


INT_UNARY = {
    "neg": (framework.neg, torch.neg), "abs": (framework.abs, torch.abs),
    "sign": (framework.sign, torch.sign), "floor": (framework.floor, torch.floor),
    "ceil": (framework.ceil, torch.ceil), "trunc": (framework.trunc, torch.trunc),
    "round": (framework.round, torch.round), "square": (framework.square, torch.square),
    "relu": (framework.relu, torch.relu),
}


@pytest.mark.parametrize("dtype", [I32, I64], ids=["int32", "int64"])
@pytest.mark.parametrize("name", sorted(INT_UNARY))
def test_unary_keeps_integer_dtype(device, name, dtype):
    fw_fn, torch_fn = INT_UNARY[name]
    (out,) = check_op(fw_fn, torch_fn, [integers(3, 4)], device=device, dtype=dtype)
    assert out.dtype is dtype


@pytest.mark.parametrize("name", ["exp", "sqrt", "sin", "sigmoid", "tanh", "log1p", "reciprocal",
                                  "rsqrt", "log10", "atan", "sinh", "asinh", "erf", "erfc"])
def test_float_math_on_integers_gives_default_float(device, name):
    fw_fn, torch_fn, _ = UNARY[name]
    atol, rtol = tolerance(F32)
    (out,) = check_op(fw_fn, torch_fn, [RNG.integers(1, 5, (2, 3))], device=device, dtype=I64,
                      atol=atol, rtol=rtol)
    assert out.dtype is framework.get_default_dtype()


def test_integer_inputs_follow_the_default_dtype(device):
    previous = framework.get_default_dtype()
    framework.set_default_dtype(F64)
    try:
        x = framework.tensor([1, 4, 9], device=device)
        assert framework.sqrt(x).dtype is F64 and (x / 2).dtype is F64
        assert (x + 0.5).dtype is F64 and framework.sigmoid(x).dtype is F64
    finally:
        framework.set_default_dtype(previous)


def test_multi_block_launches(device):
    """More elements than one program instance handles: partial last block, strided path."""
    check_op(framework.mul, torch.mul, [normal(3, 1100), normal(1100)], device=device,
             contiguous=False)
    run_unary("tanh", device, shape=(2100,))


def test_unary_edge_shapes(device):
    for shape in [(0,), (2, 0, 3), (1,), (1, 1, 3), ()]:
        for name in ("exp", "relu", "sign"):
            (out,) = run_unary(name, device, shape=shape)
            assert tuple(out.shape) == shape


def test_unary_special_values(device):
    values = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 88.0, -88.0, 0.5, -0.5,
                       1.5, 2.5, -2.5, 1e-4, -1e-4, 40.0, -40.0])
    names = ["exp", "expm1", "tanh", "sigmoid", "relu", "sign", "floor", "ceil", "round", "trunc",
             "abs", "square", "frac"]
    for dtype in (F32, F64):
        for name in names:
            fw_fn, torch_fn, _ = UNARY[name]
            check_op(fw_fn, torch_fn, [values], device=device, dtype=dtype, grad=False)
    for name in ("log", "log1p", "sqrt", "rsqrt", "log2", "reciprocal"):
        fw_fn, torch_fn, _ = UNARY[name]
        data = np.array([np.nan, np.inf, 0.0, -0.0, -1.0, 1e-30, 1e-4, 3.0, -1e-4])
        check_op(fw_fn, torch_fn, [data], device=device, dtype=F32, grad=False)


def test_small_arguments_are_accurate(device):
    """expm1/log1p/tanh near 0 keep full relative precision (no cancellation)."""
    data = np.array([1e-8, -3e-7, 2e-5, -1e-3, 0.3, -0.45])
    for name in ("expm1", "log1p", "tanh"):
        fw_fn, torch_fn, _ = UNARY[name]
        for dtype, rtol in ((F32, 5e-7), (F64, 1e-14)):
            check_op(fw_fn, torch_fn, [data], device=device, dtype=dtype, atol=0, rtol=rtol,
                     grad=False)



# --------------------------------------------------------------------------------------------
# Rounding and gradients at kinks
# --------------------------------------------------------------------------------------------
def test_round_half_to_even(device):
    data = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.4999, 2.5000001, 1e20, -1e20, 8388609.0])
    for dtype in (F32, F64, F16):
        values = data[:8] if dtype is F16 else data  # 1e20 overflows float16
        check_op(framework.round, torch.round, [values], device=device, dtype=dtype, atol=0, rtol=0)
    check_op(lambda t: framework.round(t, decimals=-1), lambda t: torch.round(t, decimals=-1),
             [np.array([15.0, 25.0, -35.0, 44.0])], device=device)


def test_round_decimals_of_halves_scales_in_float32(device):
    x = np.array([0.85009766, -0.85009766, 2.4501953])  # exact in float16
    check_op(lambda t: framework.round(t, decimals=1), lambda t: torch.round(t, decimals=1), [x],
             device=device, dtype=F16, grad=False, atol=0, rtol=1e-2)


def test_gradients_at_kinks(device):
    x = np.array([0.0, -1.0, 1.0, 0.0, 2.0])
    check_op(framework.relu, torch.relu, [x], device=device)
    check_op(framework.abs, torch.abs, [x], device=device)
    check_op(lambda t: framework.clamp(t, 0.0, 1.0), lambda t: torch.clamp(t, 0.0, 1.0), [x],
             device=device)
    check_op(lambda t: t.clamp_min(0.0), lambda t: t.clamp_min(0.0), [x], device=device)
    check_op(lambda t: t.clamp_max(1.0), lambda t: t.clamp_max(1.0), [x], device=device)



# --------------------------------------------------------------------------------------------
# Inverse trigonometric, hyperbolic and error functions
# --------------------------------------------------------------------------------------------
MATH_SPECIAL = {
    "asin": [np.nan, 1.0, -1.0, 1.5, -2.0, 0.0, -0.0, 1e-30, 0.999999, -0.5],
    "acos": [np.nan, 1.0, -1.0, 1.5, -2.0, 0.0, -0.0, 0.999999, -0.999999, 0.5],
    "atan": [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, 1e30, -1e30, 1.0, -0.7],
    "sinh": [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, 1e-5, 20.5, 88.0, -88.0, 89.0],
    "cosh": [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, 20.5, 88.0, -88.0, 89.0],
    "asinh": [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, 1e-5, 3e8, -3e8, 1e30],
    "acosh": [np.nan, np.inf, -np.inf, 0.0, 0.999, 1.0, 1.0 + 1e-6, 3e8, 1e30],
    "atanh": [np.nan, 1.0, -1.0, 1.5, -2.0, 0.0, -0.0, 1e-30, 1e-5, 0.999999, -0.999999],
    "erf": [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, 1e-5, 0.5, 3.0, -6.0, 30.0],
    "erfc": [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, 0.5, -0.5, 3.0, 5.0, 9.0, 26.0, -6.0],
    "erfinv": [np.nan, 1.0, -1.0, 1.5, -2.0, 0.0, -0.0, 1e-30, 1e-5, 0.999999, -0.9999],
}


MATH_SPECIAL_F64 = {"sinh": [90.0, 700.0, 710.0, -710.0], "cosh": [90.0, 700.0, 710.0, -710.0],
                    "asinh": [1e300, -1e300], "acosh": [1e300]}


@pytest.mark.parametrize("name", sorted(MATH_SPECIAL))
def test_math_special_values(device, name):
    """Infinities, NaN, the ends of the domain, tiny and huge arguments, as torch gives them
    (values beyond a dtype's range are left out by the rounding of the inputs)."""
    fw_fn, torch_fn, _ = UNARY[name]
    for dtype in (F32, F64):
        values = MATH_SPECIAL[name] + (MATH_SPECIAL_F64.get(name, []) if dtype is F64 else [])
        check_op(fw_fn, torch_fn, [np.array(values)], device=device, dtype=dtype, grad=False)


RELATIVE_ACCURACY = [
    ("asin", [1e-8, -3e-5, 0.3, 0.99999, -0.9999999]),
    ("acos", [0.99999, -0.9999, 0.3, 1e-8]),
    ("atan", [1e-8, -3e-5, 0.3, 50.0, -1e6]),
    ("sinh", [1e-8, -3e-5, 0.3, -3.0]),
    ("asinh", [1e-8, -3e-5, 0.3, -30.0]),
    ("acosh", [1.0 + 1e-6, 1.01, 30.0]),
    ("atanh", [1e-8, -3e-5, 0.3, 0.99999]),
    ("erf", [1e-8, -3e-5, 0.3, 0.6, -2.0]),
    ("erfc", [0.3, 2.0, 4.0, 6.0, 8.0, 9.5, -1.0]),
    ("erfinv", [1e-8, -3e-5, 0.3, 0.9, -0.999, 0.999999]),
]


@pytest.mark.parametrize("case", RELATIVE_ACCURACY, ids=lambda c: c[0])
def test_math_relative_accuracy(device, case):
    """Every element within a few float32 ulps (float64: 1e-10) of torch's float64 result,
    also near 0 and in the tails (erfc to 9.5: relative, not absolute, accuracy)."""
    name, values = case
    fw_fn, torch_fn, _ = UNARY[name]
    for dtype, rtol in ((F32, 1e-6), (F64, 1e-10)):
        check_op(fw_fn, torch_fn, [np.array(values)], device=device, dtype=dtype, atol=0,
                 rtol=rtol, grad=False)


def test_erfc_float32_relative_accuracy_over_its_range(device):
    """float32 erfc within 1e-6 relative of torch's float64 erfc on a dense grid of [-4, 9.2]
    (where the result is a normal float32). The cuda kernel takes its exponential in float64:
    the interpreter then computes what a GPU does (a compiled float32 tl.exp, ex2.approx, was
    1.3e-6 off at erfc(6) on an H200; tests/test_compile.py keeps it out of the PTX)."""
    x = np.linspace(-4.0, 9.2, 2048).astype(np.float32).astype(np.float64)
    check_op(framework.erfc, torch.erfc, [x], device=device, dtype=F32, atol=0, rtol=1e-6,
             grad=False)


def test_erfc_float64_tail(device):
    x = np.array([3.5, 5.0, 10.0, 20.0, 26.0])
    check_op(framework.erfc, torch.erfc, [x], device=device, dtype=F64, atol=0, rtol=1e-12,
             grad=False)


def test_math_inplace_and_method_forms(device):
    data = {"asin": inside_unit, "acos": inside_unit, "atan": normal, "sinh": normal,
            "cosh": normal, "asinh": normal, "acosh": above_one, "atanh": inside_unit,
            "erf": normal, "erfc": normal, "erfinv": inside_unit}
    aliases = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
               "arccosh": "acosh", "arctanh": "atanh"}
    for name in list(data) + list(aliases):
        values = data[aliases.get(name, name)](5)
        x = framework.tensor(values, device=device)
        expected = getattr(torch, name)(torch.tensor(values, dtype=torch.float32))
        assert_close(getattr(x, name)(), expected, *tolerance(F32))
        y = x.clone()
        assert getattr(y, name + "_")() is y
        assert_close(y, expected, *tolerance(F32))
    a, b = normal(4), away_from_zero(4)
    for name in ("copysign", "hypot"):
        x = framework.tensor(a, device=device)
        getattr(x, name + "_")(framework.tensor(b, device=device))
        assert_close(x, getattr(torch, name)(torch.tensor(a, dtype=torch.float32),
                                             torch.tensor(b, dtype=torch.float32)),
                     *tolerance(F32))
    i = framework.tensor([1, 2], device=device)
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.asin_()


def test_erfinv_inverts_erf(device):
    y = framework.tensor(np.linspace(-0.999, 0.999, 41), dtype=F64, device=device)
    assert_close(framework.erf(framework.erfinv(y)), torch.tensor(y.cpu().numpy()), 0, 1e-13)


def test_math_second_derivatives_match_torch(device):
    data = inside_unit(5)
    for name in ("asin", "atanh", "erfinv", "erf", "sinh", "atan"):
        x = framework.tensor(data, dtype=F64, device=device, requires_grad=True)
        tx = torch.tensor(data, requires_grad=True)
        (g,) = framework.autograd.grad(getattr(framework, name)(x).sum(), x, create_graph=True)
        (gg,) = framework.autograd.grad(g.sum(), x)
        (tg,) = torch.autograd.grad(getattr(torch, name)(tx).sum(), tx, create_graph=True)
        (tgg,) = torch.autograd.grad(tg.sum(), tx)
        assert_close(g, tg, 1e-10, 1e-9, f"{name}'")
        assert_close(gg, tgg, 1e-10, 1e-9, f"{name}''")



# --------------------------------------------------------------------------------------------
# bitwise_not on every integer dtype and bool; the special namespace
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", INTEGER_DTYPES + [BOOL], ids=str)
def test_bitwise_not(device, dtype):
    data = RNG.integers(0, 2, (3, 4)).astype(bool) if dtype is BOOL else integer_values(dtype, 3, 4)
    for fw_fn, torch_fn in ((framework.bitwise_not, torch.bitwise_not),
                            (lambda t: ~t, lambda t: ~t)):
        (out,) = check_op(fw_fn, torch_fn, [data], device=device, dtype=dtype, contiguous=False)
        assert out.dtype is dtype


def test_special_namespace_and_augmented_bitwise_assignment(device):
    x = framework.tensor(normal(5), device=device)
    tx = torch.tensor(x.cpu().numpy())
    for name in ("erf", "erfc", "expit", "exp2", "expm1"):
        assert_close(getattr(framework.special, name)(x), getattr(torch.special, name)(tx),
                     *tolerance(F32))
    y = framework.tensor([0.1, -0.5], device=device)
    assert_close(framework.special.erfinv(y), torch.special.erfinv(torch.tensor([0.1, -0.5])),
                 *tolerance(F32))
    i = framework.tensor([12, 5, -3], device=device)
    alias = i
    ti = torch.tensor([12, 5, -3])
    for update in (lambda t: t.__iand__(6), lambda t: t.__ior__(1), lambda t: t.__ixor__(3),
                   lambda t: t.__ilshift__(2), lambda t: t.__irshift__(1)):
        assert update(i) is alias  # in place, like torch's &= |= ^= <<= >>=
        update(ti)
        assert i.tolist() == ti.tolist()



# --------------------------------------------------------------------------------------------
# Second derivatives
# --------------------------------------------------------------------------------------------
SMOOTH = {
    "exp": framework.exp, "tanh": framework.tanh, "sigmoid": framework.sigmoid,
    "sin": framework.sin, "log1p": lambda x: framework.log1p(x * x),
    "rsqrt": lambda x: framework.rsqrt(x * x + 1), "pow": lambda x: (x * x + 1) ** 1.5,
    # inputs mapped inside the domain (|tanh(x) * 0.9| < 1): x is a normal draw of any size
    "asin": lambda x: framework.asin(framework.tanh(x)),
    "acos": lambda x: framework.acos(framework.tanh(x) * 0.9),
    "atan": framework.atan, "sinh": framework.sinh, "cosh": framework.cosh,
    "asinh": framework.asinh, "acosh": lambda x: framework.acosh(x * x + 1.5),
    "atanh": lambda x: framework.atanh(framework.tanh(x) * 0.9),
    "erf": framework.erf, "erfc": framework.erfc,
    "erfinv": lambda x: framework.erfinv(framework.tanh(x)),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_double_backward_unary(device, name):
    x = framework.tensor(normal(4), dtype=F64, device=device, requires_grad=True)
    assert gradgradcheck(SMOOTH[name], (x,))


def test_second_derivative_matches_torch(device):
    data = normal(5)
    x = framework.tensor(data, dtype=F64, device=device, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    for fw_fn, torch_fn in ((framework.tanh, torch.tanh), (framework.sigmoid, torch.sigmoid)):
        (g,) = framework.autograd.grad(fw_fn(x).sum(), x, create_graph=True)
        (gg,) = framework.autograd.grad(g.sum(), x)
        (tg,) = torch.autograd.grad(torch_fn(tx).sum(), tx, create_graph=True)
        (tgg,) = torch.autograd.grad(tg.sum(), tx)
        assert_close(g, tg, 1e-10, 1e-9)
        assert_close(gg, tgg, 1e-10, 1e-9)



# --------------------------------------------------------------------------------------------
# API surface and bad input
# --------------------------------------------------------------------------------------------
def test_every_declared_tensor_method_exists():
    for module in (unary, binary, compare):
        for name in module.TENSOR_METHODS:
            assert callable(getattr(module, name)), name
            assert name in module.__all__ and hasattr(framework, name), name
    for name in ("gelu", "silu", "softplus"):
        assert not hasattr(framework, name), name
    for name in ("relu", "gelu", "silu", "softplus", "sigmoid", "tanh"):
        assert callable(getattr(F, name))


@pytest.mark.parametrize("dtype", [F16, F32, F64])
def test_neg_of_zero_is_minus_zero(device, dtype):
    """neg(+0.0) is -0.0, also where Triton compiles a float ``-x`` as ``0 - x`` (Triton 3.6,
    the GPU machines'; emulated on the interpreter)."""
    x = np.array([0.0, -0.0, 1.5, -np.inf, -np.nan])

    def check():
        out = framework.neg(framework.tensor(x, dtype=dtype, device=device)).cpu().numpy()
        assert np.array_equal(np.signbit(out), np.signbit(-x))
        np.testing.assert_array_equal(out.astype(np.float64), -x)

    check()
    if device == "cuda" and framework.cuda.is_interpreter():
        with float_minus_as_triton_3_6():
            check()


@pytest.mark.parametrize("name", ["exp", "neg", "abs", "sqrt", "sigmoid", "relu", "sign",
                                  "floor", "logical_not", "isnan", "isinf", "frac", "square",
                                  "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
                                  "erf", "erfc", "erfinv"])
def test_unary_bad_input(name):
    with pytest.raises(TypeError, match=f"{name}\\(\\): argument 'input' must be Tensor"):
        getattr(framework, name)([1.0, 2.0])


def test_bad_dtypes_and_arguments(device):
    b = framework.tensor([True, False], device=device)
    i = framework.tensor([1, 2], device=device)
    x = framework.tensor([1.0, 2.0], device=device)
    cases = [
        (lambda: -b, RuntimeError, "neg\\(\\): Negation"),
        (lambda: b - b, RuntimeError, "sub\\(\\): Subtraction"),
        (lambda: framework.relu(b), RuntimeError, "relu\\(\\)"),
        (lambda: framework.frac(i), RuntimeError, "frac\\(\\)"),
        (lambda: framework.div(x, x, rounding_mode="round"), RuntimeError, "div\\(\\): expected rounding_mode"),
        (lambda: framework.add(i, i, alpha=0.5), RuntimeError, "add\\(\\): For integral input"),
        (lambda: framework.where(x, x, x), RuntimeError, "where\\(\\): expected condition to be a boolean"),
        (lambda: framework.where(b, x, "y"), TypeError, "where\\(\\): argument 'other'"),
        (lambda: framework.where(b, x, framework.ones(3, device=device)), RuntimeError, "where\\(\\)"),
        (lambda: framework.clamp(x), RuntimeError, "clamp\\(\\): At least one"),
        (lambda: framework.clamp(x, min="0"), TypeError, "clamp\\(\\): argument 'min'"),
        (lambda: framework.clamp(x, framework.ones(3, device=device)), RuntimeError, "clamp\\(\\)"),
        (lambda: framework.lerp(x, x.double(), 0.5), RuntimeError, "lerp\\(\\): expected dtype"),
        (lambda: framework.addcdiv(x, i, i), RuntimeError, "addcdiv\\(\\): Integer division"),
        (lambda: framework.isclose(x, i), RuntimeError, "isclose\\(\\)"),
        (lambda: framework.allclose(x, i), RuntimeError, "isclose\\(\\)"),
        (lambda: framework.equal(x, [1.0, 2.0]), TypeError, "equal\\(\\)"),
        (lambda: framework.round(x, decimals=1.5), TypeError, "round\\(\\)"),
        (lambda: x & x, NotImplementedError, "bitwise_and\\(\\): not implemented for "),
    ]
    for fn, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            fn()


def test_results_are_fresh_and_contiguous(device):
    base = framework.tensor(normal(4, 6), device=device)
    view = base.permute(1, 0)
    for out in (framework.exp(view), view + 1, framework.where(view > 0, view, 0.0),
                view.clamp(0, 1)):
        assert out.is_contiguous() and out._a.storage is not base._a.storage
        assert tuple(out.shape) == (6, 4)


def test_grad_fn_names():
    x = framework.tensor([1.0], requires_grad=True)
    assert framework.exp(x).grad_fn.name() == "ExpBackward0"
    assert (x * 2).grad_fn.name() == "MulBackward0"
    assert framework.where(x > 0, x, 0.0).grad_fn.name() == "WhereBackward0"
    assert math.isclose(framework.sigmoid(x).item(), 1 / (1 + math.exp(-1)), rel_tol=1e-6)


@pytest.mark.parametrize("dtype", [F32, BF16])
@pytest.mark.parametrize("n", [8, 5000])  # cpu: below and above NumPy's small-array select
def test_relu_backward_selects_like_threshold_backward(device, dtype, n):
    """relu's backward is one kernel (PyTorch's threshold_backward): the gradient where the
    input is > 0 or NaN, else 0, also for an inf or NaN incoming gradient."""
    x = np.resize(np.array([np.nan, -1.0, 0.0, 2.0, -0.0, np.inf, -np.inf, 0.5]), n)
    g = np.resize(np.array([1.0, np.inf, np.nan, 3.0, -np.inf, 7.0, np.nan, -2.0]), n)
    a = framework.tensor(x, dtype=dtype, device=device, requires_grad=True)
    framework.relu(a).backward(framework.tensor(g, dtype=dtype, device=device))
    ta = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    torch.relu(ta).backward(torch.tensor(g))
    assert a.grad.dtype is dtype
    assert_close(a.grad, ta.grad, 0, 0, "relu backward")


def test_relu_backward_of_a_broadcast_gradient(device):
    """``relu(x).sum().backward()`` hands relu a stride-0 view of one value."""
    x = RNG.standard_normal((80, 64))
    x[0, :4] = [0.0, -0.0, np.nan, np.inf]
    a = framework.tensor(x, device=device, requires_grad=True)
    framework.relu(a).sum().backward()
    ta = torch.tensor(x, requires_grad=True)
    torch.relu(ta).sum().backward()
    assert_close(a.grad, ta.grad, 0, 0, "relu backward of a broadcast gradient")


# --------------------------------------------------------------------------------------------
# tanh's backward: one activation_backward("tanh") kernel (PyTorch's tanh_backward)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_tanh_backward_kernel_against_torch(device, dtype, contiguous):
    """``activation_backward(grad, y, "tanh")``: ``grad * (1 - y²)`` for tanh's output ``y``
    (torch's ``tanh_backward``), including saturated and special values."""
    kernels = framework._backends.for_device(framework.device(device))
    y_data = np.tanh(np.concatenate([RNG.standard_normal(13) * 3, [0.0, -0.0, 40.0, -40.0,
                                                                      np.nan]]))
    g_data = np.concatenate([RNG.standard_normal(13), [1.0, -2.0, 3.0, np.inf, 1.0]])
    y_data, g_data = y_data.reshape(3, 6), g_data.reshape(3, 6)
    y = make_input(y_data, dtype, device, contiguous=contiguous)
    g = make_input(g_data, dtype, device, contiguous=contiguous)
    got = framework.Tensor._make(kernels.activation_backward(g._a, y._a, "tanh", 0.0, 0.0),
                                 y.device)
    want = torch.ops.aten.tanh_backward(torch.tensor(g_data), torch.tensor(y_data))
    atol, rtol = tolerance(dtype)
    assert_close(got, want, atol, rtol)


def test_tanh_backward_is_one_kernel_with_the_bits_of_its_formula(device, monkeypatch):
    """tanh's gradient (no ``create_graph``) and its double-backward node's value run one
    ``activation_backward`` kernel, with the bits of ``g * (1 - square(y))`` on the CPU (three
    roundings in float32 either way); a recorded backward (``create_graph``) still records
    the ``TanhBackwardBackward0`` node; float16 keeps the three-op formula."""
    kernels = framework._backends.for_device(framework.device(device))
    calls = []
    original = kernels.activation_backward
    monkeypatch.setattr(kernels, "activation_backward",
                        lambda *args: calls.append(args[2]) or original(*args))
    x = framework.tensor(RNG.standard_normal((4, 5)), dtype=F32, device=device,
                         requires_grad=True)
    g = framework.tensor(RNG.standard_normal((4, 5)), dtype=F32, device=device)
    y = x.tanh()
    y.backward(g)
    assert calls == ["tanh"]
    with framework.no_grad():
        formula = binary.mul(g, binary.sub(1, unary.square(y)))
    if device == "cpu":
        np.testing.assert_array_equal(x.grad.numpy(), formula.numpy())
    else:
        assert_close(x.grad, torch.tensor(formula.cpu().numpy()), 1e-6, 1e-6)
    (gx,) = framework.autograd.grad(x.tanh(), x, g, create_graph=True)
    assert type(gx.grad_fn).__name__ == "TanhBackwardBackward0"
    assert calls == ["tanh", "tanh"]  # the node's value: the same kernel
    np.testing.assert_array_equal(gx.detach().cpu().numpy(), x.grad.cpu().numpy())
    half = framework.tensor(RNG.standard_normal(4), dtype=F16, device=device,
                            requires_grad=True)
    half.tanh().sum().backward()
    assert calls == ["tanh", "tanh"]
