"""CPU data-movement kernels: tril/triu, flip, roll, tile, repeat_interleave, pad (NumPy).

Inputs arrive as ``Array`` views (any strides); each kernel returns a new
contiguous array. The op layer has validated and normalized the arguments
(dims wrapped, ``reps`` as long as ``x.ndim``, one ``(before, after)`` pair
per dim for ``pad``).
"""
from __future__ import annotations

import numpy as np

from ...dtypes import int64
from ..array import Array
from ._arrays import nd, wrap

_NUMPY_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def tril(x: Array, diagonal: int) -> Array:
    """Lower triangle of the last two dims (elements with col - row > diagonal are 0)."""
    return wrap(np.tril(nd(x), diagonal), x.dtype)


def triu(x: Array, diagonal: int) -> Array:
    """Upper triangle of the last two dims (elements with col - row < diagonal are 0)."""
    return wrap(np.triu(nd(x), diagonal), x.dtype)


def flip(x: Array, dims: tuple) -> Array:
    """A copy of ``x`` with the order of ``dims`` reversed."""
    return wrap(np.flip(nd(x), dims), x.dtype)


def roll(x: Array, shifts: tuple, dims: tuple) -> Array:
    """``x`` rolled by ``shifts[i]`` along ``dims[i]``."""
    return wrap(np.roll(nd(x), shifts, dims), x.dtype)


def tile(x: Array, reps: tuple) -> Array:
    """``x`` repeated ``reps[d]`` times along each dim (``len(reps) == x.ndim``)."""
    return wrap(np.tile(nd(x), reps), x.dtype)


def repeat_interleave(x: Array, repeats: int, dim: int) -> Array:
    """Each slice of ``x`` along ``dim`` repeated ``repeats`` times in place."""
    return wrap(np.repeat(nd(x), repeats, axis=dim), x.dtype)


def repeat_interleave_index(repeats: Array, total: int) -> Array:
    """``k`` repeated ``repeats[k]`` times for each k (int64, ``total`` entries in all)."""
    counts = nd(repeats).astype(np.int64)
    return wrap(np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)[:total], int64)


def gather_slices(x: Array, index: Array, dim: int) -> Array:
    """The slices of ``x`` along ``dim`` at the positions in ``index`` (1-D integers)."""
    return wrap(np.take(nd(x), nd(index).astype(np.int64), axis=dim), x.dtype)


def pad(x: Array, pads: tuple, mode: str, value) -> Array:
    """``x`` padded by ``pads[d] = (before, after)`` along each dim (negative crops, constant
    mode only); mode is 'constant' (``value``), 'reflect', 'replicate' or 'circular'."""
    data = nd(x)
    if mode != "constant":
        return wrap(np.pad(data, pads, mode=_NUMPY_PAD_MODES[mode]), x.dtype)
    crop = tuple(slice(max(-before, 0), size - max(-after, 0))
                 for size, (before, after) in zip(data.shape, pads))
    grow = tuple((max(before, 0), max(after, 0)) for before, after in pads)
    return wrap(np.pad(data[crop], grow, mode="constant", constant_values=value), x.dtype)


KERNELS = {
    "tril": tril, "triu": triu, "flip": flip, "roll": roll, "tile": tile,
    "repeat_interleave": repeat_interleave, "repeat_interleave_index": repeat_interleave_index,
    "gather_slices": gather_slices, "pad": pad,
}
