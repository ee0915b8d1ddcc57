"""Unary elementwise ops: arithmetic and math functions of one tensor (``neg``, ``exp``,
``sqrt``, ``sin``, ``erf``, ``relu``, ``sigmoid``, ``tanh``, rounding, ``bitwise_not`` ...).

Each op validates its input, picks the result dtype (float-valued math on
integer tensors returns the default float dtype; ``abs``, ``neg``,
``sign``, ``floor`` ... keep integer dtypes) and calls one ``UNARY`` kernel
of the contract. Differentiable ops are ``Function`` subclasses whose
backward is written in framework ops (so gradients of gradients work); a
few are compositions (``log10``, ``frac``). Activations with a
``torch.nn.functional`` home (gelu, silu, softplus ...) live in
``framework.ops.activation``.
"""
from __future__ import annotations

import builtins
import math

from .. import _backends, dtypes
from .._backends import for_device
from ..autograd.function import _CLASS_NODE_TYPES as _NODE_TYPES
from ..autograd.function import Function, class_node_type, record_saved_pair
from ..autograd.grad_mode import _state as _grad_state
from ..devices import CPU
from ..tensor import Size, Tensor
from . import binary, compare
from ._pointwise import _reject_bool, _require_float, _tracked, untracked, untracked_unary
from ._util import backend, check_tensor, float_dtype_of, wrap
from .out import supports_out
from .registry import register

__all__ = [
    "neg", "negative", "abs", "absolute", "exp", "exp2", "log", "log2", "log10", "log1p",
    "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sign", "floor",
    "ceil", "round", "trunc", "frac", "reciprocal", "square", "asin", "acos", "atan", "sinh",
    "cosh", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh",
    "arctanh", "erf", "erfc", "erfinv", "bitwise_not",
]
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = (
    "neg", "negative", "abs", "absolute", "exp", "exp2", "log", "log2", "log10", "log1p",
    "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sign", "floor",
    "ceil", "round", "trunc", "frac", "reciprocal", "square", "asin", "acos", "atan", "sinh",
    "cosh", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh",
    "arctanh", "erf", "erfc", "erfinv", "bitwise_not",
)


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0
_new = object.__new__
_LOADED = _backends._loaded  # see framework.ops._pointwise._LOADED
_NEEDS_X = (True, False, False)  # needs_input_grad of a recorded unary op
_NO_EDGE = (None, 0)  # the edge of an argument that needs no gradient
_PUBLIC_X = (0,)  # next_functions shows the input's edge only


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
        if (x._requires_grad or x._grad_fn is not None or x._base is not None) and (
                _grad_state.enabled and _tracked(x)):  # not plain: then the exact test
            return cls._record(x, out_dtype, params)
        if params:
            return untracked(cls.KERNEL, x._device, x._a, out_dtype, **params)
        return untracked_unary(cls.KERNEL, x, out_dtype)

    @classmethod
    def _record(cls, x, out_dtype, params):
        """``Function.apply(x, out_dtype, params)`` for a call that records a node, built
        directly: the same kernel call, output and node (its class, ``__dict__``, edges and
        saved tensor) as ``forward`` under ``Function.apply``, without the generic packing
        and the per-output checks a fresh output needs none of
        (``tests/test_record_fast_path.py`` holds the two equal)."""
        device = x._device
        backend = _LOADED.get("numpy") if device is CPU else None  # for_device's answer
        array = getattr(backend or for_device(device), cls.KERNEL)(x._a, out_dtype, **params)
        out = _new(Tensor)  # Tensor._make(array, device), inlined
        out._a = array
        out._device = device
        out._requires_grad = False
        saved = (None, out) if cls.SAVE_OUTPUT else (x, None)
        node_x = x._grad_fn if x._base is None else x.grad_fn  # _edge(x), inlined
        edge = (node_x, x._output_nr) if node_x is not None else (x._get_accumulator(), 0)
        node = _new(_NODE_TYPES.get(cls) or class_node_type(cls))
        # Function.apply's ctx.__dict__ after forward (Node.__init__, params,
        # save_for_backward) and its own bookkeeping (edges, positions, outputs)
        node.__dict__ = {
            "fn_cls": cls, "retained": {}, "needs_input_grad": _NEEDS_X, "params": params,
            "_saved": saved,
            "_saved_versions": (0, array.storage.version) if cls.SAVE_OUTPUT
            else (x._a.storage.version, 0),
            "_edges": (edge, _NO_EDGE, _NO_EDGE),
            "_public": _PUBLIC_X if x._a.dtype.is_floating_point else (),
            "num_outputs": 1,
            "output_meta": [(Size(array.shape), array.dtype, device)],
        }
        watch = _grad_state.inplace_watch
        if watch is not None and saved[0 if saved[1] is None else 1]._a.storage is watch[0]:
            watch[1].append(node)  # Node.save_for_backward's check
        if array.dtype.is_floating_point:
            out._grad_fn = node
            out._output_nr = 0
        return out

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
    return binary.mul(g, sign(x))  # abs'(0) = 0


def _d_exp(g, x, out, p):
    return binary.mul(g, out)


def _d_exp2(g, x, out, p):
    return binary.mul(g, binary.mul(out, _LN2))


def _d_log(g, x, out, p):
    return binary.div(g, x)


def _d_log2(g, x, out, p):
    return binary.div(g, binary.mul(x, _LN2))


def _d_log1p(g, x, out, p):
    return binary.div(g, binary.add(x, 1))


def _d_expm1(g, x, out, p):
    return binary.mul(g, binary.add(out, 1))


def _d_sqrt(g, x, out, p):
    return binary.div(g, binary.mul(out, 2))


def _d_rsqrt(g, x, out, p):
    return binary.mul(g, binary.mul(binary.pow(out, 3), -0.5))


def _d_sin(g, x, out, p):
    return binary.mul(g, cos(x))


def _d_cos(g, x, out, p):
    return binary.mul(g, neg(sin(x)))


def _d_tan(g, x, out, p):
    return binary.mul(g, binary.add(square(out), 1))


def _d_tanh(g, x, out, p):
    if _grad_state.enabled:  # create_graph: one recorded node, as PyTorch's tanh_backward
        return _TanhBackward.apply(g, out)
    return _tanh_grad(g, out)


_TANH_GRAD_DTYPES = (dtypes.float32, dtypes.float64)


def _tanh_grad(g, y):
    """``g * (1 - y²)``: tanh's gradient from its output ``y``, recording nothing (grad mode
    off, or inside a forward). Two float32/float64 tensors of one dtype, shape and device take
    one ``activation_backward`` kernel (PyTorch's tanh_backward), the same three roundings as
    ``square``, ``sub`` and ``mul`` give on the CPU; anything else those three ops."""
    if (_grad_state.enabled is not True and type(g) is Tensor and type(y) is Tensor):
        a, b = g._a, y._a
        device = y._device
        if (a.dtype is b.dtype and a.dtype in _TANH_GRAD_DTYPES and a.shape == b.shape
                and (g._device is device or g._device == device)):
            kernels = _LOADED.get("numpy") if device is CPU else None  # for_device's answer
            kernels = kernels or for_device(device)
            if type(kernels) is _backends.Backend:  # not a graph capture: it records the ops
                out = _new(Tensor)  # Tensor._make, inlined
                out._a = kernels.activation_backward(a, b, "tanh", 0.0, 0.0)
                out._device = device
                out._requires_grad = False
                return out
    return binary.mul(g, binary.sub(1, square(y)))


class _TanhBackward(Function):
    """``g * (1 - y²)`` (``_tanh_grad``: the same ops, so the same bits) as one node, so that a
    double backward through tanh (``create_graph``) records one op, not three, and the next
    order differentiates it by its own formulas: ``∂/∂g = (1 - y²)`` (this op again) and
    ``∂/∂y = -2 y g``."""

    node_name = "TanhBackwardBackward0"

    @classmethod
    def apply(cls, g, y):
        """``Function.apply(g, y)``: the formula alone when nothing is recorded, the node built
        directly when one is; other arguments take the general path."""
        if not isinstance(g, Tensor) or not isinstance(y, Tensor):
            return Function.apply.__func__(cls, g, y)
        # _needs_input_grad((g, y)), inlined
        need_g = g._requires_grad or (g._grad_fn if g._base is None else g.grad_fn) is not None
        need_y = y._requires_grad or (y._grad_fn if y._base is None else y.grad_fn) is not None
        state = _grad_state
        enabled = state.enabled
        state.enabled = None  # as forward runs under Function.apply: records nothing
        try:
            out = _tanh_grad(g, y)
        finally:
            state.enabled = enabled
        if not (enabled and (need_g or need_y)):
            return out
        return record_saved_pair(_NODE_TYPES.get(cls) or class_node_type(cls), cls, g, y,
                                 need_g, need_y, out)

    @staticmethod
    def forward(ctx, g, y):
        ctx.save_for_backward(g, y)
        return _tanh_grad(g, y)

    @staticmethod
    def backward(ctx, grad):
        g, y = ctx.saved_tensors
        grad_g = _TanhBackward.apply(grad, y) if ctx.needs_input_grad[0] else None
        grad_y = binary.mul(binary.mul(grad, g), binary.mul(y, -2.0)) \
            if ctx.needs_input_grad[1] else None
        return grad_g, grad_y


def _d_sigmoid(g, x, out, p):
    return binary.mul(g, binary.mul(out, binary.sub(1, out)))


def _d_relu(g, x, out, p):
    # relu'(0) = 0; a NaN output passes g, as in PyTorch
    if (not _grad_state.enabled and g.dtype is out.dtype and tuple(g.shape) == tuple(out.shape)
            and g._device == out._device and type(backend(out)) is _backends.Backend):
        # PyTorch's threshold_backward: one kernel (no create_graph: nothing to record)
        return wrap(backend(out).activation_backward(g._a, out._a, "relu", 0.0, 0.0), out._device)
    return compare.where(compare.le(out, 0), 0, g)


def _d_zero(g, x, out, p):
    from .creation import zeros_like
    return zeros_like(g)


def _d_reciprocal(g, x, out, p):
    return binary.mul(neg(g), square(out))


def _d_square(g, x, out, p):
    return binary.mul(g, binary.mul(x, 2))


def _d_asin(g, x, out, p):
    return binary.mul(g, rsqrt(binary.sub(1, square(x))))


def _d_acos(g, x, out, p):
    return binary.mul(neg(g), rsqrt(binary.sub(1, square(x))))


def _d_atan(g, x, out, p):
    return binary.div(g, binary.add(square(x), 1))


def _d_sinh(g, x, out, p):
    return binary.mul(g, cosh(x))


def _d_cosh(g, x, out, p):
    return binary.mul(g, sinh(x))


def _d_asinh(g, x, out, p):
    return binary.mul(g, rsqrt(binary.add(square(x), 1)))


def _d_acosh(g, x, out, p):
    return binary.mul(g, rsqrt(binary.sub(square(x), 1)))


def _d_atanh(g, x, out, p):
    return binary.div(g, binary.sub(1, square(x)))


def _d_erf(g, x, out, p):
    return binary.mul(g, binary.mul(exp(neg(square(x))), _TWO_OVER_SQRT_PI))


def _d_erfc(g, x, out, p):
    return binary.mul(g, binary.mul(exp(neg(square(x))), -_TWO_OVER_SQRT_PI))


def _d_erfinv(g, x, out, p):
    return binary.mul(g, binary.mul(exp(square(out)), _SQRT_PI_OVER_TWO))


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
    return binary.div(log(input), _LN10)


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
    if type(input) is Tensor and not inplace:  # the checks below, and _Relu.apply's
        dtype = input._a.dtype
        if dtype is not dtypes.bool and (
                not (input._requires_grad or input._grad_fn is not None
                     or input._base is not None)
                or not _grad_state.enabled):
            device = input._device  # untracked_unary("relu", input, dtype), inlined
            backend = _LOADED.get("numpy") if device is CPU else None
            out = _new(Tensor)
            out._a = (backend or for_device(device)).relu(input._a, dtype)
            out._device = device
            out._requires_grad = False
            return out
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
        result = binary.div(_rounding("round", _Round, binary.mul(x, scale)), scale)
    else:
        result = binary.mul(_rounding("round", _Round, binary.div(x, scale)), scale)
    return result.to(input.dtype)


def frac(input: Tensor) -> Tensor:
    """Fractional part ``input - trunc(input)`` (keeps the sign)."""
    check_tensor("frac", "input", input)
    _require_float("frac", input)
    return binary.sub(input, trunc(input))


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


@supports_out
def bitwise_not(input: Tensor) -> Tensor:
    """``~input``: bitwise NOT of an integer tensor, logical NOT of a bool tensor."""
    check_tensor("bitwise_not", "input", input)
    if input.dtype is dtypes.bool:
        return compare.logical_not(input)
    if input.dtype.is_floating_point:
        raise NotImplementedError(f"bitwise_not(): not implemented for {input.dtype} (integer "
                                  "and bool tensors only)")
    return wrap(backend(input).bitwise_not(input._a, input.dtype), input.device)


# ---------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------
def _register() -> None:
    """Each op with the kernels its forward and backward call
    (tests/test_registry_kernels.py records them)."""
    for name in ("neg", "negative"):
        register(name, "unary", ("neg",))
    for name in ("abs", "absolute"):
        register(name, "unary", ("abs", "mul", "sign"))
    register("exp", "unary", ("exp", "mul"))
    register("exp2", "unary", ("exp2", "mul"))
    for name in ("log", "log10"):
        register(name, "unary", ("log", "div"))
    register("log2", "unary", ("log2", "div", "mul"))
    register("log1p", "unary", ("log1p", "add", "div"))
    register("expm1", "unary", ("expm1", "add", "mul"))
    register("sqrt", "unary", ("sqrt", "div", "mul"))
    register("rsqrt", "unary", ("rsqrt", "mul", "pow"))
    register("sin", "unary", ("sin", "cos", "mul"))
    register("cos", "unary", ("cos", "mul", "neg", "sin"))
    register("tan", "unary", ("tan", "add", "mul", "square"))
    register("tanh", "unary", ("tanh", "activation_backward"))
    register("sigmoid", "unary", ("sigmoid", "mul", "sub"))
    register("relu", "unary", ("relu", "activation_backward"))
    register("sign", "unary", ("sign", "full"))
    register("floor", "unary", ("floor", "full"))
    register("ceil", "unary", ("ceil", "full"))
    register("round", "unary", ("round", "div", "full", "mul"))
    register("trunc", "unary", ("trunc", "full"))
    register("reciprocal", "unary", ("reciprocal", "mul", "neg", "square"))
    register("square", "unary", ("square", "mul"))
    for name in ("asin", "arcsin"):
        register(name, "unary", ("asin", "mul", "rsqrt", "square", "sub"))
    for name in ("acos", "arccos"):
        register(name, "unary", ("acos", "mul", "neg", "rsqrt", "square", "sub"))
    for name in ("atan", "arctan"):
        register(name, "unary", ("atan", "add", "div", "square"))
    register("sinh", "unary", ("sinh", "cosh", "mul"))
    register("cosh", "unary", ("cosh", "mul", "sinh"))
    for name in ("asinh", "arcsinh"):
        register(name, "unary", ("asinh", "add", "mul", "rsqrt", "square"))
    for name in ("acosh", "arccosh"):
        register(name, "unary", ("acosh", "mul", "rsqrt", "square", "sub"))
    for name in ("atanh", "arctanh"):
        register(name, "unary", ("atanh", "div", "square", "sub"))
    register("erf", "unary", ("erf", "exp", "mul", "neg", "square"))
    register("erfc", "unary", ("erfc", "exp", "mul", "neg", "square"))
    register("erfinv", "unary", ("erfinv", "exp", "mul", "square"))
    register("frac", "unary", ("trunc", "sub", "add", "full", "neg"))
    register("bitwise_not", "unary", ("bitwise_not", "logical_not"), differentiable=False)


_register()
