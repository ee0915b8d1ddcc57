"""``Unfold`` (im2col) and ``Fold`` (col2im): the layer forms of ``F.unfold`` / ``F.fold``."""
from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["Fold", "Unfold"]


class _SlidingBlocks(Module):
    """The arguments shared by ``Unfold`` and ``Fold``."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Unfold(_SlidingBlocks):
    """Every sliding ``kernel_size`` block of an (N, C, H, W) input as a column:
    (N, C·∏kernel_size, L), L the number of blocks (``F.unfold``)."""

    def forward(self, input: Tensor) -> Tensor:
        """``F.unfold`` with this module's arguments."""
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)


class Fold(_SlidingBlocks):
    """Sums (N, C·∏kernel_size, L) columns of sliding blocks into an (N, C, *output_size)
    image, overlaps added (``F.fold``, the adjoint of ``Unfold``)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        """``F.fold`` with this module's arguments."""
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, " + super().extra_repr()
