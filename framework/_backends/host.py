"""Host data for the op layer: Python values and NumPy arrays turned into host arrays.

``framework/ops`` holds no NumPy (docs/architecture.md, layer 3). Where an op
takes host data -- ``tensor(data)``, ``as_tensor``, ``from_numpy`` -- it asks
this module to recognize and convert it, then hands the host array to the
device's ``from_numpy`` kernel (the backend contract's memory family), or for
``framework.from_numpy`` wraps the caller's array without a copy.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from .array import Array, Storage


def is_array(value) -> bool:
    """True for a NumPy array."""
    return isinstance(value, np.ndarray)


def array_dtype(value):
    """The framework dtype of a NumPy array or NumPy scalar, else None."""
    if isinstance(value, (np.ndarray, np.generic)):
        return dtypes.from_numpy_dtype(value.dtype)
    return None


def has_dtype(array, dtype) -> bool:
    """True when the NumPy array ``array`` holds exactly ``dtype``'s elements."""
    return dtype.numpy == array.dtype


def to_host_array(data, dtype):
    """``data`` (nested lists/tuples of numbers, a number, a NumPy array or scalar) as a new host
    array of ``dtype`` (``ValueError`` when it has no array form)."""
    try:
        return np.array(data, dtype=dtype.numpy)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"tensor(): could not build a tensor from the data: {exc}") from None


def round_scalar(value: float, dtype) -> float:
    """``value`` rounded to ``dtype`` (as a tensor of it would hold it), as a Python float."""
    return float(np.asarray(value, dtype=dtype.numpy))


def cast(array, dtype):
    """A host copy of the host array ``array`` converted to ``dtype``."""
    return array.astype(dtype.numpy)


def check_shareable(array) -> None:
    """``ValueError`` unless the NumPy array's strides are non-negative multiples of its
    element size (what an ``Array`` view can describe)."""
    item = array.itemsize
    if any(s % item for s in array.strides) or any(s < 0 for s in array.strides):
        raise ValueError("from_numpy(): arrays with negative or unaligned strides are not "
                         "supported; pass array.copy()")


def share(array) -> Array:
    """An ``Array`` over the memory of the NumPy array ``array``, without a copy (its dtype a
    framework dtype's, its strides checked by ``check_shareable``)."""
    dtype = dtypes.from_numpy_dtype(array.dtype)
    item = array.itemsize
    base = _flat_base(array)
    storage = Storage(base, base.size, dtype)
    return Array(storage, tuple(array.shape), tuple(s // item for s in array.strides), 0)


def _flat_base(array):
    """A flat array over ``array``'s memory, which starts at its first element (strides are
    non-negative), so ``array`` is at offset 0 in it."""
    item = array.itemsize
    extent = 1 + sum((size - 1) * stride for size, stride in zip(array.shape, array.strides)) // item
    return np.lib.stride_tricks.as_strided(array, shape=(extent,), strides=(item,))


def from_buffer(buffer, dtype, count: int, offset: int):
    """``count`` elements of framework ``dtype`` read from a Python buffer at byte
    ``offset``, as a NumPy array over the buffer's memory."""
    return np.frombuffer(buffer, dtype=dtype.numpy, count=count, offset=offset)
