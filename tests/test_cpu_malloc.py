"""The NumPy backend keeps freed array memory in the process (glibc), so kernels do not page-fault."""
from __future__ import annotations

import subprocess
import sys

import pytest

from framework._backends.numpy import _malloc

pytestmark = pytest.mark.skipif(_malloc._glibc_mallopt() is None, reason="needs glibc's mallopt")

# Loads the CPU backend (through one op), then 20 times makes eight 1 MiB arrays and frees
# them together, as a training step does, and prints the page faults those rounds took.
_FAULTS_SCRIPT = """
import resource
import numpy as np
import framework
framework.ones(2) + 1
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def step():
    arrays = [np.ones(1 << 18, np.float32) for _ in range(8)]
    del arrays
step()
before = faults()
for _ in range(20):
    step()
print(faults() - before)
"""


def _page_faults(env: dict) -> int:
    clean = {key: value for key, value in __import__("os").environ.items()
             if not key.startswith("MALLOC_") and key != "FRAMEWORK_CPU_MALLOC"}
    result = subprocess.run([sys.executable, "-c", _FAULTS_SCRIPT], env={**clean, **env},
                            capture_output=True, text=True, check=True)
    return int(result.stdout.split()[-1])


def test_freed_arrays_are_reused_without_page_faults():
    # a step's 8 MiB is 2048 pages: glibc by default gives the freed top of its heap back
    # and faults them in again each step; with the thresholds raised the pages are reused
    default = _page_faults({"FRAMEWORK_CPU_MALLOC": "default"})
    kept = _page_faults({})
    assert default > 20 * 1000
    assert kept < 20 * 100


def test_users_own_malloc_settings_are_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "0")
    assert _malloc.keep_freed_memory() is False


def test_the_tuning_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("FRAMEWORK_CPU_MALLOC", "default")
    assert _malloc.keep_freed_memory() is False
