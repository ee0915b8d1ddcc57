"""Counter-based random numbers (Philox through ``tl.rand``/``tl.randn``).

Element ``i`` of a draw uses counter ``offset + i`` under key ``seed``, so the
values depend only on (seed, offset, i), never on the launch grid.
"""
import triton
import triton.language as tl


@triton.jit
def rand_kernel(out_ptr, n, seed, offset, BLOCK: tl.constexpr):
    """Each program fills BLOCK elements with uniform samples in [0, 1)."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    value = tl.rand(seed, (offset + idx).to(tl.uint32))
    value = value.to(out_ptr.dtype.element_ty)
    # rounding to a narrow type can reach 1.0: keep the interval half-open
    value = tl.where(value >= 1.0, 0.0, value)
    tl.store(out_ptr + idx, value, mask=mask)


@triton.jit
def randn_kernel(out_ptr, n, seed, offset, BLOCK: tl.constexpr):
    """Each program fills BLOCK elements with standard normal samples."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    value = tl.randn(seed, (offset + idx).to(tl.uint32))
    tl.store(out_ptr + idx, value.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def randint_kernel(out_ptr, n, seed, offset, low, span, BLOCK: tl.constexpr):
    """Each program fills BLOCK elements with integers uniform in [low, low + span)."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    bits = tl.randint(seed, (offset + idx).to(tl.uint32)).to(tl.uint64)
    value = low + (bits % span.to(tl.uint64)).to(tl.int64)
    tl.store(out_ptr + idx, value.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def dropout_kernel(x_ptr, out_ptr, n, p, scale_hi, scale_lo, seed, offset,
                   ACC: tl.constexpr, BLOCK: tl.constexpr):
    """Each program handles BLOCK elements of the contiguous ``x``: element ``i`` is kept when
    its uniform draw (Philox counter ``offset + i`` under ``seed``) is >= ``p`` and then scaled
    by ``1 / (1 - p)``, else zeroed. The mask depends only on (seed, offset, i), never on
    BLOCK or the grid, so the backward regenerates it by running this kernel on the gradient."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    keep = tl.rand(seed, (offset + idx).to(tl.uint32)) >= p
    # the scale comes as two fp32 halves so fp64 math sees 1 / (1 - p) exactly
    scale = tl.cast(scale_hi, ACC) + tl.cast(scale_lo, ACC)
    x = tl.load(x_ptr + idx, mask=mask, other=0).to(ACC)
    out = tl.where(keep, x * scale, 0.0)
    tl.store(out_ptr + idx, out.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def multinomial_kernel(probs_ptr, out_ptr, C, num_samples, stride_r, stride_c, seed, offset,
                       REPLACEMENT: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_S: tl.constexpr):
    """Program r draws ``num_samples`` category indices from row r of ``probs`` (held whole in
    BLOCK_C >= C lanes; columns past C are masked to probability 0).

    With replacement: inverse CDF. Sample s uses counter ``offset + r * num_samples + s``;
    its index is the number of cumulative sums <= u * total, taken BLOCK_S samples at a time
    as a (BLOCK_S, BLOCK_C) comparison tile.
    Without replacement: Gumbel top-k. Category c gets the key ``log(p_c) - log(-log(u_c))``
    (counter ``offset + r * C + c``); the samples are the keys' indices in decreasing order,
    taken one argmax at a time (zero-probability categories have key -inf).
    """
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK_C)
    col_mask = cols < C
    p = tl.load(probs_ptr + row * stride_r + cols * stride_c, mask=col_mask, other=0).to(tl.float32)
    out_row = out_ptr + row * num_samples
    if REPLACEMENT:
        cdf = tl.cumsum(p, 0)
        total = tl.sum(p, 0)
        for start in range(0, num_samples, BLOCK_S):
            samples = start + tl.arange(0, BLOCK_S)
            sample_mask = samples < num_samples
            u = tl.rand(seed, (offset + row * num_samples + samples).to(tl.uint32)) * total
            below = (cdf[None, :] <= u[:, None]) & col_mask[None, :]
            index = tl.minimum(tl.sum(below.to(tl.int64), 1), C - 1)
            tl.store(out_row + samples, index, mask=sample_mask)
    else:
        u = tl.rand(seed, (offset + row * C + cols).to(tl.uint32))
        gumbel = -tl.log(-tl.log(u))
        positive = col_mask & (p > 0)
        keys = tl.where(positive, tl.log(tl.where(positive, p, 1.0)) + gumbel, float("-inf"))
        for s in range(0, num_samples):
            best = tl.argmax(keys, 0)
            tl.store(out_row + s, best.to(tl.int64))
            keys = tl.where(cols == best, float("-inf"), keys)


# Compile checks (tests/test_compile.py): each kernel at representative dtypes.
_SEEDS = {"seed": "i64", "offset": "i64"}
COMPILE_SPECS = [
    {"kernel": "rand_kernel", "signature": {"out_ptr": "*fp32", "n": "i32", **_SEEDS},
     "constexprs": {"BLOCK": 1024}, "num_warps": 4, "no_spills": True},
    {"kernel": "randn_kernel", "signature": {"out_ptr": "*bf16", "n": "i32", **_SEEDS},
     "constexprs": {"BLOCK": 1024}, "num_warps": 4, "no_spills": True},
    {"kernel": "randint_kernel", "signature": {"out_ptr": "*i64", **_SEEDS, "low": "i64",
                                               "span": "i64"},
     "constexprs": {"BLOCK": 1024}, "num_warps": 4, "no_spills": True},
    {"kernel": "dropout_kernel", "label": "fp16",
     "signature": {"x_ptr": "*fp16", "out_ptr": "*fp16", "n": "i64", "p": "fp32",
                   "scale_hi": "fp32", "scale_lo": "fp32", **_SEEDS},
     "constexprs": {"ACC": "tl.float32", "BLOCK": 1024}, "num_warps": 4, "no_spills": True},
    {"kernel": "dropout_kernel", "label": "fp64",
     "signature": {"x_ptr": "*fp64", "out_ptr": "*fp64", "n": "i64", "p": "fp32",
                   "scale_hi": "fp32", "scale_lo": "fp32", **_SEEDS},
     "constexprs": {"ACC": "tl.float64", "BLOCK": 1024}, "num_warps": 4, "no_spills": True},
    {"kernel": "multinomial_kernel", "label": "replacement",
     "signature": {"probs_ptr": "*fp32", "out_ptr": "*i64", **_SEEDS},
     "constexprs": {"REPLACEMENT": True, "BLOCK_C": 1024, "BLOCK_S": 4}, "num_warps": 4,
     "no_spills": True},
    {"kernel": "multinomial_kernel", "label": "gumbel-top-k",
     "signature": {"probs_ptr": "*bf16", "out_ptr": "*i64", **_SEEDS},
     "constexprs": {"REPLACEMENT": False, "BLOCK_C": 1024, "BLOCK_S": 4}, "num_warps": 4,
     "no_spills": True},
]
