"""The LeNet step's CPU kernels (convolution forward / input grad / weight grad, max pool,
relu) against PyTorch CPU in one process, interleaved, medians.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=$PWD python bench/conv_kernels.py

Shapes: LeNet's two layers at batch 64 (1->6 channels on 28x28, padding 2; 6->16 on
14x14), 5x5 kernels, stride 1; with the argument ``mnist``, those of
``examples/mnist_cnn.py`` instead (1->16 on 28x28 and 16->32 on 14x14, 3x3, padding 1). Our side calls the NumPy backend kernels directly (no
autograd); PyTorch's side calls ``aten.convolution_backward`` for each gradient alone.
"""
from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ["OMP_NUM_THREADS"])

import numpy as np  # noqa: E402
import torch  # noqa: E402

import framework as fw  # noqa: E402
import framework.nn.functional as FF  # noqa: E402
from framework._backends.numpy import conv as C  # noqa: E402

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def compare(name: str, ours, theirs, inner: int = 5, rounds: int = 9) -> None:
    ours(), theirs()
    a, b = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(inner):
            ours()
        a.append((time.perf_counter() - start) / inner)
        start = time.perf_counter()
        for _ in range(inner):
            theirs()
        b.append((time.perf_counter() - start) / inner)
    mine, ref = statistics.median(a), statistics.median(b)
    print(f"{name:24s} ours {mine * 1e3:7.3f} ms  torch {ref * 1e3:7.3f} ms  ratio {mine / ref:5.2f}x",
          flush=True)


SHAPES = {"lenet": [(64, 1, 28, 6, 5, 2), (64, 6, 14, 16, 5, 0)],
          "mnist": [(64, 1, 28, 16, 3, 1), (64, 16, 14, 32, 3, 1)]}


def main() -> None:
    rng = np.random.default_rng(0)
    backward = torch.ops.aten.convolution_backward
    which = sys.argv[1] if len(sys.argv) > 1 else "lenet"
    for n, c, size, co, k, pad in SHAPES[which]:
        x = rng.standard_normal((n, c, size, size)).astype(np.float32)
        w = rng.standard_normal((co, c, k, k)).astype(np.float32)
        out = size + 2 * pad - k + 1
        dy = rng.standard_normal((n, co, out, out)).astype(np.float32)
        fx, fwt, fdy = fw.tensor(x), fw.tensor(w), fw.tensor(dy)
        tx, tw, tdy = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(dy)
        geo = ((1, 1), (pad, pad), (1, 1), 1)
        tag = f"{c}->{co} {size}x{size}"
        compare(tag + " conv", lambda: C.conv2d(fx._a, fwt._a, *geo, (out, out)),
                lambda: torch.nn.functional.conv2d(tx, tw, padding=pad))
        compare(tag + " weight grad", lambda: C.conv2d_weight_grad(fx._a, fdy._a, *geo, (k, k)),
                lambda: backward(tdy, tx, tw, None, [1, 1], [pad, pad], [1, 1], False, [0, 0], 1,
                                 [False, True, False]))
        compare(tag + " input grad", lambda: C.conv2d_input_grad(fdy._a, fwt._a, *geo, (size, size)),
                lambda: backward(tdy, tx, tw, None, [1, 1], [pad, pad], [1, 1], False, [0, 0], 1,
                                 [True, False, False]))
        y = fw.tensor(dy, requires_grad=True)
        ty = torch.tensor(dy, requires_grad=True)

        def ours_pool():
            FF.max_pool2d(y, 2).sum().backward()

        def torch_pool():
            torch.nn.functional.max_pool2d(ty, 2).sum().backward()
        compare(tag + " max pool fwd+bwd", ours_pool, torch_pool)
        compare(tag + " relu", lambda: FF.relu(y.detach()), lambda: torch.relu(ty.detach()))


if __name__ == "__main__":
    main()
