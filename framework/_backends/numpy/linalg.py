"""CPU linear algebra kernels: solve / inverse, Cholesky, eigh, svd, qr, LU, det, slogdet.

``np.linalg`` (LAPACK's getrf/getrs: LU with partial pivoting, potrf, syevd, gesdd, geqrf, as
PyTorch's CPU path) computes the results in the input's type. Cholesky
failures are found the same way (``_cholesky_one``). A singular matrix makes
``np.linalg.solve`` raise for the whole batch; the batch is then solved
matrix by matrix, and each singular one gets NaN and its ``info`` (k + 1
for the first zero pivot k of its LU factorization, LAPACK's convention).
"""
from __future__ import annotations

import numpy as np

from ...dtypes import int32, int64
from ..array import Array
from ._arrays import nd, wrap


def _first_zero_pivot(matrix: np.ndarray) -> int:
    """k + 1 for the first exactly zero pivot k of ``matrix``'s LU with partial pivoting, else 0."""
    lu = matrix.astype(np.float64 if matrix.dtype == np.float64 else np.float32, copy=True)
    n = lu.shape[0]
    for k in range(n):
        p = k + int(np.argmax(np.abs(lu[k:, k])))
        lu[[k, p]] = lu[[p, k]]
        pivot = lu[k, k]
        if pivot == 0:
            return k + 1
        lu[k + 1:, k:] -= np.outer(lu[k + 1:, k] / pivot, lu[k, k:])
    return 0


def _solve_one_by_one(a: np.ndarray, b: np.ndarray) -> tuple:
    """``np.linalg.solve`` per matrix: NaN and the zero pivot's info for the singular ones."""
    x = np.empty(b.shape, dtype=a.dtype)
    info = np.zeros(a.shape[0], dtype=np.int32)
    for i in range(a.shape[0]):
        try:
            x[i] = np.linalg.solve(a[i], b[i])
        except np.linalg.LinAlgError:
            x[i] = np.nan
            info[i] = _first_zero_pivot(a[i]) or 1
    return x, info


def solve(a: Array, b) -> tuple:
    """(x with a @ x = b, int32 info) for (batch, n, n) ``a`` and (batch, n, k) ``b``; ``b`` None:
    the inverse of ``a``."""
    left = nd(a)
    right = np.broadcast_to(np.eye(left.shape[-1], dtype=left.dtype), left.shape) \
        if b is None else nd(b)
    try:
        x = np.linalg.solve(left, right)
        info = np.zeros(left.shape[0], dtype=np.int32)
    except np.linalg.LinAlgError:
        x, info = _solve_one_by_one(left, right)
    return wrap(np.ascontiguousarray(x), a.dtype), wrap(info, int32)


def _cholesky_one(matrix: np.ndarray) -> tuple:
    """(L, info) of one matrix by the column-by-column Cholesky: info = k + 1 for the first
    non-positive diagonal k, from where L is NaN."""
    work = np.tril(matrix).astype(matrix.dtype, copy=True)
    lower = np.zeros_like(work)
    n = work.shape[0]
    for k in range(n):
        diagonal = work[k, k]
        if not diagonal > 0:
            lower[k:, k:] = np.tril(np.full((n - k, n - k), np.nan, dtype=work.dtype))
            return lower, k + 1
        column = work[k:, k] / np.sqrt(diagonal)
        lower[k:, k] = column
        work[k + 1:, k + 1:] -= np.outer(column[1:], column[1:])
    return lower, 0


def cholesky(a: Array) -> tuple:
    """(lower-triangular L with a = L L^T, int32 info) for (batch, n, n) ``a`` (lower triangle
    read); a matrix that is not positive-definite gets its info and NaN past the failed minor."""
    data = nd(a)
    try:
        lower = np.linalg.cholesky(data)
        info = np.zeros(data.shape[0], dtype=np.int32)
    except np.linalg.LinAlgError:
        pairs = [_cholesky_one(m) for m in data]
        lower = np.stack([p[0] for p in pairs]) if pairs else np.empty(data.shape, data.dtype)
        info = np.array([p[1] for p in pairs], dtype=np.int32)
    return wrap(np.ascontiguousarray(lower, dtype=a.dtype.numpy), a.dtype), wrap(info, int32)


def eigh(a: Array) -> tuple:
    """Ascending eigenvalues (batch, n) and eigenvectors (batch, n, n) of symmetric (batch, n, n)
    ``a``, read from its lower triangle (LAPACK's syevd)."""
    values, vectors = np.linalg.eigh(nd(a), UPLO="L")
    return (wrap(np.ascontiguousarray(values, dtype=a.dtype.numpy), a.dtype),
            wrap(np.ascontiguousarray(vectors, dtype=a.dtype.numpy), a.dtype))


def _svd_arrays(data: np.ndarray, compute_uv: bool) -> tuple:
    """``np.linalg.svd``'s (u, s, vh), or s alone; NaN everywhere where gesdd does not
    converge (a non-finite input), as the cuda kernel's results."""
    try:
        return np.linalg.svd(data, full_matrices=False, compute_uv=compute_uv)
    except np.linalg.LinAlgError:
        batch, m, n = data.shape
        shapes = [(batch, m, n), (batch, n), (batch, n, n)] if compute_uv else [(batch, n)]
        arrays = tuple(np.full(shape, np.nan, dtype=data.dtype) for shape in shapes)
        return arrays if compute_uv else arrays[0]


def svd(a: Array, compute_uv: bool) -> tuple:
    """Reduced SVD (u (batch, m, n), s (batch, n) descending, v (batch, n, n)) of (batch, m, n)
    ``a``, m >= n (LAPACK's gesdd); (None, s, None) when not ``compute_uv``."""
    if not compute_uv:
        s = _svd_arrays(nd(a), False)
        return None, wrap(np.ascontiguousarray(s, dtype=a.dtype.numpy), a.dtype), None
    u, s, vh = _svd_arrays(nd(a), True)
    return tuple(wrap(np.ascontiguousarray(x, dtype=a.dtype.numpy), a.dtype)
                 for x in (u, s, np.swapaxes(vh, -1, -2)))


def qr(a: Array, complete: bool) -> tuple:
    """Householder QR of (batch, m, n) ``a`` (LAPACK's geqrf/orgqr): q (batch, m, k) and r
    (batch, k, n), k = min(m, n), or q (batch, m, m) and r (batch, m, n) when ``complete``."""
    q, r = np.linalg.qr(nd(a), mode="complete" if complete else "reduced")
    return (wrap(np.ascontiguousarray(q, dtype=a.dtype.numpy), a.dtype),
            wrap(np.ascontiguousarray(r, dtype=a.dtype.numpy), a.dtype))


def lu_factor(a: Array) -> tuple:
    """LU with partial pivoting (LAPACK's getf2, one column at a time, vectorized over the
    batch) of (batch, m, n) ``a``: packed lu, 1-based pivots, info and perm (see the contract)."""
    lu = nd(a).copy()
    batch, m, n = lu.shape
    steps = min(m, n)
    pivots = np.zeros((batch, steps), dtype=np.int32)
    info = np.zeros(batch, dtype=np.int32)
    perm = np.tile(np.arange(m, dtype=np.int64), (batch, 1))
    every = np.arange(batch)
    for k in range(steps):
        p = k + np.argmax(np.abs(lu[:, k:, k]), axis=1)
        pivots[:, k] = p + 1
        lu[every, k], lu[every, p] = lu[every, p].copy(), lu[every, k].copy()
        perm[every, k], perm[every, p] = perm[every, p].copy(), perm[every, k].copy()
        pivot = lu[:, k, k]
        info[(info == 0) & (pivot == 0)] = k + 1
        lu[:, k + 1:, k] /= np.where(pivot == 0, 1, pivot)[:, None]
        lu[:, k + 1:, k + 1:] -= lu[:, k + 1:, k, None] * lu[:, k, None, k + 1:]
    return wrap(lu, a.dtype), wrap(pivots, int32), wrap(info, int32), wrap(perm, int64)


_BUNCH_KAUFMAN_ALPHA = (1 + 17 ** 0.5) / 8


def _bunch_kaufman_pivot(w: np.ndarray, k: int) -> tuple:
    """(kp, kstep, zero) of sytf2's step k on the symmetric working matrix ``w``."""
    n = w.shape[0]
    absakk = abs(w[k, k])
    imax = k + 1 + int(np.argmax(np.abs(w[k + 1:, k]))) if k + 1 < n else k
    colmax = abs(w[imax, k]) if k + 1 < n else 0.0
    if not max(absakk, colmax) > 0:
        return k, 1, True
    if absakk >= _BUNCH_KAUFMAN_ALPHA * colmax:
        return k, 1, False
    row = np.abs(w[imax, k:]).copy()
    row[imax - k] = 0
    rowmax = row.max()
    if absakk * rowmax >= _BUNCH_KAUFMAN_ALPHA * colmax * colmax:
        return k, 1, False
    if abs(w[imax, imax]) >= _BUNCH_KAUFMAN_ALPHA * rowmax:
        return imax, 1, False
    return imax, 2, False


def _ldl_one(matrix: np.ndarray) -> tuple:
    """(ld, pivots, info) of LAPACK's sytf2 (lower) for one matrix (lower triangle read)."""
    w = np.tril(matrix) + np.tril(matrix, -1).T
    n = w.shape[0]
    ld = np.zeros_like(w)
    pivots = np.zeros(n, dtype=np.int32)
    info, k = 0, 0
    while k < n:
        kp, kstep, zero = _bunch_kaufman_pivot(w, k)
        kk = k + kstep - 1
        if kp != kk:  # exchange kk and kp in the trailing part
            w[[kk, kp], k:] = w[[kp, kk], k:]
            w[k:, [kk, kp]] = w[k:, [kp, kk]]
        if zero:
            info = info or k + 1
        block = w[k:k + kstep, k:k + kstep]
        below = w[k + kstep:, k:k + kstep]
        multipliers = below @ np.linalg.inv(block) if not zero else below
        ld[k:k + kstep, k:k + kstep] = np.tril(block)
        ld[k + kstep:, k:k + kstep] = multipliers
        if not zero:
            w[k + kstep:, k + kstep:] -= multipliers @ below.T
        pivots[k:k + kstep] = kp + 1 if kstep == 1 else -(kp + 1)
        k += kstep
    return ld, pivots, info


def ldl_factor(a: Array) -> tuple:
    """LDL^T with Bunch-Kaufman pivoting (LAPACK's sytf2, lower; NumPy has no sytrf) of each
    symmetric matrix of (batch, n, n) ``a``: ld, pivots, info (see the contract)."""
    results = [_ldl_one(m) for m in nd(a)]
    batch, n = a.shape[0], a.shape[-1]
    ld = np.stack([r[0] for r in results]) if results else np.zeros((0, n, n), a.dtype.numpy)
    pivots = np.array([r[1] for r in results], dtype=np.int32).reshape(batch, n)
    info = np.array([r[2] for r in results], dtype=np.int32).reshape(batch)
    return wrap(ld, a.dtype), wrap(pivots, int32), wrap(info, int32)


def det(a: Array) -> Array:
    """(batch,) determinants of (batch, n, n) ``a`` (LU: product of the pivots)."""
    return wrap(np.ascontiguousarray(np.linalg.det(nd(a)), dtype=a.dtype.numpy), a.dtype)


def slogdet(a: Array) -> tuple:
    """(batch,) sign and log |det| of (batch, n, n) ``a`` (0 and -inf when singular)."""
    with np.errstate(divide="ignore"):
        sign, logabs = np.linalg.slogdet(nd(a))
    return (wrap(np.ascontiguousarray(sign, dtype=a.dtype.numpy), a.dtype),
            wrap(np.ascontiguousarray(logabs, dtype=a.dtype.numpy), a.dtype))


KERNELS = {"solve": solve, "cholesky": cholesky, "eigh": eigh, "svd": svd,
           "qr": qr, "lu_factor": lu_factor,
           "ldl_factor": ldl_factor, "det": det, "slogdet": slogdet}
