"""The one GPU timer, shared by ``framework autotune`` and ``framework bench``.

``EventTimer`` brackets a call with CUDA events (``cuda-bindings``, no torch)
on the library's stream (``runtime.STREAM``, where every kernel and copy
runs). With ``flush_l2`` each timed call is preceded by a write of a 256 MiB
scratch buffer, so a kernel never finds its operands in the L2 cache from the
previous repeat.
"""
from __future__ import annotations

from typing import Callable

from ... import dtypes
from . import memory, runtime
from .allocator import buffer_address

L2_FLUSH_BYTES = 256 * 1024 * 1024


class EventTimer:
    """GPU milliseconds of single calls, from a pair of CUDA events (create once, reuse)."""

    def __init__(self) -> None:
        self.driver, self.check, self.stream = runtime._driver(), runtime.check, runtime.STREAM
        runtime.make_current()
        self._scratch = memory.empty((L2_FLUSH_BYTES // 4,), dtypes.int32)
        self.scratch = buffer_address(self._scratch.storage.buffer)
        self.start = self.check(self.driver.cuEventCreate(0))
        self.end = self.check(self.driver.cuEventCreate(0))

    def milliseconds(self, fn: Callable, flush_l2: bool = True) -> float:
        """GPU time of one call of ``fn`` (the L2 cache flushed first when ``flush_l2``)."""
        d, check = self.driver, self.check
        if flush_l2:
            check(d.cuMemsetD32Async(self.scratch, 0, L2_FLUSH_BYTES // 4, self.stream))
        check(d.cuEventRecord(self.start, self.stream))
        fn()
        check(d.cuEventRecord(self.end, self.stream))
        check(d.cuEventSynchronize(self.end))
        return check(d.cuEventElapsedTime(self.start, self.end))

    def close(self) -> None:
        """Destroy the events and free the scratch buffer."""
        for event in (self.start, self.end):
            self.check(self.driver.cuEventDestroy(event))
        self._scratch = None
