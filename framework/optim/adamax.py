"""Adamax (``torch.optim.Adamax``): Adam with the infinity norm."""
from __future__ import annotations

from ._state import (check_betas, check_hyper, params_with_grad, reject_unsupported, step_count,
                     zeros_state)
from ..ops.optim import adamax_step_
from .optimizer import Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax: the second moment is an exponentially weighted infinity norm."""

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, foreach=None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_hyper("learning rate", lr)
        check_hyper("epsilon value", eps)
        check_betas(betas)
        check_hyper("weight_decay value", weight_decay)
        reject_unsupported("Adamax", capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        beta1, beta2 = group["betas"]
        for param in params_with_grad(group):
            state = self.state[param]
            if "exp_avg" not in state:
                state["exp_avg"] = zeros_state(param)
                state["exp_inf"] = zeros_state(param)
            step = step_count(state)
            adamax_step_(param, param.grad, state["exp_avg"], state["exp_inf"], group["lr"],
                         beta1, beta2, group["eps"], group["weight_decay"], group["maximize"],
                         1 - beta1 ** step)
