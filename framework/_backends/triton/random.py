"""Launch wrappers: counter-based random numbers on ``cuda``."""
from __future__ import annotations

import functools

import triton
import triton.language as tl

from ...dtypes import int64
from . import runtime
from .launch import grid_1d, pointer
from .memory import contiguous, empty


@functools.lru_cache(maxsize=None)
def _launch_config() -> tuple:
    """``(BLOCK, num_warps)`` of ``triton_kernels.random.RANDOM_CONFIGS`` (read at the first launch:
    importing the kernels fixes the interpreter mode)."""
    config = runtime.kernels().random.RANDOM_CONFIGS[0]
    return config["BLOCK"], config["num_warps"]


def _seed(seed: int) -> int:
    return seed & 0x7FFFFFFF


def rand(shape, dtype, seed, offset):
    """Uniform samples in [0, 1)."""
    out = empty(shape, dtype)
    if out.numel:
        block, warps = _launch_config()
        runtime.kernels().random.rand_kernel[grid_1d(out.numel, block)](
            pointer(out), out.numel, _seed(seed), offset, BLOCK=block, num_warps=warps)
    return out


def randn(shape, dtype, seed, offset):
    """Standard normal samples."""
    out = empty(shape, dtype)
    if out.numel:
        block, warps = _launch_config()
        runtime.kernels().random.randn_kernel[grid_1d(out.numel, block)](
            pointer(out), out.numel, _seed(seed), offset, BLOCK=block, num_warps=warps)
    return out


def randint(shape, low, high, dtype, seed, offset):
    """Integers uniform in [low, high)."""
    out = empty(shape, dtype)
    if out.numel:
        block, warps = _launch_config()
        runtime.kernels().random.randint_kernel[grid_1d(out.numel, block)](
            pointer(out), out.numel, _seed(seed), offset, int(low), int(high - low), BLOCK=block,
            num_warps=warps)
    return out


def dropout(x, p, seed, offset):
    """``x * keep / (1 - p)``, keep = uniform(seed, offset + i) >= p for row-major element i."""
    return launch_dropout(x, p, seed, offset, _launch_config()[0])


def launch_dropout(x, p, seed, offset, block: int):
    """``dropout`` with an explicit block size (the mask must not depend on it)."""
    x = contiguous(x)
    out = empty(x.shape, x.dtype)
    if out.numel:
        scale = 0.0 if p >= 1.0 else 1.0 / (1.0 - p)
        acc = tl.float64 if x.dtype.name == "float64" else tl.float32
        runtime.kernels().random.dropout_kernel[grid_1d(out.numel, block)](
            pointer(x), pointer(out), out.numel, float(p), float(scale), _seed(seed), offset,
            ACC=acc, BLOCK=block)
    return out


def multinomial(probs, num_samples, replacement, seed, offset):
    """``num_samples`` category indices per row of (R, C) ``probs`` (validated by the op):
    inverse CDF with replacement, Gumbel top-k without."""
    rows, C = probs.shape
    out = empty((rows, num_samples), int64)
    if out.numel:
        k = runtime.kernels().random
        block_c = min(triton.next_power_of_2(C), k.MULTINOMIAL_MAX_BLOCK_C)
        block_s = min(triton.next_power_of_2(num_samples), max(1, k.MULTINOMIAL_TILE // block_c))
        k.multinomial_kernel[(rows,)](
            pointer(probs), pointer(out), C, num_samples, *probs.strides, _seed(seed), offset,
            REPLACEMENT=bool(replacement), BLOCK_C=block_c, BLOCK_S=block_s,
            num_warps=_launch_config()[1])
    return out


KERNELS = {"rand": rand, "randn": randn, "randint": randint, "dropout": dropout,
           "multinomial": multinomial}
