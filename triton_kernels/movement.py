"""Data movement: index remapping (flip, roll, tile/repeat, repeat_interleave, pad) and tril/triu.

Every movement op but tril/triu writes a contiguous output whose element at
coordinates (i0..i5) is the input element at (j0..j5), where each input
coordinate depends only on the output coordinate of the same dim: ``j_d =
f_d(i_d)``. ``remap_kernel`` evaluates that map, one rule per dim chosen by a
constexpr ``MODE_d`` (see ``_source_index``); the host collapses dims the map
leaves alone and pads the shape in front to six dims. An input coordinate
outside ``[0, n_d)`` (constant padding) reads ``fill`` instead.
"""
import triton
import triton.language as tl

from .memory import cast_to
from .strided import unravel6

BLOCK = 1024
NUM_WARPS = 4

# Per-dim index rules (values of the MODE_d constexprs).
SHIFT = 0      # j = i - param: identity (param 0), constant padding / cropping
FLIP = 1       # j = n - 1 - i
WRAP = 2       # j = (i - param) mod n: roll, tile, circular padding (0 <= param <= n)
REFLECT = 3    # j = i - param mirrored at both ends without repeating the edge (param < n)
CLAMP = 4      # j = clamp(i - param, 0, n - 1): replicate padding
DIVIDE = 5     # j = i // param: repeat_interleave with an integer count
TABLE = 6      # j = table[i]: slices picked by an int64 index vector (one dim at most)


@triton.jit
def _source_index(i, n, param, table_ptr, mask, MODE: tl.constexpr):
    """Input coordinate along one dim for output coordinates ``i`` (a block of int64)."""
    if MODE == 0:
        j = i - param
    elif MODE == 1:
        j = n - 1 - i
    elif MODE == 2:
        j = (i - param + n) % n  # i - param >= -n, so the dividend is never negative
    elif MODE == 3:
        j = tl.abs(i - param)  # mirror at 0 ...
        j = (n - 1) - tl.abs((n - 1) - j)  # ... and at n - 1
    elif MODE == 4:
        j = tl.minimum(tl.maximum(i - param, 0), n - 1)
    elif MODE == 5:
        j = i // param
    else:
        j = tl.load(table_ptr + i, mask=mask, other=0)
    return j


# Not specialized: the index-map sizes, strides and parameters (div/mod index arithmetic), so
# every shape of a movement op shares one binary.
_REMAP_UNSPECIALIZED = ("size1", "size2", "size3", "size4", "size5",
                         "n0", "n1", "n2", "n3", "n4", "n5",
                         "st0", "st1", "st2", "st3", "st4", "st5",
                         "p0", "p1", "p2", "p3", "p4", "p5")


@triton.jit(do_not_specialize=_REMAP_UNSPECIALIZED)
def remap_kernel(x_ptr, out_ptr, table_ptr, fill_ptr, total,
                 size1, size2, size3, size4, size5,
                 n0, n1, n2, n3, n4, n5,
                 st0, st1, st2, st3, st4, st5,
                 p0, p1, p2, p3, p4, p5,
                 MODE0: tl.constexpr, MODE1: tl.constexpr, MODE2: tl.constexpr,
                 MODE3: tl.constexpr, MODE4: tl.constexpr, MODE5: tl.constexpr,
                 BLOCK: tl.constexpr):
    """Each program writes BLOCK consecutive elements of the contiguous 6-d output.

    ``size1..5`` are the output sizes (dim 0 follows from ``total``), ``n_d``
    and ``st_d`` the input's sizes and strides, ``p_d`` each rule's parameter.
    The mask covers the partial last block and, for constant padding, output
    positions whose source lies outside the input: they get the value at ``fill_ptr``
    (one element of x's type, so a float64 or int64 fill keeps every bit).
    """
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < total
    i0, i1, i2, i3, i4, i5 = unravel6(idx, size1, size2, size3, size4, size5)
    j0 = _source_index(i0, n0, p0, table_ptr, mask, MODE0)
    j1 = _source_index(i1, n1, p1, table_ptr, mask, MODE1)
    j2 = _source_index(i2, n2, p2, table_ptr, mask, MODE2)
    j3 = _source_index(i3, n3, p3, table_ptr, mask, MODE3)
    j4 = _source_index(i4, n4, p4, table_ptr, mask, MODE4)
    j5 = _source_index(i5, n5, p5, table_ptr, mask, MODE5)
    inside = ((j0 >= 0) & (j0 < n0) & (j1 >= 0) & (j1 < n1) & (j2 >= 0) & (j2 < n2)
              & (j3 >= 0) & (j3 < n3) & (j4 >= 0) & (j4 < n4) & (j5 >= 0) & (j5 < n5))
    src = j0 * st0 + j1 * st1 + j2 * st2 + j3 * st3 + j4 * st4 + j5 * st5
    value = tl.load(x_ptr + src, mask=mask & inside, other=0)
    fill = tl.load(fill_ptr)
    value = tl.where(inside, value, fill)
    tl.store(out_ptr + idx, cast_to(value, out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def triangle_kernel(x_ptr, out_ptr, total, rows, cols, stride_b, stride_r, stride_c, diagonal,
                    UPPER: tl.constexpr, BLOCK: tl.constexpr):
    """Each program writes BLOCK elements of a contiguous (batch, rows, cols) output.

    An element at (r, c) is kept when ``c - r <= diagonal`` (tril) or ``c - r >=
    diagonal`` (``UPPER``, triu) and is zero otherwise; the input is read through
    its (batch, row, column) strides. Masked: the partial last block.
    """
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < total
    c = idx % cols
    r = (idx // cols) % rows
    b = idx // (cols * rows)
    if UPPER:
        keep = (c - r) >= diagonal
    else:
        keep = (c - r) <= diagonal
    value = tl.load(x_ptr + b * stride_b + r * stride_r + c * stride_c, mask=mask & keep, other=0)
    tl.store(out_ptr + idx, value, mask=mask)


@triton.jit
def repeat_index_kernel(ends_ptr, out_ptr, n, total, steps, BLOCK: tl.constexpr):
    """Each program writes BLOCK entries of ``repeat_interleave(repeats)``: output position
    ``i`` holds the first k with ``ends[k] > i`` (``ends`` = inclusive cumulative sum of
    the n repeats, so k's copies fill ``[ends[k] - repeats[k], ends[k])``).

    A branch-free binary search over the sorted ``ends``, ``steps`` halvings
    (``n.bit_length() + 1``) for every position. Masked: the partial last block.
    """
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < total
    lo = tl.zeros((BLOCK,), tl.int64)
    hi = tl.zeros((BLOCK,), tl.int64) + n
    for _ in range(steps):
        active = lo < hi
        mid = lo + (hi - lo) // 2
        go_right = tl.load(ends_ptr + mid, mask=mask & active, other=0) <= idx
        lo = tl.where(active & go_right, mid + 1, lo)
        hi = tl.where(active & ~go_right, mid, hi)
    tl.store(out_ptr + idx, lo, mask=mask)


# Compile checks (tests/test_compile.py).
_REMAP = {"x_ptr": "*fp32", "out_ptr": "*fp32", "table_ptr": "*i64", "fill_ptr": "*fp32",
          "total": "i64"}
COMPILE_SPECS = [
    {"kernel": "remap_kernel", "label": "flip-roll-fp32", "signature": _REMAP, "no_spills": True,
     "constexprs": {"MODE0": SHIFT, "MODE1": FLIP, "MODE2": WRAP, "MODE3": DIVIDE, "MODE4": TABLE,
                    "MODE5": SHIFT, "BLOCK": BLOCK}, "num_warps": NUM_WARPS},
    {"kernel": "remap_kernel", "label": "pad-bf16", "no_spills": True,
     "signature": {**_REMAP, "x_ptr": "*bf16", "out_ptr": "*bf16", "fill_ptr": "*bf16"},
     "constexprs": {"MODE0": SHIFT, "MODE1": SHIFT, "MODE2": SHIFT, "MODE3": REFLECT,
                    "MODE4": CLAMP, "MODE5": WRAP, "BLOCK": BLOCK}, "num_warps": NUM_WARPS},
    {"kernel": "triangle_kernel", "label": "tril-fp64", "no_spills": True,
     "signature": {"x_ptr": "*fp64", "out_ptr": "*fp64", "total": "i64"},
     "constexprs": {"UPPER": False, "BLOCK": BLOCK}, "num_warps": NUM_WARPS},
    {"kernel": "repeat_index_kernel", "label": "i64", "no_spills": True,
     "signature": {"ends_ptr": "*i64", "out_ptr": "*i64", "n": "i64", "total": "i64"},
     "constexprs": {"BLOCK": BLOCK}, "num_warps": NUM_WARPS},
]
