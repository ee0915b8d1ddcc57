"""Sorting and counting against PyTorch (float64 oracle) on cpu and cuda (Triton interpreter).

sort/argsort/topk: values, indices (stable order for ties) and gradients over
dims, dtypes, non-contiguous and edge shapes, NaN, rows longer than one
bitonic block (the merge passes); unique, bincount, searchsorted: results
against torch; second derivatives and bad input.
"""
import numpy as np
import pytest
import torch

import framework
from framework.autograd import gradgradcheck
from helpers import check_op

RNG = np.random.default_rng(0)


def _normal(*shape):
    return np.asarray(RNG.standard_normal(shape))


def _with_ties(*shape):
    """Small integers as floats: many equal values."""
    return RNG.integers(-2, 3, shape).astype(np.float64)


def _torch_sort(dim, descending):
    return lambda a: torch.sort(a, dim=dim, descending=descending, stable=True)


# sort / argsort ---------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort(device, dim, descending):
    check_op(lambda a: framework.sort(a, dim, descending, stable=True), _torch_sort(dim, descending),
             [_normal(3, 4, 5)], device=device)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_ties_are_stable_and_non_contiguous(device, descending):
    for contiguous in (True, False):
        check_op(lambda a: a.sort(dim=1, descending=descending, stable=True),
                 _torch_sort(1, descending), [_with_ties(3, 9)], device=device,
                 contiguous=contiguous)


def test_sort_nan_and_signed_zeros(device):
    x = np.array([[3.0, np.nan, 1.0, -np.inf, np.nan, 1.0, -0.0, 0.0, np.inf]])
    for descending in (False, True):
        check_op(lambda a: framework.sort(a, -1, descending, stable=True),
                 _torch_sort(-1, descending), [x], device=device, dtype=framework.float64)


@pytest.mark.parametrize("shape,dim", [((0, 3), 0), ((0, 3), 1), ((1, 1), 0), ((1,), 0), ((), 0),
                                       ((), -1)])
def test_sort_edge_shapes(device, shape, dim):
    check_op(lambda a: framework.sort(a, dim), _torch_sort(dim, False), [_normal(*shape)],
             device=device)


@pytest.mark.parametrize("dtype", [framework.float64, framework.float16, framework.bfloat16,
                                   framework.int32, framework.int64, framework.bool])
def test_sort_dtypes(device, dtype):
    x = _with_ties(4, 6)
    if dtype is framework.bool:
        x = x > 0
    out = check_op(lambda a: framework.sort(a, 1, True, stable=True), _torch_sort(1, True), [x],
                   device=device, dtype=dtype)
    assert out[0].dtype == dtype and out[1].dtype == framework.int64


def test_sort_long_rows_merge_passes(device):
    """Rows longer than one bitonic block (256) are sorted in blocks and merged."""
    x = _with_ties(1, 600)  # 3 blocks: two merge passes, ties across blocks
    x[0, ::97] = np.nan
    check_op(lambda a: framework.sort(a, 1, True, stable=True), _torch_sort(1, True), [x],
             device=device, dtype=framework.float64, grad=False)
    check_op(lambda a: framework.sort(a, 0, stable=True), _torch_sort(0, False), [_normal(300, 1)],
             device=device, dtype=framework.float32)


def test_argsort(device):
    for kwargs in ({}, {"dim": 0}, {"dim": 1, "descending": True}):
        check_op(lambda a: framework.argsort(a, stable=True, **kwargs),
                 lambda a: torch.argsort(a, stable=True, **kwargs), [_with_ties(4, 5)],
                 device=device)
    check_op(lambda a: a.argsort(descending=True, stable=True),
             lambda a: a.argsort(descending=True, stable=True), [_normal(6)], device=device)


def test_sort_second_derivative():
    """Backward formulas are framework ops, the same on both devices: checked on cpu."""
    x = framework.tensor(_normal(3, 4), dtype=framework.float64, requires_grad=True)
    assert gradgradcheck(lambda a: framework.sort(a, 1).values ** 2, (x,))
    assert gradgradcheck(lambda a: framework.topk(a, 2, 0).values ** 2, (x,))


def test_sort_bad_input(device):
    x = framework.ones(2, 3, device=device)
    with pytest.raises(IndexError, match="sort"):
        framework.sort(x, 2)
    with pytest.raises(TypeError, match="sort"):
        framework.sort(x, 1.0)
    with pytest.raises(TypeError, match="sort"):
        framework.sort([1, 2])


# topk -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k,dim,largest", [(1, 1, True), (3, 1, False), (2, 0, True), (5, -1, True),
                                           (0, 1, True)])
def test_topk(device, k, dim, largest):
    for contiguous in (True, False):
        check_op(lambda a: framework.topk(a, k, dim, largest), lambda a: torch.topk(a, k, dim, largest),
                 [_normal(3, 5)], device=device, contiguous=contiguous)


def test_topk_ties_nan_and_dtypes(device):
    x = _with_ties(3, 7)
    x[1, 2] = np.nan
    values = framework.topk(framework.tensor(x, device=device), 3, 1).values
    expected = torch.topk(torch.tensor(x), 3, 1).values
    np.testing.assert_array_equal(values.cpu().numpy(), expected.numpy())
    for dtype, data in ((framework.int32, _with_ties(3, 5)), (framework.float16, _normal(3, 5))):
        out = check_op(lambda a: a.topk(2, largest=False).values,
                       lambda a: a.topk(2, largest=False).values, [data], device=device,
                       dtype=dtype)
        assert out[0].dtype == dtype
    result = framework.topk(framework.tensor(x, device=device), 2)
    assert type(result).__name__ == "topk" and result.indices.dtype == framework.int64


def test_topk_bad_input(device):
    x = framework.ones(2, 3, device=device)
    with pytest.raises(RuntimeError, match="topk\\(\\): selected index k out of range"):
        framework.topk(x, 4)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        framework.topk(x, -1)
    with pytest.raises(IndexError, match="topk"):
        framework.topk(x, 1, 2)
    with pytest.raises(RuntimeError, match="topk\\(\\): topk does not support bool"):
        framework.topk(framework.ones(3, dtype=framework.bool, device=device), 1)



# kthvalue / median / nanmedian ------------------------------------------------------------------
@pytest.mark.parametrize("k, dim, keepdim", [(1, 1, False), (3, 1, True), (2, 0, False), (5, -1, False)])
def test_kthvalue(device, k, dim, keepdim):
    for contiguous in (True, False):
        check_op(lambda a: framework.kthvalue(a, k, dim, keepdim),
                 lambda a: torch.kthvalue(a, k, dim, keepdim), [_normal(3, 5)], device=device,
                 contiguous=contiguous)
    check_op(lambda a: a.kthvalue(2).values, lambda a: a.kthvalue(2).values, [_normal(2, 4)],
             device=device)


@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, False), (0, True), (-1, True)])
@pytest.mark.parametrize("fn", ["median", "nanmedian"])
def test_median(device, fn, dim, keepdim):
    """Lower median (the ((n - 1) // 2)-th smallest): odd and even lengths, with and without
    dim; its gradient goes to the chosen element."""
    for shape in ((3, 5), (4, 6)):
        if dim is None:
            check_op(lambda a: getattr(framework, fn)(a), lambda a: getattr(torch, fn)(a),
                     [_normal(*shape)], device=device)
        else:
            check_op(lambda a: getattr(a, fn)(dim, keepdim), lambda a: getattr(a, fn)(dim, keepdim),
                     [_normal(*shape)], device=device, contiguous=False)


def test_median_nan_int_and_edge_shapes(device):
    """median propagates NaN (its index: the first NaN), nanmedian skips NaN (all-NaN rows give
    NaN); integer inputs, 0-d inputs and the namedtuple name as torch."""
    x = np.array([[3.0, 1.0, 2.0, 4.0], [1.0, np.nan, 0.0, 5.0], [np.nan, 1.0, np.nan, 2.0],
                  [np.nan, np.nan, np.nan, np.nan]])
    for fn in ("median", "nanmedian"):
        got = getattr(framework, fn)(framework.tensor(x, device=device), 1)
        want = getattr(torch, fn)(torch.tensor(x), 1)
        assert type(got).__name__ == fn
        np.testing.assert_array_equal(got.values.cpu().numpy(), want.values.numpy())
        rows = 3 if fn == "nanmedian" else 4  # an all-NaN row's index is torch's choice
        np.testing.assert_array_equal(got.indices.cpu().numpy()[:rows], want.indices.numpy()[:rows])
        whole = getattr(framework, fn)(framework.tensor(x, device=device)).item()
        np.testing.assert_equal(whole, getattr(torch, fn)(torch.tensor(x)).item())
    ints = framework.tensor([3, 1, 2, 5], device=device)
    assert framework.median(ints).item() == 2 and framework.median(ints).dtype is framework.int64
    scalar = framework.median(framework.tensor(2.0, device=device), 0)
    assert scalar.values.item() == 2.0 and scalar.indices.item() == 0
    assert np.isnan(framework.median(framework.zeros(0, device=device)).item())


def test_kthvalue_median_bad_input(device):
    x = framework.ones(2, 3, device=device)
    for k in (0, 4):
        with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range"):
            framework.kthvalue(x, k, 1)
    with pytest.raises(IndexError, match="median"):
        framework.median(framework.zeros(2, 0, device=device), 1)
    with pytest.raises(IndexError, match="median"):
        framework.median(x, 2)

# unique -------------------------------------------------------------------------------------------
def _compare(got, want):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.cpu().numpy(), w.numpy())
        assert tuple(g.shape) == tuple(w.shape)


@pytest.mark.parametrize("flags", [(False, False), (True, False), (False, True), (True, True)])
def test_unique(device, flags):
    x = RNG.integers(0, 6, (4, 5))
    _compare(framework.unique(framework.tensor(x, device=device), return_inverse=flags[0],
                              return_counts=flags[1]),
             torch.unique(torch.tensor(x), return_inverse=flags[0], return_counts=flags[1]))


def test_unique_floats_nan_bool_and_empty(device):
    x = np.array([[3.0, np.nan, 1.0], [1.0, -0.0, 0.0]])
    _compare(framework.tensor(x, device=device).unique(return_inverse=True, return_counts=True),
             torch.tensor(x).unique(return_inverse=True, return_counts=True))
    two_nans = np.array([np.nan, 2.0, np.nan])  # each NaN is its own value
    _compare(framework.unique(framework.tensor(two_nans, device=device), return_counts=True),
             torch.unique(torch.tensor(two_nans), return_counts=True))
    flags = np.array([True, False, True])
    _compare(framework.unique(framework.tensor(flags, device=device), return_inverse=True),
             torch.unique(torch.tensor(flags), return_inverse=True))
    empty = np.zeros((0, 2))
    _compare(framework.unique(framework.tensor(empty, device=device), return_inverse=True,
                              return_counts=True),
             torch.unique(torch.tensor(empty), return_inverse=True, return_counts=True))
    long = RNG.integers(0, 50, 600)  # sorted through the merge passes
    _compare(framework.unique(framework.tensor(long, device=device), return_inverse=True,
                              return_counts=True),
             torch.unique(torch.tensor(long), return_inverse=True, return_counts=True))


def _both(fn, x, device, **kwargs):
    """``fn`` (a name) on ``x`` here and in torch, compared (values, shapes, int64 dtypes)."""
    got = getattr(framework, fn)(framework.tensor(x, device=device), **kwargs)
    want = getattr(torch, fn)(torch.tensor(x), **kwargs)
    _compare(got, want)
    for g, w in zip(got if isinstance(got, tuple) else (got,),
                    want if isinstance(want, tuple) else (want,)):
        assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1]


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("flags", [(False, False), (True, True)])
def test_unique_dim(device, dim, flags):
    x = RNG.integers(0, 2, (5, 3, 2))  # few values: repeated slices along every dim
    _both("unique", x, device, dim=dim, return_inverse=flags[0], return_counts=flags[1])


def test_unique_dim_floats_bool_and_edges(device):
    x = np.array([[1.5, -0.0, 2.0], [1.5, 0.0, 2.0], [-1.0, 3.0, 3.0], [1.5, 0.0, 1.0]])
    _both("unique", x, device, dim=0, return_inverse=True, return_counts=True)
    _both("unique", x, device, dim=1, return_inverse=True, return_counts=True)
    _both("unique", np.array([[True, False], [True, False], [False, False]]), device, dim=0,
          return_inverse=True)
    _both("unique", np.array([[np.nan, 1.0], [np.nan, 1.0]]), device, dim=0)  # NaN never equal
    _both("unique", np.zeros((0, 3)), device, dim=0, return_inverse=True, return_counts=True)
    _both("unique", np.zeros((3, 0)), device, dim=1, return_inverse=True, return_counts=True)
    _both("unique", np.array([4, 1, 4]), device, dim=0, return_inverse=True, return_counts=True)


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_unique_consecutive(device, dim):
    x = np.array([[1, 1, 2], [1, 1, 2], [3, 1, 2], [1, 1, 2]])
    _both("unique_consecutive", x, device, dim=dim, return_inverse=True, return_counts=True)
    _both("unique_consecutive", x, device, dim=dim)


def test_unique_consecutive_edges(device):
    _both("unique_consecutive", np.array([np.nan, np.nan, 1.0, 1.0]), device, return_counts=True)
    _both("unique_consecutive", np.array(5), device, return_inverse=True, return_counts=True)
    _both("unique_consecutive", np.zeros(0, dtype=np.int64), device, return_inverse=True,
          return_counts=True)
    _both("unique_consecutive", np.zeros((0, 3)), device, dim=0, return_inverse=True,
          return_counts=True)
    t = framework.tensor([1, 1, 2, 2, 2], device=device)
    _compare(t.unique_consecutive(return_counts=True),
             torch.tensor([1, 1, 2, 2, 2]).unique_consecutive(return_counts=True))


@pytest.mark.parametrize("fn", ["unique", "unique_consecutive"])
def test_unique_dim_bad_input(device, fn):
    op = getattr(framework, fn)
    with pytest.raises(IndexError, match="Dimension out of range"):
        op(framework.ones(2, 2, device=device), dim=2)
    with pytest.raises(IndexError, match="tensor has no dimensions"):
        op(framework.tensor(3.0, device=device), dim=0)
    with pytest.raises(RuntimeError, match="0 sized dimensions, and they aren't selected"):
        op(framework.ones(3, 0, device=device), dim=0)
    with pytest.raises(TypeError):
        op([1, 2], dim=0)


# bincount ------------------------------------------------------------------------------------------
def test_bincount(device):
    x = RNG.integers(0, 7, 30)
    _compare(framework.bincount(framework.tensor(x, device=device)), torch.bincount(torch.tensor(x)))
    _compare(framework.tensor(x, dtype=framework.int32, device=device).bincount(minlength=10),
             torch.tensor(x, dtype=torch.int32).bincount(minlength=10))
    empty = framework.tensor([], dtype=framework.int64, device=device)
    _compare(framework.bincount(empty), torch.bincount(torch.tensor([], dtype=torch.int64)))
    _compare(framework.bincount(empty, minlength=3),
             torch.bincount(torch.tensor([], dtype=torch.int64), minlength=3))


@pytest.mark.parametrize("weights_dtype", [framework.float32, framework.float64, framework.int64])
def test_bincount_weights(device, weights_dtype):
    x = RNG.integers(0, 5, 20)
    w = RNG.integers(-3, 4, 20).astype(np.float64) * 0.5
    if weights_dtype is framework.int64:
        w = w.astype(np.int64)
    got = framework.bincount(framework.tensor(x, device=device),
                             framework.tensor(w, dtype=weights_dtype, device=device), 7)
    want = torch.bincount(torch.tensor(x), torch.tensor(w).to(
        {framework.float32: torch.float32, framework.float64: torch.float64,
         framework.int64: torch.int64}[weights_dtype]), 7)
    assert got.dtype.name == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-6)


def test_bincount_bad_input(device):
    with pytest.raises(RuntimeError, match="bincount only supports 1-d non-negative integral"):
        framework.bincount(framework.tensor([1, -1], device=device))
    with pytest.raises(RuntimeError, match="bincount only supports 1-d non-negative integral"):
        framework.bincount(framework.tensor([[1, 2]], device=device))
    with pytest.raises(RuntimeError, match="bincount.*not implemented for 'Float'"):
        framework.bincount(framework.tensor([1.0, 2.0], dtype=framework.float32, device=device))
    with pytest.raises(RuntimeError, match="minlength should be >= 0"):
        framework.bincount(framework.tensor([1, 2], device=device), minlength=-1)
    with pytest.raises(RuntimeError, match="weights should be 1-d and have the same length"):
        framework.bincount(framework.tensor([1, 2], device=device),
                           framework.tensor([1.0], device=device))


# searchsorted ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_1d_with_nan_and_duplicates(device, right):
    seq = np.array([1.0, 2.0, 2.0, 3.0, np.nan])
    values = np.array([[2.0, np.nan, 0.0], [5.0, 2.5, -1.0]])
    _compare(framework.searchsorted(framework.tensor(seq, device=device),
                                    framework.tensor(values, device=device), right=right),
             torch.searchsorted(torch.tensor(seq), torch.tensor(values), right=right))


def test_searchsorted_batched_side_int32_scalar_and_sorter(device):
    seq = np.sort(_with_ties(3, 6), axis=1)
    values = _with_ties(3, 4)
    fw_seq, fw_values = framework.tensor(seq, device=device), framework.tensor(values, device=device)
    _compare(framework.searchsorted(fw_seq, fw_values, side="right", out_int32=True),
             torch.searchsorted(torch.tensor(seq), torch.tensor(values), side="right",
                                out_int32=True))
    _compare(framework.searchsorted(fw_seq[0], 0.5), torch.searchsorted(torch.tensor(seq[0]), 0.5))
    unsorted = np.array([3.0, 1.0, 2.0, 1.5])
    sorter = np.argsort(unsorted)
    _compare(framework.searchsorted(framework.tensor(unsorted, device=device),
                                    framework.tensor([1.2, 2.0, 9.0], device=device),
                                    sorter=framework.tensor(sorter, device=device)),
             torch.searchsorted(torch.tensor(unsorted), torch.tensor([1.2, 2.0, 9.0]),
                                sorter=torch.tensor(sorter)))
    ints = framework.tensor([1, 3, 5], device=device)
    _compare(framework.searchsorted(ints, framework.tensor([2.5, 3.0], device=device)),
             torch.searchsorted(torch.tensor([1, 3, 5]), torch.tensor([2.5, 3.0])))
    _compare(framework.searchsorted(framework.tensor(seq[:, :0], device=device), fw_values),
             torch.searchsorted(torch.tensor(seq[:, :0]), torch.tensor(values)))


def test_searchsorted_bad_input(device):
    seq = framework.tensor([[1.0, 2.0]], device=device)
    with pytest.raises(RuntimeError, match="boundaries tensor should be 1 dimension"):
        framework.searchsorted(seq, framework.tensor([1.0, 2.0], device=device))
    one_d = framework.tensor([1.0, 2.0], device=device)
    with pytest.raises(RuntimeError, match="side and right can't be set to opposites"):
        framework.searchsorted(one_d, one_d, side="left", right=True)
    with pytest.raises(RuntimeError, match="side can only be 'left' or 'right' but got foo"):
        framework.searchsorted(one_d, one_d, side="foo")


# quantile / nanquantile ---------------------------------------------------------------------------
@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("q, dim, keepdim", [(0.3, None, False), (0.5, 1, False),
                                             ([0.0, 0.25, 0.9, 1.0], 0, True), (0.75, -1, True),
                                             ([0.1, 0.6], None, True)])
def test_quantile(device, interpolation, q, dim, keepdim):
    """Values and gradients as torch for number and tensor ``q``, over all elements or a dim."""
    def call(lib):
        def fn(a):
            qq = q if isinstance(q, float) else lib.tensor(q, dtype=a.dtype, device=a.device)
            return lib.quantile(a, qq, dim=dim, keepdim=keepdim, interpolation=interpolation)
        return fn
    check_op(call(framework), call(torch), [_normal(4, 5)], device=device)


def test_quantile_nan_and_bad_input(device):
    x = np.array([[3.0, np.nan, 1.0, 2.0], [np.nan, np.nan, np.nan, np.nan], [4.0, 1.0, 0.0, 2.0]])
    for fn in ("quantile", "nanquantile"):
        got = getattr(framework, fn)(framework.tensor(x, device=device), 0.4, dim=1)
        want = getattr(torch, fn)(torch.tensor(x), 0.4, dim=1)
        np.testing.assert_allclose(got.cpu().numpy(), want.numpy())
    t = framework.tensor(x, device=device)
    assert np.isclose(t.nanquantile(0.5).item(), torch.tensor(x).nanquantile(0.5).item())
    with pytest.raises(RuntimeError, match="quantile"):
        framework.quantile(framework.ones(3, device=device), 1.5)
    with pytest.raises(RuntimeError):
        torch.quantile(torch.ones(3), 0.5, interpolation="cubic")
    with pytest.raises(RuntimeError, match="quantile"):
        framework.quantile(framework.ones(3, device=device), 0.5, interpolation="cubic")


# bucketize -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("right", [False, True])
def test_bucketize(device, right):
    bounds = np.array([-1.0, 0.0, 0.0, 2.5])
    values = np.array([[-3.0, -1.0, 0.0], [1.0, 2.5, 9.0]])
    got = framework.bucketize(framework.tensor(values, device=device),
                              framework.tensor(bounds, device=device), right=right)
    want = torch.bucketize(torch.tensor(values), torch.tensor(bounds), right=right)
    _compare(got, want)
    assert got.dtype is framework.int64
    got32 = framework.bucketize(framework.tensor(values, device=device),
                                framework.tensor(bounds, device=device), out_int32=True)
    assert got32.dtype is framework.int32
    _compare(framework.bucketize(0.5, framework.tensor(bounds, device=device), right=right),
             torch.bucketize(0.5, torch.tensor(bounds), right=right))
    ints = framework.tensor([1, 2, 5], device=device)
    _compare(framework.bucketize(framework.tensor([1.5, 5.0], device=device), ints),
             torch.bucketize(torch.tensor([1.5, 5.0]), torch.tensor([1, 2, 5])))


def test_bucketize_bad_input(device):
    values = framework.tensor([1.0, 2.0], device=device)
    with pytest.raises(RuntimeError, match="boundaries tensor must be 1 dimension, but got dim"):
        framework.bucketize(values, framework.ones(2, 2, device=device))
    with pytest.raises(RuntimeError, match="boundaries tensor must be 1 dimension, but got dim"):
        framework.bucketize(values, framework.tensor(1.0, device=device))
    with pytest.raises(TypeError):
        framework.bucketize(values, [1.0, 2.0])
