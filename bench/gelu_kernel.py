"""Time the CPU gelu kernels on the bench transformer's shape: (8, 64, 512) float32.

    OMP_NUM_THREADS=1 PYTHONPATH=<tree> python bench/gelu_kernel.py [torch]

Prints min/median ms of 61 x 5 calls: the forward (its kept derivative dropped each time),
forward + backward (the backward using what the forward kept) and the backward alone
(nothing kept: it computes the derivative); with ``torch``, torch's gelu forward and
forward + backward on one thread.
"""
from __future__ import annotations

import statistics
import sys
import timeit

import numpy as np

from framework import dtypes
from framework._backends.numpy import _arrays
from framework._backends.numpy import activation


def _timed(fn) -> tuple[float, float]:
    runs = [t / 5 * 1e3 for t in timeit.repeat(fn, number=5, repeat=61)]
    return min(runs), statistics.median(runs)


def main(argv: list[str]) -> None:
    rng = np.random.default_rng(0)
    values = (rng.standard_normal((8, 64, 512)) * 1.5).astype(np.float32)
    grad_values = rng.standard_normal((8, 64, 512)).astype(np.float32)
    x, grad = _arrays.wrap(values), _arrays.wrap(grad_values)
    # the forward's cache (named _KEPT_CDF in trees before the kept derivative)
    kept = getattr(activation, "_KEPT_DERIVATIVE", None)
    kept = activation._KEPT_CDF if kept is None else kept

    def forward():
        activation.gelu(x, dtypes.float32)
        kept.clear()

    def forward_backward():
        activation.gelu(x, dtypes.float32)
        activation.activation_backward(grad, x, "gelu", 0.0, 0.0)

    def backward_alone():
        kept.clear()
        activation.activation_backward(grad, x, "gelu", 0.0, 0.0)

    for name, fn in (("forward", forward), ("forward + backward", forward_backward),
                     ("backward, nothing kept", backward_alone)):
        print("%-24s min %.3f  median %.3f ms" % ((name,) + _timed(fn)))
    if "torch" in argv:
        import torch
        torch.set_num_threads(1)
        tx, tg = torch.tensor(values, requires_grad=True), torch.tensor(grad_values)
        print("%-24s min %.3f  median %.3f ms" % (
            ("torch forward",) + _timed(lambda: torch.nn.functional.gelu(tx))))
        print("%-24s min %.3f  median %.3f ms" % (
            ("torch forward + backward",)
            + _timed(lambda: torch.nn.functional.gelu(tx).backward(tg))))


if __name__ == "__main__":
    main(sys.argv[1:])
