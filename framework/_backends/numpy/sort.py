"""CPU sorting, searching and counting kernels (NumPy).

Orders follow PyTorch: NaN sorts as the largest value and every NaN is its
own value for ``unique``; sorts are stable. ``searchsorted`` runs PyTorch's
binary search step by step over all values at once (a loop over the
log2(n) steps, not over elements), so NaN gives the same answers.
"""
from __future__ import annotations

import numpy as np

from ...dtypes import int64
from ..array import Array
from ._arrays import nd, wrap


def _sortable(data: np.ndarray) -> np.ndarray:
    """Values whose NumPy order is PyTorch's: halves as float32 (NumPy sorts NaN last)."""
    if data.dtype.kind == "f" or data.dtype.kind == "V":
        return data.astype(np.float32) if data.dtype.itemsize < 4 else data
    if data.dtype == np.bool_:
        return data.astype(np.int64)
    return data


def sort(x: Array, dim: int, descending: bool, stable: bool) -> tuple:
    """(values, int64 indices) sorted along ``dim``; NaN largest; always stable."""
    data = nd(x)
    keys = _sortable(data)
    if descending:  # reverse order, equal values kept in input order: sort the flipped data
        n = data.shape[dim]
        flipped = np.flip(keys, dim)
        order = n - 1 - np.flip(np.argsort(flipped, axis=dim, kind="stable"), dim)
    else:
        order = np.argsort(keys, axis=dim, kind="stable")
    values = np.take_along_axis(data, order, axis=dim)
    return wrap(values, x.dtype), wrap(order.astype(np.int64), int64)


def _search_steps(seq: np.ndarray, values: np.ndarray, right: bool) -> np.ndarray:
    """PyTorch's binary search for each value of ``values`` (rows of ``seq`` broadcast)."""
    n = seq.shape[-1]
    start = np.zeros(values.shape, np.int64)
    end = np.full(values.shape, n, np.int64)
    rows = seq.reshape(-1, n)
    row_of = (np.arange(values.size) // max(values.shape[-1], 1) if seq.ndim > 1
              else np.zeros(values.size, np.int64)).reshape(values.shape)
    with np.errstate(invalid="ignore"):
        for _ in range(max(1, n.bit_length()) + 1):
            active = start < end
            mid = start + (end - start) // 2
            s = rows[row_of, np.minimum(mid, n - 1)]
            go_right = ~(s > values) if right else ~(s >= values)
            start = np.where(active & go_right, mid + 1, start)
            end = np.where(active & ~go_right, mid, end)
    return start


def searchsorted(sorted_sequence: Array, values: Array, right: bool, out_dtype,
                 sorter) -> Array:
    """Insertion index of each value in its row of ``sorted_sequence`` (1-D, or the same
    leading dims as ``values``), read through ``sorter`` when given; ``out_dtype`` int32/64."""
    seq = nd(sorted_sequence)
    if sorter is not None:
        seq = np.take_along_axis(seq, nd(sorter).astype(np.int64), axis=-1)
    data = nd(values)
    if data.size == 0 or seq.shape[-1] == 0:
        return wrap(np.zeros(data.shape, out_dtype.numpy), out_dtype)
    common = np.promote_types(_sortable(seq[..., :1]).dtype, _sortable(data.reshape(-1)[:1]).dtype)
    found = _search_steps(seq.astype(common), data.astype(common), right)
    return wrap(found.astype(out_dtype.numpy), out_dtype)


def bincount(x: Array, weights, minlength: int, out_dtype) -> Array:
    """``out[v]`` = number (or total weight) of the elements equal to v, for v <
    max(max(x) + 1, minlength)."""
    w = None if weights is None else nd(weights).astype(np.float64)
    counts = np.bincount(nd(x).astype(np.int64), weights=w, minlength=minlength)
    return wrap(counts.astype(out_dtype.numpy), out_dtype)


def unique(x: Array) -> tuple:
    """(sorted unique values, int64 inverse of x's shape, int64 counts); every NaN is its own
    value (NaN != NaN)."""
    data = nd(x).reshape(-1)
    order = np.argsort(_sortable(data), kind="stable")
    ordered = data[order]
    if data.size == 0:
        return wrap(ordered, x.dtype), wrap(np.zeros(x.shape, np.int64), int64), \
            wrap(np.zeros(0, np.int64), int64)
    starts = np.ones(data.size, bool)
    starts[1:] = ordered[1:] != ordered[:-1]  # NaN != NaN: each NaN starts a group
    group = np.cumsum(starts) - 1
    inverse = np.empty(data.size, np.int64)
    inverse[order] = group
    first = np.flatnonzero(starts)
    counts = np.diff(np.append(first, data.size))
    return (wrap(ordered[first], x.dtype), wrap(inverse.reshape(x.shape), int64),
            wrap(counts.astype(np.int64), int64))


KERNELS = {"sort": sort, "searchsorted": searchsorted, "bincount": bincount, "unique": unique}
