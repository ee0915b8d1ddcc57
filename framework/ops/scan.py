"""Scans: cumsum, cumprod, logcumsumexp, cummax, cummin along one dim.

Backward formulas are framework ops (so gradients of gradients work); the
reverse running sum ``flip(cumsum(flip(g)))`` appears in each of them.
cumprod's gradient does not divide by the input where that is zero (see
``_cumprod_backward``); logcumsumexp's splits the gradient by sign and works
in log space, as PyTorch does.
"""
from __future__ import annotations

import operator
from collections import namedtuple

from .. import dtypes
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from . import compare, unary
from ._util import backend, check_tensor, normalize_dim, wrap
from .registry import register

__all__ = ["cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"]
FUNCTIONAL: list = []
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = (
    "cumsum", "cumprod", "logcumsumexp", "cummax", "cummin",
)

# ``torch.return_types.cummax`` / ``cummin``.
CummaxResult = namedtuple("cummax", ("values", "indices"))
CumminResult = namedtuple("cummin", ("values", "indices"))


def _flip(t: Tensor, dim: int) -> Tensor:
    from .movement import flip
    return flip(t, (dim,))


def _reverse_cumsum(g: Tensor, dim: int) -> Tensor:
    """``out[k] = sum of g[j] for j >= k`` along ``dim``."""
    return _flip(cumsum(_flip(g, dim), dim), dim)


def _scan_dim(op: str, input: Tensor, dim) -> int:
    check_tensor(op, "input", input)
    if isinstance(dim, bool) or not hasattr(type(dim), "__index__"):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
    return normalize_dim(op, operator.index(dim), input.ndim)


def _as_rows(x: Tensor) -> Tensor:
    """0-d tensors are scanned as one-element vectors."""
    return x.reshape(1) if x.ndim == 0 else x


def _cast_input(op: str, input: Tensor, dtype) -> Tensor:
    if dtype is not None and not isinstance(dtype, dtypes.dtype):
        raise TypeError(f"{op}(): argument 'dtype' must be a framework dtype, not "
                        f"{type(dtype).__name__}")
    if dtype is not None and input.dtype is not dtype:
        return input.to(dtype)
    return input


def _out_dtype(x: Tensor) -> dtypes.dtype:
    """PyTorch's cumsum/cumprod result: integers and bools accumulate to int64."""
    return x.dtype if x.dtype.is_floating_point else dtypes.int64


# cumsum -----------------------------------------------------------------------------------
class _Cumsum(Function):
    """Running sum along ``dim``; the gradient is the reverse running sum of ``grad``."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        shape = tuple(x.shape)
        out = backend(x).cumsum(_as_rows(x)._a, dim, _out_dtype(x))
        return wrap(out, x.device).reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        if grad.ndim == 0:
            return grad, None
        return _reverse_cumsum(grad, ctx.dim), None


def cumsum(input: Tensor, dim, *, dtype=None) -> Tensor:
    """Inclusive running sum along ``dim``; integers and bools give int64 unless ``dtype``."""
    d = _scan_dim("cumsum", input, dim)
    return _Cumsum.apply(_cast_input("cumsum", input, dtype), d)


# cumprod ----------------------------------------------------------------------------------
class _Cumprod(Function):
    """Running product along ``dim``; see ``_cumprod_backward`` for the gradient."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        out = wrap(backend(x).cumprod(_as_rows(x)._a, dim, _out_dtype(x)), x.device)
        out = out.reshape(tuple(x.shape))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        if grad.ndim == 0:
            return grad, None
        return _cumprod_backward(grad, x, out, ctx.dim), None


def _cumprod_backward(g: Tensor, x: Tensor, out: Tensor, dim: int) -> Tensor:
    """``d/dx_k sum_j g_j out_j = sum_{j >= k} g_j prod_{i <= j, i != k} x_i``, zero-safe.

    Before the first zero of a row, ``x_k != 0`` and that is
    ``reverse_cumsum(g * out)_k / x_k``. At the first zero ``z`` it is
    ``reverse_cumsum(g * P)_z`` with ``P`` the running product of the row where
    ``x_z`` is replaced by 1 (products past a second zero are 0 there, as they
    should be). After the first zero every ``out_j`` with ``j >= k`` holds the
    factor ``x_z = 0``, so the gradient is 0: it is written as ``x_z *
    reverse_cumsum(g * P)_k / x_k`` (up to a second zero) so that its own
    derivative with respect to ``x_z`` is right too.
    """
    is_zero = x == 0
    zeros_so_far = cumsum(is_zero, dim)
    before_zero = zeros_so_far == 0
    first_zero = is_zero & (zeros_so_far == 1)
    safe_x = compare.where(is_zero, 1.0, x)
    if not bool(first_zero.any()):
        return _reverse_cumsum(g * out, dim) / safe_x
    if not is_grad_enabled():
        return _cumprod_backward_masked(g, x, out, dim, zeros_so_far, first_zero, safe_x)
    regular = _reverse_cumsum(g * out, dim) / safe_x
    skipped = cumprod(compare.where(first_zero, 1.0, x), dim)
    at_zero = _reverse_cumsum(g * skipped, dim)
    from .reduce import sum as reduce_sum
    zero_value = reduce_sum(compare.where(first_zero, x, 0.0), dim, keepdim=True)  # 0, slope 1
    after = compare.where(is_zero, 0.0, zero_value * at_zero / safe_x)
    return compare.where(before_zero, regular, compare.where(first_zero, at_zero, after))


def _cumprod_backward_masked(g: Tensor, x: Tensor, out: Tensor, dim: int, zeros_so_far: Tensor,
                             first_zero: Tensor, safe_x: Tensor) -> Tensor:
    """``_cumprod_backward`` outside ``create_graph``, as PyTorch's O(n) formula: the same
    values where everything is finite, but each region reads only its own terms, so an
    inf times the zero (NaN) past the first zero stays out of the gradient before it, and
    the gradient past the first zero is exactly 0. PyTorch's second-derivative formula
    (``create_graph``) reads every term, as ``_cumprod_backward`` does."""
    from .creation import ones_like
    from .reduce import sum as reduce_sum
    from .shape import cat, narrow
    before_zero = zeros_so_far == 0
    regular = _reverse_cumsum(compare.where(before_zero, g * out, 0.0), dim) / safe_x
    # at the first zero z: out[z - 1] * sum_{z <= j < next zero} g_j prod(x[z + 1 .. j])
    between = (zeros_so_far == 1) & ~first_zero
    runs = cumprod(compare.where(between, x, 1.0), dim) * compare.where(zeros_so_far == 1, g, 0.0)
    n = x.shape[dim]
    previous = cat([ones_like(narrow(out, dim, 0, 1)), narrow(out, dim, 0, n - 1)], dim)  # out[j - 1]
    prefix = reduce_sum(compare.where(first_zero, previous, 0.0), dim, keepdim=True)
    at_zero = prefix * reduce_sum(runs, dim, keepdim=True)
    return compare.where(before_zero, regular, compare.where(first_zero, at_zero, 0.0))


def cumprod(input: Tensor, dim, *, dtype=None) -> Tensor:
    """Inclusive running product along ``dim``; integers and bools give int64 unless ``dtype``."""
    d = _scan_dim("cumprod", input, dim)
    return _Cumprod.apply(_cast_input("cumprod", input, dtype), d)


# logcumsumexp -----------------------------------------------------------------------------
class _LogCumSumExp(Function):
    """``log(cumsum(exp(x)))`` along ``dim``."""

    node_name = "LogcumsumexpBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        out = wrap(backend(x).logcumsumexp(_as_rows(x)._a, dim), x.device)
        out = out.reshape(tuple(x.shape))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        if grad.ndim == 0:
            return grad, None
        return _logcumsumexp_backward(grad, x, out, ctx.dim), None


def _logcumsumexp_backward(g: Tensor, x: Tensor, out: Tensor, dim: int) -> Tensor:
    """``grad_k = sum_{j >= k} g_j exp(x_k - out_j)``, in log space for each sign of ``g``:
    ``exp(x_k + reverse_logcumsumexp(log(|g|) - out)_k)`` for the positive and negative parts.

    PyTorch's formula, NaN/inf included: weights of the other sign enter as the dtype's
    lowest finite value (not -inf, so a part with no weight left is exp(huge negative) = 0
    and stays differentiable), and infinite inputs give NaN as in PyTorch (e.g. at a +inf
    element, or before a prefix of -inf: -inf + inf). ``log`` reads a stand-in where its
    weight is unused, so no 0 * inf reaches a second derivative.
    """
    lowest = dtypes.finfo(g.dtype).min

    def part(weights):
        positive = weights > 0
        log_w = compare.where(positive, unary.log(compare.where(positive, weights, 1.0)), lowest) - out
        return unary.exp(_flip(logcumsumexp(_flip(log_w, dim), dim), dim) + x)

    return part(unary.relu(g)) - part(unary.relu(-g))


def logcumsumexp(input: Tensor, dim) -> Tensor:
    """``log(cumsum(exp(input)))`` along ``dim``, without overflow; floating inputs only."""
    d = _scan_dim("logcumsumexp", input, dim)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"logcumsumexp(): expected a floating point input, got {input.dtype}")
    return _LogCumSumExp.apply(input, d)


# cummax / cummin --------------------------------------------------------------------------
class _ScanExtreme(Function):
    """(running max or min, index) along ``dim``; the gradient goes to the recorded indices."""

    @staticmethod
    def forward(ctx, x, dim, is_max):
        ctx.dim, ctx.shape = dim, tuple(x.shape)
        kernel = backend(x).cummax if is_max else backend(x).cummin
        values, indices = kernel(_as_rows(x)._a, dim)
        values = wrap(values, x.device).reshape(ctx.shape)
        indices = wrap(indices, x.device).reshape(ctx.shape)
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, grad, grad_indices):
        (indices,) = ctx.saved_tensors
        from .sort import scatter_to_input
        size = ctx.shape[ctx.dim] if ctx.shape else 1
        return scatter_to_input(grad, indices, ctx.dim, size), None, None


def _scan_extreme(op: str, input: Tensor, dim, is_max: bool):
    d = _scan_dim(op, input, dim)
    values, indices = _ScanExtreme.apply(input, d, is_max)
    return (CummaxResult if is_max else CumminResult)(values, indices)


def cummax(input: Tensor, dim):
    """``(values, indices)``: running maximum along ``dim`` and where it was taken (the latest
    index among equal values; NaN propagates)."""
    return _scan_extreme("cummax", input, dim, True)


def cummin(input: Tensor, dim):
    """``(values, indices)``: running minimum along ``dim`` and where it was taken (the latest
    index among equal values; NaN propagates)."""
    return _scan_extreme("cummin", input, dim, False)


register("cumsum", "scan", ("cumsum", "flip"))
register("cumprod", "scan", ("cumprod", "cumsum", "any", "bitwise_and", "div", "eq", "flip", "mul",
                             "to_numpy", "where"))
register("logcumsumexp", "scan", ("logcumsumexp", "add", "exp", "flip", "gt", "log", "neg", "relu",
                                  "sub", "where"))
register("cummax", "scan", ("cummax", "scatter_add", "amax", "amin", "full", "to_numpy"))
register("cummin", "scan", ("cummin", "scatter_add", "amax", "amin", "full", "to_numpy"))
