"""Process-wide settings under torch's names: the CPU thread count, the
deterministic-algorithms flag and its debug mode, the warn-always flag, denormal flushing.

``set_num_threads`` sets the thread count of the CPU kernels (and of NumPy's OpenBLAS);
the default is ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS``, else 1. framework has no
inter-op pool: the interop functions only record their value. The deterministic flag is
recorded and reported, but changes and refuses no kernel (as the ``backends.cudnn``
flags; docs/compat.md). ``set_warn_always`` is recorded only (framework's one-time warnings
are Python warnings, which the ``warnings`` filters govern); ``set_flush_denormal`` reports
that flushing denormals is not supported (NumPy gives no control of the FPU's modes).
"""
from __future__ import annotations

import builtins
import numbers

from ._backends.numpy import _parallel

__all__ = ["set_num_threads", "get_num_threads", "set_num_interop_threads",
           "get_num_interop_threads", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
           "get_deterministic_debug_mode", "set_deterministic_debug_mode", "set_warn_always",
           "is_warn_always_enabled", "set_flush_denormal", "init_num_threads"]

# the documented process-wide flags: [mode, warn_only] and [interop threads]
_DETERMINISTIC: list = [False, False]
_INTEROP_THREADS: list = [1]
_WARN_ALWAYS: list = [False]
_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def _positive_count(op: str, count) -> int:
    if isinstance(count, builtins.bool) or not isinstance(count, numbers.Integral):
        raise TypeError(f"{op}(): argument 'int' must be int, not {type(count).__name__}")
    if count <= 0:
        raise RuntimeError(f"{op} expects a positive integer")
    return builtins.int(count)


def set_num_threads(int) -> None:  # noqa: A002 - torch's parameter name
    """Use ``int`` threads in the CPU kernels (and NumPy's OpenBLAS) from now on."""
    _parallel.set_threads(_positive_count("set_num_threads", int))


def get_num_threads() -> builtins.int:
    """The number of threads the CPU kernels use."""
    return _parallel.threads()


def set_num_interop_threads(int) -> None:  # noqa: A002 - torch's parameter name
    """Recorded only: framework runs ops one after another (no inter-op pool)."""
    _INTEROP_THREADS[0] = _positive_count("set_num_interop_threads", int)


def get_num_interop_threads() -> builtins.int:
    """The value given to ``set_num_interop_threads`` (1 by default)."""
    return _INTEROP_THREADS[0]


def use_deterministic_algorithms(mode: builtins.bool, *, warn_only: builtins.bool = False) -> None:
    """Record the deterministic-algorithms flag (``torch.use_deterministic_algorithms``)."""
    for name, value in (("mode", mode), ("warn_only", warn_only)):
        if not isinstance(value, builtins.bool):
            raise TypeError(f"use_deterministic_algorithms(): argument '{name}' must be bool, "
                            f"not {type(value).__name__}")
    _DETERMINISTIC[:] = [mode, warn_only]


def are_deterministic_algorithms_enabled() -> builtins.bool:
    """The flag set by ``use_deterministic_algorithms``."""
    return _DETERMINISTIC[0]


def is_deterministic_algorithms_warn_only_enabled() -> builtins.bool:
    """The ``warn_only`` flag set by ``use_deterministic_algorithms``."""
    return _DETERMINISTIC[1]


def get_deterministic_debug_mode() -> builtins.int:
    """0 (deterministic algorithms off), 1 (on, warn only) or 2 (on)."""
    if not _DETERMINISTIC[0]:
        return 0
    return 1 if _DETERMINISTIC[1] else 2


def set_deterministic_debug_mode(debug_mode) -> None:
    """``use_deterministic_algorithms`` by level: 0 / "default" off, 1 / "warn" warn only,
    2 / "error" on."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, "
                               f"`warn`, `error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    if isinstance(debug_mode, builtins.bool) or not isinstance(debug_mode, numbers.Integral):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode).__name__}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def set_warn_always(b: builtins.bool) -> None:
    """Record the warn-always flag (see the module docstring)."""
    _WARN_ALWAYS[0] = builtins.bool(b)


def is_warn_always_enabled() -> builtins.bool:
    """The flag set by ``set_warn_always``."""
    return _WARN_ALWAYS[0]


def set_flush_denormal(mode: builtins.bool) -> builtins.bool:
    """Whether denormal flushing could be set: False (not supported here; nothing changes)."""
    return False


def init_num_threads() -> None:
    """Nothing to do: the CPU kernels' thread pool starts on first use."""
