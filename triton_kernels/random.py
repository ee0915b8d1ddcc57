"""Counter-based random numbers (Philox through ``tl.rand``/``tl.randn``).

Element ``i`` of a draw uses counter ``offset + i`` under key ``seed``, so the
values depend only on (seed, offset, i), never on the launch grid.
"""
import triton
import triton.language as tl

from .scalars import compute_scalar

# Elements per program instance of the element-wise draws (rand, randn, randint, dropout).
RANDOM_CONFIGS = [{"BLOCK": 1024, "num_warps": 4}]
# multinomial: one program per row walks the categories in chunks of at most
# MULTINOMIAL_MAX_BLOCK_C; with replacement it compares BLOCK_S samples with a chunk at
# once, a (BLOCK_S, BLOCK_C) tile of at most MULTINOMIAL_TILE elements.
MULTINOMIAL_MAX_BLOCK_C = 1024
MULTINOMIAL_TILE = 4096


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
    # tl.cast, not span.to(): an int argument equal to 1 arrives as a constexpr
    value = low + (bits % tl.cast(span, tl.uint64)).to(tl.int64)
    tl.store(out_ptr + idx, value.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def dropout_kernel(x_ptr, out_ptr, n, p: tl.float64, scale: tl.float64, seed, offset,
                   ACC: tl.constexpr, BLOCK: tl.constexpr):
    """Each program handles BLOCK elements of the contiguous ``x``: element ``i`` is kept when
    its uniform draw (Philox counter ``offset + i`` under ``seed``) is >= ``p`` and then scaled
    by ``1 / (1 - p)``, else zeroed. The mask depends only on (seed, offset, i), never on
    BLOCK or the grid, so the backward regenerates it by running this kernel on the gradient."""
    p = compute_scalar(p, tl.float32)  # compared with tl.rand's float32 draws
    scale = compute_scalar(scale, ACC)
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    keep = tl.rand(seed, (offset + idx).to(tl.uint32)) >= p
    x = tl.load(x_ptr + idx, mask=mask, other=0).to(ACC)
    out = tl.where(keep, x * scale, 0.0)
    tl.store(out_ptr + idx, out.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _gumbel_keys(probs_ptr, row, cols, col_mask, C, stride_r, stride_c, seed, offset):
    """``log(p_c) + Gumbel noise`` for the columns ``cols`` of one row (counter
    ``offset + row * C + c``); -inf for zero probabilities and columns past C."""
    p = tl.load(probs_ptr + row * stride_r + cols * stride_c, mask=col_mask, other=0).to(tl.float32)
    u = tl.rand(seed, (offset + row * C + cols).to(tl.uint32))
    positive = col_mask & (p > 0)
    gumbel = -tl.log(-tl.log(u))
    return tl.where(positive, tl.log(tl.where(positive, p, 1.0)) + gumbel, float("-inf"))


@triton.jit
def multinomial_kernel(probs_ptr, out_ptr, C, num_samples, stride_r, stride_c, seed, offset,
                       REPLACEMENT: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_S: tl.constexpr):
    """Program r draws ``num_samples`` category indices from row r of ``probs``, walking the
    row in BLOCK_C-wide chunks (columns past C are masked to probability 0).

    With replacement: inverse CDF. A first pass sums the row; then for BLOCK_S samples at a
    time (sample s uses counter ``offset + r * num_samples + s``) each chunk's running CDF
    (previous chunks' total + ``tl.cumsum``) is compared with ``u * total`` as a
    (BLOCK_S, BLOCK_C) tile; the index is the number of CDF values <= u * total.
    Without replacement: Gumbel top-k. Category c has the key ``log(p_c) - log(-log(u_c))``;
    the samples are the categories in decreasing key order (ties: smaller index first). Keys
    are recomputed, never stored: sample s is the largest key ordered after sample s-1's.
    """
    row = tl.program_id(0).to(tl.int64)
    out_row = out_ptr + row * num_samples
    if REPLACEMENT:
        total = 0.0
        for start in range(0, C, BLOCK_C):
            cols = start + tl.arange(0, BLOCK_C)
            total += tl.sum(tl.load(probs_ptr + row * stride_r + cols * stride_c, mask=cols < C,
                                    other=0).to(tl.float32), 0)
        for s_start in range(0, num_samples, BLOCK_S):
            samples = s_start + tl.arange(0, BLOCK_S)
            u = tl.rand(seed, (offset + row * num_samples + samples).to(tl.uint32)) * total
            count = tl.zeros([BLOCK_S], tl.int64)
            prefix = 0.0
            for start in range(0, C, BLOCK_C):
                cols = start + tl.arange(0, BLOCK_C)
                col_mask = cols < C
                p = tl.load(probs_ptr + row * stride_r + cols * stride_c, mask=col_mask,
                            other=0).to(tl.float32)
                cdf = prefix + tl.cumsum(p, 0)
                below = (cdf[None, :] <= u[:, None]) & col_mask[None, :]
                count += tl.sum(below.to(tl.int64), 1)
                prefix += tl.sum(p, 0)
            tl.store(out_row + samples, tl.minimum(count, C - 1), mask=samples < num_samples)
    else:
        last_key = float("inf")
        last_index = -1
        for s in range(0, num_samples):
            best_key = float("-inf")
            best_index = 0
            for start in range(0, C, BLOCK_C):
                cols = start + tl.arange(0, BLOCK_C)
                keys = _gumbel_keys(probs_ptr, row, cols, cols < C, C, stride_r, stride_c, seed,
                                    offset)
                # only keys ordered after the previous sample: (key, -index) decreasing
                after = (keys < last_key) | ((keys == last_key) & (cols > last_index))
                keys = tl.where(after, keys, float("-inf"))
                chunk_best = tl.max(keys, 0)
                chunk_index = tl.min(tl.where(after & (keys == chunk_best), cols, C), 0)
                # a later chunk wins only with a strictly larger key (smaller index first)
                better = chunk_best > best_key
                best_index = tl.where(better, chunk_index, best_index)
                best_key = tl.where(better, chunk_best, best_key)
            tl.store(out_row + s, best_index.to(tl.int64))
            last_key = best_key
            last_index = best_index


# Compile checks (tests/test_compile.py): each kernel at representative dtypes, at the launch
# configs.
_BLOCK = RANDOM_CONFIGS[0]["BLOCK"]
_WARPS = RANDOM_CONFIGS[0]["num_warps"]
_SEEDS = {"seed": "i64", "offset": "i64"}
COMPILE_SPECS = [
    {"kernel": "rand_kernel", "signature": {"out_ptr": "*fp32", "n": "i32", **_SEEDS},
     "constexprs": {"BLOCK": _BLOCK}, "num_warps": _WARPS, "no_spills": True},
    {"kernel": "randn_kernel", "signature": {"out_ptr": "*bf16", "n": "i32", **_SEEDS},
     "constexprs": {"BLOCK": _BLOCK}, "num_warps": _WARPS, "no_spills": True,
     "fp64_math": "libdevice's float32 sin/cos (tl.randn's Box-Muller) reduce huge arguments in float64"},
    {"kernel": "randint_kernel", "signature": {"out_ptr": "*i64", **_SEEDS, "low": "i64",
                                               "span": "i64"},
     "constexprs": {"BLOCK": _BLOCK}, "num_warps": _WARPS, "no_spills": True},
    {"kernel": "dropout_kernel", "label": "fp16",
     "signature": {"x_ptr": "*fp16", "out_ptr": "*fp16", "n": "i64", "p": "fp64",
                   "scale": "fp64", **_SEEDS},
     "constexprs": {"ACC": "tl.float32", "BLOCK": _BLOCK}, "num_warps": _WARPS,
     "no_spills": True},
    {"kernel": "dropout_kernel", "label": "fp64",
     "signature": {"x_ptr": "*fp64", "out_ptr": "*fp64", "n": "i64", "p": "fp64",
                   "scale": "fp64", **_SEEDS},
     "constexprs": {"ACC": "tl.float64", "BLOCK": _BLOCK}, "num_warps": _WARPS,
     "no_spills": True},
    {"kernel": "multinomial_kernel", "label": "replacement",
     "signature": {"probs_ptr": "*fp32", "out_ptr": "*i64", **_SEEDS},
     "constexprs": {"REPLACEMENT": True, "BLOCK_C": MULTINOMIAL_MAX_BLOCK_C, "BLOCK_S": 4},
     "num_warps": _WARPS,
     "no_spills": True},
    {"kernel": "multinomial_kernel", "label": "gumbel-top-k",
     "signature": {"probs_ptr": "*bf16", "out_ptr": "*i64", **_SEEDS},
     "constexprs": {"REPLACEMENT": False, "BLOCK_C": MULTINOMIAL_MAX_BLOCK_C, "BLOCK_S": 4},
     "num_warps": _WARPS,
     "no_spills": True},
]
