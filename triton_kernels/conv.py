"""2-d convolution as implicit GEMMs, plus im2col (unfold) and col2im (fold).

Shapes (NCHW, any element strides for every operand):
``x`` (N, C, H, W), weight ``w`` (CO, C/groups, KH, KW), output ``y``
(N, CO, HO, WO). With ``G = groups``, ``C_G = C / G`` and ``CO_G = CO / G``,
each group ``g`` is an independent convolution; every GEMM kernel takes the
group from ``program_id(1)`` and the output tile from ``program_id(0)``.

The three GEMMs never materialize the im2col matrix: each program computes the
addresses of its A and B tiles from the tile indices on the fly, and masks
taps that fall into the zero padding (or between strided positions).

- ``conv2d_kernel``             y  = im2col(x) @ w^T: M = N*HO*WO pixels, N-dim = CO_G,
                                K = C_G*KH*KW taps.
- ``conv2d_input_grad_kernel``  dx = dy @ w (scattered back): M = N*H*W input pixels,
                                N-dim = C_G, K = CO_G*KH*KW. It is also the forward of
                                conv_transpose2d.
- ``conv2d_weight_grad_kernel`` dw = dy^T @ im2col(x): M = CO_G, N-dim = C_G*KH*KW,
                                K = N*HO*WO.

The names follow the backend contract (``conv2d``, ``conv2d_input_grad``,
``conv2d_weight_grad``, ``im2col``, ``col2im``) with ``_kernel`` appended.

Padding is given as the top/left amount only: PyTorch's 'same' padding for
even kernels pads one more on the bottom/right, which only changes the output
size, and the host passes output (and input) sizes explicitly.

Every ``tl.dot`` accumulates in ``ACC_DTYPE`` (fp32 for fp16/bf16/fp32, fp64
for fp64); results are cast to the output's element type on store.
"""
import triton
import triton.language as tl

from .matmul import _round_to_bf16

# One default config per GEMM kernel and dtype class on a GPU (autotuning is a
# separate issue): 64x64x32 tiles. 2-byte types ("half") use the tensor cores
# (HGMMA on sm_90, HMMA on sm_80) with 4 warps, except input_grad, whose masked
# stride arithmetic needs 8 warps to stay in registers on sm_80; fp32 and fp64
# ("wide": FMA / DMMA tiles) use 8 warps. tests/test_compile.py checks every
# one of these for sm_90 and sm_80: no register spills.
_TILE = {"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32, "num_stages": 2}
CONV_CONFIGS = {
    "conv2d_kernel": {"half": dict(_TILE, num_warps=4), "wide": dict(_TILE, num_warps=8)},
    "conv2d_input_grad_kernel": {"half": dict(_TILE, num_warps=8),
                                 "wide": dict(_TILE, num_warps=8)},
    "conv2d_weight_grad_kernel": {"half": dict(_TILE, num_warps=4),
                                  "wide": dict(_TILE, num_warps=8)},
}
# What the autotuner tries (framework.autotune, via framework/_backends/triton/conv.py).
_SPACE_TILES = [(128, 128), (128, 64), (64, 128), (64, 64), (32, 64), (64, 32), (32, 32)]


def config_space(kernel: str, itemsize: int, shared_memory: int, tensor_cores: bool) -> list:
    """Tile configs worth timing for GEMM ``kernel``, pruned by shared memory and registers.

    Without tensor cores (exact fp32, fp64) tiles stay at most 64x64 with 8
    warps; tiles of 128x128 always take 8 warps; input_grad takes 8 warps (its
    masked stride arithmetic spills with 4 on sm_80).
    """
    configs = []
    for bm, bn in _SPACE_TILES:
        if not tensor_cores and bm * bn > 64 * 64:
            continue
        wide = bm * bn >= 128 * 128 or not tensor_cores or kernel == "conv2d_input_grad_kernel"
        for bk in (32, 64):
            for stages in (2, 3):
                if stages * (bm * bk + bk * bn) * itemsize > shared_memory:
                    continue
                configs.append({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk,
                                "num_warps": 8 if wide else 4, "num_stages": stages})
    return configs


# im2col / col2im (F.unfold / F.fold): elementwise gathers, BLOCK elements per program.
IM2COL_CONFIG = {"BLOCK": 512, "num_warps": 4}

# tl.dot needs every tile dim >= 16; interpreter tiles grow up to 64 per dim.
MIN_BLOCK = 16
MAX_INTERPRETER_BLOCK = 64


def _pow2_block(size: int) -> int:
    block = MIN_BLOCK
    while block < size and block < MAX_INTERPRETER_BLOCK:
        block *= 2
    return block


def default_config(kernel: str, m: int, n: int, k: int, itemsize: int, interpreter: bool) -> dict:
    """The tile config of GEMM ``kernel`` for (M, N, K) over ``itemsize``-byte elements.

    Interpreter (each program costs ~1.5 ms): one power-of-two tile per dim up
    to 64, so tiny test problems run as one program per group.
    """
    if interpreter:
        return {"BLOCK_M": _pow2_block(m), "BLOCK_N": _pow2_block(n), "BLOCK_K": _pow2_block(k),
                "num_warps": 4, "num_stages": 1}
    config = dict(CONV_CONFIGS[kernel]["half" if itemsize == 2 else "wide"])
    if n <= MIN_BLOCK and itemsize <= 4:
        # Narrow problems (depthwise: one output channel per group) take 16-wide N tiles
        # (and 16-deep K tiles for <= 16 taps, e.g. 3x3) instead of computing masked-off
        # columns; COMPILE_SPECS checks these tiles too.
        config.update(BLOCK_N=MIN_BLOCK, BLOCK_K=MIN_BLOCK if k <= MIN_BLOCK else 32,
                      **_narrow_launch(itemsize))
    return config


def _narrow_launch(itemsize: int) -> dict:
    """Launch options of the narrow (BLOCK_N = 16) tiles: 4 warps; fp32 FMA tiles without
    software pipelining (with 2 stages Triton 3.6 spills 4-16 bytes in conv2d and input_grad, and
    8 warps spill on Triton 3.9; 1 stage is spill-free on both, sm_90 and sm_80)."""
    return {"num_warps": 4, "num_stages": 2 if itemsize == 2 else 1}


# Index helpers ------------------------------------------------------------------------
@triton.jit
def _split3(idx, size1, size2):
    """Row-major (i0, i1, i2) of a linear index over a shape (*, size1, size2)."""
    i2 = idx % size2
    rest = idx // size2
    return rest // size1, rest % size1, i2


@triton.jit
def _load_tile(ptrs, mask, INTERPRET_BF16: tl.constexpr):
    """Masked load (0 outside); bf16 upcast under the interpreter (its bf16 dot is wrong)."""
    tile = tl.load(ptrs, mask=mask, other=0.0)
    if INTERPRET_BF16:
        tile = tile.to(tl.float32)
    return tile


@triton.jit
def _store_tile(ptrs, acc, mask, INTERPRET_BF16: tl.constexpr):
    """Cast the accumulator to the output type (rounding bf16 by hand in the interpreter)."""
    if INTERPRET_BF16:
        tl.store(ptrs, _round_to_bf16(acc.to(tl.float32)), mask=mask)
    else:
        tl.store(ptrs, acc.to(ptrs.dtype.element_ty), mask=mask)


# Forward ----------------------------------------------------------------------------------
# Not specialized: the sizes and geometry (they only enter the implicit-GEMM index arithmetic
# and masks); the tensor strides stay specialized.
_CONV_UNSPECIALIZED = ("C_G", "H", "W", "CO_G", "HO", "WO", "KH", "KW", "M",
                          "stride_h", "stride_w", "pad_h", "pad_w", "dil_h", "dil_w")


@triton.jit(do_not_specialize=_CONV_UNSPECIALIZED)
def conv2d_kernel(x_ptr, w_ptr, y_ptr,
                      C_G, H, W, CO_G, HO, WO, KH, KW, M,
                      stride_h, stride_w, pad_h, pad_w, dil_h, dil_w,
                      sxn, sxc, sxh, sxw, swo, swc, swh, sww, syn, syc, syh, syw,
                      BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                      ACC_DTYPE: tl.constexpr, INPUT_PRECISION: tl.constexpr,
                      INTERPRET_BF16: tl.constexpr):
    """Program (pid, g) computes a BLOCK_M pixels x BLOCK_N channels tile of group g's output.

    Grid: axis 0 = cdiv(M, BLOCK_M) * cdiv(CO_G, BLOCK_N) with M = N*HO*WO, axis 1 = groups.
    Row m of the tile is output pixel (n, oh, ow); column j is output channel
    g*CO_G + j. The K loop walks the C_G*KH*KW taps (c, ki, kj) BLOCK_K at a time:
    the A tile reads x[n, g*C_G + c, oh*stride - pad + ki*dil, ...] (masked to 0
    in the padding), the B tile reads w[g*CO_G + j, c, ki, kj].
    """
    pid = tl.program_id(0)
    g = tl.program_id(1).to(tl.int64)
    num_pid_n = tl.cdiv(CO_G, BLOCK_N)
    pid_m = pid // num_pid_n
    pid_n = pid % num_pid_n

    # Index math in int32 (offsets within one image); the per-image and per-group
    # bases are int64, so views of more than 2**31 elements still address right.
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    mask_m = offs_m < M  # the last tile may hang over the last pixel / channel
    mask_n = offs_n < CO_G
    n, oh, ow = _split3(offs_m, HO, WO)
    ih0 = oh * stride_h - pad_h  # input row of tap ki = 0
    iw0 = ow * stride_w - pad_w
    x_base = x_ptr + n.to(tl.int64) * sxn + g * C_G * sxc
    w_base = w_ptr + (g * CO_G + offs_n) * swo

    K = C_G * KH * KW
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC_DTYPE)
    for k0 in range(0, K, BLOCK_K):
        offs_k = k0 + tl.arange(0, BLOCK_K)
        mask_k = offs_k < K
        c, ki, kj = _split3(offs_k, KH, KW)
        ih = ih0[:, None] + (ki * dil_h)[None, :]
        iw = iw0[:, None] + (kj * dil_w)[None, :]
        # A: taps inside the image only (the padding reads as 0), real pixels and taps.
        in_image = (ih >= 0) & (ih < H) & (iw >= 0) & (iw < W)
        a_mask = in_image & mask_m[:, None] & mask_k[None, :]
        a_ptrs = x_base[:, None] + (c * sxc)[None, :] + ih * sxh + iw * sxw
        a = _load_tile(a_ptrs, a_mask, INTERPRET_BF16)
        b_ptrs = w_base[None, :] + (c * swc + ki * swh + kj * sww)[:, None]
        b = _load_tile(b_ptrs, mask_k[:, None] & mask_n[None, :], INTERPRET_BF16)
        acc = tl.dot(a, b, acc, input_precision=INPUT_PRECISION, out_dtype=ACC_DTYPE)

    y_ptrs = (y_ptr + (n.to(tl.int64) * syn + oh * syh + ow * syw)[:, None]
              + ((g * CO_G + offs_n) * syc)[None, :])
    _store_tile(y_ptrs, acc, mask_m[:, None] & mask_n[None, :], INTERPRET_BF16)


# Input gradient (and conv_transpose2d forward) ------------------------------------------------
@triton.jit(do_not_specialize=_CONV_UNSPECIALIZED)
def conv2d_input_grad_kernel(dy_ptr, w_ptr, dx_ptr,
                        C_G, H, W, CO_G, HO, WO, KH, KW, M,
                        stride_h, stride_w, pad_h, pad_w, dil_h, dil_w,
                        syn, syc, syh, syw, swo, swc, swh, sww, sxn, sxc, sxh, sxw,
                        BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                        ACC_DTYPE: tl.constexpr, INPUT_PRECISION: tl.constexpr,
                        INTERPRET_BF16: tl.constexpr):
    """Program (pid, g) computes a BLOCK_M input pixels x BLOCK_N input channels tile of dx.

    Grid: axis 0 = cdiv(M, BLOCK_M) * cdiv(C_G, BLOCK_N) with M = N*H*W, axis 1 = groups.
    dx[n, g*C_G + c, ih, iw] = sum over taps (co, ki, kj) of
    dy[n, g*CO_G + co, oh, ow] * w[g*CO_G + co, c, ki, kj], where
    oh = (ih + pad - ki*dil) / stride must be a whole number in [0, HO) (same for
    ow): the K loop walks CO_G*KH*KW taps and masks the others (an implicit GEMM
    of dy with the flipped, transposed weight).
    """
    pid = tl.program_id(0)
    g = tl.program_id(1).to(tl.int64)
    num_pid_n = tl.cdiv(C_G, BLOCK_N)
    pid_m = pid // num_pid_n
    pid_n = pid % num_pid_n

    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)  # int32 index math, int64 bases
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    mask_m = offs_m < M
    mask_n = offs_n < C_G
    n, ih, iw = _split3(offs_m, H, W)
    dy_base = dy_ptr + n.to(tl.int64) * syn + g * CO_G * syc
    w_base = w_ptr + g * CO_G * swo + offs_n * swc

    K = CO_G * KH * KW
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC_DTYPE)
    for k0 in range(0, K, BLOCK_K):
        offs_k = k0 + tl.arange(0, BLOCK_K)
        mask_k = offs_k < K
        co, ki, kj = _split3(offs_k, KH, KW)
        # Output position that tap (ki, kj) of input pixel (ih, iw) contributes to.
        oh_num = (ih + pad_h)[:, None] - (ki * dil_h)[None, :]
        ow_num = (iw + pad_w)[:, None] - (kj * dil_w)[None, :]
        oh_num = tl.where(oh_num >= 0, oh_num, -stride_h)  # keep // and % away from negatives
        ow_num = tl.where(ow_num >= 0, ow_num, -stride_w)
        oh = oh_num // stride_h
        ow = ow_num // stride_w
        hit = ((oh_num % stride_h) == 0) & ((ow_num % stride_w) == 0)
        hit = hit & (oh >= 0) & (oh < HO) & (ow >= 0) & (ow < WO)
        a_mask = hit & mask_m[:, None] & mask_k[None, :]
        a_ptrs = dy_base[:, None] + (co * syc)[None, :] + oh * syh + ow * syw
        a = _load_tile(a_ptrs, a_mask, INTERPRET_BF16)
        b_ptrs = w_base[None, :] + (co * swo + ki * swh + kj * sww)[:, None]
        b = _load_tile(b_ptrs, mask_k[:, None] & mask_n[None, :], INTERPRET_BF16)
        acc = tl.dot(a, b, acc, input_precision=INPUT_PRECISION, out_dtype=ACC_DTYPE)

    dx_ptrs = (dx_ptr + (n.to(tl.int64) * sxn + ih * sxh + iw * sxw)[:, None]
               + ((g * C_G + offs_n) * sxc)[None, :])
    _store_tile(dx_ptrs, acc, mask_m[:, None] & mask_n[None, :], INTERPRET_BF16)


# Weight gradient ----------------------------------------------------------------------------
@triton.jit(do_not_specialize=_CONV_UNSPECIALIZED)
def conv2d_weight_grad_kernel(x_ptr, dy_ptr, dw_ptr,
                        C_G, H, W, CO_G, HO, WO, KH, KW, M,
                        stride_h, stride_w, pad_h, pad_w, dil_h, dil_w,
                        sxn, sxc, sxh, sxw, syn, syc, syh, syw, swo, swc, swh, sww,
                        BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                        ACC_DTYPE: tl.constexpr, INPUT_PRECISION: tl.constexpr,
                        INTERPRET_BF16: tl.constexpr):
    """Program (pid, g) computes a BLOCK_M out-channels x BLOCK_N taps tile of dw for group g.

    Grid: axis 0 = cdiv(CO_G, BLOCK_M) * cdiv(C_G*KH*KW, BLOCK_N), axis 1 = groups.
    dw[g*CO_G + o, c, ki, kj] = sum over output pixels (n, oh, ow) of
    dy[n, g*CO_G + o, oh, ow] * x[n, g*C_G + c, oh*stride - pad + ki*dil, ...]:
    the K loop walks the M = N*HO*WO output pixels BLOCK_K at a time; the B tile
    is im2col(x) computed on the fly (0 in the padding).
    """
    pid = tl.program_id(0)
    g = tl.program_id(1).to(tl.int64)
    TAPS = C_G * KH * KW
    num_pid_n = tl.cdiv(TAPS, BLOCK_N)
    pid_m = pid // num_pid_n
    pid_n = pid % num_pid_n

    offs_o = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)  # int32 index math, int64 bases
    offs_t = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    mask_o = offs_o < CO_G
    mask_t = offs_t < TAPS
    c, ki, kj = _split3(offs_t, KH, KW)
    dy_base = dy_ptr + (g * CO_G + offs_o) * syc
    x_base = x_ptr + (g * C_G + c) * sxc

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC_DTYPE)
    for k0 in range(0, M, BLOCK_K):
        offs_k = k0 + tl.arange(0, BLOCK_K)
        mask_k = offs_k < M
        n, oh, ow = _split3(offs_k, HO, WO)
        a_ptrs = dy_base[:, None] + (n.to(tl.int64) * syn + oh * syh + ow * syw)[None, :]
        a = _load_tile(a_ptrs, mask_o[:, None] & mask_k[None, :], INTERPRET_BF16)
        ih = (oh * stride_h - pad_h)[:, None] + (ki * dil_h)[None, :]
        iw = (ow * stride_w - pad_w)[:, None] + (kj * dil_w)[None, :]
        in_image = (ih >= 0) & (ih < H) & (iw >= 0) & (iw < W)
        b_mask = in_image & mask_k[:, None] & mask_t[None, :]
        b_ptrs = x_base[None, :] + (n.to(tl.int64) * sxn)[:, None] + (ih * sxh + iw * sxw)
        b = _load_tile(b_ptrs, b_mask, INTERPRET_BF16)
        acc = tl.dot(a, b, acc, input_precision=INPUT_PRECISION, out_dtype=ACC_DTYPE)

    dw_ptrs = (dw_ptr + ((g * CO_G + offs_o) * swo)[:, None]
               + (c * swc + ki * swh + kj * sww)[None, :])
    _store_tile(dw_ptrs, acc, mask_o[:, None] & mask_t[None, :], INTERPRET_BF16)


# im2col / col2im ---------------------------------------------------------------------------
@triton.jit
def im2col_kernel(x_ptr, out_ptr, total, C, H, W, HO, WO, KH, KW,
                  stride_h, stride_w, pad_h, pad_w, dil_h, dil_w,
                  sxn, sxc, sxh, sxw, BLOCK: tl.constexpr):
    """Each program writes BLOCK elements of the contiguous (N, C*KH*KW, HO*WO) im2col matrix.

    Element (n, (c, ki, kj), (oh, ow)) = x[n, c, oh*stride - pad + ki*dil, ...],
    0 in the padding; elements past ``total`` are masked off.
    """
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < total
    L = HO * WO
    row_len = C * KH * KW
    n, row, col = _split3(offs, row_len, L)
    c, ki, kj = _split3(row, KH, KW)
    oh = col // WO
    ow = col % WO
    ih = oh * stride_h - pad_h + ki * dil_h
    iw = ow * stride_w - pad_w + kj * dil_w
    in_image = (ih >= 0) & (ih < H) & (iw >= 0) & (iw < W)
    vals = tl.load(x_ptr + n * sxn + c * sxc + ih * sxh + iw * sxw, mask=mask & in_image, other=0.0)
    tl.store(out_ptr + offs, vals, mask=mask)


@triton.jit
def col2im_kernel(cols_ptr, out_ptr, total, C, H, W, HO, WO, KH, KW,
                stride_h, stride_w, pad_h, pad_w, dil_h, dil_w,
                scn, scr, scl, ACC_DTYPE: tl.constexpr, INTERPRET_BF16: tl.constexpr,
                BLOCK: tl.constexpr):
    """Each program computes BLOCK elements of the contiguous (N, C, H, W) col2im result.

    out[n, c, h, w] sums cols[n, (c, ki, kj), (oh, ow)] over the kernel taps
    (ki, kj) whose sliding window covers (h, w): oh = (h + pad - ki*dil) / stride
    must be a whole number in [0, HO), likewise ow. A gather (no atomics): the
    loop over the KH*KW taps masks those that miss.
    """
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < total
    nc, h, w = _split3(offs, H, W)
    c = nc % C
    n = nc // C
    acc = tl.zeros((BLOCK,), dtype=ACC_DTYPE)
    for ki in range(0, KH):
        oh_num = h + pad_h - ki * dil_h
        oh_num = tl.where(oh_num >= 0, oh_num, -stride_h)  # keep // and % away from negatives
        oh = oh_num // stride_h
        hit_h = ((oh_num % stride_h) == 0) & (oh >= 0) & (oh < HO)
        for kj in range(0, KW):
            ow_num = w + pad_w - kj * dil_w
            ow_num = tl.where(ow_num >= 0, ow_num, -stride_w)
            ow = ow_num // stride_w
            hit = hit_h & ((ow_num % stride_w) == 0) & (ow >= 0) & (ow < WO)
            row = (c * KH + ki) * KW + kj
            ptrs = cols_ptr + n * scn + row * scr + (oh * WO + ow) * scl
            acc += tl.load(ptrs, mask=mask & hit, other=0.0).to(ACC_DTYPE)
    _store_tile(out_ptr + offs, acc, mask, INTERPRET_BF16)


# Compile specs (tests/test_compile.py: sm_90 and sm_80, no spills, tensor cores for fp16/bf16).
_TENSOR_CORES = {90: "HGMMA", 80: "HMMA"}
_GEMM_POINTERS = {
    "conv2d_kernel": ("x_ptr", "w_ptr", "y_ptr"),
    "conv2d_input_grad_kernel": ("dy_ptr", "w_ptr", "dx_ptr"),
    "conv2d_weight_grad_kernel": ("x_ptr", "dy_ptr", "dw_ptr"),
}


def _gemm_spec(kernel: str, dtype: str, config: dict, sass: dict, precision: str = "ieee") -> dict:
    acc = "tl.float64" if dtype == "fp64" else "tl.float32"
    constexprs = {key: config[key] for key in ("BLOCK_M", "BLOCK_N", "BLOCK_K")}
    constexprs.update(ACC_DTYPE=acc, INPUT_PRECISION=precision, INTERPRET_BF16=False)
    label = dtype if config["BLOCK_N"] == 64 else f"{dtype}-16x{config['BLOCK_K']}"
    label = label if precision == "ieee" else f"{label}-{precision}"
    return {"kernel": kernel, "label": label, "constexprs": constexprs,
            "signature": {name: f"*{dtype}" for name in _GEMM_POINTERS[kernel]},
            "num_warps": config["num_warps"], "num_stages": config["num_stages"],
            "no_spills": True, "sass": sass}


def _im2col_spec(kernel: str, dtype: str, extra: dict) -> dict:
    pointers = ("x_ptr", "out_ptr") if kernel == "im2col_kernel" else ("cols_ptr", "out_ptr")
    return {"kernel": kernel, "label": dtype, "constexprs": {"BLOCK": IM2COL_CONFIG["BLOCK"], **extra},
            "signature": {name: f"*{dtype}" for name in pointers},
            "num_warps": IM2COL_CONFIG["num_warps"], "no_spills": True}


COMPILE_SPECS = [
    spec
    for kernel in _GEMM_POINTERS
    for spec in (
        _gemm_spec(kernel, "fp16", CONV_CONFIGS[kernel]["half"], _TENSOR_CORES),
        _gemm_spec(kernel, "bf16", CONV_CONFIGS[kernel]["half"], _TENSOR_CORES),
        _gemm_spec(kernel, "fp32", CONV_CONFIGS[kernel]["wide"], {}),
        _gemm_spec(kernel, "fp64", CONV_CONFIGS[kernel]["wide"], {90: "DMMA", 80: "DMMA"}),
    )
] + [
    # The narrow tiles of depthwise problems (BLOCK_N = 16, BLOCK_K = 16 or 32).
    _gemm_spec(kernel, dtype, dict(CONV_CONFIGS[kernel][kind], BLOCK_N=16, BLOCK_K=block_k,
                                   **_narrow_launch(itemsize)), sass)
    for kernel in _GEMM_POINTERS
    for dtype, itemsize, kind, sass in (("fp16", 2, "half", _TENSOR_CORES), ("fp32", 4, "wide", {}))
    for block_k in (16, 32)
] + [
    _im2col_spec("im2col_kernel", "fp32", {}),
    _im2col_spec("col2im_kernel", "fp32", {"ACC_DTYPE": "tl.float32", "INTERPRET_BF16": False}),
    _im2col_spec("col2im_kernel", "fp64", {"ACC_DTYPE": "tl.float64", "INTERPRET_BF16": False}),
]
