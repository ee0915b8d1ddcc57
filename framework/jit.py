"""``framework.jit``: capture a call as a graph (``trace``), save it and load it without the
model's Python code (``save``/``load``), like ``torch.jit``. See docs/compile.md."""
from __future__ import annotations

from .compiler.capture import TracerWarning
from .compiler.runtime import GraphModule, GuardError, TracingCheckError, trace


def save(m: GraphModule, f) -> None:
    """Write a traced graph and its weights to ``f`` (a folder: graph.json + weights.safetensors)."""
    from .compiler.serialize import save as _save
    _save(m, f)


def load(f, map_location=None) -> GraphModule:
    """Load what ``save`` wrote; runs with no access to the model's source."""
    from .compiler.serialize import load as _load
    return _load(f, map_location=map_location)


__all__ = ["GraphModule", "GuardError", "TracerWarning", "TracingCheckError", "load", "save",
           "trace"]
