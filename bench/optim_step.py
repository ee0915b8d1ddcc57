"""CPU time of one optimizer step over the parameters of a small transformer-like model,
per-parameter path (``foreach=False``) against the multi-tensor path (``foreach=True``).

Usage (from the tree's root)::

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python bench/optim_step.py [Adam|AdamW|SGD] [DEVICE]

30 float32 parameters (six blocks of 64x64, 64, 256x64, 256, 64x256) with fixed gradients;
the two optimizers step alternately, 30 batches of 5 steps each; prints the median
milliseconds per step of each (``time.process_time``: other processes count less).
"""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import framework

SHAPES = [(64, 64), (64,), (256, 64), (256,), (64, 256)] * 6


def _optimizer(name: str, device: str, foreach: bool):
    rng = np.random.default_rng(0)
    params = [framework.tensor(rng.standard_normal(s).astype(np.float32), device=device,
                               requires_grad=True) for s in SHAPES]
    for p in params:
        p.grad = framework.tensor(rng.standard_normal(p.shape).astype(np.float32), device=device)
    kwargs = dict(momentum=0.9) if name == "SGD" else {}
    return getattr(framework.optim, name)(params, lr=1e-3, foreach=foreach, **kwargs)


def main(argv: list) -> None:
    name = argv[0] if argv else "Adam"
    device = argv[1] if len(argv) > 1 else "cpu"
    optimizers = {flag: _optimizer(name, device, flag) for flag in (False, True)}
    times: dict = {False: [], True: []}
    for _ in range(30):
        for flag, opt in optimizers.items():
            start = time.process_time()
            for _ in range(5):
                opt.step()
            times[flag].append((time.process_time() - start) / 5)
    for flag in (False, True):
        print(f"{name} foreach={flag}: {statistics.median(times[flag]) * 1e3:.3f} ms per step")


if __name__ == "__main__":
    main(sys.argv[1:])
