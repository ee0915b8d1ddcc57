"""Kernel timing: CUDA events from ``cuda-bindings`` on a GPU, the host clock under the interpreter.

``median_ms(fn)`` runs ``fn`` a few times to warm up (first-use compilation
included), then times each repeat and returns the median in milliseconds. On
a GPU each repeat is timed by the library's one CUDA-event timer
(``framework._backends.triton.timing.EventTimer``, shared with ``framework bench``),
with the L2 cache flushed first.
"""
from __future__ import annotations

import statistics
import time


def median_ms(fn, repeats: int = 10, warmup: int = 2, flush_l2: bool = True) -> float:
    """Median wall time of ``fn()`` in milliseconds (GPU time on a GPU)."""
    from .._backends.triton import runtime
    for _ in range(warmup):
        fn()
    if runtime.mode() != "gpu":
        return _host_median(fn, repeats)
    return _event_median(fn, repeats, flush_l2)


def _host_median(fn, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def _event_median(fn, repeats: int, flush_l2: bool) -> float:
    from .._backends.triton.timing import EventTimer
    timer = EventTimer()
    try:
        return statistics.median([timer.milliseconds(fn, flush_l2) for _ in range(repeats)])
    finally:
        timer.close()
