"""Fused losses over an (M, C) matrix of logits: cross-entropy and negative log-likelihood;
and binary cross-entropy with logits, elementwise (at the end of this module).

The host (``framework._backends.triton.loss``) passes rows (batch elements,
K-dimensional targets already flattened into rows) and classes as an (M, C)
matrix with strides ``(stride_m, stride_c)``. Every kernel handles BLOCK_M
rows per program and walks the classes in BLOCK_C-wide chunks, so a row of
any length fits and the softmax is never written to memory.

Cross-entropy with per-class coefficients ``a[i, c]`` (the smoothed target
times the class weight) is ``lse_i * sum_c a[i, c] - sum_c a[i, c] * x[i, c]``:

* class-index targets: ``a[i, c] = w[c] * ((1 - eps) * [c == t_i] + eps / C)``,
  and 0 on rows whose target is ``ignore_index``;
* class-probability targets: ``a[i, c] = w[c] * ((1 - eps) * q[i, c] + eps / C)``.

Its gradient is ``g_i * (softmax(x_i)[c] * sum_c a[i, c] - a[i, c])``.
Math is done in ``ACC`` (fp32 for fp32 and the half types, fp64 for fp64).

Masks: rows past M and columns past C load ``-inf`` logits and 0 coefficients,
so they add nothing to the running max, the exp-sum or the coefficient sums.

Class indices outside ``[0, C)`` (other than ``ignore_index``) count as
ignored rows, so nothing is read out of bounds; the forward kernels report
them in the device error flag (``checks.report_bad_indices``), which the host
raises at its next synchronization.

NaN and inf follow PyTorch's ``nll_loss(log_softmax(x))``: a row holding NaN or
+inf, or all -inf, has a NaN log-softmax, so its loss and gradient are NaN
(the gradient also on ignored rows, whose loss is 0); ``-inf`` at a class the
loss reads (the target, every class with label smoothing, every class with
probability targets) gives ``+inf``, or NaN where its weight is 0, since
PyTorch multiplies ``-inf * 0`` there too.
"""
import triton
import triton.language as tl

from .checks import report_bad_indices
from .elementwise import _coords, _div, _log1p, _sigmoid
from .strided import offset6
from .scalars import compute_scalar
from .softmax import online_exp_sum

# BLOCK_C = next power of 2 of C, at most MAX_BLOCK_C; BLOCK_M fills a tile of
# TILE elements (many short rows per program, one long row per program).
MAX_BLOCK_C = 1024
TILE = 2048
# 16 warps (4 tile elements per thread): the only count spill-free on Triton 3.6 and 3.9
# for every spec below on sm_80 and sm_90 (with 4, 3.6 spills 4 bytes in the bf16
# probabilities forward on sm_90; with 8, 3.9 spills 8 in the fp32 indices forward on sm_90).
NUM_WARPS = 16


@triton.jit
def _coefficients(target_ptr, weight_ptr, rows, row_mask, cols, col_mask, t, t_stride_m,
                  t_stride_c, n_classes, smoothing,
                  PROBS: tl.constexpr, HAS_WEIGHT: tl.constexpr, ACC: tl.constexpr):
    """The (BLOCK_M, BLOCK_C) tile of coefficients ``a`` (0 outside the rows and classes), and
    where the loss reads the logit: where ``a`` before the class weight is nonzero (every
    class with probability targets, where PyTorch multiplies even a 0 probability)."""
    mask = row_mask[:, None] & col_mask[None, :]
    if PROBS:
        offsets = rows[:, None] * t_stride_m + cols.to(tl.int64)[None, :] * t_stride_c
        q = tl.load(target_ptr + offsets, mask=mask, other=0).to(ACC)
    else:
        q = tl.where(cols[None, :] == t[:, None], 1.0, 0.0).to(ACC)
    a = q * (1.0 - smoothing) + smoothing / n_classes
    if PROBS:
        reads = mask
    else:
        reads = mask & (a != 0.0)
    if HAS_WEIGHT:
        w = tl.load(weight_ptr + cols, mask=col_mask, other=0).to(ACC)
        a = a * w[None, :]
    return tl.where(mask, a, 0.0), reads


@triton.jit
def _row_targets(target_ptr, weight_ptr, rows, row_mask, t_stride_m, ignore_index, n_classes,
                 PROBS: tl.constexpr, HAS_WEIGHT: tl.constexpr, ACC: tl.constexpr):
    """Per row: the class index (-1 when ignored, out of range or for probability targets),
    whether the row counts, and the weight of its target class (0 when ignored; 1 without
    weights)."""
    if PROBS:
        t = rows * 0 - 1
        valid = row_mask
        row_weight = tl.where(row_mask, 1.0, 0.0).to(ACC)
    else:
        t = tl.load(target_ptr + rows * t_stride_m, mask=row_mask, other=ignore_index)
        valid = row_mask & (t != ignore_index) & (t >= 0) & (t < n_classes)
        t = tl.where(valid, t, -1)
        if HAS_WEIGHT:
            row_weight = tl.load(weight_ptr + tl.where(valid, t, 0), mask=valid, other=0).to(ACC)
        else:
            row_weight = tl.where(valid, 1.0, 0.0).to(ACC)
    return t, valid, row_weight


@triton.jit
def _report_bad_targets(target_ptr, rows, row_mask, t_stride_m, ignore_index, n_classes,
                        err_ptr, err_code):
    """Report the class-index targets of these rows outside ``[0, n_classes)`` (other than
    ``ignore_index``) in the error flag."""
    t = tl.load(target_ptr + rows * t_stride_m, mask=row_mask, other=ignore_index)
    bad = row_mask & (t != ignore_index) & ((t < 0) | (t >= n_classes))
    report_bad_indices(err_ptr, t, bad, n_classes, err_code)


@triton.jit
def cross_entropy_forward_kernel(x_ptr, target_ptr, weight_ptr, loss_ptr, lse_ptr, row_weight_ptr,
                                 M, C, stride_m, stride_c, t_stride_m, t_stride_c,
                                 ignore_index, smoothing: tl.float64, err_ptr, err_code,
                                 PROBS: tl.constexpr, HAS_WEIGHT: tl.constexpr,
                                 ACC: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr):
    """Program i computes rows [i*BLOCK_M, (i+1)*BLOCK_M): one pass over the classes keeps a
    running max ``m``, the exp-sum ``s`` rescaled to it (online logsumexp), and the sums
    ``sum_c a`` and ``sum_c a * x``; it writes the loss, ``lse = m + log(s)`` and the
    target's weight (the weighted-mean denominator) of each row."""
    smoothing = compute_scalar(smoothing, ACC)  # the float64 label smoothing, rounded once
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_mask = rows < M
    t, valid, row_weight = _row_targets(target_ptr, weight_ptr, rows, row_mask, t_stride_m,
                                        ignore_index, C, PROBS, HAS_WEIGHT, ACC)
    m = tl.full([BLOCK_M], float("-inf"), ACC)
    s = tl.zeros([BLOCK_M], ACC)
    a_sum = tl.zeros([BLOCK_M], ACC)
    ax_sum = tl.zeros([BLOCK_M], ACC)
    for start in range(0, C, BLOCK_C):
        cols = start + tl.arange(0, BLOCK_C)
        col_mask = cols < C
        mask = row_mask[:, None] & col_mask[None, :]
        offsets = rows[:, None] * stride_m + cols.to(tl.int64)[None, :] * stride_c
        x = tl.load(x_ptr + offsets, mask=mask, other=float("-inf")).to(ACC)
        m, s = online_exp_sum(m, s, x, 1)
        a, reads = _coefficients(target_ptr, weight_ptr, rows, row_mask, cols, col_mask, t,
                                 t_stride_m, t_stride_c, C, smoothing, PROBS,
                                 HAS_WEIGHT, ACC)
        a_sum += tl.sum(a, 1)
        ax_sum += tl.sum(tl.where(reads, a * x, 0.0), 1)
    # NaN unless the row's maximum is finite and it has no NaN (see online_exp_sum):
    # m = -inf gives -inf + log(0) = -inf, and the loss -inf * a_sum - (-inf) = NaN
    lse = m + tl.log(s)
    loss = tl.where(valid, lse * a_sum - ax_sum, 0.0)
    tl.store(loss_ptr + rows, loss.to(loss_ptr.dtype.element_ty), mask=row_mask)
    tl.store(lse_ptr + rows, lse.to(lse_ptr.dtype.element_ty), mask=row_mask)
    tl.store(row_weight_ptr + rows, row_weight.to(row_weight_ptr.dtype.element_ty), mask=row_mask)
    if not PROBS:  # last: nothing of the main loop is live across the error-flag atomics
        _report_bad_targets(target_ptr, rows, row_mask, t_stride_m, ignore_index, C, err_ptr,
                            err_code)


@triton.jit
def cross_entropy_backward_kernel(x_ptr, target_ptr, weight_ptr, lse_ptr, grad_ptr, out_ptr,
                                  M, C, stride_m, stride_c, t_stride_m, t_stride_c, grad_stride,
                                  ignore_index, smoothing: tl.float64,
                                  PROBS: tl.constexpr, HAS_WEIGHT: tl.constexpr,
                                  ACC: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr):
    """Program i writes the logits' gradient of rows [i*BLOCK_M, (i+1)*BLOCK_M):
    ``g * (exp(x - lse) * sum_c a - a)``, the softmax recomputed chunk by chunk from the
    saved ``lse``. A first pass over the classes sums the coefficients ``a`` when they are
    not 1 per row (weights or probability targets)."""
    smoothing = compute_scalar(smoothing, ACC)  # the float64 label smoothing, rounded once
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_mask = rows < M
    t, valid, row_weight = _row_targets(target_ptr, weight_ptr, rows, row_mask, t_stride_m,
                                        ignore_index, C, PROBS, HAS_WEIGHT, ACC)
    g = tl.load(grad_ptr + rows * grad_stride, mask=row_mask, other=0).to(ACC)
    g = tl.where(valid, g, 0.0)
    lse = tl.load(lse_ptr + rows, mask=row_mask, other=0).to(ACC)
    if PROBS or HAS_WEIGHT:
        a_sum = tl.zeros([BLOCK_M], ACC)
        for start in range(0, C, BLOCK_C):
            cols = start + tl.arange(0, BLOCK_C)
            a, _ = _coefficients(target_ptr, weight_ptr, rows, row_mask, cols, cols < C, t,
                                 t_stride_m, t_stride_c, C, smoothing, PROBS,
                                 HAS_WEIGHT, ACC)
            a_sum += tl.sum(a, 1)
    else:
        a_sum = tl.where(valid, 1.0, 0.0).to(ACC)
    for start in range(0, C, BLOCK_C):
        cols = start + tl.arange(0, BLOCK_C)
        col_mask = cols < C
        mask = row_mask[:, None] & col_mask[None, :]
        offsets = rows[:, None] * stride_m + cols.to(tl.int64)[None, :] * stride_c
        x = tl.load(x_ptr + offsets, mask=mask, other=float("-inf")).to(ACC)
        a, _ = _coefficients(target_ptr, weight_ptr, rows, row_mask, cols, col_mask, t,
                             t_stride_m, t_stride_c, C, smoothing, PROBS,
                             HAS_WEIGHT, ACC)
        softmax = tl.exp(x - lse[:, None])  # NaN across a NaN row, also where g = 0
        grad = g[:, None] * (softmax * a_sum[:, None] - a)
        out_offsets = rows[:, None] * C + cols[None, :]
        tl.store(out_ptr + out_offsets, grad.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def nll_loss_forward_kernel(x_ptr, target_ptr, weight_ptr, loss_ptr, row_weight_ptr,
                            M, C, stride_m, stride_c, t_stride, ignore_index, err_ptr, err_code,
                            HAS_WEIGHT: tl.constexpr, ACC: tl.constexpr, BLOCK_M: tl.constexpr):
    """Program i handles BLOCK_M rows: it reads each row's target index, then only the one
    log-probability ``x[row, target]`` (no gather of whole rows), and writes
    ``-w[target] * x[row, target]`` and ``w[target]`` (both 0 on ignored rows)."""
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_mask = rows < M
    t = tl.load(target_ptr + rows * t_stride, mask=row_mask, other=ignore_index)
    valid = row_mask & (t != ignore_index)
    bad = valid & ((t < 0) | (t >= C))  # reported, then treated as ignored
    report_bad_indices(err_ptr, t, bad, C, err_code)
    valid = valid & (t >= 0) & (t < C)
    t = tl.where(valid, t, 0)
    x = tl.load(x_ptr + rows * stride_m + t * stride_c, mask=valid, other=0).to(ACC)
    if HAS_WEIGHT:
        w = tl.load(weight_ptr + t, mask=valid, other=0).to(ACC)
    else:
        w = tl.where(valid, 1.0, 0.0).to(ACC)
    tl.store(loss_ptr + rows, (-w * x).to(loss_ptr.dtype.element_ty), mask=row_mask)
    tl.store(row_weight_ptr + rows, w.to(row_weight_ptr.dtype.element_ty), mask=row_mask)


@triton.jit
def nll_loss_backward_kernel(target_ptr, weight_ptr, grad_ptr, out_ptr, M, C, t_stride,
                             grad_stride, ignore_index,
                             HAS_WEIGHT: tl.constexpr, ACC: tl.constexpr,
                             BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr):
    """Program (i, j) writes the (BLOCK_M, BLOCK_C) tile (rows of block i, classes of block j)
    of the gradient: ``-w[t] * g`` at each row's target class, 0 elsewhere."""
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    row_mask = rows < M
    t = tl.load(target_ptr + rows * t_stride, mask=row_mask, other=ignore_index)
    valid = row_mask & (t != ignore_index) & (t >= 0) & (t < C)
    t = tl.where(valid, t, -1)
    g = tl.load(grad_ptr + rows * grad_stride, mask=row_mask, other=0).to(ACC)
    if HAS_WEIGHT:
        w = tl.load(weight_ptr + tl.where(valid, t, 0), mask=valid, other=0).to(ACC)
    else:
        w = tl.where(valid, 1.0, 0.0).to(ACC)
    value = tl.where(cols[None, :] == t[:, None], (-w * g)[:, None], 0.0)
    mask = row_mask[:, None] & (cols < C)[None, :]
    tl.store(out_ptr + rows[:, None] * C + cols[None, :], value.to(out_ptr.dtype.element_ty),
             mask=mask)


# Binary cross-entropy with logits -----------------------------------------------------------
# Elementwise over the input's shape. Operands are read through 6-d strides (0 on broadcast
# dims: a (C,) pos_weight against (N, C) logits) when STRIDED, else at the flat index (all
# contiguous, of the input's shape). Math in COMPUTE (fp32 for fp32 and the half types).
BCE_BLOCK = 1024
BCE_NUM_WARPS = 8
_BCE_UNSPECIALIZED = ("size1", "size2", "size3", "size4", "size5") + tuple(
    f"s{name}{i}" for name in ("g", "x", "y", "w", "p") for i in range(6))


@triton.jit
def _bce_coords(idx, size1, size2, size3, size4, size5, STRIDED: tl.constexpr,
                INDEX32: tl.constexpr):
    """The 6-d coordinates of flat indices ``idx`` when STRIDED (computed once, shared by
    every operand), else ``idx`` six times (unused)."""
    if STRIDED:
        i0, i1, i2, i3, i4, i5 = _coords(idx, size1, size2, size3, size4, size5, INDEX32)
    else:
        i0, i1, i2, i3, i4, i5 = idx, idx, idx, idx, idx, idx
    return i0, i1, i2, i3, i4, i5


@triton.jit
def _bce_offsets(idx, i0, i1, i2, i3, i4, i5, s0, s1, s2, s3, s4, s5, STRIDED: tl.constexpr):
    """Element offsets in one operand (strides ``s0..s5``): from the coordinates when
    STRIDED, else the flat index itself."""
    if STRIDED:
        return offset6(i0, i1, i2, i3, i4, i5, s0, s1, s2, s3, s4, s5)
    else:
        return idx


@triton.jit(do_not_specialize=_BCE_UNSPECIALIZED)
def bce_with_logits_kernel(out_ptr, x_ptr, y_ptr, w_ptr, p_ptr, n,
                           size1, size2, size3, size4, size5,
                           sx0, sx1, sx2, sx3, sx4, sx5,
                           sy0, sy1, sy2, sy3, sy4, sy5,
                           sw0, sw1, sw2, sw3, sw4, sw5,
                           sp0, sp1, sp2, sp3, sp4, sp5,
                           HAS_WEIGHT: tl.constexpr, HAS_POS_WEIGHT: tl.constexpr,
                           COMPUTE: tl.constexpr, STRIDED: tl.constexpr, INDEX32: tl.constexpr,
                           BLOCK: tl.constexpr):
    """Each program computes BLOCK consecutive elements of the (contiguous) loss
    ``w * ((1 - y) x + (1 + (pw - 1) y) * softplus(-x))``, with the overflow-free
    ``softplus(-x) = max(-x, 0) + log1p(exp(-|x|))``; ``w_ptr``/``p_ptr`` are read only when
    HAS_WEIGHT/HAS_POS_WEIGHT."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n  # the last block is partial
    i0, i1, i2, i3, i4, i5 = _bce_coords(idx, size1, size2, size3, size4, size5, STRIDED, INDEX32)
    x_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sx0, sx1, sx2, sx3, sx4, sx5, STRIDED)
    y_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sy0, sy1, sy2, sy3, sy4, sy5, STRIDED)
    x = tl.load(x_ptr + x_off, mask=mask, other=0).to(COMPUTE)
    y = tl.load(y_ptr + y_off, mask=mask, other=0).to(COMPUTE)
    softplus_neg = tl.maximum(-x, 0.0) + _log1p(tl.exp(-tl.abs(x)))
    if HAS_POS_WEIGHT:
        p_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sp0, sp1, sp2, sp3, sp4, sp5, STRIDED)
        pw = tl.load(p_ptr + p_off, mask=mask, other=1).to(COMPUTE)
        softplus_neg = softplus_neg * ((pw - 1.0) * y + 1.0)
    loss = (1.0 - y) * x + softplus_neg
    if HAS_WEIGHT:
        w_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sw0, sw1, sw2, sw3, sw4, sw5, STRIDED)
        loss = loss * tl.load(w_ptr + w_off, mask=mask, other=0).to(COMPUTE)
    tl.store(out_ptr + idx, loss.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit(do_not_specialize=_BCE_UNSPECIALIZED)
def bce_with_logits_backward_kernel(out_ptr, g_ptr, x_ptr, y_ptr, w_ptr, p_ptr,
                                    scale: tl.float64, n,
                                    size1, size2, size3, size4, size5,
                                    sg0, sg1, sg2, sg3, sg4, sg5,
                                    sx0, sx1, sx2, sx3, sx4, sx5,
                                    sy0, sy1, sy2, sy3, sy4, sy5,
                                    sw0, sw1, sw2, sw3, sw4, sw5,
                                    sp0, sp1, sp2, sp3, sp4, sp5,
                                    HAS_WEIGHT: tl.constexpr, HAS_POS_WEIGHT: tl.constexpr,
                                    COMPUTE: tl.constexpr, STRIDED: tl.constexpr,
                                    INDEX32: tl.constexpr, BLOCK: tl.constexpr):
    """Each program computes BLOCK consecutive elements of the input's gradient
    ``((1 + (pw - 1) y) sigmoid(x) - pw y) * g * w * scale`` (``sigmoid(x) - y`` without
    pos_weight); ``g`` is usually a broadcast scalar (stride 0 everywhere) and ``scale`` the
    'mean' reduction's 1/numel."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    i0, i1, i2, i3, i4, i5 = _bce_coords(idx, size1, size2, size3, size4, size5, STRIDED, INDEX32)
    g_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sg0, sg1, sg2, sg3, sg4, sg5, STRIDED)
    x_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sx0, sx1, sx2, sx3, sx4, sx5, STRIDED)
    y_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sy0, sy1, sy2, sy3, sy4, sy5, STRIDED)
    x = tl.load(x_ptr + x_off, mask=mask, other=0).to(COMPUTE)
    y = tl.load(y_ptr + y_off, mask=mask, other=0).to(COMPUTE)
    sigmoid = _sigmoid(x)
    if HAS_POS_WEIGHT:
        p_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sp0, sp1, sp2, sp3, sp4, sp5, STRIDED)
        t = tl.load(p_ptr + p_off, mask=mask, other=1).to(COMPUTE) * y
        d = (t + 1.0 - y) * sigmoid - t
    else:
        d = sigmoid - y
    d = d * tl.load(g_ptr + g_off, mask=mask, other=0).to(COMPUTE)
    if HAS_WEIGHT:
        w_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sw0, sw1, sw2, sw3, sw4, sw5, STRIDED)
        d = d * tl.load(w_ptr + w_off, mask=mask, other=0).to(COMPUTE)
    d = d * compute_scalar(scale, COMPUTE)  # the float64 scale, rounded once
    tl.store(out_ptr + idx, d.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit(do_not_specialize=_BCE_UNSPECIALIZED)
def bce_kernel(out_ptr, x_ptr, y_ptr, w_ptr, n,
               size1, size2, size3, size4, size5,
               sx0, sx1, sx2, sx3, sx4, sx5,
               sy0, sy1, sy2, sy3, sy4, sy5,
               sw0, sw1, sw2, sw3, sw4, sw5,
               HAS_WEIGHT: tl.constexpr, COMPUTE: tl.constexpr, STRIDED: tl.constexpr,
               INDEX32: tl.constexpr, BLOCK: tl.constexpr):
    """Each program computes BLOCK consecutive elements of the (contiguous) binary
    cross-entropy of probabilities ``w * ((y - 1) max(log1p(-x), -100) - y max(log(x), -100))``
    (PyTorch clamps each log at -100; a NaN stays NaN)."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n  # the last block is partial
    i0, i1, i2, i3, i4, i5 = _bce_coords(idx, size1, size2, size3, size4, size5, STRIDED, INDEX32)
    x_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sx0, sx1, sx2, sx3, sx4, sx5, STRIDED)
    y_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sy0, sy1, sy2, sy3, sy4, sy5, STRIDED)
    x = tl.load(x_ptr + x_off, mask=mask, other=0.5).to(COMPUTE)
    y = tl.load(y_ptr + y_off, mask=mask, other=0).to(COMPUTE)
    log_x = tl.log(x)
    log_1mx = _log1p(-x)
    log_x = tl.where(log_x < -100.0, -100.0, log_x)  # a where, not maximum: NaN stays NaN
    log_1mx = tl.where(log_1mx < -100.0, -100.0, log_1mx)
    loss = (y - 1.0) * log_1mx - y * log_x
    if HAS_WEIGHT:
        w_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sw0, sw1, sw2, sw3, sw4, sw5, STRIDED)
        loss = loss * tl.load(w_ptr + w_off, mask=mask, other=0).to(COMPUTE)
    tl.store(out_ptr + idx, loss.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit(do_not_specialize=_BCE_UNSPECIALIZED)
def bce_backward_kernel(out_ptr, g_ptr, x_ptr, y_ptr, w_ptr, scale: tl.float64, n,
                        size1, size2, size3, size4, size5,
                        sg0, sg1, sg2, sg3, sg4, sg5,
                        sx0, sx1, sx2, sx3, sx4, sx5,
                        sy0, sy1, sy2, sy3, sy4, sy5,
                        sw0, sw1, sw2, sw3, sw4, sw5,
                        HAS_WEIGHT: tl.constexpr, COMPUTE: tl.constexpr, STRIDED: tl.constexpr,
                        INDEX32: tl.constexpr, BLOCK: tl.constexpr):
    """Each program computes BLOCK consecutive elements of the input's gradient
    ``(x - y) / max((1 - x) x, 1e-12) * g * w * scale`` (PyTorch's
    ``binary_cross_entropy_backward``; ``g`` usually a broadcast scalar)."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    i0, i1, i2, i3, i4, i5 = _bce_coords(idx, size1, size2, size3, size4, size5, STRIDED, INDEX32)
    g_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sg0, sg1, sg2, sg3, sg4, sg5, STRIDED)
    x_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sx0, sx1, sx2, sx3, sx4, sx5, STRIDED)
    y_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sy0, sy1, sy2, sy3, sy4, sy5, STRIDED)
    x = tl.load(x_ptr + x_off, mask=mask, other=0.5).to(COMPUTE)
    y = tl.load(y_ptr + y_off, mask=mask, other=0).to(COMPUTE)
    denominator = (1.0 - x) * x
    denominator = tl.where(denominator < 1e-12, 1e-12, denominator)
    d = _div(x - y, denominator) * tl.load(g_ptr + g_off, mask=mask, other=0).to(COMPUTE)
    if HAS_WEIGHT:
        w_off = _bce_offsets(idx, i0, i1, i2, i3, i4, i5, sw0, sw1, sw2, sw3, sw4, sw5, STRIDED)
        d = d * tl.load(w_ptr + w_off, mask=mask, other=0).to(COMPUTE)
    d = d * compute_scalar(scale, COMPUTE)  # the float64 scale, rounded once
    tl.store(out_ptr + idx, d.to(out_ptr.dtype.element_ty), mask=mask)


# Compile checks (tests/test_compile.py): each kernel at representative dtypes and tiles.
_CE = {"BLOCK_M": 2, "BLOCK_C": 1024}
_SPECS = [
    {"kernel": "cross_entropy_forward_kernel", "label": "indices-fp32", "no_spills": True,
     "signature": {"x_ptr": "*fp32", "target_ptr": "*i64", "weight_ptr": "*fp32",
                   "loss_ptr": "*fp32", "lse_ptr": "*fp32", "row_weight_ptr": "*fp32",
                   "ignore_index": "i64", "smoothing": "fp64",
                   "err_ptr": "*i64"},
     "constexprs": {"PROBS": False, "HAS_WEIGHT": True, "ACC": "tl.float32", **_CE}},
    {"kernel": "cross_entropy_forward_kernel", "label": "probs-bf16", "no_spills": True,
     "signature": {"x_ptr": "*bf16", "target_ptr": "*bf16", "weight_ptr": "*bf16",
                   "loss_ptr": "*fp32", "lse_ptr": "*fp32", "row_weight_ptr": "*fp32",
                   "ignore_index": "i64", "smoothing": "fp64",
                   "err_ptr": "*i64"},
     "constexprs": {"PROBS": True, "HAS_WEIGHT": False, "ACC": "tl.float32",
                    "BLOCK_M": 64, "BLOCK_C": 32}},
    {"kernel": "cross_entropy_backward_kernel", "label": "indices-fp16", "no_spills": True,
     "signature": {"x_ptr": "*fp16", "target_ptr": "*i64", "weight_ptr": "*fp16",
                   "lse_ptr": "*fp32", "grad_ptr": "*fp32", "out_ptr": "*fp16",
                   "ignore_index": "i64", "smoothing": "fp64"},
     "constexprs": {"PROBS": False, "HAS_WEIGHT": True, "ACC": "tl.float32", **_CE}},
    {"kernel": "cross_entropy_backward_kernel", "label": "probs-fp64", "no_spills": True,
     "signature": {"x_ptr": "*fp64", "target_ptr": "*fp64", "weight_ptr": "*fp64",
                   "lse_ptr": "*fp64", "grad_ptr": "*fp64", "out_ptr": "*fp64",
                   "ignore_index": "i64", "smoothing": "fp64"},
     "constexprs": {"PROBS": True, "HAS_WEIGHT": True, "ACC": "tl.float64", **_CE}},
    {"kernel": "nll_loss_forward_kernel", "label": "fp32", "no_spills": True,
     "signature": {"x_ptr": "*fp32", "target_ptr": "*i64", "weight_ptr": "*fp32",
                   "loss_ptr": "*fp32", "row_weight_ptr": "*fp32", "ignore_index": "i64",
                   "err_ptr": "*i64"},
     "constexprs": {"HAS_WEIGHT": True, "ACC": "tl.float32", "BLOCK_M": 1024}},
    {"kernel": "nll_loss_backward_kernel", "label": "bf16", "no_spills": True,
     "signature": {"target_ptr": "*i64", "weight_ptr": "*bf16", "grad_ptr": "*fp32",
                   "out_ptr": "*bf16", "ignore_index": "i64"},
     "constexprs": {"HAS_WEIGHT": True, "ACC": "tl.float32", "BLOCK_M": 16, "BLOCK_C": 128}},
]
COMPILE_SPECS = [dict(spec, num_warps=NUM_WARPS) for spec in _SPECS]
_BCE = {"BLOCK": BCE_BLOCK}
COMPILE_SPECS += [
    {"kernel": "bce_with_logits_kernel", "label": "fp32-strided", "no_spills": True,
     "num_warps": BCE_NUM_WARPS,
     "signature": {"out_ptr": "*fp32", "x_ptr": "*fp32", "y_ptr": "*fp32", "w_ptr": "*fp32",
                   "p_ptr": "*fp32"},
     "constexprs": {"HAS_WEIGHT": True, "HAS_POS_WEIGHT": True, "COMPUTE": "tl.float32",
                    "STRIDED": True, "INDEX32": True, **_BCE}},
    {"kernel": "bce_with_logits_kernel", "label": "bf16-flat", "no_spills": True,
     "num_warps": BCE_NUM_WARPS,
     "signature": {"out_ptr": "*bf16", "x_ptr": "*bf16", "y_ptr": "*bf16", "w_ptr": "*bf16",
                   "p_ptr": "*bf16"},
     "constexprs": {"HAS_WEIGHT": False, "HAS_POS_WEIGHT": False, "COMPUTE": "tl.float32",
                    "STRIDED": False, "INDEX32": True, **_BCE}},
    {"kernel": "bce_with_logits_backward_kernel", "label": "fp32-scalar-grad", "no_spills": True,
     "num_warps": BCE_NUM_WARPS,
     "signature": {"out_ptr": "*fp32", "g_ptr": "*fp32", "x_ptr": "*fp32", "y_ptr": "*fp32",
                   "w_ptr": "*fp32", "p_ptr": "*fp32", "scale": "fp64"},
     "constexprs": {"HAS_WEIGHT": True, "HAS_POS_WEIGHT": True, "COMPUTE": "tl.float32",
                    "STRIDED": True, "INDEX32": False, **_BCE}},
    {"kernel": "bce_with_logits_backward_kernel", "label": "fp64-flat", "no_spills": True,
     "num_warps": BCE_NUM_WARPS,
     "signature": {"out_ptr": "*fp64", "g_ptr": "*fp64", "x_ptr": "*fp64", "y_ptr": "*fp64",
                   "w_ptr": "*fp64", "p_ptr": "*fp64", "scale": "fp64"},
     "constexprs": {"HAS_WEIGHT": False, "HAS_POS_WEIGHT": False, "COMPUTE": "tl.float64",
                    "STRIDED": False, "INDEX32": True, **_BCE}},
]
COMPILE_SPECS += [
    {"kernel": "bce_kernel", "label": "fp32-strided", "no_spills": True,
     "num_warps": BCE_NUM_WARPS,
     "signature": {"out_ptr": "*fp32", "x_ptr": "*fp32", "y_ptr": "*fp32", "w_ptr": "*fp32"},
     "constexprs": {"HAS_WEIGHT": True, "COMPUTE": "tl.float32", "STRIDED": True,
                    "INDEX32": True, **_BCE}},
    {"kernel": "bce_backward_kernel", "label": "fp16-flat", "no_spills": True,
     "num_warps": BCE_NUM_WARPS,
     "signature": {"out_ptr": "*fp16", "g_ptr": "*fp16", "x_ptr": "*fp16", "y_ptr": "*fp16",
                   "w_ptr": "*fp16", "scale": "fp64"},
     "constexprs": {"HAS_WEIGHT": False, "COMPUTE": "tl.float32", "STRIDED": False,
                    "INDEX32": True, **_BCE}},
    {"kernel": "bce_backward_kernel", "label": "fp64-strided", "no_spills": True,
     "num_warps": BCE_NUM_WARPS,
     "signature": {"out_ptr": "*fp64", "g_ptr": "*fp64", "x_ptr": "*fp64", "y_ptr": "*fp64",
                   "w_ptr": "*fp64", "scale": "fp64"},
     "constexprs": {"HAS_WEIGHT": True, "COMPUTE": "tl.float64", "STRIDED": True,
                    "INDEX32": False, **_BCE}},
]
