"""torch's exception classes under their names (``torch.OutOfMemoryError`` ...)."""
from __future__ import annotations


class AcceleratorError(RuntimeError):
    """An error reported by the accelerator (``torch.AcceleratorError``)."""


class OutOfMemoryError(RuntimeError):
    """Device memory ran out (``torch.OutOfMemoryError``, also ``framework.cuda``'s)."""


class FatalError(Exception):
    """An unrecoverable internal error (``torch.FatalError``)."""
