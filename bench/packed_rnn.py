"""Packed-sequence recurrent layers on the CPU: forward + backward of
``pack_padded_sequence -> GRU/LSTM -> pad_packed_sequence``, against PyTorch CPU and against
our own padded-tensor path, in one process with the cases interleaved.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=$PWD python bench/packed_rnn.py

Shapes: batch 32, up to 20 steps (lengths drawn in 5..20, seed 0), embedding 32, hidden 64,
batch_first, enforce_sorted=False. ``per-step`` is the packed path with the module's
whole-sequence node switched off (the path RNN and LSTM with proj_size take). Medians of
21 rounds.
"""
from __future__ import annotations

import time

import numpy as np
import torch

import framework
from framework import nn
from framework.nn.utils import rnn

B, T, E, H = 32, 20, 32, 64


def _cases() -> dict:
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, T + 1, B).tolist()
    lengths[0] = T
    x = rng.standard_normal((B, T, E)).astype(np.float32)
    cases = {}
    for name in ("GRU", "LSTM"):
        ours, theirs = getattr(nn, name)(E, H, batch_first=True), \
            getattr(torch.nn, name)(E, H, batch_first=True)
        ours_x = framework.tensor(x, requires_grad=True)
        torch_x = torch.tensor(x, requires_grad=True)

        def packed(module=ours, x=ours_x, utils=rnn):
            out, _ = module(utils.pack_padded_sequence(x, lengths, True, False))
            utils.pad_packed_sequence(out, True)[0].sum().backward()

        def padded(module=ours, x=ours_x):
            module(x)[0].sum().backward()

        cases[f"{name} packed, ours"] = packed
        cases[f"{name} packed, torch"] = lambda p=packed, m=theirs, x=torch_x: p(
            m, x, torch.nn.utils.rnn)
        cases[f"{name} padded, ours"] = padded
        cases[f"{name} padded, torch"] = lambda p=padded, m=theirs, x=torch_x: p(m, x)
        cases[f"{name} packed, ours per-step"] = _per_step(packed, type(ours))
    return cases


def _per_step(run, module_class):
    """``run`` with the whole-sequence node of ``module_class`` switched off."""
    def call():
        saved = module_class._sequence
        module_class._sequence = lambda *args: None
        try:
            run()
        finally:
            module_class._sequence = saved
    return call


def main() -> None:
    torch.set_num_threads(1)
    cases = _cases()
    times = {name: [] for name in cases}
    for round_ in range(23):
        for name, run in cases.items():
            start = time.perf_counter()
            run()
            if round_ >= 2:  # warm-up
                times[name].append(time.perf_counter() - start)
    for name, samples in times.items():
        print(f"{name:28s} {np.median(samples) * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
