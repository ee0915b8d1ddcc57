"""Adafactor (``torch.optim.Adafactor``): Adam-like steps with a factored second moment.

The update follows ``torch/optim/_adafactor.py`` (``_single_tensor_adafactor``) op for op. It
is not one fused kernel: the step size needs two norms read back to the host (the
parameter's RMS before the step and the update's RMS for the clipping), and a matrix
parameter keeps row and column means of g² (factored along its last two dims) instead of an
elementwise moment, so every update is a plain framework op (as ``LBFGS``'s).
"""
from __future__ import annotations

from ..dtypes import finfo
from ._state import params_with_grad, step_count
from ..ops.creation import zeros
from .optimizer import Optimizer

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor with PyTorch's choices: ``lr`` caps the relative step size and scales the
    decoupled weight decay; ``eps[0]`` (None: the parameter dtype's machine epsilon) floors
    the variance estimate, ``eps[1]`` the parameter scale."""

    def __init__(self, params, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach=None, maximize: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _init_state(self, param) -> dict:
        state = self.state[param]
        if not state:
            grad = param.grad
            if grad.ndim > 1:  # factored: a row and a column mean of g² over the last two dims
                shape = tuple(grad.shape)
                state["row_var"] = zeros(shape[:-1] + (1,), dtype=grad.dtype, device=grad.device)
                state["col_var"] = zeros(shape[:-2] + (1, shape[-1]), dtype=grad.dtype,
                                         device=grad.device)
            else:
                state["variance"] = zeros(tuple(grad.shape), dtype=grad.dtype,
                                          device=grad.device)
        return state

    def _update_group(self, group: dict) -> None:
        eps1, eps2 = group["eps"]
        for param in params_with_grad(group):
            if param.is_complex():
                raise RuntimeError("Adafactor does not support complex parameters")
            if eps1 is None:  # as PyTorch: from the group's first parameter, then kept
                eps1 = finfo(param.dtype).eps
            state = self._init_state(param)
            step = step_count(state)
            _adafactor_update(param, state, step, group, eps1, eps2)


def _adafactor_update(param, state: dict, step: float, group: dict, eps1: float,
                      eps2: float) -> None:
    """One Adafactor step of ``param`` (``_single_tensor_adafactor``'s loop body)."""
    grad = -param.grad if group["maximize"] else param.grad
    lr = group["lr"]
    one_minus_beta2 = step ** group["beta2_decay"]
    rho = min(lr, 1 / (step ** 0.5))
    alpha = max(eps2, param.norm(2).item() / (param.numel() ** 0.5)) * rho
    if group["weight_decay"] != 0:
        param.mul_(1 - lr * group["weight_decay"])
    if grad.ndim > 1:
        row_var, col_var = state["row_var"], state["col_var"]
        row_var.lerp_(grad.norm(dim=-1, keepdim=True).square_().div_(grad.shape[-1]),
                      one_minus_beta2)
        col_var.lerp_(grad.norm(dim=-2, keepdim=True).square_().div_(grad.shape[-2]),
                      one_minus_beta2)
        var_estimate = row_var @ col_var
        var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
    else:
        state["variance"].lerp_(grad * grad, one_minus_beta2)
        var_estimate = state["variance"].clone()
    update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_()
    update.mul_(grad)
    denom = max(1.0, update.norm(2).item() / ((update.numel() ** 0.5) * group["d"]))
    param.add_(update, alpha=-alpha / denom)
