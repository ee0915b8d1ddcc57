"""``Parameter``: a leaf tensor that a ``Module`` registers as one of its parameters."""
from __future__ import annotations

from ..tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A tensor that is a module parameter (``torch.nn.Parameter``).

    It shares memory with ``data`` and is a leaf that requires grad unless
    ``requires_grad=False``. Ops on a parameter give plain tensors; in-place
    ops under ``no_grad`` write into the parameter's memory.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> "Parameter":
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): expected data to be a Tensor, got {type(data).__name__}")
        p = cls._make(data._a, data._device, False)
        p.requires_grad = requires_grad
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        """State is set by ``__new__``."""

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo) -> "Parameter":
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(self.detach().clone(), self._requires_grad)
        if self.grad is not None:
            result.grad = self.grad.detach().clone()
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.detach(), self._requires_grad))


def _rebuild_parameter(data: Tensor, requires_grad: bool) -> Parameter:
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """Marks a tensor as a buffer when assigned to a ``Module`` attribute (``torch.nn.Buffer``)."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> "Buffer":
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        b = cls._make(data._a, data._device, data._requires_grad)
        b.persistent = persistent
        return b

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True) -> None:
        """State is set by ``__new__``."""
