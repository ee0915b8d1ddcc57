"""``LazyModuleMixin``: modules whose parameter shapes come from their first input.

A lazy module holds ``UninitializedParameter`` / ``UninitializedBuffer`` placeholders
until its first call: a forward pre-hook runs ``initialize_parameters(*args, **kwargs)``
(which materializes them in place and initializes their values), removes itself and
turns the module into its ``cls_to_become`` (``LazyLinear`` becomes ``Linear``). The
parameter objects are kept, so an optimizer built over them before the first call
updates the materialized ones. A state dict with initialized values materializes the
placeholders when loaded, as in PyTorch (``torch.nn.modules.lazy``).
"""
from __future__ import annotations

import itertools

from ..parameter import is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """Mixin (listed before the module class) for modules with lazily shaped parameters."""

    cls_to_become = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters,
                                                               with_kwargs=True)

    def _lazy_tensors(self):
        """(name, tensor) of every parameter and buffer of this module itself."""
        return itertools.chain(self._parameters.items(), self._buffers.items())

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer of this module is still uninitialized."""
        return any(is_lazy(t) for _, t in self._lazy_tensors())

    def initialize_parameters(self, *args, **kwargs) -> None:
        """Materialize and initialize the parameters from the first input (per subclass)."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {type(self).__name__}")

    def _infer_parameters(self, module, args, kwargs=None) -> None:
        """The forward pre-hook: initialize, check, drop the hook, become ``cls_to_become``."""
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        del module._initialize_hook
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        """Like ``Module``'s, with the placeholders themselves for uninitialized entries."""
        for name, t in self._lazy_tensors():
            if t is None or name in self._non_persistent_buffers_set:
                continue
            destination[prefix + name] = t if (keep_vars or is_lazy(t)) else t.detach()

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict,
                              strict: bool, missing_keys: list, unexpected_keys: list,
                              error_msgs: list) -> None:
        """Materialize placeholders to the shapes of the initialized values being loaded; an
        entry uninitialized on both sides stays uninitialized (nothing to copy)."""
        both_lazy = set()
        for name, t in self._lazy_tensors():
            key = prefix + name
            if t is None or key not in state_dict or not is_lazy(t):
                continue
            if is_lazy(state_dict[key]):
                both_lazy.add(key)
            else:
                t.materialize(tuple(state_dict[key].shape))
        if both_lazy:
            state_dict = {k: v for k, v in state_dict.items() if k not in both_lazy}
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
        missing_keys[:] = [k for k in missing_keys if k not in both_lazy]


class _LazyLayer(LazyModuleMixin):
    """A lazy form of a layer with ``reset_parameters``: the reset waits until the
    parameters are materialized and the inferred size (attribute ``_inferred``) is known."""

    _inferred = ""

    def reset_parameters(self) -> None:
        """The layer's reset, once its parameters have shapes."""
        if not self.has_uninitialized_params() and getattr(self, self._inferred) != 0:
            super().reset_parameters()

    def _materialize(self, **shapes) -> None:
        """Materialize the named placeholders (absent ones, None, are skipped), then reset."""
        for name, shape in shapes.items():
            t = getattr(self, name)
            if t is not None:
                t.materialize(shape)
        self.reset_parameters()
