"""``framework.linalg``: PyTorch's ``torch.linalg`` names, defined in ``framework.ops.linalg``.

On cuda, inv/inv_ex, det, slogdet, solve/solve_ex, cholesky/cholesky_ex, eigh/eigvalsh and
what is built on them (solve_triangular, tensorinv, tensorsolve, cond,
matrix_exp, matrix_power with a negative power) hold one matrix per Triton
program in registers: n <= 64 (``NotImplementedError`` beyond).
Decompositions other than Cholesky and eigh (svd, qr, eig, lu*, ldl*) and what
needs them (lstsq, pinv, matrix_rank, svd-based norms) are not here yet.
"""
from __future__ import annotations

from .ops.linalg import (LinAlgError, cholesky, cholesky_ex, cond, cross, det, diagonal, eigh,
                         eigvalsh, inv, inv_ex, matmul, matrix_exp, matrix_norm, matrix_power,
                         multi_dot, norm, slogdet, solve, solve_ex, solve_triangular, tensorinv,
                         tensorsolve, vander, vecdot, vector_norm)

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh",
           "eigvalsh", "inv", "inv_ex", "matmul", "matrix_exp", "matrix_norm", "matrix_power",
           "multi_dot", "norm", "slogdet", "solve", "solve_ex", "solve_triangular", "tensorinv",
           "tensorsolve", "vander", "vecdot", "vector_norm"]
