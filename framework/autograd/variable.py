"""``torch.autograd.Variable``: the wrapper of PyTorch before 0.4, kept so old scripts run.

``Variable(data, requires_grad=False, volatile=False)`` makes no wrapper: it returns
``data.detach()`` (sharing its memory) with ``requires_grad`` set, as torch's legacy
constructor; ``volatile`` does nothing but warn. Every tensor is an instance of ``Variable``
(the metaclass answers ``isinstance``)."""
from __future__ import annotations

import warnings

from ..tensor import Tensor

__all__ = ["VariableMeta", "Variable"]


class VariableMeta(type):
    """Makes ``isinstance(x, Variable)`` mean ``isinstance(x, Tensor)``."""

    def __instancecheck__(cls, other) -> bool:
        return isinstance(other, Tensor)


class Variable(metaclass=VariableMeta):
    """``Variable(data=None, requires_grad=False, volatile=False)``: ``data`` detached, with
    ``requires_grad`` set (no ``data``: an empty tensor). Errors as torch's."""

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False,
                _grad_fn=None, name: str | None = None) -> Tensor:
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with "
                          "torch.no_grad():` instead.", UserWarning, stacklevel=2)
        if volatile and requires_grad:
            raise ValueError("Variable can't be volatile and require_grad at the same time!")
        if _grad_fn is not None:
            raise RuntimeError("_grad_fn argument to legacy Variable constructor is no longer "
                               "supported.  Instead, please invoke your _grad_fn to produce a "
                               "variable with it as the _grad_fn.")
        if data is None:
            from ..ops.creation import empty
            var = empty(0)
        elif isinstance(data, Tensor):
            var = data.detach()
        else:
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return var.requires_grad_(bool(requires_grad))
