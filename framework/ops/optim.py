"""Fused optimizer steps: one backend kernel updates a parameter and its state in place.

Each ``<name>_step_`` runs the contract kernel ``<name>_step``
(``framework/_backends/contract.py``, ``OPTIM``) on a parameter, its gradient
and its state buffers, and bumps the version counter of every tensor it writes
(the parameter and each state buffer given), so autograd reports a saved tensor
changed by an optimizer step. ``framework.optim``'s optimizers call these;
they are not public ops (PyTorch keeps its fused steps private too), so they are
not exported as ``framework.<name>``.

The gradient may differ from the parameter in dtype, layout or (broadcast)
shape: the kernel gets a contiguous copy of the parameter's dtype. A
parameter that is not contiguous is updated through a contiguous copy written
back with ``copy_``. State buffers are contiguous with the parameter's shape
(the optimizers make them so); a buffer a variant does not use is ``None``. A kernel may
also read inputs it does not write (``sparse_adam_step``'s bool mask of the rows to update),
passed after the state buffers and not bumped.

``sgd_step_multi_`` and ``adam_step_multi_`` update a list of parameters (one
device and dtype, any shapes) with one ``<name>_step_multi`` kernel call: the
same update, to the same bits, as the single-parameter step on each (the
optimizers' ``foreach``/``fused`` path). Gradients and non-contiguous
parameters are prepared as above, one by one.
"""
from __future__ import annotations

from ..tensor import Tensor
from ._util import backend
from .registry import register

for _name in ("sgd", "adam", "adamax", "adadelta", "rmsprop", "adagrad", "nadam", "radam",
              "rprop", "asgd"):
    register(f"{_name}_step_", "optim", (f"{_name}_step", "empty", "copy_"), differentiable=False)
register("sparse_adam_step_", "optim", ("sparse_adam_step", "ne", "any", "empty", "copy_"),
         differentiable=False)
for _name in ("sgd", "adam"):
    register(f"{_name}_step_multi_", "optim", (f"{_name}_step_multi", "empty", "copy_"),
             differentiable=False)


def _kernel_grad(param: Tensor, grad: Tensor) -> Tensor:
    """``grad`` as the kernels take it: contiguous, of the parameter's dtype and shape."""
    if grad.dtype is not param.dtype or not grad.is_contiguous() or grad.shape != param.shape:
        grad = grad.to(param.dtype).expand(param.shape).contiguous()
    return grad


def _written(param: Tensor, target: Tensor, buffers) -> None:
    """After a kernel wrote ``target`` (``param`` or its contiguous copy) and ``buffers``:
    copy back to ``param`` and bump the version of everything written."""
    if target is not param:
        param.copy_(target)
    param._a.storage.version += 1
    for b in buffers:
        if b is not None:
            b._a.storage.version += 1


def _fused_step_(kernel: str, param: Tensor, grad: Tensor, buffers: tuple, scalars: tuple,
                 inputs: tuple = ()) -> None:
    """Run ``kernel`` on ``param``, ``grad``, ``buffers`` and the read-only ``inputs``; bump
    what it wrote."""
    target = param if param.is_contiguous() else param.contiguous()
    grad = _kernel_grad(param, grad)
    arrays = [b._a if b is not None else None for b in buffers]
    getattr(backend(param), kernel)(target._a, grad._a, *arrays, *[t._a for t in inputs],
                                    *scalars)
    _written(param, target, buffers)


def _multi_step_(kernel: str, params: list, grads: list, buffer_lists: tuple,
                 scalars: tuple) -> None:
    """Run the multi-tensor ``kernel`` once on ``params`` (one device and dtype), their
    ``grads`` and ``buffer_lists`` (lists parallel to ``params``, or None); bump what it
    wrote."""
    if not params:
        return
    device, dtype = params[0].device, params[0].dtype
    for p in params:
        if p.device != device or p.dtype is not dtype:
            raise RuntimeError(f"{kernel}_: every parameter must have one device and dtype, got "
                               f"{device}/{dtype} and {p.device}/{p.dtype} (group them first)")
    if len(grads) != len(params) or any(b is not None and len(b) != len(params)
                                        for b in buffer_lists):
        raise ValueError(f"{kernel}_: the gradient and state lists must match the parameters "
                         f"({len(params)})")
    targets = [p if p.is_contiguous() else p.contiguous() for p in params]
    grads = [_kernel_grad(p, g) for p, g in zip(params, grads)]
    arrays = [None if b is None else [x._a if x is not None else None for x in b]
              for b in buffer_lists]
    getattr(backend(params[0]), kernel)([t._a for t in targets], [g._a for g in grads],
                                        *arrays, *scalars)
    for t, (param, target) in enumerate(zip(params, targets)):
        _written(param, target, [b[t] for b in buffer_lists if b is not None])


def sgd_step_(param: Tensor, grad: Tensor, momentum_buffer, lr, momentum, dampening,
              weight_decay, nesterov, maximize, first) -> None:
    """SGD with optional momentum/dampening/Nesterov, in place."""
    _fused_step_("sgd_step", param, grad, (momentum_buffer,),
                 (lr, momentum, dampening, weight_decay, nesterov, maximize, first))


def adam_step_(param: Tensor, grad: Tensor, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1,
               beta2, eps, weight_decay, decoupled, amsgrad, maximize, bias_correction1,
               bias_correction2_sqrt) -> None:
    """Adam (coupled L2) / AdamW (decoupled decay), optionally AMSGrad, in place."""
    _fused_step_("adam_step", param, grad, (exp_avg, exp_avg_sq, max_exp_avg_sq),
                 (lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize,
                  bias_correction1, bias_correction2_sqrt))


def sgd_step_multi_(params: list, grads: list, momentum_buffers, lr, momentum, dampening,
                    weight_decay, nesterov, maximize, firsts) -> None:
    """``sgd_step_`` on each of ``params`` (one device and dtype) in one kernel call."""
    _multi_step_("sgd_step_multi", params, grads, (momentum_buffers,),
                 (lr, momentum, dampening, weight_decay, nesterov, maximize, list(firsts)))


def adam_step_multi_(params: list, grads: list, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, lr,
                     beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize,
                     bias_corrections1, bias_corrections2_sqrt) -> None:
    """``adam_step_`` on each of ``params`` (one device and dtype; bias corrections per
    parameter) in one kernel call."""
    _multi_step_("adam_step_multi", params, grads, (exp_avgs, exp_avg_sqs, max_exp_avg_sqs),
                 (lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize,
                  list(bias_corrections1), list(bias_corrections2_sqrt)))


def adamax_step_(param: Tensor, grad: Tensor, exp_avg, exp_inf, lr, beta1, beta2, eps,
                 weight_decay, maximize, bias_correction1) -> None:
    """Adamax (infinity-norm Adam), in place."""
    _fused_step_("adamax_step", param, grad, (exp_avg, exp_inf),
                 (lr, beta1, beta2, eps, weight_decay, maximize, bias_correction1))


def adadelta_step_(param: Tensor, grad: Tensor, square_avg, acc_delta, lr, rho, eps,
                   weight_decay, maximize) -> None:
    """Adadelta, in place."""
    _fused_step_("adadelta_step", param, grad, (square_avg, acc_delta),
                 (lr, rho, eps, weight_decay, maximize))


def rmsprop_step_(param: Tensor, grad: Tensor, square_avg, momentum_buffer, grad_avg, lr, alpha,
                  eps, weight_decay, momentum, centered, maximize) -> None:
    """RMSprop, optionally centered and with momentum, in place."""
    _fused_step_("rmsprop_step", param, grad, (square_avg, momentum_buffer, grad_avg),
                 (lr, alpha, eps, weight_decay, momentum, centered, maximize))


def adagrad_step_(param: Tensor, grad: Tensor, state_sum, clr, eps, weight_decay,
                  maximize) -> None:
    """Adagrad with the step's decayed learning rate ``clr``, in place."""
    _fused_step_("adagrad_step", param, grad, (state_sum,), (clr, eps, weight_decay, maximize))


def nadam_step_(param: Tensor, grad: Tensor, exp_avg, exp_avg_sq, lr, beta1, beta2, eps,
                weight_decay, decoupled, maximize, bias_correction2, grad_coef, avg_coef) -> None:
    """NAdam with the step's momentum-decay coefficients, in place."""
    _fused_step_("nadam_step", param, grad, (exp_avg, exp_avg_sq),
                 (lr, beta1, beta2, eps, weight_decay, decoupled, maximize, bias_correction2,
                  grad_coef, avg_coef))


def radam_step_(param: Tensor, grad: Tensor, exp_avg, exp_avg_sq, lr, beta1, beta2, eps,
                weight_decay, decoupled, maximize, bias_correction1, bias_correction2_sqrt,
                rect) -> None:
    """RAdam (``rect <= 0``: the unrectified step), in place."""
    _fused_step_("radam_step", param, grad, (exp_avg, exp_avg_sq),
                 (lr, beta1, beta2, eps, weight_decay, decoupled, maximize, bias_correction1,
                  bias_correction2_sqrt, rect))


def rprop_step_(param: Tensor, grad: Tensor, prev, step_size, etaminus, etaplus, step_size_min,
                step_size_max, maximize) -> None:
    """Rprop (per-element step sizes adapted by the sign of g·prev), in place."""
    _fused_step_("rprop_step", param, grad, (prev, step_size),
                 (etaminus, etaplus, step_size_min, step_size_max, maximize))


def asgd_step_(param: Tensor, grad: Tensor, ax, eta, lambd, mu, weight_decay, maximize) -> None:
    """ASGD with the step's ``eta`` and averaging weight ``mu`` (host floats), in place."""
    _fused_step_("asgd_step", param, grad, (ax,), (eta, 1 - lambd * eta, mu, weight_decay,
                                                   maximize))


def sparse_adam_step_(param: Tensor, grad: Tensor, exp_avg, exp_avg_sq, beta1, beta2, eps,
                      maximize, step_size) -> None:
    """SparseAdam on a dense gradient, in place: the rows (along dim 0; the elements of a
    0-d or 1-d parameter) with a nonzero gradient element are updated, as torch's SparseAdam
    updates the rows of ``grad.to_sparse(1)``; the others, moments included, are untouched."""
    grad = _kernel_grad(param, grad)
    _fused_step_("sparse_adam_step", param, grad, (exp_avg, exp_avg_sq),
                 (1 - beta1, 1 - beta2, eps, maximize, step_size), inputs=(_nonzero_rows(grad),))


def _nonzero_rows(grad: Tensor) -> Tensor:
    """A contiguous bool tensor of ``grad``'s shape: True on each row (index along dim 0) that
    holds a nonzero (or NaN) element."""
    nonzero = grad.ne(0)
    if grad.ndim < 2:
        return nonzero.contiguous()
    rows = nonzero.reshape(grad.shape[0], -1).any(dim=1)
    return rows.reshape((grad.shape[0],) + (1,) * (grad.ndim - 1)).expand(grad.shape).contiguous()
