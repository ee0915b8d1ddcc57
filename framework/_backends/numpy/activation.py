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
from .elementwise import _COMPUTE, _ERFC_P, _erf, _finish, _select_zero, _value

_SQRT1_2 = 0.70710678118654752440
_SQRT_2_OVER_PI = 0.79788456080286535588
_INV_SQRT_2PI = 0.39894228040143267794
_GELU_KAPPA = 0.044715


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _gelu(v):
    if v.dtype == np.float32:
        return _cdf_pass("gelu", v)
    return np.asarray(0.5 * v.astype(np.float64) * (1.0 + _erf(v * _SQRT1_2))).astype(v.dtype)


# -- the standard normal CDF in float32: gelu, its derivative -------------------------------
# Numerical Recipes' erfcc (elementwise._ERFC_P) in float32 arithmetic, a block at a time.
_CDF_BLOCK = 32768  # elements per block: the block's float32 temporaries stay in L2
_F32 = np.float32
# P(t)'s coefficients, the last one with log(1/2) added: h = t exp(-a^2 + P(t)) is erfc(a) / 2
_CDF_P = tuple(_F32(c) for c in _ERFC_P[:-1]) + (_F32(_ERFC_P[-1] + np.log(0.5)),)
_CDF_T = _F32(0.5 * _SQRT1_2)  # t = 1 / (1 + |x| _CDF_T)


def _normal_cdf32(x: np.ndarray) -> np.ndarray:
    """Phi(x) = erfc(-x / sqrt 2) / 2 of a float32 array, in float32 (``_cdf_pass``)."""
    return _cdf_pass("cdf", x)


def _cdf_pass(kind: str, x: np.ndarray, grad: "np.ndarray | None" = None,
              cdf: "np.ndarray | None" = None) -> np.ndarray:
    """A float32 pass built on Phi(x), by ``kind``: ``"cdf"`` Phi(x), ``"gelu"`` x Phi(x),
    ``"gelu_and_cdf"`` both (a tuple), ``"gelu_backward"`` grad (Phi(x) + x phi(x)) (``grad``
    of ``x``'s shape; ``cdf``, when given, is Phi(x) already computed, of ``x``'s shape).

    ``h = erfc(a) / 2`` with ``a = |x| / sqrt 2`` is Phi(-|x|), Numerical Recipes' erfcc:
    ``t exp(-a^2 + P(t))``, ``t = 1 / (1 + a / 2)``; then ``Phi(x) = h + [x > 0] (1 - 2h)``,
    with no branch or select (NumPy's masked passes cost 20x a plain one). Relative error
    of Phi against float64 (measured on 3e5 normal values times 4): below 1.3e-6 for
    x > -5, 7.3e-6 down to -13 (Phi < 1e-37 below), from the float32 rounding of ``a^2``
    in the exponent. NaN stays NaN, Phi(-inf) = 0, Phi(inf) = 1. Blocks of ``_CDF_BLOCK``
    elements (each pass of a block stays in cache), on the calling thread: a block is ~35
    short NumPy calls, and on two threads each call hands the GIL over (the 262k-element
    gelu of the bench's transformer: 1.0 ms on one thread, 1.3-1.4 ms split in two)."""
    operands = [a for a in (x, grad, cdf) if a is not None]
    operands = [a if a.flags.c_contiguous else a.copy() for a in operands]
    outputs = [np.empty_like(operands[0]) for _ in range(2 if kind == "gelu_and_cdf" else 1)]
    flat = [a.reshape(-1) for a in (*operands, *outputs)]
    _cdf_blocks(kind, cdf is not None, *flat)
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _cdf_blocks(kind: str, kept: bool, x: np.ndarray, *rest: np.ndarray) -> None:
    """``_cdf_pass`` on flat arrays: ``rest`` is ``(out,)``, ``(grad, out)``, with ``kept``
    ``(grad, cdf, out)``, or for ``"gelu_and_cdf"`` ``(gelu, cdf)``."""
    if kind == "gelu_and_cdf":
        gelu_out, out, grad = rest[0], rest[1], None
    else:
        out, grad = rest[-1], (rest[0] if len(rest) > 1 else None)
    size = min(x.size, _CDF_BLOCK)
    a, t, positive = np.empty(size, _F32), np.empty(size, _F32), np.empty(size, bool)
    with np.errstate(all="ignore"):  # -inf * Phi(-inf) = -inf * 0: NaN, as torch's
        for start in range(0, x.size, _CDF_BLOCK):
            xs, h = x[start:start + _CDF_BLOCK], out[start:start + _CDF_BLOCK]
            n = xs.size
            if kept:
                np.copyto(h, rest[1][start:start + n])
            else:
                _cdf_block(xs, h, a[:n], t[:n], positive[:n])
            if kind == "gelu":
                h *= xs
            elif kind == "gelu_and_cdf":
                np.multiply(h, xs, out=gelu_out[start:start + n])
            elif kind == "gelu_backward":
                _add_x_pdf(xs, h, a[:n])
                h *= grad[start:start + n]


def _cdf_block(x, h, a, t, positive) -> None:
    """``h = Phi(x)`` for one block; ``a``, ``t``, ``positive`` are scratch of its size."""
    np.abs(x, out=t)
    t *= _CDF_T
    t += _F32(1.0)
    np.reciprocal(t, out=t)
    np.multiply(t, _CDF_P[0], out=h)  # P(t), Horner
    h += _CDF_P[1]
    for coefficient in _CDF_P[2:]:
        h *= t
        h += coefficient
    np.square(x, out=a)  # a^2 = x^2 / 2
    a *= _F32(0.5)
    h -= a
    np.exp(h, out=h)
    h *= t  # h = Phi(-|x|)
    np.greater(x, 0, out=positive)
    np.multiply(h, _F32(-2.0), out=a)  # a = [x > 0] (1 - 2h)
    a += _F32(1.0)
    a *= positive
    h += a


def _add_x_pdf(x, h, a) -> None:
    """``h += x phi(x)`` for one block (``a``: scratch)."""
    np.square(x, out=a)
    a *= _F32(-0.5)
    np.exp(a, out=a)
    a *= _F32(_INV_SQRT_2PI)
    a *= x
    h += a


# Phi(x) of recent float32 gelu forwards, kept for the backward of the same unchanged input
# (a cache, as conv's ``_KEPT_COLUMNS``): the input's Storage (weakly: an entry goes with its
# input) -> {view key: (storage version, Phi)}. The backward takes its entry out (a second
# backward computes Phi again); an entry of an older storage version is not used.
_KEPT_CDF: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_KEPT_CDF_MAX = 1 << 23  # elements kept in all (32 MiB): beyond, the backward computes Phi


def _cdf_key(x: Array) -> tuple:
    return (tuple(x.shape), tuple(x.strides), x.offset, x.dtype)


def _keep_cdf(x: Array, cdf: np.ndarray) -> None:
    """Keep ``cdf`` = Phi(x) for ``activation_backward`` of the same ``x``, if there is room."""
    held = sum(entry[1].size for entries in list(_KEPT_CDF.values())
               for entry in entries.values())
    if held + cdf.size <= _KEPT_CDF_MAX:
        _KEPT_CDF.setdefault(x.storage, {})[_cdf_key(x)] = (x.storage.version, cdf)


def _take_cdf(x: Array) -> "np.ndarray | None":
    """The Phi(x) a gelu forward kept for ``x`` (unchanged since), taken out; else None."""
    entries = _KEPT_CDF.get(x.storage)
    entry = entries.pop(_cdf_key(x), None) if entries is not None else None
    if entry is None or entry[0] != x.storage.version:
        return None
    return entry[1]


def gelu(x: Array, out_dtype) -> Array:
    """Elementwise ``gelu`` of ``x`` as ``out_dtype`` (float32 math for halves). In float32
    math, Phi(x) is kept for the backward of the same unchanged input (``_KEPT_CDF``)."""
    v = _value(x, _COMPUTE[out_dtype])
    if v.dtype != np.float32:
        return wrap(quiet(_gelu, v), out_dtype)
    result, cdf = _cdf_pass("gelu_and_cdf", v)
    _keep_cdf(x, cdf)
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
            cdf = _normal_cdf32(v)
        else:
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
        v, g = _values(x), _values(grad)
        if g.dtype == np.float32:  # one blocked pass (``_cdf_pass``), Phi kept or computed
            return wrap(_cdf_pass("gelu_backward", v, g, _take_cdf(x)), grad.dtype)
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
