"""``Parameter``: a leaf tensor that a ``Module`` registers as one of its parameters;
``Buffer``; and the placeholders of lazy modules, ``UninitializedParameter`` and
``UninitializedBuffer``."""
from __future__ import annotations

from ..tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


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


_SHAPE_OF_UNINITIALIZED = (
    "Can't access the shape of an uninitialized parameter or buffer. This error usually happens "
    "in `load_state_dict` when trying to load an uninitialized parameter into an initialized one. "
    "Call `forward` to initialize the parameters before accessing their attributes.")


class UninitializedTensorMixin:
    """A tensor whose shape is not known yet (``torch.nn.parameter.UninitializedTensorMixin``).

    It holds an empty array that only records device and dtype: ``to``/``cuda``/``float``...
    give another uninitialized tensor, ``materialize(shape)`` turns it into a
    ``cls_to_become`` of that shape in place (same object), and every other use of its
    data (any op) raises ``ValueError``; ``shape`` raises ``RuntimeError``, as in PyTorch.
    """

    cls_to_become: type = Tensor

    @property
    def _a(self):
        """The data, refused: the tensor has no shape yet."""
        raise ValueError(
            f"Attempted to use an uninitialized parameter or buffer ({type(self).__name__}). "
            "This error happens when you are using a `LazyModule` or explicitly manipulating "
            f"`framework.nn.parameter.{type(self).__name__}` objects. When using LazyModules "
            "call `forward` with a dummy batch to initialize the parameters before calling "
            "framework functions")

    @_a.setter
    def _a(self, array) -> None:
        # kept in the instance dict: after ``materialize`` changes the class it is the data
        self.__dict__["_a"] = array

    def _placeholder(self) -> Tensor:
        """The empty tensor that carries this one's device and dtype."""
        return Tensor._make(self.__dict__["_a"], self._device)

    @property
    def shape(self):
        """Refused: the shape is only known after ``materialize``."""
        raise RuntimeError(_SHAPE_OF_UNINITIALIZED)

    @property
    def dtype(self):
        """The dtype the tensor will have."""
        return self._placeholder().dtype

    def size(self, dim=None):
        """The placeholder's size, ``(0,)``, as PyTorch answers (``shape`` refuses)."""
        return self._placeholder().size(dim)

    def is_floating_point(self) -> bool:
        """Whether the dtype it will have is a floating-point one."""
        return self._placeholder().is_floating_point()

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Become a ``cls_to_become`` of ``shape`` (uninitialized values) on ``device`` with
        ``dtype`` (default: this tensor's), keeping the object (so optimizers that hold it
        see the new data)."""
        from ..ops.creation import empty
        device = self._device if device is None else device
        dtype = self.dtype if dtype is None else dtype
        array = empty(tuple(shape), device=device, dtype=dtype)
        self._a = array._a
        self._device = array._device
        self.__class__ = self.cls_to_become

    def to(self, *args, **kwargs) -> "UninitializedTensorMixin":
        """Another uninitialized tensor of this kind on the new device / with the new dtype."""
        moved = self._placeholder().to(*args, **kwargs)
        result = type(self)._make(moved.__dict__["_a"], moved._device, self._requires_grad)
        if hasattr(self, "persistent"):
            result.persistent = self.persistent
        return result

    def detach(self) -> "UninitializedTensorMixin":
        """A new uninitialized tensor with the same device and dtype."""
        return type(self)._make(self.__dict__["_a"], self._device, False)

    @property
    def data(self) -> "UninitializedTensorMixin":
        """``detach()``: still uninitialized."""
        return self.detach()

    @data.setter
    def data(self, other: Tensor) -> None:
        self._a = other.__dict__["_a"] if is_lazy(other) else other._a
        self._device = other._device

    def share_memory_(self):
        """Refused, as in PyTorch."""
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call "
                           "`forward` to initialize the parameters before calling "
                           "`module.share_memory()`.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = self.detach().requires_grad_(self._requires_grad)
        return memo[id(self)]

    def __reduce_ex__(self, protocol):
        return (_rebuild_uninitialized, (type(self), self._requires_grad, self.device, self.dtype))


def _rebuild_uninitialized(cls, requires_grad: bool, device, dtype):
    return cls(requires_grad, device, dtype)


def _empty_placeholder(device, dtype) -> Tensor:
    from ..ops.creation import empty
    return empty(0, device=device, dtype=dtype)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (``torch.nn.UninitializedParameter``): lazy
    modules hold these until their first ``forward``, which materializes them as ordinary
    ``Parameter`` s. ``device``/``dtype`` set what ``materialize`` uses by default."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None,
                dtype=None) -> "UninitializedParameter":
        data = _empty_placeholder(device, dtype)
        return cls._make(data._a, data._device, requires_grad)

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        """State is set by ``__new__``."""


class UninitializedBuffer(UninitializedTensorMixin, Buffer):
    """A buffer whose shape is not known yet (``torch.nn.UninitializedBuffer``); it becomes an
    ordinary tensor when ``materialize`` d. Assigned to a module attribute it is a buffer."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None,
                persistent: bool = True) -> "UninitializedBuffer":
        data = _empty_placeholder(device, dtype)
        b = cls._make(data._a, data._device, requires_grad)
        b.persistent = persistent
        return b

    def __init__(self, requires_grad: bool = False, device=None, dtype=None,
                 persistent: bool = True) -> None:
        """State is set by ``__new__``."""


def is_lazy(param) -> bool:
    """Whether ``param`` is an ``UninitializedParameter`` or ``UninitializedBuffer``."""
    return isinstance(param, UninitializedTensorMixin)
