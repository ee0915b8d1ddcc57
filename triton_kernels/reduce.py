"""Row reductions of an (M, N) matrix: sum, mean, prod, max, min, any, all, argmax/argmin, var, logsumexp.

The host (``framework._backends.triton.reduce``) moves the reduced dims last
and passes the operand as an (M, N) matrix with strides ``(stride_m,
stride_n)``, copying it to a contiguous buffer only when the kept or the
reduced dims cannot be walked with one stride each. Every kernel here
reduces BLOCK_M rows per program, looping over the row in BLOCK_N-wide
column chunks; each chunk is reduced across its columns (``tl.reduce``, a
tree) and folded into a per-row running accumulator of type ``ACC`` (fp32
for fp32 and the half types, fp64 for fp64, int64 for integers and bools).

Masks: rows past M and columns past the row end load the reduction's
identity, so partial tiles need no special case.
"""
import triton
import triton.language as tl

from .scalars import compute_scalar

# Tile shape heuristic: BLOCK_N = next power of 2 of N, at most MAX_BLOCK_N;
# BLOCK_M fills the tile up to TILE elements. 8 warps give each thread 16
# elements of a 4096-element tile: enough loads in flight, and (checked with
# cuobjdump for sm_80/sm_90) no register spills even for fp64/int64 tiles with
# many short rows, where 4 warps spill.
MAX_BLOCK_N = 1024
TILE = 4096
NUM_WARPS = 8
# A matrix with few rows and long ones is split along N into up to MAX_SPLITS
# programs per row (at least SPLIT_MIN_COLS columns each) that write partial
# results, reduced again by a second launch (associative reductions only).
SPLIT_MIN_COLS = 16384
MAX_SPLITS = 256
REDUCE_CONFIGS = [{"TILE": TILE, "MAX_BLOCK_N": MAX_BLOCK_N, "num_warps": NUM_WARPS}]


# Identities and combine functions ------------------------------------------------
@triton.jit
def _lowest(dtype: tl.constexpr):
    """The smallest value of ``dtype``: -inf for floats, the minimum int64 for integers."""
    if dtype.is_floating():
        return float("-inf")
    else:
        return -9223372036854775807 - 1


@triton.jit
def _highest(dtype: tl.constexpr):
    """The largest value of ``dtype``: +inf for floats, the maximum int64 for integers."""
    if dtype.is_floating():
        return float("inf")
    else:
        return 9223372036854775807


@triton.jit
def _add(a, b):
    return a + b


@triton.jit
def _mul(a, b):
    return a * b


@triton.jit
def _max_nan(a, b):
    """Maximum that propagates NaN (``a != a`` is only true for NaN)."""
    return tl.where((a > b) | (a != a), a, b)


@triton.jit
def _min_nan(a, b):
    """Minimum that propagates NaN."""
    return tl.where((a < b) | (a != a), a, b)


@triton.jit
def _identity(OP: tl.constexpr, ACC: tl.constexpr):
    """The value a masked element contributes to reduction ``OP``."""
    if OP == "max":
        return _lowest(ACC)
    elif OP == "min":
        return _highest(ACC)
    elif OP == "prod" or OP == "all":
        return 1
    else:
        return 0


@triton.jit
def _combine(a, b, OP: tl.constexpr):
    """Fold ``b`` into ``a`` (elementwise) for reduction ``OP``."""
    if OP == "max" or OP == "any":
        return _max_nan(a, b)
    elif OP == "min" or OP == "all":
        return _min_nan(a, b)
    elif OP == "prod":
        return a * b
    else:
        return a + b


@triton.jit
def _reduce_cols(x, OP: tl.constexpr):
    """Reduce a (BLOCK_M, BLOCK_N) tile across its columns for reduction ``OP``."""
    if OP == "max" or OP == "any":
        return tl.reduce(x, 1, _max_nan)
    elif OP == "min" or OP == "all":
        return tl.reduce(x, 1, _min_nan)
    elif OP == "prod":
        return tl.reduce(x, 1, _mul)
    else:
        return tl.reduce(x, 1, _add)


@triton.jit
def _load_tile(x_ptr, rows, cols, row_mask, col_end, stride_m, stride_n, fill, ACC: tl.constexpr):
    """Load the (rows, cols) tile as ``ACC``; masked positions (outside the rows or past
    ``col_end``) hold ``fill``. Returns the tile and its mask."""
    mask = row_mask[:, None] & (cols < col_end)[None, :]
    # int64 offsets: cols * stride_n alone can pass 2**31 on large strided views
    offsets = rows[:, None] * stride_m + cols.to(tl.int64)[None, :] * stride_n
    x = tl.load(x_ptr + offsets, mask=mask, other=0).to(ACC)
    return tl.where(mask, x, fill), mask


# Kernels ----------------------------------------------------------------------------
# Not specialized: the row count and the mean's divisor (neither enters an address along the
# reduced, vectorized axis).
_REDUCE_UNSPECIALIZED = ("M", "count")


@triton.jit(do_not_specialize=_REDUCE_UNSPECIALIZED)
def reduce_kernel(x_ptr, out_ptr, M, N, stride_m, stride_n, cols_per_split, count,
                  OP: tl.constexpr, ACC: tl.constexpr,
                  BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program (i, j) reduces rows [i*BLOCK_M, (i+1)*BLOCK_M) over the columns
    [j*cols_per_split, (j+1)*cols_per_split) and writes ``out[row * num_splits + j]``.

    ``OP`` is one of "sum", "mean", "prod", "max", "min", "any", "all"; for
    "any"/"all" elements count as ``x != 0``; "mean" divides the sum by
    ``count`` (the full row length, also when this launch reduces partials).
    With one split (grid dim 1 of size 1) a program reduces whole rows.
    """
    split = tl.program_id(1)
    num_splits = tl.num_programs(1)
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_mask = rows < M
    col_begin = split.to(tl.int64) * cols_per_split
    col_end = tl.minimum(col_begin + cols_per_split, N)
    fill = _identity(OP, ACC)
    acc = tl.full((BLOCK_M,), fill, ACC)
    for start in range(col_begin, col_end, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        x, mask = _load_tile(x_ptr, rows, cols, row_mask, col_end, stride_m, stride_n, fill, ACC)
        if OP == "any" or OP == "all":
            x = (x != 0).to(ACC)
        acc = _combine(acc, _reduce_cols(x, OP), OP)
    if OP == "mean":
        acc = acc / (tl.zeros((BLOCK_M,), ACC) + count)
    tl.store(out_ptr + rows * num_splits + split, acc.to(out_ptr.dtype.element_ty), mask=row_mask)


@triton.jit
def _argmax_combine(a, ia, b, ib):
    """(value, index) of the larger of two candidates; NaN is largest; ties keep the smaller index."""
    a_nan = a != a
    b_nan = b != b
    tie = (a == b) | (a_nan & b_nan)
    take_b = (b > a) | (b_nan & ~a_nan) | (tie & (ib < ia))
    return tl.where(take_b, b, a), tl.where(take_b, ib, ia)


@triton.jit
def _argmin_combine(a, ia, b, ib):
    """(value, index) of the smaller of two candidates; NaN is smallest; ties keep the smaller index."""
    a_nan = a != a
    b_nan = b != b
    tie = (a == b) | (a_nan & b_nan)
    take_b = (b < a) | (b_nan & ~a_nan) | (tie & (ib < ia))
    return tl.where(take_b, b, a), tl.where(take_b, ib, ia)


@triton.jit
def argreduce_kernel(x_ptr, out_ptr, M, N, stride_m, stride_n, cols_per_split, value_ptr, index_ptr,
                     IS_MAX: tl.constexpr, WRITE_VALUES: tl.constexpr, READ_INDICES: tl.constexpr,
                     ACC: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program (i, j) writes, for BLOCK_M rows, the int64 index of the first maximum
    (``IS_MAX``) or minimum over the columns [j*cols_per_split, (j+1)*cols_per_split),
    to ``out[row * num_splits + j]``. NaN wins over numbers, as in PyTorch.

    Split rows take two launches: the first also writes each chunk's winning value
    to ``value_ptr`` (``WRITE_VALUES``); the second reduces those values, reading
    each candidate's index from ``index_ptr`` (``READ_INDICES``, same layout as x)
    instead of using its column number. Masked positions hold the worst value and
    the largest index, so they never win, not even a tie.
    """
    split = tl.program_id(1)
    num_splits = tl.num_programs(1)
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_mask = rows < M
    col_begin = split.to(tl.int64) * cols_per_split
    col_end = tl.minimum(col_begin + cols_per_split, N)
    if IS_MAX:
        fill = _lowest(ACC)
    else:
        fill = _highest(ACC)
    no_index = _highest(tl.int64)
    best = tl.full((BLOCK_M,), fill, ACC)
    best_idx = tl.full((BLOCK_M,), no_index, tl.int64)
    for start in range(col_begin, col_end, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        x, mask = _load_tile(x_ptr, rows, cols, row_mask, col_end, stride_m, stride_n, fill, ACC)
        if READ_INDICES:
            offsets = rows[:, None] * stride_m + cols[None, :] * stride_n
            idx = tl.load(index_ptr + offsets, mask=mask, other=0)
        else:
            idx = cols[None, :].to(tl.int64) + tl.zeros((BLOCK_M, BLOCK_N), tl.int64)
        idx = tl.where(mask, idx, no_index)
        if IS_MAX:
            chunk, chunk_idx = tl.reduce((x, idx), 1, _argmax_combine)
            best, best_idx = _argmax_combine(best, best_idx, chunk, chunk_idx)
        else:
            chunk, chunk_idx = tl.reduce((x, idx), 1, _argmin_combine)
            best, best_idx = _argmin_combine(best, best_idx, chunk, chunk_idx)
    out = rows * num_splits + split
    tl.store(out_ptr + out, best_idx, mask=row_mask)
    if WRITE_VALUES:
        tl.store(value_ptr + out, best.to(value_ptr.dtype.element_ty), mask=row_mask)


@triton.jit
def var_kernel(x_ptr, out_ptr, M, N, stride_m, stride_n, cols_per_split, correction: tl.float64,
               mean_ptr,
               PARTIAL: tl.constexpr, ACC: tl.constexpr,
               BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program (i, j) takes BLOCK_M rows over the columns [j*cols_per_split,
    (j+1)*cols_per_split) in two passes: their mean, then the sum of squared
    deviations from it (stable for large means).

    Whole rows (one split): writes the variance, that sum / max(N - correction, 0)
    (inf or NaN when that is 0, as in PyTorch). With ``PARTIAL`` it writes the
    chunk's mean to ``mean_ptr`` and its sum of squares to ``out_ptr``, both at
    ``row * num_splits + j``, for ``var_combine_kernel``.
    """
    correction = compute_scalar(correction, ACC)
    split = tl.program_id(1)
    num_splits = tl.num_programs(1)
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_mask = rows < M
    col_begin = split.to(tl.int64) * cols_per_split
    col_end = tl.minimum(col_begin + cols_per_split, N)
    total = tl.zeros((BLOCK_M,), ACC)
    for start in range(col_begin, col_end, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        x, mask = _load_tile(x_ptr, rows, cols, row_mask, col_end, stride_m, stride_n, 0, ACC)
        total += tl.sum(x, axis=1)
    n = tl.zeros((BLOCK_M,), ACC) + (col_end - col_begin)
    mean = total / n
    squares = tl.zeros((BLOCK_M,), ACC)
    for start in range(col_begin, col_end, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        x, mask = _load_tile(x_ptr, rows, cols, row_mask, col_end, stride_m, stride_n, 0, ACC)
        deviation = tl.where(mask, x - mean[:, None], 0)
        squares += tl.sum(deviation * deviation, axis=1)
    out = rows * num_splits + split
    if PARTIAL:
        tl.store(mean_ptr + out, mean.to(mean_ptr.dtype.element_ty), mask=row_mask)
        tl.store(out_ptr + out, squares.to(out_ptr.dtype.element_ty), mask=row_mask)
    else:
        dof = tl.maximum(n - correction, 0)
        tl.store(out_ptr + out, (squares / dof).to(out_ptr.dtype.element_ty), mask=row_mask)


@triton.jit
def var_combine_kernel(mean_ptr, squares_ptr, out_ptr, M, S, N, cols_per_split, correction: tl.float64,
                       ACC: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_S: tl.constexpr):
    """Each program merges, for BLOCK_M rows, the S partial (mean_j, squares_j) pairs of
    ``var_kernel`` (chunk j has n_j columns) into the variance (Chan et al.'s update):
    mean = sum(n_j mean_j) / N, squares = sum(squares_j) + sum(n_j (mean_j - mean)^2).
    """
    correction = compute_scalar(correction, ACC)
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    splits = tl.arange(0, BLOCK_S)
    mask = (rows < M)[:, None] & (splits < S)[None, :]
    offsets = rows[:, None] * S + splits[None, :]
    means = tl.load(mean_ptr + offsets, mask=mask, other=0).to(ACC)
    squares = tl.load(squares_ptr + offsets, mask=mask, other=0).to(ACC)
    counts = tl.minimum(N - splits.to(tl.int64) * cols_per_split, cols_per_split)
    counts = tl.where(mask, counts, 0).to(ACC)
    n = tl.zeros((BLOCK_M,), ACC) + N
    mean = tl.sum(counts * means, axis=1) / n
    deviation = means - mean[:, None]
    total = tl.sum(squares, axis=1) + tl.sum(counts * deviation * deviation, axis=1)
    dof = tl.maximum(n - correction, 0)
    tl.store(out_ptr + rows, (total / dof).to(out_ptr.dtype.element_ty), mask=rows < M)


@triton.jit
def _finite_or_zero(m):
    """``m`` where finite, else 0: the shift logsumexp subtracts before ``exp``."""
    return tl.where((m == float("inf")) | (m == float("-inf")), 0, m)


@triton.jit
def logsumexp_kernel(x_ptr, out_ptr, M, N, stride_m, stride_n, cols_per_split,
                     ACC: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program (i, j) writes ``log(sum(exp(x)))`` of BLOCK_M rows over the columns
    [j*cols_per_split, (j+1)*cols_per_split), to ``out[row * num_splits + j]``.

    Online form: a running row maximum ``m`` and a running sum of ``exp(x - shift)``
    rescaled whenever the maximum grows. The shift is ``m`` where finite, else 0,
    so rows of -inf give -inf and +inf gives +inf (never inf - inf). Partials of a
    split row are combined by running this kernel again on them.
    """
    split = tl.program_id(1)
    num_splits = tl.num_programs(1)
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_mask = rows < M
    col_begin = split.to(tl.int64) * cols_per_split
    col_end = tl.minimum(col_begin + cols_per_split, N)
    m = tl.full((BLOCK_M,), float("-inf"), ACC)
    total = tl.zeros((BLOCK_M,), ACC)
    for start in range(col_begin, col_end, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        x, mask = _load_tile(x_ptr, rows, cols, row_mask, col_end, stride_m, stride_n,
                             float("-inf"), ACC)
        new_m = tl.maximum(m, tl.max(x, axis=1))
        shift = _finite_or_zero(new_m)
        # rescale by exp(m - new_m) <= 1; capped at 0 so a first finite block after
        # m = -inf (total still 0) cannot give exp(0 - shift) = inf and 0 * inf = nan
        rescale = tl.exp(tl.minimum(_finite_or_zero(m) - shift, 0.0))
        total = total * rescale + tl.sum(tl.exp(x - shift[:, None]), axis=1)
        m = new_m
    total = tl.where(row_mask, total, 1)  # rows past M: avoid log(0) on padding
    result = tl.log(total) + _finite_or_zero(m)
    tl.store(out_ptr + rows * num_splits + split, result.to(out_ptr.dtype.element_ty), mask=row_mask)


# Compile checks (tests/test_compile.py): each kernel at representative dtypes and tiles.
_ROWS = {"BLOCK_M": 4, "BLOCK_N": 1024}
_COLUMNS = {"BLOCK_M": 512, "BLOCK_N": 8}  # many short rows
_SPECS = [
    {"kernel": "reduce_kernel", "label": "sum-fp32", "no_spills": True,
     "signature": {"x_ptr": "*fp32", "out_ptr": "*fp32", "count": "i64"},
     "constexprs": {"OP": "sum", "ACC": "tl.float32", **_ROWS}},
    {"kernel": "reduce_kernel", "label": "mean-fp64-columns", "no_spills": True,
     "signature": {"x_ptr": "*fp64", "out_ptr": "*fp64", "count": "i64"},
     "constexprs": {"OP": "mean", "ACC": "tl.float64", **_COLUMNS}},
    {"kernel": "reduce_kernel", "label": "prod-i32-to-i64", "no_spills": True,
     "signature": {"x_ptr": "*i32", "out_ptr": "*i64", "count": "i64"},
     "constexprs": {"OP": "prod", "ACC": "tl.int64", **_ROWS}},
    {"kernel": "reduce_kernel", "label": "max-bf16", "no_spills": True,
     "signature": {"x_ptr": "*bf16", "out_ptr": "*bf16", "count": "i64"},
     "constexprs": {"OP": "max", "ACC": "tl.float32", **_ROWS}},
    {"kernel": "reduce_kernel", "label": "any-i1", "no_spills": True,
     "signature": {"x_ptr": "*i1", "out_ptr": "*i1", "count": "i64"},
     "constexprs": {"OP": "any", "ACC": "tl.int64", **_ROWS}},
    {"kernel": "argreduce_kernel", "label": "argmax-fp16-split", "no_spills": True,
     "signature": {"x_ptr": "*fp16", "out_ptr": "*i64", "value_ptr": "*fp32", "index_ptr": "*i64"},
     "constexprs": {"IS_MAX": True, "WRITE_VALUES": True, "READ_INDICES": False,
                    "ACC": "tl.float32", **_ROWS}},
    {"kernel": "argreduce_kernel", "label": "argmin-i64-columns", "no_spills": True,
     "signature": {"x_ptr": "*i64", "out_ptr": "*i64", "value_ptr": "*i64", "index_ptr": "*i64"},
     "constexprs": {"IS_MAX": False, "WRITE_VALUES": False, "READ_INDICES": False,
                    "ACC": "tl.int64", **_COLUMNS}},
    {"kernel": "argreduce_kernel", "label": "argmax-fp64-partials", "no_spills": True,
     "signature": {"x_ptr": "*fp64", "out_ptr": "*i64", "value_ptr": "*fp64", "index_ptr": "*i64"},
     "constexprs": {"IS_MAX": True, "WRITE_VALUES": False, "READ_INDICES": True,
                    "ACC": "tl.float64", "BLOCK_M": 16, "BLOCK_N": 256}},
    {"kernel": "var_kernel", "label": "fp32", "no_spills": True,
     "signature": {"x_ptr": "*fp32", "out_ptr": "*fp32", "correction": "fp64", "mean_ptr": "*fp32"},
     "constexprs": {"PARTIAL": False, "ACC": "tl.float32", **_ROWS}},
    {"kernel": "var_kernel", "label": "fp64-partial", "no_spills": True,
     "signature": {"x_ptr": "*fp64", "out_ptr": "*fp64", "correction": "fp64", "mean_ptr": "*fp64"},
     "constexprs": {"PARTIAL": True, "ACC": "tl.float64", **_COLUMNS}},
    {"kernel": "var_combine_kernel", "label": "fp32", "no_spills": True,
     "signature": {"mean_ptr": "*fp32", "squares_ptr": "*fp32", "out_ptr": "*bf16",
                   "correction": "fp64"},
     "constexprs": {"ACC": "tl.float32", "BLOCK_M": 16, "BLOCK_S": 256}},
    {"kernel": "logsumexp_kernel", "label": "fp16", "no_spills": True,
     "signature": {"x_ptr": "*fp16", "out_ptr": "*fp16"},
     "constexprs": {"ACC": "tl.float32", **_ROWS}},
    {"kernel": "logsumexp_kernel", "label": "fp64", "no_spills": True,
     "signature": {"x_ptr": "*fp64", "out_ptr": "*fp64"},
     "constexprs": {"ACC": "tl.float64", **_COLUMNS}},
]
COMPILE_SPECS = [dict(spec, num_warps=NUM_WARPS) for spec in _SPECS]
