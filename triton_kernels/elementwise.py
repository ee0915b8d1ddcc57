"""Elementwise kernels: one unary, one binary and one ``where`` kernel, each op a constexpr.

Each kernel is specialized at compile time by ``OP`` (a string, picked by an
``if`` chain on the constexpr, so only the chosen op's code is compiled),
``COMPUTE`` (the type the math runs in: float32 for float16/bfloat16 data,
int32 for bool data, else the operands' promoted type) and ``STRIDED``:

* ``STRIDED=False`` (fast path): every array operand is contiguous with the
  output's shape, so element ``i`` of each operand sits at flat index ``i``.
* ``STRIDED=True``: operands are broadcast and/or non-contiguous views; the
  host collapses them to at most 6 dims (``pack_strided``) and each element's
  coordinates are recovered with ``unravel6`` and turned into per-operand
  offsets with ``offset6`` (stride 0 on broadcast dims).

Coordinates are unraveled in int32 when the output has fewer than 2**31
elements (``INDEX32``); offsets are always int64. The output is always a
fresh contiguous array, written at flat index ``i`` and cast on store
(bool outputs for comparisons, logical ops and ``isnan``).

A binary operand may be a scalar kernel argument instead of a pointer
(``A_KIND``/``B_KIND``: ``POINTER``, ``VALUE`` (bool, int) or ``F64_BITS``, a
float passed exactly as its float64 int64 bit pattern since Python floats reach
kernels as float32); it is splat to a block in the compute type, rounded once.
``unary_kernel``'s parameters ``p0``/``p1`` are ``tl.float64`` (docs/architecture.md,
"Numerics of compiled kernels").

Portable ``tl`` functions only (no libdevice, no inline asm): division and
square roots are IEEE-rounded (``div_rn``/``sqrt_rn`` on float32), ``expm1``,
``log1p``, ``tanh``, ``atan2`` and ``pow`` are built from ``exp``/``log``
with series near zero for accuracy.
"""
import triton
import triton.language as tl

from .strided import offset6, unravel6

# Elements per program instance. Elementwise ops are memory bound: 1024
# elements over 8 warps gives each thread 4 elements (one 16-byte load of
# contiguous float32 data) and leaves registers for the longer ops (pow,
# atan2, softplus spill at 4 warps on sm_90 in the strided path). Under the
# interpreter a big block keeps the number of (slow, sequential) programs low.
ELEMENTWISE_CONFIGS = [{"BLOCK": 1024, "num_warps": 8}]

# Integral exponents below 2**POW_EXACT_BITS use exact square-and-multiply in
# float pow; others go through exp2(y * log2|x|).
POW_EXACT_BITS = tl.constexpr(7)
POW_EXACT_LIMIT = tl.constexpr(128.0)

# How a binary/where operand is passed (A_KIND / B_KIND).
POINTER = tl.constexpr(0)  # a tensor: load through the pointer
VALUE = tl.constexpr(1)  # a bool or int scalar kernel argument
F64_BITS = tl.constexpr(2)  # a float scalar as its float64 int64 bit pattern


# --------------------------------------------------------------------------
# Math helpers (x is float32 or float64 unless stated)
# --------------------------------------------------------------------------
@triton.jit
def _div(x, y):
    """IEEE-rounded x / y (plain '/' may lower to an approximate float32 division)."""
    if x.dtype == tl.float32:
        return tl.math.div_rn(x, y)
    else:
        return x / y


@triton.jit
def _sqrt(x):
    """IEEE-rounded square root."""
    if x.dtype == tl.float32:
        return tl.math.sqrt_rn(x)
    else:
        return tl.sqrt(x)


@triton.jit
def _trunc(x):
    """Round toward zero."""
    return tl.where(x < 0, tl.ceil(x), tl.floor(x))


@triton.jit
def _round_half_even(x):
    """Round to the nearest integer, ties to even (like ``torch.round``)."""
    f = tl.floor(x)
    diff = x - f  # exact; 0 for |x| beyond the integer-spacing limit, NaN for inf/NaN
    half_f = f * 0.5
    f_is_even = tl.floor(half_f) == half_f
    tie = tl.where(f_is_even, f, f + 1.0)
    r = tl.where(diff > 0.5, f + 1.0, tl.where(diff < 0.5, f, tie))
    return tl.where(diff != diff, x, r)  # inf and NaN pass through


@triton.jit
def _expm1(x):
    """exp(x) - 1, accurate near 0: Taylor series for |x| < 0.5, else exp(x) - 1."""
    if x.dtype == tl.float64:
        # 17 terms: 0.5**17 / 17! < 1e-19
        p = 1.0 / 355687428096000.0
        p = p * x + 1.0 / 20922789888000.0
        p = p * x + 1.0 / 1307674368000.0
        p = p * x + 1.0 / 87178291200.0
        p = p * x + 1.0 / 6227020800.0
        p = p * x + 1.0 / 479001600.0
        p = p * x + 1.0 / 39916800.0
        p = p * x + 1.0 / 3628800.0
        p = p * x + 1.0 / 362880.0
        p = p * x + 1.0 / 40320.0
        p = p * x + 1.0 / 5040.0
        p = p * x + 1.0 / 720.0
        p = p * x + 1.0 / 120.0
        p = p * x + 1.0 / 24.0
        p = p * x + 1.0 / 6.0
        p = p * x + 0.5
        p = p * x + 1.0
    else:
        # 9 terms: 0.5**9 / 9! < 6e-9
        p = 1.0 / 362880.0
        p = p * x + 1.0 / 40320.0
        p = p * x + 1.0 / 5040.0
        p = p * x + 1.0 / 720.0
        p = p * x + 1.0 / 120.0
        p = p * x + 1.0 / 24.0
        p = p * x + 1.0 / 6.0
        p = p * x + 0.5
        p = p * x + 1.0
    series = p * x
    return tl.where(tl.abs(x) < 0.5, series, tl.exp(x) - 1.0)


@triton.jit
def _log1p(x):
    """log(1 + x), accurate near 0: log1p(x) = 2 atanh(s), s = x / (2 + x), for |x| < 0.4."""
    s = _div(x, x + 2.0)
    z = s * s
    if x.dtype == tl.float64:
        # |s| <= 0.25: z**14 / 29 < 1e-18
        p = 1.0 / 27.0
        p = p * z + 1.0 / 25.0
        p = p * z + 1.0 / 23.0
        p = p * z + 1.0 / 21.0
        p = p * z + 1.0 / 19.0
        p = p * z + 1.0 / 17.0
        p = p * z + 1.0 / 15.0
        p = p * z + 1.0 / 13.0
        p = p * z + 1.0 / 11.0
        p = p * z + 1.0 / 9.0
        p = p * z + 1.0 / 7.0
        p = p * z + 1.0 / 5.0
        p = p * z + 1.0 / 3.0
        p = p * z + 1.0
    else:
        p = 1.0 / 13.0
        p = p * z + 1.0 / 11.0
        p = p * z + 1.0 / 9.0
        p = p * z + 1.0 / 7.0
        p = p * z + 1.0 / 5.0
        p = p * z + 1.0 / 3.0
        p = p * z + 1.0
    series = 2.0 * s * p
    return tl.where(tl.abs(x) < 0.4, series, tl.log(1.0 + x))


@triton.jit
def _tanh(x):
    """tanh from expm1 of -2|x| (no cancellation near 0, saturates to +-1)."""
    em = _expm1(-2.0 * tl.abs(x))
    t = _div(-em, em + 2.0)
    return tl.where(x < 0, -t, t)


@triton.jit
def _sigmoid(x):
    """1 / (1 + exp(-x)); exp overflow gives the correct limit 0."""
    return _div(tl.full(x.shape, 1.0, x.dtype), 1.0 + tl.exp(-x))


@triton.jit
def _atan_unit(r):
    """atan(r) for r in [0, 1] (Cephes' rational approximation, ~1 ulp in float64)."""
    big = r > 0.66
    # tl.full keeps pi/4 exact in float64 (where() would make a float32 block of the literal)
    base = tl.where(big, tl.full(r.shape, 0.78539816339744830962, r.dtype), 0.0)
    t = tl.where(big, _div(r - 1.0, r + 1.0), r)
    z = t * t
    p = -8.750608600031904122785e-1
    p = p * z - 1.615753718733365076637e1
    p = p * z - 7.500855792314704667340e1
    p = p * z - 1.228866684490136173410e2
    p = p * z - 6.485021904942025371773e1
    q = z + 2.485846490142306297962e1
    q = q * z + 1.650270098316988542046e2
    q = q * z + 4.328810604912902668951e2
    q = q * z + 4.853903996359136964868e2
    q = q * z + 1.945506571482613964425e2
    t = t + t * z * _div(p, q)
    t = tl.where(big, t + 3.061616997868382943065e-17, t)
    return base + t


@triton.jit
def _is_negative(x):
    """x < 0, counting -0.0 as negative (sign bit set)."""
    return (x < 0) | ((x == 0) & (_div(tl.full(x.shape, 1.0, x.dtype), x) < 0))


@triton.jit
def _atan2(y, x):
    """atan2(y, x) with IEEE quadrant, signed-zero and infinity rules."""
    ax = tl.abs(x)
    ay = tl.abs(y)
    swap = ay > ax
    hi = tl.where(swap, ay, ax)
    lo = tl.where(swap, ax, ay)
    both_inf = (ax == float("inf")) & (ay == float("inf"))
    r = _div(lo, tl.where(hi == 0, 1.0, hi))
    r = tl.where(both_inf, 1.0, r)
    a = _atan_unit(r)
    a = tl.where(swap, 1.57079632679489661923 - a, a)
    a = tl.where(_is_negative(x), 3.14159265358979323846 - a, a)
    return tl.where(_is_negative(y), -a, a)


@triton.jit
def _pow_float(x, y, EXACT_BITS: tl.constexpr, EXACT_LIMIT: tl.constexpr):
    """x ** y like C's pow: exact square-and-multiply for small integral y."""
    ax = tl.abs(x)
    general = tl.exp2(y * tl.log2(ax))
    y_integral = tl.floor(y) == y
    half = y * 0.5
    y_odd = y_integral & (tl.floor(half) != half)
    general = tl.where((x < 0) & y_odd, -general, general)
    # a negative finite base to a fractional power is nan; (-inf) ** y is inf or 0
    general = tl.where((x < 0) & (x != float("-inf")) & (y_integral == 0), float("nan"), general)
    # exact path: integral |y| < EXACT_LIMIT == 2**EXACT_BITS
    ey = tl.abs(y)
    exact = y_integral & (ey < EXACT_LIMIT)
    bits = tl.where(exact, ey, 0.0).to(tl.int32)
    acc = tl.full(x.shape, 1.0, x.dtype)
    base = x
    for _ in tl.static_range(EXACT_BITS):
        acc = tl.where((bits & 1) != 0, acc * base, acc)
        base = base * base
        bits = bits >> 1
    acc = tl.where(y < 0, _div(tl.full(x.shape, 1.0, x.dtype), acc), acc)
    r = tl.where(exact, acc, general)
    one = (x == 1) | ((ax == 1) & (ey == float("inf")))
    return tl.where(one, 1.0, r)


@triton.jit
def _pow_int(x, y):
    """Integer x ** y by square-and-multiply (wraps on overflow, like PyTorch).

    Negative exponents give 1 for x == 1, +-1 for x == -1 and 0 otherwise.
    """
    e = tl.where(y < 0, 0, y)
    acc = tl.zeros_like(x) + 1
    base = x
    for _ in range(63):
        acc = tl.where((e & 1) != 0, acc * base, acc)
        base = base * base
        e = e >> 1
    neg = tl.where(x == 1, 1, tl.where(x == -1, tl.where((y & 1) != 0, -1, 1), 0))
    return tl.where(y < 0, neg.to(x.dtype), acc)


@triton.jit
def _sign_bit(x):
    """True where the sign bit of float ``x`` is set (-0.0 and negative NaNs included)."""
    if x.dtype == tl.float64:
        return x.to(tl.int64, bitcast=True) < 0
    else:
        return x.to(tl.int32, bitcast=True) < 0


@triton.jit
def _sign_mask(x):
    """``(bits of float x as a signed int, its sign-bit mask)``."""
    if x.dtype.primitive_bitwidth == 64:
        return x.to(tl.int64, bitcast=True), tl.full(x.shape, -2**63, tl.int64)
    elif x.dtype.primitive_bitwidth == 32:
        return x.to(tl.int32, bitcast=True), tl.full(x.shape, -2**31, tl.int32)
    else:
        return x.to(tl.int16, bitcast=True), tl.full(x.shape, -2**15, tl.int16)


@triton.jit
def _negate(x):
    """``-x`` exact for signed zeros: floats flip the sign bit. (Triton 3.6 compiles a float
    ``-x`` as ``0 - x``, which gives +0.0 for +0.0; Triton 3.9 and the interpreter negate.)"""
    if x.dtype.is_floating():
        bits, sign = _sign_mask(x)
        r = (bits ^ sign).to(x.dtype, bitcast=True)
    else:
        r = -x
    return r


@triton.jit
def _copysign(a, b):
    """``|a|`` with the sign bit of ``b`` (-0.0 and negative NaNs count as negative), by bit
    operations: a select between ``-|a|`` and ``|a|`` lost -0.0 on Triton 3.6 (see ``_negate``)."""
    a_bits, sign = _sign_mask(a)
    b_bits, _ = _sign_mask(b)
    return ((a_bits & ~sign) | (b_bits & sign)).to(a.dtype, bitcast=True)


@triton.jit
def _atan(x):
    """atan(x) as atan2(x, 1) (odd, +-pi/2 at +-inf)."""
    return _atan2(x, tl.full(x.shape, 1.0, x.dtype))


@triton.jit
def _sinh(x):
    """sinh from expm1 of |x| (no cancellation near 0); exp(|x|/2)**2 / 2 for large |x|
    so that results near the overflow limit stay finite."""
    ax = tl.abs(x)
    t = _expm1(ax)
    small = 0.5 * (t + _div(t, t + 1.0))
    h = tl.exp(ax * 0.5)
    r = tl.where(ax > 20.0, (0.5 * h) * h, small)
    return tl.where(x < 0, -r, r)


@triton.jit
def _cosh(x):
    """(e + 1/e) / 2 with e = exp(|x|); exp(|x|/2)**2 / 2 for large |x|."""
    ax = tl.abs(x)
    e = tl.exp(ax)
    h = tl.exp(ax * 0.5)
    return tl.where(ax > 20.0, (0.5 * h) * h, 0.5 * (e + _div(tl.full(x.shape, 1.0, x.dtype), e)))


@triton.jit
def _asinh(x):
    """sign(x) log1p(a + a^2 / (1 + sqrt(1 + a^2))), a = |x|; log(a) + ln 2 beyond 2**28."""
    a = tl.abs(x)
    big = a > 268435456.0
    s = tl.where(big, 0.0, a)  # keeps a * a finite on the lane not taken
    r = _log1p(s + _div(s * s, 1.0 + _sqrt(1.0 + s * s)))
    r = tl.where(big, tl.log(a) + 0.69314718055994530942, r)
    return tl.where(x < 0, -r, r)


@triton.jit
def _acosh(x):
    """log1p(t + sqrt(t (t + 2))), t = x - 1 (exact near 1); log(x) + ln 2 beyond 2**28;
    NaN below 1."""
    big = x > 268435456.0
    t = tl.where(big, 0.0, x - 1.0)
    r = _log1p(t + _sqrt(t * (t + 2.0)))
    return tl.where(big, tl.log(x) + 0.69314718055994530942, r)


@triton.jit
def _atanh(x):
    """sign(x) log1p(2a / (1 - a)) / 2, a = |x| (+-inf at +-1, NaN beyond)."""
    a = tl.abs(x)
    r = 0.5 * _log1p(_div(2.0 * a, 1.0 - a))
    return tl.where(x < 0, -r, r)


@triton.jit
def _erfc(x):
    """Complementary error function with relative accuracy in the tail.

    float32: Numerical Recipes' erfcc, t exp(-x^2 + P(t)) with t = 1 / (1 + |x|/2)
    (relative error < 1.2e-7), P in float32 and the exponential in float64 (relative
    error < 4e-7 over [-4, 10] where float32 is normal, emulated in NumPy). float64:
    1 - erf(x) below 3 (relative error < 3e-12 there), else the continued fraction exp(-x^2) / sqrt(pi) / (x + (1/2) /
    (x + 1 / (x + (3/2) / ...))) to 24 terms (< 1e-13 for x >= 3).
    """
    if x.dtype == tl.float64:
        xs = tl.where(x < 3.0, 3.0, x)  # the fraction's lane; keeps it finite elsewhere
        f = xs
        for k in tl.static_range(24, 0, -1):
            f = xs + _div(tl.full(x.shape, k * 0.5, x.dtype), f)
        tail = _div(tl.exp(-xs * xs) * 0.56418958354775628695, f)
        r = tl.where(x < 3.0, 1.0 - tl.erf(x), tail)
    else:
        z = tl.abs(x)
        z = tl.where(z > 12.0, 12.0, z)  # erfc(12) underflows float32 anyway; keeps inf out
        t = _div(tl.full(x.shape, 1.0, x.dtype), 1.0 + 0.5 * z)
        p = 0.17087277
        p = p * t - 0.82215223
        p = p * t + 1.48851587
        p = p * t - 1.13520398
        p = p * t + 0.27886807
        p = p * t - 0.18628806
        p = p * t + 0.09678418
        p = p * t + 0.37409196
        p = p * t + 1.00002368
        p = p * t - 1.26551223
        # t exp(p - z^2) in float64, rounded once: z^2 is exact there, and a compiled float32
        # tl.exp is ex2.approx of x * log2(e), whose rounding cost 1.3e-6 relative error at
        # z = 6 on an H200 (float64 exp is libdevice's, correctly rounded to about 1 ulp)
        zd = z.to(tl.float64)
        ans = (t.to(tl.float64) * tl.exp(p.to(tl.float64) - zd * zd)).to(tl.float32)
        r = tl.where(x >= 0, ans, 2.0 - ans)
    return r


@triton.jit
def _erfinv(x):
    """Inverse error function: Giles' single-precision polynomials in w = -log(1 - x^2)
    (relative error 1.3e-7), then two Newton steps on erf(y) = x for float64;
    +-inf at +-1, NaN outside [-1, 1]."""
    w = -tl.log((1.0 - x) * (1.0 + x))
    c = w - 2.5
    p = 2.81022636e-08
    p = p * c + 3.43273939e-07
    p = p * c - 3.5233877e-06
    p = p * c - 4.39150654e-06
    p = p * c + 0.00021858087
    p = p * c - 0.00125372503
    p = p * c - 0.00417768164
    p = p * c + 0.246640727
    p = p * c + 1.50140941
    t = _sqrt(tl.where(w < 5.0, 5.0, w)) - 3.0  # the tail lane; finite where not taken
    q = -0.000200214257
    q = q * t + 0.000100950558
    q = q * t + 0.00134934322
    q = q * t - 0.00367342844
    q = q * t + 0.00573950773
    q = q * t - 0.0076224613
    q = q * t + 0.00943887047
    q = q * t + 1.00167406
    q = q * t + 2.83297682
    y = tl.where(w < 5.0, p, q) * x
    if x.dtype == tl.float64:
        inside = tl.abs(x) < 1.0
        for _ in tl.static_range(2):
            slope = 1.12837916709551257390 * tl.exp(-y * y)
            y = tl.where(inside, y - _div(tl.erf(y) - x, slope), y)
    a = tl.abs(x)
    y = tl.where(a == 1.0, tl.where(x < 0, float("-inf"), float("inf")), y)
    return tl.where(a > 1.0, float("nan"), y)


@triton.jit
def _logaddexp(a, b, BASE2: tl.constexpr):
    """log(e**a + e**b) (log2(2**a + 2**b) when ``BASE2``) as max + log1p(exp(-|a - b|));
    equal infinities give themselves, NaN propagates."""
    m = tl.where((a > b) | (a != a), a, b)
    d = -tl.abs(a - b)
    if BASE2:
        r = m + _log1p(tl.exp2(d)) * 1.44269504088896340736
    else:
        r = m + _log1p(tl.exp(d))
    return tl.where((a == b) & (tl.abs(a) == float("inf")), a, r)


@triton.jit
def _hypot(a, b):
    """sqrt(a^2 + b^2) without overflow: big * sqrt(1 + (small / big)^2); inf wins over NaN."""
    aa = tl.abs(a)
    ab = tl.abs(b)
    big = tl.where((aa > ab) | (aa != aa), aa, ab)
    small = tl.where((aa > ab) | (aa != aa), ab, aa)
    ratio = _div(small, tl.where(big == 0, 1.0, big))
    r = big * _sqrt(1.0 + ratio * ratio)
    r = tl.where(big == float("inf"), big, r)
    return tl.where((aa == float("inf")) | (ab == float("inf")), float("inf"), r)


@triton.jit
def _int_divisor(b):
    """An integer divisor with 0 replaced by 1. GPUs leave integer division by zero
    undefined (the result differs by dtype, by GPU and even by the surrounding kernel
    code, and LLVM may assume the divisor is nonzero), so the integer division ops
    divide by this and then select 0 where ``b == 0``: a deterministic 0, the value
    NumPy gives and recent PyTorch CUDA kernels choose (docs/semantics.md)."""
    return tl.where(b == 0, 1, b)


@triton.jit
def _div_floor(a, b):
    """Floor division. Floats follow PyTorch's fmod-based algorithm; ints adjust truncation."""
    if a.dtype.is_floating():
        mod = a % b  # C fmod
        div = _div(a - mod, b)
        div = tl.where((mod != 0) & ((b < 0) != (mod < 0)), div - 1.0, div)
        fl = tl.floor(div)
        fl = tl.where(div - fl > 0.5, fl + 1.0, fl)
        q = _div(a, b)
        r = tl.where(div != 0, fl, q * 0.0)  # keeps the sign of zero of a / b
        return tl.where(b == 0, q, r)
    else:
        d = _int_divisor(b)
        q = a // d  # truncates toward zero
        rem = a % d
        q = tl.where((rem != 0) & ((rem < 0) != (b < 0)), q - 1, q)
        return tl.where(b == 0, 0, q)


@triton.jit
def _remainder(a, b):
    """Python-style remainder: result has the sign of the divisor (integers: 0 for b = 0)."""
    if a.dtype.is_floating():
        r = a % b  # C fmod: sign of the dividend
    else:
        r = a % _int_divisor(b)  # srem: sign of the dividend
    fix = (r != 0) & ((r < 0) != (b < 0))
    return tl.where(fix, r + b, r)


@triton.jit
def _unary(x, p0, p1, OP: tl.constexpr):
    """The unary op ``OP`` on a block ``x`` (already in the compute type)."""
    if OP == "neg":
        r = _negate(x)  # -(+0.0) is -0.0 on every Triton
    elif OP == "abs":
        r = tl.abs(x)
    elif OP == "exp":
        r = tl.exp(x)
    elif OP == "exp2":
        r = tl.exp2(x)
    elif OP == "log":
        r = tl.log(x)
    elif OP == "log2":
        r = tl.log2(x)
    elif OP == "log1p":
        r = _log1p(x)
    elif OP == "expm1":
        r = _expm1(x)
    elif OP == "sqrt":
        r = _sqrt(x)
    elif OP == "rsqrt":
        r = _div(tl.full(x.shape, 1.0, x.dtype), _sqrt(x))
    elif OP == "sin":
        r = tl.sin(x)
    elif OP == "cos":
        r = tl.cos(x)
    elif OP == "tan":
        r = _div(tl.sin(x), tl.cos(x))
    elif OP == "tanh":
        r = _tanh(x)
    elif OP == "sigmoid":
        r = _sigmoid(x)
    elif OP == "relu":
        r = tl.where(x < 0, 0, x)  # NaN passes through
    elif OP == "sign":
        r = (x > 0).to(x.dtype) - (x < 0).to(x.dtype)
    elif OP == "floor":
        if x.dtype.is_floating():
            r = tl.floor(x)
        else:
            r = x
    elif OP == "ceil":
        if x.dtype.is_floating():
            r = tl.ceil(x)
        else:
            r = x
    elif OP == "trunc":
        if x.dtype.is_floating():
            r = _trunc(x)
        else:
            r = x
    elif OP == "round":
        if x.dtype.is_floating():
            r = _round_half_even(x)
        else:
            r = x
    elif OP == "reciprocal":
        r = _div(tl.full(x.shape, 1.0, x.dtype), x)
    elif OP == "square":
        r = x * x
    elif OP == "logical_not":
        r = x == 0
    elif OP == "isnan":
        r = x != x
    elif OP == "asin":  # atan2(x, sqrt(1 - x^2)): accurate near +-1, NaN beyond
        r = _atan2(x, _sqrt((1.0 - x) * (1.0 + x)))
    elif OP == "acos":
        r = _atan2(_sqrt((1.0 - x) * (1.0 + x)), x)
    elif OP == "atan":
        r = _atan(x)
    elif OP == "sinh":
        r = _sinh(x)
    elif OP == "cosh":
        r = _cosh(x)
    elif OP == "asinh":
        r = _asinh(x)
    elif OP == "acosh":
        r = _acosh(x)
    elif OP == "atanh":
        r = _atanh(x)
    elif OP == "erf":
        r = tl.erf(x)
    elif OP == "erfc":
        r = _erfc(x)
    elif OP == "erfinv":
        r = _erfinv(x)
    elif OP == "bitwise_not":  # integer types only
        r = ~x
    elif OP == "clamp":  # p0 = lower bound, p1 = upper bound; NaN passes through
        lo = tl.full(x.shape, p0, x.dtype)
        hi = tl.full(x.shape, p1, x.dtype)
        r = tl.where(x < lo, lo, x)
        r = tl.where(r > hi, hi, r)
    elif OP == "clamp_min":
        lo = tl.full(x.shape, p0, x.dtype)
        r = tl.where(x < lo, lo, x)
    elif OP == "clamp_max":
        hi = tl.full(x.shape, p1, x.dtype)
        r = tl.where(x > hi, hi, x)
    else:
        tl.static_assert(False, "unknown unary op")
    return r


@triton.jit
def _binary(a, b, OP: tl.constexpr):
    """The binary op ``OP`` on blocks ``a`` and ``b`` (already in the compute type)."""
    if OP == "add":
        r = a + b
    elif OP == "sub":
        r = a - b
    elif OP == "mul":
        r = a * b
    elif OP == "div":
        r = _div(a, b)
    elif OP == "div_trunc":
        if a.dtype.is_floating():
            r = _trunc(_div(a, b))
        else:
            r = tl.where(b == 0, 0, a // _int_divisor(b))  # truncates toward zero
    elif OP == "div_floor":
        r = _div_floor(a, b)
    elif OP == "remainder":
        r = _remainder(a, b)
    elif OP == "fmod":
        if a.dtype.is_floating():
            r = a % b
        else:
            r = tl.where(b == 0, 0, a % _int_divisor(b))
    elif OP == "pow":
        if a.dtype.is_floating():
            r = _pow_float(a, b, POW_EXACT_BITS, POW_EXACT_LIMIT)
        else:
            r = _pow_int(a, b)
    elif OP == "maximum":  # NaN in either operand propagates
        r = tl.where((a > b) | (a != a), a, b)
    elif OP == "minimum":
        r = tl.where((a < b) | (a != a), a, b)
    elif OP == "atan2":
        r = _atan2(a, b)
    elif OP == "eq":
        r = a == b
    elif OP == "ne":
        r = a != b
    elif OP == "lt":
        r = a < b
    elif OP == "le":
        r = a <= b
    elif OP == "gt":
        r = a > b
    elif OP == "ge":
        r = a >= b
    elif OP == "logical_and":
        r = (a != 0) & (b != 0)
    elif OP == "logical_or":
        r = (a != 0) | (b != 0)
    elif OP == "logical_xor":
        r = (a != 0) != (b != 0)
    elif OP == "copysign":  # |a| with b's sign bit (-0.0 counts as negative)
        r = _copysign(a, b)
    elif OP == "logaddexp":
        r = _logaddexp(a, b, False)
    elif OP == "logaddexp2":
        r = _logaddexp(a, b, True)
    elif OP == "hypot":
        r = _hypot(a, b)
    elif OP == "bitwise_and":  # integer (or bool as int32) compute types only
        r = a & b
    elif OP == "bitwise_or":
        r = a | b
    elif OP == "bitwise_xor":
        r = a ^ b
    elif OP == "shift_left":  # counts outside [0, bits) give 0 (LLVM leaves them undefined)
        ok = (b >= 0) & (b < a.dtype.primitive_bitwidth)
        r = tl.where(ok, a << tl.where(ok, b, 0), 0)
    elif OP == "shift_right":  # arithmetic for signed types; sign fill outside [0, bits)
        ok = (b >= 0) & (b < a.dtype.primitive_bitwidth)
        r = tl.where(ok, a >> tl.where(ok, b, 0), tl.where(a < 0, -1, 0))
    else:
        tl.static_assert(False, "unknown binary op")
    return r


@triton.jit
def _operand(src, offsets, mask, KIND: tl.constexpr, COMPUTE: tl.constexpr,
             BLOCK: tl.constexpr):
    """A block of an operand in the compute type: a masked load or a splat scalar."""
    if KIND == POINTER:
        value = _convert(tl.load(src + offsets, mask=mask), COMPUTE)
    elif KIND == VALUE:
        if COMPUTE == tl.bfloat16:
            value = tl.full((BLOCK,), src, tl.float32).to(COMPUTE)
        else:
            value = tl.full((BLOCK,), src, COMPUTE)
    else:  # F64_BITS
        bits = tl.full((BLOCK,), src, tl.int64)
        value = _convert(bits.to(tl.float64, bitcast=True), COMPUTE)
    return value


@triton.jit
def _convert(value, ty: tl.constexpr):
    """``value.to(ty)``; to bfloat16 through float32 (as PyTorch rounds), because
    Triton's interpreter turns an integer or float64 into bfloat16 by its bits."""
    if ty == tl.bfloat16:
        value = value.to(tl.float32)
    return value.to(ty)


@triton.jit
def _coords(idx, size1, size2, size3, size4, size5, INDEX32: tl.constexpr):
    """The 6-d coordinates of flat output indices, as int64 (ready to multiply by strides).

    The divisions of ``unravel6`` run in int32 when every index fits
    (``INDEX32``): 64-bit division is a slow subroutine call on GPUs.
    """
    if INDEX32:
        i0, i1, i2, i3, i4, i5 = unravel6(idx.to(tl.int32), size1, size2, size3, size4, size5)
    else:
        i0, i1, i2, i3, i4, i5 = unravel6(idx, size1, size2, size3, size4, size5)
    return (i0.to(tl.int64), i1.to(tl.int64), i2.to(tl.int64), i3.to(tl.int64),
            i4.to(tl.int64), i5.to(tl.int64))


# --------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------
# Not specialized (do_not_specialize): the sizes and strides of the STRIDED path, whose offsets
# come from div/mod index arithmetic that no divisibility hint speeds up. Triton then compiles
# one binary per op and dtype rather than one per shape seen (docs/benchmarks.md, GPU check).
_UNARY_UNSPECIALIZED = ("size1", "size2", "size3", "size4", "size5",
                         "s0", "s1", "s2", "s3", "s4", "s5")


@triton.jit(do_not_specialize=_UNARY_UNSPECIALIZED)
def unary_kernel(out_ptr, x_ptr, n,
                 size1, size2, size3, size4, size5,
                 s0, s1, s2, s3, s4, s5,
                 p0: tl.float64, p1: tl.float64,
                 OP: tl.constexpr, COMPUTE: tl.constexpr, STRIDED: tl.constexpr,
                 INDEX32: tl.constexpr, BLOCK: tl.constexpr):
    """Each program computes ``out[i] = OP(x[i])`` for BLOCK consecutive output indices.

    ``p0``/``p1`` are the op's scalar parameters (clamp: lower, upper bound, rounded
    once to the compute type; integer bounds are exact up to 2**53), ignored by the
    other ops.
    """
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n  # the last block is partial
    if STRIDED:
        i0, i1, i2, i3, i4, i5 = _coords(idx, size1, size2, size3, size4, size5, INDEX32)
        x_off = offset6(i0, i1, i2, i3, i4, i5, s0, s1, s2, s3, s4, s5)
    else:
        x_off = idx
    x = tl.load(x_ptr + x_off, mask=mask).to(COMPUTE)
    r = _unary(x, p0, p1, OP)
    tl.store(out_ptr + idx, r.to(out_ptr.dtype.element_ty), mask=mask)


_BINARY_UNSPECIALIZED = ("size1", "size2", "size3", "size4", "size5",
                          "sa0", "sa1", "sa2", "sa3", "sa4", "sa5",
                          "sb0", "sb1", "sb2", "sb3", "sb4", "sb5")


@triton.jit(do_not_specialize=_BINARY_UNSPECIALIZED)
def binary_kernel(out_ptr, a, b, n,
                  size1, size2, size3, size4, size5,
                  sa0, sa1, sa2, sa3, sa4, sa5,
                  sb0, sb1, sb2, sb3, sb4, sb5,
                  OP: tl.constexpr, COMPUTE: tl.constexpr,
                  A_KIND: tl.constexpr, B_KIND: tl.constexpr, STRIDED: tl.constexpr,
                  INDEX32: tl.constexpr, BLOCK: tl.constexpr):
    """Each program computes ``out[i] = OP(a[i], b[i])`` for BLOCK consecutive output indices.

    ``a``/``b`` are pointers (strided by ``sa*``/``sb*``, 0 on broadcast
    dims) or scalars, as ``A_KIND``/``B_KIND`` say.
    """
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n  # the last block is partial
    if STRIDED:
        i0, i1, i2, i3, i4, i5 = _coords(idx, size1, size2, size3, size4, size5, INDEX32)
        a_off = offset6(i0, i1, i2, i3, i4, i5, sa0, sa1, sa2, sa3, sa4, sa5)
        b_off = offset6(i0, i1, i2, i3, i4, i5, sb0, sb1, sb2, sb3, sb4, sb5)
    else:
        a_off = idx
        b_off = idx
    x = _operand(a, a_off, mask, A_KIND, COMPUTE, BLOCK)
    y = _operand(b, b_off, mask, B_KIND, COMPUTE, BLOCK)
    r = _binary(x, y, OP)
    tl.store(out_ptr + idx, r.to(out_ptr.dtype.element_ty), mask=mask)


_WHERE_UNSPECIALIZED = ("size1", "size2", "size3", "size4", "size5",
                         "sc0", "sc1", "sc2", "sc3", "sc4", "sc5",
                         "sa0", "sa1", "sa2", "sa3", "sa4", "sa5",
                         "sb0", "sb1", "sb2", "sb3", "sb4", "sb5")


@triton.jit(do_not_specialize=_WHERE_UNSPECIALIZED)
def where_kernel(out_ptr, cond_ptr, a, b, n,
                 size1, size2, size3, size4, size5,
                 sc0, sc1, sc2, sc3, sc4, sc5,
                 sa0, sa1, sa2, sa3, sa4, sa5,
                 sb0, sb1, sb2, sb3, sb4, sb5,
                 COMPUTE: tl.constexpr, A_KIND: tl.constexpr, B_KIND: tl.constexpr,
                 STRIDED: tl.constexpr, INDEX32: tl.constexpr, BLOCK: tl.constexpr):
    """Each program selects ``out[i] = cond[i] ? a[i] : b[i]`` for BLOCK output indices.

    Values are converted to ``COMPUTE`` (the output's type) before
    selecting; ``a``/``b`` may be scalars (``A_KIND``/``B_KIND``).
    """
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n  # the last block is partial
    if STRIDED:
        i0, i1, i2, i3, i4, i5 = _coords(idx, size1, size2, size3, size4, size5, INDEX32)
        c_off = offset6(i0, i1, i2, i3, i4, i5, sc0, sc1, sc2, sc3, sc4, sc5)
        a_off = offset6(i0, i1, i2, i3, i4, i5, sa0, sa1, sa2, sa3, sa4, sa5)
        b_off = offset6(i0, i1, i2, i3, i4, i5, sb0, sb1, sb2, sb3, sb4, sb5)
    else:
        c_off = idx
        a_off = idx
        b_off = idx
    c = tl.load(cond_ptr + c_off, mask=mask) != 0
    x = _operand(a, a_off, mask, A_KIND, COMPUTE, BLOCK)
    y = _operand(b, b_off, mask, B_KIND, COMPUTE, BLOCK)
    tl.store(out_ptr + idx, tl.where(c, x, y), mask=mask)


# Representative compiles for tests/test_compile.py (format in its docstring): each
# kernel in contiguous and strided form, half/float64/integer compute, a scalar operand.
_WARPS = ELEMENTWISE_CONFIGS[0]["num_warps"]
_UNARY_ARGS = {"p0": "fp64", "p1": "fp64"}
COMPILE_SPECS = [
    {"kernel": "unary_kernel", "label": "exp-fp16",
     "signature": {"out_ptr": "*fp16", "x_ptr": "*fp16", **_UNARY_ARGS},
     "constexprs": {"OP": "exp", "COMPUTE": "tl.float32", "STRIDED": False, "INDEX32": True,
                    "BLOCK": 1024}},
    {"kernel": "unary_kernel", "label": "sigmoid-bf16-strided",
     "signature": {"out_ptr": "*bf16", "x_ptr": "*bf16", **_UNARY_ARGS},
     "constexprs": {"OP": "sigmoid", "COMPUTE": "tl.float32", "STRIDED": True, "INDEX32": True,
                    "BLOCK": 1024}},
    {"kernel": "unary_kernel", "label": "tanh-fp64-strided",
     "signature": {"out_ptr": "*fp64", "x_ptr": "*fp64", **_UNARY_ARGS},
     "constexprs": {"OP": "tanh", "COMPUTE": "tl.float64", "STRIDED": True, "INDEX32": True,
                    "BLOCK": 1024}},
    {"kernel": "unary_kernel", "label": "erfinv-fp64",
     "signature": {"out_ptr": "*fp64", "x_ptr": "*fp64", **_UNARY_ARGS},
     "constexprs": {"OP": "erfinv", "COMPUTE": "tl.float64", "STRIDED": False, "INDEX32": True,
                    "BLOCK": 1024}},
    {"kernel": "unary_kernel", "label": "erfc-fp32",
     "signature": {"out_ptr": "*fp32", "x_ptr": "*fp32", **_UNARY_ARGS},
     "constexprs": {"OP": "erfc", "COMPUTE": "tl.float32", "STRIDED": False, "INDEX32": True,
                    "BLOCK": 1024},
     "ptx_lacks": ["ex2.approx"], "fp64_math": "the exponential of erfc's tail, in float64"},
    {"kernel": "unary_kernel", "label": "erfc-fp64",
     "signature": {"out_ptr": "*fp64", "x_ptr": "*fp64", **_UNARY_ARGS},
     "constexprs": {"OP": "erfc", "COMPUTE": "tl.float64", "STRIDED": False, "INDEX32": True,
                    "BLOCK": 1024}},
    {"kernel": "unary_kernel", "label": "asinh-bf16",
     "signature": {"out_ptr": "*bf16", "x_ptr": "*bf16", **_UNARY_ARGS},
     "constexprs": {"OP": "asinh", "COMPUTE": "tl.float32", "STRIDED": False, "INDEX32": True,
                    "BLOCK": 1024}},
    {"kernel": "binary_kernel", "label": "copysign-fp64",
     "signature": {"out_ptr": "*fp64", "a": "*fp64", "b": "*fp64"},
     "constexprs": {"OP": "copysign", "COMPUTE": "tl.float64", "A_KIND": 0, "B_KIND": 0,
                    "STRIDED": False, "INDEX32": True, "BLOCK": 1024}},
    {"kernel": "binary_kernel", "label": "hypot-fp16",
     "signature": {"out_ptr": "*fp16", "a": "*fp16", "b": "*fp16"},
     "constexprs": {"OP": "hypot", "COMPUTE": "tl.float32", "A_KIND": 0, "B_KIND": 0,
                    "STRIDED": False, "INDEX32": True, "BLOCK": 1024}},
    {"kernel": "binary_kernel", "label": "shift_right-int8-scalar",
     "signature": {"out_ptr": "*i8", "a": "*i8", "b": "i32"},
     "constexprs": {"OP": "shift_right", "COMPUTE": "tl.int8", "A_KIND": 0, "B_KIND": 1,
                    "STRIDED": False, "INDEX32": True, "BLOCK": 1024}},
    {"kernel": "binary_kernel", "label": "shift_left-uint8-strided",
     "signature": {"out_ptr": "*u8", "a": "*u8", "b": "*u8"},
     "constexprs": {"OP": "shift_left", "COMPUTE": "tl.uint8", "A_KIND": 0, "B_KIND": 0,
                    "STRIDED": True, "INDEX32": True, "BLOCK": 1024}},
    {"kernel": "binary_kernel", "label": "add-fp32-scalar",
     "signature": {"out_ptr": "*fp32", "a": "*fp32", "b": "i64"},
     "constexprs": {"OP": "add", "COMPUTE": "tl.float32", "A_KIND": 0, "B_KIND": 2,
                    "STRIDED": False, "INDEX32": True, "BLOCK": 1024}},
    {"kernel": "binary_kernel", "label": "pow-fp64-strided",
     "signature": {"out_ptr": "*fp64", "a": "*fp64", "b": "*fp64"},
     "constexprs": {"OP": "pow", "COMPUTE": "tl.float64", "A_KIND": 0, "B_KIND": 0,
                    "STRIDED": True, "INDEX32": True, "BLOCK": 1024}},
    {"kernel": "binary_kernel", "label": "div_floor-int64-strided",
     "signature": {"out_ptr": "*i64", "a": "*i64", "b": "*i32"},
     "constexprs": {"OP": "div_floor", "COMPUTE": "tl.int64", "A_KIND": 0,
                    "B_KIND": 0, "STRIDED": True, "INDEX32": False, "BLOCK": 1024}},
    {"kernel": "where_kernel", "label": "fp64-strided-f64-scalar",
     "signature": {"out_ptr": "*fp64", "cond_ptr": "*i1", "a": "*fp16", "b": "i64"},
     "constexprs": {"COMPUTE": "tl.float64", "A_KIND": 0, "B_KIND": 2,
                    "STRIDED": True, "INDEX32": True, "BLOCK": 1024}},
]
COMPILE_SPECS = [dict(spec, num_warps=_WARPS, no_spills=True) for spec in COMPILE_SPECS]
