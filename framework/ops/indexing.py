"""Indexing ops: advanced indexing, gather/scatter, masks, embedding, one_hot.

Three autograd Functions do the work, each one kernel of the contract:

* ``_Gather``: ``out[i] = x[i with i[dim] = index[i]]`` (kernel ``gather``);
* ``_ScatterAdd``: a copy of ``x`` with ``src`` added at the indexed places
  (kernel ``scatter_add``, atomic on cuda);
* ``_Scatter``: a copy of ``x`` with ``src`` stored at the indexed places
  (kernel ``scatter``).

Each one's backward is written with the others, so gradients of gradients
work. ``index_select`` and ``index_add`` are a gather / scatter-add whose
index is a broadcast (stride-0) view of a 1-D index; advanced indexing
(``x[idx]``, ``x[mask]``, ``x[idx] = v``, ``index_put_``) moves the indexed
dims to the front, flattens them into one row index and becomes an
``index_select`` (read) or an index copy / ``index_add`` (write) of rows.
Boolean masks become integer indices through ``nonzero`` (mask compaction).

Indices are checked on the host from their minimum and maximum (one small
reduction and a synchronization on cuda), raising PyTorch's error types.
Negative indices are wrapped where PyTorch wraps them (advanced indexing,
``index_put_``), not in ``gather``/``scatter``/``index_select``.

Determinism (``docs/determinism.md``): on cuda, row scatter-adds (``index_add``,
``index_put_`` with ``accumulate=True`` and the backward of ``index_select``,
advanced indexing and ``embedding``) sum duplicates in a fixed sorted order.
``scatter_add`` with a general index (and so the backward of ``gather`` and
``take_along_dim``) adds floats with atomics: the summation order, and so the
last bits, may vary between runs, as with PyTorch on CUDA. ``scatter``,
``index_copy`` and ``index_put_`` without accumulation keep an unspecified one
of duplicate writes (as PyTorch does). ``scatter_reduce`` / ``index_reduce``
(kernel ``scatter_reduce``) fold duplicates with atomics on cuda: float sums
and products may differ in the last bits between runs; amax/amin are exact.
"""
from __future__ import annotations

import math
import numbers
import warnings

from .. import dtypes
from ..autograd.function import Function, rename_node
from ..autograd.grad_mode import no_grad
from .._backends.array import contiguous_strides
from ..tensor import Tensor
from . import creation
from . import binary, compare
from . import shape as shape_ops
from ._util import backend, broadcast_shapes, check_tensor, common_device, normalize_dim, wrap
from .inplace import apply_inplace, check_writable
from .registry import register

__all__ = [
    "gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
    "index_copy", "index_reduce", "index_put", "index_put_",
    "masked_fill", "masked_select", "nonzero", "argwhere", "take_along_dim", "index_fill",
    "masked_scatter",
]
FUNCTIONAL = ["embedding", "embedding_bag", "one_hot"]
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = (
    "gather", "scatter", "scatter_", "scatter_add", "scatter_add_", "index_select", "index_add",
    "index_add_", "index_copy", "index_copy_", "index_put", "index_put_", "scatter_reduce",
    "scatter_reduce_", "index_reduce", "index_reduce_", "masked_fill", "masked_fill_",
    "masked_select", "nonzero", "argwhere", "take_along_dim", "index_fill", "index_fill_",
    "masked_scatter", "masked_scatter_",
)

for _name in ("gather", "index_select", "take_along_dim", "embedding"):
    register(_name, "indexing", ("gather", "amax", "amin", "full", "scatter_add", "to_numpy"))
register("scatter", "indexing", (
    "scatter", "scatter_reduce", "amax", "amin", "full", "gather", "to_numpy",
))
register("scatter_", "indexing", (
    "scatter", "scatter_reduce", "amax", "amin", "copy_", "full", "gather", "to_numpy",
))
register("scatter_add", "indexing", ("scatter_add", "amax", "amin", "gather", "to_numpy"))
register("scatter_add_", "indexing", ("scatter_add", "amax", "amin", "copy_", "gather", "to_numpy"))
register("index_add", "indexing", ("scatter_add", "amax", "amin", "gather", "mul", "to_numpy"))
register("index_add_", "indexing", (
    "scatter_add", "amax", "amin", "copy_", "gather", "mul", "to_numpy",
))
register("index_copy", "indexing", ("scatter", "amax", "amin", "full", "gather", "to_numpy"))
register("index_copy_", "indexing", (
    "scatter", "amax", "amin", "copy_", "full", "gather", "to_numpy",
))
for _name in ("scatter_reduce", "scatter_reduce_", "index_reduce", "index_reduce_"):
    register(_name, "indexing", (
        "scatter_reduce", "scatter_add", "gather", "amax", "amin", "copy_", "div", "empty", "eq",
        "mul", "to_numpy",
    ))
register("index_put", "indexing", (
    "scatter", "scatter_add", "nonzero", "amax", "amin", "full", "gather", "sum", "to_numpy",
))
register("index_put_", "indexing", (
    "scatter", "scatter_add", "nonzero", "amax", "amin", "copy_", "full", "gather", "sum",
    "to_numpy",
))
register("masked_fill", "indexing", ("where", "full"))
register("masked_fill_", "indexing", ("where", "copy_", "full"))
register("index_fill", "indexing", ("scatter_add", "amax", "amin", "gt", "where", "full",
                                    "to_numpy"))
register("index_fill_", "indexing", ("scatter_add", "amax", "amin", "gt", "where", "full",
                                     "to_numpy", "copy_"))
for _name in ("masked_scatter", "masked_scatter_"):
    register(_name, "indexing", ("cumsum", "sub", "clamp", "gather", "where", "sum", "le",
                                 "device_assert", "scatter_add", "amax", "amin", "copy_", "empty",
                                 "full", "to_numpy"))
register("masked_select", "indexing", ("nonzero", "gather", "full", "scatter_add"))
for _name in ("nonzero", "argwhere"):
    register(_name, "indexing", ("nonzero",), differentiable=False)
register("one_hot", "indexing", (
    "scatter", "amax", "amin", "full", "to_numpy",
), differentiable=False)
del _name

_INDEX_DTYPES = (dtypes.int64, dtypes.int32)


# --- the three Functions ----------------------------------------------------------------
class _Gather(Function):
    """``out[i] = x[i with i[dim] = index[i]]``; backward scatter-adds into zeros."""

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.dim = dim
        ctx.x_shape = tuple(x.shape)
        ctx.save_for_backward(index)
        return wrap(backend(x).gather(x._a, dim, index._a), x.device)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        zeros = creation.zeros(ctx.x_shape, dtype=grad.dtype, device=grad.device)
        return _ScatterAdd.apply(zeros, ctx.dim, index, grad), None, None


class _ScatterAdd(Function):
    """A copy of ``x`` with ``src[i]`` added at ``i with i[dim] = index[i]``."""

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim = dim
        ctx.src_shape = tuple(src.shape)
        ctx.save_for_backward(index)
        return wrap(backend(x).scatter_add(x._a, dim, index._a, src._a), x.device)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        grad_src = None
        if ctx.needs_input_grad[3]:
            grad_src = _gather_into_shape(grad, ctx.dim, index, ctx.src_shape)
        return grad, None, None, grad_src


class _Scatter(Function):
    """A copy of ``x`` with ``src[i]`` stored at ``i with i[dim] = index[i]``."""

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim = dim
        ctx.src_shape = tuple(src.shape)
        ctx.save_for_backward(index)
        return wrap(backend(x).scatter(x._a, dim, index._a, src._a), x.device)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        grad_x = grad_src = None
        if ctx.needs_input_grad[0]:
            grad_x = _Scatter.apply(grad, ctx.dim, index, _filled(0, grad, tuple(index.shape)))
        if ctx.needs_input_grad[3]:
            grad_src = _gather_into_shape(grad, ctx.dim, index, ctx.src_shape)
        return grad_x, None, None, grad_src


def _gather_into_shape(grad: Tensor, dim: int, index: Tensor, shape: tuple) -> Tensor:
    """``grad.gather(dim, index)`` placed in zeros of ``shape`` (``src`` may exceed ``index``)."""
    gathered = _Gather.apply(grad, dim, index)
    if tuple(gathered.shape) == tuple(shape):
        return gathered
    region = tuple(slice(0, size) for size in gathered.shape)
    return shape_ops._SliceScatter.apply(gathered, tuple(shape), region)


def _filled(value, like: Tensor, shape: tuple) -> Tensor:
    """A broadcast (stride-0) tensor of ``shape`` holding ``value`` in ``like``'s dtype."""
    return creation.full((), value, dtype=like.dtype, device=like.device).expand(shape)


# --- argument checks --------------------------------------------------------------------
def _check_index_dtype(index: Tensor, message: str) -> None:
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError(message.format(got=dtypes.scalar_type_name(index.dtype)))


def _index_range(index: Tensor) -> tuple:
    """``(min, max)`` of a non-empty integer tensor, as Python ints: the ``amin``/``amax``
    kernels on its array and a host read of each (no op-layer dispatch: a bounds check runs
    on every indexing call on cpu)."""
    kernels, a = backend(index), index._a
    dims = tuple(range(len(a.shape)))
    low, high = kernels.amin(a, dims), kernels.amax(a, dims)
    return int(kernels.to_numpy(low)), int(kernels.to_numpy(high))


def _check_bounds(index: Tensor, size: int, dim: int, error=RuntimeError, message=None,
                  allow_negative: bool = False) -> bool:
    """Raise ``error`` when an index falls outside ``[0, size)`` (``[-size, size)`` when
    ``allow_negative``); returns True when some index may be negative (needs wrapping).

    Only on ``cpu``: on ``cuda`` reading the range would stall the pipeline, so the kernels
    check each index and a bad one raises at the next host synchronization
    (``framework/_backends/triton/device_errors.py``), as in PyTorch.
    """
    if index.numel() == 0:
        return False
    if index.device.type != "cpu":
        return allow_negative
    lo, hi = _index_range(index)
    low_limit = -size if allow_negative else 0
    bad = hi if hi >= size else (lo if lo < low_limit else None)
    if bad is not None:
        raise error(message or f"index {bad} is out of bounds for dimension {dim} with size {size}")
    return lo < 0


def _same_ndim(a: Tensor, b: Tensor) -> bool:
    return max(a.ndim, 1) == max(b.ndim, 1)


def _as_1d(x: Tensor) -> Tensor:
    return x.reshape(1) if x.ndim == 0 else x


# --- gather / scatter -------------------------------------------------------------------
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """Values of ``input`` along ``dim`` at ``index``: ``out[i][j] = input[index[i][j]][j]``
    for ``dim=0`` (any number of dims). ``index`` has ``input``'s number of dims and is no
    larger than ``input`` in the other dims; the result has ``index``'s shape."""
    check_tensor("gather", "input", input)
    check_tensor("gather", "index", index)
    common_device("gather", input, index)
    d = normalize_dim("gather", dim, input.ndim)
    _check_index_dtype(index, "gather(): Expected dtype int32/int64 for index")
    if not _same_ndim(input, index):
        raise RuntimeError("gather(): Index tensor must have the same number of dimensions as "
                           "input tensor")
    x, idx = _as_1d(input), _as_1d(index)
    for k in range(x.ndim):
        if k != d and idx.shape[k] > x.shape[k]:
            raise RuntimeError(f"gather(): Size does not match at dimension {k} expected index "
                               f"{list(index.shape)} to be no larger than self "
                               f"{list(input.shape)} apart from dimension {d}")
    _check_bounds(idx, x.shape[d], d, RuntimeError)
    out = _Gather.apply(x, d, idx)
    return out.reshape(tuple(index.shape)) if index.ndim == 0 else out


def _check_scatter_args(op: str, input: Tensor, dim: int, index: Tensor, src) -> int:
    """Validate a scatter's arguments like PyTorch; returns the wrapped dim."""
    check_tensor(op, "input", input)
    check_tensor(op, "index", index)
    common_device(op, input, index, src)
    d = normalize_dim(op, dim, input.ndim)
    _check_index_dtype(index, f"{op}(): Expected dtype int64 for index")
    if not _same_ndim(input, index):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as self "
                           "tensor")
    if isinstance(src, Tensor):
        if src.dtype is not input.dtype:
            raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype")
        if not _same_ndim(src, index):
            raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                               "src tensor")
    x, idx = _as_1d(input), _as_1d(index)
    for k in range(x.ndim):
        too_big = (k != d and idx.shape[k] > x.shape[k]) or \
            (isinstance(src, Tensor) and idx.shape[k] > _as_1d(src).shape[k])
        if too_big:
            src_text = f" and to be no larger size than src {list(src.shape)}" \
                if isinstance(src, Tensor) else ""
            raise RuntimeError(f"{op}(): Expected index {list(index.shape)} to be no larger than "
                               f"self {list(input.shape)} apart from dimension {d}{src_text}")
    _check_bounds(idx, x.shape[d], d, RuntimeError)
    return d


def _scatter_op(op: str, fn, input: Tensor, dim: int, index: Tensor, src) -> Tensor:
    d = _check_scatter_args(op, input, dim, index, src)
    x, idx = _as_1d(input), _as_1d(index)
    src = _as_1d(src) if isinstance(src, Tensor) else _filled(src, x, tuple(idx.shape))
    out = fn.apply(x, d, idx, src.to(x.device))
    return out.reshape(()) if input.ndim == 0 else out


def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None, *,
            reduce=None) -> Tensor:
    """A copy of ``input`` with ``src[i]`` (or the number ``value``) written at ``i`` with
    ``i[dim] = index[i]``, for every ``i`` of ``index``'s shape. With duplicate indices one
    write wins (which one is unspecified, as in PyTorch). ``reduce='add'`` / ``'multiply'``
    folds the values into ``input`` instead; like PyTorch, that form has no derivative
    (backward raises ``RuntimeError``)."""
    if src is None and value is None:
        raise TypeError("scatter(): missing argument 'src' or 'value'")
    source = src if src is not None else value
    if not isinstance(source, Tensor) and not isinstance(source, numbers.Number):
        raise TypeError(f"scatter(): argument 'src' must be Tensor or a number, not "
                        f"{type(source).__name__}")
    if reduce is None:
        return _scatter_op("scatter", _Scatter, input, dim, index, source)
    if reduce not in _SCATTER_REDUCE_MODES:
        raise RuntimeError("reduce argument must be either add or multiply.")
    d = _check_scatter_args("scatter", input, dim, index, source)
    x, idx = _as_1d(input), _as_1d(index)
    src = _src_for_index(source, x, idx)
    out = _ScatterNoGrad.apply(x, d, idx, src.to(x.device), _SCATTER_REDUCE_MODES[reduce])
    return out.reshape(()) if input.ndim == 0 else out


def scatter_(self: Tensor, dim: int, index: Tensor, src=None, value=None, *,
             reduce=None) -> Tensor:
    """In-place ``scatter``."""
    return apply_inplace("scatter_", self,
                         lambda old: scatter(old, dim, index, src, value, reduce=reduce))


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src[i]`` added at ``i with i[dim] = index[i]``; duplicate
    indices accumulate. On cuda a general index adds floats with atomics (summation order
    varies between runs, as in PyTorch); a broadcast row index is summed deterministically."""
    check_tensor("scatter_add", "src", src)
    return _scatter_op("scatter_add", _ScatterAdd, input, dim, index, src)


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place ``scatter_add``."""
    return apply_inplace("scatter_add_", self, lambda old: scatter_add(old, dim, index, src))


# --- scatter_reduce / index_reduce ---------------------------------------------------------
_SCATTER_REDUCE_MODES = {"add": "sum", "multiply": "prod"}
_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _identity(reduce: str, dtype):
    """The neutral element of ``reduce`` ('sum', 'prod', 'amax', 'amin') in ``dtype``."""
    if reduce in ("sum", "prod"):
        return int(reduce == "prod")
    if dtype.is_floating_point:
        return -math.inf if reduce == "amax" else math.inf
    if dtype is dtypes.bool:
        return reduce == "amin"
    bits = dtype.itemsize * 8
    low, high = (0, 2 ** bits - 1) if dtype.name.startswith("uint") else \
        (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return low if reduce == "amax" else high


def _src_for_index(source, x: Tensor, idx: Tensor) -> Tensor:
    """``source`` cut to ``idx``'s shape (a number becomes a broadcast tensor of it)."""
    if not isinstance(source, Tensor):
        return _filled(source, x, tuple(idx.shape))
    src = _as_1d(source)
    if tuple(src.shape) != tuple(idx.shape):
        src = src[tuple(slice(0, size) for size in idx.shape)]
    return src


def _scatter_count(x: Tensor, dim: int, index: Tensor, include_self: bool) -> Tensor:
    """How many values each position of a 'mean' averages (at least 1)."""
    base = creation.full(tuple(x.shape), int(include_self), dtype=x.dtype, device=x.device)
    count = _ScatterAdd.apply(base, dim, index, _filled(1, x, tuple(index.shape)))
    return count.masked_fill(count == 0, 1)


def _scatter_reduce_value(x: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str,
                          include_self: bool) -> Tensor:
    """The forward of ``scatter_reduce`` (``src`` already has ``index``'s shape)."""
    kind = "sum" if reduce == "mean" else reduce
    base = x
    if not include_self:  # the targets start from the reduction's neutral element
        base = _Scatter.apply(x, dim, index, _filled(_identity(kind, x.dtype), x,
                                                     tuple(index.shape)))
    out = wrap(backend(x).scatter_reduce(base._a, dim, index._a, src._a, kind), x.device)
    if reduce == "mean":
        count = _scatter_count(x, dim, index, include_self)
        out = out / count if x.dtype.is_floating_point else binary.div(out, count,
                                                                   rounding_mode="floor")
    return out


class _ScatterNoGrad(Function):
    """``scatter(..., reduce=)``: PyTorch defines no derivative, so backward raises."""

    @staticmethod
    def forward(ctx, x, dim, index, src, reduce):
        return wrap(backend(x).scatter_reduce(x._a, dim, index._a, src._a, reduce), x.device)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::scatter is not implemented")


class _ScatterReduce(Function):
    """``scatter_reduce``; the backward follows PyTorch's (``scatter_reduce_backward``)."""

    @staticmethod
    def forward(ctx, x, dim, index, src, reduce, include_self):
        out = _scatter_reduce_value(x, dim, index, src, reduce, include_self)
        ctx.save_for_backward(x, index, src, out)
        ctx.args = (dim, reduce, include_self)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, index, src, result = ctx.saved_tensors
        dim, reduce, include_self = ctx.args
        grad_x, grad_src = _REDUCE_GRADS[reduce](grad, x, dim, index, src, result, include_self)
        if not include_self:  # the input's values at the targets took no part
            grad_x = _Scatter.apply(grad_x, dim, index, _filled(0, grad_x, tuple(index.shape)))
        return grad_x, None, None, grad_src, None, None


def _sum_grads(grad, x, dim, index, src, result, include_self):
    return grad, _Gather.apply(grad, dim, index)


def _mean_grads(grad, x, dim, index, src, result, include_self):
    count = _scatter_count(x, dim, index, include_self)
    return grad / count, _Gather.apply(grad, dim, index) / _Gather.apply(count, dim, index)


def _prod_grads(grad, x, dim, index, src, result, include_self):
    """Exclusive products by division, with zeros handled as PyTorch does: a zero input
    divides out as 1; a source that is the only zero of its target gets the product of
    the others, computed again with that zero set to 1."""
    masked_x = x.masked_fill(x == 0, 1)
    masked_x_result = _ScatterReduce.apply(masked_x, dim, index, src, "prod", include_self)
    grad_x = grad * masked_x_result / masked_x
    src_zero = src == 0
    zeros = creation.zeros(tuple(x.shape), dtype=x.dtype, device=x.device)
    zero_count = _Gather.apply(_ScatterAdd.apply(zeros, dim, index, src_zero.to(x.dtype)), dim,
                               index)
    single_zero = compare.logical_and(src_zero, zero_count == 1)
    masked_src_result = _ScatterReduce.apply(x, dim, index, src.masked_fill(single_zero, 1),
                                             "prod", include_self)
    grad_src = compare.where(single_zero, _Gather.apply(grad * masked_src_result, dim, index),
                        _Gather.apply(grad * result, dim, index) / src.masked_fill(src_zero, 1))
    return grad_x, grad_src


def _extreme_grads(grad, x, dim, index, src, result, include_self):
    """amax/amin: the gradient split evenly among every value equal to the result."""
    value = _Gather.apply(result, dim, index)
    x_is_result = (x == result).to(x.dtype)
    src_is_result = (src == value).to(x.dtype)
    share = grad / _ScatterAdd.apply(x_is_result, dim, index, src_is_result)
    return x_is_result * share, src_is_result * _Gather.apply(share, dim, index)


_REDUCE_GRADS = {"sum": _sum_grads, "mean": _mean_grads, "prod": _prod_grads,
                 "amax": _extreme_grads, "amin": _extreme_grads}


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """A copy of ``input`` with every ``src[i]`` folded into position ``i`` with
    ``i[dim] = index[i]`` by ``reduce``: 'sum', 'prod', 'mean', 'amax' or 'amin'. With
    ``include_self=False`` the input's values at scattered positions take no part (others
    are kept). Gradients as PyTorch's (amax/amin split among ties; 'mean' counts the input)."""
    check_tensor("scatter_reduce", "src", src)
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    d = _check_scatter_args("scatter_reduce", input, dim, index, src)
    x, idx = _as_1d(input), _as_1d(index)
    out = _ScatterReduce.apply(x, d, idx, _src_for_index(src, x, idx), reduce, bool(include_self))
    return out.reshape(()) if input.ndim == 0 else out


def scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    """In-place ``scatter_reduce``."""
    return apply_inplace("scatter_reduce_", self, lambda old: scatter_reduce(
        old, dim, index, src, reduce, include_self=include_self))


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """``scatter_reduce`` of whole slices: the slices of ``source`` along ``dim`` are folded
    into the slices of ``input`` at the rows in the 1-D ``index`` by ``reduce`` ('prod',
    'mean', 'amax' or 'amin')."""
    if reduce not in _REDUCTIONS[1:]:
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    d, x, idx, src = _check_index_rows_args("index_reduce", input, dim, index, source,
                                            bounds_error=IndexError,
                                            bounds_message="index out of range in self")
    out = _ScatterReduce.apply(x, d, _spread(idx, tuple(src.shape), d), src, reduce,
                               bool(include_self))
    out = rename_node(out, "IndexReduceBackward0")
    return out.reshape(()) if input.ndim == 0 else out


def index_reduce_(self: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                  include_self: bool = True) -> Tensor:
    """In-place ``index_reduce``."""
    return apply_inplace("index_reduce_", self, lambda old: index_reduce(
        old, dim, index, source, reduce, include_self=include_self))


# --- index_select / index_add -----------------------------------------------------------
def _spread(index: Tensor, shape: tuple, dim: int) -> Tensor:
    """A 1-D index as a broadcast view of ``shape`` varying only along ``dim``."""
    ones = [1] * len(shape)
    ones[dim] = index.shape[0]
    return index.reshape(tuple(ones)).expand(tuple(shape))


def _check_vector_index(op: str, index: Tensor, dtype_message: str) -> Tensor:
    check_tensor(op, "index", index)
    _check_index_dtype(index, dtype_message)
    if index.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    return index.reshape(-1)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` along ``dim`` at the positions in the 1-D ``index``.

    Backward adds the gradient rows back (duplicates in a fixed order, also on cuda).
    """
    check_tensor("index_select", "input", input)
    idx = _check_vector_index("index_select", index,
                              "index_select(): Expected dtype int32 or int64 for index")
    common_device("index_select", input, index)
    x = _as_1d(input)
    d = normalize_dim("index_select", dim, input.ndim)
    _check_bounds(idx, x.shape[d], d, IndexError, "index out of range in self")
    out_shape = list(x.shape)
    out_shape[d] = idx.shape[0]
    out = rename_node(_Gather.apply(x, d, _spread(idx, tuple(out_shape), d)),
                      "IndexSelectBackward0")
    return out.reshape(()) if input.ndim == 0 and out.numel() == 1 else out


def _check_index_rows_args(op: str, input: Tensor, dim: int, index: Tensor,
                           source: Tensor, bounds_error=RuntimeError,
                           bounds_message=None) -> tuple:
    """Validate ``index_add``/``index_copy`` arguments like PyTorch: ``(dim, x, index, src)``
    with 0-d tensors seen as 1-D."""
    check_tensor(op, "input", input)
    check_tensor(op, "source", source)
    idx = _check_vector_index(f"{op}_", index,
                              f"{op}_(): Expected dtype int32/int64 for index but got: {{got}}")
    common_device(op, input, index, source)
    d = normalize_dim(op, dim, input.ndim)
    x, src = _as_1d(input), _as_1d(source)
    if src.ndim != x.ndim:
        raise IndexError(f"{op}_(): source ({source.ndim}-D) and self ({input.ndim}-D) "
                         "must have the same number of dimensions")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"{op}_(): self ({dtypes.scalar_type_name(input.dtype)}) and source "
                           f"({dtypes.scalar_type_name(source.dtype)}) must have the same scalar type")
    if idx.shape[0] != src.shape[d]:
        raise RuntimeError(f"{op}_(): Number of indices ({idx.shape[0]}) should be equal to "
                           f"source.size(dim): ({src.shape[d]}), for dim: {d}")
    for k in range(x.ndim):
        if k != d and src.shape[k] != x.shape[k]:
            raise RuntimeError(f"{op}_(): source size at dim {k} ({src.shape[k]}) must match "
                               f"self size at dim {k} ({x.shape[k]})")
    if op == "index_copy":  # PyTorch's types and messages differ between the two
        _check_bounds(idx, x.shape[d], d, IndexError,
                      _index_copy_message(idx, x.shape[d], d) if idx.device.type == "cpu" else None)
    else:
        _check_bounds(idx, x.shape[d], d, bounds_error, bounds_message)
    return d, x, idx, src


def _index_copy_message(index: Tensor, size: int, dim: int):
    """PyTorch's message for an out-of-range ``index_copy`` index (None when all are in range)."""
    if index.numel() == 0:
        return None
    lo, hi = _index_range(index)
    bad = hi if hi >= size else (lo if lo < 0 else None)
    return None if bad is None else (f"index_copy_(): index {bad} is out of bounds for dimension "
                                     f"{dim} with size {size}")


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added along ``dim`` at the rows in the 1-D
    ``index`` (duplicates accumulate, in a fixed order on both devices)."""
    d, x, idx, src = _check_index_rows_args("index_add", input, dim, index, source)
    if not (isinstance(alpha, numbers.Number) and alpha == 1):
        src = src * alpha
    out = _ScatterAdd.apply(x, d, _spread(idx, tuple(src.shape), d), src)
    return out.reshape(()) if input.ndim == 0 else out


def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """In-place ``index_add``."""
    return apply_inplace("index_add_", self,
                         lambda old: index_add(old, dim, index, source, alpha=alpha))


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` whose entries along ``dim`` at the rows in the 1-D ``index`` are
    replaced by ``source`` (with duplicate indices one write wins, as in PyTorch)."""
    d, x, idx, src = _check_index_rows_args("index_copy", input, dim, index, source)
    out = _Scatter.apply(x, d, _spread(idx, tuple(src.shape), d), src)
    return out.reshape(()) if input.ndim == 0 else out


def index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """In-place ``index_copy``."""
    return apply_inplace("index_copy_", self, lambda old: index_copy(old, dim, index, source))


# --- nonzero and masks ------------------------------------------------------------------
def nonzero(input: Tensor, *, out=None, as_tuple: bool = False):
    """Coordinates of the nonzero elements in row-major order: an (n, ndim) int64 tensor, or
    with ``as_tuple`` one 1-D tensor per dim (a 0-d input counts as 1-D there)."""
    check_tensor("nonzero", "input", input)
    if out is not None:
        raise NotImplementedError("nonzero(): the 'out' argument is not supported")
    x = _as_1d(input) if as_tuple else input
    coords = wrap(backend(x).nonzero(x._a), x.device)
    if not as_tuple:
        return coords
    return tuple(coords[:, d] for d in range(x.ndim))


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: the (n, ndim) coordinates of the nonzero elements."""
    check_tensor("argwhere", "input", input)
    return nonzero(input)


def _check_bool_mask(mask, message: str) -> None:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{message.split(' ')[0]} argument 'mask' must be Tensor, not "
                        f"{type(mask).__name__}")
    if mask.dtype is not dtypes.bool:
        raise RuntimeError(message.format(got=dtypes.scalar_type_name(mask.dtype)))


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` (broadcast with it) is True, as a 1-D tensor."""
    check_tensor("masked_select", "input", input)
    _check_bool_mask(mask, "masked_select: expected BoolTensor for mask")
    common_device("masked_select", input, mask)
    shape = broadcast_shapes("masked_select", tuple(input.shape), tuple(mask.shape))
    flat = input.expand(shape).reshape(-1)
    rows = nonzero(mask.expand(shape).reshape(-1))[:, 0]
    return _Gather.apply(flat, 0, rows)


def _fill_value(op: str, input: Tensor, value) -> Tensor:
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got tensor "
                               f"with {value.ndim} dimension(s).")
        return value.to(input.device).to(input.dtype)
    if not isinstance(value, numbers.Number):
        raise TypeError(f"{op}(): argument 'value' must be Number or Tensor, not "
                        f"{type(value).__name__}")
    if not input.dtype.is_floating_point and input.dtype is not dtypes.bool:
        value = int(value)
    return creation.full((), value, dtype=input.dtype, device=input.device)


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` (a number or a 0-d tensor, which gets a gradient) where the
    boolean ``mask`` (broadcast with ``input``) is True."""
    check_tensor("masked_fill", "input", input)
    _check_bool_mask(mask, "masked_fill_ only supports boolean masks, but got mask with dtype "
                           "{got}")
    common_device("masked_fill", input, mask)
    return rename_node(compare.where(mask, _fill_value("masked_fill_", input, value), input),
                       "MaskedFillBackward0", public=(1, 2) if isinstance(value, Tensor) else (2,))


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """In-place ``masked_fill`` (``mask`` must broadcast to ``self``'s shape)."""
    return apply_inplace("masked_fill_", self, lambda old: masked_fill(old, mask, value))



def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """``input`` with the entries along ``dim`` at the positions in ``index`` (1-D or 0-d
    int64) set to ``value`` (a number, or a 0-d tensor, which gets a gradient)."""
    check_tensor("index_fill", "input", input)
    check_tensor("index_fill", "index", index)
    if index.dtype is not dtypes.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if index.ndim > 1:
        raise IndexError("index_fill_(): Index has to be a vector/scalar")
    common_device("index_fill", input, index)
    x = _as_1d(input)
    d = normalize_dim("index_fill", dim, x.ndim)
    hits = creation.zeros(x.shape[d], dtype=dtypes.int64, device=x.device)
    hits = hits.index_add(0, index.reshape(-1), creation.ones_like(index.reshape(-1)))
    rows = [1] * x.ndim
    rows[d] = x.shape[d]
    out = masked_fill(x, compare.gt(hits, 0).reshape(tuple(rows)), value)
    return out.reshape(()) if input.ndim == 0 else out


def index_fill_(self: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """In-place ``index_fill``."""
    return apply_inplace("index_fill_", self, lambda old: index_fill(old, dim, index, value))


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the positions where the boolean ``mask`` (broadcast to ``input``) is
    True filled, in row-major order, with the first elements of ``source``."""
    check_tensor("masked_scatter", "input", input)
    check_tensor("masked_scatter", "source", source)
    _check_bool_mask(mask, "masked_scatter_ only supports boolean masks, but got mask with "
                           "dtype {got}")
    common_device("masked_scatter", input, mask, source)
    if source.dtype is not input.dtype:
        raise RuntimeError(f"masked_scatter_: expected self and source to have same dtypes but "
                           f"got {dtypes.scalar_type_name(input.dtype)} and "
                           f"{dtypes.scalar_type_name(source.dtype)}")
    mask = mask.expand(tuple(input.shape))
    flat_mask = mask.reshape(-1).to(dtypes.int64)
    with no_grad():
        used = flat_mask.sum()
        backend(used).device_assert(compare.le(used, source.numel())._a, "masked_scatter",
                                    "Number of elements of source < number of ones in mask")
        positions = (flat_mask.cumsum(0) - 1).clamp(min=0, max=max(source.numel() - 1, 0))
    if source.numel() == 0:
        return input.clone()
    picked = source.reshape(-1).gather(0, positions).reshape(tuple(input.shape))
    return compare.where(mask, picked, input)


def masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """In-place ``masked_scatter`` (``mask`` must broadcast to ``self``'s shape)."""
    return apply_inplace("masked_scatter_", self, lambda old: masked_scatter(old, mask, source))

def take_along_dim(input: Tensor, indices: Tensor, dim=None) -> Tensor:
    """``gather`` with ``input`` and ``indices`` broadcast in every dim but ``dim``; with
    ``dim=None`` both are flattened first."""
    check_tensor("take_along_dim", "input", input)
    check_tensor("take_along_dim", "indices", indices)
    if indices.dtype is not dtypes.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{dtypes.scalar_type_name(indices.dtype)}")
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, "
                           f"and {indices.ndim} dimensions for indices")
    d = normalize_dim("take_along_dim", dim, input.ndim)
    if input.ndim == 0:
        return gather(input, 0, indices)
    in_shape, idx_shape = list(input.shape), list(indices.shape)
    in_shape[d] = idx_shape[d] = 1
    common = list(broadcast_shapes("take_along_dim", tuple(in_shape), tuple(idx_shape)))
    x_shape, i_shape = list(common), list(common)
    x_shape[d], i_shape[d] = input.shape[d], indices.shape[d]
    return gather(input.expand(tuple(x_shape)), d, indices.expand(tuple(i_shape)))


# --- advanced indexing ------------------------------------------------------------------
def is_advanced_index(index) -> bool:
    """True when ``index`` (a ``__getitem__`` key) holds a tensor, sequence or bool index."""
    items = index if isinstance(index, tuple) else (index,)
    return any(_is_advanced_item(item) for item in items)


def _is_advanced_item(item) -> bool:
    if isinstance(item, Tensor):
        return item.ndim > 0 or item.dtype is dtypes.bool or item.dtype.is_floating_point
    if isinstance(item, (bool, list, tuple)):
        return True
    return type(item).__name__ in ("ndarray", "bool_")


class _BoolScalar:
    """A ``True``/``False`` index: a new dim of size 1 (kept) or 0 (dropped)."""

    def __init__(self, value: bool) -> None:
        self.value = bool(value)


def _index_tensor(item, device) -> Tensor:
    """A sequence or array index as a tensor (empty sequences are int64, like PyTorch)."""
    t = creation.tensor(item, device=device)
    if t.numel() == 0 and t.dtype.is_floating_point:
        t = t.to(dtypes.int64)
    return t


def _convert_item(item, device):
    """One index entry as int, slice, None, Ellipsis, ``_BoolScalar`` or an index tensor."""
    if item is None or item is Ellipsis or isinstance(item, slice):
        return item
    if isinstance(item, bool) or type(item).__name__ == "bool_":
        return _BoolScalar(item)
    if isinstance(item, (list, tuple)) or type(item).__name__ == "ndarray":
        item = _index_tensor(item, device)
    if isinstance(item, Tensor):
        if item.device != device and item.device.type != "cpu":
            raise RuntimeError(f"indices should be either on cpu or on the same device as the "
                               f"indexed tensor ({device})")
        if item.dtype is dtypes.uint8:  # a mask, as in PyTorch (deprecated there too)
            warnings.warn("indexing with dtype framework.uint8 is now deprecated, please use a "
                          "dtype framework.bool instead.", UserWarning, stacklevel=3)
            item = item != 0
        if item.dtype is dtypes.bool and item.ndim == 0:
            return _BoolScalar(item.item())
        if item.dtype not in _INDEX_DTYPES and item.dtype is not dtypes.bool:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if item.ndim == 0:
            return int(item.item())
        return item
    if hasattr(item, "__index__"):
        return item.__index__()
    raise TypeError(f"getitem(): invalid index of type {type(item).__name__}; only integers, "
                    "slices (`:`), ellipsis (`...`), None and long or bool tensors are valid")


def _dims_used(item) -> int:
    if isinstance(item, Tensor):
        return item.ndim if item.dtype is dtypes.bool else 1
    if isinstance(item, (int, slice)):
        return 1
    return 0


def _expand_ellipsis(x: Tensor, items: list) -> list:
    ellipses = [k for k, i in enumerate(items) if i is Ellipsis]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(_dims_used(i) for i in items)
    if used > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    fill = [slice(None)] * (x.ndim - used)
    if ellipses:
        return items[:ellipses[0]] + fill + items[ellipses[0] + 1:]
    return items + fill


def _split_index(x: Tensor, index) -> tuple:
    """``(basic, advanced)``: a basic index for a view of ``x`` and ``[(view dim, int tensor)]``.

    Integers and slices are applied as a view first (PyTorch's order); each
    advanced index then keeps a full slice in the view, a ``True``/``False``
    a new size-1 dim, and a k-dim boolean mask k dims indexed by its nonzero
    coordinates.
    """
    items = [_convert_item(i, x.device) for i in (index if isinstance(index, tuple) else (index,))]
    items = _expand_ellipsis(x, items)
    basic, advanced = [], []
    view_dim = x_dim = 0
    for item in items:
        if isinstance(item, _BoolScalar):
            basic.append(None)
            rows = [0] if item.value else []
            advanced.append((view_dim, creation.tensor(rows, dtype=dtypes.int64, device=x.device)))
            view_dim += 1
        elif isinstance(item, Tensor) and item.dtype is dtypes.bool:
            _check_mask_shape(x, item, x_dim)
            coords = nonzero(item.to(x.device))
            for j in range(item.ndim):
                basic.append(slice(None))
                advanced.append((view_dim, coords[:, j]))
                view_dim += 1
            x_dim += item.ndim
        elif isinstance(item, Tensor):
            basic.append(slice(None))
            advanced.append((view_dim, item.to(x.device)))
            view_dim += 1
            x_dim += 1
        else:
            basic.append(item)
            view_dim += item is None or isinstance(item, slice)
            x_dim += item is not None
    return tuple(basic), advanced


def _check_mask_shape(x: Tensor, mask: Tensor, start: int) -> None:
    for j, size in enumerate(mask.shape):
        if size != x.shape[start + j]:
            raise IndexError(f"The shape of the mask {list(mask.shape)} at index {j} does not "
                             f"match the shape of the indexed tensor {list(x.shape)} at index "
                             f"{start + j}")


def _basic_view(x: Tensor, basic: tuple) -> Tensor:
    """``x[basic]`` (a view), or ``x`` itself when ``basic`` is all full slices."""
    if all(isinstance(b, slice) and b == slice(None) for b in basic):
        return x
    return shape_ops.getitem(x, basic)


class _Plan:
    """How an advanced index reads and writes view ``v``: one gather/scatter along one dim.

    The indexed dims merge into one dim of "rows" (``rows`` is the row-major
    position of each indexed element among them). When they are adjacent
    they stay where they are and the broadcast index shape replaces them in
    the result (PyTorch's rule); otherwise they move to the front first and
    the index shape leads the result.
    """

    def __init__(self, v: Tensor, advanced: list) -> None:
        tensors = [t for _, t in advanced]
        try:
            self.index_shape = broadcast_shapes("index", *(tuple(t.shape) for t in tensors))
        except RuntimeError:
            shapes = ", ".join(str(list(t.shape)) for t in tensors)
            raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together "
                             f"with shapes {shapes}") from None
        dims = [d for d, _ in advanced]
        rest = [d for d in range(v.ndim) if d not in dims]
        adjacent = dims == list(range(dims[0], dims[0] + len(dims)))
        self.order = list(range(v.ndim)) if adjacent else dims + rest
        self.dim = dims[0] if adjacent else 0  # where the merged rows dim sits
        self.v_shape = tuple(v.shape)
        moved = tuple(self.v_shape[d] for d in self.order)
        self.before, self.after = moved[:self.dim], moved[self.dim + len(dims):]
        self.indexed = moved[self.dim:self.dim + len(dims)]
        self.rows = self._rows(dims, tensors)

    def _rows(self, dims: list, tensors: list) -> Tensor:
        rows = None
        total = math.prod(self.v_shape[d] for d in dims)
        with no_grad():
            for d, t in zip(dims, tensors):
                size = self.v_shape[d]
                t = t.to(dtypes.int64)
                if _check_bounds(t, size, d, IndexError, allow_negative=True):
                    # below -size stays negative: the kernel reports it as it is
                    t = compare.where(compare.logical_and(t < 0, t >= -size), t + size, t)
                merged = t if rows is None else rows * size + t
                if len(dims) > 1 and t.device.type != "cpu":
                    # unchecked on cuda: keep a bad index of one dim out of the merged range
                    # [0, total), so the gather/scatter kernel reports it
                    merged = compare.where(t < 0, t, compare.where(t >= size, total + t, merged))
                rows = merged
            return rows.expand(self.index_shape).reshape(-1)

    @property
    def result_shape(self) -> tuple:
        return self.before + tuple(self.index_shape) + self.after

    def _picked_shape(self) -> tuple:
        return self.before + (self.rows.shape[0],) + self.after

    def to_rows(self, v: Tensor) -> Tensor:
        """``v`` with the indexed dims merged into one (moved to the front if not adjacent)."""
        if self.order != list(range(v.ndim)):
            v = v.permute(*self.order)
        return v.reshape(self.before + (math.prod(self.indexed),) + self.after)

    def from_rows(self, merged: Tensor) -> Tensor:
        """The inverse of ``to_rows``: back to ``v``'s shape and dim order."""
        moved = merged.reshape(self.before + self.indexed + self.after)
        if self.order == list(range(moved.ndim)):
            return moved
        return moved.permute(*[self.order.index(d) for d in range(moved.ndim)])

    def spread_rows(self) -> Tensor:
        """The row index as a broadcast view over the gathered (or scattered) shape."""
        return _spread(self.rows, self._picked_shape(), self.dim)

    def gather(self, v: Tensor) -> Tensor:
        """``v[index]``: the indexed rows, shaped like the indexing result."""
        picked = _Gather.apply(self.to_rows(v), self.dim, self.spread_rows())
        return picked.reshape(self.result_shape)

    def put(self, v: Tensor, values: Tensor, accumulate: bool) -> Tensor:
        """A copy of ``v`` with ``values`` (of the result shape) written or added at the index."""
        values = values.expand(self.result_shape).reshape(self._picked_shape())
        fn = _ScatterAdd if accumulate else _Scatter
        return self.from_rows(fn.apply(self.to_rows(v), self.dim, self.spread_rows(), values))


def advanced_getitem(x: Tensor, index) -> Tensor:
    """``x[index]`` with tensor, sequence or boolean entries (a copy, like PyTorch).

    Reading is a gather of rows; its backward adds the gradient rows back
    (duplicates summed in a fixed order on both devices).
    """
    if type(index) is Tensor and index.dtype is dtypes.int64 and index.ndim == 1 and x.ndim \
            and index.device == x.device:
        return _first_dim_rows(x, index)
    basic, advanced = _split_index(x, index)
    v = _basic_view(x, basic)
    return rename_node(_Plan(v, advanced).gather(v), "IndexBackward0")


def _first_dim_rows(x: Tensor, index: Tensor) -> Tensor:
    """``x[index]`` for a 1-D int64 ``index`` on ``x``'s device: ``_Plan``'s gather of rows
    along dim 0 without its general bookkeeping (the same bounds check, negative indices
    wrapped the same way, the same gather kernel and backward)."""
    size = x.shape[0]
    with no_grad():
        if _check_bounds(index, size, 0, IndexError, allow_negative=True):
            index = compare.where(compare.logical_and(index < 0, index >= -size), index + size,
                                  index)
    rows = _Gather.apply(x, 0, _spread(index, (index.shape[0],) + tuple(x.shape[1:]), 0))
    return rename_node(rows, "IndexBackward0")


def _index_put_view(v: Tensor, advanced: list, values: Tensor, accumulate: bool) -> Tensor:
    """A copy of ``v`` with ``values`` written (or added) at the advanced index."""
    plan = _Plan(v, advanced)
    target = plan.result_shape
    try:
        fits = broadcast_shapes("index_put", tuple(values.shape), target) == target
    except RuntimeError:
        fits = False
    if not fits:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(values.shape)} cannot "
                           f"be broadcast to indexing result of shape {list(target)}")
    return plan.put(v, values, accumulate)


def advanced_setitem(x: Tensor, index, value) -> None:
    """``x[index] = value`` with an advanced index: ``index_put_`` on the basic view."""
    check_writable("setitem", x)
    basic, advanced = _split_index(x, index)
    v = _basic_view(x, basic)
    value = shape_ops._value_tensor(x, value)
    if value.dtype is not x.dtype:
        value = value.to(x.dtype)
    apply_inplace("index_put_", v, lambda old: _index_put_view(old, advanced, value, False))


def _index_put_args(input: Tensor, indices, values) -> tuple:
    check_tensor("index_put", "input", input)
    check_tensor("index_put", "values", values)
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): argument 'indices' must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    for i, t in enumerate(indices):
        if not isinstance(t, Tensor):
            raise TypeError(f"index_put(): expected Tensor as element {i} in argument 1, but got "
                            f"{type(t).__name__}")
    if values.dtype is not input.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{dtypes.scalar_type_name(input.dtype)} for the destination and "
                           f"{dtypes.scalar_type_name(values.dtype)} for the source.")
    basic, advanced = _split_index(input, tuple(indices))
    return advanced, values.to(input.device)


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``input[indices] = values`` (``+=`` with ``accumulate``, where
    duplicate indices add up); ``indices`` is a tuple of integer or boolean tensors."""
    advanced, values = _index_put_args(input, indices, values)
    if not advanced:
        return input.clone()
    return _index_put_view(input, advanced, values, accumulate)


def index_put_(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """In-place ``index_put``."""
    advanced, values = _index_put_args(input, indices, values)
    if not advanced:
        return input
    return apply_inplace("index_put_", input,
                         lambda old: _index_put_view(old, advanced, values, accumulate))


# --- nn.functional ---------------------------------------------------------------------
class _Embedding(Function):
    """Rows of ``weight`` at ``indices``; the ``padding_idx`` row gets no gradient."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.padding_idx = padding_idx
        ctx.scale = scale_grad_by_freq
        ctx.num_weights = weight.shape[0]
        flat = indices.reshape(-1)
        ctx.save_for_backward(flat)
        # _spread(flat, (n, dim), 0)'s array, and the result's (n, dim) rows viewed as
        # indices.shape + (dim,), taken on the arrays (no view ops inside the forward)
        index = flat._a
        count, dim = index.shape[0], weight._a.shape[1]
        spread = index.view((count, dim), (index.strides[0], 0), index.offset)
        rows = backend(weight).gather(weight._a, 0, spread)
        shape = tuple(indices._a.shape) + (dim,)
        return wrap(rows.view(shape, contiguous_strides(shape), rows.offset), weight.device)

    @staticmethod
    def backward(ctx, grad):
        (flat,) = ctx.saved_tensors
        rows = grad.reshape(flat.shape[0], grad.shape[-1])
        if ctx.padding_idx is not None:
            rows = rows * (flat != ctx.padding_idx).to(rows.dtype).unsqueeze(1)
        if ctx.scale:
            ones = creation.ones(flat.shape[0], dtype=rows.dtype, device=rows.device)
            counts = index_add(creation.zeros(ctx.num_weights, dtype=rows.dtype,
                                              device=rows.device), 0, flat, ones)
            rows = rows / _Gather.apply(counts, 0, flat).unsqueeze(1)
        zeros = creation.zeros((ctx.num_weights, grad.shape[-1]), dtype=grad.dtype,
                               device=grad.device)
        weight_grad = _ScatterAdd.apply(zeros, 0, _spread(flat, tuple(rows.shape), 0), rows)
        return weight_grad, None, None, None


def embedding(input: Tensor, weight: Tensor, padding_idx=None, max_norm=None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """The rows of ``weight`` (num_embeddings, dim) selected by the integer tensor ``input``;
    the result has shape ``input.shape + (dim,)``. The ``padding_idx`` row receives no
    gradient. Backward sums the rows of repeated indices in a fixed order (deterministic on
    cuda too, unlike PyTorch's default)."""
    check_tensor("embedding", "input", input)
    check_tensor("embedding", "weight", weight)
    if max_norm is not None:
        raise NotImplementedError("embedding(): max_norm is not supported (it renormalizes "
                                  "weight in place); renormalize the weight yourself")
    if sparse:
        raise NotImplementedError("embedding(): sparse gradients are not supported")
    if input.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"{dtypes.scalar_type_name(input.dtype)} tensor instead (while checking arguments "
                           "for embedding)")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    common_device("embedding", input, weight)
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= num
    _check_bounds(input, num, 0, IndexError, "index out of range in self")
    return _Embedding.apply(weight, input, padding_idx, bool(scale_grad_by_freq))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding: shape ``tensor.shape + (num_classes,)``, 1 at each class;
    ``num_classes=-1`` uses ``tensor.max() + 1``."""
    check_tensor("one_hot", "tensor", tensor)
    if tensor.dtype is not dtypes.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if tensor.numel() == 0:
        if num_classes == -1:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        lo = hi = 0
    elif num_classes != -1 and tensor.device.type != "cpu":
        lo, hi = 0, num_classes - 1  # the scatter kernel checks the range (no host read)
    else:
        lo, hi = _index_range(tensor)
    if num_classes == -1:
        num_classes = hi + 1
    if lo < 0:
        raise RuntimeError("Class values must be non-negative.")
    if hi >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = creation.zeros(tuple(tensor.shape) + (num_classes,), dtype=dtypes.int64,
                         device=tensor.device)
    if tensor.numel() == 0:
        return out
    index = tensor.unsqueeze(-1)
    return _Scatter.apply(out, tensor.ndim, index, _filled(1, out, tuple(index.shape)))


# --- embedding_bag ---------------------------------------------------------------------------
def _bag_membership(input: Tensor, offsets: Tensor, include_last_offset: bool,
                    padding_idx: int | None) -> Tensor:
    """A (bags, n) bool matrix: entry [b, i] is True when index i of the flat ``input``
    belongs to bag b (and is not ``padding_idx``)."""
    from .creation import arange
    n = input.numel()
    bags = offsets.numel() - 1 if include_last_offset else offsets.numel()
    position = arange(n, device=input.device)
    starts = offsets[:bags]
    # bag of each position: the number of bag starts at or before it, minus one
    bag_of = (starts.unsqueeze(0) <= position.unsqueeze(1)).long().sum(1) - 1
    member = bag_of.unsqueeze(0) == arange(bags, device=input.device).unsqueeze(1)
    if include_last_offset:
        member = member.logical_and(position.unsqueeze(0) < offsets[bags])
    if padding_idx is not None:
        member = member.logical_and((input != padding_idx).unsqueeze(0))
    return member


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """``torch.nn.functional.embedding_bag`` built from ``embedding`` and a bag-membership
    matrix (sum and mean are one matmul; max masks the other bags with -inf)."""
    from .creation import arange
    from .compare import where
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. "
                                  "per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {type(offsets).__name__}")
        rows, length = input.shape
        offsets = arange(0, rows * length, length, device=input.device)
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.dim()}")
    rows = embedding(input, weight, None, max_norm, norm_type, scale_grad_by_freq, sparse)
    member = _bag_membership(input, offsets, include_last_offset, padding_idx)
    if mode == "max":
        masked = where(member.unsqueeze(-1), rows.unsqueeze(0), float("-inf"))
        out = masked.amax(1)
        return where(member.any(1, keepdim=True), out, 0.0)
    weights = member.to(weight.dtype)
    if per_sample_weights is not None:
        weights = weights * per_sample_weights.unsqueeze(0)
    if mode == "mean":
        weights = weights / weights.sum(1, keepdim=True).clamp(min=1)
    return weights.matmul(rows)


register("embedding_bag", "indexing", ("gather", "mm", "sum", "amax", "amin", "any", "arange",
                                       "clamp", "copy_", "div", "empty", "eq", "full", "le", "mul",
                                       "scatter_add", "sub", "to_numpy", "where"))
