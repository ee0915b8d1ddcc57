"""The caching allocator of the ``cuda`` device: where a storage's memory comes from.

On a GPU, memory comes from ``cuMemAlloc`` through a small caching allocator
(freed blocks are kept per rounded size and reused; all of the library's work
runs on one stream, ``runtime.STREAM``, so reuse in program order is safe).
Under the interpreter, "device" memory is a host NumPy array. Copies and the
memory-family kernels are in ``memory.py``; kernel pointers in ``launch.py``.
"""
from __future__ import annotations

import contextlib
import weakref

import numpy as np

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
        self._holders: list = []  # the lists of the active ``holding`` blocks

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
        for held in self._holders:
            held.append(buf)
        return buf

    @contextlib.contextmanager
    def holding(self, held: list):
        """Append every buffer allocated inside the block to ``held`` (a CUDA graph keeps the
        memory its captured kernels write for as long as it lives: ``compiler.cudagraphs``)."""
        self._holders.append(held)
        try:
            yield held
        finally:  # by identity (two empty lists are equal)
            self._holders[:] = [h for h in self._holders if h is not held]

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


def new_buffer(numel: int, dtype):
    """Memory for ``numel`` elements of ``dtype`` (at least one): a ``DeviceBuffer`` on a GPU,
    a host array under the interpreter."""
    if runtime.mode() == "interpreter":
        return np.empty(max(numel, 1), dtype=dtype.numpy)
    runtime.require(0)
    return _allocator.allocate(max(numel, 1) * dtype.itemsize)


def buffer_address(buffer) -> int:
    """Address of a buffer's first byte (host address under the interpreter)."""
    if isinstance(buffer, np.ndarray):
        return buffer.ctypes.data
    return buffer.ptr
