"""Neural-network building blocks (``torch.nn``); ``functional`` holds the stateless ops."""
from __future__ import annotations

from . import functional  # noqa: F401

__all__ = ["functional"]
