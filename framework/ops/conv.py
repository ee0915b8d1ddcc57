"""Convolutions: conv1d/2d/3d, conv_transpose1d/2d/3d, unfold/fold (F.unfold / F.fold).

Everything is a 2-d convolution over NCHW views: a 1-d op is its 2-d twin
with a height-1 image (``unsqueeze(2)``), an unbatched input gets a batch of
one. A 3-d convolution is one 2-d convolution too: the depth taps become
channels. Each output depth ``od`` reads input slices ``od*stride + kd*dil``
for the KD taps ``kd``; stacking those KD slices as channels (a depth-only
im2col: ``Tensor.unfold`` on the zero-padded depth, one copy of KD times the
input) turns conv3d into conv2d of (N*DO, KD*C, H, W) images with the
(CO, KD*C/groups, KH, KW) weight, so the same implicit-GEMM kernels run it in
one launch with K = KD*C/groups*KH*KW. conv_transpose3d is its adjoint: the
2-d input gradient gives the KD-tap columns, which an ``index_add`` along
depth sums back into place (a depth-only col2im). Autograd composes the
backward of both from the 2-d primitives, the views and ``index_add``.

Three differentiable primitives, each one backend kernel, close under
differentiation (every backward is written with the other two, so gradients
of gradients work):

- ``_Conv2d``      y  = conv(x, w)              (kernel ``conv2d``)
- ``_InputGrad``   dx = conv^T(dy, w)           (kernel ``conv2d_input_grad``;
                                                 also conv_transpose2d's forward)
- ``_WeightGrad``  dw = weight_grad(x, dy)      (kernel ``conv2d_weight_grad``)

All three are bilinear, so with ``<a, b>`` the sum of products:
``<y', conv(x, w)> = <conv^T(y', w), x> = <weight_grad(x, y'), w>`` gives each
one's backward. ``unfold`` and ``fold`` are adjoint linear maps and each is
the other's backward. Bias is added with the elementwise ``add``.

Padding reaches the kernels as (top, left); the bottom/right side follows
from the output size passed alongside, which is how PyTorch's ``'same'``
padding (one more on the bottom/right for even kernels) is expressed.
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Union

from ..amp import lower_precision
from .. import dtypes
from ..autograd.composite import one_node
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import backend, check_tensor, common_device, wrap
from .registry import register

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "conv_tbc"]  # exported as framework.<name>
FUNCTIONAL = __all__ + ["unfold", "fold"]  # exported as framework.nn.functional.<name>
TENSOR_METHODS: tuple = ()  # Tensor methods this module adds (framework/__init__.py)

# The kernels each op's forward and backward call (tests/test_registry_kernels.py records
# them): the bias is added with ``add`` and its gradient summed with ``sum``; the 3-d ops add
# the depth im2col (``Tensor.unfold`` of the padded input) or the depth col2im (``index_add``
# of a built index), and the index checks those make.
_CONV_KERNELS = ("conv2d", "conv2d_input_grad", "conv2d_weight_grad", "add", "sum")
for _name in ("conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "conv_tbc"):
    register(_name, "conv", _CONV_KERNELS)
register("conv3d", "conv", _CONV_KERNELS + ("pad", "copy_", "scatter_add", "arange", "mul",
                                            "full", "empty", "amax", "amin", "to_numpy"))
register("conv_transpose3d", "conv", _CONV_KERNELS + ("copy_", "scatter_add", "gather", "full",
                                                      "empty", "from_numpy", "amax", "amin",
                                                      "to_numpy"))
register("unfold", "conv", ("im2col", "col2im"))
register("fold", "conv", ("col2im", "im2col"))
del _name

IntOrPair = Union[int, tuple, list]
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16"}


class Geometry(NamedTuple):
    """A 2-d convolution's stride, (top, left) padding, dilation and groups (kernel arguments)."""

    stride: tuple
    padding: tuple
    dilation: tuple
    groups: int


# --- the differentiable primitives -----------------------------------------------------------
class _Conv2d(Function):
    """y = conv2d(x, w) for NCHW ``x``; output spatial size given (it fixes bottom/right padding)."""

    @staticmethod
    def forward(ctx, x: Tensor, w: Tensor, geo: Geometry, out_size: tuple) -> Tensor:
        ctx.save_for_backward(x, w)
        ctx.geo = geo
        return wrap(backend(x).conv2d(x._a, w._a, *geo, tuple(out_size)), x._device)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, w = ctx.saved_tensors
        grad_x = _InputGrad.apply(grad, w, ctx.geo, tuple(x.shape[2:])) \
            if ctx.needs_input_grad[0] else None
        grad_w = _WeightGrad.apply(x, grad, ctx.geo, tuple(w.shape[2:])) \
            if ctx.needs_input_grad[1] else None
        return grad_x, grad_w, None, None


class _ConvBias2d(Function):
    """conv2d(x, w) + bias as one node, PyTorch's ``ConvolutionBackward0`` (edges x, w, bias).

    The forward is the kernel ``conv2d`` and, with a bias, the same broadcast ``add`` that
    ``out + bias.reshape(1, CO, 1, 1)`` makes (same bits); the backward is ``_Conv2d``'s plus
    the bias gradient ``sum_to_size`` makes. The public conv ops use it instead of recording
    the composition under a ``one_node`` replay, which costs an inner graph and an inner
    ``autograd.grad`` per call (``tests/test_cpu_fast_paths.py`` checks both agree).
    """

    @staticmethod
    def forward(ctx, x: Tensor, w: Tensor, bias: Optional[Tensor], geo: Geometry,
                out_size: tuple) -> Tensor:
        ctx.node_name = "ConvolutionBackward0"
        ctx.save_for_backward(x, w)
        ctx.geo = geo
        ctx.bias_size = None if bias is None else tuple(bias.shape)
        out = wrap(backend(x).conv2d(x._a, w._a, *geo, tuple(out_size)), x._device)
        return out if bias is None else _add_bias(out, bias)  # untracked inside a forward

    @staticmethod
    def backward(ctx, grad: Tensor):
        grad_x, grad_w, _, _ = _Conv2d.backward(ctx, grad)  # same saved x, w and geometry
        grad_b = None
        if ctx.bias_size is not None and ctx.needs_input_grad[2]:
            from .reduce import sum_to_size
            grad_b = sum_to_size(grad, (1,) + ctx.bias_size + (1,) * (grad.ndim - 2)) \
                .reshape(ctx.bias_size)
        return grad_x, grad_w, grad_b, None, None


class _InputGrad(Function):
    """dx = conv2d's input gradient of ``dy`` (N, CO, HO, WO) for weight ``w``: (N, C, *in_size)."""

    @staticmethod
    def forward(ctx, dy: Tensor, w: Tensor, geo: Geometry, in_size: tuple) -> Tensor:
        ctx.save_for_backward(dy, w)
        ctx.geo = geo
        return wrap(backend(dy).conv2d_input_grad(dy._a, w._a, *geo, tuple(in_size)), dy._device)

    @staticmethod
    def backward(ctx, grad: Tensor):
        dy, w = ctx.saved_tensors
        grad_dy = _Conv2d.apply(grad, w, ctx.geo, tuple(dy.shape[2:])) \
            if ctx.needs_input_grad[0] else None
        grad_w = _WeightGrad.apply(grad, dy, ctx.geo, tuple(w.shape[2:])) \
            if ctx.needs_input_grad[1] else None
        return grad_dy, grad_w, None, None


class _WeightGrad(Function):
    """dw = conv2d's weight gradient from ``x`` and ``dy``: (CO, C/groups, *kernel_size)."""

    @staticmethod
    def forward(ctx, x: Tensor, dy: Tensor, geo: Geometry, kernel_size: tuple) -> Tensor:
        ctx.save_for_backward(x, dy)
        ctx.geo = geo
        return wrap(backend(x).conv2d_weight_grad(x._a, dy._a, *geo, tuple(kernel_size)),
                    x._device)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, dy = ctx.saved_tensors
        grad_x = _InputGrad.apply(dy, grad, ctx.geo, tuple(x.shape[2:])) \
            if ctx.needs_input_grad[0] else None
        grad_dy = _Conv2d.apply(x, grad, ctx.geo, tuple(dy.shape[2:])) \
            if ctx.needs_input_grad[1] else None
        return grad_x, grad_dy, None, None


class _Unfold(Function):
    """im2col: (N, C, H, W) -> (N, C*KH*KW, L); ``args`` = (kernel_size, dilation, padding, stride)."""

    @staticmethod
    def forward(ctx, x: Tensor, args: tuple, blocks: tuple) -> Tensor:
        ctx.meta = (tuple(x.shape[2:]), args, blocks)
        return wrap(backend(x).im2col(x._a, *args, blocks), x._device)

    @staticmethod
    def backward(ctx, grad: Tensor):
        size, args, blocks = ctx.meta
        return _Fold.apply(grad, size, args, blocks), None, None


class _Fold(Function):
    """col2im: (N, C*KH*KW, L) -> (N, C, *size), overlapping windows summed."""

    @staticmethod
    def forward(ctx, cols: Tensor, size: tuple, args: tuple, blocks: tuple) -> Tensor:
        ctx.meta = (args, blocks)
        return wrap(backend(cols).col2im(cols._a, tuple(size), *args, blocks), cols._device)

    @staticmethod
    def backward(ctx, grad: Tensor):
        args, blocks = ctx.meta
        return _Unfold.apply(grad, args, blocks), None, None, None


# --- argument checks ------------------------------------------------------------------------------
def _int_tuple(op: str, name: str, value, n: int) -> tuple:
    """``value`` (an int, or a sequence of 1 or ``n`` ints) as an ``n``-tuple, like PyTorch's expand."""
    if isinstance(value, bool) or not isinstance(value, (int, tuple, list)):
        raise TypeError(f"{op}(): argument '{name}' must be tuple of ints, not {type(value).__name__}")
    if isinstance(value, int):
        return (value,) * n
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise TypeError(f"{op}(): argument '{name}' must be tuple of ints, but found an element "
                        f"of another type")
    if len(value) == 1:
        return tuple(value) * n
    if len(value) != n:
        raise RuntimeError(f"{op}(): expected {name} to be a single integer value or a list of {n} "
                           f"values to match the convolution dimensions, but got {name}={list(value)}")
    return tuple(value)


def _check_input_rank(op: str, x: Tensor, dims: int) -> None:
    if x.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"{op}(): Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input "
                           f"to {op}, but got input of size: {list(x.shape)}")


def _check_dtypes(op: str, x: Tensor, weight: Tensor, bias: Optional[Tensor]) -> None:
    """Same dtype for input, weight and bias; floating types only on cuda (ints on cpu, as PyTorch)."""
    if x.dtype is not weight.dtype:
        raise RuntimeError(f"{op}(): expected scalar type {dtypes.scalar_type_name(x.dtype)} but found "
                           f"{dtypes.scalar_type_name(weight.dtype)}")
    if bias is not None and bias.dtype is not x.dtype:
        raise RuntimeError(f"{op}(): Input type ({_C_NAMES.get(x.dtype.name, x.dtype.name)}) and "
                           f"bias type ({_C_NAMES.get(bias.dtype.name, bias.dtype.name)}) should be "
                           f"the same")
    if x.dtype is dtypes.bool or (x.is_cuda and not x.dtype.is_floating_point):
        where = "cuda" if x.is_cuda else "cpu"
        raise NotImplementedError(f"{op}(): \"{op}_{where}\" not implemented for "
                                  f"'{dtypes.scalar_type_name(x.dtype)}'")


def _check_positive(op: str, name: str, values: tuple) -> None:
    if any(v <= 0 for v in values):
        raise RuntimeError(f"{op}(): non-positive {name} is not supported")


def _check_groups(op: str, groups) -> None:
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"{op}(): argument 'groups' must be int, not {type(groups).__name__}")
    if groups <= 0:
        raise RuntimeError(f"{op}(): non-positive groups is not supported")


def _check_weight(op: str, x: Tensor, weight: Tensor, groups: int, transposed: bool) -> None:
    """Weight rank, divisibility by ``groups`` and channel count against the input."""
    if weight.ndim != x.ndim:
        raise RuntimeError(f"{op}(): Expected {weight.ndim}-dimensional input for {weight.ndim}-"
                           f"dimensional weight {list(weight.shape)}, but got {x.ndim}-dimensional "
                           f"input of size {list(x.shape)} instead")
    if weight.shape[0] < 1:
        raise RuntimeError(f"{op}(): Given groups={groups}, expected weight to be at least 1 at "
                           f"dimension 0, but got weight of size {list(weight.shape)} instead")
    if weight.shape[0] % groups:
        raise RuntimeError(f"{op}(): Given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of size {list(weight.shape)} "
                           f"instead")
    channels = weight.shape[0] if transposed else weight.shape[1] * groups
    if x.shape[1] != channels:
        given = "transposed=1" if transposed else f"groups={groups}"
        raise RuntimeError(f"{op}(): Given {given}, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {channels} channels, but got "
                           f"{x.shape[1]} channels instead")


def _check_bias(op: str, bias: Optional[Tensor], weight: Tensor, out_channels: int,
                transposed: bool) -> None:
    if bias is None:
        return
    check_tensor(op, "bias", bias)
    if bias.ndim != 1 or bias.shape[0] != out_channels:
        given = "transposed=1, weight" if transposed else "weight"
        raise RuntimeError(f"{op}(): Given {given} of size {list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {out_channels} elements, but got bias of size "
                           f"{list(bias.shape)} instead")


def _padding(op: str, padding, kernel: tuple, stride: tuple, dilation: tuple, dims: int) -> tuple:
    """(top/left padding, bottom/right padding) per spatial dim from an int/tuple or 'same'/'valid'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * dims, (0,) * dims
        if padding != "same":
            raise RuntimeError(f"{op}(): Invalid padding string: '{padding}'")
        if any(s != 1 for s in stride):
            raise RuntimeError(f"{op}(): padding='same' is not supported for strided convolutions")
        total = tuple(d * (k - 1) for d, k in zip(dilation, kernel))
        return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)
    pad = _int_tuple(op, "padding", padding, dims)
    if any(p < 0 for p in pad):
        raise RuntimeError(f"{op}(): negative padding is not supported")
    return pad, pad


def _conv_out_size(op: str, size: tuple, kernel: tuple, before: tuple, after: tuple,
                   stride: tuple, dilation: tuple) -> tuple:
    """Output spatial size of a convolution; RuntimeError when the dilated kernel does not fit."""
    padded = tuple(s + b + a for s, b, a in zip(size, before, after))
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if any(p < k for p, k in zip(padded, span)):
        raise RuntimeError(f"{op}(): Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, span))}). Kernel size can't be greater than "
                           f"actual input size")
    return tuple((p - k) // s + 1 for p, k, s in zip(padded, span, stride))


# --- shared drivers ---------------------------------------------------------------------------------
def _as_2d(t: Tensor, dims: int) -> Tensor:
    """An (N, C, L) tensor as (N, C, 1, L) for the 2-d kernels; 4-d tensors unchanged."""
    return t.unsqueeze(2) if dims == 1 else t


def _lift(values: tuple, dims: int, fill: int) -> tuple:
    """Per-dim arguments of a 1-d op as the 2-d kernels' pairs (``fill`` for the height-1 dim)."""
    return (fill,) + values if dims == 1 else values


def _add_bias(out: Tensor, bias: Optional[Tensor]) -> Tensor:
    """``out + bias`` with the bias broadcast over the channel dim (dim 1)."""
    if bias is None:
        return out
    return out + bias.reshape((1, bias.shape[0]) + (1,) * (out.ndim - 2))


def _common_checks(op: str, input, weight, bias, groups, dims: int) -> tuple:
    """Checks shared by convolutions and transposed ones; returns (batched input, was batched)."""
    check_tensor(op, "input", input)
    check_tensor(op, "weight", weight)
    if bias is not None:
        check_tensor(op, "bias", bias)
    _check_input_rank(op, input, dims)
    common_device(op, input, weight, bias)
    _check_dtypes(op, input, weight, bias)
    _check_groups(op, groups)
    batched = input.ndim == dims + 2
    return (input if batched else input.unsqueeze(0)), batched


def _conv(op: str, dims: int, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    """conv1d/conv2d (``dims`` = 1 or 2): validate like PyTorch, run ``_Conv2d``, add the bias."""
    x, batched = _common_checks(op, input, weight, bias, groups, dims)
    stride = _int_tuple(op, "stride", stride, dims)
    dilation = _int_tuple(op, "dilation", dilation, dims)
    _check_positive(op, "stride", stride)
    _check_positive(op, "dilation", dilation)
    _check_weight(op, x, weight, groups, transposed=False)
    _check_bias(op, bias, weight, weight.shape[0], transposed=False)
    kernel = tuple(weight.shape[2:])
    before, after = _padding(op, padding, kernel, stride, dilation, dims)
    out_size = _conv_out_size(op, tuple(x.shape[2:]), kernel, before, after, stride, dilation)
    if dims == 3:
        out = _add_bias(_conv3d_checked(x, weight, stride, before, dilation, groups, out_size),
                        bias)
    else:
        geo = Geometry(_lift(stride, dims, 1), _lift(before, dims, 0), _lift(dilation, dims, 1),
                       groups)
        out = _ConvBias2d.apply(_as_2d(x, dims), _as_2d(weight, dims), bias, geo,
                                _lift(out_size, dims, 1))
    if dims == 1:
        out = out.squeeze(2)
    return out if batched else out.squeeze(0)


def _conv2d_node(args: tuple, kwargs: dict) -> Optional[str]:
    """conv2d's graph node: a batched input's op records one ``_ConvBias2d`` node itself
    (None: no replay); an unbatched one is replayed as one node over its views."""
    x = args[0] if args else kwargs.get("input")
    return None if isinstance(x, Tensor) and x.ndim == 4 else "ConvolutionBackward0"


def _conv_transpose(op: str, dims: int, input, weight, bias, stride, padding, output_padding,
                    groups, dilation) -> Tensor:
    """conv_transpose1d/2d: validate like PyTorch, run ``_InputGrad`` (conv's adjoint), add bias."""
    x, batched = _common_checks(op, input, weight, bias, groups, dims)
    stride = _int_tuple(op, "stride", stride, dims)
    dilation = _int_tuple(op, "dilation", dilation, dims)
    padding = _int_tuple(op, "padding", padding, dims)
    output_padding = _int_tuple(op, "output_padding", output_padding, dims)
    _check_positive(op, "stride", stride)
    _check_positive(op, "dilation", dilation)
    if any(p < 0 for p in padding + output_padding):
        raise RuntimeError(f"{op}(): negative padding is not supported")
    if any(o >= s and o >= d for o, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"{op}(): output padding must be smaller than either stride or dilation, "
                           f"but got output_padding={list(output_padding)} stride={list(stride)} "
                           f"dilation={list(dilation)}")
    _check_weight(op, x, weight, groups, transposed=True)
    out_channels = weight.shape[1] * groups
    _check_bias(op, bias, weight, out_channels, transposed=True)
    kernel = tuple(weight.shape[2:])
    size = tuple(x.shape[2:])
    out_size = tuple((i - 1) * s - 2 * p + d * (k - 1) + o + 1 for i, s, p, d, k, o in
                     zip(size, stride, padding, dilation, kernel, output_padding))
    if any(o <= 0 for o in out_size):
        raise RuntimeError(f"{op}(): Given input size per channel: ({' x '.join(map(str, size))}), "
                           f"calculated output size per channel: "
                           f"({' x '.join(map(str, out_size))}) is too small")
    if dims == 3:
        out = _conv_transpose3d_checked(x, weight, stride, padding, dilation, groups, out_size)
    else:
        geo = Geometry(_lift(stride, dims, 1), _lift(padding, dims, 0), _lift(dilation, dims, 1),
                       groups)
        out = _InputGrad.apply(_as_2d(x, dims), _as_2d(weight, dims), geo,
                               _lift(out_size, dims, 1))
    if dims == 1:
        out = out.squeeze(2)
    out = _add_bias(out, bias)
    return out if batched else out.squeeze(0)


# --- 3-d convolutions through the 2-d kernels ---------------------------------------------------
def _depth_index(count: int, taps: int, stride: int, dilation: int, device) -> Tensor:
    """Depth positions ``d*stride + k*dilation`` of every (input slice d, tap k), d-major."""
    from .creation import tensor
    return tensor([d * stride + k * dilation for d in range(count) for k in range(taps)],
                  dtype=dtypes.int64, device=device)


def _conv3d_checked(x: Tensor, weight: Tensor, stride: tuple, before: tuple, dilation: tuple,
                    groups: int, out_size: tuple) -> Tensor:
    """conv3d of batched ``x`` (padding given per side) as one conv2d over depth-tap channels."""
    from .movement import pad
    n, c, d = x.shape[:3]
    co, c_g, kd = weight.shape[:3]
    do, ho, wo = out_size
    span = dilation[0] * (kd - 1) + 1
    need = (do - 1) * stride[0] + span  # padded depth the output reads
    if before[0] or need != d + before[0]:
        x = pad(x, (0, 0, 0, 0, before[0], need - d - before[0]))
    # (N, C, DO, H, W, span) windows -> KD taps -> (N*DO, G*KD*C_G, H, W) images.
    taps = x.unfold(2, span, stride[0])[..., ::dilation[0]]
    h, w = x.shape[3:]
    taps = taps.reshape(n, groups, c // groups, do, h, w, kd).permute(0, 3, 1, 6, 2, 4, 5)
    images = taps.reshape(n * do, groups * kd * (c // groups), h, w)
    w2 = weight.permute(0, 2, 1, 3, 4).reshape(co, kd * c_g, *weight.shape[3:])
    geo = Geometry(stride[1:], before[1:], dilation[1:], groups)
    out = _Conv2d.apply(images, w2, geo, (ho, wo))
    return out.reshape(n, do, co, ho, wo).permute(0, 2, 1, 3, 4)


def _conv_transpose3d_checked(x: Tensor, weight: Tensor, stride: tuple, padding: tuple,
                              dilation: tuple, groups: int, out_size: tuple) -> Tensor:
    """conv_transpose3d of batched ``x``: the 2-d input gradient over depth-tap channels, then
    each tap's slice added at depth ``d*stride + k*dilation`` (the adjoint of ``_conv3d``)."""
    from .creation import zeros
    from .indexing import index_add
    n, c_in, d_in, h, w = x.shape
    c_g, kd = weight.shape[1:3]
    do, ho, wo = out_size
    w2 = weight.permute(0, 2, 1, 3, 4).reshape(c_in, kd * c_g, *weight.shape[3:])
    images = x.permute(0, 2, 1, 3, 4).reshape(n * d_in, c_in, h, w)
    geo = Geometry(stride[1:], padding[1:], dilation[1:], groups)
    cols = _InputGrad.apply(images, w2, geo, (ho, wo))  # (N*D, G*KD*C_G, HO, WO)
    cols = cols.reshape(n, d_in, groups, kd, c_g, ho, wo).permute(0, 2, 4, 1, 3, 5, 6)
    cols = cols.reshape(n, groups * c_g, d_in * kd, ho, wo)
    full = max((d_in - 1) * stride[0] + dilation[0] * (kd - 1) + 1, padding[0] + do)
    out = zeros((n, groups * c_g, full, ho, wo), dtype=x.dtype, device=x.device)
    out = index_add(out, 2, _depth_index(d_in, kd, stride[0], dilation[0], x.device), cols)
    return out[:, :, padding[0]:padding[0] + do]


# --- public ops -------------------------------------------------------------------------------------
@one_node("ConvolutionBackward0")
def conv1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: IntOrPair = 1,
           padding: Union[IntOrPair, str] = 0, dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    """1-d convolution (cross-correlation) of (N, C, L) or (C, L) ``input`` with (CO, C/groups, K).

    ``padding`` is an int/1-tuple or 'valid'/'same' ('same' needs stride 1 and pads one more
    on the right for even kernel spans, like PyTorch).
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """1-d convolution in time-batch-channel layout: (T, B, C_in) ``input``, (K, C_in, C_out)
    ``weight``, (C_out,) ``bias``, ``pad`` zeros at both ends of time; (T', B, C_out) out.
    ``conv1d`` of the permuted operands."""
    op = "conv_tbc"
    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        check_tensor(op, name, t)
    if input.ndim != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.ndim != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, "
                           "out_channels.")
    if bias.ndim != 1 or bias.shape[0] != weight.shape[2]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


@one_node(_conv2d_node)
def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: IntOrPair = 1,
           padding: Union[IntOrPair, str] = 0, dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    """2-d convolution of (N, C, H, W) or (C, H, W) ``input`` with (CO, C/groups, KH, KW) ``weight``.

    ``stride``, ``padding`` and ``dilation`` are ints or pairs; ``padding`` may also be
    'valid' (none) or 'same' (output size = input size; stride 1 only, the extra pad of an even
    kernel span on the bottom/right as PyTorch does). ``groups`` splits the channels into
    independent convolutions (``groups == C`` with CO = k*C: depthwise).
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


@one_node("ConvolutionBackward0")
def conv3d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: IntOrPair = 1,
           padding: Union[IntOrPair, str] = 0, dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    """3-d convolution of (N, C, D, H, W) or (C, D, H, W) ``input`` with (CO, C/groups, KD, KH,
    KW) ``weight``; arguments as ``conv2d`` with triples. Runs as one 2-d convolution whose
    channels are the KD depth taps of every input channel (see the module docstring)."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


@one_node("ConvolutionBackward0")
def conv_transpose1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: IntOrPair = 1, padding: IntOrPair = 0, output_padding: IntOrPair = 0,
                     groups: int = 1, dilation: IntOrPair = 1) -> Tensor:
    """Transposed 1-d convolution (the gradient of conv1d w.r.t. its input); weight (C, CO/groups, K).

    Output length ``(L - 1)*stride - 2*padding + dilation*(K - 1) + output_padding + 1``.
    """
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


@one_node("ConvolutionBackward0")
def conv_transpose2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: IntOrPair = 1, padding: IntOrPair = 0, output_padding: IntOrPair = 0,
                     groups: int = 1, dilation: IntOrPair = 1) -> Tensor:
    """Transposed 2-d convolution ("deconvolution"); weight (C, CO/groups, KH, KW).

    Each output size is ``(H - 1)*stride - 2*padding + dilation*(KH - 1) + output_padding + 1``;
    ``output_padding`` (smaller than stride or dilation) adds rows/columns at the bottom/right.
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


@one_node("ConvolutionBackward0")
def conv_transpose3d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: IntOrPair = 1, padding: IntOrPair = 0, output_padding: IntOrPair = 0,
                     groups: int = 1, dilation: IntOrPair = 1) -> Tensor:
    """Transposed 3-d convolution; weight (C, CO/groups, KD, KH, KW), output sizes as
    ``conv_transpose2d`` per dim. The adjoint of ``conv3d``'s depth-tap formulation."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def _check_im2col_args(op: str, kernel_size, dilation, padding, stride) -> tuple:
    """Pairs for the four arguments, with PyTorch's im2col/col2im errors."""
    kernel = _int_tuple(op, "kernel_size", kernel_size, 2)
    dilation = _int_tuple(op, "dilation", dilation, 2)
    padding = _int_tuple(op, "padding", padding, 2)
    stride = _int_tuple(op, "stride", stride, 2)
    for name, values, ok, what in (("kernel size", kernel, min(kernel) > 0, "greater than zero"),
                                   ("dilation", dilation, min(dilation) > 0, "greater than zero"),
                                   ("padding", padding, min(padding) >= 0, "non-negative"),
                                   ("stride", stride, min(stride) > 0, "greater than zero")):
        if not ok:
            key = name.split()[0]
            key = "pad" if key == "padding" else key
            raise RuntimeError(f"{op}(): {name} should be {what}, but got {key}_height: {values[0]} "
                               f"{key}_width: {values[1]}")
    return kernel, dilation, padding, stride


def _blocks(op: str, size: tuple, kernel, dilation, padding, stride) -> tuple:
    """Number of sliding blocks per spatial dim; RuntimeError when not at least one."""
    blocks = tuple((s + 2 * p - (d * (k - 1) + 1)) // st + 1
                   for s, k, d, p, st in zip(size, kernel, dilation, padding, stride))
    if any(b < 1 for b in blocks):
        raise RuntimeError(f"{op}(): Given input with spatial size {tuple(size)}, "
                           f"kernel_size={kernel}, dilation={dilation}, padding={padding}, "
                           f"calculated shape of the array of sliding blocks as {blocks}, but its "
                           f"components must be at least one.")
    return blocks


def _check_floating(op: str, x: Tensor, kernel: str) -> None:
    if not x.dtype.is_floating_point:
        where = "cuda" if x.is_cuda else "cpu"
        raise NotImplementedError(f"{op}(): \"{kernel}_out_{where}\" not implemented for "
                                  f"'{dtypes.scalar_type_name(x.dtype)}'")


def unfold(input: Tensor, kernel_size: IntOrPair, dilation: IntOrPair = 1, padding: IntOrPair = 0,
           stride: IntOrPair = 1) -> Tensor:
    """im2col: every sliding ``kernel_size`` block of (N, C, H, W) ``input`` as a column.

    Result (N, C*KH*KW, L) with L the number of blocks (row-major over the block
    grid); a (C, H, W) input gives (C*KH*KW, L). Padding reads as zeros.
    """
    op = "unfold"
    check_tensor(op, "input", input)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{op}(): Expected 3D or 4D (batch mode) tensor with possibly 0 batch "
                           f"size and other non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    _check_floating(op, input, "im2col")
    args = _check_im2col_args(op, kernel_size, dilation, padding, stride)
    batched = input.ndim == 4
    x = input if batched else input.unsqueeze(0)
    blocks = _blocks(op, tuple(x.shape[2:]), *args)
    out = _Unfold.apply(x, args, blocks)
    return out if batched else out.squeeze(0)


def fold(input: Tensor, output_size: IntOrPair, kernel_size: IntOrPair, dilation: IntOrPair = 1,
         padding: IntOrPair = 0, stride: IntOrPair = 1) -> Tensor:
    """col2im: sum (N, C*KH*KW, L) columns of sliding blocks into an (N, C, *output_size) image.

    The adjoint of ``unfold``; overlapping blocks add up. A 2-d input (no batch)
    gives (C, *output_size).
    """
    op = "fold"
    check_tensor(op, "input", input)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{op}(): Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    _check_floating(op, input, "col2im")
    size = _int_tuple(op, "output_size", output_size, 2)
    args = _check_im2col_args(op, kernel_size, dilation, padding, stride)
    batched = input.ndim == 3
    cols = input if batched else input.unsqueeze(0)
    kernel = args[0]
    taps = kernel[0] * kernel[1]
    if cols.shape[1] % taps:
        raise RuntimeError(f"{op}(): Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={cols.shape[1]} and "
                           f"kernel_size={kernel}.")
    blocks = _blocks(op, size, *args)
    if cols.shape[2] != blocks[0] * blocks[1]:
        raise RuntimeError(f"{op}(): Given output_size={size}, kernel_size={kernel}, "
                           f"dilation={args[1]}, padding={args[2]}, stride={args[3]}, expected size "
                           f"of input's dimension 2 to match the calculated number of sliding blocks "
                           f"{blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
                           f"input.size(2)={cols.shape[2]}.")
    out = _Fold.apply(cols, size, args, blocks)
    return out if batched else out.squeeze(0)


# Under framework.autocast these run in the autocast dtype (float32 inputs cast down).
conv1d = lower_precision(conv1d)
conv2d = lower_precision(conv2d)
conv_transpose1d = lower_precision(conv_transpose1d)
conv_transpose2d = lower_precision(conv_transpose2d)
conv3d = lower_precision(conv3d)
conv_transpose3d = lower_precision(conv_transpose3d)
