"""Scans along one dim: cumsum, cumprod, logcumsumexp, cummax/cummin (values and indices).

The host views the operand as (outer, N, inner): the scanned dim of length
N between the dims before it (collapsed to one "outer" stride) and after it
("inner"). A scan row is one (outer, inner) pair; row r reads element n at
``(r // inner) * stride_o + n * stride_n + (r % inner) * stride_i`` and
writes the contiguous output at ``((r // inner) * N + n) * inner + r % inner``.

Each program scans BLOCK_M rows, walking each row in BLOCK_N-wide chunks:
``tl.associative_scan`` scans a chunk along its columns, the running
``carry`` of the previous chunks (the scan of everything before) is combined
into every column, and the carry becomes the combined chunk total. Masked
columns (past the row end) hold the operation's identity, so they never
change a result.
"""
import triton
import triton.language as tl

MAX_BLOCK_N = 256
TILE = 1024  # elements per program: with 4 warps, int64 scans of 2048 spill on sm_80
NUM_WARPS = 4


@triton.jit
def _add(a, b):
    return a + b


@triton.jit
def _mul(a, b):
    return a * b


@triton.jit
def _logaddexp(a, b):
    """``log(exp(a) + exp(b))``, computed from the larger argument; an infinite larger
    argument is the result (never inf - inf)."""
    hi = tl.maximum(a, b)
    lo = tl.minimum(a, b)
    infinite = (hi == float("inf")) | (hi == float("-inf"))
    result = hi + tl.log(1.0 + tl.exp(lo - tl.where(infinite, 0.0, hi)))
    result = tl.where(infinite, hi, result)
    return tl.where((a != a) | (b != b), a + b, result)  # NaN in, NaN out


@triton.jit
def _max_index(va, ia, vb, ib):
    """Later candidate (vb, ib) wins when it is NaN or >= a non-NaN earlier one (PyTorch)."""
    take_b = (vb != vb) | ((va == va) & (vb >= va))
    return tl.where(take_b, vb, va), tl.where(take_b, ib, ia)


@triton.jit
def _min_index(va, ia, vb, ib):
    """Later candidate (vb, ib) wins when it is NaN or <= a non-NaN earlier one (PyTorch)."""
    take_b = (vb != vb) | ((va == va) & (vb <= va))
    return tl.where(take_b, vb, va), tl.where(take_b, ib, ia)


@triton.jit
def _identity(OP: tl.constexpr, ACC: tl.constexpr):
    """The value of masked columns for scan ``OP``."""
    if OP == "prod":
        return 1
    elif OP == "logcumsumexp":
        return float("-inf")
    else:
        return 0


@triton.jit
def _row_offsets(rows, inner, stride_o, stride_i):
    """Input offset of each row's first element, and the row's (outer, inner) coordinates."""
    outer = rows // inner
    within = rows % inner
    return outer * stride_o + within * stride_i, outer, within


@triton.jit
def scan_kernel(x_ptr, out_ptr, M, N, inner, stride_o, stride_n, stride_i,
                OP: tl.constexpr, ACC: tl.constexpr,
                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program i writes the inclusive scan ``OP`` ("sum", "prod" or "logcumsumexp") of rows
    [i*BLOCK_M, (i+1)*BLOCK_M), accumulated in ``ACC`` and stored in the output's type."""
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_mask = rows < M
    x_row, outer, within = _row_offsets(rows, inner, stride_o, stride_i)
    fill = _identity(OP, ACC)
    carry = tl.full((BLOCK_M,), fill, ACC)
    for start in range(0, N, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N).to(tl.int64)
        mask = row_mask[:, None] & (cols < N)[None, :]
        x = tl.load(x_ptr + x_row[:, None] + cols[None, :] * stride_n, mask=mask, other=0)
        x = tl.where(mask, x.to(ACC), fill)
        if OP == "sum":
            result = tl.associative_scan(x, 1, _add) + carry[:, None]
            carry = carry + tl.sum(x, 1)
        elif OP == "prod":
            result = tl.associative_scan(x, 1, _mul) * carry[:, None]
            carry = carry * tl.reduce(x, 1, _mul)
        else:
            result = _logaddexp(tl.associative_scan(x, 1, _logaddexp), carry[:, None])
            carry = _logaddexp(carry, tl.reduce(x, 1, _logaddexp))
        out = (outer[:, None] * N + cols[None, :]) * inner + within[:, None]
        tl.store(out_ptr + out, result.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def scan_extreme_kernel(x_ptr, values_ptr, indices_ptr, M, N, inner, stride_o, stride_n, stride_i,
                        IS_MAX: tl.constexpr, ACC: tl.constexpr,
                        BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program i writes the running maximum (``IS_MAX``) or minimum of rows
    [i*BLOCK_M, (i+1)*BLOCK_M) and the index where it was taken: the latest one among
    equal values, NaN beating every number (PyTorch's cummax/cummin).

    The carry is the (value, index) pair of the previous chunks; it enters every column
    as the earlier candidate. Masked columns never win: they hold the carry's own pair.
    """
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_mask = rows < M
    x_row, outer, within = _row_offsets(rows, inner, stride_o, stride_i)
    # the first column has no earlier candidate: it seeds the carry (index 0)
    carry_v = tl.load(x_ptr + x_row, mask=row_mask, other=0).to(ACC)  # N >= 1 (host)
    carry_i = tl.zeros((BLOCK_M,), tl.int64)
    for start in range(0, N, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N).to(tl.int64)
        mask = row_mask[:, None] & (cols < N)[None, :]
        x = tl.load(x_ptr + x_row[:, None] + cols[None, :] * stride_n, mask=mask, other=0)
        x = x.to(ACC)
        idx = cols[None, :] + tl.zeros((BLOCK_M, BLOCK_N), tl.int64)
        if IS_MAX:
            v, i = tl.associative_scan((x, idx), 1, _max_index)
            v, i = _max_index(carry_v[:, None], carry_i[:, None], v, i)
        else:
            v, i = tl.associative_scan((x, idx), 1, _min_index)
            v, i = _min_index(carry_v[:, None], carry_i[:, None], v, i)
        last = cols[None, :] == tl.minimum(start + BLOCK_N, N) - 1
        carry_v = tl.sum(tl.where(last, v, 0), 1)
        carry_i = tl.sum(tl.where(last, i, 0), 1)
        out = (outer[:, None] * N + cols[None, :]) * inner + within[:, None]
        tl.store(values_ptr + out, v.to(values_ptr.dtype.element_ty), mask=mask)
        tl.store(indices_ptr + out, i, mask=mask)


# Compile checks (tests/test_compile.py).
_TILE = {"BLOCK_M": TILE // MAX_BLOCK_N, "BLOCK_N": MAX_BLOCK_N}
COMPILE_SPECS = [
    {"kernel": "scan_kernel", "label": "cumsum-fp32", "no_spills": True,
     "signature": {"x_ptr": "*fp32", "out_ptr": "*fp32"},
     "constexprs": {"OP": "sum", "ACC": "tl.float32", **_TILE}, "num_warps": NUM_WARPS},
    {"kernel": "scan_kernel", "label": "cumprod-i32-to-i64", "no_spills": True,
     "signature": {"x_ptr": "*i32", "out_ptr": "*i64"},
     "constexprs": {"OP": "prod", "ACC": "tl.int64", **_TILE}, "num_warps": NUM_WARPS},
    {"kernel": "scan_kernel", "label": "logcumsumexp-bf16", "no_spills": True,
     "signature": {"x_ptr": "*bf16", "out_ptr": "*bf16"},
     "constexprs": {"OP": "logcumsumexp", "ACC": "tl.float32", **_TILE},
     "num_warps": NUM_WARPS},
    {"kernel": "scan_extreme_kernel", "label": "cummax-fp64", "no_spills": True,
     "signature": {"x_ptr": "*fp64", "values_ptr": "*fp64", "indices_ptr": "*i64"},
     "constexprs": {"IS_MAX": True, "ACC": "tl.float64", **_TILE}, "num_warps": NUM_WARPS},
    {"kernel": "scan_extreme_kernel", "label": "cummin-i32", "no_spills": True,
     "signature": {"x_ptr": "*i32", "values_ptr": "*i32", "indices_ptr": "*i64"},
     "constexprs": {"IS_MAX": False, "ACC": "tl.int64", **_TILE}, "num_warps": NUM_WARPS},
]
