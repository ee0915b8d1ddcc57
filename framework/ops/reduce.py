"""Reductions: sum, mean, prod, max/min, amax/amin, argmax/argmin, var/std, logsumexp, all/any.

Each op validates its arguments, picks the result dtype like PyTorch, calls
the backend kernel (which drops the reduced dims) and applies ``keepdim`` by
viewing the contiguous result with size-1 dims put back. Backward formulas
use framework ops only, so gradients of gradients work.

``sum`` and its adjoint, broadcasting a reduced gradient back to the input
shape, are a pair of Functions here (``Sum`` / ``Unreduce``): each
one's backward is the other, and the engine's ``sum_to_size`` uses them.
"""
from __future__ import annotations

import builtins
import math

from .. import dtypes
from ..autograd.function import Function
from ..backends.array import Array, contiguous_strides
from ..tensor import Size, Tensor
from ._util import backend, check_tensor, normalize_dims, wrap
from .registry import register

__all__ = ["sum", "sum_to_size"]


# Array views (no copies): dropping or inserting size-1 dims, broadcasting -------------
def _regroup(a: Array, shape: tuple) -> Array:
    """A view of ``a`` as ``shape``, which differs from ``a.shape`` only by size-1 dims."""
    strides = iter(s for size, s in zip(a.shape, a.strides) if size != 1)
    new_strides = tuple(0 if size == 1 else next(strides) for size in shape)
    return a.view(shape, new_strides, a.offset)


def _broadcast(a: Array, shape: tuple) -> Array:
    """A view of ``a`` (same number of dims as ``shape``) with its size-1 dims broadcast."""
    strides = tuple(0 if have != want else s for have, want, s in zip(a.shape, shape, a.strides))
    return a.view(shape, strides, a.offset)


def _kept_shape(shape: tuple, dims: tuple) -> tuple:
    """``shape`` with each reduced dim set to 1 (the ``keepdim=True`` result shape)."""
    return tuple(1 if i in dims else size for i, size in enumerate(shape))


def _reduced_shape(shape: tuple, dims: tuple, keepdim: bool) -> tuple:
    """The result shape of reducing ``dims`` of ``shape``."""
    if keepdim:
        return _kept_shape(shape, dims)
    return tuple(size for i, size in enumerate(shape) if i not in dims)


def _finish(out: Array, shape: tuple, device) -> Tensor:
    """Wrap a kernel's contiguous result, viewed as ``shape`` (same elements)."""
    if tuple(out.shape) != tuple(shape):
        out = out.view(tuple(shape), contiguous_strides(shape), out.offset)
    return wrap(out, device)


# Argument checks -----------------------------------------------------------------
def _check_input(op: str, x) -> None:
    check_tensor(op, "input", x)


def _check_keepdim(op: str, keepdim) -> None:
    if not isinstance(keepdim, bool):
        raise TypeError(f"{op}(): argument 'keepdim' must be bool, not {type(keepdim).__name__}")


def _check_dtype_arg(op: str, dtype) -> None:
    if dtype is not None and not isinstance(dtype, dtypes.dtype):
        raise TypeError(f"{op}(): argument 'dtype' must be a framework dtype, not "
                        f"{type(dtype).__name__}")


def _dims(op: str, x: Tensor, dim) -> tuple:
    """Reduced dims, sorted; ``None`` and an empty list mean every dim (as in PyTorch)."""
    if dim is not None and not isinstance(dim, (int, tuple, list, Size)) or isinstance(dim, bool):
        raise TypeError(f"{op}(): argument 'dim' must be int or tuple of ints, not "
                        f"{type(dim).__name__}")
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    return normalize_dims(op, dim, x.ndim)


def _count(shape: tuple, dims: tuple) -> int:
    """Number of elements reduced into each output element."""
    return math.prod(shape[d] for d in dims)


# sum and its adjoint ---------------------------------------------------------------
class Sum(Function):
    """Sum over ``dims``, result viewed as ``out_shape`` (the reduced shape, with or without 1s)."""

    @staticmethod
    def forward(ctx, x, dims, out_shape, out_dtype):
        ctx.in_meta = (tuple(x.shape), x.dtype)
        ctx.dims = dims
        out = backend(x).sum(x._a, dims, out_dtype)
        return _finish(out, out_shape, x.device)

    @staticmethod
    def backward(ctx, grad):
        in_shape, in_dtype = ctx.in_meta
        grad = Unreduce.apply(grad, _kept_shape(in_shape, ctx.dims), in_shape)
        if grad.dtype is not in_dtype:
            grad = grad.to(in_dtype)
        return grad, None, None, None


class Unreduce(Function):
    """View ``g`` as ``kept_shape`` (size-1 dims put back) broadcast to ``shape``."""

    @staticmethod
    def forward(ctx, g, kept_shape, shape):
        ctx.g_shape = tuple(g.shape)
        ctx.dims = tuple(i for i, (k, s) in enumerate(zip(kept_shape, shape)) if k != s)
        view = _broadcast(_regroup(g._a, tuple(kept_shape)), tuple(shape))
        return wrap(view, g.device)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.dims and tuple(grad.shape) == ctx.g_shape:
            return grad, None, None
        return Sum.apply(grad, ctx.dims, ctx.g_shape, grad.dtype), None, None


def _expand_reduced(grad: Tensor, in_shape: tuple, dims: tuple) -> Tensor:
    """The gradient of a reduction over ``dims`` (with or without keepdim) broadcast to ``in_shape``."""
    return Unreduce.apply(grad, _kept_shape(in_shape, dims), tuple(in_shape))


def _sum_dtype(x: Tensor, dtype) -> dtypes.dtype:
    """PyTorch's sum/prod result type: ``dtype`` if given, else int64 for integers and bools."""
    if dtype is not None:
        return dtype
    return x.dtype if x.dtype.is_floating_point else dtypes.int64


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum of the elements over ``dim`` (an int, a tuple, or ``None`` for every dim).

    Integer and bool inputs give int64 unless ``dtype`` is given; with
    ``dtype`` the input is cast first (as PyTorch does).
    """
    _check_input("sum", input)
    _check_keepdim("sum", keepdim)
    _check_dtype_arg("sum", dtype)
    dims = _dims("sum", input, dim)
    out_dtype = _sum_dtype(input, dtype)
    if dtype is not None and input.dtype is not dtype:
        input = input.to(dtype)
    return Sum.apply(input, dims, _reduced_shape(tuple(input.shape), dims, keepdim), out_dtype)


def _size_arg(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, int) or isinstance(s, bool):
            raise TypeError(f"sum_to_size(): size must be a tuple of ints, got {type(s).__name__}")
    return tuple(size)


def sum_to_size(input: Tensor, *size) -> Tensor:
    """Sum ``input`` (a broadcast result) down to ``size``; ``input`` itself when it already fits.

    Leading extra dims are summed away and dims where ``size`` is 1 are summed
    with keepdim, undoing a broadcast from ``size`` to ``input.shape``.
    """
    _check_input("sum_to_size", input)
    size = _size_arg(size)
    shape = tuple(input.shape)
    if shape == size:
        return input
    lead = input.ndim - len(size)
    fits = lead >= 0 and builtins.all(s == have or s == 1
                                      for s, have in zip(size, shape[lead:]))
    if not fits:
        raise RuntimeError(f"sum_to_size(): size {list(size)} is not expandable to size "
                           f"{list(shape)}.")
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                      if s == 1 and shape[lead + i] != 1)
    return Sum.apply(input, dims, size, input.dtype)


register("sum", "reduce", ("sum",))
register("sum_to_size", "reduce", ("sum",))
