"""Device-side checks: kernels flag bad indices or values, the host raises at its next sync.

Checking an index tensor's range on the host costs a device->host read (a
pipeline stall) per op. Instead, kernels that read through an index check
each index against its dim and, for one that is out of range, skip the
access and record it with atomics in a small per-process ``int64[4]`` flag
array on the device (``triton_kernels/checks.py``); the ``device_assert``
kernel does the same for any boolean condition (a loss's input range,
probabilities):

====  ===========================================================
slot  meaning
====  ===========================================================
0     code (``flag_args``) of the first kernel that failed
1     1 + the largest index >= the limit (0: none)
2     the smallest negative index (0: none)
3     the largest limit (dim size / number of classes) of a failure
====  ===========================================================

The host reads the flag lazily, only at a synchronization the user asked
for anyway (``memory.to_numpy``: ``.item()``, ``.tolist()``, ``.numpy()``,
``.cpu()``; ``framework.cuda.synchronize()``; stream and event waits) and
only when a checking kernel ran since the last read. A set flag is cleared
and raised as ``RuntimeError("CUDA error: device-side assert triggered: ...")``
naming the kernel's op, the index and the limit (or the assert's message) --
PyTorch's behaviour on cuda, except that here the process stays usable. The
first failing kernel queued since the last read is the one reported. ``cpu``
ops keep checking eagerly with PyTorch's cpu messages.
"""
from __future__ import annotations

import numpy as np

from ... import dtypes
from . import memory
from .launch import pointer

_SLOTS = 4


class _Flag:
    """The flag array (allocated at first use), whether a checking kernel ran since the host
    last read it, and the error code of each checking op with its message (one of the
    documented caches: a handful of entries, one per op name in the code)."""

    array = None
    armed = False
    codes: dict = {}  # op -> code (1, 2, ... in order of first use)
    messages: dict = {}  # code -> (op, message or None for an index check)


def flag_args(op: str, checks: bool = True, message: str | None = None) -> tuple:
    """``(flag pointer, code)`` for a launch of a kernel checking ``op``'s indices (or, with
    ``message``, asserting a condition of ``op``); marks the flag as worth reading at the next
    sync (unless ``checks`` is False: this launch has nothing to check)."""
    if _Flag.array is None:
        _Flag.array = memory.from_numpy(np.zeros(_SLOTS, dtype=np.int64), dtypes.int64)
    _Flag.armed = _Flag.armed or checks
    key = (op, message)
    code = _Flag.codes.get(key)
    if code is None:
        code = _Flag.codes[key] = len(_Flag.codes) + 1
        _Flag.messages[code] = key
    return pointer(_Flag.array), code


def raise_pending() -> None:
    """Raise the error a kernel flagged since the last read, if any (reads the flag only when a
    checking kernel ran; the caller has just synchronized, so the read does not stall)."""
    if not _Flag.armed:
        return
    _Flag.armed = False
    code, too_large, negative, limit = (int(v) for v in memory.read_to_host(_Flag.array))
    if code == 0:
        return
    memory.write_from_host(_Flag.array, np.zeros(_SLOTS, dtype=np.int64))
    op, message = _Flag.messages[code]
    raise RuntimeError(_message(op, message, too_large - 1 if too_large else negative, limit))


def _message(op: str, message, index: int, limit: int) -> str:
    head = "CUDA error: device-side assert triggered: "
    tail = " (found by a kernel queued before this synchronization)"
    if message is not None:
        return f"{head}{op}(): {message}{tail}"
    if op in ("cross_entropy", "nll_loss"):
        return f"{head}{op}(): Target {index} is out of bounds (number of classes: {limit}){tail}"
    users = _USERS.get(op, "")
    return (f"{head}{op}{users}: index {index} is out of bounds for dimension with size "
            f"{limit}{tail}")


# The ops whose kernels report as each indexing kernel (the flag stores the kernel, not the op).
_USERS = {
    "gather": " (gather, index_select, embedding, take_along_dim or tensor indexing)",
    "scatter": " (scatter, index_copy, index_put, one_hot or tensor index assignment)",
    "scatter_reduce": " (scatter with reduce, scatter_reduce or index_reduce)",
    "scatter_add": " (scatter_add, index_add, index_put with accumulate, or the backward of "
                   "gather, index_select, embedding or tensor indexing)",
}
