"""Launch wrappers: reductions on ``cuda`` (kernels in ``triton_kernels/reduce.py``).

Every reduction is a row reduction of an (M, N) matrix: the kept dims are
moved first and the reduced dims last (a permuted view, no copy). When the
kept dims collapse to one strided dim and the reduced dims to another, the
kernel reads the operand in place through ``(stride_m, stride_n)``;
otherwise the permuted view is first copied contiguous. The result (M
values) is a new contiguous array of the kept dims' shape.
"""
from __future__ import annotations

import math

import triton
import triton.language as tl

from ... import dtypes
from ..array import Array, collapse_dims
from . import runtime
from .launch import pointer
from .memory import contiguous, empty

_ACC = {"float64": tl.float64, "float32": tl.float32, "float16": tl.float32,
        "bfloat16": tl.float32}


def _acc(dtype) -> "tl.dtype":
    """Accumulator type: fp32 for fp32/halves, fp64 for fp64, int64 for integers and bools."""
    return _ACC.get(dtype.name, tl.int64)


def _config():
    return runtime.kernels().reduce


class _Matrix:
    """An operand seen as an (M, N) matrix: rows = kept dims, columns = reduced dims."""

    def __init__(self, x: Array, dims: tuple) -> None:
        kept = [d for d in range(x.ndim) if d not in dims]
        self.out_shape = tuple(x.shape[d] for d in kept)
        self.M = math.prod(self.out_shape)
        self.N = math.prod(x.shape[d] for d in dims)
        m_shape, (m_strides,) = collapse_dims(self.out_shape, tuple(x.strides[d] for d in kept))
        n_shape, (n_strides,) = collapse_dims(tuple(x.shape[d] for d in dims),
                                              tuple(x.strides[d] for d in dims))
        if len(m_shape) <= 1 and len(n_shape) <= 1:
            self.array = x
            self.stride_m = m_strides[0] if m_shape else 0
            self.stride_n = n_strides[0] if n_shape else 0
            return
        order = kept + list(dims)
        permuted = x.view(tuple(x.shape[d] for d in order), tuple(x.strides[d] for d in order),
                          x.offset)
        self.array = contiguous(permuted)
        self.stride_m, self.stride_n = self.N, 1

    def args(self, out: Array) -> tuple:
        """The kernels' first arguments: operand and output pointers, M, N, strides."""
        return pointer(self.array), pointer(out), self.M, self.N, self.stride_m, self.stride_n


def _blocks(M: int, N: int) -> tuple:
    """(BLOCK_M, BLOCK_N) for an (M, N) reduction: see the heuristic in triton_kernels.reduce."""
    k = _config()
    block_n = min(triton.next_power_of_2(max(N, 1)), k.MAX_BLOCK_N)
    block_m = min(triton.next_power_of_2(max(M, 1)), max(1, k.TILE // block_n))
    return block_m, block_n


def _splits(M: int, N: int) -> tuple:
    """``(splits, cols_per_split)``: how many programs share each row (>1 only for few,
    long rows) and how many columns each takes; no split is left empty."""
    k = _config()
    if N < 2 * k.SPLIT_MIN_COLS:
        return 1, N
    block_m, _ = _blocks(M, N)
    row_programs = triton.cdiv(M, block_m)
    wanted = min(max(1, k.MAX_SPLITS // row_programs), N // k.SPLIT_MIN_COLS)
    cols = triton.cdiv(N, wanted)
    return triton.cdiv(N, cols), cols


def _launch_rows(kernel, mat: _Matrix, out: Array, splits: int, *args, **constexprs) -> None:
    """Launch ``kernel`` on ``mat`` with one program per BLOCK_M rows and ``splits`` per row."""
    block_m, block_n = _blocks(mat.M, mat.N)
    grid = (triton.cdiv(mat.M, block_m), splits)
    kernel[grid](*mat.args(out), *args, BLOCK_M=block_m, BLOCK_N=block_n,
                 num_warps=_config().NUM_WARPS, **constexprs)


def _reduce(op: str, x: Array, dims: tuple, out_dtype) -> Array:
    """Run ``reduce_kernel`` with ``op``; long rows go through a split pass and a partial pass."""
    mat = _Matrix(x, dims)
    out = empty(mat.out_shape, out_dtype)
    if mat.M == 0:
        return out
    acc = _acc(out_dtype if op in ("sum", "mean", "prod") else x.dtype)
    kernel = _config().reduce_kernel
    splits, cols = _splits(mat.M, mat.N)
    if splits == 1:
        _launch_rows(kernel, mat, out, 1, mat.N, mat.N, OP=op, ACC=acc)
        return out
    partials = empty((mat.M, splits), _partial_dtype(acc))
    first_op = "sum" if op == "mean" else op
    _launch_rows(kernel, mat, partials, splits, cols, mat.N, OP=first_op, ACC=acc)
    second_op = {"any": "max", "all": "min"}.get(op, op)  # partials are already 0/1
    second = _Matrix(partials, (1,))
    _launch_rows(kernel, second, out, 1, splits, mat.N, OP=second_op, ACC=acc)
    return out


def _partial_dtype(acc) -> "dtypes.dtype":
    return {tl.float64: dtypes.float64, tl.float32: dtypes.float32}.get(acc, dtypes.int64)


def sum(x: Array, dims: tuple, out_dtype) -> Array:  # noqa: A001 - contract name
    """Sum over ``dims`` in ``out_dtype`` (fp32 accumulation for half types)."""
    return _reduce("sum", x, dims, out_dtype)


def prod(x: Array, dims: tuple, out_dtype) -> Array:
    """Product over ``dims`` in ``out_dtype`` (fp32 accumulation for half types)."""
    return _reduce("prod", x, dims, out_dtype)


def mean(x: Array, dims: tuple, out_dtype) -> Array:
    """Mean over ``dims`` (NaN for an empty reduction)."""
    return _reduce("mean", x, dims, out_dtype)


def amax(x: Array, dims: tuple) -> Array:
    """Maximum over ``dims``, NaN-propagating."""
    return _reduce("max", x, dims, x.dtype)


def amin(x: Array, dims: tuple) -> Array:
    """Minimum over ``dims``, NaN-propagating."""
    return _reduce("min", x, dims, x.dtype)


def all(x: Array, dims: tuple) -> Array:  # noqa: A001 - contract name
    """True where every element over ``dims`` is nonzero."""
    return _reduce("all", x, dims, dtypes.bool)


def any(x: Array, dims: tuple) -> Array:  # noqa: A001 - contract name
    """True where some element over ``dims`` is nonzero."""
    return _reduce("any", x, dims, dtypes.bool)


def _argreduce(x: Array, dim: int, is_max: bool) -> Array:
    """argmax/argmin along ``dim``; long rows are split: chunk winners (value, index),
    then a second launch picks among them."""
    mat = _Matrix(x, (dim,))
    out = empty(mat.out_shape, dtypes.int64)
    if mat.M == 0:
        return out
    kernel = _config().argreduce_kernel
    acc = _acc(x.dtype)
    splits, cols = _splits(mat.M, mat.N)
    if splits == 1:  # value_ptr and index_ptr are unused: pass the output
        _launch_rows(kernel, mat, out, 1, mat.N, pointer(out), pointer(out), IS_MAX=is_max,
                     WRITE_VALUES=False, READ_INDICES=False, ACC=acc)
        return out
    values = empty((mat.M, splits), _partial_dtype(acc))
    indices = empty((mat.M, splits), dtypes.int64)
    _launch_rows(kernel, mat, indices, splits, cols, pointer(values), pointer(out), IS_MAX=is_max,
                 WRITE_VALUES=True, READ_INDICES=False, ACC=acc)
    second = _Matrix(values, (1,))
    _launch_rows(kernel, second, out, 1, splits, pointer(values), pointer(indices), IS_MAX=is_max,
                 WRITE_VALUES=False, READ_INDICES=True, ACC=acc)
    return out


def argmax(x: Array, dim: int) -> Array:
    """Index (int64) of the first maximum along ``dim``; NaN counts as the maximum."""
    return _argreduce(x, dim, True)


def argmin(x: Array, dim: int) -> Array:
    """Index (int64) of the first minimum along ``dim``; NaN counts as the minimum."""
    return _argreduce(x, dim, False)


def var(x: Array, dims: tuple, correction, out_dtype) -> Array:
    """Variance over ``dims`` with ``correction`` (two passes per row); long rows are split
    into chunks whose (mean, sum of squares) pairs ``var_combine_kernel`` merges."""
    mat = _Matrix(x, dims)
    out = empty(mat.out_shape, out_dtype)
    if mat.M == 0:
        return out
    k = _config()
    acc = _acc(out_dtype)
    correction = float(correction)
    splits, cols = _splits(mat.M, mat.N)
    if splits == 1:  # mean_ptr is unused: pass the output
        _launch_rows(k.var_kernel, mat, out, 1, mat.N, correction, pointer(out), PARTIAL=False,
                     ACC=acc)
        return out
    means = empty((mat.M, splits), _partial_dtype(acc))
    squares = empty((mat.M, splits), _partial_dtype(acc))
    _launch_rows(k.var_kernel, mat, squares, splits, cols, correction, pointer(means),
                 PARTIAL=True, ACC=acc)
    block_s = triton.next_power_of_2(splits)
    block_m = max(1, min(triton.next_power_of_2(mat.M), k.TILE // block_s))
    k.var_combine_kernel[(triton.cdiv(mat.M, block_m),)](
        pointer(means), pointer(squares), pointer(out), mat.M, splits, mat.N, cols, correction,
        ACC=acc, BLOCK_M=block_m, BLOCK_S=block_s, num_warps=k.NUM_WARPS)
    return out


def logsumexp(x: Array, dims: tuple, out_dtype) -> Array:
    """``log(sum(exp(x)))`` over ``dims``, max-shifted; long rows are split and recombined."""
    mat = _Matrix(x, dims)
    out = empty(mat.out_shape, out_dtype)
    if mat.M == 0:
        return out
    acc = _acc(out_dtype)
    kernel = _config().logsumexp_kernel
    splits, cols = _splits(mat.M, mat.N)
    if splits == 1:
        _launch_rows(kernel, mat, out, 1, mat.N, ACC=acc)
        return out
    partials = empty((mat.M, splits), _partial_dtype(acc))
    _launch_rows(kernel, mat, partials, splits, cols, ACC=acc)
    second = _Matrix(partials, (1,))
    _launch_rows(kernel, second, out, 1, splits, ACC=acc)
    return out


KERNELS = {
    "sum": sum, "prod": prod, "amax": amax, "amin": amin, "argmax": argmax, "argmin": argmin,
    "all": all, "any": any, "mean": mean, "var": var, "logsumexp": logsumexp,
}
