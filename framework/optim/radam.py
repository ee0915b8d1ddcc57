"""RAdam (``torch.optim.RAdam``): Adam with a rectified adaptive learning rate."""
from __future__ import annotations

import math

from ._state import (check_betas, check_hyper, params_with_grad, reject_unsupported, step_count,
                     zeros_state)
from ..ops.optim import radam_step_
from .optimizer import Optimizer

__all__ = ["RAdam"]


def rectification(beta2: float, step: float) -> float:
    """RAdam's variance rectification term r_t, or 0 while rho_t <= 5 (no adaptive step)."""
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * beta2 ** step / (1 - beta2 ** step)
    if rho_t <= 5.0:
        return 0.0
    return math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))


class RAdam(Optimizer):
    """RAdam (Liu et al. 2019); ``decoupled_weight_decay`` gives RAdamW."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *,
                 foreach=None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_hyper("learning rate", lr)
        check_hyper("epsilon value", eps)
        check_betas(betas)
        check_hyper("weight_decay value", weight_decay)
        reject_unsupported("RAdam", capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        beta1, beta2 = group["betas"]
        for param in params_with_grad(group):
            state = self.state[param]
            if "exp_avg" not in state:
                state["exp_avg"] = zeros_state(param)
                state["exp_avg_sq"] = zeros_state(param)
            step = step_count(state)
            radam_step_(param, param.grad, state["exp_avg"], state["exp_avg_sq"],
                        group["lr"], beta1, beta2, group["eps"], group["weight_decay"],
                        group["decoupled_weight_decay"], group["maximize"], 1 - beta1 ** step,
                        math.sqrt(1 - beta2 ** step), rectification(beta2, step))
