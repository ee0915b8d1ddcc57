"""``Optimizer``: parameter groups, per-parameter state, ``step``, ``zero_grad``, state dicts.

The PyTorch contract: ``param_groups`` is a list of dicts, each holding its
``params`` and the hyper-parameters (defaults filled in); ``state`` maps a
parameter to its dict of buffers; ``state_dict()`` refers to parameters by
their index in group order, so it loads into a fresh optimizer over the same
model. Subclasses implement ``_update_group(group)``; each parameter's update
is one fused step (``framework/ops/optim.py``: one backend kernel, which bumps the
version of every tensor it writes), or, for Adam, AdamW and SGD with ``foreach``/``fused``
(the default), one multi-tensor kernel per (device, dtype) updates the whole group.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any, Callable, Iterable

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyper-parameter without a default (``lr`` of SGD in old PyTorch)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of all optimizers (``torch.optim.Optimizer``)."""

    def __init__(self, params: Iterable, defaults: dict) -> None:
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (defaults fill the rest)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter (to None by default, like PyTorch 2)."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    grad = param.grad
                    if grad.grad_fn is not None:
                        grad = grad.detach()
                        param.grad = grad
                    with no_grad():
                        grad.zero_()

    def step(self, closure: Callable | None = None):
        """One optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            from ..autograd.grad_mode import enable_grad
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement its update")

    # -- state dicts --------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{'state': {index: buffers}, 'param_groups': [hyper-parameters, params as indices]}``."""
        index_of: dict = {}
        groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            indices = []
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
                indices.append(index_of[id(param)])
            packed["params"] = indices
            groups.append(packed)
        state = {index_of[id(param)]: value for param, value in self._state_items()}
        return {"state": state, "param_groups": groups}

    def _state_items(self):
        for group in self.param_groups:
            for param in group["params"]:
                if param in self.state:
                    yield param, self.state[param]

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a ``state_dict()``; groups must match in number and sizes."""
        state_dict = copy.copy(state_dict)
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for ours, saved in zip(self.param_groups, saved_groups):
            if len(ours["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        param_of = {}
        for ours, saved in zip(self.param_groups, saved_groups):
            for index, param in zip(saved["params"], ours["params"]):
                param_of[index] = param
        self.state = defaultdict(dict)
        for index, buffers in state_dict["state"].items():
            index = int(index)
            if index not in param_of:
                continue
            param = param_of[index]
            self.state[param] = {key: _state_value_for(param, key, value)
                                 for key, value in buffers.items()}
        for ours, saved in zip(self.param_groups, saved_groups):
            for key, value in saved.items():
                if key != "params":
                    ours[key] = value


def _state_value_for(param: Tensor, key: str, value: Any):
    """A loaded state buffer on the parameter's device (``step`` stays a CPU scalar)."""
    if not isinstance(value, Tensor):
        return value
    if key == "step" or value.ndim == 0:
        return value.detach().clone()
    dtype = param.dtype if value.dtype.is_floating_point else value.dtype
    return value.detach().to(device=param.device, dtype=dtype).contiguous().clone()
