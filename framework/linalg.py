"""``framework.linalg``: PyTorch's ``torch.linalg`` names, defined in ``framework.ops.linalg``.

On cuda, inv/inv_ex, det, slogdet and solve/solve_ex (and matrix_power with a
negative power) hold one matrix per Triton program in registers: n <= 64
(``NotImplementedError`` beyond). Decompositions (svd, qr, eig*, cholesky,
lu*) and the functions built on them are not here yet.
"""
from __future__ import annotations

from .ops.linalg import (LinAlgError, cross, det, diagonal, inv, inv_ex, matmul, matrix_norm,
                         matrix_power, multi_dot, norm, slogdet, solve, solve_ex, vander, vecdot,
                         vector_norm)

__all__ = ["LinAlgError", "cross", "det", "diagonal", "inv", "inv_ex", "matmul", "matrix_norm",
           "matrix_power", "multi_dot", "norm", "slogdet", "solve", "solve_ex", "vander",
           "vecdot", "vector_norm"]
