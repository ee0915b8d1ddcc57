"""Losses: cross_entropy, nll_loss, mse_loss, binary_cross_entropy, kl_div, ...."""
from __future__ import annotations

__all__: list = []  # exported as framework.<name>
FUNCTIONAL: list = []  # exported as framework.nn.functional.<name>
