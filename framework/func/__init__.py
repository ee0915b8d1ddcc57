"""``framework.func`` (``torch.func``): composable function transforms.

``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``linearize``, ``jacrev``, ``jacfwd``,
``hessian`` (``_autodiff.py``: all on the one autograd graph, composable), ``vmap``
(``_vmap.py``: one call per slice, results stacked), and modules as functions of their
state: ``functional_call``, ``stack_module_state``, ``replace_all_batch_norm_modules_``
(``_stateless.py``). Per-sample gradients::

    params = {k: v.detach() for k, v in model.named_parameters()}
    loss = lambda p, x, y: F.cross_entropy(functional_call(model, p, (x[None],)), y[None])
    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(params, xs, ys)
"""
from __future__ import annotations

from ._autodiff import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, linearize, vjp
from ._stateless import functional_call, replace_all_batch_norm_modules_, stack_module_state
from ._vmap import vmap

__all__ = ["functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp",
           "linearize", "replace_all_batch_norm_modules_", "stack_module_state", "vjp", "vmap"]
