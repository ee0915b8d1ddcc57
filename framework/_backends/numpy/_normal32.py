"""float32 passes built on the normal distribution's lower tail: Phi(x) (gelu and its
derivative), erf and erfc, for the CPU kernels of float32 (and half) tensors.

Everything rests on Numerical Recipes' erfcc, ``erfc(a) = t exp(-a^2 + P(t))`` with
``t = 1 / (1 + a / 2)`` for ``a >= 0`` (relative error < 1.2e-7 in exact arithmetic),
here in float32 arithmetic. ``h = Phi(-|x|) = erfc(|x| / sqrt 2) / 2`` is computed once per
element and every result is a branch-free combination of it: NumPy's masked passes
(``np.where``, ``where=``) cost 20x a plain one, so a select becomes ``h + [x > 0] (1 - 2h)``.

Arrays go in blocks of ``BLOCK`` elements, each pass of a block staying in cache, on the
calling thread: a block is ~35 short NumPy calls, and on two threads each call hands the
GIL over (the 262k-element gelu of the bench's transformer: 1.0 ms on one thread, 1.3-1.4
ms split in two). Measured relative errors against float64 (3e5 normal values times 4):
Phi (gelu; float32 exponent) below 1.3e-6 for x > -5 and 7.3e-6 down to -13; erf and
erfc (float64 exponent: their tests ask 1e-6 relative to erfc(9.2)) in
tests/test_cpu_fast_paths.py.
"""
from __future__ import annotations

import math

import numpy as np

# Numerical Recipes' erfcc: erfc(x) = t exp(-x^2 + P(t)), t = 1 / (1 + |x| / 2), relative
# error < 1.2e-7 everywhere (below float32 resolution).
ERFC_P = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
          0.09678418, 0.37409196, 1.00002368, -1.26551223)

BLOCK = 32768  # elements per block: the block's float32 temporaries stay in L2
_F32 = np.float32
_SQRT1_2 = 0.70710678118654752440
_INV_SQRT_2PI = 0.39894228040143267794
# P(t)'s coefficients, the last one with log(1/2) added: h = t exp(-a^2 + P(t)) is erfc(a) / 2
_P = tuple(_F32(c) for c in ERFC_P[:-1]) + (_F32(ERFC_P[-1] + math.log(0.5)),)
# erf's Taylor series below 0.5, 2/sqrt(pi) sum (-1)^n z^(2n+1) / (n! (2n+1)), in z^2
# (highest power first; the next term is below 1e-12 relative)
_ERF_SERIES = tuple(_F32(2.0 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1)))
                    for n in range(8, -1, -1))
_SERIES_BELOW = _F32(0.5)

KINDS = ("cdf", "gelu", "gelu_and_cdf", "gelu_backward", "erf", "erfc")


def normal_pass(kind: str, x: np.ndarray, grad: "np.ndarray | None" = None,
                cdf: "np.ndarray | None" = None):
    """One float32 pass over ``x`` by ``kind``: ``"cdf"`` Phi(x), ``"gelu"`` x Phi(x),
    ``"gelu_and_cdf"`` both (a tuple), ``"gelu_backward"`` grad (Phi(x) + x phi(x))
    (``grad`` of ``x``'s shape; ``cdf``, when given, is Phi(x) already computed),
    ``"erf"``, ``"erfc"``. Fresh arrays of ``x``'s shape. NaN stays NaN, Phi(-inf) = 0,
    Phi(inf) = 1, erf keeps the sign of zero."""
    if kind not in KINDS:
        raise ValueError(f"normal_pass: unknown kind {kind!r}")
    operands = [a for a in (x, grad, cdf) if a is not None]
    operands = [a if a.flags.c_contiguous else a.copy() for a in operands]
    outputs = [np.empty_like(operands[0]) for _ in range(2 if kind == "gelu_and_cdf" else 1)]
    flat = [a.reshape(-1) for a in (*operands, *outputs)]
    _blocks(kind, cdf is not None, *flat)
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _blocks(kind: str, kept: bool, x: np.ndarray, *rest: np.ndarray) -> None:
    """``normal_pass`` on flat arrays: ``rest`` is ``(out,)``, ``(grad, out)``, with ``kept``
    ``(grad, cdf, out)``, or for ``"gelu_and_cdf"`` ``(gelu, cdf)``."""
    if kind == "gelu_and_cdf":
        gelu_out, out, grad = rest[0], rest[1], None
    else:
        out, grad = rest[-1], (rest[0] if len(rest) > 1 else None)
    size = min(x.size, BLOCK)
    a, t, s = np.empty(size, _F32), np.empty(size, _F32), np.empty(size, _F32)
    mask, wide = np.empty(size, bool), np.empty(size, np.float64)
    with np.errstate(all="ignore"):  # -inf * Phi(-inf) = -inf * 0: NaN, as torch's
        for start in range(0, x.size, BLOCK):
            xs, h = x[start:start + BLOCK], out[start:start + BLOCK]
            n = xs.size
            scratch = (a[:n], t[:n], s[:n], mask[:n], wide[:n])
            if kind == "erf":
                _erf_block(xs, h, *scratch)
                continue
            if kind == "erfc":
                _erfc_block(xs, h, *scratch)
                continue
            if kept:
                np.copyto(h, rest[1][start:start + n])
            else:
                _cdf_block(xs, h, *scratch)
            if kind == "gelu":
                h *= xs
            elif kind == "gelu_and_cdf":
                np.multiply(h, xs, out=gelu_out[start:start + n])
            elif kind == "gelu_backward":
                _add_x_pdf(xs, h, scratch[0])
                h *= grad[start:start + n]


def _lower_tail(x, h, t, wide, scale: float, precise: bool) -> None:
    """``h = erfc(a) / 2`` with ``a = |x| scale`` for one block (``t``, float64 ``wide``:
    scratch): Phi(-|x|) for ``scale`` 1/sqrt 2, erfc(|x|) / 2 for 1.

    ``t = 1 / (1 + a / 2)``; the exponent ``-a^2 + P(t)``. With ``precise`` the exponent
    and its exponential are taken in float64 (erf and erfc: float32's rounding of ``a^2``
    alone costs ``a^2 * 1.2e-7`` of relative accuracy, 1e-5 at erfc(9)), else in float32
    (gelu: 1.3e-6 relative for x > -5). The polynomial is float32 (its error is absolute,
    about 1e-7, so relative in ``h``)."""
    np.abs(x, out=t)
    t *= _F32(0.5 * scale)
    t += _F32(1.0)
    np.reciprocal(t, out=t)
    np.multiply(t, _P[0], out=h)  # P(t), Horner
    h += _P[1]
    for coefficient in _P[2:]:
        h *= t
        h += coefficient
    if precise:
        np.square(x, out=wide, dtype=np.float64)
        wide *= -scale * scale
        wide += h
        np.exp(wide, out=wide)
        np.multiply(wide, t, out=h, casting="same_kind")
        return
    square = wide.view(np.float32)[:x.size]  # float32 scratch in the wide buffer's memory
    np.square(x, out=square)
    square *= _F32(scale * scale)
    h -= square
    np.exp(h, out=h)
    h *= t


def _reflect(h, mask, a, total: float) -> None:
    """``h += mask (total - 2h)``: the value at ``-|x|`` reflected where ``mask`` holds, as
    ``total - h`` (``a``: scratch); a product with the mask instead of a select."""
    np.multiply(h, _F32(-2.0), out=a)
    a += _F32(total)
    a *= mask
    h += a


def _cdf_block(x, h, a, t, s, positive, wide) -> None:
    """``h = Phi(x)`` for one block: ``Phi(-|x|)``, reflected to ``1 - Phi(-|x|)`` where
    ``x > 0``."""
    _lower_tail(x, h, t, wide, _SQRT1_2, precise=False)
    np.greater(x, 0, out=positive)
    _reflect(h, positive, a, 1.0)


def _erfc_block(z, h, a, t, s, negative, wide) -> None:
    """``h = erfc(z)`` for one block: ``erfc(|z|)``, reflected to ``2 - erfc(|z|)`` where
    ``z < 0``."""
    _lower_tail(z, h, t, wide, 1.0, precise=True)
    h *= _F32(2.0)
    np.less(z, 0, out=negative)
    _reflect(h, negative, a, 2.0)


def _erf_block(z, h, a, t, s, small, wide) -> None:
    """``h = erf(z)`` for one block: ``1 - erfc(|z|)``, with the Taylor series where
    ``|z| < 0.5`` (full relative precision near 0; evaluated on ``|z|`` clipped to 0.5 so it
    stays finite elsewhere), blended without a select, and ``z``'s sign copied on."""
    _lower_tail(z, h, t, wide, 1.0, precise=True)
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


def _add_x_pdf(x, h, a) -> None:
    """``h += x phi(x)`` for one block (``a``: scratch)."""
    np.square(x, out=a)
    a *= _F32(-0.5)
    np.exp(a, out=a)
    a *= _F32(_INV_SQRT_2PI)
    a *= x
    h += a
