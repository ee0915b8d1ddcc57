"""What the tuner is told about the hardware: given by the backend that owns the device.

The autotuner never queries a device or a timer itself (``framework.autotune``
does not import ``framework._backends``); the ``cuda`` backend hands it a
``Platform`` (``framework._backends.triton.tuning.PLATFORM``, installed with
``framework.autotune.set_platform``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Platform:
    """The device description, timer and tuning switch the tuner is given."""

    # () -> {"name", "capability", "sms", "triton"}: names the cache file and is stored in it
    describe: Callable[[], dict]
    # (fn, repeats=10, warmup=2) -> median milliseconds of fn()
    median_ms: Callable[..., float]
    # () -> whether timings measure the device (False under the Triton interpreter)
    on_gpu: Callable[[], bool]
    # (run, configs) -> None: compile run(config)'s kernels for every config ahead of timing
    # them (in parallel where the compiler allows); None: each compiles at its first launch
    precompile: Callable[[Callable, list], None] | None = None
