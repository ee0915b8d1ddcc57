"""CPU random numbers: NumPy's Philox bit generator keyed by (seed, offset).

A draw at ``offset`` advances a fresh generator for ``seed`` to that offset,
so results depend only on the seed and how many numbers were drawn before.
"""
from __future__ import annotations

import numpy as np

from ._arrays import wrap


def _generator(seed: int, offset: int) -> np.random.Generator:
    bits = np.random.Philox(key=seed & 0xFFFFFFFFFFFFFFFF)
    bits.advance(offset)
    return np.random.Generator(bits)


def rand(shape, dtype, seed, offset):
    """Uniform samples in [0, 1)."""
    values = _generator(seed, offset).random(shape, dtype=np.float64)
    out = wrap(values, dtype)
    _avoid_rounding_to_one(out, dtype)
    return out


def _avoid_rounding_to_one(out, dtype) -> None:
    buf = out.storage.buffer
    if dtype.itemsize < 8 and buf.size:
        below_one = np.nextafter(np.array(1.0, dtype=dtype.numpy), np.array(0.0, dtype=dtype.numpy))
        np.minimum(buf, below_one, out=buf)


def randn(shape, dtype, seed, offset):
    """Standard normal samples."""
    return wrap(_generator(seed, offset).standard_normal(shape), dtype)


def randint(shape, low, high, dtype, seed, offset):
    """Integers uniform in [low, high)."""
    return wrap(_generator(seed, offset).integers(low, high, size=shape, dtype=np.int64), dtype)


KERNELS = {"rand": rand, "randn": randn, "randint": randint}
