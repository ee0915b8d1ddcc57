"""Device moves and dtype casts (``Tensor.to``), ``clone`` and ``contiguous`` copies."""
from __future__ import annotations

from .. import dtypes
from ..autograd.function import Function
from .._backends import for_device
from ..devices import as_device, device as Device
from ..tensor import Tensor
from ._util import backend, wrap
from .registry import register

__all__ = ["clone"]  # exported as framework.<name>; ``to`` is the method Tensor.to
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = ("clone",)

register("to", "conversion", ("copy_", "from_numpy", "to_numpy", "empty"))
register("clone", "conversion", ("empty", "copy_"))


def copy_array(x: Tensor, dtype=None, device=None):
    """A contiguous copy of ``x``'s data as a backend ``Array`` (cast and/or moved)."""
    dtype = dtype or x.dtype
    device = device or x.device
    if device == x.device:
        kernels = backend(x)
        out = kernels.empty(tuple(x.shape), dtype)
        kernels.copy_(out, x._a)
        return out
    host = x._host()
    return for_device(device).from_numpy(host, dtype)


class _Cast(Function):
    """Cast and/or move; the gradient goes back to the input's dtype and device."""

    node_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, dtype, device):
        ctx.src = (x.dtype, x.device)
        return wrap(copy_array(x, dtype, device), device)

    @staticmethod
    def backward(ctx, grad):
        src_dtype, src_device = ctx.src
        return _Cast.apply(grad, src_dtype, src_device), None, None


def _parse_to_args(x: Tensor, args, kwargs):
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)  # (applied by ``to`` itself)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    dtype = dtypes.as_dtype(dtype, "to")
    for arg in args:
        if any(arg is python_type for python_type in (float, int, bool)):
            arg = dtypes.as_dtype(arg, "to")
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, dtypes.dtype):
            dtype = arg
        elif isinstance(arg, (str, Device, int)):
            device = as_device(arg)
        elif isinstance(arg, bool):
            continue
        else:
            raise TypeError(f"to() received an invalid combination of arguments: {arg!r}")
    device = as_device(device) if device is not None else x.device
    return device, dtype or x.dtype, copy


def to(x: Tensor, *args, **kwargs) -> Tensor:
    """``x`` on another device and/or dtype (and in ``memory_format``, if given); ``x`` itself
    when nothing changes."""
    fmt = kwargs.get("memory_format")
    if fmt is not None:
        from .. import _memory
        from .shape import contiguous
        fmt = _memory.check("to", fmt)
        moved = to(x, *args, **{k: v for k, v in kwargs.items() if k != "memory_format"})
        if fmt is _memory.preserve_format:
            return moved
        return contiguous(moved, fmt)
    device, dtype, copy = _parse_to_args(x, args, dict(kwargs))
    if device.type == "cuda":
        for_device(device)  # clear error when cuda is unavailable
    if device == x.device and dtype is x.dtype and not copy:
        return x
    if x.requires_grad and not dtype.is_floating_point:
        from ..autograd.grad_mode import no_grad
        with no_grad():
            return _Cast.apply(x, dtype, device)
    return _Cast.apply(x, dtype, device)


class _Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return wrap(copy_array(x), x.device)

    @staticmethod
    def backward(ctx, grad):
        return grad


def clone(x: Tensor, memory_format=None) -> Tensor:
    """A copy of ``x`` that records a gradient: row-major, or channels-last where
    ``memory_format`` asks for it (``preserve_format``: where ``x`` is dense channels-last).
    The default is row-major (PyTorch's is ``preserve_format``): the library's own callers
    rely on clones being contiguous; values are the same either way."""
    if memory_format is None:  # (the common call, kept as cheap as before)
        return _Clone.apply(x)
    from .. import _memory
    fmt = _memory.check("clone", memory_format)
    if fmt is _memory.preserve_format:
        fmt = _memory.suggest(tuple(x.shape), x.stride())
    dims = _memory.order(fmt, x.ndim)
    if dims is None:
        return _Clone.apply(x)
    inverse = tuple(dims.index(d) for d in range(x.ndim))
    return _Clone.apply(x.permute(*dims)).permute(*inverse)
