"""CPU time per call of small compiled models against eager (``framework.compile``'s per-call cost).

Rows (medians of interleaved batches of ``time.process_time``, after warm-up):

- the ``compile`` suite's tanh MLP 1-32-32-1, batch 256 (``framework/bench/compiled.py``):
  inference (eval, ``no_grad``; 200 calls per batch) and the suite's training step (zero_grad,
  forward, MSE loss against zeros, backward, Adam; 50 steps per batch);
- a CartPole-sized policy (4-64-64-2, tanh), batch 1, inference (500 calls per batch).

CPU time, not wall clock: other processes on a shared machine slow a row less. Runs on any
tree (``PYTHONPATH=<tree>``), so before/after pairs can use the same script:

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=$PWD python bench/compile_calls.py
"""
from __future__ import annotations

import argparse
import statistics
import time

import framework
import framework.nn as nn
import framework.nn.functional as F
from framework.bench.compiled import MODELS
from framework.bench.core import Context


def _twins(name: str, train: bool):
    framework.manual_seed(0)
    model, inputs = MODELS[name][1](Context("cpu", None))
    twin, _ = MODELS[name][1](Context("cpu", None))
    twin.load_state_dict(model.state_dict())
    model.train(train)
    twin.train(train)
    return model, framework.compile(twin), inputs


def mlp_inference():
    model, compiled, inputs = _twins("mlp", False)

    def call(run):
        def once():
            with framework.no_grad():
                return run(*inputs)
        return once
    return call(compiled), call(model), 200


def mlp_training():
    model, compiled, inputs = _twins("mlp", True)

    def stepper(run):
        optimizer = framework.optim.Adam(run.parameters(), lr=1e-3)

        def step():
            framework.manual_seed(0)
            optimizer.zero_grad()
            out = run(*inputs)
            F.mse_loss(out, framework.zeros(out.shape)).backward()
            optimizer.step()
        return step
    return stepper(compiled), stepper(model), 50


def policy_inference():
    framework.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                          nn.Linear(64, 2)).eval()
    compiled = framework.compile(model)
    x = framework.randn(1, 4)

    def call(run):
        def once():
            with framework.no_grad():
                return run(x)
        return once
    return call(compiled), call(model), 500


ROWS = {"mlp inference": mlp_inference, "mlp training": mlp_training,
        "policy 4-64-64-2 batch 1 inference": policy_inference}


def _batch(fn, n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="batches per row")
    args = parser.parse_args()
    for name, make in ROWS.items():
        compiled, eager, n = make()
        for _ in range(5):
            compiled()
            eager()
        ours, ref = [], []
        for _ in range(args.repeats):
            ours.append(_batch(compiled, n))
            ref.append(_batch(eager, n))
        c, e = statistics.median(ours), statistics.median(ref)
        print(f"{name:36s} compiled {c:8.1f} us  eager {e:8.1f} us  ratio {c / e:.2f}")


if __name__ == "__main__":
    main()
