"""CPU scan kernels: cumsum, cumprod, logcumsumexp, cummax/cummin along one dim (NumPy).

Half types accumulate in float32; integers and bools in int64 (the op layer
picks ``out_dtype``). Outputs are new contiguous arrays of the input's shape.
"""
from __future__ import annotations

import numpy as np

from ...dtypes import int64
from ..array import Array
from ._arrays import compute_dtype, nd, wrap


def _values(x: Array, dtype) -> np.ndarray:
    target = compute_dtype(dtype) if dtype.is_floating_point else np.dtype(np.int64)
    data = nd(x)
    return data if data.dtype == target else data.astype(target)


def cumsum(x: Array, dim: int, out_dtype) -> Array:
    """Inclusive cumulative sum along ``dim`` in ``out_dtype`` (float32 accumulation for halves)."""
    return wrap(np.cumsum(_values(x, out_dtype), axis=dim), out_dtype)


def cumprod(x: Array, dim: int, out_dtype) -> Array:
    """Inclusive cumulative product along ``dim`` in ``out_dtype``."""
    return wrap(np.cumprod(_values(x, out_dtype), axis=dim), out_dtype)


def logcumsumexp(x: Array, dim: int) -> Array:
    """``log(cumsum(exp(x)))`` along ``dim``: ``np.logaddexp.accumulate`` (stable)."""
    with np.errstate(invalid="ignore"):
        return wrap(np.logaddexp.accumulate(_values(x, x.dtype), axis=dim), x.dtype)


def _scan_extreme(x: Array, dim: int, is_max: bool) -> tuple:
    """Running extreme and its latest index: the index of each new record (a NaN or a value
    reaching the running extreme of the values before it), carried forward by a running max."""
    data = np.moveaxis(_values(x, x.dtype), dim, -1)
    nan = np.isnan(data) if data.dtype.kind == "f" else np.zeros(data.shape, bool)
    accumulate = np.fmax.accumulate if is_max else np.fmin.accumulate
    running = accumulate(data, axis=-1)  # ignores NaN
    seen_nan = np.logical_or.accumulate(nan, axis=-1)
    values = np.where(seen_nan, np.nan if data.dtype.kind == "f" else 0, running)
    before = np.concatenate([running[..., :1], running[..., :-1]], axis=-1)
    reaches = (data >= before) if is_max else (data <= before)
    record = nan | (reaches & ~seen_nan)
    positions = np.arange(data.shape[-1], dtype=np.int64)
    indices = np.maximum.accumulate(np.where(record, positions, 0), axis=-1)
    values = np.moveaxis(values, -1, dim)
    indices = np.moveaxis(indices, -1, dim)
    return wrap(values, x.dtype), wrap(indices, int64)


def cummax(x: Array, dim: int) -> tuple:
    """(running maximum, int64 index of it) along ``dim``: latest index among ties, NaN wins."""
    return _scan_extreme(x, dim, True)


def cummin(x: Array, dim: int) -> tuple:
    """(running minimum, int64 index of it) along ``dim``: latest index among ties, NaN wins."""
    return _scan_extreme(x, dim, False)


KERNELS = {"cumsum": cumsum, "cumprod": cumprod, "logcumsumexp": logcumsumexp,
           "cummax": cummax, "cummin": cummin}
