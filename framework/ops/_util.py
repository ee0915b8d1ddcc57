"""Small helpers every op module uses: dispatch, wrapping results, validation."""
from __future__ import annotations

import functools

from .. import dtypes
from .._backends import for_device
from ..tensor import Tensor


def backend(t: Tensor):
    """The kernel namespace serving ``t``'s device."""
    return for_device(t._device)


def wrap(array, device, requires_grad: bool = False) -> Tensor:
    """A new tensor on ``device`` around a backend ``Array``."""
    return Tensor._make(array, device, requires_grad)


def is_tensor(x) -> bool:
    """True for framework tensors."""
    return isinstance(x, Tensor)


def check_tensor(op: str, name: str, x) -> None:
    """Raise ``TypeError`` unless ``x`` is a tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")


def common_device(op: str, *xs):
    """The device shared by the tensor operands; ``RuntimeError`` when they differ.

    As in PyTorch, zero-dim CPU tensors may join operands on another device.
    """
    device = None
    for x in xs:
        if not isinstance(x, Tensor):
            continue
        if device is None:
            device = x._device
        elif x._device is not device and x._device != device:
            if x.ndim == 0 and x._device.type == "cpu":
                continue
            if device.type == "cpu" and _is_cpu_scalar(xs, device):
                device = x._device
                continue
            raise RuntimeError(
                f"{op}(): Expected all tensors to be on the same device, but found at least two "
                f"devices, {device} and {x._device}!")
    return device


def _is_cpu_scalar(xs, device) -> bool:
    firsts = [x for x in xs if isinstance(x, Tensor) and x._device == device]
    return all(x.ndim == 0 for x in firsts)


def broadcast_shapes(op: str, *shapes) -> tuple:
    """Broadcast shapes like PyTorch; ``RuntimeError`` naming ``op`` when they don't fit."""
    if len(shapes) == 2 and shapes[0] == shapes[1]:
        return tuple(shapes[0])
    try:
        result = _broadcast_cached(shapes)
    except TypeError:  # unhashable sizes (lists): compute directly
        result = None
    return result if result is not None else _broadcast(op, shapes)


@functools.lru_cache(maxsize=1024)
def _broadcast_cached(shapes: tuple) -> "tuple | None":
    """The broadcast shape of hashable ``shapes``, or None when they don't fit."""
    try:
        return _broadcast("", shapes)
    except RuntimeError:
        return None


def _broadcast(op: str, shapes) -> tuple:
    ndim = max((len(s) for s in shapes), default=0)
    result = [1] * ndim
    for shape in shapes:
        pad = ndim - len(shape)
        for i, size in enumerate(shape):
            current = result[pad + i]
            if current == 1:
                result[pad + i] = size
            elif size != 1 and size != current:
                raise RuntimeError(
                    f"{op}(): The size of tensor a ({current}) must match the size of tensor b "
                    f"({size}) at non-singleton dimension {pad + i}: shapes "
                    + " and ".join(str(tuple(s)) for s in shapes) + " are not broadcastable")
    return tuple(result)


def normalize_dim(op: str, dim: int, ndim: int) -> int:
    """Wrap a negative dim; ``IndexError`` when out of range (scalars accept -1 and 0)."""
    size = max(ndim, 1)
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"{op}(): dim must be an int, got {type(dim).__name__}")
    if not -size <= dim < size:
        raise IndexError(f"{op}(): Dimension out of range (expected to be in range of "
                         f"[{-size}, {size - 1}], but got {dim})")
    return dim % size


def normalize_dims(op: str, dims, ndim: int) -> tuple:
    """Sorted unique wrapped dims; ``None`` or ``()`` means all dims."""
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, int):
        dims = (dims,)
    wrapped = [normalize_dim(op, d, ndim) for d in dims]
    if len(set(wrapped)) != len(wrapped):
        raise RuntimeError(f"{op}(): dim {wrapped} appears multiple times in the list of dims")
    if ndim == 0:
        return ()
    return tuple(sorted(wrapped))


def float_dtype_of(d: dtypes.dtype) -> dtypes.dtype:
    """``d`` if floating, else the default float dtype (int inputs of float ops)."""
    return d if d.is_floating_point else dtypes.get_default_dtype()
