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


def _axes(across: bool) -> tuple:
    return (0, 2) if across else (2,)


def _stats_view(stat: np.ndarray, across: bool) -> np.ndarray:
    """Statistics of shape (A, C) or (C,) viewed to broadcast against (A, C, S)."""
    return stat[None, :, None] if across else stat[:, :, None]


def norm_rows(x: Array, weight, bias, eps: float, rms: bool, across: bool):
    """``(y, mean, rstd)``: ``y = (x - mean) * rstd * weight + bias`` over the row axes."""
    v = _values(x)
    axes = _axes(across)
    with np.errstate(all="ignore"):
        if rms:
            centered = v
            var = np.mean(v * v, axis=axes)
            mean = np.zeros_like(var)
        else:
            mean = np.mean(v, axis=axes)
            centered = v - _stats_view(mean, across)
            var = np.mean(centered * centered, axis=axes)
        rstd = (1.0 / np.sqrt(var + v.dtype.type(eps))).astype(v.dtype)
        y = centered * _stats_view(rstd, across)
        if weight is not None:
            y = y * _values(weight)
        if bias is not None:
            y = y + _values(bias)
    stat = _stat_dtype(x)
    return wrap(y, x.dtype), wrap(mean, stat), wrap(rstd, stat)


def norm_rows_backward(grad: Array, x: Array, weight, mean: Array, rstd: Array, rms: bool,
                       across: bool):
    """``(dx, grad * xhat)`` of ``norm_rows`` (the second is None without ``weight``)."""
    g, v = _values(grad), _values(x)
    axes = _axes(across)
    r = _stats_view(nd(rstd).astype(v.dtype), across)
    with np.errstate(all="ignore"):
        xhat = (v - _stats_view(nd(mean).astype(v.dtype), across)) * r
        gw = g * _values(weight) if weight is not None else g
        inner = np.mean(gw * xhat, axis=axes, keepdims=True)
        dx = gw - xhat * inner
        if not rms:
            dx = dx - np.mean(gw, axis=axes, keepdims=True)
        dx = dx * r
        g_xhat = wrap(g * xhat, _stat_dtype(x)) if weight is not None else None
    return wrap(dx, x.dtype), g_xhat


KERNELS = {
    "norm_rows": norm_rows, "norm_rows_backward": norm_rows_backward,
}
