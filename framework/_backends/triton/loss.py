"""Launch wrappers: fused losses on ``cuda`` (kernels in ``triton_kernels/loss.py``).

Operands are (M, C) logits / log-probabilities read in place through their two
strides, (M,) class indices (int64) or (M, C) class probabilities, and an
optional contiguous (C,) class weight. Per-row results are fp32 for the half
types (like PyTorch's accumulation type), else the input's dtype.

Binary cross-entropy (of logits, of probabilities) is elementwise: every operand is
read in place, broadcast to the input's shape (the elementwise kernels' flat or 6-d
strided indexing).
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from ... import dtypes
from ..array import Array
from . import device_errors, runtime
from .launch import all_contiguous_same_shape, grid_1d, pack_strided, pointer
from .memory import contiguous, empty

_ACC = {"float64": tl.float64}


def _config():
    return runtime.kernels().loss


def _acc(dtype) -> "tl.dtype":
    return _ACC.get(dtype.name, tl.float32)


def _row_dtype(dtype) -> "dtypes.dtype":
    """The dtype of per-row results: fp32 for fp16/bf16."""
    return dtypes.float64 if dtype is dtypes.float64 else dtypes.float32


def _blocks(M: int, C: int) -> tuple:
    """(BLOCK_M, BLOCK_C): whole short rows several per program, long rows in chunks."""
    k = _config()
    block_c = min(triton.next_power_of_2(max(C, 1)), k.MAX_BLOCK_C)
    block_m = min(triton.next_power_of_2(max(M, 1)), max(1, k.TILE // block_c))
    return block_m, block_c


def _weight_pointer(weight, fallback: Array):
    """The weight's pointer, or any valid pointer when there is none (never read)."""
    return pointer(contiguous(weight)) if weight is not None else pointer(fallback)


def _target_strides(target: Array) -> tuple:
    if target.ndim == 1:
        return target.strides[0], 0
    return target.strides[0], target.strides[1]


def cross_entropy_forward(logits: Array, target: Array, weight, ignore_index: int,
                          label_smoothing: float):
    """Per-row loss, logsumexp and target weight of (M, C) ``logits`` (one fused pass)."""
    M, C = logits.shape
    row_dtype = _row_dtype(logits.dtype)
    loss, lse, row_weight = (empty((M,), row_dtype) for _ in range(3))
    if M == 0:
        return loss, lse, row_weight
    block_m, block_c = _blocks(M, C)
    _config().cross_entropy_forward_kernel[(triton.cdiv(M, block_m),)](
        pointer(logits), pointer(target), _weight_pointer(weight, logits), pointer(loss),
        pointer(lse), pointer(row_weight), M, C, *logits.strides, *_target_strides(target),
        int(ignore_index), float(label_smoothing),
        *device_errors.flag_args("cross_entropy", checks=target.ndim == 1), PROBS=target.ndim == 2,
        HAS_WEIGHT=weight is not None, ACC=_acc(logits.dtype), BLOCK_M=block_m, BLOCK_C=block_c,
        num_warps=_config().NUM_WARPS)
    return loss, lse, row_weight


def cross_entropy_backward(logits: Array, target: Array, weight, lse: Array, grad: Array,
                           ignore_index: int, label_smoothing: float) -> Array:
    """Gradient of the per-row losses w.r.t. ``logits`` for per-row output gradients ``grad``."""
    M, C = logits.shape
    out = empty((M, C), logits.dtype)
    if out.numel == 0:
        return out
    block_m, block_c = _blocks(M, C)
    _config().cross_entropy_backward_kernel[(triton.cdiv(M, block_m),)](
        pointer(logits), pointer(target), _weight_pointer(weight, logits), pointer(contiguous(lse)),
        pointer(grad), pointer(out), M, C, *logits.strides, *_target_strides(target),
        grad.strides[0], int(ignore_index), float(label_smoothing), PROBS=target.ndim == 2,
        HAS_WEIGHT=weight is not None, ACC=_acc(logits.dtype), BLOCK_M=block_m, BLOCK_C=block_c,
        num_warps=_config().NUM_WARPS)
    return out


def nll_loss_forward(logp: Array, target: Array, weight, ignore_index: int):
    """Per-row ``-w[t] * logp[row, t]`` and ``w[t]`` (0 on ignored rows)."""
    M, C = logp.shape
    row_dtype = _row_dtype(logp.dtype)
    loss, row_weight = empty((M,), row_dtype), empty((M,), row_dtype)
    if M == 0:
        return loss, row_weight
    block_m = min(triton.next_power_of_2(M), _config().TILE)
    _config().nll_loss_forward_kernel[(triton.cdiv(M, block_m),)](
        pointer(logp), pointer(target), _weight_pointer(weight, logp), pointer(loss),
        pointer(row_weight), M, C, *logp.strides, target.strides[0], int(ignore_index),
        *device_errors.flag_args("nll_loss"), HAS_WEIGHT=weight is not None,
        ACC=_acc(logp.dtype), BLOCK_M=block_m, num_warps=_config().NUM_WARPS)
    return loss, row_weight


def nll_loss_backward(target: Array, weight, grad: Array, ignore_index: int, num_classes: int,
                      dtype) -> Array:
    """The (M, C) gradient of ``nll_loss_forward``: ``-w[t] * grad`` at each row's target."""
    M, C = target.shape[0], num_classes
    out = empty((M, C), dtype)
    if out.numel == 0:
        return out
    block_m, block_c = _blocks(M, C)
    grid = (triton.cdiv(M, block_m), triton.cdiv(C, block_c))
    _config().nll_loss_backward_kernel[grid](
        pointer(target), _weight_pointer(weight, grad), pointer(grad), pointer(out), M, C,
        target.strides[0], grad.strides[0], int(ignore_index), HAS_WEIGHT=weight is not None,
        ACC=_acc(dtype), BLOCK_M=block_m, BLOCK_C=block_c, num_warps=_config().NUM_WARPS)
    return out


_NO_SIZES, _NO_STRIDES = (1,) * 5, (0,) * 6


def _bce_launch_args(shape: tuple, operands: list) -> tuple:
    """``(pointers, strided, sizes, strides6 per operand)`` of arrays (or None: a pointer to
    the first operand, never read, and zero strides) read broadcast to ``shape``."""
    arrays = [a for a in operands if a is not None]
    pointers = [pointer(a if a is not None else operands[0]) for a in operands]
    if all_contiguous_same_shape(shape, *arrays):
        return pointers, False, _NO_SIZES, [_NO_STRIDES] * len(operands)
    sizes, packed = pack_strided(shape, *arrays)
    packed = iter(packed)
    return pointers, True, sizes, [next(packed) if a is not None else _NO_STRIDES
                                   for a in operands]


def _launch_bce(kernel: str, x: Array, operands: list, scalars: tuple, **flags) -> Array:
    """Run the elementwise BCE kernel ``kernel`` over ``x``'s shape: ``operands`` (Arrays,
    or None for an absent weight, broadcast to ``x``), then the ``scalars``; ``flags`` are
    its ``HAS_*`` constexprs. The result has ``x``'s dtype."""
    out = empty(x.shape, x.dtype)
    n = out.numel
    if n == 0:
        return out
    pointers, strided, sizes, strides = _bce_launch_args(x.shape, operands)
    block = _config().BCE_BLOCK
    with np.errstate(all="ignore"):  # the interpreter's NumPy math: inf/NaN are intended
        getattr(_config(), kernel)[grid_1d(n, block)](
            pointer(out), *pointers, *scalars, n, *sizes, *(s for st in strides for s in st),
            COMPUTE=_acc(x.dtype), STRIDED=strided, INDEX32=n < 2 ** 31 - block, BLOCK=block,
            num_warps=_config().BCE_NUM_WARPS, **flags)
    return out


def bce_with_logits(x: Array, target: Array, weight, pos_weight) -> Array:
    """Elementwise binary cross-entropy of logits ``x`` (``target``, ``weight`` and
    ``pos_weight`` broadcast to its shape), in ``x``'s dtype."""
    return _launch_bce("bce_with_logits_kernel", x, [x, target, weight, pos_weight], (),
                       HAS_WEIGHT=weight is not None, HAS_POS_WEIGHT=pos_weight is not None)


def bce_with_logits_backward(grad: Array, x: Array, target: Array, weight, pos_weight,
                             scale: float) -> Array:
    """``x``'s gradient of ``bce_with_logits`` for ``grad`` (broadcast to ``x``'s shape: a
    reduction's scalar gradient is read in place), times ``scale``."""
    return _launch_bce("bce_with_logits_backward_kernel", x,
                       [grad, x, target, weight, pos_weight], (float(scale),),
                       HAS_WEIGHT=weight is not None, HAS_POS_WEIGHT=pos_weight is not None)


def bce(x: Array, target: Array, weight) -> Array:
    """Elementwise binary cross-entropy of probabilities ``x`` (``target`` and ``weight``
    broadcast to its shape), in ``x``'s dtype."""
    return _launch_bce("bce_kernel", x, [x, target, weight], (), HAS_WEIGHT=weight is not None)


def bce_backward(grad: Array, x: Array, target: Array, weight, scale: float) -> Array:
    """``x``'s gradient of ``bce`` for ``grad`` (broadcast to ``x``'s shape), times ``scale``."""
    return _launch_bce("bce_backward_kernel", x, [grad, x, target, weight], (float(scale),),
                       HAS_WEIGHT=weight is not None)


KERNELS = {
    "cross_entropy_forward": cross_entropy_forward,
    "cross_entropy_backward": cross_entropy_backward,
    "nll_loss_forward": nll_loss_forward,
    "nll_loss_backward": nll_loss_backward,
    "bce_with_logits": bce_with_logits,
    "bce_with_logits_backward": bce_with_logits_backward,
    "bce": bce,
    "bce_backward": bce_backward,
}
