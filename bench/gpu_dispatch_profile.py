"""Where the time of one small cuda op goes: framework layers against Triton's own launch.

On the first H200 run ``framework.add`` of 8 floats took 98 us a call against torch's
22 us. This splits that time, on the card itself:

* ``torch``: ``a + b`` in torch (the reference), when torch is installed;
* ``framework op``: ``a + b`` on framework cuda tensors (everything we do);
* ``triton launch``: the same Triton kernel launched again with the very arguments the
  op passed (captured from one call), i.e. Triton's binder and C launcher alone;
* ``framework - triton``: what our layers add;

then the functions with the most own time in a cProfile of the framework calls::

    python bench/gpu_dispatch_profile.py [--calls 2000]

Under the interpreter (a rehearsal) it runs too, with interpreter launches.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time


def per_call_us(fn, calls: int, repeats: int = 5) -> float:
    """Median over ``repeats`` of the mean wall time of ``calls`` calls, in microseconds."""
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(times)


def capture_launch(op):
    """``(jit_function, args, kwargs)`` of the one Triton launch ``op()`` makes."""
    from triton.runtime.jit import JITFunction
    try:
        from triton.runtime.interpreter import InterpretedFunction
        classes = [JITFunction, InterpretedFunction]
    except ImportError:
        classes = [JITFunction]
    seen = []
    originals = {cls: cls.run for cls in classes}

    def recorder(original):
        def run(self, *args, **kwargs):
            seen.append((self, args, kwargs))
            return original(self, *args, **kwargs)
        return run

    for cls, original in originals.items():
        cls.run = recorder(original)
    try:
        op()
    finally:
        for cls, original in originals.items():
            cls.run = original
    if len(seen) != 1:
        raise RuntimeError(f"expected one Triton launch, saw {len(seen)}")
    return seen[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args(argv)
    import numpy as np

    import framework
    from framework._backends.triton import runtime
    calls = args.calls if runtime.mode() == "gpu" else min(args.calls, 20)
    values = np.arange(8, dtype=np.float32)
    a = framework.tensor(values, device="cuda")
    b = framework.tensor(values, device="cuda")
    rows = {}
    try:
        import torch
        if torch.cuda.is_available():
            ta, tb = torch.tensor(values, device="cuda"), torch.tensor(values, device="cuda")
            rows["torch"] = per_call_us(lambda: ta + tb, calls)
            torch.cuda.synchronize()
    except ImportError:
        pass
    rows["framework op"] = per_call_us(lambda: a + b, calls)
    fn, launch_args, launch_kwargs = capture_launch(lambda: a + b)
    rows["triton launch"] = per_call_us(lambda: fn.run(*launch_args, **launch_kwargs), calls)
    rows["framework - triton"] = rows["framework op"] - rows["triton launch"]
    framework.cuda.synchronize()
    print(f"runtime {runtime.mode()}, {calls} calls per timing, median of 5 (us per call):")
    for name, us in rows.items():
        print(f"  {name:20s} {us:9.1f}")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        a + b
    profile.disable()
    framework.cuda.synchronize()
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(15)
    print(f"cProfile of {calls} framework calls, by own time:")
    print("\n".join(line for line in text.getvalue().splitlines() if line.strip())[-2500:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
