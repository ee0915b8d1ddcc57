"""Adagrad (``torch.optim.Adagrad``)."""
from __future__ import annotations

from ._state import check_hyper, full_state, params_with_grad, reject_unsupported, step_count
from ..ops.optim import adagrad_step_
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad: per-element learning rates from the running sum of squared gradients."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, foreach=None, *,
                 maximize: bool = False, differentiable: bool = False, fused=None) -> None:
        check_hyper("learning rate", lr)
        check_hyper("lr_decay value", lr_decay)
        check_hyper("weight_decay value", weight_decay)
        check_hyper("initial_accumulator_value value", initial_accumulator_value)
        check_hyper("epsilon value", eps)
        reject_unsupported("Adagrad", differentiable=differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                state = self.state[param]
                state["sum"] = full_state(param, group["initial_accumulator_value"])

    def _update_group(self, group: dict) -> None:
        for param in params_with_grad(group):
            state = self.state[param]
            if "sum" not in state:
                state["sum"] = full_state(param, group["initial_accumulator_value"])
            step = step_count(state)
            clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
            adagrad_step_(param, param.grad, state["sum"], clr, group["eps"],
                          group["weight_decay"], group["maximize"])
