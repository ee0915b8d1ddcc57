"""Counting kernel launches: a device-independent measure of what a call costs.

``with count_launches() as counter:`` counts every top-level backend-contract kernel
call (a kernel a kernel calls internally is not counted; views launch nothing) on
``cpu`` and ``cuda`` alike, eager or replayed, and each fused kernel as one launch.
``counter.total`` is the count (``empty``, an allocation, left out), ``counter.by_op``
the count per kernel name.
"""
from __future__ import annotations

import collections
import contextlib
import functools
import threading

from .proxy import KernelProxy

ALLOCATIONS = ("empty",)  # counted in by_op, not in total
_ACTIVE: list = []  # the counters of the active ``count_launches`` blocks (documented state)
_LOCK = threading.Lock()


class LaunchCounter:
    """Launches seen inside one ``count_launches`` block."""

    def __init__(self) -> None:
        self.by_op: collections.Counter = collections.Counter()
        self.depth = 0

    @property
    def total(self) -> int:
        """Launches: every counted call except ``empty`` (an allocation runs no kernel)."""
        return sum(n for op, n in self.by_op.items() if op not in ALLOCATIONS)


def record(op: str) -> None:
    """Count one launch of ``op`` in the active counters (no-op when none)."""
    for counter in _ACTIVE:
        if counter.depth == 0:
            counter.by_op[op] += 1


class _CountingBackend(KernelProxy):
    """A backend whose top-level kernel calls are counted."""

    def __init__(self, real, counter: LaunchCounter) -> None:
        self._real = real
        self._counter = counter

    def _wrap(self, name: str, fn):
        counter = self._counter

        @functools.wraps(fn)  # its signature: a trace inside the block records the arguments
        def kernel(*args, **kwargs):
            record(name)
            counter.depth += 1
            try:
                return fn(*args, **kwargs)
            finally:
                counter.depth -= 1

        return kernel


@contextlib.contextmanager
def count_launches():
    """Count kernel launches inside the block (one block at a time per process)."""
    from .. import _backends
    counter = LaunchCounter()
    with _LOCK:
        saved = dict(_backends._loaded)
        for name in ("numpy", "triton"):
            if name in saved and not isinstance(saved[name], _CountingBackend):
                _backends._loaded[name] = _CountingBackend(saved[name], counter)
        _ACTIVE.append(counter)
    try:
        yield counter
    finally:
        with _LOCK:
            _ACTIVE.remove(counter)
            for name, backend in saved.items():
                _backends._loaded[name] = backend
