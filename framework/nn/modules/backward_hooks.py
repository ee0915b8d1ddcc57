"""Module backward hooks (``register_full_backward_hook`` / ``_pre_hook``), as torch runs them.

One module call with backward hooks passes its positional tensor arguments through one
identity node and its tensor outputs through another. In backward the output node runs
first: it hands ``grad_output`` to the pre-hooks (which may replace it) and keeps it; then the
input node sees ``grad_input`` and runs the full hooks with both (they may replace
``grad_input``). When no argument needs a gradient there is no input node, and the output
node runs the full hooks with ``grad_input`` all None.
"""
from __future__ import annotations

from ...autograd.function import Function
from ...tensor import Tensor


def _needs_grad(t) -> bool:
    return isinstance(t, Tensor) and t.requires_grad


class _Identity(Function):
    """Returns its tensor arguments; backward hands their gradients to ``on_backward``."""

    @staticmethod
    def forward(ctx, on_backward, *tensors):
        ctx.on_backward = on_backward
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.on_backward(grads))


class BackwardHookState:
    """What the two identity nodes of one module call share: the module, where its tensor
    arguments sat in ``args``, and the gradients of its outputs once known."""

    def __init__(self, module, args: tuple) -> None:
        self.module = module
        self.n_args = len(args)
        self.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.inputs_need_grad = any(_needs_grad(a) for a in args)
        self.grad_outputs = None

    # forward -------------------------------------------------------------------------------
    def wrap_inputs(self, args: tuple) -> tuple:
        """``args`` with its tensors replaced by identity outputs (when any needs a gradient)."""
        if not self.inputs_need_grad:
            return args
        tensors = _Identity.apply(self._input_grads_ready,
                                  *[args[i] for i in self.tensor_positions])
        args = list(args)
        for position, tensor in zip(self.tensor_positions, tensors):
            args[position] = tensor
        return tuple(args)

    def wrap_outputs(self, output):
        """``output`` (a tensor or a tuple) with its tensors replaced by identity outputs."""
        single = isinstance(output, Tensor)
        items = (output,) if single else output
        if not isinstance(items, tuple):
            return output  # other structures: torch hooks only tensors and tuples too
        positions = [i for i, o in enumerate(items) if _needs_grad(o)]
        if not positions:
            return output
        wrapped = _Identity.apply(self._output_grads_ready, *[items[i] for i in positions])
        items = list(items)
        for position, tensor in zip(positions, wrapped):
            items[position] = tensor
        return items[0] if single else tuple(items)

    # backward ------------------------------------------------------------------------------
    def _output_grads_ready(self, grads: tuple) -> tuple:
        for hook in list(self.module._backward_pre_hooks.values()):
            result = hook(self.module, grads)
            if result is not None:
                grads = _checked("grad_output", result, len(grads))
        self.grad_outputs = grads
        if not self.inputs_need_grad:
            self._run_full_hooks((None,) * self.n_args)
        return grads

    def _input_grads_ready(self, grads: tuple) -> tuple:
        grad_input = [None] * self.n_args
        for position, grad in zip(self.tensor_positions, grads):
            grad_input[position] = grad
        grad_input = self._run_full_hooks(tuple(grad_input))
        return tuple(grad_input[i] for i in self.tensor_positions)

    def _run_full_hooks(self, grad_input: tuple) -> tuple:
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, self.grad_outputs)
            if result is not None:
                grad_input = _checked("grad_input", result, len(grad_input))
        return grad_input


def _checked(name: str, result, expected: int) -> tuple:
    result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if len(result) != expected:
        raise RuntimeError(f"Backward hook returned an invalid number of {name}, got "
                           f"{len(result)}, but expected {expected}")
    return result
