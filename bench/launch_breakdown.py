"""Kernel launches of one training step, eager against ``framework.compile``, by op and call site.

Builds a model of the ``compile`` benchmark suite (``framework/bench/compiled.py``:
``mlp``, ``lenet``, ``transformer``), runs the bench's step (zero_grad, forward, MSE
loss against zeros, backward, Adam) twice to warm up, then counts the launches of one
more step (``framework.compiler.launches.count_launches``) eagerly and through the
compiled module, and prints them by op, then the compiled step's launches by region
(inside the compiled forward graph, the backward graph, outside). ``--sites`` prints,
for the compiled step, where each launch of the listed ops comes from (the compiled
forward or backward graph, the optimizer, the loss). ``--time N`` adds the CPU time per
step (``time.process_time``, best of N steps, each step timed alone) of both.
``--graphs`` prints the optimized forward and backward graphs and what each pass did.

    PYTHONPATH=$PWD python bench/launch_breakdown.py transformer
    PYTHONPATH=$PWD python bench/launch_breakdown.py transformer --sites --time 30
"""
from __future__ import annotations

import argparse
import collections
import time
import traceback

import framework
import framework.nn.functional as F
from framework.bench.compiled import MODELS
from framework.bench.core import Context
from framework.compiler import launches
from framework.compiler.launches import count_launches

SITE_OPS = ("copy_", "full", "sum", "from_numpy", "dropout", "add", "mul", "matmul",
            "fused_elementwise", "empty")


def build(name: str, device: str, foreach=None):
    """The benchmark's model (training mode), its inputs, its compiled twin and a step
    (Adam with ``foreach``: None is the default multi-tensor step, False one per parameter)."""
    framework.manual_seed(0)
    model, inputs = MODELS[name][1](Context(device, None))
    model = model.to(device).train()
    compiled = framework.compile(model)
    optimizer = framework.optim.Adam(model.parameters(), lr=1e-3, foreach=foreach)

    def step(run) -> None:
        optimizer.zero_grad()
        out = run(*inputs)
        F.mse_loss(out, framework.zeros(out.shape, device=device)).backward()
        optimizer.step()
    return model, compiled, step


def count(step, run) -> collections.Counter:
    """Launches of one ``step(run)`` by op (``empty`` included: an allocation)."""
    with count_launches() as counter:
        step(run)
    return counter


def sites(step, run, ops=SITE_OPS) -> collections.Counter:
    """(op, call site) -> launches of one step, for the launches of ``ops``."""
    where: collections.Counter = collections.Counter()
    original = launches.record

    def record(op: str) -> None:
        if op in ops:
            stack = traceback.extract_stack(limit=12)[:-2]
            frames = [f"{f.filename.split('framework/')[-1]}:{f.lineno}:{f.name}"
                      for f in stack if "launches.py" not in f.filename][-4:]
            where[(op, " < ".join(reversed(frames)))] += 1
        original(op)

    launches.record = record
    try:
        count(step, run)
    finally:
        launches.record = original
    return where


def regions(step, run) -> dict:
    """Launches of one step by region: the compiled forward graph, the compiled backward
    graph, and everything else (loss, optimizer, autograd engine), each by op."""
    found = {"forward graph": collections.Counter(), "backward graph": collections.Counter(),
             "outside the graphs": collections.Counter()}
    original = launches.record

    def record(op: str) -> None:
        if op not in launches.ALLOCATIONS:
            names = [f.name for f in traceback.extract_stack(limit=8)
                     if f.filename.endswith("compiler/training.py")]
            region = ("forward graph" if "forward" in names else
                      "backward graph" if "backward" in names else "outside the graphs")
            found[region][op] += 1
        original(op)

    launches.record = record
    try:
        count(step, run)
    finally:
        launches.record = original
    return found


def cpu_time(step, run, repeats: int) -> float:
    """Best CPU time of one step over ``repeats`` steps, in ms."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        step(run)
        best = min(best, time.process_time() - start)
    return best * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("device", nargs="?", default="cpu")
    parser.add_argument("--sites", action="store_true", help="compiled launches by call site")
    parser.add_argument("--foreach", choices=("default", "true", "false"), default="default",
                        help="Adam's foreach flag (default: None, the multi-tensor step)")
    parser.add_argument("--graphs", action="store_true", help="print the optimized graphs")
    parser.add_argument("--time", type=int, default=0, metavar="N",
                        help="best CPU time of N steps each")
    args = parser.parse_args()
    foreach = {"default": None, "true": True, "false": False}[args.foreach]
    model, compiled, step = build(args.model, args.device, foreach)
    for run, name in ((model, "eager"), (compiled, "compiled")):
        step(run)
        step(run)
        c = count(step, run)
        print(name, c.total, sorted(c.by_op.items(), key=lambda kv: -kv[1]))
    for region, ops in regions(step, compiled).items():
        print(f"compiled, {region}: {sum(ops.values())}",
              sorted(ops.items(), key=lambda kv: -kv[1]))
    if args.sites:
        for (op, where), n in sorted(sites(step, compiled).items()):
            print(n, op, where)
    if args.graphs:
        entry = next(iter(compiled._compiled.cache.values()))
        print(entry.optimize_stats)
        print("FORWARD", entry.forward_graph, "BACKWARD", entry.backward_graph, sep="\n")
    if args.time:
        for run, name in ((model, "eager"), (compiled, "compiled")):
            print(f"{name}: {cpu_time(step, run, args.time):.2f} ms CPU per step "
                  f"(best of {args.time})")


if __name__ == "__main__":
    main()
