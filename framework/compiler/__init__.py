"""Graph capture and deployment: trace a call into a typed SSA graph of backend kernels,
replay it, save/load it without the model's Python code, export it to ONNX.

Layers: ``ir`` (the graph), ``views`` (view ops), ``capture`` (the tracer),
``runtime`` (guards and replay), ``export`` (symbolic batch dims),
``serialize`` (``jit.save``/``jit.load``), ``onnx`` (ONNX export), and for
``framework.compile`` (``compile``): ``passes`` (constant folding, CSE, DCE),
``fusion`` (elementwise groups, matmul epilogues, the NumPy plan), ``codegen``
(generated Triton source) and ``launches`` (counting kernel launches); ``control`` has
``torch.compiler``'s functions (``reset``, ``disable``, ``is_compiling`` ...).
See docs/compile.md.
"""
from __future__ import annotations

from .capture import TraceError, TracerWarning
from .control import (allow_in_graph, assume_constant_result, cudagraph_mark_step_begin, disable,
                      is_compiling, is_dynamo_compiling, is_exporting, list_backends, reset)
from .ir import Graph, Node, Sym, Value
from .runtime import GraphModule, GuardError, trace

__all__ = ["Graph", "GraphModule", "GuardError", "Node", "Sym", "TraceError", "TracerWarning",
           "Value", "allow_in_graph", "assume_constant_result", "cudagraph_mark_step_begin",
           "disable", "is_compiling", "is_dynamo_compiling", "is_exporting", "list_backends",
           "reset", "trace"]
