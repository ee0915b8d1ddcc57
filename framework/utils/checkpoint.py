"""Activation checkpointing (``torch.utils.checkpoint``): run a block without keeping its
intermediate activations and run it again in backward to get its gradients.

``checkpoint(function, *args)`` runs ``function`` under ``no_grad`` and records one node
that keeps only the arguments. Its backward restores the random state of the forward (so
dropout draws the same masks when ``preserve_rng_state``), runs ``function`` again with
gradients on, and back-propagates the incoming gradients through that run: the parameters
used inside get their ``.grad`` as in an ordinary backward, the arguments theirs through
the node. ``use_reentrant`` is accepted for both values; they give the same results here.
When no tensor argument needs a gradient, ``function`` simply runs with gradients on (the
parameters inside still get theirs, as torch's non-reentrant form gives them).
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from ..random import generator_for
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


def _generators(args: tuple) -> list:
    """The default generators of the devices of the tensor arguments (cpu always)."""
    from ..devices import device
    types = {"cpu"} | {a.device.type for a in args if isinstance(a, Tensor)}
    return [generator_for(device(t)) for t in sorted(types)]


class _Checkpoint(Function):
    """Forward without a graph; backward runs ``run`` again and back-propagates through it."""

    @staticmethod
    def forward(ctx, run, preserve_rng_state, *args):
        ctx.run, ctx.args = run, args
        ctx.rng = [(g, g.get_state()) for g in _generators(args)] if preserve_rng_state else []
        with no_grad():
            outputs = run(*args)
        ctx.single = isinstance(outputs, Tensor)
        return outputs

    @staticmethod
    def backward(ctx, *grads):
        from ..autograd import backward
        inputs = [a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a
                  for a in ctx.args]
        current = [(g, g.get_state()) for g, _ in ctx.rng]
        for generator, state in ctx.rng:
            generator.set_state(state)
        try:
            with enable_grad():
                outputs = ctx.run(*inputs)
        finally:
            for generator, state in current:
                generator.set_state(state)
        outputs = (outputs,) if ctx.single else tuple(outputs)
        pairs = [(o, g) for o, g in zip(outputs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if pairs:
            backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None, *[a.grad if isinstance(a, Tensor) else None for a in inputs])


def checkpoint(function, *args, use_reentrant: "bool | None" = None, context_fn=None,
               determinism_check: str = "default", debug: bool = False,
               preserve_rng_state: bool = True, **kwargs):
    """``function(*args, **kwargs)``, its activations recomputed in backward instead of kept
    (see the module docstring)."""
    if context_fn is not None:
        raise NotImplementedError("checkpoint(): context_fn is not supported")
    run = (lambda *a: function(*a, **kwargs)) if kwargs else function
    needs_grad = any(isinstance(a, Tensor) and a.requires_grad for a in args)
    if not (is_grad_enabled() and needs_grad):
        return run(*args)
    return _Checkpoint.apply(run, preserve_rng_state, *args)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: "bool | None" = None,
                          **kwargs):
    """Run the modules of ``functions`` (a Sequential or a list) in ``segments`` chunks, each
    but the last checkpointed."""
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = max(len(functions) // segments, 1)

    def chunk(start: int, end: int):
        def run(x):
            for fn in functions[start:end]:
                x = fn(x)
            return x
        return run
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(chunk(start, end + 1), input, use_reentrant=use_reentrant, **kwargs)
    return chunk(end + 1, len(functions))(input)
