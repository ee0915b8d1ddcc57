"""The memory family on ``cuda``: allocation of arrays, host<->device copies, and the launch
wrappers of the copy, fill and creation kernels (``triton_kernels/memory.py``).

Storages get their memory from the caching allocator (``allocator.py``). Copies
name the library's one stream (``runtime.STREAM``). ``to_numpy`` is the one
device->host read: it counts a host synchronization (``runtime.host_sync_count``)
and then raises any error a kernel has flagged on the device since the last read
(``device_errors``).
"""
from __future__ import annotations

import functools

import numpy as np

from ..array import Array, Storage, contiguous_strides
from . import runtime
from .allocator import buffer_address, new_buffer
from .launch import all_contiguous_same_shape, grid_1d, pack_strided, pointer


@functools.lru_cache(maxsize=None)
def _launch_config() -> tuple:
    """``(BLOCK, num_warps)`` of ``triton_kernels.memory.COPY_CONFIGS`` (read at the first launch:
    importing the kernels fixes the interpreter mode)."""
    config = runtime.kernels().memory.COPY_CONFIGS[0]
    return config["BLOCK"], config["num_warps"]


def empty(shape, dtype) -> Array:
    """Uninitialized contiguous device array."""
    numel = 1
    for size in shape:
        numel *= size
    storage = Storage(new_buffer(numel, dtype), numel, dtype)
    return Array(storage, tuple(shape), contiguous_strides(shape), 0)


def from_numpy(array: np.ndarray, dtype) -> Array:
    """Copy host data into a new device array."""
    host = np.ascontiguousarray(array, dtype=dtype.numpy).reshape(np.shape(array))  # keeps 0-d
    out = empty(host.shape, dtype)
    if host.size == 0:
        return out
    write_from_host(out, host)
    return out


def write_from_host(out: Array, host: np.ndarray) -> None:
    """Copy the contiguous host array ``host`` into the first elements of contiguous ``out``.

    On a GPU the copy is queued on ``runtime.STREAM`` after the work already
    there. ``host`` is pageable memory, which the driver copies to a staging
    buffer before the call returns (PyTorch's non-blocking copies from
    pageable memory rely on the same), so it may be freed at once. No host
    synchronization.
    """
    if runtime.mode() == "interpreter":
        out.storage.buffer[out.offset: out.offset + host.size] = host.reshape(-1)
        return
    runtime.make_current()
    _refuse_in_capture("a host-to-device copy")
    dst = out.storage.buffer.ptr + out.offset * out.dtype.itemsize
    runtime.check(runtime._driver().cuMemcpyHtoDAsync(dst, host.ctypes.data, host.nbytes,
                                                      runtime.STREAM))


def _refuse_in_capture(what: str) -> None:
    """Raise while a CUDA graph is being captured (the only time ``runtime.STREAM`` is not the
    legacy default stream: ``compiler.cudagraphs``): a replay would copy from host memory
    long freed, and a read back must wait for work a capture does not run."""
    if runtime.STREAM != 0:
        raise RuntimeError(f"{what} cannot be captured in a CUDA graph")


def read_to_host(a: Array) -> np.ndarray:
    """A host copy of contiguous ``a``, after all work queued on ``runtime.STREAM`` (no count,
    no error check: ``to_numpy`` adds those)."""
    host = np.empty(a.shape, dtype=a.dtype.numpy)
    if host.size == 0:
        return host
    if runtime.mode() == "interpreter":
        item = a.dtype.itemsize  # by bytes: a view(dtype) array reads the storage as its type
        raw = a.storage.buffer.view(np.uint8)[a.offset * item: (a.offset + host.size) * item]
        host.reshape(-1)[:] = raw.view(a.dtype.numpy)
        return host
    runtime.make_current()
    _refuse_in_capture("a device-to-host copy")
    driver = runtime._driver()
    src = a.storage.buffer.ptr + a.offset * a.dtype.itemsize
    runtime.check(driver.cuMemcpyDtoHAsync(host.ctypes.data, src, host.nbytes, runtime.STREAM))
    runtime.check(driver.cuStreamSynchronize(runtime.STREAM))
    return host


def to_numpy(a: Array) -> np.ndarray:
    """A contiguous host copy of a device array: a host synchronization (counted), which
    also raises an error flagged by an earlier kernel (``device_errors.raise_pending``)."""
    if not a.is_contiguous():
        a = contiguous(a)
    host = read_to_host(a)
    if host.size == 0:
        return host
    runtime.count_host_sync()
    from . import device_errors
    device_errors.raise_pending()
    return host


def as_numpy(a: Array) -> np.ndarray:
    """A contiguous host copy of ``a`` (device memory is never handed out as a NumPy array)."""
    return to_numpy(a)


def data_ptr(a: Array) -> int:
    """Address of ``a``'s first element (a host address under the interpreter)."""
    return buffer_address(a.storage.buffer) + a.offset * a.dtype.itemsize


def copy_(dst: Array, src: Array) -> None:
    """``dst[...] = src`` (src broadcast to dst's shape, cast to dst's dtype)."""
    n = dst.numel
    if n == 0:
        return
    k = runtime.kernels().memory
    block, warps = _launch_config()
    if _overlaps(dst, src):
        src = contiguous(src, force=True)
    if all_contiguous_same_shape(dst.shape, dst, src):
        k.contiguous_copy_kernel[grid_1d(n, block)](pointer(dst), pointer(src), n, BLOCK=block,
                                                    num_warps=warps)
        return
    try:
        sizes, (d, s) = pack_strided(dst.shape, dst.strides, src)
    except NotImplementedError:
        _copy_leading_dims(dst, src)
        return
    k.strided_copy_kernel[grid_1d(n, block)](pointer(dst), pointer(src), n, *sizes, *d, *s,
                                             BLOCK=block, num_warps=warps)


def _copy_leading_dims(dst: Array, src: Array) -> None:
    """Copy a view with more than MAX_DIMS non-mergeable dims: one launch per leading index."""
    from ..array import broadcast_strides
    src_strides = broadcast_strides(src.shape, src.strides, dst.shape)
    for i in range(dst.shape[0]):
        sub_dst = dst.view(dst.shape[1:], dst.strides[1:], dst.offset + i * dst.strides[0])
        sub_src = src.view(dst.shape[1:], src_strides[1:], src.offset + i * src_strides[0])
        copy_(sub_dst, sub_src)


def _overlaps(dst: Array, src: Array) -> bool:
    return src.storage is dst.storage


def contiguous(a: Array, force: bool = False) -> Array:
    """``a`` itself if contiguous (unless ``force``), else a contiguous copy."""
    if a.is_contiguous() and not force:
        return a
    out = empty(a.shape, a.dtype)
    copy_(out, a)
    return out


def cast(a: Array, dtype) -> Array:
    """A contiguous copy of ``a`` converted to ``dtype``."""
    out = empty(a.shape, dtype)
    copy_(out, a)
    return out


def full(shape, value, dtype) -> Array:
    """Every element equal to ``value``."""
    out = empty(shape, dtype)
    n = out.numel
    if n:
        value = bool(value) if dtype.name == "bool" else value
        memory = runtime.kernels().memory
        kernel = memory.fill_kernel
        if dtype.is_floating_point:  # a float64 parameter: exact for float64 outputs
            value, kernel = float(value), memory.fill_float_kernel
        block, warps = _launch_config()
        kernel[grid_1d(n, block)](pointer(out), n, value, BLOCK=block, num_warps=warps)
    return out


def arange(start, step, n, dtype) -> Array:
    """``start + i*step`` for ``i < n``."""
    if dtype.name == "float64":  # on the host, bit-identical to the NumPy backend (a compiled
        # kernel may fuse start + i * step into one FMA)
        return from_numpy(start + np.arange(n, dtype=np.float64) * step, dtype)
    out = empty((n,), dtype)
    if n:
        k = runtime.kernels().memory
        block, warps = _launch_config()
        if dtype.is_floating_point:
            k.arange_kernel[grid_1d(n, block)](pointer(out), n, float(start), float(step),
                                               BLOCK=block, num_warps=warps)
        else:
            k.arange_int_kernel[grid_1d(n, block)](pointer(out), n, int(start), int(step),
                                                   BLOCK=block, num_warps=warps)
    return out


def linspace(start, end, n, dtype) -> Array:
    """``n`` evenly spaced points from ``start`` to ``end`` inclusive (integer types: PyTorch's
    two-sided formula in float64, truncated)."""
    if dtype.is_floating_point or dtype.name == "bool":
        step = (end - start) / (n - 1) if n > 1 else 0.0
        return arange(float(start), float(step), n, dtype)
    # PyTorch converts the ends to the type first (wrapping: -3 is 253 in uint8)
    start, end = (int(np.array(int(v), dtype=np.int64).astype(dtype.numpy)) for v in (start, end))
    step = (end - start) / (n - 1) if n > 1 else 0.0
    if n == 1:
        end = start  # a single point is start (the kernel's formula would give end)
    out = empty((n,), dtype)
    if n:
        step_bits = int(np.array(step, dtype=np.float64).view(np.int64))
        block, warps = _launch_config()
        runtime.kernels().memory.linspace_int_kernel[grid_1d(n, block)](
            pointer(out), n, start, end, step_bits, n // 2, BLOCK=block, num_warps=warps)
    return out


def eye(n, m, dtype) -> Array:
    """Ones on the main diagonal of an ``n`` x ``m`` matrix."""
    out = empty((n, m), dtype)
    if n * m:
        block, warps = _launch_config()
        runtime.kernels().memory.eye_kernel[grid_1d(n * m, block)](pointer(out), n, m, BLOCK=block,
                                                                 num_warps=warps)
    return out


def device_assert(cond: Array, op: str, message: str) -> None:
    """Flag ``op``'s error on the device when an element of the bool array ``cond`` is False;
    raised at the next host synchronization (``device_errors``), nothing is read back here."""
    n = cond.numel
    if n == 0:
        return
    from . import device_errors
    cond = contiguous(cond)
    checks = runtime.kernels().checks
    config = checks.CHECK_CONFIGS[0]
    checks.assert_kernel[grid_1d(n, config["BLOCK"])](
        pointer(cond), n, *device_errors.flag_args(op, message=message), BLOCK=config["BLOCK"],
        num_warps=config["num_warps"])


KERNELS = {
    "empty": empty, "full": full, "arange": arange, "linspace": linspace, "eye": eye,
    "from_numpy": from_numpy, "to_numpy": to_numpy, "as_numpy": as_numpy, "data_ptr": data_ptr,
    "copy_": copy_,
    "device_assert": device_assert,
}
