"""Reductions against PyTorch (float64 oracle) on cpu and cuda (Triton interpreter).

Each float op runs through ``check_op`` (forward and input gradient) over
several dims/keepdim combinations, dtypes, non-contiguous and edge shapes;
integer/bool inputs, ties, NaN/inf, the split (two-launch) Triton path,
second derivatives and bad input have their own tests.
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import framework
from framework.autograd import gradgradcheck
from helpers import check_op

RNG = np.random.default_rng(0)

# NaN/inf results (empty rows, N - correction <= 0) are expected: NumPy and the interpreter warn.
pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning")]


def _normal(*shape):
    return np.asarray(RNG.standard_normal(shape))


def _away_from_zero(*shape):
    """Values in ±[0.5, 1.5]: products stay moderate and gradients finite."""
    return np.asarray(RNG.uniform(0.5, 1.5, shape) * RNG.choice([-1.0, 1.0], shape))


def _torch_prod(x, dims, keepdim):
    """torch.prod takes one dim: reduce several one at a time, from the last."""
    dims = sorted((d % max(x.ndim, 1) for d in dims), reverse=True)
    if x.ndim == 0:
        return x.prod()
    for d in dims:
        x = x.prod(d, keepdim=keepdim)
    return x


# name -> (framework fn(x, dim, keepdim), torch fn(x, dims tuple, keepdim), data maker)
FLOAT_OPS = {
    "sum": (lambda x, d, k: framework.sum(x, d, k), lambda x, d, k: torch.sum(x, d, k), _normal),
    "mean": (lambda x, d, k: x.mean(d, k), lambda x, d, k: torch.mean(x, d, k), _normal),
    "prod": (lambda x, d, k: framework.prod(x, d, k), _torch_prod, _away_from_zero),
    "amax": (lambda x, d, k: framework.amax(x, () if d is None else d, k),
             lambda x, d, k: torch.amax(x, d, k), _normal),
    "amin": (lambda x, d, k: x.amin(() if d is None else d, k),
             lambda x, d, k: torch.amin(x, d, k), _normal),
    "var": (lambda x, d, k: framework.var(x, d, keepdim=k),
            lambda x, d, k: torch.var(x, d, keepdim=k), _normal),
    "std": (lambda x, d, k: x.std(d, keepdim=k), lambda x, d, k: torch.std(x, d, keepdim=k),
            _normal),
    "logsumexp": (lambda x, d, k: framework.logsumexp(x, tuple(range(x.ndim)) if d is None else d, k),
                  lambda x, d, k: torch.logsumexp(x, d, k), _normal),
}


def _all_dims(dim, ndim) -> tuple:
    if dim is None:
        return tuple(range(ndim))
    return (dim,) if isinstance(dim, int) else tuple(dim)


def run_case(op, shape, dim, keepdim, device, dtype=framework.float32, contiguous=True, data=None):
    """check_op of a FLOAT_OPS entry; atol scales with the number of reduced elements."""
    fw_fn, torch_fn, make = FLOAT_OPS[op]
    x = make(*shape) if data is None else data
    dims = _all_dims(dim, len(shape))
    count = math.prod(shape[d] for d in dims) if shape else 1
    return check_op(lambda a: fw_fn(a, dim, keepdim), lambda a: torch_fn(a, dims, keepdim), [x],
                    device=device, dtype=dtype, contiguous=contiguous, scale=max(count, 1))


DIM_CASES = [(None, False), (0, False), (1, True), (-1, False), ((0, 2), False), ((-1, 0), True),
             ((0, 1, 2), True)]


@pytest.mark.parametrize("op", sorted(FLOAT_OPS))
@pytest.mark.parametrize("dim,keepdim", DIM_CASES)
def test_float_ops_dims(device, op, dim, keepdim):
    run_case(op, (3, 4, 5), dim, keepdim, device)


@pytest.mark.parametrize("op", sorted(FLOAT_OPS))
@pytest.mark.parametrize("dtype", [framework.float64, framework.float16, framework.bfloat16])
def test_float_ops_dtypes(device, op, dtype):
    out = run_case(op, (4, 6), 1, False, device, dtype=dtype)
    assert out[0].dtype == dtype


@pytest.mark.parametrize("op", sorted(FLOAT_OPS))
@pytest.mark.parametrize("dim", [1, (0, 2), None])
def test_float_ops_non_contiguous(device, op, dim):
    run_case(op, (3, 4, 5), dim, False, device, contiguous=False)


@pytest.mark.parametrize("op", sorted(FLOAT_OPS))
@pytest.mark.parametrize("shape,dim", [((1, 4, 1), (0, 2)), ((1, 4, 1), -1), ((1,), 0), ((), None),
                                       ((), 0), ((0, 3), 1)])
def test_float_ops_size_one_and_zero(device, op, shape, dim):
    run_case(op, shape, dim, True, device)
    run_case(op, shape, dim, False, device)


@pytest.mark.parametrize("op", ["sum", "mean", "prod", "var", "std", "logsumexp"])
def test_empty_reduction_gives_identity(device, op):
    out = run_case(op, (0, 3), 0, False, device)  # sum 0, prod 1, mean/var NaN, logsumexp -inf
    assert tuple(out[0].shape) == (3,)


@pytest.mark.parametrize("op", ["amax", "amin", "max", "min", "argmax", "argmin"])
def test_empty_reduction_without_identity_raises(device, op):
    x = framework.zeros(0, 3, device=device)
    fn = getattr(framework, op)
    with pytest.raises(IndexError, match=f"{op}\\(\\): Expected reduction dim 0 to have non-zero size"):
        fn(x, 0)
    all_dims_error = IndexError if op.startswith("arg") else RuntimeError
    with pytest.raises(all_dims_error, match=f"{op}\\(\\): Expected reduction dim to be specified"):
        fn(x)
    assert tuple(fn(x, 1).shape if op.startswith("a") else fn(x, 1)[0].shape) == (0,)


# sum / mean / prod extras -----------------------------------------------------------------
def test_sum_dtype_argument(device):
    x = _normal(3, 4)
    out = check_op(lambda a: framework.sum(a, 1, dtype=framework.float64),
                   lambda a: torch.sum(a, 1, dtype=torch.float64), [x], device=device, scale=4)
    assert out[0].dtype == framework.float64
    out = check_op(lambda a: a.mean(dtype=framework.float64), lambda a: a.mean(dtype=torch.float64),
                   [x], device=device, scale=12)
    assert out[0].dtype == framework.float64


@pytest.mark.parametrize("zeros", [1, 2, 3])
def test_prod_gradient_with_zeros(device, zeros):
    x = _away_from_zero(3, 5)
    x[0, :zeros] = 0.0  # row 0: `zeros` zeros; row 1: one zero; row 2: none
    x[1, 3] = 0.0
    for dim in (1, None):
        dims = (1,) if dim == 1 else (0, 1)
        check_op(lambda a: framework.prod(a, dim), lambda a: _torch_prod(a, dims, False), [x],
                 device=device, scale=15, dtype=framework.float64)


@pytest.mark.parametrize("op", ["sum", "prod", "max", "amax", "min", "argmax", "argmin", "all", "any"])
@pytest.mark.parametrize("dtype", [framework.int32, framework.int64, framework.bool])
def test_integer_and_bool_inputs(device, op, dtype):
    x = RNG.integers(-3, 4, (4, 5))
    if dtype is framework.bool:
        x = x > 0
    if op in ("argmax", "argmin") and dtype is framework.bool:
        with pytest.raises(RuntimeError, match=f"{op}\\(\\): does not support bool input"):
            getattr(framework, op)(framework.tensor(x, device=device), 1)
        return
    for args in ((), (1,), (0, True)):
        out = check_op(lambda a: getattr(framework, op)(a, *args),
                       lambda a: getattr(torch, op)(a, *args), [x], device=device, dtype=dtype)
    expected = {"sum": framework.int64, "prod": framework.int64, "argmax": framework.int64,
                "argmin": framework.int64, "all": framework.bool, "any": framework.bool}
    assert out[0].dtype == expected.get(op, dtype)


# max / min / argmax / argmin ----------------------------------------------------------
@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, True), (-1, False)])
def test_max_min_with_dim(device, op, dim, keepdim):
    x = _normal(3, 4, 5)
    out = check_op(lambda a: getattr(framework, op)(a, dim, keepdim),
                   lambda a: getattr(torch, op)(a, dim, keepdim), [x], device=device)
    result = getattr(framework, op)(framework.tensor(x, device=device), dim=dim, keepdim=keepdim)
    assert type(result).__name__ == op and result.values.shape == out[0].shape
    assert result.indices.dtype == framework.int64


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin"])
def test_max_min_full_and_non_contiguous(device, op):
    check_op(lambda a: getattr(framework, op)(a), lambda a: getattr(torch, op)(a), [_normal(4, 5)],
             device=device, contiguous=False)
    if op in ("max", "min"):
        check_op(lambda a: getattr(a, op)(0), lambda a: getattr(a, op)(0), [_normal(4, 5)],
                 device=device, contiguous=False)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("args", [(), (0,), (1, True), (-1,), (None, True)])
def test_argmax_argmin(device, op, args):
    x = _normal(4, 5)
    for contiguous in (True, False):
        check_op(lambda a: getattr(framework, op)(a, *args), lambda a: getattr(torch, op)(a, *args),
                 [x], device=device, contiguous=contiguous)


def test_zero_dim_max_and_argmax(device):
    x = np.array(1.5)
    check_op(lambda a: framework.max(a, 0), lambda a: torch.max(a, 0), [x], device=device)
    check_op(lambda a: a.argmax(-1), lambda a: a.argmax(-1), [x], device=device)


TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 5.0, -2.0, 5.0]])


@pytest.mark.parametrize("op", ["amax", "amin", "max", "min"])
def test_ties_share_gradient_or_take_first_index(device, op):
    fn = getattr(framework, op)
    tfn = getattr(torch, op)
    check_op(lambda a: fn(a), lambda a: tfn(a), [TIES], device=device)   # all dims: shared evenly
    check_op(lambda a: fn(a, 1), lambda a: tfn(a, 1), [TIES], device=device)  # one dim
    for arg in ("argmax", "argmin"):
        check_op(lambda a: getattr(framework, arg)(a, 1), lambda a: getattr(torch, arg)(a, 1),
                 [TIES], device=device)


NAN, INF = float("nan"), float("inf")
SPECIAL = np.array([[1.0, NAN, 3.0, NAN], [-INF, -INF, -INF, -INF], [1.0, INF, 2.0, -INF],
                    [0.5, -0.5, 2.0, 1.0]])


@pytest.mark.parametrize("op", ["amax", "amin", "max", "min", "argmax", "argmin", "logsumexp",
                                "sum", "prod", "mean"])
def test_nan_and_inf(device, op):
    fn, tfn = getattr(framework, op), getattr(torch, op)
    if op in ("argmax", "argmin"):
        check_op(lambda a: fn(a, 1), lambda a: tfn(a, 1), [SPECIAL], device=device)
        return
    check_op(lambda a: fn(a, 1), lambda a: tfn(a, 1), [SPECIAL], device=device, grad=False)
    check_op(lambda a: fn(a, 1), lambda a: tfn(a, 1), [SPECIAL[[0, 3]]], device=device)


# all / any ---------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["all", "any"])
@pytest.mark.parametrize("args", [(), (0,), (1, True), ((0, 1),), ((),), (-1, False)])
def test_all_any(device, op, args):
    x = RNG.integers(0, 2, (3, 4)).astype(np.float64)
    x[0] = 1.0
    x[1] = 0.0
    for contiguous in (True, False):
        out = check_op(lambda a: getattr(framework, op)(a, *args),
                       lambda a: getattr(torch, op)(a, *args), [x], device=device,
                       contiguous=contiguous)
    assert out[0].dtype == framework.bool
    empty = np.zeros((0, 2))
    check_op(lambda a: getattr(framework, op)(a, 0), lambda a: getattr(torch, op)(a, 0), [empty],
             device=device)


# var / std arguments ------------------------------------------------------------------
@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("kwargs", [{"correction": 0}, {"correction": 2}, {"unbiased": False},
                                    {"unbiased": True, "keepdim": True}])
def test_var_std_correction(device, op, kwargs):
    x = _normal(3, 6)
    check_op(lambda a: getattr(framework, op)(a, 1, **kwargs),
             lambda a: getattr(torch, op)(a, 1, **kwargs), [x], device=device, scale=6)


@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_positional_unbiased_and_single_element(device, op):
    x = _normal(3, 6)
    check_op(lambda a: getattr(framework, op)(a, False), lambda a: getattr(torch, op)(a, False), [x],
             device=device, scale=18)
    # one element per row: N - correction = 0 gives NaN, as in PyTorch
    check_op(lambda a: getattr(framework, op)(a, 1), lambda a: getattr(torch, op)(a, 1),
             [_normal(3, 1)], device=device, grad=False)


def test_var_std_large_mean_is_stable(device, monkeypatch):
    x = 1e4 + _normal(4, 64)
    check_op(lambda a: framework.var(a, 1), lambda a: torch.var(a, 1), [x], device=device,
             dtype=framework.float32, rtol=1e-3, atol=1e-3, grad=False)
    if device == "cuda":  # and through the split path's chunk merge
        from framework._backends.triton import runtime
        monkeypatch.setattr(runtime.kernels().reduce, "SPLIT_MIN_COLS", 8)
        check_op(lambda a: framework.var(a, 1), lambda a: torch.var(a, 1), [x], device=device,
                 dtype=framework.float32, rtol=1e-3, atol=1e-3, grad=False)


def test_var_mean_std_mean(device):
    x = _normal(3, 5)
    check_op(lambda a: framework.var_mean(a, 1), lambda a: torch.var_mean(a, 1), [x], device=device,
             scale=5)
    check_op(lambda a: framework.std_mean(a, (0, 1), correction=0),
             lambda a: torch.std_mean(a, (0, 1), correction=0), [x], device=device, scale=15)


def test_logsumexp_integer_input_and_large_values(device):
    x = RNG.integers(-3, 4, (3, 4))
    out = check_op(lambda a: framework.logsumexp(a, 1), lambda a: torch.logsumexp(a, 1), [x],
                   device=device, dtype=framework.int64, atol=1e-5, rtol=1e-5)
    assert out[0].dtype == framework.float32
    big = 500.0 + _normal(3, 4)  # exp overflows without the max shift
    check_op(lambda a: framework.logsumexp(a, 1), lambda a: torch.logsumexp(a, 1), [big],
             device=device, rtol=1e-5, atol=1e-3)


# two-launch (split) path of the Triton backend -----------------------------------------
@pytest.mark.parametrize("op", ["sum", "mean", "prod", "amax", "amin", "logsumexp", "var", "std"])
def test_split_rows_triton(monkeypatch, op):
    from framework._backends.triton import runtime
    monkeypatch.setattr(runtime.kernels().reduce, "SPLIT_MIN_COLS", 8)
    run_case(op, (2, 100), 1, False, "cuda")  # 12 chunks of 9 columns, the last of 1
    run_case(op, (99,), None, False, "cuda", dtype=framework.float64)


@pytest.mark.parametrize("op", ["argmax", "argmin", "max", "min"])
def test_split_rows_triton_arg(monkeypatch, op):
    from framework._backends.triton import runtime
    monkeypatch.setattr(runtime.kernels().reduce, "SPLIT_MIN_COLS", 8)
    x = np.round(_normal(3, 40), 1)  # many ties across chunks: the first index must win
    x[1, 12] = x[1, 35] = 9.0
    x[1, 13] = x[1, 36] = -9.0
    x[2, 20] = x[2, 38] = NAN
    for dim in (1, None):
        args = (dim,) if dim is not None else ()
        check_op(lambda a: getattr(framework, op)(a, *args), lambda a: getattr(torch, op)(a, *args),
                 [x], device="cuda", dtype=framework.float64)


@pytest.mark.parametrize("op", ["all", "any"])
def test_split_rows_triton_logical(monkeypatch, op):
    from framework._backends.triton import runtime
    monkeypatch.setattr(runtime.kernels().reduce, "SPLIT_MIN_COLS", 8)
    x = np.ones((2, 100))
    x[1, 77] = 0.0
    check_op(lambda a: getattr(framework, op)(a, 1), lambda a: getattr(torch, op)(a, 1), [x],
             device="cuda")
    check_op(lambda a: getattr(framework, op)(a, 1), lambda a: getattr(torch, op)(a, 1),
             [1.0 - x], device="cuda")


# sum_to_size and elementwise max/min --------------------------------------------------
@pytest.mark.parametrize("in_shape,size", [((2, 3, 5), (1, 5)), ((2, 3, 5), (5,)), ((3, 5), (3, 1)),
                                           ((2, 3, 5), (1, 1)), ((3, 5), (3, 5)), ((4, 1, 3), (1, 3))])
def test_sum_to_size(device, in_shape, size):
    check_op(lambda a: a.sum_to_size(size), lambda a: a.sum_to_size(size), [_normal(*in_shape)],
             device=device, scale=10)
    check_op(lambda a: framework.ops.reduce.sum_to_size(a, *size), lambda a: a.sum_to_size(*size),
             [_normal(*in_shape)], device=device, scale=10, contiguous=False)


def test_sum_to_size_returns_input_when_shapes_match(device):
    x = framework.ones(2, 3, device=device)
    assert x.sum_to_size(2, 3) is x
    with pytest.raises(RuntimeError, match="sum_to_size"):
        x.sum_to_size(2, 2)


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_with_other_tensor_is_elementwise(device, op):
    check_op(lambda a, b: getattr(framework, op)(a, b), lambda a, b: getattr(torch, op)(a, b),
             [_normal(3, 4), _normal(4)], device=device)


# second derivatives --------------------------------------------------------------------
GRADGRAD_CASES = {
    "sum": lambda x: framework.sum(x * x, 1),
    "mean": lambda x: (x * x).mean((0, 1)),
    "prod": lambda x: framework.prod(x, 1),
    "amax": lambda x: framework.amax(x * x, 1),
    "max_dim": lambda x: framework.max(x * x, 0).values,
    "var": lambda x: framework.var(x, 1),
    "std": lambda x: framework.std(x, 0),
    "logsumexp": lambda x: framework.logsumexp(x, 1),
}


@pytest.mark.parametrize("name", sorted(GRADGRAD_CASES))
def test_gradgradcheck(device, name):
    data = _away_from_zero(2, 3)
    if name == "prod":
        data[0, 1] = 0.0  # one zero in row 0
    x = framework.tensor(data, dtype=framework.float64, device=device, requires_grad=True)
    assert gradgradcheck(GRADGRAD_CASES[name], (x,))


def test_gradgradcheck_prod_two_zeros(device):
    data = _away_from_zero(1, 4)
    data[0, 1] = data[0, 3] = 0.0
    x = framework.tensor(data, dtype=framework.float64, device=device, requires_grad=True)
    assert gradgradcheck(lambda a: framework.prod(a, 1), (x,))


# hypothesis: random shapes, dims and keepdim -------------------------------------------
@st.composite
def shapes_and_dims(draw):
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=4)))
    ndim = len(shape)
    if ndim == 0 or draw(st.booleans()):
        dim = None
    else:
        picked = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        dim = tuple(d - ndim if draw(st.booleans()) else d for d in picked)
    return shape, dim, draw(st.booleans())


@pytest.mark.parametrize("device_name", ["cpu", "cuda"])
@settings(max_examples=12, deadline=None)
@given(case=shapes_and_dims(), op=st.sampled_from(sorted(FLOAT_OPS)),
       contiguous=st.booleans())
def test_hypothesis_shapes(device_name, case, op, contiguous):
    shape, dim, keepdim = case
    count = math.prod(shape[d] for d in _all_dims(dim, len(shape)))
    if op in ("amax", "amin") and count == 0:
        return  # no identity: covered by test_empty_reduction_without_identity_raises
    run_case(op, shape, dim, keepdim, device_name, contiguous=contiguous)


# bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["sum", "mean", "prod", "amax", "amin", "var", "std", "logsumexp",
                                "all", "any", "max", "min", "argmax", "argmin"])
def test_bad_input(device, op):
    fn = getattr(framework, op)
    x = framework.ones(2, 3, device=device)
    with pytest.raises(IndexError, match="Dimension out of range"):
        fn(x, 2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        fn(x, -3)
    with pytest.raises(TypeError, match=f"{op}\\(\\)"):
        fn([1.0, 2.0], 0)
    with pytest.raises(TypeError, match=f"{op}\\(\\)"):
        fn(x, 0, "yes")
    with pytest.raises(TypeError, match=f"{op}\\(\\)"):
        fn(x, 1.5)


@pytest.mark.parametrize("op", ["mean", "var", "std"])
def test_float_only_ops_reject_integers(device, op):
    x = framework.ones(2, 3, dtype=framework.int64, device=device)
    with pytest.raises(RuntimeError, match=op):
        getattr(framework, op)(x)
    with pytest.raises(RuntimeError, match=op):
        getattr(framework, op)(x, 1)


def test_duplicate_dims_and_conflicting_arguments(device):
    x = framework.ones(2, 3, device=device)
    with pytest.raises(RuntimeError, match="sum\\(\\): dim .* multiple times"):
        framework.sum(x, (0, -2))
    with pytest.raises(TypeError, match="var\\(\\)"):
        framework.var(x, 1, True, correction=1)
    with pytest.raises(TypeError, match="max\\(\\)"):
        framework.max(x, (0, 1))
    with pytest.raises(TypeError, match="argmax\\(\\)"):
        framework.argmax(x, (0, 1))


NORM_CASES = [("fro", None, False), (2, 1, True), (1, 0, False), (math.inf, 1, False),
              (-math.inf, None, False), (3, (0, 1), False), (0, 1, False)]


@pytest.mark.parametrize("p,dim,keepdim", NORM_CASES)
def test_norm_matches_torch(device, p, dim, keepdim):
    x = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.5]])
    check_op(lambda t: t.norm(p, dim, keepdim), lambda t: t.norm(p, dim, keepdim), [x],
             device=device, grad=p != 0)


def test_norm_gradient_is_zero_at_zero(device):
    check_op(lambda t: framework.norm(t), lambda t: torch.norm(t), [np.zeros((2, 3))], device=device)


def test_norm_rejects_integers_and_unknown_p(device):
    with pytest.raises(RuntimeError, match="norm"):
        framework.ones(3, dtype=framework.int64, device=device).norm()
    with pytest.raises(RuntimeError, match="norm"):
        framework.ones(3, device=device).norm("nuc")


@pytest.mark.parametrize("p", [0.5, -1, 3])
def test_norm_gradient_masks_zeros_for_any_p(device, p):
    x = np.array([[0.0, 0.0, 0.0], [0.0, 2.0, -1.0]])
    check_op(lambda t: t.norm(p, dim=1), lambda t: t.norm(p, dim=1), [x], device=device)


def test_norm_p0_is_differentiable_with_zero_gradient(device):
    check_op(lambda t: t.norm(0), lambda t: t.norm(0), [np.array([0.0, 2.0, -1.0])], device=device)


def test_norm_p0_of_bfloat16_counts_nonzeros(device):
    x = framework.tensor([[0.0, 1.0, 2.0], [3.0, 0.0, -1.0]], dtype=framework.bfloat16,
                         device=device)
    assert x.norm(0).item() == 4.0


def test_sum_to_size_promotes_integers_like_sum(device):
    x = framework.tensor([[1, 2], [3, 4]], dtype=framework.int32, device=device)
    assert x.sum_to_size(1, 2).dtype is framework.int64
    assert x.sum_to_size(1, 2).tolist() == [[4, 6]]
    assert x.sum_to_size(2, 2).dtype is framework.int32  # nothing to sum: input itself


def test_numpy_style_axis_keepdims_and_integer_dims(device):
    x = np.array([[1.0, 5.0, 2.0], [4.0, 3.0, 6.0]])
    check_op(lambda t: t.sum(axis=0, keepdims=True), lambda t: t.sum(axis=0, keepdims=True), [x],
             device=device)
    check_op(lambda t: framework.mean(t, axis=np.int64(1)), lambda t: torch.mean(t, axis=1), [x],
             device=device)
    check_op(lambda t: t.amax(axis=(np.int32(0), 1)), lambda t: t.amax(axis=(0, 1)), [x],
             device=device)
    t = framework.tensor(x, device=device)
    assert t.max(axis=1).indices.tolist() == [1, 2]
    assert t.argmin(np.int64(0)).tolist() == [0, 1, 0]
    with pytest.raises(TypeError, match="sum"):
        t.sum(dim=0, axis=0)


def test_logsumexp_of_very_negative_rows(device):
    x = np.array([[-1000.0, -1000.5], [-100.0, -89.0], [-np.inf, -200.0]])
    check_op(lambda t: framework.logsumexp(t, 1), lambda t: torch.logsumexp(t, 1), [x],
             device=device)


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1), -1])
def test_count_nonzero(device, dim):
    x = RNG.integers(-1, 2, (4, 5)).astype(np.float64)
    x[0, 0] = np.nan  # NaN is not zero
    got = framework.count_nonzero(framework.tensor(x, device=device), dim)
    want = torch.count_nonzero(torch.tensor(x), dim)
    assert got.dtype is framework.int64
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())
    method = framework.tensor(x, device=device).count_nonzero(dim=dim)
    np.testing.assert_array_equal(method.cpu().numpy(), want.numpy())


# (device, dtype) of the half-precision rounding tests: bfloat16 on cpu only, as the Triton
# interpreter (cuda in CI) casts float32 to bfloat16 by truncation, not to nearest as GPUs
# and NumPy do, so half its roundings differ from torch's whatever the op computes
HALF_CASES = [("cpu", "bfloat16"), ("cpu", "float16"), ("cuda", "float16")]


@pytest.mark.parametrize("device, dtype", HALF_CASES)
def test_half_euclidean_norm_rounds_once_like_torch(device, dtype):
    """The 2-norm of half tensors is summed and square-rooted in float32 and rounded once,
    as torch's (squaring, summing and rooting in the half type rounded three times)."""
    ours_dtype, torch_dtype = getattr(framework, dtype), getattr(torch, dtype)
    rng = np.random.default_rng(9)
    rows = rng.standard_normal((40, 300)) * 0.5
    ours = framework.tensor(rows, dtype=ours_dtype, device=device).norm(dim=1)
    theirs = torch.tensor(rows, dtype=torch_dtype).norm(dim=1)
    assert ours.dtype is ours_dtype
    assert (ours.float().cpu().numpy() != theirs.float().numpy()).sum() <= 1
    whole = framework.tensor(rows, dtype=ours_dtype, device=device).norm()
    assert whole.float().item() == torch.tensor(rows, dtype=torch_dtype).norm().float().item()


@pytest.mark.parametrize("op", ["all", "any"])
def test_all_any_keep_uint8_for_uint8_input(device, op):
    """PyTorch keeps uint8 (its legacy mask type) for uint8 input; other dtypes give bool."""
    values = np.array([[1, 0, 3], [2, 5, 1]])
    for args in ((), (0,), (1, True)):
        ours = getattr(framework, op)(framework.tensor(values, dtype=framework.uint8,
                                                       device=device), *args)
        theirs = getattr(torch, op)(torch.tensor(values, dtype=torch.uint8), *args)
        assert ours.dtype is framework.uint8 and theirs.dtype == torch.uint8
        np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())
    assert getattr(framework, op)(framework.tensor(values, device=device)).dtype is framework.bool
