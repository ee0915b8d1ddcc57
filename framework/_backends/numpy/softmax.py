"""CPU kernels of the softmax family: softmax / log-softmax rows and their backward.

Math in float32 for the half types (float64 for float64), vectorized over
whole arrays along ``dim``.
"""
from __future__ import annotations

import numpy as np

from ..array import Array
from ._arrays import compute_dtype, nd, quiet, wrap


def _values(x: Array) -> np.ndarray:
    data = nd(x)
    target = compute_dtype(x.dtype)
    return data if data.dtype == target else data.astype(target)


def softmax(x: Array, dim: int, log: bool) -> Array:
    """Softmax (``log``: log-softmax) along ``dim``; rows of -inf give NaN like PyTorch."""
    return wrap(quiet(_softmax_rows, _values(x), dim, log), x.dtype)


def _softmax_rows(v: np.ndarray, dim: int, log: bool) -> np.ndarray:
    """``softmax``'s math on the NumPy array ``v`` (warnings silenced by the caller): the
    ufuncs' own reductions (what ``np.max`` and ``np.sum`` call, without their Python
    wrappers: the same bits) and the last step in place over a fresh temporary."""
    peak = np.maximum.reduce(v, axis=dim, keepdims=True, initial=-np.inf)
    shifted = np.subtract(v, peak)
    if log:
        total = np.add.reduce(np.exp(shifted), axis=dim, keepdims=True)
        return np.subtract(shifted, np.log(total), out=shifted)
    e = np.exp(shifted, out=shifted)
    total = np.add.reduce(e, axis=dim, keepdims=True)
    return np.divide(e, total, out=e)


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
