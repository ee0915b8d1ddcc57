"""The backend contract: the one flat list of kernel functions.

Every backend (``framework.backends.numpy``, ``framework.backends.triton``)
implements each name below once, with the signature given. Kernels take and
return ``Array`` views (``framework.backends.array``); they allocate their
outputs contiguous, never modify inputs (except ``copy_``), and take Python
scalars where a parameter is a scalar. The op layer has already validated
arguments, broadcast shapes and chosen result dtypes.

``tests/test_contract.py`` fails when a backend lacks a kernel, and
``docs/ops.md`` is generated from this list and the op registry.
"""
from __future__ import annotations

# Memory and creation -------------------------------------------------------
MEMORY = {
    "empty": "empty(shape, dtype) -> Array: uninitialized contiguous array",
    "full": "full(shape, value, dtype) -> Array: every element = value",
    "arange": "arange(start, step, n, dtype) -> Array: start + i*step for i < n",
    "linspace": "linspace(start, end, n, dtype) -> Array: n evenly spaced points, ends included",
    "eye": "eye(n, m, dtype) -> Array: ones on the main diagonal",
    "from_numpy": "from_numpy(ndarray, dtype) -> Array: copy host data onto the device",
    "to_numpy": "to_numpy(a) -> ndarray: contiguous host copy",
    "copy_": "copy_(dst, src) -> None: dst[...] = src, src broadcast to dst, cast to dst.dtype",
}

# Random numbers (counter-based: (seed, offset) selects the stream) ------------
RANDOM = {
    "rand": "rand(shape, dtype, seed, offset) -> Array: uniform [0, 1)",
    "randn": "randn(shape, dtype, seed, offset) -> Array: standard normal",
    "randint": "randint(shape, low, high, dtype, seed, offset) -> Array: integers in [low, high)",
}

# Elementwise: unary(x, out_dtype) -> Array, computed in out_dtype (fp32 for halves);
# logical_not/isnan compute in x's type (bool output). Exception:
# softplus(x, out_dtype, beta=1.0, threshold=20.0).
UNARY = (
    "neg", "abs", "exp", "exp2", "log", "log2", "log1p", "expm1", "sqrt", "rsqrt",
    "sin", "cos", "tan", "tanh", "sigmoid", "relu", "gelu", "gelu_tanh", "silu",
    "softplus", "sign", "floor", "ceil", "round", "trunc", "reciprocal", "square",
    "logical_not", "isnan",
)

# Elementwise: binary(a, b, compute_dtype, out_dtype) -> Array; a and b are broadcast by
# the kernel, either (not both) may be a Python scalar; math in compute_dtype (fp32 for
# halves), result stored as out_dtype. remainder: sign of divisor; fmod: sign of dividend.
BINARY = (
    "add", "sub", "mul", "div", "div_floor", "div_trunc", "remainder", "fmod", "pow",
    "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge",
    "logical_and", "logical_or", "logical_xor",
)

OTHER_ELEMENTWISE = {
    "where": "where(cond, a, b, out_dtype) -> Array: a where cond else b (a, b may be scalars)",
    "clamp": "clamp(x, lo, hi, out_dtype) -> Array: scalar bounds, either may be None",
}

# Reductions over `dims` (a sorted tuple); the output drops those dims.
REDUCE = {
    "sum": "sum(x, dims, out_dtype) -> Array",
    "prod": "prod(x, dims, out_dtype) -> Array",
    "amax": "amax(x, dims) -> Array",
    "amin": "amin(x, dims) -> Array",
    "argmax": "argmax(x, dim) -> Array[int64]: first index of the maximum",
    "argmin": "argmin(x, dim) -> Array[int64]: first index of the minimum",
    "all": "all(x, dims) -> Array[bool]",
    "any": "any(x, dims) -> Array[bool]",
    "mean": "mean(x, dims, out_dtype) -> Array",
    "var": "var(x, dims, correction, out_dtype) -> Array",
    "logsumexp": "logsumexp(x, dims, out_dtype) -> Array",
}

MATMUL = {
    "matmul": "matmul(a, b) -> Array: batched (B, M, K) @ (B, K, N) -> (B, M, N), any strides",
}


# Families added by the op-coverage work. Each family's kernels live in a dict of
# its own ("name": "signature -> result: meaning"), kept in this one module so the
# contract stays one flat list. --------------------------------------------------

# Indexing: gather/scatter by integer indices and masks.
INDEXING = {
}

# Data movement: tril/triu, repeat, flip, roll, pad. Outputs are new contiguous arrays.
MOVEMENT = {
    "tril": "tril(x, diagonal) -> Array: last two dims' lower triangle (col - row <= diagonal), "
            "zeros above",
    "triu": "triu(x, diagonal) -> Array: last two dims' upper triangle (col - row >= diagonal), "
            "zeros below",
    "flip": "flip(x, dims) -> Array: order of each dim in dims reversed",
    "roll": "roll(x, shifts, dims) -> Array: rolled by shifts[i] along dims[i] (tuples)",
    "tile": "tile(x, reps) -> Array: repeated reps[d] times along each dim (len(reps) == ndim)",
    "repeat_interleave": "repeat_interleave(x, repeats, dim) -> Array: each slice along dim "
                         "repeated `repeats` (int) times",
    "repeat_interleave_index": "repeat_interleave_index(repeats, total) -> Array[int64]: k "
                               "repeated repeats[k] times (1-D integer repeats, total entries)",
    "gather_slices": "gather_slices(x, index, dim) -> Array: slices of x along dim at the "
                     "positions of the 1-D int64 index",
    "pad": "pad(x, pads, mode, value) -> Array: pads[d] = (before, after) per dim (negative "
           "crops, constant only); mode 'constant' (value), 'reflect', 'replicate', 'circular'",
}

# Scans along one dim; outputs have the input's shape.
SCAN = {
    "cumsum": "cumsum(x, dim, out_dtype) -> Array: inclusive running sum (fp32 for halves)",
    "cumprod": "cumprod(x, dim, out_dtype) -> Array: inclusive running product",
    "logcumsumexp": "logcumsumexp(x, dim) -> Array: log of the running sum of exp(x), stable",
    "cummax": "cummax(x, dim) -> (Array, Array[int64]): running max and its latest index "
              "(NaN wins)",
    "cummin": "cummin(x, dim) -> (Array, Array[int64]): running min and its latest index "
              "(NaN wins)",
}

# Sorting, selection and counting. Orders: NaN largest, equal values in input order.
SORT = {
    "sort": "sort(x, dim, descending, stable) -> (Array, Array[int64]): values and indices "
            "sorted along dim (always stable)",
    "searchsorted": "searchsorted(sorted_sequence, values, right, out_dtype, sorter) -> Array: "
                    "insertion indices in the last dim (1-D or matching leading dims), "
                    "sequence read through sorter (Array or None)",
    "bincount": "bincount(x, weights, minlength, out_dtype) -> Array: count (or weight sum) of "
                "each value of a 1-D non-negative integer x; weights Array or None",
    "unique": "unique(x) -> (Array, Array[int64], Array[int64]): sorted distinct values of the "
              "flattened x, inverse (x's shape), counts; each NaN distinct",
    "take_along": "take_along(x, index, dim) -> Array: x[..., index[..., j, ...], ...] along "
                  "dim (index has x's shape except along dim)",
    "scatter_add_along": "scatter_add_along(src, index, dim, size) -> Array: zeros (size along "
                         "dim) with src added at index along dim",
}

# Convolution (implicit GEMM on cuda, strided windows + BLAS on cpu), unfold/fold.
CONV = {
}

# Pooling, interpolation.
POOL = {
}

# Row-fused normalizations and softmax.
NORM = {
}

# Parameterized activations (forward and backward kernels).
ACTIVATION = {
}

# Losses with fused kernels.
LOSS = {
}

# Attention.
ATTENTION = {
}

# Fused optimizer updates.
OPTIM = {
}

# Every table whose values are "signature -> result" strings, in contract order.
TABLES = (MEMORY, RANDOM, OTHER_ELEMENTWISE, REDUCE, MATMUL, INDEXING, MOVEMENT, SCAN, SORT,
          CONV, POOL, NORM, ACTIVATION, LOSS, ATTENTION, OPTIM)


def kernel_names() -> list[str]:
    """Every kernel a backend must implement, in contract order."""
    names = list(MEMORY) + list(RANDOM) + list(UNARY) + list(BINARY)
    for table in TABLES[2:]:
        names += list(table)
    return names
