"""Conversions between ``Array`` views and NumPy arrays for the CPU backend."""
from __future__ import annotations

import numpy as np

from ...dtypes import bfloat16, float16, float32, from_numpy_dtype
from ..array import Array, Storage, contiguous_strides


def nd(a: Array) -> np.ndarray:
    """The NumPy view of an ``Array`` (shares memory, no copy)."""
    cached = a._cache
    if cached is not None:
        return cached
    item = a.dtype.itemsize
    if a.numel == 0:
        view = np.empty(a.shape, dtype=a.dtype.numpy)
    else:
        view = np.ndarray(a.shape, dtype=a.dtype.numpy, buffer=a.storage.buffer,
                          offset=a.offset * item, strides=[s * item for s in a.strides])
    a._cache = view
    return view


def wrap(result: np.ndarray, dtype=None) -> Array:
    """A new contiguous ``Array`` holding ``result``.

    ``result``'s memory is taken over when it is a fresh, owned, contiguous
    array of the right type (inputs always reach kernels as views, so they
    never qualify); anything else is copied.
    """
    fw_dtype = dtype if dtype is not None else from_numpy_dtype(result.dtype)
    result = np.asarray(result)
    owned = result.base is None and result.flags.c_contiguous and result.dtype == fw_dtype.numpy
    flat = result.reshape(-1) if owned else np.array(result, dtype=fw_dtype.numpy, order="C").reshape(-1)
    shape = tuple(result.shape)
    return Array(Storage(flat, flat.size, fw_dtype), shape, contiguous_strides(shape), 0)


def compute_dtype(dtype) -> np.dtype:
    """NumPy type to compute in: float32 for the half types (like PyTorch's opmath)."""
    if dtype is float16 or dtype is bfloat16:
        return float32.numpy
    return dtype.numpy


def operand(a) -> np.ndarray:
    """An ``Array`` as a NumPy view; a Python scalar unchanged."""
    return nd(a) if isinstance(a, Array) else a


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def select(cond: np.ndarray, x, y, np_dtype) -> np.ndarray:
    """``np.where(cond, x, y)`` in ``np_dtype``, computed branch-free on the bit patterns.

    ``np.where`` costs a branch misprediction per element on random masks
    (about 5x slower here); masking the raw bits is exact for every value
    (NaN, infinities, signed zeros) and broadcasts the same way.
    """
    unsigned = _UNSIGNED[np.dtype(np_dtype).itemsize]
    x_bits = np.asarray(x, dtype=np_dtype).view(unsigned)
    y_bits = np.asarray(y, dtype=np_dtype).view(unsigned)
    mask = np.negative(np.asarray(cond, dtype=np.bool_).view(np.uint8).astype(unsigned))
    return ((x_bits & mask) | (y_bits & ~mask)).view(np_dtype)
