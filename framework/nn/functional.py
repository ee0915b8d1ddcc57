"""Stateless neural-network functions (``torch.nn.functional``).

The activations are the elementwise ops of ``framework.ops.elementwise``.
"""
from __future__ import annotations

from ..ops.elementwise import gelu, relu, sigmoid, silu, softplus, tanh

__all__ = ["relu", "gelu", "silu", "softplus", "sigmoid", "tanh"]
