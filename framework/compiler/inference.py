"""``framework.jit.freeze`` and ``optimize_for_inference``: a traced graph whose parameters
and buffers are constants (``torch.jit.freeze``), then optimized for replay.

Freezing turns each parameter input of the graph into a ``from_numpy`` node holding a
copy of its data; constant folding then computes what reads only constants (a weight's
transpose, a scaled bias) once, and CSE and dead-code elimination tidy up. The frozen
graph takes only the call's own tensors and no longer sees later changes to the
module's parameters. Where the trace's program can be exported with a symbolic batch
(as ``framework.jit.save`` stores a trace), the frozen graph runs at any batch size.
"""
from __future__ import annotations

import copy

from .passes import _written_roots, constant_node, run_passes
from .runtime import GraphModule


def freeze(mod: GraphModule, preserved_attrs=None, optimize_numerics: bool = True) -> GraphModule:
    """A copy of the traced ``mod`` with its parameters and buffers inlined as constants and
    folded (``torch.jit.freeze``). Raises ``RuntimeError`` for a graph that writes one of
    them (a module traced in training mode updating batch-norm statistics)."""
    _check_traced("freeze", mod)
    if mod.training:  # torch's check and message
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. "
                           "Please call .eval() on your module before freezing.")
    if preserved_attrs:
        raise NotImplementedError("framework.jit.freeze: preserved_attrs is not supported: a "
                                  "frozen graph keeps no attributes; trace the module again "
                                  "to keep a parameter as an input")
    source = _batch_symbolic(mod)
    graph = copy.deepcopy(source.graph)
    root, written = _written_roots(graph)
    constants = []
    for value in graph.params:
        if root.get(value.id, value.id) in written:
            raise RuntimeError(f"framework.jit.freeze: the graph writes {value.name!r} (a module "
                               "traced in training mode updates its buffers); call .eval() "
                               "before tracing, then freeze")
        constants.append(constant_node(value, source.params[value.name].detach()._a, "frozen "))
    graph.nodes = constants + graph.nodes
    graph.inputs = graph.inputs[:graph.user_inputs]
    run_passes(graph)
    return _like(mod, graph, source._spec)


def _batch_symbolic(mod: GraphModule) -> GraphModule:
    """``mod``'s program with a symbolic batch (dim 0), as ``framework.jit.save`` stores a
    trace, where its ``Retracer`` can export one; else ``mod`` (its traced sizes)."""
    retrace = getattr(mod, "_retrace", None)
    symbolic = retrace.batch_symbolic() if retrace is not None else None
    return mod if symbolic is None else symbolic


def optimize_for_inference(mod: GraphModule, other_methods=None) -> GraphModule:
    """``freeze(mod)`` (unless it is frozen already), then the compiler's rewrites for replay:
    the passes and fusion of ``framework.compile`` (``torch.jit.optimize_for_inference``)."""
    from .compile import optimize
    _check_traced("optimize_for_inference", mod)
    if mod.training:  # as torch: set to eval first
        mod.eval()
    if mod.graph.params:
        frozen = freeze(mod)
    else:
        frozen = _like(mod, copy.deepcopy(mod.graph), mod._spec)
    optimize(frozen.graph)
    return frozen


def _like(mod: GraphModule, graph, spec) -> GraphModule:
    """A module of ``graph`` (no parameters) with call structure ``spec`` and ``mod``'s
    mode. Sizes are guarded as the graph has them: no retrace (it would read the module's
    parameters again)."""
    made = GraphModule(graph, {}, spec)
    made.training = mod.training
    return made


def _check_traced(name: str, mod) -> None:
    if not isinstance(mod, GraphModule):
        raise TypeError(f"framework.jit.{name}: expected a traced module "
                        f"(framework.jit.trace), got {type(mod).__name__}")
