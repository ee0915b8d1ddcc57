"""Process-wide settings under torch's names: the CPU thread count and the
deterministic-algorithms flag.

``set_num_threads`` sets the thread count of the CPU kernels (and of NumPy's OpenBLAS);
the default is ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS``, else 1. framework has no
inter-op pool: the interop functions only record their value. The deterministic flag is
recorded and reported, but changes and refuses no kernel (as the ``backends.cudnn``
flags; docs/compat.md).
"""
from __future__ import annotations

import builtins
import numbers

from ._backends.numpy import _parallel

__all__ = ["set_num_threads", "get_num_threads", "set_num_interop_threads",
           "get_num_interop_threads", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled"]

# the documented process-wide flags: [mode, warn_only] and [interop threads]
_DETERMINISTIC: list = [False, False]
_INTEROP_THREADS: list = [1]


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
