"""scatter(reduce=), scatter_reduce and index_reduce (+ in-place forms) against PyTorch."""
import numpy as np
import pytest
import torch
from helpers import assert_close, check_device_error, check_op, make_input

import framework

RNG = np.random.default_rng(77)
REDUCTIONS = ["sum", "prod", "mean", "amax", "amin"]
# Index (3, 4) into a (4, 5) input along dim 0, with duplicates in every column.
INDEX = np.array([[0, 1, 3, 0], [3, 0, 1, 0], [0, 1, 1, 0]])


def _tied(shape):
    """Values from a small set (ties for amax/amin, zeros for prod) as float64."""
    return RNG.integers(-2, 3, size=shape).astype(np.float64)


def _index(device, array=INDEX):
    return framework.tensor(array, device=device), torch.tensor(array)


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(device, reduce, include_self):
    fi, ti = _index(device)
    check_op(lambda x, s: x.scatter_reduce(0, fi, s, reduce, include_self=include_self),
             lambda x, s: x.scatter_reduce(0, ti, s, reduce, include_self=include_self),
             [RNG.standard_normal((4, 5)), RNG.standard_normal((3, 4))], device=device)


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_ties_and_zeros(device, reduce, include_self):
    # Ties split the amax/amin gradient evenly; zeros (one or several per target) in prod.
    fi, ti = _index(device)
    check_op(lambda x, s: framework.scatter_reduce(x, 0, fi, s, reduce, include_self=include_self),
             lambda x, s: torch.scatter_reduce(x, 0, ti, s, reduce, include_self=include_self),
             [_tied((4, 5)), _tied((3, 4))], device=device, dtype=framework.float64)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_dim1_non_contiguous(device, reduce):
    index = np.array([[2, 0, 2], [1, 1, 1]])
    fi, ti = _index(device, index)
    check_op(lambda x, s: x.scatter_reduce(1, fi, s, reduce),
             lambda x, s: x.scatter_reduce(1, ti, s, reduce),
             [RNG.standard_normal((3, 3)), RNG.standard_normal((2, 3))], device=device,
             contiguous=False)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_src_larger_than_index(device, reduce):
    # Only index's part of src is used (PyTorch has no gradient for this case: forward only).
    fi, ti = _index(device, np.array([[2, 0, 2], [1, 1, 1]]))
    check_op(lambda x, s: x.scatter_reduce(1, fi, s, reduce),
             lambda x, s: x.scatter_reduce(1, ti, s, reduce),
             [RNG.standard_normal((3, 3)), RNG.standard_normal((3, 4))], device=device,
             grad=False)


def test_scatter_reduce_empty_index_and_scalar(device):
    fi, ti = _index(device, np.zeros((0, 2), dtype=np.int64))
    check_op(lambda x, s: x.scatter_reduce(0, fi, s, "amax"),
             lambda x, s: x.scatter_reduce(0, ti, s, "amax"),
             [RNG.standard_normal((2, 2)), RNG.standard_normal((1, 2))], device=device)
    fi, ti = _index(device, np.array(0))
    check_op(lambda x, s: x.scatter_reduce(0, fi, s, "prod"),
             lambda x, s: x.scatter_reduce(0, ti, s, "prod"),
             [np.array(1.5), np.array(-2.0)], device=device)


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("dtype", ["int64", "int32", "float16", "bfloat16"])
def test_scatter_reduce_dtypes(device, reduce, dtype):
    fi, ti = _index(device)
    x, s = RNG.integers(-4, 5, size=(4, 5)), RNG.integers(-4, 5, size=(3, 4))
    fw_dtype = getattr(framework, dtype)
    got = framework.tensor(x, dtype=fw_dtype, device=device).scatter_reduce(
        0, fi, framework.tensor(s, dtype=fw_dtype, device=device), reduce)
    want = torch.tensor(x, dtype=getattr(torch, dtype)).scatter_reduce(
        0, ti, torch.tensor(s, dtype=getattr(torch, dtype)), reduce)
    assert got.dtype is fw_dtype
    assert_close(got, want.double() if want.is_floating_point() else want, 0.05, 0.02)


@pytest.mark.parametrize("reduce", ["amax", "amin", "prod", "sum"])
def test_scatter_reduce_nan_propagates(device, reduce):
    x = np.array([1.0, 2.0, 3.0])
    s = np.array([np.nan, 5.0, -1.0, 4.0])
    index = np.array([0, 0, 2, 2])
    fi, ti = _index(device, index)
    check_op(lambda x, s: x.scatter_reduce(0, fi, s, reduce),
             lambda x, s: x.scatter_reduce(0, ti, s, reduce), [x, s], device=device, grad=False)


def test_scatter_reduce_inplace(device):
    fi, ti = _index(device)
    x, s = RNG.standard_normal((4, 5)), RNG.standard_normal((3, 4))

    def fw(x, s):
        y = x * 1
        out = y.scatter_reduce_(0, fi, s, "amax", include_self=False)
        assert out is y
        return y

    def th(x, s):
        return (x * 1).scatter_reduce_(0, ti, s, "amax", include_self=False)
    check_op(fw, th, [x, s], device=device)


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_with_reduce(device, reduce):
    fi, ti = _index(device)
    x, s = RNG.standard_normal((4, 5)), RNG.standard_normal((3, 4))
    check_op(lambda x, s: x.scatter(0, fi, s, reduce=reduce),
             lambda x, s: x.scatter(0, ti, s, reduce=reduce), [x, s], device=device, grad=False)
    check_op(lambda x: framework.scatter(x, 0, fi, value=1.5, reduce=reduce),
             lambda x: torch.scatter(x, 0, ti, value=1.5, reduce=reduce), [x], device=device,
             grad=False)
    y = make_input(x, framework.float32, device)
    assert y.scatter_(0, fi, make_input(s, framework.float32, device), reduce=reduce) is y
    assert_close(y, torch.tensor(x).scatter_(0, ti, torch.tensor(s), reduce=reduce), 1e-5, 1e-5)


def test_scatter_with_reduce_has_no_derivative(device):
    # As in PyTorch: the forward records a node whose backward raises RuntimeError.
    fi, _ = _index(device)
    x = framework.randn(4, 5, device=device, requires_grad=True)
    y = x.scatter(0, fi, framework.randn(3, 4, device=device), reduce="add")
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
        y.sum().backward()


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce(device, reduce, include_self):
    index = np.array([2, 0, 2, 3, 2])
    fi, ti = _index(device, index)
    check_op(lambda x, s: x.index_reduce(1, fi, s, reduce, include_self=include_self),
             lambda x, s: x.index_reduce(1, ti, s, reduce, include_self=include_self),
             [_tied((3, 4)), _tied((3, 5))], device=device, dtype=framework.float64)


def test_index_reduce_inplace_non_contiguous(device):
    fi, ti = _index(device, np.array([1, 1, 0]))

    def fw(x, s):
        y = x * 1
        assert y.index_reduce_(0, fi, s, "mean") is y
        return y
    check_op(fw, lambda x, s: (x * 1).index_reduce_(0, ti, s, "mean"),
             [RNG.standard_normal((2, 3)), RNG.standard_normal((3, 3))], device=device,
             contiguous=False)


def test_bad_inputs(device):
    fi, _ = _index(device)
    x = framework.randn(4, 5, device=device)
    s = framework.randn(3, 4, device=device)
    with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean"):
        x.scatter_reduce(0, fi, s, "max")
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply"):
        x.scatter(0, fi, s, reduce="mean")
    # out-of-range indices: at the call on cpu, at the next sync on cuda (device-side check)
    check_device_error(device, lambda: x.scatter_reduce(0, fi + 4, s, "sum"), "out of bounds")
    with pytest.raises(RuntimeError, match="self.dtype to be equal to src.dtype"):
        x.scatter_reduce(0, fi, s.double(), "sum")
    with pytest.raises(RuntimeError, match="Expected dtype int64 for index"):
        x.scatter_reduce(0, fi.float(), s, "sum")
    with pytest.raises(IndexError):
        x.scatter_reduce(2, fi, s, "sum")
    with pytest.raises(RuntimeError, match="Expected reduce to be one of prod, mean, amax or amin"):
        x.index_reduce(0, framework.tensor([0, 1, 2], device=device), s, "sum")
    bad_rows = framework.tensor([0, 7, 2], device=device)
    if device == "cpu":
        with pytest.raises(IndexError, match="index out of range in self"):
            x.index_reduce(0, bad_rows, framework.randn(3, 5, device=device), "prod")
    else:
        check_device_error(device, lambda: x.index_reduce(0, bad_rows,
                                                          framework.randn(3, 5, device=device),
                                                          "prod"), "out of bounds")
    with pytest.raises(TypeError):
        x.scatter_reduce(0, fi, 1.0, "sum")


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax"])
def test_scatter_reduce_double_backward(device, reduce):
    # Backward is written in differentiable ops: second derivatives match PyTorch's.
    x, s = RNG.standard_normal((4, 5)), RNG.standard_normal((3, 4))
    fi, ti = _index(device)
    fx = framework.tensor(x, device=device, requires_grad=True)
    fs = framework.tensor(s, device=device, requires_grad=True)
    tx, ts = torch.tensor(x, requires_grad=True), torch.tensor(s, requires_grad=True)
    (gs,) = framework.autograd.grad([(fx.scatter_reduce(0, fi, fs, reduce) ** 2).sum()], [fs],
                                    create_graph=True)
    (tgs,) = torch.autograd.grad([(tx.scatter_reduce(0, ti, ts, reduce) ** 2).sum()], [ts],
                                 create_graph=True)
    got = framework.autograd.grad([gs.sum()], [fx, fs])
    want = torch.autograd.grad([tgs.sum()], [tx, ts])
    for a, b in zip(got, want):
        assert_close(a, b, 1e-4, 1e-4)
