"""Flash attention: fused scaled dot-product attention, forward and backward.

After the Triton fused-attention tutorial (FlashAttention-2). The batch dims
of an operand reach a kernel as two strided dims ``(Z, H)`` (``bh = z * H +
h`` is grid axis 0); rows, columns and head dims are strided too, so
transposed heads and broadcast (stride 0) operands are read where they lie.
Outputs are contiguous. The L x S score matrix never exists in memory: each
program keeps one tile of it in registers.

- ``attention_fwd_kernel``: program ``(bh, m)`` owns BLOCK_M query rows. It
  walks the keys in blocks of BLOCK_N with an online softmax (running row max
  ``m_i`` and running sum ``l_i``; the accumulator is rescaled by
  ``exp(m_old - m_new)`` when the max grows), then writes ``acc / l_i`` and
  the row logsumexp ``m_i + log(l_i)`` for the backward.
- ``attention_bwd_preprocess_kernel``: ``delta = rowsum(dO * O)``.
- ``attention_bwd_dkdv_kernel``: program ``(bh, n)`` owns BLOCK_N keys and
  loops over the query blocks: ``dV += P^T dO``, ``dK += dS^T Q * scale``.
- ``attention_bwd_dq_kernel``: program ``(bh, m)`` owns BLOCK_M queries and
  loops over the key blocks: ``dQ += dS K * scale``. Separate from dK/dV, so
  no atomics: the gradients are deterministic.

Masks: columns past S and rows past L are masked out (their loads bounded by
the ``mask=`` of every ``tl.load``), causal blocks entirely above the
diagonal are skipped (``j <= i``, top-left aligned), a bool attention mask
(``MASK_KIND=1``) removes keys where it is False and a float one
(``MASK_KIND=2``) is added to the scores; both are read as tiles through
their strides (0 on broadcast dims). A row with no allowed key keeps
``l_i = 0``: its output is 0 and its logsumexp -inf (the backward then
gives it weight 0). Dropout (``DROPOUT``) keeps weight (i, j) of batch entry
``bh`` when ``tl.rand(seed, offset + (bh * L + i) * S + j) >= dropout_p``
and scales it by ``keep_scale = 1 / (1 - dropout_p)``; the backward
regenerates the same mask from the same counters.

Math is in ``ACC`` (fp32; fp64 for float64 inputs). fp16/bf16 tiles go to
``tl.dot`` as they are (tensor cores) with fp32 accumulation; ``UPCAST``
(bfloat16 under the interpreter only, whose dot multiplies bf16 bit patterns
as integers) upcasts the tiles to fp32 first, and stores round to bf16 by
hand. Head dims are constexpr powers of two (BLOCK_E, BLOCK_EV >= 16, what
``tl.dot`` needs) with masks for the real E and Ev.
"""
import triton
import triton.language as tl

from .matmul import _round_to_bf16
from .scalars import compute_scalar

# Tile sizes on a GPU by the padded head dim (the larger of BLOCK_E and BLOCK_EV) and the
# element size: (BLOCK_M, BLOCK_N, num_warps) of the forward and of the backward kernels.
# Chosen with ptxas -v (float mask and dropout on, the heaviest variant; sm_90 for every
# row up to head 128 but fp64 at 128, sm_80 too for the COMPILE_SPECS below): the largest
# tiles without register spills. fp32 "ieee" dots run on FMA units and need more registers
# than the half types' tensor-core dots. Heads over 128 get 16 x 16 tiles, not tuned.
_GPU_TILES = {
    (64, 2): {"fwd": (64, 64, 8), "bwd": (64, 32, 8)},
    (128, 2): {"fwd": (64, 32, 8), "bwd": (32, 32, 8)},
    (64, 4): {"fwd": (64, 32, 8), "bwd": (64, 32, 8)},
    (128, 4): {"fwd": (32, 32, 8), "bwd": (32, 32, 8)},
    (64, 8): {"fwd": (32, 32, 4), "bwd": (16, 16, 4)},
    (128, 8): {"fwd": (16, 16, 4), "bwd": (16, 16, 4)},
}

INTERPRETER_BLOCK = 16  # each program instance costs ~1.5 ms there: few, small programs


def head_block(size: int) -> int:
    """The constexpr head dim: ``size`` rounded up to a power of two, at least 16."""
    return max(16, triton.next_power_of_2(max(size, 1)))


def default_tiles(head: int, itemsize: int, which: str, interpreter: bool) -> tuple:
    """``(BLOCK_M, BLOCK_N, num_warps)`` of the ``which`` ('fwd' or 'bwd') kernels."""
    if interpreter:
        return INTERPRETER_BLOCK, INTERPRETER_BLOCK, 4
    if head > 128:
        return 16, 16, 4
    return _GPU_TILES[(64 if head <= 64 else 128, itemsize)][which]


@triton.jit
def _scores(a, b, rows, cols, L, S, mask_ptrs, scale,
            IS_CAUSAL: tl.constexpr, MASK_KIND: tl.constexpr, ACC: tl.constexpr,
            INPUT_PRECISION: tl.constexpr):
    """A score tile ``dot(a, b) * scale`` (+ float mask), -inf where a key takes no part.

    ``(a, b)`` is ``(Q, K^T)`` for a (query, key) tile or ``(K, Q^T)`` for its
    transpose; ``rows`` / ``cols`` are the query / key indices broadcast to
    the tile's orientation, ``mask_ptrs`` the mask addresses of the tile.
    """
    s = tl.dot(a, b, input_precision=INPUT_PRECISION, out_dtype=ACC) * scale
    inside = (rows < L) & (cols < S)
    allowed = inside
    if IS_CAUSAL:
        allowed = allowed & (cols <= rows)
    if MASK_KIND == 1:
        keep = tl.load(mask_ptrs, mask=inside, other=0)
        allowed = allowed & (keep != 0)
    if MASK_KIND == 2:
        s += tl.load(mask_ptrs, mask=inside, other=0.0).to(ACC)
    return tl.where(allowed, s, float("-inf"))


@triton.jit
def _dropout_keep(seed, rng_offset, bh, rows, cols, L, S, dropout_p):
    """True where weight (row, col) of batch entry ``bh`` survives dropout (Philox counters)."""
    idx = (bh * L + rows) * S + cols
    return tl.rand(seed, (rng_offset + idx).to(tl.uint32)) >= dropout_p


@triton.jit
def _to_output(x, out_ptr, UPCAST: tl.constexpr):
    """``x`` cast to the element type of ``out_ptr`` (bf16 rounded to nearest under UPCAST)."""
    if UPCAST:
        return _round_to_bf16(x.to(tl.float32))
    return x.to(out_ptr.dtype.element_ty)


@triton.jit
def _load_tile(base, offs_r, offs_c, stride_r, stride_c, n_r, n_c, UPCAST: tl.constexpr):
    """The (len(offs_r), len(offs_c)) tile ``base[r * stride_r + c * stride_c]``, 0 outside (n_r, n_c)."""
    x = tl.load(base + offs_r[:, None] * stride_r + offs_c[None, :] * stride_c,
                mask=(offs_r[:, None] < n_r) & (offs_c[None, :] < n_c), other=0.0)
    if UPCAST:
        x = x.to(tl.float32)
    return x


@triton.jit
def attention_fwd_kernel(q_ptr, k_ptr, v_ptr, mask_ptr, out_ptr, lse_ptr,
                         H, L, S, E, EV,
                         stride_qz, stride_qh, stride_qm, stride_qe,
                         stride_kz, stride_kh, stride_kn, stride_ke,
                         stride_vz, stride_vh, stride_vn, stride_ve,
                         stride_mz, stride_mh, stride_mm, stride_mn,
                         scale: tl.float64, dropout_p: tl.float64, keep_scale: tl.float64, seed, rng_offset,
                         BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                         BLOCK_E: tl.constexpr, BLOCK_EV: tl.constexpr,
                         IS_CAUSAL: tl.constexpr, MASK_KIND: tl.constexpr,
                         DROPOUT: tl.constexpr, ACC: tl.constexpr,
                         INPUT_PRECISION: tl.constexpr, UPCAST: tl.constexpr):
    """Program (bh, m): output rows [m*BLOCK_M, (m+1)*BLOCK_M) of batch entry bh, and their logsumexp.

    Grid: axis 0 = Z*H batch entries, axis 1 = cdiv(L, BLOCK_M) query blocks.
    Batch offsets are int64 scalars; offsets inside one entry are int32.
    """
    scale, keep_scale = compute_scalar(scale, ACC), compute_scalar(keep_scale, ACC)
    dropout_p = compute_scalar(dropout_p, tl.float32)  # compared with tl.rand's float32
    bh = tl.program_id(0).to(tl.int64)
    pid_m = tl.program_id(1)
    z = bh // H
    h = bh % H
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_e = tl.arange(0, BLOCK_E)
    offs_ev = tl.arange(0, BLOCK_EV)
    row_ok = offs_m < L

    # The query tile stays in registers for the whole key loop (padded head dims load 0).
    q = _load_tile(q_ptr + z * stride_qz + h * stride_qh, offs_m, offs_e, stride_qm, stride_qe,
                   L, E, UPCAST)
    k_base = k_ptr + z * stride_kz + h * stride_kh
    v_base = v_ptr + z * stride_vz + h * stride_vh
    m_base = mask_ptr + z * stride_mz + h * stride_mh + offs_m[:, None] * stride_mm

    m_i = tl.full((BLOCK_M,), float("-inf"), dtype=ACC)
    l_i = tl.zeros((BLOCK_M,), dtype=ACC)
    acc = tl.zeros((BLOCK_M, BLOCK_EV), dtype=ACC)
    # Causal: keys past this block's last row are masked for every row: skip their blocks.
    hi = S
    if IS_CAUSAL:
        hi = tl.minimum(S, (pid_m + 1) * BLOCK_M)
    for start_n in range(0, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        k_t = _load_tile(k_base, offs_e, offs_n, stride_ke, stride_kn, E, S, UPCAST)  # K^T
        v = _load_tile(v_base, offs_n, offs_ev, stride_vn, stride_ve, S, EV, UPCAST)
        s = _scores(q, k_t, offs_m[:, None], offs_n[None, :], L, S,
                    m_base + offs_n[None, :] * stride_mn, scale, IS_CAUSAL, MASK_KIND, ACC,
                    INPUT_PRECISION)
        # Online softmax. A row whose keys are all masked so far has max -inf: shift it by
        # 0 instead, so its weights are exp(-inf) = 0 rather than NaN.
        m_new = tl.maximum(m_i, tl.max(s, 1))
        shift = tl.where(m_new == float("-inf"), 0.0, m_new)
        alpha = tl.exp(m_i - shift)
        p = tl.exp(s - shift[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        if DROPOUT:
            keep = _dropout_keep(seed, rng_offset, bh, offs_m[:, None], offs_n[None, :], L, S,
                                 dropout_p)
            p = tl.where(keep, p * keep_scale, 0.0)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=INPUT_PRECISION,
                                            out_dtype=ACC)
        m_i = m_new

    empty_row = l_i == 0.0  # every key masked: output 0, logsumexp -inf
    out = acc / tl.where(empty_row, 1.0, l_i)[:, None]
    lse = tl.where(empty_row, float("-inf"), m_i + tl.log(tl.where(empty_row, 1.0, l_i)))
    out_ptrs = out_ptr + bh * L * EV + offs_m[:, None] * EV + offs_ev[None, :]
    tl.store(out_ptrs, _to_output(out, out_ptr, UPCAST), mask=row_ok[:, None] & (offs_ev[None, :] < EV))
    tl.store(lse_ptr + bh * L + offs_m, lse.to(lse_ptr.dtype.element_ty), mask=row_ok)


@triton.jit
def attention_bwd_preprocess_kernel(out_ptr, grad_ptr, delta_ptr, H, L, EV,
                                    stride_gz, stride_gh, stride_gm, stride_ge,
                                    BLOCK_M: tl.constexpr, BLOCK_EV: tl.constexpr,
                                    ACC: tl.constexpr):
    """Program (bh, m): ``delta[i] = sum_e dO[i, e] * O[i, e]`` for BLOCK_M rows of entry bh."""
    bh = tl.program_id(0).to(tl.int64)
    z = bh // H
    h = bh % H
    offs_m = tl.program_id(1) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_ev = tl.arange(0, BLOCK_EV)
    o = _load_tile(out_ptr + bh * L * EV, offs_m, offs_ev, EV, 1, L, EV, False)
    g = _load_tile(grad_ptr + z * stride_gz + h * stride_gh, offs_m, offs_ev, stride_gm, stride_ge,
                   L, EV, False)
    delta = tl.sum(o.to(ACC) * g.to(ACC), 1)
    tl.store(delta_ptr + bh * L + offs_m, delta, mask=offs_m < L)


@triton.jit
def attention_bwd_dkdv_kernel(q_ptr, k_ptr, v_ptr, mask_ptr, grad_ptr, lse_ptr, delta_ptr,
                              dk_ptr, dv_ptr, dmask_ptr,
                              H, L, S, E, EV,
                              stride_qz, stride_qh, stride_qm, stride_qe,
                              stride_kz, stride_kh, stride_kn, stride_ke,
                              stride_vz, stride_vh, stride_vn, stride_ve,
                              stride_mz, stride_mh, stride_mm, stride_mn,
                              stride_gz, stride_gh, stride_gm, stride_ge,
                              scale: tl.float64, dropout_p: tl.float64, keep_scale: tl.float64, seed, rng_offset,
                              BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                              BLOCK_E: tl.constexpr, BLOCK_EV: tl.constexpr,
                              IS_CAUSAL: tl.constexpr, MASK_KIND: tl.constexpr,
                              DROPOUT: tl.constexpr, MASK_GRAD: tl.constexpr, ACC: tl.constexpr,
                              INPUT_PRECISION: tl.constexpr, UPCAST: tl.constexpr):
    """Program (bh, n): dK and dV of keys [n*BLOCK_N, (n+1)*BLOCK_N) of batch entry bh.

    Grid: axis 0 = Z*H, axis 1 = cdiv(S, BLOCK_N). Loops over the query
    blocks (causal: from the first block holding a row >= the first key),
    working on transposed (key, query) tiles: ``S^T = K Q^T``, ``P^T``,
    ``dP^T = V dO^T``, ``dS^T = P^T * (dP^T - delta)``; then
    ``dV += P_drop^T dO`` and ``dK += dS^T Q``. With ``MASK_GRAD`` it also
    stores dS, the gradient of a float mask, into the contiguous (Z*H, L, S)
    ``dmask``.
    """
    scale, keep_scale = compute_scalar(scale, ACC), compute_scalar(keep_scale, ACC)
    dropout_p = compute_scalar(dropout_p, tl.float32)  # compared with tl.rand's float32
    bh = tl.program_id(0).to(tl.int64)
    pid_n = tl.program_id(1)
    z = bh // H
    h = bh % H
    start_n = pid_n * BLOCK_N
    offs_n = start_n + tl.arange(0, BLOCK_N)
    offs_e = tl.arange(0, BLOCK_E)
    offs_ev = tl.arange(0, BLOCK_EV)
    col_ok = offs_n < S

    k = _load_tile(k_ptr + z * stride_kz + h * stride_kh, offs_n, offs_e, stride_kn, stride_ke,
                   S, E, UPCAST)
    v = _load_tile(v_ptr + z * stride_vz + h * stride_vh, offs_n, offs_ev, stride_vn, stride_ve,
                   S, EV, UPCAST)
    q_base = q_ptr + z * stride_qz + h * stride_qh
    g_base = grad_ptr + z * stride_gz + h * stride_gh
    m_base = mask_ptr + z * stride_mz + h * stride_mh + offs_n[:, None] * stride_mn

    dk = tl.zeros((BLOCK_N, BLOCK_E), dtype=ACC)
    dv = tl.zeros((BLOCK_N, BLOCK_EV), dtype=ACC)
    lo = 0
    if IS_CAUSAL:
        lo = (start_n // BLOCK_M) * BLOCK_M  # earlier rows see none of these keys
    for start_m in range(lo, L, BLOCK_M):
        offs_m = start_m + tl.arange(0, BLOCK_M)
        row_ok = offs_m < L
        q = _load_tile(q_base, offs_m, offs_e, stride_qm, stride_qe, L, E, UPCAST)
        q_t = _load_tile(q_base, offs_e, offs_m, stride_qe, stride_qm, E, L, UPCAST)
        g = _load_tile(g_base, offs_m, offs_ev, stride_gm, stride_ge, L, EV, UPCAST)
        g_t = _load_tile(g_base, offs_ev, offs_m, stride_ge, stride_gm, EV, L, UPCAST)
        lse = tl.load(lse_ptr + bh * L + offs_m, mask=row_ok, other=0.0)
        delta = tl.load(delta_ptr + bh * L + offs_m, mask=row_ok, other=0.0)
        s_t = _scores(k, q_t, offs_m[None, :], offs_n[:, None], L, S,
                      m_base + offs_m[None, :] * stride_mm, scale, IS_CAUSAL, MASK_KIND, ACC,
                      INPUT_PRECISION)
        # P^T = exp(S^T - lse): weight 0 on rows with no allowed key (lse = -inf).
        p_t = tl.exp(s_t - tl.where(lse == float("-inf"), 0.0, lse)[None, :])
        dp_t = tl.dot(v, g_t, input_precision=INPUT_PRECISION, out_dtype=ACC)
        p_kept = p_t
        if DROPOUT:
            keep = _dropout_keep(seed, rng_offset, bh, offs_m[None, :], offs_n[:, None], L, S,
                                 dropout_p)
            p_kept = tl.where(keep, p_t * keep_scale, 0.0)
            dp_t = tl.where(keep, dp_t * keep_scale, 0.0)
        ds_t = p_t * (dp_t - delta[None, :])
        dv += tl.dot(p_kept.to(g.dtype), g, input_precision=INPUT_PRECISION, out_dtype=ACC)
        dk += tl.dot(ds_t.to(q.dtype), q, input_precision=INPUT_PRECISION, out_dtype=ACC)
        if MASK_GRAD:
            tl.store(dmask_ptr + bh * L * S + offs_m[None, :] * S + offs_n[:, None],
                     _to_output(ds_t, dmask_ptr, UPCAST), mask=row_ok[None, :] & col_ok[:, None])

    dk = dk * scale
    tl.store(dk_ptr + bh * S * E + offs_n[:, None] * E + offs_e[None, :],
             _to_output(dk, dk_ptr, UPCAST), mask=col_ok[:, None] & (offs_e[None, :] < E))
    tl.store(dv_ptr + bh * S * EV + offs_n[:, None] * EV + offs_ev[None, :],
             _to_output(dv, dv_ptr, UPCAST), mask=col_ok[:, None] & (offs_ev[None, :] < EV))


@triton.jit
def attention_bwd_dq_kernel(q_ptr, k_ptr, v_ptr, mask_ptr, grad_ptr, lse_ptr, delta_ptr, dq_ptr,
                            H, L, S, E, EV,
                            stride_qz, stride_qh, stride_qm, stride_qe,
                            stride_kz, stride_kh, stride_kn, stride_ke,
                            stride_vz, stride_vh, stride_vn, stride_ve,
                            stride_mz, stride_mh, stride_mm, stride_mn,
                            stride_gz, stride_gh, stride_gm, stride_ge,
                            scale: tl.float64, dropout_p: tl.float64, keep_scale: tl.float64, seed, rng_offset,
                            BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                            BLOCK_E: tl.constexpr, BLOCK_EV: tl.constexpr,
                            IS_CAUSAL: tl.constexpr, MASK_KIND: tl.constexpr,
                            DROPOUT: tl.constexpr, ACC: tl.constexpr,
                            INPUT_PRECISION: tl.constexpr, UPCAST: tl.constexpr):
    """Program (bh, m): dQ of query rows [m*BLOCK_M, (m+1)*BLOCK_M) of batch entry bh.

    Grid: axis 0 = Z*H, axis 1 = cdiv(L, BLOCK_M). Loops over the key blocks
    (causal: up to this block's last row), like the forward: ``P``,
    ``dP = dO V^T``, ``dS = P * (dP - delta)``, ``dQ += dS K``.
    """
    scale, keep_scale = compute_scalar(scale, ACC), compute_scalar(keep_scale, ACC)
    dropout_p = compute_scalar(dropout_p, tl.float32)  # compared with tl.rand's float32
    bh = tl.program_id(0).to(tl.int64)
    pid_m = tl.program_id(1)
    z = bh // H
    h = bh % H
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_e = tl.arange(0, BLOCK_E)
    offs_ev = tl.arange(0, BLOCK_EV)
    row_ok = offs_m < L

    q = _load_tile(q_ptr + z * stride_qz + h * stride_qh, offs_m, offs_e, stride_qm, stride_qe,
                   L, E, UPCAST)
    g = _load_tile(grad_ptr + z * stride_gz + h * stride_gh, offs_m, offs_ev, stride_gm, stride_ge,
                   L, EV, UPCAST)
    lse = tl.load(lse_ptr + bh * L + offs_m, mask=row_ok, other=0.0)
    delta = tl.load(delta_ptr + bh * L + offs_m, mask=row_ok, other=0.0)
    lse = tl.where(lse == float("-inf"), 0.0, lse)  # rows with no allowed key: weight 0
    k_base = k_ptr + z * stride_kz + h * stride_kh
    v_base = v_ptr + z * stride_vz + h * stride_vh
    m_base = mask_ptr + z * stride_mz + h * stride_mh + offs_m[:, None] * stride_mm

    dq = tl.zeros((BLOCK_M, BLOCK_E), dtype=ACC)
    hi = S
    if IS_CAUSAL:
        hi = tl.minimum(S, (pid_m + 1) * BLOCK_M)
    for start_n in range(0, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        k = _load_tile(k_base, offs_n, offs_e, stride_kn, stride_ke, S, E, UPCAST)
        k_t = _load_tile(k_base, offs_e, offs_n, stride_ke, stride_kn, E, S, UPCAST)
        v_t = _load_tile(v_base, offs_ev, offs_n, stride_ve, stride_vn, EV, S, UPCAST)
        s = _scores(q, k_t, offs_m[:, None], offs_n[None, :], L, S,
                    m_base + offs_n[None, :] * stride_mn, scale, IS_CAUSAL, MASK_KIND, ACC,
                    INPUT_PRECISION)
        p = tl.exp(s - lse[:, None])
        dp = tl.dot(g, v_t, input_precision=INPUT_PRECISION, out_dtype=ACC)
        if DROPOUT:
            keep = _dropout_keep(seed, rng_offset, bh, offs_m[:, None], offs_n[None, :], L, S,
                                 dropout_p)
            dp = tl.where(keep, dp * keep_scale, 0.0)
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(k.dtype), k, input_precision=INPUT_PRECISION, out_dtype=ACC)

    dq = dq * scale
    tl.store(dq_ptr + bh * L * E + offs_m[:, None] * E + offs_e[None, :],
             _to_output(dq, dq_ptr, UPCAST), mask=row_ok[:, None] & (offs_e[None, :] < E))


# --- compile specs (tests/test_compile.py compiles each for sm_90 and sm_80) --------------------
_TYPES = {2: ("bf16", "fp16"), 4: ("fp32",), 8: ("fp64",)}
_FLOAT_ARGS = {"scale": "fp64", "dropout_p": "fp64", "keep_scale": "fp64", "rng_offset": "i64"}


def _spec(kernel: str, dtype: str, head: int, which: str, mask: str = "*i1", no_spills=True,
          **flags) -> dict:
    """One compile spec of ``kernel`` for ``dtype`` at the GPU tiles of head dim ``head``."""
    itemsize = {"bf16": 2, "fp16": 2, "fp32": 4, "fp64": 8}[dtype]
    block_m, block_n, warps = default_tiles(head, itemsize, which, interpreter=False)
    constexprs = {"BLOCK_M": block_m, "BLOCK_N": block_n, "BLOCK_E": head, "BLOCK_EV": head,
                  "IS_CAUSAL": False, "MASK_KIND": 0, "DROPOUT": False,
                  "ACC": "tl.float64" if dtype == "fp64" else "tl.float32",
                  "INPUT_PRECISION": "ieee", "UPCAST": False}
    if kernel == "attention_bwd_dkdv_kernel":
        constexprs["MASK_GRAD"] = False
    # A launch specializes integer arguments equal to 1 as constants: contiguous head dims.
    unit_strides = {"stride_qe": 1, "stride_ke": 1, "stride_ve": 1, "stride_ge": 1}
    if flags.get("MASK_KIND"):
        unit_strides["stride_mn"] = 1
    names = set(globals()[kernel].arg_names)
    constexprs.update({k: v for k, v in unit_strides.items() if k in names})
    constexprs.update(flags)
    acc = "fp64" if dtype == "fp64" else "fp32"
    signature = {name: f"*{dtype}" for name in ("q_ptr", "k_ptr", "v_ptr", "out_ptr", "grad_ptr",
                                                 "dk_ptr", "dv_ptr", "dq_ptr", "dmask_ptr")}
    signature.update({"mask_ptr": mask, "lse_ptr": f"*{acc}", "delta_ptr": f"*{acc}", **_FLOAT_ARGS})
    signature = {k: v for k, v in signature.items() if k in names}
    label = f"{dtype}-e{head}-{block_m}x{block_n}" + "".join(
        f"-{k.lower()}" for k, v in flags.items() if v)
    return {"kernel": kernel, "label": label, "signature": signature, "constexprs": constexprs,
            "num_warps": warps, "num_stages": 2, "no_spills": no_spills,
            "sass": {90: "MMA", 80: "HMMA"} if itemsize == 2 else {}}


def _preprocess_spec(dtype: str, head: int) -> dict:
    acc = "fp64" if dtype == "fp64" else "fp32"
    return {"kernel": "attention_bwd_preprocess_kernel", "label": f"{dtype}-e{head}",
            "signature": {"out_ptr": f"*{dtype}", "grad_ptr": f"*{dtype}", "delta_ptr": f"*{acc}"},
            "constexprs": {"BLOCK_M": 64, "BLOCK_EV": head, "ACC": f"tl.float{acc[2:]}"},
            "num_warps": 4, "no_spills": True}


# One spec per kernel variant that matters (each costs seconds of the suite's compile check):
# the half-type tensor-core paths with causal + dropout, the float and bool mask paths and
# the mask gradient. The other tile classes of _GPU_TILES were checked by hand the same way.
COMPILE_SPECS = [
    _spec("attention_fwd_kernel", "bf16", 128, "fwd", IS_CAUSAL=True, DROPOUT=True),
    _spec("attention_fwd_kernel", "fp16", 64, "fwd", mask="*fp16", MASK_KIND=2),
    _preprocess_spec("bf16", 128),
    _spec("attention_bwd_dkdv_kernel", "bf16", 128, "bwd", IS_CAUSAL=True, DROPOUT=True),
    _spec("attention_bwd_dkdv_kernel", "fp32", 64, "bwd", mask="*fp32", MASK_KIND=2,
          MASK_GRAD=True),
    _spec("attention_bwd_dq_kernel", "bf16", 128, "bwd", IS_CAUSAL=True, DROPOUT=True,
          MASK_KIND=1),
]
