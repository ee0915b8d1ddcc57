"""What a backend kernel receives and returns: a strided view of a storage.

``Storage`` owns memory (a 1-D NumPy array on the CPU and under the Triton
interpreter, a ``DeviceBuffer`` on a GPU) and the version counter that all
views of it share. ``Array`` is a view: shape, strides and offset counted in
elements, and a dtype (the storage's, except for ``view(dtype)`` views, which
read the same bytes as another type).
"""
from __future__ import annotations

import functools
import math

from ..dtypes import dtype as DType


_new = object.__new__


class Storage:
    """Memory shared by a tensor and its views, with their shared version counter."""

    __slots__ = ("buffer", "numel", "dtype", "version", "__weakref__")

    def __init__(self, buffer, numel: int, dtype: DType) -> None:
        self.buffer = buffer
        self.numel = numel
        self.dtype = dtype
        self.version = 0


class Array:
    """A strided view of a ``Storage`` (shape, strides and offset in elements)."""

    __slots__ = ("storage", "shape", "strides", "offset", "dtype", "_cache")

    def __init__(self, storage: Storage, shape: tuple, strides: tuple, offset: int = 0) -> None:
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.dtype = storage.dtype
        self._cache = None

    @property
    def numel(self) -> int:
        """Number of elements in the view."""
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    def is_contiguous(self) -> bool:
        """True when the view is row-major with no gaps (size-1 dims ignored)."""
        shape = self.shape
        dense = row_major_strides(shape) if type(shape) is tuple else contiguous_strides(shape)
        return self.strides == dense or _contiguous_ignoring_ones(shape, self.strides)

    def view(self, shape: tuple, strides: tuple, offset: int, dtype=None) -> "Array":
        """Another view of the same storage (``dtype``: its bytes reinterpreted as that type;
        shape, strides and offset are then counted in elements of ``dtype``)."""
        out = _new(Array)  # Array(self.storage, tuple(shape), tuple(strides), offset), inlined
        out.storage = self.storage
        out.shape = shape if type(shape) is tuple else tuple(shape)
        out.strides = strides if type(strides) is tuple else tuple(strides)
        out.offset = offset
        out.dtype = self.dtype if dtype is None else dtype
        out._cache = None
        return out


def contiguous_strides(shape) -> tuple:
    """Row-major strides (in elements) for ``shape``."""
    strides = []
    step = 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


# ``contiguous_strides`` of a shape tuple, cached per shape (the hot callers: views,
# contiguity checks, fresh kernel results)
row_major_strides = functools.lru_cache(maxsize=1024)(contiguous_strides)


def _contiguous_ignoring_ones(shape, strides) -> bool:
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size == 0:
            return True
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def broadcast_strides(shape: tuple, strides: tuple, out_shape: tuple) -> tuple:
    """Strides that read an array of ``shape`` broadcast to ``out_shape`` (0 on broadcast dims)."""
    pad = len(out_shape) - len(shape)
    result = [0] * pad
    for size, stride, out in zip(shape, strides, out_shape[pad:]):
        result.append(stride if size == out else 0)
    return tuple(result)


def collapse_dims(shape: tuple, *stride_sets: tuple):
    """Merge adjacent dims that every operand walks contiguously; drop size-1 dims.

    Returns ``(shape, [strides, ...])`` of the same memory walk with as few
    dims as possible, so kernels do less index arithmetic.
    """
    dims = [i for i, s in enumerate(shape) if s != 1]
    new_shape = []
    new_strides = [[] for _ in stride_sets]
    for i in dims:
        if new_shape and all(st[-1] == s[i] * shape[i] for st, s in zip(new_strides, stride_sets)):
            new_shape[-1] *= shape[i]
            for st, s in zip(new_strides, stride_sets):
                st[-1] = s[i]
            continue
        new_shape.append(shape[i])
        for st, s in zip(new_strides, stride_sets):
            st.append(s[i])
    return tuple(new_shape), [tuple(st) for st in new_strides]
