"""Where one of ``framework bench``'s training steps spends its time on the CPU: our side
of a ``train`` suite row, each NumPy backend kernel wrapped with a timer.

Usage (from the repository root, one thread as ``bench/cpu_targets.py`` measures)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=$PWD python bench/train_kernels.py "transformer step"
    ... "lstm step" --steps 50 --top 10

Prints the step's time (with the timers), the kernels' total, and the costliest kernels
with their calls per step. ``bench/dispatch_profile.py --kernels`` times its own cases with
the same function (``print_kernel_times``).
"""
from __future__ import annotations

import argparse
import collections
import time

import framework  # noqa: F401 -- the backend is loaded through it
from framework import _backends
from framework.bench.core import Context
from framework.bench.train import train_specs


def _our_step(row: str):
    """Our side of the ``train`` suite's row ``row`` (e.g. ``"transformer step"``)."""
    specs = {spec.op: spec for spec in train_specs("cpu", False)}
    if row not in specs:
        raise SystemExit(f"no train row {row!r}; the rows are: {', '.join(specs)}")
    return specs[row].build(Context("cpu", None)).ours


def _timed(spent: dict, name: str, kernel):
    def call(*args, **kwargs):
        start = time.perf_counter()
        result = kernel(*args, **kwargs)
        entry = spent[name]
        entry[0] += time.perf_counter() - start
        entry[1] += 1
        return result
    return call


def print_kernel_times(label: str, step, steps: int = 20, top: int = 20) -> None:
    """Run ``step`` (warmed up here) ``steps`` times with every NumPy backend kernel wrapped
    with a timer (left wrapped: run it last in a process); print ms per step, the kernels'
    total and the ``top`` costliest kernels with their calls per step."""
    for _ in range(5):
        step()
    backend = _backends.load("numpy")
    spent = collections.defaultdict(lambda: [0.0, 0])
    for name in dir(backend):
        kernel = getattr(backend, name)
        if not name.startswith("_") and callable(kernel):
            setattr(backend, name, _timed(spent, name, kernel))
    for _ in range(3):
        step()
    spent.clear()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    total = (time.perf_counter() - start) / steps * 1e3
    kernels = sum(seconds for seconds, _ in spent.values()) / steps * 1e3
    print(f"{label}: {total:.2f} ms per step (timed), kernels {kernels:.2f} ms")
    ranked = sorted(spent.items(), key=lambda item: -item[1][0])[:top]
    for name, (seconds, calls) in ranked:
        print(f"  {name:28s} {seconds / steps * 1e3:7.3f} ms  x{calls / steps:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("row", help='a train suite row, e.g. "transformer step"')
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    print_kernel_times(args.row, _our_step(args.row), args.steps, args.top)


if __name__ == "__main__":
    main()
