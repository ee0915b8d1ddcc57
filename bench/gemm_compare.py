"""float32 GEMM time, NumPy (its bundled BLAS) against torch, on this machine's thread count.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=$PWD python bench/gemm_compare.py

Prints the medians of ``a @ b`` per shape, both sides timed in turn after warm-up
(``framework.bench.timing.interleaved_medians``), and which
BLAS kernels NumPy's OpenBLAS picked (``get_corename``): the floor our GEMM-bound CPU steps
share with the BLAS, whatever the framework does around it.
"""
from __future__ import annotations

import argparse
import ctypes
import os

import numpy as np
import torch

from framework._backends.numpy._parallel import openblas_function
from framework.bench.timing import interleaved_medians

SHAPES = [(256, 128, 128), (128, 256, 128), (2048, 64, 256), (2048, 256, 64), (64, 2048, 256)]


def openblas_core() -> str:
    """The kernel family NumPy's bundled OpenBLAS chose (e.g. SkylakeX, Haswell, Zen)."""
    corename = openblas_function(("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                                  "openblas_get_corename64_", "openblas_get_corename"),
                                 [], ctypes.c_char_p)
    return corename().decode() if corename is not None else "unknown"


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(f"OpenBLAS kernels: {openblas_core()}; torch threads {torch.get_num_threads()}")
    rng = np.random.default_rng(0)
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        ours, theirs = interleaved_medians([lambda: a @ b, lambda: ta @ tb], lambda: None)
        print(f"({m}, {k}, {n})  numpy {ours * 1e6:8.1f} us  torch {theirs * 1e6:8.1f} us  "
              f"torch faster by {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
