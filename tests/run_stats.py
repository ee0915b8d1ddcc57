"""What a test run cost: kernel compiles, memory, wall time (pytest plugin for the GPU check).

``tests/conftest.py`` registers it when ``FRAMEWORK_TEST_STATS=<file.json>`` is
set (``bench/gpu_check.sh`` sets one per shard). It times every
``triton.compile`` call (each JIT specialization compiled, or loaded from
Triton's on-disk cache, on a GPU; none under the interpreter), samples the
framework's caching allocator after each test (bytes held from the driver:
in use plus cached, which only grows until ``empty_cache``), and writes at the
end of the session::

    {"compiles": n, "compile_s": s, "fast_compiles": n (under 50 ms: loads from Triton's
     on-disk cache, e.g. a kernel another shard compiled), "slowest_compiles": [[kernel, s], ...],
     "compiles_by_file": {test file: [n, s]}, "launchers": n, "launcher_s": s (C launchers
     built with the host compiler, or loaded from the cache),
     "allocator_peak_bytes": b, "peak_rss_bytes": b, "wall_s": s, "tests": n}

and, as each test ends, one line per outcome to ``<file.json>.results.jsonl``.
"""
from __future__ import annotations

import json
import resource
import sys
import time

import pytest

SLOWEST = 10
FAST_S = 0.05  # a triton.compile call this quick loaded the kernel from Triton's disk cache


class RunStats:
    """Counts compiles and memory over one pytest session."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.started = time.perf_counter()
        self.compiles: list = []  # (kernel name, seconds)
        self.launchers: list = []  # seconds per C launcher build (or load from the cache)
        self.allocator_peak = 0
        self.tests = 0
        self.current_file = "<collection>"
        self.by_file: dict = {}  # test file -> [compiles, seconds]

    def install(self) -> None:
        """Wrap ``triton.compile`` (looked up by Triton's JIT when it first launches a kernel)."""
        import triton.compiler
        original = triton.compiler.compile
        stats = self

        def compile(src, *args, **kwargs):  # noqa: A001 - Triton's name
            started = time.perf_counter()
            try:
                return original(src, *args, **kwargs)
            finally:
                name = getattr(getattr(src, "fn", None), "__name__", None) or getattr(src, "name", "?")
                seconds = time.perf_counter() - started
                stats.compiles.append((str(name), seconds))
                per_file = stats.by_file.setdefault(stats.current_file, [0, 0.0])
                per_file[0] += 1
                per_file[1] += seconds

        triton.compiler.compile = compile
        if getattr(triton, "compile", None) is original:
            triton.compile = compile
        self._install_launcher_timer()

    def _install_launcher_timer(self) -> None:
        """Time the C launchers Triton builds with the host compiler (Triton 3.6: one per
        kernel argument-type list, built at a kernel's first launch); absent in newer layouts."""
        try:
            from triton.backends.nvidia import driver
        except Exception:  # noqa: BLE001 - no NVIDIA backend module: nothing to time
            return
        original = getattr(driver, "compile_module_from_src", None)
        if original is None:
            return
        stats = self

        def compile_module_from_src(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                stats.launchers.append(time.perf_counter() - started)

        driver.compile_module_from_src = compile_module_from_src

    def _sample_allocator(self) -> None:
        allocator = sys.modules.get("framework._backends.triton.allocator")
        if allocator is not None:
            held = allocator.allocator().allocated_bytes + allocator.allocator().cached_bytes
            self.allocator_peak = max(self.allocator_peak, held)

    def pytest_runtest_logreport(self, report):
        """Append each test's outcome to ``<stats>.results.jsonl`` as it ends (a shard killed
        before pytest writes its JUnit report still leaves these lines)."""
        recorded = (report.when == "call" or (report.when == "setup" and not report.passed)
                    or (report.when == "teardown" and report.failed))
        if not recorded:
            return
        message = ""
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            message = crash.message if crash is not None else str(report.longrepr)
            message = " ".join(message.split())[:300]
        outcome = "failed" if report.failed else report.outcome
        line = {"nodeid": report.nodeid, "outcome": outcome, "when": report.when,
                "seconds": round(report.duration, 3), "message": message}
        with open(self.path + ".results.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self.current_file = item.nodeid.split("::")[0]
        yield
        self.tests += 1
        self._sample_allocator()

    def pytest_sessionfinish(self, session):
        self._sample_allocator()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
        slowest = sorted(self.compiles, key=lambda c: -c[1])[:SLOWEST]
        report = {"compiles": len(self.compiles),
                  "compile_s": round(sum(s for _, s in self.compiles), 2),
                  "fast_compiles": sum(1 for _, s in self.compiles if s < FAST_S),
                  "launchers": len(self.launchers), "launcher_s": round(sum(self.launchers), 2),
                  "slowest_compiles": [[name, round(s, 2)] for name, s in slowest],
                  "compiles_by_file": {f: [n, round(s, 2)] for f, (n, s) in self.by_file.items()},
                  "allocator_peak_bytes": self.allocator_peak, "peak_rss_bytes": rss,
                  "wall_s": round(time.perf_counter() - self.started, 1), "tests": self.tests}
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(report, f)
