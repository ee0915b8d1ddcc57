"""CPU kernels of the softmax family: softmax / log-softmax rows and their backward.

Math in float32 for the half types (float64 for float64), vectorized over
whole arrays along ``dim``.
"""
from __future__ import annotations

import numpy as np

from ..array import Array
from ._arrays import compute_dtype, nd, wrap


def _values(x: Array) -> np.ndarray:
    data = nd(x)
    target = compute_dtype(x.dtype)
    return data if data.dtype == target else data.astype(target)


def softmax(x: Array, dim: int, log: bool) -> Array:
    """Softmax (``log``: log-softmax) along ``dim``; rows of -inf give NaN like PyTorch."""
    v = _values(x)
    with np.errstate(all="ignore"):
        peak = np.max(v, axis=dim, keepdims=True, initial=-np.inf)
        shifted = v - peak
        e = np.exp(shifted)
        total = np.sum(e, axis=dim, keepdims=True)
        result = shifted - np.log(total) if log else e / total
    return wrap(result, x.dtype)


def softmax_backward(grad: Array, out: Array, dim: int, log: bool) -> Array:
    """Input gradient from the output ``out``: ``y (g - sum(g y))`` or ``g - exp(y) sum(g)``."""
    g, y = _values(grad), _values(out)
    with np.errstate(all="ignore"):
        if log:
            result = g - np.exp(y) * np.sum(g, axis=dim, keepdims=True)
        else:
            result = y * (g - np.sum(g * y, axis=dim, keepdims=True))
    return wrap(result, grad.dtype)


KERNELS = {"softmax": softmax, "softmax_backward": softmax_backward}
