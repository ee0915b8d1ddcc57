"""What one hand-off to the CPU kernels' thread pool costs on this machine.

The NumPy backend splits large kernels over Python threads (``_backends/numpy/_parallel.py``);
a split pays only when each piece's work exceeds the round trip to a pool thread and back.
This prints the median round trip of (a) the pool itself (``submit(...).result()`` of an
empty task) and (b) a bare ``threading.Event`` ping-pong, in several separate runs: the
scheduler keeps both threads on one CPU (a cheap switch, no parallelism) or on two (a
cross-CPU wake-up, which on a VM can cost far more), so the runs may disagree.

    PYTHONPATH=$PWD OPENBLAS_NUM_THREADS=2 python bench/handoff.py [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time

from framework._backends.numpy import _parallel


def median_us(fn, repeats: int = 300) -> float:
    """Median microseconds of ``fn()`` after ten warm-up calls."""
    for _ in range(10):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def ping_pong() -> "callable":
    """A round trip to a fresh thread through two events."""
    there, back = threading.Event(), threading.Event()

    def echo() -> None:
        while True:
            there.wait()
            there.clear()
            back.set()
    threading.Thread(target=echo, daemon=True).start()

    def trip() -> None:
        there.set()
        back.wait()
        back.clear()
    return trip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pool = _parallel._executor(1)
    for run in range(args.runs):
        submit = median_us(lambda: pool.submit(lambda: None).result())
        events = median_us(ping_pong())
        print(f"run {run}: pool submit+result {submit:6.1f} us   event ping-pong {events:6.1f} us")


if __name__ == "__main__":
    main()
