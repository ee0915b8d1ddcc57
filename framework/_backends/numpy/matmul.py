"""CPU kernel: batched matrix multiply."""
from __future__ import annotations

import numpy as np

from ...dtypes import float32 as _FLOAT32
from ...dtypes import float64 as _FLOAT64
from ..array import Array
from ._arrays import compute_dtype, nd, quiet, wrap
from .elementwise import relu_into


def matmul(a: Array, b: Array) -> Array:
    """``(B, M, K) @ (B, K, N) -> (B, M, N)`` in ``a``'s dtype (halves computed in float32).

    ``np.matmul`` reads the strided views directly (batch stride 0 included).
    Integer types multiply exactly in their own type, wrapping on overflow
    like PyTorch.
    """
    dtype = a.dtype
    if (dtype is _FLOAT32 or dtype is _FLOAT64) and b.dtype is dtype:  # no casts either way
        left = a._cache  # nd(a), nd(b) with their cached views read inline
        right = b._cache
        return wrap(np.matmul(nd(a) if left is None else left, nd(b) if right is None else right),
                    dtype)
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


def matmul_epilogue(a: Array, b: Array, bias, activation, residual, keep_preact: bool) -> tuple:
    """``act(a @ b + bias) + residual`` (and ``a @ b + bias`` if ``keep_preact``), like cuda's."""
    z = matmul(a, b)
    if z.dtype.numpy in _IN_PLACE and (activation is not None or not keep_preact):
        # z is this kernel's own fresh array: add the bias and the residual into it (the
        # same float32/float64 additions, so the same bits, without two temporaries)
        zn = nd(z)
        if bias is not None:
            quiet(_add_into, zn, nd(bias))
        if activation == "relu" and not keep_preact:
            relu_into(zn, zn)  # over its own product: the relu kernel's bits
            out = z
        else:
            out = z if activation is None else _activation(activation)(z, z.dtype)
        if residual is not None:
            quiet(_add_into, nd(out), nd(residual))
        return out, (z if keep_preact else None)
    from . import elementwise
    work = z.dtype if z.dtype.itemsize >= 4 else _float32()
    if bias is not None:
        z = elementwise.KERNELS["add"](z, bias, work, z.dtype)
    out = z if activation is None else _activation(activation)(z, z.dtype)
    if residual is not None:
        out = elementwise.KERNELS["add"](out, residual, work, z.dtype)
    return out, (z if keep_preact else None)


_IN_PLACE = (np.dtype(np.float32), np.dtype(np.float64))


def _add_into(target: np.ndarray, other: np.ndarray) -> None:
    np.add(target, other, out=target)


def _activation(name: str):
    """The NumPy backend's kernel ``name`` (imported here: the backend loads this module)."""
    from .. import load
    return load("numpy").kernels[name]


def _float32():
    from ... import dtypes
    return dtypes.float32


def mm(a: Array, b: Array, bias) -> Array:
    """``a @ b`` (+ ``bias``) of 2-D arrays, (M, N): what ``matmul`` (``matmul_epilogue``
    without an activation) computes for their one-matrix batch, on the matrices themselves
    (``np.matmul`` runs the same loop on the same matrices: the same bits), so that eager
    2-D products need no 3-D views of their operands and result."""
    dtype = a.dtype
    if (dtype is _FLOAT32 or dtype is _FLOAT64) and b.dtype is dtype:  # matmul's first case
        left = a._cache
        right = b._cache
        z = np.matmul(nd(a) if left is None else left, nd(b) if right is None else right)
        if bias is not None:  # matmul_epilogue's bias add into its own product
            quiet(_add_into, z, nd(bias))
        return wrap(z, dtype)
    z = matmul(a, b)  # (matmul's code takes any number of dims)
    if bias is None:
        return z
    if z.dtype.numpy in _IN_PLACE:  # matmul_epilogue's bias add into its own product
        quiet(_add_into, nd(z), nd(bias))
        return z
    from . import elementwise
    work = z.dtype if z.dtype.itemsize >= 4 else _float32()
    return elementwise.KERNELS["add"](z, bias, work, z.dtype)


KERNELS = {"matmul": matmul, "matmul_epilogue": matmul_epilogue, "mm": mm}
