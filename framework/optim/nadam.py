"""NAdam (``torch.optim.NAdam``): Adam with Nesterov momentum."""
from __future__ import annotations

from ..ops.creation import tensor
from ._state import (check_betas, check_hyper, params_with_grad, reject_unsupported, step_count,
                     zeros_state)
from ..ops.optim import nadam_step_
from .optimizer import Optimizer

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam with momentum decay (Dozat 2016); ``decoupled_weight_decay`` gives NAdamW."""

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_hyper("learning rate", lr)
        check_hyper("epsilon value", eps)
        check_betas(betas)
        check_hyper("weight_decay value", weight_decay)
        check_hyper("momentum_decay value", momentum_decay)
        reject_unsupported("NAdam", capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        beta1, beta2 = group["betas"]
        lr, decay = group["lr"], group["momentum_decay"]
        for param in params_with_grad(group):
            state = self.state[param]
            if "exp_avg" not in state:
                state["mu_product"] = tensor(1.0)
                state["exp_avg"] = zeros_state(param)
                state["exp_avg_sq"] = zeros_state(param)
            step = step_count(state)
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
            mu_product = float(state["mu_product"]) * mu
            state["mu_product"] = tensor(mu_product)
            grad_coef = -lr * (1.0 - mu) / (1.0 - mu_product)
            avg_coef = -lr * mu_next / (1.0 - mu_product * mu_next)
            nadam_step_(param, param.grad, state["exp_avg"], state["exp_avg_sq"], lr, beta1,
                        beta2, group["eps"], group["weight_decay"],
                        group["decoupled_weight_decay"], group["maximize"], 1 - beta2 ** step,
                        grad_coef, avg_coef)
