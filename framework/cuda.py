"""``framework.cuda``: is a ``cuda`` device available, how many, and synchronization."""
from __future__ import annotations

from .backends.triton import runtime


def is_available() -> bool:
    """True on a machine with an NVIDIA GPU, or when the Triton interpreter is switched on."""
    return runtime.mode() != "none"


def device_count() -> int:
    """Number of ``cuda`` devices (1 under the interpreter)."""
    return runtime.device_count()


def current_device() -> int:
    """Index of the current ``cuda`` device (always 0)."""
    runtime.require(0)
    return 0


def synchronize(device=None) -> None:
    """Wait until queued GPU work has finished."""
    runtime.synchronize()


def get_device_name(device=None) -> str:
    """Name of the GPU (or of the interpreter runtime)."""
    return runtime.device_name(0 if device is None else int(getattr(device, "index", device) or 0))


def get_device_capability(device=None) -> tuple:
    """Compute capability ``(major, minor)``."""
    return runtime.capability(0)


def is_interpreter() -> bool:
    """True when ``cuda`` tensors run on Triton's interpreter."""
    return runtime.mode() == "interpreter"


def manual_seed(seed: int) -> None:
    """Seed the ``cuda`` generator."""
    from .random import generator_for
    from .devices import device
    generator_for(device("cuda")).manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed the ``cuda`` generator (one per process)."""
    manual_seed(seed)


def empty_cache() -> None:
    """Return cached GPU memory to the driver."""
    if runtime.mode() == "gpu":
        from .backends.triton.memory import allocator
        allocator().empty_cache()


def memory_allocated(device=None) -> int:
    """Bytes held by live tensors on the GPU (0 under the interpreter)."""
    if runtime.mode() != "gpu":
        return 0
    from .backends.triton.memory import allocator
    return allocator().allocated_bytes


class _LegacyAmp:
    """``framework.cuda.amp``: the older spelling of ``framework.amp`` for cuda."""

    @staticmethod
    def autocast(enabled: bool = True, dtype=None, cache_enabled=None):
        """``framework.autocast("cuda", ...)``."""
        from .amp import autocast
        return autocast("cuda", dtype, enabled)

    @staticmethod
    def GradScaler(*args, **kwargs):  # noqa: N802 - PyTorch's name
        """``framework.amp.GradScaler("cuda", ...)``."""
        from .amp import GradScaler
        return GradScaler("cuda", *args, **kwargs)


amp = _LegacyAmp()
