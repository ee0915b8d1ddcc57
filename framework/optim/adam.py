"""Adam and AdamW (``torch.optim.Adam``, ``torch.optim.AdamW``)."""
from __future__ import annotations

import math

from ._state import (check_betas, check_hyper, params_with_grad, reject_unsupported, step_count,
                     zeros_state)
from ..ops.optim import adam_step_
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

    def _update_group(self, group: dict) -> None:
        beta1, beta2 = group["betas"]
        for param in params_with_grad(group):
            state = self.state[param]
            if "exp_avg" not in state:
                state["exp_avg"] = zeros_state(param)
                state["exp_avg_sq"] = zeros_state(param)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = zeros_state(param)
            step = step_count(state)
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
