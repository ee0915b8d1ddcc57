"""Launch wrappers: fused optimizer updates on ``cuda`` (``triton_kernels.optim``).

One launch per parameter updates it and its state in place. Parameters,
gradients and state buffers arrive contiguous and of one shape (the optimizer
layer sees to that); a state buffer a variant does not use may be None and is
replaced by the parameter's pointer, which the kernel then never touches.

The ``*_step_multi`` kernels update a list of parameters of one dtype in one
launch: a table of buffer addresses, element counts, per-tensor scalars and
(program -> tensor, block) entries is copied to the device (one host-to-device
copy, queued on the stream like the launch) and each program instance reads its
entry (``triton_kernels/optim.py``, "Multi-tensor updates").
"""
from __future__ import annotations

import functools

import numpy as np

from ... import dtypes
from ..array import Array
from . import runtime
from .launch import grid_1d, pointer
from .memory import from_numpy


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


def _multi_table(params: list, buffer_lists: list, words: list, block: int) -> tuple:
    """The int64 table of a multi-tensor launch (layout: ``triton_kernels/optim.py``) and its
    number of programs.

    Tensor t's record holds the addresses of ``params[t]`` and of ``buffers[t]`` for each
    list ``buffers`` of ``buffer_lists`` (the parameter's address for a None list or entry),
    its element count and ``words[t]`` (int64 words: flags, or float64 scalars as their
    bits). An empty tensor gets no program."""
    records = []
    counts = []
    for t, param in enumerate(params):
        addresses = [pointer(param).data_ptr()]
        for buffers in buffer_lists:
            b = buffers[t] if buffers is not None else None
            addresses.append(pointer(b if b is not None else param).data_ptr())
        records.append(addresses + [param.numel] + list(words[t]))
        counts.append(-(-param.numel // block))
    counts = np.array(counts, dtype=np.int64)
    index = np.repeat(np.arange(len(params), dtype=np.int64), counts)
    first_of_tensor = np.cumsum(counts) - counts
    starts = (np.arange(index.size, dtype=np.int64) - np.repeat(first_of_tensor, counts)) * block
    table = np.concatenate([index, starts, np.array(records, dtype=np.int64).reshape(-1)])
    return table, int(index.size)


def _float_bits(*values) -> list:
    """Float64 values as the int64 words of a table record."""
    return np.array(values, dtype=np.float64).view(np.int64).tolist()


def _launch_multi(name: str, params: list, buffer_lists: list, words: list, scalars: list,
                  **flags) -> None:
    """Launch ``<name>_multi_kernel`` once over every element of ``params`` (one dtype)."""
    if not params or all(p.numel == 0 for p in params):
        return
    block, warps = _launch_config()
    host, num_chunks = _multi_table(params, buffer_lists, words, block)
    # Freed when the call returns: the allocator hands the memory out again only to work
    # queued after this launch on the one stream.
    table = from_numpy(host, dtypes.int64)
    dtype = params[0].dtype
    kernel = getattr(runtime.kernels().optim, f"{name}_multi_kernel")
    with np.errstate(all="ignore"):  # the interpreter computes with NumPy: IEEE inf/NaN intended
        kernel[(num_chunks,)](pointer(table), num_chunks, *[float(s) for s in scalars], **flags,
                              DTYPE=_tl_dtype(dtype.name), ACC=_acc(dtype is dtypes.float64),
                              BLOCK=block, num_warps=warps)


@functools.lru_cache(maxsize=None)
def _tl_dtype(name: str):
    import triton.language as tl
    return {"float16": tl.float16, "bfloat16": tl.bfloat16, "float32": tl.float32,
            "float64": tl.float64}[name]


def sgd_step(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
             maximize, first) -> None:
    """SGD with optional momentum/dampening/Nesterov, in place."""
    _launch("sgd", param, [grad, momentum_buffer], [lr, momentum, dampening, weight_decay],
            MOMENTUM=momentum != 0, FIRST=bool(first), NESTEROV=bool(nesterov),
            MAXIMIZE=bool(maximize))


def sgd_step_multi(params, grads, momentum_buffers, lr, momentum, dampening, weight_decay,
                   nesterov, maximize, firsts) -> None:
    """``sgd_step`` on every parameter of the list, in one launch."""
    _launch_multi("sgd", params, [grads, momentum_buffers if momentum != 0 else None],
                  [[int(bool(f))] for f in firsts], [lr, momentum, dampening, weight_decay],
                  MOMENTUM=momentum != 0, NESTEROV=bool(nesterov), MAXIMIZE=bool(maximize))


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
              weight_decay, decoupled, amsgrad, maximize, bias_correction1,
              bias_correction2_sqrt) -> None:
    """Adam (coupled L2) / AdamW (decoupled decay), optionally AMSGrad, in place."""
    _launch("adam", param, [grad, exp_avg, exp_avg_sq, max_exp_avg_sq],
            [lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2_sqrt],
            DECOUPLED=bool(decoupled), AMSGRAD=bool(amsgrad), MAXIMIZE=bool(maximize))


def adam_step_multi(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, lr, beta1, beta2,
                    eps, weight_decay, decoupled, amsgrad, maximize, bias_corrections1,
                    bias_corrections2_sqrt) -> None:
    """``adam_step`` on every parameter of the list (its own bias corrections), in one launch."""
    _launch_multi("adam", params,
                  [grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs if amsgrad else None],
                  [_float_bits(b1, b2) for b1, b2 in zip(bias_corrections1,
                                                         bias_corrections2_sqrt)],
                  [lr, beta1, beta2, eps, weight_decay],
                  DECOUPLED=bool(decoupled), AMSGRAD=bool(amsgrad), MAXIMIZE=bool(maximize))


def adamax_step(param, grad, exp_avg, exp_inf, lr, beta1, beta2, eps, weight_decay, maximize,
                bias_correction1) -> None:
    """Adamax (infinity-norm Adam), in place."""
    _launch("adamax", param, [grad, exp_avg, exp_inf],
            [lr, beta1, beta2, eps, weight_decay, bias_correction1], MAXIMIZE=bool(maximize))


def adadelta_step(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay,
                  maximize) -> None:
    """Adadelta, in place."""
    _launch("adadelta", param, [grad, square_avg, acc_delta], [lr, rho, eps, weight_decay],
            MAXIMIZE=bool(maximize))


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


def rprop_step(param, grad, prev, step_size, etaminus, etaplus, step_size_min, step_size_max,
               maximize) -> None:
    """Rprop (sign-based step sizes), in place, in one pass."""
    _launch("rprop", param, [grad, prev, step_size],
            [etaminus, etaplus, step_size_min, step_size_max], MAXIMIZE=bool(maximize))


def asgd_step(param, grad, ax, eta, decay, mu, weight_decay, maximize) -> None:
    """ASGD (the step and its running average), in place, in one pass."""
    _launch("asgd", param, [grad, ax], [eta, decay, mu, weight_decay], AVERAGE=mu != 1,
            MAXIMIZE=bool(maximize))


def sparse_adam_step(param, grad, exp_avg, exp_avg_sq, rows, one_minus_beta1, one_minus_beta2,
                     eps, maximize, step_size) -> None:
    """SparseAdam on the elements where ``rows`` is True, in place."""
    _launch("sparse_adam", param, [grad, exp_avg, exp_avg_sq, rows],
            [one_minus_beta1, one_minus_beta2, eps, step_size], MAXIMIZE=bool(maximize))


KERNELS = {
    "sgd_step": sgd_step,
    "sgd_step_multi": sgd_step_multi,
    "adam_step": adam_step,
    "adam_step_multi": adam_step_multi,
    "adamax_step": adamax_step,
    "adadelta_step": adadelta_step,
    "rmsprop_step": rmsprop_step,
    "adagrad_step": adagrad_step,
    "nadam_step": nadam_step,
    "radam_step": radam_step,
    "rprop_step": rprop_step,
    "asgd_step": asgd_step,
    "sparse_adam_step": sparse_adam_step,
}
