"""Elementwise ops against PyTorch (float64 oracle) on cpu and cuda (Triton interpreter).

Every op goes through ``check_op`` (forward and every input gradient) in
float32 on both devices, with non-contiguous inputs; a representative subset
also runs in float64, float16 and bfloat16. Binary ops cover broadcasting,
scalar operands on either side, type promotion and integer dtypes. Special
values (NaN, inf, signed zeros, ties), gradients at kinks, second derivatives,
hypothesis-drawn broadcast shapes and bad input have their own tests.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import framework
import framework.nn.functional as F
from framework.autograd import gradcheck, gradgradcheck
from framework.ops import binary, compare, unary
from helpers import assert_close, check_op, tolerance

RNG = np.random.default_rng(0)
F16, BF16, F32, F64 = framework.float16, framework.bfloat16, framework.float32, framework.float64
I32, I64, BOOL = framework.int32, framework.int64, framework.bool


def normal(*shape):
    return RNG.standard_normal(shape)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    return RNG.uniform(0.5, 2.0, shape) * RNG.choice([-1.0, 1.0], shape)


def above_minus_one(*shape):
    return RNG.uniform(-0.6, 2.0, shape)


def small(*shape):
    return RNG.uniform(-1.2, 1.2, shape)


def inside_unit(*shape):
    """Inside (-1, 1), away from the ends (asin, atanh, erfinv)."""
    return RNG.uniform(-0.9, 0.9, shape)


def above_one(*shape):
    return RNG.uniform(1.1, 3.0, shape)


def halves(*shape):
    """Multiples of 0.5 (ties for round) plus noise-free integers."""
    return RNG.integers(-8, 9, shape) * 0.5


def integers(*shape, low=-9, high=10):
    return RNG.integers(low, high, shape)


def nonzero_integers(*shape):
    return RNG.integers(1, 7, shape) * RNG.choice([-1, 1], shape)


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
# Binary ops
# --------------------------------------------------------------------------------------------
BINARY = {
    "add": (framework.add, torch.add, normal, normal),
    "add_alpha": (lambda a, b: framework.add(a, b, alpha=2.5),
                  lambda a, b: torch.add(a, b, alpha=2.5), normal, normal),
    "sub": (framework.sub, torch.sub, normal, normal),
    "sub_alpha": (lambda a, b: a.subtract(b, alpha=-2), lambda a, b: torch.sub(a, b, alpha=-2),
                  normal, normal),
    "mul": (framework.mul, torch.mul, normal, normal),
    "multiply": (lambda a, b: a.multiply(b), torch.multiply, normal, normal),
    "div": (framework.div, torch.div, normal, away_from_zero),
    "true_divide": (framework.true_divide, torch.true_divide, normal, away_from_zero),
    "div_trunc": (lambda a, b: framework.div(a, b, rounding_mode="trunc"),
                  lambda a, b: torch.div(a, b, rounding_mode="trunc"), normal, away_from_zero),
    "div_floor": (lambda a, b: a.divide(b, rounding_mode="floor"),
                  lambda a, b: torch.div(a, b, rounding_mode="floor"), normal, away_from_zero),
    "floor_divide": (framework.floor_divide, torch.floor_divide, normal, away_from_zero),
    "remainder": (framework.remainder, torch.remainder, normal, away_from_zero),
    "fmod": (framework.fmod, torch.fmod, normal, away_from_zero),
    "pow": (framework.pow, torch.pow, positive, normal),
    "maximum": (framework.maximum, torch.maximum, normal, normal),
    "minimum": (framework.minimum, torch.minimum, normal, normal),
    "atan2": (framework.atan2, torch.atan2, normal, normal),
    # an array even for shape (): torch.copysign takes no number as its first argument
    "copysign": (framework.copysign, torch.copysign, lambda *s: np.asarray(away_from_zero(*s)),
                 normal),
    "logaddexp": (framework.logaddexp, torch.logaddexp, normal, normal),
    "logaddexp2": (lambda a, b: a.logaddexp2(b), torch.logaddexp2, normal, normal),
    "hypot": (framework.hypot, torch.hypot, normal, away_from_zero),
}

BROADCAST_CASES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)),
                   ((), (2, 3)), ((2, 0, 3), (1, 3))]


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_float32(device, name):
    fw_fn, torch_fn, make_a, make_b = BINARY[name]
    check_op(fw_fn, torch_fn, [make_a(3, 4), make_b(3, 4)], device=device, contiguous=False,
             grad=name != "floor_divide")  # torch has no floor_divide derivative


@pytest.mark.parametrize("shapes", BROADCAST_CASES, ids=str)
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "atan2",
                                  "remainder", "copysign", "logaddexp", "hypot"])
def test_binary_broadcast(device, name, shapes):
    fw_fn, torch_fn, make_a, make_b = BINARY[name]
    (out,) = check_op(fw_fn, torch_fn, [make_a(*shapes[0]), make_b(*shapes[1])], device=device)
    assert tuple(out.shape) == tuple(torch.broadcast_shapes(*shapes))


@pytest.mark.parametrize("name", ["add", "mul", "div", "pow", "maximum", "remainder", "atan2"])
def test_binary_broadcast_non_contiguous(device, name):
    fw_fn, torch_fn, make_a, make_b = BINARY[name]
    check_op(fw_fn, torch_fn, [make_a(2, 3, 4), make_b(3, 1)], device=device, contiguous=False)


@pytest.mark.parametrize("dtype", [F64, F16, BF16], ids=["float64", "float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_other_float_dtypes(device, name, dtype):
    fw_fn, torch_fn, make_a, make_b = BINARY[name]
    (out,) = check_op(fw_fn, torch_fn, [make_a(2, 3), make_b(3)], device=device, dtype=dtype,
                      grad=name != "floor_divide")  # torch has no floor_divide derivative
    assert out.dtype is dtype


SCALAR_OPS = {
    "add": (lambda x, s: x + s, lambda s, x: s + x), "sub": (lambda x, s: x - s, lambda s, x: s - x),
    "mul": (lambda x, s: x * s, lambda s, x: s * x), "div": (lambda x, s: x / s, lambda s, x: s / x),
    "floordiv": (lambda x, s: x // s, lambda s, x: s // x),
    "mod": (lambda x, s: x % s, lambda s, x: s % x), "pow": (lambda x, s: x ** s, lambda s, x: s ** x),
}


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(SCALAR_OPS))
def test_scalar_operands(device, name, dtype):
    right, left = SCALAR_OPS[name]
    x = positive(3, 4)
    for s in (0.1, 2, -1.5):
        # torch has no derivative for floor_divide, nor for remainder(number, tensor)
        check_op(lambda t: right(t, s), lambda t: right(t, s), [x], device=device, dtype=dtype,
                 grad=name != "floordiv")
        base = 0.1 if (name == "pow" and s < 0) else s
        check_op(lambda t: left(base, t), lambda t: left(base, t), [x], device=device, dtype=dtype,
                 grad=name not in ("floordiv", "mod"))


def test_pow_special_exponents(device):
    x = away_from_zero(3, 4)
    for e in (0, 1, 2, 3, -1, -2, 0.5, 2.0, 64, -0.5):
        data = np.abs(x) if e in (0.5, -0.5) else x
        check_op(lambda t: t ** e, lambda t: t ** e, [data], device=device)
    check_op(lambda t: t.pow(0.5), lambda t: t.pow(0.5), [positive(3)], device=device, dtype=F64,
             atol=0, rtol=1e-15)


def test_pow_special_values(device):
    a = np.array([0.0, -0.0, 0.0, 1.0, 1.0, -1.0, -1.0, -2.0, -2.0, 2.0, np.inf, -np.inf, np.nan, 0.5,
                  -8.0, 3.0])
    b = np.array([0.0, -1.0, 2.5, np.nan, np.inf, np.inf, 3.0, 0.5, 3.0, -np.inf, -1.0, 3.0, 0.0,
                  np.inf, 1 / 3, 21.0])
    for dtype in (F32, F64):
        check_op(framework.pow, torch.pow, [a, b], device=device, dtype=dtype, grad=False)


# --------------------------------------------------------------------------------------------
# Integer arithmetic, division and modulus semantics
# --------------------------------------------------------------------------------------------
INT_BINARY = {
    "add": (framework.add, torch.add), "sub": (framework.sub, torch.sub),
    "mul": (framework.mul, torch.mul), "div": (framework.div, torch.div),
    "div_trunc": (BINARY["div_trunc"][0], BINARY["div_trunc"][1]),
    "div_floor": (BINARY["div_floor"][0], BINARY["div_floor"][1]),
    "floor_divide": (framework.floor_divide, torch.floor_divide),
    "remainder": (framework.remainder, torch.remainder), "fmod": (framework.fmod, torch.fmod),
    "maximum": (framework.maximum, torch.maximum), "minimum": (framework.minimum, torch.minimum),
    "pow": (framework.pow, torch.pow),
}


@pytest.mark.parametrize("dtype", [I32, I64], ids=["int32", "int64"])
@pytest.mark.parametrize("name", sorted(INT_BINARY))
def test_binary_integers(device, name, dtype):
    fw_fn, torch_fn = INT_BINARY[name]
    a = integers(4, 5)
    b = RNG.integers(0, 6, (5,)) if name == "pow" else nonzero_integers(5)
    (out,) = check_op(fw_fn, torch_fn, [a, b], device=device, dtype=dtype)
    assert out.dtype is (framework.get_default_dtype() if name == "div" else dtype)


def test_integer_pow_negative_exponents(device):
    base = np.array([2, 1, -1, 0, -1, 3, -2])
    exponent = np.array([-1, -2, -3, -1, -2, 0, 5])
    check_op(framework.pow, torch.pow, [base, exponent], device=device, dtype=I64)
    check_op(lambda e: 2 ** e, lambda e: 2 ** e, [exponent], device=device, dtype=I64)
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        framework.tensor([2], device=device) ** -1


def test_integer_pow_wraps_like_torch(device):
    base = np.array([3, -7, 12345, 2])
    exponent = np.array([40, 21, 9, 63])
    check_op(framework.pow, torch.pow, [base, exponent], device=device, dtype=I64)


def test_division_and_modulus_signs(device):
    a = np.array([7.0, -7.0, 7.0, -7.0, 7.5, -7.5, 0.0, -0.0, 6.0, 1e-20, 5.0, 3.0])
    b = np.array([2.0, 2.0, -2.0, -2.0, 2.0, -0.5, 3.0, -3.0, 3.0, 1.0, 0.0, np.inf])
    for dtype in (F32, F64):
        for name in ("div_trunc", "div_floor", "remainder", "fmod", "div"):
            fw_fn, torch_fn = BINARY[name][:2]
            check_op(fw_fn, torch_fn, [a, b], device=device, dtype=dtype, grad=False)
    ints_a = np.array([7, -7, 7, -7, 0, 9, -9, 1])
    ints_b = np.array([2, 2, -2, -2, 3, 3, 3, -5])
    for name in ("div_trunc", "div_floor", "remainder", "fmod"):
        fw_fn, torch_fn = BINARY[name][:2]
        check_op(fw_fn, torch_fn, [ints_a, ints_b], device=device, dtype=I64)


def test_floor_division_exact_quotients(device):
    """0.3 // 0.1 and friends: fmod-based floor division agrees with PyTorch bit for bit."""
    a = np.array([0.3, 1.0, 0.7, 6.0, -0.3, 2.2])
    b = np.array([0.1, 0.1, 0.1, 0.2, 0.1, 1.1])
    for dtype in (F32, F64):
        check_op(lambda x, y: x // y, lambda x, y: x // y, [a, b], device=device, dtype=dtype,
                 atol=0, rtol=0, grad=False)


# --------------------------------------------------------------------------------------------
# Type promotion
# --------------------------------------------------------------------------------------------
PROMOTION_CASES = [
    # (a values, a dtype, b values or scalar, b dtype or None)
    (integers(2, 3), I64, 2.5, None),
    (integers(2, 3), I32, integers(3), I64),
    (RNG.integers(0, 2, (2, 3)), BOOL, integers(3), I32),
    (normal(2, 3), F16, normal(3), F32),
    (normal(2, 3), BF16, normal(3), F16),
    (integers(2, 3), I32, 7, None),
    (RNG.integers(0, 2, (2, 3)), BOOL, True, None),
    (normal(2, 3), F16, normal(), F64),  # a 0-d tensor does not promote a dimensioned one
    (integers(2, 3), I64, normal(), F64),  # ... unless it is of a higher category
]


@pytest.mark.parametrize("case", range(len(PROMOTION_CASES)))
@pytest.mark.parametrize("name", ["add", "mul", "div", "maximum", "eq", "lt", "where"])
def test_type_promotion(device, name, case):
    a, a_dtype, b, b_dtype = PROMOTION_CASES[case]
    fw_fns = {"add": framework.add, "mul": framework.mul, "div": framework.div,
              "maximum": framework.maximum, "eq": framework.eq, "lt": framework.lt,
              "where": lambda x, y: framework.where(framework.gt(x, 0), x, y)}
    torch_fns = {"add": torch.add, "mul": torch.mul, "div": torch.div, "maximum": torch.maximum,
                 "eq": torch.eq, "lt": torch.lt, "where": lambda x, y: torch.where(x > 0, x, y)}
    if name == "maximum" and b_dtype is None:
        b = np.asarray(b)  # torch.maximum takes tensors only
        b_dtype = framework.tensor(b).dtype
    inputs = [a, b] if b_dtype is not None else [a]
    fw_fn = fw_fns[name] if b_dtype is not None else (lambda x: fw_fns[name](x, b))
    torch_fn = torch_fns[name] if b_dtype is not None else (lambda x: torch_fns[name](x, b))
    low = F16 if BF16 in (a_dtype, b_dtype) else (a_dtype if a_dtype.is_floating_point else F32)
    (out,) = check_op(fw_fn, torch_fn, inputs, device=device, dtype=low,
                      input_dtypes=[a_dtype, b_dtype], grad=name not in ("eq", "lt"))
    expected = _torch_result(torch_fn, a, a_dtype, b, b_dtype)
    assert out.dtype.name == str(expected).replace("torch.", "")


def _torch_result(torch_fn, a, a_dtype, b, b_dtype):
    names = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
             "float64": torch.float64, "int32": torch.int32, "int64": torch.int64,
             "bool": torch.bool}
    ta = torch.tensor(a).to(names[a_dtype.name])
    if b_dtype is None:
        return torch_fn(ta).dtype
    return torch_fn(ta, torch.tensor(b).to(names[b_dtype.name])).dtype


def test_bool_arithmetic(device):
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    for fw_fn, torch_fn in ((framework.add, torch.add), (framework.mul, torch.mul),
                            (framework.maximum, torch.maximum)):
        (out,) = check_op(fw_fn, torch_fn, [a, b], device=device, dtype=BOOL)
        assert out.dtype is BOOL
    check_op(lambda x: x * 3, lambda x: x * 3, [a], device=device, dtype=BOOL)
    check_op(framework.square, torch.square, [a], device=device, dtype=BOOL)
    check_op(framework.sign, torch.sign, [a], device=device, dtype=BOOL)


def test_zero_dim_cpu_tensor_with_cuda_tensor():
    x = framework.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    s = framework.tensor(3.0, dtype=F64, requires_grad=True)
    out = x * s
    assert out.device == framework.device("cuda") and out.dtype is F32
    out.sum().backward()
    assert s.grad.device == framework.device("cpu") and s.grad.dtype is F64
    assert s.grad.item() == pytest.approx(3.0)
    np.testing.assert_allclose(x.grad.cpu().numpy(), [3.0, 3.0])


# --------------------------------------------------------------------------------------------
# Comparisons and logical ops
# --------------------------------------------------------------------------------------------
PREDICATES = {
    "eq": (framework.eq, torch.eq), "ne": (framework.ne, torch.ne), "lt": (framework.lt, torch.lt),
    "le": (framework.le, torch.le), "gt": (framework.gt, torch.gt), "ge": (framework.ge, torch.ge),
    "greater": (lambda a, b: a.greater(b), torch.greater),
    "less": (framework.less, torch.less),
    "greater_equal": (framework.greater_equal, torch.greater_equal),
    "less_equal": (lambda a, b: a.less_equal(b), torch.less_equal),
    "not_equal": (framework.not_equal, torch.not_equal),
    "logical_and": (framework.logical_and, torch.logical_and),
    "logical_or": (framework.logical_or, torch.logical_or),
    "logical_xor": (lambda a, b: a.logical_xor(b), torch.logical_xor),
}


@pytest.mark.parametrize("name", sorted(PREDICATES))
def test_predicates(device, name):
    fw_fn, torch_fn = PREDICATES[name]
    a = halves(3, 4)
    b = halves(4)
    b[0] = np.nan
    for dtype, contiguous in ((F32, False), (I64, True), (F16, True)):
        data_a = a if dtype.is_floating_point else integers(3, 4, low=-2, high=3)
        data_b = b if dtype.is_floating_point else integers(4, low=-2, high=3)
        (out,) = check_op(fw_fn, torch_fn, [data_a, data_b], device=device, dtype=dtype,
                          contiguous=contiguous)
        assert out.dtype is BOOL and not out.requires_grad


def test_comparison_operators_and_scalars(device):
    a = halves(3, 4)
    for op in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
        check_op(lambda x: getattr(x, op)(0.5), lambda x: getattr(x, op)(0.5), [a], device=device)
        check_op(lambda x: getattr(x, op)(1), lambda x: getattr(x, op)(1), [a], device=device,
                 dtype=I32)
    m = np.array([True, False, True])
    n = np.array([True, True, False])
    for op in ("__and__", "__or__", "__xor__"):
        check_op(lambda x, y: getattr(x, op)(y), lambda x, y: getattr(x, op)(y), [m, n],
                 device=device, dtype=BOOL)
    check_op(lambda x: ~x, lambda x: ~x, [m], device=device, dtype=BOOL)


def test_logical_not_and_nan_checks(device):
    data = np.array([0.0, -0.0, 1.5, np.nan, np.inf, -np.inf, -2.0])
    for dtype in (F32, F64, F16):
        for fw_fn, torch_fn in ((framework.logical_not, torch.logical_not),
                                (framework.isnan, torch.isnan), (framework.isinf, torch.isinf),
                                (framework.isfinite, torch.isfinite)):
            (out,) = check_op(fw_fn, torch_fn, [data], device=device, dtype=dtype)
            assert out.dtype is BOOL
    for dtype in (I32, I64, BOOL):
        ints = np.array([0, 1, 1, 0]) if dtype is BOOL else np.array([0, -3, 7, 2])
        for fw_fn, torch_fn in ((framework.logical_not, torch.logical_not),
                                (framework.isnan, torch.isnan), (framework.isinf, torch.isinf),
                                (framework.isfinite, torch.isfinite)):
            check_op(fw_fn, torch_fn, [ints], device=device, dtype=dtype)


# --------------------------------------------------------------------------------------------
# Special values and kinks
# --------------------------------------------------------------------------------------------
def test_maximum_minimum_propagate_nan_and_split_ties(device):
    a = np.array([1.0, np.nan, 2.0, 3.0, -1.0, 0.5])
    b = np.array([np.nan, 1.0, 2.0, 1.0, 4.0, 0.5])
    for fw_fn, torch_fn in ((framework.maximum, torch.maximum), (framework.minimum, torch.minimum)):
        check_op(fw_fn, torch_fn, [a, b], device=device)
        check_op(fw_fn, torch_fn, [a, b], device=device, dtype=F64)


def test_gradients_at_kinks(device):
    x = np.array([0.0, -1.0, 1.0, 0.0, 2.0])
    check_op(framework.relu, torch.relu, [x], device=device)
    check_op(framework.abs, torch.abs, [x], device=device)
    check_op(lambda t: framework.clamp(t, 0.0, 1.0), lambda t: torch.clamp(t, 0.0, 1.0), [x],
             device=device)
    check_op(lambda t: t.clamp_min(0.0), lambda t: t.clamp_min(0.0), [x], device=device)
    check_op(lambda t: t.clamp_max(1.0), lambda t: t.clamp_max(1.0), [x], device=device)


def test_atan2_quadrants_and_zeros(device):
    y = np.array([0.0, -0.0, 0.0, -0.0, 1.0, -1.0, 1.0, -1.0, np.inf, np.inf, -np.inf, 2.0, np.nan,
                  3.0, 0.0])
    x = np.array([0.0, 0.0, -0.0, -0.0, -1.0, -1.0, 0.0, 0.0, np.inf, -np.inf, 5.0, np.inf, 1.0,
                  1e-30, -2.0])
    for dtype in (F32, F64):
        check_op(framework.atan2, torch.atan2, [y, x], device=device, dtype=dtype, grad=False)
    angles = np.linspace(-3.1, 3.1, 41)
    check_op(framework.atan2, torch.atan2, [np.sin(angles) * 3, np.cos(angles) * 3],
             device=device, dtype=F64)


def test_round_half_to_even(device):
    data = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.4999, 2.5000001, 1e20, -1e20, 8388609.0])
    for dtype in (F32, F64, F16):
        values = data[:8] if dtype is F16 else data  # 1e20 overflows float16
        check_op(framework.round, torch.round, [values], device=device, dtype=dtype, atol=0, rtol=0)
    check_op(lambda t: framework.round(t, decimals=-1), lambda t: torch.round(t, decimals=-1),
             [np.array([15.0, 25.0, -35.0, 44.0])], device=device)


# --------------------------------------------------------------------------------------------
# where and clamp
# --------------------------------------------------------------------------------------------
def test_where(device):
    cond = RNG.random((3, 4)) > 0.5
    a, b = normal(3, 4), normal(3, 4)
    check_op(framework.where, torch.where, [cond, a, b], device=device, contiguous=False,
             input_dtypes=[BOOL, None, None])
    check_op(framework.where, torch.where, [cond[:, :1], a[0], b[:, :1]], device=device,
             input_dtypes=[BOOL, None, None])
    for x, y in ((1.5, None), (None, -2), (0.5, 3)):
        def fw(c, t=None):
            return framework.where(c, t if x is None else x, t if y is None else y)

        def th(c, t=None):
            return torch.where(c, t if x is None else x, t if y is None else y)
        inputs = [cond] + ([a] if x is None or y is None else [])
        (out,) = check_op(fw, th, inputs, device=device, input_dtypes=[BOOL, None])
        expected = th(torch.tensor(cond), torch.tensor(a, dtype=torch.float32)).dtype
        assert out.dtype.name == str(expected).replace("torch.", "")
    check_op(framework.where, torch.where, [cond, integers(3, 4), normal(4)], device=device,
             input_dtypes=[BOOL, I32, F64], dtype=F64)
    check_op(framework.where, torch.where, [cond, a, b], device=device, dtype=F16,
             input_dtypes=[BOOL, None, None])
    empty = check_op(framework.where, torch.where, [cond[:0], a[:0], b[:0]], device=device,
                     input_dtypes=[BOOL, None, None])
    assert tuple(empty[0].shape) == (0, 4)


def test_where_method_form(device):
    cond = framework.tensor([True, False, True], device=device)
    x = framework.tensor([1.0, 2.0, 3.0], device=device)
    out = x.where(cond, -1.0)
    np.testing.assert_array_equal(out.cpu().numpy(), [1.0, -1.0, 3.0])


CLAMP_CASES = {
    "both": (lambda t: framework.clamp(t, -0.5, 0.7), lambda t: torch.clamp(t, -0.5, 0.7)),
    "min": (lambda t: t.clamp(min=-0.2), lambda t: t.clamp(min=-0.2)),
    "max": (lambda t: framework.clamp(t, max=0.3), lambda t: torch.clamp(t, max=0.3)),
    "clip": (lambda t: framework.clip(t, -1, 1), lambda t: torch.clip(t, -1, 1)),
    "inverted": (lambda t: framework.clamp(t, 1.0, -1.0), lambda t: torch.clamp(t, 1.0, -1.0)),
    "clamp_min": (lambda t: framework.clamp_min(t, 0.125), lambda t: torch.clamp_min(t, 0.125)),
    "clamp_max": (lambda t: t.clamp_max(0.125), lambda t: torch.clamp_max(t, 0.125)),
}


@pytest.mark.parametrize("name", sorted(CLAMP_CASES))
def test_clamp_scalar_bounds(device, name):
    fw_fn, torch_fn = CLAMP_CASES[name]
    data = normal(3, 4)
    data[0, 0] = np.nan
    data[1, 1] = 0.125  # exactly at a bound: the gradient passes
    check_op(fw_fn, torch_fn, [data], device=device, contiguous=False)
    check_op(fw_fn, torch_fn, [data], device=device, dtype=F64)


def test_clamp_tensor_bounds(device):
    x, lo, hi = normal(3, 4), normal(4) - 0.5, normal(3, 1) + 0.5
    lo[0] = x[0, 0]  # ties at the bounds
    hi[1, 0] = x[1, 1]
    check_op(framework.clamp, torch.clamp, [x, lo, hi], device=device)
    check_op(lambda a, b: framework.clamp(a, min=b), lambda a, b: torch.clamp(a, min=b), [x, lo],
             device=device, contiguous=False)
    check_op(lambda a, b: a.clamp(max=b), lambda a, b: a.clamp(max=b), [x, hi], device=device)
    check_op(lambda a, b: framework.clamp_min(a, b), lambda a, b: torch.clamp_min(a, b), [x, lo],
             device=device, dtype=F64)
    check_op(framework.clamp, torch.clamp, [x, hi, lo], device=device)  # min > max somewhere


def test_clamp_integers_and_promotion(device):
    data = integers(3, 4)
    (out,) = check_op(lambda t: t.clamp(-2, 3), lambda t: t.clamp(-2, 3), [data], device=device,
                      dtype=I64)
    assert out.dtype is I64
    (out,) = check_op(lambda t: t.clamp(min=0.5), lambda t: t.clamp(min=0.5), [data],
                      device=device, dtype=I32)
    assert out.dtype is F32
    check_op(lambda t: t.clamp(0.1, 0.30000000000000004), lambda t: t.clamp(0.1, 0.30000000000000004),
             [RNG.uniform(0, 0.4, 8)], device=device, dtype=F64, atol=0, rtol=0)


# --------------------------------------------------------------------------------------------
# Composites: lerp, addcmul, addcdiv, isclose, allclose, equal
# --------------------------------------------------------------------------------------------
def test_lerp(device):
    a, b = normal(3, 4), normal(4)
    for w in (0.25, 0.75, -1.5):
        check_op(lambda x, y: framework.lerp(x, y, w), lambda x, y: torch.lerp(x, y, w), [a, b],
                 device=device)
    weight = RNG.uniform(-1, 2, (3, 1))
    check_op(framework.lerp, torch.lerp, [a, b, weight], device=device, contiguous=False)
    check_op(lambda x, y, z: x.lerp(y, z), torch.lerp, [a, b, weight], device=device, dtype=F64)


def test_addcmul_addcdiv(device):
    a, b, c = normal(3, 4), normal(4), away_from_zero(3, 1)
    check_op(framework.addcmul, torch.addcmul, [a, b, c], device=device)
    check_op(lambda x, y, z: x.addcmul(y, z, value=-0.5),
             lambda x, y, z: x.addcmul(y, z, value=-0.5), [a, b, c], device=device)
    check_op(framework.addcdiv, torch.addcdiv, [a, b, c], device=device, contiguous=False)
    check_op(lambda x, y, z: framework.addcdiv(x, y, z, value=2),
             lambda x, y, z: torch.addcdiv(x, y, z, value=2), [a, b, c], device=device, dtype=F64)


def test_isclose_allclose_equal(device):
    a = np.array([1.0, 2.0, np.nan, np.inf, -np.inf, 1e-9, 100.0])
    b = np.array([1.0 + 1e-6, 2.1, np.nan, np.inf, np.inf, 0.0, 100.0005])
    for kwargs in ({}, {"equal_nan": True}, {"rtol": 0.1, "atol": 0.0}, {"atol": 1e-3}):
        check_op(lambda x, y: framework.isclose(x, y, **kwargs),
                 lambda x, y: torch.isclose(x, y, **kwargs), [a, b], device=device, dtype=F64)
        fw_t = [framework.tensor(v, dtype=F64, device=device) for v in (a, b)]
        assert framework.allclose(*fw_t, **kwargs) == torch.allclose(
            torch.tensor(a), torch.tensor(b), **kwargs)
        assert framework.allclose(fw_t[0][:2], fw_t[0][:2], **kwargs)
    check_op(framework.isclose, torch.isclose, [integers(5), integers(5)], device=device, dtype=I64)
    x = framework.tensor([1.0, 2.0], device=device)
    assert framework.equal(x, framework.tensor([1.0, 2.0], device=device)) is True
    assert x.equal(framework.tensor([1.0, 2.5], device=device)) is False
    assert framework.equal(x, framework.tensor([[1.0, 2.0]], device=device)) is False
    assert framework.equal(framework.tensor([1, 2], device=device), x) is True
    assert x.allclose(x + 1e-7) and not x.allclose(x + 1e-3)


# --------------------------------------------------------------------------------------------
# Second derivatives
# --------------------------------------------------------------------------------------------
SMOOTH = {
    "exp": framework.exp, "tanh": framework.tanh, "sigmoid": framework.sigmoid,
    "sin": framework.sin, "log1p": lambda x: framework.log1p(x * x),
    "rsqrt": lambda x: framework.rsqrt(x * x + 1), "pow": lambda x: (x * x + 1) ** 1.5,
    "asin": lambda x: framework.asin(framework.tanh(x)), "acos": lambda x: framework.acos(x * 0.3),
    "atan": framework.atan, "sinh": framework.sinh, "cosh": framework.cosh,
    "asinh": framework.asinh, "acosh": lambda x: framework.acosh(x * x + 1.5),
    "atanh": lambda x: framework.atanh(x * 0.3), "erf": framework.erf, "erfc": framework.erfc,
    "erfinv": lambda x: framework.erfinv(framework.tanh(x)),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_double_backward_unary(device, name):
    x = framework.tensor(normal(4), dtype=F64, device=device, requires_grad=True)
    assert gradgradcheck(SMOOTH[name], (x,))


def test_double_backward_binary(device):
    a = framework.tensor(positive(2), dtype=F64, device=device, requires_grad=True)
    b = framework.tensor(normal(2, 1), dtype=F64, device=device, requires_grad=True)
    for fn in (framework.mul, framework.atan2, lambda x, y: framework.lerp(x, y, 0.3),
               lambda x, y: framework.maximum(x, y * 3)):
        assert gradcheck(fn, (a, b))
    for fn in (framework.div, framework.pow, framework.logaddexp, framework.logaddexp2,
               framework.hypot, framework.copysign):
        assert gradgradcheck(fn, (a, b))


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
# Hypothesis: broadcastable shape pairs
# --------------------------------------------------------------------------------------------
@st.composite
def broadcastable_shapes(draw):
    shape = draw(st.lists(st.integers(0, 4), min_size=0, max_size=4))
    other = []
    for size in shape[len(shape) - draw(st.integers(0, len(shape))):]:
        other.append(draw(st.sampled_from([size, 1])))
    if draw(st.booleans()):
        return tuple(shape), tuple(other)
    return tuple(other), tuple(shape)


@pytest.mark.parametrize("device_name", ["cpu", "cuda"])
@settings(max_examples=10, deadline=None)
@given(shapes=broadcastable_shapes(), name=st.sampled_from(["add", "mul", "div", "maximum",
                                                            "pow", "sub_alpha"]),
       contiguous=st.booleans())
def test_hypothesis_broadcast(device_name, shapes, name, contiguous):
    fw_fn, torch_fn, make_a, make_b = BINARY[name]
    check_op(fw_fn, torch_fn, [make_a(*shapes[0]), make_b(*shapes[1])], device=device_name,
             contiguous=contiguous)


# --------------------------------------------------------------------------------------------
# API surface and bad input
# --------------------------------------------------------------------------------------------
def test_every_forwarded_method_exists():
    for module in (unary, binary, compare):
        for name in module.TENSOR_METHODS:
            assert callable(getattr(module, name)), name
            assert name in module.__all__ and hasattr(framework, name), name
    for name in ("gelu", "silu", "softplus"):
        assert not hasattr(framework, name), name
    for name in ("relu", "gelu", "silu", "softplus", "sigmoid", "tanh"):
        assert callable(getattr(F, name))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "atan2", "eq",
                                  "logical_and", "remainder", "fmod", "floor_divide", "copysign",
                                  "logaddexp", "logaddexp2", "hypot"])
def test_binary_bad_input(device, name):
    fn = getattr(framework, name)
    x = framework.ones(2, 3, device=device)
    with pytest.raises(RuntimeError, match=f"{name}\\(\\).*size of tensor"):
        fn(x, framework.ones(4, device=device))
    with pytest.raises(TypeError, match=f"{name}\\(\\): argument '.*' must be Tensor or Number"):
        fn(x, "2")
    with pytest.raises(TypeError, match=f"{name}\\(\\)"):
        fn([1.0], x)
    other = "cpu" if device == "cuda" else "cuda"
    with pytest.raises(RuntimeError, match=f"{name}\\(\\): Expected all tensors to be on the same device"):
        fn(x, framework.ones(2, 3, device=other))


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


def test_scalars_only_and_numpy_scalars():
    out = framework.add(2, 3)
    assert out.ndim == 0 and out.item() == 5 and out.dtype is I64
    x = framework.tensor([1.0, 2.0])
    np.testing.assert_allclose((x * np.float64(2.0)).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(framework.logical_and(x, np.bool_(True)).numpy(), [True, True])


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


def test_out_of_range_python_ints_wrap_like_torch(device):
    x = framework.tensor([1, -2], dtype=I32, device=device)
    t = torch.tensor([1, -2], dtype=torch.int32)
    for scalar in (2 ** 31, 2 ** 40 + 3, -(2 ** 33)):
        assert (x + scalar).tolist() == (t + scalar).tolist()
        assert (x * scalar).dtype is I32


def test_add_sub_alpha_keeps_the_operands_dtype(device):
    for dtype, other_dtype in ((F16, I32), (BF16, I64), (BOOL, BOOL)):
        x = framework.ones(3, dtype=dtype, device=device)
        y = framework.ones(3, dtype=other_dtype, device=device)
        alpha = 2 if dtype is BOOL else 0.5
        assert framework.add(x, y, alpha=alpha).dtype is dtype
        if dtype is not BOOL:
            assert x.sub(y, alpha=alpha).dtype is dtype
    check_op(lambda a, b: framework.add(a, b, alpha=0.5), lambda a, b: torch.add(a, b, alpha=0.5),
             [np.array([1.0, -2.0, 3.0]), np.array([1, 2, -3])], device=device, dtype=F16,
             input_dtypes=[F16, I32])


def test_sub_rejects_any_bool_operand(device):
    mask = framework.tensor([True, False], device=device)
    x = framework.ones(2, device=device)
    for a, b in ((mask, x), (x, mask), (1, mask), (x, True), (mask, mask)):
        with pytest.raises(RuntimeError, match="bool"):
            framework.sub(a, b)


def test_atan2_gradient_at_origin_is_zero(device):
    zeros = np.zeros(3)
    check_op(framework.atan2, torch.atan2, [zeros, zeros], device=device)


def test_where_mixes_bfloat16_with_integers_and_float64(device):
    cond = framework.tensor([True, False, True], device=device)
    y = framework.tensor([1.5, 2.0, 3.0], dtype=BF16, device=device)
    n = framework.tensor([4, 5, 6], device=device)
    assert framework.where(cond, y, n).tolist() == [1.5, 5.0, 3.0]
    assert framework.where(cond, n, y).tolist() == [4.0, 2.0, 6.0]
    assert framework.where(cond, y, 2).tolist() == [1.5, 2.0, 3.0]
    zero_d = framework.tensor(7.0, dtype=F64, device=device)
    assert framework.where(cond, y, zero_d).tolist() == [1.5, 7.0, 3.0]


def test_pow_of_negative_infinity(device):
    base = np.full(4, -np.inf)
    exponent = np.array([2.5, -2.5, 3.0, -3.0])
    for dtype in (F32, F64):
        check_op(framework.pow, torch.pow, [base, exponent], device=device, dtype=dtype,
                 grad=False)


def test_addcmul_addcdiv_multiply_in_the_result_dtype(device):
    inputs = [np.array([1.0, -2.0, 3.0]), np.array([3.3, 7.7, -9.1]), np.array([5.1, 2.9, 4.4])]
    for fw_fn, torch_fn in ((framework.addcmul, torch.addcmul), (framework.addcdiv, torch.addcdiv)):
        check_op(fw_fn, torch_fn, inputs, device=device, dtype=F32, input_dtypes=[F32, F16, F16])


def test_integer_division_by_zero_raises_on_cpu():
    x = framework.tensor([5, -5])
    for fn in (lambda: x // 0, lambda: x % framework.tensor([1, 0]), lambda: x.fmod(0),
               lambda: x.div(0, rounding_mode="trunc")):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            fn()
    assert (x / 0).tolist() == [math.inf, -math.inf]  # true division gives floats


@pytest.mark.parametrize("dtype", [framework.int32, framework.int64])
def test_integer_division_by_zero_gives_zero_on_cuda(dtype):
    """cuda never raises (as PyTorch's CUDA kernels); where the divisor is 0 every integer
    division op gives 0, whatever the GPU would give (docs/semantics.md)."""
    python_ops = {  # Python's integer semantics, 0 for a zero divisor
        "floor_divide": (lambda a, b: a // b, lambda a, b: a // b if b else 0),
        "trunc": (lambda a, b: a.div(b, rounding_mode="trunc"),
                  lambda a, b: int(a / b) if b else 0),
        "remainder": (lambda a, b: a % b, lambda a, b: a % b if b else 0),
        "fmod": (lambda a, b: a.fmod(b), lambda a, b: int(math.fmod(a, b)) if b else 0),
    }
    a_values, b_values = [7, -7, 0, 9, -9, 9], [0, 0, 0, 2, 4, -4]
    x = framework.tensor(a_values, dtype=dtype, device="cuda")
    y = framework.tensor(b_values, dtype=dtype, device="cuda")
    for name, (fn, reference) in python_ops.items():
        want = [reference(a, b) for a, b in zip(a_values, b_values)]
        assert fn(x, y).tolist() == want, name
        assert fn(x, 0).tolist() == [0] * 6, name  # scalar divisor
        table = fn(x[None, :], framework.tensor([[0], [3]], dtype=dtype, device="cuda"))
        assert table.tolist() == [[0] * 6, [reference(a, 3) for a in a_values]], name  # broadcast
    z = x.clone()
    z //= y
    assert z.tolist() == [0, 0, 0, 4, -3, -3]
    quotient = (x / y).tolist()  # true division gives floats: inf and NaN
    assert quotient[:2] == [math.inf, -math.inf] and math.isnan(quotient[2])


def test_round_decimals_of_halves_scales_in_float32(device):
    x = np.array([0.85009766, -0.85009766, 2.4501953])  # exact in float16
    check_op(lambda t: framework.round(t, decimals=1), lambda t: torch.round(t, decimals=1), [x],
             device=device, dtype=F16, grad=False, atol=0, rtol=1e-2)


# --------------------------------------------------------------------------------------------
# Inverse trigonometric, hyperbolic and error functions; copysign, logaddexp, hypot
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
# beyond float32's range: float64 only (a float32 result would overflow where the oracle's
# float64 one does not)
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


# (name, arguments, float32 rtol): relative accuracy where a naive formula cancels
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


def test_erfc_float64_tail(device):
    x = np.array([3.5, 5.0, 10.0, 20.0, 26.0])
    check_op(framework.erfc, torch.erfc, [x], device=device, dtype=F64, atol=0, rtol=1e-12,
             grad=False)


BINARY_SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -2.5, 1e30, 1e-30]


@pytest.mark.parametrize("name", ["copysign", "logaddexp", "logaddexp2", "hypot"])
def test_binary_math_special_values(device, name):
    fw_fn, torch_fn, _, _ = BINARY[name]
    a, b = (np.array(v) for v in zip(*[(x, y) for x in BINARY_SPECIAL for y in BINARY_SPECIAL]))
    for dtype in (F32, F64):
        check_op(fw_fn, torch_fn, [a, b], device=device, dtype=dtype, grad=False)
    check_op(fw_fn, torch_fn, [normal(3, 4) * 50, normal(3, 4) * 50], device=device, dtype=F64,
             atol=0, rtol=1e-13, grad=False)


def test_copysign_sign_bits_and_scalars(device):
    x = framework.tensor([1.0, -2.0, 0.0, 3.0], device=device)
    signs = framework.tensor([-0.0, 0.0, -1.0, float("nan")], device=device)
    out = framework.copysign(x, signs)
    assert np.array_equal(np.signbit(out.cpu().numpy()), [True, False, True, False])
    for other in (-1, 2.5, -0.0):
        check_op(lambda t: framework.copysign(t, other), lambda t: torch.copysign(t, other),
                 [normal(5)], device=device)
    check_op(lambda t: framework.copysign(-3.0, t), lambda t: torch.copysign(torch.tensor(-3.0,
             dtype=t.dtype), t), [away_from_zero(5)], device=device)
    # copysign promotes integers to the default float dtype, as torch does
    check_op(framework.copysign, torch.copysign, [integers(4), integers(4)], device=device,
             dtype=I64)
    assert framework.copysign(framework.tensor([1, 2], device=device), -1).dtype is F32


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2", "hypot"])
def test_floating_only_binary_rejects_integers(device, name):
    fn = getattr(framework, name)
    i = framework.tensor([1, 2], device=device)
    with pytest.raises(NotImplementedError, match=f"{name}\\(\\)"):
        fn(i, i)
    assert fn(i, framework.tensor([1.0, 2.0], device=device)).dtype is F32  # promotes to float


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
# Bitwise ops on every integer dtype and bool
# --------------------------------------------------------------------------------------------
INTEGER_DTYPES = [framework.uint8, framework.int8, framework.int16, I32, I64]
TORCH_DTYPES = {"uint8": torch.uint8, "int8": torch.int8, "int16": torch.int16,
                "int32": torch.int32, "int64": torch.int64, "bool": torch.bool}


def integer_values(dtype, *shape):
    """Values spanning ``dtype``'s range, its extremes included (int64: within +-2**53, which
    check_op's float64 oracle inputs hold exactly)."""
    info = framework.iinfo(dtype)
    low, high = max(info.min, -2 ** 53), min(info.max, 2 ** 53)
    values = RNG.integers(low, high, shape, endpoint=True)
    flat = values.reshape(-1)
    flat[:2] = [low, high][:flat.size]
    return values


BITWISE = {
    "bitwise_and": (framework.bitwise_and, torch.bitwise_and),
    "bitwise_or": (lambda a, b: a.bitwise_or(b), torch.bitwise_or),
    "bitwise_xor": (framework.bitwise_xor, torch.bitwise_xor),
    "and_operator": (lambda a, b: a & b, lambda a, b: a & b),
    "or_operator": (lambda a, b: a | b, lambda a, b: a | b),
    "xor_operator": (lambda a, b: a ^ b, lambda a, b: a ^ b),
}


@pytest.mark.parametrize("dtype", INTEGER_DTYPES + [BOOL], ids=str)
@pytest.mark.parametrize("name", sorted(BITWISE))
def test_bitwise_binary(device, name, dtype):
    fw_fn, torch_fn = BITWISE[name]
    make = (lambda *s: RNG.integers(0, 2, s).astype(bool)) if dtype is BOOL else \
        (lambda *s: integer_values(dtype, *s))
    (out,) = check_op(fw_fn, torch_fn, [make(3, 4), make(4)], device=device, dtype=dtype,
                      contiguous=False)
    assert out.dtype is dtype


@pytest.mark.parametrize("dtype", INTEGER_DTYPES + [BOOL], ids=str)
def test_bitwise_not(device, dtype):
    data = RNG.integers(0, 2, (3, 4)).astype(bool) if dtype is BOOL else integer_values(dtype, 3, 4)
    for fw_fn, torch_fn in ((framework.bitwise_not, torch.bitwise_not),
                            (lambda t: ~t, lambda t: ~t)):
        (out,) = check_op(fw_fn, torch_fn, [data], device=device, dtype=dtype, contiguous=False)
        assert out.dtype is dtype


@pytest.mark.parametrize("dtype", INTEGER_DTYPES, ids=str)
def test_shifts_match_torch_for_every_count(device, dtype):
    """Every count from -2 to 2 * bits + 1: in-range shifts wrap in the type, out-of-range ones
    give 0 (left) or the sign fill (right), exactly as torch's CPU kernels."""
    bits = dtype.itemsize * 8
    low = 0 if dtype is framework.uint8 else -2
    counts = np.arange(low, 2 * bits + 2)
    values = integer_values(dtype, 1, 4)
    values[0, 2:] = [1, 5 if dtype is framework.uint8 else -3]
    a, b = np.broadcast_arrays(values, counts[:, None])
    for fw_fn, torch_fn in ((framework.bitwise_left_shift, torch.bitwise_left_shift),
                            (framework.bitwise_right_shift, torch.bitwise_right_shift),
                            (lambda x, y: x << y, lambda x, y: x << y),
                            (lambda x, y: x >> y, lambda x, y: x >> y)):
        (out,) = check_op(fw_fn, torch_fn, [np.array(a), np.array(b)], device=device, dtype=dtype)
        assert out.dtype is dtype


def test_bitwise_scalars_and_promotion(device):
    i8 = framework.tensor([3, -7, 100], dtype=framework.int8, device=device)
    u8 = framework.tensor([3, 250, 17], dtype=framework.uint8, device=device)
    t_i8, t_u8 = torch.tensor([3, -7, 100], dtype=torch.int8), torch.tensor([3, 250, 17],
                                                                             dtype=torch.uint8)
    cases = [(lambda x, y: x & y, i8, u8, t_i8, t_u8), (lambda x, y: x | 6, i8, None, t_i8, None),
             (lambda x, y: 6 ^ x, u8, None, t_u8, None), (lambda x, y: 1 << x.clamp(0, 5), u8,
                                                          None, t_u8, None),
             (lambda x, y: x >> 1, i8, None, t_i8, None),
             (lambda x, y: x.bool() & True, i8, None, t_i8, None),
             (lambda x, y: x.bool() << 1, u8, None, t_u8, None)]
    for fn, a, b, ta, tb in cases:
        out, expected = fn(a, b), fn(ta, tb)
        assert out.dtype.name == str(expected.dtype).split(".")[-1]
        assert out.tolist() == expected.tolist()


def test_bitwise_inplace_forms(device):
    x = framework.tensor([12, 5, -3], dtype=framework.int16, device=device)
    t = torch.tensor([12, 5, -3], dtype=torch.int16)
    for name, arg in (("bitwise_and_", 6), ("bitwise_or_", 1), ("bitwise_xor_", 3),
                      ("bitwise_left_shift_", 2), ("bitwise_right_shift_", 1)):
        assert getattr(x, name)(arg) is x
        getattr(t, name)(arg)
        assert x.tolist() == t.tolist(), name
    x.bitwise_not_()
    assert x.tolist() == t.bitwise_not_().tolist()


def test_bitwise_bad_input(device):
    x = framework.ones(3, device=device)
    i = framework.tensor([1, 2, 3], device=device)
    b = framework.tensor([True, False, True], device=device)
    for fn in (lambda: x & i, lambda: framework.bitwise_or(i, 1.5), lambda: ~x,
               lambda: framework.bitwise_xor(x, x), lambda: x << 1, lambda: i >> 0.5,
               lambda: b << b, lambda: framework.bitwise_right_shift(b, True)):
        with pytest.raises(NotImplementedError, match="bitwise_"):
            fn()
    with pytest.raises(TypeError, match="bitwise_and\\(\\): argument 'other'"):
        framework.bitwise_and(i, "1")
    with pytest.raises(RuntimeError, match="bitwise_and\\(\\).*size of tensor"):
        i & framework.tensor([1, 2], device=device)
    with pytest.raises(TypeError, match="bitwise_not\\(\\): argument 'input'"):
        framework.bitwise_not([1, 2])


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
