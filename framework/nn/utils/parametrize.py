"""``torch.nn.utils.parametrize``: a parameter or buffer computed by modules from stored
"original" tensors each time it is read.

``register_parametrization(module, "weight", P)`` moves ``module.weight`` to
``module.parametrizations.weight.original`` (or ``original0``, ``original1``, ... when
``P.right_inverse`` returns several tensors) and makes ``weight`` a property of a new class
``Parametrized<Class>`` that returns ``P(original)``; assigning ``module.weight = X`` stores
``right_inverse(X)``. The layout, and so the ``state_dict`` keys, are torch's.

``cached()`` is the one documented global state here: while it is active, each
parametrized tensor is computed once (keyed by module and name) and reused.
"""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from copy import deepcopy

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..modules.container import ModuleDict, ModuleList
from ..parameter import Parameter

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized",
           "remove_parametrizations", "type_before_parametrizations",
           "transfer_parametrizations_and_params"]

_cache_enabled = 0
_cache: dict = {}


@contextmanager
def cached():
    """Within this context, each parametrized tensor is computed on its first read and the
    result reused (e.g. a weight read at every step of a recurrent loop); nests."""
    global _cache_enabled, _cache
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache = {}


def _register_parameter_or_buffer(module, name: str, value: Tensor) -> None:
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _maybe_set(dest: Tensor, src: Tensor) -> None:
    """``dest.set_(src)``: ``dest`` (kept as the same object) takes ``src``'s memory."""
    dest.data = src


def _check_result(value, what: str, shape, dtype) -> None:
    """A parametrization's result (or right inverse's) keeps the tensor's shape and dtype."""
    if not isinstance(value, Tensor):
        raise ValueError(f"{what} must return a tensor. Got {type(value).__name__}.")
    hint = ", unless `unsafe` flag is enabled"
    if value.dtype != dtype:
        raise ValueError(f"Registering a parametrization may not change the dtype of the "
                         f"tensor{hint}.\nunparametrized dtype: {dtype}\nparametrized dtype: "
                         f"{value.dtype}")
    if tuple(value.shape) != tuple(shape):
        raise ValueError(f"Registering a parametrization may not change the shape of the "
                         f"tensor{hint}.\nunparametrized shape: {_size(shape)}\nparametrized "
                         f"shape: {_size(value.shape)}")


def _size(shape) -> str:
    return f"torch.Size({list(shape)})"


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and its originals
    (``original``, or ``original0``, ``original1``, ... when the first parametrization's
    ``right_inverse`` returns a sequence)."""

    def __init__(self, modules, original: Tensor, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = tuple(original.shape), original.dtype
        with no_grad():
            new = original
            for module in reversed(self):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors "
                             f"(list, tuple...). Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            self._register_original(original, new)
        else:
            self._register_originals(original, new)
        if not unsafe:
            _check_result(self(), "A parametrization", shape, dtype)

    def _register_original(self, original: Tensor, new: Tensor) -> None:
        if original.dtype != new.dtype:
            raise ValueError("When `right_inverse` outputs one tensor, it may not change the "
                             f"dtype.\noriginal.dtype: {original.dtype}\nright_inverse(original)"
                             f".dtype: {new.dtype}")
        with no_grad():
            _maybe_set(original, new)
        _register_parameter_or_buffer(self, "original", original)

    def _register_originals(self, original: Tensor, new) -> None:
        for i, value in enumerate(new):
            if not isinstance(value, Tensor):
                raise ValueError("'right_inverse' must return a Tensor or a Sequence of "
                                 f"tensors (list, tuple...). Got element {i} of the sequence "
                                 f"with type {type(value).__name__}.")
            if isinstance(original, Parameter):
                value = Parameter(value.detach(), original.requires_grad)
            value.requires_grad_(original.requires_grad)
            _register_parameter_or_buffer(self, f"original{i}", value)

    def right_inverse(self, value: Tensor) -> None:
        """Store ``value`` in the originals, through each parametrization's ``right_inverse``
        (last to first)."""
        with no_grad():
            for module in reversed(self):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not "
                                       "implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got "
                                     f"{type(value).__name__}")
                if value.dtype != self.original.dtype:
                    raise ValueError(f"The tensor returned by `right_inverse` has dtype "
                                     f"{value.dtype} while `original` has dtype "
                                     f"{self.original.dtype}")
                _maybe_set(self.original, value)
                return
            if not isinstance(value, Sequence) or len(value) != self.ntensors:
                raise ValueError(f"'right_inverse' must return a sequence of tensors of length "
                                 f"{self.ntensors}. Got {type(value).__name__}")
            for i, tensor in enumerate(value):
                _maybe_set(getattr(self, f"original{i}"), tensor)

    def forward(self) -> Tensor:
        """The parametrized tensor: the first parametrization of the originals, then the rest."""
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in list(self)[1:]:
            x = module(x)
        return x


def _inject_new_class(module) -> None:
    """Give ``module`` its own subclass ``Parametrized<Class>`` to hold the properties. Its
    instances deep-copy (sharing the class) but do not pickle, as torch's; its
    ``_load_from_state_dict`` first runs the hooks of ``_add_load_hook`` (framework's Module
    has no load-state-dict pre-hooks)."""
    cls = module.__class__

    def getstate(self):
        raise RuntimeError("Serialization of parametrized modules is only supported through "
                           "state_dict().")

    def default_deepcopy(self, memo):
        replica = memo.get(id(self))
        if replica is None:
            replica = self.__new__(self.__class__)
            memo[id(self)] = replica
            replica.__dict__ = deepcopy(self.__dict__, memo)
        return replica

    def load_from_state_dict(self, state_dict, prefix, *args) -> None:
        for hook in self.__dict__.get("_parametrize_load_hooks", ()):
            hook(state_dict, prefix)
        cls._load_from_state_dict(self, state_dict, prefix, *args)

    members = {"__getstate__": getstate, "_load_from_state_dict": load_from_state_dict}
    if not hasattr(cls, "__deepcopy__"):
        members["__deepcopy__"] = default_deepcopy
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), members)


def _add_load_hook(module, hook) -> None:
    """Run ``hook(state_dict, prefix)`` before the parametrized ``module`` loads its own
    entries of a state dict (e.g. to rename the keys of an older layout)."""
    module.__dict__.setdefault("_parametrize_load_hooks", []).append(hook)


def _inject_property(module, tensor_name: str) -> None:
    """``module.<tensor_name>``: read computes the parametrization (cached under ``cached()``),
    assignment goes through ``right_inverse``."""
    def get_parametrized(self):
        parametrization = self.parametrizations[tensor_name]
        if not _cache_enabled:
            return parametrization()
        key = (id(self), tensor_name)
        if _cache.get(key) is None:
            _cache[key] = parametrization()
        return _cache[key]

    def set_original(self, value) -> None:
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


def register_parametrization(module, tensor_name: str, parametrization, *,
                             unsafe: bool = False):
    """Parametrize ``module.<tensor_name>`` (a parameter, a buffer, or an already parametrized
    tensor, to which ``parametrization`` is appended) by the module ``parametrization``: see
    the module docstring. Unless ``unsafe``, the result must keep the tensor's shape and
    dtype. Returns ``module``."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            _check_appended(module, tensor_name, parametrization)
        module.parametrizations[tensor_name].append(parametrization)
        module.parametrizations[tensor_name].unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = parametrizations
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    return module


def _check_appended(module, tensor_name: str, parametrization) -> None:
    """A parametrization appended to a parametrized tensor keeps its shape and dtype, and so
    does its ``right_inverse``."""
    current = getattr(module, tensor_name)
    result = parametrization(current)
    _check_result(result, "A parametrization", current.shape, current.dtype)
    if hasattr(parametrization, "right_inverse"):
        try:
            inverse = parametrization.right_inverse(result)
        except NotImplementedError:
            return
        _check_result(inverse, "parametrization.right_inverse", current.shape, current.dtype)


def is_parametrized(module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has any parametrization (or one on ``tensor_name``)."""
    parametrizations = getattr(module, "parametrizations", None)
    if not isinstance(parametrizations, ModuleDict):
        return False
    if tensor_name is None:
        return len(parametrizations) > 0
    return tensor_name in parametrizations


def remove_parametrizations(module, tensor_name: str, leave_parametrized: bool = True):
    """Make ``module.<tensor_name>`` a plain parameter (or buffer) again: its current
    parametrized value with ``leave_parametrized``, else the original (which needs a single
    original tensor). The class is restored once no parametrization is left. Returns
    ``module``."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                _maybe_set(original, getattr(module, tensor_name))
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                             "that is parametrized in terms of a sequence of tensors.")
        t = getattr(module, tensor_name)
        original = Parameter(t.detach(), t.requires_grad) if t.requires_grad else t.detach()
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__dict__.pop("_parametrize_load_hooks", None)
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module) -> type:
    """The class of ``module`` before any parametrization was registered."""
    if is_parametrized(module):
        return module.__class__.__bases__[0]
    return type(module)


def transfer_parametrizations_and_params(from_module, to_module, tensor_name=None):
    """Register the parametrizations of ``from_module`` (all, or those of ``tensor_name``) on
    ``to_module`` too (creating the parameter there from ``from_module``'s value when it is
    missing), and make ``to_module`` share ``from_module``'s originals; returns
    ``to_module``."""
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        source = from_module.parametrizations[name]
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name).detach()))
        for parametrization in source:
            register_parametrization(to_module, name, parametrization)
        target = to_module.parametrizations[name]
        if source.is_tensor:
            target.original = source.original
            continue
        for i in range(source.ntensors):
            setattr(target, f"original{i}", getattr(source, f"original{i}"))
    return to_module
