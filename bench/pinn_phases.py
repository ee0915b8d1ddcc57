"""The PINN example's step in phases, ours against torch: where third-order autograd costs.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=$PWD python bench/pinn_phases.py

Each row times the step up to and including that phase, ours and torch's in turn after
warm-up (``framework.bench.timing.interleaved_medians``), on examples/pinn.py's network
(1-32-32-1 tanh MLP, 64 points): the forward, the first ``autograd.grad(create_graph=True)``
(u'), the second (u''), the backward of the loss through both, and Adam.
"""
from __future__ import annotations

import argparse

import torch

import framework
from framework.bench.timing import interleaved_medians


def phases(lib) -> dict:
    nn = lib.nn
    lib.manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
    opt = lib.optim.Adam(net.parameters(), lr=1e-2)
    points = lib.rand(64, 1)

    def forward():
        x = points.detach().requires_grad_(True)
        return x, net(x)

    def first():
        x, u = forward()
        (du,) = lib.autograd.grad(u.sum(), x, create_graph=True)
        return x, du

    def second():
        x, du = first()
        (d2u,) = lib.autograd.grad(du.sum(), x, create_graph=True)
        return d2u

    def backward():
        loss = second().pow(2).mean()
        opt.zero_grad()
        loss.backward()

    def step():
        backward()
        opt.step()
    return {"forward": forward, "+ grad u'": first, "+ grad u''": second,
            "+ backward": backward, "+ Adam": step}


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    torch.set_num_threads(1)
    ours, theirs = phases(framework), phases(torch)
    for name in ours:
        a, b = interleaved_medians([ours[name], theirs[name]], lambda: None)
        print(f"{name:12s} ours {a * 1e6:8.1f} us  torch {b * 1e6:8.1f} us  ratio {a / b:5.2f}x")


if __name__ == "__main__":
    main()
