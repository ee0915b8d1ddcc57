"""``framework.onnx.export``: write a model as an ONNX file (``torch.onnx.export``), from the
graph ``framework.jit.trace`` captures. See docs/compile.md."""
from __future__ import annotations

from .compiler.capture import capturing
from .compiler.onnx import ONNXProgram, TrainingMode, UnsupportedOperatorError, export


def is_in_onnx_export() -> bool:
    """True while this thread runs a call that ``export`` is capturing
    (``torch.onnx.is_in_onnx_export``)."""
    return capturing("onnx")


__all__ = ["ONNXProgram", "TrainingMode", "UnsupportedOperatorError", "export",
           "is_in_onnx_export"]
