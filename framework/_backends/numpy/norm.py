"""CPU kernels of the norm family: the row-statistics normalization.

Every kernel computes in float32 for the half types (float64 for float64),
vectorized over whole arrays. ``norm_rows`` sees its operand as a 3-D array
``(A, C, S)``: statistics are taken per ``(a, c)`` over ``S`` (layer, group,
instance and RMS norm), or per ``c`` over ``(A, S)`` with ``across`` (batch
norm).
"""
from __future__ import annotations

import numpy as np

from ...dtypes import float32
from ..array import Array
from ._arrays import compute_dtype, nd, wrap


def _values(x: Array) -> np.ndarray:
    data = nd(x)
    target = compute_dtype(x.dtype)
    return data if data.dtype == target else data.astype(target)


def _stat_dtype(x: Array):
    """Dtype of saved statistics: float32 for half types, else the input's dtype."""
    return x.dtype if compute_dtype(x.dtype) == x.dtype.numpy else float32


def _stats_view(stat: np.ndarray, across: bool) -> np.ndarray:
    """Statistics of shape (A, C) or (C,) viewed to broadcast against (A, C, S)."""
    return stat[None, :, None] if across else stat[:, :, None]


def _row_mean(x: np.ndarray, across: bool) -> np.ndarray:
    """Mean of (A, C, S) ``x`` over the row axes, kept as dims. Over S alone as a
    matrix-vector product (NumPy's reduction over a short last axis costs several times
    more)."""
    if across:
        return np.mean(x, axis=(0, 2), keepdims=True)
    return np.matmul(x, np.full((x.shape[2], 1), 1.0 / max(x.shape[2], 1), dtype=x.dtype))


def norm_rows(x: Array, weight, bias, eps: float, rms: bool, across: bool):
    """``(y, mean, rstd)``: ``y = (x - mean) * rstd * weight + bias`` over the row axes."""
    v = _values(x)
    with np.errstate(all="ignore"):
        if rms:
            centered = v
            var = _row_mean(v * v, across)
            mean = np.zeros_like(var)
        else:
            mean = _row_mean(v, across)
            centered = v - mean
            var = _row_mean(centered * centered, across)
        rstd = (1.0 / np.sqrt(var + v.dtype.type(eps))).astype(v.dtype)
        y = centered * rstd
        if weight is not None:
            y *= _values(weight)
        if bias is not None:
            y += _values(bias)
    stat = _stat_dtype(x)
    return wrap(y, x.dtype), wrap(_squeeze(mean, across), stat), wrap(_squeeze(rstd, across), stat)


def _squeeze(stat: np.ndarray, across: bool) -> np.ndarray:
    """A kept-dims statistic as (A, C), or (C,) with ``across``."""
    return stat[0, :, 0] if across else stat[:, :, 0]


def norm_rows_backward(grad: Array, x: Array, weight, mean: Array, rstd: Array, rms: bool,
                       across: bool):
    """``(dx, grad * xhat)`` of ``norm_rows`` (the second is None without ``weight``)."""
    g, v = _values(grad), _values(x)
    r = _stats_view(nd(rstd).astype(v.dtype, copy=False), across)
    with np.errstate(all="ignore"):
        xhat = v - _stats_view(nd(mean).astype(v.dtype, copy=False), across)
        xhat *= r
        gw = g * _values(weight) if weight is not None else g
        dx = xhat * _row_mean(gw * xhat, across)
        np.subtract(gw, dx, out=dx)
        if not rms:
            dx -= _row_mean(gw, across)
        dx *= r
        g_xhat = wrap(g * xhat, _stat_dtype(x)) if weight is not None else None
    return wrap(dx, x.dtype), g_xhat


KERNELS = {
    "norm_rows": norm_rows, "norm_rows_backward": norm_rows_backward,
}
