"""One graph node for an op written as a composition of framework ops (PyTorch's view of it).

``mse_loss`` is several framework ops but one ATen op in PyTorch, whose graph
shows a single ``MseLossBackward0``. ``one_node(name)`` decorates such a
function: when a gradient is needed, the composition runs on detached copies
of its tensor arguments, recording its own inner graph, and the outside graph
gets one node, ``name``, whose backward is the inner graph's gradient.

Higher derivatives keep working: under ``create_graph`` the backward is
itself a ``_Replay`` node (``MseLossBackwardBackward0``) that re-runs the
composition and differentiates it with ``create_graph=True``, so every
order of derivative is again a composition of framework ops.
"""
from __future__ import annotations

import functools

from ..tensor import Tensor
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled

__all__ = ["one_node", "replay_vjp"]


class _Replay(Function):
    """``fn(*tensors)`` as one node named ``name``; backward differentiates ``fn``'s own graph."""

    @staticmethod
    def forward(ctx, fn, name, *tensors):
        ctx.node_name = name
        needs = ctx.needs_input_grad[2:]
        leaves = tuple([_leaf(t, need) for t, need in zip(tensors, needs)])
        with enable_grad():
            out = fn(*leaves)
        single = not isinstance(out, tuple)
        outs = (out,) if single else tuple(out)
        if ctx.recording:
            ctx.fn, ctx.leaves = fn, leaves
            ctx.save_for_backward(*tensors)
            # the inner outputs keep the inner graph alive until this node is released; they
            # are not saved tensors: an in-place edit of an output (ResNet's ``out += identity``
            # after a batch norm) is an error only where an inner node saved that output
            ctx.kept = outs
        results = tuple([o.detach() for o in outs])
        return results[0] if single else results

    @staticmethod
    def backward(ctx, *grads):
        tensors, outs = ctx.saved_tensors, ctx.kept
        needs = ctx.needs_input_grad[2:]
        if is_grad_enabled():
            # create_graph: the gradient must be differentiable in the inputs and in ``grads``
            found = replay_vjp(ctx.fn, ctx.name(), tensors, needs, grads)
        else:
            found = _grads(outs, [leaf for leaf, need in zip(ctx.leaves, needs) if need], grads,
                           create_graph=False)
        found = iter(found)
        return (None, None) + tuple([next(found) if need else None for need in needs])


def replay_vjp(fn, name: str, tensors, needs: tuple, grads) -> tuple:
    """The gradients of ``fn(*tensors)`` (weighted by ``grads``) w.r.t. the ``tensors``
    whose entry of ``needs`` is true, computed by re-running ``fn`` and recorded as one
    node (``name`` with ``Backward0`` -> ``BackwardBackward0``), so they are differentiable
    again in the tensors and in ``grads``: the ``create_graph`` backward of a node that
    stands for the composition ``fn``."""
    name = name.replace("Backward0", "BackwardBackward0")
    found = _Replay.apply(_vjp(fn, needs), name, *tensors, *grads)
    return found if isinstance(found, tuple) else (found,)


def _leaf(t, need: bool):
    """A detached alias of ``t`` (same memory), requiring grad when ``t``'s gradient is wanted."""
    if not isinstance(t, Tensor):
        return t
    leaf = t.detach()
    if need:
        leaf.requires_grad_(True)
    return leaf


def _grads(outs, wanted: list, grads, create_graph: bool) -> tuple:
    """Gradients of ``outs`` (weighted by ``grads``) w.r.t. ``wanted``. An unused input gets
    None, or zeros under ``create_graph`` (a replay's outputs must be tensors)."""
    from . import grad as autograd_grad
    pairs = [(o, g) for o, g in zip(outs, grads)
             if isinstance(o, Tensor) and o.requires_grad and g is not None]
    if not pairs or not wanted:
        from ..ops.creation import zeros_like
        return tuple([zeros_like(w) if create_graph else None for w in wanted])
    return autograd_grad([o for o, _ in pairs], wanted, [g for _, g in pairs],
                         retain_graph=True, create_graph=create_graph, allow_unused=True,
                         materialize_grads=create_graph)


def _vjp(fn, needs: tuple):
    """``(*tensors, *grads) -> gradients of fn(*tensors) w.r.t. the needed tensors``."""
    count = len(needs)

    def vjp(*args):
        tensors, grads = args[:count], args[count:]
        # a replay must not repeat side effects (batch_norm's running statistics): the
        # tensors not differentiated are copies
        tensors = [t if need or not isinstance(t, Tensor) else t.clone()
                   for t, need in zip(tensors, needs)]
        out = fn(*tensors)
        outs = out if isinstance(out, tuple) else (out,)
        wanted = [t for t, need in zip(tensors, needs) if need]
        return _grads(outs, wanted, grads, create_graph=True)
    return vjp


def one_node(name):
    """Decorator: the function's graph shows as one node ``name`` (a str, or a callable of the
    call's ``(args, kwargs)`` giving the name or None to record the composition as is)."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if not is_grad_enabled():
                return fn(*args, **kwargs)
            positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
            keys = [k for k, v in kwargs.items() if isinstance(v, Tensor)]
            tensors = [args[i] for i in positions] + [kwargs[k] for k in keys]
            if not any(t.requires_grad for t in tensors):
                return fn(*args, **kwargs)
            node_name = name(args, kwargs) if callable(name) else name
            if node_name is None:
                return fn(*args, **kwargs)

            def call(*leaves):
                new_args, new_kwargs = list(args), dict(kwargs)
                for i, leaf in zip(positions, leaves):
                    new_args[i] = leaf
                for k, leaf in zip(keys, leaves[len(positions):]):
                    new_kwargs[k] = leaf
                return fn(*new_args, **new_kwargs)
            return _Replay.apply(call, node_name, *tensors)
        return wrapper
    return decorate
