"""framework.linalg against torch.linalg (float64 oracle) on cpu and cuda (Triton interpreter).

The kernel ops (inv/inv_ex, det, slogdet, solve/solve_ex, cholesky/cholesky_ex, eigh/eigvalsh,
svd/svdvals, qr, lu_factor/lu_factor_ex, ldl_factor/ldl_factor_ex) and the composites of them
(solve_triangular, tensorinv, tensorsolve, cond, matrix_exp, matrix_rank, pinv, lstsq, lu,
lu_solve, ldl_solve, householder_product): batched, broadcast,
non-contiguous and edge shapes (1 x 1, empty batch, 0 x 0), both float
dtypes, singular input (LinAlgError / info / det 0), second derivatives and
bad input. The composites (norms, products, matrix_power, vander): values and
gradients, PyTorch's dispatch rules and errors.
"""
import math

import numpy as np
import pytest
import torch
from helpers import check_op

import framework
from framework.autograd import gradcheck, gradgradcheck

L = framework.linalg
RNG = np.random.default_rng(7)


def _normal(*shape):
    return RNG.standard_normal(shape)


def _matrices(*shape):
    """Well-conditioned (batches of) square matrices: normal entries plus n on the diagonal."""
    n = shape[-1]
    return _normal(*shape) + n * np.eye(n)


def _pivoting(*shape):
    """Matrices whose first column is small: partial pivoting must swap rows."""
    a = _matrices(*shape)
    a[..., :, 0] *= 1e-3
    a[..., -1, 0] = 2.0
    return a


# inv / det / slogdet ---------------------------------------------------------------------
SQUARE_SHAPES = [(3, 3), (2, 4, 4), (1, 1), (2, 1, 3, 3), (0, 3, 3)]


@pytest.mark.parametrize("shape", SQUARE_SHAPES, ids=str)
def test_inv(device, shape):
    check_op(L.inv, torch.linalg.inv, [_matrices(*shape)], device=device)


@pytest.mark.parametrize("shape", SQUARE_SHAPES, ids=str)
def test_det_and_slogdet(device, shape):
    check_op(L.det, torch.linalg.det, [_matrices(*shape)], device=device, scale=10)
    check_op(lambda a: tuple(L.slogdet(a)), lambda a: tuple(torch.linalg.slogdet(a)),
             [_matrices(*shape)], device=device)


def test_float64_and_pivoting(device):
    a = _pivoting(2, 5, 5)
    for fw_fn, torch_fn in ((L.inv, torch.linalg.inv), (L.det, torch.linalg.det),
                            (lambda x: L.slogdet(x)[1], lambda x: torch.linalg.slogdet(x)[1])):
        check_op(fw_fn, torch_fn, [a], device=device, dtype=framework.float64)


def test_negative_determinants_and_non_contiguous_input(device):
    a = _matrices(3, 4, 4)
    a[0] = a[0][[1, 0, 2, 3]]  # one row swap: det < 0
    check_op(L.det, torch.linalg.det, [a], device=device, contiguous=False, scale=10)
    check_op(lambda x: tuple(L.slogdet(x)), lambda x: tuple(torch.linalg.slogdet(x)), [a],
             device=device, contiguous=False)
    check_op(L.inv, torch.linalg.inv, [a], device=device, contiguous=False)


def test_zero_by_zero_matrices(device):
    a = framework.zeros(2, 0, 0, device=device)
    assert L.det(a).tolist() == [1.0, 1.0]
    assert L.slogdet(a).sign.tolist() == [1.0, 1.0]
    assert L.slogdet(a).logabsdet.tolist() == [0.0, 0.0]
    assert tuple(L.inv(a).shape) == (2, 0, 0)


def test_larger_matrices(device):
    # 20 x 20 on cuda: a 32 x 32 tile; the inverse's columns in one chunk of 32
    a = _pivoting(20, 20)
    check_op(L.inv, torch.linalg.inv, [a], device=device, dtype=framework.float64, grad=False)
    check_op(L.det, torch.linalg.det, [a], device=device, dtype=framework.float64, grad=False)


def test_cuda_size_bound():
    a = framework.eye(65, device="cuda")
    for fn in (L.inv, L.det, lambda x: L.solve(x, x), L.cholesky, L.eigh, L.svdvals,
               lambda x: L.svdvals(x[:3]), L.qr, L.lu_factor, L.ldl_factor):
        with pytest.raises(NotImplementedError, match="larger than 64 x 64"):
            fn(a)


# solve -----------------------------------------------------------------------------------
SOLVE_CASES = [
    ((3, 3), (3,), True),            # vector
    ((3, 3), (3, 2), True),          # matrix
    ((2, 3, 3), (2, 3), True),       # batch of vectors (B is A's shape without the last dim)
    ((2, 3, 3), (3, 2), True),       # B broadcast over A's batch
    ((3, 3), (2, 1, 3, 2), True),    # A broadcast over B's batch
    ((2, 3, 3), (2, 4, 3), False),   # X A = B
    ((1, 1), (1, 1), True),
    ((0, 3, 3), (0, 3, 2), True),
]


@pytest.mark.parametrize("a_shape,b_shape,left", SOLVE_CASES, ids=str)
def test_solve(device, a_shape, b_shape, left):
    check_op(lambda a, b: L.solve(a, b, left=left),
             lambda a, b: torch.linalg.solve(a, b, left=left),
             [_matrices(*a_shape), _normal(*b_shape)], device=device)


def test_solve_many_right_hand_sides(device):
    # 40 columns: two column chunks of 32 on cuda
    check_op(L.solve, torch.linalg.solve, [_pivoting(3, 3), _normal(3, 40)], device=device,
             dtype=framework.float64)


def test_solve_ex_and_inv_ex(device):
    a, b = _matrices(2, 3, 3), _normal(2, 3)
    check_op(lambda x, y: L.solve_ex(x, y)[0], lambda x, y: torch.linalg.solve_ex(x, y)[0],
             [a, b], device=device)
    check_op(lambda x: L.inv_ex(x).inverse, lambda x: torch.linalg.inv_ex(x).inverse, [a],
             device=device)
    result, info = L.solve_ex(framework.tensor(a, device=device),
                              framework.tensor(b, device=device))
    assert info.dtype == framework.int32 and info.tolist() == [0, 0]
    assert type(result).__name__ == "Tensor"


# cholesky, solve_triangular, tensorinv, tensorsolve, cond, matrix_exp --------------------------
def _spd(*shape):
    """Symmetric positive-definite (batches of) matrices."""
    m = _normal(*shape)
    return m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1])


@pytest.mark.parametrize("shape", SQUARE_SHAPES, ids=str)
def test_cholesky(device, shape):
    check_op(L.cholesky, torch.linalg.cholesky, [_spd(*shape)], device=device)


def test_cholesky_upper_and_ex(device):
    a = _spd(2, 5, 5)
    check_op(lambda x: L.cholesky(x, upper=True), lambda x: torch.linalg.cholesky(x, upper=True),
             [a], device=device, dtype=framework.float64, contiguous=False)
    check_op(lambda x: L.cholesky_ex(x).L, lambda x: torch.linalg.cholesky_ex(x).L, [a],
             device=device)
    not_pd = framework.tensor([[[4.0, 2], [2, 1]], [[1.0, 0], [0, 1]]], device=device)
    assert L.cholesky_ex(not_pd).info.tolist() == [2, 0]
    with pytest.raises(L.LinAlgError) as got:
        L.cholesky(not_pd)
    with pytest.raises(torch.linalg.LinAlgError) as expected:
        torch.linalg.cholesky(torch.tensor(not_pd.tolist()))
    assert str(got.value) == str(expected.value)


# (A shape, B shape, upper, left, unitriangular)
TRIANGULAR_CASES = [((3, 3), (3, 2), True, True, False),
                    ((2, 3, 3), (3, 1), False, True, False),
                    ((3, 3), (2, 4, 3), True, False, False),
                    ((2, 3, 3), (2, 3, 2), False, True, True)]


@pytest.mark.parametrize("a_shape,b_shape,upper,left,unit", TRIANGULAR_CASES, ids=str)
def test_solve_triangular(device, a_shape, b_shape, upper, left, unit):
    kwargs = {"upper": upper, "left": left, "unitriangular": unit}
    check_op(lambda a, b: L.solve_triangular(a, b, **kwargs),
             lambda a, b: torch.linalg.solve_triangular(a, b, **kwargs),
             [_matrices(*a_shape), _normal(*b_shape)], device=device)


def test_tensorinv_and_tensorsolve(device):
    check_op(lambda a: L.tensorinv(a, ind=2), lambda a: torch.linalg.tensorinv(a, ind=2),
             [_matrices(6, 6).reshape(2, 3, 6)], device=device)
    check_op(lambda a: L.tensorinv(a, ind=1), lambda a: torch.linalg.tensorinv(a, ind=1),
             [_matrices(4, 4).reshape(4, 2, 2)], device=device)
    check_op(L.tensorsolve, torch.linalg.tensorsolve, [_matrices(6, 6).reshape(2, 3, 6),
                                                       _normal(2, 3)], device=device)
    check_op(lambda a, b: L.tensorsolve(a, b, dims=(0,)),
             lambda a, b: torch.linalg.tensorsolve(a, b, dims=(0,)),
             [_matrices(6, 6).reshape(6, 2, 3), _normal(2, 3)], device=device)


@pytest.mark.parametrize("p", ["fro", 1, -1, math.inf, -math.inf], ids=str)
def test_cond(device, p):
    # torch 2.13's cond has no working backward (it edits inv_ex's output in place): values
    # against torch, gradients by finite differences
    check_op(lambda a: L.cond(a, p), lambda a: torch.linalg.cond(a, p), [_pivoting(2, 3, 3)],
             device=device, dtype=framework.float64, grad=False)
    if device == "cpu":
        assert gradcheck(lambda a: L.cond(a, p), (_leaf(_pivoting(3, 3), device),))


def test_cond_of_singular_matrices(device):
    a, fw_a = _singular(device)
    assert L.cond(fw_a, 1).tolist()[1] == math.inf == torch.linalg.cond(torch.tensor(a), 1)[1]


@pytest.mark.parametrize("shape,scale", [((3, 3), 0.3), ((2, 4, 4), 3.0), ((1, 1), 1.0),
                                         ((0, 2, 2), 1.0)], ids=str)
def test_matrix_exp(device, shape, scale):
    # scale 3: 1-norms past the approximant's bound, so the batch is scaled and squared
    check_op(L.matrix_exp, torch.linalg.matrix_exp, [_normal(*shape) * scale], device=device,
             dtype=framework.float64)
    check_op(L.matrix_exp, torch.linalg.matrix_exp, [_normal(*shape) * scale], device=device,
             scale=10)


# eigh / eigvalsh: eigenvectors compared through V * V (each column's sign is arbitrary)
def _symmetric(*shape):
    m = _normal(*shape)
    return m + np.swapaxes(m, -1, -2)


def _eigh_parts(linalg):
    return lambda a, uplo="L": (linalg.eigh(a, uplo)[0], linalg.eigh(a, uplo)[1] ** 2)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3), (1, 1), (0, 3, 3)], ids=str)
def test_eigh(device, shape):
    check_op(_eigh_parts(L), _eigh_parts(torch.linalg), [_symmetric(*shape)], device=device,
             dtype=framework.float64)
    check_op(L.eigvalsh, torch.linalg.eigvalsh, [_symmetric(*shape)], device=device)


def test_eigh_reads_one_triangle(device):
    a = _normal(2, 3, 3)  # not symmetric: 'L' reads below the diagonal, 'U' above
    for uplo in ("L", "U"):
        check_op(lambda x: _eigh_parts(L)(x, uplo), lambda x: _eigh_parts(torch.linalg)(x, uplo),
                 [a], device=device, dtype=framework.float64, contiguous=False)


def test_eigh_float32_reconstructs(device):
    a = framework.tensor(_symmetric(4, 4), dtype=framework.float32, device=device)
    values, vectors = L.eigh(a)
    assert values.dtype == vectors.dtype == framework.float32
    rebuilt = vectors @ framework.diag_embed(values) @ vectors.mT
    assert (rebuilt - a).abs().max().item() < 1e-5
    assert (vectors.mT @ vectors - framework.eye(4, device=device)).abs().max().item() < 1e-5


# svd and what uses it: singular vectors compared through U * U and Vh * Vh (a pair's sign is
# arbitrary)
def _svd_parts(linalg, full_matrices=False):
    def parts(a):
        u, s, vh = linalg.svd(a, full_matrices=full_matrices)
        k = s.shape[-1]
        return s, u[..., :k] ** 2, vh[..., :k, :] ** 2
    return parts


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3), (1, 1), (0, 3, 2)], ids=str)
def test_svd(device, shape):
    check_op(_svd_parts(L), _svd_parts(torch.linalg), [_normal(*shape)], device=device,
             dtype=framework.float64, contiguous=False)
    check_op(L.svdvals, torch.linalg.svdvals, [_normal(*shape)], device=device)


def test_svd_of_non_finite_input(device):
    a = [[1.0, math.nan], [0.0, 1.0]]
    for fn in (L.svd, L.svdvals, L.pinv):
        with pytest.raises(torch.linalg.LinAlgError) as expected:
            getattr(torch.linalg, fn.__name__)(torch.tensor(a))
        with pytest.raises(L.LinAlgError) as got:
            fn(framework.tensor(a, device=device))
        assert str(got.value) == str(expected.value)


def test_svdvals_without_gradient_equals_the_recorded_path(device):
    # no gradient to record: the kernel is asked for no vectors (cpu: gesdd without them)
    a = _normal(2, 5, 3)
    plain = L.svdvals(framework.tensor(a, device=device))
    recorded = L.svdvals(framework.tensor(a, device=device, requires_grad=True))
    np.testing.assert_allclose(plain.cpu().numpy(), recorded.detach().cpu().numpy(),
                               rtol=1e-13, atol=1e-13)
    assert tuple(L.svdvals(framework.tensor(a, device=device).mT).shape) == (2, 3)


@pytest.mark.parametrize("shape", [(4, 2), (2, 4)], ids=str)
def test_svd_full_matrices(device, shape):
    check_op(_svd_parts(L, True), _svd_parts(torch.linalg, True), [_normal(*shape)],
             device=device, dtype=framework.float64)
    u, s, vh = L.svd(framework.tensor(_normal(*shape), device=device))
    m, n = shape
    assert tuple(u.shape) == (m, m) and tuple(vh.shape) == (n, n)
    for q in (u, vh):
        eye = framework.eye(q.shape[0], dtype=q.dtype, device=device)
        assert (q.mT @ q - eye).abs().max().item() < 1e-12


SVD_NORMS = [("nuc", (-2, -1), False), (2, (0, 2), True), (-2, (2, 1), False)]


@pytest.mark.parametrize("ord,dim,keepdim", SVD_NORMS, ids=str)
def test_svd_matrix_norms(device, ord, dim, keepdim):
    check_op(lambda x: L.matrix_norm(x, ord, dim, keepdim),
             lambda x: torch.linalg.matrix_norm(x, ord, dim, keepdim), [_normal(2, 3, 4)],
             device=device, dtype=framework.float64)


@pytest.mark.parametrize("p", [None, 2, -2, "nuc"], ids=str)
def test_cond_from_singular_values(device, p):
    shapes = [(2, 3, 3)] if p == "nuc" else [(2, 3, 3), (4, 2)]
    for shape in shapes:
        check_op(lambda a: L.cond(a, p), lambda a: torch.linalg.cond(a, p), [_normal(*shape)],
                 device=device, dtype=framework.float64, grad=p != "nuc")


def _rank_deficient():
    """(2, 4, 3) matrices of ranks 2 and 1."""
    a = _normal(4, 2) @ _normal(2, 3)
    b = np.outer(_normal(4), _normal(3))
    return np.stack([a, b])


def test_matrix_rank(device):
    a = _rank_deficient()
    t_a = torch.tensor(a)
    fw_a = framework.tensor(a, device=device)
    assert L.matrix_rank(fw_a).tolist() == torch.linalg.matrix_rank(t_a).tolist() == [2, 1]
    for kwargs in ({"atol": 0.5}, {"rtol": 0.3}, {"atol": 0.1, "rtol": 0.5}):
        assert L.matrix_rank(fw_a, **kwargs).tolist() == \
            torch.linalg.matrix_rank(t_a, **kwargs).tolist(), kwargs
    spd = framework.tensor(_spd(3, 3), device=device)
    assert L.matrix_rank(spd, hermitian=True).item() == 3
    assert L.matrix_rank(fw_a).dtype == framework.int64


def test_pinv(device):
    check_op(L.pinv, torch.linalg.pinv, [_normal(4, 3)], device=device, dtype=framework.float64)
    check_op(L.pinv, torch.linalg.pinv, [_normal(2, 2, 3)], device=device)
    # hermitian: PyTorch's gradient is the general formula's, this one the symmetric part of it
    # (eigh reads one triangle): compared on symmetric inputs
    check_op(lambda a: L.pinv((a + a.mT) * 0.5, hermitian=True),
             lambda a: torch.linalg.pinv((a + a.mT) * 0.5, hermitian=True),
             [_spd(3, 3)], device=device, dtype=framework.float64)
    # rank-deficient: the dropped singular values (values only: the gradient is not finite)
    check_op(L.pinv, torch.linalg.pinv, [_rank_deficient()], device=device,
             dtype=framework.float64, grad=False)


# lstsq: the solution with gradients; residuals, rank and singular values per driver
LSTSQ_CASES = [((4, 3), (4, 2)), ((2, 4, 3), (2, 4)), ((3, 4), (3, 2)), ((2, 5, 2), (1, 5, 3))]


@pytest.mark.parametrize("a_shape,b_shape", LSTSQ_CASES, ids=str)
def test_lstsq(device, a_shape, b_shape):
    check_op(lambda a, b: L.lstsq(a, b).solution, lambda a, b: torch.linalg.lstsq(a, b).solution,
             [_normal(*a_shape), _normal(*b_shape)], device=device, dtype=framework.float64)


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
def test_lstsq_drivers(device, driver):
    a, b = _normal(2, 4, 3), _normal(2, 4, 2)
    got = L.lstsq(framework.tensor(a, device=device), framework.tensor(b, device=device),
                  driver=driver)
    want = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    for name in ("solution", "residuals", "rank", "singular_values"):
        g, w = getattr(got, name), getattr(want, name)
        assert tuple(g.shape) == tuple(w.shape), name
        np.testing.assert_allclose(g.cpu().numpy(), w.numpy(), atol=1e-10, err_msg=name)


def test_lstsq_rank_deficient(device):
    a = _rank_deficient()
    b = _normal(2, 4, 2)
    got = L.lstsq(framework.tensor(a, device=device), framework.tensor(b, device=device),
                  driver="gelsd")
    want = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver="gelsd")
    np.testing.assert_allclose(got.solution.cpu().numpy(), want.solution.numpy(), atol=1e-10)
    assert got.rank.tolist() == want.rank.tolist() == [2, 1]
    assert tuple(got.residuals.shape) == (0,)


# lu_factor / lu / lu_solve: LAPACK's pivots, so LU compares directly
@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 4), (2, 3, 3), (1, 1), (0, 2, 2)], ids=str)
def test_lu_factor_and_lu(device, shape):
    a = _pivoting(*shape) if shape[-1] == shape[-2] else _normal(*shape)
    check_op(lambda x: L.lu_factor(x).LU, lambda x: torch.linalg.lu_factor(x).LU, [a],
             device=device, dtype=framework.float64)
    check_op(lambda x: tuple(L.lu(x)), lambda x: tuple(torch.linalg.lu(x)), [a], device=device,
             contiguous=False)
    got, want = L.lu_factor_ex(framework.tensor(a, device=device)), torch.linalg.lu_factor_ex(
        torch.tensor(a))
    assert got.pivots.dtype == got.info.dtype == framework.int32
    assert got.pivots.tolist() == want.pivots.tolist() and got.info.tolist() == want.info.tolist()


@pytest.mark.parametrize("left,adjoint", [(True, False), (True, True), (False, False),
                                          (False, True)], ids=str)
def test_lu_solve(device, left, adjoint):
    b = _normal(2, 3, 2) if left else _normal(2, 2, 3)
    check_op(lambda x, y: L.lu_solve(*L.lu_factor(x), y, left=left, adjoint=adjoint),
             lambda x, y: torch.linalg.lu_solve(*torch.linalg.lu_factor(x), y, left=left,
                                                adjoint=adjoint),
             [_pivoting(2, 3, 3), b], device=device, dtype=framework.float64)


def test_lu_of_singular_matrices(device):
    a, fw_a = _singular(device)
    assert L.lu_factor_ex(fw_a).info.tolist() == [0, 3]
    with pytest.raises(RuntimeError) as got:
        L.lu_factor(fw_a)
    with pytest.raises(RuntimeError) as expected:
        torch.linalg.lu_factor(torch.tensor(a))
    assert str(got.value) == str(expected.value)
    p, lower, upper = L.lu(fw_a)  # no error
    assert (p @ lower @ upper - fw_a).abs().max().item() < 1e-12


@pytest.mark.parametrize("a_shape,tau_shape", [((4, 3), (2,)), ((2, 3, 3), (2, 3)), ((3, 1), (1,)),
                                               ((4, 2), (0,))], ids=str)
def test_householder_product(device, a_shape, tau_shape):
    check_op(L.householder_product, torch.linalg.householder_product,
             [_normal(*a_shape), _normal(*tau_shape)], device=device, dtype=framework.float64)


# ldl_factor / ldl_solve: LAPACK's Bunch-Kaufman pivots, so LD and pivots compare directly
def _indefinite(*shape):
    """Symmetric indefinite matrices with a small diagonal: 2 x 2 pivots and exchanges."""
    a = _symmetric(*shape)
    n = shape[-1]
    a[..., np.arange(n), np.arange(n)] *= 1e-3
    return a


LDL_INPUTS = {"zero diagonal 3x3": np.array([[[0.0, 1, 2], [1, 0, 3], [2, 3, 0]]]),
              "indefinite 2x5x5": None, "symmetric 4x4": None, "1x1": np.array([[2.0]])}


@pytest.mark.parametrize("case", list(LDL_INPUTS))
def test_ldl_factor_and_solve(device, case):
    a = LDL_INPUTS[case]
    a = {"indefinite 2x5x5": lambda: _indefinite(2, 5, 5),
         "symmetric 4x4": lambda: _symmetric(4, 4)}.get(case, lambda: a)()
    ld, pivots, info = L.ldl_factor_ex(framework.tensor(a, device=device))
    want = torch.linalg.ldl_factor_ex(torch.tensor(a))
    np.testing.assert_allclose(ld.cpu().numpy(), want.LD.numpy(), atol=1e-12)
    assert pivots.tolist() == want.pivots.tolist() and info.tolist() == want.info.tolist()
    assert pivots.dtype == framework.int32
    b = _normal(*a.shape[:-1], 2)
    x = L.ldl_solve(ld, pivots, framework.tensor(b, device=device))
    np.testing.assert_allclose(x.cpu().numpy(),
                               torch.linalg.ldl_solve(want.LD, want.pivots, torch.tensor(b)),
                               atol=1e-10)


def test_ldl_factor_errors(device):
    with pytest.raises(L.LinAlgError, match="D\\[1,1\\] is exactly zero"):
        L.ldl_factor(framework.zeros(2, 2, device=device))
    assert L.ldl_factor_ex(framework.zeros(2, 2, device=device)).info.tolist() == 1
    a = framework.tensor(_symmetric(3, 3), device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex"):
        L.ldl_factor(a).LD.sum().backward()


# qr: LAPACK's reflector signs, so Q and R compare directly
QR_CASES = [((4, 3), "reduced"), ((3, 4), "reduced"), ((2, 3, 3), "complete"), ((3, 1), "r"),
            ((1, 3), "complete"), ((0, 2, 2), "reduced")]


@pytest.mark.parametrize("shape,mode", QR_CASES, ids=str)
def test_qr(device, shape, mode):
    if mode == "r":  # PyTorch has no gradient for mode 'r': R of 'reduced' instead
        fw_fn, torch_fn = (lambda a: L.qr(a, mode).R), (lambda a: torch.linalg.qr(a).R)
    else:
        fw_fn, torch_fn = (lambda a: tuple(L.qr(a, mode))), \
            (lambda a: tuple(torch.linalg.qr(a, mode)))
    check_op(fw_fn, torch_fn, [_normal(*shape)], device=device, dtype=framework.float64)
    check_op(fw_fn, torch_fn, [_normal(*shape)], device=device, contiguous=False)


def test_qr_modes(device):
    a = framework.tensor(_normal(4, 2), device=device, requires_grad=True)
    q, r = L.qr(a, mode="r")
    assert tuple(q.shape) == (0,) and tuple(r.shape) == (2, 2)
    q, r = L.qr(a, mode="complete")
    assert tuple(q.shape) == (4, 4) and tuple(r.shape) == (4, 2)
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete'"):
        r.sum().backward()
    upper = framework.tensor([[1.0, 1], [0, 2]], device=device)  # no reflection needed
    assert L.qr(upper).Q.tolist() == [[1.0, 0.0], [0.0, 1.0]]


# singular input ----------------------------------------------------------------------------
def _singular(device):
    """A batch of two 3 x 3 matrices, the second singular (its LU's 3rd pivot is zero)."""
    a = np.array([[[2.0, 1, 0], [1, 3, 1], [0, 1, 4]], [[1.0, 2, 3], [2, 4, 6], [1, 1, 1]]])
    return a, framework.tensor(a, device=device)


def test_singular_matrices(device):
    a, fw_a = _singular(device)
    t_a = torch.tensor(a)
    for fw_fn, torch_fn in ((L.inv, torch.linalg.inv),
                            (lambda x: L.solve(x, x[..., 0]),
                             lambda x: torch.linalg.solve(x, x[..., 0])),
                            (lambda x: L.inv(x[1]), lambda x: torch.linalg.inv(x[1])),
                            (lambda x: L.inv_ex(x, check_errors=True),
                             lambda x: torch.linalg.inv_ex(x, check_errors=True)),
                            (lambda x: L.solve_ex(x[1], x[1], check_errors=True),
                             lambda x: torch.linalg.solve_ex(x[1], x[1], check_errors=True))):
        with pytest.raises(torch.linalg.LinAlgError) as expected:
            torch_fn(t_a)
        with pytest.raises(L.LinAlgError) as got:
            fw_fn(fw_a)
        assert str(got.value) == str(expected.value)
    assert issubclass(L.LinAlgError, RuntimeError)
    np.testing.assert_allclose(L.det(fw_a).tolist(), torch.linalg.det(t_a).tolist(), atol=1e-6)
    sign, logabs = L.slogdet(fw_a)
    assert sign.tolist() == [1.0, 0.0] and logabs.tolist()[1] == -math.inf
    assert L.inv_ex(fw_a).info.tolist() == torch.linalg.inv_ex(t_a).info.tolist() == [0, 3]
    assert L.solve_ex(fw_a, fw_a).info.tolist() == [0, 3]


# gradients of gradients --------------------------------------------------------------------
def _leaf(array, device):
    return framework.tensor(array, dtype=framework.float64, device=device, requires_grad=True)


def test_second_derivatives(device):
    n = 3 if device == "cpu" else 2  # each finite difference runs the kernels again
    a = _leaf(_pivoting(n, n), device)
    b = _leaf(_normal(n, 2), device)
    assert gradgradcheck(L.det, (a,))
    assert gradgradcheck(L.inv, (a,))
    assert gradgradcheck(lambda x, y: L.solve(x, y), (a, b))
    assert gradgradcheck(lambda x: L.slogdet(x).logabsdet, (a,))
    spd = _leaf(_spd(n, n), device)
    # a symmetric input (the gradient is symmetrized: entries above the diagonal are not read)
    assert gradgradcheck(lambda x: L.cholesky((x + x.mT) * 0.5), (spd,))
    if device == "cpu":  # eigh's backward is device-independent; cuda's runs Jacobi slowly
        assert gradgradcheck(lambda x: L.eigvalsh((x + x.mT) * 0.5), (a,))
        assert gradgradcheck(lambda x: L.eigh((x + x.mT) * 0.5)[1] ** 2, (a,))
        tall = _leaf(_normal(3, 2), device)
        assert gradgradcheck(L.svdvals, (tall,))
        assert gradgradcheck(lambda x: L.svd(x, full_matrices=False)[0] ** 2, (tall,))
        assert gradgradcheck(lambda x: tuple(L.qr(x)), (tall,))
        assert gradgradcheck(lambda x: tuple(L.qr(x)), (_leaf(_normal(2, 3), device),))
        assert gradgradcheck(lambda x: L.lu_factor(x).LU, (_leaf(_pivoting(3, 3), device),))


def test_second_derivatives_of_composites():
    a = _leaf(_matrices(3, 3), "cpu")
    assert gradgradcheck(lambda x: L.matrix_power(x, -2), (a,))
    assert gradgradcheck(lambda x: L.matrix_norm(x, 1), (a,))
    assert gradgradcheck(lambda x: L.vector_norm(x, 3, dim=0), (a,))
    assert gradgradcheck(lambda x: L.matrix_exp(x / 3), (a,))


# bad input ---------------------------------------------------------------------------------
def _same_error(fw_fn, torch_fn, device="cpu", exc=RuntimeError):
    with pytest.raises(exc) as expected:
        torch_fn(torch)
    with pytest.raises(exc) as got:
        fw_fn(framework, device)
    assert str(got.value) == str(expected.value)


def _eye(lib, device="cpu"):
    return lib.eye(2) if lib is torch else lib.eye(2, device=device)


def _z(lib, *shape, dtype="float32", device="cpu"):
    kwargs = {} if lib is torch else {"device": device}
    return lib.ones(*shape, dtype=getattr(lib, dtype), **kwargs)


BAD_INPUT = {
    "inv non-square": lambda lib, d="cpu": lib.linalg.inv(_z(lib, 2, 3, device=d)),
    "inv 1-D": lambda lib, d="cpu": lib.linalg.inv(_z(lib, 3, device=d)),
    "inv int": lambda lib, d="cpu": lib.linalg.inv(_z(lib, 3, 3, dtype="int64", device=d)),
    "inv half": lambda lib, d="cpu": lib.linalg.inv(_z(lib, 3, 3, dtype="float16", device=d)),
    "det non-square": lambda lib, d="cpu": lib.linalg.det(_z(lib, 2, 3, device=d)),
    "slogdet bf16": lambda lib, d="cpu": lib.linalg.slogdet(_z(lib, 2, 2, dtype="bfloat16",
                                                               device=d)),
    "solve shapes": lambda lib, d="cpu": lib.linalg.solve(_z(lib, 3, 3, device=d),
                                                          _z(lib, 2, device=d)),
    "solve rows": lambda lib, d="cpu": lib.linalg.solve(_z(lib, 3, 3, device=d),
                                                        _z(lib, 4, 3, device=d)),
    "solve left=False": lambda lib, d="cpu": lib.linalg.solve(_z(lib, 3, 3, device=d),
                                                              _z(lib, 3, 2, device=d), left=False),
    "solve dtypes": lambda lib, d="cpu": lib.linalg.solve(_z(lib, 3, 3, device=d),
                                                          _z(lib, 3, dtype="float64", device=d)),
    "matrix_norm order": lambda lib, d="cpu": lib.linalg.matrix_norm(_z(lib, 3, 3, device=d), 3),
    "matrix_norm dims": lambda lib, d="cpu": lib.linalg.matrix_norm(_z(lib, 3, 3, device=d),
                                                                    dim=(0, 0)),
    "matrix_norm 1-D": lambda lib, d="cpu": lib.linalg.matrix_norm(_z(lib, 3, device=d)),
    "vector_norm int": lambda lib, d="cpu": lib.linalg.vector_norm(_z(lib, 3, dtype="int64",
                                                                      device=d)),
    "vector_norm inf empty": lambda lib, d="cpu": lib.linalg.vector_norm(_z(lib, 0, device=d),
                                                                         math.inf),
    "vector_norm narrowing": lambda lib, d="cpu": lib.linalg.vector_norm(
        _z(lib, 3, dtype="float64", device=d), dtype=lib.float32),
    "norm 3-D with ord": lambda lib, d="cpu": lib.linalg.norm(_z(lib, 2, 2, 2, device=d), 2),
    "norm 3 dims": lambda lib, d="cpu": lib.linalg.norm(_z(lib, 2, 2, 2, device=d),
                                                        dim=(0, 1, 2)),
    "vecdot dtypes": lambda lib, d="cpu": lib.linalg.vecdot(_z(lib, 3, device=d),
                                                            _z(lib, 3, dtype="float64", device=d)),
    "cross length": lambda lib, d="cpu": lib.linalg.cross(_z(lib, 3, 2, device=d),
                                                          _z(lib, 3, 2, device=d)),
    "cross dtypes": lambda lib, d="cpu": lib.linalg.cross(_z(lib, 3, device=d),
                                                          _z(lib, 3, dtype="float64", device=d)),
    "norm of a vector, matrix ord": lambda lib, d="cpu": lib.linalg.norm(_z(lib, 3, device=d),
                                                                         "fro"),
    "cross ndim": lambda lib, d="cpu": lib.linalg.cross(_z(lib, 2, 3, device=d),
                                                        _z(lib, 3, device=d)),
    "multi_dot one": lambda lib, d="cpu": lib.linalg.multi_dot([_z(lib, 3, device=d)]),
    "multi_dot 3-D first": lambda lib, d="cpu": lib.linalg.multi_dot([_z(lib, 2, 2, 2, device=d),
                                                                      _z(lib, 2, 2, device=d)]),
    "multi_dot middle": lambda lib, d="cpu": lib.linalg.multi_dot(
        [_z(lib, 3, 2, device=d), _z(lib, 2, 2, 2, device=d), _z(lib, 2, device=d)]),
    "multi_dot shapes": lambda lib, d="cpu": lib.linalg.multi_dot([_z(lib, 3, 2, device=d),
                                                                   _z(lib, 3, 2, device=d)]),
    "cholesky half": lambda lib, d="cpu": lib.linalg.cholesky(_z(lib, 2, 2, dtype="float16",
                                                                 device=d)),
    "solve_triangular 1-D B": lambda lib, d="cpu": lib.linalg.solve_triangular(
        _z(lib, 2, 2, device=d), _z(lib, 2, device=d), upper=True),
    "eigh half": lambda lib, d="cpu": lib.linalg.eigh(_z(lib, 2, 2, dtype="float16", device=d)),
    "svd half": lambda lib, d="cpu": lib.linalg.svd(_z(lib, 2, 2, dtype="float16", device=d)),
    "svd 1-D": lambda lib, d="cpu": lib.linalg.svd(_z(lib, 2, device=d)),
    "svdvals int": lambda lib, d="cpu": lib.linalg.svdvals(_z(lib, 2, 2, dtype="int64", device=d)),
    "matrix_rank int": lambda lib, d="cpu": lib.linalg.matrix_rank(_z(lib, 2, 2, dtype="int64",
                                                                      device=d)),
    "qr half": lambda lib, d="cpu": lib.linalg.qr(_z(lib, 2, 2, dtype="float16", device=d)),
    "qr mode": lambda lib, d="cpu": lib.linalg.qr(_z(lib, 2, 2, device=d), mode="x"),
    "qr int": lambda lib, d="cpu": lib.linalg.qr(_z(lib, 2, 2, dtype="int64", device=d)),
    "lstsq rows": lambda lib, d="cpu": lib.linalg.lstsq(_z(lib, 4, 3, device=d),
                                                        _z(lib, 5, 2, device=d)),
    "lstsq dtypes": lambda lib, d="cpu": lib.linalg.lstsq(_z(lib, 4, 3, device=d),
                                                          _z(lib, 4, 2, dtype="float64", device=d)),
    "lstsq driver": lambda lib, d="cpu": lib.linalg.lstsq(_z(lib, 4, 3, device=d),
                                                          _z(lib, 4, 2, device=d), driver="x"),
    "lu_factor half": lambda lib, d="cpu": lib.linalg.lu_factor(_z(lib, 2, 2, dtype="float16",
                                                                   device=d)),
    "lu_solve 1-D B": lambda lib, d="cpu": lib.linalg.lu_solve(*lib.linalg.lu_factor(
        _z(lib, 2, 2, device=d) + _eye(lib, d)), _z(lib, 2, device=d)),
    "lu_solve shapes": lambda lib, d="cpu": lib.linalg.lu_solve(*lib.linalg.lu_factor(
        _z(lib, 2, 2, device=d) + _eye(lib, d)), _z(lib, 3, 2, device=d)),
    "householder_product wide": lambda lib, d="cpu": lib.linalg.householder_product(
        _z(lib, 3, 4, device=d), _z(lib, 2, device=d)),
    "householder_product tau": lambda lib, d="cpu": lib.linalg.householder_product(
        _z(lib, 4, 3, device=d), _z(lib, 4, device=d)),
    "householder_product batch": lambda lib, d="cpu": lib.linalg.householder_product(
        _z(lib, 2, 4, 3, device=d), _z(lib, 3, 2, device=d)),
    "householder_product dtypes": lambda lib, d="cpu": lib.linalg.householder_product(
        _z(lib, 4, 3, device=d), _z(lib, 2, dtype="float64", device=d)),
    "ldl_factor non-square": lambda lib, d="cpu": lib.linalg.ldl_factor(_z(lib, 2, 3, device=d)),
    "ldl_factor int": lambda lib, d="cpu": lib.linalg.ldl_factor(_z(lib, 2, 2, dtype="int64",
                                                                    device=d)),
    "eigh UPLO": lambda lib, d="cpu": lib.linalg.eigh(_z(lib, 2, 2, device=d), UPLO="X"),
    "eigvalsh non-square": lambda lib, d="cpu": lib.linalg.eigvalsh(_z(lib, 2, 3, device=d)),
    "tensorinv ind": lambda lib, d="cpu": lib.linalg.tensorinv(_z(lib, 2, 3, 6, device=d), ind=0),
    "tensorinv shape": lambda lib, d="cpu": lib.linalg.tensorinv(_z(lib, 2, 3, 3, 2, device=d),
                                                                 ind=1),
    "tensorsolve shape": lambda lib, d="cpu": lib.linalg.tensorsolve(_z(lib, 6, 2, 3, device=d),
                                                                     _z(lib, 6, device=d)),
    "cond order": lambda lib, d="cpu": lib.linalg.cond(_z(lib, 2, 2, device=d), 3),
    "cond non-square": lambda lib, d="cpu": lib.linalg.cond(_z(lib, 2, 3, device=d), 1),
    "matrix_exp non-square": lambda lib, d="cpu": lib.linalg.matrix_exp(_z(lib, 2, 3, device=d)),
    "matrix_exp int": lambda lib, d="cpu": lib.linalg.matrix_exp(_z(lib, 2, 2, dtype="int64",
                                                                    device=d)),
    "matrix_power non-square": lambda lib, d="cpu": lib.linalg.matrix_power(
        _z(lib, 2, 3, device=d), 2),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input(case):
    exc = NotImplementedError if case.endswith(" half") and case != "inv half" else RuntimeError
    if case in ("lu_factor half", "ldl_factor half"):
        exc = NotImplementedError
    _same_error(BAD_INPUT[case], BAD_INPUT[case], exc=exc)


def test_bad_input_on_cuda():
    _same_error(BAD_INPUT["solve shapes"], BAD_INPUT["solve shapes"], device="cuda")
    _same_error(BAD_INPUT["inv half"], BAD_INPUT["inv half"], device="cuda")


def test_type_errors():
    with pytest.raises(TypeError, match="must be int, not float"):
        L.matrix_power(framework.eye(2), 2.0)
    with pytest.raises(TypeError, match="must be Number, not str"):
        L.vector_norm(framework.ones(3), "fro")
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'upper'"):
        L.solve_triangular(framework.eye(2), framework.eye(2))


# composites --------------------------------------------------------------------------------
VECTOR_NORMS = [(2, None, False), (1, 1, False), (math.inf, (0, 2), True), (-math.inf, -1, False),
                (0, None, True), (3.5, (1,), False), (0.5, 0, False)]


@pytest.mark.parametrize("ord,dim,keepdim", VECTOR_NORMS, ids=str)
def test_vector_norm(device, ord, dim, keepdim):
    check_op(lambda x: L.vector_norm(x, ord, dim, keepdim),
             lambda x: torch.linalg.vector_norm(x, ord, dim, keepdim), [_normal(2, 3, 4)],
             device=device)


def test_vector_norm_dtype(device):
    x = framework.tensor(_normal(3, 4), device=device)
    out = L.vector_norm(x, dtype=framework.float64)
    assert out.dtype == framework.float64
    expected = torch.linalg.vector_norm(torch.tensor(x.tolist()), dtype=torch.float64)
    assert abs(out.item() - expected.item()) < 1e-6


MATRIX_NORMS = [("fro", (-2, -1), False), (1, (-2, -1), False), (-1, (0, 2), True),
                (math.inf, (2, 1), False), (-math.inf, (-1, -2), True)]


@pytest.mark.parametrize("ord,dim,keepdim", MATRIX_NORMS, ids=str)
def test_matrix_norm(device, ord, dim, keepdim):
    check_op(lambda x: L.matrix_norm(x, ord, dim, keepdim),
             lambda x: torch.linalg.matrix_norm(x, ord, dim, keepdim), [_normal(2, 3, 4)],
             device=device)


NORM_CALLS = [((2, 3, 4), {}), ((2, 3, 4), {"dim": 1}), ((2, 3, 4), {"dim": (0, 2)}),
              ((3, 4), {"ord": 1}), ((4,), {"ord": 1}), ((3, 4), {"ord": "fro", "keepdim": True}),
              ((3, 4), {"ord": math.inf, "dim": (1,)}), ((2, 3, 4), {"ord": -1, "dim": (2, 0)})]


@pytest.mark.parametrize("shape,kwargs", NORM_CALLS, ids=str)
def test_norm_dispatch(device, shape, kwargs):
    check_op(lambda x: L.norm(x, **kwargs), lambda x: torch.linalg.norm(x, **kwargs),
             [_normal(*shape)], device=device)


def test_vecdot_and_cross(device):
    check_op(L.vecdot, torch.linalg.vecdot, [_normal(2, 3, 4), _normal(3, 4)], device=device)
    check_op(lambda x, y: L.vecdot(x, y, dim=0), lambda x, y: torch.linalg.vecdot(x, y, dim=0),
             [_normal(3, 4), _normal(3, 1)], device=device)
    check_op(L.cross, torch.linalg.cross, [_normal(2, 4, 3), _normal(1, 4, 3)], device=device)
    check_op(lambda x, y: L.cross(x, y, dim=0), lambda x, y: torch.linalg.cross(x, y, dim=0),
             [_normal(3, 2), _normal(3, 2)], device=device)


MULTI_DOT = [[(3, 4), (4, 2)], [(4,), (4, 3), (3, 5), (5,)], [(2, 6), (6, 1), (1, 5), (5, 3)],
             [(3,), (3,)]]


@pytest.mark.parametrize("shapes", MULTI_DOT, ids=str)
def test_multi_dot(device, shapes):
    check_op(lambda *ts: L.multi_dot(ts), lambda *ts: torch.linalg.multi_dot(ts),
             [_normal(*s) for s in shapes], device=device)


@pytest.mark.parametrize("n", [0, 1, 3, 6, -1, -3])
def test_matrix_power(device, n):
    check_op(lambda a: L.matrix_power(a, n), lambda a: torch.linalg.matrix_power(a, n),
             [_matrices(2, 3, 3) / 3], device=device)


def test_vander_integers():
    x = framework.tensor([1, 2, 3], dtype=framework.int32)
    out = L.vander(x)
    assert out.dtype == framework.int64 and out.tolist() == [[1, 1, 1], [1, 2, 4], [1, 3, 9]]


def test_matrix_power_integers():
    # cpu only: integer matmuls are not implemented on cuda (nor in PyTorch)
    a = framework.tensor([[1, 1], [1, 0]])
    assert L.matrix_power(a, 10).tolist() == [[89, 55], [55, 34]]
    assert L.matrix_power(a, 0).tolist() == [[1, 0], [0, 1]]


def test_diagonal_matmul_vander(device):
    check_op(lambda a: L.diagonal(a, offset=1), lambda a: torch.linalg.diagonal(a, offset=1),
             [_normal(2, 3, 4)], device=device)
    check_op(lambda a: L.diagonal(a, dim1=0, dim2=2),
             lambda a: torch.linalg.diagonal(a, dim1=0, dim2=2), [_normal(3, 2, 3)], device=device)
    check_op(L.matmul, torch.linalg.matmul, [_normal(2, 3, 4), _normal(4, 2)], device=device)
    check_op(L.vander, torch.linalg.vander, [_normal(2, 3)], device=device)
    check_op(lambda x: L.vander(x, N=5), lambda x: torch.linalg.vander(x, N=5), [_normal(3)],
             device=device)


def test_out_arguments(device):
    """``out=`` exactly where torch.linalg has it (framework.ops.out's mechanism)."""
    a = framework.tensor(_matrices(3, 3), device=device)
    out = framework.empty(0, dtype=a.dtype, device=device)
    assert L.inv(a, out=out) is out and tuple(out.shape) == (3, 3)
    sign, logabs = (framework.empty(0, dtype=a.dtype, device=device) for _ in range(2))
    result = L.slogdet(a, out=(sign, logabs))
    assert type(result).__name__ == "linalg_slogdet" and result.sign is sign
    for name in L.__all__:
        torch_has_out = "out=None" in getattr(torch.linalg, name).__doc__.strip().split("\n")[0]
        assert getattr(getattr(L, name), "supports_out", False) == torch_has_out, name


def test_names_are_torch_linalg_names():
    assert set(L.__all__) <= set(dir(torch.linalg))
