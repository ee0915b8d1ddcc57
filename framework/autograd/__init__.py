"""Automatic differentiation: ``backward``, ``grad``, ``Function``, grad modes, ``gradcheck``
(and the legacy ``Variable``)."""
from __future__ import annotations

from .._backends import for_device
from ..tensor import Tensor
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .engine import run_backward
from .function import Function, Node, once_differentiable
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck
from .variable import Variable

__all__ = [
    "Function", "Node", "once_differentiable", "backward", "grad", "no_grad", "enable_grad",
    "set_grad_enabled", "inference_mode", "is_grad_enabled", "gradcheck", "gradgradcheck",
    "detect_anomaly", "set_detect_anomaly", "functional", "Variable",
]


def _as_tuple(x) -> tuple:
    if x is None:
        return ()
    if isinstance(x, (tuple, list)):
        return tuple(x)
    return (x,)


def _ones_like(out: Tensor) -> Tensor:
    """``ones_like(out)``: its kernel call, without the creation op's argument handling."""
    device = out._device
    return Tensor._make(for_device(device).full(tuple(out._a.shape), 1, out._a.dtype), device)


def _root_grads(outputs, grad_outputs, caller: str) -> list:
    grads = list(_as_tuple(grad_outputs)) or [None] * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"{caller}: got {len(grads)} gradients for {len(outputs)} outputs")
    result = []
    for out, g in zip(outputs, grads):
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = _ones_like(out)
        elif tuple(g.shape) != tuple(out.shape):
            raise RuntimeError(f"{caller}: mismatch in shape: grad_output has a shape of "
                               f"{tuple(g.shape)} and output has a shape of {tuple(out.shape)}")
        result.append(g)
    return result


def _roots(outputs, caller: str) -> list:
    roots = []
    for out in outputs:
        if not out.requires_grad:
            raise RuntimeError(f"{caller}: element 0 of tensors does not require grad and "
                               "does not have a grad_fn")
        grad_fn = out.grad_fn
        if grad_fn is not None:
            roots.append((grad_fn, out._output_nr))
        else:
            roots.append((out._get_accumulator(), 0))
    return roots


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of graph leaves."""
    outputs = _as_tuple(tensors)
    grads = _root_grads(outputs, grad_tensors, "backward")
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is not None:
        wanted = _as_tuple(inputs)
        results = grad(outputs, wanted, grads, retain_graph=retain, create_graph=create_graph,
                       allow_unused=True)
        for leaf, g in zip(wanted, results):
            if g is not None:
                leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    run_backward(_roots(outputs, "backward"), grads, retain, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         materialize_grads: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated)."""
    outputs = _as_tuple(outputs)
    inputs_t = _as_tuple(inputs)
    grads = _root_grads(outputs, grad_outputs, "grad")
    retain = create_graph if retain_graph is None else retain_graph
    capture = {}
    keys = []
    for t in inputs_t:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        grad_fn = t.grad_fn
        if grad_fn is not None:
            key = (id(grad_fn), t._output_nr)
        else:
            key = (id(t._get_accumulator()), 0)
        capture.setdefault(key, [])
        keys.append(key)
    run_backward(_roots(outputs, "grad"), grads, retain, create_graph, capture=capture,
                 accumulate=False)
    results = []
    for position, (t, key) in enumerate(zip(inputs_t, keys)):
        found = capture[key]
        if not found:
            if materialize_grads:
                from ..ops.creation import zeros_like
                results.append(zeros_like(t))
                continue
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {position} appears to "
                                   "not have been used in the graph. Set allow_unused=True if "
                                   "this is the desired behavior.")
            results.append(None)
            continue
        total = found[0]
        for g in found[1:]:
            total = total + g
        results.append(total)
    return tuple(results)


from . import functional  # noqa: E402,F401  (it builds on grad, defined above)
