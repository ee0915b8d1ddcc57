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


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """``torch.jit.script`` compiles Python source, keeping its control flow; framework has no
    such compiler. Raises ``NotImplementedError`` naming what to use instead."""
    raise NotImplementedError(
        "framework.jit.script is not provided (there is no TorchScript compiler): use "
        "framework.jit.trace(model, example_inputs) for a graph to save with framework.jit.save "
        "(Python control flow on tensor values is frozen at the example, with a TracerWarning), "
        "framework.export(model, args, dynamic_shapes=...) for symbolic sizes, or "
        "framework.compile(model) to run faster in Python")


def freeze(mod, preserved_attrs=None, optimize_numerics: bool = True):
    """``torch.jit.freeze``: ``mod`` (a trace or loaded graph in eval mode) itself. Its
    weights are already fixed inputs of the graph; torch's freezing folds them into
    constants, which changes nothing a replay computes."""
    if not isinstance(mod, GraphModule):
        raise TypeError(f"framework.jit.freeze: expected a traced module (framework.jit.trace), "
                        f"got {type(mod).__name__}")
    if mod.training:
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. "
                           "Please call .eval() on your module before freezing.")
    return mod


def optimize_for_inference(mod, other_methods=None):
    """``torch.jit.optimize_for_inference``: ``freeze(mod)`` (set to eval first, as torch);
    ``framework.compile`` is where graphs are optimized and fused."""
    if isinstance(mod, GraphModule) and mod.training:
        mod.eval()
    return freeze(mod)


def annotate(the_type, the_value):
    """``torch.jit.annotate``: ``the_value`` (the type is for TorchScript's compiler)."""
    return the_value


Final = typing.Final  # torch.jit.Final: a constant attribute's annotation

__all__ = ["DataDependentTracerWarning", "Final", "GraphModule", "GuardError", "TracerWarning",
           "TracingCheckError", "annotate", "export", "freeze", "ignore", "is_scripting",
           "is_tracing", "load", "optimize_for_inference", "save", "script", "script_if_tracing",
           "trace", "unused"]
