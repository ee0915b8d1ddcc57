"""``framework.linalg``: PyTorch's ``torch.linalg`` names, defined in ``framework.ops.linalg``
(with ``out=`` where PyTorch has it).

On cuda, inv/inv_ex, det, slogdet, solve/solve_ex, cholesky/cholesky_ex,
eigh/eigvalsh, svd/svdvals, qr, lu_factor/lu_factor_ex and what is built on
them (solve_triangular, tensorinv, tensorsolve, cond, matrix_exp, matrix_rank,
pinv, lstsq, lu, lu_solve, the svd matrix norms, matrix_power with a negative
power) hold one matrix per Triton program in registers: n <= 64
(``NotImplementedError`` beyond); so do ldl_factor/ldl_factor_ex (ldl_solve
composes). Not here: eig and eigvals (complex results).
"""
from __future__ import annotations

from .ops import linalg as _ops
from .ops.out import with_out as _with_out

__all__ = list(_ops.__all__)
# PyTorch's ``out=`` where the function declares it (``framework.ops.out``), as framework.<name>
for _name in __all__:
    _fn = getattr(_ops, _name)
    globals()[_name] = _with_out(_fn) if getattr(_fn, "supports_out", False) else _fn
del _name, _fn
