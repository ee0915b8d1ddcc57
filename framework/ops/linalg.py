"""``torch.linalg``: norms, products, solvers and decompositions (LU, Cholesky, QR, eigh, SVD).

Some functions are composites of other framework ops (their gradients, of
any order, come from those ops): ``vector_norm``, ``matrix_norm``, ``norm``,
``vecdot``, ``cross``, ``multi_dot``, ``matrix_power``, ``diagonal``,
``matmul``, ``vander``. ``inv``/``inv_ex``, ``solve``/``solve_ex``, ``det``,
``slogdet``, ``lu_factor``/``lu_factor_ex``, ``cholesky``/``cholesky_ex``,
``qr``, ``eigh``/``eigvalsh`` and ``svd``/``svdvals`` are ops of their own: the
contract kernels ``solve``, ``det``, ``slogdet``, ``lu_factor``, ``cholesky``,
``qr``, ``eigh`` and ``svd`` (on cpu LAPACK through NumPy, LU column by column
in NumPy; on cuda one Triton program per matrix, for n <= 64,
``triton_kernels/linalg.py``), with backwards written in framework ops, so
second derivatives work:

- inv: ``dA = -X^T g X^T`` (X = A^-1);
- solve (A X = B): ``dB = solve(A^T, g)``, ``dA = -dB X^T``;
- det: ``dA = g det(A) A^-T``; slogdet: ``dA = g_logabsdet A^-T``;
- lu_factor, cholesky, qr, eigh and svd: PyTorch's formulas (see
  ``_lu_backward``, ``_Cholesky``, ``_qr_backward``, ``_Eigh``, ``_Svd``).

solve_triangular, tensorinv, tensorsolve, cond, matrix_exp, matrix_rank,
pinv, lstsq, lu, lu_solve and the 'nuc' / 2 / -2 matrix norms are composites of
these; householder_product of matmuls.

Matrices come in batches over the leading dims; the kernel ops take float32
and float64 (as PyTorch's, whose half types are refused). A singular input
makes inv and solve raise ``LinAlgError`` (a ``RuntimeError``; the ``_ex``
variants return ``info`` instead) and gives det 0. Eigen- and singular
vectors' signs are arbitrary (as LAPACK's, but not necessarily the same).
ldl_factor/ldl_factor_ex (kernel ``ldl_factor``) have no gradient, as PyTorch's.
Not here: eig and eigvals (complex results). det's
gradient at an exactly singular matrix is not finite (PyTorch's uses an SVD
there), nor are eigh's / svd's at repeated values.
"""
from __future__ import annotations

import math
from collections import namedtuple

from .. import dtypes
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from . import binary, matmul as _matmul, reduce, shape, unary
from ._util import backend, broadcast_shapes, check_tensor, common_device, normalize_dim, wrap
from .out import supports_out
from .registry import register

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "cond", "vecdot", "cross",
           "multi_dot", "matrix_power", "matrix_exp", "diagonal", "matmul", "vander", "inv",
           "inv_ex", "det", "slogdet", "solve", "solve_ex", "solve_triangular", "cholesky",
           "cholesky_ex", "eigh", "eigvalsh", "svd", "svdvals", "matrix_rank", "pinv", "qr",
           "lstsq", "tensorinv", "tensorsolve", "lu_factor", "lu_factor_ex", "lu", "lu_solve",
           "householder_product", "ldl_factor", "ldl_factor_ex", "ldl_solve"]

# ``torch.return_types`` of the functions returning several tensors.
SlogdetResult = namedtuple("linalg_slogdet", ("sign", "logabsdet"))
InvExResult = namedtuple("linalg_inv_ex", ("inverse", "info"))
CholeskyExResult = namedtuple("linalg_cholesky_ex", ("L", "info"))
EighResult = namedtuple("linalg_eigh", ("eigenvalues", "eigenvectors"))
SvdResult = namedtuple("linalg_svd", ("U", "S", "Vh"))
QrResult = namedtuple("linalg_qr", ("Q", "R"))
LuFactorResult = namedtuple("linalg_lu_factor", ("LU", "pivots"))
LuFactorExResult = namedtuple("linalg_lu_factor_ex", ("LU", "pivots", "info"))
LuResult = namedtuple("linalg_lu", ("P", "L", "U"))
LdlFactorResult = namedtuple("linalg_ldl_factor", ("LD", "pivots"))
LdlFactorExResult = namedtuple("linalg_ldl_factor_ex", ("LD", "pivots", "info"))
LstsqResult = namedtuple("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
SolveExResult = namedtuple("linalg_solve_ex", ("result", "info"))

matmul = _matmul.matmul


class LinAlgError(RuntimeError):
    """``torch.linalg.LinAlgError``: a linear algebra function failed on its input (e.g. a
    singular matrix)."""


# Argument checks ----------------------------------------------------------------------------
def _check_floating(op: str, x: Tensor) -> None:
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{op}: Expected a floating point or complex tensor as input. Got "
                           f"{dtypes.scalar_type_name(x.dtype)}")


def _check_matrices(op: str, a: Tensor, square: bool = True) -> None:
    """``a`` is a tensor of (batches of) matrices, square ones when ``square``."""
    check_tensor(op.replace(".", "_"), "A", a)
    if a.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")


def _check_solver_input(op: str, a: Tensor) -> None:
    """A batch of float32/float64 square matrices (the dtypes of the solve/det kernels)."""
    _check_matrices(op, a)
    _check_floating(op, a)
    if a.dtype not in (dtypes.float32, dtypes.float64):
        raise RuntimeError(f"{op}: Low precision dtypes not supported. Got "
                           f"{dtypes.scalar_type_name(a.dtype)}")


def _check_same_dtype(op: str, names: tuple, x: Tensor, y: Tensor) -> None:
    if x.dtype is not y.dtype:
        raise RuntimeError(f"{op}: Expected {names[0]} and {names[1]} to have the same dtype, "
                           f"but found {names[0]} of type {dtypes.scalar_type_name(x.dtype)} and "
                           f"{names[1]} of type {dtypes.scalar_type_name(y.dtype)} instead")


def _as_batch(a: Tensor) -> Tensor:
    """(*batch, m, n) as (prod(batch), m, n)."""
    return a.reshape(math.prod(a.shape[:-2]), a.shape[-2], a.shape[-1])


# The kernel ops -----------------------------------------------------------------------------
def _result_and_flag(ctx, device, result, *flags) -> tuple:
    """A kernel's (result, *flags) arrays as tensors: the flags (info, pivots, det's sign) get
    no gradient, and backward sees None, not zeros, for an output nobody differentiated."""
    flags = tuple(wrap(flag, device) for flag in flags)
    ctx.mark_non_differentiable(*flags)
    ctx.set_materialize_grads(False)
    return (wrap(result, device), *flags)


class _Solve(Function):
    """X with A X = B for (batch, n, n) A and (batch, n, k) B (B None: X = A^-1), and info."""

    node_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, a, b):
        x, info = backend(a).solve(a._a, None if b is None else b._a)
        x, info = _result_and_flag(ctx, a.device, x, info)
        ctx.save_for_backward(a, x)
        ctx.inverse = b is None
        return x, info

    @staticmethod
    def backward(ctx, grad, grad_info):
        a, x = ctx.saved_tensors
        if grad is None:
            return None, None
        if ctx.inverse:  # dA = -X^T g X^T
            return unary.neg(x.mT @ grad @ x.mT), None
        grad_b = _Solve.apply(a.mT, grad)[0]  # dB = A^-T g, dA = -dB X^T
        grad_a = unary.neg(grad_b @ x.mT) if ctx.needs_input_grad[0] else None
        return grad_a, grad_b


def _inverse(a: Tensor) -> Tensor:
    """A^-1 of (batch, n, n) ``a`` (differentiable; no singularity check)."""
    return _Solve.apply(a, None)[0]


class _Det(Function):
    """(batch,) determinants of (batch, n, n) A; dA = g det(A) A^-T."""

    node_name = "LinalgDetBackward0"

    @staticmethod
    def forward(ctx, a):
        out = wrap(backend(a).det(a._a), a.device)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        return (grad * out).reshape(-1, 1, 1) * _inverse(a).mT


class _Slogdet(Function):
    """(batch,) sign and log |det| of (batch, n, n) A; dA = g_logabsdet A^-T."""

    node_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, a):
        sign, logabs = backend(a).slogdet(a._a)
        logabs, sign = _result_and_flag(ctx, a.device, logabs, sign)
        ctx.save_for_backward(a)
        return sign, logabs

    @staticmethod
    def backward(ctx, grad_sign, grad_logabs):
        a, = ctx.saved_tensors
        if grad_logabs is None:
            return None
        return grad_logabs.reshape(-1, 1, 1) * _inverse(a).mT


def _raise_singular(op: str, info: Tensor, batched: bool, message) -> None:
    """``LinAlgError`` for the first singular matrix (nonzero ``info``), as PyTorch words it;
    reads ``info`` on the host (a synchronization on cuda, as PyTorch's checks)."""
    for index, code in enumerate(info.reshape(-1).tolist()):
        if code:
            prefix = f"(Batch element {index}): " if batched else ""
            raise LinAlgError(f"{op}: {prefix}{message(code)}")


def _inversion_failed(code: int) -> str:
    return (f"The diagonal element {code} is zero, the inversion could not be completed because "
            "the input matrix is singular.")


def _solver_failed(code: int) -> str:
    return "The solver failed because the input matrix is singular."


@supports_out
def inv_ex(A: Tensor, *, check_errors: bool = False) -> tuple:
    """``(inverse, info)`` of (batches of) square matrices: ``info`` (int32, one per matrix) is 0,
    or k for a singular matrix whose LU factor has a zero k-th diagonal element (its inverse is
    then inf/NaN); ``check_errors=True`` raises ``LinAlgError`` instead."""
    _check_solver_input("linalg.inv_ex", A)
    x, info = _Solve.apply(_as_batch(A), None)
    info = info.reshape(A.shape[:-2])
    if check_errors:
        _raise_singular("linalg.inv_ex", info, A.ndim > 2, _inversion_failed)
    return InvExResult(x.reshape(A.shape), info)


@supports_out
def inv(A: Tensor) -> Tensor:
    """The inverse of (batches of) square float32/float64 matrices; ``LinAlgError`` when one is
    singular. On cuda n is at most 64 (one matrix per Triton program, in registers)."""
    _check_solver_input("linalg.inv", A)
    x, info = _Solve.apply(_as_batch(A), None)
    _raise_singular("linalg.inv", info, A.ndim > 2, _inversion_failed)
    return x.reshape(A.shape)


@supports_out
def det(A: Tensor) -> Tensor:
    """Determinants of (batches of) square float32/float64 matrices (0 for singular ones; 1 for
    0 x 0). On cuda n is at most 64. The gradient is not finite at a singular matrix."""
    _check_solver_input("linalg.det", A)
    return _Det.apply(_as_batch(A)).reshape(A.shape[:-2])


@supports_out
def slogdet(A: Tensor) -> tuple:
    """``(sign, logabsdet)`` of the determinants of (batches of) square matrices: sign 0 and
    logabsdet -inf for singular ones. On cuda n is at most 64."""
    _check_solver_input("linalg.slogdet", A)
    sign, logabs = _Slogdet.apply(_as_batch(A))
    return SlogdetResult(sign.reshape(A.shape[:-2]), logabs.reshape(A.shape[:-2]))


def _solve_operands(op: str, A: Tensor, B: Tensor, left: bool, vectors: bool = True) -> tuple:
    """Checked, broadcast (batch, n, n) A and (batch, n, k) B of ``A X = B``; the batch shape
    and whether B is a (batch of) vector(s) (never, unless ``vectors``)."""
    _check_solver_input(op, A)
    check_tensor(op.replace(".", "_"), "B", B)
    common_device(op, A, B)
    _check_same_dtype(op, ("A", "B"), A, B)
    if not vectors and B.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor B must have at least 2 dimensions.")
    vector = vectors and (B.ndim == 1 or (B.ndim == A.ndim - 1
                                          and tuple(B.shape) == tuple(A.shape[:-1])))
    rhs = B.unsqueeze(-1) if vector else B
    n = A.shape[-1]
    if rhs.ndim < 2 or rhs.shape[-2 if left else -1] != n or (vector and not left):
        rows, cols = (rhs.shape[-2], rhs.shape[-1]) if rhs.ndim >= 2 else (rhs.shape[0], 1)
        equation = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{op}: Incompatible shapes of A and B for the equation {equation} "
                           f"({n}x{n} and {rows}x{cols})")
    if not left:  # X A = B  <=>  A^T X^T = B^T
        A, rhs = A.mT, rhs.mT
    batch = broadcast_shapes(op, tuple(A.shape[:-2]), tuple(rhs.shape[:-2]))
    a = _as_batch(A.expand(*batch, n, n))
    b = _as_batch(rhs.expand(*batch, n, rhs.shape[-1]))
    return a, b, batch, vector


def _solve(op: str, A: Tensor, B: Tensor, left: bool) -> tuple:
    """(X, info) of ``solve_ex``, X shaped as PyTorch's (B's shape with broadcast batch dims)."""
    a, b, batch, vector = _solve_operands(op, A, B, left)
    x, info = _Solve.apply(a, b)
    x = x.reshape(*batch, *b.shape[1:])
    x = x.squeeze(-1) if vector else (x if left else x.mT)
    return x, info.reshape(batch)


@supports_out
def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """X with ``A X = B`` (``X A = B`` when ``left=False``) for the upper (``upper``) or lower
    triangle of A, with ones on its diagonal when ``unitriangular``; B has at least 2 dims.
    The other triangle is not read (its gradient is 0); a zero on the diagonal gives inf/NaN
    (no error, as PyTorch). A composite of the ``solve`` kernel op."""
    op = "linalg.solve_triangular"
    _check_solver_input(op, A)
    from .movement import tril, triu
    triangle = triu(A) if upper else tril(A)
    if unitriangular:
        from .creation import eye
        identity = eye(A.shape[-1], dtype=A.dtype, device=A.device)
        triangle = triangle * (1 - identity) + identity
    a, b, batch, _ = _solve_operands(op, triangle, B, left, vectors=False)
    x = _Solve.apply(a, b)[0].reshape(*batch, *b.shape[1:])
    return x if left else x.mT


@supports_out
def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> tuple:
    """``(result, info)`` of ``solve`` without raising for singular matrices (their result is
    inf/NaN and ``info`` nonzero) unless ``check_errors``."""
    x, info = _solve("linalg.solve_ex", A, B, left)
    if check_errors:
        _raise_singular("torch.linalg.solve_ex", info, info.ndim > 0, _solver_failed)
    return SolveExResult(x, info)


@supports_out
def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with ``A X = B`` (``X A = B`` when ``left=False``) for (batches of) square float32/
    float64 A; B is a (batch of) matrix or, when it is 1-D or A's shape without the last dim, of
    vectors; batch dims broadcast. ``LinAlgError`` for a singular A. On cuda n is at most 64."""
    x, info = _solve("linalg.solve", A, B, left)
    _raise_singular("torch.linalg.solve", info, info.ndim > 0, _solver_failed)
    return x


class _Cholesky(Function):
    """Lower-triangular L with A = L L^T for (batch, n, n) A, and info; the gradient is
    PyTorch's (Murray 2016): P = tril(L^T gL), S = (P + tril(P, -1)^T) / 2, dA = L^-T S L^-1."""

    node_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, a):
        lower, info = _result_and_flag(ctx, a.device, *backend(a).cholesky(a._a))
        ctx.save_for_backward(lower)
        return lower, info

    @staticmethod
    def backward(ctx, grad, grad_info):
        if grad is None:
            return None
        from .movement import tril
        lower, = ctx.saved_tensors
        p = tril(lower.mT @ grad)
        s = (p + tril(p, -1).mT) * 0.5
        inverse = _inverse(lower)
        return inverse.mT @ s @ inverse


def _not_positive_definite(code: int) -> str:
    return ("The factorization could not be completed because the input is not positive-definite "
            f"(the leading minor of order {code} is not positive-definite).")


def _cholesky(op: str, A: Tensor, upper: bool, check_errors: bool) -> tuple:
    _check_matrices(op, A)
    _check_floating(op, A)
    if A.dtype not in (dtypes.float32, dtypes.float64):
        raise NotImplementedError(f"\"cholesky_{A.device.type}\" not implemented for "
                                  f"'{dtypes.scalar_type_name(A.dtype)}'")
    lower, info = _Cholesky.apply(_as_batch(A))
    lower, info = lower.reshape(A.shape), info.reshape(A.shape[:-2])
    if check_errors:
        _raise_singular(op, info, A.ndim > 2, _not_positive_definite)
    return (lower.mT if upper else lower), info


@supports_out
def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> tuple:
    """``(L, info)`` of ``cholesky`` without raising (``info`` k > 0: the leading minor of order
    k is not positive-definite, L is not finite from there) unless ``check_errors``."""
    return CholeskyExResult(*_cholesky("linalg.cholesky_ex", A, upper, check_errors))


@supports_out
def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The Cholesky factor L (lower-triangular, A = L L^T) of (batches of) symmetric positive-
    definite float32/float64 matrices, read from their lower triangle; ``upper=True`` gives
    U = L^T. ``LinAlgError`` when one is not positive-definite. On cuda n is at most 64."""
    return _cholesky("linalg.cholesky", A, upper, True)[0]


class _Eigh(Function):
    """Ascending eigenvalues and eigenvectors of (batch, n, n) symmetric A (lower triangle read).

    Gradient (PyTorch's): with S the skew-symmetric part of V^T gV divided elementwise by
    E_ij = L_j - L_i (off the diagonal), dA = V (S + diag(gL)) V^T.
    """

    node_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, a):
        values, vectors = backend(a).eigh(a._a)
        values, vectors = wrap(values, a.device), wrap(vectors, a.device)
        ctx.set_materialize_grads(False)  # eigvalsh: no zeros for the vectors' gradient
        ctx.save_for_backward(values, vectors)
        return values, vectors

    @staticmethod
    def backward(ctx, grad_values, grad_vectors):
        from .creation import eye
        values, vectors = ctx.saved_tensors
        inner = None
        if grad_vectors is not None:
            identity = eye(values.shape[-1], dtype=values.dtype, device=values.device)
            gaps = values.unsqueeze(-2) - values.unsqueeze(-1) + identity  # 1 on the diagonal
            projected = vectors.mT @ grad_vectors
            inner = (projected - projected.mT) * 0.5 / gaps
        if grad_values is not None:
            diagonal = shape.diag_embed(grad_values)
            inner = diagonal if inner is None else inner + diagonal
        return vectors @ inner @ vectors.mT


def _eigh(op: str, A: Tensor, UPLO: str) -> tuple:
    _check_matrices(op, A)
    if A.dtype not in (dtypes.float32, dtypes.float64):
        raise NotImplementedError(f"\"linalg_eigh_{A.device.type}\" not implemented for "
                                  f"'{dtypes.scalar_type_name(A.dtype)}'")
    if not isinstance(UPLO, str) or UPLO.upper() not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    lower = A.mT if UPLO.upper() == "U" else A  # the kernels read the lower triangle
    values, vectors = _Eigh.apply(_as_batch(lower))
    return values.reshape(A.shape[:-1]), vectors.reshape(A.shape)


@supports_out
def eigh(A: Tensor, UPLO: str = "L") -> tuple:
    """``(eigenvalues, eigenvectors)`` of (batches of) symmetric float32/float64 matrices, read
    from their lower (``UPLO='L'``) or upper triangle: eigenvalues ascending, eigenvectors as
    orthonormal columns (each one's sign arbitrary, as LAPACK's). Gradients as PyTorch's
    (not finite for repeated eigenvalues). On cuda n is at most 64 (Jacobi in registers)."""
    return EighResult(*_eigh("linalg.eigh", A, UPLO))


@supports_out
def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The ascending eigenvalues of (batches of) symmetric matrices (see ``eigh``)."""
    return _eigh("linalg.eigh", A, UPLO)[0]  # PyTorch's messages name eigh here too


class _Svd(Function):
    """Reduced SVD of (batch, m, n) A with m >= n: (U, S, V), S descending. The gradient is
    PyTorch's: with E_ij = S_j^2 - S_i^2 (off the diagonal) and skew(X) = X - X^T,
    inner = (skew(U^T gU) S + S skew(V^T gV)) / E + diag(gS), dA = U inner V^T, plus
    (gU - U U^T gU) S^-1 V^T when m > n (not finite for repeated or zero singular values)."""

    node_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, a):
        u, s, v = (wrap(x, a.device) for x in backend(a).svd(a._a, True))
        ctx.set_materialize_grads(False)  # svdvals: no zeros for the vectors' gradients
        ctx.save_for_backward(u, s, v)
        return u, s, v

    @staticmethod
    def backward(ctx, grad_u, grad_s, grad_v):
        u, s, v = ctx.saved_tensors
        inner = None
        if grad_u is not None or grad_v is not None:
            from .creation import eye
            squares = s * s
            identity = eye(s.shape[-1], dtype=s.dtype, device=s.device)
            gaps = squares.unsqueeze(-2) - squares.unsqueeze(-1) + identity  # 1 on the diagonal
            parts = []
            if grad_u is not None:
                projected = u.mT @ grad_u
                parts.append((projected - projected.mT) * s.unsqueeze(-2))
            if grad_v is not None:
                projected = v.mT @ grad_v
                parts.append(s.unsqueeze(-1) * (projected - projected.mT))
            inner = (parts[0] if len(parts) == 1 else parts[0] + parts[1]) / gaps
        if grad_s is not None:
            diagonal = shape.diag_embed(grad_s)
            inner = diagonal if inner is None else inner + diagonal
        grad_a = u @ inner
        if grad_u is not None and u.shape[-2] > u.shape[-1]:  # the part outside U's columns
            scaled = grad_u / s.unsqueeze(-2)
            grad_a = grad_a + scaled - u @ (u.mT @ scaled)
        return grad_a @ v.mT


def _check_svd_input(op: str, A: Tensor) -> None:
    _check_matrices(op, A, square=False)
    _check_floating(op, A)
    if A.dtype not in (dtypes.float32, dtypes.float64):
        raise NotImplementedError(f"\"linalg_svd_{A.device.type}\" not implemented for "
                                  f"'{dtypes.scalar_type_name(A.dtype)}'")


def _svd(op: str, A: Tensor) -> tuple:
    """Reduced (U, S, Vh) of (batches of) matrices (the kernel sees the taller orientation)."""
    _check_svd_input(op, A)
    m, n = A.shape[-2], A.shape[-1]
    batch = tuple(A.shape[:-2])
    if m >= n:
        u, s, v = _Svd.apply(_as_batch(A))
        _check_converged(s)
        return u.reshape(*batch, m, n), s.reshape(*batch, n), v.mT.reshape(*batch, n, n)
    u, s, v = _Svd.apply(_as_batch(A.mT))  # A^T = U S V^T: A = V S U^T
    _check_converged(s)
    return v.reshape(*batch, m, m), s.reshape(*batch, m), u.mT.reshape(*batch, m, n)


def _check_converged(values: Tensor) -> None:
    """PyTorch's error for a non-finite input (NaN singular values); read on the host (a
    synchronization on cuda, as PyTorch's check)."""
    from .compare import isfinite
    if values.numel() and not bool(reduce.all(isfinite(values)).item()):
        raise LinAlgError("linalg.svd: The algorithm failed to converge because the input "
                          "matrix contained non-finite values.")


def _complete_basis(u: Tensor) -> Tensor:
    """(*, m, m) orthonormal columns extending the (*, m, k) orthonormal columns of ``u``: the
    eigenvectors of the projector I - U U^T for its eigenvalue 1 (the last m - k of eigh's
    ascending order). Not differentiated (PyTorch's svd gradient ignores them too)."""
    from .creation import eye
    m, k = u.shape[-2], u.shape[-1]
    u_const = u.detach()
    projector = eye(m, dtype=u.dtype, device=u.device) - u_const @ u_const.mT
    rest = eigh(projector)[1][..., k:]
    return shape.cat([u, rest], -1)


@supports_out
def svd(A: Tensor, full_matrices: bool = True, *, driver=None) -> tuple:
    """``(U, S, Vh)`` with A = U diag(S) Vh for (batches of) float32/float64 m x n matrices: S
    descending (k = min(m, n) values); U m x k and Vh k x n, or with ``full_matrices`` U m x m
    and Vh n x n (the extra columns, an orthonormal completion, get no gradient). A pair of
    singular vectors' sign is arbitrary (as LAPACK's). Gradients as PyTorch's (not finite for
    repeated or zero singular values). On cuda m, n <= 64 (one-sided Jacobi in registers);
    ``driver`` (a cuSOLVER choice in PyTorch) is ignored."""
    u, s, vh = _svd("linalg.svd", A)
    m, n = A.shape[-2], A.shape[-1]
    if full_matrices and m > n:
        u = _complete_basis(u)
    elif full_matrices and n > m:
        vh = _complete_basis(vh.mT).mT
    return SvdResult(u, s, vh)


@supports_out
def svdvals(A: Tensor, *, driver=None) -> Tensor:
    """The singular values (descending) of (batches of) matrices (see ``svd``); without a
    gradient to record, the kernel is asked for no vectors (NumPy's gesdd skips them)."""
    if is_grad_enabled() and A.requires_grad:
        return _svd("linalg.svd", A)[1]
    _check_svd_input("linalg.svd", A)
    m, n = A.shape[-2], A.shape[-1]
    taller = _as_batch(A if m >= n else A.mT)
    values = wrap(backend(A).svd(taller._a, False)[1], A.device)
    _check_converged(values)
    return values.reshape(*A.shape[:-2], min(m, n))


def _cutoff(A: Tensor, magnitudes: Tensor, atol, rtol) -> Tensor:
    """PyTorch's (*, 1) cut-off max(atol, rtol * the largest of ``magnitudes`` (*, k)) for A's
    singular values: rtol defaults to eps * max(m, n) when atol is not given (or is 0), else
    to 0."""
    if rtol is None:
        positive_atol = atol is not None and (isinstance(atol, Tensor) or atol > 0)
        rtol = 0.0 if positive_atol else dtypes.finfo(A.dtype).eps * max(A.shape[-2:])
    largest = reduce.amax(magnitudes, -1, keepdim=True) if magnitudes.shape[-1] \
        else magnitudes[..., :1]
    cutoff = largest * rtol
    if atol is None:
        return cutoff
    if not isinstance(atol, Tensor):
        from .creation import full_like
        atol = full_like(cutoff, atol)
    return binary.maximum(cutoff, atol)


@supports_out
def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The number of singular values (absolute eigenvalues when ``hermitian``) above
    max(atol, rtol * the largest); rtol defaults to eps * max(m, n) unless atol is given."""
    check_tensor("linalg_matrix_rank", "A", A)
    if A.dtype not in (dtypes.float32, dtypes.float64):
        raise RuntimeError("This function doesn't handle types other than float and double")
    values = eigvalsh(A).abs() if hermitian else svdvals(A)
    return reduce.sum(values > _cutoff(A, values, atol, rtol), -1)


@supports_out
def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse of (batches of) matrices, from the SVD (eigh when
    ``hermitian``), singular values at or below max(atol, rtol * the largest) dropped (rtol as
    in ``matrix_rank``). Gradients through the SVD: not finite for a rank-deficient A."""
    check_tensor("linalg_pinv", "A", A)
    if hermitian:
        values, vectors = eigh(A)
        u, s, vh = vectors, values, vectors.mT
        magnitudes = values.abs()
    else:
        u, s, vh = svd(A, full_matrices=False)
        magnitudes = s
    from .compare import where
    kept = magnitudes > _cutoff(A, magnitudes, atol, rtol)
    inverse = where(kept, 1 / where(kept, s, 1.0), 0.0)
    return (vh.mT * inverse.unsqueeze(-2)) @ u.mT


class _Qr(Function):
    """Householder QR of (batch, m, n) A: (Q, R) reduced, or complete; PyTorch's gradient
    (see ``_qr_backward``)."""

    node_name = "LinalgQrBackward0"

    @staticmethod
    def forward(ctx, a, complete):
        q, r = (wrap(x, a.device) for x in backend(a).qr(a._a, complete))
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(q, r)
        ctx.complete = complete
        return q, r

    @staticmethod
    def backward(ctx, grad_q, grad_r):
        q, r = ctx.saved_tensors
        m, n = q.shape[-2], r.shape[-1]
        if ctx.complete and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                               "and nrows > ncols.")
        if m >= n:
            return _qr_backward(q, r, grad_q, grad_r), None
        # A = [B C] with B = Q X square and C = Q Y: Y = Q^T C adds C gY^T to Q's gradient
        x, y = r[..., :m], r[..., m:]
        grad_x = grad_y = None
        if grad_r is not None:
            grad_x, grad_y = grad_r[..., :m], grad_r[..., m:]
            extra = (q @ y) @ grad_y.mT
            grad_q = extra if grad_q is None else grad_q + extra
        grad_b = _qr_backward(q, x, grad_q, grad_x)
        if grad_y is None:
            from .creation import zeros_like
            return shape.cat([grad_b, zeros_like(y)], -1), None
        return shape.cat([grad_b, q @ grad_y], -1), None


def _qr_backward(q: Tensor, r: Tensor, grad_q, grad_r) -> Tensor:
    """dA of A = Q R with m >= n (R square, invertible): with M = gR R^T - Q^T gQ and
    S = triu(M) + triu(M, 1)^T, dA = (Q S + gQ) R^-T."""
    from .movement import triu
    if grad_r is None:
        m = unary.neg(q.mT @ grad_q)
    else:
        m = grad_r @ r.mT if grad_q is None else grad_r @ r.mT - q.mT @ grad_q
    upper = triu(m)
    b = q @ (upper + triu(m, 1).mT)
    if grad_q is not None:
        b = b + grad_q
    return _Solve.apply(r, b.mT)[0].mT  # b R^-T


@supports_out
def qr(A: Tensor, mode: str = "reduced") -> tuple:
    """``(Q, R)`` with A = Q R for (batches of) float32/float64 m x n matrices, by Householder
    reflections with LAPACK's signs (as PyTorch's cpu results): mode 'reduced' (Q m x k, R k x n,
    k = min(m, n)), 'complete' (Q m x m, R m x n) or 'r' (Q empty). Gradients as PyTorch's
    ('r' differentiates too: Q is computed anyway). On cuda m, n <= 64."""
    op = "linalg.qr"
    _check_matrices(op, A, square=False)
    _check_floating(op, A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    if A.dtype not in (dtypes.float32, dtypes.float64):
        raise NotImplementedError(f"\"geqrf_{A.device.type}\" not implemented for "
                                  f"'{dtypes.scalar_type_name(A.dtype)}'")
    batch, (m, n) = tuple(A.shape[:-2]), A.shape[-2:]
    q, r = _Qr.apply(_as_batch(A), mode == "complete")
    q = q.reshape(*batch, m, q.shape[-1])
    r = r.reshape(*batch, r.shape[-2], n)
    if mode == "r":
        from .creation import empty
        q = empty(0, dtype=A.dtype, device=A.device)
    return QrResult(q, r)


_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None) -> tuple:
    """``(solution, residuals, rank, singular_values)``: the least-squares (minimum norm) X of
    ``A X = B`` for (batches of) m x n A, from the pseudo-inverse with singular values at or
    below ``rcond`` (default eps * max(m, n)) times the largest dropped. B is a (batch of)
    matrix, or of vectors when it has one dim less than A. As PyTorch's ``driver`` choices:
    residuals (squared column norms of A X - B) unless 'gelsy', when m > n and every A has full
    rank; rank unless 'gels'; singular_values for 'gelsd' and 'gelss'; empty otherwise. The
    default driver is 'gelsy' on every device (PyTorch's cuda has only 'gels')."""
    op = "torch.linalg.lstsq"
    check_tensor("linalg_lstsq", "A", A)
    check_tensor("linalg_lstsq", "B", B)
    common_device(op, A, B)
    driver = "gelsy" if driver is None else driver
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError(f"{op}: parameter `driver` should be one of (gels, gelsy, gelsd, "
                           "gelss)")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{op}: Expected input and other to have the same dtype, but got "
                           f"input's dtype {dtypes.scalar_type_name(A.dtype)} and other's dtype "
                           f"{dtypes.scalar_type_name(B.dtype)}")
    _check_matrices("linalg.lstsq", A, square=False)
    vector = B.ndim == A.ndim - 1
    rhs = B.unsqueeze(-1) if vector else B
    if rhs.ndim < 2 or rhs.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"{op}: input.size(-2) should match other.size(-2)")
    m, n = A.shape[-2], A.shape[-1]
    rtol = dtypes.finfo(A.dtype).eps * max(m, n) if rcond is None else rcond
    x = pinv(A, rtol=rtol) @ rhs
    from .creation import empty
    rank = matrix_rank(A, rtol=rtol) if driver != "gels" else \
        empty(0, dtype=dtypes.int64, device=A.device)
    residuals = empty(0, dtype=A.dtype, device=A.device)
    full_rank = m > n and bool(reduce.all(
        (rank if driver != "gels" else matrix_rank(A, rtol=rtol)) == n).item())
    if driver != "gelsy" and full_rank:
        residuals = reduce.sum((A @ x - rhs) ** 2, -2)
        residuals = residuals.squeeze(-1) if vector else residuals
    values = svdvals(A) if driver in ("gelsd", "gelss") else empty(0, dtype=A.dtype,
                                                                    device=A.device)
    return LstsqResult(x.squeeze(-1) if vector else x, residuals, rank, values)


class _LuFactor(Function):
    """LU with partial pivoting of (batch, m, n) A: packed LU, pivots, info and perm (the row of
    A at each row of LU). The gradient is PyTorch's (see ``_lu_backward``)."""

    node_name = "LinalgLuFactorExBackward0"

    @staticmethod
    def forward(ctx, a):
        lu, pivots, info, perm = _result_and_flag(ctx, a.device, *backend(a).lu_factor(a._a))
        ctx.save_for_backward(lu, perm)
        return lu, pivots, info, perm

    @staticmethod
    def backward(ctx, grad_lu, grad_pivots, grad_info, grad_perm):
        if grad_lu is None:
            return None
        lu, perm = ctx.saved_tensors
        return _permutation(perm, lu.dtype).mT @ _lu_backward(lu, grad_lu)


def _permutation(perm: Tensor, dtype) -> Tensor:
    """E with E[i, perm[i]] = 1 (E A = P^T A: A's rows in the order of ``perm``); compared, not
    indexed, so nothing is read on the host."""
    from .creation import arange
    columns = arange(perm.shape[-1], device=perm.device)
    return (perm.unsqueeze(-1) == columns).to(dtype)


def _unpack(lu: Tensor) -> tuple:
    """(L, U) of a packed (*, m, n) LU: L (*, m, k) unit lower, U (*, k, n) upper, k = min(m, n)."""
    from .creation import eye
    from .movement import tril, triu
    m, n = lu.shape[-2], lu.shape[-1]
    k = min(m, n)
    lower = tril(lu, -1)[..., :k] + eye(m, k, dtype=lu.dtype, device=lu.device)
    return lower, triu(lu)[..., :k, :]


def _lu_square_backward(lower: Tensor, upper: Tensor, grad_l: Tensor, grad_u: Tensor) -> Tensor:
    """The gradient of P^T A = L U (square): L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T."""
    from .movement import tril, triu
    inner = tril(lower.mT @ grad_l, -1) + triu(grad_u @ upper.mT)
    return _inverse(lower).mT @ inner @ _inverse(upper).mT


def _lu_backward(lu: Tensor, grad_lu: Tensor) -> Tensor:
    """The gradient of P^T A for the packed LU's gradient (L's part below the diagonal, U's on
    and above). A tall A's extra rows give L2 = A2 U^-1, a wide A's extra columns U2 = L^-1 A2:
    their gradients reach U, L too (PyTorch's linalg_lu_backward)."""
    from .movement import tril, triu
    lower, upper = _unpack(lu)
    m, n = lu.shape[-2], lu.shape[-1]
    grad_l, grad_u = tril(grad_lu, -1)[..., :min(m, n)], triu(grad_lu)[..., :min(m, n), :]
    if m > n:
        l1, l2, gl1, gl2 = lower[..., :n, :], lower[..., n:, :], grad_l[..., :n, :], \
            grad_l[..., n:, :]
        u_inverse_t = _inverse(upper).mT
        grad_u = grad_u - l2.mT @ gl2 @ u_inverse_t
        return shape.cat([_lu_square_backward(l1, upper, gl1, grad_u), gl2 @ u_inverse_t], -2)
    if m < n:
        u1, u2, gu1, gu2 = upper[..., :m], upper[..., m:], grad_u[..., :m], grad_u[..., m:]
        l_inverse_t = _inverse(lower).mT
        grad_l = grad_l - l_inverse_t @ gu2 @ u2.mT
        return shape.cat([_lu_square_backward(lower, u1, grad_l, gu1), l_inverse_t @ gu2], -1)
    return _lu_square_backward(lower, upper, grad_l, grad_u)


def _lu_factor(op: str, A: Tensor, pivot: bool) -> tuple:
    """(LU, pivots, info, perm) of (batches of) matrices, shaped as A's batch."""
    _check_matrices(op, A, square=False)
    if A.dtype not in (dtypes.float32, dtypes.float64):
        raise NotImplementedError(f"\"lu_{A.device.type}\" not implemented for "
                                  f"'{dtypes.scalar_type_name(A.dtype)}'")
    if not pivot:
        raise RuntimeError(f"{op}: LU without pivoting is not implemented")
    batch, (m, n) = tuple(A.shape[:-2]), A.shape[-2:]
    lu, pivots, info, perm = _LuFactor.apply(_as_batch(A))
    return (lu.reshape(A.shape), pivots.reshape(*batch, min(m, n)), info.reshape(batch),
            perm.reshape(*batch, m))


def _zero_pivot(code: int) -> str:
    return (f"U[{code},{code}] is zero and using it on lu_solve would result in a division by "
            "zero. If you still want to perform the factorization, consider calling "
            "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


@supports_out
def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> tuple:
    """``(LU, pivots, info)`` of ``lu_factor`` without raising for a zero pivot (``info`` k > 0:
    U[k, k] is zero) unless ``check_errors``."""
    lu, pivots, info, _ = _lu_factor("linalg.lu_factor_ex", A, pivot)
    if check_errors:
        _raise_singular("torch.linalg.lu_factor_ex", info, A.ndim > 2, _zero_pivot)
    return LuFactorExResult(lu, pivots, info)


@supports_out
def lu_factor(A: Tensor, *, pivot: bool = True) -> tuple:
    """``(LU, pivots)``: LU with partial pivoting (P^T A = L U) of (batches of) float32/float64
    m x n matrices, packed as LAPACK's getrf (L's multipliers below the diagonal, U on and
    above; pivots 1-based int32 row swaps). ``RuntimeError`` when U has a zero on its
    diagonal. ``pivot=False`` is not implemented. On cuda m, n <= 64."""
    lu, pivots, info, _ = _lu_factor("linalg.lu_factor", A, pivot)
    _raise_singular("torch.linalg.lu_factor", info, A.ndim > 2, _zero_pivot)
    return LuFactorResult(lu, pivots)


@supports_out
def lu(A: Tensor, *, pivot: bool = True) -> tuple:
    """``(P, L, U)`` with A = P L U: P m x m permutation, L m x k unit lower, U k x n upper
    (k = min(m, n)), from ``lu_factor_ex`` (no error for a singular A)."""
    packed, _, _, perm = _lu_factor("linalg.lu", A, pivot)
    lower, upper = _unpack(packed)
    return LuResult(_permutation(perm, A.dtype).mT, lower, upper)


def _perm_from_pivots(pivots: Tensor) -> Tensor:
    """The row order (int64, pivots' shape with m entries) that LAPACK's row swaps make; read on
    the host (a synchronization on cuda)."""
    from .creation import tensor
    m = pivots.shape[-1]
    orders = []
    for swaps in pivots.reshape(-1, m).tolist():
        order = list(range(m))
        for k, p in enumerate(swaps):
            order[k], order[p - 1] = order[p - 1], order[k]
        orders.append(order)
    return tensor(orders, dtype=dtypes.int64, device=pivots.device).reshape(pivots.shape)


@supports_out
def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,
             adjoint: bool = False) -> Tensor:
    """X with ``A X = B`` (``X A = B`` when ``left=False``; A^T for ``adjoint``) from A's
    ``lu_factor`` (square). The pivots are read on the host. A composite of triangular solves
    (gradients reach LU and B)."""
    op = "linalg.lu_solve"
    _check_solver_input(op, LU)
    check_tensor("linalg_lu_solve", "B", B)
    if B.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor B must have at least 2 dimensions.")
    n = LU.shape[-1]
    if B.shape[-2 if left else -1] != n:
        equation = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{op}: Incompatible shapes of A and B for the equation {equation} "
                           f"({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    order = _permutation(_perm_from_pivots(pivots), LU.dtype)  # E: E A = L U
    rhs = B if left else B.mT
    if left != adjoint:  # A Y = rhs: Y = U^-1 L^-1 E rhs
        y = solve_triangular(LU, order @ rhs, upper=False, unitriangular=True)
        y = solve_triangular(LU, y, upper=True)
    else:  # A^T Y = rhs: Y = E^T L^-T U^-T rhs
        y = solve_triangular(LU.mT, rhs, upper=False)
        y = order.mT @ solve_triangular(LU.mT, y, upper=True, unitriangular=True)
    return y if left else y.mT


class _LdlFactor(Function):
    """LDL^T with Bunch-Kaufman pivoting of (batch, n, n) symmetric A: LD, pivots, info. No
    gradient (as PyTorch)."""

    node_name = "LinalgLdlFactorExBackward0"

    @staticmethod
    def forward(ctx, a):
        return _result_and_flag(ctx, a.device, *backend(a).ldl_factor(a._a))

    @staticmethod
    def backward(ctx, grad_ld, grad_pivots, grad_info):
        raise RuntimeError("derivative for aten::linalg_ldl_factor_ex is not implemented")


def _ldl_factor(A: Tensor) -> tuple:
    op = "torch.linalg.ldl_factor_ex"  # PyTorch's messages name it for ldl_factor too
    _check_matrices(op, A)
    _check_floating(op, A)
    if A.dtype not in (dtypes.float32, dtypes.float64):
        raise NotImplementedError(f"\"ldl_factor_kernel_{A.device.type}\" not implemented for "
                                  f"'{dtypes.scalar_type_name(A.dtype)}'")
    ld, pivots, info = _LdlFactor.apply(_as_batch(A))
    return ld.reshape(A.shape), pivots.reshape(A.shape[:-1]), info.reshape(A.shape[:-2])


def _zero_block(code: int) -> str:
    return (f"The factorization could not be completed because D[{code},{code}] is exactly zero: "
            "the input matrix is singular.")


@supports_out
def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False) -> tuple:
    """``(LD, pivots, info)`` of ``ldl_factor`` without raising (``info`` k > 0: D[k, k] is
    zero) unless ``check_errors``."""
    ld, pivots, info = _ldl_factor(A)
    if check_errors:
        _raise_singular("torch.linalg.ldl_factor_ex", info, A.ndim > 2, _zero_block)
    return LdlFactorExResult(ld, pivots, info)


@supports_out
def ldl_factor(A: Tensor, *, hermitian: bool = False) -> tuple:
    """``(LD, pivots)``: A = L D L^T with Bunch-Kaufman pivoting (LAPACK's sytf2, lower, as
    PyTorch's results for n <= 64) of (batches of) symmetric float32/float64 matrices read from
    their lower triangle: LD holds L's multipliers below D's 1 x 1 and 2 x 2 blocks, pivots
    LAPACK's (negative for a 2 x 2 block). ``LinAlgError`` for a zero block (PyTorch fails
    with an internal assert there). No gradient. ``hermitian`` changes nothing for real
    dtypes. On cuda n <= 64."""
    ld, pivots, info = _ldl_factor(A)
    _raise_singular("torch.linalg.ldl_factor", info, A.ndim > 2, _zero_block)
    return LdlFactorResult(ld, pivots)


def _ldl_steps(pivots: list, n: int) -> list:
    """Per matrix, its steps (k, size, kp) from LAPACK's pivots (a 2 x 2 block: size 2)."""
    steps, k = [], 0
    while k < n:
        size = 2 if pivots[k] < 0 else 1
        steps.append((k, size, abs(pivots[k]) - 1))
        k += size
    return steps


def _ldl_factors(ld: Tensor, pivots: Tensor) -> tuple:
    """(M, D) with A = M D M^T from (batch, n, n) LD and (batch, n) pivots: M = P_1 L_1 P_2 L_2
    ... (LAPACK's sytf2 product of row exchanges and unit block-lower factors), D the block
    diagonal. The block structure is read from the pivots on the host; the values stay put."""
    from .creation import eye, tensor
    from .movement import tril
    batch, n = ld.shape[0], ld.shape[-1]
    all_steps = [_ldl_steps(p, n) for p in pivots.tolist()]
    identity = eye(n, dtype=ld.dtype, device=ld.device)
    m = identity.expand(batch, n, n)
    d_mask = [[[0.0] * n for _ in range(n)] for _ in range(batch)]
    for j in range(max((len(steps) for steps in all_steps), default=0)):
        swaps, masks = [], []
        for b, steps in enumerate(all_steps):
            order, mask = list(range(n)), [[0.0] * n for _ in range(n)]
            if j < len(steps):
                k, size, kp = steps[j]
                kk = k + size - 1
                order[kk], order[kp] = order[kp], order[kk]
                for col in range(k, k + size):
                    for row in range(k + size, n):
                        mask[row][col] = 1.0
                    for row in range(k, k + size):
                        d_mask[b][row][col] = d_mask[b][col][row] = 1.0
            swaps.append([[1.0 if order[r] == c else 0.0 for c in range(n)] for r in range(n)])
            masks.append(mask)
        swap = tensor(swaps, dtype=ld.dtype, device=ld.device)
        block = tensor(masks, dtype=ld.dtype, device=ld.device)
        m = m @ swap.mT @ (identity + ld * block)
    lower_d = tril(ld) * tensor(d_mask, dtype=ld.dtype, device=ld.device)
    return m, lower_d + tril(lower_d, -1).mT


@supports_out
def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False) -> Tensor:
    """X with ``A X = B`` from A's ``ldl_factor``: A rebuilt as M D M^T (see ``_ldl_factors``;
    the pivots are read on the host) and solved by ``solve``. A composite."""
    op = "torch.linalg.ldl_solve"
    _check_solver_input(op, LD)
    check_tensor("linalg_ldl_solve", "B", B)
    if B.ndim < 2:
        raise RuntimeError(f"{op}: B should have at least 2 dimensions, but has {B.ndim} "
                           "dimensions instead")
    batch = tuple(LD.shape[:-2])
    m, d = _ldl_factors(_as_batch(LD), pivots.reshape(-1, LD.shape[-1]))
    a = (m @ d @ m.mT).reshape(*batch, LD.shape[-2], LD.shape[-1])
    return solve(a, B)


def _check_reflectors(A: Tensor, tau: Tensor) -> None:
    op = "torch.linalg.householder_product"
    check_tensor("linalg_householder_product", "A", A)
    check_tensor("linalg_householder_product", "tau", tau)
    common_device(op, A, tau)
    if A.ndim < 2:
        raise RuntimeError(f"{op}: input must have at least 2 dimensions.")
    if A.shape[-2] < A.shape[-1]:
        raise RuntimeError(f"{op}: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    if A.shape[-1] < tau.shape[-1]:
        raise RuntimeError(f"{op}: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    if tau.ndim != A.ndim - 1:
        raise RuntimeError(f"{op}: Expected tau to have one dimension less than input, but got "
                           f"tau.ndim equal to {tau.ndim} and input.ndim is equal to {A.ndim}")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"{op}: Expected batch dimensions of tau to be equal to "
                           f"input.shape[:-2], but got {list(tau.shape[:-1])}")
    if tau.dtype is not A.dtype:
        raise RuntimeError(f"{op}: tau dtype {dtypes.scalar_type_name(tau.dtype)} does not match "
                           f"input dtype {dtypes.scalar_type_name(A.dtype)}")


@supports_out
def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first n columns of H_1 ... H_k (LAPACK's orgqr) for (batches of) m x n A (m >= n)
    holding the reflectors below its diagonal (v_i = e_i + A[i+1:, i]) and k = tau's last size
    scales: H_i = I - tau_i v_i v_i^T. A composite, applied one reflector at a time (from the
    last), so gradients reach A and tau."""
    _check_reflectors(A, tau)
    from .creation import eye
    from .movement import tril
    m, n = A.shape[-2], A.shape[-1]
    vectors = tril(A, -1) + eye(m, n, dtype=A.dtype, device=A.device)
    q = eye(m, n, dtype=A.dtype, device=A.device).expand(*A.shape)
    for i in reversed(range(tau.shape[-1])):  # Q = H_1 (H_2 (... (H_k I)))
        v = vectors[..., i:i + 1]
        q = q - (tau[..., i:i + 1].unsqueeze(-1) * v) @ (v.mT @ q)
    return q


@supports_out
def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of A seen as a matrix of its first ``ind`` dims by the others: the result
    has shape ``A.shape[ind:] + A.shape[:ind]``, and ``tensordot(A, result, ind)`` is the
    identity."""
    check_tensor("linalg_tensorinv", "A", A)
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    return inv(A.reshape(rows, cols)).reshape(*A.shape[ind:], *A.shape[:ind])


@supports_out
def tensorsolve(A: Tensor, B: Tensor, dims=None) -> Tensor:
    """X with ``tensordot(A, X, X.ndim) == B``: X has shape ``A.shape[B.ndim:]`` (after the dims
    ``dims`` of A, if given, are moved to the end)."""
    check_tensor("linalg_tensorsolve", "A", A)
    check_tensor("linalg_tensorsolve", "B", B)
    if dims is not None:
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        A = shape.movedim(A, dims, tuple(range(A.ndim - len(dims), A.ndim)))
    rows, cols = math.prod(A.shape[:B.ndim]), math.prod(A.shape[B.ndim:])
    if rows != cols:
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[other.ndim:]) "
                           f"== prod(self.shape[:other.ndim]), but got {cols} != {rows}")
    return solve(A.reshape(rows, cols), B.reshape(rows)).reshape(A.shape[B.ndim:])


# Norms ---------------------------------------------------------------------------------------
def _cast_for(op: str, x: Tensor, dtype) -> Tensor:
    """``x`` in ``dtype`` (None: as it is); PyTorch refuses narrowing casts here."""
    _check_floating(op, x)
    if dtype is None or dtype is x.dtype:
        return x
    if dtypes.promote_types(x.dtype, dtype) is not dtype:
        raise RuntimeError(f"{op}: the dtype of the input ({dtypes.scalar_type_name(x.dtype)}) "
                           "should be convertible without narrowing to the specified dtype "
                           f"({dtypes.scalar_type_name(dtype)})")
    return x.to(dtype)


@supports_out
def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (every element when None): ``ord`` 2, 1, inf, -inf,
    0 (number of nonzeros) or any other number (``sum(|x|**ord)**(1/ord)``)."""
    check_tensor("linalg_vector_norm", "x", x)
    if isinstance(ord, (str, bool)) or not isinstance(ord, (int, float)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not "
                        f"{type(ord).__name__}")
    x = _cast_for("linalg.vector_norm", x, dtype)
    if ord in (math.inf, -math.inf):
        dims = reduce._dims("linalg.vector_norm", x, dim)
        if any(x.shape[d] == 0 for d in dims):
            raise RuntimeError("linalg.vector_norm cannot compute the inf norm on an empty tensor "
                               "because the operation does not have an identity")
    return reduce.norm(x, ord, dim, keepdim)


def _matrix_dims(op: str, A: Tensor, dim) -> tuple:
    """The two distinct (non-negative) matrix dims of ``dim``."""
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if len(dims) != 2:
        raise RuntimeError(f"{op}: dim must be a 2-tuple. Got {' '.join(str(d) for d in dims)}")
    d0, d1 = (normalize_dim(op, d, A.ndim) for d in dims)
    if d0 == d1:
        raise RuntimeError(f"{op}: dims must be different. Got ({dims[0]}, {dims[1]})")
    return d0, d1


@supports_out
def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """The matrix norm over dims ``dim``: 'fro', 'nuc' (sum of the singular values), 2 / -2
    (largest / smallest singular value), 1 / -1 (max / min column sum of |A|), inf / -inf
    (max / min row sum)."""
    op = "linalg.matrix_norm"
    _check_matrices(op, A, square=False)
    A = _cast_for(op, A, dtype)
    d0, d1 = _matrix_dims(op, A, dim)
    if ord == "fro":
        return reduce.norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        values = svdvals(shape.movedim(A, (d0, d1), (-2, -1)))
        pick = reduce.sum if ord == "nuc" else reduce.amax if ord == 2 else reduce.amin
        result = pick(values, -1)
        for d in sorted((d0, d1)) if keepdim else ():
            result = result.unsqueeze(d)
        return result
    if isinstance(ord, str) or ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(f"{op}: Order {ord} not supported.")
    # ord 1: largest column sum (sum over the rows d0, extreme over d1); inf: the transpose
    summed, extreme_dim = (d0, d1) if ord in (1, -1) else (d1, d0)
    sums = reduce.sum(unary.abs(A), summed, keepdim=True)
    pick = reduce.amax if ord > 0 else reduce.amin
    result = pick(sums, extreme_dim, keepdim=True)
    return result if keepdim else result.squeeze((d0, d1))


@supports_out
def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``torch.linalg.norm``: a vector norm when ``dim`` is an int (or 1-tuple), or when ``dim``
    and ``ord`` are None (of every element); a matrix norm when ``dim`` is a 2-tuple, or when
    ``dim`` is None and A is 2-D; with ``ord`` given and no ``dim``, A must be 1-D or 2-D."""
    check_tensor("linalg_norm", "A", A)
    if dim is not None:
        dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
        if len(dims) == 2 or isinstance(ord, str):
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got "
                           f"[{', '.join(str(d) for d in dims)}]")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 2 or isinstance(ord, str):
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must be 1D or "
                       f"2D. Got {A.ndim}D.")


@supports_out
def cond(A: Tensor, p=None) -> Tensor:
    """The condition number of (batches of) matrices: for p = None / 2 (-2) the ratio of the
    largest to the smallest singular value (its inverse), for any shape; for p = 'fro', 'nuc',
    1, -1, inf, -inf ``norm(A, p) * norm(inv(A), p)`` of square matrices. inf where singular."""
    check_tensor("linalg_cond", "A", A)
    if p in (None, 2, -2):
        values = svdvals(A)
        largest, smallest = values[..., 0], values[..., -1]
        return smallest / largest if p == -2 else largest / smallest
    if isinstance(p, str) and p not in ("fro", "nuc") or not isinstance(p, str) and p not in (
            1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    _check_matrices(f"linalg.cond(ord={p})", A)
    inverse, info = inv_ex(A)
    from .compare import where
    result = matrix_norm(A, p) * matrix_norm(inverse, p)
    return where(info > 0, math.inf, result)


# Pade approximant of degree 13 (Higham 2005, "The scaling and squaring method for the matrix
# exponential revisited"): coefficients, and the largest 1-norm it serves unscaled.
_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
           40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152


def _pade13(a: Tensor) -> Tensor:
    """exp(a) by the [13/13] Pade approximant: (V - U)^-1 (V + U), U odd and V even in a."""
    from .creation import eye
    b = _PADE13
    identity = eye(a.shape[-1], dtype=a.dtype, device=a.device)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2)
             + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * identity)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 \
        + b[0] * identity
    a_, b_, batch, _ = _solve_operands("linalg.matrix_exp", v - u, v + u, True, vectors=False)
    return _Solve.apply(a_, b_)[0].reshape(a.shape)


def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential of (batches of) square float32/float64 matrices: scaling and
    squaring with the [13/13] Pade approximant (one scaling for the whole batch, from the
    largest 1-norm: read on the host). Differentiable to any order through its ops."""
    op = "linalg.matrix_exp"
    _check_matrices(op, A)
    _check_floating(op, A)
    if A.numel() == 0:
        return A.clone()
    norm_1 = reduce.amax(matrix_norm(A.detach(), 1)).item()
    squarings = max(0, math.ceil(math.log2(norm_1 / _THETA13))) if norm_1 > 0 else 0
    result = _pade13(A * (0.5 ** squarings) if squarings else A)
    for _ in range(squarings):
        result = result @ result
    return result


# Products ------------------------------------------------------------------------------------
@supports_out
def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of vectors along ``dim`` (``x`` and ``y`` broadcast)."""
    check_tensor("linalg_vecdot", "x", x)
    check_tensor("linalg_vecdot", "y", y)
    _check_same_dtype("linalg.vecdot", ("x", "y"), x, y)
    _check_floating("linalg.vecdot", x)
    return reduce.sum(x * y, dim)


@supports_out
def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (``input`` and ``other`` broadcast)."""
    check_tensor("linalg_cross", "input", input)
    check_tensor("linalg_cross", "other", other)
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"expected scalar type {dtypes.scalar_type_name(input.dtype)} but found "
                           f"{dtypes.scalar_type_name(other.dtype)}")
    d = normalize_dim("linalg.cross", dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    a = [shape.narrow(input, d, i, 1) for i in range(3)]
    b = [shape.narrow(other, d, i, 1) for i in range(3)]
    parts = [a[(i + 1) % 3] * b[(i + 2) % 3] - a[(i + 2) % 3] * b[(i + 1) % 3] for i in range(3)]
    return shape.cat(parts, d)


def _chain_order(dims: list) -> list:
    """``split[i][j]``: where the cheapest product of matrices i..j splits (PyTorch's
    multi_dot: the textbook matrix-chain dynamic program on the shapes ``dims``)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain_product(matrices: list, split: list, i: int, j: int) -> Tensor:
    if i == j:
        return matrices[i]
    k = split[i][j]
    return _chain_product(matrices, split, i, k) @ _chain_product(matrices, split, k + 1, j)


def _check_chain(tensors: list) -> None:
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    for i, t in enumerate(tensors):
        check_tensor("multi_dot", "tensors", t)
        where = "the first tensor" if i == 0 else "the last tensor" if i == n - 1 else None
        if where and t.ndim not in (1, 2):
            raise RuntimeError(f"multi_dot(): {where} must be 1D or 2D but got {t.ndim}D")
        if where is None and t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor "
                               f"0 is {tensors[0].dtype.name} and tensor {i} {t.dtype.name}")
    common_device("multi_dot", *tensors)


@supports_out
def multi_dot(tensors) -> Tensor:
    """The product of a chain of matrices, multiplied in the cheapest order; the first may be a
    row vector (1-D) and the last a column vector (1-D), dropped from the result's shape."""
    tensors = list(tensors)
    _check_chain(tensors)
    matrices = list(tensors)
    if matrices[0].ndim == 1:
        matrices[0] = matrices[0].unsqueeze(0)
    if matrices[-1].ndim == 1:
        matrices[-1] = matrices[-1].unsqueeze(1)
    for i in range(len(matrices) - 1):
        if matrices[i].shape[1] != matrices[i + 1].shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes "
                               f"{list(tensors[i].shape)} and {list(tensors[i + 1].shape)} "
                               "cannot be multiplied")
    dims = [matrices[0].shape[0]] + [m.shape[1] for m in matrices]
    result = _chain_product(matrices, _chain_order(dims), 0, len(matrices) - 1)
    if tensors[-1].ndim == 1:
        result = result.squeeze(-1)
    if tensors[0].ndim == 1:
        result = result.squeeze(0)
    return result


@supports_out
def matrix_power(A: Tensor, n: int) -> Tensor:
    """``A`` (batches of square matrices) to the integer power ``n``: the identity for 0,
    powers of ``inv(A)`` for negative ``n`` (by repeated squaring)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not "
                        f"{type(n).__name__}")
    _check_matrices("linalg.matrix_power", A)
    if n == 0:
        from .creation import eye
        identity = eye(A.shape[-1], dtype=A.dtype, device=A.device)
        return identity.expand(A.shape).clone()
    base = inv(A) if n < 0 else A
    result = None
    power = abs(n)
    while power:
        if power & 1:
            result = base if result is None else result @ base
        power >>= 1
        if power:
            base = base @ base
    return result.clone() if result is A else result


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonals of the matrices of ``A`` (dims ``dim1``, ``dim2``), as a view."""
    return shape.diagonal(A, offset, dim1, dim2)


def vander(x: Tensor, *, N=None) -> Tensor:
    """The Vandermonde matrices ``x[..., i] ** j`` for j < N (default: x's last dim size);
    integer x gives int64 (PyTorch's running product)."""
    check_tensor("linalg_vander", "x", x)
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must be at least 1-dimensional.")
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    from .creation import ones_like
    from .scan import cumprod
    powers = x.unsqueeze(-1).expand(*x.shape, n - 1)
    columns = shape.cat([ones_like(x).unsqueeze(-1), powers], -1)
    return cumprod(columns, -1)


# inv and solve read info on the host (as_numpy) to raise for singular matrices
register("linalg.inv", "linalg", ("solve", "as_numpy", "matmul", "neg"))
register("linalg.inv_ex", "linalg", ("solve", "matmul", "neg"))
register("linalg.solve", "linalg", ("solve", "as_numpy", "matmul", "neg"))
register("linalg.solve_ex", "linalg", ("solve", "matmul", "neg"))
register("linalg.cholesky", "linalg", ("cholesky", "as_numpy", "matmul", "tril", "add", "mul",
                                       "solve"))
register("linalg.cholesky_ex", "linalg", ("cholesky", "matmul", "tril", "add", "mul", "solve"))
register("linalg.det", "linalg", ("det", "solve", "mul"))
# svd with full_matrices completes U (or V) by eigh (the empty/mm/sub of the projector); the
# values are checked finite on the host (sub, eq, all, to_numpy)
register("linalg.svd", "linalg", ("svd", "sub", "eq", "all", "to_numpy", "eye", "mm", "eigh",
                                  "empty", "copy_", "add", "mul", "div", "matmul", "full"))
register("linalg.svdvals", "linalg", ("svd", "sub", "eq", "all", "to_numpy", "full", "copy_",
                                      "matmul"))
register("linalg.lu_factor", "linalg", ("lu_factor", "as_numpy", "tril", "triu", "eye", "add",
                                        "solve", "matmul", "arange", "eq", "copy_", "empty"))
register("linalg.lu_factor_ex", "linalg", ("lu_factor", "tril", "triu", "eye", "add", "sub",
                                           "solve", "matmul", "arange", "eq", "copy_", "empty"))
register("linalg.ldl_factor", "linalg", ("ldl_factor", "as_numpy"), differentiable=False)
register("linalg.ldl_factor_ex", "linalg", ("ldl_factor",), differentiable=False)
register("linalg.qr", "linalg", ("qr", "matmul", "sub", "triu", "add", "solve", "copy_", "empty"))
register("linalg.eigh", "linalg", ("eigh", "eye", "add", "sub", "mul", "div", "matmul", "full",
                                   "copy_"))
register("linalg.eigvalsh", "linalg", ("eigh", "full", "copy_", "matmul"))
register("linalg.slogdet", "linalg", ("slogdet", "solve", "mul"))
