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

import math as _math  # noqa: E402

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
from .amp import (autocast, autocast_decrement_nesting, autocast_increment_nesting,
                  clear_autocast_cache, get_autocast_cpu_dtype, get_autocast_dtype,
                  get_autocast_gpu_dtype, is_autocast_cache_enabled, is_autocast_cpu_enabled,
                  is_autocast_enabled, set_autocast_cache_enabled, set_autocast_cpu_dtype,
                  set_autocast_cpu_enabled, set_autocast_dtype, set_autocast_enabled,
                  set_autocast_gpu_dtype)
from .amp import GradScaler  # noqa: F401 - torch.GradScaler
from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled
from .autograd.grad_mode import is_inference_mode_enabled
from ._format import get_printoptions, printoptions, set_printoptions
from ._memory import (channels_last, channels_last_3d, contiguous_format,  # noqa: F401
                      memory_format, preserve_format)
from .serialization import load, save
from ._backends.precision import get_float32_matmul_precision, set_float32_matmul_precision
from .random import (Generator, get_rng_state, initial_seed, manual_seed, seed,
                     set_rng_state, thread_safe_generator)
from ._settings import (are_deterministic_algorithms_enabled, get_num_interop_threads,
                        get_num_threads, is_deterministic_algorithms_warn_only_enabled,
                        set_num_interop_threads, set_num_threads,
                        use_deterministic_algorithms)
from ._settings import (get_deterministic_debug_mode, init_num_threads, is_warn_always_enabled,
                        set_deterministic_debug_mode, set_flush_denormal, set_warn_always)
from .tensor import Size, Tensor
from .tensor import install_methods as _install_tensor_methods

__version__ = "0.1.0"

# ``torch.pi`` and friends: plain Python numbers (and ``None`` for indexing)
pi = _math.pi
e = _math.e
inf = _math.inf
nan = _math.nan
newaxis = None


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
from ._aten import (adaptive_avg_pool1d, adaptive_max_pool1d, affine_grid_generator,  # noqa: E402,F401
                    alpha_dropout, alpha_dropout_, avg_pool1d, batch_norm, bilinear,
                    binary_cross_entropy_with_logits, constant_pad_nd, conv_tbc, convolution,
                    cosine_embedding_loss, ctc_loss, dropout, dropout_, embedding,
                    embedding_renorm_, feature_dropout, feature_dropout_, frobenius_norm,
                    grid_sampler, group_norm, gru_cell, hinge_embedding_loss, instance_norm,
                    kl_div, layer_norm, lstm_cell, margin_ranking_loss, max_pool1d,
                    max_pool1d_with_indices, max_pool2d, max_pool3d, norm_except_dim,
                    poisson_nll_loss, rms_norm, rnn_relu_cell, rnn_tanh_cell, threshold,
                    threshold_, triplet_margin_loss)
from ._aten import adjoint, angle, conj, conj_physical, fill, imag  # noqa: E402,F401
from ._aten import is_complex, is_conj, real, resolve_conj, sgn  # noqa: E402,F401
from ._aten import (AcceleratorError, FatalError, OutOfMemoryError, binomial,  # noqa: E402,F401
                    empty_permuted, empty_strided, frombuffer, get_device_module,
                    grid_sampler_2d, grid_sampler_3d, poisson)
from ._aten import (cholesky, cholesky_inverse, cholesky_solve, det, inverse,  # noqa: E402,F401
                    logdet, lu_solve, matrix_exp, matrix_power, nuclear_norm, pinverse, qr,
                    slogdet, svd, triangular_solve)
from ._aten import (feature_alpha_dropout, feature_alpha_dropout_, lu_unpack,  # noqa: E402,F401
                    geqrf, orgqr, ormqr, resize_as_)
from . import _aten as _aten_module  # noqa: E402
from .func import vmap  # noqa: E402,F401 - torch.vmap
from .random import default_generator  # noqa: E402,F401
for _name in _aten_module.INPLACE + _aten_module.COPIES:
    globals()[_name] = getattr(_aten_module, _name)
_install_tensor_methods(_aten_module)  # t.det(), t.inverse(), t.svd() ...
del _name, _aten_module
from . import func  # noqa: E402,F401 - function transforms (after nn: functional_call)


_LAZY_MODULES = ("_dynamo", "export", "jit", "onnx")


def __getattr__(name: str):
    """``framework.jit``, ``framework.export``, ``framework.onnx``, ``framework.compile``
    and ``framework._dynamo``: imported on first use."""
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


def set_anomaly_enabled(enabled: "builtins.bool", check_nan: "builtins.bool" = True) -> None:  # noqa: F821
    """Turn anomaly detection on or off (``autograd.set_detect_anomaly``'s switch)."""
    from .autograd.anomaly_mode import set_detect_anomaly
    set_detect_anomaly(enabled, check_nan)


def get_device(input: Tensor) -> "builtins.int":  # noqa: F821
    """The CUDA device index of ``input``, -1 on the CPU."""
    return input.get_device()


def typename(obj) -> str:
    """``obj``'s type name: ``framework.FloatTensor`` style for tensors, else the class's
    module-qualified name."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = obj if isinstance(obj, type) else type(obj)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", None) else f"{module}.{cls.__qualname__}"


def detach(input: Tensor) -> Tensor:
    """``input.detach()``: the same data, outside the autograd graph."""
    return input.detach()
