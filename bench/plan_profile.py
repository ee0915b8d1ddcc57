"""CPU time and minor page faults of a compiled training step, per plan step and per step.

Builds a model of the ``compile`` benchmark suite (``framework/bench/compiled.py``:
``mlp``, ``lenet``, ``transformer``) and its compiled twin as the suite does (the bench's
step: zero_grad, forward, MSE loss against zeros, backward, Adam), warms both up, then

- ``--steps N`` (default): N interleaved compiled and eager steps; medians of wall-clock
  and CPU time (``time.process_time``) and of minor page faults (``getrusage``) per step;
- ``--steps N --alone compiled|eager``: only one kind of step runs in the process (the
  allocator's state, and so the page faults, then owe nothing to the other);
- ``--kernels N``: the compiled step's forward and backward plans run step by step with
  each step's CPU time and faults summed over N steps (plan-internal ``cpu_plan`` steps
  marked ``*``), plus the whole step's time (the rest is the eager loss, Adam and
  autograd).

``--fresh`` seeds each step differently (new dropout masks every step, as in a real
training loop; the bench reseeds every step with 0, so a compiled forward finds its
masks in ``cpu_plan.MASKS``).

    PYTHONPATH=$PWD python bench/plan_profile.py lenet --steps 30 --fresh
    PYTHONPATH=$PWD python bench/plan_profile.py transformer --kernels 30
"""
from __future__ import annotations

import argparse
import collections
import resource
import statistics
import time

import framework
import framework.nn.functional as F
from framework import _backends
from framework.bench.compiled import MODELS
from framework.bench.core import Context
from framework.compiler import runtime


def faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def build(name: str, fresh: bool):
    """(compiled step, eager step, compiled twin) of the bench's training case."""
    framework.manual_seed(0)
    model, inputs = MODELS[name][1](Context("cpu", None))
    model = model.train()
    twin, _ = MODELS[name][1](Context("cpu", None))
    twin = twin.train()
    twin.load_state_dict(model.state_dict())
    compiled = framework.compile(twin)

    def stepper(module, run):
        optimizer = framework.optim.Adam(module.parameters(), lr=1e-3)
        count = [0]

        def step():
            count[0] += 1
            framework.manual_seed(count[0] if fresh else 0)
            optimizer.zero_grad()
            out = run(*inputs)
            F.mse_loss(out, framework.zeros(out.shape)).backward()
            optimizer.step()
        return step
    return stepper(twin, compiled), stepper(model, model), compiled


def timed_plan(plan, part: str, stats: dict):
    """``plan``'s call, timing each program step into ``stats[(part, i, label)]``."""
    def call(arrays):
        backends = {d: _backends.for_device(device) for d, device in plan.devices}
        vals = list(arrays) + [None] * (plan.size - len(arrays))
        arena = plan._arenas.pop() if plan._arenas else plan._new_arena()
        for i, (step, release) in enumerate(plan.program):
            f0, t0 = faults(), time.process_time()
            kind = step[0]
            if kind == 0:
                vals[step[3][0]] = step[1](vals[step[2]])
                label = "view"
            elif kind in (1, 4):
                args = [vals[x] if s else (x if s is False else runtime._nested(x, vals))
                        for s, x in step[3]]
                result = (getattr(backends[step[1]], step[2])(*args) if kind == 1
                          else step[1](arena, *args))
                outs = step[4]
                if len(outs) == 1 and not isinstance(result, tuple):
                    result = (result,)
                for o, part_ in zip(outs, result or ()):
                    if o is not None:
                        vals[o] = part_
                label = step[2] + ("*" if kind == 4 else "")
                args = result = part_ = None
            elif kind == 2:
                ins = [vals[k] for k in step[2]]
                parts = step[1].run(ins, arena, step[3]) if len(step) == 5 else step[1].run(ins)
                for o, part_ in zip(step[-1], parts):
                    vals[o] = part_
                label = f"fused {step[1]!r}"
                ins = parts = part_ = None
            else:
                if step[4][0] is None:
                    step[4][0] = getattr(backends[step[1]], step[2])(*step[3])
                vals[step[5][0]] = step[4][0]
                label = "constant"
            for r in release:
                vals[r] = None
            entry = stats[(part, i, label)]
            entry[0] += time.process_time() - t0
            entry[1] += faults() - f0
            entry[2] += 1
        plan._arenas.append(arena)
        slots = plan.out_slots
        return runtime.rebuild(plan.output, lambda leaf: vals[slots[leaf.id]]
                               if isinstance(leaf, runtime.Value) else leaf)
    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--steps", type=int, default=0)
    parser.add_argument("--kernels", type=int, default=0)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--alone", choices=("compiled", "eager"),
                        help="run only this kind of step in the process")
    args = parser.parse_args()
    ours, ref, compiled = build(args.model, args.fresh)
    for _ in range(3):
        if args.alone != "eager":
            ours()
        if args.alone != "compiled":
            ref()
    if args.kernels:
        entry = next(iter(compiled._compiled.cache.values()))
        stats: dict = collections.defaultdict(lambda: [0.0, 0, 0])
        entry.run_forward = timed_plan(entry.run_forward, "forward", stats)
        entry.run_backward = timed_plan(entry.run_backward, "backward", stats)
        total, total_faults = 0.0, 0
        for _ in range(args.kernels):
            f0, t0 = faults(), time.process_time()
            ours()
            total += time.process_time() - t0
            total_faults += faults() - f0
            ref()
        n = args.kernels
        print(f"compiled step: {total / n * 1e3:.2f} ms CPU, {total_faults / n:.0f} faults")
        inside = 0.0
        for (part, i, label), (t, f, k) in sorted(stats.items(), key=lambda kv: -kv[1][0]):
            inside += t / k
            if t / k >= 5e-5:
                print(f"  {part:8s} {i:3d} {label:45s} {t / k * 1e3:7.3f} ms  {f / k:6.0f} faults")
        print(f"  plan steps: {inside * 1e3:.2f} ms; outside (loss, Adam, autograd): "
              f"{(total / n - inside) * 1e3:.2f} ms")
        return
    samples: dict = {"compiled": [], "eager": []}
    if args.alone:  # one kind of step only (warm-up above: 3 of each)
        samples = {args.alone: []}
    for _ in range(args.steps or 20):
        for label, fn in (("compiled", ours), ("eager", ref)):
            if label not in samples:
                continue
            f0, c0, w0 = faults(), time.process_time(), time.perf_counter()
            fn()
            samples[label].append((time.perf_counter() - w0, time.process_time() - c0,
                                   faults() - f0))
    for label, rows in samples.items():
        print(f"{label:9s} wall {statistics.median(r[0] for r in rows) * 1e3:7.2f} ms  "
              f"CPU {statistics.median(r[1] for r in rows) * 1e3:7.2f} ms  "
              f"faults {statistics.median(r[2] for r in rows):6.0f}")
    if not args.alone:
        cpu = [statistics.median(r[1] for r in samples[k]) for k in ("eager", "compiled")]
        print(f"eager / compiled (CPU time): {cpu[0] / cpu[1]:.2f}x")


if __name__ == "__main__":
    main()
