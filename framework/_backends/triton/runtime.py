"""Which runtime serves the ``cuda`` device: a real GPU, or Triton's interpreter.

``FRAMEWORK_TRITON_INTERPRET=1`` (read once, before the first ``cuda``
tensor) makes ``cuda`` tensors live in host memory with every kernel run by
Triton's interpreter. Otherwise the GPU is reached through NVIDIA's
``cuda-bindings`` driver API on the device's primary context, which Triton
(and any other CUDA library in the process) shares.

Stream policy: every piece of the library's GPU work -- kernel launches,
host<->device copies, memsets, events, synchronization -- goes to one stream,
``STREAM`` (handle 0: the legacy default stream of the primary context), so
work runs in program order and the caching allocator may reuse a freed block
at once. Triton's launcher asks its driver for the launch stream (on triton
3.6/3.7 that is torch's current stream); ``use_library_stream`` points that
query at ``STREAM``, whatever stream torch has made current. Each thread gets
the primary context made current before its first allocation, copy or launch
(``make_current``).
"""
from __future__ import annotations

import functools
import os
import threading

STREAM = 0  # the library's one stream: the legacy default stream (see the module docstring)


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
        make_current(index)


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
    """The device's primary context, retained once per process."""
    driver = _driver()
    dev = check(driver.cuDeviceGet(index))
    return check(driver.cuDevicePrimaryCtxRetain(dev))


_thread = threading.local()  # per thread: the context this module made current there


def make_current(index: int = 0):
    """Make ``cuda:index``'s primary context current in the calling thread (once per thread).

    A CUDA context is current per thread: a worker thread that allocates,
    copies or launches must have it made current first, or the driver
    answers ``CUDA_ERROR_INVALID_CONTEXT``. Also points Triton's launch
    stream at ``STREAM`` (``use_library_stream``).
    """
    ctx = getattr(_thread, "context", None)
    if ctx is None:
        ctx = _primary_context(index)
        check(_driver().cuCtxSetCurrent(ctx))
        use_library_stream()
        _thread.context = ctx  # last: a failure above is retried at the next call
    return ctx


def _triton_driver():
    """Triton's active driver (its launcher asks it for the current device and stream)."""
    from triton.runtime import driver
    return driver.active


def _library_stream(device=None) -> int:
    """Triton's current-stream query while this library is loaded: always ``STREAM``."""
    return STREAM


_library_stream.framework_stream_hook = True


def use_library_stream() -> None:
    """Make Triton launch on ``STREAM``: replace its driver's current-stream query.

    Triton 3.6/3.7 import torch and launch on torch's current stream; without
    this, a kernel launched under ``torch.cuda.stream(s)`` would run on ``s``
    while the library's copies, memsets and events run on ``STREAM``. Every
    Triton launch in the process uses ``STREAM`` afterwards (as Triton 3.8+
    does on its own when torch is not imported). Idempotent; GPU mode only.
    """
    active = _triton_driver()
    if not getattr(active.get_current_stream, "framework_stream_hook", False):
        active.get_current_stream = _library_stream


# Host synchronizations: device->host reads and explicit waits (the memory layer counts its
# reads here). A statistic like the allocator's byte counts, plus PyTorch's sync debug mode
# (framework.cuda.set_sync_debug_mode): 0 off, 1 warn, 2 raise on an implicit sync.
_host_syncs = {"count": 0, "debug_mode": 0}


def count_host_sync(implicit: bool = True) -> None:
    """Record one host synchronization: a blocking device->host read (implicit) or a wait the
    user asked for (``implicit=False``: never reported by the sync debug mode)."""
    _host_syncs["count"] += 1
    if implicit and _host_syncs["debug_mode"]:
        message = "called a synchronizing CUDA operation"
        if _host_syncs["debug_mode"] == 2:
            raise RuntimeError(message)
        import warnings
        warnings.warn(message, UserWarning, stacklevel=3)


def host_sync_count() -> int:
    """Host synchronizations so far in this process (both runtimes count the same way)."""
    return _host_syncs["count"]


def set_sync_debug_mode(mode: int) -> None:
    """0: quiet; 1: warn; 2: raise on every implicit host synchronization."""
    _host_syncs["debug_mode"] = mode


def sync_debug_mode() -> int:
    """The current sync debug mode (0, 1 or 2)."""
    return _host_syncs["debug_mode"]


def synchronize() -> None:
    """Wait for all queued GPU work of the context, as ``torch.cuda.synchronize`` (a no-op under
    the interpreter; counted as a host synchronization)."""
    count_host_sync(implicit=False)
    if mode() == "gpu":
        make_current(0)
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
