"""Dense linear algebra on small matrices: solve / inverse (Gauss-Jordan), LU, det / slogdet,
Cholesky, LDL^T, QR (Householder), symmetric eigendecomposition and SVD (Jacobi).

One program holds one n x n matrix of a batch in registers, as a
BLOCK_N x BLOCK_N tile (BLOCK_N = next power of two >= n, at most MAX_N),
and works through it column by column; solve and det pivot: at step k the row
at or below k with the largest |a[row, k]| (the first of equal ones, as
LAPACK's getrf) is swapped into row k. The pivots, and so the results, are
those of PyTorch's LU-based CPU path up to rounding.

- ``solve_kernel``: Gauss-Jordan on ``[A | B]``: row k is divided by the
  pivot and column k is cleared from every other row, so A becomes the
  identity and B the solution X of ``A X = B``. A program takes BLOCK_K
  columns of B (grid: matrices x column chunks; each chunk repeats A's
  elimination). ``IDENTITY_B`` makes B the identity in registers (the
  inverse) instead of reading it.
- ``cholesky_kernel``: A = L L^T column by column (no pivoting); ``info``
  marks the first leading minor that is not positive-definite.
- ``eigh_kernel``: cyclic Jacobi rotations of a symmetric matrix (no
  pivoting), then the diagonal sorted with the accumulated rotations.
- ``svd_kernel``: one-sided Jacobi rotations of the columns of an m x n
  (m >= n) matrix, then the column norms sorted with their directions.
- ``qr_kernel``: Householder reflections (LAPACK's signs), Q accumulated.
- ``lu_kernel``: LU with partial pivoting (LAPACK's getf2) of an m x n matrix.
- ``ldl_kernel``: LDL^T with Bunch-Kaufman pivoting (LAPACK's sytf2, lower).
- ``det_kernel``: LU elimination (rows below k only); the determinant is
  the product of the pivots times the permutation's sign, or with ``LOG``
  the sign and the sum of log |pivot|.

A zero pivot (the matrix is singular) is recorded in ``info`` as k + 1 for
the first such k (LAPACK's convention); the solve then divides by zero
(inf/NaN results, as PyTorch's ``inv_ex``), the determinant is 0 (sign 0,
log |det| = -inf). Masked rows and columns (past n) hold zeros and never
become pivots.
"""
import triton
import triton.language as tl

MAX_N = 64  # largest matrix a program holds (registers: a 64 x 64 tile plus a B chunk)
MAX_BLOCK_K = 32  # columns of B per program
MAX_SWEEPS = 30  # Jacobi sweeps of eigh (it converges quadratically: ~6-10 in practice)
# eigh stops when the off-diagonal squares are at most this share of the squared norm, svd
# when no pair of columns has a squared cosine above it
JACOBI_TOL = {"float32": 1.4e-14, "float64": 4.9e-32}  # (machine epsilon) ** 2


def num_warps(block_n: int) -> int:
    """Warps per program: 4 up to 32 x 32 tiles, 8 for 64 x 64."""
    return 4 if block_n <= 32 else 8


@triton.jit
def _load_matrix(a_ptr, matrix, m, n, stride_ab, stride_ar, stride_ac, rows, cols,
                 ACC: tl.constexpr):
    """Matrix ``matrix`` of the batch as a tile in ACC: rows < m, columns < n (zeros past)."""
    inside = (rows[:, None] < m) & (cols[None, :] < n)
    return tl.load(a_ptr + matrix * stride_ab + rows[:, None] * stride_ar
                   + cols[None, :] * stride_ac, mask=inside, other=0).to(ACC)


@triton.jit
def _load_symmetric(a_ptr, matrix, n, stride_ab, stride_ar, stride_ac, rows, cols,
                    ACC: tl.constexpr):
    """Symmetric matrix ``matrix`` of the batch as a full tile in ACC, from its lower triangle
    (the entries above the diagonal are read mirrored)."""
    base = a_ptr + matrix * stride_ab
    inside = (rows[:, None] < n) & (cols[None, :] < n)
    below = inside & (cols[None, :] <= rows[:, None])
    lower = tl.load(base + rows[:, None] * stride_ar + cols[None, :] * stride_ac, mask=below,
                    other=0)
    mirrored = tl.load(base + cols[None, :] * stride_ar + rows[:, None] * stride_ac,
                       mask=inside & ~below, other=0)
    return (lower + mirrored).to(ACC)


@triton.jit
def _entry(vector, index, positions):
    """``vector[index]`` (a scalar) of a 1-D register tensor."""
    return tl.sum(tl.where(positions == index, vector, 0), axis=0)


@triton.jit
def _row(tile, index, rows):
    """Row ``index`` of a 2-D register tile."""
    return tl.sum(tl.where(rows[:, None] == index, tile, 0), axis=0)


@triton.jit
def _swap_rows(tile, k, p, rows):
    """``tile`` with rows k and p exchanged (no change when k == p)."""
    row_k = _row(tile, k, rows)
    row_p = _row(tile, p, rows)
    tile = tl.where(rows[:, None] == k, row_p[None, :], tile)
    return tl.where((rows[:, None] == p) & (p != k), row_k[None, :], tile)


@triton.jit
def _pivot(a, k, n, rows, cols, BLOCK_N: tl.constexpr):
    """Partial pivoting at step k: the pivot row p (first largest |a[i, k]| for k <= i < n) and
    column k of ``a`` with rows k and p exchanged."""
    column = tl.sum(tl.where(cols[None, :] == k, a, 0), axis=1)
    magnitude = tl.where((rows >= k) & (rows < n), tl.abs(column), -1.0)
    largest = tl.max(magnitude, axis=0)
    p = tl.min(tl.where(magnitude == largest, rows, BLOCK_N), axis=0)
    p = tl.where(p < n, p, k)  # NaN column: no row compares equal; keep row k
    column_k = _entry(column, k, rows)
    column_p = _entry(column, p, rows)
    column = tl.where(rows == k, column_p, tl.where(rows == p, column_k, column))
    return p, column


@triton.jit
def solve_kernel(a_ptr, b_ptr, x_ptr, info_ptr, n, n_rhs,
                 stride_ab, stride_ar, stride_ac, stride_bb, stride_br, stride_bc,
                 BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, IDENTITY_B: tl.constexpr,
                 ACC: tl.constexpr):
    """X (contiguous (batch, n, n_rhs)) with A X = B for one matrix of the batch and BLOCK_K
    columns of B; the first column chunk writes the matrix's ``info`` (int32)."""
    matrix = tl.program_id(0).to(tl.int64)
    chunk = tl.program_id(1)
    rows = tl.arange(0, BLOCK_N)
    cols = tl.arange(0, BLOCK_N)
    rhs = chunk * BLOCK_K + tl.arange(0, BLOCK_K)
    a = _load_matrix(a_ptr, matrix, n, n, stride_ab, stride_ar, stride_ac, rows, cols, ACC)
    in_b = (rows[:, None] < n) & (rhs[None, :] < n_rhs)
    if IDENTITY_B:
        b = tl.where(in_b & (rows[:, None] == rhs[None, :]), 1, 0).to(ACC)
    else:
        b = tl.load(b_ptr + matrix * stride_bb + rows[:, None] * stride_br
                    + rhs[None, :] * stride_bc, mask=in_b, other=0).to(ACC)
    info = tl.full((), 0, tl.int32)
    for k in range(0, n):
        p, column = _pivot(a, k, n, rows, cols, BLOCK_N)
        a = _swap_rows(a, k, p, rows)
        b = _swap_rows(b, k, p, rows)
        pivot = _entry(column, k, rows)
        info = tl.where((info == 0) & (pivot == 0), k + 1, info)
        # row k divided by the pivot; column k cleared from every other row
        row_a = _row(a, k, rows) / pivot
        row_b = _row(b, k, rows) / pivot
        factor = tl.where(rows == k, 0, column)
        a = tl.where(rows[:, None] == k, row_a[None, :], a - factor[:, None] * row_a[None, :])
        b = tl.where(rows[:, None] == k, row_b[None, :], b - factor[:, None] * row_b[None, :])
    out = x_ptr + matrix * n * n_rhs + rows[:, None] * n_rhs + rhs[None, :]
    tl.store(out, b.to(x_ptr.dtype.element_ty), mask=in_b)
    if chunk == 0:
        tl.store(info_ptr + matrix, info)


@triton.jit
def _lu_step(a, k, m, rows, cols, BLOCK_M: tl.constexpr):
    """Step k of LU with partial pivoting of a (m valid rows): rows k and p (the pivot row)
    exchanged, the multipliers column / pivot stored below the diagonal of column k and their
    multiples of row k taken from the rows below k (columns past k). A zero pivot has a zero
    column below it: multipliers 0 (LAPACK's getf2). Returns (a, p, pivot)."""
    p, column = _pivot(a, k, m, rows, cols, BLOCK_M)
    a = _swap_rows(a, k, p, rows)
    pivot = _entry(column, k, rows)
    factor = tl.where(rows > k, column / tl.where(pivot == 0, 1, pivot), 0)
    trailing = (rows[:, None] > k) & (cols[None, :] > k)
    a = tl.where(trailing, a - factor[:, None] * _row(a, k, rows)[None, :], a)
    a = tl.where((cols[None, :] == k) & (rows[:, None] > k), factor[:, None], a)
    return a, p, pivot


@triton.jit
def lu_kernel(a_ptr, lu_ptr, pivots_ptr, info_ptr, perm_ptr, m, n, stride_ab, stride_ar,
              stride_ac, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, ACC: tl.constexpr):
    """LU with partial pivoting of one m x n matrix of the batch (P^T A = L U): the packed LU
    (contiguous (batch, m, n): L's multipliers below the diagonal, U on and above), LAPACK's
    1-based pivots (batch, min(m, n)), info (first zero pivot k + 1, else 0) and perm (batch, m):
    the row of A at each row of LU."""
    matrix = tl.program_id(0).to(tl.int64)
    rows = tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_N)
    in_a = (rows[:, None] < m) & (cols[None, :] < n)
    a = _load_matrix(a_ptr, matrix, m, n, stride_ab, stride_ar, stride_ac, rows, cols, ACC)
    steps = tl.minimum(m, n)
    pivots = tl.zeros((BLOCK_N,), tl.int32)
    perm = rows
    info = tl.full((), 0, tl.int32)
    for k in range(0, steps):
        a, p, pivot = _lu_step(a, k, m, rows, cols, BLOCK_M)
        info = tl.where((info == 0) & (pivot == 0), k + 1, info)
        pivots = tl.where(cols == k, p + 1, pivots)
        perm_k = _entry(perm, k, rows)
        perm_p = _entry(perm, p, rows)
        perm = tl.where(rows == k, perm_p, tl.where(rows == p, perm_k, perm))
    tl.store(lu_ptr + matrix * m * n + rows[:, None] * n + cols[None, :],
             a.to(lu_ptr.dtype.element_ty), mask=in_a)
    tl.store(pivots_ptr + matrix * steps + cols, pivots, mask=cols < steps)
    tl.store(info_ptr + matrix, info)
    tl.store(perm_ptr + matrix * m + rows, perm.to(tl.int64), mask=rows < m)


@triton.jit
def _swap_symmetric(w, kk, kp, k, rows, cols):
    """w (symmetric) with rows and columns kk and kp exchanged in its trailing part (indices
    >= k; kk == kp: no change)."""
    row_kk = _row(w, kk, rows)
    row_kp = _row(w, kp, rows)
    trailing_cols = cols[None, :] >= k
    w = tl.where((rows[:, None] == kk) & trailing_cols, row_kp[None, :], w)
    w = tl.where((rows[:, None] == kp) & (kp != kk) & trailing_cols, row_kk[None, :], w)
    col_kk = tl.sum(tl.where(cols[None, :] == kk, w, 0), axis=1)
    col_kp = tl.sum(tl.where(cols[None, :] == kp, w, 0), axis=1)
    trailing_rows = rows[:, None] >= k
    w = tl.where((cols[None, :] == kk) & trailing_rows, col_kp[:, None], w)
    return tl.where((cols[None, :] == kp) & (kp != kk) & trailing_rows, col_kk[:, None], w)


@triton.jit
def ldl_kernel(a_ptr, ld_ptr, pivots_ptr, info_ptr, n, stride_ab, stride_ar, stride_ac,
               BLOCK_N: tl.constexpr, ACC: tl.constexpr):
    """LDL^T with Bunch-Kaufman pivoting (LAPACK's sytf2, lower) of one symmetric matrix of the
    batch, read from its lower triangle: LD (contiguous (batch, n, n): L's multipliers below
    D's 1 x 1 and 2 x 2 blocks, zeros above), LAPACK's pivots (1-based; a 2 x 2 block's two
    entries -(kp + 1)) and info (k + 1 for the first zero column, else 0).

    Step k: with colmax the largest |w[i, k]| below the diagonal (row imax) and rowmax the
    largest off-diagonal |w[imax, j]|, a 1 x 1 pivot at k when |w[k, k]| >= alpha colmax or
    >= alpha colmax^2 / rowmax, a 1 x 1 pivot at imax when |w[imax, imax]| >= alpha rowmax,
    else a 2 x 2 pivot (k, imax) (alpha = (1 + sqrt(17)) / 8); the pivot row and column are
    exchanged into place in the trailing part (earlier columns of L are not permuted)."""
    matrix = tl.program_id(0).to(tl.int64)
    rows = tl.arange(0, BLOCK_N)
    cols = tl.arange(0, BLOCK_N)
    inside = (rows[:, None] < n) & (cols[None, :] < n)
    w = _load_symmetric(a_ptr, matrix, n, stride_ab, stride_ar, stride_ac, rows, cols, ACC)
    ld = tl.zeros((BLOCK_N, BLOCK_N), ACC)
    pivots = tl.zeros((BLOCK_N,), tl.int32)
    info = tl.full((), 0, tl.int32)
    alpha = 0.6403882032022076  # (1 + sqrt(17)) / 8
    k = tl.full((), 0, tl.int32)
    while k < n:
        column = tl.sum(tl.where(cols[None, :] == k, w, 0), axis=1)
        absakk = tl.abs(_entry(column, k, rows))
        lower = tl.where((rows > k) & (rows < n), tl.abs(column), -1)
        colmax = tl.maximum(tl.max(lower, axis=0), 0)
        imax = tl.min(tl.where((lower == colmax) & (rows > k), rows, BLOCK_N), axis=0)
        imax = tl.where(imax < n, imax, k)
        row_i = _row(w, imax, rows)
        rowmax = tl.max(tl.where((cols >= k) & (cols < n) & (cols != imax), tl.abs(row_i), 0),
                        axis=0)
        zero = ~(tl.maximum(absakk, colmax) > 0)  # a zero (or NaN) column
        keep_k = zero | (absakk >= alpha * colmax) | \
            (absakk * tl.where(rowmax > 0, rowmax, 1) >= alpha * colmax * colmax)
        two = (~keep_k) & (tl.abs(_entry(row_i, imax, cols)) < alpha * rowmax)
        kp = tl.where(keep_k, k, imax)
        kk = tl.where(two, k + 1, k)
        w = _swap_symmetric(w, kk, kp, k, rows, cols)
        info = tl.where((info == 0) & zero, k + 1, info)
        pivots = tl.where(cols == k, tl.where(two, -(kp + 1), kp + 1), pivots)
        # (a scalar flag from a float comparison joins a vector through tl.where: the
        # interpreter's & refuses that pair)
        pivots = tl.where(tl.where(two, cols == k + 1, False), -(kp + 1), pivots)
        c0 = tl.sum(tl.where(cols[None, :] == k, w, 0), axis=1)
        c1 = tl.sum(tl.where(cols[None, :] == k + 1, w, 0), axis=1)
        d11 = _entry(c0, k, rows)
        d21 = _entry(c0, k + 1, rows)
        d22 = _entry(c1, k + 1, rows)
        # multipliers below the block: 1 x 1 column / d11; 2 x 2 [c0 c1] D^-1 (m1 = 0 for 1 x 1)
        det = d11 * d22 - d21 * d21
        det = tl.where(det == 0, 1, det)
        m0 = tl.where(two, (c0 * d22 - c1 * d21) / det, c0 / tl.where(d11 == 0, 1, d11))
        m1 = tl.where(two, (c1 * d11 - c0 * d21) / det, 0)
        end = tl.where(two, k + 1, k)  # the block's last index
        m0 = tl.where(rows > end, m0, 0)
        m1 = tl.where(rows > end, m1, 0)
        update = tl.where(zero, False, (rows[:, None] > end) & (cols[None, :] > end))
        w = tl.where(update, w - m0[:, None] * c0[None, :] - m1[:, None] * c1[None, :], w)
        first = tl.where(tl.where(two, rows == k + 1, False), d21, m0)
        first = tl.where(rows == k, d11, first)
        ld = tl.where(cols[None, :] == k, first[:, None], ld)
        second = tl.where(rows == k + 1, d22, m1)
        ld = tl.where(tl.where(two, cols[None, :] == k + 1, False), second[:, None], ld)
        k += tl.where(two, 2, 1)
    tl.store(ld_ptr + matrix * n * n + rows[:, None] * n + cols[None, :],
             ld.to(ld_ptr.dtype.element_ty), mask=inside)
    tl.store(pivots_ptr + matrix * n + cols, pivots, mask=cols < n)
    tl.store(info_ptr + matrix, info)


@triton.jit
def det_kernel(a_ptr, out_ptr, logabs_ptr, n, stride_ab, stride_ar, stride_ac,
               BLOCK_N: tl.constexpr, LOG: tl.constexpr, ACC: tl.constexpr):
    """det(A) of one matrix of the batch into ``out_ptr``; with LOG, its sign into ``out_ptr``
    and log |det(A)| into ``logabs_ptr``."""
    matrix = tl.program_id(0).to(tl.int64)
    rows = tl.arange(0, BLOCK_N)
    cols = tl.arange(0, BLOCK_N)
    a = _load_matrix(a_ptr, matrix, n, n, stride_ab, stride_ar, stride_ac, rows, cols, ACC)
    det = tl.full((), 1, ACC)  # product of the pivots and the permutation's sign
    sign = tl.full((), 1, ACC)
    logabs = tl.full((), 0, ACC)
    for k in range(0, n):
        a, p, pivot = _lu_step(a, k, n, rows, cols, BLOCK_N)
        flip = tl.where(p != k, -1, 1).to(ACC)
        det = det * pivot * flip
        sign = sign * flip * tl.where(pivot > 0, 1, tl.where(pivot < 0, -1, 0)).to(ACC)
        logabs = logabs + tl.log(tl.abs(pivot))
    sign = tl.where(sign == 0, 0, sign)  # +0, not -0, for a singular matrix (as PyTorch)
    det = tl.where(det == 0, 0, det)
    if LOG:
        tl.store(out_ptr + matrix, sign.to(out_ptr.dtype.element_ty))
        tl.store(logabs_ptr + matrix, logabs.to(logabs_ptr.dtype.element_ty))
    else:
        tl.store(out_ptr + matrix, det.to(out_ptr.dtype.element_ty))


@triton.jit
def cholesky_kernel(a_ptr, l_ptr, info_ptr, n, stride_ab, stride_ar, stride_ac,
                    BLOCK_N: tl.constexpr, ACC: tl.constexpr):
    """Lower-triangular L (contiguous (batch, n, n)) with A = L L^T for one matrix of the batch,
    from A's lower triangle (right-looking: column k of L is the trailing matrix's column k over
    the square root of its diagonal entry, whose outer product then leaves the trailing matrix).
    ``info`` is k + 1 for the first diagonal entry k that is not positive (NaN after it)."""
    matrix = tl.program_id(0).to(tl.int64)
    rows = tl.arange(0, BLOCK_N)
    cols = tl.arange(0, BLOCK_N)
    lower = (rows[:, None] < n) & (cols[None, :] <= rows[:, None])
    a = tl.load(a_ptr + matrix * stride_ab + rows[:, None] * stride_ar + cols[None, :] * stride_ac,
                mask=lower, other=0).to(ACC)
    result = tl.zeros((BLOCK_N, BLOCK_N), ACC)
    info = tl.full((), 0, tl.int32)
    for k in range(0, n):
        column = tl.sum(tl.where(cols[None, :] == k, a, 0), axis=1)
        diagonal = _entry(column, k, rows)
        info = tl.where((info == 0) & ~(diagonal > 0), k + 1, info)
        root = tl.sqrt(diagonal)
        column = tl.where(rows > k, column / root, tl.where(rows == k, root, 0))
        result = tl.where(cols[None, :] == k, column[:, None], result)
        trailing = (rows[:, None] > k) & (cols[None, :] > k)  # (only its lower part is read)
        a = tl.where(trailing, a - column[:, None] * column[None, :], a)
    out = l_ptr + matrix * n * n + rows[:, None] * n + cols[None, :]
    tl.store(out, result.to(l_ptr.dtype.element_ty), mask=(rows[:, None] < n) & (cols[None, :] < n))
    tl.store(info_ptr + matrix, info)


@triton.jit
def _jacobi_angle(x_pp, x_qq, x_pq, ACC: tl.constexpr):
    """(cos, sin) of the rotation that diagonalizes the symmetric 2 x 2 [[x_pp, x_pq], [x_pq,
    x_qq]]: tan = t, the smaller root of t^2 + 2 theta t - 1 (Rutishauser's stable form)."""
    theta = (x_qq - x_pp) / (2 * tl.where(x_pq == 0, 1, x_pq))
    sign = tl.where(theta >= 0, 1, -1).to(ACC)
    t = sign / (tl.abs(theta) + tl.sqrt(theta * theta + 1))
    t = tl.where(x_pq == 0, 0, t)
    c = 1 / tl.sqrt(t * t + 1)
    return c, t * c


@triton.jit
def _rotate(tile, p, q, c, s, lanes, AXIS: tl.constexpr):
    """``tile`` with its columns (AXIS 1) or rows (AXIS 0) p and q replaced by
    ``c x_p - s x_q`` and ``s x_p + c x_q`` (a Jacobi rotation from the right / its transpose
    from the left)."""
    if AXIS == 1:
        x_p = tl.sum(tl.where(lanes[None, :] == p, tile, 0), axis=1)[:, None]
        x_q = tl.sum(tl.where(lanes[None, :] == q, tile, 0), axis=1)[:, None]
        at_p = lanes[None, :] == p
        at_q = lanes[None, :] == q
    else:
        x_p = tl.sum(tl.where(lanes[:, None] == p, tile, 0), axis=0)[None, :]
        x_q = tl.sum(tl.where(lanes[:, None] == q, tile, 0), axis=0)[None, :]
        at_p = lanes[:, None] == p
        at_q = lanes[:, None] == q
    tile = tl.where(at_p, c * x_p - s * x_q, tile)
    return tl.where(at_q, s * x_p + c * x_q, tile)


@triton.jit
def eigh_kernel(a_ptr, values_ptr, vectors_ptr, n, stride_ab, stride_ar, stride_ac,
                BLOCK_N: tl.constexpr, TOL: tl.constexpr, MAX_SWEEPS: tl.constexpr,
                ACC: tl.constexpr):
    """Eigenvalues (ascending, contiguous (batch, n)) and eigenvectors (columns of contiguous
    (batch, n, n)) of one symmetric matrix of the batch, read from its lower triangle.

    Cyclic Jacobi: each rotation (p, q) zeroes a[p, q] (a <- J^T a J, v <- v J, with
    Rutishauser's stable t = tan(angle)); sweeps over every pair until the off-diagonal
    squares sum to at most TOL times the squared Frobenius norm, or MAX_SWEEPS. The
    eigenvalues are then a's diagonal, written in ascending order (ties by index) with their
    vectors."""
    matrix = tl.program_id(0).to(tl.int64)
    rows = tl.arange(0, BLOCK_N)
    cols = tl.arange(0, BLOCK_N)
    inside = (rows[:, None] < n) & (cols[None, :] < n)
    a = _load_symmetric(a_ptr, matrix, n, stride_ab, stride_ar, stride_ac, rows, cols, ACC)
    diagonal = rows[:, None] == cols[None, :]
    v = tl.where(diagonal & inside, 1, 0).to(ACC)
    bound = TOL * tl.sum(tl.sum(a * a, axis=1), axis=0)
    off = tl.sum(tl.sum(tl.where(diagonal, 0, a * a), axis=1), axis=0)
    sweep = tl.full((), 0, tl.int32)
    while (sweep < MAX_SWEEPS) & (off > bound):
        for p in range(0, n - 1):
            for q in range(p + 1, n):
                row_p = tl.sum(tl.where(rows[:, None] == p, a, 0), axis=0)
                a_pp = _entry(row_p, p, cols)
                a_pq = _entry(row_p, q, cols)
                a_qq = tl.sum(tl.sum(tl.where((rows[:, None] == q) & (cols[None, :] == q), a, 0),
                                     axis=1), axis=0)
                c, s = _jacobi_angle(a_pp, a_qq, a_pq, ACC)
                a = _rotate(_rotate(a, p, q, c, s, cols, 1), p, q, c, s, rows, 0)
                pair = ((rows[:, None] == p) & (cols[None, :] == q)) | \
                    ((rows[:, None] == q) & (cols[None, :] == p))
                a = tl.where(pair, 0, a)  # zero by construction; drop the rounding
                v = _rotate(v, p, q, c, s, cols, 1)
        off = tl.sum(tl.sum(tl.where(diagonal, 0, a * a), axis=1), axis=0)
        sweep += 1
    values = tl.sum(tl.where(diagonal, a, 0), axis=1)  # indexed by rows
    values_c = tl.sum(tl.where(diagonal, a, 0), axis=0)  # the same, indexed by cols
    # rank of eigenvalue j: how many come before it (smaller, or equal with a smaller index)
    before = (values[:, None] < values_c[None, :]) | \
        ((values[:, None] == values_c[None, :]) & (rows[:, None] < cols[None, :]))
    rank = tl.sum(tl.where(before & (rows[:, None] < n), 1, 0), axis=0)  # indexed by cols
    tl.store(values_ptr + matrix * n + rank, values_c.to(values_ptr.dtype.element_ty),
             mask=cols < n)
    out = vectors_ptr + matrix * n * n + rows[:, None] * n + rank[None, :]
    tl.store(out, v.to(vectors_ptr.dtype.element_ty), mask=inside)


@triton.jit
def svd_kernel(a_ptr, u_ptr, s_ptr, v_ptr, m, n, stride_ab, stride_ar, stride_ac,
               BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, TOL: tl.constexpr,
               MAX_SWEEPS: tl.constexpr, ACC: tl.constexpr):
    """Reduced SVD A = U diag(S) V^T of one m x n (m >= n) matrix of the batch: U (m, n), S (n,)
    descending and V (n, n), contiguous.

    One-sided Jacobi (Hestenes): each rotation of columns p, q of A (and of V, from the
    identity) makes them orthogonal; sweeps over every pair until no pair's cosine exceeds
    sqrt(TOL), or MAX_SWEEPS. Then S_j = |a_j|, U_j = a_j / S_j (0 where S_j is 0), written in
    descending order of S (ties by index)."""
    matrix = tl.program_id(0).to(tl.int64)
    rows = tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_N)
    rows_n = tl.arange(0, BLOCK_N)
    in_a = (rows[:, None] < m) & (cols[None, :] < n)
    a = _load_matrix(a_ptr, matrix, m, n, stride_ab, stride_ar, stride_ac, rows, cols, ACC)
    in_v = (rows_n[:, None] < n) & (cols[None, :] < n)
    v = tl.where(in_v & (rows_n[:, None] == cols[None, :]), 1, 0).to(ACC)
    sweep = tl.full((), 0, tl.int32)
    worst = tl.full((), 1, ACC)  # the largest squared cosine of a pair in the last sweep
    while (sweep < MAX_SWEEPS) & (worst > TOL):
        worst = tl.full((), 0, ACC)
        for p in range(0, n - 1):
            for q in range(p + 1, n):
                a_p = tl.sum(tl.where(cols[None, :] == p, a, 0), axis=1)
                a_q = tl.sum(tl.where(cols[None, :] == q, a, 0), axis=1)
                alpha = tl.sum(a_p * a_p, axis=0)
                beta = tl.sum(a_q * a_q, axis=0)
                gamma = tl.sum(a_p * a_q, axis=0)
                scale = alpha * beta
                cosine2 = tl.where(scale > 0, gamma * gamma / tl.where(scale > 0, scale, 1), 0)
                worst = tl.maximum(worst, cosine2)
                c, s = _jacobi_angle(alpha, beta, gamma, ACC)
                a = _rotate(a, p, q, c, s, cols, 1)
                v = _rotate(v, p, q, c, s, cols, 1)
        sweep += 1
    norms = tl.sqrt(tl.sum(a * a, axis=0))  # indexed by cols
    # the same, indexed by rows_n (one value plus zeros: exactly equal)
    norms_r = tl.sum(tl.where(rows_n[:, None] == cols[None, :], norms[None, :], 0), axis=1)
    u = a / tl.where(norms > 0, norms, 1)[None, :]
    # rank of singular value j: how many come before it (larger, or equal with a smaller index)
    before = (norms_r[:, None] > norms[None, :]) | \
        ((norms_r[:, None] == norms[None, :]) & (rows_n[:, None] < cols[None, :]))
    rank = tl.sum(tl.where(before & (rows_n[:, None] < n), 1, 0), axis=0)  # indexed by cols
    tl.store(s_ptr + matrix * n + rank, norms.to(s_ptr.dtype.element_ty), mask=cols < n)
    tl.store(u_ptr + matrix * m * n + rows[:, None] * n + rank[None, :],
             u.to(u_ptr.dtype.element_ty), mask=in_a)
    tl.store(v_ptr + matrix * n * n + rows_n[:, None] * n + rank[None, :],
             v.to(v_ptr.dtype.element_ty), mask=in_v)


@triton.jit
def qr_kernel(a_ptr, q_ptr, r_ptr, m, n, q_cols, r_rows, stride_ab, stride_ar, stride_ac,
              BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, ACC: tl.constexpr):
    """Householder QR of one m x n matrix of the batch: Q's first ``q_cols`` columns into
    contiguous (batch, m, q_cols), R's first ``r_rows`` rows into contiguous (batch, r_rows, n).

    Reflection k (LAPACK's dlarfg): with x = a[k:, k] and alpha = x[0], beta = -sign(alpha) |x|,
    H = I - tau v v^T with v = x / (alpha - beta) (v[0] = 1) and tau = (beta - alpha) / beta
    maps x to beta e_1; no reflection (tau = 0) when x[1:] is zero. a <- H a, q <- q H."""
    matrix = tl.program_id(0).to(tl.int64)
    rows = tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_N)
    rows_c = tl.arange(0, BLOCK_M)  # q's column index
    a = _load_matrix(a_ptr, matrix, m, n, stride_ab, stride_ar, stride_ac, rows, cols, ACC)
    same = rows[:, None] == rows_c[None, :]
    q = tl.where(same & (rows[:, None] < m), 1, 0).to(ACC)
    for k in range(0, tl.minimum(m, n)):
        x = tl.sum(tl.where(cols[None, :] == k, a, 0), axis=1)
        x = tl.where((rows >= k) & (rows < m), x, 0)
        alpha = _entry(x, k, rows)
        tail = tl.sum(tl.where(rows > k, x * x, 0), axis=0)
        beta = -tl.where(alpha >= 0, 1, -1).to(ACC) * tl.sqrt(alpha * alpha + tail)
        reflect = tail > 0
        tau = tl.where(reflect, (beta - alpha) / tl.where(reflect, beta, 1), 0)
        v = tl.where(rows == k, 1, x / tl.where(reflect, alpha - beta, 1))
        v = tl.where(rows >= k, v, 0)
        a = a - tau * v[:, None] * tl.sum(v[:, None] * a, axis=0)[None, :]
        v_c = tl.sum(tl.where(same, v[:, None], 0), axis=0)  # v indexed by q's columns
        q = q - tau * tl.sum(q * v_c[None, :], axis=1)[:, None] * v_c[None, :]
    r = tl.where(cols[None, :] >= rows[:, None], a, 0)
    tl.store(r_ptr + matrix * r_rows * n + rows[:, None] * n + cols[None, :],
             r.to(r_ptr.dtype.element_ty), mask=(rows[:, None] < r_rows) & (cols[None, :] < n))
    tl.store(q_ptr + matrix * m * q_cols + rows[:, None] * q_cols + rows_c[None, :],
             q.to(q_ptr.dtype.element_ty), mask=(rows[:, None] < m) & (rows_c[None, :] < q_cols))


_SOLVE_64 = {"a_ptr": "*fp32", "b_ptr": "*fp32", "x_ptr": "*fp32", "info_ptr": "*i32"}
COMPILE_SPECS = [
    {"kernel": "solve_kernel", "label": "fp32-n16", "no_spills": True, "signature": _SOLVE_64,
     "constexprs": {"BLOCK_N": 16, "BLOCK_K": 16, "IDENTITY_B": False, "ACC": "tl.float32"},
     "num_warps": num_warps(16)},
    {"kernel": "solve_kernel", "label": "fp32-inverse-n64", "no_spills": True,
     "signature": _SOLVE_64,
     "constexprs": {"BLOCK_N": 64, "BLOCK_K": MAX_BLOCK_K, "IDENTITY_B": True,
                    "ACC": "tl.float32"}, "num_warps": num_warps(64)},
    {"kernel": "solve_kernel", "label": "fp64-n64", "no_spills": True,
     "signature": {"a_ptr": "*fp64", "b_ptr": "*fp64", "x_ptr": "*fp64", "info_ptr": "*i32"},
     "constexprs": {"BLOCK_N": 64, "BLOCK_K": MAX_BLOCK_K, "IDENTITY_B": False,
                    "ACC": "tl.float64"}, "num_warps": num_warps(64)},
    {"kernel": "det_kernel", "label": "fp32-det-n16", "no_spills": True,
     "signature": {"a_ptr": "*fp32", "out_ptr": "*fp32", "logabs_ptr": "*fp32"},
     "constexprs": {"BLOCK_N": 16, "LOG": False, "ACC": "tl.float32"},
     "num_warps": num_warps(16)},
    {"kernel": "det_kernel", "label": "fp64-slogdet-n64", "no_spills": True,
     "signature": {"a_ptr": "*fp64", "out_ptr": "*fp64", "logabs_ptr": "*fp64"},
     "constexprs": {"BLOCK_N": 64, "LOG": True, "ACC": "tl.float64"},
     "num_warps": num_warps(64)},
    {"kernel": "cholesky_kernel", "label": "fp32-n16", "no_spills": True,
     "signature": {"a_ptr": "*fp32", "l_ptr": "*fp32", "info_ptr": "*i32"},
     "constexprs": {"BLOCK_N": 16, "ACC": "tl.float32"}, "num_warps": num_warps(16)},
    {"kernel": "cholesky_kernel", "label": "fp64-n64", "no_spills": True,
     "signature": {"a_ptr": "*fp64", "l_ptr": "*fp64", "info_ptr": "*i32"},
     "constexprs": {"BLOCK_N": 64, "ACC": "tl.float64"}, "num_warps": num_warps(64)},
    {"kernel": "eigh_kernel", "label": "fp32-n16", "no_spills": True,
     "signature": {"a_ptr": "*fp32", "values_ptr": "*fp32", "vectors_ptr": "*fp32"},
     "constexprs": {"BLOCK_N": 16, "TOL": JACOBI_TOL["float32"], "MAX_SWEEPS": MAX_SWEEPS,
                    "ACC": "tl.float32"},
     "num_warps": num_warps(16)},
    {"kernel": "eigh_kernel", "label": "fp64-n64", "no_spills": True,
     "signature": {"a_ptr": "*fp64", "values_ptr": "*fp64", "vectors_ptr": "*fp64"},
     "constexprs": {"BLOCK_N": 64, "TOL": JACOBI_TOL["float64"], "MAX_SWEEPS": MAX_SWEEPS,
                    "ACC": "tl.float64"},
     "num_warps": num_warps(64)},
    {"kernel": "svd_kernel", "label": "fp32-16x8", "no_spills": True,
     "signature": {"a_ptr": "*fp32", "u_ptr": "*fp32", "s_ptr": "*fp32", "v_ptr": "*fp32"},
     "constexprs": {"BLOCK_M": 16, "BLOCK_N": 8, "TOL": JACOBI_TOL["float32"],
                    "MAX_SWEEPS": MAX_SWEEPS, "ACC": "tl.float32"}, "num_warps": num_warps(16)},
    {"kernel": "svd_kernel", "label": "fp64-64x64", "no_spills": True,
     "signature": {"a_ptr": "*fp64", "u_ptr": "*fp64", "s_ptr": "*fp64", "v_ptr": "*fp64"},
     "constexprs": {"BLOCK_M": 64, "BLOCK_N": 64, "TOL": JACOBI_TOL["float64"],
                    "MAX_SWEEPS": MAX_SWEEPS, "ACC": "tl.float64"}, "num_warps": num_warps(64)},
    {"kernel": "qr_kernel", "label": "fp32-16x8", "no_spills": True,
     "signature": {"a_ptr": "*fp32", "q_ptr": "*fp32", "r_ptr": "*fp32"},
     "constexprs": {"BLOCK_M": 16, "BLOCK_N": 8, "ACC": "tl.float32"},
     "num_warps": num_warps(16)},
    {"kernel": "qr_kernel", "label": "fp64-64x64", "no_spills": True,
     "signature": {"a_ptr": "*fp64", "q_ptr": "*fp64", "r_ptr": "*fp64"},
     "constexprs": {"BLOCK_M": 64, "BLOCK_N": 64, "ACC": "tl.float64"},
     "num_warps": num_warps(64)},
    {"kernel": "lu_kernel", "label": "fp32-16x8", "no_spills": True,
     "signature": {"a_ptr": "*fp32", "lu_ptr": "*fp32", "pivots_ptr": "*i32", "info_ptr": "*i32",
                   "perm_ptr": "*i64"},
     "constexprs": {"BLOCK_M": 16, "BLOCK_N": 8, "ACC": "tl.float32"},
     "num_warps": num_warps(16)},
    {"kernel": "lu_kernel", "label": "fp64-64x64", "no_spills": True,
     "signature": {"a_ptr": "*fp64", "lu_ptr": "*fp64", "pivots_ptr": "*i32", "info_ptr": "*i32",
                   "perm_ptr": "*i64"},
     "constexprs": {"BLOCK_M": 64, "BLOCK_N": 64, "ACC": "tl.float64"},
     "num_warps": num_warps(64)},
    {"kernel": "ldl_kernel", "label": "fp32-n16", "no_spills": True,
     "signature": {"a_ptr": "*fp32", "ld_ptr": "*fp32", "pivots_ptr": "*i32", "info_ptr": "*i32"},
     "constexprs": {"BLOCK_N": 16, "ACC": "tl.float32"}, "num_warps": num_warps(16)},
    # float64 at n = 64 spills about 100 registers on sm_90 (sm_80: none): the working matrix
    # and LD are two 64 x 64 float64 tiles; a rarely used op, so the spills are accepted
    {"kernel": "ldl_kernel", "label": "fp64-n64",
     "signature": {"a_ptr": "*fp64", "ld_ptr": "*fp64", "pivots_ptr": "*i32", "info_ptr": "*i32"},
     "constexprs": {"BLOCK_N": 64, "ACC": "tl.float64"}, "num_warps": num_warps(64)},
]
