"""Activations: gelu/silu/softplus, and the parameterized ones (forward and backward kernels).

``activation_unary_kernel`` computes gelu, gelu_tanh, silu and softplus
like ``triton_kernels.elementwise.unary_kernel`` (the same arguments and
flat-index / 6-d strided paths; the op a constexpr). The parameterized
activations have one forward and one backward kernel (the backward one
also serves gelu, gelu_tanh, silu and softplus), the op a constexpr:
``OP`` picks the activation at compile time (an ``if`` chain on the
constexpr, so only its code is compiled); ``p0``/``p1`` carry its scalar
parameters (leaky_relu: slope; elu: alpha, scale; celu: alpha; hardtanh:
min, max; softplus, backward only: beta, threshold) as the int64 bit patterns of float64 values (Python floats reach
kernels as float32, which would round float64 parameters such as SELU's).

Operands are contiguous and of one shape (the host copies strided views
first): each program handles BLOCK consecutive elements, the last block
masked. Math runs in ``COMPUTE`` (fp32 for fp32 and the half types,
fp64 for fp64); ``exp`` overflow gives the right limits (inf, 0).
"""
import triton
import triton.language as tl

from .elementwise import _convert, _coords, _div, _expm1, _log1p, _sigmoid, _tanh
from .scalars import compute_scalar
from .strided import offset6

ACTIVATION_CONFIGS = [{"BLOCK": 1024, "num_warps": 4}]


@triton.jit
def _softplus(x):
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))."""
    return tl.maximum(x, 0.0) + _log1p(tl.exp(-tl.abs(x)))


# gelu / silu / softplus -----------------------------------------------------------------------
@triton.jit
def _unary_activation(x, p0, p1, OP: tl.constexpr):
    """The activation ``OP`` on a block ``x`` (already in the compute type); softplus reads
    ``p0`` = beta and ``p1`` = threshold."""
    if OP == "gelu":
        r = 0.5 * x * (1.0 + tl.erf(x * 0.70710678118654752440))
    elif OP == "gelu_tanh":
        inner = 0.79788456080286535588 * (x + 0.044715 * x * x * x)
        r = 0.5 * x * (1.0 + _tanh(inner))
    elif OP == "silu":
        r = _div(x, 1.0 + tl.exp(-x))
    elif OP == "softplus":
        y = x * p0
        r = tl.where(y > p1, x, _div(_log1p(tl.exp(y)), tl.full(x.shape, p0, x.dtype)))
    else:
        tl.static_assert(False, "unknown activation")
    return r


# Not specialized: the sizes and strides of the STRIDED path (as elementwise.unary_kernel's).
_UNARY_UNSPECIALIZED = ("size1", "size2", "size3", "size4", "size5",
                         "s0", "s1", "s2", "s3", "s4", "s5")


@triton.jit(do_not_specialize=_UNARY_UNSPECIALIZED)
def activation_unary_kernel(out_ptr, x_ptr, n,
                            size1, size2, size3, size4, size5,
                            s0, s1, s2, s3, s4, s5,
                            p0: tl.float64, p1: tl.float64,
                            OP: tl.constexpr, COMPUTE: tl.constexpr, STRIDED: tl.constexpr,
                            INDEX32: tl.constexpr, BLOCK: tl.constexpr):
    """Each program computes ``out[i] = OP(x[i])`` for BLOCK consecutive output indices.

    ``x`` is read at flat index i (contiguous, same shape) or, when ``STRIDED``,
    at the 6-d coordinates of i times the strides ``s0..s5``. ``p0``/``p1`` (softplus:
    beta, threshold) arrive as float64 and are rounded once to ``COMPUTE``.
    """
    p0 = compute_scalar(p0, COMPUTE)
    p1 = compute_scalar(p1, COMPUTE)
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n  # the last block is partial
    if STRIDED:
        i0, i1, i2, i3, i4, i5 = _coords(idx, size1, size2, size3, size4, size5, INDEX32)
        x_off = offset6(i0, i1, i2, i3, i4, i5, s0, s1, s2, s3, s4, s5)
    else:
        x_off = idx
    x = tl.load(x_ptr + x_off, mask=mask).to(COMPUTE)
    r = _unary_activation(x, p0, p1, OP)
    tl.store(out_ptr + idx, r.to(out_ptr.dtype.element_ty), mask=mask)


# Parameterized activations -----------------------------------------------------------------------
@triton.jit
def _min0(x):
    """``min(x, 0)`` that keeps NaN (``tl.minimum`` alone would turn NaN into 0)."""
    return tl.minimum(x, 0.0, propagate_nan=tl.PropagateNan.ALL)


@triton.jit
def _hardtanh(x, lo, hi):
    """Clamp x to [lo, hi]; NaN passes through."""
    r = tl.where(x < lo, lo, x)
    return tl.where(r > hi, hi, r)


@triton.jit
def _activation(x, p0, p1, OP: tl.constexpr):
    """The activation ``OP`` of a block ``x`` (in the compute type)."""
    if OP == "leaky_relu":
        r = tl.where(x > 0, x, x * p0)
    elif OP == "elu":  # NaN in, NaN out
        r = tl.where(x > 0, x * p1, _expm1(_min0(x)) * (p0 * p1))
    elif OP == "celu":
        r = tl.where(x > 0, x, _expm1(_div(_min0(x), p0)) * p0)
    elif OP == "hardtanh":
        r = _hardtanh(x, p0, p1)
    elif OP == "hardsigmoid":
        r = _hardtanh(x + 3.0, tl.zeros(x.shape, x.dtype), tl.full(x.shape, 6.0, x.dtype)) / 6.0
    elif OP == "hardswish":
        r = x * _hardtanh(x + 3.0, tl.zeros(x.shape, x.dtype), tl.full(x.shape, 6.0, x.dtype)) / 6.0
    elif OP == "mish":
        r = x * _tanh(_softplus(x))
    elif OP == "softsign":
        r = _div(x, 1.0 + tl.abs(x))
    elif OP == "tanhshrink":
        r = x - _tanh(x)
    elif OP == "logsigmoid":
        r = tl.minimum(x, 0.0) - _log1p(tl.exp(-tl.abs(x)))
    else:
        tl.static_assert(False, "unknown activation")
    return r


@triton.jit
def _derivative(x, p0, p1, OP: tl.constexpr):
    """d OP(x) / dx of a block ``x`` (PyTorch's one-sided choices at the kinks)."""
    if OP == "leaky_relu":
        d = tl.where(x > 0, 1.0, p0)
    elif OP == "elu":  # NaN in, NaN out (a NaN-dropping minimum would give exp(0))
        d = tl.where(x > 0, p1, tl.exp(_min0(x)) * (p0 * p1))
    elif OP == "celu":
        d = tl.where(x > 0, 1.0, tl.exp(_div(_min0(x), p0)))
    elif OP == "hardtanh":
        d = tl.where((x > p0) & (x < p1), 1.0, 0.0)
    elif OP == "hardsigmoid":
        d = tl.where((x > -3.0) & (x < 3.0), 1.0 / 6.0, 0.0)
    elif OP == "hardswish":
        d = tl.where(x <= -3.0, 0.0, tl.where(x < 3.0, x / 3.0 + 0.5, 1.0))
    elif OP == "mish":
        t = _tanh(_softplus(x))
        d = t + x * _sigmoid(x) * (1.0 - t * t)
    elif OP == "softsign":
        a = 1.0 + tl.abs(x)
        d = _div(tl.full(x.shape, 1.0, x.dtype), a * a)
    elif OP == "tanhshrink":
        t = _tanh(x)
        d = t * t
    elif OP == "logsigmoid":
        d = _sigmoid(-x)
    elif OP == "tanh":  # x is tanh's output: 1 - tanh(u)^2
        d = 1.0 - x * x
    elif OP == "gelu":  # Phi(x) + x phi(x)
        cdf = 0.5 * (1.0 + tl.erf(x * 0.70710678118654752440))
        d = cdf + x * (tl.exp(-0.5 * x * x) * 0.39894228040143267794)
    elif OP == "gelu_tanh":  # PyTorch's derivative of the tanh approximation
        # with t = tanh(u): 0.5 (1 + t) = s and 1 - t^2 = 4 s c for s, c = sigmoid(+-2u),
        # which do not cancel in the tails as 1 + t and 1 - t * t do in float32
        u2 = 1.5957691216057307118 * (x + 0.044715 * x * x * x)
        s = _sigmoid(u2)
        c = _sigmoid(-u2)
        inner_derivative = 0.79788456080286535588 * (1.0 + 3.0 * 0.044715 * x * x)
        d = s + 2.0 * x * s * c * inner_derivative
    elif OP == "silu":
        s = _sigmoid(x)
        d = s * (1.0 + x * (1.0 - s))
    elif OP == "softplus":  # p0 = beta, p1 = threshold
        z = x * p0
        d = tl.where(z > p1, 1.0, _sigmoid(z))
    else:
        tl.static_assert(False, "unknown activation")
    return d.to(x.dtype)


@triton.jit
def _param(bits, COMPUTE: tl.constexpr, BLOCK: tl.constexpr):
    """A float64 parameter passed as its int64 bit pattern, splat to a block in ``COMPUTE``."""
    return tl.full((BLOCK,), bits, tl.int64).to(tl.float64, bitcast=True).to(COMPUTE)


# Not specialized: the ops' parameters passed as bit patterns (values, not sizes).
_PARAMS_UNSPECIALIZED = ("p0_bits", "p1_bits")


@triton.jit(do_not_specialize=_PARAMS_UNSPECIALIZED)
def activation_kernel(out_ptr, x_ptr, n, p0_bits, p1_bits, OP: tl.constexpr,
                      COMPUTE: tl.constexpr, BLOCK: tl.constexpr):
    """Each program computes ``out[i] = OP(x[i]; p0, p1)`` for BLOCK consecutive indices."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n  # the last block is partial
    x = tl.load(x_ptr + idx, mask=mask, other=0).to(COMPUTE)
    p0 = _param(p0_bits, COMPUTE, BLOCK)
    p1 = _param(p1_bits, COMPUTE, BLOCK)
    r = _activation(x, p0, p1, OP)
    tl.store(out_ptr + idx, _convert(r, out_ptr.dtype.element_ty), mask=mask)


@triton.jit(do_not_specialize=_PARAMS_UNSPECIALIZED)
def activation_backward_kernel(dx_ptr, grad_ptr, x_ptr, n, p0_bits, p1_bits, OP: tl.constexpr,
                               COMPUTE: tl.constexpr, BLOCK: tl.constexpr):
    """Each program computes ``dx[i] = grad[i] * OP'(x[i]; p0, p1)`` for BLOCK consecutive
    indices (relu: ``grad[i]`` where ``x[i] > 0`` or NaN, else 0; ``x`` may be relu's output)."""
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n  # the last block is partial
    x = tl.load(x_ptr + idx, mask=mask, other=0).to(COMPUTE)
    g = tl.load(grad_ptr + idx, mask=mask, other=0).to(COMPUTE)
    if OP == "relu":  # a select (PyTorch's threshold_backward): an inf/NaN g at x <= 0 gives 0
        dx = tl.where(x <= 0, 0.0, g)
    else:
        p0 = _param(p0_bits, COMPUTE, BLOCK)
        p1 = _param(p1_bits, COMPUTE, BLOCK)
        dx = g * _derivative(x, p0, p1, OP)
    tl.store(dx_ptr + idx, _convert(dx, dx_ptr.dtype.element_ty), mask=mask)


# Compile checks (tests/test_compile.py): the longest ops (mish, celu) and half/fp64 types.
_ARGS = {"p0_bits": "i64", "p1_bits": "i64"}
COMPILE_SPECS = [
    {"kernel": "activation_kernel", "label": "mish-bf16",
     "signature": {"out_ptr": "*bf16", "x_ptr": "*bf16", **_ARGS},
     "constexprs": {"OP": "mish", "COMPUTE": "tl.float32", "BLOCK": 1024}},
    {"kernel": "activation_kernel", "label": "celu-fp64",
     "signature": {"out_ptr": "*fp64", "x_ptr": "*fp64", **_ARGS},
     "constexprs": {"OP": "celu", "COMPUTE": "tl.float64", "BLOCK": 1024}},
    {"kernel": "activation_backward_kernel", "label": "mish-fp16",
     "signature": {"dx_ptr": "*fp16", "grad_ptr": "*fp16", "x_ptr": "*fp16", **_ARGS},
     "constexprs": {"OP": "mish", "COMPUTE": "tl.float32", "BLOCK": 1024}},
    {"kernel": "activation_backward_kernel", "label": "gelu-bf16",
     "signature": {"dx_ptr": "*bf16", "grad_ptr": "*bf16", "x_ptr": "*bf16", **_ARGS},
     "constexprs": {"OP": "gelu", "COMPUTE": "tl.float32", "BLOCK": 1024}},
    {"kernel": "activation_backward_kernel", "label": "relu-fp32",
     "signature": {"dx_ptr": "*fp32", "grad_ptr": "*fp32", "x_ptr": "*fp32", **_ARGS},
     "constexprs": {"OP": "relu", "COMPUTE": "tl.float32", "BLOCK": 1024}},
    {"kernel": "activation_backward_kernel", "label": "tanh-fp32",
     "signature": {"dx_ptr": "*fp32", "grad_ptr": "*fp32", "x_ptr": "*fp32", **_ARGS},
     "constexprs": {"OP": "tanh", "COMPUTE": "tl.float32", "BLOCK": 1024}},
    {"kernel": "activation_backward_kernel", "label": "hardswish-fp64",
     "signature": {"dx_ptr": "*fp64", "grad_ptr": "*fp64", "x_ptr": "*fp64", **_ARGS},
     "constexprs": {"OP": "hardswish", "COMPUTE": "tl.float64", "BLOCK": 1024}},
]
COMPILE_SPECS = [dict(spec, num_warps=ACTIVATION_CONFIGS[0]["num_warps"], no_spills=True)
                 for spec in COMPILE_SPECS]
# activation_unary_kernel runs at elementwise.unary_kernel's launch config (8 warps).
_UNARY_ARGS = {"p0": "fp64", "p1": "fp64"}
COMPILE_SPECS += [dict(spec, num_warps=8, no_spills=True) for spec in [
    {"kernel": "activation_unary_kernel", "label": "gelu-bf16-strided",
     "signature": {"out_ptr": "*bf16", "x_ptr": "*bf16", **_UNARY_ARGS},
     "constexprs": {"OP": "gelu", "COMPUTE": "tl.float32", "STRIDED": True, "INDEX32": True,
                    "BLOCK": 1024}},
    {"kernel": "activation_unary_kernel", "label": "softplus-fp64",
     "signature": {"out_ptr": "*fp64", "x_ptr": "*fp64", **_UNARY_ARGS},
     "constexprs": {"OP": "softplus", "COMPUTE": "tl.float64", "STRIDED": False,
                    "INDEX32": True, "BLOCK": 1024}},
]]
