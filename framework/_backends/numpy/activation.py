"""CPU kernels of the activations: gelu/gelu_tanh/silu/softplus (unary kernels like the
elementwise ones), and one forward and one backward kernel for the parameterized activations,
op by name (the backward one also serves gelu, gelu_tanh, silu and softplus).

Half types compute in float32, float64 in float64 (``compute_dtype``); every
op is vectorized NumPy over the whole array. ``p0``/``p1`` are the op's
scalar parameters (see ``framework._backends.contract.ACTIVATION``).
"""
from __future__ import annotations

import weakref

import numpy as np

from ..array import Array
from ._arrays import _UNSIGNED, compute_dtype, nd, quiet, select, wrap
from ._parallel import flat_blocks, split_count
from ._normal32 import normal_pass
from .elementwise import _COMPUTE, _erf, _finish, _select_zero, _value

_SQRT1_2 = 0.70710678118654752440
_SQRT_2_OVER_PI = 0.79788456080286535588
_INV_SQRT_2PI = 0.39894228040143267794
_GELU_KAPPA = 0.044715


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _gelu(v):
    if v.dtype == np.float32:
        return normal_pass("gelu", v)
    return np.asarray(0.5 * v.astype(np.float64) * (1.0 + _erf(v * _SQRT1_2))).astype(v.dtype)


# D = Phi(x) + x phi(x), gelu's derivative, of recent float32 gelu forwards, kept for the
# backward of the same unchanged input (a cache, as conv's ``_KEPT_COLUMNS``): the input's
# Storage (weakly: an entry goes with its input) -> {view key: (storage version, D)}. The
# backward takes its entry out (a second backward computes D again) and multiplies the
# gradient into it in place; an entry of an older storage version is not used.
_KEPT_DERIVATIVE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_KEPT_DERIVATIVE_MAX = 1 << 23  # elements kept in all (32 MiB): beyond, the backward computes D


def _derivative_key(x: Array) -> tuple:
    return (tuple(x.shape), tuple(x.strides), x.offset, x.dtype)


def _keep_derivative(x: Array, derivative: np.ndarray) -> None:
    """Keep ``derivative`` = D(x) for ``activation_backward`` of the same ``x``, if there is
    room."""
    held = sum(entry[1].size for entries in list(_KEPT_DERIVATIVE.values())
               for entry in entries.values())
    if held + derivative.size <= _KEPT_DERIVATIVE_MAX:
        key = _derivative_key(x)
        _KEPT_DERIVATIVE.setdefault(x.storage, {})[key] = (x.storage.version, derivative)


def _take_derivative(x: Array) -> "np.ndarray | None":
    """The D(x) a gelu forward kept for ``x`` (unchanged since), taken out; else None."""
    entries = _KEPT_DERIVATIVE.get(x.storage)
    entry = entries.pop(_derivative_key(x), None) if entries is not None else None
    if entry is None or entry[0] != x.storage.version:
        return None
    return entry[1]


def gelu(x: Array, out_dtype) -> Array:
    """Elementwise ``gelu`` of ``x`` as ``out_dtype`` (float32 math for halves). In float32
    math, the derivative D(x) is kept for the backward of the same unchanged input
    (``_KEPT_DERIVATIVE``): the forward computes it from the same exponential, 3 passes."""
    v = _value(x, _COMPUTE[out_dtype])
    if v.dtype != np.float32:
        return wrap(quiet(_gelu, v), out_dtype)
    result, derivative = normal_pass("gelu_and_derivative", v)
    _keep_derivative(x, derivative)
    return wrap(result, out_dtype)


def _gelu_tanh(v):
    inner = _SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)
    return 0.5 * v * (1.0 + np.tanh(inner))


def _silu(v):
    return v * _sigmoid(v)


def _make_unary(name: str, fn):
    """A unary kernel ``name(x, out_dtype)``, computed as the elementwise ones are."""
    def kernel(x: Array, out_dtype) -> Array:
        v = _value(x, _COMPUTE[out_dtype])
        return wrap(quiet(fn, v), out_dtype)
    kernel.__name__ = name
    kernel.__doc__ = f"Elementwise ``{name}`` of ``x`` as ``out_dtype`` (float32 math for halves)."
    return kernel


def softplus(x: Array, out_dtype, beta: float = 1.0, threshold: float = 20.0) -> Array:
    """``log1p(exp(beta * x)) / beta``, or ``x`` where ``beta * x > threshold``."""
    v = _value(x, _COMPUTE[out_dtype])
    with np.errstate(all="ignore"):
        scaled = v * beta
        soft = np.log1p(np.exp(scaled)) / beta
        return _finish(select(scaled > threshold, v, soft, soft.dtype), out_dtype)


def _hardtanh(v, lo, hi):
    """Clamp to [lo, hi]; NaN passes through."""
    return np.where(v < lo, lo, np.where(v > hi, hi, v))


def _forward(op: str, v, p0: float, p1: float):
    if op == "leaky_relu":
        return np.where(v > 0, v, v * p0)
    if op == "elu":  # p0 = alpha, p1 = scale (selu: both fixed)
        return np.where(v > 0, v * p1, np.expm1(np.minimum(v, 0)) * (p0 * p1))
    if op == "celu":
        return np.where(v > 0, v, np.expm1(np.minimum(v, 0) / p0) * p0)
    if op == "hardtanh":
        return _hardtanh(v, p0, p1)
    if op == "hardsigmoid":
        return _hardtanh(v + 3, 0, 6) / 6
    if op == "hardswish":
        return v * _hardtanh(v + 3, 0, 6) / 6
    if op == "mish":
        return v * np.tanh(np.logaddexp(v, 0))
    if op == "softsign":
        return v / (1 + np.abs(v))
    if op == "tanhshrink":
        return v - np.tanh(v)
    if op == "logsigmoid":
        return np.minimum(v, 0) - np.log1p(np.exp(-np.abs(v)))
    raise ValueError(f"unknown activation {op!r}")


def _derivative(op: str, v, p0: float, p1: float):
    if op == "leaky_relu":
        return np.where(v > 0, 1, p0)
    if op == "elu":
        return np.where(v > 0, p1, np.exp(np.minimum(v, 0)) * (p0 * p1))
    if op == "celu":
        return np.where(v > 0, 1, np.exp(np.minimum(v, 0) / p0))
    if op == "hardtanh":
        return ((v > p0) & (v < p1)).astype(v.dtype)
    if op == "hardsigmoid":
        return ((v > -3) & (v < 3)).astype(v.dtype) / 6
    if op == "hardswish":
        return np.where(v <= -3, 0, np.where(v < 3, v / 3 + 0.5, 1))
    if op == "mish":
        t = np.tanh(np.logaddexp(v, 0))
        return t + v * _sigmoid(v) * (1 - t * t)
    if op == "softsign":
        return 1 / np.square(1 + np.abs(v))
    if op == "tanhshrink":
        return np.square(np.tanh(v))
    if op == "logsigmoid":
        return _sigmoid(-v)
    if op == "tanh":  # v is tanh's output: 1 - tanh(u)^2
        return 1 - v * v
    if op == "gelu":  # Phi(x) + x phi(x)
        if v.dtype == np.float32:
            return normal_pass("gelu_derivative", v)
        cdf = 0.5 * (1.0 + _erf(v * _SQRT1_2)).astype(v.dtype)
        return cdf + v * (np.exp(-0.5 * v * v) * _INV_SQRT_2PI)
    if op == "gelu_tanh":  # PyTorch's derivative of the tanh approximation
        # 0.5 (1 + t) + 0.5 x (1 - t^2) u' with t = tanh(u), written with sigmoids of 2u:
        # 0.5 (1 + t) = s, 0.5 (1 - t) = c, 1 - t^2 = 4 s c. No cancellation in the tails,
        # where 1 + t and 1 - t^2 lose every digit in float32.
        u2 = 2 * _SQRT_2_OVER_PI * (v + _GELU_KAPPA * v * v * v)
        s, c = _sigmoid(u2), _sigmoid(-u2)
        inner_derivative = _SQRT_2_OVER_PI * (1 + 3 * _GELU_KAPPA * v * v)
        return s + 2 * v * s * c * inner_derivative
    if op == "silu":
        s = _sigmoid(v)
        return s * (1 + v * (1 - s))
    if op == "softplus":  # p0 = beta, p1 = threshold
        z = v * p0
        return np.where(z > p1, 1, _sigmoid(z))
    raise ValueError(f"unknown activation {op!r}")


def _values(x: Array) -> np.ndarray:
    return nd(x).astype(compute_dtype(x.dtype), copy=False)


def activation(x: Array, op: str, p0: float, p1: float) -> Array:
    """Elementwise activation ``op`` of ``x`` (result in ``x``'s dtype)."""
    v = _values(x)
    with np.errstate(all="ignore"):
        result = _forward(op, v, v.dtype.type(p0), v.dtype.type(p1))
    return wrap(np.asarray(result, dtype=v.dtype), x.dtype)


def activation_backward(grad: Array, x: Array, op: str, p0: float, p1: float) -> Array:
    """``grad * op'(x)`` (result in ``grad``'s dtype); relu selects instead of multiplying."""
    if op == "relu":
        return _relu_backward(grad, x)
    if op == "gelu" and compute_dtype(x.dtype) == np.float32 and grad.shape == x.shape:
        g = _values(grad)
        if g.dtype == np.float32:  # D kept by the forward, or one blocked pass computing it
            derivative = _take_derivative(x)
            if derivative is None:
                return wrap(normal_pass("gelu_backward", _values(x), g), grad.dtype)
            return wrap(np.multiply(derivative, g, out=derivative), grad.dtype)
    if op == "tanh":  # x is tanh's output (the common case first: no p0/p1, no errstate)
        v = _values(x)
        result = quiet(_tanh_derivative_times, _values(grad), v)
        return wrap(np.asarray(result, dtype=v.dtype), grad.dtype)
    v = _values(x)
    with np.errstate(all="ignore"):
        result = _values(grad) * _derivative(op, v, v.dtype.type(p0), v.dtype.type(p1))
    return wrap(np.asarray(result, dtype=v.dtype), grad.dtype)


def _tanh_derivative_times(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``g * (1 - y²)`` (``_derivative``'s tanh, times ``g``; written out: the same ufuncs
    without the walk through ``_derivative``'s names)."""
    return g * (1 - y * y)


def _relu_backward(grad: Array, x: Array) -> Array:
    """``grad`` where ``x > 0`` (or NaN), else 0 (PyTorch's ``threshold_backward``: a select,
    so an inf or NaN ``grad`` at ``x <= 0`` gives 0)."""
    g, v = nd(grad), nd(x)
    count = split_count(g.size)
    unsigned = _UNSIGNED.get(g.itemsize)
    if count > 1 and unsigned is not None and g.dtype.kind in "fiu" and g.shape == v.shape \
            and g.flags.c_contiguous and v.flags.c_contiguous:
        # a large pass over threads: the bits of g times (not x <= 0), as below
        out = np.empty(g.shape, g.dtype)
        flat_blocks(_relu_backward_into, (g.view(unsigned), v, out.view(unsigned)), count)
        return wrap(out, grad.dtype)
    with np.errstate(invalid="ignore"):
        at_or_below = np.less_equal(v, 0)
    zero = np.zeros((), g.dtype)
    masked = _select_zero(at_or_below, zero, g)  # the bits of g times the mask (large arrays)
    if masked is None:
        masked = np.where(at_or_below, zero, g)
    return wrap(masked, grad.dtype)


def _relu_backward_into(bits: np.ndarray, v: np.ndarray, out: np.ndarray) -> None:
    """``out = bits * (not v <= 0)`` (unsigned views of the gradient and the result): the
    gradient's bits where ``v > 0`` or NaN, +0 elsewhere (``_select_zero``'s product)."""
    with np.errstate(invalid="ignore"):
        keep = np.less_equal(v, 0)
    np.logical_not(keep, out=keep)
    np.multiply(bits, keep, out=out)


# the NumPy math of the unary activations, by kernel name (also what compiled plans call)
UNARY_FNS = {"gelu": _gelu, "gelu_tanh": _gelu_tanh, "silu": _silu}
KERNELS = {name: _make_unary(name, fn) for name, fn in UNARY_FNS.items()}
KERNELS.update({"gelu": gelu, "softplus": softplus, "activation": activation,
                "activation_backward": activation_backward})
