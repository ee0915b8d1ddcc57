"""Convolutions: ``Conv1d``/``2d``/``3d`` and ``ConvTranspose1d``/``2d``/``3d``."""
from __future__ import annotations

import math

from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import UninitializedParameter
from ._factory import empty_parameter, pair, single, triple
from .lazy import _LazyLayer
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d"]

_PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}


class _ConvNd(Module):
    """Shared state of the convolutions: weight (out, in/groups, *k) or, transposed,
    (in, out/groups, *k), and an optional bias."""


    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 dilation, transposed: bool, output_padding, groups: int, bias: bool,
                 padding_mode: str, device=None, dtype=None) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 f"{{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = self._padding_for_pad(padding)
        if transposed:
            shape = (in_channels, out_channels // groups, *kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size)
        self.weight = empty_parameter(shape, device, dtype)
        if bias:
            self.bias = empty_parameter((out_channels,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _padding_for_pad(self, padding) -> list:
        """``F.pad``'s padding list (last dim first, both sides) for non-zero padding modes."""
        n = len(self.kernel_size)
        if isinstance(padding, str):
            result = [0, 0] * n
            if padding == "same":
                for d, k, i in zip(self.dilation, self.kernel_size, range(n - 1, -1, -1)):
                    total = d * (k - 1)
                    left = total // 2
                    result[2 * i] = left
                    result[2 * i + 1] = total - left
            return result
        return [p for p in reversed(padding) for _ in range(2)]

    def reset_parameters(self) -> None:
        """Kaiming-uniform weight (a=√5) and bias uniform in ±1/√fan_in, like PyTorch."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        n = len(self.kernel_size)
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        conv = getattr(F, f"conv{len(self.kernel_size)}d")
        zero = (0,) * len(self.kernel_size)
        pads = self._reversed_padding_repeated_twice
        if self.padding_mode != "zeros":
            padded = F.pad(input, pads, mode=self.padding_mode)
            return conv(padded, weight, bias, self.stride, zero, self.dilation, self.groups)
        if isinstance(self.padding, str):
            # 'valid' is no padding; 'same' is symmetric integer padding (the left side),
            # and an odd total adds one element on the right explicitly, as PyTorch does
            lefts, rights = pads[0::2], pads[1::2]
            if lefts != rights:
                input = F.pad(input, [p for left, right in zip(lefts, rights)
                                      for p in (0, right - left)])
            return conv(input, weight, bias, self.stride, tuple(reversed(lefts)), self.dilation,
                        self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        """The convolution of ``input`` with ``weight`` (plus ``bias``)."""
        return self._conv_forward(input, self.weight, self.bias)


def _conv_args(tuple_fn, kernel_size, stride, padding, dilation) -> tuple:
    padding = padding if isinstance(padding, str) else tuple_fn(padding)
    return tuple_fn(kernel_size), tuple_fn(stride), padding, tuple_fn(dilation)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) inputs."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        kernel_size, stride, padding, dilation = _conv_args(single, kernel_size, stride,
                                                            padding, dilation)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, single(0), groups, bias, padding_mode, device, dtype)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) inputs."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        kernel_size, stride, padding, dilation = _conv_args(pair, kernel_size, stride,
                                                            padding, dilation)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, pair(0), groups, bias, padding_mode, device, dtype)


class Conv3d(_ConvNd):
    """3-D convolution over (N, C_in, D, H, W) inputs."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        kernel_size, stride, padding, dilation = _conv_args(triple, kernel_size, stride,
                                                            padding, dilation)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, triple(0), groups, bias, padding_mode, device, dtype)


class _ConvTransposeNd(_ConvNd):
    """Shared ``output_size`` handling of the transposed convolutions."""

    def _output_padding(self, input: Tensor, output_size, stride, padding, kernel_size,
                        num_spatial_dims: int, dilation) -> tuple:
        if output_size is None:
            return self.output_padding
        has_batch = input.dim() == num_spatial_dims + 2
        output_size = list(output_size)
        if len(output_size) == num_spatial_dims + (2 if has_batch else 1):
            output_size = output_size[-num_spatial_dims:]
        if len(output_size) != num_spatial_dims:
            raise ValueError(f"ConvTranspose{num_spatial_dims}D: for {input.dim()}D input, "
                             f"output_size must have {num_spatial_dims} or "
                             f"{num_spatial_dims + 2} elements (got {len(output_size)})")
        result = []
        for d in range(num_spatial_dims):
            dim_size = input.size(d + input.dim() - num_spatial_dims)
            min_size = ((dim_size - 1) * stride[d] - 2 * padding[d]
                        + dilation[d] * (kernel_size[d] - 1) + 1)
            max_size = min_size + stride[d] - 1
            if not min_size <= output_size[d] <= max_size:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {min_size} to {max_size} (for an input of "
                                 f"{list(input.shape[2:])})")
            result.append(output_size[d] - min_size)
        return tuple(result)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        """The transposed convolution; ``output_size`` picks the output padding."""
        if self.padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        n = len(self.kernel_size)
        output_padding = self._output_padding(input, output_size, self.stride, self.padding,
                                              self.kernel_size, n, self.dilation)
        conv_transpose = getattr(F, f"conv_transpose{n}d")
        return conv_transpose(input, self.weight, self.bias, self.stride, self.padding,
                              output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution (the gradient of ``Conv1d`` with respect to its input)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(in_channels, out_channels, single(kernel_size), single(stride),
                         single(padding), single(dilation), True, single(output_padding),
                         groups, bias, padding_mode, device, dtype)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution (the gradient of ``Conv2d`` with respect to its input)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(in_channels, out_channels, pair(kernel_size), pair(stride),
                         pair(padding), pair(dilation), True, pair(output_padding), groups,
                         bias, padding_mode, device, dtype)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution (the gradient of ``Conv3d`` with respect to its input)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(in_channels, out_channels, triple(kernel_size), triple(stride),
                         triple(padding), triple(dilation), True, triple(output_padding),
                         groups, bias, padding_mode, device, dtype)


# --- lazy convolutions: in_channels from the first input ------------------------------------
class _LazyConvXdMixin(_LazyLayer):
    """``in_channels`` from ``input.shape[1]`` (``[0]`` unbatched) of the first call."""

    _inferred = "in_channels"

    def _lazy_placeholders(self, out_channels: int, bias: bool, device, dtype) -> None:
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def initialize_parameters(self, input: Tensor, *args, **kwargs) -> None:
        """Infer ``in_channels``, materialize and initialize weight and bias."""
        if not self.has_uninitialized_params():
            return
        self.in_channels = self._get_in_channels(input)
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self._materialize(weight=shape, bias=(self.out_channels,))

    def _get_in_channels(self, input: Tensor) -> int:
        unbatched = len(self.kernel_size) + 1
        if input.dim() not in (unbatched, unbatched + 1):
            raise RuntimeError(f"Expected {unbatched}D (unbatched) or {unbatched + 1}D (batched) "
                               f"input to {type(self).__name__}, but got input of size: "
                               f"{list(input.shape)}")
        return input.shape[1] if input.dim() == unbatched + 1 else input.shape[0]


class _LazyConv(_LazyConvXdMixin):
    """The constructor of ``LazyConv1d``/``2d``/``3d`` (``Conv*d``'s without ``in_channels``)."""

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False,
                         padding_mode, device, dtype)
        self._lazy_placeholders(out_channels, bias, device, dtype)


class _LazyConvTranspose(_LazyConvXdMixin):
    """The constructor of ``LazyConvTranspose1d``/``2d``/``3d``."""

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False,
                         dilation, padding_mode, device, dtype)
        self._lazy_placeholders(out_channels, bias, device, dtype)


class LazyConv1d(_LazyConv, Conv1d):
    """A ``Conv1d`` whose ``in_channels`` comes from the first input; it then becomes a
    ``Conv1d`` (see ``LazyModuleMixin``)."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """A ``Conv2d`` whose ``in_channels`` comes from the first input; it then becomes a
    ``Conv2d``."""

    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """A ``Conv3d`` whose ``in_channels`` comes from the first input; it then becomes a
    ``Conv3d``."""

    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """A ``ConvTranspose1d`` whose ``in_channels`` comes from the first input; it then becomes
    a ``ConvTranspose1d``."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """A ``ConvTranspose2d`` whose ``in_channels`` comes from the first input; it then becomes
    a ``ConvTranspose2d``."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """A ``ConvTranspose3d`` whose ``in_channels`` comes from the first input; it then becomes
    a ``ConvTranspose3d``."""

    cls_to_become = ConvTranspose3d
