"""Normalizations: layer/rms/group/batch/instance norm, normalize (softmax: ``softmax.py``).

One fused kernel pair serves the family (``framework/_backends/contract.py``, ``NORM``):
``norm_rows`` / ``norm_rows_backward``: the operand is viewed as ``(A, C, S)``;
  statistics (mean and ``rstd = 1 / sqrt(var + eps)``, mean 0 for RMS norm)
  are taken per ``(a, c)`` over ``S`` (layer norm: ``(M, 1, N)``, group
  norm: ``(B, G, C/G * spatial)``, instance norm: ``(1, B*C, spatial)``,
  all plain reshapes) or per ``c`` over ``(A, S)`` for batch norm
  (``across``). Layer/RMS norm's elementwise weight and bias are fused into
  the kernel; the per-channel affine of group/batch/instance norm is applied
  after, with framework ops.

Backward: the fused backward kernels run when no graph is being built. With
``create_graph=True`` the same gradient formulas are evaluated in framework
ops instead (statistics recomputed from the input), so gradients of gradients
(e.g. gradient penalties through layer norm) are exact.
"""
from __future__ import annotations

import math
import numbers

from ..amp import full_precision
from .. import dtypes
from ..autograd.composite import one_node
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled, no_grad
from .._backends.array import contiguous_strides
from ..tensor import Size, Tensor
from . import compare, unary
from . import reduce as red
from ._pointwise import _grad_for
from ._util import backend, check_tensor, wrap
from .registry import register

__all__: list = []
FUNCTIONAL = ["layer_norm", "rms_norm", "group_norm", "batch_norm", "instance_norm", "normalize",
              "local_response_norm"]
TENSOR_METHODS: tuple = ()  # Tensor methods this module adds (framework/__init__.py)


# The row normalization core ------------------------------------------------------------------
def _stat_axes(across: bool) -> tuple:
    return (0, 2) if across else (2,)


class _RowNorm(Function):
    """``(y, mean, rstd)`` of ``norm_rows`` on a 3-D view ``x`` (see the module docstring).

    ``weight``/``bias`` are ``(S,)`` or None. ``mean`` and ``rstd`` are
    returned for running statistics and are not differentiable.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps, rms, across):
        y, mean, rstd = backend(x).norm_rows(x._a, _arr(weight), _arr(bias), eps, rms, across)
        y, mean, rstd = (wrap(a, x._device) for a in (y, mean, rstd))
        ctx.options = (eps, rms, across, bias.dtype if bias is not None else None)
        ctx.save_for_backward(x, weight, mean, rstd)
        ctx.mark_non_differentiable(mean, rstd)
        return y, mean, rstd

    @staticmethod
    def backward(ctx, grad, grad_mean, grad_rstd):
        x, weight, mean, rstd = ctx.saved_tensors
        eps, rms, across, bias_dtype = ctx.options
        if is_grad_enabled():
            dx, g_xhat = _row_norm_grad_composite(grad, x, weight, eps, rms, across)
        else:
            dx, g_xhat = backend(x).norm_rows_backward(grad._a, x._a, _arr(weight), mean._a,
                                                       rstd._a, rms, across)
            dx = wrap(dx, x._device)
            g_xhat = wrap(g_xhat, x._device) if g_xhat is not None else None
        needs = ctx.needs_input_grad
        d_weight = _column_sum(g_xhat, weight.dtype) if needs[1] else None
        d_bias = _column_sum(grad, bias_dtype) if needs[2] else None
        return (dx if needs[0] else None), d_weight, d_bias, None, None, None


def _arr(t):
    return t._a if t is not None else None


def _column_sum(t: Tensor, dtype) -> Tensor:
    """Sum of a (A, C, S) tensor over A and C, as ``dtype`` (the weight/bias gradient)."""
    total = red.sum(t, (0, 1))
    return total if total.dtype is dtype else total.to(dtype)


def _row_norm_grad_composite(grad, x, weight, eps, rms, across) -> tuple:
    """``(dx, grad * xhat)`` in framework ops, statistics recomputed from ``x`` (differentiable)."""
    axes = _stat_axes(across)
    if rms:
        centered = x
    else:
        centered = x - red.mean(x, axes, keepdim=True)
    rstd = unary.rsqrt(red.mean(centered * centered, axes, keepdim=True) + eps)
    xhat = centered * rstd
    gw = grad * weight if weight is not None else grad
    dx = gw - xhat * red.mean(gw * xhat, axes, keepdim=True)
    if not rms:
        dx = dx - red.mean(gw, axes, keepdim=True)
    return dx * rstd, (grad * xhat if weight is not None else None)


# Argument checks ---------------------------------------------------------------------------------
def _check_float_input(op: str, input) -> None:
    check_tensor(op, "input", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating point input, got {input.dtype}")


def _check_optional(op: str, name: str, t, input: Tensor) -> None:
    if t is None:
        return
    check_tensor(op, name, t)
    if t._device != input._device:
        raise RuntimeError(f"{op}(): Expected all tensors to be on the same device, but found at "
                           f"least two devices, {input._device} and {t._device}!")


def _check_eps(op: str, eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{op}(): argument 'eps' must be float, not {type(eps).__name__}")
    return float(eps)


def _shape_tuple(op: str, normalized_shape) -> tuple:
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        return (int(normalized_shape),)
    if isinstance(normalized_shape, (tuple, list, Size)) and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in normalized_shape):
        return tuple(int(s) for s in normalized_shape)
    raise TypeError(f"{op}(): argument 'normalized_shape' must be tuple of ints, not "
                    f"{type(normalized_shape).__name__}")


def _check_normalized(op: str, input: Tensor, shape: tuple, weight, bias) -> None:
    """PyTorch's layer_norm/rms_norm shape errors."""
    if not shape:
        raise RuntimeError(f"{op}(): Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"{op}(): Expected {name} to be of same shape as normalized_shape, "
                               f"but got {name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(shape)}")
    k = len(shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"{op}(): Given normalized_shape={list(shape)}, expected input with "
                           f"shape [*, {', '.join(str(s) for s in shape)}], but got input of size"
                           f"{list(input.shape)}")


def _rows_view(input: Tensor, shape: tuple) -> Tensor:
    """``input`` as (M, 1, prod(shape)) (a copy only when the rows are not contiguous)."""
    n = math.prod(shape)
    m = math.prod(input.shape[:input.ndim - len(shape)])
    return input.reshape(m, 1, n)


def _layer_norm(op: str, input, normalized_shape, weight, bias, eps, rms: bool) -> Tensor:
    _check_float_input(op, input)
    shape = _shape_tuple(op, normalized_shape)
    _check_optional(op, "weight", weight, input)
    _check_optional(op, "bias", bias, input)
    _check_normalized(op, input, shape, weight, bias)
    n = math.prod(shape)
    x3 = _rows_view(input, shape)
    w = weight.reshape(n) if weight is not None else None
    b = bias.reshape(n) if bias is not None else None
    y, _, _ = _RowNorm.apply(x3, w, b, eps, rms, False)
    return y.reshape(tuple(input.shape))


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` dims: ``(x - mean) / sqrt(var + eps)``
    (biased variance), times ``weight`` plus ``bias`` elementwise."""
    eps = _check_eps("layer_norm", eps)
    shape = _layer_norm_node_shape(input, normalized_shape, weight, bias)
    if shape is not None:
        return _LayerNorm.apply(input, weight, bias, eps, shape)
    return _layer_norm_replayed(input, normalized_shape, weight, bias, eps)


@one_node("NativeLayerNormBackward0")
def _layer_norm_replayed(input: Tensor, normalized_shape, weight, bias, eps: float) -> Tensor:
    """``layer_norm`` as a composition (row view, ``_RowNorm``, view back) shown as one node."""
    return _layer_norm("layer_norm", input, normalized_shape, weight, bias, eps, False)


def _layer_norm_node_shape(input, normalized_shape, weight, bias) -> tuple | None:
    """``(M, 1, N)`` when ``_LayerNorm`` takes the call (cpu, contiguous non-empty input,
    weight/bias None or of the input's dtype), else None (arguments checked first, so both
    paths raise the same errors)."""
    op = "layer_norm"
    _check_float_input(op, input)
    shape = _shape_tuple(op, normalized_shape)
    _check_optional(op, "weight", weight, input)
    _check_optional(op, "bias", bias, input)
    _check_normalized(op, input, shape, weight, bias)
    array = input._a
    if input._device.type != "cpu" or not array.numel or not array.is_contiguous():
        return None
    if any(t is not None and t.dtype is not input.dtype for t in (weight, bias)):
        return None
    n = math.prod(shape)
    return (array.numel // n, 1, n)


class _LayerNorm(Function):
    """``layer_norm`` of a contiguous cpu input as one node (PyTorch's
    ``NativeLayerNormBackward0``): the ``norm_rows`` kernels on an (M, 1, N) view
    taken inside the node, so no reshape is recorded and the backward needs no
    replay of an inner graph. The same kernels and sums as the replayed path
    (same bits); under ``create_graph`` the same framework-op formulas
    (``_row_norm_grad_composite``). ``tests/test_cpu_attention_fast_paths.py``
    checks it against ``_layer_norm_replayed``."""

    node_name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, eps, rows):
        x3 = _rows_array(x._a, rows)
        y, mean, rstd = backend(x).norm_rows(x3, _arr(_flat(weight)), _arr(_flat(bias)), eps,
                                             False, False)
        ctx.eps, ctx.rows = eps, rows
        ctx.save_for_backward(x, weight, bias, wrap(mean, x._device), wrap(rstd, x._device))
        return wrap(_rows_array(y, tuple(x.shape)), x._device)

    @staticmethod
    def backward(ctx, grad):
        x, weight, bias, mean, rstd = ctx.saved_tensors
        rows, needs = ctx.rows, ctx.needs_input_grad
        w = _flat(weight)
        if is_grad_enabled():  # create_graph: framework ops, differentiable again
            grad3 = grad.reshape(rows)
            dx, g_xhat = _row_norm_grad_composite(grad3, x.reshape(rows), w, ctx.eps, False,
                                                  False)
            dx = dx.reshape(tuple(x.shape))
        else:
            kernels = backend(x)
            grad3 = grad.contiguous()._a
            grad3 = grad3.view(rows, contiguous_strides(rows), grad3.offset)
            dx, g_xhat = kernels.norm_rows_backward(grad3, _rows_array(x._a, rows), _arr(w),
                                                    mean._a, rstd._a, False, False)
            dx = wrap(_rows_array(dx, tuple(x.shape)), x._device)
            # the weight/bias gradients: red.sum's kernel call, without the op around it
            d_weight = _unflat(_kernel_column_sum(kernels, g_xhat, weight.dtype, x._device),
                               weight) if needs[1] else None
            d_bias = _unflat(_kernel_column_sum(kernels, grad3, bias.dtype, x._device),
                             bias) if needs[2] else None
            return (dx if needs[0] else None), d_weight, d_bias, None, None
        d_weight = _unflat(_column_sum(g_xhat, weight.dtype), weight) if needs[1] else None
        d_bias = _unflat(_column_sum(grad3, bias.dtype), bias) if needs[2] else None
        return (dx if needs[0] else None), d_weight, d_bias, None, None


def _kernel_column_sum(kernels, a, dtype, device) -> Tensor:
    """``_column_sum`` of an (A, C, S) ``Array`` by the ``sum`` kernel (no graph: eager)."""
    total = wrap(kernels.sum(a, (0, 1), a.dtype), device)
    return total if total.dtype is dtype else total.to(dtype)


def _rows_array(a, shape: tuple):
    """A contiguous ``Array`` viewed with another shape of the same size."""
    return a.view(shape, contiguous_strides(shape), a.offset)


def _unflat(flat: Tensor, like: Tensor) -> Tensor:
    """A (N,) gradient in the shape of the weight/bias ``like``."""
    return flat if like.ndim == 1 else flat.reshape(tuple(like.shape))


def _flat(t):
    """A weight/bias of the normalized shape as one dim (a view; None stays None)."""
    return t if t is None or t.ndim == 1 else t.reshape(t.numel())


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last dims; ``eps=None`` means
    ``finfo(input.dtype).eps``, as in PyTorch."""
    check_tensor("rms_norm", "input", input)
    if eps is None:
        eps = dtypes.finfo(input.dtype).eps if input.dtype.is_floating_point else 0.0
    return _layer_norm("rms_norm", input, normalized_shape, weight, None,
                       _check_eps("rms_norm", eps), True)


# Per-channel norms ---------------------------------------------------------------------------
def _check_channels_input(op: str, input: Tensor) -> int:
    _check_float_input(op, input)
    if input.ndim < 2:
        raise ValueError(f"{op}(): Expected 2D or more input (got {input.ndim}D input)")
    return input.shape[1]


def _check_channel_vector(op: str, name: str, t, channels: int, input: Tensor) -> None:
    _check_optional(op, name, t, input)
    if t is not None and (t.ndim != 1 or t.shape[0] != channels):
        raise RuntimeError(f"{op}(): Expected {name} to be a vector of size equal to the number "
                           f"of channels in input, but got {name} of shape {list(t.shape)} and "
                           f"input of shape {list(input.shape)}")


def _channel_affine(y: Tensor, weight, bias) -> Tensor:
    """``y * weight[c] + bias[c]`` with c = dim 1 of ``y``."""
    view = (1, -1) + (1,) * (y.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(view)
    if bias is not None:
        y = y + bias.reshape(view)
    return y


@one_node("NativeGroupNormBackward0")
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize each group of ``C / num_groups`` channels of each sample (N, C, *), then a
    per-channel affine ``weight``/``bias``."""
    channels = _check_channels_input("group_norm", input)
    eps = _check_eps("group_norm", eps)
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral):
        raise TypeError(f"group_norm(): argument 'num_groups' must be int, not "
                        f"{type(num_groups).__name__}")
    if num_groups <= 0 or channels % num_groups != 0:
        raise RuntimeError(f"group_norm(): Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    _check_channel_vector("group_norm", "weight", weight, channels, input)
    _check_channel_vector("group_norm", "bias", bias, channels, input)
    batch = input.shape[0]
    per_group = math.prod(input.shape) // max(batch * num_groups, 1) if batch else \
        channels // num_groups * math.prod(input.shape[2:])
    y, _, _ = _RowNorm.apply(input.reshape(batch, int(num_groups), per_group), None, None, eps,
                             False, False)
    return _channel_affine(y.reshape(tuple(input.shape)), weight, bias)


def _check_running(op: str, name: str, t, channels: int, input: Tensor) -> None:
    """PyTorch's batch/instance norm check of a per-channel tensor (running stats, affine)."""
    _check_optional(op, name, t, input)
    if t is not None and t.numel() != channels:
        raise RuntimeError(f"{op}(): {name} should contain {channels} elements not {t.numel()}")


def _update_running(running, batch_value: Tensor, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * batch_value``, in place, no graph."""
    if running is None:
        return
    with no_grad():
        value = batch_value.reshape(tuple(running.shape)).to(running.dtype)
        running.copy_(running * (1.0 - momentum) + value * momentum)


def _unbiased_var(rstd: Tensor, eps: float, count: int) -> Tensor:
    """The unbiased variance recovered from ``rstd = 1/sqrt(var + eps)`` over ``count`` values."""
    var = unary.reciprocal(rstd * rstd) - eps
    return var * (count / (count - 1)) if count > 1 else var * math.nan


def _eval_norm(input: Tensor, mean: Tensor, var: Tensor, weight, bias, eps: float) -> Tensor:
    """Normalize by given per-channel statistics (batch norm in eval mode)."""
    view = (1, -1) + (1,) * (input.ndim - 2)
    scale = unary.rsqrt(var.reshape(view) + eps)
    return _channel_affine((input - mean.reshape(view)) * scale, weight, bias)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) over the batch and spatial dims.

    ``training``: batch statistics (biased variance), and ``running_mean`` /
    ``running_var`` (if given) are updated in place with ``momentum`` and the
    unbiased variance. Otherwise the running statistics are used.
    """
    eps = _check_batch_norm("batch_norm", input, running_mean, running_var, weight, bias, eps)
    if training and _batch_norm_node_applies(input, weight, bias):
        return _BatchNorm.apply(input, weight, bias, running_mean, running_var, momentum, eps)
    return _batch_norm_replayed(input, running_mean, running_var, weight, bias, training,
                                momentum, eps)


def _check_batch_norm(op: str, input, running_mean, running_var, weight, bias, eps) -> float:
    """PyTorch's batch_norm argument errors; ``eps`` as a float."""
    channels = _check_channels_input(op, input)
    eps = _check_eps(op, eps)
    _check_running(op, "running_mean", running_mean, channels, input)
    _check_running(op, "running_var", running_var, channels, input)
    _check_running(op, "weight", weight, channels, input)
    _check_running(op, "bias", bias, channels, input)
    return eps


def _batch_norm_node_applies(input: Tensor, weight, bias) -> bool:
    """Whether ``_BatchNorm`` takes a training call: a gradient is wanted (else the
    composition runs unrecorded), the input is a contiguous cpu tensor with more than
    one value per channel, and weight/bias are None or 1-D of the input's dtype."""
    if not is_grad_enabled() or not any(t is not None and t.requires_grad
                                        for t in (input, weight, bias)):
        return False
    array = input._a
    if input._device.type != "cpu" or not array.is_contiguous():
        return False
    if array.numel // input.shape[1] <= 1:
        return False  # the replayed path raises PyTorch's error
    return all(t is None or (t.dtype is input.dtype and t.ndim == 1) for t in (weight, bias))


class _BatchNorm(Function):
    """``batch_norm`` in training mode of a contiguous cpu input as one node (PyTorch's
    ``NativeBatchNormBackward0``), without the replayed composite's inner graph and op
    calls.

    It makes the replayed composite's kernel calls in the same shapes, straight to the
    backend: ``norm_rows`` across the (N, C, S) view, the per-channel affine as
    ``mul``/``add`` with (1, C, 1, ...) views, the running statistics as
    ``_update_running``'s ops compute them; in the backward the affine's gradients as
    those ops' backwards sum them, then ``norm_rows_backward``. So it gives the same bits.
    Under ``create_graph`` the backward replays the composite (``replay_vjp``),
    differentiable to every order. ``tests/test_cpu_attention_fast_paths.py`` checks it
    against ``_batch_norm_replayed``."""

    node_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, momentum, eps):
        kernels, dtype = backend(x), x.dtype
        rows = _batch_norm_rows(x)
        y3, mean, rstd = kernels.norm_rows(_rows_array(x._a, rows), None, None, eps, False,
                                           True)
        y = _rows_array(y3, tuple(x.shape))
        if running_mean is not None or running_var is not None:
            _blend_running(running_mean, mean, momentum)
            _blend_running(running_var, _unbiased_var_array(kernels, rstd, eps,
                                                            rows[0] * rows[2]), momentum)
        out = y
        if weight is not None:
            out = kernels.mul(out, _channel_array(weight, x.ndim), dtype, dtype)
        if bias is not None:
            out = kernels.add(out, _channel_array(bias, x.ndim), dtype, dtype)
        ctx.rows, ctx.momentum, ctx.eps = rows, momentum, eps
        device = x._device
        # y (for the weight's gradient) only with a weight: without one it is the output
        # itself, which the caller may change in place (``out += identity``)
        kept_y = wrap(y, device) if weight is not None else None
        ctx.save_for_backward(x, weight, bias, kept_y, wrap(mean, device), wrap(rstd, device))
        return wrap(out, device)

    @staticmethod
    def backward(ctx, grad):
        x, weight, bias, y, mean, rstd = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if is_grad_enabled():  # create_graph: the composite's gradient, recorded
            return _batch_norm_double_backward(ctx, grad, x, weight, bias)
        kernels, dtype, device = backend(x), x.dtype, x._device
        g = grad._a
        d_weight = d_bias = dx = None
        if needs[2]:  # add's backward: grad summed to bias's (1, C, 1, ...) view
            d_bias = _channel_sum(kernels, g, bias)
        if needs[1]:  # mul's backward: grad * y summed to weight's view
            d_weight = _channel_sum(kernels, kernels.mul(g, y._a, dtype, dtype), weight)
        if needs[0]:
            if weight is not None:
                g = kernels.mul(g, _channel_array(weight, x.ndim), dtype, dtype)
            elif not g.is_contiguous():
                g = grad.contiguous()._a
            dx, _ = kernels.norm_rows_backward(_rows_array(g, ctx.rows),
                                               _rows_array(x._a, ctx.rows), None, mean._a,
                                               rstd._a, False, True)
            dx = wrap(_rows_array(dx, tuple(x.shape)), device)
        return dx, d_weight, d_bias, None, None, None, None


def _batch_norm_rows(x: Tensor) -> tuple:
    """The (N, C, S) shape that batch norm's ``norm_rows`` sees ``x`` as."""
    channels = x.shape[1]
    return (x.shape[0], channels, x._a.numel // max(x.shape[0] * channels, 1))


def _channel_array(t: Tensor, ndim: int):
    """A (C,) weight or bias as the (1, C, 1, ...) ``Array`` that broadcasts over dim 1 of
    an ``ndim``-D operand (``t.reshape(view)``'s array)."""
    return t.reshape((1, -1) + (1,) * (ndim - 2))._a


def _channel_sum(kernels, g, like: Tensor) -> Tensor:
    """``sum_to_size(g, (1, C, 1, ...))`` viewed as ``like``'s (C,): the ``sum`` kernel over
    every dim but 1 that is not of size 1, as ``Sum`` calls it for a broadcast operand."""
    dims = tuple(i for i, n in enumerate(g.shape) if i != 1 and n != 1)
    total = kernels.sum(g, dims, like.dtype)
    return wrap(_rows_array(total, tuple(like.shape)), like._device)


def _unbiased_var_array(kernels, rstd, eps: float, count: int):
    """``_unbiased_var``'s kernel calls on the ``rstd`` ``Array`` (``count`` > 1)."""
    dtype = rstd.dtype
    var = kernels.reciprocal(kernels.mul(rstd, rstd, dtype, dtype), dtype)
    var = kernels.sub(var, eps, dtype, dtype)
    return kernels.mul(var, count / (count - 1), dtype, dtype)


def _blend_running(running, batch_value, momentum: float) -> None:
    """``_update_running`` with the batch value an ``Array`` of ``running``'s size: the same
    kernel calls, then one in-place copy (the op path where the dtypes differ)."""
    if running is None:
        return
    if batch_value.dtype is not running.dtype:
        _update_running(running, wrap(batch_value, running._device), momentum)
        return
    kernels, dtype = backend(running), running.dtype
    value = _rows_array(batch_value, tuple(running.shape))
    blended = kernels.add(kernels.mul(running._a, 1.0 - momentum, dtype, dtype),
                          kernels.mul(value, momentum, dtype, dtype), dtype, dtype)
    with no_grad():
        running.copy_(wrap(blended, running._device))


def _batch_norm_double_backward(ctx, grad, x, weight, bias) -> tuple:
    """``_BatchNorm``'s gradients under ``create_graph``: the replayed composite's (no
    running statistics, so the replay updates none), differentiable again."""
    from ..autograd.composite import replay_vjp
    momentum, eps = ctx.momentum, ctx.eps

    def composite(x, weight, bias):
        return _batch_norm_replayed.__wrapped__(x, None, None, weight, bias, True, momentum,
                                                eps)
    tensors = (x, weight, bias)
    needs = tuple(ctx.needs_input_grad[:3])
    found = iter(replay_vjp(composite, ctx.name(), tensors, needs, (grad,)))
    grads = [next(found) if need else None for need in needs]
    return (*grads, None, None, None, None)


@one_node("NativeBatchNormBackward0")
def _batch_norm_replayed(input: Tensor, running_mean: Tensor | None,
                         running_var: Tensor | None, weight: Tensor | None = None,
                         bias: Tensor | None = None, training: bool = False,
                         momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """``batch_norm`` (arguments checked) as a composition of framework ops, shown as one
    node."""
    op = "batch_norm"
    channels = input.shape[1]
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"{op}(): running_mean and running_var must be defined in "
                               "evaluation mode")
        return _eval_norm(input, running_mean, running_var, weight, bias, eps)
    count = math.prod(input.shape) // channels if channels else 0
    if count <= 1:
        raise ValueError(f"{op}(): Expected more than 1 value per channel when training, got "
                         f"input size {list(input.shape)}")
    x3 = input.reshape(input.shape[0], channels, -1)
    y, mean, rstd = _RowNorm.apply(x3, None, None, eps, False, True)
    _update_running(running_mean, mean, momentum)
    _update_running(running_var, _unbiased_var(rstd, eps, count), momentum)
    return _channel_affine(y.reshape(tuple(input.shape)), weight, bias)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel of each sample over its spatial dims, then a per-channel affine.

    With ``use_input_stats`` the running statistics (if given) are updated with
    the batch average of the per-instance mean and unbiased variance;
    otherwise the running statistics normalize the input.
    """
    op = "instance_norm"
    channels = _check_channels_input(op, input)
    eps = _check_eps(op, eps)
    _check_running(op, "running_mean", running_mean, channels, input)
    _check_running(op, "running_var", running_var, channels, input)
    _check_running(op, "weight", weight, channels, input)
    _check_running(op, "bias", bias, channels, input)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"{op}(): Expected running_mean and running_var to be defined "
                               "when use_input_stats is false")
        return _eval_norm(input, running_mean, running_var, weight, bias, eps)
    batch = input.shape[0]
    spatial = math.prod(input.shape[2:])
    if spatial <= 1:
        raise ValueError(f"{op}(): Expected more than 1 spatial element when training, got input "
                         f"size {list(input.shape)}")
    x3 = input.reshape(1, batch * channels, spatial)
    y, mean, rstd = _RowNorm.apply(x3, None, None, eps, False, False)
    if running_mean is not None or running_var is not None:
        with no_grad():
            per_channel = (batch, channels)
            _update_running(running_mean, red.mean(mean.reshape(per_channel), 0), momentum)
            var = _unbiased_var(rstd, eps, spatial).reshape(per_channel)
            _update_running(running_var, red.mean(var, 0), momentum)
    return _channel_affine(y.reshape(tuple(input.shape)), weight, bias)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Divide each element by ``(k + alpha · m)^beta``, ``m`` the mean of x² over ``size``
    neighbouring channels (the window is zero-padded: ``size // 2`` channels before, ``(size - 1) // 2`` after).
    Input (N, C, *) with at least one spatial dim."""
    from .movement import pad
    from .pool import avg_pool2d
    op = "local_response_norm"
    check_tensor(op, "input", input)
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         "dimensions)")
    if input.numel() == 0:
        return input
    n, c = input.shape[:2]
    squares = (input * input).reshape(n, 1, c, -1)
    squares = pad(squares, (0, 0, size // 2, (size - 1) // 2))
    mean = avg_pool2d(squares, (size, 1), stride=1).reshape(tuple(input.shape))
    return input / (mean * alpha + k).pow(beta)


def _cross_map_window(channels: int, size: int, like: Tensor) -> Tensor:
    """(C, C) 0/1 matrix of the channels summed for each channel by PyTorch's legacy
    ``CrossMapLRN2d``: channel 0 and ``[c - pre + 1, c + pre - 1]``, ``pre = (size+1)//2``."""
    from .creation import tensor
    pre = int((size - 1) / 2 + 1)
    rows = []
    for ch in range(channels):
        first, last = max(1, ch - pre + 1), min(ch + pre - 1, channels - 1)
        rows.append([1.0 if j == 0 or first <= j <= last else 0.0 for j in range(channels)])
    return tensor(rows, dtype=like.dtype, device=like.device)


def cross_map_lrn2d(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                    k: float = 1.0) -> Tensor:
    """``nn.CrossMapLRN2d``'s map (no ``torch.nn.functional`` name): ``x · (k + alpha/size ·
    Σ x²)^-beta`` over PyTorch's legacy channel window (``_cross_map_window``), for (N, C, H, W).
    Its gradient is the true one of this map (PyTorch's hand-written backward assumes
    another window and fails its own gradcheck)."""
    from .matmul import matmul
    check_tensor("CrossMapLRN2d", "input", input)
    if input.ndim != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.ndim}D instead.")
    n, c = input.shape[:2]
    squares = (input * input).reshape(n, c, -1)
    sums = matmul(_cross_map_window(c, size, input), squares).reshape(tuple(input.shape))
    return input * (sums * (alpha / size) + k).pow(-beta)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim`` (composed of ``norm`` and ``clamp_min``)."""
    _check_float_input("normalize", input)
    denom = compare.clamp_min(red.norm(input, p, dim, keepdim=True), eps)
    result = input / denom
    if out is not None:
        check_tensor("normalize", "out", out)
        out.copy_(result)
        return out
    return result


register("local_response_norm", "norm", ("mul", "pad", "pool_avg2d", "pool_avg2d_backward", "add",
                                        "pow", "div", "neg"))
register("layer_norm", "norm", ("norm_rows", "norm_rows_backward", "sum", "full"))
register("rms_norm", "norm", ("norm_rows", "norm_rows_backward", "sum", "full"))
register("group_norm", "norm", ("norm_rows", "norm_rows_backward", "mul", "add", "full", "sum"))
register("batch_norm", "norm", ("norm_rows", "norm_rows_backward", "mul", "add", "rsqrt",
                                "copy_", "full", "reciprocal", "sub", "sum"))
register("instance_norm", "norm", ("norm_rows", "norm_rows_backward", "mul", "add", "copy_",
                                   "full", "mean", "reciprocal", "sub", "sum"))
register("normalize", "norm", ("sum", "mul", "sqrt", "clamp", "div", "add", "eq", "ge", "neg",
                               "where"))


# Under framework.autocast these run in float32 (half-precision inputs cast up).
layer_norm = full_precision(layer_norm)
