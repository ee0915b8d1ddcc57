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
from ._rows import row_blocks, run_rows


def _values(x: Array) -> np.ndarray:
    data = nd(x)
    target = compute_dtype(x.dtype)
    return data if data.dtype == target else data.astype(target)


def _stat_dtype(x: Array):
    """Dtype of saved statistics: float32 for half types, else the input's dtype."""
    return x.dtype if compute_dtype(x.dtype) == x.dtype.numpy else float32


# operands at least this large (elements) are split by blocks of rows over threads. Below,
# each of the kernel's ~10 NumPy calls is too short to pay for the GIL hand-offs between two
# threads: char_transformer's (1536, 1, 64) took 210 us split in two vs 152 us on one thread
# on the 2-core VM (docs/perf.md, `char2`); a 1M-element norm's calls are ~100x longer
_SPLIT_ROWS = 1 << 20


def norm_rows(x: Array, weight, bias, eps: float, rms: bool, across: bool):
    """``(y, mean, rstd)``: ``y = (x - mean) * rstd * weight + bias`` over the row axes.

    Without ``across`` every (a, c) row is independent: the operand is seen as 2-D
    rows, and large ones are computed by blocks of rows on ``threads()`` threads, each
    by the same NumPy calls on its rows (the same bits as one thread)."""
    v = _values(x)
    w = None if weight is None else _values(weight)
    b = None if bias is None else _values(bias)
    stat = _stat_dtype(x)
    if across:
        with np.errstate(all="ignore"):
            y, mean, rstd = _normalize_across(v, w, b, eps, rms)
        return wrap(y, x.dtype), wrap(mean[0, :, 0], stat), wrap(rstd[0, :, 0], stat)
    # fresh results in their final shapes (``wrap`` takes them over), written as 2-D rows
    y, mean, rstd = (np.empty(shape, dtype=v.dtype) for shape in (v.shape, v.shape[:2],
                                                                   v.shape[:2]))
    shape = (v.shape[0] * v.shape[1], v.shape[2])  # the 2-D rows (S may be 0)
    rows, y_rows = np.ascontiguousarray(v).reshape(shape), y.reshape(shape)
    mean_rows, rstd_rows = mean.reshape(-1, 1), rstd.reshape(-1, 1)
    w, b = (_per_column(p, v.shape) for p in (w, b))

    def block(start: int, stop: int) -> None:
        part = slice(start, stop)
        _normalize_rows(rows[part], _block(w, part), _block(b, part), eps, rms, y_rows[part],
                        mean_rows[part], rstd_rows[part])

    run_rows(block, _blocks(rows.shape[0], rows.size))
    return wrap(y, x.dtype), wrap(mean, stat), wrap(rstd, stat)


def _blocks(rows: int, elements: int) -> list:
    """``row_blocks`` of the 2-D rows: one block below ``_SPLIT_ROWS`` elements without
    asking ``threads()`` (it reads the environment: a few us per call, most of a small
    norm's wrapper)."""
    if elements < _SPLIT_ROWS:
        return [(0, rows)]
    return row_blocks(rows, elements, _SPLIT_ROWS)


def _per_column(p, shape: tuple):
    """A weight or bias broadcast against (A, C, S) as an operand of the 2-D (A*C, S) rows:
    a (S,) vector as it is, anything else (e.g. per channel) broadcast to the rows' shape
    (``_block`` takes its rows)."""
    if p is None or (p.ndim == 1 and p.shape[0] == shape[2]):
        return p
    return np.broadcast_to(p, shape).reshape(shape[0] * shape[1], shape[2])


def _block(p, part: slice):
    """The operand ``p`` (None, a (S,) vector or (R, S) rows) for the rows ``part``."""
    return p[part] if p is not None and p.ndim == 2 else p


def _mean_rows(x: np.ndarray) -> np.ndarray:
    """(R, 1) means of the 2-D rows ``x``: one matrix-vector product (NumPy's reduction over
    a short last axis costs several times more)."""
    return np.matmul(x, np.full((x.shape[1], 1), 1.0 / max(x.shape[1], 1), dtype=x.dtype))


def _normalize_rows(v: np.ndarray, w, b, eps: float, rms: bool, y: np.ndarray,
                    mean: np.ndarray, rstd: np.ndarray) -> None:
    """``norm_rows`` of the 2-D rows ``v`` into ``y`` and the (R, 1) ``mean`` and ``rstd``.

    ``y`` holds the centered rows first: their squares' sums are one ``np.vecdot``
    (no squared temporary), and each later step is in place in ``y``."""
    if rms:
        mean[...] = 0
        centered = v
    else:
        np.copyto(mean, _mean_rows(v))
        centered = np.subtract(v, mean, out=y)
    var = np.vecdot(centered, centered)[:, None]
    var *= v.dtype.type(1.0 / max(v.shape[1], 1))
    var += v.dtype.type(eps)
    np.sqrt(var, out=var)
    np.divide(1.0, var, out=rstd)
    np.multiply(centered, rstd, out=y)
    if w is not None:
        y *= w
    if b is not None:
        y += b


def _channel_means(a: np.ndarray) -> np.ndarray:
    """(1, C, 1) means of the (A, C, S) array ``a`` per c over (A, S): the means of its
    (A*C) rows of S by one matrix-vector product, then of those over A (NumPy's reduction
    over axes (0, 2) of a 3-D array costs several times more)."""
    count, channels, size = a.shape
    if size == 1:
        rows = a.reshape(count, channels)
    else:
        rows = _mean_rows(np.ascontiguousarray(a).reshape(count * channels, size))
        rows = rows.reshape(count, channels)
    return np.mean(rows, axis=0).reshape(1, channels, 1)


def _normalize_across(v: np.ndarray, w, b, eps: float, rms: bool) -> tuple:
    """``(y, mean, rstd)`` of ``norm_rows`` with ``across`` (statistics per c over (A, S),
    kept as dims)."""
    if rms:
        var = _channel_means(v * v)
        mean = np.zeros_like(var)
        y = v.copy()
    else:
        mean = _channel_means(v)
        y = v - mean
        var = _channel_means(y * y)
    rstd = (1.0 / np.sqrt(var + v.dtype.type(eps))).astype(v.dtype)
    y *= rstd
    if w is not None:
        y *= w
    if b is not None:
        y += b
    return y, mean, rstd


def norm_rows_backward(grad: Array, x: Array, weight, mean: Array, rstd: Array, rms: bool,
                       across: bool):
    """``(dx, grad * xhat)`` of ``norm_rows`` (the second is None without ``weight``); without
    ``across``, on 2-D rows by blocks on ``threads()`` threads, as ``norm_rows``."""
    g, v = _values(grad), _values(x)
    w = None if weight is None else _values(weight)
    if across:
        m = nd(mean).astype(v.dtype, copy=False)[None, :, None]
        r = nd(rstd).astype(v.dtype, copy=False)[None, :, None]
        with np.errstate(all="ignore"):
            xhat = v - m
            xhat *= r
            gw = g * w if w is not None else g
            dx = xhat * _channel_means(gw * xhat)
            np.subtract(gw, dx, out=dx)
            if not rms:
                dx -= _channel_means(gw)
            dx *= r
            g_xhat = wrap(g * xhat, _stat_dtype(x)) if w is not None else None
        return wrap(dx, x.dtype), g_xhat
    shape = (v.shape[0] * v.shape[1], v.shape[2])  # the 2-D rows (S may be 0)
    g_rows = np.ascontiguousarray(g).reshape(shape)
    v_rows = np.ascontiguousarray(v).reshape(shape)
    m = nd(mean).astype(v.dtype, copy=False).reshape(-1, 1)
    r = nd(rstd).astype(v.dtype, copy=False).reshape(-1, 1)
    w = _per_column(w, v.shape)
    dx = np.empty(v.shape, dtype=v.dtype)  # fresh, final shape; written as 2-D rows
    g_xhat = np.empty(v.shape, dtype=v.dtype) if w is not None else None
    dx_rows = dx.reshape(shape)
    g_xhat_rows = None if g_xhat is None else g_xhat.reshape(shape)

    def block(start: int, stop: int) -> None:
        part = slice(start, stop)
        _normalize_rows_backward(g_rows[part], v_rows[part], _block(w, part), m[part], r[part],
                                 rms, dx_rows[part],
                                 None if g_xhat_rows is None else g_xhat_rows[part])

    run_rows(block, _blocks(v_rows.shape[0], v_rows.size))
    return wrap(dx, x.dtype), None if g_xhat is None else wrap(g_xhat, _stat_dtype(x))


def _normalize_rows_backward(g, v, w, m, r, rms: bool, dx: np.ndarray, g_xhat) -> None:
    """``norm_rows_backward`` of 2-D rows into ``dx`` (and ``g_xhat`` = grad * xhat):
    ``dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))`` with ``gw = grad * weight``.

    ``xhat`` is computed in ``g_xhat``'s memory (then multiplied by ``grad`` in place),
    and ``sum(gw * xhat)`` per row is one ``np.vecdot`` (no product temporary)."""
    xhat = g_xhat if g_xhat is not None else np.empty_like(v)
    if rms:  # the saved mean is 0
        np.multiply(v, r, out=xhat)
    else:
        np.subtract(v, m, out=xhat)
        xhat *= r
    gw = g * w if w is not None else g
    projection = np.vecdot(gw, xhat)[:, None]
    projection *= v.dtype.type(1.0 / max(v.shape[1], 1))
    np.multiply(xhat, projection, out=dx)
    if not rms:
        dx += _mean_rows(gw)
    np.subtract(gw, dx, out=dx)
    dx *= r
    if g_xhat is not None:
        g_xhat *= g


KERNELS = {
    "norm_rows": norm_rows, "norm_rows_backward": norm_rows_backward,
}
