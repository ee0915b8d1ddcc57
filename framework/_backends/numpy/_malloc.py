"""Keeping freed array memory in the process (glibc's malloc), so CPU kernels do not page-fault.

Every NumPy kernel returns a fresh array. glibc hands an allocation above its mmap
threshold (128 KiB at first, raised up to the largest size freed so far) its own
``mmap``, returned to the system on ``free``, and it trims the top of the heap back
to the system once more than twice that threshold is free there. A training step
allocates and frees the same megabyte-sized arrays every step, so without tuning
each one is new memory: every 4 KiB page faults on first touch (about 1.5 us each
on the 2-core VM that CI uses), which made a 1536 x 256 ``relu`` 7x slower inside
char_transformer's loop than alone. ``keep_freed_memory`` sets the mmap threshold to
32 MiB and the trim threshold to 256 MiB, the way ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` would, so those arrays reuse the heap's pages.

It is called once, when the NumPy backend loads. Set ``FRAMEWORK_CPU_MALLOC=default``
to leave malloc as it is; any setting of your own through those two ``MALLOC_*``
environment variables is also left alone. Other C libraries (musl, macOS, Windows) are
left alone too.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 256 << 20
_ENV_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds (once per process); True if they were set."""
    if os.environ.get("FRAMEWORK_CPU_MALLOC", "") == "default":
        return False
    if any(name in os.environ for name in _ENV_SETTINGS) or not sys.platform.startswith("linux"):
        return False
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def _glibc_mallopt():
    """glibc's ``mallopt`` function, or None under another C library."""
    try:
        libc = ctypes.CDLL(None)
        gnu_get_libc_version = libc.gnu_get_libc_version  # only glibc exports this
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    del gnu_get_libc_version
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt
