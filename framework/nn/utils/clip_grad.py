"""Gradient clipping (``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_``)."""
from __future__ import annotations

import math
import warnings
from typing import Iterable

from ... import ops
from ..._backends import for_device
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _as_list(tensors) -> list:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(x: Tensor, norm_type: float) -> Tensor:
    return x.abs().amax() if norm_type == math.inf else x.norm(norm_type)


def _euclidean_norms(tensors: list):
    """Each tensor's 2-norm as ``x.norm(2)`` computes it (``sqrt(sum(x * x))``: the same
    ``mul``, ``sum`` and ``sqrt`` kernel calls), by the backend kernels on the arrays: a
    clipping step takes one norm per parameter, and the op layer would cost more than the
    kernels. None unless every tensor is a plain floating-point ``Tensor``."""
    if not all(type(t) is Tensor and t._a.dtype.is_floating_point for t in tensors):
        return None
    norms = []
    for t in tensors:
        kernels, a, dtype = for_device(t._device), t._a, t._a.dtype
        squares = kernels.mul(a, a, dtype, dtype)
        total = kernels.sum(squares, tuple(range(len(a.shape))), dtype)
        if total.shape != ():
            total = total.view((), (), total.offset)
        norms.append(Tensor._make(kernels.sqrt(total, dtype), t._device))
    return norms


def _stack_scalars(norms: list) -> Tensor:
    """``stack(norms)`` on the first norm's device: for 0-d norms of one device and dtype,
    one ``empty`` and a ``copy_`` per norm on the arrays (the same values)."""
    first = norms[0]
    device, dtype = first._device, first._a.dtype
    if not all(type(n) is Tensor and n._a.shape == () and n._a.dtype is dtype
               and n._device == device for n in norms):
        return ops.shape.stack([n if n.device == first.device else n.to(first.device)
                                for n in norms])
    kernels = for_device(device)
    stacked = kernels.empty((len(norms),), dtype)
    for i, n in enumerate(norms):
        kernels.copy_(stacked.view((), (), stacked.offset + i * stacked.strides[0]), n._a)
    return Tensor._make(stacked, device)


def get_total_norm(tensors: Iterable[Tensor] | Tensor, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The ``norm_type`` norm of all ``tensors`` together (the norm of their norms)."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return ops.creation.tensor(0.0)
    with no_grad():
        norms = _euclidean_norms(tensors) if norm_type == 2.0 else None
        if norms is None:
            norms = [_vector_norm(t, norm_type) for t in tensors]
        total = _vector_norm(_stack_scalars(norms), norm_type)
    if error_if_nonfinite and not bool(total.isfinite()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                          total_norm: Tensor, foreach=None) -> None:
    """Scale the gradients in place by ``max_norm / (total_norm + 1e-6)`` when that is below 1."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    with no_grad():
        coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
        cast = {}  # the coefficient per (device, dtype) of the gradients, converted once
        for g in grads:
            key = (g.device, g.dtype)
            if key not in cast:
                cast[key] = coef.to(g.device, g.dtype)
            g.mul_(cast[key])


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale the gradients in place so their total ``norm_type`` norm is at most ``max_norm``;
    returns the total norm before clipping."""
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float,
                     foreach=None) -> None:
    """Clamp every gradient in place to ``[-clip_value, clip_value]``."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)


def clip_grad_norm(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                   norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """Deprecated alias of ``clip_grad_norm_`` (warns, as torch's)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)
