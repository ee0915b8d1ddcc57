"""Adadelta (``torch.optim.Adadelta``)."""
from __future__ import annotations

from ._state import check_hyper, params_with_grad, reject_unsupported, step_count, zeros_state
from ..ops.optim import adadelta_step_
from .optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta: steps scaled by the ratio of running RMS of past updates and of gradients."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, foreach=None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_hyper("learning rate", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_hyper("epsilon value", eps)
        check_hyper("weight_decay value", weight_decay)
        reject_unsupported("Adadelta", capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        capturable=capturable, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        for param in params_with_grad(group):
            state = self.state[param]
            if "square_avg" not in state:
                state["square_avg"] = zeros_state(param)
                state["acc_delta"] = zeros_state(param)
            step_count(state)
            adadelta_step_(param, param.grad, state["square_avg"], state["acc_delta"],
                           group["lr"], group["rho"], group["eps"], group["weight_decay"],
                           group["maximize"])
