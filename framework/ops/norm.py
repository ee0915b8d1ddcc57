"""Normalizations and softmax: softmax, log_softmax, layer/rms/group/batch/instance norm, normalize."""
from __future__ import annotations

__all__: list = []  # exported as framework.<name>
FUNCTIONAL: list = []  # exported as framework.nn.functional.<name>
