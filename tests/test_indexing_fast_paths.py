"""The shortcuts of a character-model batch (``torch.stack([data[i:i + T] for i in ix])``)
give exactly what the general paths give (docs/perf.md, "ported scripts").

- ``x[i]`` / ``x[a:b:c]`` of an untracked tensor (``shape._first_dim_view``) against the
  general ``getitem`` (a tuple key takes it);
- ``unbind`` (and so iterating a tensor) of an untracked tensor against ``select``;
- ``stack`` without a graph against ``cat`` of unsqueezed views;
- an int64 tensor ``+ - *`` a Python int against the op (``binary.add`` ...);
- ``item`` / ``__index__`` of every dtype.

Each compares values, dtype, shape, strides, storage sharing and view state, and errors.
"""
from __future__ import annotations

import numpy as np
import pytest

import framework
from framework import dtypes
from framework.ops import binary
from framework.ops import shape as shape_ops


def _state(t) -> tuple:
    return (t.dtype, tuple(t.shape), t.stride(), t._a.offset, t.requires_grad,
            t._view_meta, t.detach().cpu().numpy().tobytes())


def _data(device, dtype=framework.float32, shape=(5, 4, 3)):
    values = np.arange(int(np.prod(shape))).reshape(shape)
    return framework.tensor(values, dtype=dtype, device=device)


INDEXES = [0, 3, -1, -5, slice(None), slice(1, 4), slice(None, None, 2), slice(-3, None),
           slice(4, 1), slice(7, 9), slice(None, -1, 3)]


@pytest.mark.parametrize("index", INDEXES, ids=str)
def test_first_dim_index_equals_the_general_getitem(device, index):
    x = _data(device)
    fast, general = x[index], x[(index, ...)]  # a key with ... takes the general path
    assert _state(fast) == _state(general)
    assert fast._a.storage is x._a.storage and fast._base is x
    with framework.no_grad():
        assert _state(x[index]) == _state(x[(index, ...)])


def test_first_dim_index_errors_and_tracked_inputs_match_the_general_path(device):
    x = _data(device)
    for bad, error in ((5, IndexError), (-6, IndexError), (slice(None, None, 0), ValueError),
                       (slice(None, None, -1), ValueError)):
        with pytest.raises(error) as fast:
            x[bad]
        with pytest.raises(error) as general:
            x[(bad, ...)]
        assert str(fast.value) == str(general.value)
    with pytest.raises(IndexError, match="too many indices"):
        framework.tensor(3.0, device=device)[0]
    tracked = _data(device).requires_grad_()
    out = tracked[1:3]
    assert type(out.grad_fn).__name__ == "SliceBackward0"
    assert type(tracked[2].grad_fn).__name__ == "SelectBackward0"
    view = _data(device)[1:4]  # a view of a view: its base is the first tensor's
    assert view[1]._base is view._base


PAIRS = [(0, 1), (-1, slice(None)), (slice(None), 0), (slice(1, 4), -1), (2, slice(None, None, 2)),
         (slice(4, 1), 3), (slice(None), slice(1, 3)), (3,), (1, 2, 0)]


@pytest.mark.parametrize("index", PAIRS, ids=str)
@pytest.mark.parametrize("tracked", [False, True])
def test_int_and_slice_tuples_equal_the_general_getitem(device, index, tracked):
    """``x[:, 0]``-style keys (plain ints and slices) skip the general normalization; the view,
    its node and its gradient equal those of the same key with ``...`` (the general path)."""
    x = _data(device, framework.float64).requires_grad_(tracked)
    fast, general = x[index], x[index + (...,)]
    assert _state(fast) == _state(general) and fast._base is x
    if tracked:
        assert type(fast.grad_fn) is type(general.grad_fn)
        weights = _data(device, framework.float64, tuple(fast.shape))
        (got,) = framework.autograd.grad((fast * weights).sum(), x)
        (want,) = framework.autograd.grad((general * weights).sum(), x)
        assert got.cpu().numpy().tobytes() == want.cpu().numpy().tobytes()
    for bad, error in (((0, 4), IndexError), ((slice(None), -5), IndexError),
                       ((slice(None, None, -1), 0), ValueError)):
        with pytest.raises(error) as fast_error:
            x[bad]
        with pytest.raises(error) as general_error:
            x[bad + (...,)]
        assert str(fast_error.value) == str(general_error.value)


def test_unbind_and_iteration_equal_select(device):
    x = _data(device)
    for dim in (0, 1, -1):
        pieces = x.unbind(dim)
        assert [_state(p) for p in pieces] == [_state(shape_ops.select(x, dim, i))[:5] +
                                               (pieces[i]._view_meta,) +
                                               _state(shape_ops.select(x, dim, i))[6:]
                                               for i in range(x.shape[dim])]
        assert all(p._base is x for p in pieces)
    assert [_state(p) for p in x] == [_state(p) for p in x.unbind(0)]
    with framework.no_grad():
        assert all(p._view_meta is not None for p in x.unbind(0))  # made under no_grad
    tracked = _data(device).requires_grad_()
    assert all(type(p.grad_fn).__name__ == "UnbindBackward0" for p in tracked.unbind(0))


def test_unbind_pieces_are_marked_as_multiple_outputs(device):
    x = _data(device)
    fast = x.unbind(1)
    tracked_view = framework.tensor(np.ones((2, 3)), device=device)
    general = shape_ops.mark_multi_output(tuple(shape_ops.select(tracked_view, 0, i)
                                                for i in range(2)), "Unbind")
    assert fast[0]._view_meta[0] == general[0]._view_meta[0]


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack_without_graph_equals_cat_of_unsqueezed(device, dim):
    data = _data(device)
    parts = [data[i, 1:3] for i in range(4)]  # strided views, as a batch of slices is
    fast = framework.stack(parts, dim)
    d = dim % (parts[0].ndim + 1)
    general = framework.cat([p.unsqueeze(d) for p in parts], d)
    assert _state(fast) == _state(general)
    mixed = framework.stack([parts[0], parts[1].to(framework.int64)], dim)  # promotion
    assert mixed.dtype is framework.float32
    assert _state(mixed) == _state(framework.cat([parts[0].unsqueeze(d),
                                                  parts[1].to(framework.int64).unsqueeze(d)], d))
    out = framework.empty(tuple(fast.shape), device=device)
    assert framework.stack(parts, dim, out=out) is out
    assert out.cpu().numpy().tobytes() == fast.cpu().numpy().tobytes()


def test_stack_records_its_node_when_a_gradient_is_needed_and_checks_devices(device):
    a = framework.ones(2, 3, device=device, requires_grad=True)
    out = framework.stack([a, a * 2])
    assert type(out.grad_fn).__name__ == "StackBackward0"
    out.sum().backward()
    assert a.grad.cpu().numpy().tolist() == [[3.0] * 3] * 2
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        framework.stack([framework.ones(2, device=device), framework.ones(3, device=device)])
    if device == "cuda":
        with pytest.raises(RuntimeError, match="devices"):
            framework.stack([framework.ones(2, device="cuda"), framework.ones(2)])


@pytest.mark.parametrize("name", ["__add__", "__radd__", "__sub__", "__rsub__", "__mul__",
                                  "__rmul__"])
@pytest.mark.parametrize("value", [0, 7, -3, (1 << 62), -(1 << 63), (1 << 63) - 1])
def test_int64_tensor_with_python_int_equals_the_op(device, name, value):
    x = framework.tensor([5, -2, 1 << 40], device=device)
    scalar = framework.tensor(9, device=device)  # a 0-d index, as ``i + T``
    ops = {"__add__": lambda t: binary.add(t, value), "__radd__": lambda t: binary.add(value, t),
           "__sub__": lambda t: binary.sub(t, value), "__rsub__": lambda t: binary.sub(value, t),
           "__mul__": lambda t: binary.mul(t, value), "__rmul__": lambda t: binary.mul(value, t)}
    for t in (x, scalar):
        fast = getattr(t, name)(value)
        general = ops[name](t)
        assert _state(fast) == _state(general)
        assert fast.dtype is dtypes.int64


def test_int64_tensor_with_other_operands_takes_the_general_path(device):
    x = framework.tensor([1, 2], device=device)
    assert (x + True).dtype is dtypes.int64  # a bool is not an int here: the general path
    assert (x.to(framework.int32) + 3).dtype is dtypes.int32
    assert (x / 2).dtype is framework.float32


@pytest.mark.parametrize("dtype", [framework.float32, framework.float16, framework.bfloat16,
                                   framework.float64, framework.int64, framework.int8,
                                   framework.bool])
def test_item_and_index_give_python_numbers(device, dtype):
    t = framework.tensor([[1]], dtype=dtype, device=device)
    value = t.item()
    expected = {framework.bool: bool}.get(dtype, float if dtype.is_floating_point else int)
    assert type(value) is expected and value == 1
    assert t[0, 0].item() == 1 and t.reshape(1).item() == 1
    grid = framework.arange(6, device=device).to(dtype).reshape(2, 3)
    if dtype is not framework.bool:  # an element of a strided view with an offset
        assert grid[:, 2][1].item() == 5 and grid.t()[1, 1].item() == 4
    if not dtype.is_floating_point:
        assert [10, 20, 30][t] == 20 and type(t.__index__()) is int
    else:
        with pytest.raises(TypeError, match="integer tensors of a single element"):
            [1, 2][t]
    with pytest.raises(RuntimeError, match="2 elements cannot be converted to Scalar"):
        framework.ones(2, dtype=dtype, device=device).item()
