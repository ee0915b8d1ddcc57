"""Launch wrappers: counter-based random numbers on ``cuda``."""
from __future__ import annotations

from . import runtime
from .launch import grid_1d, pointer
from .memory import empty

_BLOCK = 1024


def _seed(seed: int) -> int:
    return seed & 0x7FFFFFFF


def rand(shape, dtype, seed, offset):
    """Uniform samples in [0, 1)."""
    out = empty(shape, dtype)
    if out.numel:
        runtime.kernels().random.rand_kernel[grid_1d(out.numel, _BLOCK)](
            pointer(out), out.numel, _seed(seed), offset, BLOCK=_BLOCK)
    return out


def randn(shape, dtype, seed, offset):
    """Standard normal samples."""
    out = empty(shape, dtype)
    if out.numel:
        runtime.kernels().random.randn_kernel[grid_1d(out.numel, _BLOCK)](
            pointer(out), out.numel, _seed(seed), offset, BLOCK=_BLOCK)
    return out


def randint(shape, low, high, dtype, seed, offset):
    """Integers uniform in [low, high)."""
    out = empty(shape, dtype)
    if out.numel:
        runtime.kernels().random.randint_kernel[grid_1d(out.numel, _BLOCK)](
            pointer(out), out.numel, _seed(seed), offset, int(low), int(high - low), BLOCK=_BLOCK)
    return out


KERNELS = {"rand": rand, "randn": randn, "randint": randint}
