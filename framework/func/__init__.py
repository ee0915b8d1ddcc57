"""``framework.func`` (``torch.func``): composable function transforms.

``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``linearize``, ``jacrev``, ``jacfwd``,
``hessian`` (``_autodiff.py``: all on the one autograd graph, composable), ``vmap``
(``_vmap.py``: one call per slice, results stacked), and modules as functions of their
state: ``functional_call``, ``stack_module_state``, ``replace_all_batch_norm_modules_``
(``_stateless.py``); ``rearrange`` (einops' notation), ``functionalize`` and
``debug_unwrap`` (identities here: no tracing, no wrapper tensors). Per-sample gradients::

    params = {k: v.detach() for k, v in model.named_parameters()}
    loss = lambda p, x, y: F.cross_entropy(functional_call(model, p, (x[None],)), y[None])
    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(params, xs, ys)
"""
from __future__ import annotations

from ._autodiff import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, linearize, vjp
from ._rearrange import rearrange
from ._stateless import functional_call, replace_all_batch_norm_modules_, stack_module_state
from ._vmap import vmap

__all__ = ["debug_unwrap", "functional_call", "functionalize", "grad", "grad_and_value",
           "hessian", "jacfwd", "jacrev", "jvp", "linearize", "rearrange",
           "replace_all_batch_norm_modules_", "stack_module_state", "vjp", "vmap"]

_REMOVE = ("mutations", "mutations_and_views")


def functionalize(func, *, remove: str = "mutations"):
    """``func`` itself, wrapped. torch's ``functionalize`` rewrites in-place ops out of a
    traced program and copies the final values back into mutated inputs, so its eager
    results (outputs and input mutations) are ``func``'s own; framework traces nothing, so
    there is nothing to rewrite. ``remove`` is checked as in torch."""
    if remove not in _REMOVE:
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument "
                           f"for remove={remove}. Valid options are: 'mutations', "
                           "'mutations_and_views'.")

    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


def debug_unwrap(tensor, *, recurse: bool = True):
    """``tensor`` itself: the transforms here record on ordinary tensors, with no wrapper to
    take off (torch unwraps its functorch wrappers)."""
    return tensor
