"""Helpers shared by the Triton launch wrappers: grids, strided operand packing."""
from __future__ import annotations

import triton

from ..array import Array, broadcast_strides, collapse_dims
from .memory import pointer

MAX_DIMS = 6


def grid_1d(n: int, block: int) -> tuple:
    """One program per ``block`` elements (at least one)."""
    return (max(1, triton.cdiv(n, block)),)


def pack_strided(shape: tuple, *arrays):
    """Collapse ``shape`` and the operands' strides to ``MAX_DIMS`` dims for a kernel.

    Each operand is an ``Array`` (read broadcast to ``shape``) or a raw
    strides tuple. Returns ``(sizes[1:6], [strides6, ...])``: the sizes of
    dims 1..5 and six strides per operand, padded in front with size-1 dims.
    """
    stride_sets = []
    for a in arrays:
        if isinstance(a, Array):
            stride_sets.append(broadcast_strides(a.shape, a.strides, shape))
        else:
            stride_sets.append(tuple(a))
    sizes, strides = collapse_dims(shape, *stride_sets)
    if len(sizes) > MAX_DIMS:
        raise NotImplementedError(
            f"cuda kernels take views of at most {MAX_DIMS} non-mergeable dims; "
            f"got shape {shape}: call .contiguous() first")
    pad = MAX_DIMS - len(sizes)
    sizes = (1,) * pad + tuple(sizes)
    strides = [(0,) * pad + tuple(st) for st in strides]
    return sizes[1:], strides


def all_contiguous_same_shape(shape: tuple, *arrays) -> bool:
    """True when every operand is a contiguous array of exactly ``shape``."""
    return all(isinstance(a, Array) and a.shape == shape and a.is_contiguous() for a in arrays)


__all__ = ["grid_1d", "pack_strided", "all_contiguous_same_shape", "pointer"]
