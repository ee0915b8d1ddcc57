"""Special functions: log-gamma, digamma, polygamma, Hurwitz zeta, modified Bessel I0/I1,
the normal distribution's CDF family; ``torch.lgamma`` ... and ``torch.special``'s.

Each is a composite of framework ops (so both backends run it and autograd differentiates
it to any order), written for float64 accuracy (relative error about 1e-14 away from the
functions' zeros and poles):

- ``lgamma``/``digamma`` of x >= 0.5 shift the argument up by 8 with the recurrence and
  sum Stirling's (de Moivre's) asymptotic series; x < 0.5 goes through the reflection
  formulas, with ``sin(pi x)``/``tan(pi x)`` of ``x - round(x)`` (no loss for large |x|);
- the Hurwitz zeta ``zeta(s, q)`` (and ``polygamma(n, x) = (-1)^(n+1) n! zeta(n+1, x)``)
  sums 9 terms and the Euler-Maclaurin tail with six Bernoulli terms; a negative
  non-integer q (with an integer s) is first shifted past 0 term by term;
- ``i0``/``i1`` (and their exponentially scaled forms) sum the power series below
  |x| = 15 and the asymptotic expansion above.

Their gradients are those of these formulas, equal to the true derivatives to the same
accuracy (``lgamma``'s is ``digamma``'s value within ~1e-14).
"""
from __future__ import annotations

import math

from .. import dtypes
from ..tensor import Tensor
from . import binary, compare, reduce, unary
from ._util import check_tensor
from .registry import register

# ``torch.<name>`` (and Tensor methods); the ``torch.special``-only names are module
# attributes listed in ``SPECIAL_ONLY`` (framework/special.py exports them)
__all__ = ["lgamma", "digamma", "polygamma", "mvlgamma", "i0", "igamma", "igammac"]
TENSOR_METHODS = ("lgamma", "digamma", "mvlgamma", "i0", "igamma", "igammac")
SPECIAL_ONLY = ("gammaln", "psi", "multigammaln", "zeta", "i0e", "i1", "i1e", "xlog1py", "entr",
                "ndtr", "log_ndtr", "ndtri", "gammainc", "gammaincc")

_SHIFT = 8
_LOG_2PI = math.log(2.0 * math.pi)
_BESSEL_SPLIT = 15.0  # |x| below: power series; above: asymptotic expansion
_BESSEL_TERMS = 32


def _floating(op: str, input) -> Tensor:
    """``input`` as a floating tensor (integer and bool tensors in the default dtype)."""
    check_tensor(op, "input", input)
    if input.dtype.is_floating_point:
        return input
    return input.to(dtypes.get_default_dtype())


def _pi_times_fraction(x: Tensor) -> Tensor:
    """``pi * (x - round(x))``: the angle whose sine and tangent give ``sin(pi x)`` up to
    sign and ``tan(pi x)`` exactly, without rounding ``pi * x`` for large |x|."""
    return binary.mul(binary.sub(x, unary.round(x)), math.pi)


def _safe(x: Tensor, bad: Tensor, value: float) -> Tensor:
    """``x`` with ``value`` where ``bad``: an argument that keeps a discarded ``where``
    branch (and its gradient) finite."""
    return compare.where(bad, value, x)


# -- log-gamma and digamma ---------------------------------------------------------------------
def _stirling_lgamma(z: Tensor) -> Tensor:
    """log Gamma(z) for z >= 8.5: Stirling's series to z^-11."""
    inv = unary.reciprocal(z)
    inv2 = binary.mul(inv, inv)
    series = inv2 * (-691.0 / 360360.0) + 1.0 / 1188.0
    for c in (-1.0 / 1680.0, 1.0 / 1260.0, -1.0 / 360.0, 1.0 / 12.0):
        series = binary.add(binary.mul(series, inv2), c)
    series = binary.mul(series, inv)
    head = binary.sub(binary.mul(binary.sub(z, 0.5), unary.log(z)), z)
    return binary.add(binary.add(head, 0.5 * _LOG_2PI), series)


def _lgamma_at_least_half(y: Tensor) -> Tensor:
    """log Gamma(y) for y >= 0.5 (NaN and +inf pass through)."""
    direct = compare.gt(y, 30.0)
    small = _safe(y, direct, 1.0)  # the shifted branch's argument, bounded
    product = small
    for k in range(1, _SHIFT):
        product = binary.mul(product, binary.add(small, float(k)))
    shifted = binary.sub(_stirling_lgamma(binary.add(small, float(_SHIFT))), unary.log(product))
    large = _safe(y, compare.logical_not(direct), 30.0)
    return compare.where(direct, _stirling_lgamma(large), shifted)


def lgamma(input: Tensor) -> Tensor:
    """log |Gamma(input)|; +inf at 0, the negative integers and +-inf."""
    x = _floating("lgamma", input)
    reflect = compare.lt(x, 0.5)
    infinite = compare.isinf(x)
    y = compare.where(reflect, binary.sub(1.0, x), x)
    y = _safe(y, infinite, 1.0)
    positive = _lgamma_at_least_half(y)
    outside = compare.logical_not(reflect) | infinite  # (an integer there would give 0)
    sine = unary.abs(unary.sin(_pi_times_fraction(_safe(x, outside, 0.5))))
    reflected = binary.sub(unary.log(binary.div(math.pi, sine)), positive)
    out = compare.where(reflect, reflected, positive)
    return compare.where(infinite, math.inf, out)


def gammaln(input: Tensor) -> Tensor:
    """``lgamma`` (``torch.special``'s name)."""
    return lgamma(input)


def _digamma_at_least_half(y: Tensor) -> Tensor:
    """psi(y) for y >= 0.5: psi(y + 8) by its asymptotic series, minus sum 1/(y + k)."""
    shift = unary.reciprocal(y)
    for k in range(1, _SHIFT):
        shift = binary.add(shift, unary.reciprocal(binary.add(y, float(k))))
    z = binary.add(y, float(_SHIFT))
    inv = unary.reciprocal(z)
    inv2 = binary.mul(inv, inv)
    series = inv2 * (691.0 / 32760.0) - 1.0 / 132.0
    for c in (1.0 / 240.0, -1.0 / 252.0, 1.0 / 120.0, -1.0 / 12.0):
        series = binary.add(binary.mul(series, inv2), c)
    series = binary.mul(series, inv2)  # -(1/12 z^-2 - 1/120 z^-4 + ...)
    head = binary.sub(unary.log(z), binary.mul(inv, 0.5))
    return binary.sub(binary.add(head, series), shift)


def digamma(input: Tensor) -> Tensor:
    """psi(input) = d/dx log Gamma(x): -inf at +0.0, +inf at -0.0, NaN at the negative
    integers and -inf (PyTorch's values)."""
    x = _floating("digamma", input)
    reflect = compare.lt(x, 0.5)
    infinite = compare.isinf(x)
    y = _safe(compare.where(reflect, binary.sub(1.0, x), x), infinite, 1.0)
    positive = _digamma_at_least_half(y)
    outside = compare.logical_not(reflect) | infinite
    tangent = unary.tan(_pi_times_fraction(_safe(x, outside, 0.25)))
    pole = compare.eq(tangent, 0)
    cotangent = binary.div(math.pi, _safe(tangent, pole, 1.0))
    out = compare.where(reflect, binary.sub(positive, cotangent), positive)
    out = compare.where(pole & compare.lt(x, 0), math.nan, out)  # the negative integers
    zero = compare.eq(x, 0)
    negative_zero = zero & compare.lt(binary.copysign(1.0, x), 0)
    out = compare.where(negative_zero, math.inf, compare.where(zero, -math.inf, out))
    out = compare.where(infinite & compare.gt(x, 0), math.inf, out)
    return compare.where(infinite & compare.lt(x, 0), math.nan, out)


def psi(input: Tensor) -> Tensor:
    """``digamma`` (``torch.special``'s name)."""
    return digamma(input)


# -- Hurwitz zeta and polygamma --------------------------------------------------------------
# B_2j / (2j)! for j = 1..6 (the Euler-Maclaurin tail's coefficients)
_EULER_MACLAURIN = (1.0 / 12.0, -1.0 / 720.0, 1.0 / 30240.0, -1.0 / 1209600.0,
                    1.0 / 47900160.0, -691.0 / 1307674368000.0)
_ZETA_TERMS = 9


def _zeta_positive(s: Tensor, q: Tensor) -> Tensor:
    """zeta(s, q) for s > 1, q > 0: nine terms and the Euler-Maclaurin tail."""
    total = binary.pow(q, unary.neg(s))
    for k in range(1, _ZETA_TERMS):
        total = binary.add(total, binary.pow(binary.add(q, float(k)), unary.neg(s)))
    a = binary.add(q, float(_ZETA_TERMS))
    a_to_minus_s = binary.pow(a, unary.neg(s))
    total = binary.add(total, binary.div(binary.mul(a_to_minus_s, a), binary.sub(s, 1.0)))
    total = binary.add(total, binary.mul(a_to_minus_s, 0.5))
    rising = s  # s (s+1) ... (s+2j-2)
    power = binary.div(a_to_minus_s, a)  # a^(-s-2j+1)
    inv2 = unary.reciprocal(binary.mul(a, a))
    for j, c in enumerate(_EULER_MACLAURIN, 1):
        total = binary.add(total, binary.mul(binary.mul(rising, power), c))
        rising = binary.mul(binary.mul(rising, binary.add(s, 2.0 * j - 1.0)),
                            binary.add(s, 2.0 * j))
        power = binary.mul(power, inv2)
    return total


def zeta(input, other) -> Tensor:
    """The Hurwitz zeta function zeta(x, q) = sum_k (k + q)^-x (Cephes' domain: inf at
    x = 1 and at q a non-positive integer, NaN for x < 1 and for q < 0 with a
    non-integer x)."""
    s, q = _float_pair("zeta", input, other)
    bad_s = compare.lt(s, 1.0)
    pole = compare.eq(s, 1.0) | (compare.le(q, 0) & compare.eq(q, unary.floor(q)))
    undefined = bad_s | (compare.lt(q, 0) & compare.ne(s, unary.floor(s)))
    s_safe = _safe(s, bad_s | compare.eq(s, 1.0), 2.0)
    q_safe = _safe(q, pole | undefined, 1.0)
    head, q_shifted = _shift_past_zero(s_safe, q_safe)
    out = binary.add(head, _zeta_positive(s_safe, q_shifted))
    out = compare.where(undefined, math.nan, out)
    return compare.where(pole & compare.logical_not(bad_s), math.inf, out)


def _shift_past_zero(s: Tensor, q: Tensor) -> tuple:
    """``(sum of (q + k)^-s for the k with q + k < 0, q shifted by that many)``: a negative
    q (non-integer, with an integer s) moved into (0, 1), where the series holds."""
    lowest = float(reduce.amin(q)) if q.numel() else 0.0
    head = compare.where(compare.isnan(q), 0.0, binary.mul(q, 0.0))
    if not lowest < 0.0:  # (NaN included)
        return head, q
    for _ in range(int(math.ceil(-lowest))):
        below = compare.lt(q, 0.0)
        term = binary.pow(_safe(q, compare.logical_not(below), 1.0), unary.neg(s))
        head = binary.add(head, compare.where(below, term, 0.0))
        q = compare.where(below, binary.add(q, 1.0), q)
    return head, q


def _float_pair(op: str, input, other) -> tuple:
    """Two operands (tensors or numbers, at least one a tensor) as tensors of their common
    floating dtype (``numeric._as_float_operands``), broadcast."""
    from ._util import broadcast_shapes
    from .numeric import _as_float_operands
    first, second = _as_float_operands(op, input, other)
    shape = broadcast_shapes(op, tuple(first.shape), tuple(second.shape))
    return first.expand(shape), second.expand(shape)


def polygamma(n: int, input: Tensor) -> Tensor:
    """The n-th derivative of digamma: ``(-1)^(n+1) n! zeta(n + 1, input)`` for n >= 1."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    x = _floating("polygamma", input)
    if n == 0:
        return digamma(x)
    sign = -1.0 if n % 2 == 0 else 1.0
    return binary.mul(zeta(float(n + 1), x), sign * math.factorial(n))


# -- regularized incomplete gamma -----------------------------------------------------------
_TINY = 1e-300
_GAMMAINC_CHECK = 16  # iterations between convergence checks (a host read each)
_GAMMAINC_MAX = 4096


def _gammainc_series(a: Tensor, x: Tensor) -> Tensor:
    """sum_n x^n / (a (a+1) ... (a+n)), until the terms stop counting (checked on the host
    every ``_GAMMAINC_CHECK`` terms)."""
    term = unary.reciprocal(a)
    total = term
    n = 0
    while n < _GAMMAINC_MAX:
        for _ in range(_GAMMAINC_CHECK):
            n += 1
            term = binary.mul(term, binary.div(x, binary.add(a, float(n))))
            total = binary.add(total, term)
        if not bool(reduce.any(compare.gt(unary.abs(term), binary.mul(unary.abs(total),
                                                                        1e-17)))):
            break
    return total


def _gammainc_fraction(a: Tensor, x: Tensor) -> Tensor:
    """The continued fraction of Q(a, x) without its prefactor (Lentz's method), until its
    factors reach 1."""
    b = binary.sub(binary.add(x, 1.0), a)
    c = binary.add(binary.mul(x, 0.0), 1.0 / _TINY)
    d = unary.reciprocal(b)
    h = d
    i = 0
    while i < _GAMMAINC_MAX:
        for _ in range(_GAMMAINC_CHECK):
            i += 1
            an = binary.mul(binary.sub(a, float(i)), float(i))  # -i (i - a)
            b = binary.add(b, 2.0)
            d = binary.add(binary.mul(an, d), b)
            d = compare.where(compare.lt(unary.abs(d), _TINY), _TINY, d)
            c = binary.add(b, binary.div(an, c))
            c = compare.where(compare.lt(unary.abs(c), _TINY), _TINY, c)
            d = unary.reciprocal(d)
            step = binary.mul(d, c)
            h = binary.mul(h, step)
        if not bool(reduce.any(compare.gt(unary.abs(binary.sub(step, 1.0)), 1e-16))):
            break
    return h


def _gammainc_pair(op: str, input, other) -> tuple:
    """``(P, Q)``: the regularized lower and upper incomplete gamma functions of (a, x),
    the series below x = a + 1 and the continued fraction above, each computed where it
    converges fast and taken from the other as 1 - it; PyTorch's values at the edges (NaN
    for a < 0 or x < 0, P = 1 for a = 0 < x or x = inf, P = 0 at x = 0)."""
    a, x = _float_pair(op, input, other)
    bad = compare.lt(a, 0) | compare.lt(x, 0) | compare.isnan(a) | compare.isnan(x)
    edge = compare.eq(a, 0) | compare.eq(x, 0) | compare.isinf(x) | compare.isinf(a)
    by_series = compare.lt(x, binary.add(a, 1.0))
    a_s = _safe(a, bad | edge, 1.0)
    x_s = _safe(x, bad | edge | compare.logical_not(by_series), 0.5)
    x_f = compare.where(bad | edge | by_series, binary.add(a_s, 2.0), x)  # (above a + 1)

    log_gamma = lgamma(a_s)

    def prefactor(xv):  # x^a e^-x / Gamma(a)
        return unary.exp(binary.sub(binary.sub(binary.mul(a_s, unary.log(xv)), xv), log_gamma))
    lower = binary.mul(prefactor(x_s), _gammainc_series(a_s, x_s))
    upper = binary.mul(prefactor(x_f), _gammainc_fraction(a_s, x_f))
    p = compare.where(by_series, lower, binary.sub(1.0, upper))
    q = compare.where(by_series, binary.sub(1.0, lower), upper)
    zero_x = compare.eq(x, 0)
    full = (compare.eq(a, 0) & compare.gt(x, 0)) | (compare.isinf(x) & compare.logical_not(
        compare.isinf(a)))
    p = compare.where(zero_x, 0.0, compare.where(full, 1.0, p))
    q = compare.where(zero_x, 1.0, compare.where(full, 0.0, q))
    infinite_a = compare.isinf(a) & compare.logical_not(compare.isinf(x))
    p = compare.where(infinite_a, 0.0, p)
    q = compare.where(infinite_a, 1.0, q)
    return compare.where(bad, math.nan, p), compare.where(bad, math.nan, q)


def igamma(input, other) -> Tensor:
    """The regularized lower incomplete gamma function P(a, x) = gamma(a, x) / Gamma(a) of
    ``a = input``, ``x = other``."""
    return _gammainc_pair("igamma", input, other)[0]


def igammac(input, other) -> Tensor:
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    return _gammainc_pair("igammac", input, other)[1]


def gammainc(input, other) -> Tensor:
    """``igamma`` (``torch.special``'s name)."""
    return igamma(input, other)


def gammaincc(input, other) -> Tensor:
    """``igammac`` (``torch.special``'s name)."""
    return igammac(input, other)


# -- multivariate log-gamma ----------------------------------------------------------------
def multigammaln(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p``: sum_j lgamma(input -
    j/2) + p (p - 1) / 4 log(pi); every element must exceed (p - 1) / 2."""
    x = _floating("multigammaln", input)
    if isinstance(p, bool) or not isinstance(p, int) or p < 1:
        raise RuntimeError(f"p has to be greater than or equal to 1, got {p}")
    if x.numel() and not bool(reduce.all(compare.gt(x, (p - 1) / 2.0))):
        raise RuntimeError(f"All elements must be greater than (p-1)/2, got {(p - 1) / 2.0}")
    total = lgamma(x)
    for j in range(1, p):
        total = binary.add(total, lgamma(binary.sub(x, j / 2.0)))
    return binary.add(total, p * (p - 1) / 4.0 * math.log(math.pi))


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """``multigammaln`` (PyTorch's top-level name)."""
    return multigammaln(input, p)


# -- modified Bessel functions -------------------------------------------------------------
def _bessel_series(x: Tensor, order: int) -> Tensor:
    """sum_k (x^2/4)^k / (k! (k + order)!), the power series of I_order(x) / (x/2)^order."""
    quarter = binary.mul(binary.mul(x, x), 0.25)
    term = binary.mul(quarter, 0.0) + 1.0 / math.factorial(order)
    total = term
    for k in range(1, _BESSEL_TERMS):
        term = binary.mul(term, binary.div(quarter, float(k * (k + order))))
        total = binary.add(total, term)
    return total


def _bessel_asymptotic(ax: Tensor, order: int) -> Tensor:
    """sum_k (-1)^k a_k(order) / ax^k with a_k = prod_j (4 order^2 - (2j-1)^2) / (k! 8^k):
    ``I_order(ax) sqrt(2 pi ax) e^-ax`` for large ax."""
    inv = unary.reciprocal(ax)
    term = binary.mul(inv, 0.0) + 1.0
    total = term
    mu = 4.0 * order * order
    for k in range(1, _BESSEL_TERMS):
        factor = -(mu - (2 * k - 1) ** 2) / (8.0 * k)
        term = binary.mul(term, binary.mul(inv, factor))
        total = binary.add(total, term)
    return total


def _bessel(op: str, input: Tensor, order: int, scaled: bool) -> Tensor:
    """I_order(x) (``scaled``: e^-|x| I_order(x)); I1 is odd, I0 even."""
    x = _floating(op, input)
    ax = unary.abs(x)
    large = compare.ge(ax, _BESSEL_SPLIT)
    small_x = _safe(x, large, 1.0)
    series = _bessel_series(small_x, order)
    if order:
        series = binary.mul(series, binary.mul(small_x, 0.5))
    if scaled:
        series = binary.mul(series, unary.exp(unary.neg(unary.abs(small_x))))
    big = _safe(ax, compare.logical_not(large), _BESSEL_SPLIT)
    expansion = binary.div(_bessel_asymptotic(big, order),
                           unary.sqrt(binary.mul(big, 2.0 * math.pi)))
    if not scaled:
        expansion = binary.mul(expansion, unary.exp(big))
    if order:
        expansion = binary.mul(expansion, unary.sign(x))
    out = compare.where(large, expansion, series)
    return compare.where(compare.isnan(x), math.nan, out)


def i0(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 0."""
    return _bessel("i0", input, 0, scaled=False)


def i0e(input: Tensor) -> Tensor:
    """``exp(-|input|) * i0(input)``, without overflow."""
    return _bessel("i0e", input, 0, scaled=True)


def i1(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 1."""
    return _bessel("i1", input, 1, scaled=False)


def i1e(input: Tensor) -> Tensor:
    """``exp(-|input|) * i1(input)``, without overflow."""
    return _bessel("i1e", input, 1, scaled=True)


# -- entropy and the normal distribution -----------------------------------------------------
def xlog1py(input, other) -> Tensor:
    """``input * log1p(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN)."""
    x, y = _float_pair("xlog1py", input, other)
    zero = compare.eq(x, 0) & compare.logical_not(compare.isnan(y))
    return compare.where(zero, 0.0, binary.mul(x, unary.log1p(y)))


def entr(input: Tensor) -> Tensor:
    """The elementwise entropy ``-x log x`` (0 at 0, -inf below)."""
    x = _floating("entr", input)
    positive = compare.gt(x, 0)
    safe = _safe(x, compare.logical_not(positive), 1.0)
    out = compare.where(positive, unary.neg(binary.mul(safe, unary.log(safe))), 0.0)
    out = compare.where(compare.lt(x, 0), -math.inf, out)
    return compare.where(compare.isnan(x), math.nan, out)


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF, ``0.5 * erfc(-x / sqrt(2))``."""
    x = _floating("ndtr", input)
    return binary.mul(unary.erfc(binary.mul(x, -1.0 / math.sqrt(2.0))), 0.5)


def log_ndtr(input: Tensor) -> Tensor:
    """log of the standard normal CDF, accurate in both tails (an asymptotic series where
    the CDF underflows)."""
    x = _floating("log_ndtr", input)
    split = -20.0 if x.dtype is dtypes.float64 else -8.0
    tail = compare.lt(x, split)
    mid = _safe(x, tail, 0.0)
    upper = compare.gt(mid, 0)
    left, right = _safe(mid, upper, 0.0), _safe(mid, compare.logical_not(upper), 0.0)
    from_left = unary.log(binary.mul(unary.erfc(binary.mul(left, -1.0 / math.sqrt(2.0))), 0.5))
    from_right = unary.log1p(binary.mul(unary.erfc(binary.mul(right, 1.0 / math.sqrt(2.0))),
                                        -0.5))
    central = compare.where(upper, from_right, from_left)
    far = _safe(x, compare.logical_not(tail), split)
    inv2 = unary.reciprocal(binary.mul(far, far))
    series = binary.sub(binary.mul(inv2, -945.0), -105.0)
    for c in (-15.0, 3.0, -1.0, 1.0):  # 1 - 1/x^2 + 3/x^4 - 15/x^6 + 105/x^8 - 945/x^10
        series = binary.add(binary.mul(series, inv2), c)
    head = binary.sub(binary.mul(binary.mul(far, far), -0.5), unary.log(unary.neg(far)))
    asymptotic = binary.add(binary.sub(head, 0.5 * _LOG_2PI), unary.log(series))
    return compare.where(tail, asymptotic, central)


def ndtri(input: Tensor) -> Tensor:
    """The standard normal quantile, ``sqrt(2) * erfinv(2 p - 1)`` (-inf at 0, +inf at 1,
    NaN outside [0, 1]; relative accuracy about 1e-12 for p in [1e-6, 1 - 1e-6], less
    further in the tails, where 2p - 1 rounds)."""
    p = _floating("ndtri", input)
    return binary.mul(unary.erfinv(binary.sub(binary.mul(p, 2.0), 1.0)), math.sqrt(2.0))


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    """``t.polygamma(n)``: ``polygamma(n, t)`` (the order comes first in the function)."""
    return polygamma(n, self)


def _polygamma_inplace(self: Tensor, n: int) -> Tensor:
    """``t.polygamma_(n)``: ``polygamma(n, t)`` written into ``t``."""
    from .inplace import apply_inplace
    return apply_inplace("polygamma_", self, lambda old: polygamma(n, old))


# Tensor methods whose argument order differs from the function's (set as they are)
TENSOR_OPERATORS = {"polygamma": _polygamma_method, "polygamma_": _polygamma_inplace}


def _register() -> None:
    for name in ("lgamma", "gammaln"):
        register(name, "special", (
            'abs', 'add', 'bitwise_or', 'cos', 'div', 'eq', 'full', 'gt', 'log',
            'logical_not', 'lt', 'mul', 'neg', 'reciprocal', 'round', 'sign', 'sin',
            'square', 'sub', 'where'))
    for name in ("digamma", "psi"):
        register(name, "special", (
            'abs', 'add', 'bitwise_and', 'bitwise_or', 'copysign', 'div', 'eq',
            'full', 'gt', 'log', 'logical_not', 'lt', 'mul', 'neg', 'reciprocal',
            'round', 'square', 'sub', 'tan', 'where'))
    register("polygamma", "special", (
        'add', 'amin', 'bitwise_and', 'bitwise_or', 'div', 'eq', 'floor',
        'full', 'isnan', 'le', 'logical_not', 'lt', 'mul', 'ne', 'neg', 'pow',
        'reciprocal', 'square', 'sub', 'to_numpy', 'where'))
    for name in ("mvlgamma", "multigammaln"):
        register(name, "special", (
            'abs', 'add', 'all', 'bitwise_or', 'cos', 'div', 'eq', 'full', 'gt',
            'log', 'logical_not', 'lt', 'mul', 'neg', 'reciprocal', 'round', 'sign',
            'sin', 'square', 'sub', 'to_numpy', 'where'))
    for name in ("i0", "i0e"):
        register(name, "special", (
            'abs', 'add', 'div', 'exp', 'ge', 'isnan', 'logical_not', 'mul', 'neg',
            'reciprocal', 'sign', 'sqrt', 'square', 'where'))
    register("zeta", "special", (
        'add', 'amin', 'bitwise_and', 'bitwise_or', 'div', 'eq', 'floor', 'ge',
        'isnan', 'le', 'log', 'logical_and', 'logical_not', 'lt', 'mul', 'ne',
        'neg', 'pow', 'reciprocal', 'square', 'sub', 'sum', 'to_numpy', 'where'))
    for name in ("i1", "i1e"):
        register(name, "special", (
            'abs', 'add', 'div', 'exp', 'full', 'ge', 'isnan', 'logical_not', 'mul',
            'neg', 'reciprocal', 'sign', 'sqrt', 'square', 'where'))
    register("xlog1py", "special", (
        'add', 'bitwise_and', 'div', 'eq', 'isnan', 'log1p', 'logical_not',
        'mul', 'sum', 'where'))
    register("entr", "special", (
        'add', 'div', 'gt', 'isnan', 'log', 'logical_not', 'lt', 'mul', 'neg',
        'where'))
    register("ndtr", "special", (
        'erfc', 'exp', 'mul', 'neg', 'square'))
    register("log_ndtr", "special", (
        'add', 'div', 'erfc', 'exp', 'gt', 'log', 'log1p', 'logical_not', 'lt',
        'mul', 'neg', 'reciprocal', 'square', 'sub', 'where'))
    register("ndtri", "special", (
        'erfinv', 'exp', 'mul', 'square', 'sub'))
    for name in ("igamma", "igammac", "gammainc", "gammaincc"):
        register(name, "special", (
            "abs", "add", "any", "bitwise_and", "bitwise_or", "cos", "div", "eq", "exp", "full",
            "gt", "isnan", "log", "logical_not", "lt", "mul", "neg", "reciprocal", "round",
            "sign", "sin", "square", "sub", "sum", "to_numpy", "where"))


_register()
