"""Utilities (``torch.utils``): ``framework.utils.data`` holds datasets and loaders."""
from __future__ import annotations

from . import checkpoint, data  # noqa: F401

__all__ = ["checkpoint", "data"]
