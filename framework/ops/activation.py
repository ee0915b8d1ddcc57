"""Parameterized activations: leaky_relu, elu, selu, hardtanh, mish, glu, prelu, ...."""
from __future__ import annotations

__all__: list = []  # exported as framework.<name>
FUNCTIONAL: list = []  # exported as framework.nn.functional.<name>
