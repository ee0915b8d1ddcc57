"""Which runtime serves the ``cuda`` device: a real GPU, or Triton's interpreter.

``FRAMEWORK_TRITON_INTERPRET=1`` (read once, before the first ``cuda``
tensor) makes ``cuda`` tensors live in host memory with every kernel run by
Triton's interpreter. Otherwise the GPU is reached through NVIDIA's
``cuda-bindings`` driver API on the device's primary context, which Triton
(and any other CUDA library in the process) shares.
"""
from __future__ import annotations

import functools
import os


class CudaUnavailableError(RuntimeError):
    """Raised when a ``cuda`` tensor is asked for where no runtime can serve it."""


def interpreter_requested() -> bool:
    """True when ``FRAMEWORK_TRITON_INTERPRET`` asks for the Triton interpreter."""
    return os.environ.get("FRAMEWORK_TRITON_INTERPRET", "0").strip().lower() in ("1", "true", "yes", "on")


@functools.lru_cache(maxsize=None)
def mode() -> str:
    """``'interpreter'``, ``'gpu'`` or ``'none'``; fixed at first use."""
    if interpreter_requested():
        os.environ["TRITON_INTERPRET"] = "1"
        return "interpreter"
    return "gpu" if _gpu_count() > 0 else "none"


def _driver():
    from cuda.bindings import driver
    return driver


def check(result):
    """Unpack a cuda-bindings ``(CUresult, *values)`` tuple; raise on an error code."""
    err, *values = result if isinstance(result, tuple) else (result,)
    driver = _driver()
    if err != driver.CUresult.CUDA_SUCCESS:
        _, name = driver.cuGetErrorName(err)
        raise RuntimeError(f"CUDA driver error: {name.decode() if name else err}")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


@functools.lru_cache(maxsize=None)
def _gpu_count() -> int:
    try:
        driver = _driver()
        err, = driver.cuInit(0)
        if err != driver.CUresult.CUDA_SUCCESS:
            return 0
        err, count = driver.cuDeviceGetCount()
        return count if err == driver.CUresult.CUDA_SUCCESS else 0
    except Exception:  # no driver library, no package: no GPU
        return 0


def device_count() -> int:
    """Number of usable ``cuda`` devices (1 under the interpreter)."""
    current = mode()
    if current == "interpreter":
        return 1
    return _gpu_count() if current == "gpu" else 0


def require(index: int = 0) -> None:
    """Raise a clear error unless ``cuda:index`` can be served; make its context current."""
    current = mode()
    if current == "none":
        raise CudaUnavailableError(
            "CUDA is not available: no NVIDIA GPU or driver was found. Use device='cpu', or set "
            "FRAMEWORK_TRITON_INTERPRET=1 before importing framework to run 'cuda' tensors "
            "through the Triton interpreter.")
    if index >= device_count():
        raise CudaUnavailableError(
            f"CUDA error: invalid device ordinal cuda:{index} ({device_count()} device(s) available)")
    if current == "gpu":
        check_launcher()
        _primary_context(index)


def launcher_needs_torch(triton_version: str) -> bool:
    """True for Triton releases whose CUDA launcher gets the device and stream from torch.

    Up to 3.7, Triton's CUDA driver imports torch at the first launch (and
    counts no active driver without it); from 3.8 it launches on the primary
    context's default stream when torch is not imported.
    """
    parts = []
    for part in triton_version.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts) < (3, 8)


@functools.lru_cache(maxsize=None)
def check_launcher() -> None:
    """Raise a clear error where Triton's launcher needs torch and torch is not installed."""
    import importlib.util

    import triton
    version = triton.__version__
    if launcher_needs_torch(version) and importlib.util.find_spec("torch") is None:
        raise CudaUnavailableError(
            f"Triton {version} launches GPU kernels through torch (its CUDA driver asks torch "
            "for the current device and stream), and torch is not installed: install torch, "
            "or Triton >= 3.8, which launches without it. framework itself never imports torch.")


@functools.lru_cache(maxsize=None)
def _primary_context(index: int):
    driver = _driver()
    dev = check(driver.cuDeviceGet(index))
    ctx = check(driver.cuDevicePrimaryCtxRetain(dev))
    check(driver.cuCtxSetCurrent(ctx))
    return ctx


def synchronize() -> None:
    """Wait for all queued GPU work (a no-op under the interpreter)."""
    if mode() == "gpu":
        _primary_context(0)
        check(_driver().cuCtxSynchronize())


def device_name(index: int = 0) -> str:
    """The GPU's name, or a label for the interpreter."""
    if mode() == "interpreter":
        return "Triton interpreter (host memory)"
    require(index)
    driver = _driver()
    raw = check(driver.cuDeviceGetName(256, check(driver.cuDeviceGet(index))))
    return raw.split(b"\0", 1)[0].decode()


def capability(index: int = 0) -> tuple:
    """Compute capability ``(major, minor)``; ``(0, 0)`` under the interpreter."""
    if mode() == "interpreter":
        return (0, 0)
    require(index)
    driver = _driver()
    dev = check(driver.cuDeviceGet(index))
    attr = driver.CUdevice_attribute
    major = check(driver.cuDeviceGetAttribute(attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev))
    minor = check(driver.cuDeviceGetAttribute(attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev))
    return (major, minor)


class _KernelModules:
    """Attribute access to ``triton_kernels.<family>`` modules, imported on first use."""

    def __getattr__(self, family: str):
        import importlib
        module = importlib.import_module(f"triton_kernels.{family}")
        setattr(self, family, module)
        return module


@functools.lru_cache(maxsize=None)
def kernels() -> _KernelModules:
    """The ``triton_kernels`` families, imported after the runtime mode is fixed.

    ``@triton.jit`` picks interpreter or compiler when it runs, so the
    interpreter switch must be in the environment before this import.
    """
    if mode() == "interpreter":
        _patch_interpreter_scalar_index()
    return _KernelModules()


def _patch_interpreter_scalar_index() -> None:
    """Let Triton 3.6's interpreter turn a scalar kernel argument into an int on NumPy >= 2.4.

    Triton 3.6 defines ``tl.tensor.__index__`` (used by ``range(n)`` over a
    runtime ``n``) in its interpreter as ``int(handle.data)`` on a 1-element
    array, which NumPy 2.4 refuses (only 0-d arrays convert to scalars);
    newer Triton squeezes first. Wrapping the interpreter's patch function
    with the squeezing ``__index__`` is a no-op where Triton already does it.
    """
    from triton.runtime import interpreter
    original = getattr(interpreter, "_patch_lang_tensor", None)
    if original is None or getattr(original, "_framework_index_fix", False):
        return

    def patch_lang_tensor(tensor, scope):
        original(tensor, scope)
        scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.reshape(-1)[0]))

    patch_lang_tensor._framework_index_fix = True
    interpreter._patch_lang_tensor = patch_lang_tensor
