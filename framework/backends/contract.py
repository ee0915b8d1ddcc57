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

# Data movement: tril/triu, repeat, flip, roll, pad.
MOVEMENT = {
}

# Scans along one dim.
SCAN = {
}

# Sorting, selection and counting.
SORT = {
}

# Convolution (implicit GEMM on cuda, strided windows + BLAS on cpu), unfold/fold.
CONV = {
}

# Pooling, interpolation.
POOL = {
}

# Row-fused normalizations and softmax.
NORM = {
    "softmax": "softmax(x, dim, log) -> Array: softmax (log_softmax if log) along dim, "
               "x's dtype; a row of -inf gives NaN",
    "softmax_backward": "softmax_backward(grad, out, dim, log) -> Array: input gradient of "
                        "softmax/log_softmax along dim from the forward output",
    "norm_rows": "norm_rows(x, weight, bias, eps, rms, across) -> (Array, Array, Array): x is "
                 "(A, C, S); mean and rstd = 1/sqrt(biased var + eps) per (a, c) over S, or per c "
                 "over (A, S) when across (mean 0 when rms); returns y = (x - mean) * rstd * "
                 "weight + bias (weight, bias: (S,) or None) in x's dtype, mean and rstd "
                 "(float32 for half types)",
    "norm_rows_backward": "norm_rows_backward(grad, x, weight, mean, rstd, rms, across) -> "
                          "(Array, Array | None): dx of norm_rows, and grad * xhat (the weight "
                          "gradient's terms, float32 for halves) when weight is given",
}

# Parameterized activations (forward and backward kernels).
ACTIVATION = {
    "activation": "activation(x, op, p0, p1) -> Array: elementwise activation op of x in x's "
                  "dtype: leaky_relu (p0 = slope), elu (p0 = alpha, p1 = scale), celu (p0 = "
                  "alpha), hardtanh (p0 = min, p1 = max), hardsigmoid, hardswish, mish, softsign, "
                  "tanhshrink, logsigmoid",
    "activation_backward": "activation_backward(grad, x, op, p0, p1) -> Array: grad * op'(x), "
                           "grad's dtype",
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
