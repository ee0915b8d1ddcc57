"""Helpers shared by the Triton launch wrappers: kernel pointers, grids, strided operand packing."""
from __future__ import annotations

import triton

from ..array import Array, broadcast_strides, collapse_dims
from . import runtime
from .allocator import DeviceBuffer, buffer_address

MAX_DIMS = 6


def grid_1d(n: int, block: int) -> tuple:
    """One program per ``block`` elements (at least one)."""
    return (max(1, triton.cdiv(n, block)),)


def pack_strided(shape: tuple, *arrays):
    """Collapse ``shape`` and the operands' strides to ``MAX_DIMS`` dims for a kernel.

    Each operand is an ``Array`` (read broadcast to ``shape``) or a raw
    strides tuple. Returns ``(sizes[1:6], [strides6, ...])``: the sizes of
    dims 1..5 and six strides per operand, padded in front with size-1 dims.
    """
    stride_sets = []
    for a in arrays:
        if isinstance(a, Array):
            stride_sets.append(broadcast_strides(a.shape, a.strides, shape))
        else:
            stride_sets.append(tuple(a))
    sizes, strides = collapse_dims(shape, *stride_sets)
    if len(sizes) > MAX_DIMS:
        raise NotImplementedError(
            f"cuda kernels take views of at most {MAX_DIMS} non-mergeable dims; "
            f"got shape {shape}: call .contiguous() first")
    pad = MAX_DIMS - len(sizes)
    sizes = (1,) * pad + tuple(sizes)
    strides = [(0,) * pad + tuple(st) for st in strides]
    return sizes[1:], strides


def all_contiguous_same_shape(shape: tuple, *arrays) -> bool:
    """True when every operand is a contiguous array of exactly ``shape``."""
    return all(isinstance(a, Array) and a.shape == shape and a.is_contiguous() for a in arrays)


class _HostStorage:
    """Interpreter shim for ``untyped_storage()``: memory already on the host."""

    __slots__ = ("address",)

    def __init__(self, address: int) -> None:
        self.address = address

    def data_ptr(self) -> int:
        return self.address

    def cpu(self) -> "_HostStorage":
        return self

    def copy_(self, other) -> None:
        """Nothing to copy back: the interpreter wrote to this very memory."""


class Pointer:
    """What a Triton kernel receives for an ``Array``: ``data_ptr()`` and ``dtype``.

    The extra methods are the small tensor protocol Triton's interpreter uses
    to move arguments to the host and back (here they are already there).
    """

    __slots__ = ("base", "offset", "dtype", "_shape", "_strides", "_owner")

    def __init__(self, base: int, offset: int, dtype, shape=(), strides=(), owner=None) -> None:
        self.base = base
        self.offset = offset
        self.dtype = dtype
        self._shape = shape
        self._strides = strides
        # The storage's buffer: a temporary array (``pointer(contiguous(x))``) must stay alive
        # until the launch that takes this pointer is over, or its memory could be reused.
        self._owner = owner

    def data_ptr(self) -> int:
        return self.base + self.offset * self.dtype.itemsize

    def untyped_storage(self) -> _HostStorage:
        return _HostStorage(self.base)

    def new_empty(self, *args, **kwargs) -> "Pointer":
        return Pointer(self.base, 0, self.dtype, owner=self._owner)

    def set_(self, storage, offset, size, stride) -> "Pointer":
        self.base, self.offset = storage.data_ptr(), offset
        self._shape, self._strides = size, stride
        return self

    def storage_offset(self) -> int:
        return self.offset

    def size(self):
        return self._shape

    def stride(self):
        return self._strides


def pointer(a: Array) -> Pointer:
    """Kernel argument for an ``Array`` (points at its first element; keeps its buffer alive).

    On a GPU it also makes the context current in this thread: a launch in a thread that
    allocated nothing (an in-place op on tensors made elsewhere) must find it current.
    """
    buffer = a.storage.buffer
    if isinstance(buffer, DeviceBuffer):
        runtime.make_current()
    return Pointer(buffer_address(buffer), a.offset, a.dtype, a.shape, a.strides, buffer)
