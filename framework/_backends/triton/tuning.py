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
problem to the launch wrapper's ``Tunable`` (``quick_space`` thins it for
``--quick``); ``precompile`` compiles the configs of a tuning in parallel threads
before they are timed.
"""
from __future__ import annotations

import dataclasses
import functools
import os

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


def precompile(run, configs: list) -> None:
    """Compile the kernels ``run(config)`` launches, for every config, in parallel threads.

    Each ``run(config)`` goes as far as its first launch that needs a compile: Triton's
    async-compile mode hands that compile to a thread pool, and the launch is abandoned
    (nothing runs on the GPU). The compiled kernels are then installed in Triton's kernel
    cache, so timing each config launches without compiling. Best effort: under the
    interpreter, on a Triton without ``AsyncCompileMode``, or inside another async-compile
    region nothing is compiled ahead (each config compiles at its first launch, as before);
    a config whose compile fails is compiled (and refused) again when it is timed.
    """
    if not on_gpu() or len(configs) < 2:
        return
    mode_class = _compile_ahead_mode()
    if mode_class is None:
        return
    from concurrent.futures import ThreadPoolExecutor
    workers = max(1, min(len(configs), os.cpu_count() or 1))
    with ThreadPoolExecutor(workers, thread_name_prefix="framework-compile") as pool:
        mode = mode_class(pool)
        try:
            with mode:
                for config in configs:
                    try:
                        run(config)
                    except Exception:  # noqa: BLE001 - _Queued, or a config refused early
                        pass
                mode.install()
        except RuntimeError:  # another async-compile region is active: compile as launched
            return


class _Queued(Exception):
    """Raised at a launch whose kernel was handed to the compile pool (the launch is dropped)."""


@functools.lru_cache(maxsize=None)
def _compile_ahead_mode():
    """A subclass of Triton's ``AsyncCompileMode`` that queues compiles and drops the launch.

    Triton (3.4+) calls ``mode.submit(key, compile_fn, finalize_fn, ...)`` where a launch
    misses its kernel cache inside the mode; ``finalize_fn(kernel)`` puts the compiled
    kernel in that cache. None when the installed Triton has no such mode.
    """
    try:
        from triton import AsyncCompileMode
    except ImportError:
        return None

    class CompileAhead(AsyncCompileMode):
        def __init__(self, executor) -> None:
            super().__init__(executor)
            self.queued: dict = {}

        def submit(self, key, compile_fn, finalize_fn, *_):
            if key not in self.queued:
                self.queued[key] = (self.executor.submit(compile_fn), finalize_fn)
            raise _Queued(key)

        def install(self) -> int:
            """Wait for the queued compiles; install the kernels; returns how many compiled."""
            installed = 0
            for future, finalize in self.queued.values():
                try:
                    finalize(future.result())
                    installed += 1
                except Exception:  # noqa: BLE001 - compiled again (and refused) when timed
                    pass
            return installed

    return CompileAhead


def quick_space(configs: list) -> list:
    """``framework autotune --quick``: one pipeline depth per tile, about half the configs.

    Of configs that differ only in ``num_stages``, keeps the 3-stage one (else the deepest):
    on the H200 the depth moved the best tiles' times by at most about 5 %, the tile shape
    and ``BLOCK_K`` by up to 2x (``docs/autotune.md``). The full run times every depth.
    """
    kept: dict = {}
    for config in configs:
        tile = tuple(sorted((k, v) for k, v in config.items() if k != "num_stages"))
        if tile not in kept or _depth_rank(config) < _depth_rank(kept[tile]):
            kept[tile] = config
    return list(kept.values())


def _depth_rank(config: dict) -> tuple:
    stages = config.get("num_stages", 1)
    return (stages != 3, -stages)


def tunable_for(problem: dict, quick: bool = False) -> Tunable:
    """The ``Tunable`` serving a ``framework autotune`` problem (conv problems name their GEMM);
    with ``quick`` its config space is thinned by ``quick_space`` (keys and lookups unchanged)."""
    from . import conv, matmul
    tunable = conv.CONV_TUNABLES[problem["kernel"]] if problem["op"] == "conv2d" else matmul.MATMUL
    if quick:
        full = tunable.configs
        tunable = dataclasses.replace(tunable, configs=lambda p: quick_space(full(p)))
    return tunable


PLATFORM = Platform(describe=describe, median_ms=median_ms, on_gpu=on_gpu, precompile=precompile)
