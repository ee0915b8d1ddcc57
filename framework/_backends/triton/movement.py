"""Launch wrappers: data movement on ``cuda`` (kernels in ``triton_kernels/movement.py``).

flip, roll, tile, repeat_interleave, gather_slices and pad are one kernel,
``remap_kernel``: the output is contiguous and each of its dims reads the
input through one per-dim index rule (``_Rule``). Dims whose rule is the
identity are merged where the input's strides allow, so most calls fit the
kernel's six dims; views with more go one launch per leading index.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ... import dtypes
from ..array import Array, collapse_dims
from . import runtime
from .launch import grid_1d, pointer
from .memory import cast, contiguous, empty, from_numpy

_MAX_DIMS = 6


def _kernels():
    return runtime.kernels().movement


@dataclass(frozen=True)
class _Rule:
    """How output dim d reads the input: ``out`` output size, ``n``/``stride`` input size
    and stride, ``mode``/``param`` the index rule (constants of triton_kernels.movement)."""

    out: int
    n: int
    stride: int
    mode: int = 0
    param: int = 0

    def is_identity(self) -> bool:
        return self.mode == 0 and self.param == 0 and self.out == self.n


def _identity_rules(x: Array) -> list:
    return [_Rule(size, size, stride) for size, stride in zip(x.shape, x.strides)]


def _merge(rules: list) -> list:
    """Drop size-1 identity dims and merge neighbouring identity dims walked with one stride."""
    merged = []
    for rule in rules:
        if rule.is_identity() and rule.out == 1:
            continue
        last = merged[-1] if merged else None
        if last and last.is_identity() and rule.is_identity() and last.stride == rule.stride * rule.n:
            size = last.n * rule.n
            merged[-1] = _Rule(size, size, rule.stride)
            continue
        merged.append(rule)
    return merged


def _remap(x: Array, rules: list, out_dtype=None, fill=0, table: Array | None = None) -> Array:
    """The contiguous output of shape ``[r.out for r in rules]`` read from ``x`` by ``rules``."""
    out_dtype = out_dtype or x.dtype
    out = empty(tuple(r.out for r in rules), out_dtype)
    if out.numel == 0:
        return out
    _launch(x, out, _merge(rules), fill, table)
    return out


def _launch(x: Array, out: Array, rules: list, fill, table) -> None:
    if len(rules) > _MAX_DIMS:  # one launch per index of the first dim
        first, rest = rules[0], rules[1:]
        inner = math.prod(r.out for r in rest)
        for i in range(first.out):
            j = _host_source(i, first, table)
            sub_out = out.view((inner,), (1,), out.offset + i * inner)
            if 0 <= j < first.n:
                _launch(x.view(x.shape, x.strides, x.offset + j * first.stride), sub_out, rest,
                        fill, table)
            else:
                _fill(sub_out, fill)
        return
    rules = [_Rule(1, 1, 0)] * (_MAX_DIMS - len(rules)) + rules
    sizes = [r.out for r in rules]
    # the fill goes in x's type through memory (an fp32 scalar argument would round it);
    # without constant padding it is never selected and any element will do
    pads = any(r.mode == _kernels().SHIFT and (r.param or r.out != r.n) for r in rules)
    fill_value = from_numpy(np.array([fill]), x.dtype) if pads else out
    _kernels().remap_kernel[grid_1d(out.numel, _kernels().BLOCK)](
        pointer(x), pointer(out), pointer(table if table is not None else out),
        pointer(fill_value), out.numel,
        *sizes[1:], *(r.n for r in rules), *(r.stride for r in rules), *(r.param for r in rules),
        *(r.mode for r in rules), BLOCK=_kernels().BLOCK, num_warps=_kernels().NUM_WARPS)


def _host_source(i: int, rule: _Rule, table) -> int:
    """``_source_index`` of the kernel, for one index on the host (used above six dims)."""
    k = _kernels()
    n, p = rule.n, rule.param
    if rule.mode == k.SHIFT:
        return i - p
    if rule.mode == k.FLIP:
        return n - 1 - i
    if rule.mode == k.WRAP:
        return (i - p) % n
    if rule.mode == k.REFLECT:
        return (n - 1) - abs((n - 1) - abs(i - p))
    if rule.mode == k.CLAMP:
        return min(max(i - p, 0), n - 1)
    if rule.mode == k.DIVIDE:
        return i // p
    from .memory import to_numpy
    return int(to_numpy(table)[i])


def _fill(out: Array, value) -> None:
    from .memory import copy_
    copy_(out, from_numpy(np.array([value]), out.dtype).view(out.shape, (0,) * out.ndim, 0))


# Kernels of the contract ------------------------------------------------------------------
def flip(x: Array, dims: tuple) -> Array:
    """A copy of ``x`` with the order of ``dims`` reversed."""
    k = _kernels()
    rules = _identity_rules(x)
    for d in dims:
        rules[d] = _Rule(x.shape[d], x.shape[d], x.strides[d], k.FLIP)
    return _remap(x, rules)


def roll(x: Array, shifts: tuple, dims: tuple) -> Array:
    """``x`` rolled by ``shifts[i]`` along ``dims[i]`` (elements leaving one end enter the other)."""
    k = _kernels()
    rules = _identity_rules(x)
    for shift, d in zip(shifts, dims):
        n = x.shape[d]
        if n:
            rules[d] = _Rule(n, n, x.strides[d], k.WRAP, (rules[d].param + shift) % n)
    return _remap(x, rules)


def tile(x: Array, reps: tuple) -> Array:
    """``x`` repeated ``reps[d]`` times along each dim (``len(reps) == x.ndim``)."""
    k = _kernels()
    rules = [_Rule(size * r, size, stride, k.WRAP) if r != 1 else _Rule(size, size, stride)
             for size, stride, r in zip(x.shape, x.strides, reps)]
    return _remap(x, rules)


def repeat_interleave(x: Array, repeats: int, dim: int) -> Array:
    """Each slice of ``x`` along ``dim`` repeated ``repeats`` times in place."""
    rules = _identity_rules(x)
    if repeats != 1:
        rules[dim] = _Rule(x.shape[dim] * repeats, x.shape[dim], x.strides[dim], _kernels().DIVIDE,
                           max(repeats, 1))
    return _remap(x, rules)


def repeat_interleave_index(repeats: Array, total: int) -> Array:
    """``k`` repeated ``repeats[k]`` times for each k (int64, ``total`` entries in all)."""
    out = empty((total,), dtypes.int64)
    if total == 0:
        return out
    from .scan import cumsum
    n = repeats.shape[0]
    ends = cumsum(repeats, 0, dtypes.int64)
    k = _kernels()
    k.repeat_index_kernel[grid_1d(total, k.BLOCK)](pointer(ends), pointer(out), n, total,
                                                   n.bit_length() + 1, BLOCK=k.BLOCK,
                                                   num_warps=k.NUM_WARPS)
    return out


def gather_slices(x: Array, index: Array, dim: int) -> Array:
    """The slices of ``x`` along ``dim`` at the positions in ``index`` (1-D int64)."""
    rules = _identity_rules(x)
    table = contiguous(index) if index.dtype is dtypes.int64 else cast(index, dtypes.int64)
    rules[dim] = _Rule(index.shape[0], x.shape[dim], x.strides[dim], _kernels().TABLE)
    return _remap(x, rules, table=table)


def pad(x: Array, pads: tuple, mode: str, value) -> Array:
    """``x`` padded by ``pads[d] = (before, after)`` along each dim (negative crops, constant
    mode only); mode is 'constant' (``value``), 'reflect', 'replicate' or 'circular'."""
    if mode != "constant" and any(size == 0 and (before or after)
                                  for size, (before, after) in zip(x.shape, pads)):
        # The mirrored / clamped / wrapped source position of an empty dim does not exist.
        raise ValueError(f"pad(): can't extend an empty dim in mode {mode!r}")
    k = _kernels()
    mode_code = {"constant": k.SHIFT, "reflect": k.REFLECT, "replicate": k.CLAMP,
                 "circular": k.WRAP}[mode]
    rules = []
    for size, stride, (before, after) in zip(x.shape, x.strides, pads):
        if before == 0 and after == 0:
            rules.append(_Rule(size, size, stride))
        else:
            rules.append(_Rule(size + before + after, size, stride, mode_code, before))
    return _remap(x, rules, fill=value)


def tril(x: Array, diagonal: int) -> Array:
    """Lower triangle of the last two dims (elements with col - row > diagonal are 0)."""
    return _triangle(x, diagonal, False)


def triu(x: Array, diagonal: int) -> Array:
    """Upper triangle of the last two dims (elements with col - row < diagonal are 0)."""
    return _triangle(x, diagonal, True)


def _triangle(x: Array, diagonal: int, upper: bool) -> Array:
    out = empty(x.shape, x.dtype)
    if out.numel == 0:
        return out
    rows, cols = x.shape[-2:]
    batch_shape, (batch_strides,) = collapse_dims(x.shape[:-2], x.strides[:-2])
    if len(batch_shape) > 1:  # batch dims not walkable with one stride: copy first
        x = contiguous(x)
        batch_strides = (rows * cols,)
    stride_b = batch_strides[0] if batch_strides else 0
    k = _kernels()
    k.triangle_kernel[grid_1d(out.numel, k.BLOCK)](
        pointer(x), pointer(out), out.numel, rows, cols, stride_b, x.strides[-2], x.strides[-1],
        int(diagonal), UPPER=upper, BLOCK=k.BLOCK, num_warps=k.NUM_WARPS)
    return out


KERNELS = {
    "tril": tril, "triu": triu, "flip": flip, "roll": roll, "tile": tile,
    "repeat_interleave": repeat_interleave, "repeat_interleave_index": repeat_interleave_index,
    "gather_slices": gather_slices, "pad": pad,
}
