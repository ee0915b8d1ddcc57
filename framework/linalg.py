"""``framework.linalg``: PyTorch's ``torch.linalg`` names, defined in ``framework.ops.linalg``.

On cuda, inv/inv_ex, det, slogdet, solve/solve_ex, cholesky/cholesky_ex,
eigh/eigvalsh, svd/svdvals, qr, lu_factor/lu_factor_ex and what is built on
them (solve_triangular, tensorinv, tensorsolve, cond, matrix_exp, matrix_rank,
pinv, lstsq, lu, lu_solve, the svd matrix norms, matrix_power with a negative
power) hold one matrix per Triton program in registers: n <= 64
(``NotImplementedError`` beyond); so do ldl_factor/ldl_factor_ex (ldl_solve
composes). Not here: eig and eigvals (complex results).
"""
from __future__ import annotations

from .ops.linalg import (LinAlgError, cholesky, cholesky_ex, cond, cross, det, diagonal, eigh,
                         eigvalsh, householder_product, inv, inv_ex, ldl_factor, ldl_factor_ex,
                         ldl_solve, lstsq, lu, lu_factor, lu_factor_ex, lu_solve, matmul,
                         matrix_exp, matrix_norm, matrix_power, matrix_rank, multi_dot, norm, pinv,
                         qr, slogdet, solve, solve_ex, solve_triangular, svd, svdvals, tensorinv,
                         tensorsolve, vander, vecdot, vector_norm)

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh",
           "eigvalsh", "householder_product", "inv", "inv_ex", "ldl_factor", "ldl_factor_ex",
           "ldl_solve", "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matmul",
           "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv",
           "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv",
           "tensorsolve", "vander", "vecdot", "vector_norm"]
