"""Bench rows: the fused custom ops against the composite of framework ops they replace.

    python -m examples.custom_ops.bench [--device cpu|cuda] [--rows R] [--cols C]

Times forward and forward+backward of ``rms_norm`` / ``swiglu`` and of their
composites (``rms_norm_composite``, ``swiglu_composite``) with the bench's
interleaved medians (``framework.bench.timing``), and prints one row per op and
pass: median milliseconds and composite/fused (above 1: the fused op is faster).
On ``cuda`` under ``FRAMEWORK_TRITON_INTERPRET=1`` the numbers time the
interpreter, not a GPU.
"""
from __future__ import annotations

import argparse

import framework
from framework.bench.timing import interleaved_medians

from . import rms_norm, swiglu


def _cases(device: str, rows: int, cols: int) -> list:
    """``(op, pass, fused_fn, composite_fn)`` for each op and pass."""
    g = framework.Generator().manual_seed(0)
    x = framework.randn(rows, cols, device=device, generator=g, requires_grad=True)
    w = framework.randn(cols, device=device, generator=g, requires_grad=True)
    up = framework.randn(rows, cols, device=device, generator=g, requires_grad=True)
    grad = framework.randn(rows, cols, device=device, generator=g)

    def forward(fn, *args):
        def run():
            with framework.no_grad():
                fn(*args)
        return run

    def training(fn, *args):
        return lambda: framework.autograd.grad(fn(*args), list(args), grad)

    ops = [("rms_norm", rms_norm.rms_norm, rms_norm.rms_norm_composite, (x, w)),
           ("swiglu", swiglu.swiglu, swiglu.swiglu_composite, (x, up))]
    cases = []
    for name, fused, composite, args in ops:
        cases.append((name, "forward", forward(fused, *args), forward(composite, *args)))
        cases.append((name, "fwd+bwd", training(fused, *args), training(composite, *args)))
    return cases


def rows_for(device: str = "cpu", rows: int = 4096, cols: int = 1024) -> list:
    """One dict per op and pass: ``op, pass, shape, fused_ms, composite_ms, speedup``."""
    sync = framework.cuda.synchronize if device == "cuda" else (lambda: None)
    results = []
    for name, pass_, fused, composite in _cases(device, rows, cols):
        fused_s, composite_s = interleaved_medians([fused, composite], sync)
        results.append({"op": name, "pass": pass_, "shape": f"{rows}×{cols}", "device": device,
                        "fused_ms": fused_s * 1e3, "composite_ms": composite_s * 1e3,
                        "speedup": composite_s / fused_s})
    return results


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--cols", type=int, default=1024)
    args = parser.parse_args(argv)
    results = rows_for(args.device, args.rows, args.cols)
    print("| op | pass | shape | device | fused ms | composite ms | composite/fused |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['op']} | {r['pass']} | {r['shape']} | {r['device']} | {r['fused_ms']:.3f} | "
              f"{r['composite_ms']:.3f} | {r['speedup']:.2f}× |")
    return results


if __name__ == "__main__":
    main()
