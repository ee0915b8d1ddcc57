"""Medians of interleaved repeats: wall clock on the CPU, CUDA events on a GPU."""
from __future__ import annotations

import statistics
import time
from typing import Callable

# Timing: warm-up calls, then repeats until MIN_SECONDS were measured (between the bounds).
WARMUP = 3
MIN_REPEATS = 5
MAX_REPEATS = 200
MIN_SECONDS = 0.3
L2_FLUSH_BYTES = 256 * 1024 * 1024


def median_seconds(fn: Callable, sync: Callable) -> float:
    """Median wall-clock seconds of ``fn()`` (each repeat ends with ``sync()``), after warm-up."""
    return interleaved_medians([fn], sync)[0]


def interleaved_medians(fns: list, sync: Callable) -> list:
    """Median wall-clock seconds of each of ``fns``, timed in turn (a, b, a, b, ...) after warm-up.

    Interleaving gives every function the same share of a busy machine's noise, so their
    ratio stays meaningful when other processes come and go.
    """
    for fn in fns:
        for _ in range(WARMUP):
            fn()
    sync()
    times: list = [[] for _ in fns]
    started = time.perf_counter()
    while len(times[0]) < MIN_REPEATS or (len(times[0]) < MAX_REPEATS
                                          and time.perf_counter() - started < MIN_SECONDS * len(fns)):
        for fn, samples in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            sync()
            samples.append(time.perf_counter() - t0)
    return [statistics.median(samples) for samples in times]


class EventTimer:
    """GPU time from CUDA events on the library's stream, ``runtime.STREAM`` (cuda-bindings,
    no torch)."""

    def __init__(self) -> None:
        from .. import dtypes
        from .._backends.triton import memory, runtime
        self.driver, self.check, self.stream = runtime._driver(), runtime.check, runtime.STREAM
        # framework's allocator makes the primary context current (as framework.autotune.timing)
        self._scratch = memory.empty((L2_FLUSH_BYTES // 4,), dtypes.int32)
        self.scratch = memory.buffer_address(self._scratch.storage.buffer)
        self.start = self.check(self.driver.cuEventCreate(0))
        self.end = self.check(self.driver.cuEventCreate(0))

    def interleaved_medians(self, fns: list, flush_l2: bool) -> list:
        """Median seconds of each of ``fns`` timed in turn after warm-up; L2 flushed when asked."""
        d, check = self.driver, self.check
        for fn in fns:
            for _ in range(WARMUP):
                fn()
        check(d.cuCtxSynchronize())
        times: list = [[] for _ in fns]
        started = time.perf_counter()
        while len(times[0]) < MIN_REPEATS or (len(times[0]) < MAX_REPEATS
                                              and time.perf_counter() - started < MIN_SECONDS * len(fns)):
            for fn, samples in zip(fns, times):
                samples.append(self._one(fn, flush_l2))
        return [statistics.median(samples) for samples in times]

    def _one(self, fn: Callable, flush_l2: bool) -> float:
        d, check = self.driver, self.check
        if flush_l2:
            check(d.cuMemsetD32Async(self.scratch, 0, L2_FLUSH_BYTES // 4, self.stream))
        check(d.cuEventRecord(self.start, self.stream))
        fn()
        check(d.cuEventRecord(self.end, self.stream))
        check(d.cuEventSynchronize(self.end))
        return check(d.cuEventElapsedTime(self.start, self.end)) / 1e3

    def close(self) -> None:
        for event in (self.start, self.end):
            self.check(self.driver.cuEventDestroy(event))
        self._scratch = None
