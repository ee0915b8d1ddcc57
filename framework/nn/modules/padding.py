"""Padding layers (``torch.nn.ZeroPad2d``, ``ReflectionPad2d``, ...): ``F.pad`` with a padding
fixed at construction.

``padding`` is one int (the same on every side of the last N dims) or a tuple of 2N ints
``(left, right, top, bottom, front, back)``, last dim first, as ``F.pad`` takes it.
"""
from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from ._factory import _ntuple
from .module import Module

__all__ = [
    "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
    "CircularPad1d", "CircularPad2d", "CircularPad3d",
]


def _padding(padding, dims: int) -> tuple:
    """``padding`` as the 2 * ``dims`` tuple ``F.pad`` takes."""
    padding = _ntuple(2 * dims, "_padding")(padding)
    if len(padding) != 2 * dims:
        raise ValueError(f"expected {2 * dims} padding values (or one int), got {len(padding)}")
    return padding


class _PadNd(Module):
    """``F.pad(input, self.padding, mode)``; subclasses fix the mode and the number of dims."""

    mode = "constant"
    dims = 1

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _padding(padding, self.dims)

    def forward(self, input: Tensor) -> Tensor:
        """``input`` padded."""
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    """Pads with ``value``."""

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        """``input`` padded with ``value``."""
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with ``value``."""
    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pads the last 2 dims with ``value``."""
    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last 3 dims with ``value``."""
    dims = 3


class ZeroPad1d(ConstantPad1d):
    """Pads the last dim with zeros."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pads the last 2 dims with zeros."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pads the last 3 dims with zeros."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Mirrors the last dim at its edges (the edge not repeated)."""
    mode, dims = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Mirrors the last 2 dims at their edges (the edge not repeated)."""
    mode, dims = "reflect", 2


class ReflectionPad3d(_PadNd):
    """Mirrors the last 3 dims at their edges (the edge not repeated)."""
    mode, dims = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Repeats the edge values of the last dim."""
    mode, dims = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Repeats the edge values of the last 2 dims."""
    mode, dims = "replicate", 2


class ReplicationPad3d(_PadNd):
    """Repeats the edge values of the last 3 dims."""
    mode, dims = "replicate", 3


class CircularPad1d(_PadNd):
    """Wraps the last dim around."""
    mode, dims = "circular", 1


class CircularPad2d(_PadNd):
    """Wraps the last 2 dims around."""
    mode, dims = "circular", 2


class CircularPad3d(_PadNd):
    """Wraps the last 3 dims around."""
    mode, dims = "circular", 3
