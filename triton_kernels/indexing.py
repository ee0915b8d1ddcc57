"""Indexing kernels: gather / scatter (store or atomic add) along one dim, and mask compaction.

Gather and scatter walk the elements of an ``index`` view (up to six strided
dims, see ``strided.py``). For element ``i`` of ``index`` the other operand's
element is ``i`` with coordinate ``dim`` replaced by ``index[i]``: the host
passes that operand's strides with ``dim``'s stride set to 0, and the kernel
adds ``index[i] * dim_stride``. A broadcast (stride-0) index view turns the
same kernels into ``index_select`` / ``index_add`` / row gathers of an
advanced index.

A scatter-add whose index is one row index broadcast over the other dims
(``index_add``, the backward of ``index_select``, ``embedding`` and advanced
indexing) runs deterministically instead: the row indices are sorted (stably,
on the device) and ``sorted_segment_sum_kernel`` sums each target row's
sources in that order.

Indices are checked on the device: an index outside ``[0, dim size)`` is
skipped and recorded in the error flag (``checks.report_bad_indices``), which
the host raises at its next synchronization.

``nonzero`` is two passes over a contiguous input: each program counts its
nonzero elements, the host turns the counts into exclusive starting rows,
and each program then writes the coordinates of its nonzero elements at
``start + (running count within the block)``, keeping row-major order.
"""
import triton
import triton.language as tl

from .checks import report_bad_indices
from .memory import cast_to
from .strided import offset6, unravel6

# Elements per program instance: gathers and scatters are memory bound, 1024
# elements with 4 warps gives each thread 8 elements, as in the copy kernels.
INDEXING_CONFIGS = [{"BLOCK": 1024, "num_warps": 4}]


@triton.jit
def gather_kernel(x_ptr, index_ptr, out_ptr, n, dim_size, dim_stride,
                  size1, size2, size3, size4, size5,
                  x0, x1, x2, x3, x4, x5,
                  i0, i1, i2, i3, i4, i5, err_ptr, err_code,
                  BLOCK: tl.constexpr):
    """Each program writes BLOCK consecutive elements of the contiguous output (index's shape).

    ``x*`` are x's strides with the gathered dim's stride zeroed; ``i*`` the
    index view's strides (0 where it is broadcast). An index outside
    ``[0, dim_size)`` is reported in the error flag at ``err_ptr`` and not
    loaded (its output element is unspecified).
    """
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n  # the last block is partial
    c0, c1, c2, c3, c4, c5 = unravel6(offs, size1, size2, size3, size4, size5)
    index = tl.load(index_ptr + offset6(c0, c1, c2, c3, c4, c5, i0, i1, i2, i3, i4, i5),
                    mask=mask, other=0).to(tl.int64)
    ok = mask & (index >= 0) & (index < dim_size)
    report_bad_indices(err_ptr, index, mask & ((index < 0) | (index >= dim_size)), dim_size,
                       err_code)
    x_off = offset6(c0, c1, c2, c3, c4, c5, x0, x1, x2, x3, x4, x5) + index * dim_stride
    value = tl.load(x_ptr + x_off, mask=ok)
    tl.store(out_ptr + offs, value, mask=mask)


@triton.jit
def scatter_kernel(out_ptr, index_ptr, src_ptr, n, dim_size, dim_stride,
                   size1, size2, size3, size4, size5,
                   o0, o1, o2, o3, o4, o5,
                   i0, i1, i2, i3, i4, i5,
                   s0, s1, s2, s3, s4, s5, err_ptr, err_code,
                   ACCUMULATE: tl.constexpr, BLOCK: tl.constexpr):
    """Each program scatters BLOCK elements of ``src`` (walked in index's shape) into ``out``.

    ``out`` already holds a copy of the input; its strides ``o*`` have the
    scattered dim's stride zeroed. With ``ACCUMULATE`` the value is added
    with an atomic (duplicate indices accumulate, in an order that varies
    between runs for floats); otherwise it is stored (one duplicate wins). An index
    outside ``[0, dim_size)`` is reported in the error flag at ``err_ptr`` and skipped.
    """
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    c0, c1, c2, c3, c4, c5 = unravel6(offs, size1, size2, size3, size4, size5)
    index = tl.load(index_ptr + offset6(c0, c1, c2, c3, c4, c5, i0, i1, i2, i3, i4, i5),
                    mask=mask, other=0).to(tl.int64)
    ok = mask & (index >= 0) & (index < dim_size)
    report_bad_indices(err_ptr, index, mask & ((index < 0) | (index >= dim_size)), dim_size,
                       err_code)
    value = tl.load(src_ptr + offset6(c0, c1, c2, c3, c4, c5, s0, s1, s2, s3, s4, s5), mask=ok)
    value = cast_to(value, out_ptr.dtype.element_ty)
    target = out_ptr + offset6(c0, c1, c2, c3, c4, c5, o0, o1, o2, o3, o4, o5) + index * dim_stride
    if ACCUMULATE:
        tl.atomic_add(target, value, mask=ok)
    else:
        tl.store(target, value, mask=ok)


@triton.jit
def sorted_segment_sum_kernel(out_ptr, src_ptr, sorted_ptr, order_ptr, n_src, n_out, n_cols,
                              inner, err_ptr, err_code, ACC: tl.constexpr, BLOCK: tl.constexpr):
    """Deterministic row scatter-add: ``out[p, t, q] += sum of src[p, order[j], q]`` over the
    positions ``j`` (in order) of the run of ``t`` in the sorted row indices ``sorted``.

    ``out`` is (P, n_out, inner) and ``src`` (P, n_src, inner), both contiguous;
    ``sorted``/``order`` are the stably sorted row indices and their positions.
    Program (j, b) handles BLOCK of the P * inner columns for sorted position
    ``j``: only the first position of a run (its head) does work, summing the
    run in order, so each output element has one writer (no atomics) and the
    sum order is fixed. A head outside ``[0, n_out)`` is reported in the
    error flag at ``err_ptr`` and skipped.
    """
    j = tl.program_id(0)
    cols = tl.program_id(1).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < n_cols  # n_cols = P * inner; the last block is partial
    p = cols // inner
    q = cols % inner
    target = tl.load(sorted_ptr + j)
    previous = tl.load(sorted_ptr + j - 1, mask=j > 0, other=0)
    # per-lane copies: masks are built from blocks (the interpreter mistypes scalar bools)
    lanes = tl.zeros((BLOCK,), tl.int64)
    lane_target = target + lanes
    lane_head = (j + lanes == 0) | (previous + lanes != lane_target)
    lane_bad = lane_head & ((lane_target < 0) | (lane_target >= n_out))
    report_bad_indices(err_ptr, lane_target, lane_bad & (cols == 0), n_out, err_code)
    keep = mask & lane_head & (lane_bad == 0)
    acc = tl.zeros((BLOCK,), ACC)
    k = j
    more = ((j == 0) | (previous != target)) & (target >= 0) & (target < n_out)
    while more:
        row = tl.load(order_ptr + k)
        acc += tl.load(src_ptr + (p * n_src + row) * inner + q, mask=mask, other=0).to(ACC)
        k += 1
        following = tl.load(sorted_ptr + k, mask=k < n_src, other=0)
        more = (k < n_src) & (following == target)
    dst = out_ptr + (p * n_out + target) * inner + q
    total = tl.load(dst, mask=keep, other=0).to(ACC) + acc
    tl.store(dst, cast_to(total, out_ptr.dtype.element_ty), mask=keep)


@triton.jit
def nonzero_count_kernel(x_ptr, counts_ptr, n, BLOCK: tl.constexpr):
    """Each program counts the nonzero elements among its BLOCK elements of contiguous ``x``."""
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    flags = (tl.load(x_ptr + offs, mask=mask, other=0) != 0) & mask
    tl.store(counts_ptr + tl.program_id(0), tl.sum(flags.to(tl.int64), axis=0))


@triton.jit
def nonzero_write_kernel(x_ptr, starts_ptr, sizes_ptr, out_ptr, n, ndim, BLOCK: tl.constexpr):
    """Each program writes the coordinates of the nonzero elements among its BLOCK elements.

    Output row of an element = the program's start row (from ``starts_ptr``)
    + the number of nonzero elements before it in the block (an exclusive
    cumulative sum). Coordinates come from the linear index by dividing by
    the sizes (``sizes_ptr``, int64) from the last dim to the first.
    """
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    flags = ((tl.load(x_ptr + offs, mask=mask, other=0) != 0) & mask).to(tl.int64)
    rows = tl.load(starts_ptr + tl.program_id(0)) + tl.cumsum(flags, axis=0) - flags
    keep = flags != 0
    linear = offs
    for k in range(0, ndim):
        d = ndim - 1 - k
        size = tl.load(sizes_ptr + d)
        tl.store(out_ptr + rows * ndim + d, linear % size, mask=keep)
        linear = linear // size


# Compile checks (tests/test_compile.py): each kernel at representative dtypes, at the launch
# config.
_BLOCK = {"BLOCK": INDEXING_CONFIGS[0]["BLOCK"]}
_WARPS = INDEXING_CONFIGS[0]["num_warps"]
COMPILE_SPECS = [
    {"kernel": "gather_kernel", "label": "fp32-i64", "no_spills": True, "num_warps": _WARPS,
     "signature": {"x_ptr": "*fp32", "index_ptr": "*i64", "out_ptr": "*fp32", "n": "i64",
                   "dim_size": "i64", "dim_stride": "i64", "err_ptr": "*i64"},
     "constexprs": _BLOCK},
    {"kernel": "gather_kernel", "label": "bf16-i32", "no_spills": True, "num_warps": _WARPS,
     "signature": {"x_ptr": "*bf16", "index_ptr": "*i32", "out_ptr": "*bf16", "err_ptr": "*i64"},
     "constexprs": _BLOCK},
    {"kernel": "scatter_kernel", "label": "store-fp64", "no_spills": True, "num_warps": _WARPS,
     "signature": {"out_ptr": "*fp64", "index_ptr": "*i64", "src_ptr": "*fp64", "err_ptr": "*i64"},
     "constexprs": {"ACCUMULATE": False, **_BLOCK}},
    {"kernel": "scatter_kernel", "label": "add-fp32", "no_spills": True, "num_warps": _WARPS,
     "signature": {"out_ptr": "*fp32", "index_ptr": "*i64", "src_ptr": "*bf16", "err_ptr": "*i64"},
     "constexprs": {"ACCUMULATE": True, **_BLOCK}},
    {"kernel": "scatter_kernel", "label": "add-i64", "no_spills": True, "num_warps": _WARPS,
     "signature": {"out_ptr": "*i64", "index_ptr": "*i64", "src_ptr": "*i64", "err_ptr": "*i64"},
     "constexprs": {"ACCUMULATE": True, **_BLOCK}},
    {"kernel": "scatter_kernel", "label": "add-fp64", "no_spills": True, "num_warps": _WARPS,
     "signature": {"out_ptr": "*fp64", "index_ptr": "*i32", "src_ptr": "*fp64", "err_ptr": "*i64"},
     "constexprs": {"ACCUMULATE": True, **_BLOCK}},
    {"kernel": "sorted_segment_sum_kernel", "label": "fp32", "no_spills": True, "num_warps": _WARPS,
     "signature": {"out_ptr": "*fp32", "src_ptr": "*fp32", "sorted_ptr": "*i64",
                   "order_ptr": "*i64", "n_src": "i64", "n_out": "i64", "n_cols": "i64",
                   "inner": "i64", "err_ptr": "*i64"},
     "constexprs": {"ACC": "tl.float32", **_BLOCK}},
    {"kernel": "sorted_segment_sum_kernel", "label": "bf16", "no_spills": True, "num_warps": _WARPS,
     "signature": {"out_ptr": "*bf16", "src_ptr": "*bf16", "sorted_ptr": "*i64",
                   "order_ptr": "*i64", "err_ptr": "*i64"},
     "constexprs": {"ACC": "tl.float32", "BLOCK": 128}},
    {"kernel": "nonzero_count_kernel", "label": "i1", "no_spills": True, "num_warps": _WARPS,
     "signature": {"x_ptr": "*i1", "counts_ptr": "*i64"}, "constexprs": _BLOCK},
    {"kernel": "nonzero_write_kernel", "label": "fp32", "no_spills": True, "num_warps": _WARPS,
     "signature": {"x_ptr": "*fp32", "starts_ptr": "*i64", "sizes_ptr": "*i64",
                   "out_ptr": "*i64"}, "constexprs": _BLOCK},
]


# scatter_reduce: how each source value is folded into its target (REDUCE constexpr).
REDUCE_CODES = {"sum": 0, "prod": 1, "amax": 2, "amin": 3}


@triton.jit
def _combine(old, value, REDUCE: tl.constexpr):
    """``old`` folded with ``value``: product, or max/min where a NaN on either side wins."""
    if REDUCE == 1:
        return old * value
    elif REDUCE == 2:
        return tl.where((value > old) | (value != value), value, old)
    else:
        return tl.where((value < old) | (value != value), value, old)


@triton.jit
def scatter_reduce_kernel(out_ptr, index_ptr, src_ptr, n, dim_size, dim_stride,
                          size1, size2, size3, size4, size5,
                          o0, o1, o2, o3, o4, o5,
                          i0, i1, i2, i3, i4, i5,
                          s0, s1, s2, s3, s4, s5, err_ptr, err_code,
                          REDUCE: tl.constexpr, BITS: tl.constexpr, BLOCK: tl.constexpr):
    """Each program folds BLOCK elements of ``src`` (walked in index's shape) into ``out``.

    Strides and indexing as ``scatter_kernel``. ``REDUCE`` 0 adds with
    ``atomic_add``; 1 (prod), 2 (amax) and 3 (amin) have no hardware atomic,
    so each lane runs a compare-and-swap loop on the target's bits (``BITS``,
    the integer type of the element's width): read, combine, swap if nobody
    wrote in between, else retry with the value seen. Lanes that are masked
    off (or already done) swap a value with itself at a valid address, since
    ``atomic_cas`` takes no mask; the loop ends when no lane is pending. An index outside
    ``[0, dim_size)`` is reported in the error flag at ``err_ptr`` and skipped.
    """
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    c0, c1, c2, c3, c4, c5 = unravel6(offs, size1, size2, size3, size4, size5)
    index = tl.load(index_ptr + offset6(c0, c1, c2, c3, c4, c5, i0, i1, i2, i3, i4, i5),
                    mask=mask, other=0).to(tl.int64)
    ok = mask & (index >= 0) & (index < dim_size)
    report_bad_indices(err_ptr, index, mask & ((index < 0) | (index >= dim_size)), dim_size,
                       err_code)
    value = tl.load(src_ptr + offset6(c0, c1, c2, c3, c4, c5, s0, s1, s2, s3, s4, s5), mask=ok)
    value = cast_to(value, out_ptr.dtype.element_ty)
    target = out_ptr + offset6(c0, c1, c2, c3, c4, c5, o0, o1, o2, o3, o4, o5) + index * dim_stride
    if REDUCE == 0:
        tl.atomic_add(target, value, mask=ok)
    else:
        target = tl.where(ok, target, out_ptr)  # masked lanes aim at element 0 (no-op swaps)
        bits_ptr = target.to(tl.pointer_type(BITS))
        old = tl.load(target)
        pending = ok
        while tl.max(pending.to(tl.int32), axis=0) > 0:
            new = tl.where(pending, _combine(old, value, REDUCE), old)
            old_bits = old.to(BITS, bitcast=True)
            seen = tl.atomic_cas(bits_ptr, old_bits, new.to(BITS, bitcast=True))
            pending = pending & (seen != old_bits)
            old = seen.to(old.dtype, bitcast=True)


COMPILE_SPECS += [
    {"kernel": "scatter_reduce_kernel", "label": f"{name}-{dtype}", "no_spills": True,
     "num_warps": _WARPS,
     "signature": {"out_ptr": f"*{dtype}", "index_ptr": "*i64", "src_ptr": f"*{dtype}",
                   "err_ptr": "*i64"},
     "constexprs": {"REDUCE": REDUCE_CODES[name], "BITS": bits, **_BLOCK}}
    for name, dtype, bits in (("sum", "fp32", "tl.int32"), ("prod", "fp32", "tl.int32"),
                              ("amax", "fp64", "tl.int64"), ("amin", "i64", "tl.int64"))
]
