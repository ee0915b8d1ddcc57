"""What the autotuner needs from this backend, handed to it as a ``framework.autotune.Platform``.

``framework.autotune`` never imports the backend (the dependency is one-way:
launch wrappers ask ``autotune.choose``). The tuner is given the device
description that names its cache file (``describe``), the timer it measures
configs with (``median_ms``: the one CUDA-event timer of ``timing.py`` on a GPU,
the host clock under the interpreter) and whether timings mean anything here
(``on_gpu``). ``framework._backends.triton`` installs ``PLATFORM`` when it is
imported (no device query happens then, and this module's imports are kept
light: ``import framework`` runs it). ``shared_memory_per_block`` prunes this
backend's own config spaces; ``tunable_for`` maps a ``framework autotune``
problem to the launch wrapper's ``Tunable``.
"""
from __future__ import annotations

import functools

from ...autotune import Platform, Tunable
from . import runtime

# Shared memory per block (opt-in maximum of an H100): assumed where the device cannot be
# asked (the interpreter), and the one the config space hashed into cache keys is pruned for.
REFERENCE_SHARED_MEMORY = 227 * 1024


def triton_version() -> str:
    """The installed Triton's version."""
    from importlib import metadata
    try:
        return metadata.version("triton")
    except metadata.PackageNotFoundError:
        return "none"


@functools.lru_cache(maxsize=None)
def describe(index: int = 0) -> dict:
    """``{"name", "capability", "sms", "triton"}`` of ``cuda:index`` (the interpreter is one device)."""
    if runtime.mode() != "gpu":
        return {"name": "Triton interpreter", "capability": "0.0", "sms": 1,
                "triton": triton_version()}
    major, minor = runtime.capability(index)
    return {"name": runtime.device_name(index), "capability": f"{major}.{minor}",
            "sms": _attribute("CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT", index),
            "triton": triton_version()}


@functools.lru_cache(maxsize=None)
def shared_memory_per_block(index: int = 0) -> int:
    """The most shared memory one program may use (bytes): prunes config spaces."""
    if runtime.mode() != "gpu":
        return REFERENCE_SHARED_MEMORY
    return _attribute("CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN", index)


def _attribute(name: str, index: int) -> int:
    driver = runtime._driver()
    dev = runtime.check(driver.cuDeviceGet(index))
    return int(runtime.check(driver.cuDeviceGetAttribute(getattr(driver.CUdevice_attribute, name),
                                                          dev)))


def on_gpu() -> bool:
    """True on a GPU (tuning there measures something; the interpreter's timings do not)."""
    return runtime.mode() == "gpu"


def median_ms(fn, repeats: int = 10, warmup: int = 2, flush_l2: bool = True) -> float:
    """Median time of ``fn()`` in milliseconds after ``warmup`` calls (first-use compilation
    included): GPU time from CUDA events with the L2 cache flushed first on a GPU, the host
    clock under the interpreter."""
    for _ in range(warmup):
        fn()
    if not on_gpu():
        return _host_median(fn, repeats)
    return _event_median(fn, repeats, flush_l2)


def _host_median(fn, repeats: int) -> float:
    import statistics
    import time
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def _event_median(fn, repeats: int, flush_l2: bool) -> float:
    import statistics

    from .timing import EventTimer
    timer = EventTimer()
    try:
        return statistics.median([timer.milliseconds(fn, flush_l2) for _ in range(repeats)])
    finally:
        timer.close()


def tunable_for(problem: dict) -> Tunable:
    """The ``Tunable`` serving a ``framework autotune`` problem (conv problems name their GEMM)."""
    from . import conv, matmul
    if problem["op"] == "conv2d":
        return conv.CONV_TUNABLES[problem["kernel"]]
    return matmul.MATMUL


PLATFORM = Platform(describe=describe, median_ms=median_ms, on_gpu=on_gpu)
