"""float32 GEMM time, NumPy (its bundled BLAS) against torch, on this machine's thread count.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=$PWD python bench/gemm_compare.py

Prints the median of ``--calls`` timed calls of ``a @ b`` per shape (after warm-up) and which
BLAS kernels NumPy's OpenBLAS picked (``get_corename``): the floor our GEMM-bound CPU steps
share with the BLAS, whatever the framework does around it.
"""
from __future__ import annotations

import argparse
import ctypes
import glob
import os
import statistics
import time

import numpy as np
import torch

SHAPES = [(256, 128, 128), (128, 256, 128), (2048, 64, 256), (2048, 256, 64), (64, 2048, 256)]


def median_us(fn, calls: int) -> float:
    for _ in range(max(10, calls // 20)):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def openblas_core() -> str:
    """The kernel family NumPy's bundled OpenBLAS chose (e.g. SkylakeX, Haswell, Zen)."""
    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in glob.glob(os.path.join(libs, "*openblas*")):
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                     "openblas_get_corename64_", "openblas_get_corename"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(f"OpenBLAS kernels: {openblas_core()}; torch threads {torch.get_num_threads()}")
    rng = np.random.default_rng(0)
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        ours = median_us(lambda: a @ b, args.calls)
        theirs = median_us(lambda: ta @ tb, args.calls)
        print(f"({m}, {k}, {n})  numpy {ours:8.1f} us  torch {theirs:8.1f} us  "
              f"torch faster by {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
