"""Launch wrappers: flash attention forward and backward on ``cuda``.

The operands share their batch dims (the op layer broadcasts them as views).
Those dims reach the kernels as at most two strided dims ``(Z, H)``: adjacent
dims that every operand walks contiguously are merged, and in the rare case
that more than two remain, the operands are copied to contiguous memory
first. Outputs are contiguous, indexed by the flat batch entry.
"""
from __future__ import annotations

import math

import triton

from ... import dtypes
from ..array import Array, collapse_dims
from . import runtime
from .launch import pointer
from .memory import contiguous, copy_, empty, full


def _seed(seed: int) -> int:
    return seed & 0x7FFFFFFF


def _batch_strides(arrays: list, batch: tuple):
    """``(Z, H)`` and, per array, its (stride_z, stride_h, row stride, col stride); None if > 2 dims."""
    sizes, strides = collapse_dims(batch, *[a.strides[:len(batch)] for a in arrays])
    if len(sizes) > 2:
        return None
    pad = 2 - len(sizes)
    sizes = (1,) * pad + tuple(sizes)
    packed = [(0,) * pad + tuple(st) + tuple(a.strides[len(batch):]) for st, a in zip(strides, arrays)]
    return sizes, packed


def _layout(arrays: list, batch: tuple):
    """The operands (contiguous copies if their batch dims do not fit two) and their packing."""
    packed = _batch_strides(arrays, batch)
    if packed is not None:
        return arrays, packed
    arrays = [_materialize(a) for a in arrays]
    return arrays, _batch_strides(arrays, batch)


def _materialize(a: Array) -> Array:
    """A contiguous copy of ``a`` (broadcast dims written out)."""
    if a.is_contiguous():
        return a
    out = empty(a.shape, a.dtype)
    copy_(out, a)
    return out


_INT32_LIMIT = 2 ** 31


def _check_entry_offsets(arrays: list, *extents: int) -> None:
    """The kernels index inside one batch entry with int32: every offset there must fit.

    ``arrays`` are the strided operands (their last two dims are inside an
    entry); ``extents`` the element counts of one entry of each contiguous output.
    """
    largest = max([sum((n - 1) * abs(st) for n, st in zip(a.shape[-2:], a.strides[-2:]))
                   for a in arrays] + list(extents))
    if largest >= _INT32_LIMIT:
        raise NotImplementedError(
            "scaled_dot_product_attention on cuda indexes one (batch, head) entry with 32-bit "
            f"offsets; this input spans {largest} elements per entry (split the sequence into chunks)")


def _mask_kind(mask) -> int:
    if mask is None:
        return 0
    return 1 if mask.dtype is dtypes.bool else 2


def _options(q: Array, is_causal: bool, mask, dropout_p: float, seed: int, offset: int) -> tuple:
    """Runtime scalars and constexprs shared by the kernels, and whether the interpreter runs them."""
    interpreter = runtime.mode() == "interpreter"
    block_e = runtime.kernels().attention.head_block(q.shape[-1])
    acc = triton.language.float64 if q.dtype is dtypes.float64 else triton.language.float32
    keep_scale = 0.0 if dropout_p >= 1.0 else 1.0 / (1.0 - dropout_p)
    scalars = (float(dropout_p), keep_scale, _seed(seed), int(offset))
    constexprs = {"BLOCK_E": block_e, "IS_CAUSAL": bool(is_causal), "MASK_KIND": _mask_kind(mask),
                  "DROPOUT": dropout_p > 0.0, "ACC": acc, "INPUT_PRECISION": "ieee",
                  "UPCAST": interpreter and q.dtype is dtypes.bfloat16}
    return scalars, constexprs, interpreter


def _tiles(block_e: int, block_ev: int, itemsize: int, which: str, interpreter: bool):
    kernels = runtime.kernels().attention
    block_m, block_n, warps = kernels.default_tiles(max(block_e, block_ev), itemsize, which,
                                                    interpreter)
    return {"BLOCK_M": block_m, "BLOCK_N": block_n, "num_warps": warps,
            "num_stages": 1 if interpreter else 2}


def attention_forward(q, k, v, mask, is_causal, scale, dropout_p, seed, offset):
    """Flash attention forward: ``(out (..., L, Ev), lse (..., L))`` (see the contract)."""
    batch = tuple(q.shape[:-2])
    length, head = q.shape[-2:]
    source, head_v = v.shape[-2:]
    lse_dtype = dtypes.float64 if q.dtype is dtypes.float64 else dtypes.float32
    out = empty(batch + (length, head_v), q.dtype)
    lse = empty(batch + (length,), lse_dtype)
    entries = math.prod(batch)
    if entries == 0 or length == 0 or head_v == 0:
        return out, lse
    operands = [q, k, v] + ([mask] if mask is not None else [])
    operands, ((_, heads), strides) = _layout(operands, batch)
    _check_entry_offsets(operands, length * head_v)
    mask_ptr, mask_strides = _mask_operand(operands, strides)
    scalars, constexprs, interpreter = _options(q, is_causal, mask, dropout_p, seed, offset)
    block_ev = runtime.kernels().attention.head_block(head_v)
    tiles = _tiles(constexprs["BLOCK_E"], block_ev, q.dtype.itemsize, "fwd", interpreter)
    grid = (entries, triton.cdiv(length, tiles["BLOCK_M"]))
    runtime.kernels().attention.attention_fwd_kernel[grid](
        pointer(operands[0]), pointer(operands[1]), pointer(operands[2]), mask_ptr,
        pointer(out), pointer(lse), heads, length, source, head, head_v,
        *strides[0], *strides[1], *strides[2], *mask_strides, float(scale), *scalars,
        BLOCK_EV=block_ev, **constexprs, **tiles)
    return out, lse


def _mask_operand(operands: list, strides: list):
    """Pointer and strides of the mask (the 4th operand), or of q with zero strides when absent."""
    if len(operands) > 3:
        return pointer(operands[3]), strides[3]
    return pointer(operands[0]), (0, 0, 0, 0)


def attention_backward(grad_out, q, k, v, mask, out, lse, is_causal, scale, dropout_p, seed,
                       offset, mask_grad):
    """Flash attention backward: dq, dk, dv (and the float mask's gradient when ``mask_grad``)."""
    batch = tuple(q.shape[:-2])
    length, head = q.shape[-2:]
    source, head_v = v.shape[-2:]
    entries = math.prod(batch)
    # The kernels write every element, except where a problem is empty (its gradients are 0).
    new = _zeros if entries == 0 or length == 0 or source == 0 else empty
    grad_q = new(batch + (length, head), q.dtype)
    grad_k = new(batch + (source, head), q.dtype)
    grad_v = new(batch + (source, head_v), q.dtype)
    grad_mask = new(batch + (length, source), mask.dtype) if mask_grad else None
    if new is _zeros:
        return grad_q, grad_k, grad_v, grad_mask
    operands = [q, k, v, grad_out] + ([mask] if mask is not None else [])
    operands, ((_, heads), strides) = _layout(operands, batch)
    _check_entry_offsets(operands, length * max(head, head_v), source * max(head, head_v),
                         length * source if mask_grad else 0)
    mask_ptr, mask_strides = _mask_operand(operands[:3] + operands[4:], strides[:3] + strides[4:])
    out = contiguous(out)
    scalars, constexprs, interpreter = _options(q, is_causal, mask, dropout_p, seed, offset)
    kernels = runtime.kernels().attention
    block_ev = kernels.head_block(head_v)
    tiles = _tiles(constexprs["BLOCK_E"], block_ev, q.dtype.itemsize, "bwd", interpreter)
    delta = empty(batch + (length,), lse.dtype)
    kernels.attention_bwd_preprocess_kernel[(entries, triton.cdiv(length, tiles["BLOCK_M"]))](
        pointer(out), pointer(operands[3]), pointer(delta), heads, length, head_v, *strides[3],
        BLOCK_M=tiles["BLOCK_M"], BLOCK_EV=block_ev, ACC=constexprs["ACC"])
    common = (pointer(operands[0]), pointer(operands[1]), pointer(operands[2]), mask_ptr,
              pointer(operands[3]), pointer(lse), pointer(delta))
    sizes = (heads, length, source, head, head_v)
    stride_args = (*strides[0], *strides[1], *strides[2], *mask_strides, *strides[3])
    runtime_args = (float(scale), *scalars)
    dmask_ptr = pointer(grad_mask) if mask_grad else pointer(grad_k)
    kernels.attention_bwd_dkdv_kernel[(entries, triton.cdiv(source, tiles["BLOCK_N"]))](
        *common, pointer(grad_k), pointer(grad_v), dmask_ptr, *sizes, *stride_args, *runtime_args,
        BLOCK_EV=block_ev, MASK_GRAD=bool(mask_grad), **constexprs, **tiles)
    kernels.attention_bwd_dq_kernel[(entries, triton.cdiv(length, tiles["BLOCK_M"]))](
        *common, pointer(grad_q), *sizes, *stride_args, *runtime_args,
        BLOCK_EV=block_ev, **constexprs, **tiles)
    return grad_q, grad_k, grad_v, grad_mask


def _zeros(shape: tuple, dtype) -> Array:
    """A contiguous array of zeros."""
    return full(shape, 0.0, dtype)


KERNELS = {"attention_forward": attention_forward, "attention_backward": attention_backward}
