"""SparseAdam (``torch.optim.SparseAdam``) on dense gradients.

framework has no sparse tensors, so gradients are always dense; torch's SparseAdam refuses
those ("does not support dense gradients"). Here a dense gradient stands for the sparse one
``grad.to_sparse(1)`` would give (what ``nn.Embedding(sparse=True)`` produces, up to rows
whose gradient is exactly zero): the rows (indices along dim 0; the elements of a 1-d
parameter) holding a nonzero element are updated as torch's SparseAdam updates the
materialized rows, to the same formulas, and every other row, moments included, is left
untouched. One difference remains: a row torch's sparse gradient materializes with all-zero
values (a looked-up embedding row whose gradient cancels exactly) is skipped here, while
torch decays its moments and moves it. For a vector the rows are its elements: the masking
torch's documentation describes (gradient [0, 5, 0, 0, 9] -> mask [0, 1, 0, 0, 1]).
"""
from __future__ import annotations

import math

from ._state import check_betas, check_hyper, params_with_grad, zeros_state
from ..ops.optim import sparse_adam_step_
from .optimizer import Optimizer

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """Adam masked to the rows where the gradient is nonzero (module docstring)."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False) -> None:
        check_hyper("learning rate", lr, strict=True)
        check_hyper("epsilon value", eps, strict=True)
        check_betas(betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, maximize=maximize)
        super().__init__(params, defaults)
        complex_params = [[i, j] for i, group in enumerate(self.param_groups)
                          for j, param in enumerate(group["params"]) if param.is_complex()]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not "
                             "support complex parameters")

    def _update_group(self, group: dict) -> None:
        beta1, beta2 = group["betas"]
        for param in params_with_grad(group):
            state = self.state[param]
            if not state:
                state["step"] = 0  # a Python int, as in PyTorch's SparseAdam
                state["exp_avg"] = zeros_state(param)
                state["exp_avg_sq"] = zeros_state(param)
            state["step"] += 1
            step = state["step"]
            step_size = group["lr"] * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
            sparse_adam_step_(param, param.grad, state["exp_avg"], state["exp_avg_sq"], beta1,
                              beta2, group["eps"], group.get("maximize", False), step_size)
