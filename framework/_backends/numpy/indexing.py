"""CPU indexing kernels: gather / scatter / scatter_add along a dim, and nonzero.

``index`` has as many dims as ``x`` and may be smaller than ``x`` in every dim
but ``dim`` (PyTorch's rule); it may also be a broadcast (stride-0) view, which
is how the op layer expresses ``index_select``, ``index_add`` and the rows of an
advanced index. The op layer has checked that every index is in range.
"""
from __future__ import annotations

import numpy as np

from ...dtypes import int64
from ..array import Array
from ._arrays import compute_dtype, nd, wrap


def _leading_block(a: np.ndarray, shape: tuple, dim: int) -> np.ndarray:
    """The view of ``a`` cut to ``shape`` in every dim but ``dim``."""
    return a[tuple(slice(None) if d == dim else slice(0, size) for d, size in enumerate(shape))]


def _coordinates(index: np.ndarray, dim: int) -> tuple:
    """An open-grid fancy index: ``index`` at ``dim``, ``arange`` along every other dim."""
    grid = []
    for d, size in enumerate(index.shape):
        if d == dim:
            grid.append(index.astype(np.intp, copy=False))
            continue
        shape = [1] * index.ndim
        shape[d] = size
        grid.append(np.arange(size).reshape(shape))
    return tuple(grid)


def gather(x: Array, dim: int, index: Array) -> Array:
    """``out[i] = x[i with i[dim] = index[i]]``; the result has ``index``'s shape."""
    data = nd(x)
    idx = nd(index)
    if idx.size == 0:
        return wrap(np.empty(idx.shape, dtype=data.dtype), x.dtype)
    block = _leading_block(data, idx.shape, dim)
    if dim == 0 and idx.ndim == 2 and idx.strides[1] == 0:
        # one row index broadcast along the columns (index_select, embedding): whole rows
        return wrap(np.take(block, idx[:, 0], axis=0), x.dtype)
    return wrap(block[_coordinates(idx, dim)], x.dtype)


def _scatter(x: Array, dim: int, index: Array, src: Array, accumulate: bool) -> Array:
    out_dtype = compute_dtype(x.dtype) if accumulate else x.dtype.numpy
    out = np.array(nd(x), dtype=out_dtype, order="C")
    idx = nd(index)
    if idx.size:
        target = _coordinates(idx, dim)
        values = nd(src)[tuple(slice(0, size) for size in idx.shape)].astype(out_dtype, copy=False)
        block = _leading_block(out, idx.shape, dim)
        if accumulate and _whole_rows(idx, dim, out):
            _add_rows(block, idx[:, 0], values)
        elif accumulate:
            np.add.at(block, target, values)
        else:
            block[target] = values
    return wrap(out, x.dtype)


def _whole_rows(idx: np.ndarray, dim: int, out: np.ndarray) -> bool:
    """True for a 2-D ``dim=0`` index that is one row index broadcast along the columns (how
    ``index_add``, ``embedding``'s backward and advanced indexing's backward scatter rows)
    into a numeric array."""
    return (dim == 0 and idx.ndim == 2 and idx.strides[1] == 0 and idx.shape[0] > 1
            and out.dtype.kind in "fiu")


def _add_rows(block: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``block[rows[r]] += values[r]`` for every r, duplicates accumulating, like ``np.add.at``
    (which goes element by element, several times slower).

    The rows are sorted by target (stable), each target's current row put before its
    sources, and every group summed by one ``np.add.reduceat``: per target row, the old value
    and its source rows in their original order, summed by NumPy's reduction loop (pairwise
    partial sums for groups longer than 8, so float rounding can differ from ``np.add.at``'s
    strictly sequential order in the last bits; the order is fixed, so the result is
    deterministic)."""
    rows = rows.astype(np.intp, copy=False)
    if rows.min() < 0:
        rows = np.where(rows < 0, rows + block.shape[0], rows)
    targets = np.unique(rows)
    if targets.size == rows.size:  # no duplicates: one source per row, old + value as below
        block[rows] += values
        return
    keys = np.concatenate((targets, rows))
    order = np.argsort(keys, kind="stable")
    stacked = np.concatenate((block[targets], values))[order]
    starts = np.searchsorted(keys[order], targets)
    block[targets] = np.add.reduceat(stacked, starts, axis=0)


def scatter(x: Array, dim: int, index: Array, src: Array) -> Array:
    """A copy of ``x`` with ``src[i]`` written at ``i`` with ``i[dim] = index[i]``."""
    return _scatter(x, dim, index, src, accumulate=False)


def scatter_add(x: Array, dim: int, index: Array, src: Array) -> Array:
    """A copy of ``x`` with ``src[i]`` added at ``i`` with ``i[dim] = index[i]`` (duplicates
    accumulate; half types accumulate in float32)."""
    return _scatter(x, dim, index, src, accumulate=True)


_REDUCE_UFUNCS = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def scatter_reduce(x: Array, dim: int, index: Array, src: Array, reduce: str) -> Array:
    """A copy of ``x`` with each ``src[i]`` folded into ``out[i with i[dim] = index[i]]`` by
    ``reduce`` (sum / prod / amax / amin; the input's value takes part). NaN propagates in
    amax/amin; half types compute in float32."""
    out_dtype = compute_dtype(x.dtype)
    out = np.array(nd(x), dtype=out_dtype, order="C")
    idx = nd(index)
    if idx.size:
        values = nd(src)[tuple(slice(0, size) for size in idx.shape)].astype(out_dtype, copy=False)
        block = _leading_block(out, idx.shape, dim)
        with np.errstate(invalid="ignore"):  # NaN propagates, as in PyTorch
            _REDUCE_UFUNCS[reduce].at(block, _coordinates(idx, dim), values)
    return wrap(out.astype(x.dtype.numpy, copy=False), x.dtype)


def nonzero(x: Array) -> Array:
    """The (n, ndim) int64 coordinates of the nonzero elements, in row-major order."""
    return wrap(np.argwhere(nd(x)).astype(np.int64), int64)


KERNELS = {"gather": gather, "scatter": scatter, "scatter_add": scatter_add,
           "scatter_reduce": scatter_reduce, "nonzero": nonzero}
