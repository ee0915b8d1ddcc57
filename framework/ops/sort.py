"""Sorting and counting: sort, argsort, topk, unique, unique_consecutive, bincount,
searchsorted, bucketize.

sort/argsort/topk order like PyTorch: NaN is the largest value, and equal
values keep their input order (every sort here is stable). The gradient of
sort and topk goes back to the input positions the indices name (a
``scatter_add`` into zeros, whose adjoint is ``gather``, so second
derivatives work); cummax/cummin use the same.
"""
from __future__ import annotations

import numbers
import operator
from collections import namedtuple

from .. import dtypes
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import backend, check_tensor, common_device, normalize_dim, wrap
from .registry import register

__all__ = ["sort", "argsort", "topk", "kthvalue", "median", "nanmedian", "quantile", "nanquantile",
           "unique", "unique_consecutive", "bincount", "searchsorted", "bucketize"]
FUNCTIONAL: list = []
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = (
    "sort", "argsort", "topk", "kthvalue", "median", "nanmedian", "quantile", "nanquantile",
    "unique", "unique_consecutive", "bincount",
)

# ``torch.return_types.sort`` / ``topk``.
SortResult = namedtuple("sort", ("values", "indices"))
TopkResult = namedtuple("topk", ("values", "indices"))
KthvalueResult = namedtuple("kthvalue", ("values", "indices"))
MedianResult = namedtuple("median", ("values", "indices"))
NanmedianResult = namedtuple("nanmedian", ("values", "indices"))


def scatter_to_input(grad: Tensor, indices: Tensor, dim: int, size: int) -> Tensor:
    """The gradient of picking ``indices`` along ``dim`` of an input with ``size`` there:
    ``grad`` scatter-added into zeros (``framework.scatter_add``, whose adjoint is ``gather``,
    so second derivatives work)."""
    if grad.ndim == 0:
        return grad
    from .creation import zeros
    from .indexing import scatter_add
    shape = list(grad.shape)
    shape[dim] = size
    return scatter_add(zeros(tuple(shape), dtype=grad.dtype, device=grad.device), dim, indices,
                       grad)


# sort / argsort -----------------------------------------------------------------------------
class _Sort(Function):
    """(values, indices) along ``dim``; the gradient goes back to the sorted positions."""

    @staticmethod
    def forward(ctx, x, dim, descending):
        shape = tuple(x.shape)
        rows = x.reshape(1) if x.ndim == 0 else x
        values, indices = backend(x).sort(rows._a, dim, descending, True)
        values = wrap(values, x.device).reshape(shape)
        indices = wrap(indices, x.device).reshape(shape)
        ctx.saved = (indices, dim, shape[dim] if shape else 1)
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, grad, grad_indices):
        indices, dim, size = ctx.saved
        return scatter_to_input(grad, indices, dim, size), None, None


def _dim_arg(op: str, input: Tensor, dim) -> int:
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
    return normalize_dim(op, operator.index(dim), input.ndim)


def _bool_arg(op: str, name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{op}(): argument '{name}' must be bool, not {type(value).__name__}")
    return value


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """``(values, indices)``: ``input`` sorted along ``dim`` (ascending unless ``descending``),
    NaN counted as the largest value. Equal values always keep their input order, which
    is what ``stable=True`` asks for."""
    check_tensor("sort", "input", input)
    d = _dim_arg("sort", input, dim)
    _bool_arg("sort", "descending", descending)
    if stable is not None:
        _bool_arg("sort", "stable", stable)
    values, indices = _Sort.apply(input, d, descending)
    return SortResult(values, indices)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (see ``sort``)."""
    check_tensor("argsort", "input", input)
    return sort(input.detach(), dim, descending, stable).indices


# topk ---------------------------------------------------------------------------------------
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """``(values, indices)`` of the ``k`` largest (``largest``) or smallest elements along
    ``dim``, in sorted order (NaN is the largest). Among equal values the earlier index
    comes first."""
    check_tensor("topk", "input", input)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"topk(): argument 'k' must be int, not {type(k).__name__}")
    d = _dim_arg("topk", input, dim)
    _bool_arg("topk", "largest", largest)
    _bool_arg("topk", "sorted", sorted)
    if input.dtype is dtypes.bool:
        raise RuntimeError("topk(): topk does not support bool dtypes")
    size = input.shape[d] if input.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"topk(): selected index k out of range (k = {k}, size = {size})")
    values, indices = _Sort.apply(input, d, largest)
    if input.ndim == 0:
        return TopkResult(values, indices)
    return TopkResult(values.narrow(d, 0, k).contiguous(), indices.narrow(d, 0, k).contiguous())



# kthvalue / median / nanmedian ---------------------------------------------------------------
def _pick_sorted(input: Tensor, d: int, keepdim: bool, positions) -> tuple:
    """``(values, indices)`` at ``positions`` (an int or an int64 tensor of the keepdim shape)
    of ``input`` sorted along ``d``; the values' gradient goes to the picked elements."""
    values, indices = _Sort.apply(input, d, False)
    if isinstance(positions, int):
        return values.narrow(d, positions, 1), indices.narrow(d, positions, 1)
    return values.gather(d, positions), indices.gather(d, positions)


def _squeezed(values: Tensor, indices: Tensor, d: int, keepdim: bool, result):
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return result(values, indices)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """``(values, indices)`` of the ``k``-th smallest element (1-based) along ``dim``, NaN
    counted as the largest."""
    check_tensor("kthvalue", "input", input)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"kthvalue(): argument 'k' must be int, not {type(k).__name__}")
    d = _dim_arg("kthvalue", input, dim)
    _bool_arg("kthvalue", "keepdim", keepdim)
    rows = input.reshape(1) if input.ndim == 0 else input
    if not 1 <= k <= rows.shape[d]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    values, indices = _pick_sorted(rows, d, keepdim, int(k) - 1)
    if input.ndim == 0:
        return KthvalueResult(values.reshape(()), indices.reshape(()))
    return _squeezed(values, indices, d, keepdim, KthvalueResult)


def _median_positions(rows: Tensor, d: int, skip_nan: bool):
    """Per row along ``d``: the sorted position of the lower median. NaN sorts last, so
    ``median`` (NaN propagates) picks the first NaN of a row that has one, and ``nanmedian``
    the lower median of the non-NaN values (an all-NaN row: a NaN)."""
    size = rows.shape[d]
    if not rows.dtype.is_floating_point:
        return (size - 1) // 2
    nans = rows.detach().isnan().sum(d, keepdim=True)
    if skip_nan:
        return ((size - nans - 1) // 2).clamp(min=0)
    no_nan = (size - 1) // 2
    return (size - nans).where(nans > 0, no_nan).clamp(max=size - 1)


def _median(op: str, input: Tensor, dim, keepdim: bool, result):
    check_tensor(op, "input", input)
    if dim is None:
        if input.numel() == 0:
            from .creation import full
            return full((), float("nan"), dtype=input.dtype, device=input.device)
        flat = input.reshape(-1)
        values, _ = _pick_sorted(flat, 0, True, _median_positions(flat, 0, op == "nanmedian"))
        return values.reshape(())
    d = _dim_arg(op, input, dim)
    _bool_arg(op, "keepdim", keepdim)
    rows = input.reshape(1) if input.ndim == 0 else input
    if rows.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
    values, indices = _pick_sorted(rows, d, True, _median_positions(rows, d, op == "nanmedian"))
    if input.ndim == 0:
        return result(values.reshape(()), indices.reshape(()))
    return _squeezed(values, indices, d, keepdim, result)


def median(input: Tensor, dim=None, keepdim: bool = False):
    """The lower median (the ``(n - 1) // 2``-th smallest): of all elements (a 0-d tensor)
    without ``dim``, else ``(values, indices)`` along ``dim``. NaN propagates."""
    return _median("median", input, dim, keepdim, MedianResult)


def nanmedian(input: Tensor, dim=None, keepdim: bool = False):
    """``median`` ignoring NaN (NaN only where every element is NaN)."""
    return _median("nanmedian", input, dim, keepdim, NanmedianResult)


# quantile / nanquantile ---------------------------------------------------------------------
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile_qs(op: str, q, like: Tensor) -> Tensor:
    """``q`` as a 1-D tensor of ``like``'s dtype and device, each in [0, 1]."""
    from .creation import tensor
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{op}() q must be a scalar or 1D tensor")
        qs = q.reshape(-1).to(like.dtype)
        if bool(((qs < 0) | (qs > 1)).any()):
            raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
        return qs
    if not 0 <= q <= 1:
        raise RuntimeError(f"{op}() q must be in the range [0, 1] but got {q}")
    return tensor([float(q)], dtype=like.dtype, device=like.device)


def _quantile(op: str, input: Tensor, q, dim, keepdim: bool, interpolation: str):
    """The q-th quantiles from ``input`` sorted along ``dim`` (NaN last): per row the ranks
    ``q (n - 1)`` (n: the non-NaN count for nanquantile), read between the neighbouring
    sorted values as ``interpolation`` says; the q dim leads when ``q`` is a tensor."""
    check_tensor(op, "input", input)
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{op}() interpolation must be one of linear, lower, higher, midpoint "
                           f"or nearest, but got {interpolation}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype")
    qs = _quantile_qs(op, q, input)
    x = input.reshape(-1) if dim is None else (input.reshape(1) if input.ndim == 0 else input)
    d = 0 if dim is None else _dim_arg(op, x, dim)
    size = x.shape[d]
    if size == 0:
        raise IndexError(f"{op}() input tensor must be non-empty")
    values, _ = _Sort.apply(x, d, False)
    nans = x.detach().isnan().sum(d, keepdim=True)
    count = (size - nans) if op == "nanquantile" else size
    ranks = qs.reshape((-1,) + (1,) * x.ndim) * (count - 1)
    rows = values.unsqueeze(0).expand((qs.shape[0],) + tuple(values.shape))
    result = _interpolate_ranks(rows, d + 1, ranks.clamp(min=0), size, interpolation)
    if op == "quantile":
        result = result.where(nans == 0, float("nan"))
    return _quantile_shape(result, input, d, dim, keepdim, isinstance(q, Tensor))


def _interpolate_ranks(rows: Tensor, d: int, ranks: Tensor, size: int, interpolation: str):
    """``rows`` (sorted along ``d``) read at the fractional ``ranks``."""
    ranks = ranks.expand(tuple(rows.shape[:d]) + (1,) + tuple(rows.shape[d + 1:]))
    if interpolation == "nearest":
        return rows.gather(d, ranks.round().long().clamp(max=size - 1))
    low_rank = ranks.floor()
    low = rows.gather(d, low_rank.long().clamp(max=size - 1))
    high = rows.gather(d, ranks.ceil().long().clamp(max=size - 1))
    if interpolation == "lower":
        return low
    if interpolation == "higher":
        return high
    if interpolation == "midpoint":
        return (low + high) / 2
    return low + (high - low) * (ranks - low_rank)


def _quantile_shape(result: Tensor, input: Tensor, d: int, dim, keepdim: bool, q_dim: bool):
    if dim is None:
        shape = (1,) * input.ndim if keepdim else ()
        result = result.reshape((result.shape[0],) + shape)
    elif not keepdim:
        result = result.squeeze(d + 1)
        if input.ndim == 0:
            result = result.reshape((result.shape[0],))
    return result if q_dim else result.squeeze(0)


def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-th quantiles (a number, or a 1-D tensor whose dim leads the result) of all
    elements or along ``dim``; NaN in a row gives NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation)


def nanquantile(input: Tensor, q, dim=None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """``quantile`` ignoring NaN (NaN only where a row is all NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation)

# unique ----------------------------------------------------------------------------------------
def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim=None):
    """The distinct elements of ``input`` (flattened), sorted; optionally the ``inverse``
    (each element's position in the result, ``input``'s shape) and the ``counts``. Every
    NaN is distinct. With ``dim``, the distinct slices along ``dim`` in lexicographic order
    (``inverse`` and ``counts`` are then 1-D, one entry per slice / distinct slice)."""
    check_tensor("unique", "input", input)
    if dim is not None:
        return _unique_slices("unique", input, dim, True, return_inverse, return_counts)
    values, inverse, counts = backend(input).unique(input._a)
    values = wrap(values, input.device)
    extra = []
    if return_inverse:
        extra.append(wrap(inverse, input.device))
    if return_counts:
        extra.append(wrap(counts, input.device))
    return (values, *extra) if extra else values


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim=None):
    """``input`` (flattened, or its slices along ``dim``) with each run of equal neighbours
    kept once; optionally the ``inverse`` (each element's run) and each run's length. Every
    NaN starts a run."""
    check_tensor("unique_consecutive", "input", input)
    if dim is not None:
        return _unique_slices("unique_consecutive", input, dim, False, return_inverse,
                              return_counts)
    flat = input.detach().reshape(-1)
    values, inverse, counts = _runs(flat)
    return _unique_result(values, inverse.reshape(tuple(input.shape)), counts, return_inverse,
                          return_counts)


def _unique_result(values, inverse, counts, return_inverse: bool, return_counts: bool):
    extra = []
    if return_inverse:
        extra.append(inverse)
    if return_counts:
        extra.append(counts)
    return (values, *extra) if extra else values


def _unique_slices(op: str, input: Tensor, dim, sort: bool, return_inverse: bool,
                   return_counts: bool):
    """``unique`` / ``unique_consecutive`` of the slices along ``dim``: each slice is a row of
    a 2-D view; rows are sorted lexicographically first when ``sort``."""
    if input.ndim == 0:
        raise IndexError(f"{op}(): Dimension specified as {dim} but tensor has no dimensions")
    dim = normalize_dim(op, dim, input.ndim)
    moved = input.detach().movedim(dim, 0)
    n = moved.shape[0]
    if input.numel() == 0:
        if n != 0:
            raise RuntimeError(f"{op}(): There are 0 sized dimensions, and they aren't "
                               "selected, so unique cannot be applied")
        return _unique_result(input.detach(), _empty_index(input), _empty_index(input),
                              return_inverse, return_counts)
    rows = moved.reshape(n, -1)
    order = _lexicographic_order(rows) if sort else None
    if order is not None:
        rows = rows.index_select(0, order)
    values, inverse, counts = _runs(rows)
    if order is not None:  # run index of each sorted row, sent back to the row's place
        from .creation import zeros
        inverse = zeros((n,), dtype=dtypes.int64, device=input.device).scatter(0, order, inverse)
    values = values.reshape((values.shape[0],) + tuple(moved.shape[1:])).movedim(0, dim)
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


def _empty_index(input: Tensor) -> Tensor:
    from .creation import zeros
    return zeros((0,), dtype=dtypes.int64, device=input.device)


def _lexicographic_order(rows: Tensor) -> Tensor:
    """The permutation sorting the rows of 2-D ``rows`` lexicographically (stable): one
    stable sort per column, last column first (least-significant-digit radix order)."""
    from .creation import arange
    order = arange(rows.shape[0], device=rows.device)
    for column in reversed(range(rows.shape[1])):
        keys = rows[:, column].index_select(0, order)
        order = order.index_select(0, argsort(keys, stable=True))
    return order


def _runs(rows: Tensor) -> tuple:
    """``(first row of each run, run index of each row, run lengths)`` for the runs of equal
    neighbours along dim 0 of a 1-D or 2-D tensor (rows compared whole; NaN never equal)."""
    from .creation import full
    from .reduce import any as any_
    from .scan import cumsum
    from .shape import cat, diff
    n = rows.shape[0]
    if n == 0:
        empty = _empty_index(rows)
        return rows, empty, empty
    starts = rows[1:] != rows[:-1]
    if rows.ndim == 2:
        starts = any_(starts, dim=1)
    first = full((1,), True, dtype=dtypes.bool, device=rows.device)
    starts = cat([first, starts])
    inverse = cumsum(starts, 0) - 1
    positions = starts.nonzero().reshape(-1)
    end = full((1,), n, dtype=dtypes.int64, device=rows.device)
    counts = diff(cat([positions, end]))
    return rows.index_select(0, positions), inverse, counts


# bincount ---------------------------------------------------------------------------------------
def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Occurrences of each value ``0..max(input)`` (at least ``minlength`` bins) of a 1-D
    non-negative integer tensor; with ``weights``, their sum per value (float32 weights give
    float32, other weights float64)."""
    check_tensor("bincount", "input", input)
    if isinstance(minlength, bool) or not isinstance(minlength, numbers.Integral):
        raise TypeError(f"bincount(): argument 'minlength' must be int, not "
                        f"{type(minlength).__name__}")
    if input.dtype.is_floating_point:
        raise RuntimeError(f'bincount(): "bincount" not implemented for '
                           f"'{dtypes.scalar_type_name(input.dtype)}'")
    from .reduce import amin
    if input.ndim != 1 or (input.numel() and bool(amin(input) < 0)):
        raise RuntimeError("bincount(): bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("bincount(): minlength should be >= 0")
    out_dtype = dtypes.int64
    if weights is not None:
        check_tensor("bincount", "weights", weights)
        common_device("bincount", input, weights)
        if weights.ndim != 1 or weights.shape[0] != input.shape[0]:
            raise RuntimeError("bincount(): weights should be 1-d and have the same length as "
                               "input")
        out_dtype = dtypes.float32 if weights.dtype is dtypes.float32 else dtypes.float64
        weights = weights.detach()._a
    return wrap(backend(input).bincount(input._a, weights, int(minlength), out_dtype),
                input.device)


# searchsorted -----------------------------------------------------------------------------------
def _search_side(right: bool, side) -> bool:
    if side is None:
        return bool(right)
    if side not in ("left", "right"):
        raise RuntimeError(f"searchsorted(): side can only be 'left' or 'right' but got {side}")
    if right and side == "left":
        raise RuntimeError("searchsorted(): side and right can't be set to opposites, got side "
                           "of left while right was True")
    return side == "right"


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """For each value of ``input``, the index where it would be inserted in the last dim of
    ``sorted_sequence`` to keep it sorted: before equal values, or after them with
    ``right=True`` / ``side='right'``. ``sorted_sequence`` is 1-D or has ``input``'s leading
    dims; ``sorter`` gives the order of an unsorted sequence. int64 result (int32 with
    ``out_int32``)."""
    check_tensor("searchsorted", "sorted_sequence", sorted_sequence)
    right = _search_side(right, side)
    scalar = not isinstance(input, Tensor)
    if scalar:
        from .creation import tensor
        input = tensor([input], device=sorted_sequence.device)
    common_device("searchsorted", sorted_sequence, input)
    seq_shape, value_shape = tuple(sorted_sequence.shape), tuple(input.shape)
    if sorted_sequence.ndim == 0 or (sorted_sequence.ndim > 1 and
                                     seq_shape[:-1] != value_shape[:-1]):
        raise RuntimeError("searchsorted(): boundaries tensor should be 1 dimension or the first "
                           "N-1 dimensions of boundaries tensor and input value tensor must "
                           f"match, but we got boundaries tensor {list(seq_shape)} and input "
                           f"value tensor {list(value_shape)}")
    if sorter is not None:
        check_tensor("searchsorted", "sorter", sorter)
        if tuple(sorter.shape) != seq_shape or sorter.dtype is not dtypes.int64:
            raise RuntimeError("searchsorted(): sorter must be a long tensor with the same size "
                               "as the boundaries tensor")
        sorter = sorter._a
    common = dtypes.promote_types(sorted_sequence.dtype, input.dtype)
    seq = sorted_sequence.detach().to(common)
    values = input.detach().to(common)
    out_dtype = dtypes.int32 if out_int32 else dtypes.int64
    out = wrap(backend(seq).searchsorted(seq._a, values._a, right, out_dtype, sorter),
               seq.device)
    return out.reshape(()) if scalar else out



def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each value of ``input`` (a tensor or a number) among the 1-D sorted
    ``boundaries``: ``i`` with ``boundaries[i-1] < x <= boundaries[i]``, or
    ``boundaries[i-1] <= x < boundaries[i]`` with ``right=True`` (``searchsorted`` with the
    arguments swapped)."""
    check_tensor("bucketize", "boundaries", boundaries)
    if boundaries.ndim != 1:
        raise RuntimeError(f"bucketize(): boundaries tensor must be 1 dimension, but got "
                           f"dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)

register("sort", "sort", ("sort", "scatter_add", "amax", "amin", "full", "to_numpy"))
register("argsort", "sort", ("sort",), differentiable=False)
register("topk", "sort", ("sort", "scatter_add", "amax", "amin", "copy_", "empty", "full",
                          "to_numpy"))
register("kthvalue", "sort", ("sort", "scatter_add", "amax", "amin", "copy_", "full", "to_numpy"))
register("median", "sort", ("sort", "scatter_add", "amax", "amin", "clamp", "full", "gather", "gt",
                            "isnan", "sub", "sum", "to_numpy", "where"))
register("nanmedian", "sort", ("sort", "scatter_add", "amax", "amin", "clamp", "div_floor", "full",
                               "gather", "isnan", "sub", "sum", "to_numpy"))
register("quantile", "sort", (
    "sort", "scatter_add", "gather", "isnan", "sum", "floor", "ceil", "clamp", "mul", "add", "sub",
    "neg", "div", "where", "eq", "any", "bitwise_or", "gt", "lt", "amax", "amin", "copy_", "empty",
    "from_numpy", "full", "to_numpy",
))
register("nanquantile", "sort", (
    "sort", "scatter_add", "gather", "isnan", "sum", "round", "clamp", "mul", "sub",
    "amax", "amin", "copy_", "empty", "from_numpy", "full", "to_numpy",
))
register("unique", "sort", ("unique", "amax", "amin", "any", "arange", "copy_", "cumsum", "empty",
                            "full", "gather", "ne", "nonzero", "scatter", "sort", "sub",
                            "to_numpy"), differentiable=False)
register("unique_consecutive", "sort", ("amax", "amin", "any", "copy_", "cumsum", "empty", "full",
                                        "gather", "ne", "nonzero", "sub", "to_numpy"),
         differentiable=False)
register("bincount", "sort", ("bincount", "amin", "lt", "to_numpy"), differentiable=False)
register("searchsorted", "sort", ("searchsorted", "copy_", "empty"), differentiable=False)
register("bucketize", "sort", ("searchsorted", "copy_", "empty"), differentiable=False)
