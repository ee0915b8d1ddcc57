"""Stateless neural-network functions (``torch.nn.functional``).

Each op family module of ``framework.ops`` lists its functional names in
``FUNCTIONAL``; they are collected here. The plain activations are the
elementwise ops of ``framework.ops.elementwise``.
"""
from __future__ import annotations

from ..ops import public_families
from ..ops.elementwise import gelu, relu, sigmoid, silu, softplus, tanh

__all__ = ["relu", "gelu", "silu", "softplus", "sigmoid", "tanh"]


def _collect_family_functions() -> None:
    """Bind every family's ``FUNCTIONAL`` names in this module."""
    for module in public_families():
        for name in getattr(module, "FUNCTIONAL", ()):
            globals()[name] = getattr(module, name)
            if name not in __all__:
                __all__.append(name)


_collect_family_functions()
