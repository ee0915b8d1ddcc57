"""CUDA backend: launch wrappers for the kernels in ``triton_kernels``.

Triton fixes each ``@triton.jit`` function's mode (compiled or interpreted)
when it is defined, and that includes ``triton.language``'s own jit helpers
(``tl.rand``, ...), defined when ``triton`` is first imported. So the
interpreter switch is applied here, before any module of this package
imports ``triton``.

It also hands the autotuner this backend's device description and timer
(``tuning.PLATFORM``; ``framework.autotune`` never imports the backend).
"""
import os as _os

from . import runtime as _runtime

if _runtime.interpreter_requested():
    _os.environ["TRITON_INTERPRET"] = "1"

from ... import autotune as _autotune  # noqa: E402 - after the interpreter switch
from .tuning import PLATFORM as _PLATFORM  # noqa: E402

_autotune.set_platform(_PLATFORM)
