"""Stream policy: all of the library's GPU work goes to one stream, in any thread.

``runtime.STREAM`` (the legacy default stream) takes every kernel launch,
copy, memset and event; Triton's launcher is pointed at it even when torch
has another stream current (Triton 3.6/3.7 ask torch). Each thread gets the
primary context made current before its first driver call.

No GPU is needed: ``FakeDriver`` stands in for ``cuda.bindings.driver`` (host
memory plays device memory, so copies round-trip), records the stream every
call names, and refuses memory calls from a thread without a current
context, as the real driver does (``CUDA_ERROR_INVALID_CONTEXT``).
"""
import ctypes
import enum
import functools
import threading

import numpy as np
import pytest

import framework
from framework import dtypes
from framework._backends.triton import allocator, device_errors, launch, memory, runtime

TORCH_STREAM = 0x7F  # what Triton 3.6 would get from torch under torch.cuda.stream(s)
_BACKED = 1 << 20  # allocations up to this size get real host memory (the L2 scratch does not)


class CUresult(enum.IntEnum):
    CUDA_SUCCESS = 0
    CUDA_ERROR_INVALID_CONTEXT = 201
    CUDA_ERROR_NOT_READY = 600


class CUevent_flags(enum.IntEnum):  # noqa: N801 - cuda-bindings' name
    CU_EVENT_DEFAULT = 0
    CU_EVENT_BLOCKING_SYNC = 1
    CU_EVENT_DISABLE_TIMING = 2


class FakeDriver:
    """The slice of ``cuda.bindings.driver`` the library calls, on host memory."""

    CUresult = CUresult
    CUevent_flags = CUevent_flags

    def __init__(self) -> None:
        self.calls = []  # (name, stream or None, thread id)
        self.current = {}  # thread id -> context
        self.buffers = {}
        self.next_fake = 1 << 44
        self.events = 0

    def _log(self, name, stream=None):
        self.calls.append((name, stream, threading.get_ident()))

    def _needs_context(self):
        return threading.get_ident() not in self.current

    # contexts -------------------------------------------------------------------------
    def cuGetErrorName(self, err):
        return CUresult.CUDA_SUCCESS, CUresult(err).name.encode()

    def cuDeviceGet(self, index):
        return CUresult.CUDA_SUCCESS, index

    def cuDevicePrimaryCtxRetain(self, dev):
        self._log("cuDevicePrimaryCtxRetain")
        return CUresult.CUDA_SUCCESS, "primary-context"

    def cuCtxSetCurrent(self, ctx):
        self._log("cuCtxSetCurrent")
        self.current[threading.get_ident()] = ctx
        return (CUresult.CUDA_SUCCESS,)

    def cuCtxSynchronize(self):
        self._log("cuCtxSynchronize")
        return (CUresult.CUDA_SUCCESS,)

    # memory ---------------------------------------------------------------------------
    def cuMemAlloc(self, size):
        self._log("cuMemAlloc")
        if self._needs_context():
            return CUresult.CUDA_ERROR_INVALID_CONTEXT, 0
        if size <= _BACKED:
            buf = np.zeros(size, np.uint8)
            self.buffers[buf.ctypes.data] = buf
            return CUresult.CUDA_SUCCESS, buf.ctypes.data
        self.next_fake += size
        return CUresult.CUDA_SUCCESS, self.next_fake

    def cuMemFree(self, ptr):
        self.buffers.pop(ptr, None)
        return (CUresult.CUDA_SUCCESS,)

    def cuMemcpyHtoDAsync(self, dst, src, nbytes, stream):
        self._log("cuMemcpyHtoDAsync", stream)
        if self._needs_context():
            return (CUresult.CUDA_ERROR_INVALID_CONTEXT,)
        ctypes.memmove(dst, src, nbytes)
        return (CUresult.CUDA_SUCCESS,)

    def cuMemcpyDtoHAsync(self, dst, src, nbytes, stream):
        self._log("cuMemcpyDtoHAsync", stream)
        if self._needs_context():
            return (CUresult.CUDA_ERROR_INVALID_CONTEXT,)
        ctypes.memmove(dst, src, nbytes)
        return (CUresult.CUDA_SUCCESS,)

    def cuMemsetD32Async(self, ptr, value, count, stream):
        self._log("cuMemsetD32Async", stream)
        return (CUresult.CUDA_SUCCESS,)

    # streams and events ---------------------------------------------------------------
    def cuStreamSynchronize(self, stream):
        self._log("cuStreamSynchronize", stream)
        return (CUresult.CUDA_SUCCESS,)

    def cuStreamQuery(self, stream):
        self._log("cuStreamQuery", stream)
        return (CUresult.CUDA_SUCCESS,)

    def cuEventCreate(self, flags):
        self._log("cuEventCreate")
        self.events += 1
        return CUresult.CUDA_SUCCESS, f"event{self.events}"

    def cuEventRecord(self, event, stream):
        self._log("cuEventRecord", stream)
        return (CUresult.CUDA_SUCCESS,)

    def cuEventSynchronize(self, event):
        return (CUresult.CUDA_SUCCESS,)

    def cuEventQuery(self, event):
        return (CUresult.CUDA_SUCCESS,)

    def cuEventElapsedTime(self, start, end):
        return CUresult.CUDA_SUCCESS, 0.5

    def cuEventDestroy(self, event):
        return (CUresult.CUDA_SUCCESS,)

    def streams_named(self) -> set:
        return {stream for _, stream, _ in self.calls if stream is not None}


class FakeTritonDriver:
    """Triton 3.6's CUDA driver as far as the launcher's stream query goes (torch's stream)."""

    def __init__(self) -> None:
        self.get_current_stream = lambda device: TORCH_STREAM


@pytest.fixture
def gpu(monkeypatch):
    """The ``gpu`` runtime on ``FakeDriver``; every cache the fake touches is restored after."""
    fake, triton_driver = FakeDriver(), FakeTritonDriver()
    monkeypatch.setattr(runtime, "mode", lambda: "gpu")
    monkeypatch.setattr(runtime, "_gpu_count", lambda: 1)
    monkeypatch.setattr(runtime, "_driver", lambda: fake)
    monkeypatch.setattr(runtime, "_triton_driver", lambda: triton_driver)
    monkeypatch.setattr(runtime, "_primary_context",
                        functools.lru_cache(maxsize=None)(runtime._primary_context.__wrapped__))
    monkeypatch.setattr(runtime, "_thread", threading.local())
    monkeypatch.setattr(allocator, "_allocator", allocator.CachingAllocator())
    monkeypatch.setattr(device_errors._Flag, "array", None)
    monkeypatch.setattr(device_errors._Flag, "armed", False)
    fake.triton = triton_driver
    return fake


def test_copies_memsets_events_and_launches_name_one_stream(gpu):
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    a = memory.from_numpy(data, dtypes.float32)
    np.testing.assert_array_equal(memory.to_numpy(a), data)
    start, end = framework.cuda.Event(enable_timing=True), framework.cuda.Event(enable_timing=True)
    start.record()
    end.record(framework.cuda.current_stream())
    end.synchronize()
    assert start.elapsed_time(end) == 0.5
    framework.cuda.current_stream().synchronize()
    assert framework.cuda.current_stream().query()
    from framework._backends.triton.tuning import median_ms
    from framework.bench.timing import EventTimer
    assert median_ms(lambda: None, repeats=2, warmup=0) == 0.5
    timer = EventTimer()
    assert timer.interleaved_medians([lambda: None], flush_l2=True) == [0.5 / 1e3]
    timer.close()
    names = {name for name, _, _ in gpu.calls}
    assert {"cuMemcpyHtoDAsync", "cuMemcpyDtoHAsync", "cuMemsetD32Async", "cuEventRecord",
            "cuStreamSynchronize"} <= names
    assert gpu.streams_named() == {runtime.STREAM}
    # Triton's launcher asks its driver for the stream: torch's would be TORCH_STREAM
    assert gpu.triton.get_current_stream(0) == runtime.STREAM


def test_triton_stream_hook_is_installed_once_per_driver(gpu):
    runtime.make_current()
    hook = gpu.triton.get_current_stream
    runtime.use_library_stream()
    assert gpu.triton.get_current_stream is hook
    assert runtime.STREAM == 0  # the legacy default stream, as torch's default stream


def test_a_worker_thread_gets_the_context_made_current(gpu):
    a = memory.from_numpy(np.ones(4, np.float32), dtypes.float32)  # main thread
    results, errors = {}, []

    def worker():
        try:
            b = memory.from_numpy(np.full(4, 2.0, np.float32), dtypes.float32)
            results["b"] = memory.to_numpy(b)
            results["a"] = memory.to_numpy(a)  # reading memory made by another thread
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert not errors, errors
    np.testing.assert_array_equal(results["b"], 2.0)
    np.testing.assert_array_equal(results["a"], 1.0)
    set_current = [tid for name, _, tid in gpu.calls if name == "cuCtxSetCurrent"]
    assert set_current == [threading.get_ident(), thread.ident]  # once per thread
    assert [name for name, _, _ in gpu.calls].count("cuDevicePrimaryCtxRetain") == 1


def test_a_launch_in_a_thread_that_allocated_nothing_finds_the_context(gpu):
    """Kernel arguments are built with ``launch.pointer``: it makes the context current too
    (an in-place op in a worker thread on tensors made elsewhere allocates nothing)."""
    a = memory.from_numpy(np.ones(4, np.float32), dtypes.float32)
    thread = threading.Thread(target=launch.pointer, args=(a,))
    thread.start()
    thread.join()
    assert [tid for name, _, tid in gpu.calls if name == "cuCtxSetCurrent"][-1] == thread.ident


def test_the_fake_driver_refuses_a_thread_without_a_context(gpu):
    """The worker test above can fail: a driver call before ``make_current`` is refused."""
    with pytest.raises(RuntimeError, match="CUDA_ERROR_INVALID_CONTEXT"):
        runtime.check(gpu.cuMemAlloc(16))


def test_device_error_flag_is_read_only_after_a_checking_kernel(gpu):
    a = memory.from_numpy(np.ones(3, np.float32), dtypes.float32)
    gpu.calls.clear()
    memory.to_numpy(a)
    assert [n for n, _, _ in gpu.calls].count("cuMemcpyDtoHAsync") == 1  # no flag read
    device_errors.flag_args("gather")  # what a checking launch does
    gpu.calls.clear()
    memory.to_numpy(a)
    assert [n for n, _, _ in gpu.calls].count("cuMemcpyDtoHAsync") == 2  # data, then the flag
    assert gpu.streams_named() == {runtime.STREAM}


def test_stream_and_event_api_on_the_interpreter():
    stream = framework.cuda.current_stream()
    assert stream == framework.cuda.default_stream() and stream.cuda_stream == 0
    with pytest.raises(NotImplementedError, match="one stream"):
        framework.cuda.Stream()
    with framework.cuda.stream(stream):
        assert framework.cuda.current_stream() == stream
    with pytest.raises(TypeError, match="expected a framework.cuda.Stream"):
        with framework.cuda.stream(1):
            pass
    start = framework.cuda.Event(enable_timing=True)
    end = stream.record_event(framework.cuda.Event(enable_timing=True))
    start.record()
    (framework.ones(4, device="cuda") * 2).sum()
    end.record()
    end.synchronize()
    assert start.elapsed_time(end) >= 0.0 and end.query() and stream.query()
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        framework.cuda.Event().elapsed_time(end)
