"""Data-movement ops: tril/triu, repeat, repeat_interleave, tile, flip, roll, pad."""
from __future__ import annotations

__all__: list = []  # exported as framework.<name>
FUNCTIONAL: list = []  # exported as framework.nn.functional.<name>
