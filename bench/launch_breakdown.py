"""Kernel launches of one training step of a compile-suite model, by kernel, eager and compiled.

Usage (from the tree's root)::

    PYTHONPATH=$PWD python bench/launch_breakdown.py MODEL [DEVICE] [--foreach true|false|default]
                                                     [--time]

MODEL is a key of ``framework.bench.compiled.MODELS`` (e.g. ``transformer``); DEVICE is
``cpu`` (default) or ``cuda``. The step is ``zero_grad``, forward, MSE loss against zeros,
``backward``, ``Adam.step`` (``foreach`` as given; default: both None). Counts come from
``framework.compiler.launches.count_launches`` on the third step (deterministic, so they
compare across machines). ``--time`` also prints the median CPU time of 20 eager and 20
compiled steps (``time.process_time``; a rough guide on a shared machine).
"""
from __future__ import annotations

import statistics
import sys
import time

import framework
import framework.nn.functional as F
from framework.bench.compiled import MODELS
from framework.bench.core import Context
from framework.compiler.launches import count_launches


def main(argv: list) -> None:
    timed = "--time" in argv
    argv = [a for a in argv if a != "--time"]
    foreach = None
    if "--foreach" in argv:
        at = argv.index("--foreach")
        foreach = {"true": True, "false": False, "default": None}[argv[at + 1]]
        del argv[at:at + 2]
    name, device = argv[0], argv[1] if len(argv) > 1 else "cpu"
    framework.manual_seed(0)
    model, inputs = MODELS[name][1](Context(device, None))
    model = model.to(device).train()
    compiled = framework.compile(model)
    opt = framework.optim.Adam(model.parameters(), lr=1e-3, foreach=foreach)

    def step(run) -> None:
        opt.zero_grad()
        out = run(*inputs)
        F.mse_loss(out, framework.zeros(out.shape, device=device)).backward()
        opt.step()

    for run, label in ((model, "eager"), (compiled, "compiled")):
        step(run)
        step(run)
        with count_launches() as counter:
            step(run)
        ranked = sorted(counter.by_op.items(), key=lambda kv: -kv[1])
        print(label, counter.total, ", ".join(f"{op} {n}" for op, n in ranked))
        if timed:
            times = []
            for _ in range(20):
                start = time.process_time()
                step(run)
                times.append(time.process_time() - start)
            print(f"  {label} step: {statistics.median(times) * 1e3:.2f} ms CPU (median of 20)")


if __name__ == "__main__":
    main(sys.argv[1:])
