"""Convolutions: conv1d/2d, conv_transpose1d/2d, unfold/fold."""
from __future__ import annotations

__all__: list = []  # exported as framework.<name>
FUNCTIONAL: list = []  # exported as framework.nn.functional.<name>
