"""Launch wrappers: solve / inverse, Cholesky, eigh, svd, qr, LU, det, slogdet on ``cuda`` (kernels
in ``triton_kernels/linalg.py``).

One program per matrix (and, for solve, per chunk of right-hand-side
columns), the whole matrix in registers: n is at most
``triton_kernels.linalg.MAX_N`` (64); larger matrices raise
``NotImplementedError`` naming the bound. Inputs are read through their
strides; outputs are new contiguous arrays.
"""
from __future__ import annotations

import triton
import triton.language as tl

from ... import dtypes
from ..array import Array
from . import runtime
from .launch import pointer
from .memory import empty

_ACC = {"float32": tl.float32, "float64": tl.float64}


def _kernels():
    return runtime.kernels().linalg


def _block(a: Array, size: int) -> int:
    """The tile size for ``size`` rows or columns of ``a``'s matrices; ``NotImplementedError``
    past the bound."""
    limit = _kernels().MAX_N
    if size > limit:
        rows, cols = a.shape[-2:]
        raise NotImplementedError(
            f"torch.linalg on cuda: matrices larger than {limit} x {limit} are not supported "
            f"(got {rows} x {cols}): the Triton kernels hold one matrix in registers; use cpu "
            "tensors")
    return triton.next_power_of_2(max(size, 1))


def solve(a: Array, b) -> tuple:
    """(x with a @ x = b, int32 info) for (batch, n, n) ``a`` and (batch, n, k) ``b``; ``b`` None:
    the inverse of ``a``."""
    k = _kernels()
    block_n = _block(a, a.shape[-1])
    batch, n = a.shape[0], a.shape[-1]
    n_rhs = n if b is None else b.shape[-1]
    x = empty((batch, n, n_rhs), a.dtype)
    info = empty((batch,), dtypes.int32)
    if batch == 0:
        return x, info
    block_k = min(triton.next_power_of_2(max(n_rhs, 1)), k.MAX_BLOCK_K)
    b_strides = (0, 0, 0) if b is None else b.strides
    grid = (batch, max(triton.cdiv(n_rhs, block_k), 1))
    k.solve_kernel[grid](pointer(a), pointer(a if b is None else b), pointer(x), pointer(info),
                         n, n_rhs, *a.strides, *b_strides, BLOCK_N=block_n, BLOCK_K=block_k,
                         IDENTITY_B=b is None, ACC=_ACC[a.dtype.name],
                         num_warps=k.num_warps(block_n))
    return x, info


def cholesky(a: Array) -> tuple:
    """(lower-triangular L with a = L L^T, int32 info) for (batch, n, n) ``a`` (lower triangle
    read; info k + 1 for the first leading minor of order k + 1 not positive-definite)."""
    k = _kernels()
    block_n = _block(a, a.shape[-1])
    batch = a.shape[0]
    lower = empty(a.shape, a.dtype)
    info = empty((batch,), dtypes.int32)
    if batch:
        k.cholesky_kernel[(batch,)](pointer(a), pointer(lower), pointer(info), a.shape[-1],
                                    *a.strides, BLOCK_N=block_n, ACC=_ACC[a.dtype.name],
                                    num_warps=k.num_warps(block_n))
    return lower, info


def eigh(a: Array) -> tuple:
    """Ascending eigenvalues (batch, n) and eigenvectors (batch, n, n) of symmetric (batch, n, n)
    ``a``, read from its lower triangle (cyclic Jacobi)."""
    k = _kernels()
    block_n = _block(a, a.shape[-1])
    batch, n = a.shape[0], a.shape[-1]
    values = empty((batch, n), a.dtype)
    vectors = empty(a.shape, a.dtype)
    if values.numel:
        k.eigh_kernel[(batch,)](pointer(a), pointer(values), pointer(vectors), n, *a.strides,
                                BLOCK_N=block_n, TOL=k.JACOBI_TOL[a.dtype.name],
                                MAX_SWEEPS=k.MAX_SWEEPS, ACC=_ACC[a.dtype.name],
                                num_warps=k.num_warps(block_n))
    return values, vectors


def svd(a: Array, compute_uv: bool) -> tuple:
    """Reduced SVD (u (batch, m, n), s (batch, n) descending, v (batch, n, n)) of (batch, m, n)
    ``a``, m >= n (one-sided Jacobi: the vectors come with the values, ``compute_uv`` or not)."""
    k = _kernels()
    batch, m, n = a.shape
    block_m, block_n = _block(a, m), _block(a, n)
    u = empty((batch, m, n), a.dtype)
    s = empty((batch, n), a.dtype)
    v = empty((batch, n, n), a.dtype)
    if s.numel:
        k.svd_kernel[(batch,)](pointer(a), pointer(u), pointer(s), pointer(v), m, n, *a.strides,
                               BLOCK_M=block_m, BLOCK_N=block_n, TOL=k.JACOBI_TOL[a.dtype.name],
                               MAX_SWEEPS=k.MAX_SWEEPS, ACC=_ACC[a.dtype.name],
                               num_warps=k.num_warps(block_m))
    return u, s, v


def qr(a: Array, complete: bool) -> tuple:
    """Householder QR of (batch, m, n) ``a``: q (batch, m, k) and r (batch, k, n), k = min(m, n),
    or q (batch, m, m) and r (batch, m, n) when ``complete``."""
    k = _kernels()
    batch, m, n = a.shape
    block_m, block_n = _block(a, m), _block(a, n)
    q_cols = r_rows = m if complete else min(m, n)
    q = empty((batch, m, q_cols), a.dtype)
    r = empty((batch, r_rows, n), a.dtype)
    if batch and m:
        k.qr_kernel[(batch,)](pointer(a), pointer(q), pointer(r), m, n, q_cols, r_rows,
                              *a.strides, BLOCK_M=block_m, BLOCK_N=block_n,
                              ACC=_ACC[a.dtype.name], num_warps=k.num_warps(block_m))
    return q, r


def lu_factor(a: Array) -> tuple:
    """LU with partial pivoting of (batch, m, n) ``a``: packed lu, 1-based pivots, info and perm
    (see the contract)."""
    k = _kernels()
    batch, m, n = a.shape
    block_m, block_n = _block(a, m), _block(a, n)
    lu = empty((batch, m, n), a.dtype)
    pivots = empty((batch, min(m, n)), dtypes.int32)
    info = empty((batch,), dtypes.int32)
    perm = empty((batch, m), dtypes.int64)
    if batch:
        k.lu_kernel[(batch,)](pointer(a), pointer(lu), pointer(pivots), pointer(info),
                              pointer(perm), m, n, *a.strides, BLOCK_M=block_m, BLOCK_N=block_n,
                              ACC=_ACC[a.dtype.name], num_warps=k.num_warps(block_m))
    return lu, pivots, info, perm


def ldl_factor(a: Array) -> tuple:
    """LDL^T with Bunch-Kaufman pivoting of each symmetric matrix of (batch, n, n) ``a``: ld,
    pivots, info (see the contract)."""
    k = _kernels()
    block_n = _block(a, a.shape[-1])
    batch, n = a.shape[0], a.shape[-1]
    ld = empty(a.shape, a.dtype)
    pivots = empty((batch, n), dtypes.int32)
    info = empty((batch,), dtypes.int32)
    if batch:
        k.ldl_kernel[(batch,)](pointer(a), pointer(ld), pointer(pivots), pointer(info), n,
                               *a.strides, BLOCK_N=block_n, ACC=_ACC[a.dtype.name],
                               num_warps=k.num_warps(block_n))
    return ld, pivots, info


def _det(a: Array, log: bool) -> tuple:
    k = _kernels()
    block_n = _block(a, a.shape[-1])
    out = empty((a.shape[0],), a.dtype)
    logabs = empty((a.shape[0],), a.dtype)
    if a.shape[0]:
        k.det_kernel[(a.shape[0],)](pointer(a), pointer(out), pointer(logabs), a.shape[-1],
                                    *a.strides, BLOCK_N=block_n, LOG=log,
                                    ACC=_ACC[a.dtype.name], num_warps=k.num_warps(block_n))
    return out, logabs


def det(a: Array) -> Array:
    """(batch,) determinants of (batch, n, n) ``a`` (product of the LU pivots)."""
    return _det(a, False)[0]


def slogdet(a: Array) -> tuple:
    """(batch,) sign and log |det| of (batch, n, n) ``a`` (0 and -inf when singular)."""
    return _det(a, True)


KERNELS = {"solve": solve, "cholesky": cholesky, "eigh": eigh, "svd": svd,
           "qr": qr, "lu_factor": lu_factor,
           "ldl_factor": ldl_factor, "det": det, "slogdet": slogdet}
