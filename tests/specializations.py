"""Count the kernel specializations a test run would compile on a GPU (pytest plugin).

On a GPU, Triton compiles one binary per distinct *specialization* of a
``@triton.jit`` kernel: the constexpr values, the launch options
(``num_warps``, ``num_stages``) and, for each other argument, its type plus
what Triton specializes on (an int equal to 1 becomes a constant, ints and
pointers divisible by 16 get an alignment attribute). Each distinct argument
type list also gets its own C launcher, built with the host compiler.

Under the interpreter nothing is compiled, so this plugin computes, at every
launch, the key Triton's own binder would compute for an sm_90 GPU, and
records which keys each test launches. ``tests/conftest.py`` registers it
when ``FRAMEWORK_COUNT_SPECIALIZATIONS=<file.json>`` is set; at the end of the
session it writes ``{"collected": [nodeid, ...], "file_weights": {...}, "tests": {nodeid:
[key index, ...]}, "keys": [key, ...]}``.
``bench/count_specializations.py`` turns that into per-shard counts.

Only launches of this pytest process are seen (not those of subprocesses the
tests start).
"""
from __future__ import annotations

import json

import pytest


_BINDERS: dict = {}  # id(interpreter kernel) -> (kernel, binder, parameter names)


def sm90_binder(fn) -> tuple:
    """``(binder, names)``: Triton's argument binder for the interpreter kernel ``fn`` as it
    would be compiled for an sm_90 GPU, and its parameter names (made once per kernel)."""
    entry = _BINDERS.get(id(fn))
    if entry is None:
        from triton.backends.compiler import GPUTarget
        from triton.compiler.compiler import make_backend
        from triton.runtime.jit import JITFunction, create_function_from_signature
        jit = JITFunction(fn.fn, **fn.kwargs)
        backend = make_backend(GPUTarget("cuda", 90, 32))
        binder = create_function_from_signature(jit.signature, jit.params, backend)
        entry = _BINDERS[id(fn)] = (fn, binder, [p.name for p in jit.params])  # fn kept: id unique
    return entry[1], entry[2]


def hook_launches(callback) -> None:
    """Call ``callback(fn, args, kwargs)`` before every interpreter launch (wraps the current
    ``InterpretedFunction.run``, so several hooks chain)."""
    from triton.runtime.interpreter import InterpretedFunction
    original = InterpretedFunction.run

    def run(fn, *args, grid, warmup, **kwargs):
        callback(fn, args, kwargs)
        return original(fn, *args, grid=grid, warmup=warmup, **kwargs)

    InterpretedFunction.run = run


class SpecializationCounter:
    """Records, per test, the GPU specialization keys of the kernels it launches."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.current = "<collection>"
        self.keys: dict[str, int] = {}
        self.tests: dict[str, set] = {}

    # -- the launch hook ---------------------------------------------------------------
    def install(self) -> None:
        hook_launches(self.record)

    def record(self, fn, args, kwargs) -> None:
        binder, _ = sm90_binder(fn)
        _, specialization, options = binder(*args, **kwargs)
        name = f"{fn.fn.__module__}.{fn.fn.__name__}"
        key = json.dumps([name, [list(map(repr, s)) for s in specialization],
                          sorted((k, repr(v)) for k, v in options.items())])
        index = self.keys.setdefault(key, len(self.keys))
        self.tests.setdefault(self.current, set()).add(index)

    # -- pytest hooks ------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self.current = item.nodeid
        self.tests.setdefault(item.nodeid, set())
        yield
        self.current = "<between tests>"

    def pytest_collection_finish(self, session):
        from conftest import _file_weights
        self.collected = [item.nodeid for item in session.items]
        self.file_weights = _file_weights(session.items)

    def pytest_sessionfinish(self, session):
        report = {"collected": getattr(self, "collected", []),
                  "file_weights": getattr(self, "file_weights", {}),
                  "tests": {test: sorted(keys) for test, keys in self.tests.items()},
                  "keys": sorted(self.keys, key=self.keys.get)}
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(report, f)
