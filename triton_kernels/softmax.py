"""Row-fused softmax / log-softmax kernels and their backward.

One program computes one row of length N: the elements along the softmax
dim. A row that fits in one block (``N <= BLOCK_N``, ``SINGLE=True``) is
read once into registers and reduced there; longer rows loop over
BLOCK_N-wide chunks: a first loop gathers the row's online max/sum
(``online_exp_sum``, shared with the cross-entropy kernels), a second loop
writes the result. Columns past N are masked: loads get -inf (0 in the
backward) and stores are skipped. Math runs in ``ACC`` (fp32 for fp32 and
the half types, fp64 for fp64).

Row layout. Row r of a contiguous array reduced along a dim of N elements
followed by ``inner`` elements (``STRIDED`` when inner > 1) starts at
``(r // inner) * N * inner + r % inner`` and steps by ``inner``.
"""
import triton
import triton.language as tl

from .elementwise import _convert

# Longest row kept in registers in one block; longer rows loop over blocks of this size.
MAX_BLOCK_N = 4096


@triton.jit
def online_exp_sum(m, total, x, AXIS: tl.constexpr):
    """Fold a block ``x`` into a running maximum ``m`` and ``total = sum(exp(seen - m))``,
    reducing ``x`` along ``AXIS`` (``m`` and ``total`` have that axis dropped).

    NaN/inf as PyTorch's two-pass softmax: a NaN element makes ``total`` NaN
    (``tl.max`` skips NaN, ``exp(NaN - m)`` does not); an element equal to a +inf
    maximum adds ``exp(inf - inf) = NaN``. A -inf element adds 0 even while the
    maximum is still -inf (masked lanes load -inf), so a leading all -inf block
    does not poison a row that has finite elements later.
    """
    new_m = tl.maximum(m, tl.max(x, axis=AXIS))
    rescale = tl.where(m == new_m, 1.0, tl.exp(m - new_m))  # exp(-inf - -inf) would be NaN
    terms = tl.where(x == float("-inf"), 0.0, tl.exp(x - tl.expand_dims(new_m, AXIS)))
    return new_m, total * rescale + tl.sum(terms, axis=AXIS)


# softmax ------------------------------------------------------------------------------------
@triton.jit
def _softmax_row(N, inner, STRIDED: tl.constexpr):
    """Offset of this program's row start (see the module docstring)."""
    r = tl.program_id(0).to(tl.int64)
    if STRIDED:
        return (r // inner) * N * inner + r % inner
    else:
        return r * N


@triton.jit
def _at(row, idx, inner, STRIDED: tl.constexpr):
    """Offsets of the row's elements ``idx`` (int64): consecutive, or ``inner`` apart."""
    if STRIDED:
        return row + idx * inner
    else:
        return row + idx


@triton.jit
def softmax_kernel(x_ptr, out_ptr, N, inner, LOG: tl.constexpr, SINGLE: tl.constexpr,
                   STRIDED: tl.constexpr, ACC: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program r writes softmax (``LOG``: log-softmax) of row r (N elements).

    NaN/inf follow PyTorch's ``exp(x - max) / sum(exp(x - max))``: a row holding
    NaN, or whose maximum is +inf (inf - inf) or -inf (all -inf: 0/0), is all NaN.
    ``tl.max`` skips NaN, but a NaN element still turns the exp-sum into NaN.
    """
    row = _softmax_row(N, inner, STRIDED)
    cols = tl.arange(0, BLOCK_N).to(tl.int64)
    out_ty: tl.constexpr = out_ptr.dtype.element_ty
    if SINGLE:
        mask = cols < N
        offs = _at(row, cols, inner, STRIDED)
        x = tl.load(x_ptr + offs, mask=mask, other=float("-inf")).to(ACC)
        shift = tl.max(x, axis=0)  # not made finite: an infinite maximum gives NaN, as in PyTorch
        e = tl.exp(x - shift)
        total = tl.sum(e, axis=0)
        if LOG:
            y = (x - shift) - tl.log(total)
        else:
            y = e / total
        tl.store(out_ptr + offs, _convert(y, out_ty), mask=mask)
    else:
        # pass 1: running maximum m and sum of exp(x - m), rescaled when m grows
        m = tl.max(tl.full((BLOCK_N,), float("-inf"), ACC), axis=0)
        total = tl.sum(tl.zeros((BLOCK_N,), ACC), axis=0)
        for start in range(0, N, BLOCK_N):
            mask = start + cols < N
            offs = _at(row, start + cols, inner, STRIDED)
            x = tl.load(x_ptr + offs, mask=mask, other=float("-inf")).to(ACC)
            m, total = online_exp_sum(m, total, x, 0)
        # m = +inf: total is NaN (inf - inf); m = -inf: total = 0 and lse = -inf, so
        # exp(x - lse) = exp(-inf + inf) = NaN; a NaN element made total NaN
        lse = m + tl.log(total)
        # pass 2: y = exp(x - lse) (log: x - lse)
        for start in range(0, N, BLOCK_N):
            mask = start + cols < N
            offs = _at(row, start + cols, inner, STRIDED)
            x = tl.load(x_ptr + offs, mask=mask, other=float("-inf")).to(ACC)
            if LOG:
                y = x - lse
            else:
                y = tl.exp(x - lse)
            tl.store(out_ptr + offs, _convert(y, out_ty), mask=mask)


@triton.jit
def softmax_backward_kernel(grad_ptr, out_ptr, dx_ptr, N, inner, LOG: tl.constexpr,
                            SINGLE: tl.constexpr, STRIDED: tl.constexpr, ACC: tl.constexpr,
                            BLOCK_N: tl.constexpr):
    """Program r writes the input gradient of row r from the output y and its gradient g:
    ``y * (g - sum(g * y))`` for softmax, ``g - exp(y) * sum(g)`` for log-softmax."""
    row = _softmax_row(N, inner, STRIDED)
    cols = tl.arange(0, BLOCK_N).to(tl.int64)
    dx_ty: tl.constexpr = dx_ptr.dtype.element_ty
    if SINGLE:
        mask = cols < N
        offs = _at(row, cols, inner, STRIDED)
        g = tl.load(grad_ptr + offs, mask=mask, other=0).to(ACC)
        y = tl.load(out_ptr + offs, mask=mask, other=0).to(ACC)
        if LOG:
            dx = g - tl.exp(y) * tl.sum(g, axis=0)
        else:
            dx = y * (g - tl.sum(g * y, axis=0))
        tl.store(dx_ptr + offs, _convert(dx, dx_ty), mask=mask)
    else:
        s = tl.sum(tl.zeros((BLOCK_N,), ACC), axis=0)  # pass 1: sum(g * y) (log: sum(g))
        for start in range(0, N, BLOCK_N):
            mask = start + cols < N
            offs = _at(row, start + cols, inner, STRIDED)
            g = tl.load(grad_ptr + offs, mask=mask, other=0).to(ACC)
            if LOG:
                s += tl.sum(g, axis=0)
            else:
                y = tl.load(out_ptr + offs, mask=mask, other=0).to(ACC)
                s += tl.sum(g * y, axis=0)
        for start in range(0, N, BLOCK_N):  # pass 2: write dx
            mask = start + cols < N
            offs = _at(row, start + cols, inner, STRIDED)
            g = tl.load(grad_ptr + offs, mask=mask, other=0).to(ACC)
            y = tl.load(out_ptr + offs, mask=mask, other=0).to(ACC)
            if LOG:
                dx = g - tl.exp(y) * s
            else:
                dx = y * (g - s)
            tl.store(dx_ptr + offs, _convert(dx, dx_ty), mask=mask)


# Compile checks (tests/test_compile.py): each kernel in its one-block and looping form.
COMPILE_SPECS = [
    {"kernel": "softmax_kernel", "label": "fp16-single",
     "signature": {"x_ptr": "*fp16", "out_ptr": "*fp16"},
     "constexprs": {"LOG": False, "SINGLE": True, "STRIDED": False, "ACC": "tl.float32",
                    "BLOCK_N": 4096},
     "num_warps": 8},
    {"kernel": "softmax_kernel", "label": "fp64-log-loop",
     "signature": {"x_ptr": "*fp64", "out_ptr": "*fp64"},
     "constexprs": {"LOG": True, "SINGLE": False, "STRIDED": True, "ACC": "tl.float64",
                    "BLOCK_N": 4096},
     "num_warps": 8},
    {"kernel": "softmax_backward_kernel", "label": "bf16-single",
     "signature": {"grad_ptr": "*bf16", "out_ptr": "*bf16", "dx_ptr": "*bf16"},
     "constexprs": {"LOG": False, "SINGLE": True, "STRIDED": True, "ACC": "tl.float32",
                    "BLOCK_N": 4096},
     "num_warps": 8},
    {"kernel": "softmax_backward_kernel", "label": "fp32-log-loop",
     "signature": {"grad_ptr": "*fp32", "out_ptr": "*fp32", "dx_ptr": "*fp32"},
     "constexprs": {"LOG": True, "SINGLE": False, "STRIDED": False, "ACC": "tl.float32",
                    "BLOCK_N": 4096},
     "num_warps": 8},
]
COMPILE_SPECS = [dict(spec, no_spills=True) for spec in COMPILE_SPECS]
