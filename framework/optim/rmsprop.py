"""RMSprop (``torch.optim.RMSprop``)."""
from __future__ import annotations

from ._state import check_hyper, params_with_grad, reject_unsupported, step_count, zeros_state
from ..ops.optim import rmsprop_step_
from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop with optional centering (by the running mean gradient) and momentum."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 capturable: bool = False, foreach=None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_hyper("learning rate", lr)
        check_hyper("epsilon value", eps)
        check_hyper("momentum value", momentum)
        check_hyper("weight_decay value", weight_decay)
        check_hyper("alpha value", alpha)
        reject_unsupported("RMSprop", capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        for param in params_with_grad(group):
            state = self.state[param]
            if "square_avg" not in state:
                state["square_avg"] = zeros_state(param)
                if group["momentum"] > 0:
                    state["momentum_buffer"] = zeros_state(param)
                if group["centered"]:
                    state["grad_avg"] = zeros_state(param)
            step_count(state)
            rmsprop_step_(param, param.grad, state["square_avg"], state.get("momentum_buffer"),
                          state.get("grad_avg"), group["lr"], group["alpha"], group["eps"],
                          group["weight_decay"], group["momentum"], group["centered"],
                          group["maximize"])
