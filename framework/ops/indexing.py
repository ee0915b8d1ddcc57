"""Indexing ops: advanced indexing, gather/scatter, masks, embedding, one_hot."""
from __future__ import annotations

__all__: list = []  # exported as framework.<name>
FUNCTIONAL: list = []  # exported as framework.nn.functional.<name>
