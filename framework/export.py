"""``framework.export``: capture a module with symbolic dims (``torch.export``).

``framework.export(module, args, dynamic_shapes=...)`` and
``framework.export.export(...)`` are the same function; ``Dim`` names a
symbolic size. See docs/compile.md.
"""
from __future__ import annotations

import sys
import types

from .compiler.export import Dim, ExportedProgram, ExportError, dims, export

__all__ = ["Dim", "ExportError", "ExportedProgram", "dims", "export", "load", "save"]


def save(ep: ExportedProgram, f, *, extra_files=None) -> None:
    """Write an exported program to path ``f`` (``torch.export.save``): its graph as JSON
    and its weights as safetensors, no pickle; ``load`` runs it without the model's code."""
    from .compiler.serialize import save as save_graph
    if not isinstance(ep, ExportedProgram):
        raise TypeError(f"framework.export.save: expected an ExportedProgram "
                        f"(framework.export.export), got {type(ep).__name__}")
    if extra_files:
        raise NotImplementedError("framework.export.save: extra_files are not supported; save "
                                  "them next to the program")
    save_graph(ep, f)


def load(f, *, extra_files=None, expected_opset_version=None) -> ExportedProgram:
    """Read what ``save`` wrote (``torch.export.load``); its symbolic dims stay symbolic."""
    from .compiler.serialize import load as load_graph
    if extra_files:
        raise NotImplementedError("framework.export.load: extra_files are not supported")
    loaded = load_graph(f)
    return ExportedProgram(loaded.graph, loaded.params, loaded._spec)


class _CallableModule(types.ModuleType):
    """Lets ``framework.export(...)`` call ``framework.export.export`` (the module is also the
    function, as the issue asks, while ``framework.export.Dim`` stays reachable)."""

    def __call__(self, *args, **kwargs):
        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
