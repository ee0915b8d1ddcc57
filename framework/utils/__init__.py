"""Utilities (``torch.utils``): ``framework.utils.data`` holds datasets and loaders."""
from __future__ import annotations

from . import data  # noqa: F401

__all__ = ["data"]
