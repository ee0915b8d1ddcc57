"""CPU kernels: allocation, creation and copies."""
from __future__ import annotations

import math

import numpy as np

from ..array import Array, Storage, row_major_strides
from ._arrays import nd, quiet, wrap


def empty(shape, dtype) -> Array:
    """Uninitialized contiguous array."""
    shape = tuple(shape)
    numel = int(math.prod(shape))  # 1 for ()
    buf = np.empty(numel, dtype=dtype.numpy)
    return Array(Storage(buf, numel, dtype), shape, row_major_strides(shape), 0)


def full(shape, value, dtype) -> Array:
    """Every element equal to ``value``."""
    out = empty(shape, dtype)
    out.storage.buffer.fill(value)
    return out


def arange(start, step, n, dtype) -> Array:
    """``start + i*step`` for ``i < n`` (computed in float64 or int64, then cast)."""
    if dtype.is_floating_point:
        values = start + np.arange(n, dtype=np.float64) * step
    else:
        values = start + np.arange(n, dtype=np.int64) * step
    return wrap(values, dtype)


def linspace(start, end, n, dtype) -> Array:
    """``n`` evenly spaced points from ``start`` to ``end`` inclusive.

    Integer types follow PyTorch: the ends converted to the type, then
    ``start + i * step`` for the first half and ``end - (n - 1 - i) * step``
    for the rest, in float64, truncated toward zero.
    """
    if dtype.is_floating_point or dtype.name == "bool":
        return wrap(np.linspace(start, end, n, dtype=np.float64), dtype)
    start, end = (int(np.array(int(v), dtype=np.int64).astype(dtype.numpy)) for v in (start, end))
    step = (end - start) / (n - 1) if n > 1 else 0.0
    if n == 1:
        end = start  # a single point is start (the formula below would give end)
    i = np.arange(n, dtype=np.int64)
    values = np.where(i < n // 2, start + i * step, end - (n - 1 - i) * step)
    return wrap(np.trunc(values).astype(np.int64), dtype)


def eye(n, m, dtype) -> Array:
    """Ones on the main diagonal of an ``n`` x ``m`` matrix."""
    return wrap(np.eye(n, m, dtype=np.float64), dtype)


def from_numpy(array: np.ndarray, dtype) -> Array:
    """Copy host data into a new CPU array of ``dtype``."""
    return wrap(np.array(array, dtype=dtype.numpy, copy=True), dtype)


def to_numpy(a: Array) -> np.ndarray:
    """A contiguous copy of ``a``."""
    return np.array(nd(a), copy=True, order="C")


def as_numpy(a: Array) -> np.ndarray:
    """The NumPy view of ``a`` (shares its memory)."""
    return nd(a)


def data_ptr(a: Array) -> int:
    """Host address of ``a``'s first element."""
    return a.storage.buffer.ctypes.data + a.offset * a.dtype.itemsize


def copy_(dst: Array, src: Array) -> None:
    """``dst[...] = src`` with broadcasting and a cast to ``dst.dtype``."""
    target = nd(dst)
    source = nd(src) if isinstance(src, Array) else src
    if isinstance(source, np.ndarray):
        # the exact overlap test only where the bounds overlap (it costs ~1 us)
        if np.may_share_memory(target, source) and np.shares_memory(target, source):
            source = source.copy()
        if source.dtype == target.dtype:
            np.copyto(target, source)  # no cast: nothing to warn about
            return
    # NaN/inf to int is undefined, like C casts: no warnings (quiet is a cheap np.errstate)
    quiet(_copy_unsafe, target, source)


def _copy_unsafe(target: np.ndarray, source) -> None:
    np.copyto(target, source, casting="unsafe")


def device_assert(cond: Array, op: str, message: str) -> None:
    """Raise ``RuntimeError("<op>(): <message>")`` unless every element of ``cond`` is True."""
    if not nd(cond).all():
        raise RuntimeError(f"{op}(): {message}")


KERNELS = {
    "empty": empty, "full": full, "arange": arange, "linspace": linspace, "eye": eye,
    "from_numpy": from_numpy, "to_numpy": to_numpy, "as_numpy": as_numpy, "data_ptr": data_ptr,
    "copy_": copy_,
    "device_assert": device_assert,
}
