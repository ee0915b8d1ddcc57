"""float32 passes built on the normal distribution's lower tail: Phi(x), gelu and its
derivative, erf and erfc, for the CPU kernels of float32 (and half) tensors.

Phi and gelu: ``h = Phi(-|x|) = t Q(t) exp(-x^2 / 2)`` with ``t = 1 / (K + |x|)`` and Q a
degree-7 polynomial fitted for this (``_Q`` below), then ``Phi(x) = |[x > 0] - h|`` (``h``
itself below 0, so the lower tail keeps its relative precision; ``1 - h`` above), gelu
``x Phi(x)`` and its derivative ``D = Phi(x) + x phi(x)``, where ``phi(x) = exp(-x^2 / 2) /
sqrt(2 pi)`` reuses the same exponential. All in float32 arithmetic: 28 NumPy passes per
block for gelu and D together, most of them in place (NumPy's in-place passes cost about
half its out-of-place ones; its masked passes, ``np.where`` or ``where=``, 20x, and
``copysign`` 5x, so there are none). Measured against float64 ``math.erfc`` (2e5 points on
[-14, 14] and 2e5 normal values times 3): Phi and gelu within 8.5e-7 relative for x > -5,
2.2e-6 for x > -9 and 4.1e-6 for x > -13 (the float32 rounding of ``x^2`` costs up to
``x^2 * 3e-8`` in the exponent); D within 2.5e-7 absolute. Below about -13.2, exp(-x^2 / 2)
and Phi are float32 subnormals and lose relative precision, as float32 must.

Q's fit (``bench/fit_normal32.py``): ``t Q(t) = Phi(-a) exp(a^2 / 2)`` with ``a = 1 / t -
K``, minimax in relative error (Lawson's iteration on 1000 Chebyshev points, the target in
mpmath) over ``a`` in [0, 14.4], where exp(-a^2 / 2) is nonzero in float32 (beyond, ``h`` is
0 whatever Q is; Q stays finite down to ``t = 0``, x = -inf): 1.06e-7 in exact arithmetic,
with ``K = 1 / 0.304`` from a scan of K. Degree 6 reaches only 1.2e-6, and fitting down to
``t = 0`` costs a degree (8 for 1.3e-7). Q is evaluated monic, in ``S t`` with ``S^8`` its
top coefficient (Horner then starts with an add), and one coefficient is nudged (below) so
that Phi(+-0) comes out as exactly 1/2 in float32.

erf and erfc rest on Numerical Recipes' erfcc, ``erfc(a) = t exp(-a^2 + P(t))`` with ``t =
1 / (1 + a / 2)`` for ``a >= 0`` (relative error < 1.2e-7 in exact arithmetic), its
exponent in float64 (their tests ask 1e-6 relative to erfc(9.2)), combined without selects:
``h + [z < 0] (2 - 2h)`` (erfc) and a Taylor series blended in below 0.5 (erf).

Arrays go in blocks (``GELU_BLOCK``, ``BLOCK`` elements), each pass of a block staying in
cache, on the calling thread: on two threads each NumPy call hands the GIL over (the
262k-element gelu of the bench's transformer, an earlier version: 1.0 ms on one thread, 1.3-1.4
ms split in two).
"""
from __future__ import annotations

import math

import numpy as np

# Numerical Recipes' erfcc: erfc(x) = t exp(-x^2 + P(t)), t = 1 / (1 + |x| / 2), relative
# error < 1.2e-7 everywhere (below float32 resolution).
ERFC_P = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
          0.09678418, 0.37409196, 1.00002368, -1.26551223)

BLOCK = 32768  # elements per erf/erfc block: the block's temporaries stay in L2 (1.2 MiB)
# elements per Phi/gelu block: four float32 arrays of it, 1 MiB, stay in L2 (2 MiB per core
# here; 64k elements took 0.91 ms for the bench's 262k-element gelu and D on its own and
# 1.10-1.14 ms inside the training step, 32k 0.95 and 1.20-1.22, 128k 1.6 and 1.14)
GELU_BLOCK = 65536
_F32 = np.float32
_INV_SQRT_2PI = 0.39894228040143267794
# Phi(-a) = t Q(t) exp(-a^2 / 2), t = 1 / (K + a): Q's coefficients as fitted (lowest power
# first; the module docstring says how), the t^6 one nudged by -4e-7 of itself (-640.24051...
# fitted) so that Phi(+-0) comes out as exactly 1/2
_K = _F32(1.0 / 0.304)
_Q_FIT = (0.3988108397971571, 1.3213172453435311, 3.6592861198778475, 14.314534965828592,
          -15.642040829194565, 239.93389988481655, -640.2402548217419, 499.6355682421247)
# the same in t' = S t with S^8 the top coefficient: t' Q'(t') = t Q(t) with Q' monic, so that
# Horner starts with an add (Q' highest power first, its leading 1 left out)
_S = _F32(_Q_FIT[-1] ** (1.0 / len(_Q_FIT)))
_Q = tuple(_F32(c / float(_S) ** (i + 1)) for i, c in enumerate(_Q_FIT))[-2::-1]
# P(t)'s coefficients, the last one with log(1/2) added: h = t exp(-a^2 + P(t)) is erfc(a) / 2
_P = tuple(_F32(c) for c in ERFC_P[:-1]) + (_F32(ERFC_P[-1] + math.log(0.5)),)
# erf's Taylor series below 0.5, 2/sqrt(pi) sum (-1)^n z^(2n+1) / (n! (2n+1)), in z^2
# (highest power first; the next term is below 1e-12 relative)
_ERF_SERIES = tuple(_F32(2.0 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1)))
                    for n in range(8, -1, -1))
_SERIES_BELOW = _F32(0.5)

KINDS = ("cdf", "gelu", "gelu_derivative", "gelu_and_derivative", "gelu_backward", "erf", "erfc")


def normal_pass(kind: str, x: np.ndarray, grad: "np.ndarray | None" = None):
    """One float32 pass over ``x`` by ``kind``: ``"cdf"`` Phi(x), ``"gelu"`` x Phi(x),
    ``"gelu_derivative"`` D = Phi(x) + x phi(x), ``"gelu_and_derivative"`` both (a tuple),
    ``"gelu_backward"`` grad D (``grad`` of ``x``'s shape), ``"erf"``, ``"erfc"``. Fresh
    arrays of ``x``'s shape. NaN stays NaN; Phi(-inf) = 0, Phi(inf) = 1, gelu(inf) = inf,
    gelu(-inf) = NaN (-inf * 0, as torch's float64), D(+-inf) = NaN (+-inf * phi: torch's
    float32); erf keeps the sign of zero."""
    if kind not in KINDS:
        raise ValueError(f"normal_pass: unknown kind {kind!r}")
    operands = [a for a in (x, grad) if a is not None]
    operands = [a if a.flags.c_contiguous else a.copy() for a in operands]
    outputs = [np.empty_like(operands[0]) for _ in range(2 if kind == "gelu_and_derivative" else 1)]
    flat = [a.reshape(-1) for a in (*operands, *outputs)]
    _blocks(kind, *flat)
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _blocks(kind: str, x: np.ndarray, *rest: np.ndarray) -> None:
    """``normal_pass`` on flat arrays: ``rest`` is ``(out,)``, ``(grad, out)`` for
    ``"gelu_backward"``, or ``(gelu, derivative)`` for ``"gelu_and_derivative"``."""
    with np.errstate(all="ignore"):  # -inf * Phi(-inf) = -inf * 0: NaN, as torch's
        if kind in ("erf", "erfc"):
            _erf_blocks(_erf_block if kind == "erf" else _erfc_block, x, rest[0])
            return
        first, second = (rest[1], rest[0]) if kind == "gelu_backward" else (rest + (None,))[:2]
        size = min(x.size, GELU_BLOCK)
        t, spare = np.empty(size, _F32), np.empty(size, _F32)
        for start in range(0, x.size, GELU_BLOCK):
            stop = start + GELU_BLOCK
            xs = x[start:stop]
            more = second[start:stop] if second is not None else None
            _gelu_block(kind, xs, first[start:stop], more, t[:xs.size], spare[:xs.size])


def _erf_blocks(block, x: np.ndarray, out: np.ndarray) -> None:
    """``block`` (``_erf_block`` or ``_erfc_block``) over ``x`` into ``out``, in ``BLOCK``s."""
    size = min(x.size, BLOCK)
    a, t, s = np.empty(size, _F32), np.empty(size, _F32), np.empty(size, _F32)
    mask, wide = np.empty(size, bool), np.empty(size, np.float64)
    for start in range(0, x.size, BLOCK):
        xs = x[start:start + BLOCK]
        n = xs.size
        block(xs, out[start:start + BLOCK], a[:n], t[:n], s[:n], mask[:n], wide[:n])


def _gelu_block(kind: str, x, out, more, t, spare) -> None:
    """One block of the Phi/gelu kinds into ``out`` (``more``: gelu_and_derivative's D
    output, gelu_backward's grad; ``t``, ``spare``: float32 scratch). Phi(x) is built in
    gelu's output (times ``x`` at the end) and exp(-x^2 / 2) in D's, so that most passes
    are in place and a block touches four arrays (x, the two results, ``t``)."""
    if kind in ("cdf", "gelu"):
        cdf, e = out, spare
    elif kind == "gelu_and_derivative":
        cdf, e = out, more
    else:  # "gelu_derivative", "gelu_backward": D in ``out``
        cdf, e = spare, out
    _lower_tail_and_exp(x, cdf, t, e)
    _cdf_from_lower_tail(x, cdf, t)  # t is free again
    if kind not in ("cdf", "gelu"):
        _derivative_from(x, cdf, e)
    if kind in ("gelu", "gelu_and_derivative"):
        cdf *= x
    if kind == "gelu_backward":
        out *= more


def _lower_tail_and_exp(x, h, t, e) -> None:
    """``h = Phi(-|x|)`` and ``e = exp(-x^2 / 2)`` for one block (``t``: scratch):
    ``h = t' Q'(t') e`` with ``t' = S / (K + |x|)`` and Q' monic (``_Q``), by Horner, every
    pass in float32."""
    np.abs(x, out=t)
    t += _K
    np.divide(_S, t, out=t)  # t' = S t (NumPy's divide is faster than its reciprocal)
    np.square(x, out=e)
    e *= _F32(-0.5)
    np.exp(e, out=e)
    np.add(t, _Q[0], out=h)  # Q'(t'), Horner
    for coefficient in _Q[1:]:
        h *= t
        h += coefficient
    h *= t
    h *= e


def _cdf_from_lower_tail(x, h, s) -> None:
    """``h = Phi(x) = |[x > 0] - Phi(-|x|)|`` in place (``s``: scratch): ``1 - h`` above 0,
    ``h`` itself below (no rounding in the lower tail), 1/2 at +-0; NaN stays NaN."""
    np.greater(x, 0, out=s)
    np.subtract(s, h, out=h)
    np.abs(h, out=h)


def _derivative_from(x, cdf, e) -> None:
    """``e = Phi(x) + x phi(x)`` in place, from ``e = exp(-x^2 / 2)`` and ``cdf = Phi(x)``."""
    e *= x
    e *= _F32(_INV_SQRT_2PI)
    e += cdf


def _erfc_lower_tail(z, h, t, wide) -> None:
    """``h = erfc(|z|) / 2`` for one block (``t``, float64 ``wide``: scratch), Numerical
    Recipes' erfcc: ``t = 1 / (1 + |z| / 2)``, ``h = t exp(-z^2 + P(t))``. The polynomial is
    float32 (its error is absolute, about 1e-7, so relative in ``h``); the exponent and its
    exponential are float64 (float32's rounding of ``z^2`` alone costs ``z^2 * 6e-8`` of
    relative accuracy, 5e-6 at erfc(9))."""
    np.abs(z, out=t)
    t *= _F32(0.5)
    t += _F32(1.0)
    np.reciprocal(t, out=t)
    np.multiply(t, _P[0], out=h)  # P(t), Horner
    h += _P[1]
    for coefficient in _P[2:]:
        h *= t
        h += coefficient
    np.square(z, out=wide, dtype=np.float64)
    np.negative(wide, out=wide)
    wide += h
    np.exp(wide, out=wide)
    np.multiply(wide, t, out=h, casting="same_kind")


def _reflect(h, mask, a, total: float) -> None:
    """``h += mask (total - 2h)``: the value at ``-|x|`` reflected where ``mask`` holds, as
    ``total - h`` (``a``: scratch); a product with the mask instead of a select."""
    np.multiply(h, _F32(-2.0), out=a)
    a += _F32(total)
    a *= mask
    h += a


def _erfc_block(z, h, a, t, s, negative, wide) -> None:
    """``h = erfc(z)`` for one block: ``erfc(|z|)``, reflected to ``2 - erfc(|z|)`` where
    ``z < 0``."""
    _erfc_lower_tail(z, h, t, wide)
    h *= _F32(2.0)
    np.less(z, 0, out=negative)
    _reflect(h, negative, a, 2.0)


def _erf_block(z, h, a, t, s, small, wide) -> None:
    """``h = erf(z)`` for one block: ``1 - erfc(|z|)``, with the Taylor series where
    ``|z| < 0.5`` (full relative precision near 0; evaluated on ``|z|`` clipped to 0.5 so it
    stays finite elsewhere), blended without a select, and ``z``'s sign copied on."""
    _erfc_lower_tail(z, h, t, wide)
    h *= _F32(-2.0)  # 1 - erfc(|z|)
    h += _F32(1.0)
    np.abs(z, out=s)
    np.less(s, _SERIES_BELOW, out=small)
    np.minimum(s, _SERIES_BELOW, out=s)
    np.square(s, out=t)
    np.multiply(t, _ERF_SERIES[0], out=a)  # the series in z^2, Horner
    a += _ERF_SERIES[1]
    for coefficient in _ERF_SERIES[2:]:
        a *= t
        a += coefficient
    a *= s
    a -= h  # h += [|z| < 0.5] (series - h)
    a *= small
    h += a
    np.copysign(h, z, out=h)
