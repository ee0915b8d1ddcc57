"""``framework.accelerator``: the device-agnostic accelerator API (``torch.accelerator``).

framework's one accelerator type is ``cuda`` (a GPU, or Triton's interpreter).
"""
from __future__ import annotations

from . import cuda as _cuda
from .devices import device

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index",
           "synchronize"]


def is_available() -> bool:
    """True when a ``cuda`` device (GPU or the Triton interpreter) can be used."""
    return _cuda.is_available()


def current_accelerator(check_available: bool = False) -> "device | None":
    """The accelerator device type (``device(type='cuda')``), or None when there is none and
    ``check_available`` is set (framework always builds its ``cuda`` backend, so without the
    flag this is ``cuda``, as PyTorch reports its built-in accelerator)."""
    if check_available and not is_available():
        return None
    return device("cuda")


def device_count() -> int:
    """Number of accelerator devices (0 when none is available)."""
    return _cuda.device_count() if is_available() else 0


def current_device_index() -> int:
    """Index of the current accelerator device."""
    return _cuda.current_device()


def synchronize(device=None) -> None:
    """Wait for queued accelerator work to finish."""
    _cuda.synchronize(device)
