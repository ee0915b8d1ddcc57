"""Kernel timing: CUDA events from ``cuda-bindings`` on a GPU, the host clock under the interpreter.

``median_ms(fn)`` runs ``fn`` a few times to warm up (first-use compilation
included), then times each repeat and returns the median in milliseconds. On
a GPU every repeat is bracketed by events on the library's stream
(``runtime.STREAM``, where every kernel and copy runs) and preceded
by a write of a 256 MiB scratch buffer, so the kernel never finds its
operands in the L2 cache from the previous repeat.
"""
from __future__ import annotations

import statistics
import time

L2_FLUSH_BYTES = 256 * 1024 * 1024


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
    from .._backends.triton import runtime
    from .._backends.triton.memory import buffer_address, empty
    from .. import dtypes
    driver, check, stream = runtime._driver(), runtime.check, runtime.STREAM
    runtime.make_current()
    scratch = empty((L2_FLUSH_BYTES // 4,), dtypes.int32) if flush_l2 else None
    start = check(driver.cuEventCreate(0))
    end = check(driver.cuEventCreate(0))
    samples = []
    try:
        for _ in range(repeats):
            if scratch is not None:
                check(driver.cuMemsetD32Async(buffer_address(scratch.storage.buffer), 0,
                                              scratch.numel, stream))
            check(driver.cuEventRecord(start, stream))
            fn()
            check(driver.cuEventRecord(end, stream))
            check(driver.cuEventSynchronize(end))
            samples.append(check(driver.cuEventElapsedTime(start, end)))
    finally:
        check(driver.cuEventDestroy(start))
        check(driver.cuEventDestroy(end))
    return statistics.median(samples)
