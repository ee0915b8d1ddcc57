"""ASGD (``torch.optim.ASGD``): averaged stochastic gradient descent."""
from __future__ import annotations

from ._state import (check_hyper, params_with_grad, reject_unsupported, scalar_state,
                     scalar_value, step_count, zeros_state)
from ..ops.optim import asgd_step_
from .optimizer import Optimizer

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """ASGD: SGD with a decaying step ``eta`` and a running average ``ax`` of the iterates
    (a plain copy until step ``t0``, then weighted by ``mu = 1 / (step - t0)``)."""

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach=None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_hyper("learning rate", lr)
        check_hyper("weight_decay value", weight_decay)
        reject_unsupported("ASGD", capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr, lambd = group["lr"], group["lambd"]
        for param in params_with_grad(group):
            state = self.state[param]
            if "ax" not in state:
                state["eta"] = scalar_state(lr, param.device)
                state["mu"] = scalar_state(1.0, param.device)
                state["ax"] = zeros_state(param)
            step = step_count(state)
            asgd_step_(param, param.grad, state["ax"], scalar_value(state["eta"]), lambd,
                       scalar_value(state["mu"]), group["weight_decay"], group["maximize"])
            # the next step's eta and mu, rounded to the state's type as PyTorch stores them
            state["eta"] = scalar_state(lr / ((1 + lambd * lr * step) ** group["alpha"]),
                                        param.device)
            state["mu"] = scalar_state(1 / max(1, step - group["t0"]), param.device)
