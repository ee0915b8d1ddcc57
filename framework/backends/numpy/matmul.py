"""CPU kernel: batched matrix multiply."""
from __future__ import annotations

import numpy as np

from ..array import Array
from ._arrays import compute_dtype, nd, wrap


def matmul(a: Array, b: Array) -> Array:
    """``(B, M, K) @ (B, K, N) -> (B, M, N)`` in ``a``'s dtype (halves computed in float32).

    ``np.matmul`` reads the strided views directly (batch stride 0 included).
    Integer types multiply exactly in their own type, wrapping on overflow
    like PyTorch.
    """
    dtype = a.dtype
    work = compute_dtype(dtype)
    left = nd(a)
    right = nd(b)
    if left.dtype != work:
        left = left.astype(work)
        right = right.astype(work)
    result = np.matmul(left, right)
    if result.dtype != dtype.numpy:
        result = result.astype(dtype.numpy)
    return wrap(result, dtype)


KERNELS = {"matmul": matmul}
