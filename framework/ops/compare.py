"""Comparisons, logical ops and selections: ``eq``/``lt``/... , ``logical_and``/...,
``isnan``/``isinf``/``isfinite``, ``isclose``/``allclose``/``equal``, and ``where`` and
``clamp`` (selections by a condition or by comparison with bounds).

Comparisons and logical ops return bool tensors and have no gradient; they
promote their operands like the binary ops and call a ``BINARY`` (or
``UNARY``) kernel with a bool output. ``where`` and ``clamp`` have their
own kernels (``OTHER_ELEMENTWISE``) and pass the gradient through the
selected elements.
"""
from __future__ import annotations

import builtins
import math

from .. import dtypes
from ..autograd.function import Function, rename_node
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from . import binary, unary
from ._pointwise import (Operand, _Saved, _arr, _grad_for, _meta, _operand, _operands, promote,
                         untracked)
from ._util import backend, check_tensor, common_device, wrap
from .out import supports_out
from .registry import register

__all__ = [
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal", "less_equal",
    "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "where", "clamp",
    "clip", "clamp_min", "clamp_max", "isnan", "isinf", "isfinite", "equal", "allclose",
    "isclose", "isin",
]
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = (
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal", "less_equal",
    "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "where", "clamp",
    "clip", "clamp_min", "clamp_max", "isnan", "isinf", "isfinite", "equal", "allclose",
    "isclose",
)


# ---------------------------------------------------------------------------------------
# Comparisons and logical ops (bool results, no gradient)
# ---------------------------------------------------------------------------------------
def _predicate(op: str, kernel: str, input, other) -> Tensor:
    """Compare (or combine logically) in the promoted type of the operands; a bool result."""
    input, other, compute = promote(op, input, other)
    ref = input if isinstance(input, Tensor) else other
    return untracked(kernel, ref._device, _arr(input), _arr(other), compute, dtypes.bool)


def eq(input: Operand, other: Operand) -> Tensor:
    """``input == other`` (bool)."""
    return _predicate("eq", "eq", input, other)


def ne(input: Operand, other: Operand) -> Tensor:
    """``input != other`` (bool)."""
    return _predicate("ne", "ne", input, other)


def lt(input: Operand, other: Operand) -> Tensor:
    """``input < other`` (bool)."""
    return _predicate("lt", "lt", input, other)


def le(input: Operand, other: Operand) -> Tensor:
    """``input <= other`` (bool)."""
    return _predicate("le", "le", input, other)


def gt(input: Operand, other: Operand) -> Tensor:
    """``input > other`` (bool)."""
    return _predicate("gt", "gt", input, other)


def ge(input: Operand, other: Operand) -> Tensor:
    """``input >= other`` (bool)."""
    return _predicate("ge", "ge", input, other)


def greater(input: Operand, other: Operand) -> Tensor:
    """Alias of ``gt``."""
    return _predicate("greater", "gt", input, other)


def less(input: Operand, other: Operand) -> Tensor:
    """Alias of ``lt``."""
    return _predicate("less", "lt", input, other)


def greater_equal(input: Operand, other: Operand) -> Tensor:
    """Alias of ``ge``."""
    return _predicate("greater_equal", "ge", input, other)


def less_equal(input: Operand, other: Operand) -> Tensor:
    """Alias of ``le``."""
    return _predicate("less_equal", "le", input, other)


def not_equal(input: Operand, other: Operand) -> Tensor:
    """Alias of ``ne``."""
    return _predicate("not_equal", "ne", input, other)


def logical_and(input: Operand, other: Operand) -> Tensor:
    """Both nonzero (bool)."""
    return _predicate("logical_and", "logical_and", input, other)


def logical_or(input: Operand, other: Operand) -> Tensor:
    """Either nonzero (bool)."""
    return _predicate("logical_or", "logical_or", input, other)


def logical_xor(input: Operand, other: Operand) -> Tensor:
    """Exactly one nonzero (bool)."""
    return _predicate("logical_xor", "logical_xor", input, other)


def logical_not(input: Tensor) -> Tensor:
    """``input == 0`` (bool)."""
    check_tensor("logical_not", "input", input)
    return wrap(backend(input).logical_not(input._a, dtypes.bool), input.device)


def _constant_bool(input: Tensor, value: bool) -> Tensor:
    return wrap(backend(input).full(tuple(input.shape), value, dtypes.bool), input.device)


def isnan(input: Tensor) -> Tensor:
    """True where ``input`` is NaN."""
    check_tensor("isnan", "input", input)
    if not input.dtype.is_floating_point:
        return _constant_bool(input, False)
    return wrap(backend(input).isnan(input._a, dtypes.bool), input.device)


def isinf(input: Tensor) -> Tensor:
    """True where ``input`` is +inf or -inf."""
    check_tensor("isinf", "input", input)
    if not input.dtype.is_floating_point:
        return _constant_bool(input, False)
    with no_grad():
        return eq(unary.abs(input), math.inf)


def isfinite(input: Tensor) -> Tensor:
    """True where ``input`` is neither infinite nor NaN."""
    check_tensor("isfinite", "input", input)
    if not input.dtype.is_floating_point:
        return _constant_bool(input, True)
    with no_grad():
        return eq(binary.sub(input, input), 0)  # inf - inf and NaN - NaN are NaN


# ---------------------------------------------------------------------------------------
# where and clamp
# ---------------------------------------------------------------------------------------
class Where(Function):
    """``a`` where ``cond`` else ``b``; each gradient is the incoming one masked."""

    PUBLIC_INPUTS = (1, 2)

    @staticmethod
    def forward(ctx, cond, a, b, out_dtype):
        out = backend(cond).where(cond._a, _arr(a), _arr(b), out_dtype)
        ctx.save_for_backward(cond)
        ctx.metas = (_meta(a), _meta(b))
        return wrap(out, cond._device)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        ga = where(cond, grad, 0.0) if need_a else None
        gb = where(cond, 0.0, grad) if need_b else None
        meta_a, meta_b = ctx.metas
        return None, _grad_for(ga, meta_a, need_a), _grad_for(gb, meta_b, need_b), None


_NOT_GIVEN = object()


@supports_out
def where(condition: Tensor, input: Operand = _NOT_GIVEN, other: Operand = _NOT_GIVEN):
    """``input`` where ``condition`` else ``other`` (broadcast; numbers allowed).

    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``: a tuple of int64
    index tensors, one per dim, of the non-zero (True) elements."""
    check_tensor("where", "condition", condition)
    if input is _NOT_GIVEN and other is _NOT_GIVEN:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    if input is _NOT_GIVEN or other is _NOT_GIVEN:
        raise TypeError("where() takes 1 or 3 arguments (condition, input, other); got 2")
    if condition.dtype is not dtypes.bool:
        raise RuntimeError("where(): expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {condition.dtype}")
    (cond, a, b), _ = _operands("where", ("condition", "input", "other"),
                                (condition, input, other))
    return Where.apply(cond, a, b, dtypes.result_type(a, b))


class Clamp(Function):
    """Clamp to number bounds; the gradient passes where ``lo <= x <= hi`` (bounds included)."""

    @staticmethod
    def forward(ctx, x, lo, hi, out_dtype):
        ctx.bounds = (lo, hi)
        ctx.save_for_backward(x)
        return wrap(backend(x).clamp(x._a, lo, hi, out_dtype), x._device)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        inside = _inside(x, lo, hi)
        return where(inside, grad, 0.0), None, None, None


def _inside(x, lo, hi) -> Tensor:
    """``lo <= x <= hi`` with absent (None) bounds left out."""
    checks = [c for c in (ge(x, lo) if lo is not None else None,
                          le(x, hi) if hi is not None else None) if c is not None]
    return checks[0] if len(checks) == 1 else logical_and(checks[0], checks[1])


class ClampTensor(Function):
    """Clamp to tensor bounds: ``minimum(maximum(x, lo), hi)``; gradients like PyTorch's."""

    @staticmethod
    def forward(ctx, x, lo, hi, out_dtype):
        kernels = backend(x)
        out = x._a
        if lo is not None:
            out = kernels.maximum(out, _arr(lo), out_dtype, out_dtype)
        if hi is not None:
            out = kernels.minimum(out, _arr(hi), out_dtype, out_dtype)
        _Saved.save(ctx, (x, lo, hi), (True, True, True))
        ctx.metas = (_meta(x), _meta(lo), _meta(hi))
        return wrap(out, x._device)

    @staticmethod
    def backward(ctx, grad):
        x, lo, hi = _Saved.load(ctx)
        need_x, need_lo, need_hi = ctx.needs_input_grad[:3]
        gx = where(_inside(x, lo, hi), grad, 0.0) if need_x else None
        g_lo = g_hi = None
        if need_lo:
            below = lt(x, lo)
            mask = below if hi is None else logical_and(below, lt(lo, hi))
            g_lo = where(mask, grad, 0.0)
        if need_hi:
            above = gt(x, hi)
            mask = above if lo is None else logical_or(above, lt(hi, lo))
            g_hi = where(mask, grad, 0.0)
        meta_x, meta_lo, meta_hi = ctx.metas
        return (_grad_for(gx, meta_x, need_x), _grad_for(g_lo, meta_lo, need_lo),
                _grad_for(g_hi, meta_hi, need_hi), None)


@supports_out
def clamp(input: Tensor, min: "Operand | None" = None,  # noqa: A002 - PyTorch's names
          max: "Operand | None" = None) -> Tensor:  # noqa: A002
    """Limit ``input`` to ``[min, max]`` (numbers or tensors; either may be None)."""
    check_tensor("clamp", "input", input)
    if min is None and max is None:
        raise RuntimeError("clamp(): At least one of 'min' or 'max' must not be None")
    lo = None if min is None else _operand("clamp", "min", min)
    hi = None if max is None else _operand("clamp", "max", max)
    bounds = [v for v in (lo, hi) if v is not None]
    if not any(isinstance(v, Tensor) for v in bounds):
        out_dtype = dtypes.result_type(input, *bounds)
        return rename_node(Clamp.apply(input, lo, hi, out_dtype), "ClampBackward1", public=(0,))
    (x, lo_t, hi_t), _ = _operands("clamp", ("input", "min", "max"),
                                   (input, 0 if lo is None else lo, 0 if hi is None else hi))
    out_dtype = dtypes.result_type(x, *bounds)
    lo_t = None if lo is None else _as_tensor_like(lo_t, x)
    hi_t = None if hi is None else _as_tensor_like(hi_t, x)
    return rename_node(ClampTensor.apply(x, lo_t, hi_t, out_dtype), "ClampBackward0",
                       public=(0, 1, 2))


def _as_tensor_like(value, x: Tensor) -> Tensor:
    """A number bound (mixed with a tensor bound) as a 0-d tensor on ``x``'s device."""
    if isinstance(value, Tensor):
        return value
    from .creation import tensor
    return tensor(value, device=x.device)


@supports_out
def clip(input: Tensor, min: "Operand | None" = None,  # noqa: A002
         max: "Operand | None" = None) -> Tensor:  # noqa: A002
    """Alias of ``clamp``."""
    return clamp(input, min, max)


def clamp_min(input: Tensor, min: Operand) -> Tensor:  # noqa: A002
    """``clamp(input, min=min)``."""
    out = clamp(input, min=min)
    return out if isinstance(min, Tensor) else rename_node(out, "ClampMinBackward0")


def clamp_max(input: Tensor, max: Operand) -> Tensor:  # noqa: A002
    """``clamp(input, max=max)``."""
    out = clamp(input, max=max)
    return out if isinstance(max, Tensor) else rename_node(out, "ClampMaxBackward0")


# ---------------------------------------------------------------------------------------
# Closeness and equality of whole tensors
# ---------------------------------------------------------------------------------------
def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise (bool), or exactly equal."""
    check_tensor("isclose", "input", input)
    check_tensor("isclose", "other", other)
    if input.dtype is not other.dtype:
        raise RuntimeError(f"isclose(): {input.dtype} did not match {other.dtype}")
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"isclose(): rtol and atol must be greater than or equal to zero, "
                           f"got rtol={rtol}, atol={atol}")
    with no_grad():
        close = eq(input, other)
        if equal_nan and input.dtype.is_floating_point:
            close = logical_or(close, logical_and(isnan(input), isnan(other)))
        a, b = input, other
        if input.dtype is dtypes.bool:
            a, b = a.to(dtypes.get_default_dtype()), b.to(dtypes.get_default_dtype())
        allowed = binary.add(unary.abs(binary.mul(b, rtol)), atol)
        actual = unary.abs(binary.sub(a, b))
        return logical_or(close, logical_and(isfinite(actual), le(actual, allowed)))


def _all_true(op: str, t: Tensor) -> bool:
    from .reduce import all as reduce_all
    return builtins.bool(reduce_all(t).item())


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True when every element ``isclose``."""
    return _all_true("allclose", isclose(input, other, rtol, atol, equal_nan))


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and elements."""
    check_tensor("equal", "input", input)
    check_tensor("equal", "other", other)
    common_device("equal", input, other)
    if tuple(input.shape) != tuple(other.shape):
        return False
    return _all_true("equal", eq(input, other))


# ---------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------
def _register() -> None:
    """Each op with the kernels its forward and backward call
    (tests/test_registry_kernels.py records them)."""
    register("where", "compare", ("where", "sum"))
    for name in ("clamp", "clip"):
        register(name, "compare", (
            "clamp", "maximum", "minimum", "ge", "gt", "le", "logical_and", "logical_or", "lt",
            "sum", "where",
        ))
    register("clamp_min", "compare", ("clamp", "maximum", "ge", "lt", "sum", "where"))
    register("clamp_max", "compare", ("clamp", "minimum", "gt", "le", "sum", "where"))
    for name in ("ne", "not_equal"):
        register(name, "compare", ("ne",), differentiable=False)
    for name in ("lt", "less"):
        register(name, "compare", ("lt",), differentiable=False)
    for name in ("le", "less_equal"):
        register(name, "compare", ("le",), differentiable=False)
    for name in ("gt", "greater"):
        register(name, "compare", ("gt",), differentiable=False)
    for name in ("ge", "greater_equal"):
        register(name, "compare", ("ge",), differentiable=False)
    register("isinf", "compare", ("abs", "eq", "full"), differentiable=False)
    register("isfinite", "compare", ("sub", "eq", "full"), differentiable=False)
    register("isclose", "compare", (
        "eq", "sub", "abs", "mul", "add", "le", "logical_or", "logical_and",
    ), differentiable=False)
    register("allclose", "compare", (
        "eq", "sub", "abs", "le", "all", "add", "logical_and", "logical_or", "mul", "to_numpy",
    ), differentiable=False)
    register("equal", "compare", ("eq", "all", "to_numpy"), differentiable=False)
    register("eq", "compare", ("eq",), differentiable=False)
    register("logical_and", "compare", ("logical_and",), differentiable=False)
    register("logical_or", "compare", ("logical_or",), differentiable=False)
    register("logical_xor", "compare", ("logical_xor",), differentiable=False)
    register("logical_not", "compare", ("logical_not",), differentiable=False)
    register("isnan", "compare", ("isnan", "full"), differentiable=False)


_register()


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """True where an element of ``elements`` is one of ``test_elements`` (either may be a
    number); ``invert`` negates. A binary search in the sorted test elements (NaN matches
    nothing)."""
    from .creation import tensor
    from .sort import searchsorted, sort
    if not isinstance(elements, Tensor):
        elements = tensor(elements, device=test_elements.device)
    if not isinstance(test_elements, Tensor):
        test_elements = tensor(test_elements, device=elements.device)
    check_tensor("isin", "elements", elements)
    check_tensor("isin", "test_elements", test_elements)
    candidates = test_elements.reshape(-1)
    if candidates.dtype.is_floating_point:
        candidates = candidates[logical_not(isnan(candidates))]  # NaN would break the search
    if candidates.numel() == 0:
        found = ne(elements, elements) & False  # all False, elements' shape
    else:
        candidates = sort(candidates).values.to(
            dtypes.promote_types(elements.dtype, test_elements.dtype))
        values = elements.to(candidates.dtype)
        positions = searchsorted(candidates, values.reshape(-1)).clamp(max=candidates.numel() - 1)
        found = eq(candidates[positions].reshape(tuple(elements.shape)), values)
    return logical_not(found) if invert else found


register("isin", "compare", ("sort", "searchsorted", "clamp", "eq", "gather", "isnan",
                             "logical_not", "nonzero", "amax", "amin", "to_numpy"),
         differentiable=False)
