"""Pruning (``torch.nn.utils.prune``): zero parts of a parameter through a mask.

Pruning parameter ``name`` of a module moves it to the parameter ``name + "_orig"``, adds
the buffer ``name + "_mask"`` (ones where entries are kept) and a forward pre-hook (the
pruning method itself) that sets the plain attribute ``module.<name> = orig * mask`` before
each call, so gradients reach ``_orig`` and are zero where the mask is. Pruning the same
parameter again stacks the methods in a ``PruningContainer``, each new mask computed on what
the previous ones kept; ``remove`` makes the pruned values a plain parameter again.

Methods: ``Identity``, ``RandomUnstructured``, ``L1Unstructured``, ``RandomStructured``,
``LnStructured`` and ``CustomFromMask``, each with its function (``l1_unstructured`` ...),
plus ``global_unstructured`` (one unstructured method over several parameters at once).
Names, arguments, defaults and errors follow torch 2.13."""
from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

from ... import ops
from ...tensor import Tensor
from .convert_parameters import parameters_to_vector

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured",
           "L1Unstructured", "RandomStructured", "LnStructured", "CustomFromMask", "identity",
           "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
           "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


class BasePruningMethod(ABC):
    """Base of the pruning methods: a subclass defines ``compute_mask`` (and its
    ``PRUNING_TYPE``: ``"unstructured"``, ``"structured"`` or ``"global"``); an instance
    is the forward pre-hook of the module it prunes."""

    _tensor_name: str

    def __call__(self, module, inputs) -> None:
        """The forward pre-hook: ``module.<name> = <name>_orig * <name>_mask``."""
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The mask for importance scores ``t``, on top of ``default_mask`` (the mask of
        earlier pruning, ones the first time); same shape as ``t``."""

    def apply_mask(self, module) -> Tensor:
        """``mask * orig`` from the module's ``<name>_mask`` and ``<name>_orig``."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module, name: str, *args, importance_scores=None, **kwargs):
        """Prune parameter ``name`` of ``module`` with ``cls(*args, **kwargs)`` (stacked
        onto an earlier pruning of it in a ``PruningContainer``); the mask is computed from
        ``importance_scores`` (same shape as the parameter; default: the parameter).
        Returns the method now hooked on the module."""
        method = _composite_method(cls, module, name, *args, **kwargs)
        orig = getattr(module, name)
        importance_scores = _checked_scores(importance_scores, orig,
                                            f"parameter {name} of {module}")
        first = not isinstance(method, PruningContainer)
        if first:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = ops.creation.ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            mask = method.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if first:  # roll back: ``name`` a parameter again
                module.register_parameter(name, getattr(module, name + "_orig"))
                del module._parameters[name + "_orig"]
            raise
        return method

    def prune(self, t: Tensor, default_mask: Tensor | None = None,
              importance_scores: Tensor | None = None) -> Tensor:
        """``t`` times the mask this method computes from ``importance_scores`` (default:
        ``t``) on top of ``default_mask`` (default: ones)."""
        importance_scores = _checked_scores(importance_scores, t, "tensor t")
        if default_mask is None:
            default_mask = ops.creation.ones_like(t)
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module) -> None:
        """Make the pruning permanent: ``<name>`` becomes a plain parameter holding the
        pruned values; ``<name>_orig``, ``<name>_mask`` go (the hook is the caller's)."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be "
                                 "removed")
        weight = self.apply_mask(module)
        if hasattr(module, self._tensor_name):
            delattr(module, self._tensor_name)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = weight.data
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        setattr(module, self._tensor_name, orig)


def _checked_scores(importance_scores, t: Tensor, what: str) -> Tensor:
    """``importance_scores``, checked to have ``t``'s shape; ``t`` itself when None."""
    if importance_scores is None:
        return t
    if importance_scores.shape != t.shape:
        raise AssertionError(f"importance_scores should have the same shape as {what}, got "
                             f"{importance_scores.shape} vs {t.shape}")
    return importance_scores


def _composite_method(cls, module, name: str, *args, **kwargs) -> BasePruningMethod:
    """A new ``cls(*args, **kwargs)`` for ``name``, combined with the pruning hook already
    on ``module.<name>`` (whose hook is taken off: ``apply`` registers the result)."""
    old_keys = [k for k, hook in module._forward_pre_hooks.items()
                if isinstance(hook, BasePruningMethod) and hook._tensor_name == name]
    if len(old_keys) > 1:
        raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor {name} "
                             f"of module {module}. Use a PruningContainer.")
    old_method = module._forward_pre_hooks[old_keys[0]] if old_keys else None
    for k in old_keys:
        del module._forward_pre_hooks[k]
    method = cls(*args, **kwargs)
    method._tensor_name = name
    if isinstance(old_method, PruningContainer):
        old_method.add_pruning_method(method)
        return old_method
    if isinstance(old_method, BasePruningMethod):
        container = PruningContainer(old_method)
        container.add_pruning_method(method)
        return container
    return method


class PruningContainer(BasePruningMethod):
    """A sequence of pruning methods of one parameter (iterative pruning): its mask is the
    last method's, computed on what the earlier masks kept. Built from one method, or from
    several (then set ``_tensor_name`` first, as torch)."""

    def __init__(self, *args) -> None:
        self._pruning_methods: tuple = ()
        if len(args) == 1:
            self._tensor_name = args[0]._tensor_name
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method) -> None:
        """Append ``method`` (a ``BasePruningMethod`` of the same parameter)."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError("Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found "
                             f"'{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask`` with the last method's mask computed on the part it left:
        the kept entries (unstructured), the channels not yet all zero (structured) or
        everything (global)."""
        method = self._pruning_methods[-1]
        new_mask = default_mask.to(dtype=t.dtype)
        slc = _unpruned_part(method, t, default_mask)
        partial_mask = method.compute_mask(t[slc], default_mask=default_mask[slc])
        new_mask[slc] = partial_mask.to(dtype=new_mask.dtype)
        return new_mask


def _unpruned_part(method: BasePruningMethod, t: Tensor, mask: Tensor):
    """The index of the part of ``t`` that ``method`` prunes next, given the earlier
    ``mask`` (see ``PruningContainer.compute_mask``)."""
    if method.PRUNING_TYPE == "unstructured":
        return mask == 1
    n_dims = t.dim()
    if method.PRUNING_TYPE == "global":
        return (slice(None),) * n_dims
    if method.PRUNING_TYPE != "structured":
        raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")
    if not hasattr(method, "dim"):
        raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to have the '
                             "attribute `dim` defined.")
    dim = method.dim + n_dims if method.dim < 0 else method.dim
    if dim < 0:
        raise IndexError(f"Index is out of bounds for tensor with dimensions {n_dims}")
    keep_channel = mask.sum(dim=[d for d in range(n_dims) if d != dim]) != 0
    return _channel_index(n_dims, dim, keep_channel)


def _channel_index(n_dims: int, dim: int, channels) -> tuple:
    """The index selecting ``channels`` (a bool mask or indices) along ``dim``."""
    slc = [slice(None)] * n_dims
    slc[dim] = channels
    return tuple(slc)


class Identity(BasePruningMethod):
    """Prunes nothing: the reparametrization with a mask of ones."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module, name: str):
        """Reparametrize ``module.<name>`` with a mask of ones."""
        return super().apply(module, name)


class _AmountMethod(BasePruningMethod):
    """A method pruning ``amount`` units (an int: that many; a float in [0, 1]: that
    fraction); ``_nparams_toprune`` turns it into a count for a tensor."""

    def __init__(self, amount) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def _nparams_toprune(self, tensor_size: int) -> int:
        nparams_toprune = _compute_nparams_toprune(self.amount, tensor_size)
        _validate_pruning_amount(nparams_toprune, tensor_size)
        return nparams_toprune


class _UnstructuredMethod(_AmountMethod):
    """A method pruning ``amount`` single entries."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        mask = default_mask.clone()
        nparams_toprune = self._nparams_toprune(t.nelement())
        if nparams_toprune != 0:
            mask.view(-1)[self._pruned_entries(t, nparams_toprune)] = 0
        return mask

    def _pruned_entries(self, t: Tensor, nparams_toprune: int) -> Tensor:
        """The flat positions in ``t`` of the ``nparams_toprune`` entries to prune."""
        raise NotImplementedError


class RandomUnstructured(_UnstructuredMethod):
    """Prunes ``amount`` (currently unpruned) entries chosen at random."""

    def _pruned_entries(self, t: Tensor, nparams_toprune: int) -> Tensor:
        return ops.creation.rand_like(t).view(-1).topk(nparams_toprune).indices

    @classmethod
    def apply(cls, module, name: str, amount):
        """Prune ``amount`` random entries of ``module.<name>``."""
        return super().apply(module, name, amount=amount)


class L1Unstructured(_UnstructuredMethod):
    """Prunes the ``amount`` (currently unpruned) entries of smallest absolute value."""

    def _pruned_entries(self, t: Tensor, nparams_toprune: int) -> Tensor:
        return t.abs().view(-1).topk(nparams_toprune, largest=False).indices

    @classmethod
    def apply(cls, module, name: str, amount, importance_scores=None):
        """Prune the ``amount`` entries of ``module.<name>`` (or of ``importance_scores``)
        of smallest absolute value."""
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class _StructuredMethod(_AmountMethod):
    """A method pruning ``amount`` whole channels (slices along ``dim``)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim: int = -1) -> None:
        super().__init__(amount)
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        _validate_structured_pruning(t)
        _validate_pruning_dim(t, self.dim)
        nchannels = t.shape[self.dim]
        nparams_toprune = self._nparams_toprune(nchannels)
        if nparams_toprune == 0:
            return default_mask
        mask = ops.creation.zeros_like(t)
        mask[_channel_index(t.dim(), self.dim, self._kept_channels(t, nparams_toprune))] = 1
        mask *= default_mask.to(dtype=mask.dtype)
        return mask

    def _kept_channels(self, t: Tensor, nparams_toprune: int) -> Tensor:
        """The channels along ``dim`` to keep (bool mask or indices)."""
        raise NotImplementedError


class RandomStructured(_StructuredMethod):
    """Prunes ``amount`` (currently unpruned) channels along ``dim``, chosen at random."""

    def _kept_channels(self, t: Tensor, nparams_toprune: int) -> Tensor:
        prob = ops.creation.rand(t.shape[self.dim], device=t.device)
        threshold = prob.kthvalue(nparams_toprune).values
        return prob > threshold

    @classmethod
    def apply(cls, module, name: str, amount, dim: int = -1):
        """Prune ``amount`` random channels of ``module.<name>`` along ``dim``."""
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(_StructuredMethod):
    """Prunes the ``amount`` (currently unpruned) channels along ``dim`` of smallest
    L``n``-norm (``n`` as ``p`` of ``torch.norm``)."""

    def __init__(self, amount, n, dim: int = -1) -> None:
        super().__init__(amount, dim)
        self.n = n

    def _kept_channels(self, t: Tensor, nparams_toprune: int) -> Tensor:
        norm = _compute_norm(t, self.n, self.dim)
        return norm.topk(t.shape[self.dim] - nparams_toprune, largest=True).indices

    @classmethod
    def apply(cls, module, name: str, amount, n, dim, importance_scores=None):
        """Prune the ``amount`` channels of ``module.<name>`` (or of ``importance_scores``)
        along ``dim`` of smallest L``n``-norm."""
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes with a given ``mask`` (on top of any earlier one)."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if default_mask.shape != self.mask.shape:
            raise AssertionError(f"default_mask shape {default_mask.shape} must match "
                                 f"self.mask shape {self.mask.shape}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module, name: str, mask: Tensor):
        """Prune ``module.<name>`` with ``mask``."""
        return super().apply(module, name, mask=mask)


# the functional forms: prune ``module.<name>`` in place and return ``module`` -----------
def identity(module, name: str):
    """Reparametrize ``module.<name>`` as pruned, with a mask of ones."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name: str, amount):
    """Prune ``amount`` random (currently unpruned) entries of ``module.<name>``."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name: str, amount, importance_scores=None):
    """Prune the ``amount`` (currently unpruned) entries of ``module.<name>`` of smallest
    absolute value (of ``importance_scores``, when given)."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name: str, amount, dim: int):
    """Prune ``amount`` random (currently unpruned) channels of ``module.<name>`` along
    ``dim``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name: str, amount, n, dim: int, importance_scores=None):
    """Prune the ``amount`` (currently unpruned) channels of ``module.<name>`` along ``dim``
    of smallest L``n``-norm (of ``importance_scores``, when given)."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name: str, mask: Tensor):
    """Prune ``module.<name>`` with the given ``mask``."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs) -> None:
    """Prune the ``(module, name)`` pairs of ``parameters`` together: ``pruning_method``
    (an unstructured method class, built with ``kwargs``, e.g. ``amount``) chooses among
    all their (currently unpruned) entries at once; ``importance_scores`` maps a pair to
    its scores. Each parameter gets its slice of the mask through ``custom_from_mask``."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    parameters = list(parameters)  # read three times below (torch reads a generator once)
    scores = parameters_to_vector([importance_scores.get((module, name), getattr(module, name))
                                   for module, name in parameters])
    default_mask = parameters_to_vector([_mask_or_ones(module, name)
                                         for module, name in parameters])
    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f"Found method {pruning_method} of type {method.PRUNING_TYPE}")
    container.add_pruning_method(method)
    final_mask = container.compute_mask(scores, default_mask)
    pointer = 0
    for module, name in parameters:
        param = getattr(module, name)
        num_param = param.numel()
        custom_from_mask(module, name, mask=final_mask[pointer:pointer + num_param].view_as(param))
        pointer += num_param


def _mask_or_ones(module, name: str) -> Tensor:
    """``module.<name>_mask``, or ones shaped like ``module.<name>`` when not pruned."""
    mask = getattr(module, name + "_mask", None)
    return mask if mask is not None else ops.creation.ones_like(getattr(module, name))


def remove(module, name: str):
    """Make the pruning of ``module.<name>`` permanent (a plain parameter holding the
    pruned values) and drop its hook, ``<name>_orig`` and ``<name>_mask``."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning "
                     "can be removed")


def is_pruned(module) -> bool:
    """Whether ``module`` or a submodule carries a pruning hook."""
    return any(isinstance(hook, BasePruningMethod)
               for _, submodule in module.named_modules()
               for hook in submodule._forward_pre_hooks.values())


# validation, as torch's helpers ------------------------------------------------------------
def _validate_pruning_amount_init(amount) -> None:
    """``amount`` is a non-negative int or a real in [0, 1]."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if isinstance(amount, numbers.Integral):
        bad = amount < 0
    else:
        bad = float(amount) > 1.0 or float(amount) < 0.0
    if bad:
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def _validate_pruning_amount(amount, tensor_size: int) -> None:
    """An int ``amount`` is at most ``tensor_size``."""
    if isinstance(amount, numbers.Integral) and amount > tensor_size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to "
                         f"prune={tensor_size}")


def _validate_structured_pruning(t: Tensor) -> None:
    """Channels need at least two dims."""
    shape = t.shape
    if len(shape) <= 1:
        raise ValueError("Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {shape} with {len(shape)} dims")


def _compute_nparams_toprune(amount, tensor_size: int) -> int:
    """``amount`` as a count: an int as it is, a fraction of ``tensor_size`` rounded."""
    if isinstance(amount, numbers.Integral):
        return amount
    return round(amount * tensor_size)


def _validate_pruning_dim(t: Tensor, dim: int) -> None:
    """``dim`` is below ``t.dim()`` (negative dims are not checked, as torch)."""
    if dim >= t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")


def _compute_norm(t: Tensor, n, dim: int) -> Tensor:
    """The L``n``-norm of each channel of ``t`` along ``dim`` (over all other dims)."""
    dims = list(range(t.dim()))
    dims.remove(dims[dim])
    return ops.reduce.norm(t, p=n, dim=dims)
