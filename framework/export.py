"""``framework.export``: capture a module with symbolic dims (``torch.export``).

``framework.export(module, args, dynamic_shapes=...)`` and
``framework.export.export(...)`` are the same function; ``Dim`` names a
symbolic size. See docs/compile.md.
"""
from __future__ import annotations

import sys
import types

from .compiler.export import Dim, ExportedProgram, ExportError, export

__all__ = ["Dim", "ExportError", "ExportedProgram", "export"]


class _CallableModule(types.ModuleType):
    """Lets ``framework.export(...)`` call ``framework.export.export`` (the module is also the
    function, as the issue asks, while ``framework.export.Dim`` stays reachable)."""

    def __call__(self, *args, **kwargs):
        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
