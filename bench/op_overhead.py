"""Per-call cost of common ops on cpu, to compare two source trees (e.g. before/after a move).

Usage (from a tree's root; run it alternately in fresh processes against each tree)::

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python bench/op_overhead.py [CASE...]
    PYTHONPATH=$PWD python bench/op_overhead.py --calls [CASE...]

Cases: ``add``, ``mul``, ``exp``, ``gelu``, ``softmax``, ``layer_norm``, ``where``, ``clamp``
on 4x4 (dispatch-bound) and 256x256 (kernel-bound) float32 tensors, each forward without
a graph (``fwd``) and forward plus backward of inputs that require grad (``fwd+bwd``); a
CASE argument keeps the cases whose name contains it. Prints one JSON object, case ->
microseconds per call: the median over ``REPEATS`` (default 15) batches of ~10 ms each, in
CPU time of this process (``time.process_time``), so other processes on a shared machine
count less than in wall time. ``--calls`` prints the Python function calls per op call
instead (cProfile): deterministic, so two trees' dispatch paths compare without noise.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import cProfile  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import framework  # noqa: E402
import framework.nn.functional as F  # noqa: E402

REPEATS = int(os.environ.get("REPEATS", "15"))


def cases(n: int) -> dict:
    """Case name -> a call of it, on (n, n) float32 tensors."""
    rng = np.random.default_rng(0)

    def t(grad=False):
        return framework.tensor(rng.standard_normal((n, n)).astype(np.float32), requires_grad=grad)
    a, b, ag, bg = t(), t(), t(True), t(True)
    cond = framework.tensor(rng.standard_normal((n, n)) > 0)
    weight, bias = framework.ones(n, requires_grad=True), framework.zeros(n, requires_grad=True)
    grad = framework.ones(n, n)
    ops = {
        "add": lambda x, y: framework.add(x, y),
        "mul": lambda x, y: x * y,
        "exp": lambda x, y: framework.exp(x),
        "gelu": lambda x, y: F.gelu(x),
        "softmax": lambda x, y: F.softmax(x, -1),
        "layer_norm": lambda x, y: F.layer_norm(x, (n,), weight if x.requires_grad else None,
                                                bias if x.requires_grad else None),
        "where": lambda x, y: framework.where(cond, x, y),
        "clamp": lambda x, y: framework.clamp(x, -0.5, 0.5),
    }
    out = {}
    for name, fn in ops.items():
        out[f"{name}/{n}x{n}/fwd"] = lambda fn=fn: fn(a, b)
        out[f"{name}/{n}x{n}/fwd+bwd"] = lambda fn=fn: fn(ag, bg).backward(grad)
    return out


def per_call_us(fn, target_s: float = 0.01) -> float:
    """Median CPU time per call over REPEATS batches of about ``target_s`` each."""
    for _ in range(3):
        fn()
    start = time.process_time()
    fn()
    count = max(1, int(target_s / max(time.process_time() - start, 1e-7)))
    batches = []
    for _ in range(REPEATS):
        start = time.process_time()
        for _ in range(count):
            fn()
        batches.append((time.process_time() - start) / count)
    return statistics.median(batches) * 1e6


def calls_per_call(fn, number: int = 200) -> float:
    """Python function calls (cProfile's count) per call of ``fn``."""
    for _ in range(3):
        fn()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(number):
        fn()
    profile.disable()
    return pstats.Stats(profile).total_calls / number


def main(argv: list) -> None:
    count_calls = "--calls" in argv
    keep = [a for a in argv if a != "--calls"]
    measure = calls_per_call if count_calls else per_call_us
    results = {}
    for n in (4, 256):
        for name, fn in cases(n).items():
            if not keep or any(k in name for k in keep):
                results[name] = round(measure(fn), 2)
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
