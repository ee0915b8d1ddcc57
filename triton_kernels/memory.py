"""The memory family's kernels: copies, casts and fills behind ``copy_``, ``contiguous``,
``full``, ``arange``, ``linspace`` and ``eye``."""
import triton
import triton.language as tl

from .strided import offset6, unravel6

# Elements per program instance. Copies are memory bound; 1024 elements with 4
# warps gives each thread 8 elements, enough for vectorized loads on contiguous data.
COPY_CONFIGS = [{"BLOCK": 1024, "num_warps": 4}]


@triton.jit
def cast_to(value, ty: tl.constexpr):
    """``value.to(ty)``; anything but float32 reaches bfloat16 through float32.

    The Triton interpreter (3.9) turns an integer or a float64 into bfloat16
    by keeping its low bits (1 -> 9.2e-41); the float32 step (which PyTorch
    takes too) gives the same value on a GPU.
    """
    if ty == tl.bfloat16 and value.dtype != tl.float32:
        value = value.to(tl.float32)
    return value.to(ty)


# Not specialized: sizes and strides of the strided path (div/mod index arithmetic; a
# divisibility hint speeds up nothing), so every shape shares one binary per dtype pair.
_STRIDED_UNSPECIALIZED = ("size1", "size2", "size3", "size4", "size5",
                          "d0", "d1", "d2", "d3", "d4", "d5",
                          "s0", "s1", "s2", "s3", "s4", "s5")


@triton.jit(do_not_specialize=_STRIDED_UNSPECIALIZED)
def strided_copy_kernel(dst_ptr, src_ptr, n,
                        size1, size2, size3, size4, size5,
                        d0, d1, d2, d3, d4, d5,
                        s0, s1, s2, s3, s4, s5,
                        BLOCK: tl.constexpr):
    """Each program copies BLOCK elements of a 6-d view, in row-major order.

    ``dst`` and ``src`` are both strided (``d*``/``s*``, 0 where ``src`` is
    broadcast); the value is cast to ``dst``'s element type on store.
    """
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n  # the last block is partial
    i0, i1, i2, i3, i4, i5 = unravel6(idx, size1, size2, size3, size4, size5)
    src_off = offset6(i0, i1, i2, i3, i4, i5, s0, s1, s2, s3, s4, s5)
    dst_off = offset6(i0, i1, i2, i3, i4, i5, d0, d1, d2, d3, d4, d5)
    value = tl.load(src_ptr + src_off, mask=mask)
    tl.store(dst_ptr + dst_off, cast_to(value, dst_ptr.dtype.element_ty), mask=mask)


@triton.jit
def contiguous_copy_kernel(dst_ptr, src_ptr, n, BLOCK: tl.constexpr):
    """Each program copies (and casts) BLOCK consecutive elements."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    value = tl.load(src_ptr + idx, mask=mask)
    tl.store(dst_ptr + idx, cast_to(value, dst_ptr.dtype.element_ty), mask=mask)


@triton.jit
def fill_kernel(dst_ptr, n, value, BLOCK: tl.constexpr):
    """Each program writes the int or bool ``value`` (cast to the element type) to BLOCK elements."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    fill = tl.full((BLOCK,), value, dtype=dst_ptr.dtype.element_ty)
    tl.store(dst_ptr + idx, fill, mask=mask)


@triton.jit
def fill_float_kernel(dst_ptr, n, value: tl.float64, BLOCK: tl.constexpr):
    """Each program writes the float ``value`` (exact as float64, rounded once to the element
    type) to BLOCK elements."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    fill = tl.full((BLOCK,), value, dtype=dst_ptr.dtype.element_ty)
    tl.store(dst_ptr + idx, fill, mask=mask)


@triton.jit
def arange_kernel(dst_ptr, n, start: tl.float64, step: tl.float64, BLOCK: tl.constexpr):
    """Each program writes ``start + i * step`` for its BLOCK indices ``i``, computed in float64
    (as PyTorch's accumulate type) from the exact float64 ``start`` and ``step``."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    value = start + idx.to(tl.float64) * step
    tl.store(dst_ptr + idx, cast_to(value, dst_ptr.dtype.element_ty), mask=mask)


@triton.jit
def arange_int_kernel(dst_ptr, n, start, step, BLOCK: tl.constexpr):
    """Integer ``arange``: ``start + i * step`` in int64, then cast."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    value = start + idx * step
    tl.store(dst_ptr + idx, cast_to(value, dst_ptr.dtype.element_ty), mask=mask)


@triton.jit
def linspace_int_kernel(dst_ptr, n, start, end, step_bits, halfway, BLOCK: tl.constexpr):
    """Integer ``linspace`` as PyTorch computes it: each program writes BLOCK points
    ``start + i * step`` (``i < halfway``) or ``end - (n - 1 - i) * step`` (from halfway on),
    in float64 and truncated toward zero. ``step`` arrives as its int64 bit pattern (Python
    floats reach kernels as float32, which would move truncations)."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    step = tl.full((BLOCK,), step_bits, tl.int64).to(tl.float64, bitcast=True)
    # tl.cast, not start.to(): an int argument equal to 1 arrives as a constexpr
    low = tl.cast(start, tl.float64) + idx.to(tl.float64) * step
    high = tl.cast(end, tl.float64) - (n - 1 - idx).to(tl.float64) * step
    value = tl.where(idx < halfway, low, high)
    tl.store(dst_ptr + idx, value.to(tl.int64).to(dst_ptr.dtype.element_ty), mask=mask)


@triton.jit
def eye_kernel(dst_ptr, n_rows, n_cols, BLOCK: tl.constexpr):
    """Each program writes BLOCK elements of an identity matrix (1 where row == col)."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n_rows * n_cols
    one = (idx // n_cols) == (idx % n_cols)
    tl.store(dst_ptr + idx, cast_to(one, dst_ptr.dtype.element_ty), mask=mask)
