"""CPU reduction kernels: NumPy over the reduced ``dims`` (a sorted tuple); the output drops them.

Half types are computed in float32 (``compute_dtype``), float64 in float64,
integers and bools in int64 where a sum or product is formed. The op layer
has already rejected empty reductions that have no identity (``amax`` of an
empty dim, ``argmax`` ...), and applies ``keepdim`` itself.
"""
from __future__ import annotations

import numpy as np

from ...dtypes import bool as bool_dtype
from ...dtypes import int64
from ..array import Array
from ._arrays import compute_dtype, nd, quiet, wrap


def _values(x: Array, dtype=None) -> np.ndarray:
    """``x`` as NumPy data in the type a reduction computes in (default: from ``x.dtype``)."""
    data = nd(x)
    target = compute_dtype(dtype or x.dtype)
    if not (dtype or x.dtype).is_floating_point:
        target = np.dtype(np.int64)
    return data if data.dtype == target else data.astype(target)


def sum(x: Array, dims: tuple, out_dtype) -> Array:  # noqa: A001 - contract name
    """Sum over ``dims``, accumulated in ``out_dtype`` (float32 for half types)."""
    # np.add.reduce: what np.sum runs for an ndarray, without its wrapper (~3 us of a small sum)
    values = _values(x, out_dtype)
    if len(dims) == values.ndim:  # into a fresh 0-d array (wrap takes it as it is), not a scalar
        return wrap(np.add.reduce(values, dims, None, np.empty((), values.dtype)), out_dtype)
    return wrap(np.add.reduce(values, axis=dims), out_dtype)


def prod(x: Array, dims: tuple, out_dtype) -> Array:
    """Product over ``dims``, accumulated in ``out_dtype`` (float32 for half types)."""
    return wrap(np.prod(_values(x, out_dtype), axis=dims), out_dtype)


def amax(x: Array, dims: tuple) -> Array:
    """Maximum over ``dims`` (NaN if any element is NaN): ``np.max``'s reduction, without its
    wrapper."""
    return wrap(np.maximum.reduce(_values(x), axis=dims), x.dtype)


def amin(x: Array, dims: tuple) -> Array:
    """Minimum over ``dims`` (NaN if any element is NaN): ``np.min``'s reduction, without its
    wrapper."""
    return wrap(np.minimum.reduce(_values(x), axis=dims), x.dtype)


def argmax(x: Array, dim: int) -> Array:
    """Index of the first maximum along ``dim`` (a NaN counts as the maximum)."""
    return wrap(_values(x).argmax(axis=dim).astype(np.int64, copy=False), int64)


def argmin(x: Array, dim: int) -> Array:
    """Index of the first minimum along ``dim`` (a NaN counts as the minimum)."""
    return wrap(_values(x).argmin(axis=dim).astype(np.int64, copy=False), int64)


def all(x: Array, dims: tuple) -> Array:  # noqa: A001 - contract name
    """True where every element over ``dims`` is nonzero."""
    return wrap(np.asarray(np.all(nd(x), axis=dims)), bool_dtype)  # a 0-d array, not a scalar


def any(x: Array, dims: tuple) -> Array:  # noqa: A001 - contract name
    """True where some element over ``dims`` is nonzero."""
    return wrap(np.asarray(np.any(nd(x), axis=dims)), bool_dtype)


def _count(x: Array, dims: tuple) -> int:
    count = 1
    for d in dims:
        count *= x.shape[d]
    return count


def _mean(values: np.ndarray, dims: tuple, count: int, keepdims: bool = False) -> np.ndarray:
    """Sum / count: NaN for an empty reduction, without NumPy's warnings (``quiet``: a
    fraction of ``np.errstate``'s cost)."""
    return quiet(_sum_over_count, values, dims, values.dtype.type(count), keepdims)


def _sum_over_count(values: np.ndarray, dims: tuple, count, keepdims: bool) -> np.ndarray:
    return np.add.reduce(values, axis=dims, keepdims=keepdims) / count


def mean(x: Array, dims: tuple, out_dtype) -> Array:
    """Mean over ``dims`` (NaN for an empty reduction)."""
    return wrap(_mean(_values(x, out_dtype), dims, _count(x, dims)), out_dtype)


def var(x: Array, dims: tuple, correction, out_dtype) -> Array:
    """Variance over ``dims``: sum of squared deviations / max(N - correction, 0)."""
    values = _values(x, out_dtype)
    count = _count(x, dims)
    centered = values - _mean(values, dims, count, keepdims=True)
    squares = np.sum(centered * centered, axis=dims)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = squares / values.dtype.type(max(count - correction, 0))
    return wrap(result, out_dtype)


def logsumexp(x: Array, dims: tuple, out_dtype) -> Array:
    """``log(sum(exp(x)))`` over ``dims``, shifted by the maximum for stability.

    The shift is 0 where the maximum is infinite, so rows of -inf give -inf
    and a +inf element gives +inf instead of NaN.
    """
    values = _values(x, out_dtype)
    peak = np.max(values, axis=dims, keepdims=True, initial=-np.inf)
    shift = np.where(np.isinf(peak), 0, peak).astype(values.dtype)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        total = np.sum(np.exp(values - shift), axis=dims)
        result = np.log(total) + np.squeeze(shift, axis=dims)
    return wrap(result, out_dtype)


KERNELS = {
    "sum": sum, "prod": prod, "amax": amax, "amin": amin, "argmax": argmax, "argmin": argmin,
    "all": all, "any": any, "mean": mean, "var": var, "logsumexp": logsumexp,
}
