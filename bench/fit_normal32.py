"""Refit ``_normal32``'s gelu polynomial: Phi(-a) = t Q(t) exp(-a^2 / 2), t = 1 / (K + a).

For each K = 1 / p of a scan, Q of the given degree is fitted minimax in relative error
(Lawson's iteration: weighted least squares, the weights multiplied by the error each
round) on Chebyshev points of t covering a in [0, AMAX], the target in mpmath. Prints the
error per p and the best coefficients (lowest power first, in the t of ``_normal32``).
``_normal32`` then nudges the top coefficient so that Phi(0) is 1/2 in float32.

    python bench/fit_normal32.py [degree] [p_from p_to p_step]    # default: 7 0.296 0.312 0.002
"""
from __future__ import annotations

import sys

import mpmath
import numpy as np

AMAX = 14.4  # exp(-a^2 / 2) is 0 in float32 beyond
POINTS = 1000


def target(t: np.ndarray, p: float) -> np.ndarray:
    """Phi(-a) exp(a^2 / 2) / t with a = (1 / t - 1) / p (t in the fit's variable, 1 at a = 0)."""
    mpmath.mp.dps = 30
    out = np.empty_like(t)
    for i, ti in enumerate(t):
        a = (1 / mpmath.mpf(ti) - 1) / p
        out[i] = float(mpmath.erfc(a / mpmath.sqrt(2)) / 2 * mpmath.exp(a * a / 2) / ti)
    return out


def lawson(t: np.ndarray, f: np.ndarray, degree: int, rounds: int = 400):
    """The polynomial (lowest power first) minimizing max |P(t) / f - 1|, and that maximum."""
    v = np.vander(t, degree + 1, increasing=True)
    weights = np.full(t.size, 1.0 / t.size)
    best = (None, np.inf)
    for _ in range(rounds):
        root = np.sqrt(weights)
        coefficients = np.linalg.lstsq(v / f[:, None] * root[:, None], root, rcond=None)[0]
        error = np.abs(v @ coefficients / f - 1)
        if error.max() < best[1]:
            best = (coefficients, error.max())
        weights = weights * error
        weights /= weights.sum()
    return best


def main(argv: list[str]) -> None:
    degree = int(argv[0]) if argv else 7
    scan = np.arange(*map(float, argv[1:4])) if len(argv) >= 4 else np.arange(0.296, 0.312, 0.002)
    results = []
    for p in scan:
        low = 1 / (1 + p * AMAX)
        t = low + (1 - low) * (1 - np.cos(np.linspace(0, np.pi, POINTS))) / 2
        coefficients, error = lawson(t, target(t, p), degree)
        results.append((error, p, coefficients))
        print(f"p {p:.4f}: relative error {error:.3e}", flush=True)
    error, p, coefficients = min(results, key=lambda r: r[0])
    # in _normal32's t' = p t = 1 / (1 / p + a): Q'(t') = Q(t' / p) / p
    scaled = [float(c / p ** (i + 1)) for i, c in enumerate(coefficients)]
    print(f"best p {p:.4f} (K = 1 / p), relative error {error:.3e}")
    print("Q, lowest power first:", scaled)


if __name__ == "__main__":
    main(sys.argv[1:])
