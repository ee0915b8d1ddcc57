"""CPU random numbers: NumPy's Philox bit generator keyed by (seed, offset).

A draw at ``offset`` advances a fresh generator for ``seed`` to that offset,
so results depend only on the seed and how many numbers were drawn before.
"""
from __future__ import annotations

import functools
import math
import threading

import numpy as np

from ._arrays import _UNSIGNED, compute_dtype, nd, quiet, wrap
from ._parallel import flat_blocks, run_blocks, split_count


def _generator(seed: int, offset: int) -> np.random.Generator:
    """A generator at counter ``offset`` of the Philox stream of ``seed``: the state of a
    fresh ``Philox(key=seed)`` advanced by ``offset``. Building a ``Philox`` costs several
    times its ``advance``, and ``advance`` several times setting the state, so each thread
    keeps one Philox and Generator per recent seed (``_PHILOX``, a cache) and sets its
    state to what ``advance(offset)`` from the start gives: the 256-bit counter
    ``offset`` and an empty buffer. The generator is for immediate use (the next call on
    this thread with the same seed repositions it)."""
    key = seed & _WORD
    cache = getattr(_PHILOX, "by_key", None)
    if cache is None:
        cache = _PHILOX.by_key = {}
    entry = cache.get(key)
    if entry is None:
        if len(cache) >= _PHILOX_SEEDS:
            cache.clear()
        bits = np.random.Philox(key=key)
        state = bits.state
        entry = cache[key] = (bits, state, state["state"]["counter"], np.random.Generator(bits))
    bits, state, counter, generator = entry
    offset &= _COUNTER
    counter[0] = offset & _WORD
    counter[1] = (offset >> 64) & _WORD
    counter[2] = (offset >> 128) & _WORD
    counter[3] = offset >> 192
    bits.state = state  # a fresh generator's buffers: empty (what ``advance`` leaves)
    return generator


_WORD = (1 << 64) - 1
_COUNTER = (1 << 256) - 1  # Philox's counter is 256 bits (``advance`` wraps around)
_PHILOX = threading.local()  # per thread: key -> (Philox, its state dict, counter, Generator)
_PHILOX_SEEDS = 16


def rand(shape, dtype, seed, offset):
    """Uniform samples in [0, 1): float64 draws rounded to ``dtype``, those that round up to 1
    lowered to the largest number below 1 (in place, in the fresh rounded array that ``wrap``
    then takes over)."""
    values = _generator(seed, offset).random(shape, dtype=np.float64)
    if dtype.itemsize < 8:
        values = values.astype(dtype.numpy)
        if values.size:
            np.minimum(values, _below_one(dtype.numpy), out=values)
    return wrap(values, dtype)


@functools.cache
def _below_one(np_dtype):
    """The largest number below 1 in ``np_dtype`` (a cache of a pure function)."""
    return np.nextafter(np.array(1.0, dtype=np_dtype), np.array(0.0, dtype=np_dtype))


def randn(shape, dtype, seed, offset):
    """Standard normal samples."""
    return wrap(_generator(seed, offset).standard_normal(shape), dtype)


def randint(shape, low, high, dtype, seed, offset):
    """Integers uniform in [low, high). One number (one per sample in data augmentation) is
    drawn as a scalar: the same number, for a quarter of the array draw's overhead."""
    generator = _generator(seed, offset)
    if len(shape) == 1 and shape[0] == 1:
        return wrap(np.array([generator.integers(low, high, dtype=np.int64)]), dtype)
    return wrap(generator.integers(low, high, size=shape, dtype=np.int64), dtype)


def dropout(x, p, seed, offset):
    """``x * keep / (1 - p)``: row-major element ``i`` is kept when its uniform draw at
    counter ``offset + i`` is >= ``p`` (``p`` < 1; the mask is regenerated for the backward,
    which runs this kernel again with the same draw: the mask is then found in
    ``_DROP_MASKS``)."""
    values = nd(x)
    work = compute_dtype(x.dtype)
    if values.dtype != work:
        values = values.astype(work)
    scale = 0.0 if p >= 1.0 else 1.0 / (1.0 - p)
    drop = _drop_mask(values.shape, p, seed, offset)
    out = np.empty(values.shape, np.result_type(values, scale))
    count = split_count(values.size)
    if count > 1 and values.flags.c_contiguous:  # a large pass over threads
        flat_blocks(lambda v, o, d: _scale_and_drop(v, scale, o, d), (values, out, drop), count)
    else:
        _scale_and_drop(values, scale, out, drop)
    return wrap(out, x.dtype)


def _scale_and_drop(values: np.ndarray, scale: float, out: np.ndarray, drop: np.ndarray) -> None:
    """``out = values * scale``, then +0.0 where ``drop`` (NaN too): the product's bits times
    (not drop), an integer multiply (``np.copyto(out, 0, where=drop)``'s result, ~10x faster
    on (64, 1568))."""
    with np.errstate(all="ignore"):
        np.multiply(values, scale, out=out)
    unsigned = _UNSIGNED.get(out.itemsize)
    if unsigned is None or out.dtype.kind != "f":
        np.copyto(out, 0, where=drop)
        return
    bits = out.view(unsigned)
    np.multiply(bits, np.logical_not(drop), out=bits)


def _drop_mask(shape: tuple, p: float, seed: int, offset: int) -> np.ndarray:
    """Where a dropout draw drops (uniform < p): a pure function of (shape, p, seed,
    offset), remembered for the draw's second use (the backward), then forgotten."""
    key = (shape, p, seed, offset)
    drop = _DROP_MASKS.pop(key, None)
    if drop is None:
        drop = _draw_below(shape, p, seed, offset)
        while len(_DROP_MASKS) >= _DROP_MASKS_MAX:
            _DROP_MASKS.pop(next(iter(_DROP_MASKS)))  # the oldest
        _DROP_MASKS[key] = drop
    return drop


def _draw_below(shape: tuple, p: float, seed: int, offset: int) -> np.ndarray:
    """``_generator(seed, offset).random(shape) < p``; a large draw in blocks over threads,
    each block from its own generator at its first element's counter (element ``i`` of a
    draw is word ``i % 4`` of Philox block ``offset + i // 4``, so blocks that start at
    multiples of 4 draw the same numbers)."""
    size = int(np.prod(shape, dtype=np.int64))
    if p >= 1.0:
        return np.ones(shape, np.bool_)  # every draw is below 1
    below = _raw_threshold(p)
    count = split_count(size, _SPLIT_DRAW)
    if count <= 1:
        return (_generator(seed, offset).bit_generator.random_raw(size) < below).reshape(shape)
    drop = np.empty(shape, np.bool_)
    flat = drop.reshape(-1)

    def block(start: int, stop: int) -> None:
        raw = _generator(seed, offset + start // 4).bit_generator.random_raw(stop - start)
        np.less(raw, below, out=flat[start:stop])
    run_blocks(block, size, count, align=4)
    return drop


def _raw_threshold(p: float) -> np.uint64:
    """The uint64 ``T`` with ``word < T`` exactly where ``random() < p`` for the same Philox
    word (``random()`` is ``(word >> 11) * 2**-53``, so that holds for
    ``T = ceil(p * 2**53) << 11``; 0 <= p < 1): the comparison without the float draw, which
    costs a third more."""
    return np.uint64(math.ceil(max(p, 0.0) * 2.0 ** 53) << 11)


_SPLIT_DRAW = 1 << 15  # draws of at least this many numbers are split over threads (a
# float64 draw costs ~3 ns per number, a hand-off to a pool thread ~20-50 us)


# A cache: the masks of recent dropout draws (a draw's forward leaves its mask for the
# backward, which takes it out), at most ``_DROP_MASKS_MAX``, the oldest dropped first.
_DROP_MASKS: dict = {}
_DROP_MASKS_MAX = 16


def multinomial(probs, num_samples, replacement, seed, offset):
    """``num_samples`` category indices per row of (R, C) ``probs`` (validated by the op).

    With replacement: inverse CDF (one ``searchsorted`` over all rows, each row's normalized
    CDF shifted by twice its row number). Without: Gumbel top-k, the indices of the largest
    ``log(p) + Gumbel noise`` keys.
    """
    p = nd(probs).astype(np.float64)
    rows, C = p.shape
    if rows == 0 or num_samples == 0:
        return wrap(np.zeros((rows, num_samples), dtype=np.int64))
    u = _generator(seed, offset).random((rows, num_samples if replacement else C))
    if replacement:
        cdf = np.cumsum(p, axis=1)
        cdf /= cdf[:, -1:]
        shift = 2.0 * np.arange(rows)[:, None]
        found = np.searchsorted((cdf + shift).ravel(), (u + shift).ravel(), side="right")
        index = found.reshape(rows, num_samples) - C * np.arange(rows)[:, None]
        return wrap(np.minimum(index, C - 1).astype(np.int64))
    keys = quiet(_gumbel_keys, p, u)  # (log(0): divide warnings; the op rejects NaN, p < 0)
    if num_samples == 1:
        # the first index of the largest key: what the stable sort's first column holds
        # (keepdims: a fresh (rows, 1) array, which wrap takes over without a copy)
        return wrap(keys.argmax(axis=1, keepdims=True).astype(np.int64, copy=False))
    return wrap(np.argsort(-keys, axis=1, kind="stable")[:, :num_samples].astype(np.int64))


def _gumbel_keys(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Gumbel top-k keys ``log(p) + Gumbel(u)`` of the categories with ``p > 0``, -inf for
    the others."""
    return np.where(p > 0, np.log(p) - np.log(-np.log(u)), -np.inf)


KERNELS = {"rand": rand, "randn": randn, "randint": randint, "dropout": dropout,
           "multinomial": multinomial}
