"""Binary ops (framework/ops/binary.py) against PyTorch (float64 oracle) on cpu and cuda
(Triton interpreter).

Arithmetic covers broadcasting (also hypothesis-drawn shape pairs), non-contiguous operands,
scalar operands on either side, type promotion, every floating dtype and integer semantics
(division, modulus, powers, division by zero); bitwise ops and shifts run on every integer
dtype and bool; lerp/addcmul/addcdiv, special values, second derivatives and bad input have
their own tests.
"""
import math

import numpy as np
import pytest
import torch
from helpers import check_op
from hypothesis import given, settings
from hypothesis import strategies as st
from pointwise_cases import (BF16, BOOL, F16, F32, F64, I32, I64, INTEGER_DTYPES, RNG,
                             away_from_zero, float_minus_as_triton_3_6, integer_values, integers,
                             nonzero_integers, normal, positive)

import framework
from framework.autograd import gradcheck, gradgradcheck

# --------------------------------------------------------------------------------------------
# Binary ops: name -> (framework fn, torch fn, data maker of a, of b)
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


def test_pow_of_negative_infinity(device):
    base = np.full(4, -np.inf)
    exponent = np.array([2.5, -2.5, 3.0, -3.0])
    for dtype in (F32, F64):
        check_op(framework.pow, torch.pow, [base, exponent], device=device, dtype=dtype,
                 grad=False)


def test_maximum_minimum_propagate_nan_and_split_ties(device):
    a = np.array([1.0, np.nan, 2.0, 3.0, -1.0, 0.5])
    b = np.array([np.nan, 1.0, 2.0, 1.0, 4.0, 0.5])
    for fw_fn, torch_fn in ((framework.maximum, torch.maximum), (framework.minimum, torch.minimum)):
        check_op(fw_fn, torch_fn, [a, b], device=device)
        check_op(fw_fn, torch_fn, [a, b], device=device, dtype=F64)


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


def test_atan2_gradient_at_origin_is_zero(device):
    zeros = np.zeros(3)
    check_op(framework.atan2, torch.atan2, [zeros, zeros], device=device)



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


def test_out_of_range_python_ints_wrap_like_torch(device):
    x = framework.tensor([1, -2], dtype=I32, device=device)
    t = torch.tensor([1, -2], dtype=torch.int32)
    for scalar in (2 ** 31, 2 ** 40 + 3, -(2 ** 33)):
        assert (x + scalar).tolist() == (t + scalar).tolist()
        assert (x * scalar).dtype is I32



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


def test_scalars_only_and_numpy_scalars():
    out = framework.add(2, 3)
    assert out.ndim == 0 and out.item() == 5 and out.dtype is I64
    x = framework.tensor([1.0, 2.0])
    np.testing.assert_allclose((x * np.float64(2.0)).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(framework.logical_and(x, np.bool_(True)).numpy(), [True, True])



# --------------------------------------------------------------------------------------------
# copysign, logaddexp, hypot
# --------------------------------------------------------------------------------------------
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


@pytest.mark.parametrize("dtype", [F16, F32, F64])
def test_copysign_sign_bits_of_zeros_and_nans(device, dtype):
    """copysign(0.0, -1.0) is -0.0, also where Triton compiles a float ``-x`` as ``0 - x``
    (Triton 3.6, the GPU machines': a select of ``-|a|`` gave +0.0 on an H200; emulated on
    the interpreter)."""
    a = np.array([0.0, -0.0, 0.0, 1.5, -2.0, np.inf, np.nan])
    b = np.array([-1.0, 1.0, -0.0, -np.nan, np.nan, -3.0, -1.0])
    want = np.copysign(a, b)

    def check():
        out = framework.copysign(framework.tensor(a, dtype=dtype, device=device),
                                 framework.tensor(b, dtype=dtype, device=device)).cpu().numpy()
        assert np.array_equal(np.signbit(out), np.signbit(want))
        np.testing.assert_array_equal(out.astype(np.float64), want)

    check()
    if device == "cuda" and framework.cuda.is_interpreter():
        with float_minus_as_triton_3_6():
            check()


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2", "hypot"])
def test_floating_only_binary_rejects_integers(device, name):
    fn = getattr(framework, name)
    i = framework.tensor([1, 2], device=device)
    with pytest.raises(NotImplementedError, match=f"{name}\\(\\)"):
        fn(i, i)
    assert fn(i, framework.tensor([1.0, 2.0], device=device)).dtype is F32  # promotes to float



# --------------------------------------------------------------------------------------------
# Composites: lerp, addcmul, addcdiv
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


def test_addcmul_addcdiv_multiply_in_the_result_dtype(device):
    inputs = [np.array([1.0, -2.0, 3.0]), np.array([3.3, 7.7, -9.1]), np.array([5.1, 2.9, 4.4])]
    for fw_fn, torch_fn in ((framework.addcmul, torch.addcmul), (framework.addcdiv, torch.addcdiv)):
        check_op(fw_fn, torch_fn, inputs, device=device, dtype=F32, input_dtypes=[F32, F16, F16])



# --------------------------------------------------------------------------------------------
# Bitwise ops and shifts on every integer dtype and bool
# --------------------------------------------------------------------------------------------
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



# --------------------------------------------------------------------------------------------
# Second derivatives
# --------------------------------------------------------------------------------------------
def test_double_backward_binary(device):
    a = framework.tensor(positive(2), dtype=F64, device=device, requires_grad=True)
    b = framework.tensor(normal(2, 1), dtype=F64, device=device, requires_grad=True)
    for fn in (framework.mul, framework.atan2, lambda x, y: framework.lerp(x, y, 0.3),
               lambda x, y: framework.maximum(x, y * 3)):
        assert gradcheck(fn, (a, b))
    for fn in (framework.div, framework.pow, framework.logaddexp, framework.logaddexp2,
               framework.hypot, framework.copysign):
        assert gradgradcheck(fn, (a, b))



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
# Bad input
# --------------------------------------------------------------------------------------------
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


# (device, dtype) of the half-precision rounding tests: bfloat16 on cpu only, as the Triton
# interpreter (cuda in CI) casts float32 to bfloat16 by truncation, not to nearest as GPUs
# and NumPy do, so half its roundings differ from torch's whatever the op computes
HALF_CASES = [("cpu", "bfloat16"), ("cpu", "float16"), ("cuda", "float16")]


@pytest.mark.parametrize("device, dtype", HALF_CASES)
@pytest.mark.parametrize("op", ["add", "sub"])
def test_half_add_sub_with_alpha_round_once_like_torch(device, dtype, op):
    """``input + alpha * other`` on half tensors: computed in float32, rounded once (torch's
    opmath): torch's half results, up to a rare last-unit flip; rounding ``alpha * other``
    first differed in about a quarter of the elements. The node stays torch's."""
    ours_dtype, torch_dtype = getattr(framework, dtype), getattr(torch, dtype)
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal(2000), rng.standard_normal(2000)
    x = framework.tensor(a, dtype=ours_dtype, device=device, requires_grad=True)
    ours = getattr(framework, op)(x, framework.tensor(b, dtype=ours_dtype, device=device),
                                  alpha=0.3)
    theirs = getattr(torch, op)(torch.tensor(a, dtype=torch_dtype),
                                torch.tensor(b, dtype=torch_dtype), alpha=0.3)
    assert ours.dtype is ours_dtype
    assert type(ours.grad_fn).__name__ == {"add": "AddBackward0", "sub": "SubBackward0"}[op]
    assert (ours.detach().float().cpu().numpy() != theirs.float().numpy()).mean() <= 0.01
    ours.sum().backward()
    assert x.grad.dtype is ours_dtype and (x.grad.float().cpu().numpy() == 1).all()
