"""Comparison, logical and selection ops (framework/ops/compare.py) against PyTorch (float64
oracle) on cpu and cuda (Triton interpreter): predicates with NaN and integer operands,
logical ops, isnan/isinf/isfinite, where and clamp (scalar and tensor bounds, ties, NaN,
promotion, gradients) and isclose/allclose/equal.
"""
import numpy as np
import pytest
import torch
from helpers import check_op
from pointwise_cases import BF16, BOOL, F16, F32, F64, I32, I64, RNG, halves, integers, normal

import framework

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



def test_where_condition_only_is_nonzero_as_tuple(device):
    """``torch.where(cond)`` (one argument) returns the indices of the True elements, a tuple
    of one int64 tensor per dim, like ``nonzero(as_tuple=True)``."""
    cond = RNG.random((3, 4)) > 0.5
    got = framework.where(framework.tensor(cond, device=device))
    expected = torch.where(torch.tensor(cond))
    assert isinstance(got, tuple) and len(got) == len(expected) == 2
    for g, e in zip(got, expected):
        assert g.dtype is framework.int64
        np.testing.assert_array_equal(g.cpu().numpy(), e.numpy())
    (flat,) = framework.where(framework.tensor([0.0, 1.5, 0.0, -2.0], device=device))
    np.testing.assert_array_equal(flat.cpu().numpy(), [1, 3])
    with pytest.raises(TypeError, match="where"):
        framework.where(framework.tensor(cond, device=device), 1.0)

def test_where_method_form(device):
    cond = framework.tensor([True, False, True], device=device)
    x = framework.tensor([1.0, 2.0, 3.0], device=device)
    out = x.where(cond, -1.0)
    np.testing.assert_array_equal(out.cpu().numpy(), [1.0, -1.0, 3.0])


def test_where_mixes_bfloat16_with_integers_and_float64(device):
    cond = framework.tensor([True, False, True], device=device)
    y = framework.tensor([1.5, 2.0, 3.0], dtype=BF16, device=device)
    n = framework.tensor([4, 5, 6], device=device)
    assert framework.where(cond, y, n).tolist() == [1.5, 5.0, 3.0]
    assert framework.where(cond, n, y).tolist() == [4.0, 2.0, 6.0]
    assert framework.where(cond, y, 2).tolist() == [1.5, 2.0, 3.0]
    zero_d = framework.tensor(7.0, dtype=F64, device=device)
    assert framework.where(cond, y, zero_d).tolist() == [1.5, 7.0, 3.0]


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
# isclose, allclose, equal
# --------------------------------------------------------------------------------------------
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


@pytest.mark.parametrize("invert", [False, True])
def test_isin(device, invert):
    elements = RNG.integers(0, 8, (3, 4))
    tests = np.array([5, 1, 1, 7])
    got = framework.isin(framework.tensor(elements, device=device),
                         framework.tensor(tests, device=device), invert=invert)
    want = torch.isin(torch.tensor(elements), torch.tensor(tests), invert=invert)
    assert got.dtype is framework.bool
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())
    floats = np.array([0.5, np.nan, 2.0, -1.0])
    got = framework.isin(framework.tensor(floats, device=device), framework.tensor([2.0, np.nan], device=device))
    np.testing.assert_array_equal(got.cpu().numpy(),
                                  torch.isin(torch.tensor(floats), torch.tensor([2.0, np.nan])).numpy())
    assert framework.isin(framework.tensor([1, 2], device=device), 2).tolist() == [False, True]
    assert framework.isin(3, framework.tensor([1, 3], device=device)).item() is True
    assert framework.isin(framework.tensor([1, 2], device=device), framework.tensor([], dtype=framework.int64, device=device)).tolist() == [False, False]
