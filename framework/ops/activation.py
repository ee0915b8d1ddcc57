"""Parameterized activations: leaky_relu, elu, selu, celu, hardtanh, relu6, hardsigmoid,
hardswish, mish, softsign, tanhshrink, logsigmoid (fused kernels), glu and prelu (composed),
and the in-place forms of ``torch.nn.functional``.

The fused ops share two contract kernels (``ACTIVATION``): ``activation(x, op, p0, p1)``
and ``activation_backward(grad, x, op, p0, p1)``. The backward kernel runs when no graph
is being built; with ``create_graph=True`` the same derivative is evaluated in
framework ops (``_DERIVATIVES``), so second derivatives work.

``gelu`` (with ``approximate=``), ``silu`` and ``softplus`` have a forward kernel each
(``gelu``, ``gelu_tanh``, ``silu``, ``softplus``: unary kernels of the
activation family, strided like the elementwise ones); their backward is
``activation_backward`` with the same op name (softplus: p0 = beta, p1 =
threshold), or framework ops under ``create_graph=True``. ``relu``, ``sigmoid`` and ``tanh`` are math functions of the
``torch`` namespace and stay unary ops (``framework/ops/unary.py``).
"""
from __future__ import annotations

import math
import numbers

from ..autograd.composite import one_node
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from . import _pointwise, binary, compare, unary
from ._util import backend, check_tensor, normalize_dim, wrap
from .inplace import apply_inplace
from .inplace import relu_ as _tensor_relu_
from .registry import register

__all__ = ["selu", "selu_", "celu", "celu_", "prelu", "relu_", "hardshrink", "rrelu",
           "rrelu_"]
FUNCTIONAL = ["gelu", "silu", "softplus", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu",
              "selu_", "celu", "celu_", "hardtanh", "hardtanh_", "relu6", "hardsigmoid",
              "hardswish", "mish", "softsign", "tanhshrink", "logsigmoid", "glu", "prelu", "relu_"]
TENSOR_METHODS = ("prelu", "hardshrink")  # t.name(...) calls name(t, ...)

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_BETA = math.sqrt(2.0 / math.pi)
_GELU_KAPPA = 0.044715


# gelu / silu / softplus: one kernel each; the framework-ops derivative (create_graph) -----------------------
def _d_gelu(g, x, out, p):
    # cdf(x) = gelu(x) / x (0.5 at 0; the safe denominator keeps where's other branch finite)
    at_zero = compare.eq(x, 0)
    cdf = compare.where(at_zero, 0.5, binary.div(gelu(x), compare.where(at_zero, 1.0, x)))
    pdf = binary.mul(unary.exp(binary.mul(unary.square(x), -0.5)), _INV_SQRT_2PI)
    return binary.mul(g, binary.add(cdf, binary.mul(x, pdf)))


def _d_gelu_tanh(g, x, out, p):
    x_sq = unary.square(x)
    inner = binary.mul(binary.add(x, binary.mul(binary.mul(x_sq, x), _GELU_KAPPA)), _GELU_BETA)
    t = unary.tanh(inner)
    left_derivative = binary.mul(binary.add(t, 1), 0.5)
    right_derivative = binary.sub(1, unary.square(t))
    inner_derivative = binary.mul(binary.add(binary.mul(x_sq, 3 * _GELU_KAPPA), 1), _GELU_BETA)
    outer = binary.mul(binary.mul(binary.mul(x, 0.5), right_derivative), inner_derivative)
    return binary.mul(g, binary.add(left_derivative, outer))


def _d_silu(g, x, out, p):
    s = unary.sigmoid(x)
    return binary.mul(g, binary.mul(s, binary.add(binary.mul(x, binary.sub(1, s)), 1)))


def _d_softplus(g, x, out, p):
    z = binary.mul(x, p["beta"])
    return compare.where(compare.gt(z, p["threshold"]), g, binary.mul(g, unary.sigmoid(z)))


class _FusedBackwardUnary(unary._Unary):
    """A unary activation whose backward is one ``activation_backward`` kernel (op
    ``KERNEL``), or ``derivative`` in framework ops when the gradient itself is recorded
    (``create_graph=True``), so second derivatives work."""

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        cls = ctx.fn_cls
        if is_grad_enabled():
            return cls.derivative(grad, x, out, ctx.params), None, None
        p0, p1 = ctx.params.get("beta", 0.0), ctx.params.get("threshold", 0.0)
        dx = backend(x).activation_backward(grad._a, x._a, cls.KERNEL, p0, p1)
        return wrap(dx, x._device), None, None


def _fused_unary(name: str, kernel: str, derivative, node_name: str):
    """A ``_FusedBackwardUnary`` for ``kernel`` with PyTorch's node name."""
    return type(name, (_FusedBackwardUnary,), {"KERNEL": kernel, "SAVE_OUTPUT": False,
                                               "node_name": node_name,
                                               "derivative": staticmethod(derivative)})


_Gelu = _fused_unary("Gelu", "gelu", _d_gelu, "GeluBackward0")
_GeluTanh = _fused_unary("GeluTanh", "gelu_tanh", _d_gelu_tanh, "GeluBackward0")
_Silu = _fused_unary("Silu", "silu", _d_silu, "SiluBackward0")
_Softplus = _fused_unary("Softplus", "softplus", _d_softplus, "SoftplusBackward0")


def _float_only_unary(op: str, fn_cls, input, **params) -> Tensor:
    """An activation defined for floating tensors only (like PyTorch's gelu/silu/softplus)."""
    check_tensor(op, "input", input)
    _pointwise._require_float(op, input)
    return fn_cls.apply(input, input.dtype, params)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU: ``x * Phi(x)`` (``approximate='tanh'``: the tanh approximation)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu(): approximate argument must be either none or tanh, "
                           f"got {approximate!r}")
    return _float_only_unary("gelu", _Gelu if approximate == "none" else _GeluTanh, input)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """SiLU (swish): ``x * sigmoid(x)``."""
    if inplace:  # the backward reads the input before the write (as PyTorch's silu_)
        check_tensor("silu", "input", input)
        _pointwise._require_float("silu", input)
        return apply_inplace("silu_", input, lambda old: _Silu.apply(old, old.dtype, {}))
    return _float_only_unary("silu", _Silu, input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``."""
    for name, value in (("beta", beta), ("threshold", threshold)):
        if _pointwise._scalar(value) is None or isinstance(value, bool):
            raise TypeError(f"softplus(): argument '{name}' must be a number, not "
                            f"{type(value).__name__}")
    return _float_only_unary("softplus", _Softplus, input, beta=float(beta),
                             threshold=float(threshold))


# The derivatives in framework ops (used when a graph of the gradient is built) ---------------
def _d_leaky_relu(g, x, p0, p1):
    return compare.where(x > 0, g, g * p0)


def _d_elu(g, x, p0, p1):
    return compare.where(x > 0, g * p1, g * (unary.exp(compare.clamp_max(x, 0.0)) * (p0 * p1)))


def _d_celu(g, x, p0, p1):
    return compare.where(x > 0, g, g * unary.exp(compare.clamp_max(x, 0.0) / p0))


def _d_hardtanh(g, x, p0, p1):
    return compare.where((x > p0) & (x < p1), g, 0.0)


def _d_hardsigmoid(g, x, p0, p1):
    return compare.where((x > -3.0) & (x < 3.0), g / 6.0, 0.0)


def _d_hardswish(g, x, p0, p1):
    return compare.where(x <= -3.0, 0.0, compare.where(x < 3.0, g * (x / 3.0 + 0.5), g))


def _d_mish(g, x, p0, p1):
    t = unary.tanh(softplus(x))
    return g * (t + x * unary.sigmoid(x) * (1.0 - t * t))


def _d_softsign(g, x, p0, p1):
    return g / unary.square(unary.abs(x) + 1.0)


def _d_tanhshrink(g, x, p0, p1):
    return g * unary.square(unary.tanh(x))


def _d_logsigmoid(g, x, p0, p1):
    return g * unary.sigmoid(-x)


_DERIVATIVES = {
    "leaky_relu": _d_leaky_relu, "elu": _d_elu, "celu": _d_celu, "hardtanh": _d_hardtanh,
    "hardsigmoid": _d_hardsigmoid, "hardswish": _d_hardswish, "mish": _d_mish,
    "softsign": _d_softsign, "tanhshrink": _d_tanhshrink, "logsigmoid": _d_logsigmoid,
}

# PyTorch's graph node per kernel op (softsign and tanhshrink are compositions there)
_NODE_NAMES = {
    "leaky_relu": "LeakyReluBackward0", "elu": "EluBackward0", "celu": "CeluBackward0",
    "hardtanh": "HardtanhBackward0", "hardsigmoid": "HardsigmoidBackward0",
    "hardswish": "HardswishBackward0", "mish": "MishBackward0", "softsign": "DivBackward0",
    "tanhshrink": "SubBackward0", "logsigmoid": "LogSigmoidBackward0",
}


class _Activation(Function):
    """``activation(x, op, p0, p1)``; backward by the fused kernel, or in framework ops
    when the gradient itself is recorded (``create_graph=True``)."""

    @staticmethod
    def forward(ctx, x, op, p0, p1):
        ctx.params = (op, p0, p1)
        ctx.node_name = _NODE_NAMES[op]
        ctx.save_for_backward(x)
        return wrap(backend(x).activation(x._a, op, p0, p1), x._device)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        op, p0, p1 = ctx.params
        if is_grad_enabled():
            return _DERIVATIVES[op](grad, x, p0, p1), None, None, None
        dx = backend(x).activation_backward(grad._a, x._a, op, p0, p1)
        return wrap(dx, x._device), None, None, None


# Argument checks -----------------------------------------------------------------------------
def _number(op: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}(): argument '{name}' must be Number, not {type(value).__name__}")
    return float(value)


def _check_inplace_flag(op: str, inplace) -> None:
    if not isinstance(inplace, bool):
        raise TypeError(f"{op}(): argument 'inplace' must be bool, not {type(inplace).__name__}")


def _apply(op: str, kernel_op: str, input, p0: float = 0.0, p1: float = 0.0,
           inplace: bool = False) -> Tensor:
    """Validate ``input`` (a floating tensor) and run the fused activation, in place if asked."""
    check_tensor(op, "input", input)
    _check_inplace_flag(op, inplace)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating point input, got {input.dtype}")
    if inplace:
        return apply_inplace(op + "_", input, lambda old: _Activation.apply(old, kernel_op, p0, p1))
    return _Activation.apply(input, kernel_op, p0, p1)


# Public ops ---------------------------------------------------------------------------------
def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where ``x > 0``, else ``negative_slope * x``."""
    slope = _number("leaky_relu", "negative_slope", negative_slope)
    return _apply("leaky_relu", "leaky_relu", input, slope, inplace=inplace)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu``."""
    return leaky_relu(input, negative_slope, inplace=True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    alpha = _number("elu", "alpha", alpha)
    return _apply("elu", "elu", input, alpha, 1.0, inplace=inplace)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``elu``."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the SELU constants (alpha ~ 1.6733, scale ~ 1.0507)."""
    return _apply("selu", "elu", input, _SELU_ALPHA, _SELU_SCALE, inplace=inplace)


def selu_(input: Tensor) -> Tensor:
    """In-place ``selu``."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where ``x > 0``, else ``alpha * (exp(x / alpha) - 1)``."""
    alpha = _number("celu", "alpha", alpha)
    if alpha == 0:
        raise RuntimeError("celu(): ZeroDivisionError: alpha must not be 0")
    return _apply("celu", "celu", input, alpha, inplace=inplace)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu``."""
    return celu(input, alpha, inplace=True)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """``clamp(x, min_val, max_val)``; the gradient is 0 outside the open interval."""
    lo = _number("hardtanh", "min_val", min_val)
    hi = _number("hardtanh", "max_val", max_val)
    if lo > hi:
        raise ValueError("hardtanh(): min_val cannot be greater than max_val")
    return _apply("hardtanh", "hardtanh", input, lo, hi, inplace=inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place ``hardtanh``."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``hardtanh(x, 0, 6)``."""
    return _apply("relu6", "hardtanh", input, 0.0, 6.0, inplace=inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``."""
    return _apply("hardsigmoid", "hardsigmoid", input, inplace=inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``."""
    return _apply("hardswish", "hardswish", input, inplace=inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    return _apply("mish", "mish", input, inplace=inplace)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return _apply("softsign", "softsign", input)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    return _apply("tanhshrink", "tanhshrink", input)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))``, computed as ``min(x, 0) - log1p(exp(-|x|))`` (no overflow)."""
    return _apply("logsigmoid", "logsigmoid", input)


def relu_(input: Tensor) -> Tensor:
    """In-place ``relu``."""
    check_tensor("relu_", "input", input)
    return _tensor_relu_(input)


@one_node("GluBackward0")
def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` with ``a``, ``b`` the halves of ``input`` along
    ``dim`` (composed of ``sigmoid`` and ``mul``)."""
    check_tensor("glu", "input", input)
    if input.ndim == 0:
        raise RuntimeError("glu(): glu does not support scalars because halving size must be even")
    d = normalize_dim("glu", dim, input.ndim)
    size = input.shape[d]
    if size % 2:
        raise RuntimeError(f"glu(): Halving dimension must be even, but dimension {d} is size "
                           f"{size}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"glu(): expected a floating point input, got {input.dtype}")
    half = size // 2
    return input.narrow(d, 0, half) * unary.sigmoid(input.narrow(d, half, half))


@one_node("PreluKernelBackward0")
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where ``x > 0``, else ``weight * x``; ``weight`` has 1 element or one per channel
    (dim 1), broadcast over the other dims (composed of ``where`` and ``mul``)."""
    check_tensor("prelu", "input", input)
    check_tensor("prelu", "weight", weight)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"prelu(): expected a floating point input, got {input.dtype}")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu(): Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    count = weight.numel()
    if count != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1  # PyTorch: 0-d/1-d have 1 channel
        if count != channels:
            raise RuntimeError(f"prelu(): Mismatch of parameter numbers and input channel size. "
                               f"Found parameter numbers = {count} and channel size = "
                               f"{channels}.")
        weight = weight.reshape((-1,) + (1,) * (input.ndim - 2))
    elif weight.ndim == 1:
        weight = weight.reshape(())
    return compare.where(input > 0, input, weight * input)


for _name in ("leaky_relu", "elu", "selu", "celu", "hardtanh", "relu6", "hardsigmoid",
              "hardswish", "mish", "softsign", "tanhshrink", "logsigmoid"):
    register(_name, "activation", ("activation", "activation_backward"))
for _name in ("leaky_relu_", "elu_", "selu_", "celu_", "hardtanh_"):
    register(_name, "activation", ("activation", "activation_backward", "copy_", "empty"))
del _name
register("gelu", "activation", ("gelu", "gelu_tanh", "activation_backward"))
register("silu", "activation", ("silu", "activation_backward"))
register("softplus", "activation", ("softplus", "activation_backward"))
register("relu_", "activation", ("relu", "copy_", "activation_backward"))
register("glu", "activation", ("sigmoid", "mul", "add", "copy_", "full", "sub"))
register("prelu", "activation", ("gt", "mul", "where", "add", "sum"))


# --- compositions: softmin and the shrinkage/threshold functions --------------------------------
def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-input)`` along ``dim``."""
    from .softmax import softmax
    check_tensor("softmin", "input", input)
    return softmax(unary.neg(input), dim, dtype=dtype)


def _threshold_name(args, kwargs):
    inplace = kwargs.get("inplace", args[3] if len(args) > 3 else False)
    return None if inplace else "ThresholdBackward0"


@one_node(_threshold_name)
def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``input`` where it is greater than ``threshold``, else ``value`` (NaN stays NaN)."""
    check_tensor("threshold", "input", input)
    if inplace:
        return apply_inplace("threshold_", input,
                             lambda old: compare.where(old <= threshold, value, old))
    return compare.where(input <= threshold, value, input)


_threshold = threshold  # for threshold_, whose argument ``threshold`` hides the function


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``input`` where ``|input| > lambd``, else 0 (NaN stays NaN)."""
    check_tensor("hardshrink", "input", input)
    return compare.where(unary.abs(input) <= lambd, 0.0, input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``input - lambd`` above ``lambd``, ``input + lambd`` below ``-lambd``, else 0."""
    check_tensor("softshrink", "input", input)
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    # PyTorch's comparisons: NaN is not within [-lambd, lambd], so it stays NaN
    return compare.where(unary.abs(input) <= lambd, 0.0, input - unary.sign(input) * lambd)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place ``threshold``."""
    return _threshold(input, threshold, value, inplace=True)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: in training each non-positive element is multiplied by its own
    slope drawn from U(``lower``, ``upper``) (the gradient uses the same slopes); in eval the
    slope is their mean, ``(lower + upper) / 2``."""
    op = "rrelu"
    check_tensor(op, "input", input)
    _check_inplace_flag(op, inplace)
    lower, upper = _number(op, "lower", lower), _number(op, "upper", upper)
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating point input, got {input.dtype}")

    def compute(x: Tensor) -> Tensor:
        from ..autograd.grad_mode import no_grad
        from .creation import rand_like
        with no_grad():
            slopes = rand_like(x) * (upper - lower) + lower
        return compare.where(x > 0, x, x * slopes)
    return apply_inplace("rrelu_", input, compute) if inplace else compute(input)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    """In-place ``rrelu``."""
    return rrelu(input, lower, upper, training, inplace=True)


FUNCTIONAL += ["softmin", "threshold", "hardshrink", "softshrink", "threshold_", "rrelu",
               "rrelu_"]
register("softmin", "activation", ("neg", "softmax", "softmax_backward"))
register("threshold", "activation", ("le", "where"))
register("threshold_", "activation", ("le", "where", "copy_"))
register("rrelu", "activation", ("activation", "activation_backward", "rand", "mul", "add", "gt",
                                 "where"))
register("rrelu_", "activation", ("activation", "activation_backward", "rand", "mul", "add", "gt",
                                  "where", "copy_", "empty"))
register("hardshrink", "activation", ("abs", "le", "where"))
register("softshrink", "activation", ("abs", "le", "sign", "mul", "sub", "where", "add", "full",
                                     "neg"))
