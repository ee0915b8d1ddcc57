"""Pooling and resampling: max/avg/adaptive pooling, interpolate, pixel_shuffle, grid_sample.

Every pooling and interpolation op is computed as a 2-D op on an
``(N, C, H, W)`` tensor: unbatched ``(C, H, W)`` inputs get a batch dim of
1, and the 1-D ops view ``(N, C, L)`` as ``(N, C, 1, L)`` (views, no
copies), so one kernel serves both.

The op layer describes each spatial axis once, in pure Python, and the
kernels of both backends walk those descriptions:

* ``Windows`` (pooling): output ``o`` reads input positions
  ``start[o] + i * step`` for ``i < count[o]``; positions outside the input
  (padding) are skipped. ``divisor[o]`` is this axis' factor of the average
  pooling divisor (the divisor of output ``(oh, ow)`` is
  ``rows.divisor[oh] * cols.divisor[ow]``, unless ``divisor_override``).
* ``Samples`` (interpolation): output ``o`` blends input positions ``lo[o]``
  and ``hi[o]`` with weight ``weight[o]`` on ``hi`` (nearest: ``lo`` only).

3-D pooling and 5-D interpolation are separable: one pass of the 2-D kernels
over (H, W) with the depth slices as planes ``(N, C*D, H, W)``, then one over D
with the output pixels as columns ``(N, C, D, HO*WO)`` (an identity axis).
The average divisor and the trilinear weights are products of per-axis
factors, and the max over a box is the max over depth of the per-slice maxima
(first maximum in (d, h, w) order, as PyTorch), so both passes compose into
the 3-D op, and autograd composes their backward passes.

Backward passes are framework ops too: average pooling and interpolation are
linear, so their backward (a scatter-add kernel) has the forward as its own
backward and gradients of any order work. Max pooling's backward scatters
the gradient to the saved argmax (``indices``, flat per ``(n, c)`` plane as
in PyTorch), and that scatter's adjoint is a gather at the same indices, so
max pooling has gradients of any order too.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from .. import dtypes
from ..autograd.composite import one_node
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import backend, check_tensor, wrap
from .creation import ones_like, tensor
from .registry import register
from .shape import stack

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle"]  # exported as framework.<name>
FUNCTIONAL = [  # exported as framework.nn.functional.<name>
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "max_unpool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "interpolate",
    "pixel_shuffle", "pixel_unshuffle", "affine_grid", "grid_sample",
    "max_unpool1d", "max_unpool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices", "channel_shuffle", "lp_pool1d", "lp_pool2d",
    "lp_pool3d", "upsample", "upsample_nearest", "upsample_bilinear", "fractional_max_pool2d",
    "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d_with_indices",
]
TENSOR_METHODS: tuple = ()  # Tensor methods this module adds (framework/__init__.py)



# Axis descriptions handed to the kernels ----------------------------------------------
@dataclass(frozen=True)
class Windows:
    """Pooling windows along one axis (see the module docstring)."""

    start: tuple
    count: tuple
    step: int
    size: int  # the largest count: kernels loop over this many offsets
    divisor: tuple


@dataclass(frozen=True)
class Samples:
    """Interpolation sources along one axis: ``lo``, ``hi`` and the weight of ``hi``."""

    lo: tuple
    hi: tuple
    weight: tuple


def _pool_windows(out: int, kernel: int, stride: int, pad: int, dilation: int) -> Windows:
    """Max pooling windows: ``kernel`` positions ``dilation`` apart from ``o*stride - pad``."""
    starts = tuple(o * stride - pad for o in range(out))
    return Windows(starts, (kernel,) * out, dilation, kernel, (1.0,) * out)


def _avg_windows(size: int, out: int, kernel: int, stride: int, pad: int,
                 count_include_pad: bool) -> Windows:
    """Average pooling windows, clipped to the input; PyTorch's divisor factors."""
    starts, counts, divisors = [], [], []
    for o in range(out):
        begin = o * stride - pad
        end = min(begin + kernel, size + pad)
        padded = end - begin
        begin, end = max(begin, 0), min(end, size)
        starts.append(begin)
        counts.append(max(end - begin, 0))
        divisors.append(float(padded if count_include_pad else max(end - begin, 0)))
    return Windows(tuple(starts), tuple(counts), 1, kernel, tuple(divisors))


def _adaptive_windows(size: int, out: int) -> Windows:
    """PyTorch's adaptive windows: ``[floor(o*size/out), ceil((o+1)*size/out))``."""
    starts = tuple(o * size // out for o in range(out))
    ends = tuple(-(-(o + 1) * size // out) for o in range(out))
    counts = tuple(e - s for s, e in zip(starts, ends))
    return Windows(starts, counts, 1, max(counts, default=0), tuple(float(c) for c in counts))


def _float32(x: float) -> float:
    """``x`` rounded to float32 (PyTorch computes nearest-neighbour indices in float)."""
    return struct.unpack("f", struct.pack("f", x))[0]


def _nearest_samples(size: int, out: int, scale) -> Samples:
    """PyTorch's 'nearest': ``min(floor(o * s), size - 1)`` with ``s`` in float32."""
    s = _float32(1.0 / scale) if scale is not None and scale > 0 else _float32(size / out)
    lo = tuple(min(int(math.floor(_float32(o * s))), size - 1) for o in range(out))
    return Samples(lo, lo, (0.0,) * out)


def _linear_samples(size: int, out: int, align_corners: bool, scale) -> Samples:
    """PyTorch's linear interpolation sources (``area_pixel_compute_source_index``)."""
    if align_corners:
        s = (size - 1) / (out - 1) if out > 1 else 0.0
    else:
        s = 1.0 / scale if scale is not None and scale > 0 else size / out
    lo, hi, weight = [], [], []
    for o in range(out):
        src = s * o if align_corners else max(s * (o + 0.5) - 0.5, 0.0)
        first = min(int(math.floor(src)), size - 1)
        lo.append(first)
        hi.append(first + 1 if first < size - 1 else first)
        weight.append(min(max(src - first, 0.0), 1.0))
    return Samples(tuple(lo), tuple(hi), tuple(weight))


def _nearest_exact_samples(size: int, out: int, scale) -> Samples:
    """PyTorch's 'nearest-exact': ``min(floor((o + 0.5) * s), size - 1)``, ``s`` in float32."""
    s = _float32(1.0 / scale) if scale is not None and scale > 0 else _float32(size / out)
    lo = tuple(min(int(math.floor(_float32(_float32(o + 0.5) * s))), size - 1)
               for o in range(out))
    return Samples(lo, lo, (0.0,) * out)


def _identity_windows(size: int) -> Windows:
    """Windows of one element each: a pass that leaves this axis as it is."""
    return Windows(tuple(range(size)), (1,) * size, 1, 1, (1.0,) * size)


def _identity_samples(size: int) -> Samples:
    return Samples(tuple(range(size)), tuple(range(size)), (0.0,) * size)


# Argument checks -------------------------------------------------------------------
def _check_float(op: str, x: Tensor, integers: bool = False) -> None:
    """PyTorch's ``NotImplementedError`` for dtypes the op has no kernel for (floating types,
    plus int32/int64 where ``integers``)."""
    if x.dtype.is_floating_point or integers and x.dtype.name in ("int32", "int64"):
        return
    raise NotImplementedError(f'"{op}" not implemented for '
                              f"'{dtypes.scalar_type_name(x.dtype)}'")


def _int_tuple(op: str, name: str, value, n: int, allow_empty: bool = False) -> tuple:
    """An int or a sequence of 1 or ``n`` ints as an ``n``-tuple (PyTorch's _pair/_single)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    if isinstance(value, (tuple, list)) and all(isinstance(v, int) and not isinstance(v, bool)
                                                for v in value):
        if len(value) == n:
            return tuple(value)
        if len(value) == 1:
            return (value[0],) * n
        if allow_empty and len(value) == 0:
            return ()
    what = "a single int" if n == 1 else f"a single int, or a tuple of {('two', 'three')[n - 2]} ints"
    raise RuntimeError(f"{op}: {name} must either be {what}")


def _check_pool_input(op: str, x, spatial: int, integers: bool = False) -> None:
    """Input of a 1-D (``spatial=1``) or 2-D pooling: PyTorch's ndim/emptiness checks."""
    check_tensor(op, "input", x)
    lo, hi = spatial + 1, spatial + 2
    ok = x.ndim in (lo, hi) and all(s > 0 for s in x.shape[x.ndim - lo + 1:]) \
        and (x.ndim == hi or x.shape[0] > 0)
    if not ok:
        raise RuntimeError(f"{op}: Expected {lo}D or {hi}D (batch mode) tensor with optional "
                           f"0 dim batch size for input, but got:{list(x.shape)}")
    _check_float(op, x, integers)


def _output_size(size: int, kernel: int, pad: int, stride: int, dilation: int,
                 ceil_mode: bool) -> int:
    """PyTorch's ``pooling_output_shape``."""
    out = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) \
        // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _check_pool_params(op: str, kernel: tuple, stride: tuple, pad: tuple, dilation: tuple) -> None:
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{op}: kernel size should be greater than zero, but got {kernel}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: stride should not be zero or negative, but got {stride}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got {dilation}")
    if any(p < 0 for p in pad):
        raise RuntimeError(f"{op}: pad must be non-negative, but got {pad}")
    for k, p, d in zip(kernel, pad, dilation):
        if p > k // 2:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but "
                               f"got pad={p}, kernel_size={k} and dilation={d}")


def _pool_params(op: str, spatial: int, kernel_size, stride, padding, dilation) -> tuple:
    """(kernel, stride, pad, dilation) as (H, W) pairs, checked; stride ``None`` or empty
    means ``kernel_size``; 1-D ops get a kernel of 1 and no padding along H."""
    kernel = _int_tuple(op, "kernel_size", kernel_size, spatial)
    stride = () if stride is None else _int_tuple(op, "stride", stride, spatial, allow_empty=True)
    stride = stride or kernel
    pad = _int_tuple(op, "padding", padding, spatial)
    dilation = _int_tuple(op, "dilation", dilation, spatial)
    if spatial == 1:
        kernel, stride, pad, dilation = (1,) + kernel, (1,) + stride, (0,) + pad, (1,) + dilation
    _check_pool_params(op, kernel, stride, pad, dilation)  # 3-D ops get triples
    return kernel, stride, pad, dilation


def _check_output(op: str, x4: Tensor, out_hw: tuple) -> None:
    if any(o < 1 for o in out_hw):
        _, c, h, w = x4.shape
        raise RuntimeError(f"{op}: Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{out_hw[0]}x{out_hw[1]}). Output size is too small")


# 4-D views in, original layout out -------------------------------------------------
def _as_4d(x: Tensor, spatial: int) -> Tensor:
    """``x`` viewed as (N, C, H, W): a batch dim for unbatched input, H=1 for 1-D ops."""
    if x.ndim == spatial + 1:
        x = x.unsqueeze(0)
    if spatial == 1:
        x = x.unsqueeze(2)
    return x


def _from_4d(y: Tensor, x: Tensor, spatial: int) -> Tensor:
    """Undo ``_as_4d`` on a result."""
    if spatial == 1:
        y = y.squeeze(2)
    if x.ndim == spatial + 1:
        y = y.squeeze(0)
    return y


# Autograd Functions ----------------------------------------------------------------
class MaxPool(Function):
    """Max over windows; returns (values, indices) with flat per-plane argmax indices."""

    @staticmethod
    def forward(ctx, x, rows, cols, node_name=None):
        if node_name is not None:  # the public op's own node (max_pool2d: no replay)
            ctx.node_name = node_name
        values, indices = backend(x).pool_max2d(x._a, rows, cols)
        values, indices = wrap(values, x.device), wrap(indices, x.device)
        ctx.in_shape = tuple(x.shape)
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, grad, _grad_indices):
        (indices,) = ctx.saved_tensors
        return MaxPoolBackward.apply(grad, indices, ctx.in_shape), None, None, None


class MaxPoolBackward(Function):
    """Scatter-add of ``grad`` to the input positions in ``indices`` (its adjoint is the
    gather ``MaxPoolGather``, so second derivatives work)."""

    @staticmethod
    def forward(ctx, grad, indices, in_shape):
        ctx.save_for_backward(indices)
        out = backend(grad).pool_max2d_backward(grad._a, indices._a, tuple(in_shape[2:]))
        return wrap(out, grad.device)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        return MaxPoolGather.apply(grad, indices), None, None


class MaxPoolGather(Function):
    """``x`` read at each plane's ``indices`` (the adjoint of ``MaxPoolBackward``)."""

    @staticmethod
    def forward(ctx, x, indices):
        ctx.in_shape = tuple(x.shape)
        ctx.save_for_backward(indices)
        return wrap(backend(x).pool_max2d_gather(x._a, indices._a), x.device)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        return MaxPoolBackward.apply(grad, indices, ctx.in_shape), None


class AvgPool(Function):
    """Window sums divided by PyTorch's divisor (linear in ``x``)."""

    @staticmethod
    def forward(ctx, x, rows, cols, divisor_override):
        ctx.args = (rows, cols, divisor_override, tuple(x.shape[2:]))
        return wrap(backend(x).pool_avg2d(x._a, rows, cols, divisor_override), x.device)

    @staticmethod
    def backward(ctx, grad):
        rows, cols, override, in_hw = ctx.args
        return AvgPoolBackward.apply(grad, rows, cols, override, in_hw), None, None, None


class AvgPoolBackward(Function):
    """The adjoint of ``AvgPool``: each output's grad / divisor spread over its window."""

    @staticmethod
    def forward(ctx, grad, rows, cols, divisor_override, in_hw):
        ctx.args = (rows, cols, divisor_override)
        out = backend(grad).pool_avg2d_backward(grad._a, rows, cols, divisor_override, in_hw)
        return wrap(out, grad.device)

    @staticmethod
    def backward(ctx, grad):
        return (AvgPool.apply(grad, *ctx.args),) + (None,) * 4


class Interpolate(Function):
    """Nearest or (bi)linear resampling by per-axis ``Samples`` (linear in ``x``)."""

    @staticmethod
    def forward(ctx, x, rows, cols, nearest):
        ctx.args = (rows, cols, nearest, tuple(x.shape[2:]))
        return wrap(backend(x).interp2d(x._a, rows, cols, nearest), x.device)

    @staticmethod
    def backward(ctx, grad):
        rows, cols, nearest, in_hw = ctx.args
        return InterpolateBackward.apply(grad, rows, cols, nearest, in_hw), None, None, None


class InterpolateBackward(Function):
    """The adjoint of ``Interpolate``: each output's grad added to its (up to 4) sources."""

    @staticmethod
    def forward(ctx, grad, rows, cols, nearest, in_hw):
        ctx.args = (rows, cols, nearest)
        out = backend(grad).interp2d_backward(grad._a, rows, cols, nearest, in_hw)
        return wrap(out, grad.device)

    @staticmethod
    def backward(ctx, grad):
        return (Interpolate.apply(grad, *ctx.args),) + (None,) * 4


# Max pooling -----------------------------------------------------------------------
def _max_pool(op: str, spatial: int, input, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices):
    _check_pool_input(op, input, spatial, integers=spatial == 2)  # as PyTorch's CPU kernels
    kernel, stride, pad, dilation = _pool_params(op, spatial, kernel_size, stride, padding,
                                                 dilation)
    x4 = _as_4d(input, spatial)
    out_hw = tuple(_output_size(x4.shape[2 + a], kernel[a], pad[a], stride[a], dilation[a],
                                ceil_mode) for a in range(2))
    _check_output(op, x4, out_hw)
    rows, cols = (_pool_windows(out_hw[a], kernel[a], stride[a], pad[a], dilation[a])
                  for a in range(2))
    # a batched max_pool2d is one MaxPool node under the public op's name (_max_pool2d_node)
    name = "MaxPool2DWithIndicesBackward0" if op == "max_pool2d" and x4 is input else None
    values, indices = MaxPool.apply(x4, rows, cols, name)
    values, indices = _from_4d(values, input, spatial), _from_4d(indices, input, spatial)
    return (values, indices) if return_indices else values


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-D max pooling over ``(N, C, L)`` or ``(C, L)``; with ``return_indices`` also the argmax."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _max_pool2d_node(args: tuple, kwargs: dict):
    """max_pool2d's graph node: a batched input's op records its one ``MaxPool`` node under
    this name itself (None: no replay); an unbatched one is replayed over its views."""
    x = args[0] if args else kwargs.get("input")
    return None if isinstance(x, Tensor) and x.ndim == 4 else "MaxPool2DWithIndicesBackward0"


@one_node(_max_pool2d_node)
def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling over ``(N, C, H, W)`` or ``(C, H, W)`` (floating types, int32, int64);
    indices are flat per plane."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _check_output3(op: str, x5: Tensor, out: tuple) -> None:
    if any(o < 1 for o in out):
        _, c, d, h, w = x5.shape
        raise RuntimeError(f"{op}: Given input size: ({c}x{d}x{h}x{w}). Calculated output size: "
                           f"({c}x{out[0]}x{out[1]}x{out[2]}). Output size is too small")


def _pool3d_input(op: str, input, kernel_size, stride, padding, dilation, ceil_mode,
                  integers: bool = False) -> tuple:
    """Checks of a 3-D pooling; returns (batched input, kernel, stride, pad, output size)."""
    _check_pool_input(op, input, 3, integers)
    kernel, stride, pad, dilation = _pool_params(op, 3, kernel_size, stride, padding, dilation)
    x5 = input if input.ndim == 5 else input.unsqueeze(0)
    out = tuple(_output_size(x5.shape[2 + a], kernel[a], pad[a], stride[a], dilation[a],
                             ceil_mode) for a in range(3))
    _check_output3(op, x5, out)
    return x5, kernel, stride, pad, dilation, out


def _unbatch(y: Tensor, input: Tensor, spatial: int) -> Tensor:
    return y.squeeze(0) if input.ndim == spatial + 1 else y


@one_node("MaxPool3DWithIndicesBackward0")
def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """3-D max pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``; indices are flat per
    ``(n, c)`` volume (``d*H*W + h*W + w``). Two passes: (H, W), then D."""
    op = "max_pool3d"
    x5, kernel, stride, pad, dilation, out = _pool3d_input(op, input, kernel_size, stride,
                                                           padding, dilation, ceil_mode, True)
    axes = [_pool_windows(out[a], kernel[a], stride[a], pad[a], dilation[a]) for a in range(3)]
    return _max3d(x5, axes, out, input, return_indices)


def _max3d(x5: Tensor, axes: list, out: tuple, input: Tensor, return_indices: bool):
    """The max over per-axis ``Windows`` of (N, C, D, H, W) ``x5``: (H, W), then D; indices
    flat per volume. ``input`` (maybe unbatched) gives the result's batch dim."""
    n, c, d, h, w = x5.shape
    plane = out[1] * out[2]
    slices, slice_indices = MaxPool.apply(x5.reshape(n, c * d, h, w), axes[1], axes[2])
    values, depth_indices = MaxPool.apply(slices.reshape(n, c, d, plane), axes[0],
                                          _identity_windows(plane))
    values = _unbatch(values.reshape((n, c) + out), input, 3)
    if not return_indices:
        return values
    depth = depth_indices // plane  # the winning slice of each output
    within = slice_indices.reshape(n, c, d, plane).gather(2, depth)
    indices = (depth * (h * w) + within).reshape((n, c) + out)
    return values, _unbatch(indices, input, 3)


def _max_unpool(op: str, spatial: int, input: Tensor, indices: Tensor, kernel_size, stride,
                padding, output_size) -> Tensor:
    """``input`` written at the flat per-(n, c) ``indices`` of a zero output of ``spatial``
    dims, each (in - 1)*stride - 2*padding + kernel unless ``output_size`` says otherwise."""
    from . import creation
    from .indexing import scatter
    check_tensor(op, "input", input)
    check_tensor(op, "indices", indices)
    if indices.dtype.name != "int64":
        names = {"int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                 "bool": "Bool"}
        got = names.get(indices.dtype.name, indices.dtype.name.capitalize())
        raise RuntimeError(f"elements in indices should be type int64 but got: {got}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{op}: Expected {spatial + 1}D or {spatial + 2}D input, but got: "
                           f"{list(input.shape)}")
    kernel = _int_tuple(op, "kernel_size", kernel_size, spatial)
    stride = kernel if stride is None else _int_tuple(op, "stride", stride, spatial)
    pad = _int_tuple(op, "padding", padding, spatial)
    default = tuple((input.shape[a - spatial] - 1) * stride[a] - 2 * pad[a] + kernel[a]
                    for a in range(spatial))
    size = default if output_size is None else _unpool_size(output_size, default, stride,
                                                            input.ndim)
    batched = input.ndim == spatial + 2
    x = input if batched else input.unsqueeze(0)
    idx = indices if batched else indices.unsqueeze(0)
    n, c = x.shape[:2]
    zeros = creation.zeros((n, c, math.prod(size)), dtype=x.dtype, device=x.device)
    out = scatter(zeros, 2, idx.reshape(n, c, -1), x.reshape(n, c, -1))
    return _unbatch(out.reshape(n, c, *size), input, spatial)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The inverse of ``max_pool1d``: ``input`` written at ``indices`` of a zero (N, C, L)
    output (zeros elsewhere). Backward gathers at the same indices."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


@one_node("MaxUnpool2DBackward0")
def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The inverse of ``max_pool2d``: ``input`` written at the flat per-plane ``indices``
    of a zero (N, C, H, W) output, H = (H_in - 1)*stride - 2*padding + kernel_size unless
    ``output_size`` says otherwise. Backward gathers at the same indices."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The inverse of ``max_pool3d``: ``input`` written at the flat per-volume ``indices`` of
    a zero (N, C, D, H, W) output."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                       output_size)


def _unpool_size(output_size, default: tuple, stride: tuple, ndim: int) -> tuple:
    """PyTorch's ``_unpool_output_size``: the last spatial entries, within ``default ±
    stride``."""
    spatial = len(default)
    sizes = tuple(int(s) for s in output_size)
    if len(sizes) == ndim:
        sizes = sizes[-spatial:]
    if len(sizes) != spatial:
        raise ValueError(f"output_size should be a sequence containing {spatial} or {ndim} "
                         f"elements, but it has a length of '{len(sizes)}'")
    for a in range(spatial):
        low, high = default[a] - stride[a], default[a] + stride[a]
        if not low < sizes[a] < high:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {a} must be '
                             f"between {low} and {high})")
    return sizes


# Average pooling -------------------------------------------------------------------
def _avg_pool(op: str, spatial: int, input, kernel_size, stride, padding, ceil_mode,
              count_include_pad, divisor_override):
    _check_pool_input(op, input, spatial)
    kernel, stride, pad, _ = _pool_params(op, spatial, kernel_size, stride, padding, 1)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor must be not zero")
    x4 = _as_4d(input, spatial)
    out_hw = tuple(_output_size(x4.shape[2 + a], kernel[a], pad[a], stride[a], 1, ceil_mode)
                   for a in range(2))
    _check_output(op, x4, out_hw)
    rows, cols = (_avg_windows(x4.shape[2 + a], out_hw[a], kernel[a], stride[a], pad[a],
                               count_include_pad) for a in range(2))
    override = None if divisor_override is None else float(divisor_override)
    return _from_4d(AvgPool.apply(x4, rows, cols, override), input, spatial)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling over ``(N, C, L)`` or ``(C, L)``."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


@one_node("AvgPool2DBackward0")
def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """2-D average pooling over ``(N, C, H, W)`` or ``(C, H, W)``."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


@one_node("AvgPool3DBackward0")
def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """3-D average pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``: window sums over
    (H, W), then over D, divided by PyTorch's divisor (a product of per-axis factors)."""
    op = "avg_pool3d"
    x5, kernel, stride, pad, _, out = _pool3d_input(op, input, kernel_size, stride, padding, 1,
                                                    ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor must be not zero")
    axes = [_avg_windows(x5.shape[2 + a], out[a], kernel[a], stride[a], pad[a],
                         count_include_pad) for a in range(3)]
    override = None if divisor_override is None else float(divisor_override)
    return _avg3d(x5, axes, out, input, override)


def _avg3d(x5: Tensor, axes: list, out: tuple, input: Tensor, override) -> Tensor:
    """The average over per-axis ``Windows`` of (N, C, D, H, W) ``x5``: (H, W), then D.
    With a divisor ``override`` the first pass only sums (divisor 1), the second divides."""
    n, c, d, h, w = x5.shape
    slices = AvgPool.apply(x5.reshape(n, c * d, h, w), axes[1], axes[2],
                           None if override is None else 1.0)
    plane = out[1] * out[2]
    y = AvgPool.apply(slices.reshape(n, c, d, plane), axes[0], _identity_windows(plane), override)
    return _unbatch(y.reshape((n, c) + out), input, 3)


# Adaptive pooling ------------------------------------------------------------------
def _adaptive_size(op: str, input: Tensor, output_size, spatial: int) -> tuple:
    """The output size: an int or a sequence (``None`` keeps the input size)."""
    if isinstance(output_size, int) and not isinstance(output_size, bool):
        sizes = (output_size,) * spatial
    elif isinstance(output_size, (tuple, list)):
        sizes = tuple(output_size)
        if len(sizes) != spatial:
            raise RuntimeError(f"{op}: argument 'output_size' should contain "
                               f"{('one int', 'two ints', 'three ints')[spatial - 1]} "
                               f"(got {len(sizes)})")
    else:
        raise TypeError(f"{op}: argument 'output_size' must be int or tuple of ints, not "
                        f"{type(output_size).__name__}")
    in_sizes = input.shape[input.ndim - spatial:]
    sizes = tuple(i if s is None else s for s, i in zip(sizes, in_sizes))
    if any(not isinstance(s, int) or isinstance(s, bool) for s in sizes):
        raise TypeError(f"{op}: argument 'output_size' must be int or tuple of ints")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0 "
                           f"but received {list(sizes)}")
    return sizes


def _check_adaptive_input(op: str, x, spatial: int) -> None:
    check_tensor(op, "input", x)
    lo, hi = spatial + 1, spatial + 2
    if x.ndim not in (lo, hi) or any(s == 0 for s in x.shape[x.ndim - spatial:]):
        raise RuntimeError(f"{op}: Expected {lo}D or {hi}D tensor with non-zero spatial sizes, "
                           f"but got {list(x.shape)}")
    _check_float(op, x)


def _adaptive(op: str, spatial: int, input, output_size):
    """Checks, 4-D view and per-axis windows of an adaptive pooling."""
    _check_adaptive_input(op, input, spatial)
    sizes = _adaptive_size(op, input, output_size, spatial)
    out_hw = (1,) + sizes if spatial == 1 else sizes
    x4 = _as_4d(input, spatial)
    rows, cols = (_adaptive_windows(x4.shape[2 + a], out_hw[a]) for a in range(2))
    return x4, rows, cols


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """1-D adaptive average pooling to ``output_size`` over ``(N, C, L)`` or ``(C, L)``."""
    x4, rows, cols = _adaptive("adaptive_avg_pool1d", 1, input, output_size)
    return _from_4d(AvgPool.apply(x4, rows, cols, None), input, 1)


def _adaptive_avg_name(args, kwargs):
    """PyTorch takes a mean for a 1x1 output, else its adaptive pooling node."""
    size = kwargs.get("output_size", args[1] if len(args) > 1 else None)
    return "MeanBackward1" if size in (1, (1, 1), [1, 1]) else "AdaptiveAvgPool2DBackward0"


@one_node(_adaptive_avg_name)
def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """2-D adaptive average pooling to ``output_size`` (int, pair, ``None`` keeps a size)."""
    x4, rows, cols = _adaptive("adaptive_avg_pool2d", 2, input, output_size)
    return _from_4d(AvgPool.apply(x4, rows, cols, None), input, 2)


def _adaptive_max(op: str, spatial: int, input, output_size, return_indices):
    x4, rows, cols = _adaptive(op, spatial, input, output_size)
    values, indices = MaxPool.apply(x4, rows, cols)
    values, indices = _from_4d(values, input, spatial), _from_4d(indices, input, spatial)
    return (values, indices) if return_indices else values


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """1-D adaptive max pooling; with ``return_indices`` also the argmax positions."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """2-D adaptive max pooling; with ``return_indices`` also the flat per-plane argmax."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def _adaptive3d(op: str, input, output_size) -> tuple:
    """Checks of a 3-D adaptive pooling: (batched input, per-axis windows, output size)."""
    _check_adaptive_input(op, input, 3)
    out = _adaptive_size(op, input, output_size, 3)
    x5 = input if input.ndim == 5 else input.unsqueeze(0)
    return x5, [_adaptive_windows(x5.shape[2 + a], out[a]) for a in range(3)], out


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """3-D adaptive average pooling to ``output_size`` over ``(N, C, D, H, W)`` or
    ``(C, D, H, W)`` (separable: (H, W), then D)."""
    x5, axes, out = _adaptive3d("adaptive_avg_pool3d", input, output_size)
    return _avg3d(x5, axes, out, input, None)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """3-D adaptive max pooling; with ``return_indices`` also the flat per-volume argmax."""
    x5, axes, out = _adaptive3d("adaptive_max_pool3d", input, output_size)
    return _max3d(x5, axes, out, input, return_indices)


def _with_indices(name: str, pool):
    """PyTorch's ``<pool>_with_indices``: ``pool`` with ``return_indices=True``."""
    def with_indices(*args, **kwargs):
        kwargs["return_indices"] = True
        return pool(*args, **kwargs)
    with_indices.__name__ = with_indices.__qualname__ = name
    with_indices.__doc__ = f"``{pool.__name__}`` returning (values, indices)."
    return with_indices


max_pool1d_with_indices = _with_indices("max_pool1d_with_indices", max_pool1d)
max_pool2d_with_indices = _with_indices("max_pool2d_with_indices", max_pool2d)
max_pool3d_with_indices = _with_indices("max_pool3d_with_indices", max_pool3d)
adaptive_max_pool1d_with_indices = _with_indices("adaptive_max_pool1d_with_indices",
                                                 adaptive_max_pool1d)
adaptive_max_pool2d_with_indices = _with_indices("adaptive_max_pool2d_with_indices",
                                                 adaptive_max_pool2d)
adaptive_max_pool3d_with_indices = _with_indices("adaptive_max_pool3d_with_indices",
                                                 adaptive_max_pool3d)


# interpolate -----------------------------------------------------------------------
_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_SPATIAL = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _interp_sizes(input: Tensor, size, scale_factor, recompute_scale_factor) -> tuple:
    """(output sizes, scales passed to the kernels) like ``torch.nn.functional.interpolate``."""
    dim = input.ndim - 2
    in_sizes = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError("Input and output must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of {in_sizes}"
                                 f" and output size of {size}. Please provide input tensor in "
                                 "(N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,"
                                 "oK) format.")
            sizes = tuple(size)
        else:
            sizes = (size,) * dim
        return tuple(int(s) for s in sizes), (None,) * dim
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != dim:
            raise ValueError("Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of {in_sizes} "
                             f"and scale_factor of shape {scale_factor}. Please provide input "
                             "tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, "
                             "s2, ...,sK) format.")
        scales = tuple(float(s) for s in scale_factor)
    else:
        scales = (float(scale_factor),) * dim
    sizes = tuple(math.floor(float(i) * s) for i, s in zip(in_sizes, scales))
    return sizes, ((None,) * dim if recompute_scale_factor else scales)


def _interpolate_name(args, kwargs):
    """PyTorch's node for ``interpolate`` of a 4-d or 5-d input: ``Upsample<Mode><2|3>DBackward0``."""
    mode = kwargs.get("mode", args[3] if len(args) > 3 else "nearest")
    names = {4: {"nearest": "UpsampleNearest2DBackward0", "bilinear": "UpsampleBilinear2DBackward0",
                 "bicubic": "UpsampleBicubic2DBackward0",
                 "nearest-exact": "UpsampleNearestExact2DBackward0"},
             5: {"nearest": "UpsampleNearest3DBackward0", "trilinear": "UpsampleTrilinear3DBackward0",
                 "nearest-exact": "UpsampleNearestExact3DBackward0"}}
    return names.get(args[0].ndim, {}).get(mode)


@one_node(_interpolate_name)
def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners=None, recompute_scale_factor=None, antialias: bool = False) -> Tensor:
    """Resample ``(N, C, L)`` (modes 'nearest', 'nearest-exact', 'linear'), ``(N, C, H, W)``
    ('nearest', 'nearest-exact', 'bilinear', 'bicubic') or ``(N, C, D, H, W)`` ('nearest',
    'nearest-exact', 'trilinear') to ``size`` or by ``scale_factor``, with PyTorch's index
    rules. 5-D inputs run as a (H, W) pass, then a D pass."""
    check_tensor("interpolate", "input", input)
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported")
    if mode in ("nearest", "nearest-exact") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented")
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.ndim}D) for the modes: nearest | linear | bilinear | "
                                  f"trilinear (got {mode})")
    if mode in _SPATIAL and input.ndim != _SPATIAL[mode] + 2:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                  f"{_SPATIAL[mode] + 2}D input")
    if mode == "area" and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    _check_float("interpolate", input)
    sizes, scales = _interp_sizes(input, size, scale_factor, recompute_scale_factor)
    if mode == "area":
        return _area(input, sizes)
    in_sizes = tuple(input.shape[2:])
    if any(s <= 0 for s in in_sizes + sizes):
        names = ("D", "H", "W")[3 - len(sizes):]
        given = ", ".join(f"{n}: {s}" for n, s in zip(names, in_sizes))
        wanted = ", ".join(f"{n}: {s}" for n, s in zip(names, sizes))
        raise RuntimeError("interpolate: Input and output sizes should be greater than 0, but "
                           f"got input ({given}) output ({wanted})")
    if mode == "bicubic":
        return _bicubic(input, sizes, bool(align_corners), scales)
    nearest = mode in ("nearest", "nearest-exact")
    axes = [_samples(mode, in_sizes[a], sizes[a], bool(align_corners), scales[a])
            for a in range(len(sizes))]
    if input.ndim == 3:
        return Interpolate.apply(input.unsqueeze(2), _identity_samples(1), axes[0],
                                 nearest).squeeze(2)
    if input.ndim == 4:
        return Interpolate.apply(input, axes[0], axes[1], nearest)
    n, c, d, h, w = input.shape
    slices = Interpolate.apply(input.reshape(n, c * d, h, w), axes[1], axes[2], nearest)
    plane = sizes[1] * sizes[2]
    out = Interpolate.apply(slices.reshape(n, c, d, plane), axes[0], _identity_samples(plane),
                            nearest)
    return out.reshape((n, c) + sizes)


_CUBIC_A = -0.75  # PyTorch's bicubic convolution parameter


def _cubic_weights(t: float) -> tuple:
    """The four cubic-convolution weights of the taps at -1, 0, 1, 2 from a source ``t`` past
    its floor (PyTorch's ``get_cubic_upsample_coefficients``)."""
    a = _CUBIC_A

    def near(x: float) -> float:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: float) -> float:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _cubic_taps(size: int, out: int, align_corners: bool, scale) -> tuple:
    """``(indices, weights)``: for each of the four taps a list over the outputs of its source
    index (clamped to the input, as PyTorch reads the border) and its weight; the source
    position is PyTorch's unclamped cubic one (``area_pixel_compute_source_index``)."""
    if align_corners:
        step = (size - 1) / (out - 1) if out > 1 else 0.0
    else:
        step = 1.0 / scale if scale is not None and scale > 0 else size / out
    indices, weights = ([], [], [], []), ([], [], [], [])
    for o in range(out):
        source = step * o if align_corners else step * (o + 0.5) - 0.5
        first = math.floor(source)
        for k, w in enumerate(_cubic_weights(source - first)):
            indices[k].append(min(max(first - 1 + k, 0), size - 1))
            weights[k].append(w)
    return indices, weights


def _cubic_axis(x: Tensor, dim: int, indices: tuple, weights: tuple) -> Tensor:
    """``x`` resampled along ``dim``: the four taps of every output gathered at once (one
    gather of the tap-major indices, which are in range by construction: no bounds check, so
    no host sync), weighted and summed over the taps (gather, mul and sum: their gradients
    and both backends)."""
    from .indexing import _Gather, _spread
    out = len(weights[0])
    index = tensor([i for tap in indices for i in tap], device=x.device)
    gathered = tuple(x.shape[:dim]) + (4 * out,) + tuple(x.shape[dim + 1:])
    taps = _Gather.apply(x, dim, _spread(index, gathered, dim))
    split = tuple(x.shape[:dim]) + (4, out) + tuple(x.shape[dim + 1:])
    weight = tensor(list(weights), dtype=x.dtype, device=x.device)
    weight = weight.reshape((1,) * dim + (4, out) + (1,) * (x.ndim - dim - 1))
    return (taps.reshape(split) * weight).sum(dim)


def _bicubic(input: Tensor, sizes: tuple, align_corners: bool, scales: tuple) -> Tensor:
    """``mode='bicubic'`` of ``(N, C, H, W)``: the separable 4 x 4 cubic convolution, along W
    then H, with PyTorch's source positions, weights and border clamping."""
    out = input
    for dim in (3, 2):
        axis = dim - 2
        out = _cubic_axis(out, dim, *_cubic_taps(input.shape[dim], sizes[axis], align_corners,
                                                 scales[axis]))
    return out


def _area(input: Tensor, sizes: tuple) -> Tensor:
    """``mode='area'``: adaptive average pooling to ``sizes`` (as PyTorch computes it)."""
    if input.ndim == 3:
        return adaptive_avg_pool1d(input, sizes)
    if input.ndim == 4:
        return adaptive_avg_pool2d(input, sizes)
    raise NotImplementedError("interpolate: mode 'area' is not implemented for 5-D inputs")


def _samples(mode: str, size: int, out: int, align_corners: bool, scale) -> Samples:
    """The sources of one axis for ``mode``."""
    if mode == "nearest":
        return _nearest_samples(size, out, scale)
    if mode == "nearest-exact":
        return _nearest_exact_samples(size, out, scale)
    return _linear_samples(size, out, align_corners, scale)


# pixel_shuffle ---------------------------------------------------------------------
def _check_shuffle(op: str, input, factor, what: str) -> None:
    check_tensor(op, "input", input)
    if not isinstance(factor, int) or isinstance(factor, bool):
        raise TypeError(f"{op}(): argument '{what}' must be int, not {type(factor).__name__}")
    if input.ndim < 3:
        raise RuntimeError(f"{op} expects input to have at least 3 dimensions, but got input "
                           f"with {input.ndim} dimension(s)")
    if factor <= 0:
        raise RuntimeError(f"{op} expects a positive {what}, but got {factor}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): a reshape, a permute and a reshape."""
    _check_shuffle("pixel_shuffle", input, upscale_factor, "upscale_factor")
    r = upscale_factor
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible"
                           f" by the square of upscale_factor, but input.size(-3)={c} is not "
                           f"divisible by {r * r}")
    lead = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)
    x = x.permute(*range(lead), lead, lead + 3, lead + 1, lead + 4, lead + 2)
    return x.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W), the inverse of ``pixel_shuffle``."""
    _check_shuffle("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    r = downscale_factor
    *batch, c, h, w = input.shape
    for name, size, dim in (("height", h, -2), ("width", w, -1)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by "
                               f"downscale_factor, but input.size({dim})={size} is not "
                               f"divisible by {r}")
    lead = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    x = x.permute(*range(lead), lead, lead + 2, lead + 4, lead + 1, lead + 3)
    return x.reshape(*batch, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, C, *) -> (N, C, *) with the channels regrouped: viewed as (groups, C/groups), then
    transposed (ShuffleNet's channel shuffle)."""
    op = "channel_shuffle"
    check_tensor(op, "input", input)
    if input.ndim <= 2:
        raise RuntimeError(f"{op} expects input with > 2 dims, but got input with sizes "
                           f"{list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    grouped = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return grouped.reshape(tuple(input.shape))


# Power-average pooling ---------------------------------------------------------------
def _lp_pool(spatial: int, input: Tensor, norm_type, kernel_size, stride, ceil_mode) -> Tensor:
    """PyTorch's composite: (sum of x^p over each window)^(1/p), through the average pooling
    of x^p; p = ±inf is a max pooling of |x|. A window whose sum is 0 has gradient 0."""
    from .unary import relu
    op = f"lp_pool{spatial}d"
    max_pool = (max_pool1d, max_pool2d, max_pool3d)[spatial - 1]
    avg_pool = (avg_pool1d, avg_pool2d, avg_pool3d)[spatial - 1]
    check_tensor(op, "input", input)
    window = math.prod(_int_tuple(op, "kernel_size", kernel_size, spatial))
    if isinstance(norm_type, (int, float)) and math.isinf(norm_type):
        sign = 1 if norm_type > 0 else -1
        return sign * max_pool(sign * input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(window).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """1-D power-average pooling: the ``norm_type``-norm of each window of ``(N, C, L)``."""
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """2-D power-average pooling: the ``norm_type``-norm of each window of ``(N, C, H, W)``."""
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """3-D power-average pooling: the ``norm_type``-norm of each window of
    ``(N, C, D, H, W)``."""
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode)


# Fractional max pooling ------------------------------------------------------------
_AXIS_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}


def _fractional_starts(samples: Tensor, size: int, out: int, pool: int) -> Tensor:
    """(N, C, out) window starts from (N, C) ``samples`` u: ``floor((i + u)·α) - floor(u·α)``,
    α = (size - pool)/(out - 1), the last one ``size - pool`` (PyTorch's generate_intervals,
    in the samples' dtype)."""
    from .creation import arange, full
    from .shape import cat
    n, c = samples.shape
    last = full((n, c, 1), size - pool, dtype=dtypes.int64, device=samples.device)
    if out == 1:
        return last
    alpha = (size - pool) / (out - 1)
    if samples.dtype is not dtypes.float64:
        alpha = _float32(alpha)
    u = samples.unsqueeze(-1)
    steps = arange(out - 1, dtype=samples.dtype, device=samples.device)
    starts = ((steps + u) * alpha).to(dtypes.int64) - (u * alpha).to(dtypes.int64)
    return cat([starts, last], -1)


def _fractional_output(op: str, input: Tensor, spatial: int, kernel: tuple, output_size,
                       output_ratio) -> tuple:
    """The output size (from ``output_size`` or ``output_ratio``), checked against the pool."""
    in_sizes = tuple(input.shape[-spatial:])
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        ratio = output_ratio if isinstance(output_ratio, (tuple, list)) else (output_ratio,)
        if len(ratio) == 1:
            ratio = tuple(ratio) * spatial
        if len(ratio) != spatial:
            raise ValueError(f"{op} requires output_ratio to either be a single value or a "
                             f"tuple of {spatial} values.")
        out = tuple(int(i * r) for i, r in zip(in_sizes, ratio))
    else:
        out = _int_tuple(op, "output_size", output_size, spatial)
    # PyTorch's 3-D check is strict (the last window may not end at the input's end)
    where, slack = (f"{op}()", 0) if spatial == 2 else (f"{op}_out()", 1)
    for name, k, o, i in zip(_AXIS_NAMES[spatial], kernel, out, in_sizes):
        if k <= 0 or o <= 0:
            raise RuntimeError(f"{where}: pool {name} and output {name} must be greater than "
                               f"zero, got {k} and {o}")
        if o + k - 1 + slack > i:
            raise RuntimeError(f"{where}: pool {name} {k} too large relative to input {name} "
                               f"{i}")
    return out


def _fractional_max(op: str, spatial: int, input, kernel_size, output_size, output_ratio,
                    return_indices: bool, samples):
    """Max over one pseudo-random window per output (starts from ``samples``, one value in
    [0, 1) per (n, c, axis)): the windows of each axis are gathered in turn, then the max
    over the kernel positions; indices are flat per (n, c) plane/volume."""
    from .creation import arange, rand
    check_tensor(op, "input", input)
    if input.ndim not in (spatial + 1, spatial + 2) or input.numel() == 0:
        raise RuntimeError(f"{op}(): Expected non-empty {spatial + 1}D or {spatial + 2}D "
                           f"tensor, but got {list(input.shape)}")
    _check_float(op, input)
    kernel = _int_tuple(op, "kernel_size", kernel_size, spatial)
    out = _fractional_output(op, input, spatial, kernel, output_size, output_ratio)
    x = input if input.ndim == spatial + 2 else input.unsqueeze(0)
    n, c, *sizes = x.shape
    if samples is None:
        samples = rand((n, c, spatial), dtype=x.dtype, device=x.device)
    elif tuple(samples.shape) != (n, c, spatial):
        raise RuntimeError(f"{op}(): expected _random_samples of shape {[n, c, spatial]}, got "
                           f"{list(samples.shape)}")
    # PyTorch's sample order: (w, h) in 2-D, (t, h, w) in 3-D
    order = (1, 0) if spatial == 2 else (0, 1, 2)
    starts = [_fractional_starts(samples[:, :, order[a]], sizes[a], out[a], kernel[a])
              for a in range(spatial)]
    for a in range(spatial):  # gather each axis' windows: size -> out * kernel
        index = (starts[a].unsqueeze(-1) + arange(kernel[a], device=x.device)).reshape(n, c, -1)
        view = [n, c] + [1] * spatial
        view[2 + a] = out[a] * kernel[a]
        shape = list(x.shape)
        shape[2 + a] = out[a] * kernel[a]
        x = x.gather(2 + a, index.reshape(view).expand(*shape))
    blocks = x.reshape(n, c, *[d for a in range(spatial) for d in (out[a], kernel[a])])
    blocks = blocks.permute(0, 1, *range(2, 2 + 2 * spatial, 2), *range(3, 3 + 2 * spatial, 2))
    values, within = blocks.reshape(n, c, *out, -1).max(-1)
    values = _unbatch(values, input, spatial)
    if not return_indices:
        return values
    flat, inner, stride = 0, math.prod(kernel), math.prod(sizes)
    for a in range(spatial):
        inner //= kernel[a]
        stride //= sizes[a]
        view = [n, c] + [1] * spatial
        view[2 + a] = out[a]
        position = starts[a].reshape(view) + (within // inner) % kernel[a]
        flat = flat + position * stride
    return values, _unbatch(flat, input, spatial)


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """2-D fractional max pooling (Graham): ``kernel_size`` windows at pseudo-random,
    increasing starts giving ``output_size`` (or ``output_ratio`` × input) outputs;
    ``_random_samples`` (N, C, 2) in [0, 1) fixes the starts (drawn when None)."""
    return _fractional_max("fractional_max_pool2d", 2, input, kernel_size, output_size,
                           output_ratio, return_indices, _random_samples)


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """3-D fractional max pooling; ``_random_samples`` is (N, C, 3)."""
    return _fractional_max("fractional_max_pool3d", 3, input, kernel_size, output_size,
                           output_ratio, return_indices, _random_samples)


fractional_max_pool2d_with_indices = _with_indices("fractional_max_pool2d_with_indices",
                                                   fractional_max_pool2d)
fractional_max_pool3d_with_indices = _with_indices("fractional_max_pool3d_with_indices",
                                                   fractional_max_pool3d)


# Deprecated spellings of interpolate ----------------------------------------------
def _deprecated(name: str) -> None:
    import warnings
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=3)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners=None) -> Tensor:
    """Deprecated: ``interpolate`` (with a warning), as in PyTorch."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='nearest')`` (with a warning)."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)`` (with a warning)."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# Registry --------------------------------------------------------------------------
for _name in (
    "max_pool1d", "max_pool2d", "max_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
):
    register(_name, "pool", ("pool_max2d", "pool_max2d_backward", "full"))
for _name in ("max_pool3d_with_indices", "adaptive_max_pool3d_with_indices"):  # + the 3-D indices
    register(_name, "pool", ("pool_max2d", "pool_max2d_backward", "full", "div_floor", "gather",
                             "mul", "add", "amax", "amin", "to_numpy"))
for _name in (
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
):
    register(_name, "pool", ("pool_avg2d", "pool_avg2d_backward"))
for _name in ("lp_pool1d", "lp_pool2d", "lp_pool3d"):
    register(_name, "pool", ("pow", "pool_avg2d", "pool_avg2d_backward", "sign", "abs", "relu",
                             "mul", "activation_backward", "add", "full"))
for _name in ("max_unpool1d", "max_unpool2d", "max_unpool3d"):
    register(_name, "pool", ("scatter", "gather", "amax", "amin", "full", "to_numpy"))
for _name in ("interpolate", "upsample"):  # gather ... sum: bicubic (``_cubic_axis``)
    register(_name, "pool", ("interp2d", "interp2d_backward", "pool_avg2d", "pool_avg2d_backward",
                             "gather", "scatter_add", "mul", "sum", "from_numpy", "full"))
for _name in ("upsample_nearest", "upsample_bilinear"):
    register(_name, "pool", ("interp2d", "interp2d_backward"))
_FRACTIONAL = ("rand", "arange", "add", "mul", "copy_", "empty", "full", "gather", "amax", "amin",
               "to_numpy", "argmax", "eq", "where", "sub", "scatter_add")
for _name in ("fractional_max_pool2d", "fractional_max_pool3d"):
    register(_name, "pool", _FRACTIONAL)
for _name in ("fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices"):
    register(_name, "pool", _FRACTIONAL + ("div_floor", "remainder"))
for _name in ("pixel_shuffle", "pixel_unshuffle", "channel_shuffle"):
    register(_name, "pool", ("copy_", "empty"))
del _name


# affine_grid / grid_sample ---------------------------------------------------------
# Composites of differentiable framework ops (matmul, gather, arithmetic), so autograd
# gives the gradients w.r.t. theta, input and grid. Only 4-D (2-D spatial) shapes.
def _base_axis(steps: int, align_corners: bool, like: Tensor) -> Tensor:
    """PyTorch's normalized sample positions along one axis: ``linspace(-1, 1)``, scaled by
    ``(steps - 1) / steps`` when not ``align_corners`` (a single step is 0)."""
    if steps <= 1:
        values = [0.0]
    else:
        scale = 1.0 if align_corners else (steps - 1) / steps
        values = [(-1.0 + 2.0 * i / (steps - 1)) * scale for i in range(steps)]
    return tensor(values, dtype=like.dtype, device=like.device)


def affine_grid(theta: Tensor, size, align_corners=None) -> Tensor:
    """The sampling grid ``(N, H, W, 2)`` of the affine maps ``theta`` ``(N, 2, 3)`` for an
    output of ``size`` ``(N, C, H, W)``: ``grid[n, h, w] = theta[n] @ (x_w, y_h, 1)``."""
    check_tensor("affine_grid", "theta", theta)
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(size)
    if len(size) == 5:
        raise NotImplementedError("affine_grid: 5-D sizes (3-D affine transforms) are not "
                                  "implemented")
    if len(size) != 4:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (2, 3):
        raise ValueError("Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                         f"{size}. Got {list(theta.shape)}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    n, _, h, w = size
    if theta.shape[0] != n:
        raise RuntimeError(f"affine_grid: theta has batch {theta.shape[0]} but size has {n}")
    corners = bool(align_corners)
    xs = _base_axis(w, corners, theta).reshape(1, w).expand(h, w)
    ys = _base_axis(h, corners, theta).reshape(h, 1).expand(h, w)
    base = stack([xs, ys, ones_like(xs)], -1).reshape(1, h * w, 3)
    grid = base.matmul(theta.transpose(1, 2))  # (N, H*W, 2)
    return grid.reshape(n, h, w, 2)


_GRID_MODES = ("bilinear", "nearest", "bicubic")
_GRID_PADDING = ("zeros", "border", "reflection")


def _check_grid_sample(input, grid, mode: str, padding_mode: str) -> None:
    check_tensor("grid_sample", "input", input)
    check_tensor("grid_sample", "grid", grid)
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if mode not in _GRID_MODES:
        raise NotImplementedError(f"grid_sample: mode {mode!r} is not implemented")
    if padding_mode not in _GRID_PADDING:
        raise NotImplementedError(f"grid_sample: padding_mode {padding_mode!r} is not "
                                  "implemented")
    sizes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    if input.dtype != grid.dtype:
        raise RuntimeError("grid_sampler(): expected input and grid to have same dtype, but "
                           f"input has {input.dtype} and grid has {grid.dtype}")
    if input.device != grid.device:
        raise RuntimeError("grid_sampler(): expected input and grid to be on same device, but "
                           f"input is on {input.device} and grid is on {grid.device}")
    if input.ndim != grid.ndim or input.ndim not in (4, 5):
        raise RuntimeError("grid_sampler(): expected 4D or 5D input and grid with same number "
                           f"of dimensions, but got {sizes}")
    if input.ndim == 5:
        raise NotImplementedError("grid_sample: 5-D inputs are not implemented")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, "
                           f"but got {sizes}")
    if grid.shape[-1] != 2:
        raise RuntimeError("grid_sampler(): expected grid to have size 2 in last dimension, "
                           f"but got grid with sizes {list(grid.shape)}")
    if any(s <= 0 for s in input.shape[2:]):
        raise RuntimeError("grid_sampler(): expected input to have non-empty spatial "
                           f"dimensions, but input has sizes {list(input.shape)}")
    _check_float("grid_sample", input)


def _unnormalize(coord: Tensor, size: int, align_corners: bool, padding_mode: str) -> Tensor:
    """Grid coordinates in [-1, 1] -> pixel coordinates (PyTorch's rule), reflected for
    ``reflection`` padding and clipped to the image for ``border`` and ``reflection``."""
    if align_corners:
        pixel = (coord + 1) * ((size - 1) / 2)
    else:
        pixel = ((coord + 1) * size - 1) / 2
    if padding_mode == "reflection":
        pixel = _reflect(pixel, size, align_corners)
    if padding_mode in ("border", "reflection"):
        pixel = pixel.clamp(0, size - 1)
    return pixel


def _reflect(pixel: Tensor, size: int, align_corners: bool) -> Tensor:
    """PyTorch's ``reflect_coordinates``: fold ``pixel`` into [low, low + span] by mirroring
    at the bounds (the pixel centres 0 and size-1, or the edges -0.5 and size-0.5). The
    fold count is a constant of the graph, so the gradient is +-1 as in PyTorch."""
    if align_corners and size == 1:
        return pixel * 0
    low, span = (0.0, size - 1.0) if align_corners else (-0.5, float(size))
    distance = (pixel - low).abs()
    flips = (distance.detach() / span).floor()
    odd = flips - (flips / 2).floor() * 2  # 1 where the fold count is odd
    extra = distance - flips * span
    return low + odd * span + (1 - 2 * odd) * extra


def _corner(flat: Tensor, xs: Tensor, ys: Tensor, w: int, h: int) -> Tensor:
    """Values of ``flat`` ``(N, C, H*W)`` at integer pixels ``(xs, ys)`` ``(N, P)`` (float
    tensors holding whole numbers), zero where the pixel is outside the image."""
    inside = (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)
    index = (ys.clamp(0, h - 1) * w + xs.clamp(0, w - 1)).to(dtypes.int64)
    n, c, _ = flat.shape
    values = flat.gather(2, index.unsqueeze(1).expand(n, c, index.shape[1]))
    return values * inside.to(flat.dtype).unsqueeze(1)


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners=None) -> Tensor:
    """Sample ``input`` ``(N, C, H, W)`` at the normalized positions ``grid``
    ``(N, HO, WO, 2)`` (x then y, in [-1, 1]) -> ``(N, C, HO, WO)``. Modes 'bilinear',
    'nearest' (round half to even, as PyTorch) and 'bicubic'; padding 'zeros', 'border' and
    'reflection'.
    In 'nearest' mode the output does not depend on ``grid`` in the graph (PyTorch gives it
    an all-zero gradient; here ``grid.grad`` stays None). Built from
    gathers of the corner pixels, so autograd gives the input and grid gradients."""
    _check_grid_sample(input, grid, mode, padding_mode)
    corners = bool(align_corners)
    n, c, h, w = input.shape
    _, ho, wo, _ = grid.shape
    points = grid.reshape(n, ho * wo, 2)
    x = _unnormalize(points[:, :, 0], w, corners, padding_mode)
    y = _unnormalize(points[:, :, 1], h, corners, padding_mode)
    flat = input.reshape(n, c, h * w)
    if mode == "nearest":
        out = _corner(flat, x.detach().round(), y.detach().round(), w, h)
        return out.reshape(n, c, ho, wo)
    if mode == "bicubic":
        return _grid_bicubic(flat, points, (h, w), corners, padding_mode).reshape(n, c, ho, wo)
    x0 = x.detach().floor()
    y0 = y.detach().floor()
    x1 = x0 + 1
    y1 = y0 + 1
    out = (_corner(flat, x0, y0, w, h) * ((x1 - x) * (y1 - y)).unsqueeze(1)
           + _corner(flat, x1, y0, w, h) * ((x - x0) * (y1 - y)).unsqueeze(1)
           + _corner(flat, x0, y1, w, h) * ((x1 - x) * (y - y0)).unsqueeze(1)
           + _corner(flat, x1, y1, w, h) * ((x - x0) * (y - y0)).unsqueeze(1))
    return out.reshape(n, c, ho, wo)


def _grid_bicubic(flat: Tensor, points: Tensor, hw: tuple, corners: bool,
                  padding_mode: str) -> Tensor:
    """``mode='bicubic'`` of ``grid_sample`` on ``flat`` ``(N, C, H*W)`` at ``points``
    ``(N, P, 2)``, as PyTorch: the position unnormalized without padding, the 4 x 4 taps
    around its floor weighted by the cubic convolution (A = -0.75) of its fraction (the
    weights carry the gradient to the grid), each tap reflected or clipped by
    ``padding_mode`` and zero outside the image."""
    h, w = hw
    axes = []
    for coord, size in ((points[:, :, 0], w), (points[:, :, 1], h)):
        pixel = _unnormalize(coord, size, corners, "zeros")
        first = pixel.detach().floor()
        taps = [_tap(first + (k - 1), size, corners, padding_mode) for k in range(4)]
        axes.append((taps, _cubic_weights(pixel - first)))
    (x_taps, x_weights), (y_taps, y_weights) = axes
    total = None
    for ys, wy in zip(y_taps, y_weights):
        for xs, wx in zip(x_taps, x_weights):
            term = _corner(flat, xs, ys, w, h) * (wx * wy).unsqueeze(1)
            total = term if total is None else total + term
    return total


def _tap(coord: Tensor, size: int, corners: bool, padding_mode: str) -> Tensor:
    """A tap's integer pixel coordinate after ``padding_mode`` (PyTorch's
    ``compute_coordinates``: reflected, then clipped, for 'reflection'; clipped for 'border';
    as it is for 'zeros', where ``_corner`` reads 0 outside the image)."""
    if padding_mode == "reflection":
        coord = _reflect(coord, size, corners)
    if padding_mode in ("border", "reflection"):
        coord = coord.clamp(0, size - 1)
    return coord


register("affine_grid", "pool", ("copy_", "empty", "from_numpy", "full", "matmul"))
register("grid_sample", "pool", ("abs", "add", "amax", "amin", "bitwise_and", "clamp", "copy_",
                                 "div", "empty", "floor", "full", "gather", "ge", "le",
                                 "logical_and", "mul", "neg", "round", "scatter_add", "sign",
                                 "sub", "sum", "to_numpy", "where"))
