"""framework: a PyTorch-style deep-learning library on Triton kernels (CUDA) and NumPy (CPU).

The public names match PyTorch's: ``framework.tensor``, ``framework.zeros``,
``framework.add``, ``framework.no_grad``, ``framework.autograd.grad`` ...
"""
from __future__ import annotations

import os as _os

# OpenBLAS's idle workers spin for 2**28 cycles (~0.1 s) after each threaded GEMM, holding
# the core that the CPU kernels' pool threads need (``_backends/numpy/_parallel.py``).
# 2**20 cycles (~0.4 ms) still bridges the gaps between one step's GEMMs (4, sleeping at
# once, cost gan ~10% on two threads; docs/perf.md). OpenBLAS reads this once, when NumPy
# loads it, so before the first ``import numpy``.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")  # a user's own value is kept
del _os

from . import autograd, cuda, dtypes, ops  # noqa: E402,F401
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                                 set_grad_enabled)
from .devices import device, get_default_device, set_default_device
from .dtypes import (bfloat16, bool, double, float, float16, float32, float64,  # noqa: A004
                     int8, int16, short, uint8,
                     get_default_dtype, half, int, int32, int64, long, promote_types, result_type,
                     set_default_dtype)
from .dtypes import dtype  # noqa: F401
from .dtypes import can_cast, finfo, iinfo  # noqa: F401
from .amp import autocast
from ._format import get_printoptions, printoptions, set_printoptions
from .serialization import load, save
from ._backends.precision import get_float32_matmul_precision, set_float32_matmul_precision
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from ._settings import (are_deterministic_algorithms_enabled, get_num_interop_threads,
                        get_num_threads, is_deterministic_algorithms_warn_only_enabled,
                        set_num_interop_threads, set_num_threads,
                        use_deterministic_algorithms)
from .tensor import Size, Tensor
from .tensor import install_methods as _install_tensor_methods

__version__ = "0.1.0"


def _reexport(module) -> None:
    """Make each name in a family module's ``__all__`` a top-level function (with ``out=``
    where the op declares it: ``framework.ops.out``)."""
    from .ops.out import with_out
    for name in module.__all__:
        fn = getattr(module, name)
        globals()[name] = with_out(fn) if getattr(fn, "supports_out", False) else fn


for _module in ops.public_families():
    _reexport(_module)
    _install_tensor_methods(_module)
del _module

from . import accelerator, amp, backends, datasets, distributed, distributions, linalg, nn, optim, special, utils  # noqa: E402,F401 - after the ops (nn.functional re-exports them)
from . import library, testing  # noqa: E402,F401 - custom ops and the test helpers (torch imported lazily)


_LAZY_MODULES = ("export", "jit", "onnx")


def __getattr__(name: str):
    """``framework.jit``, ``framework.export``, ``framework.onnx``, ``framework.compile``:
    imported on first use."""
    if name == "compile":
        from .compiler.compile import compile as compile_
        return compile_
    if name in _LAZY_MODULES:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_tensor(obj) -> "builtins.bool":  # noqa: F821
    """True for framework tensors."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> "builtins.bool":  # noqa: F821
    """True for tensors of a floating-point dtype."""
    return input.dtype.is_floating_point


def numel(input: Tensor) -> "builtins.int":  # noqa: F821
    """Number of elements of ``input``."""
    return input.numel()
