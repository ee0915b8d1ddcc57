"""``framework.cuda``: is a ``cuda`` device available, how many, streams, events, synchronization.

All of the library's GPU work runs on one stream (the legacy default stream
of the primary context, ``runtime.STREAM``): ``current_stream()`` and
``default_stream()`` both return it, and new streams cannot be made. A sync
point (``synchronize``, ``Stream.synchronize``, ``Event.synchronize``, and
every device->host read) also raises an index error a kernel flagged on the
device since the last one (see ``framework/_backends/triton/device_errors.py``).
"""
from __future__ import annotations

import contextlib
import time
import weakref

from ._backends.triton import runtime
from ._errors import OutOfMemoryError  # noqa: F401 - torch.cuda.OutOfMemoryError


def is_available() -> bool:
    """True on a machine with an NVIDIA GPU, or when the Triton interpreter is switched on."""
    return runtime.mode() != "none"


def device_count() -> int:
    """Number of ``cuda`` devices (1 under the interpreter)."""
    return runtime.device_count()


def current_device() -> int:
    """Index of the current ``cuda`` device (always 0)."""
    runtime.require(0)
    return 0


def synchronize(device=None) -> None:
    """Wait until queued GPU work has finished; raise an error a kernel flagged meanwhile."""
    runtime.synchronize()
    _raise_pending()


def set_sync_debug_mode(debug_mode) -> None:
    """Report implicit host synchronizations (``.item()``, ``.tolist()``, ``.cpu()``, copies to
    the host, data-dependent shapes): ``"default"``/0 quiet, ``"warn"``/1 warn, ``"error"``/2
    raise ``RuntimeError``. Explicit waits (``synchronize``) are never reported."""
    modes = {"default": 0, "warn": 1, "error": 2}
    if isinstance(debug_mode, str):
        if debug_mode not in modes:
            raise RuntimeError('invalid value of debug_mode, expected one of "default", "warn", '
                               '"error"')
        debug_mode = modes[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError('invalid value of debug_mode, expected one of 0, 1, 2')
    runtime.set_sync_debug_mode(int(debug_mode))


def get_sync_debug_mode() -> int:
    """The sync debug mode: 0 (quiet), 1 (warn) or 2 (error)."""
    return runtime.sync_debug_mode()


def _raise_pending() -> None:
    if runtime.mode() != "none":
        from ._backends.triton import device_errors
        device_errors.raise_pending()


class Stream:
    """The library's one CUDA stream (``torch.cuda.Stream``'s methods for it).

    Every kernel, copy, memset and event of the library runs on it, in
    program order. ``framework.cuda.current_stream()`` returns it; making
    another stream is not supported.
    """

    def __init__(self, device=None, priority: int = 0, **kwargs) -> None:
        raise NotImplementedError(
            "framework.cuda.Stream(): the library runs all cuda work on one stream (the legacy "
            "default stream); use framework.cuda.current_stream()")

    @classmethod
    def _library(cls) -> "Stream":
        stream = object.__new__(cls)
        stream.device_index = 0
        return stream

    @property
    def cuda_stream(self) -> int:
        """The raw ``CUstream`` handle (0: the legacy default stream)."""
        return runtime.STREAM

    def synchronize(self) -> None:
        """Wait until the work queued on this stream has finished (a host synchronization)."""
        runtime.count_host_sync(implicit=False)
        if runtime.mode() == "gpu":
            runtime.make_current()
            runtime.check(runtime._driver().cuStreamSynchronize(runtime.STREAM))
        _raise_pending()

    def query(self) -> bool:
        """True when all work queued on this stream has finished."""
        if runtime.mode() != "gpu":
            return True
        runtime.make_current()
        driver = runtime._driver()
        err, = driver.cuStreamQuery(runtime.STREAM)
        if err == driver.CUresult.CUDA_ERROR_NOT_READY:
            return False
        runtime.check((err,))
        return True

    def wait_stream(self, stream: "Stream") -> None:
        """Nothing to do: there is only one stream, already in order."""

    def wait_event(self, event: "Event") -> None:
        """Nothing to do: events are recorded on this same stream, already in order."""

    def record_event(self, event: "Event | None" = None) -> "Event":
        """Record ``event`` (a new one if None) on this stream."""
        event = Event() if event is None else event
        event.record(self)
        return event

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream)

    def __hash__(self) -> int:
        return hash(runtime.STREAM)

    def __repr__(self) -> str:
        return f"<framework.cuda.Stream device=cuda:0 cuda_stream={hex(runtime.STREAM)}>"


@contextlib.contextmanager
def stream(stream: Stream | None):
    """``torch.cuda.stream``: run the block on ``stream``. Only the library's one stream (or
    None) exists, so the block runs where it would anyway."""
    if stream is not None and not isinstance(stream, Stream):
        raise TypeError(f"framework.cuda.stream(): expected a framework.cuda.Stream or None, "
                        f"got {type(stream).__name__}")
    yield


def current_stream(device=None) -> Stream:
    """The stream the library's cuda work runs on (always the legacy default stream)."""
    runtime.require(0)
    return Stream._library()


def default_stream(device=None) -> Stream:
    """The legacy default stream: the same stream as ``current_stream()``."""
    return current_stream(device)


class Event:
    """A CUDA event on the library's stream (``torch.cuda.Event``): ``record``, ``synchronize``,
    ``query`` and, with ``enable_timing=True``, ``elapsed_time`` in milliseconds.

    On a GPU it is a driver event (the one the benchmark and autotune timers use); under the
    interpreter every kernel has finished when it returns, so an event is the host clock.
    """

    def __init__(self, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False) -> None:
        if interprocess:
            raise NotImplementedError("framework.cuda.Event: interprocess events are not "
                                      "supported")
        self.enable_timing = enable_timing
        self._handle = None
        self._time = None  # host clock at record (interpreter)
        if runtime.mode() == "gpu":
            runtime.make_current()
            driver = runtime._driver()
            flags = 0 if enable_timing else driver.CUevent_flags.CU_EVENT_DISABLE_TIMING
            if blocking:
                flags |= driver.CUevent_flags.CU_EVENT_BLOCKING_SYNC
            self._handle = runtime.check(driver.cuEventCreate(int(flags)))
            weakref.finalize(self, _destroy_event, self._handle)
        else:
            runtime.require(0)

    def record(self, stream: Stream | None = None) -> None:
        """Mark this point of the stream's work."""
        if self._handle is not None:
            runtime.check(runtime._driver().cuEventRecord(self._handle, runtime.STREAM))
        else:
            self._time = time.perf_counter()

    def synchronize(self) -> None:
        """Wait until the work before the last ``record`` has finished (a host synchronization)."""
        runtime.count_host_sync(implicit=False)
        if self._handle is not None:
            runtime.check(runtime._driver().cuEventSynchronize(self._handle))
        _raise_pending()

    def query(self) -> bool:
        """True when the work before the last ``record`` has finished."""
        if self._handle is None:
            return True
        driver = runtime._driver()
        err, = driver.cuEventQuery(self._handle)
        if err == driver.CUresult.CUDA_ERROR_NOT_READY:
            return False
        runtime.check((err,))
        return True

    def wait(self, stream: Stream | None = None) -> None:
        """Nothing to do: the event and all work are on one stream, already in order."""

    def elapsed_time(self, end_event: "Event") -> float:
        """Milliseconds between this event's record and ``end_event``'s (both recorded, both
        made with ``enable_timing=True``)."""
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        if self._handle is None:
            if self._time is None or end_event._time is None:
                raise RuntimeError("Both events must be recorded before calculating elapsed "
                                   "time.")
            return (end_event._time - self._time) * 1e3
        return float(runtime.check(runtime._driver().cuEventElapsedTime(self._handle,
                                                                        end_event._handle)))


def _destroy_event(handle) -> None:
    try:
        runtime.check(runtime._driver().cuEventDestroy(handle))
    except Exception:  # at interpreter exit the driver may be gone already
        pass


def get_device_name(device=None) -> str:
    """Name of the GPU (or of the interpreter runtime)."""
    return runtime.device_name(0 if device is None else int(getattr(device, "index", device) or 0))


def get_device_capability(device=None) -> tuple:
    """Compute capability ``(major, minor)``."""
    return runtime.capability(0)


def is_interpreter() -> bool:
    """True when ``cuda`` tensors run on Triton's interpreter."""
    return runtime.mode() == "interpreter"


def manual_seed(seed: int) -> None:
    """Seed the ``cuda`` generator."""
    from .random import generator_for
    from .devices import device
    generator_for(device("cuda")).manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed the ``cuda`` generator (one per process)."""
    manual_seed(seed)


def empty_cache() -> None:
    """Return cached GPU memory to the driver."""
    if runtime.mode() == "gpu":
        from ._backends.triton.allocator import allocator
        allocator().empty_cache()


def memory_allocated(device=None) -> int:
    """Bytes held by live tensors on the GPU (0 under the interpreter)."""
    if runtime.mode() != "gpu":
        return 0
    from ._backends.triton.allocator import allocator
    return allocator().allocated_bytes


class _LegacyAmp:
    """``framework.cuda.amp``: the older spelling of ``framework.amp`` for cuda."""

    @staticmethod
    def autocast(enabled: bool = True, dtype=None, cache_enabled=None):
        """``framework.autocast("cuda", ...)``."""
        from .amp import autocast
        return autocast("cuda", dtype, enabled)

    @staticmethod
    def GradScaler(*args, **kwargs):  # noqa: N802 - PyTorch's name
        """``framework.amp.GradScaler("cuda", ...)``."""
        from .amp import GradScaler
        return GradScaler("cuda", *args, **kwargs)


amp = _LegacyAmp()
