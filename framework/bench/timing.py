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
    """Interleaved GPU medians from the library's one CUDA-event timer
    (``framework._backends.triton.timing.EventTimer``, shared with autotune)."""

    def __init__(self) -> None:
        from .._backends.triton.timing import EventTimer as _Events
        self._events = _Events()

    def interleaved_medians(self, fns: list, flush_l2: bool) -> list:
        """Median seconds of each of ``fns`` timed in turn after warm-up; L2 flushed when asked."""
        for fn in fns:
            for _ in range(WARMUP):
                fn()
        self._events.check(self._events.driver.cuCtxSynchronize())
        times: list = [[] for _ in fns]
        started = time.perf_counter()
        while len(times[0]) < MIN_REPEATS or (len(times[0]) < MAX_REPEATS
                                              and time.perf_counter() - started < MIN_SECONDS * len(fns)):
            for fn, samples in zip(fns, times):
                samples.append(self._events.milliseconds(fn, flush_l2) / 1e3)
        return [statistics.median(samples) for samples in times]

    def close(self) -> None:
        """Release the events and the L2 scratch buffer."""
        self._events.close()
