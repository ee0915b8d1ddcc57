"""Stochastic gradient descent (``torch.optim.SGD``)."""
from __future__ import annotations

from ._state import check_hyper, params_with_grad, reject_unsupported, zeros_state
from ..ops.optim import sgd_step_
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD with momentum, dampening, Nesterov momentum and L2 weight decay."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
                 foreach=None, differentiable: bool = False, fused=None) -> None:
        check_hyper("learning rate", lr)
        check_hyper("momentum value", momentum)
        check_hyper("weight_decay value", weight_decay)
        reject_unsupported("SGD", differentiable=differentiable)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        momentum = group["momentum"]
        for param in params_with_grad(group):
            state = self.state[param]
            buf = state.get("momentum_buffer")
            first = buf is None
            if momentum != 0 and first:
                buf = zeros_state(param)
                state["momentum_buffer"] = buf
            sgd_step_(param, param.grad, buf if momentum != 0 else None, group["lr"], momentum,
                      group["dampening"], group["weight_decay"], group["nesterov"],
                      group["maximize"], first)

