"""Stochastic gradient descent (``torch.optim.SGD``).

``foreach=True`` or ``fused=True`` (and the default, both None) update every
parameter of a group with one ``sgd_step_multi`` kernel call per (device,
dtype); ``foreach=False`` runs ``sgd_step`` per parameter. Both give the same
numbers, to the bit.
"""
from __future__ import annotations

from ._state import (MULTI_DTYPES, by_device_and_dtype, check_fused_foreach, check_fused_param,
                     check_hyper, params_with_grad, reject_unsupported, use_multi_tensor,
                     zeros_state)
from ..ops.optim import sgd_step_, sgd_step_multi_
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
        check_fused_foreach(fused, foreach)

    def _update_group(self, group: dict) -> None:
        momentum = group["momentum"]
        params = list(params_with_grad(group))
        buffers, firsts = [], []
        for param in params:
            if group["fused"]:
                check_fused_param(param)
            state = self.state[param]
            buf = state.get("momentum_buffer")
            firsts.append(buf is None)
            if momentum != 0 and buf is None:
                buf = zeros_state(param)
                state["momentum_buffer"] = buf
            buffers.append(buf if momentum != 0 else None)
        if not use_multi_tensor(group):
            for i in range(len(params)):
                self._step_one(group, params[i], buffers[i], firsts[i])
            return
        for indices in by_device_and_dtype(params):
            if params[indices[0]].dtype not in MULTI_DTYPES:  # integer parameters: one by one
                for i in indices:
                    self._step_one(group, params[i], buffers[i], firsts[i])
                continue
            sgd_step_multi_([params[i] for i in indices], [params[i].grad for i in indices],
                            [buffers[i] for i in indices] if momentum != 0 else None,
                            group["lr"], momentum, group["dampening"], group["weight_decay"],
                            group["nesterov"], group["maximize"], [firsts[i] for i in indices])

    @staticmethod
    def _step_one(group: dict, param, buf, first: bool) -> None:
        """``sgd_step`` on one parameter."""
        sgd_step_(param, param.grad, buf, group["lr"], group["momentum"], group["dampening"],
                  group["weight_decay"], group["nesterov"], group["maximize"], first)
