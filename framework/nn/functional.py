"""Stateless neural-network functions (``torch.nn.functional``).

Each op family module of ``framework.ops`` lists its functional names in
``FUNCTIONAL``; they are collected here. ``relu``, ``sigmoid`` and ``tanh``
are the unary ops of ``framework.ops.unary``; ``gelu``, ``silu``
and ``softplus`` come from ``framework.ops.activation``'s ``FUNCTIONAL``.
"""
from __future__ import annotations

from ..ops import public_families
from ..ops.activation import gelu, silu, softplus
from ..ops.unary import relu, sigmoid, tanh

__all__ = ["relu", "gelu", "silu", "softplus", "sigmoid", "tanh"]


def _collect_family_functions() -> None:
    """Bind every family's ``FUNCTIONAL`` names in this module."""
    for module in public_families():
        for name in getattr(module, "FUNCTIONAL", ()):
            globals()[name] = getattr(module, name)
            if name not in __all__:
                __all__.append(name)


_collect_family_functions()
