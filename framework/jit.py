"""``framework.jit``: capture a call as a graph (``trace``), save it and load it without the
model's Python code (``save``/``load``), like ``torch.jit``. See docs/compile.md."""
from __future__ import annotations

import typing

from .compiler.capture import DataDependentTracerWarning, TracerWarning, capturing
from .compiler.runtime import GraphModule, GuardError, TracingCheckError, trace


def save(m: GraphModule, f) -> None:
    """Write a traced graph and its weights to ``f`` (a folder: graph.json + weights.safetensors)."""
    from .compiler.serialize import save as _save
    _save(m, f)


def load(f, map_location=None) -> GraphModule:
    """Load what ``save`` wrote; runs with no access to the model's source."""
    from .compiler.serialize import load as _load
    return _load(f, map_location=map_location)


def trace_module(mod, inputs: dict, *, check_trace: bool = True,
                 check_inputs=None, check_tolerance: float = 1e-5) -> GraphModule:
    """``torch.jit.trace_module``: trace each method named in ``inputs`` (method name ->
    example inputs) of ``mod``; returns the trace of ``forward`` (or of the first method)
    with every other traced method as an attribute of that name."""
    if not isinstance(inputs, dict) or not inputs:
        raise ValueError("framework.jit.trace_module: inputs must be a non-empty dict of "
                         "method name -> example inputs")
    traces = {}
    for name, example in inputs.items():
        method = getattr(mod, name, None)
        if not callable(method):
            raise AttributeError(f"framework.jit.trace_module: {type(mod).__name__} has no "
                                 f"method {name!r}")
        traces[name] = trace(mod if name == "forward" else method, example,
                             check_trace=check_trace, check_inputs=check_inputs,
                             check_tolerance=check_tolerance)
    main = traces.get("forward", next(iter(traces.values())))
    for name, traced in traces.items():
        if traced is not main:
            setattr(main, name, traced)
    return main


def freeze(mod: GraphModule, preserved_attrs=None, optimize_numerics: bool = True) -> GraphModule:
    """``torch.jit.freeze``: a copy of a traced module whose parameters and buffers are
    constants of its graph, folded where only they are read; it takes only the call's
    tensors, does not follow later changes to the module's parameters, and runs at any
    batch size where the program exports with a symbolic batch."""
    from .compiler.inference import freeze as _freeze
    return _freeze(mod, preserved_attrs, optimize_numerics)


def optimize_for_inference(mod: GraphModule, other_methods=None) -> GraphModule:
    """``torch.jit.optimize_for_inference``: ``freeze`` (unless frozen), then
    ``framework.compile``'s passes and fusion on the frozen graph."""
    from .compiler.inference import optimize_for_inference as _optimize
    return _optimize(mod, other_methods)


def script(obj, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None):
    """``torch.jit.script`` compiles Python source, keeping its control flow; framework has no
    such compiler. Raises ``NotImplementedError`` naming what to use instead."""
    raise NotImplementedError(
        f"framework.jit.script({type(obj).__name__}) is not provided (there is no TorchScript "
        "compiler): use framework.jit.trace(model, example_inputs) for a graph to save with "
        "framework.jit.save (Python control flow on tensor values is frozen at the example, "
        "with a TracerWarning), framework.export(model, args, dynamic_shapes=...) for symbolic "
        "sizes, or framework.compile(model) to run faster in Python; see docs/compile.md")


def is_tracing() -> bool:
    """True while this thread runs a call that ``trace`` (or ``framework.onnx.export``) is
    recording, as ``torch.jit.is_tracing``; False in eager code, replays and ``compile``."""
    return capturing("jit", "onnx")


def is_scripting() -> bool:
    """Always False: framework captures by tracing and has no TorchScript compiler, so code
    guarded by ``if not torch.jit.is_scripting():`` runs as written."""
    return False


def _marker(name: str, fn):
    """``fn`` itself, after checking it is callable: the TorchScript method markers only tell
    the script compiler what to skip, and tracing runs every function as it is."""
    if not callable(fn):
        raise TypeError(f"framework.jit.{name}: expected a function, got {type(fn).__name__}")
    return fn


def ignore(drop=False, **kwargs):
    """``torch.jit.ignore``: leaves a function as it is (usable as ``@ignore`` or
    ``@ignore(drop=True)``); tracing records what it runs."""
    if callable(drop):
        return _marker("ignore", drop)
    return lambda fn: _marker("ignore", fn)


def unused(fn):
    """``torch.jit.unused``: leaves a function as it is; tracing records what it runs."""
    return _marker("unused", fn)


def export(fn):  # noqa: A001 - torch.jit's name
    """``torch.jit.export``: leaves a method as it is (it marks methods for scripting)."""
    return _marker("export", fn)


def script_if_tracing(fn):
    """``torch.jit.script_if_tracing``: ``fn`` itself; a trace records what it runs."""
    return _marker("script_if_tracing", fn)


def annotate(the_type, the_value):
    """``torch.jit.annotate``: ``the_value`` (the type is for TorchScript's compiler)."""
    return the_value


Final = typing.Final  # torch.jit.Final: a constant attribute's annotation

__all__ = ["DataDependentTracerWarning", "Final", "GraphModule", "GuardError", "TracerWarning",
           "TracingCheckError", "annotate", "export", "freeze", "ignore", "is_scripting",
           "is_tracing", "load", "optimize_for_inference", "save", "script", "script_if_tracing",
           "trace", "trace_module", "unused"]
