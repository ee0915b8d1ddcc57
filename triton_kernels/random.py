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
