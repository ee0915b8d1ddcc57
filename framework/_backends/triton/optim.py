"""Launch wrappers: fused optimizer updates on ``cuda`` (``triton_kernels.optim``).

One launch per parameter updates it and its state in place. Parameters,
gradients and state buffers arrive contiguous and of one shape (the optimizer
layer sees to that); a state buffer a variant does not use may be None and is
replaced by the parameter's pointer, which the kernel then never touches.
"""
from __future__ import annotations

import functools

import numpy as np

from ... import dtypes
from ..array import Array
from . import runtime
from .launch import grid_1d, pointer


@functools.lru_cache(maxsize=None)
def _launch_config() -> tuple:
    """``(BLOCK, num_warps)`` of ``triton_kernels.optim.OPTIM_CONFIGS`` (read at the first launch:
    importing the kernels fixes the interpreter mode)."""
    config = runtime.kernels().optim.OPTIM_CONFIGS[0]
    return config["BLOCK"], config["num_warps"]



@functools.lru_cache(maxsize=None)
def _acc(is_float64: bool):
    import triton.language as tl
    return tl.float64 if is_float64 else tl.float32


def _launch(name: str, param: Array, buffers: list, scalars: list, **flags) -> None:
    """Launch ``<name>_kernel`` over the parameter's elements."""
    n = param.numel
    if n == 0:
        return
    pointers = [pointer(b if b is not None else param) for b in buffers]
    kernel = getattr(runtime.kernels().optim, f"{name}_kernel")
    block, warps = _launch_config()
    with np.errstate(all="ignore"):  # the interpreter computes with NumPy: IEEE inf/NaN intended
        kernel[grid_1d(n, block)](pointer(param), *pointers, n, *[float(s) for s in scalars],
                                  **flags, ACC=_acc(param.dtype is dtypes.float64),
                                  BLOCK=block, num_warps=warps)


def sgd_step(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
             maximize, first) -> None:
    """SGD with optional momentum/dampening/Nesterov, in place."""
    _launch("sgd", param, [grad, momentum_buffer], [lr, momentum, dampening, weight_decay],
            MOMENTUM=momentum != 0, FIRST=bool(first), NESTEROV=bool(nesterov),
            MAXIMIZE=bool(maximize))


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
              weight_decay, decoupled, amsgrad, maximize, bias_correction1,
              bias_correction2_sqrt) -> None:
    """Adam (coupled L2) / AdamW (decoupled decay), optionally AMSGrad, in place."""
    _launch("adam", param, [grad, exp_avg, exp_avg_sq, max_exp_avg_sq],
            [lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2_sqrt],
            DECOUPLED=bool(decoupled), AMSGRAD=bool(amsgrad), MAXIMIZE=bool(maximize))


def adamax_step(param, grad, exp_avg, exp_inf, lr, beta1, beta2, eps, weight_decay, maximize,
                bias_correction1) -> None:
    """Adamax (infinity-norm Adam), in place."""
    _launch("adamax", param, [grad, exp_avg, exp_inf],
            [lr, beta1, beta2, eps, weight_decay, bias_correction1], MAXIMIZE=bool(maximize))


def rmsprop_step(param, grad, square_avg, momentum_buffer, grad_avg, lr, alpha, eps, weight_decay,
                 momentum, centered, maximize) -> None:
    """RMSprop, optionally centered and with momentum, in place."""
    _launch("rmsprop", param, [grad, square_avg, momentum_buffer, grad_avg],
            [lr, alpha, eps, weight_decay, momentum], MOMENTUM=momentum > 0,
            CENTERED=bool(centered), MAXIMIZE=bool(maximize))


def adagrad_step(param, grad, state_sum, clr, eps, weight_decay, maximize) -> None:
    """Adagrad with the decayed learning rate ``clr``, in place."""
    _launch("adagrad", param, [grad, state_sum], [clr, eps, weight_decay],
            MAXIMIZE=bool(maximize))


def nadam_step(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, decoupled,
               maximize, bias_correction2, grad_coef, avg_coef) -> None:
    """NAdam (Nesterov momentum Adam), in place."""
    _launch("nadam", param, [grad, exp_avg, exp_avg_sq],
            [lr, beta1, beta2, eps, weight_decay, bias_correction2, grad_coef, avg_coef],
            DECOUPLED=bool(decoupled), MAXIMIZE=bool(maximize))


def radam_step(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, decoupled,
               maximize, bias_correction1, bias_correction2_sqrt, rect) -> None:
    """RAdam (rectified Adam), in place."""
    _launch("radam", param, [grad, exp_avg, exp_avg_sq],
            [lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2_sqrt, rect],
            DECOUPLED=bool(decoupled), RECTIFIED=rect > 0, MAXIMIZE=bool(maximize))


KERNELS = {
    "sgd_step": sgd_step,
    "adam_step": adam_step,
    "adamax_step": adamax_step,
    "rmsprop_step": rmsprop_step,
    "adagrad_step": adagrad_step,
    "nadam_step": nadam_step,
    "radam_step": radam_step,
}
