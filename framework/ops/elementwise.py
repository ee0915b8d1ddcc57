"""Elementwise ops: arithmetic, math functions, comparisons, logical ops, where/clamp.

Every op validates its operands (tensors or Python numbers), finds the common
device, broadcasts shapes and picks the result dtype with PyTorch's promotion
rules (``framework.dtypes.result_type``), then calls one backend kernel of the
contract (``UNARY``, ``BINARY``, ``where``, ``clamp``). Float-valued math on
integer tensors (``exp``, ``sqrt``, ``div`` ...) returns the default float
dtype; ``abs``, ``neg``, ``sign``, ``floor`` ... keep integer dtypes.

Differentiable ops are ``Function`` subclasses whose backward is written in
these same ops (so gradients of gradients work); a gradient of a broadcast
operand is summed back to its shape with ``reduce.sum_to_size``. A few ops are
compositions of others (``log10``, ``frac``, ``lerp``, ``addcmul``, ``isclose``
...) and get their gradients from their parts.
"""
from __future__ import annotations

import builtins
import math
import numbers

from .. import dtypes
from ..autograd.function import Function, rename_node
from ..autograd.grad_mode import _state as _grad_state
from ..autograd.grad_mode import no_grad
from .._backends import for_device
from ..tensor import Tensor
from ._util import backend, broadcast_shapes, check_tensor, common_device, float_dtype_of, wrap
from .out import supports_out
from .registry import register

__all__ = [
    "neg", "negative", "abs", "absolute", "exp", "exp2", "log", "log2", "log10", "log1p",
    "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sign", "floor",
    "ceil", "round", "trunc", "frac", "reciprocal", "square", "add", "sub", "subtract", "mul",
    "multiply", "div", "divide", "true_divide", "floor_divide", "remainder", "fmod", "pow",
    "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "greater", "less",
    "greater_equal", "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor",
    "logical_not", "where", "clamp", "clip", "clamp_min", "clamp_max", "isnan", "isinf",
    "isfinite", "lerp", "addcmul", "addcdiv", "equal", "allclose", "isclose",
    "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsin", "arccos",
    "arctan", "arcsinh", "arccosh", "arctanh", "erf", "erfc", "erfinv", "copysign", "logaddexp",
    "logaddexp2", "hypot", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "bitwise_left_shift", "bitwise_right_shift",
]
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = (
    "neg", "negative", "abs", "absolute", "exp", "exp2", "log", "log2", "log10", "log1p",
    "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sign", "floor",
    "ceil", "round", "trunc", "frac", "reciprocal", "square", "add", "sub", "subtract", "mul",
    "multiply", "div", "divide", "true_divide", "floor_divide", "remainder", "fmod", "pow",
    "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "greater", "less",
    "greater_equal", "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor",
    "logical_not", "where", "clamp", "clip", "clamp_min", "clamp_max", "isnan", "isinf",
    "isfinite", "lerp", "addcmul", "addcdiv", "equal", "allclose", "isclose", "asin", "acos",
    "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "arcsinh",
    "arccosh", "arctanh", "erf", "erfc", "erfinv", "copysign", "logaddexp", "logaddexp2",
    "hypot", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
    "bitwise_right_shift",
)

Operand = "Tensor | bool | int | float"  # a tensor or a Python number

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0


# ---------------------------------------------------------------------------------------
# Operand handling
# ---------------------------------------------------------------------------------------
def _scalar(x):
    """``x`` as a Python bool/int/float, or None when it is not a real number."""
    if isinstance(x, (bool, int, float)):
        return x
    if type(x).__module__ == "numpy" and getattr(x, "shape", None) == () and hasattr(x, "item"):
        value = x.item()  # NumPy scalar (np.bool_ is not a numbers.Number)
        return value if isinstance(value, (bool, int, float)) else None
    if isinstance(x, numbers.Real):
        return float(x)
    return None


def _operand(op: str, name: str, x):
    """A tensor or Python number; ``TypeError`` naming the op and argument otherwise."""
    if isinstance(x, Tensor):
        return x
    value = _scalar(x)
    if value is None:
        raise TypeError(f"{op}(): argument '{name}' must be Tensor or Number, not "
                        f"{type(x).__name__}")
    return value


def _shape(x) -> tuple:
    return x._a.shape if isinstance(x, Tensor) else ()


def _on(x, device):
    """A tensor moved to ``device`` (differentiably), or a scalar unchanged."""
    if isinstance(x, Tensor) and x._device != device:
        return x.to(device)
    return x


def _tracked(t: Tensor) -> bool:
    """``t.requires_grad`` without the property calls (``grad_fn`` only matters on views)."""
    return t._requires_grad or (t._grad_fn if t._base is None else t.grad_fn) is not None


def _arr(x):
    return x._a if isinstance(x, Tensor) else x


def _operands(op: str, names: tuple, values: tuple) -> tuple:
    """Validate, put on one device and check broadcasting; returns ``(operands, device)``."""
    xs = [_operand(op, n, v) for n, v in zip(names, values)]
    if not any(isinstance(x, Tensor) for x in xs):
        from .creation import tensor
        xs[0] = tensor(xs[0])  # torch.add(2, 3) is a 0-d tensor
    device = common_device(op, *xs)
    xs = [_on(x, device) for x in xs]
    broadcast_shapes(op, *(_shape(x) for x in xs))
    return xs, device


def _first_tensor(*xs) -> Tensor:
    return next(x for x in xs if isinstance(x, Tensor))


def _reject_bool(op: str, x: Tensor, message: str = "") -> None:
    if x.dtype is dtypes.bool:
        raise RuntimeError(message or f"{op}(): not supported for bool tensors")


def _require_float(op: str, x: Tensor) -> None:
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating-point tensor, got {x.dtype}")


def _meta(x):
    """``(shape, dtype)`` of a tensor operand (what its gradient must match), None for numbers."""
    return (tuple(x._a.shape), x._a.dtype) if isinstance(x, Tensor) else None


def _grad_for(grad, meta, needed: bool):
    """``grad`` summed back to an operand's shape and cast to its dtype (None when not needed).

    ``meta`` is the operand's ``_meta`` (or the operand itself).
    """
    if isinstance(meta, Tensor):
        meta = _meta(meta)
    if not needed or meta is None or grad is None:
        return None
    shape, dtype = meta
    if tuple(grad.shape) != shape:
        from .reduce import sum_to_size
        grad = sum_to_size(grad, shape)
    if grad.dtype is not dtype:
        grad = grad.to(dtype)
    return grad


class _Saved:
    """Save a mix of tensors and numbers on ``ctx``; tensors only where ``keep`` says so."""

    @staticmethod
    def save(ctx, values, keep) -> None:
        ctx.save_for_backward(*[v if k and isinstance(v, Tensor) else None
                                for v, k in zip(values, keep)])
        ctx.consts = tuple([None if isinstance(v, Tensor) else v for v in values])

    @staticmethod
    def load(ctx) -> tuple:
        return tuple(t if t is not None else c for t, c in zip(ctx.saved_tensors, ctx.consts))


# ---------------------------------------------------------------------------------------
# Unary ops
# ---------------------------------------------------------------------------------------
class _Unary(Function):
    """Base of the unary Functions: ``KERNEL`` names the contract kernel, ``derivative``
    maps ``(grad, x, out, params)`` to the input gradient.

    Ops whose derivative is a function of the result (``exp``, ``tanh`` ...)
    save only the output, others only the input (the other is passed as
    None), so an in-place op rewriting the input (``x.exp_()``) leaves the
    saved tensor intact, as in PyTorch.
    """

    KERNEL = ""
    SAVE_OUTPUT = False

    @classmethod
    def apply(cls, x, out_dtype, params):
        """``Function.apply``, or just the kernel when nothing is recorded (the common case)."""
        if _grad_state.enabled and _tracked(x):
            return super().apply(x, out_dtype, params)
        device = x._device
        return Tensor._make(getattr(for_device(device), cls.KERNEL)(x._a, out_dtype, **params),
                            device)

    @staticmethod
    def forward(ctx, x, out_dtype, params):
        cls = ctx.fn_cls
        kernel = getattr(backend(x), cls.KERNEL)
        out = wrap(kernel(x._a, out_dtype, **params), x._device)
        if ctx.recording:
            ctx.params = params
            if cls.SAVE_OUTPUT:
                ctx.save_for_backward(None, out)
            else:
                ctx.save_for_backward(x, None)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        return ctx.fn_cls.derivative(grad, x, out, ctx.params), None, None

    @staticmethod
    def derivative(grad, x, out, params):
        raise NotImplementedError


def _unary_function(name: str, kernel: str, derivative, save_output: bool = False):
    """A ``_Unary`` subclass named like PyTorch's node (``Exp`` -> ``ExpBackward``)."""
    return type(name, (_Unary,), {"KERNEL": kernel, "SAVE_OUTPUT": save_output,
                                  "derivative": staticmethod(derivative)})


def _d_neg(g, x, out, p):
    return neg(g)


def _d_abs(g, x, out, p):
    return mul(g, sign(x))  # abs'(0) = 0


def _d_exp(g, x, out, p):
    return mul(g, out)


def _d_exp2(g, x, out, p):
    return mul(g, mul(out, _LN2))


def _d_log(g, x, out, p):
    return div(g, x)


def _d_log2(g, x, out, p):
    return div(g, mul(x, _LN2))


def _d_log1p(g, x, out, p):
    return div(g, add(x, 1))


def _d_expm1(g, x, out, p):
    return mul(g, add(out, 1))


def _d_sqrt(g, x, out, p):
    return div(g, mul(out, 2))


def _d_rsqrt(g, x, out, p):
    return mul(g, mul(pow(out, 3), -0.5))


def _d_sin(g, x, out, p):
    return mul(g, cos(x))


def _d_cos(g, x, out, p):
    return mul(g, neg(sin(x)))


def _d_tan(g, x, out, p):
    return mul(g, add(square(out), 1))


def _d_tanh(g, x, out, p):
    return mul(g, sub(1, square(out)))


def _d_sigmoid(g, x, out, p):
    return mul(g, mul(out, sub(1, out)))


def _d_relu(g, x, out, p):
    return where(le(out, 0), 0, g)  # relu'(0) = 0; a NaN output passes g, as in PyTorch


def _d_zero(g, x, out, p):
    from .creation import zeros_like
    return zeros_like(g)


def _d_reciprocal(g, x, out, p):
    return mul(neg(g), square(out))


def _d_square(g, x, out, p):
    return mul(g, mul(x, 2))


def _d_asin(g, x, out, p):
    return mul(g, rsqrt(sub(1, square(x))))


def _d_acos(g, x, out, p):
    return mul(neg(g), rsqrt(sub(1, square(x))))


def _d_atan(g, x, out, p):
    return div(g, add(square(x), 1))


def _d_sinh(g, x, out, p):
    return mul(g, cosh(x))


def _d_cosh(g, x, out, p):
    return mul(g, sinh(x))


def _d_asinh(g, x, out, p):
    return mul(g, rsqrt(add(square(x), 1)))


def _d_acosh(g, x, out, p):
    return mul(g, rsqrt(sub(square(x), 1)))


def _d_atanh(g, x, out, p):
    return div(g, sub(1, square(x)))


def _d_erf(g, x, out, p):
    return mul(g, mul(exp(neg(square(x))), _TWO_OVER_SQRT_PI))


def _d_erfc(g, x, out, p):
    return mul(g, mul(exp(neg(square(x))), -_TWO_OVER_SQRT_PI))


def _d_erfinv(g, x, out, p):
    return mul(g, mul(exp(square(out)), _SQRT_PI_OVER_TWO))


_Neg = _unary_function("Neg", "neg", _d_neg)
_Abs = _unary_function("Abs", "abs", _d_abs)
_Exp = _unary_function("Exp", "exp", _d_exp, save_output=True)
_Exp2 = _unary_function("Exp2", "exp2", _d_exp2, save_output=True)
_Log = _unary_function("Log", "log", _d_log)
_Log2 = _unary_function("Log2", "log2", _d_log2)
_Log1p = _unary_function("Log1P", "log1p", _d_log1p)
_Expm1 = _unary_function("Expm1", "expm1", _d_expm1, save_output=True)
_Sqrt = _unary_function("Sqrt", "sqrt", _d_sqrt, save_output=True)
_Rsqrt = _unary_function("Rsqrt", "rsqrt", _d_rsqrt, save_output=True)
_Sin = _unary_function("Sin", "sin", _d_sin)
_Cos = _unary_function("Cos", "cos", _d_cos)
_Tan = _unary_function("Tan", "tan", _d_tan, save_output=True)
_Tanh = _unary_function("Tanh", "tanh", _d_tanh, save_output=True)
_Sigmoid = _unary_function("Sigmoid", "sigmoid", _d_sigmoid, save_output=True)
_Relu = _unary_function("Relu", "relu", _d_relu, save_output=True)
_Sign = _unary_function("Sign", "sign", _d_zero)
_Floor = _unary_function("Floor", "floor", _d_zero)
_Ceil = _unary_function("Ceil", "ceil", _d_zero)
_Round = _unary_function("Round", "round", _d_zero)
_Trunc = _unary_function("Trunc", "trunc", _d_zero)
_Reciprocal = _unary_function("Reciprocal", "reciprocal", _d_reciprocal, save_output=True)
_Square = _unary_function("Square", "square", _d_square)
_Asin = _unary_function("Asin", "asin", _d_asin)
_Acos = _unary_function("Acos", "acos", _d_acos)
_Atan = _unary_function("Atan", "atan", _d_atan)
_Sinh = _unary_function("Sinh", "sinh", _d_sinh)
_Cosh = _unary_function("Cosh", "cosh", _d_cosh)
_Asinh = _unary_function("Asinh", "asinh", _d_asinh)
_Acosh = _unary_function("Acosh", "acosh", _d_acosh)
_Atanh = _unary_function("Atanh", "atanh", _d_atanh)
_Erf = _unary_function("Erf", "erf", _d_erf)
_Erfc = _unary_function("Erfc", "erfc", _d_erfc)
_Erfinv = _unary_function("Erfinv", "erfinv", _d_erfinv, save_output=True)


def _float_unary(op: str, fn_cls, input, **params) -> Tensor:
    """A float-valued op: integer inputs give the default float dtype."""
    check_tensor(op, "input", input)
    return fn_cls.apply(input, float_dtype_of(input.dtype), params)


@supports_out
def neg(input: Tensor) -> Tensor:
    """``-input``."""
    check_tensor("neg", "input", input)
    _reject_bool("neg", input, "neg(): Negation, the `-` operator, on a bool tensor is not "
                 "supported. If you are trying to invert a mask, use the `~` or `logical_not()` "
                 "operator instead.")
    return _Neg.apply(input, input.dtype, {})


def negative(input: Tensor) -> Tensor:
    """Alias of ``neg``."""
    return neg(input)


@supports_out
def abs(input: Tensor) -> Tensor:  # noqa: A001 - PyTorch's name
    """``|input|`` (the gradient at 0 is 0)."""
    check_tensor("abs", "input", input)
    _reject_bool("abs", input)
    return _Abs.apply(input, input.dtype, {})


def absolute(input: Tensor) -> Tensor:
    """Alias of ``abs``."""
    return abs(input)


@supports_out
def exp(input: Tensor) -> Tensor:
    """``e ** input``."""
    return _float_unary("exp", _Exp, input)


def exp2(input: Tensor) -> Tensor:
    """``2 ** input``."""
    return _float_unary("exp2", _Exp2, input)


@supports_out
def log(input: Tensor) -> Tensor:
    """Natural logarithm."""
    return _float_unary("log", _Log, input)


def log2(input: Tensor) -> Tensor:
    """Base-2 logarithm."""
    return _float_unary("log2", _Log2, input)


def log10(input: Tensor) -> Tensor:
    """Base-10 logarithm (``log(input) / ln 10``)."""
    check_tensor("log10", "input", input)
    return div(log(input), _LN10)


def log1p(input: Tensor) -> Tensor:
    """``log(1 + input)``, accurate for small ``input``."""
    return _float_unary("log1p", _Log1p, input)


def expm1(input: Tensor) -> Tensor:
    """``exp(input) - 1``, accurate for small ``input``."""
    return _float_unary("expm1", _Expm1, input)


@supports_out
def sqrt(input: Tensor) -> Tensor:
    """Square root."""
    return _float_unary("sqrt", _Sqrt, input)


def rsqrt(input: Tensor) -> Tensor:
    """``1 / sqrt(input)``."""
    return _float_unary("rsqrt", _Rsqrt, input)


@supports_out
def sin(input: Tensor) -> Tensor:
    """Sine."""
    return _float_unary("sin", _Sin, input)


@supports_out
def cos(input: Tensor) -> Tensor:
    """Cosine."""
    return _float_unary("cos", _Cos, input)


@supports_out
def tan(input: Tensor) -> Tensor:
    """Tangent."""
    return _float_unary("tan", _Tan, input)


@supports_out
def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return _float_unary("tanh", _Tanh, input)


@supports_out
def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-input))``."""
    return _float_unary("sigmoid", _Sigmoid, input)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)`` (NaN passes through; the gradient at 0 is 0)."""
    check_tensor("relu", "input", input)
    _reject_bool("relu", input, "relu(): Boolean inputs not supported for relu")
    if inplace:
        return input.relu_()
    return _Relu.apply(input, input.dtype, {})


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element (0 for NaN, like PyTorch)."""
    check_tensor("sign", "input", input)
    if input.dtype is dtypes.bool:
        return input.clone()
    return _Sign.apply(input, input.dtype, {})


def _rounding(op: str, fn_cls, input) -> Tensor:
    check_tensor(op, "input", input)
    _reject_bool(op, input)
    return fn_cls.apply(input, input.dtype, {})


def floor(input: Tensor) -> Tensor:
    """Largest integer not above each element (integer tensors are copied)."""
    return _rounding("floor", _Floor, input)


def ceil(input: Tensor) -> Tensor:
    """Smallest integer not below each element."""
    return _rounding("ceil", _Ceil, input)


def trunc(input: Tensor) -> Tensor:
    """Round toward zero."""
    return _rounding("trunc", _Trunc, input)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    """Round half to even; with ``decimals``, to that many decimal places."""
    if not isinstance(decimals, int) or isinstance(decimals, bool):
        raise TypeError(f"round(): argument 'decimals' must be int, not {type(decimals).__name__}")
    if decimals == 0:
        return _rounding("round", _Round, input)
    check_tensor("round", "input", input)
    _require_float("round", input)
    scale = 10.0 ** builtins.abs(decimals)
    # Half types scale in float32 like PyTorch (0.8501 * 10 must not round to 8.5 first).
    x = input.to(dtypes.float32) if input.dtype.itemsize < 4 else input
    if decimals > 0:
        result = div(_rounding("round", _Round, mul(x, scale)), scale)
    else:
        result = mul(_rounding("round", _Round, div(x, scale)), scale)
    return result.to(input.dtype)


def frac(input: Tensor) -> Tensor:
    """Fractional part ``input - trunc(input)`` (keeps the sign)."""
    check_tensor("frac", "input", input)
    _require_float("frac", input)
    return sub(input, trunc(input))


def reciprocal(input: Tensor) -> Tensor:
    """``1 / input``."""
    return _float_unary("reciprocal", _Reciprocal, input)


@supports_out
def asin(input: Tensor) -> Tensor:
    """Arcsine (NaN outside [-1, 1])."""
    return _float_unary("asin", _Asin, input)


@supports_out
def acos(input: Tensor) -> Tensor:
    """Arccosine (NaN outside [-1, 1])."""
    return _float_unary("acos", _Acos, input)


@supports_out
def atan(input: Tensor) -> Tensor:
    """Arctangent."""
    return _float_unary("atan", _Atan, input)


@supports_out
def sinh(input: Tensor) -> Tensor:
    """Hyperbolic sine."""
    return _float_unary("sinh", _Sinh, input)


@supports_out
def cosh(input: Tensor) -> Tensor:
    """Hyperbolic cosine."""
    return _float_unary("cosh", _Cosh, input)


@supports_out
def asinh(input: Tensor) -> Tensor:
    """Inverse hyperbolic sine."""
    return _float_unary("asinh", _Asinh, input)


@supports_out
def acosh(input: Tensor) -> Tensor:
    """Inverse hyperbolic cosine (NaN below 1)."""
    return _float_unary("acosh", _Acosh, input)


@supports_out
def atanh(input: Tensor) -> Tensor:
    """Inverse hyperbolic tangent (+-inf at +-1, NaN beyond)."""
    return _float_unary("atanh", _Atanh, input)


@supports_out
def arcsin(input: Tensor) -> Tensor:
    """Alias of ``asin``."""
    return asin(input)


@supports_out
def arccos(input: Tensor) -> Tensor:
    """Alias of ``acos``."""
    return acos(input)


@supports_out
def arctan(input: Tensor) -> Tensor:
    """Alias of ``atan``."""
    return atan(input)


@supports_out
def arcsinh(input: Tensor) -> Tensor:
    """Alias of ``asinh``."""
    return asinh(input)


@supports_out
def arccosh(input: Tensor) -> Tensor:
    """Alias of ``acosh``."""
    return acosh(input)


@supports_out
def arctanh(input: Tensor) -> Tensor:
    """Alias of ``atanh``."""
    return atanh(input)


@supports_out
def erf(input: Tensor) -> Tensor:
    """Error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``."""
    return _float_unary("erf", _Erf, input)


@supports_out
def erfc(input: Tensor) -> Tensor:
    """Complementary error function ``1 - erf(input)``, accurate in the tail."""
    return _float_unary("erfc", _Erfc, input)


@supports_out
def erfinv(input: Tensor) -> Tensor:
    """Inverse error function (+-inf at +-1, NaN outside [-1, 1])."""
    return _float_unary("erfinv", _Erfinv, input)


def square(input: Tensor) -> Tensor:
    """``input * input`` (bool tensors give int64, like PyTorch)."""
    check_tensor("square", "input", input)
    if input.dtype is dtypes.bool:
        input = input.to(dtypes.int64)
    return _Square.apply(input, input.dtype, {})


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
        if _grad_state.enabled and (
                # _tracked(a) or _tracked(b), inlined: this is the hottest path of the CPU backend
                (a_is_tensor and (a._requires_grad or (
                    a._grad_fn if a._base is None else a.grad_fn) is not None))
                or (b_is_tensor and (b._requires_grad or (
                    b._grad_fn if b._base is None else b.grad_fn) is not None))):
            return super().apply(a, b, compute_dtype, out_dtype)
        device = a._device if a_is_tensor else b._device
        kernel = getattr(for_device(device), cls.KERNEL)
        out = object.__new__(Tensor)  # Tensor._make(array, device), inlined
        out._a = kernel(a._a if a_is_tensor else a, b._a if b_is_tensor else b, compute_dtype,
                        out_dtype)
        out._device = device
        out._requires_grad = False
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
        return _grad_for(ga, meta_a, need_a), _grad_for(gb, meta_b, need_b), None, None

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
    return g, (neg(g) if need_b else None)


def _dd_mul(g, a, b, out, need_a, need_b):
    return (mul(g, b) if need_a else None), (mul(g, a) if need_b else None)


def _dd_div(g, a, b, out, need_a, need_b):
    ga = div(g, b) if need_a else None
    gb = div(mul(neg(g), a), mul(b, b)) if need_b else None
    return ga, gb


def _dd_zero(g, a, b, out, need_a, need_b):
    from .creation import zeros_like
    zero = zeros_like(g)
    return zero, zero


def _dd_remainder(g, a, b, out, need_a, need_b):
    gb = mul(neg(g), div(a, b, rounding_mode="floor")) if need_b else None
    return g, gb


def _dd_fmod(g, a, b, out, need_a, need_b):
    gb = mul(neg(g), div(a, b, rounding_mode="trunc")) if need_b else None
    return g, gb


def _dd_pow(g, a, b, out, need_a, need_b):
    ga = gb = None
    if need_a:
        if isinstance(b, Tensor):
            ga = where(eq(b, 0), 0.0, mul(g, mul(b, pow(a, sub(b, 1)))))
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
        factor = mul(out, log(a))
        return where(logical_and(eq(a, 0), ge(b, 0)), 0.0, factor)
    log_a = math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan)
    factor = mul(out, log_a)
    return where(ge(b, 0), 0.0, factor) if a == 0 else factor


def _dd_extreme(is_max: bool):
    def derivatives(g, a, b, out, need_a, need_b):
        half = where(eq(a, b), mul(g, 0.5), g)  # ties split the gradient equally
        a_loses = lt(a, b) if is_max else gt(a, b)
        b_loses = gt(a, b) if is_max else lt(a, b)
        ga = where(a_loses, 0.0, half) if need_a else None
        gb = where(b_loses, 0.0, half) if need_b else None
        return ga, gb
    return derivatives


def _dd_atan2(g, a, b, out, need_a, need_b):
    # PyTorch's gradient is 0 at a = b = 0 (where 1 / (a^2 + b^2) is inf)
    denominator = add(mul(a, a), mul(b, b))
    recip = where(eq(denominator, 0), 0.0, reciprocal(denominator))
    ga = mul(mul(g, b), recip) if need_a else None
    gb = mul(mul(g, neg(a)), recip) if need_b else None
    return ga, gb


def _dd_copysign(g, a, b, out, need_a, need_b):
    # d/da = out / a (the sign factor), 0 at a == 0 as in PyTorch; b gets no gradient
    ga = None
    if need_a:
        ga = mul(g, where(eq(a, 0), 0.0, div(out, where(eq(a, 0), 1.0, a))))
    return ga, (_dd_zero(g, a, b, out, False, True)[1] if need_b else None)


def _dd_logaddexp(base2: bool):
    def derivatives(g, a, b, out, need_a, need_b):
        power = exp2 if base2 else exp
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


def _fast_result_type(op: str, a, b) -> "dtypes.dtype | None":
    """The result dtype of ``a (op) b`` in the common cases that need no conversion, else None.

    The common cases: two tensors of one dtype on one device (broadcasting is
    checked here), or a floating tensor with a Python int/float. Anything else
    (None) goes through ``_operands`` and ``dtypes.result_type``, which give
    the same answer for these cases, more slowly.
    """
    a_is_tensor = isinstance(a, Tensor)
    if a_is_tensor and isinstance(b, Tensor):
        array_a, array_b = a._a, b._a
        dtype = array_a.dtype
        if dtype is not array_b.dtype or not (a._device is b._device or a._device == b._device):
            return None
        if array_a.shape != array_b.shape:
            broadcast_shapes(op, array_a.shape, array_b.shape)
        return dtype
    tensor, number = (a, b) if a_is_tensor else (b, a)
    kind = type(number)
    if (kind is float or kind is int) and isinstance(tensor, Tensor):
        dtype = tensor._a.dtype
        return dtype if dtype.is_floating_point else None
    return None


def _binary(op: str, fn_cls, input, other, float_result: bool = False):
    """Validate, promote and apply a binary Function; ``float_result`` for true division."""
    if (type(input) is Tensor and type(other) is Tensor and input._a.dtype is other._a.dtype
            and input._device is other._device and input._a.shape == other._a.shape):
        result = input._a.dtype  # the commonest case of _fast_result_type, inlined
    else:
        result = _fast_result_type(op, input, other)
        if result is None:
            (input, other), _ = _operands(op, ("input", "other"), (input, other))
            result = dtypes.result_type(input, other)
    if float_result:
        result = float_dtype_of(result)
    return fn_cls.apply(input, other, result, result)


def _scaled(op: str, input, other, alpha):
    """``other * alpha`` for add/sub, with PyTorch's check on integral tensors."""
    if alpha == 1:
        return other
    value = _scalar(alpha)
    if value is None:
        raise TypeError(f"{op}(): argument 'alpha' must be Number, not {type(alpha).__name__}")
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


@supports_out
def add(input: Operand, other: Operand, *, alpha: Operand = 1) -> Tensor:
    """``input + alpha * other`` (broadcast, promoted)."""
    if alpha == 1:  # what _scaled does first, without the call
        return _binary("add", _Add, input, other)
    return _binary("add", _Add, input, _scaled("add", input, other, alpha))


@supports_out
def sub(input: Operand, other: Operand, *, alpha: Operand = 1) -> Tensor:
    """``input - alpha * other``; bool operands are rejected like PyTorch."""
    if alpha == 1:
        result = _fast_result_type("sub", input, other)
        if result is not None and result is not dtypes.bool:
            return _Sub.apply(input, other, result, result)
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
    return _binary("mul", _Mul, input, other)


@supports_out
def multiply(input: Operand, other: Operand) -> Tensor:
    """Alias of ``mul``."""
    return mul(input, other)


@supports_out
def div(input: Operand, other: Operand, *, rounding_mode: str | None = None) -> Tensor:
    """``input / other``: true division, or rounded (``'trunc'``, ``'floor'``)."""
    if rounding_mode is None:
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
# Comparisons and logical ops (bool results, no gradient)
# ---------------------------------------------------------------------------------------
def _predicate(op: str, kernel: str, input, other) -> Tensor:
    compute = _fast_result_type(op, input, other)
    if compute is None:
        (input, other), _ = _operands(op, ("input", "other"), (input, other))
        compute = dtypes.result_type(input, other)
    ref = input if isinstance(input, Tensor) else other
    fn = getattr(backend(ref), kernel)
    return wrap(fn(_arr(input), _arr(other), compute, dtypes.bool), ref._device)


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
        return eq(abs(input), math.inf)


def isfinite(input: Tensor) -> Tensor:
    """True where ``input`` is neither infinite nor NaN."""
    check_tensor("isfinite", "input", input)
    if not input.dtype.is_floating_point:
        return _constant_bool(input, True)
    with no_grad():
        return eq(sub(input, input), 0)  # inf - inf and NaN - NaN are NaN


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


@supports_out
def bitwise_not(input: Tensor) -> Tensor:
    """``~input``: bitwise NOT of an integer tensor, logical NOT of a bool tensor."""
    check_tensor("bitwise_not", "input", input)
    if input.dtype is dtypes.bool:
        return logical_not(input)
    if input.dtype.is_floating_point:
        raise NotImplementedError(f"bitwise_not(): not implemented for {input.dtype} (integer "
                                  "and bool tensors only)")
    return wrap(backend(input).bitwise_not(input._a, input.dtype), input.device)


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


@supports_out
def where(condition: Tensor, input: Operand, other: Operand) -> Tensor:
    """``input`` where ``condition`` else ``other`` (broadcast; numbers allowed)."""
    check_tensor("where", "condition", condition)
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
    return where(lt(abs(weight), 0.5), low, high)


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
        allowed = add(abs(mul(b, rtol)), atol)
        actual = abs(sub(a, b))
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
    same = {
        "neg": "neg", "negative": "neg", "abs": "abs", "absolute": "abs", "exp": "exp",
        "exp2": "exp2", "log": "log", "log2": "log2", "log1p": "log1p", "expm1": "expm1",
        "sqrt": "sqrt", "rsqrt": "rsqrt", "sin": "sin", "cos": "cos", "tan": "tan",
        "tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu", "sign": "sign", "floor": "floor", "ceil": "ceil", "round": "round",
        "trunc": "trunc", "reciprocal": "reciprocal", "square": "square", "add": "add",
        "sub": "sub", "subtract": "sub", "mul": "mul", "multiply": "mul", "true_divide": "div",
        "floor_divide": "div_floor", "remainder": "remainder", "fmod": "fmod", "pow": "pow",
        "maximum": "maximum", "minimum": "minimum", "atan2": "atan2", "asin": "asin",
        "acos": "acos", "atan": "atan", "sinh": "sinh", "cosh": "cosh", "asinh": "asinh",
        "acosh": "acosh", "atanh": "atanh", "arcsin": "asin", "arccos": "acos",
        "arctan": "atan", "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh",
        "erf": "erf", "erfc": "erfc", "erfinv": "erfinv", "copysign": "copysign",
        "logaddexp": "logaddexp", "logaddexp2": "logaddexp2", "hypot": "hypot",
    }
    for name, kernel in same.items():
        register(name, "elementwise", (kernel,))
    register("log10", "elementwise", ("log", "mul"))
    register("frac", "elementwise", ("trunc", "sub"))
    for name in ("div", "divide"):
        register(name, "elementwise", ("div", "div_trunc", "div_floor"))
    for name in ("where",):
        register(name, "elementwise", ("where",))
    for name in ("clamp", "clip", "clamp_min", "clamp_max"):
        register(name, "elementwise", ("clamp", "maximum", "minimum"))
    register("lerp", "elementwise", ("sub", "mul", "add", "abs", "lt", "where"))
    register("addcmul", "elementwise", ("mul", "add"))
    register("addcdiv", "elementwise", ("mul", "div", "add"))
    predicates = {
        "eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge", "greater": "gt",
        "less": "lt", "greater_equal": "ge", "less_equal": "le", "not_equal": "ne",
        "logical_and": "logical_and", "logical_or": "logical_or", "logical_xor": "logical_xor",
        "logical_not": "logical_not", "isnan": "isnan",
    }
    for name, kernel in predicates.items():
        register(name, "elementwise", (kernel,), differentiable=False)
    bitwise = {
        "bitwise_and": "bitwise_and", "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor",
        "bitwise_left_shift": "shift_left", "bitwise_right_shift": "shift_right",
    }
    for name, kernel in bitwise.items():
        register(name, "elementwise", (kernel,), differentiable=False)
    register("bitwise_not", "elementwise", ("bitwise_not", "logical_not"), differentiable=False)
    register("isinf", "elementwise", ("abs", "eq", "full"), differentiable=False)
    register("isfinite", "elementwise", ("sub", "eq", "full"), differentiable=False)
    register("isclose", "elementwise", ("eq", "sub", "abs", "mul", "add", "le", "logical_or"),
             differentiable=False)
    register("allclose", "elementwise", ("eq", "sub", "abs", "le", "all"), differentiable=False)
    register("equal", "elementwise", ("eq", "all"), differentiable=False)


_register()
