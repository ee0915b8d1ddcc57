"""Launch wrappers: copies, fills and creation kernels on ``cuda``."""
from __future__ import annotations

import functools

from ..array import Array
from . import runtime
from .launch import all_contiguous_same_shape, grid_1d, pack_strided, pointer
from .memory import empty, from_numpy, to_numpy  # noqa: F401 - part of this family's kernels


@functools.lru_cache(maxsize=None)
def _launch_config() -> tuple:
    """``(BLOCK, num_warps)`` of ``triton_kernels.copy.COPY_CONFIGS`` (read at the first launch:
    importing the kernels fixes the interpreter mode)."""
    config = runtime.kernels().copy.COPY_CONFIGS[0]
    return config["BLOCK"], config["num_warps"]


def copy_(dst: Array, src: Array) -> None:
    """``dst[...] = src`` (src broadcast to dst's shape, cast to dst's dtype)."""
    n = dst.numel
    if n == 0:
        return
    k = runtime.kernels().copy
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
        if dtype.is_floating_point:
            value = float(value)
        block, warps = _launch_config()
        runtime.kernels().copy.fill_kernel[grid_1d(n, block)](pointer(out), n, value, BLOCK=block,
                                                              num_warps=warps)
    return out


def arange(start, step, n, dtype) -> Array:
    """``start + i*step`` for ``i < n``."""
    if dtype.name == "float64":  # kernel scalars are fp32: build exact float64 values on the host
        import numpy as np
        from .memory import from_numpy
        return from_numpy(start + np.arange(n, dtype=np.float64) * step, dtype)
    out = empty((n,), dtype)
    if n:
        k = runtime.kernels().copy
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
    import numpy as np
    # PyTorch converts the ends to the type first (wrapping: -3 is 253 in uint8)
    start, end = (int(np.array(int(v), dtype=np.int64).astype(dtype.numpy)) for v in (start, end))
    step = (end - start) / (n - 1) if n > 1 else 0.0
    if n == 1:
        end = start  # a single point is start (the kernel's formula would give end)
    out = empty((n,), dtype)
    if n:
        step_bits = int(np.array(step, dtype=np.float64).view(np.int64))
        block, warps = _launch_config()
        runtime.kernels().copy.linspace_int_kernel[grid_1d(n, block)](
            pointer(out), n, start, end, step_bits, n // 2, BLOCK=block, num_warps=warps)
    return out


def eye(n, m, dtype) -> Array:
    """Ones on the main diagonal of an ``n`` x ``m`` matrix."""
    out = empty((n, m), dtype)
    if n * m:
        block, warps = _launch_config()
        runtime.kernels().copy.eye_kernel[grid_1d(n * m, block)](pointer(out), n, m, BLOCK=block,
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
    "from_numpy": from_numpy, "to_numpy": to_numpy, "copy_": copy_,
    "device_assert": device_assert,
}
