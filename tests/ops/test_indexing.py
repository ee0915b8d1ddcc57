"""Indexing ops against PyTorch (float64 oracle) on cpu and cuda (Triton interpreter).

gather / scatter / scatter_add / index_select / index_add / take_along_dim,
advanced indexing (read and write, with autograd), index_put, masks
(masked_fill, masked_select, nonzero, argwhere), embedding and one_hot:
forward and input gradients through ``check_op``, broadcast, non-contiguous
and empty cases, duplicates, negative indices and bad input.
"""
import numpy as np
import pytest
import torch

import framework
import framework.nn.functional as F
from helpers import check_op
from framework._backends.triton import runtime

RNG = np.random.default_rng(0)
I64 = framework.int64


def _normal(*shape):
    return np.asarray(RNG.standard_normal(shape))


def _ints(high, *shape):
    return np.asarray(RNG.integers(0, high, shape), dtype=np.int64)


def _distinct(size, n_rows, n_cols):
    """(n_rows, n_cols) indices into ``size``, distinct within each column (for scatter)."""
    return np.stack([RNG.permutation(size)[:n_rows] for _ in range(n_cols)], axis=1)


# gather ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("contiguous", [True, False])
def test_gather(device, dim, contiguous):
    x = _normal(3, 4, 5)
    index_shape = [2, 3, 4]
    index_shape[dim] = 6  # may exceed x along dim (repeats), not elsewhere
    index = _ints(x.shape[dim], *index_shape)
    check_op(lambda a, i: framework.gather(a, dim, i), lambda a, i: torch.gather(a, dim, i),
             [x, index], device=device, contiguous=contiguous, input_dtypes=[None, I64])


@pytest.mark.parametrize("dtype", [framework.float64, framework.float16, framework.bfloat16])
def test_gather_dtypes_and_int32_index(device, dtype):
    x, index = _normal(4, 3), _ints(4, 5, 3).astype(np.int32)
    out = check_op(lambda a, i: a.gather(0, i), lambda a, i: a.gather(0, i.long()), [x, index],
                   device=device, dtype=dtype, input_dtypes=[None, framework.int32])
    assert out[0].dtype == dtype


def test_gather_integer_input_and_edge_shapes(device):
    x = framework.tensor([[1, 2], [3, 4]], device=device)
    index = framework.tensor([[1, 1], [0, 1]], device=device)
    assert x.gather(1, index).tolist() == [[2, 2], [3, 4]]
    check_op(lambda a, i: a.gather(1, i), lambda a, i: a.gather(1, i),
             [_normal(3, 4), np.zeros((3, 0), dtype=np.int64)], device=device,
             input_dtypes=[None, I64])
    check_op(lambda a, i: a.gather(0, i), lambda a, i: a.gather(0, i),
             [_normal(1, 1), np.zeros((1, 1), dtype=np.int64)], device=device,
             input_dtypes=[None, I64])
    check_op(lambda a, i: a.gather(0, i), lambda a, i: a.gather(0, i),
             [np.asarray(2.5), np.asarray(0)], device=device, input_dtypes=[None, I64])


def test_gather_double_backward(device):
    """The gradient of gather's backward (a scatter-add) against PyTorch's."""
    x_np, w_np, index_np = _normal(3, 4), _normal(3, 4), _ints(3, 5, 4)
    x = framework.tensor(x_np, dtype=framework.float64, device=device, requires_grad=True)
    index = framework.tensor(index_np, device=device)
    (g,) = framework.autograd.grad((x.gather(0, index) ** 2).sum(), x, create_graph=True)
    (gg,) = framework.autograd.grad((g * framework.tensor(w_np, device=device)).sum(), x)
    tx = torch.tensor(x_np, requires_grad=True)
    (tg,) = torch.autograd.grad((tx.gather(0, torch.tensor(index_np)) ** 2).sum(), tx,
                                create_graph=True)
    (tgg,) = torch.autograd.grad((tg * torch.tensor(w_np)).sum(), tx)
    np.testing.assert_allclose(g.detach().cpu().numpy(), tg.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gg.cpu().numpy(), tgg.numpy(), rtol=1e-12)


# scatter / scatter_add -------------------------------------------------------------------
@pytest.mark.parametrize("contiguous", [True, False])
def test_scatter_src(device, contiguous):
    x, src = _normal(5, 3), _normal(2, 3)
    index = _distinct(5, 2, 3)
    check_op(lambda a, i, s: a.scatter(0, i, s), lambda a, i, s: a.scatter(0, i, s),
             [x, index, src], device=device, contiguous=contiguous,
             input_dtypes=[None, I64, None])
    # src larger than index: only index's shape is scattered (PyTorch has no gradient here)
    check_op(lambda a, i, s: a.scatter(0, i, s), lambda a, i, s: a.scatter(0, i, s),
             [x, index, _normal(4, 4)], device=device, contiguous=contiguous, grad=False,
             input_dtypes=[None, I64, None])


def test_scatter_value_and_inplace(device):
    x, index = _normal(3, 5), _distinct(5, 2, 3).T.copy()
    check_op(lambda a, i: framework.scatter(a, 1, i, value=2.5),
             lambda a, i: torch.scatter(a, 1, i, value=2.5), [x, index], device=device,
             input_dtypes=[None, I64])
    check_op(lambda a, i: (a * 1).scatter_(1, i, -1.0), lambda a, i: (a * 1).scatter_(1, i, -1.0),
             [x, index], device=device, input_dtypes=[None, I64])


@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize("contiguous", [True, False])
def test_scatter_add_duplicates(device, dim, contiguous):
    index_shape = [3, 3]
    index_shape[dim] = 5  # more entries than x has along dim: duplicates accumulate
    x, src = _normal(3, 4), _normal(*index_shape)
    index = _ints(x.shape[dim], *index_shape)
    check_op(lambda a, i, s: a.scatter_add(dim, i, s), lambda a, i, s: a.scatter_add(dim, i, s),
             [x, index, src], device=device, contiguous=contiguous,
             input_dtypes=[None, I64, None])


@pytest.mark.parametrize("dtype", [framework.float64, framework.float16, framework.bfloat16])
def test_scatter_add_dtypes(device, dtype):
    x, index, src = _normal(4, 3), _ints(4, 6, 3), _normal(6, 3)
    out = check_op(lambda a, i, s: framework.scatter_add(a, 0, i, s),
                   lambda a, i, s: torch.scatter_add(a, 0, i, s), [x, index, src],
                   device=device, dtype=dtype, input_dtypes=[None, I64, None])
    assert out[0].dtype == dtype


def test_scatter_add_integers_and_inplace(device):
    x = framework.zeros(4, dtype=I64, device=device)
    index = framework.tensor([0, 2, 2, 2, 3], device=device)
    src = framework.tensor([1, 2, 3, 4, 5], device=device)
    assert x.scatter_add(0, index, src).tolist() == [1, 0, 9, 5]
    x.scatter_add_(0, index, src)
    assert x.tolist() == [1, 0, 9, 5]


# index_select / index_add / take_along_dim -------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("contiguous", [True, False])
def test_index_select(device, dim, contiguous):
    x = _normal(3, 4, 2)
    index = np.asarray([0, 2, 2, 1, 0])[: x.shape[dim] + 2] % x.shape[dim]
    check_op(lambda a, i: framework.index_select(a, dim, i),
             lambda a, i: torch.index_select(a, dim, i), [x, index], device=device,
             contiguous=contiguous, input_dtypes=[None, I64])


def test_index_select_edge_cases(device):
    check_op(lambda a, i: a.index_select(1, i), lambda a, i: a.index_select(1, i),
             [_normal(3, 4), np.zeros(0, dtype=np.int64)], device=device, input_dtypes=[None, I64])
    check_op(lambda a, i: a.index_select(0, i), lambda a, i: a.index_select(0, i),
             [_normal(3, 4), np.asarray(2)], device=device, input_dtypes=[None, I64])
    check_op(lambda a, i: a.index_select(0, i), lambda a, i: a.index_select(0, i),
             [np.asarray(1.5), np.asarray([0])], device=device, input_dtypes=[None, I64])


@pytest.mark.parametrize("alpha", [1, -2.5])
@pytest.mark.parametrize("dim", [0, 1, 2])
@pytest.mark.parametrize("contiguous", [True, False])
def test_index_add(device, alpha, dim, contiguous):
    x = _normal(4, 3, 2)
    src_shape = list(x.shape)
    src_shape[dim] = 6
    src = _normal(*src_shape)
    index = np.asarray([0, 2, 2, 1, 0, 2]) % x.shape[dim]  # duplicates accumulate
    check_op(lambda a, i, s: framework.index_add(a, dim, i, s, alpha=alpha),
             lambda a, i, s: torch.index_add(a, dim, i, s, alpha=alpha),
             [x, index, src], device=device,
             contiguous=contiguous, input_dtypes=[None, I64, None])


def test_index_add_many_columns_is_deterministic(device):
    """Row scatter-adds (index_add, embedding backward) sum duplicates in a fixed order."""
    x = framework.zeros(3, 1100, device=device)
    index = framework.tensor([2, 0, 2, 2, 1, 0], device=device)
    src = framework.tensor(RNG.standard_normal((6, 1100)) * 1e3, dtype=framework.float32,
                           device=device)
    first = x.index_add(0, index, src)
    np.testing.assert_array_equal(first.cpu().numpy(), x.index_add(0, index, src).cpu().numpy())
    want = torch.zeros(3, 1100, dtype=torch.float64).index_add(
        0, torch.tensor([2, 0, 2, 2, 1, 0]), torch.tensor(src.cpu().numpy(), dtype=torch.float64))
    np.testing.assert_allclose(first.cpu().numpy(), want.numpy(), rtol=1e-5, atol=1e-3)


def test_index_add_inplace(device):
    check_op(lambda a, i, s: (a * 1).index_add_(1, i, s, alpha=2),
             lambda a, i, s: (a * 1).index_add_(1, i, s, alpha=2),
             [_normal(2, 3), np.asarray([1, 1]), _normal(2, 2)], device=device,
             input_dtypes=[None, I64, None])


def test_index_copy(device):
    index = np.asarray([3, 0, 1])
    check_op(lambda a, i, s: framework.index_copy(a, 1, i, s),
             lambda a, i, s: torch.index_copy(a, 1, i, s), [_normal(2, 4), index, _normal(2, 3)],
             device=device, contiguous=False, input_dtypes=[None, I64, None])
    check_op(lambda a, i, s: (a * 1).index_copy_(0, i, s),
             lambda a, i, s: (a * 1).index_copy_(0, i, s),
             [_normal(4), index, _normal(3)], device=device, input_dtypes=[None, I64, None])


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_take_along_dim(device, dim):
    x = _normal(3, 4)
    if dim is None:
        index = _ints(12, 5)
    else:
        index = _ints(x.shape[dim], *((5, 1) if dim == 0 else (1, 5)))  # broadcast against x
    check_op(lambda a, i: framework.take_along_dim(a, i, dim),
             lambda a, i: torch.take_along_dim(a, i, dim), [x, index], device=device,
             input_dtypes=[None, I64])


# advanced indexing: reads ---------------------------------------------------------------
# Each index is built per library by ``make(lib, device)``: lib is framework or torch.
def _t(lib, device, data, dtype=None):
    if lib is torch:
        return torch.tensor(data, dtype=dtype and getattr(torch, dtype))
    return framework.tensor(data, dtype=dtype and getattr(framework, dtype), device=device)


READ_CASES = {
    "tensor": lambda lib, dev: _t(lib, dev, [2, 0, 2]),
    "negative": lambda lib, dev: _t(lib, dev, [-1, 0, -3]),
    "list": lambda lib, dev: [1, 0],
    "nested_2d": lambda lib, dev: _t(lib, dev, [[0, 1], [2, 2]]),
    "two_broadcast": lambda lib, dev: (_t(lib, dev, [[0], [2]]), _t(lib, dev, [1, 3, 1])),
    "slice_then_index": lambda lib, dev: (slice(None), _t(lib, dev, [3, 0])),
    "separated_by_slice": lambda lib, dev: (_t(lib, dev, [0, 2]), slice(None),
                                            _t(lib, dev, [1, 0])),
    "adjacent_after_slice": lambda lib, dev: (slice(None), _t(lib, dev, [1, 0]),
                                              _t(lib, dev, [0, 1])),
    "int_and_index": lambda lib, dev: (1, slice(None), [0, 1, 1]),
    "ellipsis_none": lambda lib, dev: (None, Ellipsis, _t(lib, dev, [1, 0])),
    "none_separates": lambda lib, dev: (None, [0, 1], None, [1, 2]),
    "empty": lambda lib, dev: _t(lib, dev, [], "int64"),
    "empty_list": lambda lib, dev: [],
    "mask_full": lambda lib, dev: _t(lib, dev, (np.arange(24).reshape(3, 4, 2) % 3 == 0).tolist()),
    "mask_leading": lambda lib, dev: _t(lib, dev, [[True, False, True, True], [False] * 4,
                                                   [True, True, False, False]]),
    "mask_middle": lambda lib, dev: (slice(None), _t(lib, dev, [True, False, False, True])),
    "mask_list": lambda lib, dev: [True, False, True],
    "mask_and_index": lambda lib, dev: (_t(lib, dev, [True, False, True]), slice(1, 3),
                                        _t(lib, dev, [1, 0])),
    "true": lambda lib, dev: True,
    "false": lambda lib, dev: (False, 0),
    "int32_index": lambda lib, dev: _t(lib, dev, [1, 2], "int32"),
}


@pytest.mark.parametrize("case", sorted(READ_CASES))
def test_advanced_getitem(device, case):
    make = READ_CASES[case]
    check_op(lambda a: a[make(framework, device)], lambda a: a[make(torch, "cpu")],
             [_normal(3, 4, 2)], device=device)


@pytest.mark.parametrize("shape", [(5,), (5, 3), (5, 2, 3)])
def test_a_1d_int64_index_takes_the_row_gather_with_the_general_path_s_results(device, shape):
    """``x[index]`` (one 1-D int64 tensor) skips the general index plan: the same values and
    gradients as the general path (``x[index, ...]``), torch's node name, the same errors."""
    values = _normal(*shape)
    index = framework.tensor([4, -1, 0, 4, -5], device=device)
    fast_x = framework.tensor(values, device=device, requires_grad=True)
    general_x = framework.tensor(values, device=device, requires_grad=True)
    fast, general = fast_x[index], general_x[index, ...]
    assert type(fast.grad_fn).__name__ == "IndexBackward0" == type(general.grad_fn).__name__
    weights = framework.tensor(_normal(*fast.shape), device=device)
    (fast * weights).sum().backward()
    (general * weights).sum().backward()
    assert fast.tolist() == general.tolist() and fast_x.grad.tolist() == general_x.grad.tolist()
    for bad in (5, -6):  # cpu: checked at once; cuda: by the kernel, raised at the next sync
        error = IndexError if device == "cpu" else RuntimeError
        with pytest.raises(error, match=f"index {bad} is out of bounds for dimension"):
            fast_x[framework.tensor([0, bad], device=device)].tolist()
    assert fast_x[framework.tensor([], dtype=I64, device=device)].shape == (0,) + shape[1:]


def test_advanced_getitem_non_contiguous_and_dtypes(device):
    index = lambda lib: (_t(lib, device, [2, 0, 2]), slice(None), _t(lib, device, [1, 1, 0]))
    check_op(lambda a: a[index(framework)], lambda a: a[index(torch)], [_normal(3, 4, 2)],
             device=device, contiguous=False)
    out = check_op(lambda a: a[[0, 0, 2]], lambda a: a[[0, 0, 2]], [_normal(3, 2)],
                   device=device, dtype=framework.bfloat16)
    assert out[0].dtype == framework.bfloat16


def test_advanced_getitem_cpu_indices_and_integer_tensors(device):
    """Indices may live on the cpu whatever the indexed tensor's device (as in PyTorch)."""
    x = framework.arange(6, device=device).reshape(2, 3)
    assert x[[1, 0], [2, 2]].tolist() == [5, 2]
    assert x[framework.tensor([True, False])].tolist() == [[0, 1, 2]]
    assert x[framework.tensor(1), framework.tensor([0, 0])].tolist() == [3, 3]


# advanced indexing: writes ----------------------------------------------------------------
WRITE_CASES = {
    "tensor_scalar": (lambda lib, dev: _t(lib, dev, [2, 0]), None),
    "negative_broadcast_value": (lambda lib, dev: _t(lib, dev, [-1, 0]), (2,)),
    "mask_full_scalar": (lambda lib, dev: _t(lib, dev, (np.arange(24).reshape(3, 4, 2) % 5 == 0)
                                              .tolist()), None),
    "mask_leading_value": (lambda lib, dev: _t(lib, dev, [True, False, True]), (4, 2)),
    "separated": (lambda lib, dev: (_t(lib, dev, [0, 2]), slice(None), _t(lib, dev, [1, 0])),
                  (2, 4)),
    "slice_and_index": (lambda lib, dev: (slice(1, 3), [3, 0]), (2, 2, 2)),
    "empty": (lambda lib, dev: _t(lib, dev, [], "int64"), (4, 2)),
}


@pytest.mark.parametrize("case", sorted(WRITE_CASES))
def test_advanced_setitem(device, case):
    make, value_shape = WRITE_CASES[case]

    def assign(lib, dev):
        def fn(a, v):
            out = a * 1  # a non-leaf, so the in-place write is recorded
            out[make(lib, dev)] = v if value_shape is not None else 1.5
            return out
        return fn
    value = _normal(*value_shape) if value_shape is not None else np.asarray(0.0)
    check_op(assign(framework, device), assign(torch, "cpu"), [_normal(3, 4, 2), value],
             device=device)


def test_setitem_augmented_with_duplicates(device):
    def add(lib, dev):
        def fn(a, v):
            out = a * 1
            out[_t(lib, dev, [0, 2, 0])] += v
            return out
        return fn
    check_op(add(framework, device), add(torch, "cpu"), [_normal(3, 2), _normal(3, 2)],
             device=device)


def test_setitem_through_view_and_no_grad(device):
    def write(lib, dev):
        def fn(a, v):
            out = a * 1
            out[1:][_t(lib, dev, [True, False])] = v
            return out
        return fn
    check_op(write(framework, device), write(torch, "cpu"), [_normal(3, 2), _normal(2)],
             device=device)
    x = framework.zeros(2, 3, dtype=I64, device=device)
    x[x == 0] = 7
    x[[0, 1], [2, 0]] = framework.tensor([1, 2], device=device)
    assert x.tolist() == [[7, 7, 1], [2, 7, 7]]


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put(device, accumulate):
    def put(lib, dev, inplace):
        def fn(a, v):
            indices = (_t(lib, dev, [0, 2, 2, 1]) if accumulate else _t(lib, dev, [0, 2, 1, -1]),
                       _t(lib, dev, [1, 1, 1, 0]))
            if inplace:
                return (a * 1).index_put_(indices, v, accumulate=accumulate)
            return lib.index_put(a, indices, v, accumulate=accumulate)
        return fn
    for inplace in (False, True):
        check_op(put(framework, device, inplace), put(torch, "cpu", inplace),
                 [_normal(3, 2, 2), _normal(4, 2)], device=device)


# masks --------------------------------------------------------------------------------------
@pytest.mark.parametrize("contiguous", [True, False])
def test_masked_fill(device, contiguous):
    x, mask = _normal(3, 4), RNG.random((3, 4)) > 0.5
    check_op(lambda a, m: a.masked_fill(m, -2.0), lambda a, m: a.masked_fill(m, -2.0),
             [x, mask], device=device, contiguous=contiguous,
             input_dtypes=[None, framework.bool])
    check_op(lambda a, m, v: framework.masked_fill(a, m, v),  # broadcast mask, 0-d tensor value
             lambda a, m, v: torch.masked_fill(a, m, v),
             [x, RNG.random(4) > 0.5, np.asarray(3.0)], device=device,
             input_dtypes=[None, framework.bool, None])


def test_masked_fill_inplace_and_integers(device):
    check_op(lambda a, m: (a * 1).masked_fill_(m, 0.5), lambda a, m: (a * 1).masked_fill_(m, 0.5),
             [_normal(2, 3), np.asarray([[True], [False]])], device=device,
             input_dtypes=[None, framework.bool])
    x = framework.tensor([1, 2, 3], device=device)
    assert x.masked_fill(x > 1, 1.7).tolist() == [1, 1, 1]


@pytest.mark.parametrize("x_shape,mask_shape", [((3, 4), (3, 4)), ((3, 4), (4,)),
                                               ((3, 4), (1, 4)), ((4,), (3, 4)), ((0, 4), (4,))])
def test_masked_select(device, x_shape, mask_shape):
    mask = RNG.random(mask_shape) > 0.4
    check_op(lambda a, m: framework.masked_select(a, m), lambda a, m: torch.masked_select(a, m),
             [_normal(*x_shape), mask], device=device, contiguous=False,
             input_dtypes=[None, framework.bool])


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2), (7,), (), (0, 3), (2, 1, 1, 2, 1, 1, 2)])
def test_nonzero_and_argwhere(device, shape):
    data = (RNG.random(shape) > 0.5) * RNG.integers(1, 3, shape) if shape else np.asarray(1)
    for dtype in (framework.float32, framework.bool, I64):
        x = framework.tensor(data, dtype=dtype, device=device)
        want = torch.nonzero(torch.tensor(data))
        assert framework.nonzero(x).tolist() == want.tolist()
        assert x.argwhere().tolist() == torch.argwhere(torch.tensor(data)).tolist()
        got = x.nonzero(as_tuple=True)
        assert [t.tolist() for t in got] == \
            [t.tolist() for t in torch.nonzero(torch.tensor(data), as_tuple=True)]
        assert framework.nonzero(x).dtype == I64


def test_nonzero_many_blocks(device):
    data = RNG.random(2500) > 0.7  # three cuda blocks with different counts
    x = framework.tensor(data, device=device)
    assert x.nonzero()[:, 0].tolist() == np.flatnonzero(data).tolist()


# nn.functional ----------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding(device, padding_idx):
    index = np.asarray([[0, 2, 2], [4, 1, 2]])
    check_op(lambda w, i: F.embedding(i, w, padding_idx=padding_idx),
             lambda w, i: torch.nn.functional.embedding(i, w, padding_idx=padding_idx),
             [_normal(5, 3), index], device=device, input_dtypes=[None, I64])


def test_embedding_scale_grad_by_freq_and_non_contiguous(device):
    check_op(lambda w, i: F.embedding(i, w, scale_grad_by_freq=True),
             lambda w, i: torch.nn.functional.embedding(i, w, scale_grad_by_freq=True),
             [_normal(4, 3), np.asarray([[0, 3], [3, 3]])], device=device, contiguous=False,
             input_dtypes=[None, I64])


@pytest.mark.parametrize("num_classes", [-1, 6])
def test_one_hot(device, num_classes):
    data = np.asarray([[0, 3], [2, 3]])
    got = F.one_hot(framework.tensor(data, device=device), num_classes)
    want = torch.nn.functional.one_hot(torch.tensor(data), num_classes)
    assert got.dtype == I64 and got.tolist() == want.tolist()
    empty = F.one_hot(framework.tensor([], dtype=I64, device=device), 3)
    assert tuple(empty.shape) == (0, 3)


# bad input --------------------------------------------------------------------------------
# Each bad call takes (lib, nn.functional of lib, x = zeros(2, 3), t = tensor maker).
BAD_CALLS = [
    lambda lib, nnf, x, t: x[t([1.0], "float32")],
    lambda lib, nnf, x, t: x[[0, 1], [0, 1, 2]],
    lambda lib, nnf, x, t: x[t([True], "bool")],
    lambda lib, nnf, x, t: x[0, 0, [0]],
    lambda lib, nnf, x, t: x.gather(0, t([[0.0]], "float32")),
    lambda lib, nnf, x, t: x.gather(0, t([0])),
    lambda lib, nnf, x, t: x.gather(0, t([[0, 0, 0, 0]])),
    lambda lib, nnf, x, t: x.scatter_add(0, t([[0, 0]]), t([[1.0]], "float32")),
    lambda lib, nnf, x, t: x.scatter_add(0, t([[0]]), t([[1.0]], "float64")),
    lambda lib, nnf, x, t: x.index_select(0, t([[0]])),
    lambda lib, nnf, x, t: x.index_select(0, t([0.0], "float32")),
    lambda lib, nnf, x, t: x.index_add(0, t([0]), t([[1.0] * 3] * 2, "float32")),
    lambda lib, nnf, x, t: x.index_copy(0, t([0]), t([[1.0] * 3], "float64")),
    lambda lib, nnf, x, t: x.masked_fill(t([1, 0, 1]), 1.0),
    lambda lib, nnf, x, t: x.masked_fill(t([True, False, True], "bool"), t([1.0, 2.0], "float32")),
    lambda lib, nnf, x, t: x.masked_fill(t([True, False], "bool"), 1.0),
    lambda lib, nnf, x, t: x[0].masked_fill_(t([[True], [False]], "bool"), 1.0),
    lambda lib, nnf, x, t: x.masked_select(t([1, 0, 1])),
    lambda lib, nnf, x, t: x.index_put_((t([0]),), t([1.0] * 4, "float32")),
    lambda lib, nnf, x, t: x.index_put_((t([0]),), t([1.0] * 3, "float64")),
    lambda lib, nnf, x, t: x.__setitem__(t([0]), t([1.0] * 4, "float32")),
    lambda lib, nnf, x, t: lib.take_along_dim(x, t([[0]], "int32"), 1),
    lambda lib, nnf, x, t: nnf.embedding(t([1.0], "float32"), x),
    lambda lib, nnf, x, t: nnf.embedding(t([1]), x[0]),
    lambda lib, nnf, x, t: nnf.embedding(t([1]), x, padding_idx=5),
    lambda lib, nnf, x, t: nnf.one_hot(t([1], "int32")),
    lambda lib, nnf, x, t: nnf.one_hot(t([])),
]


# Out-of-range index values. PyTorch's cpu raises at the call; on cuda reading the range would
# stall the pipeline, so the kernel flags the index and the next host sync raises (PyTorch's
# cuda raises a device-side assert there too).
RANGE_CALLS = [
    lambda lib, nnf, x, t: x[t([5])],
    lambda lib, nnf, x, t: x[t([-3])],
    lambda lib, nnf, x, t: x.gather(0, t([[2]])),
    lambda lib, nnf, x, t: x.gather(0, t([[-1]])),
    lambda lib, nnf, x, t: x.scatter(0, t([[2]]), 1.0),
    lambda lib, nnf, x, t: x.index_select(0, t([2])),
    lambda lib, nnf, x, t: x.index_select(0, t([-1])),
    lambda lib, nnf, x, t: x.index_add(0, t([2]), t([[1.0] * 3], "float32")),
    lambda lib, nnf, x, t: x.index_put_((t([5]),), t([1.0] * 3, "float32")),
    lambda lib, nnf, x, t: nnf.embedding(t([5]), x),
    lambda lib, nnf, x, t: nnf.one_hot(t([3]), 3),
    lambda lib, nnf, x, t: nnf.one_hot(t([-1]), 3),
    lambda lib, nnf, x, t: x.scatter_add(0, t([[0, 2]]), t([[1.0, 2.0]], "float32")),
    lambda lib, nnf, x, t: x.index_copy(0, t([-1]), t([[1.0] * 3], "float32")),
    lambda lib, nnf, x, t: x.index_put_((t([0, 2]),), t([1.0] * 3, "float32"), accumulate=True),
    lambda lib, nnf, x, t: x[t([0]), t([3])],
    lambda lib, nnf, x, t: x[t([-3]), t([0])],
    lambda lib, nnf, x, t: x.__setitem__((t([1]), t([7])), 1.0),
]


def test_bad_input_raises_like_torch(device):
    """Each bad call raises the error type PyTorch raises for it."""
    for case, call in enumerate(BAD_CALLS):
        with pytest.raises(Exception) as expected:
            call(torch, torch.nn.functional, torch.zeros(2, 3),
                 lambda data, dtype="int64": torch.tensor(data, dtype=getattr(torch, dtype)))
        try:
            call(framework, F, framework.zeros(2, 3, device=device),
                 lambda data, dtype="int64": framework.tensor(data, dtype=getattr(framework, dtype),
                                                              device=device))
        except Exception as exc:  # noqa: BLE001 - compared with PyTorch's type below
            assert isinstance(exc, expected.type), \
                f"case {case}: {type(exc).__name__}({exc}) instead of {expected.type.__name__}"
            continue
        raise AssertionError(f"case {case}: no error, PyTorch raises {expected.type.__name__}")


def _torch_error(call) -> type:
    with pytest.raises(Exception) as expected:
        call(torch, torch.nn.functional, torch.zeros(2, 3),
             lambda data, dtype="int64": torch.tensor(data, dtype=getattr(torch, dtype)))
    return expected.type


def _framework_call(call, device):
    return call(framework, F, framework.zeros(2, 3, device=device),
                lambda data, dtype="int64": framework.tensor(data, dtype=getattr(framework, dtype),
                                                             device=device))


def test_out_of_range_indices_raise_at_once_on_cpu():
    for case, call in enumerate(RANGE_CALLS):
        expected = _torch_error(call)
        with pytest.raises(expected):
            _framework_call(call, "cpu")


def test_out_of_range_indices_raise_at_the_next_sync_on_cuda():
    """The call itself reads nothing back (no host sync); the next sync raises, once."""
    for case, call in enumerate(RANGE_CALLS):
        _torch_error(call)  # PyTorch rejects it too
        before = runtime.host_sync_count()
        _framework_call(call, "cuda")
        assert runtime.host_sync_count() == before, f"case {case} synchronized"
        with pytest.raises(RuntimeError, match="device-side assert triggered.*out of bounds"):
            framework.cuda.synchronize()
        framework.cuda.synchronize()  # reported once: the flag is clear again


def test_out_of_range_index_message_names_the_kernel_index_and_size():
    x = framework.zeros(4, 3, device="cuda")
    y = x.index_select(0, framework.tensor([1, 9, 2], device="cuda"))
    with pytest.raises(RuntimeError, match=r"gather \(gather, index_select, embedding.*\): "
                                           r"index 9 is out of bounds for dimension with size 4"):
        y.sum().item()
    assert y.sum().item() == 0.0  # the flag is clear; the valid rows were read
    y = framework.nn.functional.one_hot(framework.tensor([-2, 1], device="cuda"), 3)
    with pytest.raises(RuntimeError, match="scatter .*index -2 is out of bounds .* size 3"):
        y.tolist()


def test_the_first_out_of_range_error_queued_is_reported():
    x = framework.zeros(4, 3, device="cuda")
    x.index_select(0, framework.tensor([6], device="cuda"))
    x.gather(1, framework.tensor([[0], [-5]], device="cuda"))
    F.cross_entropy(x, framework.tensor([0, 1, 2, 9], device="cuda"))
    with pytest.raises(RuntimeError, match="gather .*: index 6 is out of bounds .* size 4"):
        framework.cuda.synchronize()
    framework.cuda.synchronize()  # one report for the interval; the flag is clear again


def test_error_messages_name_the_problem(device):
    x = framework.zeros(2, 3, device=device)
    if device == "cpu":
        with pytest.raises(IndexError,
                           match="index 5 is out of bounds for dimension 0 with size 2"):
            x[[5]]
    with pytest.raises(RuntimeError, match="gather\\(\\): Expected dtype int32/int64"):
        x.gather(0, framework.zeros(1, 1, device=device))
    with pytest.raises(NotImplementedError, match="max_norm"):
        F.embedding(framework.tensor([0], device=device), x, max_norm=1.0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        framework.zeros(3, requires_grad=True, device=device)[[0]] = 1.0


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_functional_embedding_bag_matches_torch(device, mode):
    from helpers import check_op
    import torch.nn.functional as TF
    indices = np.array([1, 2, 4, 5, 4, 3, 2, 9])
    offsets = np.array([0, 3, 3])
    check_op(lambda w, i, o: F.embedding_bag(i, w, o, mode=mode),
             lambda w, i, o: TF.embedding_bag(i, w, o, mode=mode),
             [np.random.default_rng(0).standard_normal((10, 3)), indices, offsets],
             device=device, input_dtypes=[None, framework.int64, framework.int64])


# index_fill / masked_scatter ------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_fill(device, dim):
    index = np.array([2, 0, 2])
    check_op(lambda a, i: a.index_fill(dim, i, -1.5), lambda a, i: a.index_fill(dim, i, -1.5),
             [_normal(3, 4), index], device=device, input_dtypes=[None, framework.int64],
             contiguous=False)
    check_op(lambda a, i, v: (a * 1).index_fill_(dim, i, v),  # in place, 0-d tensor value
             lambda a, i, v: (a * 1).index_fill_(dim, i, v),
             [_normal(3, 4), index, np.asarray(0.25)], device=device,
             input_dtypes=[None, framework.int64, None])


def test_index_fill_ints_scalar_index_and_bad_input(device):
    x = framework.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    assert x.index_fill(1, framework.tensor(1, device=device), 0).tolist() == [[1, 0, 3], [4, 0, 6]]
    with pytest.raises(IndexError, match="index_fill"):
        x.index_fill(0, framework.tensor([0.0], device=device), 1)
    with pytest.raises(IndexError, match="index_fill"):
        x.index_fill(2, framework.tensor([0], device=device), 1)


def test_masked_scatter(device):
    """``source``'s elements, in order, go where ``mask`` (broadcast) is True; gradients to
    ``input`` (where False) and to the used part of ``source``."""
    mask = RNG.random((3, 4)) > 0.5
    check_op(lambda a, m, s: a.masked_scatter(m, s), lambda a, m, s: a.masked_scatter(m, s),
             [_normal(3, 4), mask, _normal(4, 4)], device=device,
             input_dtypes=[None, framework.bool, None])
    check_op(lambda a, m, s: (a * 1).masked_scatter_(m, s),  # broadcast mask, in place
             lambda a, m, s: (a * 1).masked_scatter_(m, s),
             [_normal(3, 4), np.array([True, False, True, True]), _normal(12)], device=device,
             input_dtypes=[None, framework.bool, None])
    with pytest.raises(RuntimeError, match="masked_scatter"):
        framework.zeros(3, device=device).masked_scatter(  # (cuda: at the host sync)
            framework.ones(3, dtype=framework.bool, device=device),
            framework.ones(2, device=device)).tolist()
