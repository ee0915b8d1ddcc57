"""Rprop (``torch.optim.Rprop``): resilient backpropagation."""
from __future__ import annotations

from ._state import (check_hyper, full_state, params_with_grad, reject_unsupported, step_count,
                     zeros_state)
from ..ops.optim import rprop_step_
from .optimizer import Optimizer

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop: each element moves by its own step size against the gradient's sign; the step
    size grows by ``etas[1]`` while the sign holds and shrinks by ``etas[0]`` when it flips."""

    def __init__(self, params, lr: float = 1e-2, etas: tuple = (0.5, 1.2),
                 step_sizes: tuple = (1e-6, 50), *, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_hyper("learning rate", lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        reject_unsupported("Rprop", capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        for param in params_with_grad(group):
            state = self.state[param]
            if "prev" not in state:
                state["prev"] = zeros_state(param)
                state["step_size"] = full_state(param, group["lr"])
            step_count(state)
            rprop_step_(param, param.grad, state["prev"], state["step_size"], etaminus, etaplus,
                        step_size_min, step_size_max, group["maximize"])
