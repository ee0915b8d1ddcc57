"""``framework.onnx.export``: write a model as an ONNX file (``torch.onnx.export``), from the
graph ``framework.jit.trace`` captures. See docs/compile.md."""
from __future__ import annotations

from .compiler.onnx import UnsupportedOperatorError, export

__all__ = ["UnsupportedOperatorError", "export"]
