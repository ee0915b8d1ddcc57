"""Fused recurrent cells: one LSTM or GRU time step, forward and backward, one kernel each.

Blocking: the (N, H) state is cut into tiles of BLOCK_N rows by BLOCK_H hidden units, one
program per tile (grid ``(cdiv(N, BLOCK_N), cdiv(H, BLOCK_H))``). A program reads, for its
tile, every gate column block ``k * H + j`` it needs (the gates of one hidden unit sit H
apart in a row), so each element is loaded and stored once. The last tile in either
direction is partial: every load and store is masked by ``rows < N`` and ``cols < H``.

Gate and state operands are 2-D views with any strides (row stride, column stride);
outputs and ``saved`` are contiguous. Math runs in ``COMPUTE`` (fp32 for fp32 and the half
types, fp64 for fp64); ``saved`` is stored in its own pointer's type (fp32 for halves).
A gradient given as None is zero (``HAS_GRAD_*`` false, its pointer unused).
"""
import triton
import triton.language as tl

from .elementwise import _convert, _sigmoid, _tanh

TILE = 1024  # elements per program: BLOCK_N * BLOCK_H
MAX_BLOCK_H = 128
NUM_WARPS = 4


@triton.jit
def _tile(N, H, BLOCK_N: tl.constexpr, BLOCK_H: tl.constexpr):
    """This program's row and column indices (int64) and the in-bounds mask of its tile."""
    rows = tl.program_id(0).to(tl.int64) * BLOCK_N + tl.arange(0, BLOCK_N)
    cols = tl.program_id(1).to(tl.int64) * BLOCK_H + tl.arange(0, BLOCK_H)
    mask = (rows < N)[:, None] & (cols < H)[None, :]  # the last tiles are partial
    return rows[:, None], cols[None, :], mask


@triton.jit
def _load(ptr, rows, cols, stride_n, stride_h, mask, COMPUTE: tl.constexpr):
    """A (BLOCK_N, BLOCK_H) block of a strided 2-D operand, in ``COMPUTE``."""
    return tl.load(ptr + rows * stride_n + cols * stride_h, mask=mask, other=0).to(COMPUTE)


@triton.jit
def _store(ptr, value, rows, cols, width, mask):
    """Store a block into a contiguous (N, width) output at columns ``cols``."""
    tl.store(ptr + rows * width + cols, _convert(value, ptr.dtype.element_ty), mask=mask)


@triton.jit
def lstm_cell_kernel(h_ptr, c_ptr, saved_ptr, gates_ptr, c_prev_ptr, N, H,
                     stride_gn, stride_gh, stride_cn, stride_ch,
                     COMPUTE: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_H: tl.constexpr):
    """Each program computes one (BLOCK_N, BLOCK_H) tile of an LSTM step: from the gate
    pre-activations i, f, g, o (columns j, H + j, 2H + j, 3H + j of ``gates``) and c_prev,
    c = σ(f) c_prev + σ(i) tanh(g) and h = σ(o) tanh(c), and the tile's four columns of
    ``saved`` (N, 4H) = [σ(i), σ(f), tanh(g), σ(o)]."""
    rows, cols, mask = _tile(N, H, BLOCK_N, BLOCK_H)
    i = _sigmoid(_load(gates_ptr, rows, cols, stride_gn, stride_gh, mask, COMPUTE))
    f = _sigmoid(_load(gates_ptr, rows, cols + H, stride_gn, stride_gh, mask, COMPUTE))
    g = _tanh(_load(gates_ptr, rows, cols + 2 * H, stride_gn, stride_gh, mask, COMPUTE))
    o = _sigmoid(_load(gates_ptr, rows, cols + 3 * H, stride_gn, stride_gh, mask, COMPUTE))
    c_prev = _load(c_prev_ptr, rows, cols, stride_cn, stride_ch, mask, COMPUTE)
    c = f * c_prev + i * g
    tanh_c = _tanh(c)
    _store(h_ptr, o * tanh_c, rows, cols, H, mask)
    _store(c_ptr, c, rows, cols, H, mask)
    width = 4 * H
    _store(saved_ptr, i, rows, cols, width, mask)
    _store(saved_ptr, f, rows, cols + H, width, mask)
    _store(saved_ptr, g, rows, cols + 2 * H, width, mask)
    _store(saved_ptr, o, rows, cols + 3 * H, width, mask)


@triton.jit
def lstm_cell_backward_kernel(d_gates_ptr, d_c_prev_ptr, grad_h_ptr, grad_c_ptr, c_prev_ptr,
                              c_ptr, saved_ptr, N, H, stride_hn, stride_hh, stride_gcn,
                              stride_gch, stride_cn, stride_ch, stride_nn, stride_nh,
                              HAS_GRAD_H: tl.constexpr,
                              HAS_GRAD_C: tl.constexpr, COMPUTE: tl.constexpr,
                              BLOCK_N: tl.constexpr, BLOCK_H: tl.constexpr):
    """Each program computes one (BLOCK_N, BLOCK_H) tile of an LSTM step's backward: with
    tanh(c) recomputed from c and d_c = grad_c + grad_h σ(o) (1 - tanh(c)²), the four gate
    gradients (columns j, H + j,
    2H + j, 3H + j of ``d_gates`` (N, 4H)) and d_c_prev = d_c σ(f)."""
    rows, cols, mask = _tile(N, H, BLOCK_N, BLOCK_H)
    width = 4 * H
    i = _load(saved_ptr, rows, cols, width, 1, mask, COMPUTE)
    f = _load(saved_ptr, rows, cols + H, width, 1, mask, COMPUTE)
    g = _load(saved_ptr, rows, cols + 2 * H, width, 1, mask, COMPUTE)
    o = _load(saved_ptr, rows, cols + 3 * H, width, 1, mask, COMPUTE)
    tanh_c = _tanh(_load(c_ptr, rows, cols, stride_nn, stride_nh, mask, COMPUTE))
    c_prev = _load(c_prev_ptr, rows, cols, stride_cn, stride_ch, mask, COMPUTE)
    if HAS_GRAD_H:
        d_h = _load(grad_h_ptr, rows, cols, stride_hn, stride_hh, mask, COMPUTE)
    else:
        d_h = tl.zeros((BLOCK_N, BLOCK_H), COMPUTE)
    d_c = d_h * o * (1.0 - tanh_c * tanh_c)
    if HAS_GRAD_C:
        d_c += _load(grad_c_ptr, rows, cols, stride_gcn, stride_gch, mask, COMPUTE)
    _store(d_gates_ptr, d_c * g * i * (1.0 - i), rows, cols, width, mask)
    _store(d_gates_ptr, d_c * c_prev * f * (1.0 - f), rows, cols + H, width, mask)
    _store(d_gates_ptr, d_c * i * (1.0 - g * g), rows, cols + 2 * H, width, mask)
    _store(d_gates_ptr, d_h * tanh_c * o * (1.0 - o), rows, cols + 3 * H, width, mask)
    _store(d_c_prev_ptr, d_c * f, rows, cols, H, mask)


@triton.jit
def gru_cell_kernel(h_ptr, saved_ptr, x_gates_ptr, h_gates_ptr, h_prev_ptr, N, H,
                    stride_xn, stride_xh, stride_gn, stride_gh, stride_pn, stride_ph,
                    COMPUTE: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_H: tl.constexpr):
    """Each program computes one (BLOCK_N, BLOCK_H) tile of a GRU step: r = σ(x_r + h_r),
    z = σ(x_z + h_z), n = tanh(x_n + r h_n) from the input and hidden gate projections
    (columns j, H + j, 2H + j), h = (1 - z) n + z h_prev, and the tile's four columns of
    ``saved`` (N, 4H) = [r, z, n, h_n]."""
    rows, cols, mask = _tile(N, H, BLOCK_N, BLOCK_H)
    r = _sigmoid(_load(x_gates_ptr, rows, cols, stride_xn, stride_xh, mask, COMPUTE)
                 + _load(h_gates_ptr, rows, cols, stride_gn, stride_gh, mask, COMPUTE))
    z = _sigmoid(_load(x_gates_ptr, rows, cols + H, stride_xn, stride_xh, mask, COMPUTE)
                 + _load(h_gates_ptr, rows, cols + H, stride_gn, stride_gh, mask, COMPUTE))
    h_n = _load(h_gates_ptr, rows, cols + 2 * H, stride_gn, stride_gh, mask, COMPUTE)
    n = _tanh(_load(x_gates_ptr, rows, cols + 2 * H, stride_xn, stride_xh, mask, COMPUTE)
              + r * h_n)
    h_prev = _load(h_prev_ptr, rows, cols, stride_pn, stride_ph, mask, COMPUTE)
    _store(h_ptr, (1.0 - z) * n + z * h_prev, rows, cols, H, mask)
    width = 4 * H
    _store(saved_ptr, r, rows, cols, width, mask)
    _store(saved_ptr, z, rows, cols + H, width, mask)
    _store(saved_ptr, n, rows, cols + 2 * H, width, mask)
    _store(saved_ptr, h_n, rows, cols + 3 * H, width, mask)


@triton.jit
def gru_cell_backward_kernel(d_x_ptr, d_hg_ptr, d_h_prev_ptr, grad_h_ptr, h_prev_ptr, saved_ptr,
                             N, H, stride_gn, stride_gh, stride_pn, stride_ph,
                             HAS_GRAD_H: tl.constexpr, COMPUTE: tl.constexpr,
                             BLOCK_N: tl.constexpr, BLOCK_H: tl.constexpr):
    """Each program computes one (BLOCK_N, BLOCK_H) tile of a GRU step's backward: d_n =
    grad (1 - z) (1 - n²), d_r = d_n h_n r (1 - r), d_z = grad (h_prev - n) z (1 - z); it
    stores [d_r, d_z, d_n] into ``d_x`` (N, 3H), [d_r, d_z, d_n r] into ``d_hg`` (N, 3H) and
    grad z (h_prev's direct part) into ``d_h_prev``."""
    rows, cols, mask = _tile(N, H, BLOCK_N, BLOCK_H)
    width = 4 * H
    r = _load(saved_ptr, rows, cols, width, 1, mask, COMPUTE)
    z = _load(saved_ptr, rows, cols + H, width, 1, mask, COMPUTE)
    n = _load(saved_ptr, rows, cols + 2 * H, width, 1, mask, COMPUTE)
    h_n = _load(saved_ptr, rows, cols + 3 * H, width, 1, mask, COMPUTE)
    h_prev = _load(h_prev_ptr, rows, cols, stride_pn, stride_ph, mask, COMPUTE)
    if HAS_GRAD_H:
        grad = _load(grad_h_ptr, rows, cols, stride_gn, stride_gh, mask, COMPUTE)
    else:
        grad = tl.zeros((BLOCK_N, BLOCK_H), COMPUTE)
    d_n = grad * (1.0 - z) * (1.0 - n * n)
    d_r = d_n * h_n * r * (1.0 - r)
    d_z = grad * (h_prev - n) * z * (1.0 - z)
    width = 3 * H
    _store(d_x_ptr, d_r, rows, cols, width, mask)
    _store(d_x_ptr, d_z, rows, cols + H, width, mask)
    _store(d_x_ptr, d_n, rows, cols + 2 * H, width, mask)
    _store(d_hg_ptr, d_r, rows, cols, width, mask)
    _store(d_hg_ptr, d_z, rows, cols + H, width, mask)
    _store(d_hg_ptr, d_n * r, rows, cols + 2 * H, width, mask)
    _store(d_h_prev_ptr, grad * z, rows, cols, H, mask)


def _spec(kernel, label, pointers, ints, compute, **constexprs):
    return {"kernel": kernel, "label": label, "num_warps": NUM_WARPS, "no_spills": True,
            "signature": {**pointers, **{name: "i32" for name in ints}},
            "constexprs": {"COMPUTE": compute, "BLOCK_N": 8, "BLOCK_H": 128, **constexprs}}


_LSTM_BACKWARD_INTS = ("N", "H", "stride_hn", "stride_hh", "stride_gcn", "stride_gch", "stride_cn",
                       "stride_ch", "stride_nn", "stride_nh")
COMPILE_SPECS = [
    _spec("lstm_cell_kernel", "fp32", {"h_ptr": "*fp32", "c_ptr": "*fp32", "saved_ptr": "*fp32",
                                       "gates_ptr": "*fp32", "c_prev_ptr": "*fp32"},
          ("N", "H", "stride_gn", "stride_gh", "stride_cn", "stride_ch"), "tl.float32"),
    _spec("lstm_cell_kernel", "bf16", {"h_ptr": "*bf16", "c_ptr": "*bf16", "saved_ptr": "*fp32",
                                       "gates_ptr": "*bf16", "c_prev_ptr": "*bf16"},
          ("N", "H", "stride_gn", "stride_gh", "stride_cn", "stride_ch"), "tl.float32"),
    _spec("lstm_cell_backward_kernel", "fp16",
          {"d_gates_ptr": "*fp16", "d_c_prev_ptr": "*fp16", "grad_h_ptr": "*fp16",
           "grad_c_ptr": "*fp16", "c_prev_ptr": "*fp16", "c_ptr": "*fp16", "saved_ptr": "*fp32"},
          _LSTM_BACKWARD_INTS, "tl.float32", HAS_GRAD_H=True, HAS_GRAD_C=True),
    _spec("lstm_cell_backward_kernel", "fp64",
          {"d_gates_ptr": "*fp64", "d_c_prev_ptr": "*fp64", "grad_h_ptr": "*fp64",
           "grad_c_ptr": "*fp64", "c_prev_ptr": "*fp64", "c_ptr": "*fp64", "saved_ptr": "*fp64"},
          _LSTM_BACKWARD_INTS, "tl.float64", HAS_GRAD_H=True, HAS_GRAD_C=False),
    _spec("gru_cell_kernel", "fp32",
          {"h_ptr": "*fp32", "saved_ptr": "*fp32", "x_gates_ptr": "*fp32", "h_gates_ptr": "*fp32",
           "h_prev_ptr": "*fp32"},
          ("N", "H", "stride_xn", "stride_xh", "stride_gn", "stride_gh", "stride_pn", "stride_ph"),
          "tl.float32"),
    _spec("gru_cell_kernel", "fp16",
          {"h_ptr": "*fp16", "saved_ptr": "*fp32", "x_gates_ptr": "*fp16", "h_gates_ptr": "*fp16",
           "h_prev_ptr": "*fp16"},
          ("N", "H", "stride_xn", "stride_xh", "stride_gn", "stride_gh", "stride_pn", "stride_ph"),
          "tl.float32"),
    _spec("gru_cell_backward_kernel", "bf16",
          {"d_x_ptr": "*bf16", "d_hg_ptr": "*bf16", "d_h_prev_ptr": "*bf16", "grad_h_ptr": "*bf16",
           "h_prev_ptr": "*bf16", "saved_ptr": "*fp32"},
          ("N", "H", "stride_gn", "stride_gh", "stride_pn", "stride_ph"), "tl.float32",
          HAS_GRAD_H=True),
    _spec("gru_cell_backward_kernel", "fp64",
          {"d_x_ptr": "*fp64", "d_hg_ptr": "*fp64", "d_h_prev_ptr": "*fp64", "grad_h_ptr": "*fp64",
           "h_prev_ptr": "*fp64", "saved_ptr": "*fp64"},
          ("N", "H", "stride_gn", "stride_gh", "stride_pn", "stride_ph"), "tl.float64",
          HAS_GRAD_H=False),
]
