"""Per-call time of small, common ops (framework against PyTorch CPU), medians of
interleaved batches: the fixed per-op cost a training script pays on top of the kernels.

    PYTHONPATH=$PWD python bench/op_overhead.py [--rounds 40] [--calls 500]

Prints, per call, ours and torch's median microseconds and their ratio, worst ratio first.
One thread each side. Shapes are small on purpose: the time is dispatch, checks, autograd
recording and allocation, not arithmetic.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _cases() -> dict:
    """name -> (ours, torch) callables on equal data."""
    import torch
    import torch.nn.functional as TF

    import framework as fw
    import framework.nn.functional as F
    torch.set_num_threads(1)

    def pair(*shape, grad=False):
        t = torch.randn(*shape)
        f = fw.tensor(t.numpy())
        return (f.requires_grad_(), t.requires_grad_()) if grad else (f, t)

    a, ta = pair(8)
    b, tb = pair(8)
    x, tx = pair(64, 10)
    xg, txg = pair(64, 10, grad=True)
    h, th = pair(8, 64, 128)
    hg, thg = pair(8, 64, 128, grad=True)
    w, tw = pair(128, 128, grad=True)
    rows, trows = pair(2, 4, 8, grad=True)
    ws, tws = pair(8, 8, grad=True)
    y = fw.randint(0, 10, (64,))
    ty = torch.from_numpy(y.numpy())
    ids = fw.randint(0, 100, (8, 12))
    tids = torch.from_numpy(ids.numpy())
    emb, temb = fw.nn.Embedding(100, 16), torch.nn.Embedding(100, 16)
    line, tline = fw.arange(100), torch.arange(100)
    return {
        "framework.add(a, b), 8 floats": (lambda: fw.add(a, b), lambda: torch.add(ta, tb)),
        "x.reshape(8, 64, 4, 32)": (lambda: h.reshape(8, 64, 4, 32),
                                    lambda: th.reshape(8, 64, 4, 32)),
        "reshape, recorded": (lambda: hg.reshape(8, 64, 4, 32), lambda: thg.reshape(8, 64, 4, 32)),
        "x.transpose(1, 2)": (lambda: h.transpose(1, 2), lambda: th.transpose(1, 2)),
        "w.t(), recorded": (lambda: w.t(), lambda: tw.t()),
        "view(512, 128), recorded": (lambda: hg.view(512, 128), lambda: thg.view(512, 128)),
        "F.linear (2, 4, 8) x (8, 8), recorded": (lambda: F.linear(rows, ws),
                                                  lambda: TF.linear(trows, tws)),
        "x.contiguous()": (lambda: x.contiguous(), lambda: tx.contiguous()),
        "cat of two (64, 10)": (lambda: fw.cat([x, x], 1), lambda: torch.cat([tx, tx], 1)),
        "stack of 32 rows": (lambda: fw.stack([line[:5]] * 32), lambda: torch.stack([tline[:5]] * 32)),
        "F.cross_entropy (64, 10), recorded": (lambda: F.cross_entropy(xg, y),
                                               lambda: TF.cross_entropy(txg, ty)),
        "nn.Embedding(100, 16) of (8, 12)": (lambda: emb(ids), lambda: temb(tids)),
        "x.sum(1)": (lambda: x.sum(1), lambda: tx.sum(1)),
        "x.max(1)": (lambda: x.max(1), lambda: tx.max(1)),
        "x.argmax(1)": (lambda: x.argmax(1), lambda: tx.argmax(1)),
        "x[:, 0]": (lambda: x[:, 0], lambda: tx[:, 0]),
        "x[0, 0].item()": (lambda: x[0, 0].item(), lambda: tx[0, 0].item()),
        "x.clone()": (lambda: x.clone(), lambda: tx.clone()),
        "x.to(float64)": (lambda: x.to(fw.float64), lambda: tx.to(torch.float64)),
        "x.exp()": (lambda: x.exp(), lambda: tx.exp()),
        "relu, recorded": (lambda: F.relu(xg), lambda: TF.relu(txg)),
    }


def main(argv: list | None = None) -> None:
    """Time every case and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args(argv)
    cases = _cases()
    samples = {name: ([], []) for name in cases}
    for _ in range(args.rounds):
        for name, fns in cases.items():
            for fn, out in zip(fns, samples[name]):
                start = time.perf_counter()
                for _ in range(args.calls):
                    fn()
                out.append((time.perf_counter() - start) / args.calls * 1e6)
    rows = []
    for name, (ours, theirs) in samples.items():
        mine, ref = statistics.median(ours), statistics.median(theirs)
        rows.append((mine / ref, name, mine, ref))
    for ratio, name, mine, ref in sorted(rows, reverse=True):
        print(f"{name:40s} ours {mine:8.2f} us  torch {ref:7.2f} us  {ratio:5.2f}x")


if __name__ == "__main__":
    main()
