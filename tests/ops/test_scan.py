"""Scans against PyTorch (float64 oracle) on cpu and cuda (Triton interpreter).

cumsum, cumprod, logcumsumexp, cummax and cummin: forward and gradient through
``check_op`` over dims, dtypes, non-contiguous and edge shapes; cumprod's
gradient with zeros, rows longer than one Triton block (the carried scan),
ties and NaN for cummax/cummin, second derivatives, and bad input.
"""
import numpy as np
import pytest
import torch

import framework
from framework.autograd import gradgradcheck
from helpers import check_op

RNG = np.random.default_rng(0)

pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")]


def _normal(*shape):
    return np.asarray(RNG.standard_normal(shape))


def _away_from_zero(*shape):
    return np.asarray(RNG.uniform(0.5, 1.5, shape) * RNG.choice([-1.0, 1.0], shape))


OPS = {
    "cumsum": (framework.cumsum, torch.cumsum, _normal),
    "cumprod": (framework.cumprod, torch.cumprod, _away_from_zero),
    "logcumsumexp": (framework.logcumsumexp, torch.logcumsumexp, _normal),
    "cummax": (framework.cummax, torch.cummax, _normal),
    "cummin": (framework.cummin, torch.cummin, _normal),
}


def run(op, shape, dim, device, dtype=framework.float32, contiguous=True, data=None):
    fw_fn, torch_fn, make = OPS[op]
    x = make(*shape) if data is None else data
    size = shape[dim] if shape else 1
    return check_op(lambda a: fw_fn(a, dim), lambda a: torch_fn(a, dim), [x], device=device,
                    dtype=dtype, contiguous=contiguous, scale=max(size, 1))


@pytest.mark.parametrize("op", sorted(OPS))
def test_scan_first_dim(device, op):
    run(op, (3, 4, 5), 0, device)  # the last dim is scanned in test_scan_dtypes


@pytest.mark.parametrize("op", sorted(OPS))
def test_scan_non_contiguous_and_edge_shapes(device, op):
    run(op, (3, 4, 5), 1, device, contiguous=False)
    for shape, dim in [((0, 3), 1), ((1, 1), 1), ((), -1)]:
        run(op, shape, dim, device)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("dtype", [framework.float64, framework.float16, framework.bfloat16])
def test_scan_dtypes(device, op, dtype):
    out = run(op, (3, 6), 1, device, dtype=dtype)
    assert out[0].dtype == dtype


@pytest.mark.parametrize("op", sorted(OPS))
def test_scan_long_rows_carry_across_blocks(device, op):
    """Rows longer than the kernel's column block (256): the running carry joins the blocks."""
    data = RNG.uniform(0.95, 1.05, (1, 300)) if op == "cumprod" else _normal(1, 300)
    fw_fn, torch_fn, _ = OPS[op]
    check_op(lambda a: fw_fn(a, 1), lambda a: torch_fn(a, 1), [data], device=device,
             dtype=framework.float64, grad=op != "logcumsumexp", scale=300)


@pytest.mark.parametrize("op", ["cumsum", "cumprod", "cummax", "cummin"])
@pytest.mark.parametrize("dtype", [framework.int32, framework.int64, framework.bool])
def test_scan_integers(device, op, dtype):
    x = RNG.integers(-3, 4, (3, 5))
    if dtype is framework.bool:
        x = x > 0
    out = check_op(lambda a: getattr(framework, op)(a, 1), lambda a: getattr(torch, op)(a, 1), [x],
                   device=device, dtype=dtype)
    want = dtype if op in ("cummax", "cummin") else framework.int64
    assert out[0].dtype == want


def test_cumsum_cumprod_dtype_argument(device):
    x = RNG.integers(-3, 4, (3, 5))
    for name in ("cumsum", "cumprod"):
        out = check_op(lambda a: getattr(framework, name)(a, 1, dtype=framework.float64),
                       lambda a: getattr(torch, name)(a, 1, dtype=torch.float64), [x],
                       device=device, dtype=framework.int32)
        assert out[0].dtype == framework.float64
    out = check_op(lambda a: a.cumsum(0, dtype=framework.float64),
                   lambda a: a.cumsum(0, dtype=torch.float64), [_normal(4, 3)], device=device)
    assert out[0].dtype == framework.float64


@pytest.mark.parametrize("zeros", [[1, 3], [0, 1, 5]])
def test_cumprod_gradient_with_zeros(device, zeros):
    x = _away_from_zero(3, 6)
    x[0, zeros] = 0.0  # row 0: the zeros under test; row 1: one zero; row 2: none
    x[1, 2] = 0.0
    for dim, data in ((1, x), (0, x.T.copy())):
        check_op(lambda a: framework.cumprod(a, dim), lambda a: torch.cumprod(a, dim), [data],
                 device=device, dtype=framework.float64)


def test_cumprod_second_derivative_with_zeros():
    """Backward formulas are framework ops, the same on both devices: checked on cpu."""
    x = _away_from_zero(2, 4)
    x[0, 1] = 0.0
    t = framework.tensor(x, dtype=framework.float64, requires_grad=True)
    assert gradgradcheck(lambda a: framework.cumprod(a, 1), (t,))


def test_scan_second_derivatives():
    """Backward formulas are framework ops, the same on both devices: checked on cpu."""
    t = framework.tensor(_away_from_zero(2, 4), dtype=framework.float64, requires_grad=True)
    for fn in (lambda a: framework.cumsum(a, 1) ** 2, lambda a: framework.logcumsumexp(a, 1),
               lambda a: framework.cummax(a, 1).values ** 2, lambda a: framework.cummin(a, 0)[0] ** 2):
        assert gradgradcheck(fn, (t,))


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_cummin_ties_and_nan(device, op):
    x = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, 0.5], [2.0, np.nan, 1.0, np.nan, 5.0, 2.0],
                  [-1.0, -1.0, -1.0, -2.0, -2.0, 4.0]])
    out = check_op(lambda a: getattr(framework, op)(a, 1), lambda a: getattr(torch, op)(a, 1), [x],
                   device=device, dtype=framework.float64)
    result = getattr(framework, op)(framework.tensor(x, device=device), 1)
    assert type(result).__name__ == op and result.indices.dtype == framework.int64
    assert result.values.shape == out[0].shape


def test_scan_nan_and_inf(device):
    x = np.array([[1.0, np.nan, 2.0], [-np.inf, -np.inf, 0.0], [np.inf, 1.0, np.inf]])
    for op in ("cumsum", "logcumsumexp"):
        check_op(lambda a: getattr(framework, op)(a, 1), lambda a: getattr(torch, op)(a, 1), [x],
                 device=device, dtype=framework.float64, grad=False)


def test_scan_bad_input(device):
    x = framework.ones(2, 3, device=device)
    for op in ("cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"):
        with pytest.raises(IndexError, match=op):
            getattr(framework, op)(x, 2)
        with pytest.raises(TypeError, match=op):
            getattr(framework, op)(x, 1.0)
    with pytest.raises(RuntimeError, match="logcumsumexp"):
        framework.logcumsumexp(framework.ones(3, dtype=framework.int64, device=device), 0)
    with pytest.raises(TypeError, match="cumsum"):
        framework.cumsum([1, 2], 0)
