"""Pooling and interpolation on (N, C, H, W) tensors: max/avg pooling over windows, nearest and
bilinear resampling, and their backward passes.

The host (``framework._backends.triton.pool``) describes every output row and
column by small int32/float tables, built once per call from the op layer's
per-axis descriptions:

* pooling: output row ``oh`` reads input rows ``row_start[oh] + i * STEP_H``
  for ``i < row_count[oh]`` (likewise for columns); rows outside ``[0, H)``
  are padding and skipped. The average divides by
  ``row_div[oh] * col_div[ow]`` (or by ``divisor_override``).
* interpolation: output row ``oh`` blends input rows ``row_lo[oh]`` and
  ``row_hi[oh]`` with weight ``row_w[oh]`` on ``row_hi``.

Blocking: program ``(p, b)`` handles plane ``p = n * C + c`` and a block of
BLOCK output pixels (flattened ``oh * OW + ow``); the kernels loop over the
window offsets (``KH x KW`` iterations, at most the kernel size) with every
lane gathering one input element per offset. Lanes past the plane's output,
and window offsets past a window's count or in the padding, are masked off.

Backward passes scatter with ``tl.atomic_add`` into a zeroed fp32 (fp64 for
fp64) buffer the size of the input: windows overlap (stride < kernel, adaptive
and bilinear windows), so several outputs add into one input element. The
order of those additions is not fixed, so float results may differ in the last
bits between runs.
"""
import triton
import triton.language as tl

from .scalars import compute_scalar

BLOCK_MAX = 256
NUM_WARPS = 4


@triton.jit
def _plane_and_pixels(C, M, BLOCK: tl.constexpr):
    """(n, c, pixels, mask) of this program: its plane and its block of output pixels."""
    plane = tl.program_id(0).to(tl.int64)
    pixels = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    return plane // C, plane % C, pixels, pixels < M


@triton.jit
def _lowest(dtype: tl.constexpr):
    """The smallest value of ``dtype``: -inf for floats, the minimum of int32/int64."""
    if dtype.is_floating():
        return float("-inf")
    elif dtype == tl.int32:
        return -2147483648
    else:
        return -9223372036854775807 - 1


@triton.jit
def pool2d_kernel(x_ptr, out_ptr, index_ptr,
                  row_start_ptr, row_count_ptr, row_div_ptr,
                  col_start_ptr, col_count_ptr, col_div_ptr,
                  C, H, W, OW, M, stride_n, stride_c, stride_h, stride_w,
                  KH, KW, STEP_H, STEP_W, divisor_override: tl.float64,
                  IS_MAX: tl.constexpr, HAS_OVERRIDE: tl.constexpr, ACC: tl.constexpr,
                  BLOCK: tl.constexpr):
    """Max (with its flat h*W+w index) or average over the windows of BLOCK output pixels of
    one plane; out/index are contiguous (N, C, OH, OW), x any strides. ACC: the type values
    are compared (max: fp32 for halves, else x's type) or summed (avg) in."""
    divisor_override = compute_scalar(divisor_override, ACC)
    n, c, pixels, mask = _plane_and_pixels(C, M, BLOCK)
    oh = pixels // OW
    ow = pixels % OW
    h0 = tl.load(row_start_ptr + oh, mask=mask, other=0)
    h_count = tl.load(row_count_ptr + oh, mask=mask, other=0)
    w0 = tl.load(col_start_ptr + ow, mask=mask, other=0)
    w_count = tl.load(col_count_ptr + ow, mask=mask, other=0)
    base = x_ptr + n * stride_n + c * stride_c
    best = tl.full((BLOCK,), _lowest(ACC), ACC)
    index = tl.full((BLOCK,), -1, tl.int64)
    total = tl.zeros((BLOCK,), ACC)
    for i in range(KH):
        h = h0 + i * STEP_H
        row_ok = mask & (i < h_count) & (h >= 0) & (h < H)
        for j in range(KW):
            w = w0 + j * STEP_W
            ok = row_ok & (j < w_count) & (w >= 0) & (w < W)
            v = tl.load(base + h.to(tl.int64) * stride_h + w.to(tl.int64) * stride_w,
                        mask=ok, other=0).to(ACC)
            if IS_MAX:
                # PyTorch's rule: greater or NaN replaces; the first real position starts.
                take = ok & ((v > best) | (v != v) | (index < 0))
                best = tl.where(take, v, best)
                index = tl.where(take, (h * W + w).to(tl.int64), index)
            else:
                total += v
    out = n * C * M + c * M + pixels
    if IS_MAX:
        tl.store(out_ptr + out, best.to(out_ptr.dtype.element_ty), mask=mask)
        tl.store(index_ptr + out, index, mask=mask)
    else:
        if HAS_OVERRIDE:
            divisor = tl.zeros((BLOCK,), ACC) + divisor_override
        else:
            divisor = tl.load(row_div_ptr + oh, mask=mask, other=1).to(ACC) \
                * tl.load(col_div_ptr + ow, mask=mask, other=1).to(ACC)
        tl.store(out_ptr + out, (total / divisor).to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def avg_pool2d_backward_kernel(grad_ptr, acc_ptr,
                               row_start_ptr, row_count_ptr, row_div_ptr,
                               col_start_ptr, col_count_ptr, col_div_ptr,
                               C, H, W, OW, M, KH, KW, divisor_override: tl.float64,
                               HAS_OVERRIDE: tl.constexpr, ACC: tl.constexpr,
                               BLOCK: tl.constexpr):
    """Add grad / divisor of BLOCK output pixels of one plane to every real position of their
    (stride-1) windows in acc (contiguous (N, C, H, W), zeroed, type ACC), atomically."""
    divisor_override = compute_scalar(divisor_override, ACC)
    n, c, pixels, mask = _plane_and_pixels(C, M, BLOCK)
    oh = pixels // OW
    ow = pixels % OW
    h0 = tl.load(row_start_ptr + oh, mask=mask, other=0)
    h_count = tl.load(row_count_ptr + oh, mask=mask, other=0)
    w0 = tl.load(col_start_ptr + ow, mask=mask, other=0)
    w_count = tl.load(col_count_ptr + ow, mask=mask, other=0)
    g = tl.load(grad_ptr + n * C * M + c * M + pixels, mask=mask, other=0).to(ACC)
    if HAS_OVERRIDE:
        g = g / divisor_override
    else:
        g = g / (tl.load(row_div_ptr + oh, mask=mask, other=1).to(ACC)
                 * tl.load(col_div_ptr + ow, mask=mask, other=1).to(ACC))
    plane = acc_ptr + (n * C + c) * H * W
    for i in range(KH):
        h = h0 + i
        row_ok = mask & (i < h_count) & (h >= 0) & (h < H)
        for j in range(KW):
            w = w0 + j
            ok = row_ok & (j < w_count) & (w >= 0) & (w < W)
            tl.atomic_add(plane + h.to(tl.int64) * W + w, g, mask=ok)


@triton.jit
def index_scatter_kernel(grad_ptr, index_ptr, acc_ptr, C, HW, M,
                         ACC: tl.constexpr, BLOCK: tl.constexpr):
    """Add grad of BLOCK output pixels of one plane to acc (contiguous (N, C, H*W), zeroed)
    at their saved flat argmax positions, atomically (windows may share an argmax)."""
    n, c, pixels, mask = _plane_and_pixels(C, M, BLOCK)
    out = n * C * M + c * M + pixels
    g = tl.load(grad_ptr + out, mask=mask, other=0).to(ACC)
    index = tl.load(index_ptr + out, mask=mask, other=0)
    tl.atomic_add(acc_ptr + (n * C + c) * HW + index, g, mask=mask)


@triton.jit
def index_gather_kernel(x_ptr, index_ptr, out_ptr, C, W, M,
                        stride_n, stride_c, stride_h, stride_w, BLOCK: tl.constexpr):
    """Read BLOCK outputs of one plane from x (any strides) at their flat h*W+w positions in
    index (contiguous, like out): the adjoint of index_scatter_kernel."""
    n, c, pixels, mask = _plane_and_pixels(C, M, BLOCK)
    out = n * C * M + c * M + pixels
    index = tl.load(index_ptr + out, mask=mask, other=0)
    value = tl.load(x_ptr + n * stride_n + c * stride_c + (index // W) * stride_h
                    + (index % W) * stride_w, mask=mask, other=0)
    tl.store(out_ptr + out, value, mask=mask)


@triton.jit
def interp2d_kernel(x_ptr, out_ptr, row_lo_ptr, row_hi_ptr, row_w_ptr,
                    col_lo_ptr, col_hi_ptr, col_w_ptr,
                    C, OW, M, stride_n, stride_c, stride_h, stride_w,
                    NEAREST: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    """Resample BLOCK output pixels of one plane: x[lo_h, lo_w] (NEAREST) or PyTorch's
    bilinear blend of the 4 neighbours; out contiguous (N, C, OH, OW), x any strides."""
    n, c, pixels, mask = _plane_and_pixels(C, M, BLOCK)
    oh = pixels // OW
    ow = pixels % OW
    base = x_ptr + n * stride_n + c * stride_c
    h0 = tl.load(row_lo_ptr + oh, mask=mask, other=0).to(tl.int64) * stride_h
    w0 = tl.load(col_lo_ptr + ow, mask=mask, other=0).to(tl.int64) * stride_w
    if NEAREST:
        value = tl.load(base + h0 + w0, mask=mask, other=0).to(ACC)
    else:
        h1 = tl.load(row_hi_ptr + oh, mask=mask, other=0).to(tl.int64) * stride_h
        w1 = tl.load(col_hi_ptr + ow, mask=mask, other=0).to(tl.int64) * stride_w
        lh = tl.load(row_w_ptr + oh, mask=mask, other=0).to(ACC)
        lw = tl.load(col_w_ptr + ow, mask=mask, other=0).to(ACC)
        top = (1 - lw) * tl.load(base + h0 + w0, mask=mask, other=0).to(ACC) \
            + lw * tl.load(base + h0 + w1, mask=mask, other=0).to(ACC)
        bottom = (1 - lw) * tl.load(base + h1 + w0, mask=mask, other=0).to(ACC) \
            + lw * tl.load(base + h1 + w1, mask=mask, other=0).to(ACC)
        value = (1 - lh) * top + lh * bottom
    tl.store(out_ptr + n * C * M + c * M + pixels, value.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def interp2d_backward_kernel(grad_ptr, acc_ptr, row_lo_ptr, row_hi_ptr, row_w_ptr,
                             col_lo_ptr, col_hi_ptr, col_w_ptr, C, W, HW, OW, M,
                             NEAREST: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    """Add grad of BLOCK output pixels of one plane to their source (NEAREST) or their 4
    bilinear neighbours times the weights, atomically, in acc (contiguous, zeroed)."""
    n, c, pixels, mask = _plane_and_pixels(C, M, BLOCK)
    oh = pixels // OW
    ow = pixels % OW
    g = tl.load(grad_ptr + n * C * M + c * M + pixels, mask=mask, other=0).to(ACC)
    plane = acc_ptr + (n * C + c) * HW
    h0 = tl.load(row_lo_ptr + oh, mask=mask, other=0).to(tl.int64) * W
    w0 = tl.load(col_lo_ptr + ow, mask=mask, other=0).to(tl.int64)
    if NEAREST:
        tl.atomic_add(plane + h0 + w0, g, mask=mask)
    else:
        h1 = tl.load(row_hi_ptr + oh, mask=mask, other=0).to(tl.int64) * W
        w1 = tl.load(col_hi_ptr + ow, mask=mask, other=0).to(tl.int64)
        lh = tl.load(row_w_ptr + oh, mask=mask, other=0).to(ACC)
        lw = tl.load(col_w_ptr + ow, mask=mask, other=0).to(ACC)
        tl.atomic_add(plane + h0 + w0, g * (1 - lh) * (1 - lw), mask=mask)
        tl.atomic_add(plane + h0 + w1, g * (1 - lh) * lw, mask=mask)
        tl.atomic_add(plane + h1 + w0, g * lh * (1 - lw), mask=mask)
        tl.atomic_add(plane + h1 + w1, g * lh * lw, mask=mask)


# Compile checks (tests/test_compile.py).
_TABLES = {"row_start_ptr": "*i32", "row_count_ptr": "*i32", "col_start_ptr": "*i32",
           "col_count_ptr": "*i32"}
_SAMPLES = {"row_lo_ptr": "*i32", "row_hi_ptr": "*i32", "col_lo_ptr": "*i32", "col_hi_ptr": "*i32"}
_SPECS = [
    {"kernel": "pool2d_kernel", "label": "max-fp32",
     "signature": {"x_ptr": "*fp32", "out_ptr": "*fp32", "index_ptr": "*i64", **_TABLES,
                   "row_div_ptr": "*fp32", "col_div_ptr": "*fp32", "stride_n": "i64",
                   "stride_c": "i64", "stride_h": "i64", "stride_w": "i64",
                   "divisor_override": "fp64"},
     "constexprs": {"IS_MAX": True, "HAS_OVERRIDE": False, "ACC": "tl.float32", "BLOCK": 256}},
    {"kernel": "pool2d_kernel", "label": "avg-bf16",
     "signature": {"x_ptr": "*bf16", "out_ptr": "*bf16", "index_ptr": "*i64", **_TABLES,
                   "row_div_ptr": "*fp32", "col_div_ptr": "*fp32", "divisor_override": "fp64"},
     "constexprs": {"IS_MAX": False, "HAS_OVERRIDE": False, "ACC": "tl.float32", "BLOCK": 256}},
    {"kernel": "pool2d_kernel", "label": "max-fp64",
     "signature": {"x_ptr": "*fp64", "out_ptr": "*fp64", "index_ptr": "*i64", **_TABLES,
                   "row_div_ptr": "*fp64", "col_div_ptr": "*fp64", "divisor_override": "fp64"},
     "constexprs": {"IS_MAX": True, "HAS_OVERRIDE": True, "ACC": "tl.float64", "BLOCK": 256}},
    {"kernel": "pool2d_kernel", "label": "max-i32",
     "signature": {"x_ptr": "*i32", "out_ptr": "*i32", "index_ptr": "*i64", **_TABLES,
                   "row_div_ptr": "*fp32", "col_div_ptr": "*fp32", "divisor_override": "fp64"},
     "constexprs": {"IS_MAX": True, "HAS_OVERRIDE": False, "ACC": "tl.int32", "BLOCK": 256}},
    {"kernel": "avg_pool2d_backward_kernel", "label": "fp32",
     "signature": {"grad_ptr": "*fp16", "acc_ptr": "*fp32", **_TABLES, "row_div_ptr": "*fp32",
                   "col_div_ptr": "*fp32", "divisor_override": "fp64"},
     "constexprs": {"HAS_OVERRIDE": False, "ACC": "tl.float32", "BLOCK": 256}},
    {"kernel": "avg_pool2d_backward_kernel", "label": "fp64",
     "signature": {"grad_ptr": "*fp64", "acc_ptr": "*fp64", **_TABLES, "row_div_ptr": "*fp64",
                   "col_div_ptr": "*fp64", "divisor_override": "fp64"},
     "constexprs": {"HAS_OVERRIDE": True, "ACC": "tl.float64", "BLOCK": 256}},
    {"kernel": "index_scatter_kernel", "label": "fp32",
     "signature": {"grad_ptr": "*bf16", "index_ptr": "*i64", "acc_ptr": "*fp32"},
     "constexprs": {"ACC": "tl.float32", "BLOCK": 256}},
    {"kernel": "index_scatter_kernel", "label": "fp64",
     "signature": {"grad_ptr": "*fp64", "index_ptr": "*i64", "acc_ptr": "*fp64"},
     "constexprs": {"ACC": "tl.float64", "BLOCK": 256}},
    {"kernel": "index_gather_kernel", "label": "bf16",
     "signature": {"x_ptr": "*bf16", "index_ptr": "*i64", "out_ptr": "*bf16", "stride_n": "i64",
                   "stride_c": "i64", "stride_h": "i64", "stride_w": "i64"},
     "constexprs": {"BLOCK": 256}},
    {"kernel": "interp2d_kernel", "label": "bilinear-fp16",
     "signature": {"x_ptr": "*fp16", "out_ptr": "*fp16", **_SAMPLES, "row_w_ptr": "*fp32",
                   "col_w_ptr": "*fp32", "stride_n": "i64", "stride_c": "i64",
                   "stride_h": "i64", "stride_w": "i64"},
     "constexprs": {"NEAREST": False, "ACC": "tl.float32", "BLOCK": 256}},
    {"kernel": "interp2d_kernel", "label": "nearest-fp64",
     "signature": {"x_ptr": "*fp64", "out_ptr": "*fp64", **_SAMPLES, "row_w_ptr": "*fp64",
                   "col_w_ptr": "*fp64"},
     "constexprs": {"NEAREST": True, "ACC": "tl.float64", "BLOCK": 256}},
    {"kernel": "interp2d_backward_kernel", "label": "bilinear-fp32",
     "signature": {"grad_ptr": "*fp32", "acc_ptr": "*fp32", **_SAMPLES, "row_w_ptr": "*fp32",
                   "col_w_ptr": "*fp32"},
     "constexprs": {"NEAREST": False, "ACC": "tl.float32", "BLOCK": 256}},
    {"kernel": "interp2d_backward_kernel", "label": "nearest-fp64",
     "signature": {"grad_ptr": "*fp64", "acc_ptr": "*fp64", **_SAMPLES, "row_w_ptr": "*fp64",
                   "col_w_ptr": "*fp64"},
     "constexprs": {"NEAREST": True, "ACC": "tl.float64", "BLOCK": 256}},
]
COMPILE_SPECS = [dict(spec, num_warps=NUM_WARPS, no_spills=True) for spec in _SPECS]
