"""Sorting, searching and counting: row sort (bitonic blocks + merge passes), searchsorted,
bincount, unique's bookkeeping, and gather/scatter-add along a dim for the gradients.

Sorting works on int64 *keys* whose integer order is PyTorch's order of the
values: floats are bit-cast so that -inf < ... < -0.0 = 0.0 < ... < inf < NaN
(every NaN the largest, signed zeros equal), integers are widened, and a
descending sort complements the key (``~k``). Each element is a pair (key,
index) compared lexicographically; indices are unique, so the order is total
and the sort is stable (equal values keep their input order, in both
directions, as ``stable=True`` asks).

A row of N elements (the host views the operand as (outer, N, inner) around
the sorted dim) is sorted in chunks of BLOCK, a power of two, by a bitonic
network (``sort_block_kernel``). Longer rows are then merged pairwise,
doubling the sorted run width each pass (``merge_pass_kernel``): an element's
place in the merged run is its place in its own run plus the number of
elements of the partner run that precede it, found by binary search.
"""
import triton
import triton.language as tl

MAX_SORT_BLOCK = 256  # elements per bitonic block (a power of two)
MERGE_BLOCK = 1024     # elements per merge program
NUM_WARPS = 4
BLOCK = 1024           # elements per program of the elementwise-style kernels


# Keys --------------------------------------------------------------------------------------
@triton.jit
def _sort_key(x, DESCENDING: tl.constexpr):
    """int64 key with the order of PyTorch's sort: NaN largest, -0.0 == 0.0."""
    if x.dtype.is_floating():
        if x.dtype == tl.float64:
            bits = x.to(tl.int64, bitcast=True)
            key = bits ^ ((bits >> 63) & 0x7FFFFFFFFFFFFFFF)
        else:
            bits = x.to(tl.float32).to(tl.int32, bitcast=True)
            key = (bits ^ ((bits >> 31) & 0x7FFFFFFF)).to(tl.int64)
        key = tl.where(x == 0, 0, key)  # -0.0 sorts with 0.0
        key = tl.where(x != x, 9223372036854775807, key)  # NaN is the largest
    else:
        key = x.to(tl.int64)
    if DESCENDING:
        key = ~key
    return key


@triton.jit
def _before(key_a, idx_a, key_b, idx_b):
    """True where pair a comes before pair b: smaller key, or equal key and smaller index."""
    return (key_a < key_b) | ((key_a == key_b) & (idx_a < idx_b))


# Bitonic sort of (key, index) pairs ---------------------------------------------------------
@triton.jit
def _compare_and_swap(keys, ids, flip, i: tl.constexpr, n_dims: tl.constexpr):
    """One compare-exchange layer: element pairs 2**(n_dims - i - 1) apart are put in order
    (ascending, or descending where ``flip``). The two halves of each pair are read by
    viewing the block as (outer, 2, inner) and summing one side out (integer, exact)."""
    n_outer: tl.constexpr = keys.numel >> n_dims
    shape: tl.constexpr = [n_outer * 2**i, 2, 2**(n_dims - i - 1)]
    side = tl.arange(0, 2)[None, :, None]
    k3 = tl.reshape(keys, shape)
    i3 = tl.reshape(ids, shape)
    left_k = tl.reshape(tl.broadcast_to(tl.sum(k3 * (1 - side), 1)[:, None, :], shape), keys.shape)
    right_k = tl.reshape(tl.broadcast_to(tl.sum(k3 * side, 1)[:, None, :], shape), keys.shape)
    left_i = tl.reshape(tl.broadcast_to(tl.sum(i3 * (1 - side), 1)[:, None, :], shape), ids.shape)
    right_i = tl.reshape(tl.broadcast_to(tl.sum(i3 * side, 1)[:, None, :], shape), ids.shape)
    swap = _before(right_k, right_i, left_k, left_i) != flip
    keys = tl.where(swap, left_k ^ right_k ^ keys, keys)  # the other element of the pair
    ids = tl.where(swap, left_i ^ right_i ^ ids, ids)
    return keys, ids


@triton.jit
def _bitonic_merge(keys, ids, stage: tl.constexpr, order: tl.constexpr, n_dims: tl.constexpr):
    """Merge bitonic runs of length 2**stage; ``order`` 0: ascending, 2: alternating."""
    n_outer: tl.constexpr = keys.numel >> n_dims
    if order == 2:
        shape: tl.constexpr = [n_outer * 2**(n_dims - 1 - stage), 2, 2**stage]
        flip = tl.reshape(tl.broadcast_to(tl.arange(0, 2)[None, :, None], shape), keys.shape)
    else:
        flip = tl.zeros(keys.shape, tl.int32)
    for i in tl.static_range(stage):
        keys, ids = _compare_and_swap(keys, ids, flip != 0, i + (n_dims - stage), n_dims)
    return keys, ids


@triton.jit
def _bitonic_sort(keys, ids, n_dims: tl.constexpr):
    """Sort each row of a (rows, 2**n_dims) block of (key, index) pairs ascending."""
    for stage in tl.static_range(1, n_dims + 1):
        if stage < n_dims:
            keys, ids = _bitonic_merge(keys, ids, stage, 2, n_dims)
        else:
            keys, ids = _bitonic_merge(keys, ids, stage, 0, n_dims)
    return keys, ids


@triton.jit
def _row_coordinates(rows, inner, stride_o, stride_i):
    """Input offset of each row's first element, and the row's (outer, inner) coordinates."""
    outer = rows // inner
    within = rows % inner
    return outer * stride_o + within * stride_i, outer, within


@triton.jit
def sort_block_kernel(x_ptr, keys_ptr, idx_ptr, values_ptr, M, N, inner,
                      stride_o, stride_n, stride_i,
                      DESCENDING: tl.constexpr, FINAL: tl.constexpr, BLOCK: tl.constexpr,
                      LOG_BLOCK: tl.constexpr):
    """Program (r, c) sorts chunk c (BLOCK elements) of row r by (key, index).

    With ``FINAL`` (the whole row is one chunk) it writes the sorted values and int64
    indices in the output layout ((outer, N, inner), contiguous); otherwise it writes
    the chunk's keys and indices to the (M, N) scratch buffers for the merge passes.
    Masked: columns past N hold the largest key and index, so they sort last.
    """
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < N  # the grid has exactly M rows
    x_row, outer, within = _row_coordinates(row, inner, stride_o, stride_i)
    x = tl.load(x_ptr + x_row + cols * stride_n, mask=mask, other=0)
    keys = tl.where(mask, _sort_key(x, DESCENDING), 9223372036854775807)
    ids = tl.where(mask, cols, 9223372036854775807)
    keys, ids = _bitonic_sort(tl.reshape(keys, [1, BLOCK]), tl.reshape(ids, [1, BLOCK]), LOG_BLOCK)
    keys = tl.reshape(keys, [BLOCK])
    ids = tl.reshape(ids, [BLOCK])
    if FINAL:
        values = tl.load(x_ptr + x_row + ids * stride_n, mask=mask, other=0)
        out = (outer * N + cols) * inner + within
        tl.store(values_ptr + out, values, mask=mask)
        tl.store(idx_ptr + out, ids, mask=mask)
    else:
        tl.store(keys_ptr + row * N + cols, keys, mask=mask)
        tl.store(idx_ptr + row * N + cols, ids, mask=mask)


@triton.jit
def merge_pass_kernel(keys_ptr, idx_ptr, keys_out_ptr, idx_out_ptr, x_ptr, values_ptr,
                      M, N, inner, stride_o, stride_n, stride_i, width, steps,
                      FINAL: tl.constexpr, BLOCK: tl.constexpr):
    """Program (r, b) moves BLOCK elements of row r from sorted runs of ``width`` to their
    place in the merged runs of ``2 * width``.

    Element p of run q lands at (start of the pair) + (p's rank in run q) + (number of
    elements of the partner run q ^ 1 before it): a binary search of ``steps`` halving
    steps (``width.bit_length()``). With ``FINAL`` (the last pass) it writes the values (read from x at
    the sorted index) and indices in the output layout instead of scratch buffers.
    Masked: positions past N.
    """
    row = tl.program_id(0).to(tl.int64)
    pos = tl.program_id(1).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = pos < N  # the grid has exactly M rows
    key = tl.load(keys_ptr + row * N + pos, mask=mask, other=0)
    idx = tl.load(idx_ptr + row * N + pos, mask=mask, other=0)
    run = pos // width
    partner = run ^ 1
    lo = partner * width  # search [lo, hi) of the partner run for the first element after p
    hi = tl.minimum(lo + width, N)
    hi = tl.maximum(hi, lo)
    first = lo
    for _ in range(steps):
        active = lo < hi
        mid = lo + (hi - lo) // 2
        mid_key = tl.load(keys_ptr + row * N + mid, mask=mask & active, other=0)
        mid_idx = tl.load(idx_ptr + row * N + mid, mask=mask & active, other=0)
        go_right = _before(mid_key, mid_idx, key, idx)
        lo = tl.where(active & go_right, mid + 1, lo)
        hi = tl.where(active & ~go_right, mid, hi)
    dest = tl.minimum(run, partner) * width + (pos - run * width) + (lo - first)
    if FINAL:
        x_row, outer, within = _row_coordinates(row, inner, stride_o, stride_i)
        values = tl.load(x_ptr + x_row + idx * stride_n, mask=mask, other=0)
        out = (outer * N + dest) * inner + within
        tl.store(values_ptr + out, values, mask=mask)
        tl.store(idx_out_ptr + out, idx, mask=mask)
    else:
        tl.store(keys_out_ptr + row * N + dest, key, mask=mask)
        tl.store(idx_out_ptr + row * N + dest, idx, mask=mask)


# searchsorted ---------------------------------------------------------------------------------
@triton.jit
def searchsorted_kernel(seq_ptr, sorter_ptr, values_ptr, out_ptr, total, n, values_per_row,
                        seq_row_stride, steps, RIGHT: tl.constexpr, HAS_SORTER: tl.constexpr,
                        BLOCK: tl.constexpr):
    """Each program finds, for BLOCK values, the insertion index in their boundary row.

    PyTorch's binary search, step for step (so NaN behaves the same): ``start, end = 0, n``;
    while ``start < end``: ``mid = start + (end - start) // 2``; go right when
    ``not (seq[mid] >= v)`` (left) or ``not (seq[mid] > v)`` (``RIGHT``). Value i searches
    row ``i // values_per_row`` (``seq_row_stride`` 0 for a 1-D boundary tensor); with
    ``HAS_SORTER`` the row is read through ``sorter``. ``steps`` (``n.bit_length() + 1``)
    halvings finish every search. Masked: the partial last block and
    finished searches.
    """
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = i < total
    v = tl.load(values_ptr + i, mask=mask, other=0)
    row = (i // values_per_row) * seq_row_stride
    start = tl.zeros((BLOCK,), tl.int64)
    end = tl.zeros((BLOCK,), tl.int64) + n
    for _ in range(steps):
        active = mask & (start < end)
        mid = start + (end - start) // 2
        if HAS_SORTER:
            mid_at = tl.load(sorter_ptr + row + mid, mask=active, other=0)
        else:
            mid_at = mid
        s = tl.load(seq_ptr + row + mid_at, mask=active, other=0)
        if RIGHT:
            go_right = ~(s > v)
        else:
            go_right = ~(s >= v)
        start = tl.where(active & go_right, mid + 1, start)
        end = tl.where(active & ~go_right, mid, end)
    tl.store(out_ptr + i, start.to(out_ptr.dtype.element_ty), mask=mask)


# bincount -------------------------------------------------------------------------------------
@triton.jit
def bincount_kernel(x_ptr, weights_ptr, out_ptr, n, HAS_WEIGHTS: tl.constexpr,
                    BLOCK: tl.constexpr):
    """Each program adds BLOCK elements into their bins: ``out[x[i]] += weights[i]`` (or 1),
    with atomic adds since elements of any program may share a bin. Masked: the partial
    last block."""
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = i < n
    bins = tl.load(x_ptr + i, mask=mask, other=0).to(tl.int64)
    if HAS_WEIGHTS:
        w = tl.load(weights_ptr + i, mask=mask, other=0).to(out_ptr.dtype.element_ty)
    else:
        w = tl.full((BLOCK,), 1, out_ptr.dtype.element_ty)
    tl.atomic_add(out_ptr + bins, w, mask=mask)


# unique ---------------------------------------------------------------------------------------
@triton.jit
def unique_groups_kernel(sorted_ptr, order_ptr, group_ptr, values_ptr, starts_ptr, ends_ptr,
                         inverse_ptr, n, BLOCK: tl.constexpr):
    """Each program handles BLOCK positions of the sorted values ``s`` (``order`` = their
    input positions, ``group`` = the running count of group starts minus 1).

    A group starts where ``s[i] != s[i - 1]`` (every NaN is its own group, as in PyTorch)
    and ends where the next one starts. Writes the group's value and start (at starts),
    its end + 1 (at ends) and, for every element, ``inverse[order[i]] = group[i]``.
    Masked: the partial last block; neighbours outside [0, n) count as different.
    """
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = i < n
    s = tl.load(sorted_ptr + i, mask=mask, other=0)
    prev = tl.load(sorted_ptr + i - 1, mask=mask & (i > 0), other=0)
    nxt = tl.load(sorted_ptr + i + 1, mask=mask & (i + 1 < n), other=0)
    g = tl.load(group_ptr + i, mask=mask, other=0)
    starts = (i == 0) | (s != prev)
    ends = (i + 1 == n) | (s != nxt)
    tl.store(values_ptr + g, s, mask=mask & starts)
    tl.store(starts_ptr + g, i, mask=mask & starts)
    tl.store(ends_ptr + g, i + 1, mask=mask & ends)
    order = tl.load(order_ptr + i, mask=mask, other=0)
    tl.store(inverse_ptr + order, g, mask=mask)


@triton.jit
def group_starts_kernel(sorted_ptr, flags_ptr, n, BLOCK: tl.constexpr):
    """Each program writes, for BLOCK sorted values, 1 where a new group starts
    (``i == 0`` or ``s[i] != s[i - 1]``), else 0. Masked: the partial last block."""
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = i < n
    s = tl.load(sorted_ptr + i, mask=mask, other=0)
    prev = tl.load(sorted_ptr + i - 1, mask=mask & (i > 0), other=0)
    tl.store(flags_ptr + i, ((i == 0) | (s != prev)).to(tl.int64), mask=mask)


# Compile checks (tests/test_compile.py).
_ROW = {"x_ptr": "*fp32", "keys_ptr": "*i64", "idx_ptr": "*i64", "values_ptr": "*fp32"}
COMPILE_SPECS = [
    {"kernel": "sort_block_kernel", "label": "fp32-final", "no_spills": True, "signature": _ROW,
     "constexprs": {"DESCENDING": False, "FINAL": True, "BLOCK": MAX_SORT_BLOCK, "LOG_BLOCK": 8},
     "num_warps": NUM_WARPS},
    {"kernel": "sort_block_kernel", "label": "fp64-desc-chunks", "no_spills": True,
     "signature": {**_ROW, "x_ptr": "*fp64", "values_ptr": "*fp64"},
     "constexprs": {"DESCENDING": True, "FINAL": False, "BLOCK": 64, "LOG_BLOCK": 6},
     "num_warps": NUM_WARPS},
    {"kernel": "sort_block_kernel", "label": "i32-small", "no_spills": True,
     "signature": {**_ROW, "x_ptr": "*i32", "values_ptr": "*i32"},
     "constexprs": {"DESCENDING": False, "FINAL": True, "BLOCK": 16, "LOG_BLOCK": 4},
     "num_warps": NUM_WARPS},
    {"kernel": "merge_pass_kernel", "label": "bf16-final", "no_spills": True,
     "signature": {"keys_ptr": "*i64", "idx_ptr": "*i64", "keys_out_ptr": "*i64",
                   "idx_out_ptr": "*i64", "x_ptr": "*bf16", "values_ptr": "*bf16"},
     "constexprs": {"FINAL": True, "BLOCK": MERGE_BLOCK},
     "num_warps": NUM_WARPS},
    {"kernel": "searchsorted_kernel", "label": "fp32-sorter", "no_spills": True,
     "signature": {"seq_ptr": "*fp32", "sorter_ptr": "*i64", "values_ptr": "*fp32",
                   "out_ptr": "*i64"},
     "constexprs": {"RIGHT": True, "HAS_SORTER": True, "BLOCK": BLOCK},
     "num_warps": NUM_WARPS},
    {"kernel": "bincount_kernel", "label": "weights-fp64", "no_spills": True,
     "signature": {"x_ptr": "*i64", "weights_ptr": "*fp64", "out_ptr": "*fp64"},
     "constexprs": {"HAS_WEIGHTS": True, "BLOCK": BLOCK}, "num_warps": NUM_WARPS},
    {"kernel": "unique_groups_kernel", "label": "fp32", "no_spills": True,
     "signature": {"sorted_ptr": "*fp32", "order_ptr": "*i64", "group_ptr": "*i64",
                   "values_ptr": "*fp32", "starts_ptr": "*i64", "ends_ptr": "*i64",
                   "inverse_ptr": "*i64"},
     "constexprs": {"BLOCK": BLOCK}, "num_warps": NUM_WARPS},
    {"kernel": "group_starts_kernel", "label": "i64", "no_spills": True,
     "signature": {"sorted_ptr": "*i64", "flags_ptr": "*i64"},
     "constexprs": {"BLOCK": BLOCK}, "num_warps": NUM_WARPS},
]
