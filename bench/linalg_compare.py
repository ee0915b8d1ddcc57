"""framework.linalg against torch.linalg on cpu: median times and their ratio (ours / torch).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        PYTHONPATH=$PWD python bench/linalg_compare.py [--repeats 30]

Each row times one call on a batch of float64 matrices (forward; "+grad" rows add the
backward of the sum), alternating framework and torch, after a warm-up call of each.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import framework

CASES = [
    ("inv", lambda L, a: L.inv(a)),
    ("solve", lambda L, a: L.solve(a, a[..., 0])),
    ("det", lambda L, a: L.det(a)),
    ("slogdet", lambda L, a: L.slogdet(a)[1]),
    ("cholesky", lambda L, a: L.cholesky(a @ a.mT)),
    ("lu_factor", lambda L, a: L.lu_factor(a)[0]),
    ("qr", lambda L, a: L.qr(a)[1]),
    ("eigh", lambda L, a: L.eigh(a + a.mT)[0]),
    ("svdvals", lambda L, a: L.svdvals(a)),
]
SHAPES = [(256, 8, 8), (16, 64, 64)]


def _time(fn, repeats: int) -> list:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _call(lib, case, array, grad: bool):
    linalg = lib.linalg
    a = lib.tensor(array, dtype=lib.float64, requires_grad=grad)
    out = case(linalg, a)
    if grad:
        out.sum().backward()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("| op | batch, n | framework (ms) | torch (ms) | ratio |")
    print("|---|---|---:|---:|---:|")
    for shape in SHAPES:
        array = rng.standard_normal(shape) + shape[-1] * np.eye(shape[-1])
        for name, case in CASES + [("inv+grad", CASES[0][1])]:
            grad = name.endswith("+grad")
            ours, theirs = [], []
            for lib in (framework, torch):
                _call(lib, case, array, grad)  # warm-up
            for _ in range(args.repeats):
                ours += _time(lambda: _call(framework, case, array, grad), 1)
                theirs += _time(lambda: _call(torch, case, array, grad), 1)
            a, b = statistics.median(ours) * 1e3, statistics.median(theirs) * 1e3
            print(f"| {name} | {shape[0]}, {shape[-1]} | {a:.3f} | {b:.3f} | {a / b:.2f} |")


if __name__ == "__main__":
    main()
