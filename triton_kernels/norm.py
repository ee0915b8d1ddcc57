"""Row-fused normalization kernels: mean/variance normalization (softmax: ``softmax.py``).

The row kernels give one program one row of length N (the split kernels at
the end give one program a chunk of a row, for few long rows). A row that fits in one
block (``N <= BLOCK_N``, ``SINGLE=True``) is read once into registers and
reduced there: the one-pass case. Longer rows loop over BLOCK_N-wide chunks:
a first loop gathers the row's statistics (Chan's mean/M2 merge), a second
loop writes the result. Columns past N are masked: loads get 0 and stores
are skipped. Math runs in ``ACC`` (fp32 for fp32
and the half types, fp64 for fp64).

Row layout. The kernels address element i of row r at
``r * row_stride + (i // inner) * outer_stride + i % inner``: with
``GATHER=0`` that is ``r * row_stride + i`` (layer, RMS, group and
instance norm, rows of a contiguous (A, C, S) array); otherwise row r is
channel c of an (A, C, S) array, gathered over (A, S) (batch norm), the
division done in int32 (``GATHER=32``, when N < 2**31: 64-bit division is a
slow subroutine on GPUs) or int64 (``GATHER=64``).
"""
import triton
import triton.language as tl

from .elementwise import _convert
from .scalars import compute_scalar

# Longest row kept in registers in one block; longer rows loop over blocks of this size.
MAX_BLOCK_N = 4096
# Batch norm over few channels: each row is split into chunks of at least SPLIT_COLS
# elements, one program each, aiming at TARGET_PROGRAMS programs in all (at most
# MAX_SPLITS per row); see the split kernels below.
SPLIT_COLS = 2 * MAX_BLOCK_N
TARGET_PROGRAMS = 1024
MAX_SPLITS = 1024
SPLIT_NUM_WARPS = 8  # warps of each split-kernel program (MAX_BLOCK_N elements per pass)


# mean / variance normalization -------------------------------------------------------------------
@triton.jit
def _row_offsets(row, idx, row_stride, inner, outer_stride, GATHER: tl.constexpr):
    """Memory offsets of elements ``idx`` (int64) of row ``row`` (see the module docstring)."""
    if GATHER == 32:
        i = idx.to(tl.int32)
        q = i // inner
        return row * row_stride + q.to(tl.int64) * outer_stride + (i - q * inner).to(tl.int64)
    elif GATHER == 64:
        return row * row_stride + (idx // inner) * outer_stride + idx % inner
    else:
        return row * row_stride + idx


@triton.jit
def norm_rows_kernel(x_ptr, y_ptr, w_ptr, b_ptr, mean_ptr, rstd_ptr, N, row_stride, inner,
                     outer_stride, eps: tl.float64, RMS: tl.constexpr, HAS_W: tl.constexpr,
                     HAS_B: tl.constexpr, GATHER: tl.constexpr, SINGLE: tl.constexpr,
                     ACC: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program r normalizes row r (N elements): mean (0 with ``RMS``), biased variance,
    ``rstd = 1 / sqrt(var + eps)``, ``y = (x - mean) * rstd * w[i] + b[i]``; writes y at
    the row's offsets and ``mean[r]``, ``rstd[r]``.

    One block: the row is read once. Longer rows: pass 1 merges each block's
    (count, mean, M2) into the row's (Chan et al.), pass 2 writes y.
    """
    eps = compute_scalar(eps, ACC)  # float64 argument, rounded once
    r = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK_N).to(tl.int64)
    if SINGLE:
        mask = cols < N
        offs = _row_offsets(r, cols, row_stride, inner, outer_stride, GATHER)
        x = tl.load(x_ptr + offs, mask=mask, other=0).to(ACC)
        if RMS:
            mean = tl.sum(tl.zeros_like(x), axis=0)  # a 0 scalar of type ACC
        else:
            mean = tl.sum(x, axis=0) / N
        centered = tl.where(mask, x - mean, 0)
        rstd = 1.0 / tl.sqrt(tl.sum(centered * centered, axis=0) / N + eps)
        _norm_store(y_ptr, w_ptr, b_ptr, offs, cols, mask, x, mean, rstd, HAS_W, HAS_B, ACC)
    else:
        # pass 1: each block's (count, mean, M2) merged into the row's (Chan et al.)
        mean = tl.sum(tl.zeros((BLOCK_N,), ACC), axis=0)
        m2 = tl.sum(tl.zeros((BLOCK_N,), ACC), axis=0)
        seen = tl.sum(tl.zeros((BLOCK_N,), ACC), axis=0)  # elements merged so far
        for start in range(0, N, BLOCK_N):
            idx = start + cols
            mask = idx < N
            offs = _row_offsets(r, idx, row_stride, inner, outer_stride, GATHER)
            x = tl.load(x_ptr + offs, mask=mask, other=0).to(ACC)
            if RMS:
                m2 += tl.sum(x * x, axis=0)
            else:
                count = tl.sum(mask.to(ACC), axis=0)
                block_mean = tl.sum(x, axis=0) / count
                d = tl.where(mask, x - block_mean, 0)
                delta = block_mean - mean
                total = seen + count
                mean += delta * count / total
                m2 += tl.sum(d * d, axis=0) + delta * delta * seen * count / total
                seen = total
        rstd = 1.0 / tl.sqrt(m2 / N + eps)
        for start in range(0, N, BLOCK_N):  # pass 2: y
            idx = start + cols
            mask = idx < N
            offs = _row_offsets(r, idx, row_stride, inner, outer_stride, GATHER)
            x = tl.load(x_ptr + offs, mask=mask, other=0).to(ACC)
            _norm_store(y_ptr, w_ptr, b_ptr, offs, idx, mask, x, mean, rstd, HAS_W, HAS_B, ACC)
    tl.store(mean_ptr + r, mean.to(mean_ptr.dtype.element_ty))
    tl.store(rstd_ptr + r, rstd.to(rstd_ptr.dtype.element_ty))


@triton.jit
def _norm_store(y_ptr, w_ptr, b_ptr, offs, idx, mask, x, mean, rstd, HAS_W: tl.constexpr,
                HAS_B: tl.constexpr, ACC: tl.constexpr):
    """Store ``(x - mean) * rstd * w[idx] + b[idx]`` of one block at ``offs``."""
    y = (x - mean) * rstd
    if HAS_W:
        y = y * tl.load(w_ptr + idx, mask=mask, other=0).to(ACC)
    if HAS_B:
        y = y + tl.load(b_ptr + idx, mask=mask, other=0).to(ACC)
    tl.store(y_ptr + offs, _convert(y, y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def norm_rows_backward_kernel(grad_ptr, x_ptr, w_ptr, mean_ptr, rstd_ptr, dx_ptr, gx_ptr, N,
                              row_stride, inner, outer_stride, RMS: tl.constexpr,
                              HAS_W: tl.constexpr, GATHER: tl.constexpr, SINGLE: tl.constexpr,
                              ACC: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program r writes dx of row r: with ``gw = g * w`` and ``xhat = (x - mean) * rstd``,
    ``dx = rstd * (gw - xhat * mean(gw * xhat) - mean(gw))`` (no ``mean(gw)`` term with
    ``RMS``); with ``HAS_W`` also ``g * xhat`` at the same offsets in ``gx_ptr``, the terms
    of the weight gradient (summed over rows by the host).

    One block: every operand is read once; longer rows take a pass for the two
    row sums and a pass for dx.
    """
    r = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK_N).to(tl.int64)
    mean = tl.load(mean_ptr + r).to(ACC)
    rstd = tl.load(rstd_ptr + r).to(ACC)
    if SINGLE:
        mask = cols < N
        offs = _row_offsets(r, cols, row_stride, inner, outer_stride, GATHER)
        g, xhat, gw = _norm_grad_terms(grad_ptr, x_ptr, w_ptr, offs, cols, mask, mean, rstd,
                                       HAS_W, ACC)
        dx = _norm_dx(gw, xhat, tl.sum(gw, axis=0) / N, tl.sum(gw * xhat, axis=0) / N, rstd, RMS)
        tl.store(dx_ptr + offs, _convert(dx, dx_ptr.dtype.element_ty), mask=mask)
        if HAS_W:
            tl.store(gx_ptr + offs, (g * xhat).to(gx_ptr.dtype.element_ty), mask=mask)
    else:
        sum_gw = tl.sum(tl.zeros((BLOCK_N,), ACC), axis=0)  # pass 1: the two row sums
        sum_gwx = tl.sum(tl.zeros((BLOCK_N,), ACC), axis=0)
        for start in range(0, N, BLOCK_N):
            idx = start + cols
            mask = idx < N
            offs = _row_offsets(r, idx, row_stride, inner, outer_stride, GATHER)
            g, xhat, gw = _norm_grad_terms(grad_ptr, x_ptr, w_ptr, offs, idx, mask, mean, rstd,
                                           HAS_W, ACC)
            sum_gw += tl.sum(gw, axis=0)
            sum_gwx += tl.sum(gw * xhat, axis=0)
        mean_gw = sum_gw / N
        mean_gwx = sum_gwx / N
        for start in range(0, N, BLOCK_N):  # pass 2: dx
            idx = start + cols
            mask = idx < N
            offs = _row_offsets(r, idx, row_stride, inner, outer_stride, GATHER)
            g, xhat, gw = _norm_grad_terms(grad_ptr, x_ptr, w_ptr, offs, idx, mask, mean, rstd,
                                           HAS_W, ACC)
            dx = _norm_dx(gw, xhat, mean_gw, mean_gwx, rstd, RMS)
            tl.store(dx_ptr + offs, _convert(dx, dx_ptr.dtype.element_ty), mask=mask)
            if HAS_W:
                tl.store(gx_ptr + offs, (g * xhat).to(gx_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _norm_grad_terms(grad_ptr, x_ptr, w_ptr, offs, idx, mask, mean, rstd, HAS_W: tl.constexpr,
                     ACC: tl.constexpr):
    """``(g, xhat, g * w)`` of one block; masked positions are 0."""
    g = tl.load(grad_ptr + offs, mask=mask, other=0).to(ACC)
    x = tl.load(x_ptr + offs, mask=mask, other=0).to(ACC)
    xhat = tl.where(mask, (x - mean) * rstd, 0)
    if HAS_W:
        gw = g * tl.load(w_ptr + idx, mask=mask, other=0).to(ACC)
    else:
        gw = g
    return g, xhat, gw


@triton.jit
def _norm_dx(gw, xhat, mean_gw, mean_gwx, rstd, RMS: tl.constexpr):
    """``rstd * (gw - xhat * mean_gwx - mean_gw)`` (no ``mean_gw`` term with ``RMS``)."""
    dx = gw - xhat * mean_gwx
    if not RMS:
        dx = dx - mean_gw
    return dx * rstd


# split rows: few long rows (batch norm over few channels) ---------------------------------
# A row of N elements is cut into S chunks of ``cols_per_split`` elements, one program (r, j)
# each, so few long rows still fill the GPU. The partial kernels store each chunk's
# statistics at ``part[(r * S + j) * K + k]``; the split kernels merge a row's S partials
# (a BLOCK_S-wide vector load) and then process their own chunk.
@triton.jit
def _chunk(N, cols_per_split):
    """(first, end) element of this program's chunk: [j * cols_per_split, ...) of the row."""
    begin = tl.program_id(1).to(tl.int64) * cols_per_split
    return begin, tl.minimum(begin + cols_per_split, N)


@triton.jit
def norm_partial_stats_kernel(x_ptr, part_ptr, N, cols_per_split, row_stride, inner, outer_stride,
                              GATHER: tl.constexpr, ACC: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program (r, j) merges chunk j of row r, block by block (Chan et al.), into
    (count, mean, M2), stored at ``part[(r * S + j) * 3 + {0, 1, 2}]``."""
    r = tl.program_id(0).to(tl.int64)
    part = (r * tl.num_programs(1) + tl.program_id(1)) * 3
    cols = tl.arange(0, BLOCK_N).to(tl.int64)
    begin, end = _chunk(N, cols_per_split)
    mean = tl.sum(tl.zeros((BLOCK_N,), ACC), axis=0)
    m2 = tl.sum(tl.zeros((BLOCK_N,), ACC), axis=0)
    seen = tl.sum(tl.zeros((BLOCK_N,), ACC), axis=0)
    for start in range(begin, end, BLOCK_N):
        idx = start + cols
        mask = idx < end
        offs = _row_offsets(r, idx, row_stride, inner, outer_stride, GATHER)
        x = tl.load(x_ptr + offs, mask=mask, other=0).to(ACC)
        count = tl.sum(mask.to(ACC), axis=0)
        block_mean = tl.sum(x, axis=0) / count
        d = tl.where(mask, x - block_mean, 0)
        delta = block_mean - mean
        total = seen + count
        mean += delta * count / total
        m2 += tl.sum(d * d, axis=0) + delta * delta * seen * count / total
        seen = total
    tl.store(part_ptr + part, seen.to(part_ptr.dtype.element_ty))
    tl.store(part_ptr + part + 1, mean.to(part_ptr.dtype.element_ty))
    tl.store(part_ptr + part + 2, m2.to(part_ptr.dtype.element_ty))


@triton.jit
def norm_split_kernel(x_ptr, y_ptr, part_ptr, mean_ptr, rstd_ptr, N, S, cols_per_split,
                      row_stride, inner, outer_stride, eps: tl.float64, GATHER: tl.constexpr,
                      ACC: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_S: tl.constexpr):
    """Program (r, j) merges row r's S partials of ``norm_partial_stats_kernel`` into the
    row's mean and ``rstd = 1 / sqrt(M2 / N + eps)``, writes ``y = (x - mean) * rstd`` over
    chunk j, and (program j = 0) ``mean[r]``, ``rstd[r]``."""
    eps = compute_scalar(eps, ACC)  # float64 argument, rounded once
    r = tl.program_id(0).to(tl.int64)
    splits = tl.arange(0, BLOCK_S)
    smask = splits < S
    part = (r * S + splits) * 3
    counts = tl.load(part_ptr + part, mask=smask, other=0).to(ACC)
    means = tl.load(part_ptr + part + 1, mask=smask, other=0).to(ACC)
    m2s = tl.load(part_ptr + part + 2, mask=smask, other=0).to(ACC)
    mean = tl.sum(counts * means, axis=0) / N
    deviation = tl.where(smask, means - mean, 0)
    m2 = tl.sum(m2s, axis=0) + tl.sum(counts * deviation * deviation, axis=0)
    rstd = 1.0 / tl.sqrt(m2 / N + eps)
    first = tl.program_id(1) == 0
    tl.store(mean_ptr + r, mean.to(mean_ptr.dtype.element_ty), mask=first)
    tl.store(rstd_ptr + r, rstd.to(rstd_ptr.dtype.element_ty), mask=first)
    cols = tl.arange(0, BLOCK_N).to(tl.int64)
    begin, end = _chunk(N, cols_per_split)
    for start in range(begin, end, BLOCK_N):
        idx = start + cols
        mask = idx < end
        offs = _row_offsets(r, idx, row_stride, inner, outer_stride, GATHER)
        x = tl.load(x_ptr + offs, mask=mask, other=0).to(ACC)
        tl.store(y_ptr + offs, _convert((x - mean) * rstd, y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def norm_partial_grad_kernel(grad_ptr, x_ptr, mean_ptr, rstd_ptr, part_ptr, N, cols_per_split,
                             row_stride, inner, outer_stride, GATHER: tl.constexpr,
                             ACC: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program (r, j) stores chunk j's ``sum(g)`` and ``sum(g * xhat)`` of row r at
    ``part[(r * S + j) * 2 + {0, 1}]`` (no weight: the split path serves batch norm)."""
    r = tl.program_id(0).to(tl.int64)
    part = (r * tl.num_programs(1) + tl.program_id(1)) * 2
    mean = tl.load(mean_ptr + r).to(ACC)
    rstd = tl.load(rstd_ptr + r).to(ACC)
    cols = tl.arange(0, BLOCK_N).to(tl.int64)
    begin, end = _chunk(N, cols_per_split)
    sum_g = tl.sum(tl.zeros((BLOCK_N,), ACC), axis=0)
    sum_gx = tl.sum(tl.zeros((BLOCK_N,), ACC), axis=0)
    for start in range(begin, end, BLOCK_N):
        idx = start + cols
        mask = idx < end
        offs = _row_offsets(r, idx, row_stride, inner, outer_stride, GATHER)
        g, xhat, gw = _norm_grad_terms(grad_ptr, x_ptr, x_ptr, offs, idx, mask, mean, rstd,
                                       False, ACC)
        sum_g += tl.sum(g, axis=0)
        sum_gx += tl.sum(g * xhat, axis=0)
    tl.store(part_ptr + part, sum_g.to(part_ptr.dtype.element_ty))
    tl.store(part_ptr + part + 1, sum_gx.to(part_ptr.dtype.element_ty))


@triton.jit
def norm_split_backward_kernel(grad_ptr, x_ptr, mean_ptr, rstd_ptr, part_ptr, dx_ptr, N, S,
                               cols_per_split, row_stride, inner, outer_stride,
                               GATHER: tl.constexpr, ACC: tl.constexpr, BLOCK_N: tl.constexpr,
                               BLOCK_S: tl.constexpr):
    """Program (r, j) sums row r's S partials of ``norm_partial_grad_kernel`` and writes
    ``dx = rstd * (g - xhat * mean(g * xhat) - mean(g))`` over chunk j."""
    r = tl.program_id(0).to(tl.int64)
    splits = tl.arange(0, BLOCK_S)
    smask = splits < S
    part = (r * S + splits) * 2
    mean_g = tl.sum(tl.load(part_ptr + part, mask=smask, other=0).to(ACC), axis=0) / N
    mean_gx = tl.sum(tl.load(part_ptr + part + 1, mask=smask, other=0).to(ACC), axis=0) / N
    mean = tl.load(mean_ptr + r).to(ACC)
    rstd = tl.load(rstd_ptr + r).to(ACC)
    cols = tl.arange(0, BLOCK_N).to(tl.int64)
    begin, end = _chunk(N, cols_per_split)
    for start in range(begin, end, BLOCK_N):
        idx = start + cols
        mask = idx < end
        offs = _row_offsets(r, idx, row_stride, inner, outer_stride, GATHER)
        g, xhat, gw = _norm_grad_terms(grad_ptr, x_ptr, x_ptr, offs, idx, mask, mean, rstd,
                                       False, ACC)
        dx = _norm_dx(g, xhat, mean_g, mean_gx, rstd, False)
        tl.store(dx_ptr + offs, _convert(dx, dx_ptr.dtype.element_ty), mask=mask)


# Compile checks (tests/test_compile.py): each kernel in its one-block and looping form.
_NORM_ARGS = {"eps": "fp64"}
COMPILE_SPECS = [
    {"kernel": "norm_rows_kernel", "label": "layer-fp16-single",
     "signature": {"x_ptr": "*fp16", "y_ptr": "*fp16", "w_ptr": "*fp16", "b_ptr": "*fp16",
                   "mean_ptr": "*fp32", "rstd_ptr": "*fp32", **_NORM_ARGS},
     "constexprs": {"RMS": False, "HAS_W": True, "HAS_B": True, "GATHER": 0, "SINGLE": True,
                    "ACC": "tl.float32", "BLOCK_N": 4096}, "num_warps": 8},
    {"kernel": "norm_rows_kernel", "label": "batch-fp64-gather-loop",
     "signature": {"x_ptr": "*fp64", "y_ptr": "*fp64", "w_ptr": "*fp64", "b_ptr": "*fp64",
                   "mean_ptr": "*fp64", "rstd_ptr": "*fp64", **_NORM_ARGS},
     "constexprs": {"RMS": False, "HAS_W": False, "HAS_B": False, "GATHER": 64,
                    "SINGLE": False, "ACC": "tl.float64", "BLOCK_N": 4096}, "num_warps": 8},
    {"kernel": "norm_rows_backward_kernel", "label": "rms-bf16-single",
     "signature": {"grad_ptr": "*bf16", "x_ptr": "*bf16", "w_ptr": "*bf16", "mean_ptr": "*fp32",
                   "rstd_ptr": "*fp32", "dx_ptr": "*bf16", "gx_ptr": "*fp32"},
     "constexprs": {"RMS": True, "HAS_W": True, "GATHER": 0, "SINGLE": True,
                    "ACC": "tl.float32", "BLOCK_N": 4096}, "num_warps": 8},
    {"kernel": "norm_rows_backward_kernel", "label": "batch-fp32-gather-loop",
     "signature": {"grad_ptr": "*fp32", "x_ptr": "*fp32", "w_ptr": "*fp32", "mean_ptr": "*fp32",
                   "rstd_ptr": "*fp32", "dx_ptr": "*fp32", "gx_ptr": "*fp32"},
     "constexprs": {"RMS": False, "HAS_W": False, "GATHER": 32, "SINGLE": False,
                    "ACC": "tl.float32", "BLOCK_N": 4096}, "num_warps": 8},
    {"kernel": "norm_partial_stats_kernel", "label": "fp32-gather",
     "signature": {"x_ptr": "*fp32", "part_ptr": "*fp32"},
     "constexprs": {"GATHER": 32, "ACC": "tl.float32", "BLOCK_N": 4096},
     "num_warps": SPLIT_NUM_WARPS},
    {"kernel": "norm_split_kernel", "label": "bf16-gather",
     "signature": {"x_ptr": "*bf16", "y_ptr": "*bf16", "part_ptr": "*fp32", "mean_ptr": "*fp32",
                   "rstd_ptr": "*fp32", **_NORM_ARGS},
     "constexprs": {"GATHER": 32, "ACC": "tl.float32", "BLOCK_N": 4096, "BLOCK_S": 512},
     "num_warps": SPLIT_NUM_WARPS},
    {"kernel": "norm_partial_grad_kernel", "label": "fp64-gather64",
     "signature": {"grad_ptr": "*fp64", "x_ptr": "*fp64", "mean_ptr": "*fp64",
                   "rstd_ptr": "*fp64", "part_ptr": "*fp64"},
     "constexprs": {"GATHER": 64, "ACC": "tl.float64", "BLOCK_N": 4096},
     "num_warps": SPLIT_NUM_WARPS},
    {"kernel": "norm_split_backward_kernel", "label": "fp16-gather",
     "signature": {"grad_ptr": "*fp16", "x_ptr": "*fp16", "mean_ptr": "*fp32",
                   "rstd_ptr": "*fp32", "part_ptr": "*fp32", "dx_ptr": "*fp16"},
     "constexprs": {"GATHER": 32, "ACC": "tl.float32", "BLOCK_N": 4096, "BLOCK_S": 512},
     "num_warps": SPLIT_NUM_WARPS},
]
COMPILE_SPECS = [dict(spec, no_spills=True) for spec in COMPILE_SPECS]
