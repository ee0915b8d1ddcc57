"""CPU pooling and interpolation kernels on (N, C, H, W) views.

The op layer (``framework.ops.pool``) describes each spatial axis by a
``Windows`` (pooling) or ``Samples`` (interpolation) object. Forward kernels
loop over the window offsets only (at most kernel_size per axis): each offset
gathers one (N, C, OH, OW) slab of input values by fancy indexing and folds it
into the running max / sum. Backward kernels are scatter-adds, done with one
``np.bincount`` over flat (plane, position) indices, which sums duplicates.
Half types compute in float32. Disjoint tiles (kernel == stride, no padding) take
faster paths: 2 x 2 tiles by contiguous planes (``_pool_max_2x2``), other sizes by a
running max over strided views, both split by images over threads; the backward of
their indices is a store (no two outputs share an input position).
"""
from __future__ import annotations

import functools
import weakref

import numpy as np

from ...dtypes import int64
from ..array import Array
from ._arrays import compute_dtype, nd, wrap
from ._parallel import run_blocks, run_pieces, split_count, threads


def _values(x: Array) -> np.ndarray:
    data = nd(x)
    target = compute_dtype(x.dtype)
    return data if data.dtype == target else data.astype(target)


def _positions(windows, size: int) -> tuple:
    """(positions, valid): (K, O) input positions of each window offset, clipped into the
    input, and whether each is a real input position of the window (not padding)."""
    offsets = np.arange(windows.size)[:, None]
    pos = np.asarray(windows.start, dtype=np.int64)[None, :] + offsets * windows.step
    valid = (offsets < np.asarray(windows.count, dtype=np.int64)[None, :]) \
        & (pos >= 0) & (pos < size)
    return np.clip(pos, 0, max(size - 1, 0)), valid


def _window_slabs(data: np.ndarray, rows, cols):
    """Yield (values, valid, flat index) for each window offset (i, j): (N, C, OH, OW) values,
    the (OH, OW) mask of real positions and their flat per-plane indices h*W + w."""
    height, width = data.shape[2], data.shape[3]
    r, rv = _positions(rows, height)
    c, cv = _positions(cols, width)
    for i in range(rows.size):
        band = data[:, :, _as_slice(r[i]), :]
        for j in range(cols.size):
            valid = rv[i][:, None] & cv[j][None, :]
            flat = r[i][:, None] * width + c[j][None, :]
            yield band[:, :, :, _as_slice(c[j])], valid, flat


def _as_slice(positions: np.ndarray):
    """Evenly spaced increasing ``positions`` as the equivalent slice (a view, not a gather
    copy: the same values); other positions unchanged."""
    if positions.size == 0:
        return positions
    first = int(positions[0])
    step = int(positions[1]) - first if positions.size > 1 else 1
    if step <= 0 or not np.array_equal(positions, first + step * np.arange(positions.size)):
        return positions
    return slice(first, first + step * (positions.size - 1) + 1, step)


def _divisor(rows, cols, divisor_override, dtype) -> np.ndarray:
    if divisor_override is not None:
        return np.asarray(divisor_override, dtype=dtype)
    return np.outer(np.asarray(rows.divisor, dtype), np.asarray(cols.divisor, dtype))


def _scatter(values: np.ndarray, flat: np.ndarray, in_size: tuple, dtype) -> Array:
    """Sum ``values`` (N, C, ...) into (N, C, H, W) at per-plane flat positions ``flat``
    (same shape as ``values`` or broadcast to it)."""
    n, c = values.shape[:2]
    plane = in_size[0] * in_size[1]
    per_plane = int(np.prod(values.shape[2:], dtype=np.int64))
    flat = np.broadcast_to(flat, values.shape).reshape(n * c, per_plane)
    target = flat + (np.arange(n * c, dtype=np.int64) * plane)[:, None]
    weights = values.reshape(n * c, per_plane).astype(np.float64)
    total = np.bincount(target.ravel(), weights=weights.ravel(), minlength=n * c * plane)
    return wrap(total.reshape((n, c) + tuple(in_size)).astype(dtype.numpy), dtype)


def _tiles(windows, size: int):
    """The tile size k when ``windows`` are the disjoint tiles [o*k, o*k + k) (kernel ==
    stride, no padding, no dilation, all inside the input); else None."""
    k, out = windows.size, len(windows.start)
    if windows.step != 1 or k < 1 or out == 0 or out * k > size:
        return None
    if windows.start != tuple(range(0, out * k, k)) or set(windows.count) != {k}:
        return None
    return k


def _pool_max_tiles(data: np.ndarray, kh: int, kw: int, ho: int, wo: int):
    """pool_max2d over disjoint kh x kw tiles: a running max over the tile offsets taken as
    strided views (no gather), in the general path's order and with its strict ``>`` (ties
    and all -inf keep the first). None when the input holds a NaN (PyTorch's rule for NaN
    is left to the general path)."""
    if data.dtype.kind == "f" and np.isnan(data).any():
        return None
    width = data.shape[3]
    offsets = [(i, j) for i in range(kh) for j in range(kw)]
    best = np.array(data[:, :, 0:ho * kh:kh, 0:wo * kw:kw])
    bits = _SAME_SIZE_UINT.get(best.dtype.itemsize)
    # which offset holds the max: a small code, updated without branches. The offsets n
    # only grow, and a take makes n the latest winner, so code = max(code, take * n).
    code = np.zeros(best.shape, dtype=np.uint8 if len(offsets) < 256 else np.int64)
    step = np.empty(best.shape, dtype=code.dtype)
    for n, (i, j) in enumerate(offsets[1:], 1):
        values = data[:, :, i:ho * kh:kh, j:wo * kw:kw]
        take = values > best
        np.maximum(code, np.multiply(take, code.dtype.type(n), out=step), out=code)
        if bits is None:
            np.putmask(best, take, values)
        else:  # the same select on the bit patterns, in wrapping unsigned arithmetic:
            b = best.view(bits)  # b + take * (v - b) is v where take, else b
            b += np.multiply(np.subtract(values.view(bits), b), take)
    # i*W + j of the max within its tile, then the tile's own offset in the plane
    where = np.array([i * width + j for i, j in offsets], dtype=np.int64).take(code)
    where += (np.arange(ho) * (kh * width))[:, None] + np.arange(wo) * kw
    return best, where


# inputs at least this large (elements) are split by image over ``threads()`` threads: mnist_cnn's
# (64, 16, 28, 28) and LeNet's (64, 6, 28, 28) are; a thread's hand-off costs ~20-50 us
_SPLIT_POOL_ELEMENTS = 1 << 16


def _pool_max_tiles_split(data: np.ndarray, kh: int, kw: int, ho: int, wo: int):
    """``_pool_max_tiles`` by blocks of images on ``threads()`` threads (each image's result
    depends only on that image, so it is the one-thread result bit for bit)."""
    workers, n = threads(), data.shape[0]
    if workers <= 1 or n < 2 or data.size < _SPLIT_POOL_ELEMENTS:
        return _pool_max_tiles(data, kh, kw, ho, wo)
    count = min(workers, n)
    bounds = [n * k // count for k in range(count + 1)]
    parts = run_pieces(lambda b: _pool_max_tiles(data[b[0]:b[1]], kh, kw, ho, wo),
                       list(zip(bounds[:-1], bounds[1:])), count)
    if any(part is None for part in parts):
        return None
    return (np.concatenate([part[0] for part in parts]),
            np.concatenate([part[1] for part in parts]))


# the unsigned type of each item size: the tiled max pool selects values by their bits
# (branch-free, ~4x putmask's speed on LeNet's (64, 6, 28, 28); exact for every dtype)
_SAME_SIZE_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _pool_max_2x2(data: np.ndarray, ho: int, wo: int, best: np.ndarray = None,
                  where: np.ndarray = None):
    """pool_max2d over disjoint 2 x 2 tiles (``_pool_max_tiles``' bits and indices), by
    blocks of images (``_BLOCK_2X2``) on ``threads()`` threads, into ``best`` and ``where``
    (contiguous (N, C, HO, WO) of data's type and int64; default fresh: a compiled CPU
    plan passes its kept buffers); None when the input holds a NaN, or where
    ``np.maximum`` does not keep its second operand on ties (then the general tiled path
    runs).

    A block copies its four tile offsets (i, j) into contiguous planes (so every later pass
    is one long contiguous loop, not 14-element strided rows), takes the max of each row's
    pair (j = 1 over j = 0), then of the two rows (i = 1 over i = 0), each by
    ``np.maximum(later, earlier)``, which keeps the earlier on a tie (also -0.0 against
    +0.0): the first maximum in the tile's row-major order, as the strict ``>`` of the
    general path. Which one won is two ``>`` tests: ``row`` (row 1 beat row 0) and, within
    the winning row, ``col``; the index is ``row * W + col`` plus the tile's corner."""
    n, c, _, width = data.shape
    if (data.dtype.kind == "f" and not _maximum_keeps_second_on_ties(data.dtype)) \
            or width > np.iinfo(np.uint16).max - 1:
        return None
    if best is None:
        best = np.empty((n, c, ho, wo), data.dtype)
        where = np.empty((n, c, ho, wo), np.int64)
    corner = ((np.arange(ho) * (2 * width))[:, None] + np.arange(wo) * 2).reshape(-1)
    small = np.uint8 if width < np.iinfo(np.uint8).max else np.uint16

    def block(images: slice) -> bool:
        x, count = data[images], images.stop - images.start
        planes = np.empty((2, 2, count, c, ho, wo), data.dtype)
        for i in range(2):
            for j in range(2):
                np.copyto(planes[i, j], x[:, :, i:2 * ho:2, j:2 * wo:2])
        pair = np.maximum(planes[:, 1], planes[:, 0])  # (2, count, c, ho, wo) per row
        col = np.greater(planes[:, 1], planes[:, 0])
        top = best[images]
        np.maximum(pair[1], pair[0], out=top)
        row = np.greater(pair[1], pair[0])
        if data.dtype.kind == "f" and np.isnan(top.max()):
            return False
        col0 = col[0]  # the winning row's col: col0 ^ (row & (col0 ^ col1))
        np.bitwise_xor(col[1], col0, out=col[1])
        np.bitwise_and(col[1], row, out=col[1])
        np.bitwise_xor(col[1], col0, out=col[1])
        code = np.multiply(row, small(width), dtype=small)  # row * W + col, small ints
        code += col[1]
        index = where[images].reshape(count * c, ho * wo)
        np.copyto(index, code.reshape(count * c, ho * wo))
        index += corner
        return True
    workers = split_count(data.size, _SPLIT_POOL_ELEMENTS)
    step = max(1, min(_BLOCK_2X2 // max(1, data[:1].size), -(-n // workers)))
    blocks = [slice(start, min(n, start + step)) for start in range(0, n, step)]
    if not all(run_pieces(block, blocks, workers)):
        return None
    return best, where


_BLOCK_2X2 = 1 << 19  # input elements per block of ``_pool_max_2x2`` (at least one image; and
# at least one block per thread). Larger blocks ran faster (fewer NumPy calls): mnist_cnn's
# (64, 16, 28, 28) on one thread took 1000 us in blocks of 4 images, 850 of 8, 695 of 64.


@functools.cache
def _maximum_keeps_second_on_ties(np_dtype: np.dtype) -> bool:
    """Whether ``np.maximum(a, b)`` is ``b``'s bits wherever ``a == b`` (+0.0 against -0.0 in
    either order) and the larger value elsewhere, for NaN-free float arrays of ``np_dtype``
    (x86's ``max`` instructions and NumPy's scalar loop do; ARM's ``fmax`` orders -0.0 below
    +0.0). Checked on contiguous and strided operands of lengths that cover NumPy's vector
    body and tail (once per type, cached)."""
    first = np.array([-0.0, 0.0, 0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, 2.5, -3.0], np_dtype)
    second = np.array([0.0, -0.0, 0.0, -0.0, 1.0, -2.0, np.inf, -np.inf, 3.5, -3.0], np_dtype)
    for n in (1, 3, 7, 8, 9, 16, 17, 33, 70):
        a, b = np.resize(first, 2 * n), np.resize(second, 2 * n)
        for pick in (slice(0, n), slice(None, None, 2), slice(1, n + 1)):
            x, y = a[pick], b[pick]
            exact = np.where(x > y, x, y)
            if np.maximum(x, y).tobytes() != exact.tobytes() or \
                    np.maximum(y, x).tobytes() != np.where(y > x, y, x).tobytes():
                return False
    return True


def pool_max2d(x: Array, rows, cols) -> tuple:
    """Max over each window and its flat per-plane index (PyTorch's rule: a later element
    wins when greater or NaN; the first real position when all are -inf)."""
    data = _values(x)
    kh, kw = _tiles(rows, data.shape[2]), _tiles(cols, data.shape[3])
    if kh and kw and data.size:
        ho, wo = len(rows.start), len(cols.start)
        tiled = _pool_max_2x2(data, ho, wo) if kh == kw == 2 else None
        if tiled is None:
            tiled = _pool_max_tiles_split(data, kh, kw, ho, wo)
        if tiled is not None:
            indices = wrap(tiled[1], int64)
            _DISTINCT[indices.storage] = _distinct_key(indices, data.shape[2:])
            return wrap(tiled[0], x.dtype), indices
    shape = data.shape[:2] + (len(rows.start), len(cols.start))
    lowest = -np.inf if data.dtype.kind == "f" else np.iinfo(data.dtype).min
    best = np.full(shape, lowest, dtype=data.dtype)
    index = np.full(shape, -1, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        for values, valid, flat in _window_slabs(data, rows, cols):
            take = valid & ((values > best) | np.isnan(values) | (index < 0))
            best = np.where(take, values, best)
            index = np.where(take, flat, index)
    return wrap(best, x.dtype), wrap(index, int64)


def _in_own_tile(flat: np.ndarray, in_size: tuple) -> bool:
    """Whether each (HO, WO) output's index lies in its own disjoint tile of the input
    (tile = H // HO by W // WO): then no two outputs share an input position."""
    ho, wo = flat.shape[2:]
    (h, w) = in_size
    if ho == 0 or wo == 0 or h < ho or w < wo:
        return False
    kh, kw = h // ho, w // wo
    # the offset from the tile's corner must be one of the tile's i*W + j (a table look-up:
    # no integer division)
    offset = flat - ((np.arange(ho) * (kh * w))[:, None] + np.arange(wo) * kw)
    in_tile = np.zeros((kh - 1) * w + kw, dtype=bool)
    in_tile[(np.arange(kh)[:, None] * w + np.arange(kw)).ravel()] = True
    # the range by two reductions (no boolean temporaries), then the table at every offset
    if offset.min() < 0 or offset.max() >= in_tile.size:
        return False
    return bool(in_tile.take(offset).all())


# A cache: the indices that the tiled forward made (disjoint tiles: no two outputs of a plane
# share an input position), so their backward need not check it again: the indices'
# Storage (weakly: an entry goes with its indices) -> ``_distinct_key`` of them then (an
# entry of an older storage version, the indices changed in place, does not match).
_DISTINCT: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _distinct_key(indices: Array, in_size) -> tuple:
    return (indices.storage.version, indices.shape, indices.strides, indices.offset,
            tuple(in_size))


def _known_distinct(indices: Array, in_size) -> bool:
    """Whether ``indices`` are the tiled forward's, unchanged, for planes of ``in_size``."""
    key = _DISTINCT.get(indices.storage)
    return key is not None and key == _distinct_key(indices, in_size)


# backward passes (input elements) at least this large are split by image over threads
_SPLIT_SCATTER_ELEMENTS = 1 << 18


def pool_max2d_backward(grad: Array, indices: Array, in_size: tuple) -> Array:
    """``grad`` added into a zero (N, C, H, W) input at the argmax ``indices``."""
    g, flat = nd(grad), nd(indices)
    n, c = g.shape[:2]
    in_size = tuple(in_size)
    if g.ndim == 4 and g.size and (_known_distinct(indices, in_size)
                                   or _in_own_tile(flat, in_size)):
        # distinct positions: a store is the sum (+ 0.0 gives the sum's +0 for a -0 grad)
        work = _values(grad)
        plane = in_size[0] * in_size[1]
        out = np.empty((n, c) + in_size, dtype=work.dtype)

        def block(start: int, stop: int) -> None:  # images start:stop (their own outputs)
            part = out[start:stop]
            part.fill(0)
            at = flat[start:stop] + (np.arange((stop - start) * c, dtype=np.int64)
                                     * plane).reshape(stop - start, c, 1, 1)
            part.reshape(-1)[at.reshape(-1)] = (work[start:stop] + 0.0).reshape(-1)
        run_blocks(block, n, split_count(out.size, _SPLIT_SCATTER_ELEMENTS))
        return wrap(out.astype(grad.dtype.numpy, copy=False), grad.dtype)
    return _scatter(g, flat, in_size, grad.dtype)


def pool_max2d_gather(x: Array, indices: Array) -> Array:
    """Each (n, c) plane of ``x`` read at its flat positions ``indices[n, c]``."""
    data = nd(x)
    n, c = data.shape[:2]
    flat = nd(indices)
    planes = data.reshape(n, c, -1)
    picked = np.take_along_axis(planes, flat.reshape(n, c, -1), axis=2)
    return wrap(picked.reshape(flat.shape), x.dtype)


def pool_avg2d(x: Array, rows, cols, divisor_override) -> Array:
    """Window sums over real (unpadded) positions divided by the divisor."""
    data = _values(x)
    total = np.zeros(data.shape[:2] + (len(rows.start), len(cols.start)), dtype=data.dtype)
    for values, valid, _ in _window_slabs(data, rows, cols):
        total += np.where(valid, values, 0)
    return wrap(total / _divisor(rows, cols, divisor_override, data.dtype), x.dtype)


def pool_avg2d_backward(grad: Array, rows, cols, divisor_override, in_size: tuple) -> Array:
    """Each output's gradient / divisor added to every real position of its window."""
    g = _values(grad)
    g = g / _divisor(rows, cols, divisor_override, g.dtype)
    blank = np.zeros((1, 1) + tuple(in_size), dtype=np.int8)
    parts, places = [], []
    for _, valid, flat in _window_slabs(blank, rows, cols):
        parts.append(np.where(valid, g, 0))
        places.append(flat)
    if not parts:
        return wrap(np.zeros(g.shape[:2] + tuple(in_size), dtype=grad.dtype.numpy), grad.dtype)
    return _scatter(np.stack(parts, axis=2), np.stack(places)[None, None], in_size, grad.dtype)


def _weights(samples, dtype) -> tuple:
    lo = np.asarray(samples.lo, dtype=np.int64)
    hi = np.asarray(samples.hi, dtype=np.int64)
    w = np.asarray(samples.weight, dtype=dtype)
    return lo, hi, 1 - w, w


def interp2d(x: Array, rows, cols, nearest: bool) -> Array:
    """Nearest: ``x[..., rows.lo, cols.lo]``; bilinear: PyTorch's blend of 4 neighbours."""
    data = _values(x)
    if nearest:
        return wrap(data[:, :, np.asarray(rows.lo, np.int64)][..., np.asarray(cols.lo, np.int64)],
                    x.dtype)
    r0, r1, wr0, wr1 = _weights(rows, data.dtype)
    c0, c1, wc0, wc1 = _weights(cols, data.dtype)

    def across(band):
        return wc0 * band[..., c0] + wc1 * band[..., c1]
    out = wr0[:, None] * across(data[:, :, r0]) + wr1[:, None] * across(data[:, :, r1])
    return wrap(out, x.dtype)


def interp2d_backward(grad: Array, rows, cols, nearest: bool, in_size: tuple) -> Array:
    """Each output's gradient added to its sources (times their interpolation weights)."""
    g = _values(grad)
    width = in_size[1]
    if nearest:
        flat = np.asarray(rows.lo, np.int64)[:, None] * width + np.asarray(cols.lo, np.int64)
        return _scatter(g, flat, in_size, grad.dtype)
    r0, r1, wr0, wr1 = _weights(rows, g.dtype)
    c0, c1, wc0, wc1 = _weights(cols, g.dtype)
    parts, places = [], []
    for r, wr in ((r0, wr0), (r1, wr1)):
        for c, wc in ((c0, wc0), (c1, wc1)):
            parts.append(g * (wr[:, None] * wc[None, :]))
            places.append(r[:, None] * width + c[None, :])
    return _scatter(np.stack(parts, axis=2), np.stack(places)[None, None], in_size, grad.dtype)


KERNELS = {
    "pool_max2d": pool_max2d, "pool_max2d_backward": pool_max2d_backward,
    "pool_max2d_gather": pool_max2d_gather,
    "pool_avg2d": pool_avg2d, "pool_avg2d_backward": pool_avg2d_backward,
    "interp2d": interp2d, "interp2d_backward": interp2d_backward,
}
