"""Binary elementwise ops: arithmetic of two operands (``add``, ``sub``, ``mul``, ``div``,
``pow``, ``maximum``, ``atan2``, ``hypot``, bitwise ops ...) and the compositions
``lerp``, ``addcmul``, ``addcdiv``.

Operands are tensors or Python numbers: they are put on one device,
broadcast and promoted with PyTorch's rules (``framework.ops._pointwise``),
then one ``BINARY`` kernel of the contract runs. Differentiable ops are
``Function`` subclasses whose backward is written in framework ops; a
gradient of a broadcast operand is summed back to its shape.
"""
from __future__ import annotations

import builtins
import math

from .. import _backends, dtypes
from .._backends import for_device
from .._backends.host import round_scalar
from ..autograd.composite import one_node
from ..autograd.function import _CLASS_NODE_TYPES as _NODE_TYPES
from ..autograd.function import Function, class_node_type, rename_node
from ..autograd.grad_mode import _state as _grad_state
from ..devices import CPU
from ..tensor import Size, Tensor
from . import compare, unary
from ._pointwise import (Operand, _Saved, _arr, _fast_result_type, _grad_for, _meta, _operand,
                         _operands, _require_float, _scalar, promote, reflected_operator,
                         same_untracked, tensor_operator)
from ._util import backend, check_tensor, float_dtype_of, wrap
from .out import supports_out
from .registry import register

__all__ = [
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
    "remainder", "fmod", "pow", "maximum", "minimum", "atan2", "lerp", "addcmul", "addcdiv",
    "copysign", "logaddexp", "logaddexp2", "hypot", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_left_shift", "bitwise_right_shift",
]
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = (
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
    "remainder", "fmod", "pow", "maximum", "minimum", "atan2", "lerp", "addcmul", "addcdiv",
    "copysign", "logaddexp", "logaddexp2", "hypot", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_left_shift", "bitwise_right_shift",
)


_new = object.__new__
_NO_EDGE = (None, 0)  # the edge of an argument that needs no gradient
_LOADED = _backends._loaded  # see framework.ops._pointwise._LOADED


# ---------------------------------------------------------------------------------------
# Binary arithmetic
# ---------------------------------------------------------------------------------------
class _Binary(Function):
    """Base of binary Functions: ``KERNEL`` names the contract kernel; ``derivatives``
    maps ``(grad, a, b, out, need_a, need_b)`` to the operand gradients (broadcast shape).

    ``saves(need_a, need_b)`` says which of ``(a, b, out)`` the derivatives
    read; only those tensors are saved (numbers always are), so in-place
    writes to operands the backward does not read are no error.
    """

    KERNEL = ""
    PUBLIC_INPUTS = (0, 1)  # PyTorch lists both operands, a number as (None, 0)

    @classmethod
    def apply(cls, a, b, compute_dtype, out_dtype):
        """``Function.apply``, or just the kernel when nothing is recorded (the common case)."""
        a_is_tensor = isinstance(a, Tensor)
        b_is_tensor = isinstance(b, Tensor)
        if _grad_state.enabled:
            # _tracked(a), _tracked(b) (needs_input_grad), inlined: the hottest path of the CPU
            # backend
            need_a = a_is_tensor and (a._requires_grad or (
                a._grad_fn if a._base is None else a.grad_fn) is not None)
            need_b = b_is_tensor and (b._requires_grad or (
                b._grad_fn if b._base is None else b.grad_fn) is not None)
            if need_a or need_b:
                return cls._record(a, b, compute_dtype, out_dtype, a_is_tensor, b_is_tensor,
                                   need_a, need_b)
        # untracked(...) written out: the helper's call and its *args/**params packing cost
        # ~4% of a small add (docs/perf.md, "op-layout moves")
        device = a._device if a_is_tensor else b._device
        out = object.__new__(Tensor)  # Tensor._make(array, device), inlined
        out._a = getattr(for_device(device), cls.KERNEL)(
            a._a if a_is_tensor else a, b._a if b_is_tensor else b, compute_dtype, out_dtype)
        out._device = device
        out._requires_grad = False
        return out

    @classmethod
    def _record(cls, a, b, compute_dtype, out_dtype, a_is_tensor, b_is_tensor, need_a, need_b):
        """``Function.apply(a, b, compute_dtype, out_dtype)`` for a call that records a node,
        built directly: the same kernel call, output and node (its class, ``__dict__``,
        edges and saved tensors) as ``forward`` under ``Function.apply``, without the generic
        packing, the ctx class switch and the per-output checks a fresh output needs none
        of (``tests/test_record_fast_path.py`` holds the two equal)."""
        device = a._device if a_is_tensor else b._device
        backend = _LOADED.get("numpy") if device is CPU else None  # for_device's answer
        array = getattr(backend or for_device(device), cls.KERNEL)(
            a._a if a_is_tensor else a, b._a if b_is_tensor else b, compute_dtype, out_dtype)
        out = _new(Tensor)  # Tensor._make(array, device), inlined
        out._a = array
        out._device = device
        out._requires_grad = False
        keep_a, keep_b, keep_out = cls.saves(need_a, need_b)
        saved_a = a if keep_a and a_is_tensor else None
        saved_b = b if keep_b and b_is_tensor else None
        saved_out = out if keep_out else None
        edge_a = edge_b = _NO_EDGE
        if need_a:  # _edge(a), inlined
            node_a = a._grad_fn if a._base is None else a.grad_fn
            edge_a = (node_a, a._output_nr) if node_a is not None else (a._get_accumulator(), 0)
        if need_b:
            node_b = b._grad_fn if b._base is None else b.grad_fn
            edge_b = (node_b, b._output_nr) if node_b is not None else (b._get_accumulator(), 0)
        node = _new(_NODE_TYPES.get(cls) or class_node_type(cls))
        # Function.apply's ctx.__dict__ after forward (Node.__init__, save_for_backward,
        # _Saved.save, metas) and its own bookkeeping (edges, positions, outputs)
        node.__dict__ = {
            "fn_cls": cls, "retained": {}, "needs_input_grad": (need_a, need_b, False, False),
            "_saved": (saved_a, saved_b, saved_out),
            "_saved_versions": (saved_a._a.storage.version if saved_a is not None else 0,
                                saved_b._a.storage.version if saved_b is not None else 0,
                                array.storage.version if saved_out is not None else 0),
            "consts": (None if a_is_tensor else a, None if b_is_tensor else b, None),
            "metas": ((tuple(a._a.shape), a._a.dtype) if a_is_tensor else None,
                      (tuple(b._a.shape), b._a.dtype) if b_is_tensor else None),
            "_edges": (edge_a, edge_b, _NO_EDGE, _NO_EDGE),
            "_public": cls.PUBLIC_INPUTS, "num_outputs": 1,
            "output_meta": [(Size(array.shape), array.dtype, device)],
        }
        watch = _grad_state.inplace_watch
        if watch is not None and any(t is not None and t._a.storage is watch[0]
                                     for t in (saved_a, saved_b, saved_out)):
            watch[1].append(node)  # Node.save_for_backward's check
        if array.dtype.is_floating_point:
            out._grad_fn = node
            out._output_nr = 0
        return out

    @staticmethod
    def forward(ctx, a, b, compute_dtype, out_dtype):
        cls = ctx.fn_cls
        ref = a if isinstance(a, Tensor) else b
        kernel = getattr(backend(ref), cls.KERNEL)
        out = wrap(kernel(_arr(a), _arr(b), compute_dtype, out_dtype), ref._device)
        if ctx.recording:
            keep = cls.saves(*ctx.needs_input_grad[:2])
            _Saved.save(ctx, (a, b, out), keep)
            ctx.metas = (_meta(a), _meta(b))
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = _Saved.load(ctx)
        need_a, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        ga, gb = ctx.fn_cls.derivatives(grad, a, b, out, need_a, need_b)
        meta_a, meta_b = ctx.metas
        # _grad_for(ga, meta_a, need_a), with a gradient that already fits returned at once
        if not (need_a and meta_a is not None and ga is not None and ga._a.shape == meta_a[0]
                and ga._a.dtype is meta_a[1]):
            ga = _grad_for(ga, meta_a, need_a)
        if not (need_b and meta_b is not None and gb is not None and gb._a.shape == meta_b[0]
                and gb._a.dtype is meta_b[1]):
            gb = _grad_for(gb, meta_b, need_b)
        return ga, gb, None, None

    @staticmethod
    def saves(need_a: bool, need_b: bool) -> tuple:
        return (False, False, False)

    @staticmethod
    def derivatives(grad, a, b, out, need_a, need_b):
        raise NotImplementedError


def _binary_function(name: str, kernel: str, derivatives, saves):
    """A ``_Binary`` subclass named like PyTorch's node (``Mul`` -> ``MulBackward``)."""
    return type(name, (_Binary,), {"KERNEL": kernel, "saves": staticmethod(saves),
                                   "derivatives": staticmethod(derivatives)})


def _saves_nothing(need_a, need_b):
    return (False, False, False)


def _saves_operands(need_a, need_b):
    return (True, True, False)


def _saves_crossed(need_a, need_b):
    """mul: a's gradient reads b and b's gradient reads a."""
    return (need_b, need_a, False)


def _saves_divisor(need_a, need_b):
    """div: a's gradient reads b; b's reads both."""
    return (need_b, True, False)


def _saves_for_b(need_a, need_b):
    """remainder/fmod: only b's gradient reads the operands."""
    return (need_b, need_b, False)


def _saves_all(need_a, need_b):
    return (True, True, True)


def _dd_add(g, a, b, out, need_a, need_b):
    return g, g


def _dd_sub(g, a, b, out, need_a, need_b):
    return g, (unary.neg(g) if need_b else None)


def _dd_mul(g, a, b, out, need_a, need_b):
    return (mul(g, b) if need_a else None), (mul(g, a) if need_b else None)


def _dd_div(g, a, b, out, need_a, need_b):
    ga = div(g, b) if need_a else None
    gb = div(mul(unary.neg(g), a), mul(b, b)) if need_b else None
    return ga, gb


def _dd_zero(g, a, b, out, need_a, need_b):
    from .creation import zeros_like
    zero = zeros_like(g)
    return zero, zero


def _dd_remainder(g, a, b, out, need_a, need_b):
    gb = mul(unary.neg(g), div(a, b, rounding_mode="floor")) if need_b else None
    return g, gb


def _dd_fmod(g, a, b, out, need_a, need_b):
    gb = mul(unary.neg(g), div(a, b, rounding_mode="trunc")) if need_b else None
    return g, gb


def _dd_pow(g, a, b, out, need_a, need_b):
    ga = gb = None
    if need_a:
        if isinstance(b, Tensor):
            ga = compare.where(compare.eq(b, 0), 0.0, mul(g, mul(b, pow(a, sub(b, 1)))))
        elif b == 0:
            ga = _dd_zero(g, a, b, out, True, False)[0]
        else:
            ga = mul(g, mul(pow(a, b - 1), b))
    if need_b:
        gb = mul(g, _pow_exponent_factor(a, b, out))
    return ga, gb


def _pow_exponent_factor(a, b, out) -> Tensor:
    """d(a ** b)/db = a ** b * log(a), taken as 0 where a == 0 and b >= 0 (like PyTorch)."""
    if isinstance(a, Tensor):
        factor = mul(out, unary.log(a))
        return compare.where(compare.logical_and(compare.eq(a, 0), compare.ge(b, 0)), 0.0, factor)
    log_a = math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan)
    factor = mul(out, log_a)
    return compare.where(compare.ge(b, 0), 0.0, factor) if a == 0 else factor


def _dd_extreme(is_max: bool):
    def derivatives(g, a, b, out, need_a, need_b):
        half = compare.where(compare.eq(a, b), mul(g, 0.5), g)  # ties split the gradient equally
        a_loses = compare.lt(a, b) if is_max else compare.gt(a, b)
        b_loses = compare.gt(a, b) if is_max else compare.lt(a, b)
        ga = compare.where(a_loses, 0.0, half) if need_a else None
        gb = compare.where(b_loses, 0.0, half) if need_b else None
        return ga, gb
    return derivatives


def _dd_atan2(g, a, b, out, need_a, need_b):
    # PyTorch's gradient is 0 at a = b = 0 (where 1 / (a^2 + b^2) is inf)
    denominator = add(mul(a, a), mul(b, b))
    recip = compare.where(compare.eq(denominator, 0), 0.0, unary.reciprocal(denominator))
    ga = mul(mul(g, b), recip) if need_a else None
    gb = mul(mul(g, unary.neg(a)), recip) if need_b else None
    return ga, gb


def _dd_copysign(g, a, b, out, need_a, need_b):
    # d/da = out / a (the sign factor), 0 at a == 0 as in PyTorch; b gets no gradient
    ga = None
    if need_a:
        at_zero = compare.eq(a, 0)
        ga = mul(g, compare.where(at_zero, 0.0, div(out, compare.where(at_zero, 1.0, a))))
    return ga, (_dd_zero(g, a, b, out, False, True)[1] if need_b else None)


def _dd_logaddexp(base2: bool):
    def derivatives(g, a, b, out, need_a, need_b):
        power = unary.exp2 if base2 else unary.exp
        ga = div(g, add(power(sub(b, a)), 1)) if need_a else None
        gb = div(g, add(power(sub(a, b)), 1)) if need_b else None
        return ga, gb
    return derivatives


def _dd_hypot(g, a, b, out, need_a, need_b):
    ga = mul(g, div(a, out)) if need_a else None
    gb = mul(g, div(b, out)) if need_b else None
    return ga, gb


def _saves_first_and_out(need_a, need_b):
    return (need_a, False, need_a)


_Add = _binary_function("Add", "add", _dd_add, _saves_nothing)
_Sub = _binary_function("Sub", "sub", _dd_sub, _saves_nothing)
_Mul = _binary_function("Mul", "mul", _dd_mul, _saves_crossed)
_Div = _binary_function("Div", "div", _dd_div, _saves_divisor)
_DivTrunc = _binary_function("DivTrunc", "div_trunc", _dd_zero, _saves_nothing)
_DivFloor = _binary_function("DivFloor", "div_floor", _dd_zero, _saves_nothing)
_Remainder = _binary_function("Remainder", "remainder", _dd_remainder, _saves_for_b)
_Fmod = _binary_function("Fmod", "fmod", _dd_fmod, _saves_for_b)
_Pow = _binary_function("Pow", "pow", _dd_pow, _saves_all)
_Maximum = _binary_function("Maximum", "maximum", _dd_extreme(True), _saves_operands)
_Minimum = _binary_function("Minimum", "minimum", _dd_extreme(False), _saves_operands)
_Atan2 = _binary_function("Atan2", "atan2", _dd_atan2, _saves_operands)
_Copysign = _binary_function("Copysign", "copysign", _dd_copysign, _saves_first_and_out)
_Logaddexp = _binary_function("Logaddexp", "logaddexp", _dd_logaddexp(False), _saves_operands)
_Logaddexp2 = _binary_function("Logaddexp2", "logaddexp2", _dd_logaddexp(True), _saves_operands)
_Hypot = _binary_function("Hypot", "hypot", _dd_hypot, _saves_all)


def _binary(op: str, fn_cls, input, other, float_result: bool = False):
    """Validate, promote and apply a binary Function; ``float_result`` for true division."""
    if (type(input) is Tensor and type(other) is Tensor and input._a.dtype is other._a.dtype
            and input._device is other._device and input._a.shape == other._a.shape):
        result = input._a.dtype  # promote()'s first case without the call: the commonest one
    else:
        result = _fast_result_type(op, input, other)  # the next common cases, no call either
        if result is None:
            input, other, result = promote(op, input, other)
    if float_result:
        result = float_dtype_of(result)
    return fn_cls.apply(input, other, result, result)


def _alpha_value(op: str, alpha):
    """``alpha`` as a Python number (a TypeError for anything else)."""
    value = _scalar(alpha)
    if value is None:
        raise TypeError(f"{op}(): argument 'alpha' must be Number, not {type(alpha).__name__}")
    return value


def _scaled(op: str, input, other, alpha):
    """``other * alpha`` for add/sub, with PyTorch's check on integral tensors."""
    if alpha == 1:
        return other
    value = _alpha_value(op, alpha)
    is_integral = not dtypes.result_type(_operand(op, "input", input),
                                         _operand(op, "other", other)).is_floating_point
    if is_integral and isinstance(value, float):
        raise RuntimeError(f"{op}(): For integral input tensors, argument alpha must not be a "
                           "floating point number.")
    if isinstance(other, Tensor):
        # PyTorch computes in the dtype of ``input`` and ``other`` alone: a float
        # alpha must not lift float16 + int32 to float32.
        result = dtypes.result_type(_operand(op, "input", input), other)
        return mul(other, value).to(result)
    return _operand(op, "other", other) * value


def _half_result(input, other):
    """float16 or bfloat16 when both operands are tensors and that is their result dtype,
    else None (``add``/``sub`` with ``alpha`` then compute in float32: ``_opmath_add``)."""
    if type(input) is not Tensor or type(other) is not Tensor:
        return None
    result = dtypes.result_type(input, other)
    return result if result is dtypes.float16 or result is dtypes.bfloat16 else None


def _opmath_add(input: Tensor, other: Tensor, alpha: float, half) -> Tensor:
    """``input + alpha * other`` in float32 with ``alpha`` rounded to ``half``, the sum
    rounded once to ``half``, as torch's half add/sub compute it: rounding ``alpha * other``
    first moves about a quarter of the results by a unit."""
    alpha = round_scalar(alpha, half)
    return _binary("add", _Add, input.float(), mul(other.float(), alpha)).to(half)


_opmath_add_node = one_node("AddBackward0")(_opmath_add)
_opmath_sub_node = one_node("SubBackward0")(_opmath_add)


@supports_out
def add(input: Operand, other: Operand, *, alpha: Operand = 1) -> Tensor:
    """``input + alpha * other`` (broadcast, promoted; half tensors with ``alpha`` computed in
    float32 and rounded once, as torch)."""
    if alpha == 1:  # what _scaled does first, without the call
        out = same_untracked("add", input, other)
        return out if out is not None else _binary("add", _Add, input, other)
    half = _half_result(input, other)
    if half is not None:
        return _opmath_add_node(input, other, _alpha_value("add", alpha), half)
    return _binary("add", _Add, input, _scaled("add", input, other, alpha))


@supports_out
def sub(input: Operand, other: Operand, *, alpha: Operand = 1) -> Tensor:
    """``input - alpha * other``; bool operands are rejected like PyTorch."""
    if alpha == 1:
        if type(input) is Tensor and input._a.dtype is not dtypes.bool:
            out = same_untracked("sub", input, other)
            if out is not None:
                return out
        result = _fast_result_type("sub", input, other)
        if result is not None and result is not dtypes.bool:
            return _Sub.apply(input, other, result, result)
    half = _half_result(input, other) if alpha != 1 else None
    if half is not None:
        return _opmath_sub_node(input, other, -_alpha_value("sub", alpha), half)
    (a, b), _ = _operands("sub", ("input", "other"), (input, other))
    if dtypes.result_type(a, b) is dtypes.bool:
        raise RuntimeError("sub(): Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if any(_is_bool(x) for x in (a, b)):
        raise RuntimeError("sub(): Subtraction, the `-` operator, with a bool tensor is not "
                           "supported. If you are trying to invert a mask, use the `~` or "
                           "`logical_not()` operator instead.")
    return _binary("sub", _Sub, a, _scaled("sub", a, b, alpha))


def _is_bool(x) -> bool:
    """True for a bool tensor or a Python bool."""
    return x.dtype is dtypes.bool if isinstance(x, Tensor) else isinstance(x, bool)


@supports_out
def subtract(input: Operand, other: Operand, *, alpha: Operand = 1) -> Tensor:
    """Alias of ``sub``."""
    return sub(input, other, alpha=alpha)


@supports_out
def mul(input: Operand, other: Operand) -> Tensor:
    """``input * other``."""
    out = same_untracked("mul", input, other)
    return out if out is not None else _binary("mul", _Mul, input, other)


@supports_out
def multiply(input: Operand, other: Operand) -> Tensor:
    """Alias of ``mul``."""
    return mul(input, other)


@supports_out
def div(input: Operand, other: Operand, *, rounding_mode: str | None = None) -> Tensor:
    """``input / other``: true division, or rounded (``'trunc'``, ``'floor'``)."""
    if rounding_mode is None:
        if type(input) is Tensor and input._a.dtype.is_floating_point:
            out = same_untracked("div", input, other)
            if out is not None:
                return out
        return _binary("div", _Div, input, other, float_result=True)
    if rounding_mode == "trunc":
        return _binary("div", _DivTrunc, input, other)
    if rounding_mode == "floor":
        return _binary("div", _DivFloor, input, other)
    raise RuntimeError("div(): expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                       f"found '{rounding_mode}'")


@supports_out
def divide(input: Operand, other: Operand, *, rounding_mode: str | None = None) -> Tensor:
    """Alias of ``div``."""
    return div(input, other, rounding_mode=rounding_mode)


@supports_out
def true_divide(input: Operand, other: Operand) -> Tensor:
    """``div`` without rounding."""
    return div(input, other)


# the public forms try these kernels' same-operand fast path first (ops.out.with_out)
add.same_operand_kernel = "add"
sub.same_operand_kernel = "sub"
mul.same_operand_kernel = "mul"
div.same_operand_kernel = "div"


def _rsub(input: Operand, other: Operand) -> Tensor:
    """``input - other`` for ``Tensor.__rsub__`` (PyTorch's node name)."""
    return rename_node(sub(input, other), "RsubBackward1", public=(1,))


_ALL_DTYPES = frozenset(dtypes.ALL_DTYPES)
_NOT_BOOL = _ALL_DTYPES - {dtypes.bool}  # sub rejects bool operands
_FLOATS = frozenset(d for d in dtypes.ALL_DTYPES if d.is_floating_point)  # int / int promotes
# Tensor operators this module defines (framework/__init__.py installs them on ``Tensor``).
TENSOR_OPERATORS = {
    "__add__": tensor_operator("add", add, _ALL_DTYPES, "__add__", _Add),
    "__radd__": reflected_operator("add", add, _ALL_DTYPES, "__radd__", _Add),
    "__sub__": tensor_operator("sub", sub, _NOT_BOOL, "__sub__", _Sub),
    "__rsub__": reflected_operator("sub", _rsub, _NOT_BOOL, "__rsub__"),  # renamed: general
    "__mul__": tensor_operator("mul", mul, _ALL_DTYPES, "__mul__", _Mul),
    "__rmul__": reflected_operator("mul", mul, _ALL_DTYPES, "__rmul__", _Mul),
    "__truediv__": tensor_operator("div", div, _FLOATS, "__truediv__", _Div),
    "__rtruediv__": reflected_operator("div", div, _FLOATS, "__rtruediv__", _Div),
}


def floor_divide(input: Operand, other: Operand) -> Tensor:
    """``div(input, other, rounding_mode='floor')``."""
    return _binary("floor_divide", _DivFloor, input, other)


def remainder(input: Operand, other: Operand) -> Tensor:
    """Python-style modulus: the result has the divisor's sign."""
    return _binary("remainder", _Remainder, input, other)


def fmod(input: Operand, other: Operand) -> Tensor:
    """C-style modulus: the result has the dividend's sign."""
    return _binary("fmod", _Fmod, input, other)


@supports_out
def pow(input: Operand, exponent: Operand) -> Tensor:  # noqa: A001 - PyTorch's name
    """``input ** exponent`` (either may be a number)."""
    result = _fast_result_type("pow", input, exponent)  # the common cases: no conversion
    if result is not None:
        a, b = input, exponent
    else:
        (a, b), _ = _operands("pow", ("input", "exponent"), (input, exponent))
        result = dtypes.result_type(a, b)
    negative_int = (not isinstance(b, Tensor) and not isinstance(b, bool) and isinstance(b, int)
                    and b < 0)
    if negative_int and not result.is_floating_point:
        raise RuntimeError("pow(): Integers to negative integer powers are not allowed.")
    out = _Pow.apply(a, b, result, result)
    if not isinstance(b, Tensor):
        return rename_node(out, "PowBackward0", public=(0,))
    return rename_node(out, "PowBackward1" if isinstance(a, Tensor) else "PowBackward2",
                       public=(0, 1) if isinstance(a, Tensor) else (1,))


@supports_out
def maximum(input: Operand, other: Operand) -> Tensor:
    """Elementwise maximum (NaN propagates; ties split the gradient)."""
    return _binary("maximum", _Maximum, input, other)


@supports_out
def minimum(input: Operand, other: Operand) -> Tensor:
    """Elementwise minimum (NaN propagates; ties split the gradient)."""
    return _binary("minimum", _Minimum, input, other)


def atan2(input: Operand, other: Operand) -> Tensor:
    """Angle of the point ``(other, input)``, in ``[-pi, pi]``."""
    return _binary("atan2", _Atan2, input, other, float_result=True)


@supports_out
def copysign(input: Operand, other: Operand) -> Tensor:
    """``|input|`` with the sign of ``other`` (the sign bit: -0.0 is negative)."""
    return _binary("copysign", _Copysign, input, other, float_result=True)


def _floating_binary(op: str, fn_cls, input, other) -> Tensor:
    """A binary op PyTorch defines for floating results only (integer tensors raise)."""
    (a, b), _ = _operands(op, ("input", "other"), (input, other))
    result = dtypes.result_type(a, b)
    if not result.is_floating_point:
        raise NotImplementedError(f"{op}(): not implemented for integer or bool tensors "
                                  f"(got {result}); convert to a floating dtype first")
    return fn_cls.apply(a, b, result, result)


@supports_out
def logaddexp(input: Operand, other: Operand) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow."""
    return _floating_binary("logaddexp", _Logaddexp, input, other)


@supports_out
def logaddexp2(input: Operand, other: Operand) -> Tensor:
    """``log2(2**input + 2**other)`` without overflow."""
    return _floating_binary("logaddexp2", _Logaddexp2, input, other)


@supports_out
def hypot(input: Operand, other: Operand) -> Tensor:
    """``sqrt(input**2 + other**2)`` without overflow."""
    return _floating_binary("hypot", _Hypot, input, other)


# ---------------------------------------------------------------------------------------
# Bitwise ops (integer and bool tensors; no gradient)
# ---------------------------------------------------------------------------------------
def _bitwise(op: str, kernel: str, input, other, allow_bool: bool = True) -> Tensor:
    (input, other), _ = _operands(op, ("input", "other"), (input, other))
    result = dtypes.result_type(input, other)
    if result.is_floating_point or (result is dtypes.bool and not allow_bool):
        raise NotImplementedError(f"{op}(): not implemented for {result} (integer "
                                  f"{'and bool ' if allow_bool else ''}tensors only)")
    ref = input if isinstance(input, Tensor) else other
    fn = getattr(backend(ref), kernel)
    return wrap(fn(_arr(input), _arr(other), result, result), ref._device)


@supports_out
def bitwise_and(input: Operand, other: Operand) -> Tensor:
    """Bitwise AND of integer or bool tensors (logical AND for bool)."""
    return _bitwise("bitwise_and", "bitwise_and", input, other)


@supports_out
def bitwise_or(input: Operand, other: Operand) -> Tensor:
    """Bitwise OR of integer or bool tensors."""
    return _bitwise("bitwise_or", "bitwise_or", input, other)


@supports_out
def bitwise_xor(input: Operand, other: Operand) -> Tensor:
    """Bitwise XOR of integer or bool tensors."""
    return _bitwise("bitwise_xor", "bitwise_xor", input, other)


@supports_out
def bitwise_left_shift(input: Operand, other: Operand) -> Tensor:
    """``input << other``, wrapping in the result type; counts outside [0, bits) give 0."""
    return _bitwise("bitwise_left_shift", "shift_left", input, other, allow_bool=False)


@supports_out
def bitwise_right_shift(input: Operand, other: Operand) -> Tensor:
    """Arithmetic ``input >> other``; counts outside [0, bits) give the sign fill (0 or -1)."""
    return _bitwise("bitwise_right_shift", "shift_right", input, other, allow_bool=False)


# ---------------------------------------------------------------------------------------
# Composites
# ---------------------------------------------------------------------------------------
def _check_same_dtype(op: str, reference: Tensor, name: str, other) -> None:
    if isinstance(other, Tensor) and other.dtype is not reference.dtype:
        raise RuntimeError(f"{op}(): expected dtype {reference.dtype} for `{name}` but got dtype "
                           f"{other.dtype}")


def lerp(input: Tensor, end: Tensor, weight: "Tensor | float") -> Tensor:
    """``input + weight * (end - input)`` (PyTorch's two-sided formula for accuracy)."""
    check_tensor("lerp", "input", input)
    check_tensor("lerp", "end", end)
    weight = _operand("lerp", "weight", weight)
    _require_float("lerp", input)
    _check_same_dtype("lerp", input, "end", end)
    _check_same_dtype("lerp", input, "weight", weight)
    diff = sub(end, input)
    if not isinstance(weight, Tensor):
        if builtins.abs(weight) < 0.5:
            return add(input, mul(diff, weight))
        return sub(end, mul(diff, 1 - weight))
    low = add(input, mul(weight, diff))
    high = sub(end, mul(diff, sub(1, weight)))
    return compare.where(compare.lt(unary.abs(weight), 0.5), low, high)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Operand = 1) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    for name, t in (("input", input), ("tensor1", tensor1), ("tensor2", tensor2)):
        check_tensor("addcmul", name, t)
    tensor1, tensor2 = _promoted(input, tensor1, tensor2)
    scaled = tensor1 if value == 1 else mul(tensor1, _operand("addcmul", "value", value))
    return add(input, mul(scaled, tensor2))


def _promoted(input: Tensor, tensor1: Tensor, tensor2: Tensor) -> tuple:
    """``tensor1`` and ``tensor2`` in the result dtype of all three (PyTorch multiplies
    float16 factors of a float32 ``input`` in float32)."""
    result = dtypes.result_type(input, tensor1, tensor2)
    return tuple(t if t.dtype is result else t.to(result) for t in (tensor1, tensor2))


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Operand = 1) -> Tensor:
    """``input + value * tensor1 / tensor2`` (integer tensor1/tensor2 are rejected)."""
    for name, t in (("input", input), ("tensor1", tensor1), ("tensor2", tensor2)):
        check_tensor("addcdiv", name, t)
    if not tensor1.dtype.is_floating_point and not tensor2.dtype.is_floating_point:
        raise RuntimeError("addcdiv(): Integer division with addcdiv is no longer supported; "
                           "use (input + value * trunc(tensor1 / tensor2)).to(input.dtype) or "
                           "input + value * tensor1 / tensor2")
    tensor1, tensor2 = _promoted(input, tensor1, tensor2)
    scaled = tensor1 if value == 1 else mul(tensor1, _operand("addcdiv", "value", value))
    return add(input, div(scaled, tensor2))


# ---------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------
def _register() -> None:
    """Each op with the kernels its forward and backward call
    (tests/test_registry_kernels.py records them)."""
    # copy_/empty: half tensors with alpha cast to float32 and back (``_opmath_add``)
    register("add", "binary", ("add", "mul", "sum", "copy_", "empty"))
    for name in ("sub", "subtract"):
        register(name, "binary", ("sub", "mul", "neg", "sum", "add", "copy_", "empty"))
    for name in ("mul", "multiply"):
        register(name, "binary", ("mul", "sum"))
    register("true_divide", "binary", ("div", "mul", "neg", "sum"))
    register("floor_divide", "binary", ("div_floor", "full", "sum"))
    register("remainder", "binary", ("remainder", "div_floor", "mul", "neg", "sum"))
    register("fmod", "binary", ("fmod", "div_trunc", "mul", "neg", "sum"))
    register("pow", "binary", (
        "pow", "eq", "ge", "log", "logical_and", "mul", "sub", "sum", "where",
    ))
    register("maximum", "binary", ("maximum", "eq", "gt", "lt", "mul", "sum", "where"))
    register("minimum", "binary", ("minimum", "eq", "gt", "lt", "mul", "sum", "where"))
    register("atan2", "binary", ("atan2", "add", "eq", "mul", "neg", "reciprocal", "sum", "where"))
    register("copysign", "binary", ("copysign", "div", "eq", "full", "mul", "sum", "where"))
    register("logaddexp", "binary", ("logaddexp", "add", "div", "exp", "sub", "sum"))
    register("logaddexp2", "binary", ("logaddexp2", "add", "div", "exp2", "sub", "sum"))
    register("hypot", "binary", ("hypot", "div", "mul", "sum"))
    for name in ("div", "divide"):
        register(name, "binary", ("div", "div_trunc", "div_floor", "full", "mul", "neg", "sum"))
    register("lerp", "binary", ("sub", "mul", "add", "abs", "lt", "where", "neg", "sum"))
    register("addcmul", "binary", ("mul", "add", "sum"))
    register("addcdiv", "binary", ("mul", "div", "add", "neg", "sum"))
    register("bitwise_and", "binary", ("bitwise_and",), differentiable=False)
    register("bitwise_or", "binary", ("bitwise_or",), differentiable=False)
    register("bitwise_xor", "binary", ("bitwise_xor",), differentiable=False)
    register("bitwise_left_shift", "binary", ("shift_left",), differentiable=False)
    register("bitwise_right_shift", "binary", ("shift_right",), differentiable=False)


_register()
