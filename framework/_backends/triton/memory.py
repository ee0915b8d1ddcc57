"""Device memory for the ``cuda`` device: allocation, host<->device copies, pointers.

On a GPU, memory comes from ``cuMemAlloc`` through a small caching allocator
(freed blocks are kept per rounded size and reused; all of the library's work
runs on one stream, ``runtime.STREAM``, so reuse in program order is safe).
Copies name that stream too. Under the interpreter, "device" memory is a host
NumPy array.

``to_numpy`` is the one device->host read: it counts a host synchronization
(``runtime.host_sync_count``) and then raises any error a kernel has flagged
on the device since the last read (``device_errors``).
"""
from __future__ import annotations

import weakref

import numpy as np

from ..array import Array, Storage, contiguous_strides
from . import runtime

_ROUND = 512  # bytes: allocation granularity of the cache


class DeviceBuffer:
    """A block of GPU memory; returns to the allocator's cache when collected."""

    __slots__ = ("ptr", "nbytes", "__weakref__")

    def __init__(self, ptr: int, nbytes: int) -> None:
        self.ptr = ptr
        self.nbytes = nbytes


class CachingAllocator:
    """Keeps freed GPU blocks by rounded size and hands them out again."""

    def __init__(self) -> None:
        self._free: dict[int, list[int]] = {}
        self.allocated_bytes = 0
        self.cached_bytes = 0

    def allocate(self, nbytes: int) -> DeviceBuffer:
        """A buffer of at least ``nbytes`` bytes."""
        size = max(_ROUND, -(-nbytes // _ROUND) * _ROUND)
        bucket = self._free.get(size)
        if bucket:
            ptr = bucket.pop()
            self.cached_bytes -= size
        else:
            ptr = self._cu_alloc(size)
        self.allocated_bytes += size
        buf = DeviceBuffer(ptr, size)
        weakref.finalize(buf, self._release, ptr, size)
        return buf

    def _cu_alloc(self, size: int) -> int:
        driver = runtime._driver()
        try:
            return int(runtime.check(driver.cuMemAlloc(size)))
        except RuntimeError:
            self.empty_cache()
            try:
                return int(runtime.check(driver.cuMemAlloc(size)))
            except RuntimeError as exc:
                raise MemoryError(f"CUDA out of memory trying to allocate {size} bytes "
                                  f"({self.allocated_bytes} bytes in use)") from exc

    def _release(self, ptr: int, size: int) -> None:
        self.allocated_bytes -= size
        self.cached_bytes += size
        self._free.setdefault(size, []).append(ptr)

    def empty_cache(self) -> None:
        """Return every cached block to the driver."""
        runtime.synchronize()
        driver = runtime._driver()
        for blocks in self._free.values():
            for ptr in blocks:
                runtime.check(driver.cuMemFree(ptr))
        self._free.clear()
        self.cached_bytes = 0


_allocator = CachingAllocator()


def allocator() -> CachingAllocator:
    """The process's GPU caching allocator (one of the documented caches)."""
    return _allocator


def _new_buffer(numel: int, dtype):
    if runtime.mode() == "interpreter":
        return np.empty(max(numel, 1), dtype=dtype.numpy)
    runtime.require(0)
    return _allocator.allocate(max(numel, 1) * dtype.itemsize)


def buffer_address(buffer) -> int:
    """Address of a buffer's first byte (host address under the interpreter)."""
    if isinstance(buffer, np.ndarray):
        return buffer.ctypes.data
    return buffer.ptr


def empty(shape, dtype) -> Array:
    """Uninitialized contiguous device array."""
    numel = 1
    for size in shape:
        numel *= size
    storage = Storage(_new_buffer(numel, dtype), numel, dtype)
    return Array(storage, tuple(shape), contiguous_strides(shape), 0)


def from_numpy(array: np.ndarray, dtype) -> Array:
    """Copy host data into a new device array."""
    host = np.ascontiguousarray(array, dtype=dtype.numpy).reshape(np.shape(array))  # keeps 0-d
    out = empty(host.shape, dtype)
    if host.size == 0:
        return out
    write_from_host(out, host)
    return out


def write_from_host(out: Array, host: np.ndarray) -> None:
    """Copy the contiguous host array ``host`` into the first elements of contiguous ``out``.

    On a GPU the copy is queued on ``runtime.STREAM`` after the work already
    there. ``host`` is pageable memory, which the driver copies to a staging
    buffer before the call returns (PyTorch's non-blocking copies from
    pageable memory rely on the same), so it may be freed at once. No host
    synchronization.
    """
    if runtime.mode() == "interpreter":
        out.storage.buffer[out.offset: out.offset + host.size] = host.reshape(-1)
        return
    runtime.make_current()
    dst = out.storage.buffer.ptr + out.offset * out.dtype.itemsize
    runtime.check(runtime._driver().cuMemcpyHtoDAsync(dst, host.ctypes.data, host.nbytes,
                                                      runtime.STREAM))


def read_to_host(a: Array) -> np.ndarray:
    """A host copy of contiguous ``a``, after all work queued on ``runtime.STREAM`` (no count,
    no error check: ``to_numpy`` adds those)."""
    host = np.empty(a.shape, dtype=a.dtype.numpy)
    if host.size == 0:
        return host
    if runtime.mode() == "interpreter":
        item = a.dtype.itemsize  # by bytes: a view(dtype) array reads the storage as its type
        raw = a.storage.buffer.view(np.uint8)[a.offset * item: (a.offset + host.size) * item]
        host.reshape(-1)[:] = raw.view(a.dtype.numpy)
        return host
    runtime.make_current()
    driver = runtime._driver()
    src = a.storage.buffer.ptr + a.offset * a.dtype.itemsize
    runtime.check(driver.cuMemcpyDtoHAsync(host.ctypes.data, src, host.nbytes, runtime.STREAM))
    runtime.check(driver.cuStreamSynchronize(runtime.STREAM))
    return host


def to_numpy(a: Array) -> np.ndarray:
    """A contiguous host copy of a device array: a host synchronization (counted), which
    also raises an error flagged by an earlier kernel (``device_errors.raise_pending``)."""
    if not a.is_contiguous():
        from . import copy as copy_kernels
        a = copy_kernels.contiguous(a)
    host = read_to_host(a)
    if host.size == 0:
        return host
    runtime.count_host_sync()
    from . import device_errors
    device_errors.raise_pending()
    return host


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
