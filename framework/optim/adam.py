"""Adam and AdamW (``torch.optim.Adam``, ``torch.optim.AdamW``).

``foreach=True`` or ``fused=True`` (and the default, both None) update every
parameter of a group with one ``adam_step_multi`` kernel call per (device,
dtype) and make the group's step tensors with one host copy; ``foreach=False``
runs ``adam_step`` per parameter. Both give the same numbers, to the bit
(docs/perf.md, "Multi-tensor optimizer steps").
"""
from __future__ import annotations

import math

from ._state import (MULTI_DTYPES, by_device_and_dtype, check_betas, check_fused_foreach,
                     check_fused_param, check_hyper, params_with_grad, reject_unsupported,
                     step_count, step_counts, use_multi_tensor, zeros_state)
from ..ops.optim import adam_step_, adam_step_multi_
from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam; ``weight_decay`` is L2 on the gradient (``decoupled_weight_decay=True``: AdamW)."""

    _decoupled_default = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused=None, decoupled_weight_decay: bool | None = None) -> None:
        check_hyper("learning rate", lr)
        check_hyper("epsilon value", eps)
        check_betas(betas)
        check_hyper("weight_decay value", weight_decay)
        reject_unsupported(type(self).__name__, capturable=capturable,
                           differentiable=differentiable)
        if decoupled_weight_decay is None:
            decoupled_weight_decay = self._decoupled_default
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        check_fused_foreach(fused, foreach)

    def _init_state(self, group: dict, param) -> dict:
        state = self.state[param]
        if "exp_avg" not in state:
            if group["fused"]:
                check_fused_param(param)
            state["exp_avg"] = zeros_state(param)
            state["exp_avg_sq"] = zeros_state(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_state(param)
        return state

    def _update_group(self, group: dict) -> None:
        params = list(params_with_grad(group))
        states = [self._init_state(group, param) for param in params]
        if not use_multi_tensor(group):
            for param, state in zip(params, states):
                self._step_one(group, param, state, step_count(state))
            return
        steps = step_counts(states, fused=bool(group["fused"]))
        beta1, beta2 = group["betas"]
        for indices in by_device_and_dtype(params):
            if params[indices[0]].dtype not in MULTI_DTYPES:  # integer parameters: one by one
                for i in indices:
                    self._step_one(group, params[i], states[i], steps[i])
                continue
            chosen = [states[i] for i in indices]
            adam_step_multi_(
                [params[i] for i in indices], [params[i].grad for i in indices],
                [s["exp_avg"] for s in chosen], [s["exp_avg_sq"] for s in chosen],
                [s["max_exp_avg_sq"] for s in chosen] if group["amsgrad"] else None,
                group["lr"], beta1, beta2, group["eps"], group["weight_decay"],
                group["decoupled_weight_decay"], group["amsgrad"], group["maximize"],
                [1 - beta1 ** steps[i] for i in indices],
                [math.sqrt(1 - beta2 ** steps[i]) for i in indices])

    def _step_one(self, group: dict, param, state: dict, step: float) -> None:
        """``adam_step`` on one parameter at step count ``step``."""
        beta1, beta2 = group["betas"]
        adam_step_(param, param.grad, state["exp_avg"], state["exp_avg_sq"],
                   state.get("max_exp_avg_sq"), group["lr"], beta1, beta2, group["eps"],
                   group["weight_decay"], group["decoupled_weight_decay"], group["amsgrad"],
                   group["maximize"], 1 - beta1 ** step, math.sqrt(1 - beta2 ** step))


class AdamW(Adam):
    """Adam with decoupled weight decay (default 1e-2)."""

    _decoupled_default = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False,
                 fused=None) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
